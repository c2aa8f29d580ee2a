//! Delegate credential sources: EC2 instance metadata, the ECS container credentials
//! endpoint and EKS service-account tokens, each resolved by `aws-config`'s default
//! credentials chain given the delegate's environment (programmatically, never the process
//! environment), on the server's clock.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_ec2::error::ProvideErrorMetadata as _;
use aws_sdk_sts::error::SdkError;
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
use aws_smithy_runtime_api::client::result::ConnectorError;
use mock_server::{Clock, FaultEffect, FaultRule, MockServer};

use crate::support::*;

/// The world of these tests (also the botocore tests').
const WORLD: &str = include_str!("../worlds/delegates.yaml");

async fn server() -> MockServer {
    MockServer::builder()
        .world(mock_server::World::from_yaml(WORLD).unwrap())
        // On an hour boundary: instance credentials rotate hourly.
        .clock(Clock::virtual_at(
            std::time::UNIX_EPOCH + Duration::from_secs(1_893_456_000),
        ))
        .start()
        .await
        .unwrap()
}

fn env_of(server: &MockServer, delegate: &str) -> BTreeMap<String, String> {
    let mut env = server
        .delegate_env(delegate)
        .unwrap_or_else(|| panic!("no delegate {delegate}"));
    if !env.contains_key("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
        // Off an instance, keep the chain from probing the real 169.254.169.254.
        env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    }
    env
}

/// The SDK configuration a process on the delegate would load.
async fn config_on(server: &MockServer, env: &BTreeMap<String, String>) -> aws_config::SdkConfig {
    harness::sdk::delegate_config(env, harness::sdk::ServerTime::new(server.clock())).await
}

