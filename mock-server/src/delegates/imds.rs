//! EC2 instance metadata (IMDS) of an `ec2` delegate: the IMDSv2 session-token flow, the
//! instance's identity and placement, and its instance profile's role credentials.
//!
//! Tokens carry their own state (the delegate and expiry, sealed with the server key), so
//! they cost no memory. Credentials are the role's, as assumed by `ec2.amazonaws.com` (see
//! `sts::service`): a role whose trust policy does not trust EC2 gets IMDS's 200 answer with
//! `Code: AssumeRoleUnauthorizedAccess`, as on AWS.

use std::time::SystemTime;

use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::json;

use super::{Answer, json, text};
use crate::iam::store::Store;
use crate::sts::service::{self, Refusal, ServiceSession};
use crate::sts::session::SessionKeys;
use crate::times::iso_unix as iso;
use crate::wire::Body;
use crate::world::{DelegateSpec, HttpTokens};

const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// The longest token life IMDS grants: six hours.
const MAX_TTL: i64 = 21_600;
/// The token domain in the server's sealing key.
const DOMAIN: &str = "imds";
const CREDENTIALS: &str = "latest/meta-data/iam/security-credentials/";

/// The operation a request is, for fault rules and the log.
pub(crate) fn action(parts: &Parts, path: &str) -> &'static str {
    if parts.method == Method::PUT {
        "GetToken"
    } else if path.starts_with(CREDENTIALS) || path == "latest/meta-data/iam/info" {
        "GetCredentials"
    } else {
        "GetMetadata"
    }
}

/// Serves one IMDS request; `path` is the part after the delegate's prefix.
pub(crate) fn serve(
    store: &Store,
    sessions: &SessionKeys,
    d: &DelegateSpec,
    parts: &Parts,
    path: &str,
    now: SystemTime,
) -> Answer {
    let now = time::OffsetDateTime::from(now).unix_timestamp();
    let action = action(parts, path);
    let answer = |response: Response<Body>, error: Option<&'static str>| Answer {
        response,
        action,
        role: String::new(),
        error,
    };
    match parts.method {
        Method::PUT if path == "latest/api/token" => return token(sessions, d, parts, now),
        Method::PUT => return answer(page(StatusCode::FORBIDDEN), Some("Forbidden")),
        Method::GET | Method::HEAD => {}
        _ => {
            let mut r = page(StatusCode::METHOD_NOT_ALLOWED);
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, PUT"));
            return answer(r, Some("MethodNotAllowed"));
        }
    }
    match parts.headers.get(TOKEN_HEADER) {
        Some(t) => {
            let valid = t
                .to_str()
                .ok()
                .and_then(|t| sessions.unseal(DOMAIN, t))
                .and_then(|payload| {
                    let (name, expires) = payload.rsplit_once('|')?;
                    Some(name == d.name && expires.parse::<i64>().ok()? > now)
                })
                .unwrap_or(false);
            if !valid {
                return answer(page(StatusCode::UNAUTHORIZED), Some("Unauthorized"));
            }
        }
        None if d.http_tokens.unwrap_or_default() == HttpTokens::Required => {
            return answer(page(StatusCode::UNAUTHORIZED), Some("Unauthorized"));
        }
        None => {}
    }
    metadata(store, sessions, d, path, now)
}

/// `PUT /latest/api/token`: a session token for 1 to 21600 seconds.
fn token(sessions: &SessionKeys, d: &DelegateSpec, parts: &Parts, now: i64) -> Answer {
    let fail = |status: StatusCode, code: &'static str| Answer {
        response: page(status),
        action: "GetToken",
        role: String::new(),
        error: Some(code),
    };
    // IMDS refuses token requests that went through a proxy.
    if parts.headers.contains_key("x-forwarded-for") {
        return fail(StatusCode::FORBIDDEN, "Forbidden");
    }
    let ttl = parts
        .headers
        .get(TTL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|t| (1..=MAX_TTL).contains(t));
    let Some(ttl) = ttl else {
        return fail(StatusCode::BAD_REQUEST, "BadRequest");
    };
    let sealed = sessions.seal(DOMAIN, &format!("{}|{}", d.name, now + ttl));
    let mut response = text(StatusCode::OK, &sealed);
    response
        .headers_mut()
        .insert(TTL_HEADER, HeaderValue::from(ttl));
    Answer {
        response,
        action: "GetToken",
        role: String::new(),
        error: None,
    }
}

/// The instance profile's name and role, if the instance has a profile.
fn profile<'s>(
    store: &'s crate::iam::store::Store,
    d: &DelegateSpec,
) -> Option<&'s crate::iam::store::InstanceProfile> {
    store.instance_profile(&d.account, d.instance_profile.as_deref()?)
}

