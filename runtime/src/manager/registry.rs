//! The server's side of custom objects: the types registered by name (Python's
//! `BaseManager.register`), their [`Instance`]s, and the dispatch of a decoded call; and
//! [`Builder`], which starts a manager process that knows a given list of types.

use std::any::TypeId;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

use super::error::ManagerError;
use super::object::{ManagedObject, MethodId, ObjectError};
use super::protocol::Response;
use crate::StartMethod;

/// Makes an object of one registered type from its encoded `Init`.
type Create = fn(&[u8]) -> Result<Box<dyn Dispatch>, ObjectError>;

/// A registered type, with its concrete type erased.
#[derive(Clone, Copy)]
struct Entry {
    type_id: TypeId,
    create: Create,
}

/// [`ManagedObject::dispatch`] behind a pointer.
trait Dispatch: Send {
    fn dispatch(&mut self, method: MethodId, args: &[u8]) -> Result<Vec<u8>, ObjectError>;
}

impl<T: ManagedObject> Dispatch for T {
    fn dispatch(&mut self, method: MethodId, args: &[u8]) -> Result<Vec<u8>, ObjectError> {
        ManagedObject::dispatch(self, method, args)
    }
}

fn create<T: ManagedObject>(init: &[u8]) -> Result<Box<dyn Dispatch>, ObjectError> {
    Ok(Box::new(T::init(T::decode_init(init)?)))
}

/// One custom object: its type's name, and the value, one call at a time. Held by the store
/// (which counts its references, as for the built-in objects) and by the calls in progress;
/// the last of them drops the value.
pub(crate) struct Instance {
    type_name: &'static str,
    /// `None` only while [`Drop`] runs.
    value: Mutex<Option<Box<dyn Dispatch>>>,
}

impl Drop for Instance {
    /// Drops the value: the user's `Drop`, which may panic; the server thread that frees the
    /// object must survive it, as it survives a panicking method.
    fn drop(&mut self) {
        let value = self
            .value
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let _ = crate::process::panic::catch(move || drop(value));
    }
}

impl Instance {
    /// Runs `method` on the object, which must be a `type_name` (its id is `id`).
    pub(crate) fn call(
        &self,
        id: u64,
        type_name: &str,
        method: MethodId,
        args: &[u8],
    ) -> Result<Response, ObjectError> {
        if self.type_name != type_name {
            return Err(ObjectError::WrongType {
                id,
                expected: type_name.to_owned(),
                found: self.type_name.to_owned(),
            });
        }
        // A method that panicked left the value as it was at the panic (Python's object after
        // an exception): later calls still reach it, so the poison is ignored.
        let mut value = self.value.lock().unwrap_or_else(PoisonError::into_inner);
        let value = value
            .as_mut()
            .expect("invariant: the value is taken only by `Drop`");
        let result = crate::process::panic::catch(|| value.dispatch(method, args))
            .map_err(|report| panicked(self.type_name, report))??;
        Ok(Response::Bytes(Some(result)))
    }
}

/// The registered types of one server. (Public only to appear in [`TypeList`]'s hidden
/// method; not reachable from outside the crate.) Their objects live in the server's store,
/// with the built-in ones.
#[derive(Default)]
pub struct Objects {
    types: HashMap<&'static str, Entry>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objects")
            .field("types", &self.types.keys())
            .finish_non_exhaustive()
    }
}

impl Objects {
    /// Registers `T` under [`ManagedObject::NAME`]; registering the same type again does
    /// nothing.
    ///
    /// # Errors
    /// [`ManagerError::DuplicateName`] if another type has that name.
    pub(crate) fn register<T: ManagedObject>(&mut self) -> Result<(), ManagerError> {
        let entry = Entry {
            type_id: TypeId::of::<T>(),
            create: create::<T>,
        };
        match self.types.get(T::NAME) {
            Some(existing) if existing.type_id != entry.type_id => {
                Err(ManagerError::DuplicateName(T::NAME.to_owned()))
            }
            _ => {
                self.types.insert(T::NAME, entry);
                Ok(())
            }
        }
    }

