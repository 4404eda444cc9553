//! Turning a [`Report`] into the terminal table and BENCHMARKS.md.

use std::fmt::Write as _;

pub(crate) mod format;
mod markdown;
mod table;

pub(crate) use markdown::markdown;

use self::table::Table;
use crate::runner::{Cell, Report, Row};

/// The headline table: three figures and two cost ratios per row.
fn results_table(report: &Report) -> Table {
    let mut table = Table::new(&[
        "workload (unit)",
        "mproc",
        "Python",
        "floor",
        "mproc/Python",
        "mproc/floor",
    ]);
    for row in &report.rows {
        let unit = row.figure.unit;
        let cell = |cell: &Cell| match cell {
            Cell::Measured(_, s) => format::summary(unit, s),
            Cell::NotYet(_) => "not yet".to_owned(),
            Cell::NoPython => "no python3".to_owned(),
            Cell::Failed(_) => "FAILED".to_owned(),
        };
        table.push(vec![
            format!("{} ({})", row.figure.title, unit.label()),
            cell(&row.mproc),
            cell(&row.python),
            cell(&row.floor),
            format::ratio(unit, row.mproc.summary(), row.python.summary()),
            format::ratio(unit, row.mproc.summary(), row.floor.summary()),
        ]);
    }
    table
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
         or 1/rate): < 1 means mproc is faster.\n",
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
