//! A child's stdout and stderr can be captured (`.stdout(Stdio::Piped)`) or discarded
//! (`Stdio::Null`) under every start method, as procspawn and `std::process::Command` allow.

use std::io::{Read, Write};

use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::prelude::*;
use mproc::process::Stdio;

/// Writes a line to each stream; returns what its stdout refers to.
///
/// Through the handles rather than `println!`: in a test binary, a forked child inherits the
/// test harness's capture of its thread's `print!` output, which never reaches descriptor 1.
fn talk(tag: u32) -> String {
    let mut out = std::io::stdout();
    writeln!(out, "out {tag} from {}", std::process::id()).unwrap();
    out.flush().unwrap();
    let mut err = std::io::stderr();
    writeln!(err, "err {tag}").unwrap();
    std::fs::read_link("/proc/self/fd/1")
        .map_or_else(|e| e.to_string(), |p| p.display().to_string())
}

/// Reads a piped stream to its end (the child has ended, so the end has come).
fn read_all(mut output: &mproc::ChildOutput) -> String {
    let mut text = String::new();
    output.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn piped_stdout_and_stderr_are_read_by_the_parent() {
    for method in METHODS {
        let child = Process::new(talk, 7)
            .start_method(method)
            .stdout(Stdio::Piped)
            .stderr(Stdio::Piped)
            .start()
            .unwrap();
        // A few bytes fit in the pipe: the child does not wait for a reader.
        assert!(child.wait_timeout(TIMEOUT).unwrap().success(), "{method}");
        assert_eq!(
            read_all(child.stdout().unwrap()),
            format!("out 7 from {}\n", child.pid()),
            "{method}"
        );
        assert_eq!(read_all(child.stderr().unwrap()), "err 7\n", "{method}");
        assert!(
            procs::join(&child).unwrap().starts_with("pipe:"),
            "{method}"
        );
    }
}

#[test]
fn only_the_streams_asked_for_are_redirected() {
    for method in METHODS {
        let mut child = Process::new(talk, 8)
            .start_method(method)
            .stdout(Stdio::Null)
            .stderr(Stdio::Piped)
            .start()
            .unwrap();
        assert!(child.stdout().is_none(), "{method}");
        let stderr = child.take_stderr().unwrap();
        assert!(child.stderr().is_none(), "{method}");
        assert_eq!(procs::join(&child).unwrap(), "/dev/null", "{method}");
        assert_eq!(read_all(&stderr), "err 8\n", "{method}");

        // The default: inherited, nothing to read.
        let child = Process::new(talk, 9).start_method(method).start().unwrap();
        assert!(child.stdout().is_none() && child.stderr().is_none());
        procs::join(&child).unwrap();
    }
}

/// Panics: the message std prints goes to the child's stderr.
fn panics(_: ()) {
    panic!("captured");
}

/// Not under `Fork` here: in a test binary a forked child inherits the harness's capture of
/// its thread's output, which the panic message then goes to.
#[test]
fn a_panic_message_goes_to_a_piped_stderr() {
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let child = Process::new(panics, ())
            .start_method(method)
            .stderr(Stdio::Piped)
            .start()
            .unwrap();
        assert!(procs::join(&child).is_err());
        let text = read_all(child.stderr().unwrap());
        assert!(text.contains("captured"), "{method}: {text:?}");
    }
}

/// The builder `#[process]` generates has the same stdio options.
#[mproc::process]
fn greet(tag: u32) -> String {
    talk(tag)
}

#[test]
fn process_attribute_builders_capture_stdio_too() {
    for method in METHODS {
        let child = greet::builder()
            .start_method(method)
            .stdout(Stdio::Piped)
            .stderr(Stdio::Null)
            .spawn(11)
            .unwrap();
        assert!(child.wait_timeout(TIMEOUT).unwrap().success(), "{method}");
        assert!(child.stderr().is_none(), "{method}");
        assert_eq!(
            read_all(child.stdout().unwrap()),
            format!("out 11 from {}\n", child.pid()),
            "{method}"
        );
        assert!(
            procs::join(&child).unwrap().starts_with("pipe:"),
            "{method}"
        );
    }
}
