//! Time and eventual consistency: the control API's clock, and IAM changes that take the
//! propagation delay to reach authorization, observed with real SDK clients on virtual time.

use std::time::Duration;

use std::collections::BTreeMap;

use mock_server::{ChangeKind, Clock, MockServer, Propagation};

use crate::support::*;

fn json(r: &Raw) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

#[tokio::test]
async fn the_clock_moves_through_the_control_api() {
    let server = MockServer::builder()
        .clock(Clock::virtual_at(
            std::time::UNIX_EPOCH + Duration::from_secs(1_900_000_000),
        ))
        .start()
        .await
        .unwrap();
    let now = control(&server, "GET", "/_mock/clock", "").await;
    assert_eq!(json(&now)["now"], "2030-03-17T17:46:40Z");
    assert_eq!(json(&now)["virtual"], true);
    let moved = control(
        &server,
        "POST",
        "/_mock/clock",
        r#"{"advance_seconds": 300}"#,
    )
    .await;
    assert_eq!(json(&moved)["now"], "2030-03-17T17:51:40Z");
    let set = control(
        &server,
        "POST",
        "/_mock/clock",
        r#"{"set": "2031-01-01T00:00:00Z"}"#,
    )
    .await;
    assert_eq!(json(&set)["now"], "2031-01-01T00:00:00Z");
    assert_eq!(
        server.clock().now(),
        std::time::UNIX_EPOCH + Duration::from_secs(1_924_992_000)
    );
    for bad in [
        r#"{"advance_seconds": -5}"#,
        r#"{"set": "yesterday"}"#,
        "not json",
        r#"{}"#,
    ] {
        let r = control(&server, "POST", "/_mock/clock", bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(json(&r)["error"].is_string());
    }
}

#[tokio::test]
async fn the_control_api_refuses_signed_requests() {
    let server = MockServer::start().await;
    let request = format!(
        "GET /_mock/clock HTTP/1.1\r\nhost: {}\r\nauthorization: AWS4-HMAC-SHA256 Credential=x\r\nconnection: close\r\n\r\n",
        server.address()
    );
    let r = raw(&server, request.as_bytes()).await.expect("no answer");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("takes no AWS signature"), "{}", r.body);
}

#[tokio::test]
async fn an_attached_policy_takes_the_propagation_delay_to_work() {
    let server = MockServer::builder()
        .clock(Clock::virtual_now())
        .propagation_delay(Duration::from_secs(300))
        .start()
        .await
        .unwrap();
    let admin = iam_admin(&server);
    // Create the user and key, and let that propagate first.
    let key = user_with_key(&admin, "late").await;
    let ec2 = aws_sdk_ec2::Client::new(&config_with_key(
        &server,
        key.access_key_id(),
        key.secret_access_key(),
        "us-east-1",
    ));
    let unknown = ec2.describe_regions().send().await.err();
    assert_eq!(
        unknown.and_then(|e| code(&e)).as_deref(),
        Some("AuthFailure"),
        "a new key is unknown until it propagates"
    );
    server.clock().advance(Duration::from_secs(301));
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");

    admin
        .attach_user_policy()
        .user_name("late")
        .policy_arn("arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    // IAM reads see the change at once...
    let attached = admin
        .list_attached_user_policies()
        .user_name("late")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 1);
    // ...authorization only after the delay.
    server.clock().advance(Duration::from_secs(299));
    // Not allowed before the delay passed.
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");
    server.clock().advance(Duration::from_secs(2));
    let regions = ec2.describe_regions().send().await;
    regions.expect("still denied after the delay");

    let delay = control(
        &server,
        "POST",
        "/_mock/propagation",
        r#"{"delay_seconds": 0}"#,
    )
    .await;
    assert_eq!(json(&delay)["delay_seconds"], 0.0);
    admin
        .detach_user_policy()
        .user_name("late")
        .policy_arn("arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    // With no delay the detach is immediate.
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");
}

fn sts_with(server: &MockServer, key: &aws_sdk_iam::types::AccessKey) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&config_with_key(
        server,
        key.access_key_id(),
        key.secret_access_key(),
        "us-east-1",
    ))
}

