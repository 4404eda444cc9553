//! Helpers shared by the integration tests: cross-process gates, bounded waits, and counts of
//! children, descriptors and mappings for leak checks.
//!
//! Every wait here is bounded by [`TIMEOUT`], so a bug fails a test instead of hanging CI.

pub mod gate;
pub mod pools;
pub mod procs;
pub mod python;
pub mod sync_support;

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
