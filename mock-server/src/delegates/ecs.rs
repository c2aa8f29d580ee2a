//! The ECS container credentials endpoint of an `ecs` delegate
//! (`AWS_CONTAINER_CREDENTIALS_FULL_URI`): the task role's credentials, as assumed by
//! `ecs-tasks.amazonaws.com`, for a request carrying the task's authorization token.
//!
//! Answers follow the ECS agent: the credentials JSON (`RoleArn`, `AccessKeyId`,
//! `SecretAccessKey`, `Token`, `Expiration`), and its JSON errors
//! (`{"code", "message", "HTTPErrorCode"}`). The agent keys credentials by an id in the
//! request; here the authorization token plays that part, so a missing token is
//! `NoIdInRequest` and a wrong one `InvalidIdInRequest` (both 400).

use std::time::SystemTime;

use http::request::Parts;
use http::{Method, StatusCode, header};
use serde_json::json;

use super::{Answer, json};
use crate::iam::store::Store;
use crate::sts::service::{self, ServiceSession};
use crate::sts::session::SessionKeys;
use crate::times::iso_unix as iso;
use crate::world::DelegateSpec;

/// The authorization token of an ecs delegate: its own, or one derived from its name with
/// the server key.
pub(crate) fn auth_token(sessions: &SessionKeys, d: &DelegateSpec) -> String {
    d.auth_token
        .clone()
        .unwrap_or_else(|| sessions.seal("ecs-auth", &d.name))
}

fn error(status: StatusCode, code: &'static str, message: String) -> Answer {
    Answer {
        response: json(
            status,
            &json!({ "code": code, "message": message, "HTTPErrorCode": status.as_u16() }),
        ),
        action: "GetCredentials",
        role: String::new(),
        error: Some(code),
    }
}

/// Serves `GET /_delegate/NAME/credentials`.
pub(crate) fn serve(
    store: &Store,
    sessions: &SessionKeys,
    d: &DelegateSpec,
    parts: &Parts,
    path: &str,
    now: SystemTime,
) -> Answer {
    if path != "credentials" {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no such path: {path}"),
        );
    }
    if parts.method != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use GET".into(),
        );
    }
    let given = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(given) = given.filter(|g| !g.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "NoIdInRequest",
            "CredentialsV2Request: No Credential ID in the request".into(),
        );
    };
    let Some(role_arn) = d
        .role_arn
        .as_deref()
        .filter(|_| given == auth_token(sessions, d))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidIdInRequest",
            "CredentialsV2Request: Credentials not found".into(),
        );
    };
    let partition = role_arn.split(':').nth(1).unwrap_or("aws");
    let task = format!("{:032x}", u128::from(crate::wire::fingerprint(&d.name)));
    let source_arn = crate::arn::arn(
        partition,
        "ecs",
        &d.region,
        &d.account,
        &["task/default/", &task],
    );
    let ask = ServiceSession {
        service: "ecs-tasks.amazonaws.com",
        role_arn,
        session: &task,
        source_account: &d.account,
        source_arn: &source_arn,
    };
    match service::credentials(store, sessions, &ask, now) {
        Ok(issued) => Answer {
            response: json(
                StatusCode::OK,
                &json!({
                    "RoleArn": role_arn,
                    "AccessKeyId": issued.minted.access_key_id,
                    "SecretAccessKey": issued.minted.secret_access_key,
                    "Token": issued.minted.session_token,
                    "Expiration": iso(issued.expires),
                }),
            ),
            action: "GetCredentials",
            role: role_arn.to_owned(),
            error: None,
        },
        // The agent has no credentials for a task whose role ECS could not assume.
        Err(_) => Answer {
            role: role_arn.to_owned(),
            ..error(
                StatusCode::SERVICE_UNAVAILABLE,
                "CredentialsUninitialized",
                format!(
                    "ECS was unable to assume the role '{role_arn}' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role."
                ),
            )
        },
    }
}
