//! How a child finds the function it must run.
//!
//! `Process::new` takes the target as a plain `fn(A) -> R` pointer (so a capturing closure is
//! a type error) and pairs it with a *trampoline*: the monomorphized `trampoline::<A, R>`,
//! which decodes the arguments, calls the target under `catch_unwind` and encodes the result.
//!
//! Under `Fork` the child has the parent's address space, so both pointers are used as they
//! are. Under `Spawn` (and the fork server) the child is a fresh execution of the *same
//! executable file* (`/proc/self/exe`); address-space layout randomization moves the whole
//! image by one offset, so the parent sends each pointer as its distance from a base static and
//! the child adds its own base back. The parent refuses (with a typed error) a target outside
//! the main executable, and the child checks a layout marker before trusting the distances.
//!
//! # Trust
//! A child calls the code address it rebuilds, so offsets are taken only from a channel that
//! only its own program could have written: the `Spawn` bootstrap socket (a socketpair the
//! parent made and installed as the child's descriptor 0 at exec; nobody else holds it), or an
//! authenticated fork-server connection (see `forkserver::protocol`). The layout marker
//! catches a mismatched executable, not a forgery: it is no authentication. A process started
//! by a privilege-changing exec ignores the markers that would make it read offsets (its
//! environment is chosen by whoever ran it).

use std::os::fd::OwnedFd;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec::{self, Encoded};
use crate::codeptr;
use crate::process::SpawnError;
use crate::process::panic::{self, PanicReport};

/// The type-erased entry of a child: `(target, argument bytes, argument fds) -> outcome`.
type Trampoline = fn(usize, &[u8], Vec<OwnedFd>) -> Outcome;

/// What the child's function produced.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// It returned; the value is encoded.
    Returned(Encoded),
    /// It panicked.
    Panicked(PanicReport),
    /// Its arguments did not decode.
    BadArguments(String),
    /// Its return value did not encode.
    BadResult(String),
}

/// A function to run in a child, with the trampoline that knows its types.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryPoint {
    trampoline: Trampoline,
    target: usize,
}

/// An [`EntryPoint`] as distances from the executable's base marker, for a re-executed child.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Offsets {
    trampoline: i64,
    target: i64,
    /// The distance of a fixed mproc function; differs between two different executables.
    layout: i64,
}

impl EntryPoint {
    pub(crate) fn of<A, R>(target: fn(A) -> R) -> Self
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        Self {
            trampoline: trampoline::<A, R>,
            target: target as usize,
        }
    }

    /// Calls the function: decodes `args`, runs it, encodes what it returned.
    pub(crate) fn call(self, args: &[u8], fds: Vec<OwnedFd>) -> Outcome {
        (self.trampoline)(self.target, args, fds)
    }

    /// The entry point as offsets valid in any execution of this executable.
    ///
    /// # Errors
    /// [`SpawnError::TargetNotInExecutable`] if the target (or trampoline) lives in another
    /// loaded object, such as a shared library, where offsets from the base would be wrong.
    pub(crate) fn to_offsets(self) -> Result<Offsets, SpawnError> {
        let offset =
            |addr| codeptr::code_offset(addr).map_err(|_| SpawnError::TargetNotInExecutable);
        Ok(Offsets {
            trampoline: offset(self.trampoline as usize)?,
            target: offset(self.target)?,
            layout: codeptr::layout_marker(),
        })
    }

    /// Rebuilds an entry point from offsets made by [`EntryPoint::to_offsets`].
    ///
    /// # Errors
    /// A message if the offsets were made by a different executable.
    ///
    /// # Safety
    /// `offsets` must come from `to_offsets` in a process running this same executable file
    /// (the bootstrap protocol guarantees this: the parent exec'd `/proc/self/exe` and handed
    /// the offsets over a private socket). The layout check catches a different executable,
    /// but not a forged message.
    pub(crate) unsafe fn from_offsets(offsets: Offsets) -> Result<Self, String> {
        if offsets.layout != codeptr::layout_marker() {
            return Err("the parent runs a different executable (layout marker differs)".into());
        }
        let base = codeptr::base();
        let at = |d: i64| base.wrapping_add_signed(isize::try_from(d).unwrap_or(isize::MIN));
        let trampoline_addr = at(offsets.trampoline);
        // SAFETY: per this function's contract the distance was measured from a
        // `Trampoline` in an identical image, so base + distance is that same function here;
        // a function pointer and usize have the same size and representation.
        let trampoline = unsafe { std::mem::transmute::<usize, Trampoline>(trampoline_addr) };
        Ok(Self {
            trampoline,
            target: at(offsets.target),
        })
    }
}

/// Decodes `A`, calls `target` (a `fn(A) -> R`), encodes the `R`.
fn trampoline<A, R>(target: usize, args: &[u8], fds: Vec<OwnedFd>) -> Outcome
where
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    // SAFETY: `EntryPoint::of::<A, R>` is the only place that pairs this trampoline with a
    // target, and it stored a `fn(A) -> R` there; offsets preserve the pairing.
    let target = unsafe { std::mem::transmute::<usize, fn(A) -> R>(target) };
    let args: A = match codec::decode(args, fds) {
        Ok(a) => a,
        Err(e) => return Outcome::BadArguments(e.to_string()),
    };
    match panic::catch(move || target(args)) {
        Ok(value) => match codec::encode(&value) {
            Ok(enc) => Outcome::Returned(enc),
            Err(e) => Outcome::BadResult(e.to_string()),
        },
        Err(report) => Outcome::Panicked(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(x: u32) -> u32 {
        x * 2
    }

    #[test]
    fn an_entry_point_calls_its_target() {
        let ep = EntryPoint::of(double);
        let args = codec::encode(&21u32).unwrap();
        match ep.call(&args.bytes, args.fds) {
            Outcome::Returned(enc) => {
                assert_eq!(codec::decode::<u32>(&enc.bytes, enc.fds).unwrap(), 42);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn offsets_round_trip_within_one_image() {
        let ep = EntryPoint::of(double);
        let offsets = ep.to_offsets().unwrap();
        // SAFETY: the offsets were made by this executable.
        let back = unsafe { EntryPoint::from_offsets(offsets) }.unwrap();
        assert_eq!(back.target, ep.target);
        assert_eq!(back.trampoline as usize, ep.trampoline as usize);
    }

    #[test]
    fn a_different_layout_is_refused() {
        let mut offsets = EntryPoint::of(double).to_offsets().unwrap();
        offsets.layout += 16;
        // SAFETY: the layout check rejects these before they are used.
        assert!(unsafe { EntryPoint::from_offsets(offsets) }.is_err());
    }

    #[test]
    fn panics_and_bad_arguments_become_outcomes() {
        let ep = EntryPoint::of(|x: u32| -> u32 { panic!("boom {x}") });
        let args = codec::encode(&7u32).unwrap();
        let out = ep.call(&args.bytes, Vec::new());
        assert!(
            matches!(out, Outcome::Panicked(ref r) if r.message == "boom 7"),
            "{out:?}"
        );
        assert!(matches!(ep.call(&[], Vec::new()), Outcome::BadArguments(_)));
    }
}
