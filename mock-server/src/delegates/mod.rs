//! The places a connector's delegate runs, and the credential sources each offers: EC2
//! instance metadata (`imds`), the ECS container credentials endpoint (`ecs`), and EKS
//! projected service-account tokens for IRSA (`eks`).
//!
//! Delegates are part of the world (`delegates:`). An `ec2` delegate's instance metadata is
//! at the root of a loopback port of its own (`ports`), as at `169.254.169.254`, because
//! some SDKs ask there whatever path the endpoint names; the ECS endpoint, whose full URI
//! every SDK takes as it is, lives on the server's own port under `/_delegate/NAME/`.
//! [`env`] is a delegate's environment: exactly the variables a process on it sees.

pub(crate) mod ecs;
pub(crate) mod eks;
pub(crate) mod files;
pub(crate) mod imds;
pub(crate) mod ports;

use std::collections::BTreeMap;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::Value;

use crate::faults::{FaultEffect, Target};
use crate::log::{Decision, Record};
use crate::service::Endpoint;

use crate::iam::store::Store;
use crate::state::State;
use crate::sts::session::SessionKeys;
use crate::wire::Body;
use crate::world::delegates::prepared;
use crate::world::{DelegateKind, DelegateSpec, WorldError};

/// Every delegate endpoint path starts with this.
pub(crate) const PREFIX: &str = "/_delegate/";

/// Where a delegate's environment points a service it cannot reach: a closed loopback port
/// (port 1, which nothing listens on), so connections are refused at once.
const UNREACHABLE: &str = "http://127.0.0.1:1";

/// What a server keeps for its delegates beside the world: the token files and instance
/// metadata ports (both follow the world's delegates), and the server's endpoint.
#[derive(Debug)]
pub(crate) struct Delegates {
    /// The delegates' token files.
    pub(crate) files: files::Files,
    /// The `ec2` delegates' instance metadata ports.
    pub(crate) ports: ports::Ports,
    /// `http://ADDRESS`: what delegate environments point SDKs at.
    pub(crate) endpoint: String,
}

impl Delegates {
    /// The delegates' side of a server listening at `endpoint`; fails when the token files'
    /// directory cannot be made.
    pub(crate) fn new(endpoint: String) -> std::io::Result<Self> {
        Ok(Self {
            files: files::Files::new()?,
            ports: ports::Ports::default(),
            endpoint,
        })
    }

    /// Brings the token files and instance metadata ports in line with the world's
    /// delegates (after a world load, a reset, a declared delegate, a clock move).
    pub(crate) fn world_changed(&self, state: &State) {
        eks::refresh(state, &self.files);
        if let Err(e) = self.ports.sync(&state.iam) {
            tracing::error!(error = %e, "cannot bind an instance metadata port");
        }
    }
}

/// The environment of a process on the delegate. `AWS_ENDPOINT_URL` points the process's
/// SDKs at the server.
pub(crate) fn env(
    state: &State,
    delegates: &Delegates,
    d: &DelegateSpec,
) -> BTreeMap<String, String> {
    let endpoint = delegates.endpoint.as_str();
    let base = format!("{endpoint}{PREFIX}{}/", d.name);
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    set("AWS_ENDPOINT_URL", endpoint.to_owned());
    for service in &d.unreachable {
        set(service.endpoint_variable(), UNREACHABLE.to_owned());
    }
    // An instance learns its region from instance metadata, not the environment. Its
    // metadata (or, for a pod, its node's) is at the root of the delegate's own port.
    if d.has_instance_metadata() {
        match delegates.ports.endpoint(&d.name) {
            Some(ports) => {
                let (address, mode) = match ports.ipv6 {
                    Some(v6) => (v6, "IPv6"),
                    None => (ports.ipv4, "IPv4"),
                };
                set(
                    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                    format!("http://{address}"),
                );
                set("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", mode.into());
            }
            // Its port could not be bound (logged): an SDK must not fall back to the
            // machine's own instance metadata, which may be a real instance's.
            None => set("AWS_EC2_METADATA_DISABLED", "true".into()),
        }
    }
    match d.kind {
        DelegateKind::Ec2 => {}
        DelegateKind::Ecs => {
            set("AWS_REGION", d.region.clone());
            set("AWS_DEFAULT_REGION", d.region.clone());
            set("AWS_EXECUTION_ENV", "AWS_ECS_EC2".into());
            set(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{base}credentials"),
            );
            if d.auth_token_in_file {
                set(
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                    delegates
                        .files
                        .auth_token_path(&d.name)
                        .display()
                        .to_string(),
                );
            } else {
                set(
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                    ecs::auth_token(&state.sessions, d),
                );
            }
        }
        DelegateKind::Eks => {
            set("AWS_REGION", d.region.clone());
            set("AWS_DEFAULT_REGION", d.region.clone());
            set("AWS_STS_REGIONAL_ENDPOINTS", "regional".into());
            // The pod identity webhook injects these only for an annotated service account.
            if let Some(role) = &d.role_arn {
                set("AWS_ROLE_ARN", role.clone());
                set(
                    "AWS_WEB_IDENTITY_TOKEN_FILE",
                    delegates.files.token_path(&d.name).display().to_string(),
                );
            }
        }
    }
    env
}

