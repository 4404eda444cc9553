//! The program authkey: the secret that proves "this came from my own program tree".
//!
//! As Python's `current_process().authkey`: 32 random bytes (or any bytes the program sets), made once in the program's first
//! process when something first needs them, and handed to every child *before its user code
//! runs* (a forked child has them in its copy of memory; the `Spawn` and `ForkServer`
//! bootstraps carry them on a private socket, never in the environment or argv, which other
//! users may read in `/proc`). A process may replace its own key; children started after that
//! inherit the new one.
//!
//! What the key authenticates is described in the crate's trust model (`crate::trust`); this
//! module only keeps it and computes message authentication codes (HMAC-SHA256) with it. Every
//! use names a *domain*, a constant string, so a code computed for one purpose is never
//! accepted for another.
//!
//! # Memory ordering
//! The key lives in a leaked heap box behind an `AtomicPtr`. A writer fills a new box and
//! publishes it with a `Release` store (or `AcqRel` compare-exchange); readers `Acquire` the
//! pointer before reading the 32 bytes, so they always read a whole key, never a torn one.
//! Replaced boxes are leaked on purpose: a reader on another thread may still be copying from
//! one, and keys are replaced only by explicit calls (a few bytes each). No lock is involved,
//! so a `fork` at any moment leaves the child a usable key.

use std::io;
use std::sync::atomic::{AtomicPtr, Ordering};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::sys;

/// Bytes in a key made by [`program_key`] (as Python's `os.urandom(32)`).
pub(crate) const KEY_LEN: usize = 32;
/// Bytes in a message authentication code.
pub(crate) const MAC_LEN: usize = 32;

/// A message authentication code made with [`mac`].
pub(crate) type Tag = [u8; MAC_LEN];

/// The current key (a leaked `Box<Box<[u8]>>`), or null before first use.
static KEY: AtomicPtr<Box<[u8]>> = AtomicPtr::new(std::ptr::null_mut());

/// This process's program authkey, made (32 bytes from the kernel's random source) on first
/// use. Keys set with [`set_program_key`] may have any length, as Python's.
///
/// A process that starts children must call this before the first start, so a forked child
/// inherits the key instead of making its own (`process` does).
///
/// # Errors
/// The OS error of `getrandom` when the key had to be made and could not be.
pub(crate) fn program_key() -> io::Result<&'static [u8]> {
    let current = KEY.load(Ordering::Acquire);
    if !current.is_null() {
        // SAFETY: a non-null pointer in KEY is a leaked box, never freed, written completely
        // before it was published (the Release/AcqRel publication pairs with this Acquire).
        return Ok(unsafe { &**current });
    }
    let made: Box<[u8]> = Box::new(sys::random::bytes::<KEY_LEN>()?);
    let fresh = Box::into_raw(Box::new(made));
    match KEY.compare_exchange(
        std::ptr::null_mut(),
        fresh,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        // SAFETY: `fresh` was just made from a Box and is now published, never freed.
        Ok(_) => Ok(unsafe { &**fresh }),
        Err(winner) => {
            // SAFETY: `fresh` lost the race and was never published: this is its only owner.
            drop(unsafe { Box::from_raw(fresh) });
            // SAFETY: as above for a published pointer.
            Ok(unsafe { &**winner })
        }
    }
}

/// Replaces this process's program authkey (children started later inherit the new one).
pub(crate) fn set_program_key(key: &[u8]) {
    let fresh = Box::into_raw(Box::new(Box::<[u8]>::from(key)));
    // The old box is leaked: see the module's memory-ordering notes.
    KEY.store(fresh, Ordering::Release);
}

/// The longest key [`set_authkey`] takes. Keys travel to every `Spawn` and `ForkServer`
/// child; Python's are 32 bytes by default.
pub const MAX_AUTHKEY_LEN: usize = 4096;

/// A program authkey, as Python's `current_process().authkey`: the secret that the processes
/// of one program tree share, and that nobody else knows.
///
/// Its `Debug` output shows only its length, so it does not end up in logs by accident.
/// Comparisons take the same time whatever the bytes.
#[derive(Clone)]
pub struct AuthKey(Box<[u8]>);

impl AuthKey {
    /// The key's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key's length in bytes (32 for a key made by mproc).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key has no bytes (never true of a program's key).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl AsRef<[u8]> for AuthKey {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuthKey(<{} bytes, redacted>)", self.0.len())
    }
}

impl PartialEq for AuthKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && std::hint::black_box(
                self.0
                    .iter()
                    .zip(other.0.iter())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b)),
            ) == 0
    }
}

