//! BENCHMARKS.md: the machine, how to read the tables, the tables, what each figure does, and
//! the tables of the pool across ranks that `.ci/mpi-bench` wrote to `bench/mpi.md`.

use std::fmt::Write as _;

use super::{format, memory_table, results_table};
use crate::runner::{Cell, Report, Row};
use crate::stats::{self, Summary};
use crate::workloads::Figure;

/// The whole document.
pub(crate) fn markdown(report: &Report) -> String {
    let mut doc = String::new();
    let m = &report.machine;
    let python = match &report.python {
        Ok(py) => format!("Python {} (`{}`)", py.version, py.program.display()),
        Err(why) => format!("none found ({why})"),
    };
    let s = &report.sizes;
    // Writing to a String cannot fail.
    let _ = write!(
        doc,
        "# Benchmarks\n\n\
         mproc against Python's `multiprocessing` and against the hardware floor, measured \
         side by side in one run of `cargo run --release -p bench -- --{mode}` \
         ({date}, {secs:.0} s).\n\n\
         ## Machine\n\n\
         - CPUs (`nproc`): {cpus}\n\
         - CPU: {cpu}\n\
         - kernel: {kernel}\n\
         - rustc: {rustc}\n\
         - Python: {python}\n\
         - load average at the start: {load}\n\
         - CPU pressure (share of the last minute in which a runnable task waited for a \
           CPU, `/proc/pressure/cpu` some avg60): {pressure_start} at the start, \
           {pressure_end} at the end\n\n\
         ## How to read\n\n\
         - Each cell is the median of {runs} measured runs, with the spread `[min..max]`. \
           Every figure and side runs in fresh processes of its own, each throwing away \
           {warmup} warm-up run(s) first. The Python side runs in one process; the mproc, \
           floor and peer sides alternate over {rounds} processes each (floor, mproc, each \
           peer, floor, ...), each doing its share of the runs, so a drift in the speed of \
           this shared, noisy machine weighs on all of them alike. Compare ratios rather than absolute values.\n\
         - Rates (items/s, ops/s, B/s) carry an SI prefix: `52.1 M` is 52.1 million per \
           second; B/s are bytes (1 MiB items: 1,048,576 bytes).\n\
         - `mproc/Python` and `mproc/floor` compare *cost*: time per operation, or the \
           inverse of a rate or speedup. Below 1 means mproc is faster than the other side; \
           `mproc/floor` is how far mproc is from what the machine allows.\n\
         - *Pinned* figures run both processes on CPU 0 (`sched_setaffinity`, as \
           `taskset -c 0`); unpinned ones let the scheduler place them. Waking a process on \
           an idle vCPU is much slower than a hand-off on one core.\n\
         - The Python side uses the `fork` context unless the figure names another start \
           method.\n\
         {peers}\n\
         ## Results\n\n",
        mode = report.mode.name(),
        date = m.date,
        secs = report.elapsed.as_secs_f64(),
        cpus = m.cpus,
        cpu = m.cpu_model,
        kernel = m.kernel,
        rustc = m.rustc,
        load = m.load_average,
        pressure_start = m.cpu_pressure,
        pressure_end = report.cpu_pressure_end,
        runs = s.runs,
        warmup = s.warmup,
        rounds = crate::runner::ROUNDS,
        peers = peers_how_to_read(report),
    );
    doc.push_str(&results_table(report).to_markdown());
    if let Some(memory) = memory_table(report) {
        doc.push_str(
            "\n## Memory\n\nPeak resident set size (`getrusage`: `RUSAGE_SELF` for the \
             parent, `RUSAGE_CHILDREN` for the largest worker), as parent / one worker. The \
             mproc and floor parents are the benchmark binary; the Python parent is the \
             interpreter running the script.\n\n",
        );
        doc.push_str(&memory.to_markdown());
    }
    modes_section(&mut doc, report);
    not_yet_section(&mut doc, report);
    let failures = report.failures();
    if !failures.is_empty() {
        doc.push_str("\n## Failures\n\n");
        for failure in failures {
            let _ = writeln!(doc, "- {failure}");
        }
    }
    descriptions(&mut doc, report);
    if let Ok(mpi) = std::fs::read_to_string(MPI_REPORT) {
        doc.push_str(&mpi_section(&mpi));
    }
    let _ = write!(
        doc,
        "\n## Sizes ({mode} mode)\n\n```json\n{sizes}\n```\n",
        mode = report.mode.name(),
        sizes = sizes_json(report)
    );
    doc
}

/// The tables of the pool across ranks, written by `.ci/mpi-bench` (not by this run: they
/// need `mpirun` and the `mpi` feature).
const MPI_REPORT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/mpi.md");

/// The section "Across ranks (MPI)": the contents of `bench/mpi.md` without its title.
fn mpi_section(mpi: &str) -> String {
    let body = mpi.trim_start();
    let body = match body.strip_prefix("# ") {
        Some(titled) => titled.split_once('\n').map_or("", |(_, rest)| rest),
        None => body,
    };
    format!(
        "\n## Across ranks (MPI)\n\n\
         `mproc::mpi` (feature `mpi`) against the local pool, from `bench/mpi.md`: measured \
         by `.ci/mpi-bench` under `mpirun`, not by this run.\n\n{}\n",
        body.trim()
    )
}

