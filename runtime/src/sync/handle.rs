//! The impls every shared-memory handle of this module repeats, written once: equality by
//! mapping, the segment as the wire form, and `Debug` from the handle's own accessors.
//!
//! A handle is a struct whose field `shm` is the [`ShmBox`](crate::shm::ShmBox) of its state
//! (plus, for some, fields derived from it or a second handle, which then write their own wire
//! form).
//!
//! ```text
//! shm_handle!(Lock, wire 0, debug { locked: is_locked });
//! shm_handle!(Barrier, debug_non_exhaustive { parties: parties, n_waiting: n_waiting });
//! ```

/// Implements `PartialEq` (two handles are equal when they share one mapping), and on demand
/// `Serialize`/`Deserialize` as the segment (`wire <type tag>`; a handle of only `shm`) and
/// `Debug` from accessor methods (`debug` ends with `finish()`, `debug_non_exhaustive` with
/// `finish_non_exhaustive()`).
macro_rules! shm_handle {
    ($name:ident $(, wire $tag:expr)? $(, debug { $($field:ident: $get:ident),* $(,)? })?
        $(, debug_non_exhaustive { $($nfield:ident: $nget:ident),* $(,)? })?) => {
        impl PartialEq for $name {
            /// Two handles are equal when they share one mapping (clones of each other).
            fn eq(&self, other: &Self) -> bool {
                self.shm.same(&other.shm)
            }
        }

        $(
            impl ::serde::Serialize for $name {
                fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    self.shm.serialize(s)
                }
            }

            impl<'de> ::serde::Deserialize<'de> for $name {
                fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    Ok(Self {
                        shm: $crate::shm::ShmBox::deserialize(d, $tag, stringify!($name))?,
                    })
                }
            }
        )?

        $(
            impl ::std::fmt::Debug for $name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.debug_struct(stringify!($name))
                        $(.field(stringify!($field), &self.$get()))*
                        .finish()
                }
            }
        )?

        $(
            impl ::std::fmt::Debug for $name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.debug_struct(stringify!($name))
                        $(.field(stringify!($nfield), &self.$nget()))*
                        .finish_non_exhaustive()
                }
            }
        )?
    };
}