#[tokio::test]
async fn each_kind_of_change_takes_its_own_delay() {
    let server = MockServer::builder()
        .clock(Clock::virtual_now())
        .propagation(Propagation {
            delay_seconds: 60.0,
            kinds: BTreeMap::from([(ChangeKind::AccessKeys, 0.0), (ChangeKind::Policies, 300.0)]),
            ..Propagation::default()
        })
        .start()
        .await
        .unwrap();
    let admin = iam_admin(&server);
    let first = user_with_key(&admin, "dev").await;
    // The key's own delay is 0, but it belongs to a user still propagating (60 s).
    fails_with(
        sts_with(&server, &first).get_caller_identity().send().await,
        "InvalidClientTokenId",
    );
    server.clock().advance(Duration::from_secs(60));
    sts_with(&server, &first)
        .get_caller_identity()
        .send()
        .await
        .expect("the key did not follow its user");

    admin
        .attach_user_policy()
        .user_name("dev")
        .policy_arn("arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let second = admin
        .create_access_key()
        .user_name("dev")
        .send()
        .await
        .unwrap()
        .access_key()
        .cloned()
        .expect("no key");
    // The second key works at once, without bringing the slower policy change along.
    sts_with(&server, &second)
        .get_caller_identity()
        .send()
        .await
        .expect("a key change waited for a policy change");
    let ec2 = aws_sdk_ec2::Client::new(&config_with_key(
        &server,
        second.access_key_id(),
        second.secret_access_key(),
        "us-east-1",
    ));
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");
    server.clock().advance(Duration::from_secs(299));
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");
    server.clock().advance(Duration::from_secs(1));
    let regions = ec2.describe_regions().send().await;
    regions.expect("denied after the policies' delay");
}

/// Seconds until a new user's key works, stepping the virtual clock one second at a time.
async fn seconds_until_a_new_key_works(propagation: Propagation) -> u64 {
    let server = MockServer::builder()
        .clock(Clock::virtual_now())
        .propagation(propagation)
        .start()
        .await
        .unwrap();
    let key = user_with_key(&iam_admin(&server), "jittery").await;
    let sts = sts_with(&server, &key);
    for waited in 0..=120 {
        match sts.get_caller_identity().send().await {
            Ok(_) => return waited,
            Err(e) => assert_eq!(code(&e).as_deref(), Some("InvalidClientTokenId"), "{e:?}"),
        }
        server.clock().advance(Duration::from_secs(1));
    }
    panic!("the key never worked");
}

#[tokio::test]
async fn jitter_comes_from_a_seed_so_runs_repeat() {
    let jittery = |seed| Propagation {
        delay_seconds: 10.0,
        jitter_seconds: 100.0,
        seed,
        ..Propagation::default()
    };
    let first = seconds_until_a_new_key_works(jittery(11)).await;
    assert!((10..=110).contains(&first), "{first}");
    assert_eq!(first, seconds_until_a_new_key_works(jittery(11)).await);
    let waits = [1, 2, 3, 4];
    let mut seen = Vec::new();
    for seed in waits {
        seen.push(seconds_until_a_new_key_works(jittery(seed)).await);
    }
    seen.dedup();
    assert!(seen.len() > 1, "jitter that never varies: {seen:?}");
}

#[tokio::test]
async fn propagation_settings_change_through_the_control_api() {
    let server = MockServer::start().await;
    let set = control(
        &server,
        "POST",
        "/_mock/propagation",
        r#"{"delay_seconds": 300, "kinds": {"access_keys": 5, "trust_policies": 60}, "jitter_seconds": 30, "seed": 7}"#,
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let only_jitter = control(
        &server,
        "POST",
        "/_mock/propagation",
        r#"{"jitter_seconds": 0}"#,
    )
    .await;
    let settings = json(&only_jitter);
    assert_eq!(settings["delay_seconds"], 300.0, "{settings}");
    assert_eq!(settings["kinds"]["access_keys"], 5.0);
    assert_eq!(settings["kinds"]["trust_policies"], 60.0);
    assert_eq!(settings["jitter_seconds"], 0.0);
    assert_eq!(settings["seed"], 7);
    for bad in [
        r#"{"delay_seconds": -1}"#,
        r#"{"kinds": {"roles": 5}}"#,
        r#"{"kinds": {"policies": 100000}}"#,
        r#"{"jitter": 5}"#,
        "[1]",
        "not json",
    ] {
        let r = control(&server, "POST", "/_mock/propagation", bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(json(&r)["error"].is_string());
    }
    let after = control(&server, "GET", "/_mock/propagation", "").await;
    assert_eq!(
        json(&after),
        settings,
        "a refused update changed the settings"
    );
}

#[tokio::test]
async fn the_request_log_records_decisions_without_secrets() {
    let server = server_with(WORLD_444).await;
    let sts = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        "AKIANOBODY4444444444",
        "nobody-secret",
        "us-east-1",
    ));
    sts.get_caller_identity().send().await.unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&config_with_key(
        &server,
        "AKIANOBODY4444444444",
        "nobody-secret",
        "eu-west-1",
    ));
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");
    let wrong = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        "AKIANOBODY4444444444",
        "wrong",
        "us-east-1",
    ));
    fails_with(
        wrong.get_caller_identity().send().await,
        "SignatureDoesNotMatch",
    );

    let log = server.requests();
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(
        (
            log[0].action.as_str(),
            log[0].decision.as_str(),
            log[0].status
        ),
        ("GetCallerIdentity", "allowed", 200)
    );
    assert_eq!(log[0].principal, "arn:aws:iam::444444444444:user/nobody");
    assert_eq!(
        (
            log[1].service.as_str(),
            log[1].iam_action.as_str(),
            log[1].region.as_str(),
            log[1].decision.as_str(),
            log[1].error_code.as_str()
        ),
        (
            "ec2",
            "ec2:DescribeRegions",
            "eu-west-1",
            "denied",
            "UnauthorizedOperation"
        )
    );
    assert_eq!(
        (log[2].decision.as_str(), log[2].error_code.as_str()),
        ("error", "SignatureDoesNotMatch")
    );

    let over_http = control(&server, "GET", "/_mock/requests", "").await;
    assert_eq!(
        json(&over_http)["requests"].as_array().map(Vec::len),
        Some(3)
    );
    for secret in ["nobody-secret", "Signature=", "X-Amz-Security-Token"] {
        assert!(!over_http.body.contains(secret), "{secret} in the log");
    }
    control(&server, "DELETE", "/_mock/requests", "").await;
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn the_request_log_names_the_statement_that_decided() {
    let world = format!(
        "{WORLD_444}    roles:\n      - name: strict\n        trust_policy: {{Version: '2012-10-17', Statement: [{{Effect: Allow, Principal: {{AWS: 'arn:aws:iam::444444444444:user/connector'}}, Action: 'sts:AssumeRole'}}]}}\n"
    );
    let server = server_with(&world).await;
    let describe = |key: &'static str, secret: &'static str| {
        let ec2 = aws_sdk_ec2::Client::new(&config_with_key(&server, key, secret, "us-east-1"));
        async move { ec2.describe_regions().send().await }
    };
    succeeds(describe("AKIACONNECTOR4444444", "connector-secret").await);
    fails_with(
        describe("AKIADENIED4444444444", "denied-secret").await,
        "UnauthorizedOperation",
    );
    fails_with(
        describe("AKIADENIEDMANAGED444", "denied-managed-secret").await,
        "UnauthorizedOperation",
    );
    fails_with(
        describe("AKIANOBODY4444444444", "nobody-secret").await,
        "UnauthorizedOperation",
    );
    let nobody = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        "AKIANOBODY4444444444",
        "nobody-secret",
        "us-east-1",
    ));
    for role in ["strict", "absent"] {
        let assumed = nobody
            .assume_role()
            .role_arn(format!("arn:aws:iam::444444444444:role/{role}"))
            .role_session_name("connector-test")
            .send()
            .await;
        fails_with(assumed, "AccessDenied");
    }

    let statements: Vec<(String, String)> = server
        .requests()
        .into_iter()
        .map(|r| (r.decision.as_str().to_owned(), r.statement))
        .collect();
    let expected = [
        ("allowed", "arn:aws:iam::444444444444:policy/HarnessDescribeRegions Statement[0] (Sid VisualEditor0)"),
        ("denied", "inline policy deny-ec2 of user/denied Statement[0]"),
        ("denied", "arn:aws:iam::444444444444:policy/guardrails/DenyEc2 Statement[0]"),
        ("denied", "missing: an Allow in the identity-based policies"),
        ("denied", "missing: an Allow for the caller in the trust policy of arn:aws:iam::444444444444:role/strict"),
        ("denied", "missing: the role arn:aws:iam::444444444444:role/absent (it does not exist, or has not propagated yet)"),
    ]
    .map(|(d, s)| (d.to_owned(), s.to_owned()));
    assert_eq!(statements, expected);
    let over_http = control(&server, "GET", "/_mock/requests", "").await;
    assert_eq!(
        json(&over_http)["requests"][0]["statement"],
        expected[0].1.as_str()
    );
}

