//! A request/response pair as a `process!` topology: a client asks a calculator server over a
//! duplex pipe; the server's errors travel back as typed values, and a server that hangs up
//! early is a typed error for the client, not a hang.
//!
//! Python has no topology. By hand, the parent must close its own copies of both ends, or
//! neither side ever sees `EOFError`; and an error in the server must be caught and pickled
//! back by hand, or the client blocks in `recv()` forever:
//!
//! ```python
//! client_end, server_end = Pipe()
//! server = Process(target=serve, args=(server_end,))
//! client = Process(target=ask, args=(client_end, requests))
//! server.start(); client.start()
//! server_end.close(); client_end.close()     # forget one: a side waits forever
//!
//! def serve(conn):
//!     while True:
//!         try: request = conn.recv()
//!         except EOFError: break
//!         try: conn.send(('ok', compute(request)))
//!         except ZeroDivisionError as e: conn.send(('error', str(e)))   # a string, untyped
//! ```
//!
//! What differs: `pipe (client, server): Pipe<Request, Reply>;` names the ends and their
//! types: the compiler checks that `ask` sends `Request`s and receives `Reply`s, and that
//! `serve` does the reverse. Each end moves into its one process (the topology refuses an
//! end given to two processes), so the parent holds no copy: when the client ends, the server's
//! `recv` reports `PipeError::Eof`; when the server ends first, the client's `send` or `recv`
//! reports it. A failed computation is a `Reply` of `Err(CalcError::..)`, a value the client
//! matches on.
//!
//! `cargo run --release -p examples --example topology_request_response` prints (in 2), the
//! client's `send` or its `recv` may be the call that notices the hang-up):
//!
//! ```text
//! 1) a server that answers until the client is done
//! client: 7 + 5 = 12
//! client: 7 / 2 = 3.5
//! client: 7 / 0 failed: division by zero
//! client: sqrt(16) = 4
//! client: sqrt(-1) failed: the square root of -1 is not real
//! server: the client closed its end after 5 requests
//! client: 3 answers, 2 errors; server: 5 served
//!
//! 2) a server that serves 2 requests, then exits
//! client: 7 + 5 = 12
//! client: 7 / 2 = 3.5
//! client: the server hung up: the other end of the pipe is closed
//! client: 2 answers, 0 errors; server: 2 served
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::fmt;
use std::time::Duration;

use mproc::prelude::*;
use mproc::topology::process;
use serde::{Deserialize, Serialize};

/// The example fails instead of hanging if the topology does not end within this.
const PATIENCE: Duration = Duration::from_secs(10);

/// What the client asks.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum Request {
    Add(i64, i64),
    Divide(i64, i64),
    Sqrt(i64),
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Add(a, b) => write!(f, "{a} + {b}"),
            Request::Divide(a, b) => write!(f, "{a} / {b}"),
            Request::Sqrt(a) => write!(f, "sqrt({a})"),
        }
    }
}

/// Why the server could not compute an answer: sent back as a value.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum CalcError {
    DivisionByZero,
    NegativeRoot(i64),
}

impl fmt::Display for CalcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalcError::DivisionByZero => write!(f, "division by zero"),
            CalcError::NegativeRoot(a) => write!(f, "the square root of {a} is not real"),
        }
    }
}

/// The requests the client sends, in order.
const REQUESTS: [Request; 5] = [
    Request::Add(7, 5),
    Request::Divide(7, 2),
    Request::Divide(7, 0),
    Request::Sqrt(16),
    Request::Sqrt(-1),
];

/// What the client saw: the replies it got, and why it stopped early, if it did.
#[derive(Debug, Serialize, Deserialize)]
struct Session {
    replies: Vec<Result<f64, CalcError>>,
    hung_up: Option<String>,
}

#[allow(
    clippy::cast_precision_loss,
    reason = "the example's numbers are small: exact in an f64"
)]
fn compute(request: Request) -> Result<f64, CalcError> {
    match request {
        Request::Add(a, b) => Ok((a + b) as f64),
        Request::Divide(_, 0) => Err(CalcError::DivisionByZero),
        Request::Divide(a, b) => Ok(a as f64 / b as f64),
        Request::Sqrt(a) if a < 0 => Err(CalcError::NegativeRoot(a)),
        Request::Sqrt(a) => Ok((a as f64).sqrt()),
    }
}

/// Asks each request in turn and waits for its reply; stops if the server hangs up.
#[process]
fn ask(server: Connection<Request, Result<f64, CalcError>>, requests: Vec<Request>) -> Session {
    let mut session = Session {
        replies: Vec::new(),
        hung_up: None,
    };
    for request in requests {
        let reply = server
            .send(&request)
            .and_then(|()| server.recv_timeout(PATIENCE));
        let reply = match reply {
            Ok(reply) => reply,
            Err(e @ (PipeError::Eof | PipeError::Disconnected)) => {
                println!("client: the server hung up: {e}");
                session.hung_up = Some(e.to_string());
                break;
            }
            Err(e) => panic!("client: {e}"),
        };
        match &reply {
            Ok(answer) => println!("client: {request} = {answer}"),
            Err(e) => println!("client: {request} failed: {e}"),
        }
        session.replies.push(reply);
    }
    session
    // `server` is dropped here: the server's `recv` sees the end of the stream.
}

/// Answers requests until the client closes its end, or until it has served `limit`.
#[process]
fn serve(client: Connection<Result<f64, CalcError>, Request>, limit: Option<usize>) -> usize {
    let mut served = 0;
    while limit.is_none_or(|limit| served < limit) {
        match client.recv_timeout(PATIENCE) {
            Ok(request) => {
                client.send(&compute(request)).expect("send a reply");
                served += 1;
            }
            Err(PipeError::Eof) => {
                println!("server: the client closed its end after {served} requests");
                break;
            }
            Err(e) => panic!("server: {e}"),
        }
    }
    served
}

/// Runs the client against a server that serves at most `limit` requests: the client's
/// session and the number served.
fn converse(limit: Option<usize>) -> mproc::Result<(Session, usize)> {
    let done = process! {
        pipe (client, server): Pipe<Request, Result<f64, CalcError>>;
        asker: ask(client, REQUESTS.to_vec());
        answerer: serve(server, limit);
    }
    .start()?
    .join_timeout(PATIENCE)?;
    assert!(done.failures().is_empty(), "{:?}", done.failures());
    let (session, served) = (done.asker?, done.answerer?);
    let errors = session.replies.iter().filter(|r| r.is_err()).count();
    println!(
        "client: {} answers, {errors} errors; server: {served} served",
        session.replies.len() - errors
    );
    Ok((session, served))
}

fn main() -> mproc::Result<()> {
    println!("1) a server that answers until the client is done");
    let (session, served) = converse(None)?;
    assert_eq!(served, REQUESTS.len());
    assert_eq!(session.hung_up, None);
    let expected: Vec<_> = REQUESTS.into_iter().map(compute).collect();
    assert_eq!(session.replies, expected);
    assert_eq!(session.replies[2], Err(CalcError::DivisionByZero));
    assert_eq!(session.replies[4], Err(CalcError::NegativeRoot(-1)));

    println!("\n2) a server that serves 2 requests, then exits");
    let (session, served) = converse(Some(2))?;
    assert_eq!(served, 2);
    assert_eq!(session.replies, expected[..2]);
    assert!(session.hung_up.is_some(), "the client saw the server go");
    Ok(())
}
