use std::marker::PhantomData;

use mproc::process;
use serde::{Deserialize, Serialize};

/// Serializable, but tied to the thread that made it.
#[derive(Serialize, Deserialize)]
struct ThreadBound {
    id: u32,
    #[serde(skip)]
    _not_send: PhantomData<*const ()>,
}

#[process]
fn run(token: ThreadBound) -> u32 {
    token.id
}

fn main() {}
