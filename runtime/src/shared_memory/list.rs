//! `ShareableList`: a fixed-length list of scalars and strings in a named block, in `CPython`'s
//! byte layout, so Python and mproc read and write the same list.
//!
//! # Layout (native byte order and alignment, as Python's `struct` packs it)
//! ```text
//! 0                       n: i64, the number of items
//! 8                       n + 1 offsets (i64) of each item's slot from the data start
//! (n + 2) * 8             the data area: each slot 8 bytes, or a multiple of 8 for str/bytes
//! data + offsets[n]       n formats, 8 bytes each, NUL-padded: `q`, `d`, `xxxxxxx?` (bool),
//!                         `xxxxxx?x` (None), `<k>s` (k bytes of str/bytes, NUL-padded)
//! formats + 8n            n codes (i8): 0 int/float/bool, 1 str, 2 bytes, 3 None
//! ```
//! Everything read from the block is checked before it is used: the item count and offsets
//! when the list is attached, each format, code and slot when an item is read or written.

use std::fmt;

use super::{ShareableListError, SharedMemory, SharedMemoryError};

const SLOT: usize = 8;
const FORMAT_LEN: usize = 8;
const BOOL_FORMAT: &[u8] = b"xxxxxxx?";
const NONE_FORMAT: &[u8] = b"xxxxxx?x";

/// One element of a [`ShareableList`]: the Python types it can hold.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A Python `int` that fits in 64 bits.
    Int(i64),
    /// A Python `float`.
    Float(f64),
    /// A Python `bool`.
    Bool(bool),
    /// A Python `str` (UTF-8; trailing NULs are dropped, as Python drops them).
    Str(String),
    /// A Python `bytes` (trailing NULs are dropped, as Python drops them).
    Bytes(Vec<u8>),
    /// Python's `None`.
    None,
}

impl From<i64> for Item {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<i32> for Item {
    fn from(v: i32) -> Self {
        Self::Int(v.into())
    }
}
impl From<f64> for Item {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}
impl From<bool> for Item {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<&str> for Item {
    fn from(v: &str) -> Self {
        Self::Str(v.to_owned())
    }
}
impl From<String> for Item {
    fn from(v: String) -> Self {
        Self::Str(v)
    }
}
impl From<&[u8]> for Item {
    fn from(v: &[u8]) -> Self {
        Self::Bytes(v.to_vec())
    }
}
impl From<Vec<u8>> for Item {
    fn from(v: Vec<u8>) -> Self {
        Self::Bytes(v)
    }
}

/// How one slot is packed: Python's `struct` format for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Int,
    Float,
    Bool,
    None,
    /// `<k>s`: k bytes.
    Text(usize),
}

impl Format {
    fn parse(raw: [u8; FORMAT_LEN]) -> Result<Self, String> {
        let end = raw.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let text = &raw[..end];
        match text {
            b"q" => Ok(Self::Int),
            b"d" => Ok(Self::Float),
            BOOL_FORMAT => Ok(Self::Bool),
            NONE_FORMAT => Ok(Self::None),
            [digits @ .., b's'] if digits.iter().all(u8::is_ascii_digit) => {
                let digits = std::str::from_utf8(digits).map_err(|e| e.to_string())?;
                if digits.is_empty() {
                    Ok(Self::Text(1))
                } else {
                    digits
                        .parse()
                        .map(Self::Text)
                        .map_err(|_| format!("format {text:?}"))
                }
            }
            _ => Err(format!(
                "unknown format {:?}",
                String::from_utf8_lossy(text)
            )),
        }
    }

    fn encode(self) -> Result<[u8; FORMAT_LEN], usize> {
        let text = match self {
            Self::Int => "q".to_owned(),
            Self::Float => "d".to_owned(),
            Self::Bool => "xxxxxxx?".to_owned(),
            Self::None => "xxxxxx?x".to_owned(),
            Self::Text(k) => format!("{k}s"),
        };
        let mut out = [0; FORMAT_LEN];
        out.get_mut(..text.len())
            .ok_or(text.len())?
            .copy_from_slice(text.as_bytes());
        Ok(out)
    }

