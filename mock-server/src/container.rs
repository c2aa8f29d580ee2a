//! trustbench's server image (the repository's `Dockerfile`) as a
//! [`testcontainers`](https://docs.rs/testcontainers) image, for test suites that prefer a
//! container to the in-process [`MockServer`](crate::MockServer) (feature `testcontainers`).
//!
//! ```no_run
//! # async fn example() -> Result<(), testcontainers::TestcontainersError> {
//! use mock_server::container::{Trustbench, endpoint};
//! use testcontainers::runners::AsyncRunner;
//!
//! // Built beforehand with `docker build -t trustbench .` in a checkout of trustbench.
//! let container = Trustbench::default().start().await?;
//! let url = endpoint(&container).await?;          // http://HOST:PORT for the SDK
//! let admin = &mock_server::DEFAULT_IDENTITIES[0]; // the default world's keys
//! # let _ = (url, admin);
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;

use testcontainers::core::{ContainerPort, WaitFor};
use testcontainers::{ContainerAsync, Image, TestcontainersError};

/// The port the server listens on inside the container.
pub const PORT: ContainerPort = ContainerPort::Tcp(4566);

/// The trustbench server image: `trustbench:latest` by default, serving the default world.
#[derive(Debug, Clone)]
pub struct Trustbench {
    name: String,
    tag: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Default for Trustbench {
    fn default() -> Self {
        Self {
            name: "trustbench".into(),
            tag: "latest".into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }
}

impl Trustbench {
    /// Another image name and tag (a registry copy, a pinned version).
    pub fn with_image(mut self, name: impl Into<String>, tag: impl Into<String>) -> Self {
        self.name = name.into();
        self.tag = tag.into();
        self
    }

    /// Arguments added to `trustbench serve` (`--world /worlds/connector.yaml`,
    /// `--clock virtual`, …).
    pub fn with_serve_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Protects the control API with this token (`TRUSTBENCH_CONTROL_TOKEN`).
    pub fn with_control_token(mut self, token: impl Into<String>) -> Self {
        self.env
            .push(("TRUSTBENCH_CONTROL_TOKEN".into(), token.into()));
        self
    }
}

impl Image for Trustbench {
    fn name(&self) -> &str {
        &self.name
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        // `serve` prints its endpoint once it is listening.
        vec![WaitFor::message_on_stdout("endpoint: ")]
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        &[PORT]
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        self.args.iter().map(String::as_str)
    }

    fn env_vars(
        &self,
    ) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Where the started container answers on the host: `http://HOST:PORT`, the endpoint URL
/// to give an SDK.
///
/// # Errors
/// When Docker cannot tell the container's host or mapped port.
pub async fn endpoint(
    container: &ContainerAsync<Trustbench>,
) -> Result<String, TestcontainersError> {
    let host = container.get_host().await?;
    let port = container.get_host_port_ipv4(PORT).await?;
    Ok(format!("http://{host}:{port}"))
}
