//! Raw HTTP requests signed by `aws-sigv4` (the signer the Rust SDK uses), for load
//! generation and for tests that need the exact bytes on the wire.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use mock_server::DefaultIdentity;

/// A request could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the request: {0}")]
pub struct SigningError(String);

/// Where and as whom to sign.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The server address (also the `Host` header).
    pub addr: SocketAddr,
    /// Whose key signs.
    pub who: &'a DefaultIdentity,
    /// The signing name: `sts`, `iam`, `ec2`.
    pub service: &'a str,
    /// The scope region.
    pub region: &'a str,
    /// The signing time.
    pub time: SystemTime,
}

fn sign_into(
    target: &Target<'_>,
    request: &mut http::Request<()>,
    body: &[u8],
    settings: SigningSettings,
) -> Result<(), SigningError> {
    let err = |e: &dyn std::fmt::Display| SigningError(e.to_string());
    let identity = Credentials::new(
        target.who.access_key_id,
        target.who.secret_access_key,
        None,
        None,
        "trustbench",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(target.region)
        .name(target.service)
        .time(target.time)
        .settings(settings)
        .build()
        .map_err(|e| err(&e))?
        .into();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        request.uri().to_string(),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| err(&e))?;
    let (instructions, _) = sign(signable, &params).map_err(|e| err(&e))?.into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

/// Serialises a request head and body as HTTP/1.1 bytes.
fn to_bytes(request: &http::Request<()>, body: &[u8]) -> Vec<u8> {
    let target = request
        .uri()
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_else(|| "/".into());
    let mut out = format!("{} {target} HTTP/1.1\r\n", request.method()).into_bytes();
    for (k, v) in request.headers() {
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A form-encoded POST to `/`, signed in the Authorization header. `extra` headers are
/// added before signing (they are signed too).
pub fn signed_post(
    target: &Target<'_>,
    form: &str,
    extra: &[(&str, &str)],
) -> Result<Vec<u8>, SigningError> {
    let mut builder = http::Request::post(format!("http://{}/", target.addr))
        .header("host", target.addr.to_string())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", form.len().to_string());
    for (k, v) in extra {
        builder = builder.header(*k, *v);
    }
    let mut request = builder.body(()).map_err(|e| SigningError(e.to_string()))?;
    sign_into(
        target,
        &mut request,
        form.as_bytes(),
        SigningSettings::default(),
    )?;
    Ok(to_bytes(&request, form.as_bytes()))
}

/// A GET of `/?{query}` presigned with query parameters valid for `expires`.
pub fn presigned_get(
    target: &Target<'_>,
    query: &str,
    expires: Duration,
    extra: &[(&str, &str)],
) -> Result<Vec<u8>, SigningError> {
    let mut builder = http::Request::get(format!("http://{}/?{query}", target.addr))
        .header("host", target.addr.to_string());
    for (k, v) in extra {
        builder = builder.header(*k, *v);
    }
    let mut request = builder.body(()).map_err(|e| SigningError(e.to_string()))?;
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires);
    sign_into(target, &mut request, b"", settings)?;
    Ok(to_bytes(&request, b""))
}
