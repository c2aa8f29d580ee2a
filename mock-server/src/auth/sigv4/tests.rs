//! SigV4 verification against requests signed by `aws-sigv4`, the signer the Rust SDK uses:
//! whatever it signs with the right secret verifies; changing any signed component fails.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use proptest::prelude::*;

use super::*;

const KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

#[derive(Debug, Clone)]
struct Case {
    method: &'static str,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    region: String,
    service: &'static str,
    time: SystemTime,
    presigned: bool,
    unsigned_payload: bool,
}

fn encode_query(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Builds the request and signs it with `aws-sigv4` using `secret`.
fn signed(case: &Case, secret: &str) -> http::Request<Vec<u8>> {
    let query = encode_query(&case.query);
    let uri = if query.is_empty() {
        format!("http://127.0.0.1:4566{}", case.path)
    } else {
        format!("http://127.0.0.1:4566{}?{query}", case.path)
    };
    let mut builder = http::Request::builder()
        .method(case.method)
        .uri(&uri)
        .header("host", "127.0.0.1:4566");
    for (k, v) in &case.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let mut req = builder
        .body(case.body.clone())
        .unwrap_or_else(|e| panic!("test request: {e}"));
    let identity = Credentials::new(KEY, secret, None, None, "test").into();
    let mut settings = SigningSettings::default();
    if case.presigned {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(300));
    }
    if case.unsigned_payload {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&case.region)
        .name(case.service)
        .time(case.time)
        .settings(settings)
        .build()
        .unwrap_or_else(|e| panic!("signing params: {e}"))
        .into();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = if case.unsigned_payload {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(&case.body)
    };
    let signable = SignableRequest::new(
        case.method,
        uri.clone(),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        body,
    )
    .unwrap_or_else(|e| panic!("signable: {e}"));
    let (instructions, _) = sign(signable, &params)
        .unwrap_or_else(|e| panic!("sign: {e}"))
        .into_parts();
    instructions.apply_to_request_http1x(&mut req);
    req
}

/// Our verification of `req` with `secret`: parse, then check with the scope's signing key.
fn verify_with(req: &http::Request<Vec<u8>>, secret: &str) -> Result<bool, SigV4Error> {
    let r = SignedRequest {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers: req.headers(),
        body: req.body(),
    };
    let sig = parse(&r)?.ok_or_else(|| SigV4Error::Incomplete("unsigned".into()))?;
    assert_eq!(sig.access_key_id, KEY);
    let key = keyed(&signing_key(secret, &sig.scope));
    Ok(verify(&r, &sig, &key))
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_~-]{1,8}",
        Just("%20".to_owned()),
        Just("a%2Fb".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("x.y".to_owned()),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![Just("GET"), Just("POST")],
        proptest::collection::vec(segment(), 0..4),
        any::<bool>(),
        proptest::collection::vec(("[A-Za-z0-9.+ /=&%-]{1,10}", "[ -~]{0,12}"), 0..4),
        proptest::collection::vec(("x-test-[a-z]{1,6}", "[!-~]([ -~]{0,10}[!-~])?"), 0..3),
        proptest::collection::vec(any::<u8>(), 0..64),
        prop_oneof![Just("us-east-1"), Just("us-gov-west-1"), Just("eu-west-1")],
        prop_oneof![Just("sts"), Just("ec2"), Just("iam")],
        1_600_000_000u64..1_900_000_000,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                method,
                segs,
                trailing,
                query,
                headers,
                body,
                region,
                service,
                secs,
                presigned,
                unsigned,
            )| {
                let mut path = format!("/{}", segs.join("/"));
                if trailing && !segs.is_empty() {
                    path.push('/');
                }
                let mut query = query;
                query.sort();
                query.dedup_by(|a, b| a.0 == b.0);
                let mut headers = headers;
                headers.sort();
                headers.dedup_by(|a, b| a.0 == b.0);
                Case {
                    method,
                    path,
                    query,
                    headers,
                    body,
                    region: region.to_owned(),
                    service,
                    time: UNIX_EPOCH + Duration::from_secs(secs),
                    presigned,
                    unsigned_payload: unsigned && !presigned,
                }
            },
        )
}

fn set_uri(req: &mut http::Request<Vec<u8>>, uri: &str) {
    *req.uri_mut() = uri.parse().unwrap_or_else(|e| panic!("uri {uri}: {e}"));
}

fn set_header(req: &mut http::Request<Vec<u8>>, name: http::HeaderName, value: &str) {
    let value = http::HeaderValue::from_str(value).unwrap_or_else(|e| panic!("header: {e}"));
    req.headers_mut().insert(name, value);
}

