//! Shared helpers: clients for a server, error codes, raw HTTP and SigV4-signed raw requests.

use std::error::Error;
use std::fmt::Debug;
use std::time::{Duration, SystemTime};

use aws_config::meta::ProviderChainError;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::display::DisplayErrorContext;
use harness::sdk::{access_key, config_for, sdk_config};
use harness::signing::{self, Target};
use mock_server::{Clock, DEFAULT_IDENTITIES, DefaultIdentity, MockServer, World};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) const STD: &DefaultIdentity = &DEFAULT_IDENTITIES[0];
pub(crate) const GOV: &DefaultIdentity = &DEFAULT_IDENTITIES[2];

pub(crate) fn sts(server: &MockServer, who: &DefaultIdentity, region: &str) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&config_for(server, who, region))
}

pub(crate) fn ec2(server: &MockServer, who: &DefaultIdentity, region: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&config_for(server, who, region))
}

/// An SdkConfig with explicit key material.
/// An IAM client for the default world's administrator.
pub(crate) fn iam_admin(server: &MockServer) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&config_with_key(
        server,
        STD.access_key_id,
        STD.secret_access_key,
        "us-east-1",
    ))
}

/// Creates a user with one access key.
pub(crate) async fn user_with_key(
    admin: &aws_sdk_iam::Client,
    name: &str,
) -> aws_sdk_iam::types::AccessKey {
    admin.create_user().user_name(name).send().await.unwrap();
    let made = admin
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    made.access_key().cloned().expect("no key")
}

pub(crate) fn config_with_key(
    server: &MockServer,
    key: &str,
    secret: &str,
    region: &str,
) -> aws_config::SdkConfig {
    sdk_config(
        &server.endpoint(),
        access_key(key, secret),
        region,
        server.clock(),
    )
}

/// The AWS error code of an SDK error.
pub(crate) fn code<E: ProvideErrorMetadata>(err: &E) -> Option<String> {
    err.code().map(str::to_owned)
}

/// The AWS error message of an SDK error.
pub(crate) fn message<E: ProvideErrorMetadata>(err: &E) -> String {
    err.message().unwrap_or_default().to_owned()
}

/// The output of a call that must succeed; a failure panics with the whole error.
#[track_caller]
pub(crate) fn succeeds<T, E: Debug>(result: Result<T, E>) -> T {
    match result {
        Ok(out) => out,
        Err(e) => panic!("expected success, got {e:?}"),
    }
}

/// The error of a call that must fail with the AWS error `code`, for further checks; panics
/// with what came instead (an output, or an error with another code or none).
#[track_caller]
pub(crate) fn fails_with<T: Debug, E: ProvideErrorMetadata + Debug>(
    result: Result<T, E>,
    code: &str,
) -> E {
    match result {
        Ok(out) => panic!("expected {code}, got success: {out:?}"),
        Err(e) if e.code() == Some(code) => e,
        Err(e) => panic!("expected {code}, got {:?}: {e:?}", e.code()),
    }
}

/// The first of `err` and its sources that is a `T`.
pub(crate) fn source_of<'a, T: Error + 'static>(err: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// Why a call found no credentials: the credentials provider's error inside an SDK error
/// (a `DispatchFailure` with no AWS error code).
#[track_caller]
pub(crate) fn credentials_error<'a>(err: &'a (dyn Error + 'static)) -> &'a CredentialsError {
    source_of(err).unwrap_or_else(|| panic!("not a credentials error: {}", error_text(err)))
}

/// The error of the default chain's provider `name` (`Ec2InstanceMetadata`, `EcsContainer`,
/// `WebIdentityToken`, …) when no provider of the chain had credentials.
#[track_caller]
pub(crate) fn chain_attempt<'a>(
    err: &'a (dyn Error + 'static),
    name: &str,
) -> &'a CredentialsError {
    source_of::<ProviderChainError<CredentialsError>>(err)
        .and_then(|chain| chain.attempts().iter().find(|a| a.name() == name))
        .map(|attempt| attempt.error())
        .unwrap_or_else(|| {
            panic!(
                "no {name} in a chain that found nothing: {}",
                error_text(err)
            )
        })
}

