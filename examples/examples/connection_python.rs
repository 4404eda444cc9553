//! Issue #18: a Python program talks to an mproc server through `multiprocessing.connection`.
//!
//! The server listens on 127.0.0.1 (a free port) with a shared key; a Python client (run here as
//! a child, `python3` or `$MPROC_PYTHON`, killed if it takes longer than 30 s) connects with
//! `multiprocessing.connection.Client(address, authkey=...)`, sends words and a 1 MiB blob with
//! `send_bytes`, and reads the answers with `recv_bytes`. Python 3.12+ authenticates with
//! HMAC-SHA256; for Python 3.11 and older the server allows the legacy HMAC-MD5 handshake
//! (`Options::allow_legacy_md5`), which is off by default.
//!
//! ```text
//! $ cargo run --example connection_python
//! listening on 127.0.0.1:44553 for Python 3.12+
//! python says: b'hello'
//! python says: b'from'
//! python says: b'python'
//! python sent 1048576 bytes; checksum 133693440
//! python printed: HELLO FROM PYTHON | sum ok
//! ```

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mproc::connection::{ConnectionError, Listener, Options};

const LIMIT: Duration = Duration::from_secs(30);
const KEY: &[u8] = b"shared secret";

const CLIENT: &str = r"
import sys
from multiprocessing.connection import Client
conn = Client(('127.0.0.1', int(sys.argv[1])), authkey=sys.argv[2].encode())
words = []
for word in [b'hello', b'from', b'python']:
    conn.send_bytes(word)
    words.append(conn.recv_bytes().decode())
blob = bytes(range(256)) * 4096
conn.send_bytes(blob)
total = int(conn.recv_bytes())
conn.send_bytes(b'')
print(' '.join(words), '|', 'sum ok' if total == sum(blob) else 'sum WRONG', flush=True)
";

fn python() -> (String, bool) {
    let python = std::env::var("MPROC_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let modern = Command::new(&python)
        .args([
            "-c",
            "import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)",
        ])
        .status()
        .is_ok_and(|s| s.success());
    (python, modern)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (python, modern) = python();
    let options = Options::new().authkey(KEY).allow_legacy_md5(!modern);
    let listener = Listener::bind_with("127.0.0.1:0", options)?;
    let mproc::connection::Address::Tcp(address) = *listener.address() else {
        unreachable!("bound on TCP");
    };
    let era = if modern {
        "Python 3.12+"
    } else {
        "Python <= 3.11 (legacy handshake)"
    };
    println!("listening on {address} for {era}");

    let mut child = Command::new(&python)
        .args(["-c", CLIENT, &address.port().to_string(), "shared secret"])
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        let mut printed = String::new();
        let _ = stdout.read_to_string(&mut printed);
        let _ = done_tx.send((child.wait(), printed));
    });

    let served = serve(&listener);
    let Ok((status, printed)) = done.recv_timeout(LIMIT) else {
        // Our child, not yet reaped (the thread above waits for it), so the pid is still its.
        let pid = nix::unistd::Pid::from_raw(pid.cast_signed());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        return Err("the Python client did not finish in time: killed".into());
    };
    served?;
    println!("python printed: {}", printed.trim());
    if !status?.success() {
        return Err("the Python client failed".into());
    }
    Ok(())
}

/// Answers each word upper-cased and the blob with the sum of its bytes, until the empty
/// message.
fn serve(listener: &Listener) -> Result<(), ConnectionError> {
    let conn = listener.accept_timeout(LIMIT)?;
    loop {
        let message = conn.recv_bytes_timeout(LIMIT)?;
        if message.is_empty() {
            return Ok(());
        }
        if message.len() > 1024 {
            let sum: u64 = message.iter().map(|&b| u64::from(b)).sum();
            println!("python sent {} bytes; checksum {sum}", message.len());
            conn.send_bytes(sum.to_string().as_bytes())?;
        } else {
            println!("python says: b'{}'", String::from_utf8_lossy(&message));
            conn.send_bytes(&message.to_ascii_uppercase())?;
        }
    }
}
