//! Running Python beside a test: finding interpreters, and running a script with a timeout
//! (a hung child is killed and fails the test).

#![allow(dead_code, reason = "each test file uses part of this module")]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

pub(crate) use integration_tests::TIMEOUT;

/// A Python interpreter and its version.
#[derive(Debug, Clone)]
pub(crate) struct Python {
    pub(crate) path: PathBuf,
    pub(crate) version: (u32, u32),
}

impl Python {
    /// Speaks the `{sha256}` handshake (3.12+); older ones only speak legacy HMAC-MD5.
    pub(crate) fn modern(&self) -> bool {
        self.version >= (3, 12)
    }
}

/// Every distinct Python 3 version found: `$MPROC_PYTHON`, `python3`, `python3.1x` on the
/// path, and pyenv's installed versions; one interpreter per version, newest first.
pub(crate) fn pythons() -> Vec<Python> {
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
pub(crate) fn modern_pythons() -> Vec<Python> {
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
pub(crate) fn legacy_python() -> Option<Python> {
    pythons().into_iter().find(|p| !p.modern())
}

/// What a finished script did.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) success: bool,
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// A running child whose output is collected by threads, so it can never block on a full pipe.
pub(crate) struct Running {
    pid: i32,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    done: mpsc::Receiver<(std::io::Result<std::process::ExitStatus>, String)>,
}

impl Running {
    pub(crate) fn new(mut child: Child) -> Self {
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
    pub(crate) fn line(&mut self, timeout: Duration) -> String {
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
    pub(crate) fn finish(mut self, timeout: Duration) -> Result<Output, String> {
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
pub(crate) fn start(python: &Python, script: &str, args: &[&str]) -> Running {
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

/// Python's spelling of an address, as the scripts below parse it: `tcp:host:port`,
/// `unix:path`, `abstract:name`.
pub(crate) fn python_address(address: &mproc::connection::Address) -> String {
    use mproc::connection::Address;
    match address {
        Address::Tcp(a) => format!("tcp:{}:{}", a.ip(), a.port()),
        Address::Unix(p) => format!("unix:{}", p.display()),
        Address::Abstract(n) => format!("abstract:{}", String::from_utf8_lossy(n)),
    }
}

/// The Python lines that turn `sys.argv[1]` into a `multiprocessing.connection` address.
pub(crate) const PARSE_ADDRESS: &str = r"
import sys
kind, _, rest = sys.argv[1].partition(':')
if kind == 'tcp':
    host, _, port = rest.rpartition(':')
    address = (host, int(port))
elif kind == 'unix':
    address = rest
else:
    address = '\0' + rest
key = bytes.fromhex(sys.argv[2])
";

/// A temporary directory for socket files, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("mproc-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A unique abstract socket name for this test process.
pub(crate) fn abstract_name(tag: &str) -> Vec<u8> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("mproc-{tag}-{}-{n}", std::process::id()).into_bytes()
}

/// Lower-case hex, for passing keys on a command line.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
