//! [`Queue`]: the handle, its builder, and how items are encoded into the ring.

mod loan;

use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::overflow::{Overflow, QueueMem};
use super::ring::{Body, Cache, GetFail, Item, MAX_LARGE, PutFail, Ring};
use super::side::{MAX_SPILLED, Presence, Side};
use super::state::QueueState;
use super::{QueueError, QueueReader, QueueWriter};
use crate::codec::{self, Fd};
use crate::shm::{ShmBox, type_tag};
use crate::sync::deadline;
use crate::sync::park::Os;
use crate::wire::WireError;

/// The ring's size unless the builder says otherwise: items up to half of it (2 MiB) are
/// copied through the ring, larger ones through a memfd.
pub const DEFAULT_RING_BYTES: usize = 4 << 20;
const MIN_RING_BYTES: usize = 4 << 10;
const MAX_RING_BYTES: usize = 1 << 30;
// An item too large for the ring goes to the overflow whole, or to the side socket.
const _: () = assert!(MAX_SPILLED <= MAX_LARGE);

/// A multi-producer, multi-consumer FIFO queue between processes: Python's
/// `multiprocessing.Queue`.
///
/// Items are serialized into a ring in shared memory by `put` itself (no feeder thread): a
/// serialization error comes back from `put`, an item whose `put` returned is in the queue
/// even if its producer is killed right after, and a producer can exit at once, whether or not
/// anyone took its items. A queue without a `maxsize` is unbounded: when the ring is full,
/// `put` appends to an overflow beside it instead of waiting, so a process that puts more
/// than the ring holds can still be joined before anyone gets (Python's "joining processes
/// that use queues" deadlock cannot happen). Items keep the order in which their `put`s returned; each item is
/// taken by exactly one `get`.
///
/// Handles are cheap to clone, and serializable: pass them to processes as arguments, or send
/// them through a pipe or another queue. Items may themselves contain handles (a `Lock`, a
/// pipe end, another queue...); their descriptors travel with the item.
///
/// A `Queue<ByteBuf>` also lends its memory: [`put_with`](Queue::put_with) writes an item's
/// bytes straight into the ring and [`get_with`](Queue::get_with) reads them in place, one copy
/// in all where `put`/`get` make three.
///
/// [`close`](Queue::close) ends the queue for everyone: later puts fail with
/// [`QueueError::Closed`], gets take what is left and then report `Closed`, and iteration
/// ends, so consumers stop without sentinel values.
///
/// ```
/// use mproc::{Process, Queue};
///
/// fn produce(q: Queue<u64>) {
///     for i in 0..10 {
///         q.put(&(i * i)).unwrap();
///     }
///     q.close();
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let q = Queue::new()?;
/// let child = Process::new(produce, q.clone()).start()?;
/// let squares: Vec<u64> = q.iter().collect::<Result<_, _>>()?;
/// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
/// child.join()?;
/// # Ok(())
/// # }
/// ```
pub struct Queue<T> {
    inner: Arc<Inner>,
    _item: PhantomData<fn(T) -> T>,
}

/// What clones of a handle share.
struct Inner {
    /// The ring's segment and the overflow.
    mem: QueueMem,
    /// The ring's size, read once when the segment was mapped and checked against it.
    cap: u64,
    side: Side,
    cache: Cache,
}

impl Inner {
    fn ring(&self) -> Ring<'_, QueueMem, Os> {
        Ring::new(
            self.mem.shm.state(),
            &self.mem,
            &self.cache,
            self.cap,
            crate::sys::owner::self_id(),
        )
    }
}

/// Closes a queue (see [`Queue::close`]); it does not know the item type.
pub(crate) struct Closer(Arc<Inner>);

impl Closer {
    pub(crate) fn close(&self) {
        self.0.ring().close();
    }
}

/// Builds a [`Queue`] with a `maxsize` or a ring size other than the default.
#[derive(Debug, Clone)]
#[must_use]
pub struct QueueBuilder<T> {
    maxsize: usize,
    ring_bytes: usize,
    _item: PhantomData<fn(T) -> T>,
}

impl<T> QueueBuilder<T> {
    /// The most items the queue holds; `put` waits while it is full (Python's `maxsize`), and
    /// also while the ring is full. 0 (the default) means no limit: `put` never waits for
    /// room, what the ring cannot take goes to the queue's overflow.
    pub fn maxsize(mut self, maxsize: usize) -> Self {
        self.maxsize = maxsize;
        self
    }

    /// The ring's size in bytes, rounded up to a power of two between 4 KiB and 1 GiB
    /// (default [`DEFAULT_RING_BYTES`]). Items larger than half of it travel in the overflow
    /// (unbounded queues) or in a memfd of their own; memory is only used for the parts of
    /// the ring that items have passed through.
    pub fn ring_bytes(mut self, bytes: usize) -> Self {
        self.ring_bytes = bytes;
        self
    }

