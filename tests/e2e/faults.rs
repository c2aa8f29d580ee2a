//! Fault injection observed through the real SDKs, retries included.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sts::error::SdkError;
use mock_server::{FaultEffect, FaultRule, MockServer};

use crate::support::*;

fn rule(service: &str, first: u64, effect: FaultEffect) -> FaultRule {
    FaultRule {
        service: Some(service.into()),
        action: None,
        principal: None,
        region: None,
        first: Some(first),
        probability: None,
        seed: 0,
        effect,
    }
}

/// The default world's admin, with `attempts` tries and a short backoff.
fn base(server: &MockServer, attempts: u32) -> aws_config::SdkConfig {
    config_with_key(
        server,
        STD.access_key_id,
        STD.secret_access_key,
        "us-east-1",
    )
    .into_builder()
    .retry_config(
        RetryConfig::standard()
            .with_max_attempts(attempts)
            .with_initial_backoff(Duration::from_millis(1)),
    )
    .build()
}

fn sts(server: &MockServer, attempts: u32) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&base(server, attempts))
}

fn strike(server: &MockServer, rule: FaultRule) {
    server.add_fault(rule).unwrap();
}

async fn whoami(
    server: &MockServer,
    attempts: u32,
) -> Result<
    aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput,
    aws_sdk_sts::error::SdkError<
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError,
    >,
> {
    sts(server, attempts).get_caller_identity().send().await
}

fn attempts(server: &MockServer) -> Vec<(String, u16)> {
    server
        .requests()
        .into_iter()
        .map(|r| (r.error_code, r.status))
        .collect()
}

#[tokio::test]
async fn throttled_calls_are_retried_to_success_by_the_sdk() {
    let server = MockServer::start().await;
    strike(&server, rule("sts", 2, FaultEffect::Throttle));
    whoami(&server, 3).await.unwrap();
    assert_eq!(
        attempts(&server),
        [
            ("Throttling".into(), 400),
            ("Throttling".into(), 400),
            (String::new(), 200)
        ]
    );
}

#[tokio::test]
async fn ec2_throttling_exhausts_the_retries() {
    let server = MockServer::start().await;
    strike(&server, rule("ec2", 10, FaultEffect::Throttle));
    let ec2 = aws_sdk_ec2::Client::new(&base(&server, 3));
    fails_with(ec2.describe_regions().send().await, "RequestLimitExceeded");
    assert_eq!(
        attempts(&server),
        vec![("RequestLimitExceeded".to_owned(), 503); 3]
    );
}

#[tokio::test]
async fn server_errors_are_retried_per_service() {
    let server = MockServer::start().await;
    for (service, effect) in [
        ("iam", FaultEffect::InternalError),
        ("sts", FaultEffect::ServiceUnavailable),
    ] {
        strike(&server, rule(service, 1, effect));
    }
    aws_sdk_iam::Client::new(&base(&server, 2))
        .list_users()
        .send()
        .await
        .unwrap();
    whoami(&server, 2).await.unwrap();
    assert_eq!(
        attempts(&server),
        [
            ("ServiceFailure".into(), 500),
            (String::new(), 200),
            ("ServiceUnavailable".into(), 503),
            (String::new(), 200)
        ]
    );
    // Without retries the SDK surfaces the error with its code.
    strike(&server, rule("sts", 1, FaultEffect::InternalError));
    fails_with(whoami(&server, 1).await, "InternalFailure");
}

#[tokio::test]
async fn a_dropped_connection_is_retried_and_a_truncated_body_fails() {
    let server = MockServer::start().await;
    strike(&server, rule("sts", 1, FaultEffect::DropConnection));
    let dropped = whoami(&server, 1)
        .await
        .expect_err("a dropped connection answered");
    assert!(
        matches!(dropped, SdkError::DispatchFailure(_)),
        "{dropped:?}"
    );
    strike(&server, rule("sts", 1, FaultEffect::DropConnection));
    whoami(&server, 2)
        .await
        .expect("the SDK did not retry a dropped connection");

    server.clear_faults();
    strike(&server, rule("sts", 1, FaultEffect::TruncateBody));
    let client = sts(&server, 1);
    let truncated = client
        .get_caller_identity()
        .send()
        .await
        .expect_err("a truncated body answered");
    // No AWS error: the head arrives, then the connection ends half-way through the body.
    assert!(
        matches!(truncated, SdkError::ResponseError(_)),
        "{truncated:?}"
    );
    client.get_caller_identity().send().await.unwrap();
}

