//! Running real Python beside a test: finding interpreters (every version on the path and in
//! pyenv), and running a script bounded in time (a hung child is killed and fails the test).
//!
//! If no Python 3 runs at all, the project's own `.ci/ensure-python3` installs one first (once
//! per test binary), so the interop tests never silently check nothing for lack of one.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::Duration;

use crate::TIMEOUT;

/// A Python interpreter and its version.
#[derive(Debug, Clone)]
pub struct Python {
    pub path: PathBuf,
    pub version: (u32, u32),
}

impl Python {
    /// Speaks the `{sha256}` handshake (3.12+); older ones only speak legacy HMAC-MD5.
    #[must_use]
    pub fn modern(&self) -> bool {
        self.version >= (3, 12)
    }
}

/// Every distinct Python 3 version found: `$MPROC_PYTHON`, `python3`, `python3.1x` on the
/// path, and pyenv's installed versions; one interpreter per version, newest first. When none
/// is found, `.ci/ensure-python3` installs `python3` and the search runs again.
///
/// # Panics
/// If there is still no Python 3 after the install script.
#[must_use]
pub fn pythons() -> Vec<Python> {
    static FOUND: OnceLock<Vec<Python>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let found = discover();
            if !found.is_empty() {
                return found;
            }
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/ensure-python3");
            let installed = Command::new(&script).status().is_ok_and(|s| s.success());
            let found = discover();
            assert!(
                installed && !found.is_empty(),
                "no Python 3 and {} could not install one",
                script.display()
            );
            found
        })
        .clone()
}

fn discover() -> Vec<Python> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("MPROC_PYTHON") {
        candidates.push(p.into());
    }
    candidates.push("python3".into());
    for minor in 12..=15 {
        candidates.push(format!("python3.{minor}").into());
    }
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    if let Some(Ok(dir)) = pyenv.map(|p| std::fs::read_dir(p.join("versions"))) {
        for entry in dir.flatten() {
            candidates.push(entry.path().join("bin").join("python3"));
        }
    }
    let mut found: Vec<Python> = Vec::new();
    for path in candidates {
        let Some(version) = version_of(&path) else {
            continue;
        };
        if version.0 == 3 && !found.iter().any(|p| p.version == version) {
            found.push(Python { path, version });
        }
    }
    found.sort_by_key(|p| std::cmp::Reverse(p.version));
    found
}

fn version_of(path: &PathBuf) -> Option<(u32, u32)> {
    let child = Command::new(path)
        .args([
            "-c",
            "import sys; print(sys.version_info[0], sys.version_info[1])",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let out = Running::new(child).finish(Duration::from_secs(20)).ok()?;
    if !out.success {
        return None;
    }
    let mut words = out.stdout.split_whitespace();
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
}

/// The modern interpreters (3.12+); empty, with a note on stderr, where none is installed.
pub fn modern_pythons() -> Vec<Python> {
    let found: Vec<Python> = pythons().into_iter().filter(Python::modern).collect();
    if found.is_empty() {
        eprintln!("note: no Python >= 3.12 found (set MPROC_PYTHON): modern interop not run");
    }
    for python in &found {
        eprintln!("interop with {python:?}");
    }
    found
}

/// The newest legacy interpreter (3.11 or older), if any.
#[must_use]
pub fn legacy_python() -> Option<Python> {
    pythons().into_iter().find(|p| !p.modern())
}

/// What a finished script did.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A running child whose output is collected by threads, so it can never block on a full pipe.
#[derive(Debug)]
pub struct Running {
    pid: i32,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    done: mpsc::Receiver<(std::io::Result<std::process::ExitStatus>, String)>,
}

impl Running {
    /// Takes over `child` (started with piped stdout and stderr).
    ///
    /// # Panics
    /// If its pid does not fit an `i32`.
    #[must_use]
    pub fn new(mut child: Child) -> Self {
        let pid = i32::try_from(child.id()).expect("pid fits i32");
        let (line_tx, lines) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = line_tx.send(line);
                }
            });
        }
        let (done_tx, done) = mpsc::channel();
        thread::spawn(move || {
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            let _ = done_tx.send((child.wait(), stderr));
        });
        Self {
            pid,
            lines,
            stdout: Vec::new(),
            done,
        }
    }

    /// The next line the child prints, waiting at most `timeout` (the child is killed then).
    ///
    /// # Panics
    /// If no line comes in time.
    pub fn line(&mut self, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.stdout.push(line.clone());
                line
            }
            Err(e) => {
                self.kill();
                let out = self.wait(TIMEOUT);
                panic!("no line from the child ({e}): {out:?}");
            }
        }
    }

    fn kill(&self) {
        // SAFETY: kill(2) with a pid this test started and has not reaped (the waiting thread
        // holds the Child until the process is gone).
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }

    /// Waits at most `timeout` for the child to end; kills it and fails if it does not.
    ///
    /// # Errors
    /// A description of what went wrong: the child did not end in time (it was killed), or
    /// could not be waited for.
    pub fn finish(mut self, timeout: Duration) -> Result<Output, String> {
        self.wait(timeout)
    }

    fn wait(&mut self, timeout: Duration) -> Result<Output, String> {
        if let Ok((status, stderr)) = self.done.recv_timeout(timeout) {
            let status = status.map_err(|e| e.to_string())?;
            while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                self.stdout.push(line);
            }
            Ok(Output {
                success: status.success(),
                code: status.code(),
                stdout: std::mem::take(&mut self.stdout).join("\n"),
                stderr,
            })
        } else {
            self.kill();
            Err(format!("the child did not end within {timeout:?}: killed"))
        }
    }
}

/// Starts `python -c script args...` with piped stdout and stderr.
///
/// # Panics
/// If it cannot be started.
#[must_use]
pub fn start(python: &Python, script: &str, args: &[&str]) -> Running {
    let child = Command::new(&python.path)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    Running::new(child)
}

/// Runs `python3 -c script args..` (the newest interpreter found) to completion within
/// `timeout` and returns its stdout; the test fails if it does not exit successfully.
///
/// # Panics
/// On timeout or a failed exit (with Python's stderr in the message).
#[must_use]
pub fn run(script: &str, args: &[&str], timeout: Duration) -> String {
    let python = pythons()
        .into_iter()
        .next()
        .expect("pythons() is never empty");
    let out = start(&python, script, args)
        .finish(timeout)
        .unwrap_or_else(|e| panic!("{python:?}: {e}"));
    assert!(
        out.success,
        "{python:?} failed ({:?}):\n{}",
        out.code, out.stderr
    );
    out.stdout
}
