//! Finding the Python interpreter and running the Python side of a figure.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the Python scripts live (`bench/python/`).
pub(crate) fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// A usable Python 3 interpreter.
#[derive(Debug, Clone)]
pub(crate) struct Python {
    pub(crate) program: PathBuf,
    pub(crate) version: String,
}

impl Python {
    /// `$MPROC_PYTHON` if set, else `python3` from `PATH`; `Err` says what was tried.
    pub(crate) fn find() -> Result<Self, String> {
        let program = std::env::var_os("MPROC_PYTHON")
            .map_or_else(|| PathBuf::from("python3"), PathBuf::from);
        let output = Command::new(&program)
            .args(["-c", "import sys; print(sys.version.split()[0])"])
            .output()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !output.status.success() || !version.starts_with('3') {
            return Err(format!(
                "{} is not a working Python 3 (got {:?})",
                program.display(),
                version
            ));
        }
        Ok(Self { program, version })
    }

    /// The command measuring `figure` with `script`, sizes as JSON.
    pub(crate) fn command(&self, script: &str, figure: &str, sizes_json: &str) -> Command {
        let mut cmd = Command::new(&self.program);
        // -B: no __pycache__ next to the scripts in the source tree.
        cmd.arg("-B")
            .arg(scripts_dir().join(script))
            .arg(figure)
            .arg(sizes_json);
        cmd
    }
}