    /// Makes an object of the type registered as `type_name` from its encoded `Init`; never
    /// panics (a panicking `new` becomes [`ObjectError::Panicked`]).
    pub(crate) fn create(&self, type_name: &str, init: &[u8]) -> Result<Instance, ObjectError> {
        let Some((&name, entry)) = self.types.get_key_value(type_name) else {
            return Err(ObjectError::UnknownType {
                name: type_name.to_owned(),
            });
        };
        // A constructor may panic too (`fn new` is the user's code).
        let value = crate::process::panic::catch(|| (entry.create)(init))
            .map_err(|report| panicked(name, report))??;
        Ok(Instance {
            type_name: name,
            value: Mutex::new(Some(value)),
        })
    }
}

fn panicked(type_name: &str, report: crate::process::panic::PanicReport) -> ObjectError {
    ObjectError::Panicked {
        type_name: type_name.to_owned(),
        message: report.message,
        location: report.location,
    }
}

/// A list of managed types, built by [`Builder::register`]: `()`, then `((), A)`,
/// `(((), A), B)`, …
pub trait TypeList: 'static {
    /// Registers every type of the list.
    ///
    /// # Errors
    /// [`ManagerError::DuplicateName`] if two types have the same name.
    #[doc(hidden)]
    fn register_all(objects: &mut Objects) -> Result<(), ManagerError>;
}

impl TypeList for () {
    fn register_all(_: &mut Objects) -> Result<(), ManagerError> {
        Ok(())
    }
}

impl<L: TypeList, T: ManagedObject> TypeList for (L, T) {
    fn register_all(objects: &mut Objects) -> Result<(), ManagerError> {
        L::register_all(objects)?;
        objects.register::<T>()
    }
}

/// Starts a manager whose server knows custom types (Python's `BaseManager` subclass with
/// `register` calls), from [`Manager::builder`](super::Manager::builder):
///
/// ```
/// # use mproc::manager::Manager;
/// #[derive(Default)]
/// struct Tally(u64);
///
/// #[mproc::managed]
/// impl Tally {
///     pub fn new() -> Self {
///         Self(0)
///     }
///     pub fn bump(&mut self) -> u64 {
///         self.0 += 1;
///         self.0
///     }
/// }
///
/// # fn main() -> Result<(), mproc::manager::ManagerError> {
/// let manager = Manager::builder().register::<Tally>().start()?;
/// let tally: TallyProxy = manager.create::<Tally>(())?;
/// assert_eq!(tally.bump()?, 1);
/// manager.shutdown()
/// # }
/// ```
///
/// The types are part of the builder's type, not a value: the server process finds them again
/// under every start method, as a process target is found.
pub struct Builder<L> {
    method: Option<StartMethod>,
    types: PhantomData<fn() -> L>,
}

impl<L> std::fmt::Debug for Builder<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl Builder<()> {
    pub(crate) fn new() -> Self {
        Self {
            method: None,
            types: PhantomData,
        }
    }
}

impl<L: TypeList> Builder<L> {
    /// Adds `T` to the types the server can create (Python's
    /// `MyManager.register('T', T)`), under its [`ManagedObject::NAME`].
    #[must_use]
    pub fn register<T: ManagedObject>(self) -> Builder<(L, T)> {
        Builder {
            method: self.method,
            types: PhantomData,
        }
    }

