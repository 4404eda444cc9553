//! UI tests of the macros live in `tests/`.
