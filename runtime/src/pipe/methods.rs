//! The send and receive method sets, written once and given to each end type that has that
//! direction: `Connection` has both, `Sender` and `Receiver` one each.

/// Adds the sending methods for messages of type `$item` to `$ty` (which has an `end` field).
macro_rules! send_methods {
    ($ty:ident, $item:ident) => {
        /// Sends `value`, waiting while the pipe is full.
        ///
        /// # Errors
        /// [`PipeError::Encode`] if it cannot be serialized (nothing is sent),
        /// [`PipeError::Disconnected`] if the other end is closed.
        pub fn send(&self, value: &$item) -> Result<(), PipeError> {
            self.end.send(value, None)
        }

        /// Sends `value` if the pipe has room now.
        ///
        /// # Errors
        /// [`PipeError::WouldBlock`] if the pipe is full; otherwise as [`send`](Self::send).
        pub fn try_send(&self, value: &$item) -> Result<(), PipeError> {
            endpoint::without_waiting(self.end.send(value, Some(std::time::Instant::now())))
        }

        /// Sends `value`, waiting at most `timeout` for room.
        ///
        /// # Errors
        /// [`PipeError::Timeout`] if the pipe stayed full; otherwise as [`send`](Self::send).
        pub fn send_timeout(&self, value: &$item, timeout: Duration) -> Result<(), PipeError> {
            self.end.send(value, endpoint::deadline_in(timeout))
        }

        /// Sends `buf` as one message of raw bytes (Python's `send_bytes(buf)`); the other end
        /// receives it with `recv_bytes` or `recv_bytes_into`.
        ///
        /// # Errors
        /// [`PipeError::Disconnected`] if the other end is closed.
        pub fn send_bytes(&self, buf: &[u8]) -> Result<(), PipeError> {
            self.end.send_bytes(buf, None)
        }

        /// Sends `buf[offset..offset + size]` (`size: None`: to the end) as one message, as
        /// Python's `send_bytes(buf, offset, size)`.
        ///
        /// # Errors
        /// [`PipeError::OutOfBounds`] if the range does not fit `buf` (nothing is sent);
        /// otherwise as [`send_bytes`](Self::send_bytes).
        pub fn send_bytes_range(
            &self,
            buf: &[u8],
            offset: usize,
            size: Option<usize>,
        ) -> Result<(), PipeError> {
            self.end
                .send_bytes(endpoint::byte_range(buf, offset, size)?, None)
        }
    };
}

