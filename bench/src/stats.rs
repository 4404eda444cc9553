//! Median and spread of a figure's samples.

/// The summary of one figure's measured runs (warm-up runs are never in `samples`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) runs: usize,
}

impl Summary {
    /// Summarizes `samples`; `None` when there are none.
    pub(crate) fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            f64::midpoint(sorted[n / 2 - 1], sorted[n / 2])
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[n - 1],
            runs: n,
        })
    }
}

/// Runs that fall in two groups at least [`MODE_GAP`] apart: the sorted samples below the
/// widest gap and those above it. `None` unless each group holds at least two runs (one run
/// apart from the rest is an outlier, not a mode).
pub(crate) fn two_modes(samples: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| *v > 0.0).collect();
    sorted.sort_by(f64::total_cmp);
    let (split, gap) = sorted
        .windows(2)
        .enumerate()
        .map(|(i, w)| (i + 1, w[1] / w[0]))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    if gap < MODE_GAP || split < 2 || sorted.len() - split < 2 {
        return None;
    }
    let high = sorted.split_off(split);
    Some((sorted, high))
}

/// How far apart (as a factor) two groups of runs must lie to count as two modes.
pub(crate) const MODE_GAP: f64 = 2.0;

#[cfg(test)]
mod tests {
    use super::{Summary, two_modes};

    #[test]
    fn runs_in_two_groups_split_at_the_widest_gap() {
        let (low, high) = two_modes(&[20.0, 61.0, 18.5, 70.0, 19.0, 82.0]).unwrap();
        assert_eq!(low, [18.5, 19.0, 20.0]);
        assert_eq!(high, [61.0, 70.0, 82.0]);
    }

    #[test]
    fn one_group_or_a_single_outlier_is_not_two_modes() {
        assert_eq!(two_modes(&[10.0, 11.0, 12.5, 13.0]), None, "no gap of 2x");
        assert_eq!(two_modes(&[10.0, 11.0, 12.0, 40.0]), None, "one outlier");
        assert_eq!(two_modes(&[1.0]), None);
    }

    #[test]
    fn odd_count_takes_the_middle_value() {
        let s = Summary::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.runs), (3.0, 1.0, 5.0, 3));
    }

    #[test]
    fn even_count_averages_the_two_middle_values() {
        let s = Summary::of(&[4.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 10.0));
    }

    #[test]
    fn no_samples_no_summary() {
        assert_eq!(Summary::of(&[]), None);
    }
}
