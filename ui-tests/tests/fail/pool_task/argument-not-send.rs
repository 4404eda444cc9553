use std::marker::PhantomData;

use mproc::pool_task;
use serde::{Deserialize, Serialize};

/// Serializable, but tied to the thread that made it.
#[derive(Serialize, Deserialize)]
struct ThreadBound {
    id: u32,
    #[serde(skip)]
    _not_send: PhantomData<*const ()>,
}

#[pool_task]
fn run(token: ThreadBound) -> u32 {
    token.id
}

fn main() {}
