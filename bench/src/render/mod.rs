//! Turning a [`Report`] into the terminal table and BENCHMARKS.md.

use std::fmt::Write as _;

pub(crate) mod format;
mod markdown;
mod table;

pub(crate) use markdown::markdown;

use self::table::Table;
use crate::runner::{Cell, Report, Row};

/// The headline table: three figures, one per peer crate present, and the cost ratios per row.
fn results_table(report: &Report) -> Table {
    let peers = peer_columns(report);
    let mut headers = vec!["workload (unit)", "mproc", "Python", "floor"];
    headers.extend(peers.iter().copied());
    headers.extend(["mproc/Python", "mproc/floor"]);
    if !peers.is_empty() {
        headers.push("mproc/best peer");
    }
    let mut table = Table::new(&headers);
    for row in &report.rows {
        let unit = row.figure.unit;
        let cell = |cell: &Cell| match cell {
            Cell::Measured(_, s) => format::summary(unit, s),
            Cell::NotYet(_) => "not yet".to_owned(),
            Cell::NoPython => "no python3".to_owned(),
            Cell::Failed(_) => "FAILED".to_owned(),
        };
        let mut line = vec![
            format!("{} ({})", row.figure.title, unit.label()),
            cell(&row.mproc),
            cell(&row.python),
            cell(&row.floor),
        ];
        line.extend(
            peers
                .iter()
                .map(|name| row.peer(name).map_or_else(|| "—".to_owned(), cell)),
        );
        line.push(format::ratio(
            unit,
            row.mproc.summary(),
            row.python.summary(),
        ));
        line.push(format::ratio(
            unit,
            row.mproc.summary(),
            row.floor.summary(),
        ));
        if !peers.is_empty() {
            line.push(best_peer_ratio(row));
        }
        table.push(line);
    }
    table
}

/// The peer crates measured on at least one row, in the order of [`crate::peers::CRATES`].
fn peer_columns(report: &Report) -> Vec<&'static str> {
    crate::peers::CRATES
        .iter()
        .map(|c| c.name)
        .filter(|name| report.rows.iter().any(|row| row.peer(name).is_some()))
        .collect()
}

/// mproc's cost over the cheapest measured peer's, naming that peer: `0.60× iceoryx2`.
fn best_peer_ratio(row: &Row) -> String {
    let unit = row.figure.unit;
    let best = row
        .peers
        .iter()
        .filter_map(|(name, cell)| cell.summary().map(|s| (*name, s)))
        .min_by(|(_, a), (_, b)| unit.cost(a.median).total_cmp(&unit.cost(b.median)));
    match best {
        Some((name, summary)) if row.mproc.summary().is_some() => format!(
            "{} {name}",
            format::ratio(unit, row.mproc.summary(), Some(summary))
        ),
        _ => "—".to_owned(),
    }
}

/// Peak RSS, parent / one worker, for the figures that report memory.
fn memory_table(report: &Report) -> Option<Table> {
    let rows: Vec<&Row> = report.rows.iter().filter(|r| r.figure.memory).collect();
    if rows.is_empty() {
        return None;
    }
    let mut table = Table::new(&["workload", "mproc", "Python", "floor"]);
    for row in rows {
        let cell = |cell: &Cell| match cell {
            Cell::Measured(m, _) => m.rss.map_or_else(
                || "—".to_owned(),
                |rss| {
                    let worker = rss.worker_kib.map_or_else(|| "—".to_owned(), format::mib);
                    format!("{} / {worker}", format::mib(rss.parent_kib))
                },
            ),
            Cell::NotYet(_) => "not yet".to_owned(),
            Cell::NoPython => "no python3".to_owned(),
            Cell::Failed(_) => "FAILED".to_owned(),
        };
        table.push(vec![
            row.figure.title.to_owned(),
            cell(&row.mproc),
            cell(&row.python),
            cell(&row.floor),
        ]);
    }
    Some(table)
}

