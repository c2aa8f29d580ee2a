//! The control API under `/_mock/`: the health check, the clock, the IAM propagation delay
//! and the built-in OIDC issuers (token minting, discovery documents, JWKS). Answers are
//! JSON; mistakes get a 4xx with `{"error": …}`. Requests carrying an AWS signature are
//! refused, so a misrouted service call cannot be mistaken for a control call.

use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::delegates::Delegates;
use crate::faults::FaultRule;
use crate::propagation::Propagation;
use crate::state::State;
use crate::sts::oidc::{OidcError, OidcToken, host_path};
use crate::times::{parse_rfc3339, rfc3339};
use crate::wire::Body;
use crate::world::{OrganizationSpec, World};

/// Every control path starts with this.
pub(crate) const PREFIX: &str = "/_mock/";

const OIDC: &str = "/_mock/oidc/";

/// The secret a protected control API asks for (`serve --control-token`). Compared in
/// constant time; never shown.
pub(crate) struct ControlToken(sha2::digest::Output<Sha256>);

impl ControlToken {
    pub(crate) fn new(token: String) -> Self {
        Self(Sha256::digest(token.as_bytes()))
    }

    /// Whether `Authorization: Bearer …` carries the token.
    fn admits(&self, parts: &Parts) -> bool {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| Sha256::digest(t.trim().as_bytes()));
        presented.is_some_and(|p| {
            p.iter()
                .zip(self.0.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        })
    }
}

impl std::fmt::Debug for ControlToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::redact::REDACTED)
    }
}

/// Serves a control request.
pub(crate) fn handle(
    state: &State,
    delegates: &Delegates,
    token: Option<&ControlToken>,
    parts: &Parts,
    body: &[u8],
) -> Response<Body> {
    let path = parts.uri.path();
    let signed = parts
        .headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS4-"))
        || parts
            .uri
            .query()
            .is_some_and(|q| q.contains("X-Amz-Signature"));
    if signed {
        return error(
            StatusCode::BAD_REQUEST,
            "the control API takes no AWS signature: this looks like a service call sent to a /_mock/ path".into(),
        );
    }
    if let Some(token) = token
        && path != "/_mock/health"
        && !token.admits(parts)
    {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "this server's control API is protected: send `Authorization: Bearer TOKEN` with the token given to `trustbench serve --control-token`".into(),
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"trustbench control API\""),
        );
        return r;
    }
    match (&parts.method, path) {
        (&Method::GET, "/_mock/clock") => clock_now(state),
        (&Method::POST, "/_mock/clock") => move_clock(state, body),
        (&Method::GET, "/_mock/requests") => json(
            StatusCode::OK,
            json!({ "requests": state.requests.snapshot() }),
        ),
        (&Method::POST, "/_mock/reset") => reset(state, body),
        (&Method::GET, "/_mock/world") => json(StatusCode::OK, json!(&**state.iam.world())),
        (&Method::POST, "/_mock/world") => load_world(state, body),
        (&Method::GET, "/_mock/faults") => {
            json(StatusCode::OK, json!({ "faults": state.faults.list() }))
        }
        (&Method::POST, "/_mock/faults") => add_fault(state, body),
        (&Method::DELETE, "/_mock/faults") => {
            state.faults.clear();
            json(StatusCode::OK, json!({ "faults": [] }))
        }
        (&Method::GET, "/_mock/report") => json(
            StatusCode::OK,
            json!(crate::report::least_privilege(&state.requests.snapshot())),
        ),
        (&Method::DELETE, "/_mock/requests") => {
            state.requests.clear();
            json(StatusCode::OK, json!({ "requests": [] }))
        }
        (&Method::GET, "/_mock/delegates") => json(
            StatusCode::OK,
            json!({ "delegates": crate::delegates::list(state, delegates) }),
        ),
        (&Method::POST, "/_mock/delegates") => add_delegate(state, body),
        (&Method::GET, "/_mock/organizations") => json(
            StatusCode::OK,
            json!({ "organizations": &state.iam.world().organizations }),
        ),
        (&Method::POST, "/_mock/organizations") => set_organizations(state, body),
        (&Method::GET, "/_mock/propagation") => propagation(state),
        (&Method::POST, "/_mock/propagation") => set_propagation(state, body),
        (&Method::GET, "/_mock/health") => json(StatusCode::OK, json!({ "status": "ok" })),
        (_, "/_mock/health") => error(StatusCode::METHOD_NOT_ALLOWED, "use GET".into()),
        (&Method::POST, "/_mock/oidc/token") => mint_token(state, body),
        (&Method::GET, p)
            if p.starts_with(OIDC) && p.ends_with("/.well-known/openid-configuration") =>
        {
            let issuer = &p[OIDC.len()..p.len() - "/.well-known/openid-configuration".len()];
            discovery(parts, issuer)
        }
        (&Method::GET, p) if p.starts_with(OIDC) && p.ends_with("/keys") => {
            let issuer = &p[OIDC.len()..p.len() - "/keys".len()];
            match state.issuers.jwks(issuer) {
                Some(jwks) => json(StatusCode::OK, jwks),
                None => error(
                    StatusCode::NOT_FOUND,
                    format!("no tokens were minted for issuer {issuer}"),
                ),
            }
        }
        (_, p) => error(StatusCode::NOT_FOUND, format!("no control endpoint {p}")),
    }
}

