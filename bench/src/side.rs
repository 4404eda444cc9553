//! A measuring process: `bench __side <mproc|floor|PEER> <figure> <sizes-json>`, where PEER
//! is the crate name of one of the figure's peer sides.
//!
//! The runner starts one for each figure and side, so every figure is measured in a fresh
//! process (clean peak RSS, its own CPU pinning). It prints one JSON [`Line`], the same format
//! as the Python scripts.

use std::process::ExitCode;

use crate::config::Sizes;
use crate::outcome::{Error, Line, fail};
use crate::sys::cpu::pin_to_cpu0;
use crate::workloads;

/// The sides of a figure: three for every figure, plus its peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Mproc,
    Python,
    Floor,
    /// Another crate's equivalent, by crate name.
    Peer(&'static str),
}

impl Side {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Side::Mproc => "mproc",
            Side::Python => "python",
            Side::Floor => "floor",
            Side::Peer(name) => name,
        }
    }
}

/// Entry point of a measuring process.
pub(crate) fn main(side: &str, figure: &str, sizes: &str) -> ExitCode {
    match measure(side, figure, sizes) {
        Ok(line) => match serde_json::to_string(&line) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{figure} ({side}): {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("{figure} ({side}): {e}");
            ExitCode::FAILURE
        }
    }
}

fn measure(side: &str, id: &str, sizes: &str) -> Result<Line, Error> {
    let figure = workloads::find(id).ok_or_else(|| fail(format!("unknown figure {id}")))?;
    let sizes: Sizes = serde_json::from_str(sizes)?;
    let run = match side {
        "mproc" => figure.mproc,
        "floor" => figure.floor,
        peer => {
            figure
                .peer(peer)
                .ok_or_else(|| fail(format!("{id} has no side {peer}")))?
                .side
        }
    };
    if sizes.pinned {
        pin_to_cpu0()?;
    }
    let outcome = run(&sizes)?;
    Ok(Line::from_outcome(figure.id, figure.unit, &outcome))
}
