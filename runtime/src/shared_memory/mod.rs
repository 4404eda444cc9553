//! Named shared memory, as Python's `multiprocessing.shared_memory`: blocks any process of the
//! same user can attach by name — another mproc program, or a Python one.
//!
//! ```
//! use mproc::shared_memory::{SharedMemory, ShareableList, Item};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let block = SharedMemory::create(64)?;           // SharedMemory(create=True, size=64)
//! block.write_at(0, b"hello")?;
//! let other = SharedMemory::attach(block.name())?;  // SharedMemory(name)
//! let mut buf = [0; 5];
//! other.read_at(0, &mut buf)?;
//! assert_eq!(&buf, b"hello");
//! block.unlink()?;
//!
//! let list = ShareableList::create(&[Item::from(7), "seven".into(), Item::None])?;
//! assert_eq!(list.get(1)?, Item::from("seven"));
//! list.shm().unlink()?;
//! # Ok(())
//! # }
//! ```
//!
//! Blocks are POSIX shared-memory objects (`/dev/shm/<name>`, mode `0600`), named as Python
//! names them, so a name printed by one side is what the other attaches to. As in Python, a
//! block outlives every handle until one process calls [`SharedMemory::unlink`]; dropping a
//! handle only unmaps it (Python's `close`).
//!
//! # What this module trusts
//! Every process of the user can open, write, resize and unlink a named block. Reads and
//! writes go through atomic copies ([`SharedMemory::read_at`], [`SharedMemory::write_at`]), so
//! a concurrent writer gives torn values, never undefined behaviour; a [`ShareableList`]
//! validates its layout before each access, so garbage in the block gives
//! [`ShareableListError::Corrupted`]. What cannot be defended against is a peer that shrinks
//! the block while it is mapped: the next access past the new end faults (`SIGBUS`), as it does
//! in Python. Use the sealed, unnamed segments of the rest of mproc when that matters.
//!
//! # Python 3.11's resource tracker
//! Python before 3.13 registers every block it *attaches* with its resource tracker, which
//! unlinks it when that Python program ends. A Python process attaching to a block mproc
//! created should call `resource_tracker.unregister(shm._name, "shared_memory")` (the tests and
//! the example do), or pass `track=False` on Python 3.13 and later.

mod copy;
mod error;
mod list;

use std::ffi::CString;
use std::fmt::{self, Write as _};
use std::os::fd::AsFd;
use std::ptr::NonNull;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sys::OsContext as _;
use crate::sys::mman::Mapping;
use crate::sys::posix_shm::{self, Open};

pub use error::{ShareableListError, SharedMemoryError};
pub use list::{Item, ShareableList};

/// The prefix of generated names, as Python's (`psm_` and 8 hex digits: 12 characters, within
/// the 14 some BSDs allow).
pub(crate) const NAME_PREFIX: &str = "psm_";

/// The longest name accepted (`NAME_MAX` less the leading `/` the OS name carries).
const MAX_NAME_LEN: usize = 254;

/// A named block of shared memory, mapped into this process.
///
/// Python's `SharedMemory`: [`create`](Self::create) (`create=True`),
/// [`attach`](Self::attach) (`SharedMemory(name)`), [`name`](Self::name), [`size`](Self::size),
/// [`close`](Self::close), [`unlink`](Self::unlink). Python's `buf` is replaced by
/// [`read_at`](Self::read_at)/[`write_at`](Self::write_at) (atomic copies, safe even while
/// another process writes) and by the `unsafe` [`as_slice`](Self::as_slice) for zero-copy use.
///
/// Serializing a handle (to send it to a child or through a queue) sends its name, as Python
/// pickles it; deserializing attaches again.
pub struct SharedMemory {
    name: String,
    size: usize,
    map: Mapping,
}