impl Eq for AuthKey {}

/// Why [`set_authkey`] refused a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthKeyError {
    /// An empty key proves nothing (everyone knows it).
    #[error("an authkey must not be empty")]
    Empty,
    /// Longer than [`MAX_AUTHKEY_LEN`].
    #[error("an authkey of {len} bytes exceeds the maximum of {max} bytes")]
    TooLong {
        /// The length given.
        len: usize,
        /// [`MAX_AUTHKEY_LEN`].
        max: usize,
    },
}

/// This process's program authkey as an [`AuthKey`] (see [`program_key`]).
pub(crate) fn authkey() -> io::Result<AuthKey> {
    program_key().map(|key| AuthKey(key.into()))
}

/// Replaces this process's program authkey (as Python's `current_process().authkey = key`).
/// Children started after this call inherit the new key, under every start method; children
/// already running keep the key they had.
///
/// ```
/// # fn main() -> Result<(), mproc::AuthKeyError> {
/// mproc::set_authkey(b"our shared secret")?;
/// assert_eq!(mproc::current_process().authkey().unwrap().as_bytes(), b"our shared secret");
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`AuthKeyError::Empty`] for an empty key, [`AuthKeyError::TooLong`] for one longer than
/// [`MAX_AUTHKEY_LEN`] bytes; the key is then unchanged.
pub fn set_authkey(key: impl AsRef<[u8]>) -> Result<(), AuthKeyError> {
    let key = key.as_ref();
    check_key(key)?;
    set_program_key(key);
    Ok(())
}

/// Whether `key` may be a program authkey (see [`set_authkey`]).
pub(crate) fn check_key(key: &[u8]) -> Result<(), AuthKeyError> {
    if key.is_empty() {
        return Err(AuthKeyError::Empty);
    }
    if key.len() > MAX_AUTHKEY_LEN {
        return Err(AuthKeyError::TooLong {
            len: key.len(),
            max: MAX_AUTHKEY_LEN,
        });
    }
    Ok(())
}

fn hmac(key: &[u8], domain: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("invariant: HMAC takes any key");
    // Length-prefix each field, so ("ab", "c") and ("a", "bc") never share a code.
    for field in std::iter::once(domain).chain(parts.iter().copied()) {
        mac.update(&(field.len() as u64).to_le_bytes());
        mac.update(field);
    }
    mac
}

/// The code of `parts` under `key`, for the purpose named by `domain`.
pub(crate) fn mac(key: &[u8], domain: &[u8], parts: &[&[u8]]) -> Tag {
    hmac(key, domain, parts).finalize().into_bytes().into()
}

/// Whether `tag` is the code of `parts` under `key` for `domain` (compared in constant time).
pub(crate) fn verify(key: &[u8], domain: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    hmac(key, domain, parts).verify_slice(tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_kept() {
        let a = program_key().unwrap();
        let b = program_key().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), KEY_LEN);
        assert_ne!(a, [0; KEY_LEN], "32 zero bytes from getrandom: not random");
    }

    #[test]
    fn keys_are_checked_and_never_shown() {
        assert_eq!(check_key(b""), Err(AuthKeyError::Empty));
        assert!(matches!(
            check_key(&[1; MAX_AUTHKEY_LEN + 1]),
            Err(AuthKeyError::TooLong { .. })
        ));
        assert_eq!(check_key(&[1; MAX_AUTHKEY_LEN]), Ok(()));
        let key = AuthKey(Box::new([0xab; 3]));
        assert_eq!(format!("{key:?}"), "AuthKey(<3 bytes, redacted>)");
        assert_eq!(key, AuthKey(Box::new([0xab; 3])));
        assert_ne!(key, AuthKey(Box::new([0xab; 4])));
        assert_ne!(key, AuthKey(Box::new([0xab, 0xab, 0xac])));
    }

    #[test]
    fn codes_depend_on_key_domain_and_every_field() {
        let key = [7u8; 5];
        let tag = mac(&key, b"d", &[b"ab", b"c"]);
        assert!(verify(&key, b"d", &[b"ab", b"c"], &tag));
        assert!(!verify(&[8u8; 5], b"d", &[b"ab", b"c"], &tag));
        assert!(!verify(&key, b"e", &[b"ab", b"c"], &tag));
        assert!(!verify(&key, b"d", &[b"a", b"bc"], &tag));
        assert!(!verify(&key, b"d", &[b"ab", b"c"], &tag[..31]));
        let mut flipped = tag;
        flipped[5] ^= 1;
        assert!(!verify(&key, b"d", &[b"ab", b"c"], &flipped));
    }
}
