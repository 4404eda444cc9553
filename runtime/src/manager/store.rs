//! The server's objects, built-in and custom, keyed by object id in one id space and
//! reference-counted alike; the operations on the built-in ones. Pure data structures, no I/O,
//! so every operation is unit-tested on the heap.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::error::RemoteError;
use super::object::ObjectError;
use super::protocol::RefOp;
use super::protocol::{IntKind, Kind, Op, Response};
use super::refs::Refs;
use super::registry::Instance;
use super::sync::{SyncObject, SyncSpec};

/// What an object holds.
enum Data {
    Map(BTreeMap<Vec<u8>, Vec<u8>>),
    Seq(Vec<Vec<u8>>),
    Sync(SyncObject),
    /// A custom (`#[managed]`) object, shared with the calls in progress on it.
    Custom(Arc<Instance>),
}

struct Object {
    kind: Kind,
    data: Data,
    refs: Refs,
}

/// Objects taken out of the store, to drop once its lock is released: dropping a custom object
/// runs the user's `Drop`, which may take long or call this very manager (a proxy inside the
/// object gives its reference back).
#[must_use = "drop it after releasing the store's lock"]
pub(crate) struct Freed {
    /// Kept for its `Drop`.
    _objects: Vec<Object>,
}

impl Freed {
    fn of(objects: Vec<Object>) -> Self {
        Self { _objects: objects }
    }
}

/// Every object of one manager, and the clients connected to it.
#[derive(Default)]
pub(crate) struct Store {
    next_id: u64,
    objects: HashMap<u64, Object>,
    /// Open connections per client id.
    clients: HashMap<u64, u32>,
    /// Named shared-memory blocks to unlink when the server stops.
    tracked: BTreeSet<String>,
}

impl Store {
    /// Creates an object, referenced once by `client`, and returns its id.
    pub(crate) fn create(
        &mut self,
        client: u64,
        kind: Kind,
        entries: Vec<(Vec<u8>, Vec<u8>)>,
        items: Vec<Vec<u8>>,
    ) -> Response {
        let data = match kind {
            Kind::List => Data::Seq(items),
            Kind::Dict | Kind::Single | Kind::Namespace => Data::Map(entries.into_iter().collect()),
            _ => return Response::Failed(RemoteError::Malformed),
        };
        Response::Created(self.insert(client, kind, data))
    }

    /// Creates a synchronization object, referenced once by `client`.
    pub(crate) fn create_sync(&mut self, client: u64, spec: SyncSpec) -> Response {
        match SyncObject::new(spec) {
            Ok(object) => Response::Created(self.insert(client, spec.kind(), Data::Sync(object))),
            Err(refusal) => Response::Failed(refusal),
        }
    }

    /// Adds a custom object, referenced once by `client`, and returns its id.
    pub(crate) fn insert_custom(&mut self, client: u64, instance: Instance) -> u64 {
        self.insert(client, Kind::Custom, Data::Custom(Arc::new(instance)))
    }

    /// The custom object `id` (shared: the caller runs its method without the store).
    pub(crate) fn custom(&self, id: u64) -> Result<Arc<Instance>, ObjectError> {
        match self.objects.get(&id) {
            Some(Object {
                data: Data::Custom(instance),
                ..
            }) => Ok(Arc::clone(instance)),
            _ => Err(ObjectError::UnknownObject { id }),
        }
    }

    fn insert(&mut self, client: u64, kind: Kind, data: Data) -> u64 {
        self.next_id += 1;
        let object = Object {
            kind,
            data,
            refs: Refs::created_by(client),
        };
        self.objects.insert(self.next_id, object);
        self.next_id
    }

    /// The synchronization object `id` (shared: the caller waits on it without the store).
    pub(crate) fn sync(&self, id: u64, kind: Kind) -> Result<SyncObject, RemoteError> {
        match self.objects.get(&id) {
            Some(Object {
                data: Data::Sync(object),
                kind: found,
                ..
            }) if *found == kind => Ok(object.clone()),
            Some(object) => Err(RemoteError::WrongKind {
                id,
                expected: kind,
                found: object.kind,
            }),
            None => Err(RemoteError::UnknownObject { id }),
        }
    }

    /// How many objects are alive.
    pub(crate) fn count(&self) -> u64 {
        self.objects.len() as u64
    }

