//! # trustbench mock server
//!
//! A fake of the AWS **STS, IAM and EC2** endpoints that behaves like AWS where it matters
//! for credentials: it verifies SigV4 signatures against the keys of its world, evaluates
//! IAM policies on every call, keeps partitions (`aws`, `aws-us-gov`, `aws-cn`) apart, and
//! answers in each service's exact XML and error shapes, so real AWS SDKs parse it.
//!
//! ```no_run
//! # async fn example() {
//! use mock_server::{MockServer, DEFAULT_IDENTITIES};
//!
//! let server = MockServer::start().await;      // random loopback port, default world
//! let endpoint = server.endpoint();             // give this to an SDK as endpoint_url
//! let admin = &DEFAULT_IDENTITIES[0];           // AKIAIOSFODNN7EXAMPLE in 111111111111
//! # let _ = (endpoint, admin);
//! # }
//! ```
//!
//! **Isolation**: every server has its own world, clock and port; nothing is global, so
//! tests run in parallel. Dropping the server stops it.
//!
//! **Time**: everything time-dependent reads the server's [`Clock`]: real time by default,
//! or virtual ([`Clock::virtual_at`]), moved only by [`Clock::advance`] / [`Clock::set`].
//!
//! **Pipeline**: each request goes parse → authenticate → authorize → handle → encode
//! (`pipeline.rs`); the service comes from the SigV4 credential scope, never the Host header.

#![warn(missing_docs)]

mod api;
mod auth;
mod clock;
#[cfg(feature = "testcontainers")]
pub mod container;
mod control;
mod delegates;
mod ec2;
mod error;
mod faults;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod iam;
mod log;
mod partition;
mod pipeline;
mod policy;
mod redact;
mod report;
mod seeded;
mod server;
mod service;
mod sts;
mod wildcard;
mod wire;
mod world;

pub use api::supported_actions;
pub use clock::Clock;
pub use delegates::Delegate;
pub use error::{AwsError, Denial, Fault};
pub use faults::{FaultEffect, FaultError, FaultRule};
pub use iam::propagation::{ChangeKind, Propagation, PropagationError};
pub use log::{Authorized, LoggedRequest};
pub use partition::{OptIn, Partition, Region};
pub use policy::PolicyError;
pub use report::{Denied, PolicyDocument, PrincipalReport, Report, Statement, least_privilege};
pub use server::{MockServer, MockServerBuilder, StartError};
pub use service::Service;
pub use sts::oidc::{OidcError, OidcToken};
pub use world::{
    AccessKeySpec, AccountSpec, DEFAULT_IDENTITIES, DefaultIdentity, DelegateKind, DelegateSpec,
    GroupSpec, HttpTokens, InstanceProfileSpec, KeyStatus, ManagedPolicySpec, OidcProviderSpec,
    PolicyVersionSpec, RoleSpec, UserSpec, World, WorldError,
};
