//! Entry points for the fuzz targets in `fuzz/` and for the test that replays their corpora
//! on the stable toolchain. Each feeds arbitrary bytes to one parser that reads request or
//! file data, exercises what it built, and returns: none may panic or hang, whatever the
//! bytes. Compiled only with the `fuzzing` feature; not part of the supported API.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue};

use sha2::{Digest, Sha256};

use crate::auth::sigv4::{self, Location, Scope, Signature, SignedRequest};
use crate::clock::Clock;
use crate::pipeline;
use crate::policy::context::Context;
use crate::policy::eval::{Levels, Request, evaluate, missing_context_keys};
use crate::policy::parse::parse_identity_policy;
use crate::policy::trust::parse_trust_policy;
use crate::propagation::Propagation;
use crate::state::State;
use crate::sts::oidc::{self, Issuers};
use crate::sts::session::SessionKeys;
use crate::wire::query::Params;
use crate::world::World;

/// Splits at the first `\n`: the bytes before, and after (empty when there is none).
fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// Form and query-string parsing: the first line is the URL query, the rest the form body.
pub fn query(data: &[u8]) {
    let (query, body) = split_line(data);
    let query = String::from_utf8_lossy(query);
    let Ok(params) = Params::parse(Some(&query), Some(body)) else {
        return;
    };
    let _ = params.get("Action");
    let _ = params.indexed("Filter", ".Name");
    let _ = params.list("RegionName");
    let _ = format!("{params:?}");
}

/// SigV4 parsing and canonicalisation. Lines: the `Authorization` header, `X-Amz-Date`,
/// `X-Amz-Security-Token`, the path, the query string; the rest is the body.
pub fn sigv4(data: &[u8]) {
    let mut fields = [&[][..]; 5];
    let mut rest = data;
    for field in &mut fields {
        let (line, after) = split_line(rest);
        *field = line;
        rest = after;
    }
    let [authorization, date, token, path, query] = fields;
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (http::header::AUTHORIZATION.as_str(), authorization),
        ("x-amz-date", date),
        ("x-amz-security-token", token),
    ] {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    headers.insert(http::header::HOST, HeaderValue::from_static("localhost"));
    let path = String::from_utf8_lossy(path);
    let query = String::from_utf8_lossy(query);
    let req = SignedRequest {
        method: "POST",
        path: &path,
        query: Some(&query),
        headers: &headers,
        body: rest,
    };
    let _ = crate::times::parse_amz_date(&String::from_utf8_lossy(date));
    let Ok(Some(sig)) = sigv4::parse(&req) else {
        return;
    };
    let key = sigv4::keyed(&sigv4::signing_key(
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        &sig.scope,
    ));
    for hash in sigv4::payload_hashes(&req, &sig) {
        let canonical = sigv4::canonical_request(&req, &sig, hash.as_str());
        let _ = sigv4::string_to_sign(&sig, &canonical);
    }
    let _ = sigv4::verify(&req, &sig, &key);
    let _ = format!("{sig:?} {req:?}");
}

/// Policy documents: an identity policy parsed and evaluated for a few requests, and the
/// same text parsed as a trust policy with its conditions checked.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut context = Context::default();
    context.set("aws:username", "admin");
    context.set("aws:SourceIp", "127.0.0.1");
    context.set("aws:RequestedRegion", "us-east-1");
    context.set("sts:ExternalId", "ext-1");
    context.set_values("aws:TagKeys", vec!["team".into(), "env".into()]);
    if let Ok(policy) = parse_identity_policy(text) {
        for (action, resource) in [
            ("sts:AssumeRole", "arn:aws:iam::111111111111:role/deploy"),
            ("ec2:DescribeRegions", "*"),
            ("iam:GetRole", "arn:aws-us-gov:iam::333333333333:role/a?b*"),
        ] {
            let req = Request {
                action,
                resource,
                context: &context,
            };
            let policies = [&policy];
            // The document as an identity policy and as the SCP of a one-level organization.
            let levels = Levels {
                policies: &policies,
                ends: &[1],
            };
            let _ = evaluate::<_, _, &crate::policy::Policy, &crate::policy::Policy>(
                Some(levels),
                Some(&policies),
                None,
                None,
                &req,
            );
            let _ = missing_context_keys([&policy], &req);
        }
    }
    if let Ok(trust) = parse_trust_policy(text) {
        for statement in &trust.statements {
            for condition in &statement.conditions {
                let _ = condition.holds(&context);
            }
        }
    }
}

/// Web identity tokens and session tokens: a JWT's claims read, its signature checked
/// against an issuer with a key; the same text opened as an STS session token and as a
/// sealed delegate token.
pub fn tokens(data: &[u8]) {
    static KEYS: std::sync::OnceLock<(Issuers, SessionKeys)> = std::sync::OnceLock::new();
    const ISSUER: &str = "https://oidc.fuzz.example/id/A";
    let (issuers, sessions) = KEYS.get_or_init(|| {
        let issuers = Issuers::new();
        // Minting creates the issuer's key.
        let _ = issuers.mint(ISSUER, 0, 1, serde_json::Map::new());
        (issuers, SessionKeys::new())
    });
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(claims) = oidc::unverified_claims(token) {
        let issuer = claims.get("iss").and_then(|v| v.as_str()).unwrap_or(ISSUER);
        let _ = oidc::host_path(issuer);
        let _ = issuers.signature_valid(issuer, token);
    }
    let _ = issuers.signature_valid(ISSUER, token);
    let _ = sessions.open(token);
    let _ = sessions.unseal("imds", token);
}

/// World files: YAML read into a `World`, then every check a server makes before it starts
/// (fault rules, propagation, delegates, IAM consistency and policy parsing).
pub fn world(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(world) = World::from_yaml(text) {
        build(world);
    }
}

