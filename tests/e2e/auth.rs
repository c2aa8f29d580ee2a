//! SigV4 authentication failures, each asserted through the real SDK's parsed error code.

use std::time::Duration;

use harness::sdk::{access_key, sdk_config};
use mock_server::MockServer;

use crate::support::*;

async fn sts_code(config: &aws_config::SdkConfig) -> (Option<String>, String) {
    match aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(out) => panic!("accepted as {:?}", out.arn()),
        Err(e) => (code(&e), message(&e)),
    }
}

async fn ec2_code(config: &aws_config::SdkConfig) -> (Option<String>, String) {
    match aws_sdk_ec2::Client::new(config)
        .describe_regions()
        .send()
        .await
    {
        Ok(_) => panic!("accepted"),
        Err(e) => (code(&e), message(&e)),
    }
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
const EC2_AUTH: &str = "AWS was not able to validate the provided access credentials";

#[tokio::test]
async fn unknown_access_key_is_invalid_client_token_id_on_sts_and_auth_failure_on_ec2() {
    let server = MockServer::start().await;
    let config = config_with_key(&server, "AKIAUNKNOWNKEY000000", "whatever", "us-east-1");
    assert_eq!(
        sts_code(&config).await,
        (Some("InvalidClientTokenId".into()), INVALID_TOKEN.into())
    );
    assert_eq!(
        ec2_code(&config).await,
        (Some("AuthFailure".into()), EC2_AUTH.into())
    );
}

#[tokio::test]
async fn wrong_secret_is_signature_does_not_match() {
    let server = MockServer::start().await;
    let config = config_with_key(&server, STD.access_key_id, "wrong-secret", "us-east-1");
    let (code, message) = sts_code(&config).await;
    assert_eq!(code.as_deref(), Some("SignatureDoesNotMatch"));
    assert!(
        message.starts_with("The request signature we calculated does not match"),
        "{message}"
    );
    assert_eq!(
        ec2_code(&config).await,
        (Some("AuthFailure".into()), EC2_AUTH.into())
    );
}

#[tokio::test]
async fn inactive_key_is_refused_as_invalid() {
    let server = server_with(WORLD_444).await;
    let config = config_with_key(
        &server,
        "AKIAINACTIVE44444444",
        "inactive-secret",
        "us-east-1",
    );
    assert_eq!(
        sts_code(&config).await.0.as_deref(),
        Some("InvalidClientTokenId")
    );
    assert_eq!(ec2_code(&config).await.0.as_deref(), Some("AuthFailure"));
}

#[tokio::test]
async fn keys_do_not_cross_partitions() {
    let server = MockServer::start().await;
    // The connector docs: GovCloud credentials cannot reach standard regions, nor the reverse.
    for (who, region) in [
        (GOV, "us-east-1"),
        (STD, "us-gov-west-1"),
        (STD, "cn-north-1"),
    ] {
        let config = config_with_key(&server, who.access_key_id, who.secret_access_key, region);
        assert_eq!(
            sts_code(&config).await.0.as_deref(),
            Some("InvalidClientTokenId"),
            "{region}"
        );
        assert_eq!(
            ec2_code(&config).await.0.as_deref(),
            Some("AuthFailure"),
            "{region}"
        );
    }
}

#[tokio::test]
async fn an_opt_in_region_the_account_has_not_enabled_does_not_know_its_keys() {
    let server = server_with(WORLD_444).await;
    let key = ("AKIACONNECTOR4444444", "connector-secret");
    let disabled = config_with_key(&server, key.0, key.1, "me-south-1");
    assert_eq!(
        sts_code(&disabled).await.0.as_deref(),
        Some("InvalidClientTokenId")
    );
    let enabled = config_with_key(&server, key.0, key.1, "af-south-1");
    let out = aws_sdk_sts::Client::new(&enabled)
        .get_caller_identity()
        .send()
        .await;
    succeeds(out);
}

#[tokio::test]
async fn an_unknown_region_in_the_scope_is_refused() {
    let server = MockServer::start().await;
    let config = config_with_key(
        &server,
        STD.access_key_id,
        STD.secret_access_key,
        "us-fake-1",
    );
    let (code, message) = sts_code(&config).await;
    assert_eq!(code.as_deref(), Some("SignatureDoesNotMatch"));
    assert_eq!(
        message,
        "Credential should be scoped to a valid region, not 'us-fake-1'. "
    );
}

#[tokio::test]
async fn missing_authentication_is_refused_in_each_services_words() {
    let server = MockServer::start().await;
    let (sts, ec2) = clients_with(&server, None);
    let err = fails_with(
        sts.get_caller_identity().send().await,
        "MissingAuthenticationToken",
    );
    assert_eq!(message(&err), "Request is missing Authentication Token");
    let err = fails_with(ec2.describe_regions().send().await, "MissingParameter");
    assert_eq!(
        message(&err),
        "The request must contain the parameter AWSAccessKeyId"
    );
}

#[tokio::test]
async fn a_malformed_authorization_header_is_incomplete_signature() {
    let server = MockServer::start().await;
    let header =
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/sts/aws4_request";
    let (sts, _) = clients_with(&server, Some(header));
    let err = fails_with(
        sts.get_caller_identity().send().await,
        "IncompleteSignature",
    );
    assert_eq!(
        message(&err),
        format!(
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization={header}"
        )
    );

    let header =
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ec2/aws4_request";
    let (_, ec2) = clients_with(&server, Some(header));
    let err = ec2.describe_regions().send().await.expect_err("accepted");
    assert_eq!(
        (code(&err), message(&err)),
        (Some("AuthFailure".into()), EC2_AUTH.into())
    );
}

#[tokio::test]
async fn a_request_time_outside_fifteen_minutes_is_refused() {
    let server = MockServer::start().await;
    for (ahead, prefix) in [
        (false, "Signature expired: "),
        (true, "Signature not yet current: "),
    ] {
        let sdk_clock = skewed_clock(&server, Duration::from_secs(20 * 60), ahead);
        let config = std_config_on(&server, &sdk_clock);
        let (code, message) = sts_code(&config).await;
        assert_eq!(code.as_deref(), Some("SignatureDoesNotMatch"));
        assert!(message.starts_with(prefix), "{message}");
        assert!(
            message.ends_with(if ahead { " + 15 min.)" } else { " - 15 min.)" }),
            "{message}"
        );
        assert_eq!(
            ec2_code(&config).await,
            (Some("RequestExpired".into()), "Request has expired.".into())
        );
    }
}

#[tokio::test]
async fn fourteen_minutes_of_skew_is_still_accepted() {
    let server = MockServer::start().await;
    let sdk_clock = skewed_clock(&server, Duration::from_secs(14 * 60), false);
    let config = std_config_on(&server, &sdk_clock);
    let out = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await;
    succeeds(out);
}

#[tokio::test]
async fn the_virtual_clock_decides_the_signature_window() {
    let start = std::time::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    let server = MockServer::builder()
        .clock(mock_server::Clock::virtual_at(start))
        .start()
        .await
        .unwrap();
    // The SDK signs on its own frozen clock; moving only the server's makes the signature stale.
    let sdk_clock = mock_server::Clock::virtual_at(start);
    let config = std_config_on(&server, &sdk_clock);
    succeeds(
        aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await,
    );
    server.clock().advance(Duration::from_secs(16 * 60));
    assert_eq!(
        sts_code(&config).await.0.as_deref(),
        Some("SignatureDoesNotMatch")
    );
}

#[tokio::test]
async fn a_session_token_with_a_long_term_key_is_invalid() {
    let server = MockServer::start().await;
    let creds = aws_credential_types::Credentials::new(
        STD.access_key_id,
        STD.secret_access_key,
        Some("FwoGZXIvYXdzEXAMPLE".into()),
        None,
        "t",
    );
    let config = sdk_config(&server.endpoint(), creds, "us-east-1", server.clock());
    assert_eq!(
        sts_code(&config).await.0.as_deref(),
        Some("InvalidClientTokenId")
    );
}

#[tokio::test]
async fn presigned_urls_are_verified_and_live_fifteen_minutes_whatever_x_amz_expires_says() {
    let server = MockServer::start().await;
    let now = server.clock().now();
    let query = "Action=GetCallerIdentity&Version=2011-06-15";
    let get = |signed_at, expires| {
        presigned_get(&server, STD, "sts", "us-east-1", query, signed_at, expires)
    };
    let ok = raw(&server, &get(now, Duration::from_secs(300)))
        .await
        .expect("no answer");
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.xml("Arn"), Some(STD.arn().as_str()));

    // STS ignores X-Amz-Expires: a 60-second token (as EKS tokens are) still works 5 minutes on.
    let five_ago = now - Duration::from_secs(300);
    let r = raw(&server, &get(five_ago, Duration::from_secs(60)))
        .await
        .expect("no answer");
    assert_eq!(r.status, 200, "{}", r.body);

    let sixteen_ago = now - Duration::from_secs(16 * 60);
    let r = raw(&server, &get(sixteen_ago, Duration::from_secs(3600)))
        .await
        .expect("no answer");
    r.assert_query_error(403, "SignatureDoesNotMatch", STS_NS);
    let message = r.xml("Message").unwrap_or_default();
    assert!(
        message.starts_with("Signature expired") && message.ends_with(" - 15 min.)"),
        "{message}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_the_signed_hash_is_a_signature_mismatch() {
    let server = MockServer::start().await;
    let now = server.clock().now();
    let target = harness::signing::Target {
        addr: server.address(),
        who: STD,
        service: "sts",
        region: "us-east-1",
        time: now,
    };
    let other_body_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let request = harness::signing::signed_post(
        &target,
        "Action=GetCallerIdentity&Version=2011-06-15",
        &[
            ("x-amz-content-sha256", other_body_hash),
            ("connection", "close"),
        ],
    )
    .unwrap();
    let r = raw(&server, &request).await.expect("no answer");
    r.assert_query_error(403, "SignatureDoesNotMatch", STS_NS);
}

#[tokio::test]
async fn iam_accepts_a_signature_for_any_region_of_the_partition() {
    let server = MockServer::start().await;
    let now = server.clock().now();
    // An InvalidAction (not an authentication error) for an unknown action proves the
    // signature for eu-west-1 was accepted, while a GovCloud region is refused.
    let form = "Action=NoSuchAction&Version=2010-05-08";
    let accepted = raw(
        &server,
        &signed_post(&server, STD, "iam", "eu-west-1", form, now),
    )
    .await;
    accepted
        .expect("no answer")
        .assert_query_error(400, "InvalidAction", FAULT_NS);
    let refused = raw(
        &server,
        &signed_post(&server, STD, "iam", "us-gov-west-1", form, now),
    )
    .await;
    refused
        .expect("no answer")
        .assert_query_error(403, "InvalidClientTokenId", IAM_NS);
}

/// The standard admin's config, signing on `clock` with the SDK's skew correction off.
fn std_config_on(server: &MockServer, clock: &mock_server::Clock) -> aws_config::SdkConfig {
    sdk_config(
        &server.endpoint(),
        access_key(STD.access_key_id, STD.secret_access_key),
        "us-east-1",
        clock,
    )
    .to_builder()
    .disable_clock_skew_correction(true)
    .build()
}
