//! Examples: see `examples/`.
