//! End-to-end tests: real AWS SDK clients (and raw HTTP where the bytes matter) against
//! `MockServer`s over loopback. One test binary, one module per area, because every extra
//! binary relinks the SDKs.

#![allow(
    clippy::unwrap_used,
    reason = "a test crate: clippy's allow-unwrap-in-tests covers only #[test] fns, not the helpers here, and a panic is how a test says what it did not expect"
)]

mod auth;
mod bad_input;
mod delegates;
mod ec2;
mod faults;
mod iam;
mod identity;
mod irsa;
mod policies;
mod regions;
mod report;
mod server;
mod sts;
mod support;
mod time;
