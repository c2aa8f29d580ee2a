//! Authorization of a call: the service control policies of the caller's organization and
//! its identity, boundary and session policies evaluated for an action on a resource, in
//! the request's context. Every denial
//! (the `AccessDenied` and `UnauthorizedOperation` texts, EC2's encoded message) is built
//! from the one evaluation result here.

use crate::api::Call;
use crate::error::{AwsError, Denial};
use crate::iam::store::IdentityKind;
use crate::iam::store::{Identity, Scps};
use crate::log::Decider;
use crate::policy::context::Context;
use crate::policy::eval::{Decision, Evaluation, Request as PolicyRequest, evaluate};
use crate::service::Service;
use crate::sts::authorization_message::{self, Denied};

impl Call<'_> {
    /// Authorization of `action` on `resource`: within its organization's SCPs, the root
    /// user may do anything; others need an allow and no explicit deny, with conditions
    /// evaluated against the request context plus what `extra` adds (resource tags, request tags, …). The
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
        let root = caller.kind == IdentityKind::Root;
        if root && caller.scps.is_none() {
            allowed(None);
            return Ok(());
        }
        let full_context = || {
            let mut context = self.request_context();
            if let Some(account) = resource_account(resource) {
                context.set("aws:ResourceAccount", account);
            }
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
        // The root user needs no identity-based policy; SCPs still apply to it.
        let evaluation = evaluate(
            caller.scps.as_deref().map(Scps::levels),
            (!root).then_some(caller.policies.as_slice()),
            caller.boundary.as_deref(),
            caller.session_policies.as_deref(),
            &request,
        );
        let decider = Decider::of(&evaluation, caller);
        let Some((why, deny_sid)) = denial(&evaluation, caller) else {
            allowed(decider);
            return Ok(());
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
        ctx.set("aws:CurrentTime", crate::times::iso(self.now));
        let epoch = time::OffsetDateTime::from(self.now).unix_timestamp();
        ctx.set("aws:EpochTime", epoch.to_string());
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

/// The account an ARN names (`aws:ResourceAccount`), if it names one.
pub(crate) fn resource_account(arn: &str) -> Option<&str> {
    let account = arn.strip_prefix("arn:")?.split(':').nth(3)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// Why an evaluation of `caller`'s policies refused, with the `Sid` of the deny statement
/// when one decided; `None` when it allowed.
pub(crate) fn denial<'a>(
    evaluation: &Evaluation,
    caller: &'a Identity,
) -> Option<(Denial<'a>, Option<Option<&'a str>>)> {
    match evaluation.decision {
        Decision::Allow => None,
        Decision::ExplicitDeny(at) => {
            let policy = caller.layer(at.layer).and_then(|l| l.get(at.policy));
            let sid = policy
                .and_then(|p| p.policy.statements.get(at.statement))
                .map(|s| s.sid.as_deref());
            let why = Denial::ExplicitDeny {
                layer: at.layer,
                policy_arn: policy.and_then(|p| p.arn.as_deref()),
            };
            Some((why, Some(sid.flatten())))
        }
        Decision::ImplicitDeny(layer) => Some((Denial::NoAllow(layer), None)),
    }
}
