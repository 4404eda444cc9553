//! What a program's normal end does to its children, through the real exit path (`main`
//! returns, `exit` runs the exit hooks): daemon children are ended, non-daemon children are
//! waited for (as in Python). The program is this test binary run again on `main_exit_probe`.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::START_METHOD_ENV;
use mproc::prelude::*;

/// The directory the probe's worker finds its FIFO and writes its marker in.
const DIR_ENV: &str = "MPROC_TEST_MAIN_EXIT_DIR";

/// A daemon: runs until something ends it.
fn park_forever(_: ()) {
    loop {
        std::thread::park();
    }
}

/// A non-daemon worker: says it is working, then works until the test lets it finish.
fn work_until_released(dir: PathBuf) -> Result<(), String> {
    let fifo = std::fs::File::open(dir.join("fifo")).map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(fifo).lines();
    let first = lines.next().ok_or("no line")?.map_err(|e| e.to_string())?;
    std::fs::write(dir.join("marker"), format!("got {first}")).map_err(|e| e.to_string())?;
    // Finishes when the test closes its end.
    for line in lines {
        line.map_err(|e| e.to_string())?;
    }
    std::fs::write(dir.join("marker"), "finished").map_err(|e| e.to_string())
}

/// Not a test on its own: run by `a_normal_exit_ends_daemons_and_waits_for_the_others`, it
/// starts a daemon and a worker with the method of `MPROC_START_METHOD` and returns at once.
#[test]
#[ignore = "run by a_normal_exit_ends_daemons_and_waits_for_the_others in a process of its own"]
fn main_exit_probe() {
    let dir = PathBuf::from(std::env::var_os(DIR_ENV).expect("the directory"));
    let daemon = Process::new(park_forever, ()).daemon(true).start().unwrap();
    let worker = Process::new(work_until_released, dir).start().unwrap();
    println!("PROBE daemon={} worker={}", daemon.pid(), worker.pid());
    // The handles are dropped: the children are the program's to end or wait for.
}

/// Reads the probe's output on a thread of its own, so every wait on it is bounded.
fn lines_of(stdout: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line of the probe containing `text`.
fn line_with(lines: &mpsc::Receiver<String>, text: &str) -> String {
    loop {
        let line = lines
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("no line with {text:?}: {e}"));
        if line.contains(text) {
            return line;
        }
    }
}

fn pid_field(line: &str, name: &str) -> i32 {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(&format!("{name}=")))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

fn run_probe(method: StartMethod, dir: &Path) {
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let mut probe = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "main_exit_probe", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(START_METHOD_ENV, method.name())
        .env(DIR_ENV, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let probe_pid = i32::try_from(probe.id()).unwrap();
    let lines = lines_of(probe.stdout.take().unwrap());
    let pids = line_with(&lines, "PROBE ");
    let (daemon, worker) = (pid_field(&pids, "daemon"), pid_field(&pids, "worker"));
    // The harness reports before `main` returns: from here on the program is ending.
    line_with(&lines, "test result: ok");

    assert!(
        procs::wait_for_exit(daemon, TIMEOUT),
        "{method}: the daemon outlived its program's end"
    );
    // The FIFO opens for writing once the worker has opened its end: it is alive and working.
    let mut release = None;
    let opened = integration_tests::sync_support::eventually(|| {
        release = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .ok();
        release.is_some() || !procs::is_running(worker)
    });
    let mut release = match release {
        Some(file) if opened => file,
        _ => panic!("{method}: the worker is gone before reading its FIFO"),
    };
    writeln!(release, "go").unwrap();
    let marker = dir.join("marker");
    assert!(
        integration_tests::sync_support::eventually(
            || std::fs::read_to_string(&marker).is_ok_and(|m| m == "got go")
        ),
        "{method}: the worker did not get its line"
    );
    // The worker is blocked on the FIFO, which only the test can end: a program that did not
    // wait for it would be gone by now.
    assert!(procs::is_running(worker), "{method}: the worker was ended");
    assert!(
        probe.try_wait().unwrap().is_none(),
        "{method}: the program ended without waiting for its non-daemon child"
    );
    drop(release);
    if !procs::wait_for_exit(probe_pid, TIMEOUT) {
        let _ = probe.kill();
        panic!("{method}: the program did not end after its worker");
    }
    let status = probe.wait().unwrap(); // it has exited (above): does not block
    assert!(status.success(), "{method}: the program failed: {status}");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "finished");
    assert!(!procs::is_running(worker));
}

#[test]
fn a_normal_exit_ends_daemons_and_waits_for_the_others() {
    for method in METHODS {
        let dir = std::env::temp_dir().join(format!(
            "mproc-main-exit-{}-{}",
            std::process::id(),
            method.name()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        run_probe(method, &dir);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
