//! What a measuring process reports: one JSON line per figure, from Rust and Python alike.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::sys::cpu;

/// The unit of a figure, and with it whether smaller or larger is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Unit {
    /// Nanoseconds per operation.
    #[serde(rename = "ns")]
    Ns,
    /// Microseconds per operation.
    #[serde(rename = "us")]
    Us,
    /// Milliseconds per operation.
    #[serde(rename = "ms")]
    Ms,
    /// Operations per second.
    #[serde(rename = "ops/s")]
    OpsPerSec,
    /// Items per second.
    #[serde(rename = "items/s")]
    ItemsPerSec,
    /// Bytes per second.
    #[serde(rename = "B/s")]
    BytesPerSec,
    /// A speedup factor (time alone / time with more processes).
    #[serde(rename = "x")]
    Speedup,
}

impl Unit {
    /// `true` for times per operation (smaller is better); `false` for rates and speedups.
    pub(crate) fn is_time(self) -> bool {
        matches!(self, Unit::Ns | Unit::Us | Unit::Ms)
    }

    /// How a value in this unit turns into a cost (time-like: smaller is better).
    pub(crate) fn cost(self, value: f64) -> f64 {
        if self.is_time() { value } else { 1.0 / value }
    }

    /// The label used in tables.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Unit::Ns => "ns",
            Unit::Us => "µs",
            Unit::Ms => "ms",
            Unit::OpsPerSec => "ops/s",
            Unit::ItemsPerSec => "items/s",
            Unit::BytesPerSec => "B/s",
            Unit::Speedup => "×",
        }
    }
}

/// Peak resident set sizes seen by a measuring process, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rss {
    /// The measuring (parent) process itself.
    pub(crate) parent_kib: u64,
    /// The largest child it waited for (a worker), if any.
    pub(crate) worker_kib: Option<u64>,
}

/// The samples of one figure from one side.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    pub(crate) samples: Vec<f64>,
    pub(crate) rss: Option<Rss>,
}

impl Measured {
    /// Samples without memory figures.
    pub(crate) fn new(samples: Vec<f64>) -> Self {
        Self { samples, rss: None }
    }

    /// Samples plus the peak RSS of this process and of its largest reaped child, read now
    /// (call it after every worker has been waited for).
    pub(crate) fn with_rss(samples: Vec<f64>) -> Self {
        let worker = cpu::peak_rss_children_kib();
        Self {
            samples,
            rss: Some(Rss {
                parent_kib: cpu::peak_rss_self_kib(),
                worker_kib: (worker > 0).then_some(worker),
            }),
        }
    }
}

/// What one side produced for one figure.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// It ran.
    Measured(Measured),
    /// The feature it needs has not landed yet; says which.
    NotYet(String),
}

/// The result of an mproc side whose feature has not landed: `what` names it.
#[allow(
    clippy::unnecessary_wraps,
    reason = "has the shape of every side function, which it stands in for"
)]
#[allow(
    dead_code,
    reason = "every mproc side has landed for now; kept for the next feature's figures"
)]
pub(crate) fn not_yet(what: &str) -> Result<Outcome, Error> {
    Ok(Outcome::NotYet(what.to_owned()))
}

/// A failed measurement, with a message for the report.
#[derive(Debug)]
pub(crate) struct Error(pub(crate) String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(e: E) -> Self {
        Error(e.to_string())
    }
}

/// Builds an [`Error`] from a message.
pub(crate) fn fail(message: impl Into<String>) -> Error {
    Error(message.into())
}

/// The JSON line every measuring process prints, one per figure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Line {
    pub(crate) figure: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) unit: Option<Unit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) samples: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rss_parent_kib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rss_worker_kib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) not_yet: Option<String>,
}

impl Line {
    /// The line for `outcome` of figure `figure` measured in `unit`.
    pub(crate) fn from_outcome(figure: &str, unit: Unit, outcome: &Outcome) -> Self {
        let mut line = Line {
            figure: figure.to_owned(),
            unit: Some(unit),
            samples: Vec::new(),
            rss_parent_kib: None,
            rss_worker_kib: None,
            not_yet: None,
        };
        match outcome {
            Outcome::Measured(m) => {
                line.samples.clone_from(&m.samples);
                line.rss_parent_kib = m.rss.map(|r| r.parent_kib);
                line.rss_worker_kib = m.rss.and_then(|r| r.worker_kib);
            }
            Outcome::NotYet(what) => line.not_yet = Some(what.clone()),
        }
        line
    }

    /// Back to an outcome, checking that it is for `figure` in `unit`.
    pub(crate) fn into_outcome(self, figure: &str, unit: Unit) -> Result<Outcome, Error> {
        if self.figure != figure {
            return Err(fail(format!(
                "expected figure {figure}, got {}",
                self.figure
            )));
        }
        if let Some(what) = self.not_yet {
            return Ok(Outcome::NotYet(what));
        }
        if self.unit != Some(unit) {
            return Err(fail(format!(
                "{figure}: expected unit {unit:?}, got {:?}",
                self.unit
            )));
        }
        if self.samples.is_empty() || self.samples.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(fail(format!("{figure}: bad samples {:?}", self.samples)));
        }
        let rss = self.rss_parent_kib.map(|parent_kib| Rss {
            parent_kib,
            worker_kib: self.rss_worker_kib,
        });
        Ok(Outcome::Measured(Measured {
            samples: self.samples,
            rss,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(outcome: &Outcome, unit: Unit) -> Result<Outcome, Error> {
        let json = serde_json::to_string(&Line::from_outcome("x.y", unit, outcome)).unwrap();
        serde_json::from_str::<Line>(&json)
            .unwrap()
            .into_outcome("x.y", unit)
    }

    #[test]
    fn measured_lines_round_trip_with_memory() {
        let measured = Measured {
            samples: vec![1.5, 2.5],
            rss: Some(Rss {
                parent_kib: 100,
                worker_kib: Some(50),
            }),
        };
        let Ok(Outcome::Measured(back)) = round_trip(&Outcome::Measured(measured), Unit::Us) else {
            panic!("expected a measurement");
        };
        assert_eq!(back.samples, [1.5, 2.5]);
        assert_eq!(
            back.rss,
            Some(Rss {
                parent_kib: 100,
                worker_kib: Some(50)
            })
        );
    }

    #[test]
    fn not_yet_round_trips() {
        let Ok(Outcome::NotYet(what)) = round_trip(&not_yet("Queue").unwrap(), Unit::Ns) else {
            panic!("expected not yet");
        };
        assert_eq!(what, "Queue");
    }

    #[test]
    fn wrong_unit_figure_or_samples_are_errors() {
        let line = |json: &str| serde_json::from_str::<Line>(json).unwrap();
        let ok = r#"{"figure":"x.y","unit":"us","samples":[1.0]}"#;
        assert!(line(ok).into_outcome("x.y", Unit::Us).is_ok());
        assert!(line(ok).into_outcome("x.y", Unit::Ms).is_err());
        assert!(line(ok).into_outcome("x.z", Unit::Us).is_err());
        let empty = r#"{"figure":"x.y","unit":"us","samples":[]}"#;
        assert!(line(empty).into_outcome("x.y", Unit::Us).is_err());
        let negative = r#"{"figure":"x.y","unit":"us","samples":[-1.0]}"#;
        assert!(line(negative).into_outcome("x.y", Unit::Us).is_err());
    }
}