/// `POST /_mock/oidc/token` `{"issuer", "sub", "aud", "ttl_seconds", "claims"}` → `{"token"}`.
fn mint_token(state: &State, body: &[u8]) -> Response<Body> {
    let request = match serde_json::from_slice::<OidcToken>(body) {
        Ok(request) => request,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body must be a JSON object with `issuer` (an https URL): {e}"),
            );
        }
    };
    match state.mint_token(&request) {
        Ok(token) => json(StatusCode::OK, json!({ "token": token })),
        Err(e @ OidcError::Signing(_)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// `POST /_mock/reset`, optionally with `{"keep_clock": true}`.
fn reset(state: &State, body: &[u8]) -> Response<Body> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Reset {
        #[serde(default)]
        keep_clock: bool,
    }
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(Reset { keep_clock: false })
    } else {
        serde_json::from_slice::<Reset>(body)
    };
    match request {
        Ok(Reset { keep_clock }) => match state.reset(keep_clock) {
            Ok(()) => json(
                StatusCode::OK,
                json!({ "status": "reset", "now": rfc3339(state.clock.now()) }),
            ),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            format!("the body must be empty or `{{\"keep_clock\": true|false}}`: {e}"),
        ),
    }
}

/// `GET /_mock/clock` → `{"now", "virtual"}`.
fn clock_now(state: &State) -> Response<Body> {
    json(
        StatusCode::OK,
        json!({ "now": rfc3339(state.clock.now()), "virtual": state.clock.is_virtual() }),
    )
}

/// `POST /_mock/clock` with `{"advance_seconds": N}` or `{"set": RFC3339}`.
fn move_clock(state: &State, body: &[u8]) -> Response<Body> {
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object".into(),
        );
    };
    match (request.get("advance_seconds"), request.get("set")) {
        (Some(v), None) => match v
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 3.2e9)
        {
            Some(seconds) => state
                .clock
                .advance(std::time::Duration::from_secs_f64(seconds)),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "`advance_seconds` must be a number of seconds, not negative".into(),
                );
            }
        },
        (None, Some(Value::String(when))) => match parse_rfc3339(when) {
            Some(t) if t.year() >= 1970 && t.year() < 10_000 => state.clock.set(t.into()),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("`set` must be an RFC 3339 time between 1970 and 9999, got {when}"),
                );
            }
        },
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "give exactly one of `advance_seconds` and `set`".into(),
            );
        }
    }
    clock_now(state)
}