/// `err` and its sources as one line, for what aws-config says only in text.
pub(crate) fn error_text(err: &(dyn Error + 'static)) -> String {
    DisplayErrorContext(err).to_string()
}

/// A server with the given world (YAML).
pub(crate) async fn server_with(yaml: &str) -> MockServer {
    let world = World::from_yaml(yaml).expect("test world");
    MockServer::builder()
        .world(world)
        .start()
        .await
        .expect("test server")
}

/// Rewrites (or removes, with `None`) the Authorization header after signing.
#[derive(Debug)]
pub(crate) struct ReplaceAuthorization(pub(crate) Option<&'static str>);

impl Intercept for ReplaceAuthorization {
    fn name(&self) -> &'static str {
        "ReplaceAuthorization"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let headers = ctx.request_mut().headers_mut();
        headers.remove("authorization");
        if let Some(value) = self.0 {
            headers.insert("authorization", value);
        }
        Ok(())
    }
}

/// A raw HTTP response.
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Raw {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an EC2-shaped error (`Response/Errors/Error`, `RequestID` equal to the
    /// `x-amzn-requestid` header) with this status and code.
    pub(crate) fn assert_ec2_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let prefix = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>"
        );
        assert!(
            self.body.starts_with(&prefix),
            "not an EC2 {code} error: {}",
            self.body
        );
        assert!(
            self.xml("RequestID").is_some()
                && self.xml("RequestID") == self.header("x-amzn-requestid"),
            "{}",
            self.body
        );
    }

    /// Asserts an STS/IAM-shaped error (`ErrorResponse/Error` with `Type`) with this status
    /// and code, in `namespace`.
    pub(crate) fn assert_query_error(&self, status: u16, code: &str, namespace: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let prefix = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{namespace}\"><Error><Type>Sender</Type><Code>{code}</Code>"
        );
        assert!(
            self.body.starts_with(&prefix),
            "not a query {code} error: {}",
            self.body
        );
        assert!(
            self.xml("RequestId").is_some()
                && self.xml("RequestId") == self.header("x-amzn-requestid"),
            "{}",
            self.body
        );
    }

    /// The text of the first `<tag>…</tag>` in the body.
    pub(crate) fn xml(&self, tag: &str) -> Option<&str> {
        let open = format!("<{tag}>");
        let start = self.body.find(&open)? + open.len();
        let end = self.body[start..].find(&format!("</{tag}>"))? + start;
        Some(&self.body[start..end])
    }
}

/// A control API call (`/_mock/…`) with a JSON body; panics when nothing answers.
pub(crate) async fn control(server: &MockServer, method: &str, path: &str, body: &str) -> Raw {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        server.address(),
        body.len()
    );
    raw(server, request.as_bytes()).await.expect("no answer")
}

/// Sends raw bytes and reads the response until the server closes (requests should say
/// `Connection: close`). Returns `None` when the server closed without answering.
pub(crate) async fn raw(server: &MockServer, request: &[u8]) -> Option<Raw> {
    raw_to(server.address(), request).await
}

