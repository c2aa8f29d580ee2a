//! What an action is: its name, the IAM action it needs, on which resource, and its handler,
//! and what a handler sees of a request ([`Call`]).
//!
//! Each service module (`sts::api`, `ec2::api`, `iam::api`) declares a table of
//! [`ActionSpec`]s; `routing` finds a request's action in them, `authorization` decides
//! whether the caller may do it, and the pipeline runs the stages around the handler.
//! Handlers see typed input ([`Call`]) and return XML nodes, never bytes.

use std::net::IpAddr;
use std::time::SystemTime;

use crate::ec2::model::Ec2;
use crate::error::AwsError;
use crate::iam::state::Iam;
use crate::iam::store::{Identity, Store};
use crate::log::Decider;
use crate::service::Service;
use crate::sts::oidc::Issuers;
use crate::sts::session::SessionKeys;
use crate::wire::query::Params;
use crate::wire::xml::Node;

/// Everything a handler may read.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) service: Service,
    pub(crate) params: &'a Params,
    pub(crate) caller: &'a Identity,
    pub(crate) store: &'a Store,
    /// The IAM world and its writer, for IAM actions.
    pub(crate) iam: &'a Iam,
    /// EC2's resources, for EC2 actions.
    pub(crate) ec2: &'a Ec2,
    /// The server's session key, for STS.
    pub(crate) sessions: &'a SessionKeys,
    /// The built-in OIDC issuers, for web identity tokens.
    pub(crate) issuers: &'a Issuers,
    /// Whether the request was signed with temporary credentials (a session).
    pub(crate) temporary_credentials: bool,
    /// The region of the credential scope (the region the client addressed).
    pub(crate) region: &'a str,
    /// The client's address.
    pub(crate) source_ip: IpAddr,
    pub(crate) now: SystemTime,
    /// What a handler that authorizes by itself tells the request log.
    pub(crate) audit: Audit,
}

/// The resource and outcome of an authorization a handler makes itself (AssumeRole's trust
/// and identity checks), for the request log and the least-privilege report.
#[derive(Debug, Default)]
pub(crate) struct Audit {
    /// The IAM action checked, when it is not the call's own (`iam:PassRole`).
    pub(crate) action: std::cell::Cell<Option<&'static str>>,
    pub(crate) resource: std::cell::RefCell<String>,
    denied: std::cell::Cell<bool>,
    decider: std::cell::RefCell<Option<Decider>>,
    /// Every further authorization allowed after the recorded one.
    pub(crate) also_allowed: std::cell::RefCell<Vec<(&'static str, String)>>,
}

/// What a call's own authorizations recorded: the IAM action (when another than the
/// call's), the resource (empty when none was recorded), whether it was refused, what
/// decided, and the further pairs allowed.
pub(crate) type Audited = (
    Option<&'static str>,
    String,
    bool,
    Option<Decider>,
    Vec<(&'static str, String)>,
);

impl Audit {
    /// Records that the call was authorized (or refused) against `resource`, and what decided.
    pub(crate) fn record(&self, resource: &str, denied: bool, decider: Option<Decider>) {
        resource.clone_into(&mut self.resource.borrow_mut());
        self.denied.set(denied);
        *self.decider.borrow_mut() = decider;
    }

    /// What was recorded (see [`Audited`]).
    pub(crate) fn take(&self) -> Audited {
        (
            self.action.take(),
            self.resource.take(),
            self.denied.get(),
            self.decider.take(),
            self.also_allowed.take(),
        )
    }
}

/// A handler: typed call in, result elements out.
pub(crate) type Handler = fn(&Call<'_>) -> Result<Vec<Node>, AwsError>;

/// How a call is authorized.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Authorization {
    /// Allowed to every authenticated caller and cannot be denied (`sts:GetCallerIdentity`).
    Always,
    /// Needs no signature at all (`AssumeRoleWithWebIdentity`: the token is the credential).
    /// Unsigned calls run as the anonymous identity; signed ones as their caller.
    Unsigned,
    /// The caller's policies must allow the IAM action on the resource this function names.
    Policy(fn(&Call<'_>) -> String),
    /// The handler authorizes the call itself, with [`Call::authorize`] (EC2 actions on
    /// several resources, each with its own condition keys).
    Handler,
}

/// One API action.
#[derive(Debug)]
pub(crate) struct ActionSpec {
    /// The `Action` parameter value.
    pub(crate) name: &'static str,
    /// The IAM action, `service:Name`.
    pub(crate) iam_action: &'static str,
    pub(crate) authorization: Authorization,
    pub(crate) handler: Handler,
}

/// The resource `*`, for actions that do not support resource-level permissions.
pub(crate) fn any_resource(_: &Call<'_>) -> String {
    "*".to_owned()
}