#[tokio::test]
async fn reset_returns_to_the_loaded_world() {
    let server = MockServer::start().await;
    let admin = iam_admin(&server);
    admin
        .create_user()
        .user_name("made-in-the-test")
        .send()
        .await
        .unwrap();
    let reset = control(&server, "POST", "/_mock/reset", "").await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert!(server.requests().is_empty(), "the request log survived");
    fails_with(
        admin.get_user().user_name("made-in-the-test").send().await,
        "NoSuchEntity",
    );
    admin
        .get_user()
        .user_name(STD.user)
        .send()
        .await
        .expect("the world's own user is gone");
}

#[tokio::test]
async fn worlds_are_dumped_and_loaded_through_the_control_api() {
    let server = MockServer::start().await;
    let sts = |key: &str, secret: &str| {
        aws_sdk_sts::Client::new(&config_with_key(&server, key, secret, "us-east-1"))
    };
    let dumped = control(&server, "GET", "/_mock/world", "").await;
    assert_eq!(dumped.status, 200);
    assert!(dumped.body.contains(STD.user), "{}", dumped.body);

    let other = r#"{"accounts": [{"id": "666666666666", "users": [{"name": "ci", "access_keys": [{"id": "AKIALOADED6666666666", "secret": "loaded-secret"}]}]}]}"#;
    let loaded = control(&server, "POST", "/_mock/world", other).await;
    assert_eq!(loaded.status, 200, "{}", loaded.body);
    let me = sts("AKIALOADED6666666666", "loaded-secret")
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.arn(), Some("arn:aws:iam::666666666666:user/ci"));
    fails_with(
        sts(STD.access_key_id, STD.secret_access_key)
            .get_caller_identity()
            .send()
            .await,
        "InvalidClientTokenId",
    );

    for bad in [
        "accounts: [{id: 1}]",
        "{nonsense",
        "accounts: [{id: \"666666666666\", users: [{name: a}, {name: a}]}]",
    ] {
        let refused = control(&server, "POST", "/_mock/world", bad).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert!(json(&refused)["error"].is_string());
    }
    // A refused load changes nothing.
    sts("AKIALOADED6666666666", "loaded-secret")
        .get_caller_identity()
        .send()
        .await
        .unwrap();

    // The dump loads back, and becomes what reset returns to.
    let back = control(&server, "POST", "/_mock/world", &dumped.body).await;
    assert_eq!(back.status, 200, "{}", back.body);
    control(&server, "POST", "/_mock/reset", "").await;
    sts(STD.access_key_id, STD.secret_access_key)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn reset_gives_back_the_clock_as_it_started_unless_asked_to_keep_it() {
    // A real-time clock moved an hour ahead: after a reset, a client signing with the
    // machine's clock is inside the SigV4 window again.
    let server = MockServer::start().await;
    // A client of another process: it signs with the machine's clock and does not retry
    // with a skew learnt from the server's `Date` (as the aws CLI).
    let sts = || {
        let config = harness::sdk::sdk_config(
            &server.endpoint(),
            harness::sdk::access_key(STD.access_key_id, STD.secret_access_key),
            "us-east-1",
            &Clock::real(),
        );
        aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&config)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .build(),
        )
    };
    server.clock().advance(Duration::from_secs(3600));
    let skewed = sts().get_caller_identity().send().await.err();
    assert_eq!(
        skewed.as_ref().and_then(code).as_deref(),
        Some("SignatureDoesNotMatch"),
        "{skewed:?}"
    );
    let reset = control(&server, "POST", "/_mock/reset", "").await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    sts()
        .get_caller_identity()
        .send()
        .await
        .expect("the reset server kept its offset");

    // A virtual clock goes back to its start time; `keep_clock` leaves it where it is.
    let start = std::time::UNIX_EPOCH + Duration::from_secs(1_893_456_000);
    let server = MockServer::builder()
        .clock(Clock::virtual_at(start))
        .start()
        .await
        .unwrap();
    server.clock().advance(Duration::from_secs(600));
    let kept = control(&server, "POST", "/_mock/reset", r#"{"keep_clock": true}"#).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(server.clock().now(), start + Duration::from_secs(600));
    let reset = control(&server, "POST", "/_mock/reset", "{}").await;
    assert_eq!(json(&reset)["now"], "2030-01-01T00:00:00Z");
    assert_eq!(server.clock().now(), start);
    let bad = control(&server, "POST", "/_mock/reset", r#"{"keep": 1}"#).await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    // The typed methods do the same.
    server.clock().advance(Duration::from_secs(60));
    server.reset_keeping_clock().unwrap();
    assert_eq!(server.clock().now(), start + Duration::from_secs(60));
    server.reset().unwrap();
    assert_eq!(server.clock().now(), start);
}

#[tokio::test]
async fn the_control_api_capabilities_are_typed_methods_too() {
    let server = MockServer::start().await;
    let admin = iam_admin(&server);
    admin.list_users().send().await.unwrap();
    assert!(!server.requests().is_empty());
    server.clear_requests();
    assert!(server.requests().is_empty(), "the log was not cleared");

    let mut world = server.world();
    assert!(world.accounts.iter().any(|a| a.id == STD.account));
    world.accounts.retain(|a| a.id == STD.account);
    world.accounts[0].users.retain(|u| u.name == STD.user);
    world.accounts[0].users[0].name = "renamed".into();
    server.load_world(world).unwrap();
    let me = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        STD.access_key_id,
        STD.secret_access_key,
        "us-east-1",
    ))
    .get_caller_identity()
    .send()
    .await
    .unwrap();
    assert_eq!(me.arn(), Some("arn:aws:iam::111111111111:user/renamed"));
    let mut broken = server.world();
    let twin = broken.accounts[0].users[0].clone();
    broken.accounts[0].users.push_back(twin);
    let refused = server.load_world(broken).err();
    assert!(
        matches!(refused, Some(mock_server::WorldError::Invalid { .. })),
        "{refused:?}"
    );

    let token = server
        .mint_oidc_token(&mock_server::OidcToken::new(
            "https://oidc.example/id/X",
            "system:serviceaccount:ci:deployer",
            "sts.amazonaws.com",
        ))
        .unwrap();
    assert_eq!(token.split('.').count(), 3, "not a JWT");
    let mut bad = mock_server::OidcToken::new("http://plain", "s", "a");
    assert!(matches!(
        server.mint_oidc_token(&bad),
        Err(mock_server::OidcError::Issuer(_))
    ));
    bad.issuer = "https://oidc.example/id/X".into();
    bad.ttl_seconds = 86_400 * 8;
    assert!(matches!(
        server.mint_oidc_token(&bad),
        Err(mock_server::OidcError::Ttl(_))
    ));
    assert!(server.faults().is_empty());
    assert_eq!(server.propagation(), Propagation::default());
}
