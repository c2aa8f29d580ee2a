//! IRSA: an EKS pod's web identity, through the built-in OIDC issuer and
//! `AssumeRoleWithWebIdentity`, resolved by `aws-config`'s own default credential chain from
//! the environment EKS injects (`AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`).

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_sts::error::SdkError;
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
use aws_types::os_shim_internal::{Env, Fs};
use mock_server::{Clock, MockServer, World};

use crate::support::*;

const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const HOST_PATH: &str = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const ROLE: &str = "arn:aws:iam::111111111111:role/cdp-admin-role";
const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";

fn world() -> World {
    let yaml = format!(
        r#"
accounts:
  - id: "111111111111"
    open_id_connect_providers:
      - {{url: "{ISSUER}", client_ids: [sts.amazonaws.com]}}
    policies:
      - name: DescribeRegions
        document: {{Version: "2012-10-17", Statement: {{Effect: Allow, Action: "ec2:DescribeRegions", Resource: "*"}}}}
    roles:
      - name: cdp-admin-role
        managed_policies: [DescribeRegions]
        trust_policy:
          Version: "2012-10-17"
          Statement:
            Effect: Allow
            Principal: {{Federated: "arn:aws:iam::111111111111:oidc-provider/{HOST_PATH}"}}
            Action: "sts:AssumeRoleWithWebIdentity"
            Condition:
              StringEquals:
                "{HOST_PATH}:sub": "system:serviceaccount:default:cdp-admin"
                "{HOST_PATH}:aud": sts.amazonaws.com
"#
    );
    World::from_yaml(&yaml).unwrap()
}

async fn server() -> MockServer {
    MockServer::builder()
        .world(world())
        .clock(Clock::virtual_now())
        .start()
        .await
        .unwrap()
}

