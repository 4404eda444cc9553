//! The OS layer: every system call mproc makes goes through here, and the two things every
//! module above shares about the OS: [`OsError`], the shape of a failed system call, and
//! [`fork_hook`], what a module with process-global state does around a `fork()`.
//!
//! `unsafe` is not confined to this module: shared memory (`shm`, and the objects laid out in
//! it: `sync`, `shared`, `queue`, the pool's bell), code addresses (`codeptr`, pool tasks),
//! result slots and start-up (`process`) and the program authkey (`auth`) hold their own, each
//! block with a `SAFETY:` note naming the invariant it relies on, as here.

pub(crate) mod clone;
mod error;
pub(crate) mod fd;
pub(crate) mod fork_hook;
pub(crate) mod futex;
pub(crate) mod listener;
pub(crate) mod mman;
pub(crate) mod owner;
pub(crate) mod poller;
pub(crate) mod posix_shm;
pub(crate) mod proc;
pub(crate) mod random;
pub(crate) mod socket;
pub(crate) mod stream;

pub(crate) use error::OsContext;
pub use error::OsError;

use std::io;

/// Turns a `-1`-on-error libc return value into an `io::Result`.
pub(crate) fn cvt<T: IsMinusOne>(ret: T) -> io::Result<T> {
    if ret.is_minus_one() {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Like [`cvt`], but retries on `EINTR`.
pub(crate) fn cvt_retry<T: IsMinusOne>(mut f: impl FnMut() -> T) -> io::Result<T> {
    loop {
        match cvt(f()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

pub(crate) trait IsMinusOne: Copy {
    fn is_minus_one(self) -> bool;
}

macro_rules! impl_is_minus_one {
    ($($t:ty)*) => {$(
        impl IsMinusOne for $t {
            fn is_minus_one(self) -> bool {
                self == -1
            }
        }
    )*};
}
impl_is_minus_one! { i32 i64 isize }
