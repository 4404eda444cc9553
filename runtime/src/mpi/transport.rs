//! Non-blocking sends of owned buffers, bounded receives, and the idle back-off of both sides.
//!
//! Neither side ever blocks in a send while the other may be sending to it: every task and
//! result leaves through `MPI_Isend`, and the sender keeps receiving while it completes. Two
//! ranks sending each other 1 MiB messages (past MPI's eager limit, so each send waits for its
//! receive) therefore never deadlock.

use std::time::Duration;

use mpi::point_to_point::{Message, Status};
use mpi::request::{Request, StaticScope};
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Destination, Equivalence, MatchedReceiveVec, Source};

use super::wire::MAX_MESSAGE;

/// Sends in flight, each with the buffer it owns until MPI is done with it.
#[derive(Debug, Default)]
pub(super) struct Sends {
    pending: Vec<Request<'static, [u8], StaticScope>>,
}

impl Sends {
    /// Starts sending `message` to `rank` with `tag`.
    pub(super) fn start(
        &mut self,
        world: &SimpleCommunicator,
        rank: i32,
        tag: i32,
        message: Vec<u8>,
    ) {
        // The buffer is owned by the request until `reclaim`: leaked now, freed there.
        let buffer: &'static [u8] = Box::leak(message.into_boxed_slice());
        let request = world
            .process_at_rank(rank)
            .immediate_send_with_tag(StaticScope, buffer, tag);
        self.pending.push(request);
    }

    /// Completes the sends that are done; true if any was.
    pub(super) fn poll(&mut self) -> bool {
        let before = self.pending.len();
        let mut still = Vec::with_capacity(before);
        for request in self.pending.drain(..) {
            match request.test_with_data() {
                Ok((_, buffer)) => reclaim(buffer),
                Err(request) => still.push(request),
            }
        }
        self.pending = still;
        self.pending.len() != before
    }

    /// Waits for every send in flight (used when leaving).
    pub(super) fn finish(&mut self) {
        for request in self.pending.drain(..) {
            reclaim(request.wait_for_data());
        }
    }

    /// How many sends are in flight.
    pub(super) fn len(&self) -> usize {
        self.pending.len()
    }
}

impl Drop for Sends {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Frees a buffer leaked by [`Sends::start`] once its send completed.
fn reclaim(buffer: &'static [u8]) {
    let raw = std::ptr::from_ref::<[u8]>(buffer).cast_mut();
    // SAFETY: `buffer` came from `Box::leak` in `Sends::start`; its request completed (MPI no
    // longer reads it) and was consumed, so this is the only reference left.
    drop(unsafe { Box::from_raw(raw) });
}

/// A message that arrived, or a message refused for its size (received and dropped).
pub(super) enum Received {
    Message { bytes: Vec<u8>, source: i32 },
    TooLarge { source: i32, len: i32 },
}

/// Receives one message with `tag` if one is waiting, from any rank.
pub(super) fn try_receive(world: &SimpleCommunicator, tag: i32) -> Option<Received> {
    let (message, status) = world.any_process().immediate_matched_probe_with_tag(tag)?;
    Some(receive(message, status))
}

/// Receives one message with `tag` from `rank`, waiting for it.
pub(super) fn receive_from(world: &SimpleCommunicator, rank: i32, tag: i32) -> Received {
    let (message, status) = world.process_at_rank(rank).matched_probe_with_tag(tag);
    receive(message, status)
}

fn receive(message: Message, status: Status) -> Received {
    let source = status.source_rank();
    let len = status.count(u8::equivalent_datatype());
    if usize::try_from(len).is_ok_and(|l| l <= MAX_MESSAGE) {
        let (bytes, _) = (message, status).matched_receive_vec::<u8>();
        return Received::Message { bytes, source };
    }
    // MPI must deliver a matched message somewhere: into a buffer of one byte, truncating it
    // (an MPI error that aborts the job; a peer of the job that sends more than 1 GiB is
    // broken, and MPI jobs are fail-stop).
    let mut sink = [0u8; 1];
    let _ = message.matched_receive_into(&mut sink[..]);
    Received::TooLarge { source, len }
}

/// How an idle loop waits: spin briefly, then yield, then sleep a little longer each time (at
/// most 200 µs), so an idle rank leaves its CPU to the local workers.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    idle: u32,
}

impl Backoff {
    /// Something happened: the next idle wait starts short again.
    pub(super) fn reset(&mut self) {
        self.idle = 0;
    }

    /// Waits a little, longer the longer nothing happens.
    pub(super) fn idle(&mut self) {
        if let Some(pause) = self.pause() {
            std::thread::sleep(pause);
        }
    }

    /// Spins or yields briefly, or returns how long to sleep, for a caller that waits on
    /// something else meanwhile.
    pub(super) fn pause(&mut self) -> Option<Duration> {
        self.idle = self.idle.saturating_add(1);
        match self.idle {
            0..=16 => std::hint::spin_loop(),
            17..=24 => std::thread::yield_now(),
            n => return Some(Duration::from_micros(u64::from((n - 24).min(20)) * 10)),
        }
        None
    }
}
