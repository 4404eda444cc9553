//! The workloads of DESIGN §4, one file each. A workload lists its figures; a figure has an
//! mproc side and a floor side written here, a Python side in
//! `bench/python/<workload script>`, and zero or more peer sides (other Rust crates doing the
//! same job, in `crate::peers`).
//!
//! Every side function runs in a fresh measuring process of its own (see `crate::side`), so
//! peak RSS, CPU pinning and leftovers of one figure never leak into another.
//!
//! An mproc side whose feature has not landed returns [`Outcome::NotYet`] naming it; filling
//! it in is the whole change needed when the feature lands.

pub(crate) mod connection;
mod echo;
pub(crate) mod event;
pub(crate) mod joinable;
pub(crate) mod lock;
pub(crate) mod manager;
pub(crate) mod pipe;
pub(crate) mod pool;
pub(crate) mod queue;
pub(crate) mod semaphore;
pub(crate) mod spawn;
pub(crate) mod value;

use std::time::Instant;

use crate::config::Sizes;
use crate::outcome::{Error, Outcome, Unit};

/// One side of one figure: measures and returns the samples (or "not yet").
pub(crate) type SideFn = fn(&Sizes) -> Result<Outcome, Error>;

/// One row of the report.
#[derive(Debug)]
pub(crate) struct Figure {
    /// Stable identifier, `workload.figure[.variant]`; the Python scripts use the same ids.
    pub(crate) id: &'static str,
    /// The row's title in the table.
    pub(crate) title: &'static str,
    pub(crate) unit: Unit,
    /// Runs with the measuring process and its children on CPU 0 only.
    pub(crate) pinned: bool,
    /// Reports peak RSS of the parent and of one worker.
    pub(crate) memory: bool,
    /// What the three sides do, for the report.
    pub(crate) about: &'static str,
    pub(crate) mproc: SideFn,
    pub(crate) floor: SideFn,
    /// Other crates' equivalents of the mproc side, measured alternating with it.
    pub(crate) peers: &'static [Peer],
}

/// A peer side: the same work done with another Rust crate (`crate::peers`).
#[derive(Debug)]
pub(crate) struct Peer {
    /// The crate's name, which is also the side's name and the report's column.
    pub(crate) name: &'static str,
    /// What this side does, for the report.
    pub(crate) about: &'static str,
    pub(crate) side: SideFn,
}

impl Figure {
    /// The peer side named `name`.
    pub(crate) fn peer(&self, name: &str) -> Option<&'static Peer> {
        self.peers.iter().find(|p| p.name == name)
    }
}

/// A group of figures sharing a Python script.
#[derive(Debug)]
pub(crate) struct Workload {
    /// Name for `--only`.
    pub(crate) name: &'static str,
    /// The script in `bench/python/` measuring the Python side of every figure.
    pub(crate) script: &'static str,
    pub(crate) figures: &'static [Figure],
}

/// Every workload, in report order.
pub(crate) const ALL: &[&Workload] = &[
    &spawn::WORKLOAD,
    &lock::WORKLOAD,
    &semaphore::WORKLOAD,
    &value::WORKLOAD,
    &event::WORKLOAD,
    &pipe::WORKLOAD,
    &connection::WORKLOAD,
    &queue::WORKLOAD,
    &joinable::WORKLOAD,
    &pool::WORKLOAD,
    &manager::WORKLOAD,
];

/// The figure with identifier `id`.
pub(crate) fn find(id: &str) -> Option<&'static Figure> {
    ALL.iter()
        .flat_map(|w| w.figures.iter())
        .find(|f| f.id == id)
}

/// Runs `run` for the warm-up runs (results dropped) and then the measured runs.
pub(crate) fn repeat(
    sizes: &Sizes,
    mut run: impl FnMut() -> Result<f64, Error>,
) -> Result<Vec<f64>, Error> {
    for _ in 0..sizes.warmup {
        run()?;
    }
    (0..sizes.runs).map(|_| run()).collect()
}

/// Seconds since `start`.
pub(crate) fn secs_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// `count` as a float, for rates and per-operation averages.
#[allow(
    clippy::cast_precision_loss,
    reason = "operation counts stay far below 2^52 in every workload"
)]
pub(crate) fn float(count: u64) -> f64 {
    count as f64
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::ALL;
    use crate::python::scripts_dir;

    #[test]
    fn figure_ids_are_unique_and_named_after_their_workload() {
        let mut seen = HashSet::new();
        for workload in ALL {
            for figure in workload.figures {
                assert!(seen.insert(figure.id), "duplicate figure {}", figure.id);
                assert!(
                    figure.id.starts_with(&format!("{}.", workload.name)),
                    "{} is not in workload {}",
                    figure.id,
                    workload.name
                );
            }
        }
    }

    #[test]
    fn every_figure_has_its_python_side() {
        for workload in ALL {
            let path = scripts_dir().join(workload.script);
            let script = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for figure in workload.figures {
                assert!(
                    script.contains(&format!(
                        "\"{}\": (\"{}\"",
                        figure.id,
                        unit_name(figure.unit)
                    )),
                    "{} does not measure {} in its unit",
                    workload.script,
                    figure.id
                );
            }
        }
    }

    /// The unit as the JSON lines spell it.
    fn unit_name(unit: crate::outcome::Unit) -> String {
        serde_json::to_value(unit)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}