/// [`raw`], to any address (a delegate's instance metadata port).
pub(crate) async fn raw_to(address: std::net::SocketAddr, request: &[u8]) -> Option<Raw> {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "server did not answer or close within 10 s");
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> Option<Raw> {
    let text = String::from_utf8_lossy(buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Raw {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// A POST of `form` to `/`, as bytes, with extra headers.
pub(crate) fn post(server: &MockServer, form: &[u8], headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!(
        "POST / HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n",
        server.address(),
        form.len()
    )
    .into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(form);
    out
}

fn target<'a>(
    server: &MockServer,
    who: &'a DefaultIdentity,
    service: &'a str,
    region: &'a str,
    time: SystemTime,
) -> Target<'a> {
    Target {
        addr: server.address(),
        who,
        service,
        region,
        time,
    }
}

/// A POST of `form` signed by `aws-sigv4` for `service`/`region` at `time`, as the SDKs do.
pub(crate) fn signed_post(
    server: &MockServer,
    who: &DefaultIdentity,
    service: &str,
    region: &str,
    form: &str,
    time: SystemTime,
) -> Vec<u8> {
    let target = target(server, who, service, region, time);
    signing::signed_post(&target, form, &[("connection", "close")]).unwrap()
}

/// [`signed_post`] on a connection the client means to keep open (no `Connection: close`).
pub(crate) fn signed_post_keep_alive(
    server: &MockServer,
    who: &DefaultIdentity,
    service: &str,
    form: &str,
) -> Vec<u8> {
    let target = target(server, who, service, "us-east-1", server.clock().now());
    signing::signed_post(&target, form, &[]).unwrap()
}

/// Sends `form` signed now by the standard admin for `service` in `us-east-1`.
pub(crate) async fn send_signed(server: &MockServer, service: &str, form: &str) -> Raw {
    let request = signed_post(
        server,
        STD,
        service,
        "us-east-1",
        form,
        server.clock().now(),
    );
    raw(server, &request).await.expect("no answer")
}

/// STS and EC2 clients for the standard admin whose Authorization header is replaced.
pub(crate) fn clients_with(
    server: &MockServer,
    auth: Option<&'static str>,
) -> (aws_sdk_sts::Client, aws_sdk_ec2::Client) {
    let base = config_with_key(
        server,
        STD.access_key_id,
        STD.secret_access_key,
        "us-east-1",
    );
    let sts = aws_sdk_sts::config::Builder::from(&base)
        .interceptor(ReplaceAuthorization(auth))
        .build();
    let ec2 = aws_sdk_ec2::config::Builder::from(&base)
        .interceptor(ReplaceAuthorization(auth))
        .build();
    (
        aws_sdk_sts::Client::from_conf(sts),
        aws_sdk_ec2::Client::from_conf(ec2),
    )
}

/// A GET of `/?{query}` presigned by `aws-sigv4`, valid for `expires`.
pub(crate) fn presigned_get(
    server: &MockServer,
    who: &DefaultIdentity,
    service: &str,
    region: &str,
    query: &str,
    time: SystemTime,
    expires: Duration,
) -> Vec<u8> {
    let target = target(server, who, service, region, time);
    signing::presigned_get(&target, query, expires, &[("connection", "close")]).unwrap()
}

/// A clock for an SDK client that runs `offset` away from the server's.
pub(crate) fn skewed_clock(server: &MockServer, offset: Duration, ahead: bool) -> Clock {
    let now = server.clock().now();
    Clock::virtual_at(if ahead { now + offset } else { now - offset })
}

pub(crate) const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
pub(crate) const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub(crate) const FAULT_NS: &str = "http://webservices.amazon.com/AWSFault/2005-15-09";

/// Decodes an EC2 "Encoded authorization failure message" with STS, as `decoder` (a key
/// pair allowed `sts:DecodeAuthorizationMessage`).
pub(crate) async fn decode_with(
    server: &MockServer,
    decoder: (&str, &str),
    message: &str,
) -> serde_json::Value {
    let blob = message
        .split("Encoded authorization failure message: ")
        .nth(1)
        .unwrap_or_else(|| panic!("not an encoded message: {message}"));
    let sts = aws_sdk_sts::Client::new(&config_with_key(server, decoder.0, decoder.1, "us-east-1"));
    let out = sts
        .decode_authorization_message()
        .encoded_message(blob)
        .send()
        .await;
    let decoded = out
        .unwrap()
        .decoded_message()
        .unwrap_or_default()
        .to_owned();
    serde_json::from_str(&decoded).unwrap_or_else(|e| panic!("{e}: {decoded}"))
}

/// Decodes with the root of account 444444444444 of [`WORLD_444`].
pub(crate) async fn decode_authorization_message(
    server: &MockServer,
    message: &str,
) -> serde_json::Value {
    decode_with(server, ("AKIAROOT444444444444", "root-secret"), message).await
}

/// A world where account 444444444444 has users with the given policies (YAML snippets).
pub(crate) const WORLD_444: &str = r#"
accounts:
  - id: "444444444444"
    root_access_keys:
      - {id: AKIAROOT444444444444, secret: root-secret}
    opted_in_regions: [af-south-1]
    policies:
      - name: HarnessDescribeRegions
        document:
          Version: "2012-10-17"
          Statement:
            - {Sid: VisualEditor0, Effect: Allow, Action: "ec2:DescribeRegions", Resource: "*"}
      - name: DenyEc2
        path: /guardrails/
        document: {Version: "2012-10-17", Statement: {Effect: Deny, Action: ["ec2:*", "iam:ListUsers"], Resource: "*"}}
    users:
      - name: nobody
        access_keys:
          - {id: AKIANOBODY4444444444, secret: nobody-secret}
          - {id: AKIAINACTIVE44444444, secret: inactive-secret, status: Inactive}
      - name: connector
        managed_policies: [HarnessDescribeRegions]
        access_keys:
          - {id: AKIACONNECTOR4444444, secret: connector-secret}
      - name: denied-by-managed
        managed_policies: [AdministratorAccess, DenyEc2]
        access_keys:
          - {id: AKIADENIEDMANAGED444, secret: denied-managed-secret}
      - name: denied
        managed_policies: [AdministratorAccess]
        inline_policies:
          deny-ec2: '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:*","Resource":"*"}]}'
        access_keys:
          - {id: AKIADENIED4444444444, secret: denied-secret}
"#;
