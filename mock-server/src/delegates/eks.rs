//! EKS projected service-account tokens (IRSA) and other delegate files.
//!
//! For each `eks` delegate whose service account names a role, the server keeps the token
//! file the pod identity webhook would mount: a JWT from the cluster's issuer with
//! `sub: system:serviceaccount:NS:SA`, `aud: sts.amazonaws.com` and the `kubernetes.io`
//! claims, valid for a day and rewritten once 80 % of that has passed on the server clock
//! (as the kubelet does; never for an `unrotated_token`). SDKs read it and call
//! `AssumeRoleWithWebIdentity`; whether that works is up to the account's IAM OIDC provider
//! and the role's trust policy.

use serde_json::{Map, Value, json};

use super::ecs;
use crate::state::State;

use super::files::Files;
use crate::world::DelegateKind;

/// How long a projected token is valid (EKS: a day).
const TOKEN_TTL: i64 = 86_400;

/// Writes the delegate files that are missing, stale, or made from changed settings, and
/// removes those of delegates that are gone. Failures are logged: a token that cannot be
/// written shows as the SDK's own error.
pub(crate) fn refresh(state: &State, files: &Files) {
    let _one_at_a_time = files.refreshing();
    let now = time::OffsetDateTime::from(state.clock.now()).unix_timestamp();
    let world = state.iam.world();
    let names: Vec<&str> = world.delegates.iter().map(|d| d.name.as_str()).collect();
    files.keep_only(&names);
    for d in &world.delegates {
        let written = match d.kind {
            DelegateKind::Eks if d.role_arn.is_some() => {
                let issuer = d.issuer.as_deref().unwrap_or_default();
                let namespace = d.namespace.as_deref().unwrap_or_default();
                let account = d.service_account.as_deref().unwrap_or_default();
                let fingerprint = format!("{issuer}|{namespace}|{account}|{}", d.unrotated_token);
                let path = files.token_path(&d.name);
                if !files.stale(&path, &fingerprint, now) {
                    continue;
                }
                let uid = |what: &str| {
                    let h = crate::wire::fingerprint(&format!("{what}/{}", d.name));
                    format!(
                        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                        h >> 32,
                        (h >> 16) & 0xffff,
                        h & 0xffff,
                        (h >> 48) & 0xffff,
                        h & 0xffff_ffff_ffff
                    )
                };
                let claims: Map<String, Value> = json!({
                    "aud": ["sts.amazonaws.com"],
                    "sub": format!("system:serviceaccount:{namespace}:{account}"),
                    "kubernetes.io": {
                        "namespace": namespace,
                        "pod": { "name": format!("{}-0", d.name), "uid": uid("pod") },
                        "serviceaccount": { "name": account, "uid": uid("sa") },
                    },
                })
                .as_object()
                .cloned()
                .unwrap_or_default();
                let due = if d.unrotated_token {
                    i64::MAX
                } else {
                    now + TOKEN_TTL * 8 / 10
                };
                state
                    .issuers
                    .mint(issuer, now, TOKEN_TTL, claims)
                    .map_err(|e| e.to_string())
                    .and_then(|token| {
                        files
                            .write(&path, &token, &fingerprint, due)
                            .map_err(|e| e.to_string())
                    })
            }
            DelegateKind::Ecs if d.auth_token_in_file => {
                let token = ecs::auth_token(&state.sessions, d);
                let path = files.auth_token_path(&d.name);
                if !files.stale(&path, &token, now) {
                    continue;
                }
                // No trailing newline: SDKs send the file's bytes as the header value.
                files
                    .write(&path, &token, &token, i64::MAX)
                    .map_err(|e| e.to_string())
            }
            _ => continue,
        };
        if let Err(error) = written {
            tracing::warn!(delegate = %d.name, %error, "cannot write a delegate file");
        }
    }
}
