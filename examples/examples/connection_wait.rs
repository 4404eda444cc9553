//! Issue #18: `connection::wait`, Python's `multiprocessing.connection.wait`: one loop serves
//! whichever is ready first among a listener (a worker connecting), the workers' connections (a
//! report, or the end of the stream), and the workers' sentinels (a worker ended), as
//!
//! ```python
//! while readers:
//!     for r in wait(readers):
//!         try:
//!             msg = r.recv()
//!         except EOFError:
//!             readers.remove(r)
//! ```
//!
//! Three workers connect back to the parent's `Listener` (authenticated with the program's
//! key, which they share) and send `id + 1` reports each; the parent never blocks on one of
//! them while another has something to say.
//!
//! ```text
//! $ cargo run --example connection_wait
//! listening on 127.0.0.1:40711
//! worker connected (1 open)
//! worker 1: report 1 of 2
//! ...
//! worker 2 ended (exit seen through its sentinel)
//! ...
//! 9 reports from 3 workers; every connection closed and every worker ended
//! ```

use std::os::fd::AsFd;
use std::time::Duration;

use mproc::connection::{Auth, Client, Connection, ConnectionError, Listener, Sentinel, wait};
use mproc::prelude::*;

const WORKERS: u32 = 3;
const PATIENCE: Duration = Duration::from_secs(30);

/// Connects to the parent and sends `reports` messages, then ends (closing the connection).
#[process]
fn worker(address: String, id: u32, reports: u32) {
    let conn = Client::connect(address.as_str(), Auth::Program).expect("connect to the parent");
    for n in 1..=reports {
        conn.send(&(id, n, reports)).expect("send a report");
    }
}

/// What became ready, by kind and position.
enum Ready {
    Listener,
    Conn(usize),
    Sentinel(usize),
}

/// Waits for the listener (while workers are still to connect), the open connections and the
/// sentinels of the workers still running; returns which are ready.
fn ready(
    listener: &Listener,
    accepting: bool,
    conns: &[Connection],
    sentinels: &[(u32, Sentinel)],
) -> Result<Vec<Ready>, ConnectionError> {
    let mut objects: Vec<&dyn AsFd> = Vec::new();
    if accepting {
        objects.push(listener);
    }
    let first_conn = objects.len();
    objects.extend(conns.iter().map(|c| c as &dyn AsFd));
    let first_sentinel = objects.len();
    objects.extend(sentinels.iter().map(|(_, s)| s as &dyn AsFd));
    let ready = wait(&objects, Some(PATIENCE))?;
    if ready.is_empty() {
        return Err(ConnectionError::Timeout);
    }
    Ok(ready
        .into_iter()
        .map(|i| match i {
            i if i < first_conn => Ready::Listener,
            i if i < first_sentinel => Ready::Conn(i - first_conn),
            i => Ready::Sentinel(i - first_sentinel),
        })
        .collect())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = Listener::bind("127.0.0.1:0", Auth::Program)?;
    println!("listening on {}", listener.address());
    let address = listener.address().to_string();
    let mut children = Vec::new();
    let mut sentinels = Vec::new();
    for id in 1..=WORKERS {
        let child = worker::spawn(address.clone(), id, id + 1)?;
        sentinels.push((id, child.sentinel()?));
        children.push(child);
    }

    let mut conns: Vec<Connection> = Vec::new();
    let (mut accepted, mut reports) = (0, 0);
    while accepted < WORKERS || !conns.is_empty() || !sentinels.is_empty() {
        // Highest positions first, so removing one does not shift the others.
        let mut events = ready(&listener, accepted < WORKERS, &conns, &sentinels)?;
        events.reverse();
        for event in events {
            match event {
                Ready::Listener => {
                    conns.push(listener.accept_timeout(PATIENCE)?);
                    accepted += 1;
                    println!("worker connected ({} open)", conns.len());
                }
                Ready::Conn(i) => match conns[i].recv::<(u32, u32, u32)>() {
                    Ok((id, n, of)) => {
                        reports += 1;
                        println!("worker {id}: report {n} of {of}");
                    }
                    Err(ConnectionError::Eof) => {
                        conns.remove(i);
                        println!("a connection closed ({} open)", conns.len());
                    }
                    Err(e) => return Err(e.into()),
                },
                Ready::Sentinel(i) => {
                    let (id, _) = sentinels.remove(i);
                    println!("worker {id} ended (exit seen through its sentinel)");
                }
            }
        }
    }
    for child in children {
        child.join()?;
    }
    let expected: u32 = (1..=WORKERS).map(|id| id + 1).sum();
    assert_eq!(reports, expected);
    println!(
        "{reports} reports from {WORKERS} workers; every connection closed and every worker ended"
    );
    Ok(())
}
