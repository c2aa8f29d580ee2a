//! SigV4 verification: parse the signature from the `Authorization` header or presigned query
//! parameters, rebuild the canonical request and string to sign from the bytes received, and
//! compare signatures in constant time.
//!
//! Pure functions, no I/O and no credential lookup (`keys.rs` does that). The canonical
//! request follows AWS's rules exactly as `aws-sigv4` produces them for non-S3 services:
//! the path normalised (dot segments and empty segments removed) and encoded a second time,
//! query parameters decoded, re-encoded with the RFC 3986 unreserved set and sorted, header
//! values trimmed with inner runs of spaces folded.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

use crate::redact;
use crate::times::{format_amz_date, parse_amz_date};

/// The only algorithm accepted.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far the request time may be from the server clock.
pub(crate) const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The longest validity a presigned URL may ask for (7 days).
pub(crate) const MAX_EXPIRES: u64 = 604_800;
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// RFC 3986 unreserved characters stay, everything else is percent-encoded.
const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Paths keep their slashes.
const PATH_SET: &AsciiSet = &QUERY_SET.remove(b'/');

pub(crate) type HmacSha256 = Hmac<Sha256>;

const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const X_AMZ_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");
const X_AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");

/// Why a request's signature could not even be checked, or failed a check that does not
/// need the secret. `keys.rs` turns these into the service's `AwsError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SigV4Error {
    /// Malformed Authorization header or presigned parameters (`IncompleteSignature`).
    #[error("incomplete signature: {0}")]
    Incomplete(String),
    /// A scope or header check failed (`SignatureDoesNotMatch` with AWS's specific text).
    #[error("signature problem: {0}")]
    Problem(String),
    /// An `X-Amz-Algorithm` that is not SigV4 (`MissingAuthenticationToken`, as AWS).
    #[error("unsupported presigning algorithm")]
    UnsupportedQueryAlgorithm,
}

/// Where the signature was carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    /// `Authorization` header.
    Header,
    /// Presigned URL. STS, IAM and EC2 ignore `X-Amz-Expires` beyond checking it (a token
    /// signed with `X-Amz-Expires=60`, as EKS's are, works for the usual 15 minutes:
    /// aws/aws-sdk-go#2167, kubernetes-sigs/aws-iam-authenticator#258).
    Query,
}

/// The credential scope `date/region/service/aws4_request`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Scope<'a> {
    /// `date/region/service/aws4_request`, as the credential writes it (borrowed from the
    /// request when it is parsed from one).
    text: Cow<'a, str>,
    /// Where the region and the service start in `text`.
    region_at: usize,
    service_at: usize,
}

impl<'a> Scope<'a> {
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn new(date: &str, region: &str, service: &str) -> Self {
        let mut text = String::with_capacity(date.len() + region.len() + service.len() + 15);
        for part in [date, region, service] {
            text.push_str(part);
            text.push('/');
        }
        text.push_str("aws4_request");
        Self {
            text: Cow::Owned(text),
            region_at: date.len() + 1,
            service_at: date.len() + region.len() + 2,
        }
    }

    /// The scope a credential `KEY/DATE/REGION/SERVICE/aws4_request` names, borrowed from
    /// it: `rest` is the credential after the key and its slash.
    fn within(rest: &'a str, date: &str, region: &str) -> Self {
        Self {
            text: Cow::Borrowed(rest),
            region_at: date.len() + 1,
            service_at: date.len() + region.len() + 2,
        }
    }

    fn into_owned(self) -> Scope<'static> {
        Scope {
            text: Cow::Owned(self.text.into_owned()),
            region_at: self.region_at,
            service_at: self.service_at,
        }
    }

    /// `YYYYMMDD`.
    pub(crate) fn date(&self) -> &str {
        self.text.get(..self.region_at - 1).unwrap_or_default()
    }

    pub(crate) fn region(&self) -> &str {
        self.text
            .get(self.region_at..self.service_at - 1)
            .unwrap_or_default()
    }

    pub(crate) fn service(&self) -> &str {
        let end = self.text.len() - "/aws4_request".len();
        self.text.get(self.service_at..end).unwrap_or_default()
    }

    /// `date/region/service/aws4_request`, as an `Authorization` header and the string to
    /// sign write it.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("date", &self.date())
            .field("region", &self.region())
            .field("service", &self.service())
            .finish()
    }
}

