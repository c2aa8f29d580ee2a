//! The in-process server: wire shapes, request ids, the Date header, isolation, shutdown.

use std::time::{Duration, UNIX_EPOCH};

use mock_server::{Clock, MockServer};

use crate::support::*;

#[tokio::test]
async fn responses_carry_fresh_request_ids_in_body_and_header() {
    let server = MockServer::start().await;
    let form = "Action=GetCallerIdentity&Version=2011-06-15";
    let a = send_signed(&server, "sts", form).await;
    let b = send_signed(&server, "sts", form).await;
    assert_eq!(a.status, 200);
    assert!(
        a.body.contains(
            r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">"#
        ),
        "{}",
        a.body
    );
    let id = a
        .xml("RequestId")
        .unwrap_or_else(|| panic!("no RequestId: {}", a.body));
    assert_eq!(a.header("x-amzn-requestid"), Some(id));
    assert_ne!(Some(id), b.xml("RequestId"));
    assert_eq!(a.header("content-type"), Some("text/xml"));
}

#[tokio::test]
async fn ec2_answers_in_its_own_dialect() {
    let server = MockServer::start().await;
    let now = server.clock().now();
    let ok = raw(
        &server,
        &signed_post(
            &server,
            STD,
            "ec2",
            "us-east-1",
            "Action=DescribeRegions&Version=2016-11-15&RegionName.1=us-east-1",
            now,
        ),
    )
    .await;
    let ok = ok.expect("no answer");
    assert!(ok.body.contains(r#"<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>"#), "{}", ok.body);
    assert!(ok.body.contains("<regionInfo><item><regionName>us-east-1</regionName><regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item></regionInfo>"), "{}", ok.body);

    let err = raw(
        &server,
        &signed_post(
            &server,
            STD,
            "ec2",
            "us-east-1",
            "Action=DescribeRegions&Version=2016-11-15&RegionName.1=nowhere-1",
            now,
        ),
    )
    .await;
    let err = err.expect("no answer");
    assert_eq!(err.status, 400);
    assert!(
        err.body
            .contains("<Response><Errors><Error><Code>InvalidParameterValue</Code>"),
        "{}",
        err.body
    );
    let id = err
        .xml("RequestID")
        .unwrap_or_else(|| panic!("no RequestID: {}", err.body));
    assert_eq!(err.header("x-amzn-requestid"), Some(id));
}

#[tokio::test]
async fn the_date_header_follows_the_virtual_clock() {
    let start = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    let server = MockServer::builder()
        .clock(Clock::virtual_at(start))
        .start()
        .await
        .unwrap();
    let request = format!(
        "GET /?Action=GetCallerIdentity&Version=2011-06-15 HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
        server.address()
    );
    let r = raw(&server, request.as_bytes()).await.expect("no answer");
    assert_eq!(r.header("date"), Some("Wed, 18 May 2033 03:33:20 GMT"));
    assert_eq!(r.xml("Code"), Some("MissingAuthenticationToken"));
}

#[tokio::test]
async fn servers_are_isolated_and_stop_when_dropped() {
    let a = MockServer::start().await;
    let b = MockServer::builder()
        .clock(Clock::virtual_now())
        .start()
        .await
        .unwrap();
    assert_ne!(a.address(), b.address());
    b.clock().advance(Duration::from_secs(3600));
    let skew = b
        .clock()
        .now()
        .duration_since(a.clock().now())
        .unwrap_or_default();
    assert!(
        skew >= Duration::from_secs(3590),
        "clocks are shared: {skew:?}"
    );

    let address = a.address();
    drop(a);
    // The listener closes once the accept loop sees the shutdown; connecting must then fail.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(address).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "the dropped server still accepts connections");
}

#[tokio::test]
async fn non_loopback_addresses_need_an_explicit_opt_in() {
    let result = MockServer::builder()
        .listen("0.0.0.0:0".parse().unwrap())
        .start()
        .await;
    assert!(
        matches!(result, Err(mock_server::StartError::NotLoopback(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_control_api_answers_health_and_refuses_unknown_paths() {
    let server = MockServer::start().await;
    let get = |path: &str| {
        format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").into_bytes()
    };
    let ok = raw(&server, &get("/_mock/health"))
        .await
        .expect("no answer");
    assert_eq!((ok.status, ok.body.as_str()), (200, r#"{"status":"ok"}"#));
    assert_eq!(ok.header("content-type"), Some("application/json"));
    let missing = raw(&server, &get("/_mock/nothing"))
        .await
        .expect("no answer");
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("no control endpoint /_mock/nothing"),
        "{}",
        missing.body
    );
}

#[tokio::test]
async fn a_control_token_guards_every_control_call_but_health() {
    let server = MockServer::builder()
        .control_token("s3cret-token")
        .start()
        .await
        .unwrap();
    let call = |method: &'static str, path: &'static str, auth: &'static str| {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\n{auth}content-length: 0\r\nconnection: close\r\n\r\n",
            server.address()
        );
        let server = &server;
        async move { raw(server, request.as_bytes()).await.expect("no answer") }
    };
    assert_eq!(call("GET", "/_mock/health", "").await.status, 200);
    for (method, path) in [
        ("GET", "/_mock/clock"),
        ("GET", "/_mock/world"),
        ("POST", "/_mock/reset"),
        ("DELETE", "/_mock/faults"),
        ("GET", "/_mock/nowhere"),
    ] {
        let r = call(method, path, "").await;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.body);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"trustbench control API\"")
        );
        assert!(r.body.contains("Authorization: Bearer TOKEN"), "{}", r.body);
        let r = call(method, path, "authorization: Bearer wrong\r\n").await;
        assert_eq!(r.status, 401, "{method} {path}");
    }
    let r = call(
        "GET",
        "/_mock/clock",
        "authorization: Bearer s3cret-token\r\n",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // An AWS signature on a control path is still refused as a misrouted service call.
    let r = call(
        "GET",
        "/_mock/clock",
        "authorization: AWS4-HMAC-SHA256 Credential=x\r\n",
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // The AWS APIs do not ask for it.
    let out = sts(&server, STD, "us-east-1")
        .get_caller_identity()
        .send()
        .await;
    succeeds(out);
    // Nor does a server without a token.
    let open = MockServer::start().await;
    assert_eq!(control(&open, "GET", "/_mock/clock", "").await.status, 200);
}
