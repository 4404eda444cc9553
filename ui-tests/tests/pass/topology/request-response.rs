//! A request/response pair over a duplex pipe, plus a one-way pipe for a report.

use std::time::Duration;

use mproc::pipe::{Receiver, Sender};
use mproc::prelude::*;
use mproc::topology::process;
use serde::{Deserialize, Serialize};

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Serialize, Deserialize)]
struct Request(u32);

#[derive(Debug, Serialize, Deserialize)]
struct Response(u64);

#[process]
fn ask(link: Connection<Request, Response>, count: u32, report: Sender<String>) -> u64 {
    let mut total = 0;
    for n in 0..count {
        link.send(&Request(n)).expect("send");
        total += link.recv_timeout(TIMEOUT).expect("response").0;
    }
    report.send(&format!("asked {count}")).expect("report");
    total
}

#[process]
fn answer(link: Connection<Response, Request>) -> u32 {
    let mut answered = 0;
    loop {
        match link.recv_timeout(TIMEOUT) {
            Ok(Request(n)) => {
                link.send(&Response(u64::from(n) * 2)).expect("send");
                answered += 1;
            }
            Err(PipeError::Eof) => return answered,
            Err(e) => panic!("recv: {e}"),
        }
    }
}

#[process]
fn listen(report: Receiver<String>) -> String {
    report.recv_timeout(TIMEOUT).expect("report")
}

fn main() {
    let done = process! {
        pipe (client, server): Pipe<Request, Response>;
        pipe (reports, report): Pipe<String>, simplex;
        asker: ask(client, 10, report);
        answerer: answer(server);
        listener: listen(reports), start_method(StartMethod::Fork);
    }
    .start()
    .expect("started")
    .join_timeout(TIMEOUT)
    .expect("ended in time");

    assert_eq!(
        done.asker.expect("asker"),
        (0..10).map(|n| n * 2).sum::<u64>()
    );
    assert_eq!(done.answerer.expect("answerer"), 10);
    assert_eq!(done.listener.expect("listener"), "asked 10");
}