/// Changes one signed component of the request.
fn tamper(case: &Case, req: &mut http::Request<Vec<u8>>, which: usize) {
    let uri = req.uri().to_string();
    match which {
        0 => {
            *req.method_mut() = if case.method == "GET" {
                http::Method::PUT
            } else {
                http::Method::GET
            }
        }
        1 => {
            let path = req.uri().path();
            let changed = match req.uri().query() {
                Some(q) => format!("http://127.0.0.1:4566{path}/zz?{q}"),
                None => format!("http://127.0.0.1:4566{path}/zz"),
            };
            set_uri(req, &changed);
        }
        2 => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            set_uri(req, &format!("{uri}{sep}Extra=1"));
        }
        3 => set_header(req, http::header::HOST, "127.0.0.1:9999"),
        4 if case.unsigned_payload => {
            // The body is not signed, the claimed hash is.
            set_header(
                req,
                http::HeaderName::from_static("x-amz-content-sha256"),
                "UNSIGNED-PAYLOAD-X",
            );
        }
        4 => req.body_mut().push(b'!'),
        5 => {
            let later = format_amz_date(case.time + Duration::from_secs(1));
            if case.presigned {
                set_uri(req, &uri.replace(&format_amz_date(case.time), &later));
            } else {
                set_header(req, http::HeaderName::from_static("x-amz-date"), &later);
            }
        }
        _ => {
            let region = if case.region == "us-east-1" {
                "us-west-2"
            } else {
                "us-east-1"
            };
            let from = format!("/{}/{}/", case.region, case.service);
            let to = format!("/{region}/{}/", case.service);
            if case.presigned {
                set_uri(
                    req,
                    &uri.replace(&from.replace('/', "%2F"), &to.replace('/', "%2F")),
                );
            } else {
                let auth = req.headers()[http::header::AUTHORIZATION]
                    .to_str()
                    .unwrap_or_default()
                    .replace(&from, &to);
                set_header(req, http::header::AUTHORIZATION, &auth);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn anything_aws_sigv4_signs_verifies(case in case()) {
        let req = signed(&case, SECRET);
        prop_assert_eq!(verify_with(&req, SECRET), Ok(true));
    }

    #[test]
    fn a_wrong_secret_never_verifies(case in case()) {
        let req = signed(&case, "not-the-secret");
        prop_assert_eq!(verify_with(&req, SECRET), Ok(false));
    }

    #[test]
    fn changing_any_signed_component_fails(case in case(), which in 0usize..7) {
        let mut req = signed(&case, SECRET);
        tamper(&case, &mut req, which);
        let verdict = verify_with(&req, SECRET);
        // A one-second shift across midnight changes the scope day, caught before the HMAC.
        let crossed_midnight = matches!(&verdict, Err(SigV4Error::Problem(m)) if which == 5 && m.starts_with("Date in Credential scope"));
        prop_assert!(verdict == Ok(false) || crossed_midnight, "tampered component {}: {:?}", which, verdict);
    }

    #[test]
    fn signatures_decode_from_lower_case_hex_only(bytes in any::<[u8; 32]>(), at in 0usize..64) {
        let text = hex::encode(bytes);
        prop_assert_eq!(lower_hex_32(text.as_bytes()), Some(bytes));
        let mut upper = text.clone().into_bytes();
        upper[at] = upper[at].to_ascii_uppercase();
        let changed = upper[at] != text.as_bytes()[at];
        prop_assert_eq!(lower_hex_32(&upper).is_none(), changed);
        prop_assert_eq!(lower_hex_32(&text.as_bytes()[..at]), None);
        let mut longer = text.into_bytes();
        longer.push(b'0');
        prop_assert_eq!(lower_hex_32(&longer), None);
        longer[at] = b'g';
        prop_assert_eq!(lower_hex_32(&longer[..64]), None);
    }
}

#[test]
fn path_normalisation_matches_the_sigv4_rules() {
    assert_eq!(canonical_path(""), "/");
    assert_eq!(canonical_path("/"), "/");
    assert_eq!(canonical_path("/a/./b/../c"), "/a/c");
    assert_eq!(canonical_path("//a//b/"), "/a/b/");
    assert_eq!(canonical_path("/a/."), "/a/");
    assert_eq!(canonical_path("/a/b/.."), "/a/");
    assert_eq!(canonical_path("/a%20b"), "/a%2520b");
}

fn request_with(headers: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(*k, http::HeaderValue::from_static(v));
    }
    map
}

#[test]
fn missing_parts_are_listed_like_aws() {
    let headers = request_with(&[(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request",
    )]);
    let req = SignedRequest {
        method: "POST",
        path: "/",
        query: None,
        headers: &headers,
        body: b"",
    };
    assert_eq!(
        parse(&req),
        Err(SigV4Error::Incomplete(
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request".into()
        ))
    );
}

#[test]
fn scope_date_must_match_the_request_date() {
    let headers = request_with(&[
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260102/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        ),
        ("x-amz-date", "20260101T000000Z"),
    ]);
    let req = SignedRequest {
        method: "POST",
        path: "/",
        query: None,
        headers: &headers,
        body: b"",
    };
    assert!(
        matches!(parse(&req), Err(SigV4Error::Problem(m)) if m.starts_with("Date in Credential scope does not match"))
    );
}

