//! The walk over a pickle's opcodes that runs before `serde-pickle` decodes it: only opcodes of
//! plain data pass, every declared length must fit what arrived, and the walk keeps a shadow of
//! the unpickler's stack (one [`Tree`] summary per value: nesting depth, kind, and the bytes the
//! value costs once every memo reference in it is copied out) to refuse a pickle that nests too
//! deep or would cost too much, before anything is built.
//!
//! It mirrors how `serde-pickle` 1.x parses (read in its source): `MEMOIZE` numbers entries by
//! the memo's size; `STOP` takes the top of the innermost stack; every `MARK` allocates a fresh
//! 128-slot stack, which a `TUPLE`, `LIST`, `DICT` or `FROZENSET` keeps as its storage; a memo
//! entry is cloned for every reference to it when the value is finally built; `DUP` and
//! memoizing a memo reference clone too (both refused here: no Python pickler writes them).
//!
//! A memo entry freezes when it is first referenced (`GET`): Python's pickler references an
//! object only once it is complete, unless the object contains itself. Changing a frozen
//! container is refused as [`PickleError::Recursive`], which keeps every reference's cost final.

use std::collections::HashMap;

use super::{PickleError, PickleLimits};

/// The bytes one parsed value takes (`serde-pickle`'s value enum, 40 bytes on 64-bit).
const NODE: u64 = 40;
/// The slots of the stack each `MARK` allocates.
const MARK_SLOTS: u64 = 128;

mod op {
    pub(super) const MARK: u8 = b'(';
    pub(super) const STOP: u8 = b'.';
    pub(super) const POP: u8 = b'0';
    pub(super) const POP_MARK: u8 = b'1';
    pub(super) const BININT: u8 = b'J';
    pub(super) const BININT1: u8 = b'K';
    pub(super) const BININT2: u8 = b'M';
    pub(super) const NONE: u8 = b'N';
    pub(super) const BINUNICODE: u8 = b'X';
    pub(super) const APPEND: u8 = b'a';
    pub(super) const DICT: u8 = b'd';
    pub(super) const EMPTY_DICT: u8 = b'}';
    pub(super) const APPENDS: u8 = b'e';
    pub(super) const BINGET: u8 = b'h';
    pub(super) const LONG_BINGET: u8 = b'j';
    pub(super) const LIST: u8 = b'l';
    pub(super) const EMPTY_LIST: u8 = b']';
    pub(super) const BINPUT: u8 = b'q';
    pub(super) const LONG_BINPUT: u8 = b'r';
    pub(super) const SETITEM: u8 = b's';
    pub(super) const TUPLE: u8 = b't';
    pub(super) const EMPTY_TUPLE: u8 = b')';
    pub(super) const SETITEMS: u8 = b'u';
    pub(super) const BINFLOAT: u8 = b'G';
    pub(super) const PROTO: u8 = 0x80;
    pub(super) const TUPLE1: u8 = 0x85;
    pub(super) const TUPLE2: u8 = 0x86;
    pub(super) const TUPLE3: u8 = 0x87;
    pub(super) const NEWTRUE: u8 = 0x88;
    pub(super) const NEWFALSE: u8 = 0x89;
    pub(super) const LONG1: u8 = 0x8a;
    pub(super) const LONG4: u8 = 0x8b;
    pub(super) const BINBYTES: u8 = b'B';
    pub(super) const SHORT_BINBYTES: u8 = b'C';
    pub(super) const SHORT_BINUNICODE: u8 = 0x8c;
    pub(super) const BINUNICODE8: u8 = 0x8d;
    pub(super) const BINBYTES8: u8 = 0x8e;
    pub(super) const EMPTY_SET: u8 = 0x8f;
    pub(super) const ADDITEMS: u8 = 0x90;
    pub(super) const FROZENSET: u8 = 0x91;
    pub(super) const MEMOIZE: u8 = 0x94;
    pub(super) const FRAME: u8 = 0x95;
    pub(super) const BYTEARRAY8: u8 = 0x96;
}