/// The "How to read" bullet on the peer columns (empty when no row has a peer).
fn peers_how_to_read(report: &Report) -> String {
    let present: Vec<String> = crate::peers::CRATES
        .iter()
        .filter(|c| report.rows.iter().any(|row| row.peer(c.name).is_some()))
        .map(|c| format!("`{}` {} ({})", c.name, c.version, c.what))
        .collect();
    if present.is_empty() {
        return String::new();
    }
    format!(
        "- The peer columns are the Rust crates a user might pick instead of mproc, doing the \
         same work on the rows where they offer an equivalent (`—` where they do not), \
         written idiomatically with what each crate offers; each peer side checks its \
         results like the mproc side (a wrong result is a failure, not a figure) and \
         alternates with the mproc and floor sides in the same run, with the same number of \
         runs. `mproc/best peer` is mproc's cost over the fastest peer of the row, named: \
         below 1, mproc is faster than every peer. Crates (from crates.io, versions pinned in \
         `bench/Cargo.toml`): {}. {}\n",
        present.join("; "),
        crate::peers::NOTES
    )
}

/// The mproc figures waiting for their feature.
/// The rows whose runs fell in two groups (the unpinned round trips on this VM: a wake-up on
/// an idle vCPU or on a busy one), with how many runs landed in each.
fn modes_section(doc: &mut String, report: &Report) {
    let mut lines = Vec::new();
    for row in &report.rows {
        let sides = [
            ("mproc", &row.mproc),
            ("Python", &row.python),
            ("floor", &row.floor),
        ]
        .into_iter()
        .chain(row.peers.iter().map(|(name, cell)| (*name, cell)));
        let unit = row.figure.unit;
        let split: Vec<String> = sides
            .filter_map(|(side, cell)| match cell {
                Cell::Measured(m, _) => stats::two_modes(&m.samples).map(|(low, high)| {
                    let group = |g: &[f64]| {
                        let s = Summary::of(g).expect("a mode holds runs");
                        format!("{} in {}", g.len(), format::summary(unit, &s))
                    };
                    format!("{side}: {}, {}", group(&low), group(&high))
                }),
                _ => None,
            })
            .collect();
        if !split.is_empty() {
            lines.push(format!(
                "- {} ({}): {}",
                row.figure.title,
                unit.label(),
                split.join("; ")
            ));
        }
    }
    if lines.is_empty() {
        return;
    }
    let _ = write!(
        doc,
        "\n## Runs in two groups\n\n\
         Sides of a row whose runs fell in two groups at least {gap}× apart (each group of at \
         least two runs), as `runs in median [min..max]` per group. The row's median above \
         depends on how many runs landed in each group, so read the groups rather than the \
         median. On this VM a wake-up that lands on an idle vCPU is far slower than one on a \
         running vCPU, which splits unpinned round trips and streams this way in some runs \
         and not in others.\n\n{}\n",
        lines.join("\n"),
        gap = stats::MODE_GAP,
    );
}

fn not_yet_section(doc: &mut String, report: &Report) {
    let not_yet: Vec<String> = report
        .rows
        .iter()
        .filter_map(|row| match &row.mproc {
            Cell::NotYet(what) => Some(format!("- {} — waits for {what}", row.figure.title)),
            _ => None,
        })
        .collect();
    if !not_yet.is_empty() {
        doc.push_str(
            "\n## Not yet measured for mproc\n\nThese mproc figures fill in as the \
             features land (each has its function in `bench/src/workloads/`):\n\n",
        );
        doc.push_str(&not_yet.join("\n"));
        doc.push('\n');
    }
}

/// What each figure does on each side.
fn descriptions(doc: &mut String, report: &Report) {
    doc.push_str("\n## What each figure measures\n\n");
    // Figures sharing a description (pinned/unpinned, sizes) are listed together.
    let mut rows = report.rows.iter().peekable();
    while let Some(first) = rows.next() {
        let mut names = vec![format!(
            "**{}** (`{}`)",
            first.figure.title, first.figure.id
        )];
        let same =
            |r: &&Row| r.figure.about == first.figure.about && same_peers(r.figure, first.figure);
        while let Some(next) = rows.next_if(same) {
            names.push(format!("**{}** (`{}`)", next.figure.title, next.figure.id));
        }
        let _ = writeln!(doc, "- {}: {}", names.join(", "), first.figure.about);
        for peer in first.figure.peers {
            let _ = writeln!(doc, "  - {}: {}", peer.name, peer.about);
        }
    }
}

/// Whether two figures have the same peers doing the same thing.
fn same_peers(a: &Figure, b: &Figure) -> bool {
    a.peers.len() == b.peers.len()
        && a.peers
            .iter()
            .zip(b.peers)
            .all(|(p, q)| p.name == q.name && p.about == q.about)
}

/// The sizes of the run, without the per-figure `pinned` flag.
fn sizes_json(report: &Report) -> String {
    let mut sizes = serde_json::to_value(&report.sizes).unwrap_or_default();
    if let Some(fields) = sizes.as_object_mut() {
        fields.remove("pinned");
    }
    serde_json::to_string_pretty(&sizes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::mpi_section;

    #[test]
    fn the_mpi_section_holds_the_file_without_its_title() {
        let file = "# The pool across ranks (MPI)\n\nMeasured today.\n\n| a | b |\n|---|---|\n";
        let section = mpi_section(file);
        assert!(section.starts_with("\n## Across ranks (MPI)\n\n"));
        assert!(section.contains("`.ci/mpi-bench`"));
        assert!(section.ends_with("Measured today.\n\n| a | b |\n|---|---|\n"));
        assert!(!section.contains("# The pool across ranks"));
    }

    #[test]
    fn an_untitled_file_is_kept_whole() {
        let section = mpi_section("Measured today.\n\n| a | b |\n");
        assert!(section.ends_with("run.\n\nMeasured today.\n\n| a | b |\n"));
    }
}
