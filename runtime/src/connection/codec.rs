//! [`Codec`]: how a [`Connection`](super::Connection)'s typed messages are encoded.

/// How [`Connection::send`](super::Connection::send) and
/// [`Connection::recv`](super::Connection::recv) encode values. Raw messages
/// ([`send_bytes`](super::Connection::send_bytes)) are the same whatever the codec.
///
/// Set it with [`Options::codec`](super::Options::codec) for the connections a listener or
/// client makes, or with [`Connection::set_codec`](super::Connection::set_codec) on one
/// connection. A connection received as a handle starts with [`Codec::Postcard`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Codec {
    /// mproc's own encoding (postcard, handles beside the bytes over Unix sockets): for
    /// mproc-to-mproc connections. The default.
    #[default]
    Postcard,
    /// Python's pickles (feature `pickle`), the only way to exchange typed values with Python's
    /// `Connection.send` / `Connection.recv`: see [`pickle`](super::pickle) for what crosses and
    /// how decoding is bounded. Handles cannot travel in a pickle.
    #[cfg(feature = "pickle")]
    Pickle(super::pickle::PickleLimits),
}

impl Codec {
    /// [`Codec::Pickle`] with the default [`PickleLimits`](super::pickle::PickleLimits).
    #[cfg(feature = "pickle")]
    #[must_use]
    pub fn pickle() -> Self {
        Self::Pickle(super::pickle::PickleLimits::default())
    }
}