/// What the terminal shows at the end of a run.
pub(crate) fn console(report: &Report) -> String {
    let mut out = results_table(report).to_text();
    out.push_str(
        "\nmedian [min..max] of the measured runs; ratios compare cost (time per operation, \
         or 1/rate): < 1 means mproc is faster; mproc/best peer is against the fastest peer \
         crate of the row, named.\n",
    );
    if let Some(memory) = memory_table(report) {
        out.push_str("\nPeak RSS, parent / one worker:\n");
        out.push_str(&memory.to_text());
    }
    let failures = report.failures();
    if !failures.is_empty() {
        out.push_str("\nFailures:\n");
        for failure in failures {
            let _ = writeln!(out, "  {failure}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{Mode, Sizes};
    use crate::machine::Machine;
    use crate::outcome::Measured;
    use crate::stats::Summary;

    fn measured(value: f64) -> Cell {
        let summary = Summary::of(&[value]).expect("one sample");
        Cell::Measured(Measured::new(vec![value]), summary)
    }

    fn row(id: &str, peers: Vec<(&'static str, Cell)>) -> Row {
        Row {
            figure: crate::workloads::find(id).expect("a known figure"),
            mproc: measured(4.0),
            python: Cell::NoPython,
            floor: measured(2.0),
            peers,
        }
    }

    fn report(rows: Vec<Row>) -> Report {
        Report {
            mode: Mode::Quick,
            sizes: Sizes::for_mode(Mode::Quick),
            machine: Machine {
                cpus: 2,
                cpu_model: "test".into(),
                kernel: "test".into(),
                rustc: "test".into(),
                load_average: "0".into(),
                cpu_pressure: "0".into(),
                date: "today".into(),
            },
            python: Err("none".into()),
            rows,
            elapsed: Duration::from_secs(1),
            cpu_pressure_end: "0".into(),
        }
    }

    #[test]
    fn peer_columns_only_for_crates_present_and_the_best_peer_named() {
        let report = report(vec![
            row(
                "pipe.pingpong.pinned",
                vec![
                    ("ipc-channel", measured(8.0)),
                    ("interprocess", Cell::Failed("boom".into())),
                    ("iceoryx2", measured(2.0)),
                ],
            ),
            row("lock.uncontended", Vec::new()),
        ]);
        let text = results_table(&report).to_markdown();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("| ipc-channel | interprocess | iceoryx2 |"));
        assert!(!lines[0].contains("procspawn"));
        assert!(lines[0].ends_with("| mproc/best peer |"));
        // µs: mproc 4 against iceoryx2 2 costs twice as much; the failed peer shows FAILED.
        assert!(lines[2].contains("| FAILED |"), "{}", lines[2]);
        assert!(lines[2].ends_with("| 2.00× iceoryx2 |"), "{}", lines[2]);
        assert!(
            lines[3].ends_with("| — | — | — | 2.00× | — |"),
            "{}",
            lines[3]
        );
        assert_eq!(
            report.failures(),
            ["pipe.pingpong.pinned (interprocess): boom"]
        );
    }

    #[test]
    fn runs_in_two_groups_are_counted_per_side() {
        let samples = vec![19.0, 62.0, 20.5, 70.0, 18.8, 81.0, 65.0];
        let summary = Summary::of(&samples).expect("samples");
        let mut bimodal = row("event.pingpong.unpinned", Vec::new());
        bimodal.mproc = Cell::Measured(Measured::new(samples), summary);
        let doc = markdown(&report(vec![bimodal, row("lock.uncontended", Vec::new())]));
        let section = doc
            .split("## Runs in two groups")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("the section");
        let line = section
            .lines()
            .find(|l| l.starts_with("- "))
            .expect("a row");
        assert!(
            line.contains("Event ping-pong round trip, unpinned (µs)"),
            "{line}"
        );
        assert!(
            line.contains("mproc: 3 in 19.0 [18.8..20.5], 4 in 67.5 [62.0..81.0]"),
            "{line}"
        );
        assert!(
            !line.contains("floor"),
            "one run per side is one group: {line}"
        );
        assert!(!section.contains("Lock acquire"));
    }

    #[test]
    fn no_peer_column_without_peers() {
        let report = report(vec![row("lock.uncontended", Vec::new())]);
        let header = results_table(&report).to_markdown();
        assert!(!header.contains("best peer"));
        assert!(markdown(&report).contains("## How to read"));
        assert!(!markdown(&report).contains("peer columns"));
    }
}
