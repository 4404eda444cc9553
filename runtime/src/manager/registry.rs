//! The server's side of custom objects: the types registered by name (Python's
//! `BaseManager.register`), their instances, and the dispatch of a decoded call; and
//! [`Builder`], which starts a manager process that knows a given list of types.

use std::any::TypeId;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use super::error::{ManagerError, RemoteError};
use super::object::{ManagedObject, MethodId, ObjectError, ObjectRequest};
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

/// One object: its type's name, and the value, one call at a time.
struct Instance {
    type_name: &'static str,
    value: Mutex<Box<dyn Dispatch>>,
}

/// The registered types and the custom objects of one server. (Public only to appear in
/// [`TypeList`]'s hidden method; not reachable from outside the crate.)
#[derive(Default)]
pub struct Objects {
    types: HashMap<&'static str, Entry>,
    instances: Mutex<Instances>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objects")
            .field("types", &self.types.keys())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Instances {
    next_id: u64,
    by_id: HashMap<u64, Arc<Instance>>,
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

    /// Serves one request; never panics (a panicking method becomes
    /// [`ObjectError::Panicked`]).
    pub(crate) fn serve(&self, request: ObjectRequest) -> Response {
        let answer = match request {
            ObjectRequest::Create { type_name, init } => self.create(&type_name, &init),
            ObjectRequest::Call {
                id,
                type_name,
                method,
                args,
            } => self.call(id, &type_name, method, &args),
        };
        answer.unwrap_or_else(|e| Response::Failed(RemoteError::Object(e)))
    }

    fn create(&self, type_name: &str, init: &[u8]) -> Result<Response, ObjectError> {
        let Some((&name, entry)) = self.types.get_key_value(type_name) else {
            return Err(ObjectError::UnknownType {
                name: type_name.to_owned(),
            });
        };
        // A constructor may panic too (`fn new` is the user's code).
        let value = crate::process::panic::catch(|| (entry.create)(init))
            .map_err(|report| panicked(name, report))??;
        let mut instances = self.instances();
        instances.next_id += 1;
        let id = instances.next_id;
        let instance = Instance {
            type_name: name,
            value: Mutex::new(value),
        };
        instances.by_id.insert(id, Arc::new(instance));
        Ok(Response::Created(id))
    }

    fn call(
        &self,
        id: u64,
        type_name: &str,
        method: MethodId,
        args: &[u8],
    ) -> Result<Response, ObjectError> {
        let instance = self
            .instances()
            .by_id
            .get(&id)
            .cloned()
            .ok_or(ObjectError::UnknownObject { id })?;
        if instance.type_name != type_name {
            return Err(ObjectError::WrongType {
                id,
                expected: type_name.to_owned(),
                found: instance.type_name.to_owned(),
            });
        }
        // A method that panicked left the value as it was at the panic (Python's object after
        // an exception): later calls still reach it, so the poison is ignored.
        let mut value = instance
            .value
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let result = crate::process::panic::catch(|| value.dispatch(method, args))
            .map_err(|report| panicked(instance.type_name, report))??;
        Ok(Response::Bytes(Some(result)))
    }

    fn instances(&self) -> std::sync::MutexGuard<'_, Instances> {
        // Only map operations run under this lock; none panics midway.
        self.instances
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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
