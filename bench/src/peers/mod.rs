//! Peer sides: the same work as an mproc side, done with another Rust crate a user might pick
//! instead (one module per crate). Each is a [`crate::workloads::Peer`] of the figures where
//! the crate offers an equivalent; like every side, it runs in fresh measuring processes,
//! alternating with the mproc side, and checks its results (a wrong result is an error).
//!
//! The crates are bench-only dependencies (`bench/Cargo.toml`), never the library's. The
//! crates without a way to start a process (ipc-channel, interprocess, iceoryx2) talk to a
//! forked child (`crate::sys::proc::fork_child`), as the floor sides do. All of them use local
//! IPC only: Unix sockets (abstract or file-system names) and shared memory.

pub(crate) mod iceoryx2;
pub(crate) mod interprocess;
pub(crate) mod ipc_channel;
pub(crate) mod procspawn;

use std::sync::atomic::{AtomicU32, Ordering};

use crate::config::Sizes;
use crate::outcome::{Error, fail};

/// A peer crate, for the report.
#[derive(Debug)]
pub(crate) struct Crate {
    /// Its name on crates.io; also the name of its sides and its column.
    pub(crate) name: &'static str,
    /// The version pinned in `bench/Cargo.toml`.
    pub(crate) version: &'static str,
    /// What it is, in a few words.
    pub(crate) what: &'static str,
}

/// The peer crates, in the order of their columns.
pub(crate) const CRATES: &[Crate] = &[
    Crate {
        name: "procspawn",
        version: "1.0.2",
        what: "spawn a function in a re-executed child; a process pool",
    },
    Crate {
        name: "ipc-channel",
        version: "0.22.0",
        what: "typed and byte channels over Unix sockets, as in Servo",
    },
    Crate {
        name: "interprocess",
        version: "2.4.7",
        what: "local sockets, here Unix sockets with abstract-namespace names",
    },
    Crate {
        name: "iceoryx2",
        version: "0.10.0",
        what: "zero-copy shared-memory publish-subscribe and request-response",
    },
];

/// What the report says about the peers beyond their columns.
pub(crate) const NOTES: &str = "procspawn starts every process by re-executing the benchmark \
    binary (there is no fork mode), so its spawn figure is to be read against mproc's spawn \
    (exec) row; on the fork row it is shown for the user's choice, not as the same work. \
    ipc-channel, interprocess and iceoryx2 do not start processes: their sides fork a child \
    with `fork()` as the floor does, and their queue figures have the parent as the producer. \
    On the Unix-socket connection rows, interprocess's local socket is not authenticated \
    (mproc's `Listener`/`Client` authenticate once per connection, before the timed loop). \
    Rows without peers have no equivalent in these crates: the locks, semaphores, values and \
    events are mproc's shared-memory primitives, an ipc-channel receiver has one consumer and \
    an iceoryx2 subscriber gets every sample (neither spreads items over 2 consumers as the \
    2 → 2 queue does), and none has a joinable queue, a manager or a listener with an \
    authkey. ipc-channel 0.22 is the version procspawn builds on (the newest is 0.23); peer \
    sides report no memory figures.";

/// A name no other process of this machine uses: `mproc-bench-<pid>-<n>`, for sockets and
/// services.
pub(crate) fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("mproc-bench-{}-{n}", std::process::id())
}

/// Item `index` of a one-way stream of `size` bytes: its number in the first 8 bytes, then 7s.
pub(crate) fn stamp(item: &mut [u8], index: u64) {
    item[..8].copy_from_slice(&index.to_le_bytes());
}

/// Checks that `item` is item `index` of `size` bytes as [`stamp`] made it (length, number and
/// last byte).
pub(crate) fn check_item(item: &[u8], size: usize, index: u64) -> Result<(), Error> {
    let number = item
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes);
    if item.len() == size && number == Some(index) && item.last() == Some(&7) {
        Ok(())
    } else {
        Err(fail(format!("item {index} came back wrong")))
    }
}

/// Messages per run of the pipe throughput figures: `sizes.pipe_bytes` in `size`-byte
/// messages, as the mproc side sends.
pub(crate) fn pipe_count(sizes: &Sizes, size: usize) -> Result<u64, Error> {
    Ok((sizes.pipe_bytes / u64::try_from(size)?).max(1))
}

/// One pipe-throughput message: 64 KiB.
pub(crate) const KIB64: usize = 64 << 10;
/// One big item (and the large pipe message): 1 MiB.
pub(crate) const MIB: usize = 1 << 20;

/// The sum of `0..count`, wrapping: what a consumer of small items must have added up.
pub(crate) fn sum_below(count: u64) -> u64 {
    (0..count).fold(0u64, u64::wrapping_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reported_versions_are_the_pinned_ones() {
        let manifest = include_str!("../../Cargo.toml");
        for c in CRATES {
            let pin = format!("{} = \"={}\"", c.name, c.version);
            assert!(manifest.contains(&pin), "bench/Cargo.toml lacks `{pin}`");
        }
    }

    #[test]
    fn every_peer_side_is_a_listed_crate_once_per_figure() {
        for workload in crate::workloads::ALL {
            for figure in workload.figures {
                let mut seen = std::collections::HashSet::new();
                for peer in figure.peers {
                    assert!(
                        CRATES.iter().any(|c| c.name == peer.name),
                        "{}: {} is not in CRATES",
                        figure.id,
                        peer.name
                    );
                    assert!(seen.insert(peer.name), "{}: {} twice", figure.id, peer.name);
                    assert!(
                        !["mproc", "floor", "python"].contains(&peer.name),
                        "a peer named like a side"
                    );
                }
            }
        }
    }

    #[test]
    fn stamped_items_check_and_wrong_ones_do_not() {
        let mut item = vec![7u8; 64];
        stamp(&mut item, 5);
        assert!(check_item(&item, 64, 5).is_ok());
        assert!(check_item(&item, 64, 4).is_err());
        assert!(check_item(&item[..63], 64, 5).is_err());
        assert_eq!(sum_below(4), 6);
    }
}