/// A parsed SigV4 signature, not yet verified; its text borrowed from the request where it
/// can be.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Signature<'a> {
    pub(crate) access_key_id: Cow<'a, str>,
    pub(crate) scope: Scope<'a>,
    /// The signed header names as given (`content-type;host;x-amz-date`).
    pub(crate) signed_headers: Cow<'a, str>,
    /// The signature's 32 bytes; `None` when it is not 64 lower-case hex digits (SDKs
    /// write nothing else), which then matches nothing.
    pub(crate) signature: Option<[u8; 32]>,
    /// The request time in ISO-8601 basic form (`20260124T101500Z`), as the string to sign
    /// and AWS's messages write it, also when the client sent a `Date` header.
    pub(crate) amz_date: Cow<'a, str>,
    pub(crate) time: SystemTime,
    pub(crate) location: Location,
    pub(crate) security_token: Option<Cow<'a, str>>,
}

impl Signature<'_> {
    /// The same signature, owning its text.
    fn into_owned(self) -> Signature<'static> {
        Signature {
            access_key_id: Cow::Owned(self.access_key_id.into_owned()),
            scope: self.scope.into_owned(),
            signed_headers: Cow::Owned(self.signed_headers.into_owned()),
            signature: self.signature,
            amz_date: Cow::Owned(self.amz_date.into_owned()),
            time: self.time,
            location: self.location,
            security_token: self.security_token.map(|t| Cow::Owned(t.into_owned())),
        }
    }
}

// Hand-written: the session token is a credential and must not reach logs.
impl std::fmt::Debug for Signature<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signature")
            .field("access_key_id", &self.access_key_id)
            .field("scope", &self.scope)
            .field("amz_date", &self.amz_date)
            .field("location", &self.location)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| redact::REDACTED),
            )
            .finish_non_exhaustive()
    }
}

/// The parts of an HTTP request the signature covers.
#[derive(Clone, Copy)]
pub(crate) struct SignedRequest<'a> {
    pub(crate) method: &'a str,
    /// The path exactly as received (still percent-encoded).
    pub(crate) path: &'a str,
    /// The raw query string, if any.
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
}

// Hand-written: the Authorization header, tokens and the body stay out of logs.
impl std::fmt::Debug for SignedRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let shown = if redact::is_secret(k.as_str()) {
                    redact::REDACTED
                } else {
                    v.to_str().unwrap_or("<binary>")
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &headers)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Finds and parses the request's SigV4 signature. `Ok(None)`: the request is unsigned.
pub(crate) fn parse<'a>(req: &SignedRequest<'a>) -> Result<Option<Signature<'a>>, SigV4Error> {
    let header = req.headers.get(http::header::AUTHORIZATION);
    // Most requests are header-signed: decode the query only when it may carry a signature.
    let query = QueryParams(
        req.query
            .filter(|q| q.contains("X-Amz-"))
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
    );
    match (header, query.get("X-Amz-Algorithm")) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(SigV4Error::Problem(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified".into(),
        )),
        (Some(h), None) => match header_text(h) {
            Cow::Borrowed(h) => parse_header(h, req.headers).map(Some),
            Cow::Owned(h) => parse_header(&h, req.headers).map(|s| Some(s.into_owned())),
        },
        (None, Some(alg)) if alg != ALGORITHM => Err(SigV4Error::UnsupportedQueryAlgorithm),
        (None, Some(_)) => parse_query(&query).map(|s| Some(s.into_owned())),
    }
}

/// The decoded query string, for the presigning parameters.
struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_header<'a>(header: &'a str, headers: &'a HeaderMap) -> Result<Signature<'a>, SigV4Error> {
    let Some(rest) = header
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with(' '))
    else {
        let alg = header.split_whitespace().next().unwrap_or_default();
        return Err(SigV4Error::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{alg}'."
        )));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(SigV4Error::Incomplete(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'"
            )));
        };
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let amz_date = header_str(headers, &X_AMZ_DATE);
    let iso = amz_date.is_some();
    let date = amz_date
        .map(|d| {
            let time = parse_amz_date(&d);
            (d, time)
        })
        .or_else(|| {
            header_str(headers, &http::header::DATE).map(|d| {
                let time = httpdate::parse_http_date(&d).ok();
                (d, time)
            })
        });
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_none() {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if signed.is_none() {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    if date.is_none() {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        );
    }
    let (Some(credential), Some(signed), Some(signature), Some((amz_date, time))) =
        (credential, signed, signature, date)
    else {
        return Err(SigV4Error::Incomplete(format!(
            "{} Authorization={header}",
            missing.join(" ")
        )));
    };
    let time = time.ok_or_else(|| bad_date(&amz_date))?;
    let amz_date = if iso {
        amz_date
    } else {
        Cow::Owned(format_amz_date(time))
    };
    finish(
        credential,
        signed,
        signature,
        amz_date,
        time,
        Location::Header,
        header_str(headers, &X_AMZ_SECURITY_TOKEN),
    )
}

