//! [`Guarded`]: what [`Value`](crate::Value) and [`Array`](crate::Array) share, written once:
//! their data segment, the [`RLock`] that guards it, and the lock wrappers both build on (the
//! consistency mark, taking the lock for a guard, the per-call lock, the wire form).

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::time::Instant;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::data::DataHandle;
use crate::shm::{ShmBox, ShmState};
use crate::sync::{AcquireFailed, OwnerDied, RLock, RLockState, TryLockError, TryLockResult};

/// The public accessors `Value` and `Array` share, as methods of the type (`$what` names it in
/// the docs): `get_lock`, `is_consistent`, `mark_consistent`.
macro_rules! guarded_accessors {
    ($what:literal) => {
        #[doc = concat!("The ", $what, "'s lock (Python's `get_lock()`): hold it to make several")]
        /// operations one.
        #[must_use]
        pub fn get_lock(&self) -> &RLock {
            &self.data.lock
        }

        /// Whether no process died (and no guard panicked) while holding the lock since the
        /// last [`mark_consistent`](Self::mark_consistent). A holder that died is seen at
        /// once, before anyone takes its lock over (this asks the OS whether the holder still
        /// runs).
        #[must_use]
        pub fn is_consistent(&self) -> bool {
            self.data.is_consistent()
        }

        #[doc = concat!("Declares the ", $what, " consistent again after an owner died.")]
        pub fn mark_consistent(&self) {
            self.data.mark_consistent();
        }
    };
}

/// A data segment of `T`s (state `S`) and the lock that guards it.
pub(crate) struct Guarded<T, S> {
    pub(crate) lock: RLock,
    pub(crate) shm: ShmBox<S>,
    _t: PhantomData<fn() -> T>,
}

impl<T, S> Clone for Guarded<T, S> {
    fn clone(&self) -> Self {
        Self {
            lock: self.lock.clone(),
            shm: self.shm.clone(),
            _t: PhantomData,
        }
    }
}

impl<T, S: ShmState> Guarded<T, S> {
    pub(crate) fn new(lock: RLock, shm: ShmBox<S>) -> Self {
        Self {
            lock,
            shm,
            _t: PhantomData,
        }
    }

    /// The first element.
    pub(crate) fn ptr(&self) -> NonNull<T> {
        self.shm.data().cast()
    }

    pub(crate) fn state(&self) -> &RLockState {
        self.lock.state()
    }

    /// Whether no holder died (and no guard panicked) since the last `mark_consistent`: a
    /// death already recorded by whoever took the lock over, or a holder that is dead now
    /// and still named in the lock word (nobody has taken it over yet).
    pub(crate) fn is_consistent(&self) -> bool {
        self.state().died().is_none() && !self.state().holder_is_dead()
    }

    pub(crate) fn mark_consistent(&self) {
        self.state().set_died(None);
    }

    /// Runs `f` on the data with the lock held (recursively, so it works inside
    /// `get_lock()`).
    pub(crate) fn with<R>(&self, f: impl FnOnce(NonNull<T>) -> R) -> R {
        // `Overflow` needs u32::MAX nested holds; `Busy` cannot happen without a deadline.
        // An owner death is recorded in the lock (the data reads as inconsistent).
        let _ = self.state().acquire(None, false);
        let r = f(self.ptr());
        let _ = self.state().release();
        r
    }

    /// Takes the lock for a guard: waiting as long as it takes (`None`, not `try_`; this
    /// cannot fail), never (`try_`), or until `deadline`. An owner death is recorded in the
    /// lock; [`guard`](Self::guard) reports it.
    pub(crate) fn take<G>(
        &self,
        deadline: Option<Instant>,
        try_: bool,
    ) -> Result<(), TryLockError<G>> {
        let waits = deadline.is_some() && !try_;
        self.state()
            .acquire(deadline, try_)
            .map(drop)
            .map_err(|e| match e {
                AcquireFailed::Busy if waits => TryLockError::Timeout,
                AcquireFailed::Busy | AcquireFailed::Overflow => TryLockError::WouldBlock,
            })
    }

    /// `guard`, made just after the lock was taken, or [`OwnerDied`] carrying it while the
    /// data is marked inconsistent.
    pub(crate) fn guard<G>(&self, guard: G) -> TryLockResult<G> {
        match self.state().died() {
            None => Ok(guard),
            Some(pid) => Err(TryLockError::OwnerDied(OwnerDied::new(guard, pid))),
        }
    }
}

impl<T: 'static, S: ShmState> Serialize for Guarded<T, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        (&self.lock, DataHandle::<T, _>::new(self.shm.clone())).serialize(s)
    }
}

impl<'de, T: 'static, S: ShmState> Deserialize<'de> for Guarded<T, S> {
    /// The lock and the segment (its element type checked); the caller checks the length.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (lock, data) = <(RLock, DataHandle<T, S>)>::deserialize(d)?;
        Ok(Self::new(lock, data.0))
    }
}
