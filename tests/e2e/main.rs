//! End-to-end tests: real AWS SDK clients (and raw HTTP where the bytes matter) against
//! `MockServer`s over loopback. One test binary, one module per area, because every extra
//! binary relinks the SDKs.

#![expect(
    clippy::unwrap_used,
    reason = "helpers of a test crate panic on what the test did not expect; clippy's allow-unwrap-in-tests reaches only #[test] fns"
)]

mod auth;
mod bad_input;
mod delegates;
mod ec2;
mod faults;
mod iam;
mod identity;
mod irsa;
mod organizations;
mod policies;
mod regions;
mod report;
mod server;
mod sts;
mod support;
mod time;
