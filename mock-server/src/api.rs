//! What an action is: its name, the IAM action it needs, on which resource, and its handler.
//!
//! Each service module (`sts::api`, `ec2::api`, later `iam::api`) declares a table of
//! [`ActionSpec`]s; the pipeline looks the request's `Action` up here and runs the stages
//! around the handler. Handlers see typed input ([`Call`]) and return XML nodes, never bytes.

use std::net::IpAddr;
use std::time::SystemTime;

use crate::ec2::model::Ec2;
use crate::error::{AwsError, Denial};
use crate::iam::state::Iam;
use crate::iam::store::{Identity, IdentityKind, Store};
use crate::log::Decider;
use crate::policy::context::Context;
use crate::policy::eval::{Decision, Layer, Request as PolicyRequest, evaluate};
use crate::service::Service;
use crate::sts::authorization_message::{self, Denied};
use crate::sts::oidc::Issuers;
use crate::sts::session::SessionKeys;
use crate::wire::query::Params;
use crate::wire::xml::Node;
use crate::{ec2, iam, sts};

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
    action: std::cell::Cell<Option<&'static str>>,
    resource: std::cell::RefCell<String>,
    denied: std::cell::Cell<bool>,
    decider: std::cell::RefCell<Option<Decider>>,
    /// Every further authorization allowed after the recorded one.
    also_allowed: std::cell::RefCell<Vec<(&'static str, String)>>,
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

impl Call<'_> {
    /// Identity-based authorization of `action` on `resource`: the root user may do
    /// anything; others need an allow and no explicit deny, with conditions evaluated against
    /// the request context plus what `extra` adds (resource tags, request tags, …). The
    /// audit keeps the first resource checked, or the one refused.
    pub(crate) fn authorize(
        &self,
        action: &'static str,
        resource: &str,
        extra: impl Fn(&mut Context),
    ) -> Result<(), AwsError> {
        let caller = self.caller;
        let first = self.audit.resource.borrow().is_empty();
        let allowed = |decider| {
            if first {
                self.audit.record(resource, false, decider);
            } else {
                self.audit
                    .also_allowed
                    .borrow_mut()
                    .push((action, resource.to_owned()));
            }
        };
        if caller.kind == IdentityKind::Root {
            allowed(None);
            return Ok(());
        }
        let full_context = || {
            let mut context = self.request_context();
            extra(&mut context);
            context
        };
        // Most principals' policies have no condition or variable: skip building the context.
        let context = if caller.policies_use_context {
            full_context()
        } else {
            Context::default()
        };
        let request = PolicyRequest {
            action,
            resource,
            context: &context,
        };
        let evaluation = evaluate(
            &caller.policies,
            caller.boundary.as_deref(),
            caller.session_policies.as_deref(),
            &request,
        );
        let decider = Decider::of(&evaluation, caller);
        let (why, deny_sid) = match evaluation.decision {
            Decision::Allow => {
                allowed(decider);
                return Ok(());
            }
            Decision::ExplicitDeny(at) => {
                let policy = caller.layer(at.layer).and_then(|l| l.get(at.policy));
                let sid = policy
                    .and_then(|p| p.policy.statements.get(at.statement))
                    .map(|s| s.sid.as_deref());
                let why = Denial::ExplicitDeny {
                    policy_arn: policy.and_then(|p| p.arn.as_deref()),
                };
                (why, Some(sid.flatten()))
            }
            Decision::ImplicitDeny(Layer::Identity) => (Denial::NoAllow, None),
            Decision::ImplicitDeny(Layer::Boundary) => (Denial::NoBoundaryAllow, None),
            Decision::ImplicitDeny(Layer::Session) => (Denial::NoSessionAllow, None),
        };
        self.audit.record(resource, true, decider);
        self.audit.action.set(Some(action));
        // The denial path is rare: the message always gets the full context.
        let context = if caller.policies_use_context {
            context
        } else {
            full_context()
        };
        let encoded = authorization_message::encode(&Denied {
            caller,
            action,
            resource,
            context: &context,
            explicit_deny: deny_sid,
        });
        Err(AwsError::access_denied(
            self.service,
            &caller.arn,
            action,
            resource,
            why,
            &encoded,
        ))
    }

    /// The global condition keys of the request: the principal's, plus time, transport,
    /// source address and region.
    pub(crate) fn request_context(&self) -> Context {
        let mut ctx = self.caller.context.clone();
        let now = time::OffsetDateTime::from(self.now);
        let now = now.replace_nanosecond(0).unwrap_or(now);
        let iso = now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        ctx.set("aws:CurrentTime", iso);
        ctx.set("aws:EpochTime", now.unix_timestamp().to_string());
        // The mock serves plain HTTP on loopback.
        ctx.set("aws:SecureTransport", "false");
        ctx.set("aws:SourceIp", self.source_ip.to_string());
        ctx.set("aws:RequestedRegion", self.region);
        if self.service == Service::Ec2 {
            ctx.set("ec2:Region", self.region);
        }
        ctx.set("aws:ViaAWSService", "false");
        ctx
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

/// Every action the server implements: service, `Action` name and IAM action, in the order
/// of each service's table (the reference docs list them from here).
pub fn supported_actions() -> impl Iterator<Item = (Service, &'static str, &'static str)> {
    [Service::Sts, Service::Iam, Service::Ec2]
        .into_iter()
        .flat_map(|service| {
            table(service)
                .iter()
                .map(move |a| (service, a.name, a.iam_action))
        })
}

fn table(service: Service) -> &'static [ActionSpec] {
    match service {
        Service::Sts => sts::api::ACTIONS,
        Service::Ec2 => ec2::api::ACTIONS,
        Service::Iam => iam::api::ACTIONS,
    }
}

/// The action `name` of `service`, if it is implemented.
pub(crate) fn lookup(service: Service, name: &str) -> Option<&'static ActionSpec> {
    table(service).iter().find(|a| a.name == name)
}

/// The resource `*`, for actions that do not support resource-level permissions.
pub(crate) fn any_resource(_: &Call<'_>) -> String {
    "*".to_owned()
}
