//! Guides: pages of prose, no code.
//!
//! - [`python`]: porting a Python `multiprocessing` program, name by name.

pub mod python;
