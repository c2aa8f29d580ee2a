//! Bad input gets a clear AWS-style 4xx, never a 500, a panic or a hang, and the server
//! keeps serving afterwards.

use std::time::Duration;

use mock_server::MockServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

async fn still_serving(server: &MockServer) {
    sts(server, STD, "us-east-1")
        .get_caller_identity()
        .send()
        .await
        .expect("server stopped serving");
}

async fn answer(server: &MockServer, request: &[u8]) -> Raw {
    raw(server, request).await.expect("no answer")
}

#[tokio::test]
async fn unknown_action_is_invalid_action_in_the_aws_fault_namespace() {
    let server = MockServer::start().await;
    let r = send_signed(&server, "sts", "Action=NoSuchAction&Version=2011-06-15").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.xml("Code"), Some("InvalidAction"));
    assert_eq!(
        r.xml("Message"),
        Some("Could not find operation NoSuchAction for version 2011-06-15")
    );
    assert!(
        r.body.contains(
            r#"<ErrorResponse xmlns="http://webservices.amazon.com/AWSFault/2005-15-09">"#
        ),
        "{}",
        r.body
    );

    let r = send_signed(&server, "ec2", "Action=DescribeNothing&Version=2016-11-15").await;
    assert_eq!((r.status, r.xml("Code")), (400, Some("InvalidAction")));
    assert_eq!(
        r.xml("Message"),
        Some("The action DescribeNothing is not valid for this web service.")
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn missing_or_wrong_version_is_invalid_action() {
    let server = MockServer::start().await;
    let r = send_signed(&server, "sts", "Action=GetCallerIdentity").await;
    assert_eq!(
        r.xml("Message"),
        Some("Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED")
    );
    let r = send_signed(
        &server,
        "sts",
        "Action=GetCallerIdentity&Version=2000-01-01",
    )
    .await;
    assert_eq!((r.status, r.xml("Code")), (400, Some("InvalidAction")));
    assert_eq!(
        r.xml("Message"),
        Some("Could not find operation GetCallerIdentity for version 2000-01-01")
    );
}

#[tokio::test]
async fn missing_action_is_a_400_not_a_redirect() {
    let server = MockServer::start().await;
    let r = send_signed(&server, "sts", "Version=2011-06-15").await;
    assert_eq!((r.status, r.xml("Code")), (400, Some("MissingAction")));
    assert!(r.header("location").is_none());
}

#[tokio::test]
async fn malformed_encoding_invalid_utf8_and_duplicates_are_4xx() {
    let server = MockServer::start().await;
    let cases: [(&[u8], &str, &str); 4] = [
        (
            b"Action=GetCallerIdentity&Version=2011-06-15&X=%zz",
            "MalformedQueryString",
            "Illegal hex character in escape % pattern: %zz",
        ),
        (
            b"Action=GetCallerIdentity&Version=2011-06-15&X=%4",
            "MalformedQueryString",
            "Incomplete trailing escape % sequence",
        ),
        (
            b"Action=GetCallerIdentity&Version=2011-06-15&X=%ff%fe",
            "MalformedQueryString",
            "The query string or body is not valid UTF-8",
        ),
        (
            b"Action=GetCallerIdentity&Version=2011-06-15&Action=GetCallerIdentity",
            "InvalidQueryParameter",
            "",
        ),
    ];
    for (form, expected_code, expected_message) in cases {
        let r = answer(&server, &post(&server, form, &[])).await;
        assert_eq!(
            (r.status, r.xml("Code")),
            (400, Some(expected_code)),
            "{}",
            r.body
        );
        if !expected_message.is_empty() {
            assert_eq!(r.xml("Message"), Some(expected_message));
        }
    }
    still_serving(&server).await;
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let server = MockServer::start().await;
    let mut form = b"Action=GetCallerIdentity&Version=2011-06-15&Pad=".to_vec();
    form.resize(1024 * 1024 + 10, b'a');
    let r = answer(&server, &post(&server, &form, &[])).await;
    assert_eq!(
        (r.status, r.xml("Code")),
        (413, Some("RequestEntityTooLarge"))
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn oversized_headers_and_garbage_are_refused_without_harm() {
    let server = MockServer::start().await;
    let big = "x".repeat(100 * 1024);
    let r = answer(
        &server,
        &post(&server, b"Action=GetCallerIdentity", &[("x-big", &big)]),
    )
    .await;
    assert_eq!(r.status, 431);
    let r = answer(
        &server,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n",
    )
    .await;
    assert_eq!(r.status, 400);
    still_serving(&server).await;
}

#[tokio::test]
async fn unsupported_methods_are_405() {
    let server = MockServer::start().await;
    let request = format!(
        "DELETE /?Action=GetCallerIdentity HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
        server.address()
    );
    let r = answer(&server, request.as_bytes()).await;
    assert_eq!(r.status, 405);
    assert!(r.xml("Code").is_some(), "{}", r.body);
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let server = MockServer::builder()
        .idle_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    // The server must close the silent connection by itself; the outer timeout only guards
    // against a hang.
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "connection still open: {read:?}"
    );

    // A stalled body is cut off too.
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\nAction=",
        server.address()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "stalled body not cut off");
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

#[tokio::test]
async fn ec2_requests_are_refused_in_the_ec2_shape_even_before_routing() {
    let server = MockServer::start().await;
    // Malformed form encoding, routed by the Version parameter only.
    let r = answer(
        &server,
        &post(
            &server,
            b"Action=DescribeRegions&Version=2016-11-15&X=%zz",
            &[],
        ),
    )
    .await;
    r.assert_ec2_error(400, "MalformedQueryString");
    // A duplicated parameter in a signed EC2 request.
    let form = "Action=DescribeRegions&Version=2016-11-15&Version=2016-11-15";
    let r = send_signed(&server, "ec2", form).await;
    r.assert_ec2_error(400, "InvalidQueryParameter");
    // A body too large to read: the signature's scope says EC2.
    let mut big = "Action=DescribeRegions&Version=2016-11-15&Pad=".to_owned();
    big.push_str(&"a".repeat(1024 * 1024));
    let r = send_signed(&server, "ec2", &big).await;
    r.assert_ec2_error(413, "RequestEntityTooLarge");
    // A scope naming a service not served here, with EC2's Version.
    let r = send_signed(&server, "s3", "Action=DescribeRegions&Version=2016-11-15").await;
    r.assert_ec2_error(401, "AuthFailure");
    still_serving(&server).await;
}

#[tokio::test]
async fn too_many_filter_values_are_refused_quickly() {
    let server = MockServer::start().await;
    let mut form = "Action=DescribeRegions&Version=2016-11-15".to_owned();
    for n in 1..=20_000 {
        form.push_str(&format!(
            "&Filter.{n}.Name=region-name&Filter.{n}.Value.1=x"
        ));
    }
    let r = send_signed(&server, "ec2", &form).await;
    r.assert_ec2_error(400, "FilterLimitExceeded");
    let r = send_signed(
        &server,
        "ec2",
        "Action=DescribeRegions&Version=2016-11-15&Filter.1.Value.1=x",
    )
    .await;
    r.assert_ec2_error(400, "InvalidParameterValue");
}

#[tokio::test]
async fn a_replayed_presigned_url_works_within_its_window_and_is_refused_after() {
    let server = MockServer::builder()
        .clock(mock_server::Clock::virtual_at(
            std::time::UNIX_EPOCH + Duration::from_secs(1_900_000_000),
        ))
        .start()
        .await
        .unwrap();
    let url = presigned_get(
        &server,
        STD,
        "sts",
        "us-east-1",
        "Action=GetCallerIdentity&Version=2011-06-15",
        server.clock().now(),
        Duration::from_secs(60),
    );
    // Within the window the same bytes work again (AWS does not remember signatures).
    for _ in 0..2 {
        assert_eq!(answer(&server, &url).await.status, 200);
    }
    server.clock().advance(Duration::from_secs(14 * 60));
    assert_eq!(answer(&server, &url).await.status, 200);
    server.clock().advance(Duration::from_secs(2 * 60));
    let r = answer(&server, &url).await;
    r.assert_query_error(403, "SignatureDoesNotMatch", STS_NS);
    assert!(
        r.xml("Message")
            .is_some_and(|m| m.starts_with("Signature expired: 20300317T")),
        "{}",
        r.body
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn a_truncated_body_is_refused_and_the_server_keeps_serving() {
    let server = MockServer::start().await;
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 200\r\n\r\nAction=GetCallerIdentity&Vers",
        server.address()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The client gives up half-way: no more body will come.
    stream.shutdown().await.unwrap();
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "the server hung on a truncated body");
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 400"),
        "a truncated body must be a 400 or a closed connection: {text}"
    );
    still_serving(&server).await;
}

#[tokio::test]
async fn empty_parameters_are_validation_errors() {
    let server = MockServer::start().await;
    // An empty Action names no operation.
    let r = send_signed(&server, "sts", "Action=&Version=2011-06-15").await;
    assert_eq!((r.status, r.xml("Code")), (400, Some("InvalidAction")));
    // Empty required members fail their length constraints, as AWS's validation says.
    let r = send_signed(
        &server,
        "sts",
        "Action=AssumeRole&Version=2011-06-15&RoleArn=&RoleSessionName=ci",
    )
    .await;
    r.assert_query_error(400, "ValidationError", STS_NS);
    let r = send_signed(
        &server,
        "iam",
        "Action=GetRole&Version=2010-05-08&RoleName=",
    )
    .await;
    r.assert_query_error(400, "ValidationError", IAM_NS);
    // A parameter with no `=` is an empty value, not a crash.
    let r = send_signed(
        &server,
        "sts",
        "Action=GetCallerIdentity&Version=2011-06-15&Flag",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    still_serving(&server).await;
}

#[tokio::test]
async fn unknown_services_in_the_scope_are_refused_in_each_shape() {
    let server = MockServer::start().await;
    // The Version tells which service the request is for; the scope must name it.
    for (form, namespace, expected) in [
        ("Action=GetCallerIdentity&Version=2011-06-15", STS_NS, "sts"),
        ("Action=GetUser&Version=2010-05-08", IAM_NS, "iam"),
    ] {
        for service in ["s3", "lambda", "", "STS"] {
            let r = send_signed(&server, service, form).await;
            r.assert_query_error(403, "SignatureDoesNotMatch", namespace);
            assert_eq!(
                r.xml("Message"),
                Some(
                    format!(
                        "Credential should be scoped to correct service: &apos;{expected}&apos;. "
                    )
                    .as_str()
                ),
                "{service}"
            );
        }
    }
    still_serving(&server).await;
}

#[tokio::test]
async fn invalid_utf8_in_headers_and_paths_is_4xx() {
    let server = MockServer::start().await;
    let mut request = format!(
        "POST / HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\nconnection: close\r\ncontent-length: 43\r\nauthorization: AWS4-HMAC-SHA256 Credential=@@/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00\r\n\r\n",
        server.address()
    )
    .into_bytes();
    // Bytes that are not UTF-8 in the access key id.
    let at = request.windows(2).position(|w| w == b"@@").expect("marker");
    request.splice(at..at + 2, [0xff, 0xfe]);
    request.extend_from_slice(b"Action=GetCallerIdentity&Version=2011-06-15");
    let r = answer(&server, &request).await;
    assert!((400..500).contains(&r.status), "{} {}", r.status, r.body);
    let r = answer(
        &server,
        format!(
            "GET /%ff%fe/..%2f?Action=GetCallerIdentity&Version=2011-06-15 HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
            server.address()
        )
        .as_bytes(),
    )
    .await;
    assert!((400..500).contains(&r.status), "{} {}", r.status, r.body);
    still_serving(&server).await;
}