async fn caller_arn(
    config: &aws_config::SdkConfig,
) -> Result<String, SdkError<GetCallerIdentityError>> {
    aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map(|r| r.arn().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn an_instance_gets_its_profile_role_and_region_from_instance_metadata() {
    let server = server().await;
    let env = env_of(&server, "box");
    assert!(
        !env.contains_key("AWS_REGION"),
        "an instance has no region variable"
    );
    let config = config_on(&server, &env).await;
    assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
    let arn = caller_arn(&config).await.unwrap();
    let instance = format!("i-0{:016x}", fingerprint("box"));
    assert_eq!(
        arn,
        format!("arn:aws:sts::111111111111:assumed-role/delegate-role/{instance}")
    );
    // The role's own policies apply.
    aws_sdk_ec2::Client::new(&config)
        .describe_regions()
        .send()
        .await
        .unwrap();
}

/// Asserts that the container credentials endpoint answered `status`: a `ProviderError`
/// whose text names it, since aws-config keeps the status only in text.
#[track_caller]
fn assert_provider_status(err: &SdkError<GetCallerIdentityError>, status: u16) {
    let refused = credentials_error(err);
    assert!(
        matches!(refused, CredentialsError::ProviderError(_))
            && error_text(refused).contains(&format!("StatusCode({status})")),
        "not a {status} from the container endpoint: {}",
        error_text(err)
    );
}

/// `wire::fingerprint`, as the server derives instance ids from delegate names.
fn fingerprint(text: &str) -> u64 {
    let splitmix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    text.bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| splitmix(h ^ u64::from(b)))
}

#[tokio::test]
async fn an_instance_without_a_profile_or_with_an_untrusting_role_has_no_credentials() {
    let server = server().await;
    let bare = config_on(&server, &env_of(&server, "bare")).await;
    let err = caller_arn(&bare)
        .await
        .expect_err("credentials without a profile");
    let imds = chain_attempt(&err, "Ec2InstanceMetadata");
    assert!(
        matches!(imds, CredentialsError::CredentialsNotLoaded(_)),
        "{imds:?}"
    );
    // aws-config gives the status IMDS answered only in text.
    assert!(
        error_text(imds).contains("received 404 from IMDS"),
        "{}",
        error_text(&err)
    );

    let untrusting = config_on(&server, &env_of(&server, "wrong-trust")).await;
    let err = caller_arn(&untrusting)
        .await
        .expect_err("credentials for a role that does not trust EC2");
    let refused = credentials_error(&err);
    assert!(
        matches!(refused, CredentialsError::InvalidConfiguration(_)),
        "{refused:?}"
    );
    // aws-config puts the Code of IMDS's answer only into its text.
    assert!(
        error_text(refused).contains("[AssumeRoleUnauthorizedAccess]"),
        "{}",
        error_text(&err)
    );
    let logged = server
        .requests()
        .into_iter()
        .find(|r| r.service == "imds" && r.error_code == "AssumeRoleUnauthorizedAccess");
    assert!(logged.is_some(), "the refusal is not in the request log");
}

/// One raw HTTP request to the server, answered with `Connection: close`.
async fn http(server: &MockServer, method: &str, path: &str, headers: &[(&str, &str)]) -> Raw {
    http_to(server.address(), method, path, headers).await
}

/// One raw HTTP request to `address`, answered with `Connection: close`.
async fn http_to(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Raw {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\ncontent-length: 0\r\n"
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    raw_to(address, request.as_bytes())
        .await
        .expect("no answer")
}

/// The address of an `ec2` delegate's instance metadata: the root of its own port.
fn imds_address(server: &MockServer, delegate: &str) -> std::net::SocketAddr {
    let endpoint = env_of(server, delegate)
        .remove("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .unwrap_or_else(|| panic!("{delegate} has no instance metadata endpoint"));
    let address = endpoint
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not an http endpoint: {endpoint}"));
    assert!(
        !address.contains('/'),
        "the endpoint has a path: {endpoint}"
    );
    address
        .parse()
        .unwrap_or_else(|e| panic!("{endpoint}: {e}"))
}

/// One raw HTTP request to the instance metadata of `delegate`.
async fn imds(
    server: &MockServer,
    delegate: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Raw {
    http_to(imds_address(server, delegate), method, path, headers).await
}

async fn imds_token(server: &MockServer, delegate: &str, ttl: &str) -> Raw {
    imds(
        server,
        delegate,
        "PUT",
        "/latest/api/token",
        &[("x-aws-ec2-metadata-token-ttl-seconds", ttl)],
    )
    .await
}

#[tokio::test]
async fn imds_enforces_the_v2_token_flow() {
    let server = server().await;
    let roles = "/latest/meta-data/iam/security-credentials/";
    // IMDSv1 (no token) against an instance that requires v2.
    assert_eq!(imds(&server, "box", "GET", roles, &[]).await.status, 401);
    // ...and against one that allows it.
    let v1 = imds(
        &server,
        "v1box",
        "GET",
        "/latest/meta-data/iam/security-credentials/",
        &[],
    )
    .await;
    assert_eq!((v1.status, v1.body.as_str()), (200, "delegate-role"));

    let no_ttl = imds(&server, "box", "PUT", "/latest/api/token", &[]).await;
    assert_eq!(no_ttl.status, 400);
    assert_eq!(imds_token(&server, "box", "21601").await.status, 400);
    assert_eq!(imds_token(&server, "box", "0").await.status, 400);
    let proxied = imds(
        &server,
        "box",
        "PUT",
        "/latest/api/token",
        &[
            ("x-aws-ec2-metadata-token-ttl-seconds", "60"),
            ("x-forwarded-for", "10.0.0.1"),
        ],
    )
    .await;
    assert_eq!(proxied.status, 403);

    let token = imds_token(&server, "box", "60").await;
    assert_eq!(token.status, 200);
    assert_eq!(
        token.header("x-aws-ec2-metadata-token-ttl-seconds"),
        Some("60")
    );
    let get = |path: &'static str, t: String| {
        let server = &server;
        async move {
            imds(
                server,
                "box",
                "GET",
                path,
                &[("x-aws-ec2-metadata-token", t.as_str())],
            )
            .await
        }
    };
    let listed = get(roles, token.body.clone()).await;
    assert_eq!(
        (listed.status, listed.body.as_str()),
        (200, "delegate-role")
    );
    let zone = get(
        "/latest/meta-data/placement/availability-zone",
        token.body.clone(),
    )
    .await;
    assert_eq!(zone.body, "eu-west-1a");
    let document = get(
        "/latest/dynamic/instance-identity/document",
        token.body.clone(),
    )
    .await;
    let document: serde_json::Value = serde_json::from_str(&document.body).unwrap_or_default();
    assert_eq!(document["accountId"], "111111111111");
    assert_eq!(document["region"], "eu-west-1");
    let info = get("/latest/meta-data/iam/info", token.body.clone()).await;
    assert!(
        info.body
            .contains("arn:aws:iam::111111111111:instance-profile/delegate-role"),
        "{}",
        info.body
    );
    // A token is good for its own instance only, and only until it expires.
    let other = imds(
        &server,
        "v1box",
        "GET",
        "/latest/meta-data/instance-id",
        &[("x-aws-ec2-metadata-token", token.body.as_str())],
    )
    .await;
    assert_eq!(other.status, 401);
    assert_eq!(get(roles, "forged.token".into()).await.status, 401);
    server.clock().advance(Duration::from_secs(61));
    assert_eq!(get(roles, token.body.clone()).await.status, 401);
    // Instance metadata lives at the root of each instance's port, not on the server's.
    for path in [
        "/_delegate/box/latest/meta-data/",
        "/_delegate/nobody/latest/meta-data/",
    ] {
        assert_eq!(http(&server, "GET", path, &[]).await.status, 404, "{path}");
    }
    // SDKs that join paths with a trailing slash ask for `//latest/…` (Java, .NET).
    let doubled = imds(
        &server,
        "v1box",
        "GET",
        "//latest/meta-data/instance-id",
        &[],
    )
    .await;
    assert_eq!(doubled.status, 200, "{}", doubled.body);
}

#[tokio::test]
async fn instance_credentials_rotate_on_the_server_clock() {
    let server = server().await;
    let fetch = || async {
        let token = imds_token(&server, "box", "21600").await.body;
        let r = imds(
            &server,
            "box",
            "GET",
            "/latest/meta-data/iam/security-credentials/delegate-role",
            &[("x-aws-ec2-metadata-token", token.as_str())],
        )
        .await;
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap_or_default()
    };
    let first = fetch().await;
    assert_eq!(first["Code"], "Success");
    assert_eq!(first["Type"], "AWS-HMAC");
    assert!(
        first["AccessKeyId"]
            .as_str()
            .is_some_and(|k| k.starts_with("ASIA"))
    );
    server.clock().advance(Duration::from_secs(60));
    assert_eq!(
        fetch().await["AccessKeyId"],
        first["AccessKeyId"],
        "a new set within the hour (expected the same one)"
    );
    server.clock().advance(Duration::from_secs(3600));
    let next = fetch().await;
    assert_ne!(
        next["AccessKeyId"], first["AccessKeyId"],
        "the same set after an hour (expected a new one)"
    );
    assert!(
        next["Expiration"].as_str() > first["Expiration"].as_str(),
        "the new set expires later"
    );

    // The SDK's cache follows: after the first set expires it fetches again, and the new
    // set works.
    let config = config_on(&server, &env_of(&server, "box")).await;
    let provider = config.credentials_provider().expect("no provider");
    let before = provider.provide_credentials().await.unwrap();
    server.clock().advance(Duration::from_secs(7 * 3600));
    let after = provider.provide_credentials().await.unwrap();
    assert_ne!(before.access_key_id(), after.access_key_id());
    caller_arn(&config).await.unwrap();
}

#[tokio::test]
async fn a_task_gets_its_role_from_the_container_endpoint() {
    let server = server().await;
    for task in ["task", "task-file"] {
        let env = env_of(&server, task);
        let file = env.contains_key("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        assert_eq!(file, task == "task-file", "{env:?}");
        let config = config_on(&server, &env).await;
        let arn = caller_arn(&config)
            .await
            .unwrap_or_else(|e| panic!("{task}: {e:?}"));
        assert!(
            arn.starts_with("arn:aws:sts::111111111111:assumed-role/task-role/"),
            "{arn}"
        );
    }
    // A wrong token gets the agent's 400, which the SDK does not retry.
    let mut env = env_of(&server, "task");
    env.insert("AWS_CONTAINER_AUTHORIZATION_TOKEN".into(), "stolen".into());
    let err = caller_arn(&config_on(&server, &env).await)
        .await
        .expect_err("credentials with a stolen token");
    assert_provider_status(&err, 400);
    let direct = http(
        &server,
        "GET",
        "/_delegate/task/credentials",
        &[("authorization", "stolen")],
    )
    .await;
    assert_eq!(direct.status, 400);
    assert!(
        direct.body.contains("\"code\":\"InvalidIdInRequest\""),
        "{}",
        direct.body
    );
    let none = http(&server, "GET", "/_delegate/task/credentials", &[]).await;
    assert!(none.body.contains("NoIdInRequest"), "{}", none.body);
    // A task role that does not trust ecs-tasks.amazonaws.com yields no credentials.
    let err = caller_arn(&config_on(&server, &env_of(&server, "untrusted-task")).await)
        .await
        .expect_err("credentials for a task role that does not trust ECS tasks");
    assert_provider_status(&err, 503);
    let token = env_of(&server, "untrusted-task")
        .get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        .cloned()
        .unwrap_or_default();
    let direct = http(
        &server,
        "GET",
        "/_delegate/untrusted-task/credentials",
        &[("authorization", token.as_str())],
    )
    .await;
    assert_eq!(direct.status, 503);
    assert!(
        direct.body.contains("unable to assume the role"),
        "{}",
        direct.body
    );
}

#[tokio::test]
async fn a_pod_exchanges_its_service_account_token_for_the_annotated_role() {
    let server = server().await;
    let env = env_of(&server, "pod");
    assert_eq!(
        env.get("AWS_ROLE_ARN").map(String::as_str),
        Some("arn:aws:iam::111111111111:role/irsa-role")
    );
    let file = env
        .get("AWS_WEB_IDENTITY_TOKEN_FILE")
        .cloned()
        .unwrap_or_default();
    let token = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let claims = jwt_claims(&token);
    assert_eq!(claims["sub"], "system:serviceaccount:ci:deployer");
    assert_eq!(claims["aud"][0], "sts.amazonaws.com");
    assert_eq!(claims["kubernetes.io"]["namespace"], "ci");

    let config = config_on(&server, &env).await;
    let arn = caller_arn(&config).await.unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::111111111111:assumed-role/irsa-role/"),
        "{arn}"
    );

    // The kubelet's refresh, on the server clock: past 80 % of the day the file is new,
    // and a day later the pod still gets credentials.
    server.clock().advance(Duration::from_secs(20 * 3600));
    let refreshed = jwt_claims(&std::fs::read_to_string(&file).unwrap_or_default());
    assert!(
        refreshed["iat"].as_i64() > claims["iat"].as_i64(),
        "not refreshed"
    );
    server.clock().advance(Duration::from_secs(6 * 3600));
    let later = config_on(&server, &env).await;
    caller_arn(&later).await.expect("after a day");

    // Another service account is refused by the role's trust policy.
    let err = caller_arn(&config_on(&server, &env_of(&server, "wrong-sa")).await)
        .await
        .expect_err("credentials for a service account the role does not trust");
    let by_sts = source_of::<SdkError<AssumeRoleWithWebIdentityError>>(&err)
        .unwrap_or_else(|| panic!("not refused by STS: {}", error_text(&err)));
    assert_eq!(code(by_sts).as_deref(), Some("AccessDenied"), "{by_sts:?}");
    // A service account without the role annotation gets no web identity at all.
    let bare = env_of(&server, "unannotated");
    assert!(!bare.contains_key("AWS_ROLE_ARN"));
    assert!(!bare.contains_key("AWS_WEB_IDENTITY_TOKEN_FILE"));
    let err = caller_arn(&config_on(&server, &bare).await)
        .await
        .expect_err("credentials for a service account without a role");
    let web = chain_attempt(&err, "WebIdentityToken");
    assert!(
        matches!(web, CredentialsError::CredentialsNotLoaded(_)),
        "{web:?}"
    );
    // aws-config says why the provider was off only in text.
    assert!(
        error_text(web).contains("$AWS_WEB_IDENTITY_TOKEN_FILE was not set"),
        "{}",
        error_text(&err)
    );
}

fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

fn rule(service: &str, action: Option<&str>, effect: FaultEffect, first: Option<u64>) -> FaultRule {
    FaultRule {
        service: Some(service.into()),
        action: action.map(Into::into),
        principal: None,
        region: None,
        first,
        probability: None,
        seed: 0,
        effect,
    }
}

#[tokio::test]
async fn faults_on_delegate_endpoints_meet_the_sdks_retries_and_timeouts() {
    let server = server().await;
    let env = env_of(&server, "box");
    // One failed credentials fetch: the SDK retries it (5xx) and succeeds.
    server
        .add_fault(rule(
            "imds",
            Some("GetCredentials"),
            FaultEffect::InternalError,
            Some(1),
        ))
        .unwrap();
    caller_arn(&config_on(&server, &env).await)
        .await
        .expect("a single 500 was not retried");
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.service == "imds" && r.status == 500),
        "the fault never struck"
    );

    // IMDS down: every connection dropped. The chain gives up with an error, not a hang.
    server.clear_faults();
    server
        .add_fault(rule("imds", None, FaultEffect::DropConnection, None))
        .unwrap();
    let started = std::time::Instant::now();
    let err = caller_arn(&config_on(&server, &env).await)
        .await
        .expect_err("credentials with IMDS down");
    let imds = chain_attempt(&err, "Ec2InstanceMetadata");
    assert!(
        matches!(imds, CredentialsError::CredentialsNotLoaded(_))
            && source_of::<ConnectorError>(imds).is_some_and(|c| !c.is_timeout()),
        "not a dropped connection: {}",
        error_text(&err)
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    // IMDS slower than the SDK's 1 s read timeout.
    server.clear_faults();
    server
        .add_fault(rule(
            "imds",
            Some("GetToken"),
            FaultEffect::Latency(3000),
            None,
        ))
        .unwrap();
    let err = caller_arn(&config_on(&server, &env).await)
        .await
        .expect_err("credentials with IMDS slower than the SDK's timeout");
    let imds = chain_attempt(&err, "Ec2InstanceMetadata");
    assert!(
        source_of::<ConnectorError>(imds).is_some_and(ConnectorError::is_timeout),
        "not a timeout: {}",
        error_text(&err)
    );

    // The container endpoint's 500 is retried too; a 503 that never ends is not hidden.
    server.clear_faults();
    server
        .add_fault(rule("ecs", None, FaultEffect::InternalError, Some(1)))
        .unwrap();
    caller_arn(&config_on(&server, &env_of(&server, "task")).await)
        .await
        .expect("a single container-endpoint 500 was not retried");
    server.clear_faults();
    server
        .add_fault(rule("ecs", None, FaultEffect::ServiceUnavailable, None))
        .unwrap();
    let err = caller_arn(&config_on(&server, &env_of(&server, "task")).await)
        .await
        .expect_err("credentials with the container endpoint unavailable");
    assert_provider_status(&err, 503);
}

#[tokio::test]
async fn delegates_are_listed_and_added_through_the_control_api() {
    let server = MockServer::builder()
        .world(mock_server::World::from_yaml(WORLD).unwrap())
        .start()
        .await
        .unwrap();
    let listed = control(&server, "GET", "/_mock/delegates", "").await;
    let listed: serde_json::Value = serde_json::from_str(&listed.body).unwrap_or_default();
    let pod = listed["delegates"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == "pod").cloned())
        .unwrap_or_default();
    assert_eq!(pod["kind"], "eks");
    assert_eq!(pod["env"]["AWS_REGION"], "us-east-1");
    assert_eq!(pod["env"]["AWS_ENDPOINT_URL"], server.endpoint());

    let added = control(
        &server,
        "POST",
        "/_mock/delegates",
        r#"{"name": "late-box", "kind": "ec2", "account": "111111111111", "region": "us-east-2", "role_arn": "arn:aws:iam::111111111111:role/delegate-role"}"#,
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let config = config_on(&server, &env_of(&server, "late-box")).await;
    let arn = caller_arn(&config).await.unwrap();
    assert!(arn.contains("assumed-role/delegate-role/i-"), "{arn}");
    assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-2"));

    for bad in [
        r#"{"name": "x", "kind": "ec2", "account": "999999999999"}"#,
        r#"{"name": "x", "kind": "ec2", "account": "111111111111", "region": "us-gov-west-1"}"#,
        r#"{"name": "x", "kind": "ec2", "account": "111111111111", "issuer": "https://a"}"#,
        r#"{"name": "x", "kind": "eks", "account": "111111111111"}"#,
        r#"{"name": "x y", "kind": "ecs", "account": "111111111111"}"#,
        r#"{"name": "x", "kind": "ec2", "account": "111111111111", "role_arn": "arn:aws:iam::111111111111:role/absent"}"#,
        r#"{"name": "x", "kind": "lambda", "account": "111111111111"}"#,
        "nonsense",
    ] {
        let refused = control(&server, "POST", "/_mock/delegates", bad).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
    }
    assert!(
        server.delegate_env("x").is_none(),
        "a refused delegate was added"
    );
}

#[tokio::test]
async fn instance_metadata_is_at_the_root_of_a_port_that_lives_with_its_delegate() {
    let server = server().await;
    let env = env_of(&server, "box");
    let endpoint = &env["AWS_EC2_METADATA_SERVICE_ENDPOINT"];
    assert_eq!(env["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"], "IPv4");
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    let port = imds_address(&server, "box");
    assert_ne!(
        port,
        server.address(),
        "instance metadata shares the API port"
    );
    assert_ne!(
        port,
        imds_address(&server, "v1box"),
        "two instances share a port"
    );
    assert_eq!(imds_token(&server, "box", "60").await.status, 200);

    // A delegate replaced by one of the same name keeps its port (its environment holds).
    let mut spec = server
        .world()
        .delegates
        .into_iter()
        .find(|d| d.name == "box")
        .expect("no box");
    spec.region = "us-west-2".into();
    server.add_delegate(spec).unwrap();
    assert_eq!(imds_address(&server, "box"), port);
    let v1 = imds(
        &server,
        "v1box",
        "GET",
        "/latest/meta-data/placement/region",
        &[],
    )
    .await;
    assert_eq!(v1.body, "us-east-1");

    // A world without the delegate closes its port.
    let mut world = server.world();
    world.delegates.retain(|d| d.name != "box");
    server.load_world(world).unwrap();
    assert!(server.delegate_env("box").is_none());
    assert!(
        tokio::net::TcpStream::connect(port).await.is_err(),
        "the port of a delegate that went still accepts connections"
    );

    // ...and a stopped server closes them all.
    let remaining = imds_address(&server, "v1box");
    drop(server);
    tokio::task::yield_now().await;
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(remaining).await.is_err() {
            closed = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(closed, "the port outlived its server");
}

#[tokio::test]
async fn an_instance_with_the_ipv6_endpoint_is_served_on_ipv6_loopback() {
    let server = server().await;
    let env = env_of(&server, "box6");
    assert_eq!(env["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"], "IPv6");
    assert!(
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"].starts_with("http://[::1]:"),
        "{env:?}"
    );
    let config = config_on(&server, &env).await;
    assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
    let arn = caller_arn(&config).await.unwrap();
    assert!(arn.contains(":assumed-role/delegate-role/i-"), "{arn}");
}

/// The delegates world on a server whose IAM changes take 30 s to propagate.
async fn propagating_server() -> MockServer {
    MockServer::builder()
        .world(mock_server::World::from_yaml(WORLD).unwrap())
        .clock(Clock::virtual_at(
            std::time::UNIX_EPOCH + Duration::from_secs(1_893_456_000),
        ))
        .propagation_delay(Duration::from_secs(30))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_delegate_declared_on_a_propagating_server_is_ready_at_once() {
    let server = propagating_server().await;
    let added = control(
        &server,
        "POST",
        "/_mock/delegates",
        r#"{"name": "late-box", "kind": "ec2", "account": "111111111111", "role_arn": "arn:aws:iam::111111111111:role/delegate-role"}"#,
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let config = config_on(&server, &env_of(&server, "late-box")).await;
    let arn = caller_arn(&config)
        .await
        .expect("the declared delegate has no credentials yet");
    assert!(arn.contains("assumed-role/delegate-role/i-"), "{arn}");

    // A change a test makes to the role afterwards still propagates.
    let admin = harness::sdk::config_for(&server, &mock_server::DEFAULT_IDENTITIES[0], "us-east-1");
    aws_sdk_iam::Client::new(&admin)
        .detach_role_policy()
        .role_name("delegate-role")
        .policy_arn("arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&config);
    ec2.describe_regions()
        .send()
        .await
        .expect("the detach took effect before propagating");
    server.clock().advance(Duration::from_secs(30));
    let refused = ec2.describe_regions().send().await.err();
    assert_eq!(
        refused.as_ref().and_then(|e| e.code()),
        Some("UnauthorizedOperation"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_delegate_for_a_role_still_propagating_waits_for_the_role() {
    let server = propagating_server().await;
    let admin = harness::sdk::config_for(&server, &mock_server::DEFAULT_IDENTITIES[0], "us-east-1");
    aws_sdk_iam::Client::new(&admin)
        .create_role()
        .role_name("fresh")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let added = control(
        &server,
        "POST",
        "/_mock/delegates",
        r#"{"name": "fresh-box", "kind": "ec2", "account": "111111111111", "role_arn": "arn:aws:iam::111111111111:role/fresh"}"#,
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let roles = "/latest/meta-data/iam/security-credentials/";
    let token = imds_token(&server, "fresh-box", "60").await.body;
    let headers = [("x-aws-ec2-metadata-token", token.as_str())];
    assert_eq!(
        imds(&server, "fresh-box", "GET", roles, &headers)
            .await
            .status,
        404,
        "the profile of a role still propagating is in effect"
    );
    server.clock().advance(Duration::from_secs(30));
    let listed = imds(&server, "fresh-box", "GET", roles, &headers).await;
    assert_eq!((listed.status, listed.body.as_str()), (200, "fresh"));
}

#[tokio::test]
async fn the_instance_profile_made_for_a_declared_delegate_has_a_creation_date() {
    let server = propagating_server().await;
    let added = control(
        &server,
        "POST",
        "/_mock/delegates",
        r#"{"name": "task-box", "kind": "ec2", "account": "111111111111", "role_arn": "arn:aws:iam::111111111111:role/task-role"}"#,
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let admin = harness::sdk::config_for(&server, &mock_server::DEFAULT_IDENTITIES[0], "us-east-1");
    let profile = aws_sdk_iam::Client::new(&admin)
        .get_instance_profile()
        .instance_profile_name("task-role")
        .send()
        .await
        .expect("the SDK parses the profile, its CreateDate included");
    let created = profile.instance_profile().map(|p| p.create_date().secs());
    assert_eq!(created, Some(1_893_456_000), "{profile:?}");
}

#[tokio::test]
async fn a_pod_beyond_the_node_hop_limit_never_gets_a_token_but_imdsv1_works() {
    let server = server().await;
    let pod = imds_address(&server, "pod-on-v1box");
    assert_ne!(
        pod,
        imds_address(&server, "v1box"),
        "a pod has a port of its own"
    );
    // The token's response never arrives from one hop further than the limit of 1 ...
    let token = tokio::time::timeout(
        Duration::from_millis(300),
        http_to(
            pod,
            "PUT",
            "/latest/api/token",
            &[("x-aws-ec2-metadata-token-ttl-seconds", "21600")],
        ),
    )
    .await;
    assert!(token.is_err(), "a token reached the pod: {token:?}");
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.action == "GetToken" && r.error_code == "HopLimitExceeded"),
        "the dropped token response is logged"
    );
    // ... while the node itself gets one, and IMDSv1 GETs (no hop limit) reach the pod.
    assert_eq!(imds_token(&server, "v1box", "21600").await.status, 200);
    let v1 = http_to(pod, "GET", "/latest/meta-data/instance-id", &[]).await;
    assert_eq!(v1.status, 200);
    assert_eq!(v1.body, format!("i-0{:016x}", fingerprint("v1box")));
    // aws-config, which never falls back to IMDSv1, times out on the token and has no
    // credentials.
    let env = env_of(&server, "pod-on-v1box");
    let err = caller_arn(&config_on(&server, &env).await)
        .await
        .expect_err("credentials beyond the hop limit");
    let timed_out = harness::errors::links(&err)
        .filter_map(|e| e.downcast_ref::<ConnectorError>())
        .any(ConnectorError::is_timeout);
    assert!(timed_out, "{err:?}");
}

#[tokio::test]
async fn a_pod_within_the_node_hop_limit_uses_the_node_role() {
    let server = server().await;
    let env = env_of(&server, "pod-on-hop2-node");
    assert!(!env.contains_key("AWS_ROLE_ARN"), "no IRSA: {env:?}");
    let arn = caller_arn(&config_on(&server, &env).await).await.unwrap();
    let node = format!("i-0{:016x}", fingerprint("hop2-node"));
    assert_eq!(
        arn,
        format!("arn:aws:sts::111111111111:assumed-role/delegate-role/{node}")
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_refuses_connections_and_others_still_work() {
    let server = server().await;
    let env = env_of(&server, "walled");
    assert_eq!(env["AWS_ENDPOINT_URL_STS"], "http://127.0.0.1:1");
    let config = config_on(&server, &env).await;
    let err = caller_arn(&config).await.expect_err("STS is unreachable");
    let refused = matches!(&err, SdkError::DispatchFailure(d) if d.is_io());
    assert!(refused, "{err:?}");
    // EC2 is reached, with the instance role's credentials from instance metadata.
    aws_sdk_ec2::Client::new(&config)
        .describe_regions()
        .send()
        .await
        .unwrap();
}