fn parse_query(query: &QueryParams) -> Result<Signature<'_>, SigV4Error> {
    let q = |name: &str| query.get(name);
    let names = [
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
    ];
    let missing: Vec<String> = names
        .iter()
        .filter(|n| q(n).is_none())
        .map(|n| format!("AWS query-string parameters must include '{n}'."))
        .collect();
    if !missing.is_empty() {
        return Err(SigV4Error::Incomplete(format!(
            "{} Re-examine the query-string parameters.",
            missing.join(" ")
        )));
    }
    let get = |n: &str| query.get(n).unwrap_or_default();
    let amz_date = get("X-Amz-Date");
    let time = parse_amz_date(amz_date).ok_or_else(|| bad_date(amz_date))?;
    match q("X-Amz-Expires").map(str::parse::<u64>) {
        None | Some(Ok(0..=MAX_EXPIRES)) => {}
        Some(Ok(_)) => {
            return Err(SigV4Error::Incomplete(format!(
                "X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}"
            )));
        }
        Some(Err(_)) => {
            return Err(SigV4Error::Incomplete(
                "X-Amz-Expires should be a number".to_owned(),
            ));
        }
    }
    finish(
        get("X-Amz-Credential"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Signature"),
        Cow::Borrowed(amz_date),
        time,
        Location::Query,
        q("X-Amz-Security-Token").map(Cow::Borrowed),
    )
}

