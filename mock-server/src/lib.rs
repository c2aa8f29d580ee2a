//! # trustbench mock server
//!
//! A fake of the AWS **STS, IAM and EC2** endpoints that behaves like AWS where it matters
//! for credentials: it verifies SigV4 signatures against the keys of its world, evaluates
//! IAM policies on every call, keeps partitions (`aws`, `aws-us-gov`, `aws-cn`) apart, and
//! answers in each service's exact XML and error shapes, so real AWS SDKs parse it.
//!
//! ```
//! # #[tokio::main] async fn main() {
//! use mock_server::{MockServer, DEFAULT_IDENTITIES};
//!
//! let server = MockServer::start().await;      // random loopback port, default world
//! let endpoint = server.endpoint();             // give this to an SDK as endpoint_url
//! let admin = &DEFAULT_IDENTITIES[0];           // AKIAIOSFODNN7EXAMPLE in 111111111111
//! assert!(endpoint.starts_with("http://127.0.0.1:"));
//! assert_eq!(admin.account, "111111111111");
//! # }
//! ```
//!
//! A world of your own, a virtual clock, and a reset between tests:
//!
//! ```
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::{Duration, UNIX_EPOCH};
//! use mock_server::{Clock, MockServer, World};
//!
//! let world = World::from_yaml(r#"
//! accounts:
//!   - id: "123456789012"
//!     users:
//!       - name: ci
//!         access_keys: [{id: AKIACI00000000000001, secret: ci-secret}]
//! "#)?;
//! let start = UNIX_EPOCH + Duration::from_secs(1_893_456_000); // 2030-01-01
//! let server = MockServer::builder()
//!     .world(world)
//!     .clock(Clock::virtual_at(start))
//!     .start()
//!     .await?;
//! server.clock().advance(Duration::from_secs(300)); // five minutes pass, at once
//! assert_eq!(server.clock().now(), start + Duration::from_secs(300));
//! server.reset()?; // the loaded world, an empty request log, the clock at its start
//! assert_eq!(server.clock().now(), start);
//! # Ok(()) }
//! ```
//!
//! A delegate (here an EC2 instance with a role), whose environment points an SDK's
//! default credential chain at its instance metadata, and an OIDC token for IRSA:
//!
//! ```
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use mock_server::{DelegateSpec, MockServer, OidcToken};
//!
//! let server = MockServer::start().await;
//! let instance: DelegateSpec = serde_json::from_str(r#"{"name": "build-box",
//!     "kind": "ec2", "account": "111111111111", "region": "eu-west-1"}"#)?;
//! server.add_delegate(instance)?;
//! let env = server.delegate_env("build-box").unwrap_or_default();
//! // Instance metadata at the root of a port of its own, as at 169.254.169.254:
//! assert!(env["AWS_EC2_METADATA_SERVICE_ENDPOINT"].starts_with("http://127.0.0.1:"));
//! let token = server.mint_oidc_token(&OidcToken::new(
//!     "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
//!     "system:serviceaccount:ci:deployer",
//!     "sts.amazonaws.com",
//! ))?;
//! assert_eq!(token.split('.').count(), 3);
//! # Ok(()) }
//! ```

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
mod arn;
mod auth;
mod authorization;
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
mod propagation;
mod redact;
mod report;
mod routing;
mod seeded;
mod server;
mod service;
mod state;
mod sts;
mod times;
mod transport;
mod wildcard;
mod wire;
mod world;

pub use clock::Clock;
pub use delegates::Delegate;
pub use faults::{FaultEffect, FaultError, FaultRule};
pub use log::{Authorized, Decision, LoggedRequest};
pub use partition::{OptIn, Partition, Region};
pub use policy::PolicyError;
pub use propagation::{ChangeKind, Propagation, PropagationError};
pub use report::{Denied, PolicyDocument, PrincipalReport, Report, Statement, least_privilege};
pub use routing::supported_actions;
pub use server::{MockServer, MockServerBuilder, StartError};
pub use service::Service;
pub use sts::oidc::{OidcError, OidcToken};
pub use transport::serve_fixed;
pub use wildcard::Pattern as Wildcard;
pub use world::{
    AccessKeySpec, AccountSpec, DEFAULT_IDENTITIES, DefaultIdentity, DelegateKind, DelegateSpec,
    Ec2RegionSpec, Entities, GroupSpec, HttpTokens, ImageSpec, InstanceProfileSpec, InstanceSpec,
    KeyPairSpec, KeyStatus, LaunchTemplateSpec, ManagedPolicySpec, OidcProviderSpec,
    OrgAccountSpec, OrgPolicySpec, OrgUnitSpec, OrganizationSpec, PolicyVersionSpec,
    ReachableService, RoleSpec, SecurityGroupSpec, SubnetSpec, UserSpec, VpcSpec, World,
    WorldError,
};
