//! The only place that builds `aws-config` / SDK configuration.
//!
//! Configuration is built programmatically (`SdkConfig::builder`), never from the process
//! environment or `~/.aws`, so runs are reproducible and tests run in parallel. The HTTP
//! client is plain HTTP only: nothing built here can reach real AWS over TLS by accident.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::TimeSource;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::os_shim_internal::{Env, Fs};
use mock_server::{Clock, DefaultIdentity, MockServer};

/// Static long-term credentials (an access key pair).
pub fn access_key(access_key_id: &str, secret_access_key: &str) -> Credentials {
    Credentials::new(access_key_id, secret_access_key, None, None, "trustbench")
}

/// An `SdkConfig` that sends every service to `endpoint`, signing with `credentials` for
/// `region`, on the server's clock.
pub fn sdk_config(
    endpoint: &str,
    credentials: Credentials,
    region: &str,
    clock: &Clock,
) -> SdkConfig {
    sdk_config_at(endpoint, credentials, region, ServerTime::new(clock))
}

/// [`sdk_config`] on a given time source (a clock with a skew, say).
pub fn sdk_config_at(
    endpoint: &str,
    credentials: Credentials,
    region: &str,
    time: ServerTime,
) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .endpoint_url(endpoint)
        .http_client(plain_http())
        .sleep_impl(TokioSleep::new())
        .time_source(time)
        .retry_config(RetryConfig::standard())
        .build()
}

/// The SDK configuration a process on a delegate loads: `aws-config`'s default credentials
/// and region chains over exactly `env` (a delegate's environment, see
/// `MockServer::delegate_env`), never the process environment or `~/.aws`, on `clock`.
/// Files the environment names (web identity and container token files) are read from disk.
pub async fn delegate_config(env: &BTreeMap<String, String>, time: ServerTime) -> SdkConfig {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    aws_config::defaults(BehaviorVersion::latest())
        .env(Env::from_slice(&pairs))
        .fs(Fs::real())
        .http_client(plain_http())
        .sleep_impl(TokioSleep::new())
        .time_source(time)
        .load()
        .await
}

/// The HTTP client of every configuration here: plain HTTP only, so nothing can reach real
/// AWS over TLS by accident.
fn plain_http() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_http()
}

/// An `SdkConfig` for a default identity of `server`'s world in `region`.
pub fn config_for(server: &MockServer, identity: &DefaultIdentity, region: &str) -> SdkConfig {
    sdk_config(
        &server.endpoint(),
        access_key(identity.access_key_id, identity.secret_access_key),
        region,
        server.clock(),
    )
}

/// The SDK's time source bound to the server clock: signing times, credential caching and
/// refresh follow virtual time too. A skew plays a host whose clock is off.
#[derive(Debug, Clone)]
pub struct ServerTime {
    clock: Clock,
    skew_seconds: i64,
}

impl ServerTime {
    /// The server's own time.
    pub fn new(clock: &Clock) -> Self {
        Self::skewed(clock, 0)
    }

    /// The server's time plus `seconds` (negative: behind).
    pub fn skewed(clock: &Clock, seconds: i64) -> Self {
        Self {
            clock: clock.clone(),
            skew_seconds: seconds,
        }
    }
}

impl TimeSource for ServerTime {
    fn now(&self) -> SystemTime {
        let now = self.clock.now();
        let by = std::time::Duration::from_secs(self.skew_seconds.unsigned_abs());
        if self.skew_seconds >= 0 {
            now + by
        } else {
            now - by
        }
    }
}