fn finish<'a>(
    credential: &'a str,
    signed: &'a str,
    signature: &str,
    amz_date: Cow<'a, str>,
    time: SystemTime,
    location: Location,
    security_token: Option<Cow<'a, str>>,
) -> Result<Signature<'a>, SigV4Error> {
    let mut parts = credential.split('/');
    let (Some(key), Some(date), Some(region), Some(_service), Some(terminator), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(SigV4Error::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if terminator != "aws4_request" {
        return Err(SigV4Error::Problem(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    let day = &amz_date[..8.min(amz_date.len())];
    if date != day {
        return Err(SigV4Error::Problem(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{day}', from '{amz_date}'."
        )));
    }
    if !signed.split(';').any(|h| h == "host" || h == ":authority") {
        return Err(SigV4Error::Problem(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    // SDKs write 64 lower-case hex digits; anything else can never match.
    let signature = lower_hex_32(signature.as_bytes());
    // The scope is the credential after the key: `date/region/service/aws4_request`.
    let rest = &credential[key.len() + 1..];
    Ok(Signature {
        access_key_id: Cow::Borrowed(key),
        scope: Scope::within(rest, date, region),
        signed_headers: Cow::Borrowed(signed),
        signature,
        amz_date,
        time,
        location,
        security_token,
    })
}

/// 64 lower-case hex digits as the 32 bytes they write, in one pass; `None` for anything
/// else.
fn lower_hex_32(text: &[u8]) -> Option<[u8; 32]> {
    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            _ => None,
        }
    }
    let pairs = text.as_chunks::<2>();
    let ([], 32) = (pairs.1, pairs.0.len()) else {
        return None;
    };
    let mut out = [0u8; 32];
    for (byte, [high, low]) in out.iter_mut().zip(pairs.0) {
        *byte = nibble(*high)? << 4 | nibble(*low)?;
    }
    Some(out)
}

fn bad_date(value: &str) -> SigV4Error {
    SigV4Error::Incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<Cow<'a, str>> {
    headers.get(name).map(header_text)
}

/// A header value as text: borrowed when it is visible ASCII (almost always), otherwise
/// decoded with replacement characters (which then never match a signature).
fn header_text(value: &HeaderValue) -> Cow<'_, str> {
    match value.to_str() {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(value.as_bytes()),
    }
}

/// Lower-case hex SHA-256, on the stack.
pub(crate) struct HexSha256([u8; 64]);

impl HexSha256 {
    fn of(data: &[u8]) -> Self {
        Self::from_digest(Sha256::digest(data).into())
    }

    fn from_digest(digest: [u8; 32]) -> Self {
        let mut out = [0u8; 64];
        // 32 bytes always fit 64 hex digits.
        let _ = hex::encode_to_slice(digest, &mut out);
        Self(out)
    }

    fn as_str(&self) -> &str {
        // Hex digits are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// A payload hash a signature may have used: the body's, or the text the client claimed.
pub(crate) enum PayloadHash<'a> {
    Body(HexSha256),
    Text(Cow<'a, str>),
}

impl PayloadHash<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Body(hash) => hash.as_str(),
            Self::Text(text) => text,
        }
    }
}

/// The payload hashes the signature may have used, in the order to try them. An
/// `x-amz-content-sha256` that is neither the body's hash nor `UNSIGNED-PAYLOAD` yields none:
/// whatever was signed, it was not this body.
pub(crate) fn payload_hashes<'a>(
    req: &SignedRequest<'a>,
    sig: &Signature,
) -> impl Iterator<Item = PayloadHash<'a>> + use<'a> {
    let body_hash = || {
        if req.body.is_empty() {
            PayloadHash::Text(Cow::Borrowed(EMPTY_SHA256))
        } else {
            PayloadHash::Body(HexSha256::of(req.body))
        }
    };
    let unsigned = || PayloadHash::Text(Cow::Borrowed(UNSIGNED_PAYLOAD));
    let hashes = if let Some(claimed) = req.headers.get(&X_AMZ_CONTENT_SHA256) {
        let claimed = header_text(claimed);
        if claimed == UNSIGNED_PAYLOAD || claimed == body_hash().as_str() {
            [Some(PayloadHash::Text(claimed)), None]
        } else {
            [None, None]
        }
    } else {
        match sig.location {
            Location::Header => [Some(body_hash()), None],
            // Presigned URLs may sign the body or, as S3's do, `UNSIGNED-PAYLOAD`.
            Location::Query => [Some(body_hash()), Some(unsigned())],
        }
    };
    hashes.into_iter().flatten()
}

/// Where the canonical request and the string to sign are written: a `String` to read them,
/// a hash or a MAC to check a signature without building them.
pub(crate) trait Sink {
    fn put(&mut self, text: &str);
}

impl Sink for String {
    fn put(&mut self, text: &str) {
        self.push_str(text);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, text: &str) {
        Digest::update(self, text.as_bytes());
    }
}

impl Sink for HmacSha256 {
    fn put(&mut self, text: &str) {
        Mac::update(self, text.as_bytes());
    }
}

/// The canonical request for the signature's signed headers and a payload hash, as text
/// (`verify` hashes it as it is written instead).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn canonical_request(
    req: &SignedRequest<'_>,
    sig: &Signature,
    payload_hash: &str,
) -> String {
    let mut out = String::with_capacity(256);
    write_canonical_request(req, sig, payload_hash, &mut out);
    out
}

fn write_canonical_request(
    req: &SignedRequest<'_>,
    sig: &Signature,
    payload_hash: &str,
    out: &mut impl Sink,
) {
    out.put(req.method);
    out.put("\n");
    out.put(&canonical_path(req.path));
    out.put("\n");
    out.put(&canonical_query(req.query, sig.location));
    out.put("\n");
    for name in sig.signed_headers.split(';') {
        out.put(name);
        out.put(":");
        let mut first = true;
        let values = match name {
            // The names every SDK signs, looked up without parsing them again.
            "host" => req.headers.get_all(http::header::HOST),
            "content-type" => req.headers.get_all(http::header::CONTENT_TYPE),
            "x-amz-date" => req.headers.get_all(&X_AMZ_DATE),
            "x-amz-security-token" => req.headers.get_all(&X_AMZ_SECURITY_TOKEN),
            "x-amz-content-sha256" => req.headers.get_all(&X_AMZ_CONTENT_SHA256),
            other => req.headers.get_all(other),
        };
        for value in values {
            if !first {
                out.put(",");
            }
            first = false;
            fold_spaces(&header_text(value), out);
        }
        out.put("\n");
    }
    out.put("\n");
    out.put(&sig.signed_headers);
    out.put("\n");
    out.put(payload_hash);
}