    /// Changes the references of object `id` from `client`; frees it when none is left.
    pub(crate) fn reference(&mut self, client: u64, op: RefOp) -> (Response, Freed) {
        let id = op.id();
        let Some(object) = self.objects.get_mut(&id) else {
            let unknown = Response::Failed(RemoteError::UnknownObject { id });
            return (unknown, Freed::of(Vec::new()));
        };
        object.refs.apply(client, op);
        let freed = if object.refs.is_empty() {
            self.objects.remove(&id).into_iter().collect()
        } else {
            Vec::new()
        };
        (Response::Done, Freed::of(freed))
    }

    /// Records a shared-memory block's name to unlink when the server stops.
    pub(crate) fn track(&mut self, name: String) {
        self.tracked.insert(name);
    }

    /// Forgets a tracked name.
    pub(crate) fn untrack(&mut self, name: &str) {
        self.tracked.remove(name);
    }

    /// Every tracked name, forgotten.
    pub(crate) fn take_tracked(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.tracked)
    }

    /// A connection of `client` opened.
    pub(crate) fn hello(&mut self, client: u64) {
        *self.clients.entry(client).or_default() += 1;
    }

    /// A connection of `client` closed. After its last one, the client is gone: its
    /// references are dropped (objects nobody else refers to are freed) and the locks its
    /// threads held are released.
    pub(crate) fn left(&mut self, client: u64) -> Freed {
        let Some(open) = self.clients.get_mut(&client) else {
            return Freed::of(Vec::new());
        };
        *open -= 1;
        if *open > 0 {
            return Freed::of(Vec::new());
        }
        self.clients.remove(&client);
        let freed = self
            .objects
            .extract_if(|_, object| {
                if let Data::Sync(sync) = &object.data {
                    sync.forget(client);
                }
                object.refs.forget(client);
                object.refs.is_empty()
            })
            .map(|(_, object)| object)
            .collect();
        Freed::of(freed)
    }

    /// Runs `op` on object `id` of kind `kind`.
    pub(crate) fn call(&mut self, id: u64, kind: Kind, op: Op) -> Response {
        let Some(object) = self.objects.get_mut(&id) else {
            return Response::Failed(RemoteError::UnknownObject { id });
        };
        if object.kind != kind {
            return Response::Failed(RemoteError::WrongKind {
                id,
                expected: kind,
                found: object.kind,
            });
        }
        let answer = match &mut object.data {
            Data::Map(map) => map_op(map, op),
            Data::Seq(seq) => seq_op(seq, op),
            Data::Sync(_) | Data::Custom(_) => Err(RemoteError::Malformed),
        };
        answer.unwrap_or_else(Response::Failed)
    }
}

fn map_op(map: &mut BTreeMap<Vec<u8>, Vec<u8>>, op: Op) -> Result<Response, RemoteError> {
    Ok(match op {
        Op::Get(key) => Response::Bytes(map.get(&key).cloned()),
        Op::Insert(key, value) => Response::Bytes(map.insert(key, value)),
        Op::Remove(key) => Response::Bytes(map.remove(&key)),
        Op::Contains(key) => Response::Flag(map.contains_key(&key)),
        Op::Keys => Response::Items(map.keys().cloned().collect()),
        Op::Values => Response::Items(map.values().cloned().collect()),
        Op::Items => Response::Pairs(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Op::Update(pairs) => {
            map.extend(pairs);
            Response::Done
        }
        Op::CompareAndSwap { key, expected, new } => {
            let current = map.get(&key);
            if current == expected.as_ref() {
                match new {
                    Some(new) => map.insert(key, new),
                    None => map.remove(&key),
                };
                Response::Swapped {
                    swapped: true,
                    current: None,
                }
            } else {
                Response::Swapped {
                    swapped: false,
                    current: current.cloned(),
                }
            }
        }
        Op::Add { key, int, delta } => {
            let sum = add(map.get(&key).map(Vec::as_slice), int, &delta)?;
            map.insert(key, sum.clone());
            Response::Bytes(Some(sum))
        }
        Op::Append { key, item } => {
            let seq = append(map.get(&key).map(Vec::as_slice), &item)?;
            map.insert(key, seq);
            Response::Done
        }
        Op::Len => Response::Len(map.len() as u64),
        Op::Clear => {
            map.clear();
            Response::Done
        }
        _ => return Err(RemoteError::Malformed),
    })
}

fn seq_op(seq: &mut Vec<Vec<u8>>, op: Op) -> Result<Response, RemoteError> {
    let len = seq.len() as u64;
    let index = |i: u64| -> Result<usize, RemoteError> {
        usize::try_from(i)
            .ok()
            .filter(|&i| i < seq.len())
            .ok_or(RemoteError::IndexOutOfRange { index: i, len })
    };
    Ok(match op {
        Op::Push(item) => {
            seq.push(item);
            Response::Done
        }
        Op::Pop(None) => Response::Bytes(Some(seq.pop().ok_or(RemoteError::NotFound)?)),
        Op::Pop(Some(i)) => {
            let i = index(i)?;
            Response::Bytes(Some(seq.remove(i)))
        }
        Op::Index(i) => Response::Bytes(Some(seq[index(i)?].clone())),
        Op::Set(i, item) => {
            let i = index(i)?;
            seq[i] = item;
            Response::Done
        }
        Op::InsertAt(i, item) => {
            // Python's `insert` clamps an index past the end.
            let i = usize::try_from(i).map_or(seq.len(), |i| i.min(seq.len()));
            seq.insert(i, item);
            Response::Done
        }
        Op::RemoveValue(item) => {
            let i = seq
                .iter()
                .position(|x| *x == item)
                .ok_or(RemoteError::NotFound)?;
            seq.remove(i);
            Response::Done
        }
        Op::Extend(items) => {
            seq.extend(items);
            Response::Done
        }
        Op::Snapshot => Response::Items(seq.clone()),
        Op::Len => Response::Len(len),
        Op::Clear => {
            seq.clear();
            Response::Done
        }
        _ => return Err(RemoteError::Malformed),
    })
}

/// Decodes exactly one `T` from `bytes` (trailing bytes refused).
fn exact<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Some(value),
        _ => None,
    }
}

