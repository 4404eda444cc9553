//! The end types: duplex [`Connection`], and the simplex [`Sender`] and [`Receiver`].

use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::endpoint::{self, DEFAULT_MAX_MESSAGE_LEN, Endpoint};
use super::methods::{end_traits, recv_methods, send_methods};
use crate::codec;
use crate::pipe::PipeError;
use crate::sys::{self, OsContext};
use crate::wire;

/// Makes pipes: `Pipe::<T>::new()` for a duplex pipe carrying `T` both ways,
/// `Pipe::<S, R>::new()` when the two directions carry different types, and
/// `Pipe::<T>::simplex()` for a one-way pipe.
#[derive(Debug)]
pub struct Pipe<S, R = S>(PhantomData<fn(S, R)>);

impl<S, R> Pipe<S, R> {
    /// A duplex pipe: the first end sends `S` and receives `R`, the second the reverse
    /// (Python's `Pipe()`).
    ///
    /// # Errors
    /// [`PipeError::Os`] if the OS refuses a socket pair.
    #[allow(
        clippy::new_ret_no_self,
        reason = "Python's `Pipe()` returns the two ends"
    )]
    pub fn new() -> Result<Duplex<S, R>, PipeError> {
        let (a, b) = sys::socket::socketpair().map_err(PipeError::os("socketpair"))?;
        wire::room_for_large_records(a.as_fd());
        wire::room_for_large_records(b.as_fd());
        Ok((
            Connection::from_end(Endpoint::new(a)),
            Connection::from_end(Endpoint::new(b)),
        ))
    }
}

impl<T> Pipe<T> {
    /// A one-way pipe: `(receiving end, sending end)`, in Python's `Pipe(duplex=False)` order.
    /// The direction is enforced by the types, and by the kernel for every process holding
    /// either end.
    ///
    /// # Errors
    /// [`PipeError::Os`] if the OS refuses a socket pair.
    pub fn simplex() -> Result<(Receiver<T>, Sender<T>), PipeError> {
        let (a, b) = sys::socket::socketpair().map_err(PipeError::os("socketpair"))?;
        wire::room_for_large_records(b.as_fd());
        let (rx, tx) = (Endpoint::new(a), Endpoint::new(b));
        rx.shutdown(false)?;
        tx.shutdown(true)?;
        Ok((
            Receiver {
                end: rx,
                _types: PhantomData,
            },
            Sender {
                end: tx,
                _types: PhantomData,
            },
        ))
    }
}

/// The two ends of a duplex pipe: the first sends `S` and receives `R`.
pub type Duplex<S, R> = (Connection<S, R>, Connection<R, S>);

/// One end of a duplex pipe: sends `S`, receives `R` (Python's `Connection`).
///
/// A `Connection` is `Serialize`: give it to a process as an argument, or send it through
/// another pipe to a process that is already running. Dropping it (or [`close`](Self::close))
/// closes this process's copy; the other end sees [`PipeError::Eof`] once every copy is closed.
pub struct Connection<S, R = S> {
    end: Endpoint,
    _types: PhantomData<fn(S) -> R>,
}

impl<S, R> Connection<S, R> {
    pub(crate) fn from_end(end: Endpoint) -> Self {
        Self {
            end,
            _types: PhantomData,
        }
    }

    /// Closes this process's copy of the end (the same as dropping it).
    pub fn close(self) {}
}

impl<S: Serialize, R> Connection<S, R> {
    send_methods!(Connection, S);
}

impl<S, R: DeserializeOwned> Connection<S, R> {
    recv_methods!(Connection, R);
}

end_traits!(Connection<S, R>);

/// The sending end of a simplex pipe.
pub struct Sender<T> {
    end: Endpoint,
    _types: PhantomData<fn(T)>,
}

impl<T> Sender<T> {
    /// Closes this process's copy of the end (the same as dropping it).
    pub fn close(self) {}
}

impl<T: Serialize> Sender<T> {
    send_methods!(Sender, T);
}

end_traits!(Sender<T>);

/// The receiving end of a simplex pipe.
pub struct Receiver<T> {
    end: Endpoint,
    _types: PhantomData<fn() -> T>,
}

impl<T> Receiver<T> {
    /// Closes this process's copy of the end (the same as dropping it).
    pub fn close(self) {}
}

impl<T: DeserializeOwned> Receiver<T> {
    recv_methods!(Receiver, T);
}

end_traits!(Receiver<T>);

/// Keeps the constant in the documentation links of the generated methods.
const _: u64 = DEFAULT_MAX_MESSAGE_LEN;
