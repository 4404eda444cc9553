//! [`ByteBuf`]: bytes that serialize as one byte string.

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A byte buffer that crosses processes in one copy.
///
/// A plain `Vec<u8>` is a serde *sequence*: it is written and read one `u8` at a time. A
/// `ByteBuf` is a serde *byte string*, copied in one go, which makes a 1 MiB payload many
/// times cheaper to send (what `serde_bytes` does, and what Python's `bytes` are).
///
/// ```
/// use mproc::codec::ByteBuf;
/// use mproc::Queue;
///
/// # fn main() -> mproc::Result<()> {
/// let q = Queue::<ByteBuf>::new()?;
/// q.put(&ByteBuf::from(vec![7u8; 1 << 20]))?;
/// assert_eq!(q.get()?.len(), 1 << 20);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ByteBuf(pub Vec<u8>);

impl ByteBuf {
    /// The bytes.
    #[must_use]
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl From<Vec<u8>> for ByteBuf {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<ByteBuf> for Vec<u8> {
    fn from(bytes: ByteBuf) -> Self {
        bytes.0
    }
}

impl Deref for ByteBuf {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl DerefMut for ByteBuf {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Serialize for ByteBuf {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_byte_buf(ByteBufVisitor)
    }
}

struct ByteBufVisitor;

impl Visitor<'_> for ByteBufVisitor {
    type Value = ByteBuf;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<ByteBuf, E> {
        Ok(ByteBuf(bytes.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<ByteBuf, E> {
        Ok(ByteBuf(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::ByteBuf;
    use crate::codec::{decode, encode};

    #[test]
    fn a_byte_buf_is_one_length_and_the_bytes() {
        let value = ByteBuf::from(vec![1, 2, 3, 200]);
        let encoded = encode(&value).unwrap();
        assert_eq!(
            encoded.bytes,
            [4, 1, 2, 3, 200],
            "a varint length, then the bytes"
        );
        assert_eq!(
            decode::<ByteBuf>(&encoded.bytes, Vec::new()).unwrap(),
            value
        );
    }

    #[test]
    fn a_byte_string_claiming_more_than_there_is_is_an_error() {
        assert!(decode::<ByteBuf>(&[200, 1, 1, 2], Vec::new()).is_err());
    }
}