/// `current + delta` for the integer type `int`, both postcard-encoded; absent is zero.
fn add(current: Option<&[u8]>, int: IntKind, delta: &[u8]) -> Result<Vec<u8>, RemoteError> {
    macro_rules! sum {
        ($t:ty) => {{
            let current: $t = match current {
                Some(bytes) => exact(bytes).ok_or(RemoteError::NotAnInteger)?,
                None => 0,
            };
            let delta: $t = exact(delta).ok_or(RemoteError::Malformed)?;
            let sum = current.checked_add(delta).ok_or(RemoteError::Overflow)?;
            postcard::to_stdvec(&sum).map_err(|_| RemoteError::Malformed)
        }};
    }
    match int {
        IntKind::I8 => sum!(i8),
        IntKind::I16 => sum!(i16),
        IntKind::I32 => sum!(i32),
        IntKind::I64 => sum!(i64),
        IntKind::I128 => sum!(i128),
        IntKind::U8 => sum!(u8),
        IntKind::U16 => sum!(u16),
        IntKind::U32 => sum!(u32),
        IntKind::U64 => sum!(u64),
        IntKind::U128 => sum!(u128),
    }
}

/// Appends one encoded element to a postcard sequence (a varint length, then the elements),
/// without knowing the element type; absent is the empty sequence.
fn append(current: Option<&[u8]>, item: &[u8]) -> Result<Vec<u8>, RemoteError> {
    let (len, elements) = match current {
        Some(bytes) => {
            postcard::take_from_bytes::<u64>(bytes).map_err(|_| RemoteError::NotASequence)?
        }
        None => (0, &[][..]),
    };
    let len = len.checked_add(1).ok_or(RemoteError::Overflow)?;
    let mut out = postcard::to_stdvec(&len).map_err(|_| RemoteError::Malformed)?;
    out.extend_from_slice(elements);
    out.extend_from_slice(item);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_builds_the_postcard_encoding_of_a_vec() {
        let mut bytes = None;
        for word in ["a", "bc", "def"] {
            let item = postcard::to_stdvec(word).unwrap();
            bytes = Some(append(bytes.as_deref(), &item).unwrap());
        }
        let back: Vec<String> = postcard::from_bytes(&bytes.unwrap()).unwrap();
        assert_eq!(back, ["a", "bc", "def"]);
    }

    #[test]
    fn add_checks_the_type_and_overflow() {
        let one = postcard::to_stdvec(&1i64).unwrap();
        let two = add(Some(&one), IntKind::I64, &one).unwrap();
        assert_eq!(postcard::from_bytes::<i64>(&two).unwrap(), 2);
        let max = postcard::to_stdvec(&u8::MAX).unwrap();
        let one_u8 = postcard::to_stdvec(&1u8).unwrap();
        assert_eq!(
            add(Some(&max), IntKind::U8, &one_u8),
            Err(RemoteError::Overflow)
        );
        assert_eq!(
            add(Some(b"\xff\xff"), IntKind::U8, &one_u8),
            Err(RemoteError::NotAnInteger)
        );
    }

    #[test]
    fn kinds_and_ids_are_checked() {
        let mut store = Store::default();
        let Response::Created(list) = store.create(1, Kind::List, Vec::new(), Vec::new()) else {
            panic!("a list is created")
        };
        assert!(matches!(
            store.call(list, Kind::Dict, Op::Len),
            Response::Failed(RemoteError::WrongKind { .. })
        ));
        assert!(matches!(
            store.call(99, Kind::List, Op::Len),
            Response::Failed(RemoteError::UnknownObject { id: 99 })
        ));
        assert!(matches!(
            store.call(list, Kind::List, Op::Keys),
            Response::Failed(RemoteError::Malformed)
        ));
        assert!(matches!(
            store.call(list, Kind::List, Op::Index(u64::MAX)),
            Response::Failed(RemoteError::IndexOutOfRange { .. })
        ));
    }
}

