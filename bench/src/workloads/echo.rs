//! The floor of request-reply figures: 16-byte round trips to a forked echo process, over
//! whatever stream connects the two (a socketpair, TCP loopback).

use std::io::{Read, Write};
use std::time::Instant;

use super::{float, repeat, secs_since};
use crate::config::Sizes;
use crate::outcome::{Error, Measured, Outcome};
use crate::sys::proc::{Pid, wait_ok};

/// The size of one request and of one reply.
pub(crate) const SMALL: usize = 16;

/// Echoes `count` 16-byte messages on `end` (a count, not the peer's close: a forked echo
/// process holds a copy of its peer's end too).
pub(crate) fn echo(mut end: impl Read + Write, count: u64) -> std::io::Result<()> {
    let mut buf = [0u8; SMALL];
    for _ in 0..count {
        end.read_exact(&mut buf)?;
        end.write_all(&buf)?;
    }
    Ok(())
}

/// Times `per_op` round trips per operation through `parent` to `child`, which echoes
/// `sizes.pingpong * per_op` messages per run; µs per operation. Waits for `child` at the end.
pub(crate) fn round_trips(
    sizes: &Sizes,
    mut parent: impl Read + Write,
    child: Pid,
    per_op: u64,
) -> Result<Outcome, Error> {
    let rounds = sizes.pingpong;
    let (message, mut back) = ([7u8; SMALL], [0u8; SMALL]);
    let samples = repeat(sizes, || {
        let start = Instant::now();
        for _ in 0..rounds * per_op {
            parent.write_all(&message)?;
            parent.read_exact(&mut back)?;
        }
        Ok(secs_since(start) * 1e6 / float(rounds))
    });
    drop(parent);
    let waited = wait_ok(child);
    let samples = samples?;
    waited?;
    Ok(Outcome::Measured(Measured::new(samples)))
}

/// How many messages the echo process of [`round_trips`] must answer in all.
pub(crate) fn echoes(sizes: &Sizes, per_op: u64) -> u64 {
    sizes.pingpong * per_op * u64::from(sizes.total_runs())
}