    /// Creates the queue.
    ///
    /// # Errors
    /// [`QueueError::Shm`] or [`QueueError::Os`] if the shared memory, the side socket or the
    /// overflow cannot be created.
    pub fn build(self) -> Result<Queue<T>, QueueError> {
        let cap = self
            .ring_bytes
            .clamp(MIN_RING_BYTES, MAX_RING_BYTES)
            .next_power_of_two();
        let maxsize = self.maxsize as u64;
        let shm = ShmBox::create(type_tag::<T>(), cap, |st: &QueueState, _| {
            st.capacity.store(cap as u64, Relaxed);
            st.maxsize.store(maxsize, Relaxed);
        })?;
        let side = Side::new().map_err(QueueError::os("creating the side socket"))?;
        let overflow = Overflow::create().map_err(QueueError::os("creating the overflow"))?;
        Ok(Queue::from_parts(
            QueueMem { shm, overflow },
            side,
            cap as u64,
        ))
    }
}

impl<T> Queue<T> {
    fn from_parts(mem: QueueMem, side: Side, cap: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                mem,
                cap,
                side,
                cache: Cache::default(),
            }),
            _item: PhantomData,
        }
    }

    /// A queue without a size limit: `put` never waits for room (see [`Queue`]).
    ///
    /// # Errors
    /// See [`QueueBuilder::build`].
    pub fn new() -> Result<Self, QueueError> {
        Self::builder().build()
    }

    /// A queue that holds at most `maxsize` items (Python's `Queue(maxsize)`); 0: no limit.
    ///
    /// # Errors
    /// See [`QueueBuilder::build`].
    pub fn bounded(maxsize: usize) -> Result<Self, QueueError> {
        Self::builder().maxsize(maxsize).build()
    }

    /// A builder, for a maxsize and a ring size together.
    pub fn builder() -> QueueBuilder<T> {
        QueueBuilder {
            maxsize: 0,
            ring_bytes: DEFAULT_RING_BYTES,
            _item: PhantomData,
        }
    }

    pub(crate) fn ring(&self) -> Ring<'_, QueueMem, Os> {
        self.inner.ring()
    }

    /// A handle that can only close the queue, whatever its item type.
    pub(crate) fn closer(&self) -> Closer {
        Closer(Arc::clone(&self.inner))
    }

    /// How many items are in the queue (Python's `qsize`; approximate while other processes
    /// put and get).
    #[must_use]
    pub fn qsize(&self) -> usize {
        usize::try_from(self.ring().count()).unwrap_or(usize::MAX)
    }

    /// Whether the queue holds no item (approximate, as [`qsize`](Queue::qsize)).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ring().count() == 0
    }

    /// Whether the queue holds `maxsize` items (never, without a maxsize; approximate, as
    /// [`qsize`](Queue::qsize)).
    #[must_use]
    pub fn is_full(&self) -> bool {
        let ring = self.ring();
        ring.maxsize() > 0 && ring.count() >= ring.maxsize()
    }

    /// The limit set at creation, if any.
    #[must_use]
    pub fn maxsize(&self) -> Option<usize> {
        match self.ring().maxsize() {
            0 => None,
            n => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        }
    }

    /// Closes the queue for every process: puts fail from now on, gets take what is left and
    /// then report [`QueueError::Closed`]. Waiting puts and gets wake up.
    pub fn close(&self) {
        self.ring().close();
    }

    /// A handle that can only put (for topologies, and to say what a process does).
    #[must_use]
    pub fn writer(&self) -> QueueWriter<T> {
        QueueWriter {
            queue: self.clone(),
        }
    }

    /// A handle that can only get.
    #[must_use]
    pub fn reader(&self) -> QueueReader<T> {
        QueueReader {
            queue: self.clone(),
        }
    }

    /// Whether the queue was closed (by any process).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.ring().is_closed()
    }
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// Puts an item, waiting for room if the queue is bounded and full (an unbounded queue
    /// never waits for room).
    ///
    /// # Errors
    /// [`QueueError::Closed`], [`QueueError::Encode`], [`QueueError::TooLarge`];
    /// [`QueueError::Os`] if the item's descriptors or large bytes could not be sent, or the
    /// overflow could not take the item (out of memory); [`QueueError::Corrupted`] if another
    /// process scribbled on the queue's positions (nothing was put).
    pub fn put(&self, item: &T) -> Result<(), QueueError> {
        self.put_until(item, None)
    }

    /// Puts an item only if there is room now (Python's `put(block=False)`).
    ///
    /// # Errors
    /// [`QueueError::Full`], or as [`put`](Queue::put).
    pub fn try_put(&self, item: &T) -> Result<(), QueueError> {
        self.put_until(item, Some(deadline::passed()))
    }

    /// Puts an item, waiting at most `timeout` for room (Python's `put(timeout=...)`).
    ///
    /// # Errors
    /// [`QueueError::Full`] when the time is up, or as [`put`](Queue::put).
    pub fn put_timeout(&self, item: &T, timeout: Duration) -> Result<(), QueueError> {
        self.put_until(item, deadline::after(timeout))
    }

    /// Takes the next item, waiting for one.
    ///
    /// # Errors
    /// [`QueueError::Closed`] once the queue is closed and drained; [`QueueError::Decode`]
    /// (the item was taken); [`QueueError::Corrupted`].
    pub fn get(&self) -> Result<T, QueueError> {
        self.get_until(None)
    }

    /// Takes the next item only if one is there now (Python's `get(block=False)`).
    ///
    /// # Errors
    /// [`QueueError::Empty`], or as [`get`](Queue::get).
    pub fn try_get(&self) -> Result<T, QueueError> {
        self.get_until(Some(deadline::passed()))
    }

    /// Takes the next item, waiting at most `timeout` (Python's `get(timeout=...)`).
    ///
    /// # Errors
    /// [`QueueError::Empty`] when the time is up, or as [`get`](Queue::get).
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, QueueError> {
        self.get_until(deadline::after(timeout))
    }

    /// The items as they come, until the queue is closed and drained (each `next` is a
    /// [`get`](Queue::get)).
    #[must_use]
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { queue: self }
    }

    fn put_until(&self, item: &T, deadline: Option<Instant>) -> Result<(), QueueError> {
        let ring = self.ring();
        let side = &self.inner.side;
        let put = codec::with_encoded(item, |bytes, fds| {
            let len = bytes.len() as u64;
            let send = |seq: u64, spilled| side.send(seq, spilled, fds, deadline);
            if len + 8 > ring.max_payload() {
                if len > MAX_SPILLED {
                    return Err(PutFail::Side(QueueError::TooLarge {
                        len,
                        max: MAX_SPILLED,
                    }));
                }
                if fds.is_empty() && ring.maxsize() == 0 {
                    // Unbounded: the bytes go to the overflow, with no side message (whose
                    // number in flight is limited) to wait for.
                    match ring.put(Body::Large(bytes), deadline) {
                        Err(PutFail::TooLarge) => {} // bounded meanwhile: beside the ring
                        other => return other,
                    }
                }
                let mut hook = |seq| send(seq, Some(bytes)).map_err(send_error);
                ring.put(Body::Spilled(&mut hook), deadline)
            } else if fds.is_empty() {
                ring.put(Body::<QueueError>::Plain(bytes), deadline)
            } else {
                let mut hook = |seq| send(seq, None).map_err(send_error);
                ring.put(Body::WithSide(bytes, &mut hook), deadline)
            }
        })
        .map_err(QueueError::Encode)?;
        put.map_err(|fail| put_error(&ring, fail))
    }

    fn get_until(&self, deadline: Option<Instant>) -> Result<T, QueueError> {
        self.get_with_until(deadline, |item| self.take(item))
    }

    /// Takes the next item and hands it to `take` while it is in the ring; `take` answers
    /// `None` when a consumer that died had taken the item's side message (the next item is
    /// taken then).
    fn get_with_until<R>(
        &self,
        deadline: Option<Instant>,
        mut take: impl FnMut(Item<'_>) -> Option<Result<R, QueueError>>,
    ) -> Result<R, QueueError> {
        loop {
            match self.ring().get(deadline, &mut take) {
                Ok(Some(got)) => return got,
                // The item left with a consumer that died taking it: take the next one.
                Ok(None) => {}
                Err(GetFail::Empty) => return Err(QueueError::Empty),
                Err(GetFail::Closed) => return Err(QueueError::Closed),
                Err(GetFail::Corrupt) => return Err(QueueError::Corrupted),
            }
        }
    }

    /// Decodes an item read from the ring, with its side message if it has one; `None` if a
    /// dead consumer had taken that message.
    fn take(&self, item: Item<'_>) -> Option<Result<T, QueueError>> {
        let Some(side_ref) = item.side else {
            return Some(codec::decode(item.bytes, Vec::new()).map_err(QueueError::Decode));
        };
        let side = &self.inner.side;
        if side_ref.maybe_taken {
            match side.find(side_ref.seq) {
                Ok(Presence::Present) => {}
                Ok(Presence::Gone) => return None,
                Err(e) => return Some(Err(recv_error(e))),
            }
        }
        let decoded = side.take(side_ref.seq, side_ref.spilled, |spilled, fds| {
            let bytes = if side_ref.spilled {
                spilled
            } else {
                item.bytes
            };
            codec::decode(bytes, fds).map_err(QueueError::Decode)
        });
        match decoded {
            Ok(Some(result)) => Some(result),
            Ok(None) => None,
            Err(e) => Some(Err(recv_error(e))),
        }
    }
}

