//! Running real `python3` beside a test, bounded in time, for the interop tests.
//!
//! The interpreter is `$MPROC_PYTHON` if set, else `python3` from `PATH`; if neither runs, the
//! project's own `.ci/ensure-python3` installs it first (once per test binary).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::procs::wait_for_exit;

/// The Python interpreter to run, installed by `.ci/ensure-python3` if missing.
///
/// # Panics
/// If no interpreter runs even after the install script.
#[must_use]
pub fn interpreter() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let python =
            std::env::var_os("MPROC_PYTHON").map_or_else(|| "python3".into(), PathBuf::from);
        if !runs(&python) {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/ensure-python3");
            let status = Command::new(&script).status();
            assert!(
                status.is_ok_and(|s| s.success()) && runs(&python),
                "no {} and {} could not install it",
                python.display(),
                script.display()
            );
        }
        python
    })
}

fn runs(python: &Path) -> bool {
    Command::new(python)
        .args([
            "-c",
            "import multiprocessing.shared_memory, multiprocessing.connection",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts `python3 -c script args..` with piped stdout and stderr.
///
/// # Panics
/// If it cannot be started.
#[must_use]
pub fn spawn(script: &str, args: &[&str]) -> Child {
    Command::new(interpreter())
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3")
}

/// Waits for `child` within `timeout` and collects what it wrote; a child still running then
/// is killed and the test fails.
///
/// # Panics
/// On timeout, or if its output cannot be read.
#[must_use]
pub fn finish(mut child: Child, timeout: Duration) -> Output {
    // Readers on their own threads, so a child that writes much cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut out);
            }
            out
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let pid = i32::try_from(child.id()).expect("pid fits i32");
    if !wait_for_exit(pid, timeout) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("python3 still running after {timeout:?}");
    }
    let status = child.wait().expect("reap python3");
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Runs `python3 -c script args..` to completion within `timeout`, and returns its stdout;
/// the test fails if it exits unsuccessfully.
///
/// # Panics
/// On timeout or a failed exit (with Python's stderr in the message).
#[must_use]
pub fn run(script: &str, args: &[&str], timeout: Duration) -> String {
    let out = finish(spawn(script, args), timeout);
    assert!(
        out.status.success(),
        "python3 failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python3 printed UTF-8")
}
