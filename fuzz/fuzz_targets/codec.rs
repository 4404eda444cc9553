//! Postcard bytes and a side table of descriptors decoded as handles and plain values: see `mproc::__fuzz::codec`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mproc::__fuzz::{CountingAlloc, Known};

// Every allocation is measured: a decoder that reserves a size the input chose fails.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Findings fixed elsewhere, skipped (`MPROC_FUZZ_KNOWN=1,2,3`).
#[allow(dead_code, reason = "not every target has known findings")]
static KNOWN: LazyLock<Known> = LazyLock::new(Known::from_env);

fuzz_target!(|data: &[u8]| mproc::__fuzz::codec(data, *KNOWN));