/// The error a `put` that failed in the ring reports.
fn put_error(ring: &Ring<'_, QueueMem, Os>, fail: PutFail<QueueError>) -> QueueError {
    match fail {
        PutFail::Full => QueueError::Full,
        PutFail::Closed => QueueError::Closed,
        PutFail::TooLarge => QueueError::TooLarge {
            len: ring.max_payload(),
            max: ring.max_payload(),
        },
        PutFail::Side(e) => e,
        PutFail::Overflow(source) => QueueError::Os {
            op: "writing to the queue's overflow",
            source,
        },
        PutFail::Corrupt => QueueError::Corrupted,
    }
}

fn send_error(e: WireError) -> QueueError {
    match e {
        WireError::Timeout => QueueError::Full,
        WireError::Io(source) => QueueError::Os {
            op: "sending an item's side message",
            source,
        },
        other => QueueError::Os {
            op: "sending an item's side message",
            source: std::io::Error::other(other.to_string()),
        },
    }
}

fn recv_error(e: WireError) -> QueueError {
    let source = match e {
        WireError::Io(source) => source,
        other => std::io::Error::other(other.to_string()),
    };
    QueueError::Os {
        op: "receiving an item's side message",
        source,
    }
}

/// Iterates over a queue's items until it is closed and drained: see [`Queue::iter`].
#[derive(Debug)]
pub struct Iter<'q, T> {
    queue: &'q Queue<T>,
}

