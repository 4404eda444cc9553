//! Helpers shared by the integration tests: cross-process gates, bounded waits, counts of
//! children, descriptors and mappings for leak checks, and forged manager proxies.
//!
//! Every wait here is bounded by [`TIMEOUT`], so a bug fails a test instead of hanging CI.

pub mod forged;
pub mod gate;
pub mod pools;
pub mod procs;
pub mod python;
pub mod reports;
pub mod sync_support;
pub mod threads;

use std::time::Duration;

use mproc::StartMethod;

/// The bound on any single wait in a test: long enough that only a bug reaches it.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The start methods every cross-process behaviour is tested under.
pub const METHODS: [StartMethod; 3] = [
    StartMethod::Fork,
    StartMethod::Spawn,
    StartMethod::ForkServer,
];