fn metadata(
    store: &Store,
    sessions: &SessionKeys,
    d: &DelegateSpec,
    path: &str,
    now: i64,
) -> Answer {
    let profile = profile(store, d);
    let role_name = profile
        .and_then(|p| p.role_arn.as_deref())
        .and_then(|arn| arn.rsplit('/').next());
    let id = d.instance_id();
    let zone = format!("{}a", d.region);
    let ok = |body: String| Answer {
        response: text(StatusCode::OK, &body),
        action: "GetMetadata",
        role: String::new(),
        error: None,
    };
    let not_found = || Answer {
        response: page(StatusCode::NOT_FOUND),
        action: action_of(path),
        role: String::new(),
        error: Some("NotFound"),
    };
    let path = path.trim_end_matches('/');
    match path {
        "latest" => ok("dynamic\nmeta-data".into()),
        "latest/meta-data" => {
            let mut items = vec![
                "ami-id",
                "hostname",
                "instance-id",
                "instance-type",
                "local-hostname",
                "local-ipv4",
                "placement/",
            ];
            if profile.is_some() {
                items.push("iam/");
            }
            items.sort_unstable();
            ok(items.join("\n"))
        }
        "latest/meta-data/instance-id" => ok(id),
        "latest/meta-data/ami-id" => ok(AMI.into()),
        "latest/meta-data/instance-type" => ok(INSTANCE_TYPE.into()),
        "latest/meta-data/local-ipv4" => ok(PRIVATE_IP.into()),
        "latest/meta-data/hostname" | "latest/meta-data/local-hostname" => ok(hostname(&d.region)),
        "latest/meta-data/placement" => ok("availability-zone\nregion".into()),
        "latest/meta-data/placement/region" => ok(d.region.clone()),
        "latest/meta-data/placement/availability-zone" => ok(zone),
        "latest/dynamic" => ok("instance-identity/".into()),
        "latest/dynamic/instance-identity" => ok("document".into()),
        "latest/dynamic/instance-identity/document" => {
            let document = json!({
                "accountId": d.account,
                "architecture": "x86_64",
                "availabilityZone": zone,
                "billingProducts": null,
                "devpayProductCodes": null,
                "marketplaceProductCodes": null,
                "imageId": AMI,
                "instanceId": id,
                "instanceType": INSTANCE_TYPE,
                "kernelId": null,
                "pendingTime": iso(now - now.rem_euclid(86_400)),
                "privateIp": PRIVATE_IP,
                "ramdiskId": null,
                "region": d.region,
                "version": "2017-09-30",
            });
            ok(serde_json::to_string_pretty(&document).unwrap_or_default())
        }
        "latest/meta-data/iam" if profile.is_some() => ok("info\nsecurity-credentials/".into()),
        "latest/meta-data/iam/info" => match profile {
            Some(p) => credentials_or(store, sessions, d, p, now, |_| {
                json!({
                    "Code": "Success",
                    "LastUpdated": iso(now),
                    "InstanceProfileArn": p.arn,
                    "InstanceProfileId": p.id,
                })
            }),
            None => not_found(),
        },
        "latest/meta-data/iam/security-credentials" => match role_name {
            // The role name alone, no newline: SDKs use the body as it is.
            Some(role) => Answer {
                action: "GetCredentials",
                ..ok(role.to_owned())
            },
            None => not_found(),
        },
        _ => match (path.strip_prefix(CREDENTIALS), profile) {
            (Some(asked), Some(p)) if Some(asked) == role_name => {
                credentials_or(store, sessions, d, p, now, |issued| {
                    json!({
                        "Code": "Success",
                        "LastUpdated": iso(issued.issued),
                        "Type": "AWS-HMAC",
                        "AccessKeyId": issued.minted.access_key_id,
                        "SecretAccessKey": issued.minted.secret_access_key,
                        "Token": issued.minted.session_token,
                        "Expiration": iso(issued.expires),
                    })
                })
            }
            _ => not_found(),
        },
    }
}

fn action_of(path: &str) -> &'static str {
    if path.starts_with(CREDENTIALS) || path.starts_with("latest/meta-data/iam") {
        "GetCredentials"
    } else {
        "GetMetadata"
    }
}

/// Answers with `success` made from the role's current credentials, or with IMDS's error
/// JSON when EC2 cannot assume the role.
fn credentials_or(
    store: &Store,
    sessions: &SessionKeys,
    d: &DelegateSpec,
    profile: &crate::iam::store::InstanceProfile,
    now: i64,
    success: impl FnOnce(&service::Issued) -> serde_json::Value,
) -> Answer {
    let role_arn = profile.role_arn.clone().unwrap_or_default();
    let role_name = role_arn.rsplit('/').next().unwrap_or_default().to_owned();
    let id = d.instance_id();
    let partition = role_arn.split(':').nth(1).unwrap_or("aws");
    let source_arn = crate::arn::arn(partition, "ec2", &d.region, &d.account, &["instance/", &id]);
    let ask = ServiceSession {
        service: "ec2.amazonaws.com",
        role_arn: &role_arn,
        session: &id,
        source_account: &d.account,
        source_arn: &source_arn,
    };
    let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(now.max(0).unsigned_abs());
    match service::credentials(store, sessions, &ask, at) {
        Ok(issued) => Answer {
            response: json(StatusCode::OK, &success(&issued)),
            action: "GetCredentials",
            role: role_arn,
            error: None,
        },
        Err(Refusal::NoRole | Refusal::NotTrusted) => Answer {
            // IMDS answers 200 with the error in the document.
            response: json(
                StatusCode::OK,
                &json!({
                    "Code": "AssumeRoleUnauthorizedAccess",
                    "Message": format!("EC2 cannot assume the role {role_name}.  Please see documentation at https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_iam-ec2.html#troubleshoot_iam-ec2_errors-info-doc."),
                    "LastUpdated": iso(now),
                }),
            ),
            action: "GetCredentials",
            role: role_arn,
            error: Some("AssumeRoleUnauthorizedAccess"),
        },
    }
}

const AMI: &str = "ami-0abcdef1234567890";
const INSTANCE_TYPE: &str = "t3.medium";
const PRIVATE_IP: &str = "10.0.0.10";

fn hostname(region: &str) -> String {
    let domain = if region == "us-east-1" {
        "ec2.internal".to_owned()
    } else {
        format!("{region}.compute.internal")
    };
    format!("ip-10-0-0-10.{domain}")
}

/// IMDS's error page (XHTML, as the service sends it).
fn page(status: StatusCode) -> Response<Body> {
    let title = format!(
        "{} - {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    );
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n <head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n </body>\n</html>\n"
    );
    let mut r = text(status, &body);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}
