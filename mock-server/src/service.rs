//! The AWS services this server plays, the delegate endpoints beside them, and how a request
//! names them.
//!
//! A signed request names its service in the SigV4 credential scope (`…/us-east-1/sts/aws4_request`);
//! an unsigned one only through its `Version` parameter. The Host header is never used:
//! clients reach us through endpoint overrides, so it says nothing about the service.

use std::fmt;

/// A service served on the main listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// AWS Security Token Service.
    Sts,
    /// AWS Identity and Access Management.
    Iam,
    /// Amazon EC2.
    Ec2,
}

impl Service {
    /// The SigV4 signing name (`sts`, `iam`, `ec2`), also the IAM action prefix.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Sts => "sts",
            Service::Iam => "iam",
            Service::Ec2 => "ec2",
        }
    }

    /// A dense index (0..3), for per-service tables.
    pub(crate) fn index(self) -> usize {
        match self {
            Service::Sts => 0,
            Service::Iam => 1,
            Service::Ec2 => 2,
        }
    }

    /// The only API version the service accepts (the `Version` parameter).
    pub fn api_version(self) -> &'static str {
        match self {
            Service::Sts => "2011-06-15",
            Service::Iam => "2010-05-08",
            Service::Ec2 => "2016-11-15",
        }
    }

    /// The service whose signing name this is.
    pub fn from_signing_name(name: &str) -> Option<Self> {
        [Service::Sts, Service::Iam, Service::Ec2]
            .into_iter()
            .find(|s| s.signing_name() == name)
    }

    /// The service whose API version this is.
    pub fn from_api_version(version: &str) -> Option<Self> {
        [Service::Sts, Service::Iam, Service::Ec2]
            .into_iter()
            .find(|s| s.api_version() == version)
    }

    /// Whether the service is global within a partition (IAM): SDKs sign it with whatever
    /// region the client has, so any region of the caller's partition is accepted.
    pub fn is_global(self) -> bool {
        self == Service::Iam
    }
}

/// What a request is addressed to: a service on the main listener, or a delegate's
/// credentials endpoint. Named as in the request log and in fault rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// An AWS service.
    Aws(Service),
    /// A delegate's instance metadata (`imds`).
    Imds,
    /// A delegate's container credentials endpoint (`ecs`).
    Ecs,
}

impl Endpoint {
    /// Every endpoint.
    pub(crate) const ALL: [Endpoint; 5] = [
        Endpoint::Aws(Service::Sts),
        Endpoint::Aws(Service::Iam),
        Endpoint::Aws(Service::Ec2),
        Endpoint::Imds,
        Endpoint::Ecs,
    ];

    /// Its name: the service's signing name, `imds` or `ecs`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Endpoint::Aws(service) => service.signing_name(),
            Endpoint::Imds => "imds",
            Endpoint::Ecs => "ecs",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.signing_name())
    }
}
