//! Event ping-pong: two processes hand a turn back and forth through two events.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use mproc::{Event, process};

use super::{Figure, Workload, float, repeat, secs_since};
use crate::config::Sizes;
use crate::floor::{PATIENCE, futex_wait_until};
use crate::outcome::{Error, Measured, Outcome, Unit, fail};
use crate::peers;
use crate::sys::proc::{fork_child, wait_ok};
use crate::sys::shm::{ShmRegion, futex_wake};

const ABOUT: &str = "the parent sets event A and waits for event B; the child waits for A, \
                     clears it and sets B; one round trip per iteration. mproc: two \
                     `mproc::Event`s and a `#[process]` child; Python: two `mp.Event`s; floor: \
                     one futex word in shared memory flipped 0→1→0 with `FUTEX_WAIT` / \
                     `FUTEX_WAKE`, no spinning";

pub(crate) const WORKLOAD: Workload = Workload {
    name: "event",
    script: "mp_event.py",
    figures: &[
        Figure {
            id: "event.pingpong.pinned",
            title: "Event ping-pong round trip, both on CPU 0",
            unit: Unit::Us,
            pinned: true,
            memory: false,
            about: ABOUT,
            mproc: mproc_pingpong,
            floor: floor_pingpong,
            peers: &[peers::iceoryx2::EVENT_PEER],
        },
        Figure {
            id: "event.pingpong.unpinned",
            title: "Event ping-pong round trip, unpinned",
            unit: Unit::Us,
            pinned: false,
            memory: false,
            about: ABOUT,
            mproc: mproc_pingpong,
            floor: floor_pingpong,
            peers: &[peers::iceoryx2::EVENT_PEER],
        },
    ],
};

/// The child's half of the mproc ping-pong: wait for `ping`, clear it, set `answer`, `rounds`
/// times.
#[process]
fn mproc_pong(ping: Event, answer: Event, rounds: u64) -> Result<(), String> {
    for _ in 0..rounds {
        if ping.wait_timeout(PATIENCE).is_err() {
            return Err("no ping".to_owned());
        }
        ping.clear();
        answer.set();
    }
    Ok(())
}

/// Ping-pong of two `mproc::Event`s with a `#[process]` child, as the Python side does.
fn mproc_pingpong(sizes: &Sizes) -> Result<Outcome, Error> {
    let (ping, answer) = (Event::new()?, Event::new()?);
    let rounds = sizes.pingpong;
    let total = rounds * u64::from(sizes.total_runs());
    let child = mproc_pong::spawn(ping.clone(), answer.clone(), total)?;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds {
            ping.set();
            if answer.wait_timeout(PATIENCE).is_err() {
                return Err(fail("no pong"));
            }
            answer.clear();
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    });
    if samples.is_err() {
        // A failed run must not leave the child waiting for pings that will not come.
        let _ = child.kill();
    }
    let joined = child.join();
    let samples = samples?;
    joined?.map_err(fail)?;
    if ping.is_set() || answer.is_set() {
        return Err(fail("an event was left set after the last round"));
    }
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// The child's half: wait for 1, answer 0, `rounds` times.
fn pong(turn: &AtomicU32, rounds: u64) -> Result<(), Error> {
    for _ in 0..rounds {
        futex_wait_until(turn, |v| v == 1, "ping")?;
        turn.store(0, Ordering::Release);
        futex_wake(turn, 1);
    }
    Ok(())
}

fn floor_pingpong(sizes: &Sizes) -> Result<Outcome, Error> {
    let shm = ShmRegion::new(64)?;
    let turn = shm.u32_at(0);
    let rounds = sizes.pingpong;
    let child = fork_child(|| pong(turn, rounds * u64::from(sizes.total_runs())))?;
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds {
            turn.store(1, Ordering::Release);
            futex_wake(turn, 1);
            futex_wait_until(turn, |v| v == 0, "pong")?;
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    });
    wait_ok(child)?;
    Ok(Outcome::Measured(Measured::new(samples?)))
}
