//! The runner: measures each selected figure on its three sides and its peers, each in a
//! fresh process.

use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{Mode, Sizes};
use crate::machine::Machine;
use crate::outcome::{Error, Line, Measured, Outcome, Rss, fail};
use crate::python::Python;
use crate::side::Side;
use crate::stats::Summary;
use crate::sys::proc::kill_group;
use crate::workloads::{Figure, Workload};

/// What one side of one figure came to.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Measured(Measured, Summary),
    /// mproc's feature has not landed yet (names it).
    NotYet(String),
    /// No Python interpreter: nothing to compare with.
    NoPython,
    /// The measuring process failed (the message says how).
    Failed(String),
}

impl Cell {
    pub(crate) fn summary(&self) -> Option<Summary> {
        match self {
            Cell::Measured(_, s) => Some(*s),
            _ => None,
        }
    }
}

/// One figure, three sides and its peers.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) figure: &'static Figure,
    pub(crate) mproc: Cell,
    pub(crate) python: Cell,
    pub(crate) floor: Cell,
    /// One cell per peer of the figure, by crate name, in the figure's order.
    pub(crate) peers: Vec<(&'static str, Cell)>,
}

impl Row {
    pub(crate) fn cells(&self) -> Vec<(Side, &Cell)> {
        let mut cells = vec![
            (Side::Mproc, &self.mproc),
            (Side::Python, &self.python),
            (Side::Floor, &self.floor),
        ];
        cells.extend(
            self.peers
                .iter()
                .map(|(name, cell)| (Side::Peer(name), cell)),
        );
        cells
    }

    /// The cell of peer `name`, if this figure has that peer.
    pub(crate) fn peer(&self, name: &str) -> Option<&Cell> {
        self.peers.iter().find(|(n, _)| *n == name).map(|(_, c)| c)
    }
}

/// Everything a run found.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) mode: Mode,
    pub(crate) sizes: Sizes,
    pub(crate) machine: Machine,
    pub(crate) python: Result<Python, String>,
    pub(crate) rows: Vec<Row>,
    pub(crate) elapsed: Duration,
    /// CPU pressure when the run ended.
    pub(crate) cpu_pressure_end: String,
}

impl Report {
    /// Failures as `figure (side): message`.
    pub(crate) fn failures(&self) -> Vec<String> {
        self.rows
            .iter()
            .flat_map(|row| {
                row.cells()
                    .into_iter()
                    .filter_map(move |(side, cell)| match cell {
                        Cell::Failed(message) => {
                            Some(format!("{} ({}): {message}", row.figure.id, side.name()))
                        }
                        _ => None,
                    })
            })
            .collect()
    }
}

