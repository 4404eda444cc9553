//! The child's side: the function it runs (its entry point and trampoline), what it does
//! once started whatever started it, and how it reports its outcome.

pub(crate) mod entry;
pub(crate) mod main;
pub(crate) mod outcome;