    /// The bytes the value takes in its slot.
    fn len(self) -> usize {
        match self {
            Self::Text(k) => k,
            _ => SLOT,
        }
    }
}

impl Item {
    /// The code Python stores to rebuild the value.
    fn code(&self) -> i8 {
        match self {
            Self::Int(_) | Self::Float(_) | Self::Bool(_) => 0,
            Self::Str(_) => 1,
            Self::Bytes(_) => 2,
            Self::None => 3,
        }
    }

    /// The encoded value, and the format of a slot of `capacity` bytes holding it.
    fn encode(&self) -> (Vec<u8>, Option<Format>) {
        match self {
            Self::Int(v) => (v.to_ne_bytes().to_vec(), Some(Format::Int)),
            Self::Float(v) => (v.to_ne_bytes().to_vec(), Some(Format::Float)),
            Self::Bool(v) => {
                let mut slot = vec![0; SLOT];
                slot[SLOT - 1] = u8::from(*v);
                (slot, Some(Format::Bool))
            }
            Self::None => (vec![0; SLOT], Some(Format::None)),
            Self::Str(s) => (s.as_bytes().to_vec(), None),
            Self::Bytes(b) => (b.clone(), None),
        }
    }

    fn decode(format: Format, code: i8, value: &[u8]) -> Result<Self, String> {
        let word = || <[u8; SLOT]>::try_from(value).map_err(|_| "short slot".to_owned());
        let trimmed = || &value[..value.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)];
        match (format, code) {
            (Format::Int, 0) => Ok(Self::Int(i64::from_ne_bytes(word()?))),
            (Format::Float, 0) => Ok(Self::Float(f64::from_ne_bytes(word()?))),
            (Format::Bool, 0) => Ok(Self::Bool(word()?[SLOT - 1] != 0)),
            (Format::None, 3) => Ok(Self::None),
            (Format::Text(_), 1) => String::from_utf8(trimmed().to_vec())
                .map(Self::Str)
                .map_err(|_| "a str item is not UTF-8".to_owned()),
            (Format::Text(_), 2) => Ok(Self::Bytes(trimmed().to_vec())),
            (format, code) => Err(format!("format {format:?} with code {code}")),
        }
    }
}

/// A list of [`Item`]s of fixed length in a named block: Python's `ShareableList`.
///
/// Items can be replaced, not added or removed. A `str`/`bytes` item can be replaced by one no
/// longer than the slot it was created with (its length rounded up to the next multiple of 8,
/// leaving room for one NUL); trailing NULs of a `str`/`bytes` are not kept, as in Python.
/// Like Python's, the list has no lock: a reader racing with a writer can see the old or the
/// new item, or a [`ShareableListError::Corrupted`] item when the write is half done.
pub struct ShareableList {
    shm: SharedMemory,
    /// The slot offsets from the data start; `offsets[n]` is the data area's length.
    offsets: Vec<usize>,
    /// Where the formats start (checked to fit when attached).
    formats: usize,
    /// Where the codes start; `codes + n <= size` (checked when attached).
    codes: usize,
}

impl ShareableList {
    /// Creates a list holding `items` in a new block with a random name.
    ///
    /// # Errors
    /// [`ShareableListError::ItemTooLarge`] for a `str`/`bytes` item of 10 MB or more, or the
    /// block's creation error.
    pub fn create(items: &[Item]) -> Result<Self, ShareableListError> {
        let image = Self::image(items)?;
        Self::fill(SharedMemory::create(image.len())?, &image)
    }

    /// Creates a list holding `items` in a new block named `name`.
    ///
    /// # Errors
    /// As [`create`](Self::create), and [`SharedMemoryError::Exists`] if the name is taken.
    pub fn create_named(name: &str, items: &[Item]) -> Result<Self, ShareableListError> {
        let image = Self::image(items)?;
        Self::fill(SharedMemory::create_named(name, image.len())?, &image)
    }

    /// Attaches to the list in the block `name` (created by mproc or by Python).
    ///
    /// # Errors
    /// The block's attach error, or [`ShareableListError::Corrupted`] if its item count and
    /// offsets do not describe a list that fits in it.
    pub fn attach(name: &str) -> Result<Self, ShareableListError> {
        Self::from_shm(SharedMemory::attach(name)?)
    }