/// The AWS signing test suite shipped inside the locked `aws-sigv4` package (a
/// dev-dependency, so Cargo has it whenever these tests build), found through
/// `cargo metadata`. Read in place, not copied.
fn aws_signing_test_suite() -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
            manifest,
        ])
        .output()
        .unwrap_or_else(|e| panic!("cargo metadata: {e}"));
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("cargo metadata output: {e}"));
    let manifest_path = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "aws-sigv4")
        .and_then(|p| p["manifest_path"].as_str())
        .unwrap_or_else(|| panic!("aws-sigv4 is not in the dependency graph"));
    let suite = std::path::Path::new(manifest_path)
        .parent()
        .unwrap_or_else(|| panic!("{manifest_path} has no parent"))
        .join("aws-signing-test-suite/v4");
    assert!(suite.is_dir(), "{} is missing", suite.display());
    suite
}

/// A request of the suite: `METHOD PATH HTTP/1.1`, `Name:value` lines, blank line, body.
struct SuiteRequest {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn parse_suite_request(text: &str) -> Option<SuiteRequest> {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next()?;
    let (method, rest) = request_line.split_once(' ')?;
    let target = rest.strip_suffix(" HTTP/1.1")?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = http::HeaderName::from_bytes(name.as_bytes()).ok()?;
        headers.append(name, http::HeaderValue::from_str(value).ok()?);
    }
    Some(SuiteRequest {
        method: method.to_owned(),
        path,
        query,
        headers,
        body: body.as_bytes().to_vec(),
    })
}

/// Checks one signed request stage by stage: canonical request, string to sign, signature.
fn check_stages(label: &str, request: &str, canonical: &str, string_to_sign_: &str, secret: &str) {
    let Some(req) = parse_suite_request(request) else {
        panic!("{label}: unparsable request");
    };
    let signed = SignedRequest {
        method: &req.method,
        path: &req.path,
        query: req.query.as_deref(),
        headers: &req.headers,
        body: &req.body,
    };
    let sig = match parse(&signed) {
        Ok(Some(sig)) => sig,
        other => panic!("{label}: {other:?}"),
    };
    let hash = payload_hashes(&signed, &sig).next();
    let ours = canonical_request(&signed, &sig, hash.as_ref().map_or("", PayloadHash::as_str));
    assert_eq!(ours, canonical, "{label}: canonical request");
    let ours = string_to_sign(&sig, &ours);
    assert_eq!(ours, string_to_sign_, "{label}: string to sign");
    assert!(
        verify(&signed, &sig, &keyed(&signing_key(secret, &sig.scope))),
        "{label}: signature"
    );
}

/// Every normalised case of the suite, header- and query-signed.
#[test]
fn the_aws_signing_test_suite_verifies_stage_by_stage() {
    let suite = aws_signing_test_suite();
    let mut checked = 0;
    let mut cases: Vec<_> = std::fs::read_dir(&suite)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    cases.sort();
    for case in cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let read = |file: &str| std::fs::read_to_string(case.join(file)).ok();
        let Some(context) = read("context.json") else {
            continue;
        };
        // Services other than S3 normalise paths; `omit_session_token` is the mode of
        // services that sign without the token (not STS, IAM or EC2); obs-folded header
        // values are not valid HTTP/1.1 on the wire, and hyper refuses them.
        if context.contains("\"normalize\": false")
            || context.contains("\"omit_session_token\": true")
            || name == "get-header-value-multiline"
        {
            continue;
        }
        let secret = context
            .split("\"secret_access_key\": \"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_default();
        for prefix in ["header", "query"] {
            let Some(request) = read(&format!("{prefix}-signed-request.txt")) else {
                continue;
            };
            let canonical = read(&format!("{prefix}-canonical-request.txt")).unwrap_or_default();
            let sts = read(&format!("{prefix}-string-to-sign.txt")).unwrap_or_default();
            check_stages(
                &format!("{name}/{prefix}"),
                &request,
                &canonical,
                &sts,
                secret,
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} suite requests checked");
}

/// Our own cases in `tests/data/sigv4/` (see its README), one directory each.
#[test]
fn the_stage_fixtures_verify() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigv4");
    let mut checked = 0;
    for case in std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
    {
        let read = |file: &str| {
            std::fs::read_to_string(case.join(file))
                .unwrap_or_else(|e| panic!("{}/{file}: {e}", case.display()))
        };
        let label = case.display().to_string();
        check_stages(
            &label,
            &read("request.http"),
            &read("canonical-request.txt"),
            &read("string-to-sign.txt"),
            SECRET,
        );
        let signature = parse_suite_request(&read("request.http"))
            .and_then(|r| {
                r.headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok().map(str::to_owned))
            })
            .unwrap_or_default();
        assert!(
            signature.ends_with(&format!("Signature={}", read("signature.txt"))),
            "{label}: signature file"
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} fixtures");
}

#[test]
fn a_date_header_signature_is_dated_in_iso_form() {
    let request = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sigv4/date-header/request.http"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let req = parse_suite_request(&request).unwrap_or_else(|| panic!("unparsable"));
    let signed = SignedRequest {
        method: &req.method,
        path: &req.path,
        query: None,
        headers: &req.headers,
        body: &req.body,
    };
    let sig = parse(&signed)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("unsigned"));
    assert_eq!(sig.amz_date, "20150830T123600Z");
}

