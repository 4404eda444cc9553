//! Command-line options.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::config::Mode;
use crate::workloads::{self, Figure, Workload};

pub(crate) const USAGE: &str = "\
usage: cargo run --release -p bench -- [--quick | --full] [--only NAME]... [--out PATH | --no-out]
       cargo run --release -p bench -- --list

  --quick      every workload at a small size (CI; well under two minutes)
  --full       the sizes behind BENCHMARKS.md (default)
  --only NAME  a workload (spawn, lock, semaphore, value, event, pipe, queue, joinable,
               pool), a figure id (pipe.pingpong.pinned) or an id prefix (pool.map); repeat
               or comma-separate
  --out PATH   write the Markdown report there (default: BENCHMARKS.md at the workspace root
               in full mode, bench/results/quick.md in quick mode)
  --no-out     print the table only
  --list       list workloads and figure ids

Python: $MPROC_PYTHON, else python3 on PATH.";

/// What to do.
#[derive(Debug)]
pub(crate) enum Command {
    Help,
    List,
    Run(Options),
}

/// Options of a measuring run.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) mode: Mode,
    pub(crate) only: Vec<String>,
    pub(crate) out: Option<PathBuf>,
}

/// Parses the arguments after the program name.
pub(crate) fn parse(args: &[String]) -> Result<Command, String> {
    let mut mode = Mode::Full;
    let mut only = Vec::new();
    let mut out: Option<Option<PathBuf>> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--list" => return Ok(Command::List),
            "--quick" => mode = Mode::Quick,
            "--full" => mode = Mode::Full,
            "--only" => {
                let names = args.next().ok_or("--only needs a name")?;
                only.extend(names.split(',').map(str::to_owned));
            }
            "--out" => {
                let path = args.next().ok_or("--out needs a path")?;
                out = Some(Some(PathBuf::from(path)));
            }
            "--no-out" => out = Some(None),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let out = out.unwrap_or_else(|| Some(default_out(mode)));
    Ok(Command::Run(Options { mode, only, out }))
}

fn default_out(mode: Mode) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    match mode {
        Mode::Full => root.join("BENCHMARKS.md"),
        Mode::Quick => root.join("bench").join("results").join("quick.md"),
    }
}

/// The workloads and figures `only` selects (all when empty), in report order.
pub(crate) fn select(
    only: &[String],
) -> Result<Vec<(&'static Workload, Vec<&'static Figure>)>, String> {
    let chosen = |w: &Workload, f: &Figure| {
        only.is_empty()
            || only
                .iter()
                .any(|name| name == w.name || f.id == name || f.id.starts_with(&format!("{name}.")))
    };
    for name in only {
        let known = workloads::ALL.iter().any(|w| {
            w.figures
                .iter()
                .any(|f| name == w.name || f.id == name || f.id.starts_with(&format!("{name}.")))
        });
        if !known {
            return Err(format!(
                "`--only {name}` matches no workload or figure (see --list)"
            ));
        }
    }
    Ok(workloads::ALL
        .iter()
        .map(|w| {
            (
                *w,
                w.figures
                    .iter()
                    .filter(|f| chosen(w, f))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, figures)| !figures.is_empty())
        .collect())
}

/// The `--list` output.
pub(crate) fn list() -> String {
    let mut out = String::new();
    for workload in workloads::ALL {
        out.push_str(workload.name);
        out.push('\n');
        for figure in workload.figures {
            let _ = writeln!(out, "  {:<28} {}", figure.id, figure.title);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn quick_with_only_and_no_out() {
        let Ok(Command::Run(o)) = parse(&args(&["--quick", "--only", "pipe,lock", "--no-out"]))
        else {
            panic!("expected a run");
        };
        assert_eq!(o.mode, Mode::Quick);
        assert_eq!(o.only, ["pipe", "lock"]);
        assert!(o.out.is_none());
    }

    #[test]
    fn selection_by_workload_figure_and_prefix() {
        let picked = |names: &[&str]| -> Vec<&str> {
            select(&args(names))
                .unwrap()
                .iter()
                .flat_map(|(_, f)| f.iter().map(|f| f.id))
                .collect()
        };
        assert_eq!(picked(&["lock"]), ["lock.uncontended", "lock.contended"]);
        assert_eq!(
            picked(&["value", "semaphore"]),
            [
                "semaphore.uncontended",
                "value.fetch_add",
                "value.locked_add"
            ]
        );
        assert_eq!(picked(&["pipe.pingpong.pinned"]), ["pipe.pingpong.pinned"]);
        assert_eq!(
            picked(&["pool.apply_async"]),
            ["pool.apply_async", "pool.apply_async.pinned"]
        );
        assert_eq!(
            picked(&["pool.map"]),
            ["pool.map.chunk1", "pool.map.default", "pool.map.skewed"]
        );
        assert!(select(&args(&["nope"])).is_err());
    }

    #[test]
    fn unknown_argument_is_an_error() {
        assert!(parse(&args(&["--fast"])).is_err());
    }
}