/// A delegate as a process on it sees it: its name, kind and environment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Delegate {
    /// The delegate's name.
    pub name: String,
    /// `ec2`, `ecs` or `eks`.
    pub kind: DelegateKind,
    /// Its tags (what delegate selectors match).
    pub tags: Vec<String>,
    /// The environment variables a process on it sees.
    pub env: BTreeMap<String, String>,
}

/// Every delegate of the world.
pub(crate) fn list(state: &State, delegates: &Delegates) -> Vec<Delegate> {
    state
        .iam
        .world()
        .delegates
        .iter()
        .map(|d| Delegate {
            name: d.name.clone(),
            kind: d.kind,
            tags: d.tags.clone(),
            env: env(state, delegates, d),
        })
        .collect()
}

/// Adds a delegate (replacing one of the same name), with the instance profile an `ec2`
/// one needs. A delegate is declared by the test, not made through IAM, so it is ready at
/// once: its profile takes effect without the propagation delay (unless its role is itself
/// still propagating; then it waits for the role). Nothing changes when the delegate is
/// invalid.
pub(crate) fn add(state: &State, spec: DelegateSpec) -> Result<(), WorldError> {
    let name = spec.name.clone();
    let mut refused = None;
    let added = state.iam.write_now(|world| {
        world.delegates.retain(|d| d.name != spec.name);
        world.delegates.push(spec);
        match prepared(std::mem::take(world)) {
            Ok(next) => {
                *world = next;
                Ok(())
            }
            Err(e) => {
                let message = e.to_string();
                refused = Some(e);
                Err(crate::error::AwsError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidDelegate",
                    message,
                ))
            }
        }
    });
    match (added, refused) {
        (Ok(()), _) => {
            state.world_changed();
            // An `ec2` delegate is an instance at once.
            if let Some(d) = state.iam.world().delegates.iter().find(|d| d.name == name)
                && d.kind == DelegateKind::Ec2
            {
                state.ec2.add_delegate(d, state.clock.now());
            }
            Ok(())
        }
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(WorldError::Invalid {
            context: "delegate".into(),
            message: e.message.to_string(),
        }),
    }
}

/// What an endpoint answered, before faults: the response and what the log records.
pub(crate) struct Answer {
    pub(crate) response: Response<Body>,
    /// The operation (`GetToken`, `GetCredentials`, `GetMetadata`).
    pub(crate) action: &'static str,
    /// The role whose credentials were asked for, if any.
    pub(crate) role: String,
    /// The error code for the log, when it failed.
    pub(crate) error: Option<&'static str>,
}

/// Serves a request under [`PREFIX`] on the server's port (the ECS endpoints); returns the
/// response and the fault to apply, if a rule struck.
pub(crate) fn handle(state: &State, parts: &Parts) -> (Response<Body>, Option<FaultEffect>) {
    let rest = parts.uri.path().strip_prefix(PREFIX).unwrap_or_default();
    let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
    let world = state.iam.world();
    match world.delegates.iter().find(|d| d.name == name) {
        Some(delegate) if delegate.kind == DelegateKind::Ecs => {
            let action = "GetCredentials";
            answer(
                state,
                delegate,
                Endpoint::Ecs,
                action,
                |store, sessions, now| ecs::serve(store, sessions, delegate, parts, path, now),
            )
        }
        // Instance metadata is at the root of the delegate's own port; EKS has no endpoint.
        _ => (text(StatusCode::NOT_FOUND, "Not Found"), None),
    }
}

/// How an instance metadata answer reaches the process that asked.
pub(crate) enum Delivery {
    /// The answer, and the fault to apply, if a rule struck.
    Answered(Response<Body>, Option<FaultEffect>),
    /// The IMDSv2 token's response needs more hops than the instance's
    /// `HttpPutResponseHopLimit`: its packets expire on the way and never arrive.
    BeyondHopLimit,
}

