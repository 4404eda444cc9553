//! UI tests of mproc's macros live in `tests/` (trybuild cases driven by `tests/ui.rs`).
//!
//! This library is the lint wall: it uses `#[process]` on public and private functions under
//! the strictest lints a user crate might set, so generated code that trips a lint fails
//! `cargo clippy --workspace --all-targets -- -D warnings`. `tests/lints.rs` runs what it
//! generated. A library, because rustc skips `missing_docs` in test builds.

#![deny(
    warnings,
    clippy::all,
    clippy::pedantic,
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    unused_qualifications,
    unused_results
)]

use std::time::Duration;

use mproc::prelude::*;
use serde::{Deserialize, Serialize};

/// Work for a child.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    /// Which job.
    pub id: u32,
    /// Its input.
    pub values: Vec<i64>,
}

/// Sums a job's values.
#[process]
#[must_use]
pub fn total(job: Job) -> i64 {
    job.values.iter().sum()
}

/// Does nothing, in another process.
#[process]
pub fn nothing() {}

/// Takes its arguments apart.
#[process]
#[must_use]
pub fn spread((a, b): (u8, u8), mut text: String) -> String {
    text.push(char::from(a));
    text.push(char::from(b));
    text
}

/// Visible in the crate only.
#[process]
pub(crate) fn negate(x: i64) -> i64 {
    -x
}

#[process]
fn scale(factor: i64, job: Job) -> Vec<i64> {
    job.values.into_iter().map(|v| v * factor).collect()
}

/// Scales `job` by `factor` in a child and negates `x` in another, both through the spawn API
/// of private functions, waiting at most `timeout` for each.
///
/// # Errors
/// When a child cannot start or does not return in time.
pub fn scale_and_negate(
    factor: i64,
    job: Job,
    x: i64,
    timeout: Duration,
) -> mproc::Result<(Vec<i64>, i64)> {
    let scaled = scale::builder().name("scaler").spawn(factor, job)?;
    let negated = negate::spawn(x)?;
    Ok((
        scaled.join_timeout(timeout)?,
        negated.join_timeout(timeout)?,
    ))
}

/// The squares of a job's values, as a pool task.
#[pool_task]
#[must_use]
pub fn squares(job: Job) -> Vec<i64> {
    job.values.iter().map(|v| v * v).collect()
}

#[pool_task]
fn offset(value: i64, by: i64) -> i64 {
    value + by
}

/// Runs both pool tasks on a pool of `workers`, waiting at most `timeout` for each result.
///
/// # Errors
/// When the pool cannot start or a task fails or does not finish in time.
pub fn pooled(job: Job, workers: usize, timeout: Duration) -> mproc::Result<(Vec<i64>, Vec<i64>)> {
    let pool = Pool::new(workers)?;
    let squared = pool.apply_async(squares, job)?.get_timeout(timeout)?;
    let offsets = pool
        .starmap_async(offset, [(1, 10), (2, 20)])?
        .get_timeout(timeout)?;
    pool.close();
    pool.join_timeout(timeout)?;
    Ok((squared, offsets))
}