#[tokio::test]
async fn a_truncated_body_is_half_the_promised_bytes_then_the_connection_ends() {
    const WHOAMI: &str = "Action=GetCallerIdentity&Version=2011-06-15";
    let server = MockServer::start().await;
    let whole = send_signed(&server, "sts", WHOAMI).await;
    strike(&server, rule("sts", 1, FaultEffect::TruncateBody));
    // Kept alive, the connection would otherwise wait for the next request: `raw` reads to
    // the end of the connection and fails after 10 s.
    let request = signed_post_keep_alive(&server, STD, "sts", WHOAMI);
    let cut = raw(&server, &request).await.expect("no answer at all");
    assert_eq!(cut.status, 200);
    let promised: usize = cut
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .expect("a Content-Length");
    // The same answer but for its request id, which has the same length.
    assert_eq!(promised, whole.body.len());
    assert_eq!(cut.body.len(), promised / 2, "{}", cut.body);
    let before_id = whole.body.find("<RequestId>").unwrap_or(whole.body.len());
    assert!(
        whole.body[..before_id.min(cut.body.len())] == cut.body[..before_id.min(cut.body.len())],
        "{} is not the start of {}",
        cut.body,
        whole.body
    );
    // The rule struck once; the server goes on answering whole.
    let again = send_signed(&server, "sts", WHOAMI).await;
    assert_eq!(again.body.len(), whole.body.len());
}

#[tokio::test]
async fn latency_trips_the_sdk_attempt_timeout() {
    let server = MockServer::start().await;
    let mut slow = rule("sts", 1, FaultEffect::Latency(5_000));
    slow.action = Some("GetCallerIdentity".into());
    strike(&server, slow);
    let config = base(&server, 1)
        .into_builder()
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(200))
                .build(),
        )
        .build();
    let err = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("a 5 s answer beat a 200 ms timeout");
    assert!(
        matches!(err, aws_sdk_sts::error::SdkError::TimeoutError(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn rules_match_principals_and_go_through_the_control_api() {
    let server = MockServer::start().await;
    let other = r#"{"principal": "arn:aws:iam::*:user/someone-else", "effect": "throttle"}"#;
    let added = control(&server, "POST", "/_mock/faults", other).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.body.contains("someone-else"));
    // Another principal's rule leaves this caller alone.
    whoami(&server, 1).await.unwrap();

    for bad in [
        r#"{"effect": "explode"}"#,
        r#"{"service": "s3", "effect": "throttle"}"#,
        r#"{"effect": "throttle", "probability": 2}"#,
        "not json",
    ] {
        let refused = control(&server, "POST", "/_mock/faults", bad).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
    }
    let mine = r#"{"principal": "arn:aws:iam::111111111111:user/*", "effect": {"latency": 1}, "first": 1}"#;
    control(&server, "POST", "/_mock/faults", mine).await;
    let listed = control(&server, "GET", "/_mock/faults", "").await;
    assert!(
        listed.body.contains("someone-else") && listed.body.contains(r#""latency":1"#),
        "{}",
        listed.body
    );
    let cleared = control(&server, "DELETE", "/_mock/faults", "").await;
    assert_eq!(cleared.body, r#"{"faults":[]}"#);
    let listed = control(&server, "GET", "/_mock/faults", "").await;
    assert_eq!(listed.body, r#"{"faults":[]}"#);
}

#[tokio::test]
async fn a_world_file_sets_faults_and_the_propagation_delay() {
    let world = format!(
        r#"
propagation: {{delay_seconds: 300}}
faults:
  - {{service: sts, action: GetCallerIdentity, effect: throttle, first: 1}}
accounts:
  - id: "{}"
    users:
      - name: admin
        managed_policies: [AdministratorAccess]
        access_keys: [{{id: {}, secret: {}}}]
"#,
        STD.account, STD.access_key_id, STD.secret_access_key
    );
    let server = MockServer::builder()
        .world(mock_server::World::from_yaml(&world).unwrap())
        .clock(mock_server::Clock::virtual_now())
        .start()
        .await
        .unwrap();
    fails_with(whoami(&server, 1).await, "Throttling");
    whoami(&server, 1).await.unwrap();

    // A key made now works only after the world's 300 s.
    let admin = iam_admin(&server);
    let key = user_with_key(&admin, "late").await;
    let late = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        key.access_key_id(),
        key.secret_access_key(),
        "us-east-1",
    ));
    fails_with(
        late.get_caller_identity().send().await,
        "InvalidClientTokenId",
    );
    server.clock().advance(Duration::from_secs(300));
    late.get_caller_identity().send().await.unwrap();

    // Reset brings the world's rules back with fresh counters.
    control(&server, "POST", "/_mock/reset", "").await;
    fails_with(whoami(&server, 1).await, "Throttling");

    let bad = "faults: [{service: s3, effect: throttle}]";
    let refused = control(&server, "POST", "/_mock/world", bad).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("s3"), "{}", refused.body);
    whoami(&server, 1)
        .await
        .expect("a refused world changed the server");
}