/// Serves a request to the instance metadata port of the delegate `name`: an `ec2`
/// delegate's own metadata, or, for a pod on a node, the node's one hop further away.
pub(crate) fn serve_instance(state: &State, name: &str, parts: &Parts) -> Delivery {
    let path = parts.uri.path().trim_start_matches('/');
    let world = state.iam.world();
    let asking = world.delegates.iter().find(|d| d.name == name);
    // The instance whose metadata answers, and how many hops away the asker is.
    let instance = asking.and_then(|d| match (d.kind, &d.node) {
        (DelegateKind::Ec2, _) => Some((d, 1)),
        (DelegateKind::Eks, Some(node)) => world
            .delegates
            .iter()
            .find(|n| &n.name == node && n.kind == DelegateKind::Ec2)
            .map(|n| (n, 2)),
        _ => None,
    });
    match instance {
        Some((delegate, hops)) => {
            let action = imds::action(parts, path);
            if action == "GetToken" && hops > delegate.hop_limit() {
                log_beyond_hop_limit(state, delegate, hops);
                return Delivery::BeyondHopLimit;
            }
            let (response, fault) = answer(
                state,
                delegate,
                Endpoint::Imds,
                action,
                |store, sessions, now| imds::serve(store, sessions, delegate, parts, path, now),
            );
            Delivery::Answered(response, fault)
        }
        // The delegate (or the pod's node) went while a connection to its port was open.
        None => Delivery::Answered(text(StatusCode::NOT_FOUND, "Not Found"), None),
    }
}

/// Logs a token request whose response could not reach the asker.
fn log_beyond_hop_limit(state: &State, instance: &DelegateSpec, hops: u8) {
    tracing::debug!(
        instance = instance.name,
        hops,
        limit = instance.hop_limit(),
        "IMDSv2 token response beyond the hop limit"
    );
    state.requests.push(Record {
        time: state.clock.now(),
        service: Some(Endpoint::Imds),
        action: std::borrow::Cow::Borrowed("GetToken"),
        iam_action: "",
        resource: String::new(),
        region: instance.region.clone(),
        principal: Default::default(),
        decision: Decision::Error,
        decider: None,
        error_code: Some(std::borrow::Cow::Borrowed("HopLimitExceeded")),
        status: StatusCode::OK.as_u16(),
        also_allowed: Vec::new(),
    });
}

/// Answers one delegate endpoint request: a fault rule's status if one strikes, else
/// `serve`'s answer; either way logged.
fn answer(
    state: &State,
    delegate: &DelegateSpec,
    endpoint: Endpoint,
    action: &'static str,
    serve: impl FnOnce(&Store, &SessionKeys, std::time::SystemTime) -> Answer,
) -> (Response<Body>, Option<FaultEffect>) {
    let now = state.clock.now();
    let target = Target {
        service: endpoint.name(),
        action,
        principal: &delegate.name,
        region: &delegate.region,
    };
    let fault = state.faults.strike(&target);
    let answer = match fault.and_then(status_of) {
        Some(status) => Answer {
            response: text(status, status.canonical_reason().unwrap_or_default()),
            action,
            role: String::new(),
            error: Some(status.canonical_reason().unwrap_or("Error")),
        },
        None => serve(&state.iam.store(), &state.sessions, now),
    };
    state.requests.push(Record {
        time: now,
        service: Some(endpoint),
        action: std::borrow::Cow::Borrowed(answer.action),
        iam_action: "",
        resource: answer.role,
        region: delegate.region.clone(),
        principal: Default::default(),
        decision: if answer.error.is_some() {
            Decision::Error
        } else {
            Decision::Allowed
        },
        decider: None,
        error_code: answer.error.map(std::borrow::Cow::Borrowed),
        status: answer.response.status().as_u16(),
        also_allowed: Vec::new(),
    });
    (answer.response, fault)
}

/// The status a fault answers a delegate endpoint with: IMDS and the container endpoint are
/// plain HTTP services, so throttling is a 429.
fn status_of(effect: FaultEffect) -> Option<StatusCode> {
    match effect {
        FaultEffect::Throttle => Some(StatusCode::TOO_MANY_REQUESTS),
        FaultEffect::InternalError => Some(StatusCode::INTERNAL_SERVER_ERROR),
        FaultEffect::ServiceUnavailable => Some(StatusCode::SERVICE_UNAVAILABLE),
        FaultEffect::Latency(_) | FaultEffect::DropConnection | FaultEffect::TruncateBody => None,
    }
}

/// A `text/plain` response.
pub(crate) fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_owned())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::propagation::Propagation;
    use crate::world::World;

    #[test]
    fn an_instance_without_a_port_never_points_at_a_real_instances_metadata() {
        let world = World::from_yaml(
            "accounts: [{id: '111111111111'}]\ndelegates: [{name: box, kind: ec2, account: '111111111111'}]\n",
        )
        .expect("test world parses");
        let state = State::new(world, Clock::real(), Propagation::default()).expect("valid");
        // Nothing is bound (no server listens), as when a port could not be bound.
        let delegates = Delegates::new("http://127.0.0.1:1".into()).expect("token files");
        let listed = list(&state, &delegates);
        let env = &listed[0].env;
        assert!(
            !env.contains_key("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
            "{env:?}"
        );
        assert_eq!(env["AWS_EC2_METADATA_DISABLED"], "true");
    }
}