/// Adds the receiving methods for messages of type `$item` to `$ty` (which has an `end` field).
macro_rules! recv_methods {
    ($ty:ident, $item:ident) => {
        /// Receives the next message, waiting as long as it takes.
        ///
        /// # Errors
        /// [`PipeError::Eof`] once the other end is closed and drained;
        /// [`PipeError::Decode`] if the message is not a valid value (it is consumed);
        /// [`PipeError::TooLarge`] above this end's maximum (discarded unread).
        pub fn recv(&self) -> Result<$item, PipeError> {
            self.end.recv(None)
        }

        /// Receives a message if one is waiting.
        ///
        /// # Errors
        /// [`PipeError::WouldBlock`] if none is; otherwise as [`recv`](Self::recv).
        pub fn try_recv(&self) -> Result<$item, PipeError> {
            endpoint::without_waiting(self.end.recv(Some(std::time::Instant::now())))
        }

        /// Receives the next message, waiting at most `timeout`.
        ///
        /// # Errors
        /// [`PipeError::Timeout`] if none came; otherwise as [`recv`](Self::recv).
        pub fn recv_timeout(&self, timeout: Duration) -> Result<$item, PipeError> {
            self.end.recv(endpoint::deadline_in(timeout))
        }

        /// Receives the next message as raw bytes (Python's `recv_bytes()`).
        ///
        /// # Errors
        /// As [`recv`](Self::recv), without decoding.
        pub fn recv_bytes(&self) -> Result<Vec<u8>, PipeError> {
            self.end.recv_bytes(None)
        }

        /// Receives the next message as raw bytes, waiting at most `timeout`.
        ///
        /// # Errors
        /// [`PipeError::Timeout`] if none came; otherwise as [`recv_bytes`](Self::recv_bytes).
        pub fn recv_bytes_timeout(&self, timeout: Duration) -> Result<Vec<u8>, PipeError> {
            self.end.recv_bytes(endpoint::deadline_in(timeout))
        }

        /// Receives the next message if it is at most `max` bytes long (Python's
        /// `recv_bytes(maxlength)`). Unlike Python, a longer message is not lost and the
        /// connection stays usable: the message stays in the pipe for another call.
        ///
        /// With several processes receiving on this end, the length is checked on the message
        /// at the head of the pipe, and another receiver may take that one first: a longer
        /// message that moved to the head in between is then refused with
        /// [`PipeError::TooLarge`] *and consumed*. Give each such receiver its own pipe when a
        /// refused message must survive.
        ///
        /// # Errors
        /// [`PipeError::TooLarge`] for a longer message; otherwise as
        /// [`recv_bytes`](Self::recv_bytes).
        pub fn recv_bytes_max(&self, max: usize) -> Result<Vec<u8>, PipeError> {
            self.end.recv_bytes_max(max, None)
        }

        /// Receives the next message into `buf[offset..]` and returns its length (Python's
        /// `recv_bytes_into(buf, offset)`).
        ///
        /// # Errors
        /// [`PipeError::BufferTooShort`] with the whole message if it does not fit (it is
        /// received, as in Python); [`PipeError::OutOfBounds`] if `offset > buf.len()`
        /// (nothing is received); otherwise as [`recv_bytes`](Self::recv_bytes).
        pub fn recv_bytes_into(&self, buf: &mut [u8], offset: usize) -> Result<usize, PipeError> {
            self.end.recv_bytes_into(buf, offset, None)
        }

        /// Whether a message, or the end of the stream, is waiting: Python's `poll(timeout)`.
        /// `None` waits as long as it takes; `Some(Duration::ZERO)` only looks.
        ///
        /// # Errors
        /// [`PipeError::Os`] if polling fails.
        pub fn poll(&self, timeout: Option<Duration>) -> Result<bool, PipeError> {
            self.end.poll(timeout)
        }

        /// Iterates over incoming messages until the other end is closed and drained; other
        /// errors are yielded (and iteration goes on).
        pub fn iter(&self) -> impl Iterator<Item = Result<$item, PipeError>> + '_ {
            std::iter::from_fn(move || match self.recv() {
                Err(PipeError::Eof) => None,
                other => Some(other),
            })
        }

        /// The largest message this end accepts (default [`DEFAULT_MAX_MESSAGE_LEN`]); longer
        /// ones are refused without being read.
        #[must_use]
        pub fn max_message_len(&self) -> u64 {
            self.end.max_len()
        }

        /// Sets the largest message this end accepts. It applies to this end in this process.
        pub fn set_max_message_len(&mut self, max: u64) {
            self.end.set_max_len(max);
        }
    };
}

/// `AsFd`, `Serialize` and `Deserialize` for an end type (a single `end: Endpoint` field).
macro_rules! end_traits {
    ($ty:ident < $($param:ident),+ >) => {
        impl<$($param),+> AsFd for $ty<$($param),+> {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.end.fd()
            }
        }

        impl<$($param),+> Serialize for $ty<$($param),+> {
            fn serialize<Ser: Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
                codec::serialize_fd(self.end.fd(), s)
            }
        }

        impl<'de, $($param),+> Deserialize<'de> for $ty<$($param),+> {
            fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
                let fd = codec::deserialize_fd(d)?;
                let end = Endpoint::adopt(fd).map_err(crate::codec::invalid_handle)?;
                Ok(Self { end, _types: PhantomData })
            }
        }

        impl<$($param),+> $ty<$($param),+> {
            /// Another handle to the same end, for instance to give it to several processes
            /// (each message still goes to exactly one of them). Like `File::try_clone`.
            ///
            /// # Errors
            /// [`PipeError::Os`] if the descriptor cannot be duplicated.
            pub fn try_clone(&self) -> Result<Self, PipeError> {
                Ok(Self { end: self.end.try_clone()?, _types: PhantomData })
            }
        }

        impl<$($param),+> std::fmt::Debug for $ty<$($param),+> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("fd", &self.end.raw_fd())
                    .field("max_message_len", &self.end.max_len())
                    .finish()
            }
        }
    };
}

pub(crate) use {end_traits, recv_methods, send_methods};
