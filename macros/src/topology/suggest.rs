//! "Did you mean": the closest declared name to a misspelt one.

use syn::Ident;

/// The candidate closest to `wrong` by edit distance, if it is close enough to be a likely
/// misspelling: at most one edit per three characters (at least one), as rustc judges.
pub(crate) fn closest<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a Ident>,
) -> Option<&'a Ident> {
    let limit = (wrong.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (distance(wrong, &candidate.to_string()), candidate))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, case-insensitive (a change of case alone counts as no edit), with an
/// adjacent swap counting as one edit (optimal string alignment).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]; three rows are enough for the swap.
    let mut before = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;

    use super::*;

    fn idents(names: &[&str]) -> Vec<Ident> {
        names
            .iter()
            .map(|n| Ident::new(n, Span::call_site()))
            .collect()
    }

    #[test]
    fn distances() {
        assert_eq!(distance("jobs", "jobs"), 0);
        assert_eq!(distance("Jobs", "jobs"), 0);
        assert_eq!(distance("jbos", "jobs"), 1, "a swap is one edit");
        assert_eq!(distance("job", "jobs"), 1);
        assert_eq!(distance("results", "resluts"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn the_closest_close_candidate_is_suggested() {
        let names = idents(&["results", "jobs", "job_list"]);
        assert_eq!(closest("jbos", &names).unwrap(), "jobs");
        assert_eq!(closest("result", &names).unwrap(), "results");
        assert!(closest("config", &names).is_none(), "nothing close");
        assert!(closest("x", &idents(&["yz"])).is_none());
        assert_eq!(closest("x", &idents(&["y"])).unwrap(), "y");
    }
}
