//! Role sessions an AWS service starts on a workload's behalf: EC2 for an instance
//! profile's role (served by instance metadata), ECS for a task role (served by the
//! container credentials endpoint).
//!
//! As on AWS, the service assumes the role itself, so the role's trust policy must trust the
//! service principal (`ec2.amazonaws.com`, `ecs-tasks.amazonaws.com`); the workload's own
//! policies play no part. Credentials are handed out per rotation period: the same set
//! for every request within one, a new one before the old expires, on the server clock.

use std::time::SystemTime;

use crate::iam::store::Store;
use crate::policy::context::Context;
use crate::sts::session::{Minted, SessionClaims, SessionKeys};
use crate::sts::trust;

/// How often a new set of credentials is made available.
const ROTATION_SECONDS: i64 = 3600;
/// How long each set is valid: several rotation periods, so the previous set is still
/// valid when the next is handed out.
const LIFETIME_SECONDS: i64 = 6 * 3600;

/// Who asks, and for what.
#[derive(Debug)]
pub(crate) struct ServiceSession<'a> {
    /// `ec2.amazonaws.com` or `ecs-tasks.amazonaws.com`.
    pub(crate) service: &'a str,
    pub(crate) role_arn: &'a str,
    /// The role session name: the instance id, or the task id.
    pub(crate) session: &'a str,
    /// The account and ARN of the resource the service acts for (`aws:SourceAccount`,
    /// `aws:SourceArn` in the trust policy's conditions).
    pub(crate) source_account: &'a str,
    pub(crate) source_arn: &'a str,
}

/// Credentials for a service session.
#[derive(Debug)]
pub(crate) struct Issued {
    pub(crate) minted: Minted,
    /// When this set was made available, and when it expires (Unix seconds).
    pub(crate) issued: i64,
    pub(crate) expires: i64,
}

/// Why a service could not start the session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The role does not exist (or has not propagated).
    NoRole,
    /// The role's trust policy does not trust the service.
    NotTrusted,
}

/// The current credentials of a service session, or why there are none.
pub(crate) fn credentials(
    store: &Store,
    keys: &SessionKeys,
    ask: &ServiceSession<'_>,
    now: SystemTime,
) -> Result<Issued, Refusal> {
    let role = store.role(ask.role_arn).ok_or(Refusal::NoRole)?;
    let mut context = Context::default();
    context.set("aws:SourceAccount", ask.source_account);
    context.set("aws:SourceArn", ask.source_arn);
    if !trust::trusts_service(role, ask.service, &context) {
        return Err(Refusal::NotTrusted);
    }
    let now = time::OffsetDateTime::from(now).unix_timestamp();
    let issued = now - now.rem_euclid(ROTATION_SECONDS);
    let expires = issued + LIFETIME_SECONDS;
    let claims = SessionClaims::role_session(&role.arn, ask.session, issued, expires);
    let seed = format!("{}/{}/{}/{issued}", ask.service, ask.source_arn, role.arn);
    Ok(Issued {
        minted: keys.mint_stable(claims, &seed),
        issued,
        expires,
    })
}