impl SharedMemory {
    /// Creates a block of `size` bytes (zero-filled) under a fresh random name.
    ///
    /// # Errors
    /// [`SharedMemoryError::ZeroSize`], or the OS error of creating or mapping it.
    pub fn create(size: usize) -> Result<Self, SharedMemoryError> {
        if size == 0 {
            return Err(SharedMemoryError::ZeroSize);
        }
        loop {
            let random =
                crate::sys::random::bytes::<4>().map_err(SharedMemoryError::os("getrandom"))?;
            let mut name = NAME_PREFIX.to_owned();
            for b in random {
                let _ = write!(name, "{b:02x}");
            }
            match Self::create_named(&name, size) {
                Err(SharedMemoryError::Exists(_)) => {}
                other => return other,
            }
        }
    }

    /// Creates a block of `size` bytes (zero-filled) named `name`.
    ///
    /// # Errors
    /// [`SharedMemoryError::InvalidName`], [`SharedMemoryError::ZeroSize`],
    /// [`SharedMemoryError::Exists`], or the OS error of creating or mapping it.
    pub fn create_named(name: &str, size: usize) -> Result<Self, SharedMemoryError> {
        let os_name = os_name(name)?;
        if size == 0 {
            return Err(SharedMemoryError::ZeroSize);
        }
        let fd = posix_shm::open(&os_name, Open::CreateNew).map_err(|e| {
            if e.raw_os_error() == Some(libc::EEXIST) {
                SharedMemoryError::Exists(name.to_owned())
            } else {
                SharedMemoryError::os("shm_open")(e)
            }
        })?;
        let mapped = posix_shm::set_len(fd.as_fd(), size)
            .map_err(SharedMemoryError::os("ftruncate"))
            .and_then(|()| Mapping::map(fd.as_fd(), size).map_err(SharedMemoryError::os("mmap")));
        match mapped {
            Ok(map) => Ok(Self {
                name: name.to_owned(),
                size,
                map,
            }),
            Err(e) => {
                // As Python: a block that could not be set up is not left behind.
                let _ = posix_shm::unlink(&os_name);
                Err(e)
            }
        }
    }

    /// Attaches to the existing block `name`, whatever its size.
    ///
    /// # Errors
    /// [`SharedMemoryError::InvalidName`], [`SharedMemoryError::NotFound`],
    /// [`SharedMemoryError::Empty`], or the OS error of opening or mapping it.
    pub fn attach(name: &str) -> Result<Self, SharedMemoryError> {
        let os_name = os_name(name)?;
        let fd = posix_shm::open(&os_name, Open::Existing).map_err(not_found(name, "shm_open"))?;
        let size = posix_shm::len(fd.as_fd()).map_err(SharedMemoryError::os("fstat"))?;
        if size == 0 {
            return Err(SharedMemoryError::Empty(name.to_owned()));
        }
        let map = Mapping::map(fd.as_fd(), size).map_err(SharedMemoryError::os("mmap"))?;
        Ok(Self {
            name: name.to_owned(),
            size,
            map,
        })
    }

    /// Removes the name `name` (Python's `unlink`, for a block this process has not mapped).
    ///
    /// # Errors
    /// [`SharedMemoryError::InvalidName`], [`SharedMemoryError::NotFound`] (also for a second
    /// unlink), or the OS error.
    pub fn unlink_name(name: &str) -> Result<(), SharedMemoryError> {
        posix_shm::unlink(&os_name(name)?).map_err(not_found(name, "shm_unlink"))
    }

