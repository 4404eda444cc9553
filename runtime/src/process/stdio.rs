//! A child's stdout and stderr: inherited (the default), `/dev/null`, or a pipe the parent
//! reads ([`Stdio`], set with [`Process::stdout`](crate::Process::stdout) and
//! [`Process::stderr`](crate::Process::stderr); read with [`Child::stdout`](crate::Child::stdout)).
//!
//! How it travels, the same way under every start method: the write ends of the pipes go with
//! the child's argument descriptors (so every method already carries them, and a child forked
//! meanwhile by another thread lets go of them), after the arguments' own, and one byte after
//! the argument bytes says which streams are redirected. The child takes both off before it
//! decodes its arguments ([`redirect`]) and points descriptor 1 or 2 at them.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::codec::Encoded;
use crate::sys;

/// What a child's stdout or stderr is connected to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stdio {
    /// The parent's own stream (the default, as in Python).
    #[default]
    Inherit,
    /// `/dev/null`: the output is discarded.
    Null,
    /// A pipe this process reads through [`Child::stdout`](crate::Child::stdout) or
    /// [`Child::stderr`](crate::Child::stderr). The child blocks when it has written a pipe's
    /// capacity (64 KiB on Linux) that nobody read: read while it runs if it writes more, or
    /// before waiting for it.
    Piped,
}

/// The read end of a child's piped stdout or stderr. Reading returns the end of the stream
/// (`Ok(0)`) once the child (and every process it passed the stream to) has ended.
#[derive(Debug)]
pub struct ChildOutput(File);

impl Read for ChildOutput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Read for &ChildOutput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.0).read(buf)
    }
}

impl AsFd for ChildOutput {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl From<ChildOutput> for OwnedFd {
    fn from(output: ChildOutput) -> Self {
        output.0.into()
    }
}

const OUT_PIPED: u8 = 1;
const ERR_PIPED: u8 = 2;
const OUT_NULL: u8 = 4;
const ERR_NULL: u8 = 8;

/// The parent's read ends of a child's piped streams.
#[derive(Debug, Default)]
pub(crate) struct Readers {
    pub(crate) stdout: Option<ChildOutput>,
    pub(crate) stderr: Option<ChildOutput>,
}

/// Adds the redirection of `stdout` and `stderr` to a child's encoded arguments; returns the
/// parent's read ends.
pub(crate) fn attach(stdout: Stdio, stderr: Stdio, args: &mut Encoded) -> io::Result<Readers> {
    let mut flags = 0;
    let mut readers = Readers::default();
    for (stdio, piped, null, reader) in [
        (stdout, OUT_PIPED, OUT_NULL, &mut readers.stdout),
        (stderr, ERR_PIPED, ERR_NULL, &mut readers.stderr),
    ] {
        match stdio {
            Stdio::Inherit => {}
            Stdio::Null => flags |= null,
            Stdio::Piped => {
                let (read, write) = sys::fd::pipe_cloexec()?;
                args.fds.push(write);
                *reader = Some(ChildOutput(File::from(read)));
                flags |= piped;
            }
        }
    }
    args.bytes.push(flags);
    Ok(readers)
}

/// In the child: takes the redirection [`attach`] added off `args`, and applies it.
///
/// # Errors
/// Why the redirection is malformed or could not be applied.
pub(crate) fn redirect(args: &mut Encoded) -> Result<(), String> {
    Redirect::take(args)?.apply().map_err(|e| e.to_string())
}

/// In the child: the redirection [`attach`] added to its arguments, taken off them.
#[derive(Debug)]
struct Redirect {
    flags: u8,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
}

impl Redirect {
    /// Takes the redirection off `args` (its last byte, and the pipes after the arguments'
    /// descriptors).
    ///
    /// # Errors
    /// A message if `args` does not end with a redirection.
    fn take(args: &mut Encoded) -> Result<Self, String> {
        let flags = args
            .bytes
            .pop()
            .ok_or("no stdio byte after the arguments")?;
        let mut pop = |piped: u8| -> Result<Option<OwnedFd>, String> {
            if flags & piped == 0 {
                return Ok(None);
            }
            args.fds
                .pop()
                .map(Some)
                .ok_or_else(|| "a piped stream without its descriptor".to_owned())
        };
        // Pushed stdout first, so popped last.
        let stderr = pop(ERR_PIPED)?;
        let stdout = pop(OUT_PIPED)?;
        Ok(Self {
            flags,
            stdout,
            stderr,
        })
    }

    /// Points descriptors 1 and 2 where the parent asked.
    ///
    /// # Errors
    /// The OS error of a failed `dup2` or `open`.
    fn apply(self) -> io::Result<()> {
        for (target, null, pipe) in [(1, OUT_NULL, self.stdout), (2, ERR_NULL, self.stderr)] {
            if let Some(pipe) = pipe {
                sys::fd::dup_onto(pipe.as_fd(), target)?;
            } else if self.flags & null != 0 {
                sys::fd::to_dev_null(target)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirection_comes_off_the_arguments_it_was_added_to() {
        for (out, err) in [
            (Stdio::Inherit, Stdio::Inherit),
            (Stdio::Piped, Stdio::Null),
            (Stdio::Null, Stdio::Piped),
            (Stdio::Piped, Stdio::Piped),
        ] {
            let mut args = crate::codec::encode(&7u32).unwrap();
            let before = (args.bytes.clone(), args.fds.len());
            let readers = attach(out, err, &mut args).unwrap();
            assert_eq!(readers.stdout.is_some(), out == Stdio::Piped);
            assert_eq!(readers.stderr.is_some(), err == Stdio::Piped);
            let redirect = Redirect::take(&mut args).unwrap();
            assert_eq!((args.bytes.clone(), args.fds.len()), before);
            assert_eq!(redirect.stdout.is_some(), out == Stdio::Piped);
            assert_eq!(redirect.stderr.is_some(), err == Stdio::Piped);
        }
    }
}
