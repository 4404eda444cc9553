//! Helpers of the connection interop tests: addresses as Python spells them, socket
//! directories, keys as hex. Running Python itself is `integration_tests::python`.

#![allow(
    dead_code,
    unused_imports,
    reason = "each test file uses part of this module"
)]

use std::path::PathBuf;

pub(crate) use integration_tests::TIMEOUT;
pub(crate) use integration_tests::python::{
    Python, Running, legacy_python, modern_pythons, pythons, start,
};

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
