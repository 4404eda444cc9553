//! Number formatting: three significant digits, SI prefixes for rates, ratios.

use crate::outcome::Unit;
use crate::stats::Summary;

/// `value` with three significant digits (`0.0123`, `4.56`, `789`, `12345`).
pub(crate) fn number(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    // log10 of a finite non-zero f64 lies in -324..309, so the cast cannot truncate.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "log10 of an f64 fits in i32"
    )]
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = usize::try_from((2 - magnitude).clamp(0, 6)).unwrap_or(0);
    format!("{value:.decimals$}")
}

/// The SI prefix (and its factor) that puts `value` in 1..1000, for rates.
fn si_prefix(value: f64) -> (&'static str, f64) {
    [("G", 1e9), ("M", 1e6), ("k", 1e3)]
        .into_iter()
        .find(|(_, factor)| value >= *factor)
        .unwrap_or(("", 1.0))
}

/// A figure's median with its spread, `median [min..max]`; rates get an SI prefix.
pub(crate) fn summary(unit: Unit, s: &Summary) -> String {
    let (prefix, factor) = match unit {
        Unit::OpsPerSec | Unit::ItemsPerSec | Unit::BytesPerSec => si_prefix(s.median),
        Unit::Ns | Unit::Us | Unit::Ms | Unit::Speedup => ("", 1.0),
    };
    let scaled = |v: f64| number(v / factor);
    let gap = if prefix.is_empty() { "" } else { " " };
    format!(
        "{}{gap}{prefix} [{}..{}]",
        scaled(s.median),
        scaled(s.min),
        scaled(s.max)
    )
}

/// Cost of mproc over cost of `other` (time per operation; rates and speedups inverted):
/// below 1 means mproc is faster.
pub(crate) fn ratio(unit: Unit, mproc: Option<Summary>, other: Option<Summary>) -> String {
    match (mproc, other) {
        (Some(m), Some(o)) => format!("{}×", number(unit.cost(m.median) / unit.cost(o.median))),
        _ => "—".to_owned(),
    }
}

/// A peak RSS in KiB, as MiB.
pub(crate) fn mib(kib: u64) -> String {
    #[allow(clippy::cast_precision_loss, reason = "RSS in KiB is far below 2^52")]
    let mib = kib as f64 / 1024.0;
    format!("{} MiB", number(mib))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_digits() {
        assert_eq!(number(0.012_34), "0.0123");
        assert_eq!(number(4.567), "4.57");
        assert_eq!(number(78.91), "78.9");
        assert_eq!(number(12_345.6), "12346");
    }

    #[test]
    fn rates_get_a_prefix_from_the_median() {
        let s = Summary {
            median: 52_100_000.0,
            min: 50_200_000.0,
            max: 530_000_000.0,
            runs: 3,
        };
        assert_eq!(summary(Unit::ItemsPerSec, &s), "52.1 M [50.2..530]");
    }

    #[test]
    fn ratios_compare_costs() {
        let fast = Summary {
            median: 10.0,
            min: 10.0,
            max: 10.0,
            runs: 1,
        };
        let slow = Summary {
            median: 40.0,
            ..fast
        };
        // Times: mproc at 10 µs against 40 µs costs a quarter.
        assert_eq!(ratio(Unit::Us, Some(fast), Some(slow)), "0.250×");
        // Rates: mproc at 10 items/s against 40 items/s costs four times as much.
        assert_eq!(ratio(Unit::ItemsPerSec, Some(fast), Some(slow)), "4.00×");
        assert_eq!(ratio(Unit::Us, None, Some(slow)), "—");
    }
}
