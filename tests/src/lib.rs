//! End-to-end test crate: all tests live in the single `e2e` target.