/// A token from the control API.
async fn token(server: &MockServer, issuer: &str, sub: &str, aud: &str, ttl: i64) -> String {
    let body = serde_json::json!({ "issuer": issuer, "sub": sub, "aud": aud, "ttl_seconds": ttl })
        .to_string();
    let r = control(server, "POST", "/_mock/oidc/token", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["token"].as_str().unwrap_or_default().to_owned()
}

/// What a process in the pod sees, and the SdkConfig `aws-config` builds from it.
async fn pod_config(server: &MockServer, token: &str) -> aws_config::SdkConfig {
    let endpoint = server.endpoint();
    let env = Env::from_slice(&[
        ("AWS_ROLE_ARN", ROLE),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", TOKEN_FILE),
        ("AWS_ROLE_SESSION_NAME", "delegate-pod"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let fs = Fs::from_slice(&[(TOKEN_FILE, token)]);
    aws_config::defaults(BehaviorVersion::latest())
        .env(env)
        .fs(fs)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .time_source(harness::sdk::ServerTime::new(server.clock()))
        .load()
        .await
}

#[tokio::test]
async fn a_pod_with_the_annotated_service_account_gets_the_role() {
    let server = server().await;
    let token = token(
        &server,
        ISSUER,
        "system:serviceaccount:default:cdp-admin",
        "sts.amazonaws.com",
        3600,
    )
    .await;
    let config = pod_config(&server, &token).await;
    let me = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::111111111111:assumed-role/cdp-admin-role/delegate-pod")
    );
    let regions = aws_sdk_ec2::Client::new(&config)
        .describe_regions()
        .send()
        .await;
    succeeds(regions);
}

#[tokio::test]
async fn the_default_service_account_is_refused_until_the_delegate_uses_the_right_one() {
    // The connector docs' IRSA step: the delegate still runs as `default`.
    let server = server().await;
    let sts = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        STD.access_key_id,
        STD.secret_access_key,
        "us-east-1",
    ));
    let wrong = token(
        &server,
        ISSUER,
        "system:serviceaccount:default:default",
        "sts.amazonaws.com",
        3600,
    )
    .await;
    let err = sts
        .assume_role_with_web_identity()
        .role_arn(ROLE)
        .role_session_name("pod")
        .web_identity_token(&wrong)
        .send()
        .await
        .err();
    let err = err.expect("the default service account was trusted");
    assert_eq!(
        (code(&err), message(&err)),
        (
            Some("AccessDenied".into()),
            "Not authorized to perform sts:AssumeRoleWithWebIdentity".into()
        )
    );
    let config = pod_config(&server, &wrong).await;
    let err = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("credentials for the default service account");
    // The SDK's own AssumeRoleWithWebIdentity failed: the provider's error carries STS's.
    let by_sts = source_of::<SdkError<AssumeRoleWithWebIdentityError>>(&err)
        .unwrap_or_else(|| panic!("not refused by STS: {}", error_text(&err)));
    assert_eq!(code(by_sts).as_deref(), Some("AccessDenied"), "{by_sts:?}");

    // After the fix (serviceAccountName: cdp-admin) the same pod gets the role.
    let fixed = token(
        &server,
        ISSUER,
        "system:serviceaccount:default:cdp-admin",
        "sts.amazonaws.com",
        3600,
    )
    .await;
    let out = sts
        .assume_role_with_web_identity()
        .role_arn(ROLE)
        .role_session_name("pod")
        .web_identity_token(&fixed)
        .send()
        .await;
    let out = out.unwrap();
    assert_eq!(
        out.subject_from_web_identity_token(),
        Some("system:serviceaccount:default:cdp-admin")
    );
    assert_eq!(out.audience(), Some("sts.amazonaws.com"));
    assert_eq!(out.provider(), Some(ISSUER));
}

#[tokio::test]
async fn web_identity_tokens_are_checked_like_sts_checks_them() {
    let server = server().await;
    let sts = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        STD.access_key_id,
        STD.secret_access_key,
        "us-east-1",
    ));
    let call = |token: String| {
        let sts = sts.clone();
        async move {
            sts.assume_role_with_web_identity()
                .role_arn(ROLE)
                .role_session_name("pod")
                .web_identity_token(token)
                .send()
                .await
        }
    };
    let sub = "system:serviceaccount:default:cdp-admin";

    let wrong_aud = call(token(&server, ISSUER, sub, "my-app", 3600).await)
        .await
        .expect_err("accepted");
    assert_eq!(
        (code(&wrong_aud), message(&wrong_aud)),
        (
            Some("InvalidIdentityToken".into()),
            "Incorrect token audience".into()
        )
    );

    let other_issuer = "https://oidc.eks.us-west-2.amazonaws.com/id/OTHER";
    let no_provider = fails_with(
        call(token(&server, other_issuer, sub, "sts.amazonaws.com", 3600).await).await,
        "InvalidIdentityToken",
    );
    assert_eq!(
        message(&no_provider),
        format!("No OpenIDConnect provider found in your account for {other_issuer}")
    );

    let good = token(&server, ISSUER, sub, "sts.amazonaws.com", 600).await;
    let mut forged = good.clone();
    forged.pop();
    forged.push(if good.ends_with('A') { 'B' } else { 'A' });
    fails_with(call(forged).await, "InvalidIdentityToken");

    server.clock().advance(Duration::from_secs(601));
    let expired = fails_with(call(good).await, "ExpiredTokenException");
    assert!(
        message(&expired).starts_with("Token expired: current date/time"),
        "{}",
        message(&expired)
    );
}

#[tokio::test]
async fn issuers_publish_discovery_documents_and_keys() {
    let server = server().await;
    let jwt = token(&server, ISSUER, "sub", "sts.amazonaws.com", 60).await;
    let get = |path: String| {
        format!(
            "GET {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
            server.address()
        )
        .into_bytes()
    };
    let doc = raw(
        &server,
        &get(format!(
            "/_mock/oidc/{HOST_PATH}/.well-known/openid-configuration"
        )),
    )
    .await
    .expect("no answer");
    let doc: serde_json::Value = serde_json::from_str(&doc.body).unwrap();
    assert_eq!(doc["issuer"], ISSUER);
    let jwks_path = doc["jwks_uri"]
        .as_str()
        .unwrap_or_default()
        .replace(&server.endpoint(), "");
    let keys = raw(&server, &get(jwks_path)).await.expect("no answer");
    let keys: serde_json::Value = serde_json::from_str(&keys.body).unwrap();
    let header = jwt.split('.').next().unwrap_or_default();
    let header = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
        .unwrap_or_default();
    let header = String::from_utf8(header).unwrap_or_default();
    let kid = serde_json::from_str::<serde_json::Value>(&header)
        .map(|h| h["kid"].clone())
        .unwrap_or_default();
    assert_eq!(keys["keys"][0]["kid"], kid);
    assert_eq!(keys["keys"][0]["alg"], "RS256");
}