    /// Reads the list header of `shm`, checking it fits.
    ///
    /// # Errors
    /// [`ShareableListError::Corrupted`] if it does not.
    pub fn from_shm(shm: SharedMemory) -> Result<Self, ShareableListError> {
        let corrupted = |what: &str| ShareableListError::Corrupted(what.to_owned());
        let n = read_i64(&shm, 0)?;
        // Each item takes at least 8 (offset) + 8 (slot) + 8 (format) + 1 (code) bytes, so a
        // count the block cannot hold is refused before anything is allocated for it.
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= shm.size() / 25)
            .ok_or_else(|| corrupted("the item count does not fit in the block"))?;
        let mut offsets = Vec::with_capacity(n + 1);
        for i in 0..=n {
            let at = usize::try_from(read_i64(&shm, (i + 1) * SLOT)?)
                .map_err(|_| corrupted("a negative item offset"))?;
            if offsets.last().is_some_and(|&prev| at < prev) {
                return Err(corrupted("item offsets are not in order"));
            }
            offsets.push(at);
        }
        let data = (n + 2) * SLOT;
        let formats = data.checked_add(offsets[n]);
        let codes = formats.and_then(|f| f.checked_add(n * FORMAT_LEN));
        match (formats, codes) {
            (Some(formats), Some(codes))
                if codes.checked_add(n).is_some_and(|e| e <= shm.size()) =>
            {
                Ok(Self {
                    shm,
                    offsets,
                    formats,
                    codes,
                })
            }
            _ => Err(corrupted("the items reach past the end of the block")),
        }
    }

    /// The number of items.
    #[must_use]
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether the list has no items.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The block holding the list (for its name, and to unlink it).
    #[must_use]
    pub fn shm(&self) -> &SharedMemory {
        &self.shm
    }

    /// The item at `index`.
    ///
    /// # Errors
    /// [`ShareableListError::IndexOutOfRange`], or [`ShareableListError::Corrupted`] if the
    /// slot's format, code or bytes are not a valid item.
    pub fn get(&self, index: usize) -> Result<Item, ShareableListError> {
        let (format, capacity) = (self.format(index)?, self.capacity(index)?);
        if format.len() > capacity {
            return Err(self.corrupted(index, "the format is larger than its slot"));
        }
        let mut code = [0];
        self.shm.read_at(self.code_at(index), &mut code)?;
        let mut value = vec![0; format.len()];
        self.shm.read_at(self.slot_at(index), &mut value)?;
        Item::decode(format, i8::from_ne_bytes(code), &value).map_err(|e| self.corrupted(index, &e))
    }

    /// Replaces the item at `index` (Python's `list[index] = value`).
    ///
    /// # Errors
    /// [`ShareableListError::IndexOutOfRange`], [`ShareableListError::TooLong`] for a
    /// `str`/`bytes` longer than the slot, or [`ShareableListError::Corrupted`] if the slot
    /// is shorter than 8 bytes. A slot whose format or code was garbled is repaired.
    pub fn set(&self, index: usize, item: impl Into<Item>) -> Result<(), ShareableListError> {
        let item = item.into();
        let capacity = self.capacity(index)?;
        // Whatever the slot held before (even a garbled format) is overwritten.
        let current = self.format(index).ok();
        let (mut value, fixed) = item.encode();
        let format = match fixed {
            Some(format) if format.len() <= capacity => format,
            Some(_) => return Err(self.corrupted(index, "a slot shorter than 8 bytes")),
            None if value.len() > capacity => {
                return Err(ShareableListError::TooLong {
                    index,
                    len: value.len(),
                    capacity,
                });
            }
            None => match current {
                Some(Format::Text(k)) if value.len() <= k && k <= capacity => Format::Text(k),
                _ => Format::Text(capacity),
            },
        };
        value.resize(format.len(), 0);
        let encoded = format
            .encode()
            .map_err(|_| self.corrupted(index, "a slot too large for its format"))?;
        self.shm.write_at(self.format_at(index), &encoded)?;
        self.shm
            .write_at(self.code_at(index), &item.code().to_ne_bytes())?;
        self.shm.write_at(self.slot_at(index), &value)?;
        Ok(())
    }

    /// Every item, in order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn to_vec(&self) -> Result<Vec<Item>, ShareableListError> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    /// How many items equal `item` (Python's `count`).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn count(&self, item: &Item) -> Result<usize, ShareableListError> {
        Ok(self.to_vec()?.iter().filter(|i| *i == item).count())
    }

    /// The index of the first item equal to `item`, if any (Python's `index`).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn index(&self, item: &Item) -> Result<Option<usize>, ShareableListError> {
        Ok(self.to_vec()?.iter().position(|i| i == item))
    }

    /// The `struct` formats of every item, joined (Python's `format`).
    ///
    /// # Errors
    /// [`ShareableListError::Corrupted`] if a format is not one Python writes.
    pub fn format_string(&self) -> Result<String, ShareableListError> {
        (0..self.len())
            .map(|i| {
                let f = self.format(i)?;
                let bytes = f.encode().map_err(|_| self.corrupted(i, "format"))?;
                let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |e| e + 1);
                Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
            })
            .collect()
    }

    /// The bytes of a block holding `items`, laid out as Python lays them out.
    fn image(items: &[Item]) -> Result<Vec<u8>, ShareableListError> {
        let mut slots = Vec::with_capacity(items.len());
        for item in items {
            let (mut value, fixed) = item.encode();
            let format = match fixed {
                Some(format) => format,
                None => Format::Text(SLOT * (value.len() / SLOT + 1)),
            };
            let encoded = format
                .encode()
                .map_err(|_| ShareableListError::ItemTooLarge { len: value.len() })?;
            value.resize(format.len(), 0);
            slots.push((value, encoded, item.code()));
        }
        let n = i64::try_from(items.len())
            .map_err(|_| ShareableListError::ItemTooLarge { len: items.len() })?;
        let mut image = n.to_ne_bytes().to_vec();
        let mut offset = 0i64;
        image.extend_from_slice(&offset.to_ne_bytes());
        for (value, _, _) in &slots {
            offset += i64::try_from(value.len()).unwrap_or(i64::MAX);
            image.extend_from_slice(&offset.to_ne_bytes());
        }
        for (value, _, _) in &slots {
            image.extend_from_slice(value);
        }
        for (_, format, _) in &slots {
            image.extend_from_slice(format);
        }
        for (_, _, code) in &slots {
            image.extend_from_slice(&code.to_ne_bytes());
        }
        Ok(image)
    }

    fn fill(shm: SharedMemory, image: &[u8]) -> Result<Self, ShareableListError> {
        let name = shm.name().to_owned();
        shm.write_at(0, image)
            .map_err(ShareableListError::from)
            .and_then(|()| Self::from_shm(shm))
            .inspect_err(|_| {
                // A list that could not be written is not left behind.
                let _ = SharedMemory::unlink_name(&name);
            })
    }

    fn check(&self, index: usize) -> Result<(), ShareableListError> {
        if index < self.len() {
            Ok(())
        } else {
            Err(ShareableListError::IndexOutOfRange {
                index,
                len: self.len(),
            })
        }
    }

    fn format(&self, index: usize) -> Result<Format, ShareableListError> {
        self.check(index)?;
        let mut raw = [0; FORMAT_LEN];
        self.shm.read_at(self.format_at(index), &mut raw)?;
        Format::parse(raw).map_err(|e| self.corrupted(index, &e))
    }

    fn capacity(&self, index: usize) -> Result<usize, ShareableListError> {
        self.check(index)?;
        Ok(self.offsets[index + 1] - self.offsets[index])
    }

    pub(super) fn slot_at(&self, index: usize) -> usize {
        (self.len() + 2) * SLOT + self.offsets[index]
    }

    pub(super) fn format_at(&self, index: usize) -> usize {
        self.formats + index * FORMAT_LEN
    }

    pub(super) fn code_at(&self, index: usize) -> usize {
        self.codes + index
    }

    fn corrupted(&self, index: usize, what: &str) -> ShareableListError {
        ShareableListError::Corrupted(format!("item {index} of {}: {what}", self.len()))
    }
}

fn read_i64(shm: &SharedMemory, at: usize) -> Result<i64, SharedMemoryError> {
    let mut raw = [0; SLOT];
    shm.read_at(at, &mut raw)?;
    Ok(i64::from_ne_bytes(raw))
}

impl fmt::Debug for ShareableList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShareableList")
            .field("name", &self.shm.name())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