/// Every check a server makes of `world` before it starts; `true` when it would start.
pub fn build(world: World) -> bool {
    let propagation = world.propagation.clone().unwrap_or_default();
    State::new(world, Clock::real(), propagation).is_ok()
}

/// Administrators and the connector user of `fuzz/world.yaml` (access key, secret, scope
/// region), whose keys [`pipeline`] signs with.
const SIGNERS: [(&str, &str, &str); 3] = [
    (
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "us-east-1",
    ),
    ("AKIACONNECTOR1111111", "connector-secret", "eu-west-1"),
    (
        "AKIAFUZZGOVADMIN3333",
        "fuzz-gov-admin-secret",
        "us-gov-west-1",
    ),
];
const SERVICES: [&str; 3] = ["sts", "iam", "ec2"];

/// The whole request pipeline with valid signatures, on `fuzz/world.yaml`: the input is up
/// to eight form bodies separated by NUL bytes, each signed (by the identity and for the
/// service its first byte picks: signer `pick % 3`, service `pick / 3 % 3`) and answered
/// in turn, on a server reset for each input.
/// Returns the statuses.
///
/// # Panics
/// On any 5xx, as [`Pipeline::answer`].
pub fn pipeline(data: &[u8]) -> Vec<u16> {
    static PIPELINE: LazyLock<Pipeline> = LazyLock::new(|| {
        let world = World::from_yaml(include_str!("../../fuzz/world.yaml"))
            .unwrap_or_else(|e| panic!("fuzz/world.yaml: {e}"));
        Pipeline::new(world)
    });
    PIPELINE.reset();
    let mut statuses = Vec::new();
    for request in data.split(|b| *b == 0).take(8) {
        let Some((&pick, form)) = request.split_first() else {
            continue;
        };
        let signer = SIGNERS[usize::from(pick % 3)];
        let service = SERVICES[usize::from(pick / 3 % 3)];
        let parts = signed(signer, service, form, PIPELINE.state.clock.now());
        statuses.push(PIPELINE.answer(&parts, form));
    }
    statuses
}

/// A form POST signed in the `Authorization` header, by the server's own SigV4 code (the
/// real SDK signers are checked against it in the tests; here it only opens the door).
fn signed(
    (key_id, secret, region): (&str, &str, &str),
    service: &str,
    body: &[u8],
    now: SystemTime,
) -> Parts {
    let amz_date = crate::times::format_amz_date(now);
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::HOST,
        HeaderValue::from_static("127.0.0.1:4566"),
    );
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    if let Ok(date) = HeaderValue::from_str(&amz_date) {
        headers.insert(HeaderName::from_static("x-amz-date"), date);
    }
    let sig = Signature {
        access_key_id: key_id.into(),
        scope: Scope::new(amz_date.get(..8).unwrap_or_default(), region, service),
        signed_headers: "content-type;host;x-amz-date".into(),
        signature: None,
        amz_date: amz_date.as_str().into(),
        time: now,
        location: Location::Header,
        security_token: None,
    };
    let req = SignedRequest {
        method: "POST",
        path: "/",
        query: None,
        headers: &headers,
        body,
    };
    let payload = hex::encode(Sha256::digest(body));
    let string_to_sign =
        sigv4::string_to_sign(&sig, &sigv4::canonical_request(&req, &sig, &payload));
    let signature = sigv4::hmac(
        &sigv4::signing_key(secret, &sig.scope),
        string_to_sign.as_bytes(),
    );
    let authorization = format!(
        "{} Credential={key_id}/{}, SignedHeaders=content-type;host;x-amz-date, Signature={}",
        sigv4::ALGORITHM,
        sig.scope.as_str(),
        hex::encode(signature)
    );
    let mut request = http::Request::post("/")
        .body(())
        .unwrap_or_else(|_| unreachable!("a fixed URI"));
    *request.headers_mut() = headers;
    if let Ok(value) = HeaderValue::from_str(&authorization) {
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, value);
    }
    request.into_parts().0
}

/// The whole request path (parse, authenticate, authorize, handle, encode) on one server,
/// without sockets. Requests signed by the caller at [`Pipeline::now`] reach the handlers.
#[derive(Debug)]
pub struct Pipeline {
    state: State,
}

impl Pipeline {
    /// The time the pipeline's virtual clock stands at.
    pub const NOW: Duration = Duration::from_secs(1_800_000_000);

    /// A pipeline serving `world`, its clock stopped at [`Pipeline::NOW`].
    ///
    /// # Panics
    /// When the world is inconsistent (a fuzz target's fixed world, not fuzzer input).
    pub fn new(world: World) -> Self {
        let clock = Clock::virtual_at(SystemTime::UNIX_EPOCH + Self::NOW);
        let state = State::new(world, clock, Propagation::default())
            .unwrap_or_else(|e| panic!("the fuzz world must load: {e}"));
        Self { state }
    }

    /// Puts the world back as loaded, so that every input starts from the same state.
    ///
    /// # Panics
    /// When the loaded world does not load again (a bug, whatever the input).
    pub fn reset(&self) {
        if let Err(e) = self.state.iam.reset() {
            panic!("the fuzz world must reset: {e}");
        }
        self.state.ec2.clear();
    }

    /// Answers one request and returns its status.
    ///
    /// # Panics
    /// On a 5xx: a server error is a bug whatever the request.
    pub fn answer(&self, parts: &Parts, body: &[u8]) -> u16 {
        let now = self.state.clock.now();
        let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (response, _, _) = pipeline::answer(&self.state, parts, body, now, peer, "fuzz");
        let status = response.status();
        assert!(
            !status.is_server_error(),
            "{status} for {} {}",
            parts.method,
            parts.uri
        );
        status.as_u16()
    }
}