/// Measures `figures` (in order) at `mode`'s sizes.
pub(crate) fn run(mode: Mode, workloads: &[(&Workload, Vec<&'static Figure>)]) -> Report {
    let started = Instant::now();
    let sizes = Sizes::for_mode(mode);
    let machine = Machine::describe();
    let python = Python::find();
    if let Err(why) = &python {
        eprintln!(
            "warning: no Python 3 interpreter ({why}); the Python column stays empty. \
             Install python3 or set MPROC_PYTHON."
        );
    }
    let total: usize = workloads.iter().map(|(_, f)| f.len()).sum();
    let mut rows = Vec::new();
    for (workload, figures) in workloads {
        for figure in figures {
            let mut sizes = sizes.clone();
            sizes.pinned = figure.pinned;
            let Alternated {
                floor,
                mproc,
                peers,
            } = measure_alternating(workload, figure, &sizes, mode);
            let python = match &python {
                Ok(py) => cell_of(measure(
                    Side::Python,
                    workload,
                    figure,
                    &sizes,
                    mode,
                    Some(py),
                )),
                Err(_) => Cell::NoPython,
            };
            let row = Row {
                figure,
                mproc,
                python,
                floor,
                peers,
            };
            eprintln!("[{}/{total}] {}", rows.len() + 1, progress_line(&row));
            rows.push(row);
        }
    }
    Report {
        mode,
        sizes,
        machine,
        python,
        rows,
        elapsed: started.elapsed(),
        cpu_pressure_end: crate::machine::cpu_pressure(),
    }
}

fn progress_line(row: &Row) -> String {
    let part = |cell: &Cell| match cell {
        Cell::Measured(_, s) => crate::render::format::number(s.median),
        Cell::NotYet(_) => "not yet".to_owned(),
        Cell::NoPython => "no python".to_owned(),
        Cell::Failed(_) => "FAILED".to_owned(),
    };
    let mut peers = String::new();
    for (name, cell) in &row.peers {
        let _ = write!(peers, ", {name} {}", part(cell));
    }
    format!(
        "{} ({}): mproc {}, python {}, floor {}{peers}",
        row.figure.id,
        row.figure.unit.label(),
        part(&row.mproc),
        part(&row.python),
        part(&row.floor)
    )
}

/// How long one measuring process may run.
fn time_limit(mode: Mode) -> Duration {
    match mode {
        Mode::Quick => Duration::from_mins(2),
        Mode::Full => Duration::from_mins(15),
    }
}

/// How many measuring processes the mproc, floor and peer sides of a figure each get.
///
/// They alternate (floor, mproc, each peer, floor, mproc, each peer, ...), each process doing
/// its share of the measured runs after its own warm-ups, so that a drift in the speed of this
/// shared machine weighs on every side alike instead of on whichever side ran during it.
pub(crate) const ROUNDS: u32 = 3;

/// The cells of the sides measured in alternation.
struct Alternated {
    floor: Cell,
    mproc: Cell,
    peers: Vec<(&'static str, Cell)>,
}

/// The floor, mproc and peer cells of `figure`, measured in alternation.
fn measure_alternating(
    workload: &Workload,
    figure: &'static Figure,
    sizes: &Sizes,
    mode: Mode,
) -> Alternated {
    let mut share = sizes.clone();
    share.runs = sizes.runs.div_ceil(ROUNDS);
    let mut order = vec![Side::Floor, Side::Mproc];
    order.extend(figure.peers.iter().map(|p| Side::Peer(p.name)));
    let mut rounds: Vec<Vec<Result<Outcome, Error>>> = order.iter().map(|_| Vec::new()).collect();
    for _ in 0..ROUNDS {
        for (side, results) in order.iter().zip(rounds.iter_mut()) {
            results.push(measure(*side, workload, figure, &share, mode, None));
        }
    }
    let mut cells: Vec<Cell> = rounds.into_iter().map(|r| cell_of(merge(r))).collect();
    let peers = figure
        .peers
        .iter()
        .map(|p| p.name)
        .zip(cells.split_off(2))
        .collect();
    let [floor, mproc]: [Cell; 2] = cells
        .try_into()
        .expect("invariant: the floor and mproc sides come first");
    Alternated {
        floor,
        mproc,
        peers,
    }
}

/// The rounds of one side as one outcome: every sample, and the largest peak RSS.
fn merge(rounds: Vec<Result<Outcome, Error>>) -> Result<Outcome, Error> {
    let mut all = Measured::new(Vec::new());
    for round in rounds {
        match round? {
            Outcome::Measured(m) => {
                all.samples.extend(m.samples);
                all.rss = match (all.rss, m.rss) {
                    (Some(a), Some(b)) => Some(Rss {
                        parent_kib: a.parent_kib.max(b.parent_kib),
                        worker_kib: a.worker_kib.max(b.worker_kib),
                    }),
                    (a, b) => a.or(b),
                };
            }
            not_yet @ Outcome::NotYet(_) => return Ok(not_yet),
        }
    }
    Ok(Outcome::Measured(all))
}

fn cell_of(outcome: Result<Outcome, Error>) -> Cell {
    match outcome {
        Ok(Outcome::Measured(m)) => match Summary::of(&m.samples) {
            Some(summary) => Cell::Measured(m, summary),
            None => Cell::Failed("no samples".to_owned()),
        },
        Ok(Outcome::NotYet(what)) => Cell::NotYet(what),
        Err(e) => Cell::Failed(e.to_string()),
    }
}

/// Runs one measuring process for one side of `figure`.
fn measure(
    side: Side,
    workload: &Workload,
    figure: &Figure,
    sizes: &Sizes,
    mode: Mode,
    python: Option<&Python>,
) -> Result<Outcome, Error> {
    let json = serde_json::to_string(sizes)?;
    let cmd = if let Some(py) = python {
        py.command(workload.script, figure.id, &json)
    } else {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["__side", side.name(), figure.id, &json]);
        cmd
    };
    let stdout = run_measuring_process(cmd, time_limit(mode))?;
    parse_output(&stdout, figure)
}

/// The single JSON line for `figure` in a measuring process's output.
fn parse_output(stdout: &str, figure: &Figure) -> Result<Outcome, Error> {
    let mut lines = stdout.lines().filter(|l| l.trim_start().starts_with('{'));
    let line = lines
        .next()
        .ok_or_else(|| fail(format!("no result line in output {stdout:?}")))?;
    if lines.next().is_some() {
        return Err(fail("more than one result line"));
    }
    let line: Line = serde_json::from_str(line)?;
    line.into_outcome(figure.id, figure.unit)
}

/// Runs `cmd` in a process group of its own; returns its stdout if it exits with 0 within
/// `limit`, otherwise kills the group and fails with the end of its stderr.
fn run_measuring_process(mut cmd: Command, limit: Duration) -> Result<String, Error> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn()?;
    let group = libc::pid_t::try_from(child.id())?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let Some(status) = status else {
        // Still unreaped, so the group id is surely ours: its children go with it.
        kill_group(group);
        child.wait()?;
        return Err(fail(format!("no result within {limit:?}; killed")));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(fail(format!("{status}: {}", tail.join(" | "))))
    }
}

/// Reads a pipe to its end on a thread of its own.
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}