/// `GET /_mock/propagation` → the propagation settings (see `Propagation`).
fn propagation(state: &State) -> Response<Body> {
    json(StatusCode::OK, json!(state.iam.propagation()))
}

/// Adds one fault rule (a JSON object, see `FaultRule`).
fn add_fault(state: &State, body: &[u8]) -> Response<Body> {
    let added = serde_json::from_slice::<FaultRule>(body)
        .map_err(|e| format!("not a fault rule: {e}"))
        .and_then(|rule| state.faults.add(rule).map_err(|e| e.to_string()));
    match added {
        Ok(()) => json(StatusCode::OK, json!({ "faults": state.faults.list() })),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

/// Loads a world document (YAML, or JSON as YAML's subset) in place of the current one.
fn load_world(state: &State, body: &[u8]) -> Response<Body> {
    let loaded = std::str::from_utf8(body)
        .map_err(|_| "the world document is not UTF-8".to_owned())
        .and_then(|text| World::from_yaml(text).map_err(|e| e.to_string()))
        .and_then(|world| state.load_world(world).map_err(|e| e.to_string()));
    match loaded {
        Ok(()) => json(StatusCode::OK, json!({ "status": "loaded" })),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

/// `POST /_mock/organizations`: replaces the organizations (`{"organizations": [...]}`, the
/// world file's schema). Like an IAM write, it shows in `GET /_mock/world` at once and takes
/// effect after the `organizations` propagation delay.
fn set_organizations(state: &State, body: &[u8]) -> Response<Body> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Organizations {
        organizations: Vec<OrganizationSpec>,
    }
    let organizations = match serde_json::from_slice::<Organizations>(body) {
        Ok(b) => b.organizations,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("not organizations: {e}")),
    };
    match state.set_organizations(organizations) {
        Ok(()) => json(
            StatusCode::OK,
            json!({ "organizations": &state.iam.world().organizations }),
        ),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// `POST /_mock/propagation`: changes the settings named in the body (`delay_seconds`,
/// `kinds`, `jitter_seconds`, `seed`) for later IAM changes; the others stay.
fn set_propagation(state: &State, body: &[u8]) -> Response<Body> {
    let updated = serde_json::from_slice::<Map<String, Value>>(body)
        .map_err(|e| format!("not a JSON object: {e}"))
        .and_then(|update| {
            let mut settings = match serde_json::to_value(state.iam.propagation()) {
                Ok(Value::Object(current)) => current,
                _ => Map::new(),
            };
            settings.extend(update);
            serde_json::from_value::<Propagation>(Value::Object(settings))
                .map_err(|e| format!("not propagation settings: {e}"))
        })
        .and_then(|settings| {
            settings.validate().map_err(|e| e.to_string())?;
            state.iam.set_propagation(settings);
            Ok(())
        });
    match updated {
        Ok(()) => propagation(state),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

/// `POST /_mock/delegates`: adds one delegate (a JSON object in the world file's schema).
fn add_delegate(state: &State, body: &[u8]) -> Response<Body> {
    let added = serde_json::from_slice::<crate::world::DelegateSpec>(body)
        .map_err(|e| format!("not a delegate: {e}"))
        .and_then(|spec| crate::delegates::add(state, spec).map_err(|e| e.to_string()));
    match added {
        Ok(()) => json(StatusCode::OK, json!({ "status": "added" })),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

fn discovery(parts: &Parts, issuer: &str) -> Response<Body> {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let issuer = host_path(issuer);
    json(
        StatusCode::OK,
        json!({
            "issuer": format!("https://{issuer}"),
            "jwks_uri": format!("http://{host}{OIDC}{issuer}/keys"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss"],
        }),
    )
}

fn error(status: StatusCode, message: String) -> Response<Body> {
    json(status, json!({ "error": message }))
}

fn json(status: StatusCode, body: Value) -> Response<Body> {
    let mut r = Response::new(Full::new(body.to_string().into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