impl<T: Serialize + DeserializeOwned> Iterator for Iter<'_, T> {
    type Item = Result<T, QueueError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.queue.get() {
            Err(QueueError::Closed) => None,
            other => Some(other),
        }
    }
}

impl<'q, T: Serialize + DeserializeOwned> IntoIterator for &'q Queue<T> {
    type Item = Result<T, QueueError>;
    type IntoIter = Iter<'q, T>;

    fn into_iter(self) -> Iter<'q, T> {
        self.iter()
    }
}

// ------------------------------------------------------------------ handle plumbing

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            _item: PhantomData,
        }
    }
}

impl<T> PartialEq for Queue<T> {
    /// Two handles are equal when they name the same queue (clones of each other).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) || self.inner.mem.shm.same(&other.inner.mem.shm)
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("qsize", &self.qsize())
            .field("maxsize", &self.maxsize())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// A borrowed descriptor, serialized into the codec's side table.
struct FdRef<'a>(BorrowedFd<'a>);

impl Serialize for FdRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        codec::serialize_fd(self.0, s)
    }
}

impl<T> Serialize for Queue<T> {
    /// Serializes as its four descriptors: the ring's segment, the side socket's ends and the
    /// overflow.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let inner = &*self.inner;
        let mut t = s.serialize_tuple(4)?;
        t.serialize_element(&FdRef(inner.mem.shm.fd()))?;
        t.serialize_element(&FdRef(inner.side.tx.as_fd()))?;
        t.serialize_element(&FdRef(inner.side.rx.as_fd()))?;
        t.serialize_element(&FdRef(inner.mem.overflow.fd()))?;
        t.end()
    }
}

impl<'de, T> Deserialize<'de> for Queue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (shm, tx, rx, overflow) = <(Fd, Fd, Fd, Fd)>::deserialize(d)?;
        let shm = ShmBox::<QueueState>::open(
            shm.into_inner(),
            type_tag::<T>(),
            std::any::type_name::<T>(),
        )
        .map_err(codec::invalid_handle)?;
        let cap = shm.state().capacity.load(Relaxed);
        let fits = (MIN_RING_BYTES as u64..=MAX_RING_BYTES as u64).contains(&cap)
            && cap.is_power_of_two()
            && cap <= shm.data_len() as u64;
        if !fits {
            return Err(codec::invalid_handle(
                "the queue's segment has an invalid ring size",
            ));
        }
        let (tx, rx) = (tx.into_inner(), rx.into_inner());
        if !is_seqpacket(&tx) || !is_seqpacket(&rx) {
            return Err(codec::invalid_handle(
                "the queue's side socket is not an mproc socket",
            ));
        }
        let overflow = Overflow::open(overflow.into_inner()).ok_or_else(|| {
            codec::invalid_handle(
                "the queue's overflow is not a growable memfd sealed against shrinking",
            )
        })?;
        Ok(Self::from_parts(
            QueueMem { shm, overflow },
            Side { tx, rx },
            cap,
        ))
    }
}

fn is_seqpacket(fd: &OwnedFd) -> bool {
    use nix::sys::socket::{SockType, getsockopt, sockopt};
    matches!(getsockopt(fd, sockopt::SockType), Ok(SockType::SeqPacket))
}

#[cfg(all(test, not(loom)))]
mod tests;
