//! The control API under `/_mock/`: for now the health check; the clock, faults and
//! resets come with the time issue.

use http::request::Parts;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

use crate::wire::Body;

/// Every control path starts with this.
pub(crate) const PREFIX: &str = "/_mock/";

/// Serves a control request.
pub(crate) fn handle(parts: &Parts) -> Response<Body> {
    match (parts.method.as_str(), parts.uri.path()) {
        ("GET", "/_mock/health") => json(StatusCode::OK, r#"{"status":"ok"}"#.to_owned()),
        (_, "/_mock/health") => json(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":"use GET"}"#.to_owned(),
        ),
        (_, path) => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({ "error": format!("no control endpoint {path}") }).to_string(),
        ),
    }
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