#[cfg(all(test, not(loom)))]
mod proptests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::super::protocol::Request;
    use super::*;

    proptest! {
        /// Whatever bytes arrive, a request decodes or is a typed error; and whatever request
        /// decodes, the store answers it without panicking, on objects of every kind.
        #[test]
        fn arbitrary_requests_never_panic_the_store(
            requests in vec(vec(any::<u8>(), 0..64), 1..32),
        ) {
            let mut store = Store::default();
            for kind in [Kind::Dict, Kind::List, Kind::Single, Kind::Namespace] {
                store.create(1, kind, Vec::new(), Vec::new());
            }
            for bytes in requests {
                match postcard::from_bytes::<Request>(&bytes) {
                    Ok(Request::Call { id, kind, op }) => {
                        let _ = store.call(id % 5, kind, op);
                    }
                    Ok(Request::Create { kind, entries, items }) => {
                        store.create(1, kind, entries, items);
                    }
                    Ok(Request::Ref(op)) => {
                        let _ = store.reference(1, op);
                    }
                    Ok(_) | Err(_) => {}
                }
            }
        }

        /// Whatever operation arrives for a synchronization object, of whatever kind, from
        /// whichever thread, the server answers it without panicking (waits made zero, so
        /// that the run is single-threaded and never blocks).
        #[test]
        fn arbitrary_sync_operations_never_panic(
            calls in vec((0u8..12, 0u8..13, 0u8..3, vec(any::<u8>(), 0..16)), 1..64),
        ) {
            use super::super::sync::wire::{SyncOp, SyncSpec};
            use super::super::sync::Owner;
            let mut store = Store::default();
            let specs = [
                SyncSpec::Lock,
                SyncSpec::RLock,
                SyncSpec::Semaphore { value: 1, bounded: true },
                SyncSpec::Semaphore { value: 0, bounded: false },
                SyncSpec::Event,
                SyncSpec::Condition,
                SyncSpec::Barrier { parties: 2 },
                SyncSpec::Queue { maxsize: Some(2), joinable: true },
                SyncSpec::Queue { maxsize: None, joinable: false },
            ];
            for spec in specs {
                store.create_sync(1, spec);
            }
            let no_wait = |op: SyncOp| match op {
                SyncOp::Acquire(_) => SyncOp::Acquire(Some(std::time::Duration::ZERO)),
                SyncOp::Wait(_) => SyncOp::Wait(Some(std::time::Duration::ZERO)),
                SyncOp::Get(_) => SyncOp::Get(Some(std::time::Duration::ZERO)),
                SyncOp::Put { item, .. } => SyncOp::Put { item, wait: Some(std::time::Duration::ZERO) },
                op => op,
            };
            for (id, kind, thread, op) in calls {
                let mut bytes = vec![5, id, kind, thread];
                bytes.extend(op);
                if let Ok(Request::Sync { id, kind, thread, op }) = postcard::from_bytes(&bytes)
                    && let Ok(object) = store.sync(id, kind)
                {
                    let owner = Owner { client: 1, thread };
                    let _ = object.run(owner, no_wait(op), &|| true);
                }
            }
            let _ = store.left(1);
        }
    }
}