/// Pickle opcodes that are refused, with their `pickletools` names and why.
fn refusal(opcode: u8) -> (&'static str, &'static str) {
    const CODE: &str = "names or calls code (Python would import and run it)";
    const OBJECT: &str = "builds an object that is not plain data";
    const TEXT: &str = "protocol-0 text form, which no Python 3 multiprocessing peer writes";
    match opcode {
        b'c' => ("GLOBAL", CODE),
        0x93 => ("STACK_GLOBAL", CODE),
        b'R' => ("REDUCE", CODE),
        b'i' => ("INST", CODE),
        b'o' => ("OBJ", CODE),
        0x81 => ("NEWOBJ", CODE),
        0x92 => ("NEWOBJ_EX", CODE),
        b'b' => ("BUILD", CODE),
        0x82 => ("EXT1", CODE),
        0x83 => ("EXT2", CODE),
        0x84 => ("EXT4", CODE),
        b'P' => ("PERSID", OBJECT),
        b'Q' => ("BINPERSID", OBJECT),
        0x97 => ("NEXT_BUFFER", OBJECT),
        0x98 => ("READONLY_BUFFER", OBJECT),
        b'2' => ("DUP", "copies a value, which no Python pickler writes"),
        b'I' => ("INT", TEXT),
        b'L' => ("LONG", TEXT),
        b'F' => ("FLOAT", TEXT),
        b'S' => ("STRING", TEXT),
        b'V' => ("UNICODE", TEXT),
        b'p' => ("PUT", TEXT),
        b'g' => ("GET", TEXT),
        b'T' => ("BINSTRING", "a Python 2 str, not plain Python 3 data"),
        b'U' => ("SHORT_BINSTRING", "a Python 2 str, not plain Python 3 data"),
        _ => ("unknown", "not a pickle opcode"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Atom,
    List,
    Tuple,
    Dict,
    Set,
}

/// What the walk knows of one value.
#[derive(Debug, Clone, Copy)]
struct Tree {
    /// Bytes the value costs once built, every memo reference in it copied out.
    cost: u64,
    /// Containers nested in it, itself included (0 for a scalar).
    depth: u32,
    shape: Shape,
}

impl Tree {
    fn atom(payload: u64) -> Self {
        Tree {
            cost: NODE.saturating_add(payload),
            depth: 0,
            shape: Shape::Atom,
        }
    }

    fn empty(shape: Shape) -> Self {
        Tree {
            cost: NODE,
            depth: 1,
            shape,
        }
    }
}

/// A slot of the shadow stack: a value, or a memo reference to one.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Value(Tree),
    Memo(u32),
}

#[derive(Debug)]
struct Entry {
    tree: Tree,
    /// Referenced by a `GET`: the value may no longer change.
    frozen: bool,
}

/// Checks `bytes` as a pickle of plain data within `limits`.
pub(super) fn check(bytes: &[u8], limits: &PickleLimits) -> Result<(), PickleError> {
    Walk {
        bytes,
        pos: 0,
        at: 0,
        limits,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        parsed: 0,
    }
    .run()
}

struct Walk<'a> {
    bytes: &'a [u8],
    /// The next byte to read.
    pos: usize,
    /// Where the current opcode starts (for errors).
    at: usize,
    limits: &'a PickleLimits,
    stack: Vec<Slot>,
    marks: Vec<Vec<Slot>>,
    memo: HashMap<u32, Entry>,
    /// What parsing allocates, summed without ever subtracting (an upper bound).
    parsed: u64,
}

impl<'a> Walk<'a> {
    fn run(mut self) -> Result<(), PickleError> {
        loop {
            self.at = self.pos;
            let opcode = self.byte()?;
            if opcode == op::STOP {
                return self.stop();
            }
            self.step(opcode)?;
        }
    }

    fn stop(&mut self) -> Result<(), PickleError> {
        let root = self.pop()?;
        if self.pos != self.bytes.len() {
            return Err(self.malformed("bytes after STOP"));
        }
        let tree = self.resolve(root);
        self.within(tree.cost)
    }

    fn step(&mut self, opcode: u8) -> Result<(), PickleError> {
        match opcode {
            op::PROTO => {
                if self.byte()? > 5 {
                    return Err(self.malformed("unknown protocol"));
                }
            }
            op::FRAME => {
                self.take(8)?;
            }
            op::MARK => self.mark()?,
            op::POP => {
                if self.stack.is_empty() {
                    self.pop_mark()?;
                } else {
                    self.pop()?;
                }
            }
            op::POP_MARK => {
                self.pop_mark()?;
            }
            op::NONE
            | op::NEWTRUE
            | op::NEWFALSE
            | op::BINFLOAT
            | op::BININT
            | op::BININT1
            | op::BININT2 => self.scalar(opcode)?,
            op::LONG1
            | op::LONG4
            | op::SHORT_BINBYTES
            | op::BINBYTES
            | op::BINBYTES8
            | op::BYTEARRAY8 => {
                let len = self.length(opcode)?;
                self.take(len)?;
                self.push_atom(len)?;
            }
            op::SHORT_BINUNICODE | op::BINUNICODE | op::BINUNICODE8 => {
                let len = self.length(opcode)?;
                let text = self.take(len)?;
                if std::str::from_utf8(text).is_err() {
                    return Err(self.malformed("string is not UTF-8"));
                }
                self.push_atom(len)?;
            }
            op::BINPUT | op::LONG_BINPUT | op::MEMOIZE => self.memoize(opcode)?,
            op::BINGET | op::LONG_BINGET => self.get(opcode)?,
            _ => self.build(opcode)?,
        }
        Ok(())
    }