    /// Chooses how the server process starts (default: the program's start method).
    #[must_use]
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// Starts the server in a daemon child process and connects to it, as
    /// [`Manager::start`](super::Manager::start).
    ///
    /// # Errors
    /// As [`Manager::start`](super::Manager::start); [`ManagerError::DuplicateName`] if two
    /// registered types have the same name (nothing is started).
    pub fn start(self) -> Result<super::Manager, ManagerError> {
        // Check the list here, where the error is cheap to report.
        L::register_all(&mut Objects::default())?;
        super::Manager::start_listing::<L>(self.method)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::super::error::RemoteError;
    use super::super::object::ObjectHandle;
    use super::super::protocol::{Kind, Op, RefOp};
    use super::super::store::Store;
    use super::*;

    /// A custom type written by hand (what `#[managed]` generates, reduced to nothing to call):
    /// counts its drops, and panics in `Drop` when made with `true`.
    struct Probe(bool);

    static PROBES_DROPPED: AtomicU32 = AtomicU32::new(0);

    impl Drop for Probe {
        fn drop(&mut self) {
            PROBES_DROPPED.fetch_add(1, Ordering::SeqCst);
            assert!(!self.0, "a panicking Drop");
        }
    }

    impl ManagedObject for Probe {
        const NAME: &'static str = "Probe";
        type Init = bool;
        type Proxy = ObjectHandle;

        fn init(panics: bool) -> Self {
            Self(panics)
        }

        fn encode_init(init: &bool) -> Result<Vec<u8>, ManagerError> {
            postcard::to_stdvec(init).map_err(ManagerError::Encode)
        }

        fn decode_init(bytes: &[u8]) -> Result<bool, ObjectError> {
            postcard::from_bytes(bytes).map_err(|_| ObjectError::BadArguments {
                type_name: Self::NAME.to_owned(),
            })
        }

        fn dispatch(&mut self, method: MethodId, _: &[u8]) -> Result<Vec<u8>, ObjectError> {
            Err(ObjectError::UnknownMethod {
                type_name: Self::NAME.to_owned(),
                method,
            })
        }

        fn proxy(handle: ObjectHandle) -> ObjectHandle {
            handle
        }
    }

    #[test]
    fn custom_objects_share_the_ids_and_references_and_are_dropped_outside_the_store() {
        let mut objects = Objects::default();
        objects.register::<Probe>().unwrap();
        let probe = |panics: bool| {
            let init = Probe::encode_init(&panics).unwrap();
            objects.create(Probe::NAME, &init).unwrap()
        };
        let mut store = Store::default();
        store.hello(1);
        store.hello(2);
        let Response::Created(dict) = store.create(1, Kind::Dict, Vec::new(), Vec::new()) else {
            panic!("a dict is created")
        };
        let quiet = store.insert_custom(1, probe(false));
        let loud = store.insert_custom(2, probe(true));
        assert!(
            dict != quiet && quiet != loud && loud != dict,
            "one id space"
        );
        assert_eq!(store.count(), 3);
        assert!(matches!(
            store.custom(dict),
            Err(ObjectError::UnknownObject { .. })
        ));
        assert!(matches!(
            store.call(quiet, Kind::Custom, Op::Len),
            Response::Failed(RemoteError::Malformed)
        ));
        // Client 1 sends its proxy to client 2 and drops its own: the object stays.
        for (client, op) in [
            (
                1,
                RefOp::Mint {
                    id: quiet,
                    token: 7,
                },
            ),
            (
                2,
                RefOp::Claim {
                    id: quiet,
                    token: Some(7),
                },
            ),
            (1, RefOp::Drop { id: quiet }),
        ] {
            let (answer, freed) = store.reference(client, op);
            assert!(matches!(answer, Response::Done));
            drop(freed);
        }
        assert_eq!(store.count(), 3);
        assert!(store.custom(quiet).is_ok());
        // Client 2 leaves: both objects it referred to are freed, and their values are
        // dropped only with what `left` returned (one of them panics there, caught).
        let before = PROBES_DROPPED.load(Ordering::SeqCst);
        let freed = store.left(2);
        assert_eq!(store.count(), 1);
        assert!(matches!(
            store.custom(quiet),
            Err(ObjectError::UnknownObject { .. })
        ));
        assert_eq!(PROBES_DROPPED.load(Ordering::SeqCst), before);
        drop(freed);
        assert_eq!(PROBES_DROPPED.load(Ordering::SeqCst), before + 2);
    }
}
