//! Policy conditions evaluated on real calls: the request context (region, source address,
//! principal) as the pipeline builds it, seen through the real `aws-sdk-ec2` client.

use crate::support::*;

const WORLD: &str = r#"
accounts:
  - id: "555555555555"
    users:
      - name: us-only
        inline_policies:
          regions: {Version: "2012-10-17", Statement: {Effect: Allow, Action: "ec2:DescribeRegions", Resource: "*", Condition: {StringEquals: {"aws:RequestedRegion": us-east-1}}}}
        access_keys: [{id: AKIAUSONLY5555555555, secret: us-only-secret}]
      - name: office-only
        managed_policies: [AdministratorAccess]
        inline_policies:
          office: {Version: "2012-10-17", Statement: {Effect: Deny, Action: "*", Resource: "*", Condition: {NotIpAddress: {"aws:SourceIp": "203.0.113.0/24"}}}}
        access_keys: [{id: AKIAOFFICE5555555555, secret: office-secret}]
      - name: decoder
        inline_policies:
          decode: {Version: "2012-10-17", Statement: {Effect: Allow, Action: "sts:DecodeAuthorizationMessage", Resource: "*"}}
        access_keys: [{id: AKIADECODER555555555, secret: decoder-secret}]
      - name: loopback-ci
        inline_policies:
          named: {Version: "2012-10-17", Statement: {Effect: Allow, Action: "ec2:Describe*", Resource: "*", Condition: {IpAddress: {"aws:SourceIp": "127.0.0.0/8"}, StringLike: {"aws:PrincipalArn": "arn:aws:iam::*:user/loopback-*"}, Bool: {"aws:SecureTransport": "false"}}}}
        access_keys: [{id: AKIALOOPBACK55555555, secret: loopback-secret}]
"#;

async fn describe(
    server: &mock_server::MockServer,
    key: &str,
    secret: &str,
    region: &str,
) -> Result<(), (Option<String>, String)> {
    let client = aws_sdk_ec2::Client::new(&config_with_key(server, key, secret, region));
    client
        .describe_regions()
        .send()
        .await
        .map(|_| ())
        .map_err(|e| (code(&e), message(&e)))
}

#[tokio::test]
async fn a_requested_region_condition_allows_one_region_only() {
    let server = server_with(WORLD).await;
    assert_eq!(
        describe(
            &server,
            "AKIAUSONLY5555555555",
            "us-only-secret",
            "us-east-1"
        )
        .await,
        Ok(())
    );
    let refused = describe(
        &server,
        "AKIAUSONLY5555555555",
        "us-only-secret",
        "eu-west-1",
    )
    .await;
    assert_eq!(
        refused.map_err(|(code, _)| code),
        Err(Some("UnauthorizedOperation".into()))
    );
}

#[tokio::test]
async fn a_source_ip_guardrail_denies_callers_outside_the_range() {
    let server = server_with(WORLD).await;
    let refused = describe(
        &server,
        "AKIAOFFICE5555555555",
        "office-secret",
        "us-east-1",
    )
    .await;
    let (code, message) = refused.expect_err("allowed from loopback");
    assert_eq!(code.as_deref(), Some("UnauthorizedOperation"));
    let decoded = decode_with(
        &server,
        ("AKIADECODER555555555", "decoder-secret"),
        &message,
    )
    .await;
    assert_eq!(decoded["explicitDeny"], true);
    let conditions = decoded["context"]["conditions"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let source = conditions
        .iter()
        .find(|c| c["key"] == "aws:SourceIp")
        .map(|c| c["values"]["items"][0]["value"].clone());
    assert_eq!(source, Some("127.0.0.1".into()));
}

#[tokio::test]
async fn source_ip_principal_arn_and_transport_keys_come_from_the_request() {
    let server = server_with(WORLD).await;
    assert_eq!(
        describe(
            &server,
            "AKIALOOPBACK55555555",
            "loopback-secret",
            "us-east-1"
        )
        .await,
        Ok(())
    );
}