#[test]
fn header_and_query_signatures_together_are_refused() {
    let headers = request_with(&[(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00",
    )]);
    let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fsts%2Faws4_request";
    let req = SignedRequest {
        method: "GET",
        path: "/",
        query: Some(query),
        headers: &headers,
        body: b"",
    };
    assert!(
        matches!(parse(&req), Err(SigV4Error::Problem(m)) if m.starts_with("Only one auth mechanism allowed"))
    );
}

#[test]
fn presigned_expiry_beyond_a_week_is_refused() {
    let headers = HeaderMap::new();
    let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Expires=604801";
    let req = SignedRequest {
        method: "GET",
        path: "/",
        query: Some(query),
        headers: &headers,
        body: b"",
    };
    assert!(
        matches!(parse(&req), Err(SigV4Error::Incomplete(m)) if m.starts_with("X-Amz-Expires must be less than a week"))
    );
}

#[test]
fn upper_case_hex_and_a_missing_space_are_not_signatures() {
    let headers = request_with(&[(
        "authorization",
        "AWS4-HMAC-SHA256,Credential=AKID/20260101/us-east-1/sts/aws4_request",
    )]);
    let req = SignedRequest {
        method: "GET",
        path: "/",
        query: None,
        headers: &headers,
        body: b"",
    };
    assert!(
        matches!(parse(&req), Err(SigV4Error::Incomplete(m)) if m.starts_with("Unsupported AWS 'algorithm'"))
    );

    let headers = request_with(&[
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=ABCDEF0123",
        ),
        ("x-amz-date", "20260101T000000Z"),
    ]);
    let req = SignedRequest {
        method: "GET",
        path: "/",
        query: None,
        headers: &headers,
        body: b"",
    };
    let sig = parse(&req)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("unparsed"));
    assert!(
        sig.signature.is_none(),
        "upper-case hex must not decode to a signature"
    );
}

#[test]
fn debug_output_hides_signatures_tokens_and_bodies() {
    let mut case = Case {
        method: "POST",
        path: "/".into(),
        query: vec![("Action".into(), "GetCallerIdentity".into())],
        headers: vec![(
            "x-amz-security-token".into(),
            "FwoGZXIvYXdzSECRETTOKEN".into(),
        )],
        body: b"WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.SECRET".to_vec(),
        region: "us-east-1".into(),
        service: "sts",
        time: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        presigned: false,
        unsigned_payload: false,
    };
    let req = signed(&case, SECRET);
    let r = SignedRequest {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers: req.headers(),
        body: req.body(),
    };
    let sig = parse(&r)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("unsigned"));
    let text = format!("{r:?} {sig:?}");
    let signature = hex::encode(sig.signature.unwrap_or_default());
    for secret in [signature.as_str(), "SECRETTOKEN", "eyJhbGciOiJSUzI1NiJ9"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    case.presigned = true;
    let req = signed(&case, SECRET);
    let params = crate::wire::query::Params::parse(req.uri().query(), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{params:?}");
    assert!(
        text.contains("GetCallerIdentity") && !text.contains("SECRETTOKEN"),
        "{text}"
    );
    let presigned_signature = req
        .uri()
        .query()
        .and_then(|q| q.split("X-Amz-Signature=").nth(1))
        .unwrap_or_else(|| panic!("not presigned"));
    assert!(!text.contains(presigned_signature), "{text}");
}

#[test]
fn a_scope_reads_back_its_parts() {
    let scope = Scope::new("20261204", "us-gov-west-1", "sts");
    assert_eq!(
        (scope.date(), scope.region(), scope.service()),
        ("20261204", "us-gov-west-1", "sts")
    );
    assert_eq!(scope.as_str(), "20261204/us-gov-west-1/sts/aws4_request");
    let empty = Scope::new("", "", "");
    assert_eq!(
        (empty.date(), empty.region(), empty.service()),
        ("", "", "")
    );
}