    /// The block's name, without the leading `/` (as Python reports it).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The block's size in bytes, as it was when it was mapped.
    #[must_use]
    pub fn size(&self) -> usize {
        self.size
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`.
    ///
    /// # Errors
    /// [`SharedMemoryError::OutOfBounds`] if the range reaches past the end.
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<(), SharedMemoryError> {
        let at = self.range(offset, buf.len())?;
        // SAFETY: `range` checked that `at..at + buf.len()` lies in the mapping, which lives
        // as long as `self`; the block is only accessed atomically by this crate.
        unsafe { copy::load(at, buf) };
        Ok(())
    }

    /// Copies `data` into the block at `offset`.
    ///
    /// # Errors
    /// [`SharedMemoryError::OutOfBounds`] if the range reaches past the end.
    pub fn write_at(&self, offset: usize, data: &[u8]) -> Result<(), SharedMemoryError> {
        let at = self.range(offset, data.len())?;
        // SAFETY: as in `read_at`; the mapping is writable.
        unsafe { copy::store(at, data) };
        Ok(())
    }

    /// A copy of the whole block.
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0; self.size];
        // SAFETY: `out` is exactly the mapping's size; see `read_at`.
        unsafe { copy::load(self.map.ptr().as_ptr(), &mut out) };
        out
    }

    /// The start of the mapping (page aligned), for zero-copy access by the caller's own
    /// synchronization.
    #[must_use]
    pub fn as_ptr(&self) -> NonNull<u8> {
        self.map.ptr()
    }

    /// The block as a byte slice, without copying.
    ///
    /// # Safety
    /// No process (this one included, through another handle or [`write_at`](Self::write_at))
    /// may write the block while the slice lives, and no peer may shrink it: the caller's own
    /// protocol (a lock, a message saying the data is ready) must guarantee both.
    #[must_use]
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the mapping is `size` bytes long and lives as long as `self`; the caller
        // guarantees no concurrent writer.
        unsafe { std::slice::from_raw_parts(self.map.ptr().as_ptr(), self.size) }
    }

    /// The block as a mutable byte slice, without copying.
    ///
    /// # Safety
    /// No other process may read or write the block while the slice lives, and no peer may
    /// shrink it, as for [`as_slice`](Self::as_slice).
    #[must_use]
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` excludes other uses through this handle.
        unsafe { std::slice::from_raw_parts_mut(self.map.ptr().as_ptr(), self.size) }
    }

    /// Unmaps the block from this process (Python's `close`); the block itself lives on until
    /// it is unlinked. Dropping the handle does the same.
    pub fn close(self) {
        drop(self);
    }

    /// Removes the block's name so no one else can attach; the memory is freed when the last
    /// process unmaps it. Call it once, from one process (Python's `unlink`).
    ///
    /// # Errors
    /// [`SharedMemoryError::NotFound`] if the name was unlinked already, or the OS error.
    pub fn unlink(&self) -> Result<(), SharedMemoryError> {
        Self::unlink_name(&self.name)
    }

    fn range(&self, offset: usize, len: usize) -> Result<*mut u8, SharedMemoryError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => {
                // SAFETY: `offset <= size`, so the result is in (or one past) the mapping.
                Ok(unsafe { self.map.ptr().as_ptr().add(offset) })
            }
            _ => Err(SharedMemoryError::OutOfBounds {
                offset,
                len,
                size: self.size,
            }),
        }
    }
}

/// The OS name of `name`: a leading `/` and no other, no NUL, not empty, not too long.
fn os_name(name: &str) -> Result<CString, SharedMemoryError> {
    let invalid = |reason| SharedMemoryError::InvalidName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid("it is longer than 254 bytes"));
    }
    if name.contains('/') {
        return Err(invalid("it contains `/`"));
    }
    if name == "." || name == ".." {
        return Err(invalid("it names a directory"));
    }
    CString::new(format!("/{name}")).map_err(|_| invalid("it contains a NUL byte"))
}

fn not_found(name: &str, op: &'static str) -> impl FnOnce(std::io::Error) -> SharedMemoryError {
    move |e| {
        if e.raw_os_error() == Some(libc::ENOENT) {
            SharedMemoryError::NotFound(name.to_owned())
        } else {
            SharedMemoryError::os(op)(e)
        }
    }
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemory")
            .field("name", &self.name)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Serialize for SharedMemory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.name.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SharedMemory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::attach(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
