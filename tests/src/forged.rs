//! Proxies made by hand, as a hostile or confused peer would send them, for the manager's
//! tests of typed refusals.

use mproc::manager::Kind;
use serde::Serialize;

/// The wire form of a custom (`#[managed]`) proxy: its handle (address, id, kind, call
/// timeout, transit token), then the registered type name.
#[derive(Serialize)]
struct CustomProxy<'a> {
    address: &'a str,
    id: u64,
    kind: Kind,
    timeout_ms: u64,
    token: Option<u64>,
    type_name: &'a str,
}

/// The bytes of a proxy of custom object `id`, of the type registered as `type_name`, on the
/// manager at `address`, carrying no transit token: deserialized, it claims a reference only
/// if the object exists.
///
/// # Panics
/// If postcard refuses the encoding (it does not).
#[must_use]
pub fn custom_proxy(address: &str, id: u64, type_name: &str) -> Vec<u8> {
    let wire = CustomProxy {
        address,
        id,
        kind: Kind::Custom,
        timeout_ms: 30_000,
        token: None,
        type_name,
    };
    postcard::to_stdvec(&wire).expect("a forged proxy encodes")
}
