//! The start methods: how a child comes to exist (`Fork`, `Spawn`, `ForkServer`).

pub(crate) mod fork;
pub(crate) mod forkserver;
pub(crate) mod spawn;