    /// Opcodes that make or fill containers; anything else is refused.
    fn build(&mut self, opcode: u8) -> Result<(), PickleError> {
        match opcode {
            op::EMPTY_TUPLE => self.push_new(Tree::empty(Shape::Tuple), 0),
            op::EMPTY_LIST => self.push_new(Tree::empty(Shape::List), 0),
            op::EMPTY_DICT => self.push_new(Tree::empty(Shape::Dict), 0),
            op::EMPTY_SET => self.push_new(Tree::empty(Shape::Set), 0),
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                let n = usize::from(opcode - op::TUPLE1) + 1;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.pop()?);
                }
                let tuple = self.collect(Shape::Tuple, &items)?;
                self.push_new(tuple, n as u64 * NODE)
            }
            op::TUPLE | op::LIST | op::DICT | op::FROZENSET => {
                let items = self.pop_mark()?;
                let shape = match opcode {
                    op::TUPLE => Shape::Tuple,
                    op::LIST => Shape::List,
                    op::DICT => Shape::Dict,
                    _ => Shape::Set,
                };
                if shape == Shape::Dict && items.len() % 2 != 0 {
                    return Err(self.malformed("a key without a value"));
                }
                let tree = self.collect(shape, &items)?;
                // The mark's stack becomes the container's storage (a DICT copies it).
                let storage = (items.len() as u64).max(MARK_SLOTS) * NODE;
                self.push_new(tree, storage)
            }
            op::APPEND => {
                let item = self.pop()?;
                self.fill(Shape::List, &[item])
            }
            op::SETITEM => {
                let value = self.pop()?;
                let key = self.pop()?;
                self.fill(Shape::Dict, &[key, value])
            }
            op::APPENDS | op::SETITEMS | op::ADDITEMS => {
                let items = self.pop_mark()?;
                let shape = match opcode {
                    op::APPENDS => Shape::List,
                    op::SETITEMS => Shape::Dict,
                    _ => Shape::Set,
                };
                if shape == Shape::Dict && items.len() % 2 != 0 {
                    return Err(self.malformed("a key without a value"));
                }
                self.fill(shape, &items)
            }
            _ => {
                let (name, why) = refusal(opcode);
                Err(PickleError::Refused {
                    opcode,
                    name,
                    offset: self.at,
                    why,
                })
            }
        }
    }

    fn scalar(&mut self, opcode: u8) -> Result<(), PickleError> {
        let argument = match opcode {
            op::BINFLOAT => 8,
            op::BININT => 4,
            op::BININT2 => 2,
            op::BININT1 => 1,
            _ => 0,
        };
        self.take(argument)?;
        self.push_atom(0)
    }

    /// The length argument of a length-prefixed opcode.
    fn length(&mut self, opcode: u8) -> Result<u64, PickleError> {
        Ok(match opcode {
            op::LONG1 | op::SHORT_BINBYTES | op::SHORT_BINUNICODE => u64::from(self.byte()?),
            op::LONG4 => {
                let declared = i32::from_le_bytes(self.array()?);
                u64::try_from(declared).map_err(|_| self.malformed("negative length"))?
            }
            op::BINBYTES | op::BINUNICODE => u64::from(u32::from_le_bytes(self.array()?)),
            _ => u64::from_le_bytes(self.array()?),
        })
    }

    fn mark(&mut self) -> Result<(), PickleError> {
        if self.marks.len() > self.limits.max_depth as usize {
            return Err(self.too_deep());
        }
        self.spend(MARK_SLOTS * NODE)?;
        let outer = std::mem::take(&mut self.stack);
        self.marks.push(outer);
        Ok(())
    }

    fn memoize(&mut self, opcode: u8) -> Result<(), PickleError> {
        let id = match opcode {
            op::BINPUT => u32::from(self.byte()?),
            op::LONG_BINPUT => u32::from_le_bytes(self.array()?),
            // serde-pickle numbers MEMOIZE entries by the memo's size.
            _ => u32::try_from(self.memo.len()).map_err(|_| self.malformed("memo too large"))?,
        };
        if self.memo.contains_key(&id) {
            return Err(self.malformed("memo entry written twice"));
        }
        let tree = match self.stack.pop() {
            Some(Slot::Value(tree)) => tree,
            Some(Slot::Memo(_)) => return Err(self.malformed("memoizing a memo reference")),
            None => return Err(self.malformed("memoizing on an empty stack")),
        };
        self.spend(2 * NODE)?;
        self.memo.insert(
            id,
            Entry {
                tree,
                frozen: false,
            },
        );
        self.stack.push(Slot::Memo(id));
        Ok(())
    }

    fn get(&mut self, opcode: u8) -> Result<(), PickleError> {
        let id = if opcode == op::BINGET {
            u32::from(self.byte()?)
        } else {
            u32::from_le_bytes(self.array()?)
        };
        let Some(entry) = self.memo.get_mut(&id) else {
            return Err(self.malformed("reference to a memo entry never written"));
        };
        entry.frozen = true;
        self.spend(NODE)?;
        self.stack.push(Slot::Memo(id));
        Ok(())
    }

    /// A container of `shape` holding `items`.
    fn collect(&self, shape: Shape, items: &[Slot]) -> Result<Tree, PickleError> {
        let mut tree = Tree::empty(shape);
        for &item in items {
            self.add(&mut tree, item)?;
        }
        Ok(tree)
    }

    /// Adds `items` to the container on top of the stack, which must be of `shape`.
    fn fill(&mut self, shape: Shape, items: &[Slot]) -> Result<(), PickleError> {
        // A container's storage grows by doubling: twice a slot per item, at most.
        self.spend((items.len() as u64).saturating_mul(2 * NODE))?;
        let mut tree = match self.stack.last() {
            Some(Slot::Value(tree)) => *tree,
            Some(Slot::Memo(id)) => {
                let Some(entry) = self.memo.get(id) else {
                    return Err(self.malformed("reference to a memo entry never written"));
                };
                if entry.frozen {
                    return Err(PickleError::Recursive { offset: self.at });
                }
                entry.tree
            }
            None => return Err(self.malformed("adding items with nothing to add them to")),
        };
        if tree.shape != shape {
            return Err(self.malformed("adding items to the wrong kind of container"));
        }
        for &item in items {
            self.add(&mut tree, item)?;
        }
        match self.stack.last_mut() {
            Some(Slot::Value(top)) => *top = tree,
            Some(Slot::Memo(id)) => {
                let id = *id;
                if let Some(entry) = self.memo.get_mut(&id) {
                    entry.tree = tree;
                }
            }
            None => {}
        }
        Ok(())
    }

    /// Adds one item's cost and depth to `tree`, within the limits.
    fn add(&self, tree: &mut Tree, item: Slot) -> Result<(), PickleError> {
        let item = self.resolve(item);
        tree.cost = tree.cost.saturating_add(item.cost);
        tree.depth = tree.depth.max(item.depth.saturating_add(1));
        if tree.depth > self.limits.max_depth {
            return Err(self.too_deep());
        }
        self.within(tree.cost)
    }

    fn resolve(&self, slot: Slot) -> Tree {
        match slot {
            Slot::Value(tree) => tree,
            // Every `Memo` slot was pushed by `memoize` or `get`, after its entry was written.
            Slot::Memo(id) => self.memo.get(&id).map_or(Tree::atom(0), |e| e.tree),
        }
    }

    fn push_atom(&mut self, payload: u64) -> Result<(), PickleError> {
        // Read buffers grow by doubling: the payload may take twice its length.
        self.push_new(Tree::atom(payload), payload.saturating_mul(2))
    }

    /// Pushes a value that parsing allocates `extra` bytes (beyond one slot) for.
    fn push_new(&mut self, tree: Tree, extra: u64) -> Result<(), PickleError> {
        self.spend(NODE.saturating_add(extra))?;
        self.stack.push(Slot::Value(tree));
        Ok(())
    }

    fn pop(&mut self) -> Result<Slot, PickleError> {
        self.stack
            .pop()
            .ok_or_else(|| self.malformed("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Slot>, PickleError> {
        let outer = self
            .marks
            .pop()
            .ok_or_else(|| self.malformed("no MARK to close"))?;
        Ok(std::mem::replace(&mut self.stack, outer))
    }

    /// Counts `bytes` more of what parsing allocates.
    fn spend(&mut self, bytes: u64) -> Result<(), PickleError> {
        self.parsed = self.parsed.saturating_add(bytes);
        self.within(self.parsed)
    }

    fn within(&self, estimate: u64) -> Result<(), PickleError> {
        if estimate > self.limits.max_decoded {
            return Err(PickleError::TooLarge {
                estimate,
                limit: self.limits.max_decoded,
            });
        }
        Ok(())
    }

    fn byte(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let bytes = self.take(N as u64)?;
        Ok(bytes.try_into().expect("invariant: take returns N bytes"))
    }

    /// The next `len` bytes, if the message has them.
    fn take(&mut self, len: u64) -> Result<&'a [u8], PickleError> {
        let available = self.bytes.len() - self.pos;
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= available)
            .ok_or(PickleError::Truncated { offset: self.at })?;
        let start = self.pos;
        self.pos += len;
        Ok(&self.bytes[start..self.pos])
    }

    fn malformed(&self, reason: &'static str) -> PickleError {
        PickleError::Malformed {
            offset: self.at,
            reason,
        }
    }

    fn too_deep(&self) -> PickleError {
        PickleError::TooDeep {
            offset: self.at,
            limit: self.limits.max_depth,
        }
    }
}