/// Trims spaces and folds inner runs of spaces to one (spaces only, as SigV4 specifies).
fn fold_spaces(value: &str, out: &mut impl Sink) {
    let value = value.trim_matches(' ');
    if !value.contains("  ") {
        out.put(value);
        return;
    }
    for (i, word) in value.split(' ').filter(|w| !w.is_empty()).enumerate() {
        if i > 0 {
            out.put(" ");
        }
        out.put(word);
    }
}

/// Normalises the path (RFC 3986 dot segments, empty segments) and encodes it again.
pub(crate) fn canonical_path(raw: &str) -> Cow<'_, str> {
    if raw.is_empty() {
        return Cow::Borrowed("/");
    }
    let needs_normalising = raw.contains('.') || raw.contains("//") || !raw.starts_with('/');
    let normalised = if needs_normalising {
        let mut segments: Vec<&str> = Vec::new();
        for segment in raw.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                s => segments.push(s),
            }
        }
        let mut path = format!("/{}", segments.join("/"));
        // RFC 3986 5.2.4: a final `.` or `..` segment leaves a trailing slash.
        let trailing = ["/", "/.", "/..", "/./", "/../"]
            .iter()
            .any(|s| raw.ends_with(s));
        if trailing && !path.ends_with('/') {
            path.push('/');
        }
        Cow::Owned(path)
    } else {
        Cow::Borrowed(raw)
    };
    match Cow::from(utf8_percent_encode(&normalised, PATH_SET)) {
        Cow::Borrowed(_) => normalised,
        Cow::Owned(encoded) => Cow::Owned(encoded),
    }
}

fn canonical_query(raw: Option<&str>, location: Location) -> String {
    let Some(raw) = raw else {
        return String::new();
    };
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .filter(|(k, _)| !(matches!(location, Location::Query) && k == "X-Amz-Signature"))
        .map(|(k, v)| {
            (
                utf8_percent_encode(&k, QUERY_SET).to_string(),
                utf8_percent_encode(&v, QUERY_SET).to_string(),
            )
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(raw.len() + 8);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// `AWS4-HMAC-SHA256\n{amz date}\n{scope}\n{hex sha256(canonical request)}`, as text
/// (`verify` MACs it as it is written instead).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn string_to_sign(sig: &Signature, canonical_request: &str) -> String {
    let mut out = String::with_capacity(160);
    write_string_to_sign(sig, &HexSha256::of(canonical_request.as_bytes()), &mut out);
    out
}

fn write_string_to_sign(sig: &Signature, canonical_hash: &HexSha256, out: &mut impl Sink) {
    for part in [ALGORITHM, "\n", &sig.amz_date, "\n"] {
        out.put(part);
    }
    out.put(sig.scope.as_str());
    out.put("\n");
    out.put(canonical_hash.as_str());
}

/// The SigV4 signing key for a secret and scope.
pub(crate) fn signing_key(secret: &str, scope: &Scope) -> [u8; 32] {
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), scope.date().as_bytes());
    for part in [
        scope.region().as_bytes(),
        scope.service().as_bytes(),
        b"aws4_request",
    ] {
        key = hmac(&key, part);
    }
    key
}

pub(crate) fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 keyed with a signing key, ready to sign (cloned for each use: the key's
/// padding blocks are hashed once).
pub(crate) fn keyed(key: &[u8; 32]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// Whether the request's signature is right for the signing key of its scope (`keyed`
/// with it).
pub(crate) fn verify(req: &SignedRequest<'_>, sig: &Signature, key: &HmacSha256) -> bool {
    let Some(signature) = &sig.signature else {
        return false;
    };
    payload_hashes(req, sig).any(|hash| {
        let mut canonical = Sha256::new();
        write_canonical_request(req, sig, hash.as_str(), &mut canonical);
        let canonical = HexSha256::from_digest(canonical.finalize().into());
        let mut mac = key.clone();
        write_string_to_sign(sig, &canonical, &mut mac);
        // Constant-time compare.
        mac.verify_slice(signature).is_ok()
    })
}

#[cfg(test)]
mod tests;
