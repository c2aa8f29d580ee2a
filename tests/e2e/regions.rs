//! EC2 DescribeRegions with the real `aws-sdk-ec2` client: partitions, opt-in regions,
//! filters, authorization.

use aws_sdk_ec2::types::Filter;

use crate::support::*;

fn names(out: &aws_sdk_ec2::operation::describe_regions::DescribeRegionsOutput) -> Vec<String> {
    out.regions()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_owned))
        .collect()
}

/// A server with `WORLD_444` and an EC2 client of its `connector` user (which may call
/// DescribeRegions) in us-east-1.
async fn connector_client() -> (mock_server::MockServer, aws_sdk_ec2::Client) {
    let server = server_with(WORLD_444).await;
    let client = aws_sdk_ec2::Client::new(&config_with_key(
        &server,
        "AKIACONNECTOR4444444",
        "connector-secret",
        "us-east-1",
    ));
    (server, client)
}

#[tokio::test]
async fn describe_regions_lists_only_the_enabled_regions_of_the_callers_partition() {
    let server = mock_server::MockServer::start().await;
    let out = ec2(&server, STD, "us-east-1")
        .describe_regions()
        .send()
        .await
        .unwrap();
    let std_names = names(&out);
    assert_eq!(std_names.len(), 17, "{std_names:?}");
    assert!(std_names.contains(&"us-east-1".to_owned()));
    assert!(
        !std_names
            .iter()
            .any(|n| n.starts_with("us-gov-") || n.starts_with("cn-"))
    );
    assert!(
        !std_names.contains(&"af-south-1".to_owned()),
        "opt-in regions are hidden by default"
    );
    let first = &out.regions()[0];
    assert_eq!(
        first.endpoint(),
        Some(format!("ec2.{}.amazonaws.com", std_names[0]).as_str())
    );
    assert_eq!(first.opt_in_status(), Some("opt-in-not-required"));

    let out = ec2(&server, GOV, "us-gov-west-1")
        .describe_regions()
        .send()
        .await
        .unwrap();
    assert_eq!(names(&out), vec!["us-gov-east-1", "us-gov-west-1"]);
}

#[tokio::test]
async fn all_regions_shows_opt_in_regions_with_their_status() {
    let (_server, client) = connector_client().await;
    let enabled = client.describe_regions().send().await.unwrap();
    assert!(
        names(&enabled).contains(&"af-south-1".to_owned()),
        "opted-in regions are listed"
    );
    let all = client
        .describe_regions()
        .all_regions(true)
        .send()
        .await
        .unwrap();
    let status = |name: &str| {
        all.regions()
            .iter()
            .find(|r| r.region_name() == Some(name))
            .and_then(|r| r.opt_in_status().map(str::to_owned))
    };
    assert_eq!(status("af-south-1").as_deref(), Some("opted-in"));
    assert_eq!(status("me-south-1").as_deref(), Some("not-opted-in"));
    assert_eq!(status("eu-west-1").as_deref(), Some("opt-in-not-required"));
    assert!(names(&all).len() > names(&enabled).len());
}

#[tokio::test]
async fn region_names_and_filters_narrow_the_list() {
    let server = mock_server::MockServer::start().await;
    let client = ec2(&server, STD, "eu-west-1");
    let out = client
        .describe_regions()
        .region_names("eu-west-1")
        .region_names("us-west-2")
        .send()
        .await;
    assert_eq!(names(&out.unwrap()), vec!["eu-west-1", "us-west-2"]);

    let filter = Filter::builder().name("region-name").values("eu-*").build();
    let out = client
        .describe_regions()
        .filters(filter)
        .send()
        .await
        .unwrap();
    assert!(
        !names(&out).is_empty() && names(&out).iter().all(|n| n.starts_with("eu-")),
        "{:?}",
        names(&out)
    );

    let filter = Filter::builder()
        .name("opt-in-status")
        .values("not-opted-in")
        .build();
    let out = client
        .describe_regions()
        .all_regions(true)
        .filters(filter)
        .send()
        .await
        .unwrap();
    assert!(names(&out).contains(&"me-south-1".to_owned()));
    assert!(!names(&out).contains(&"us-east-1".to_owned()));

    let filter = Filter::builder()
        .name("region-name")
        .values("us-east-?")
        .build();
    let out = client
        .describe_regions()
        .filters(filter)
        .send()
        .await
        .unwrap();
    assert_eq!(names(&out), vec!["us-east-1", "us-east-2"]);

    let filter = Filter::builder()
        .name("endpoint")
        .values("ec2.ap-northeast-1.amazonaws.com")
        .build();
    let out = client
        .describe_regions()
        .filters(filter)
        .send()
        .await
        .unwrap();
    assert_eq!(names(&out), vec!["ap-northeast-1"]);
}

#[tokio::test]
async fn unknown_region_names_and_filters_are_invalid_parameter_values() {
    let server = mock_server::MockServer::start().await;
    let client = ec2(&server, STD, "us-east-1");
    for region in ["us-fake-1", "us-gov-west-1"] {
        let err = client
            .describe_regions()
            .region_names(region)
            .send()
            .await
            .err();
        let err = err.unwrap_or_else(|| panic!("{region} accepted"));
        assert_eq!(code(&err).as_deref(), Some("InvalidParameterValue"));
        assert_eq!(message(&err), format!("Invalid region: {region}"));
    }
    let filter = Filter::builder().name("region").values("x").build();
    let err = fails_with(
        client.describe_regions().filters(filter).send().await,
        "InvalidParameterValue",
    );
    assert_eq!(message(&err), "The filter 'region' is invalid");
}

#[tokio::test]
async fn describe_regions_needs_the_permission_the_connector_docs_require() {
    let server = server_with(WORLD_444).await;
    let call = |key: &'static str, secret: &'static str| {
        let client = aws_sdk_ec2::Client::new(&config_with_key(&server, key, secret, "us-east-1"));
        async move { client.describe_regions().send().await }
    };
    // The docs' policy: {"Effect":"Allow","Action":"ec2:DescribeRegions","Resource":"*"}.
    succeeds(call("AKIACONNECTOR4444444", "connector-secret").await);

    let err = fails_with(
        call("AKIANOBODY4444444444", "nobody-secret").await,
        "UnauthorizedOperation",
    );
    let decoded = decode_authorization_message(&server, &message(&err)).await;
    assert_eq!(decoded["allowed"], false);
    assert_eq!(decoded["explicitDeny"], false);
    assert_eq!(decoded["context"]["action"], "ec2:DescribeRegions");
    assert_eq!(decoded["context"]["resource"], "*");
    assert_eq!(
        decoded["context"]["principal"]["arn"],
        "arn:aws:iam::444444444444:user/nobody"
    );
    assert_eq!(decoded["context"]["principal"]["name"], "nobody");
    let conditions = decoded["context"]["conditions"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let region = conditions
        .iter()
        .find(|c| c["key"] == "ec2:Region")
        .map(|c| c["values"]["items"][0]["value"].clone());
    assert_eq!(region, Some("us-east-1".into()));

    for (key, secret) in [
        ("AKIADENIED4444444444", "denied-secret"),
        ("AKIADENIEDMANAGED444", "denied-managed-secret"),
    ] {
        let err = fails_with(call(key, secret).await, "UnauthorizedOperation");
        let decoded = decode_authorization_message(&server, &message(&err)).await;
        assert_eq!(decoded["explicitDeny"], true, "{decoded}");
        assert_eq!(decoded["matchedStatements"]["items"][0]["effect"], "DENY");
    }
}

#[tokio::test]
async fn iam_names_the_managed_policy_that_explicitly_denies() {
    let server = server_with(WORLD_444).await;
    let iam = aws_sdk_iam::Client::new(&config_with_key(
        &server,
        "AKIADENIEDMANAGED444",
        "denied-managed-secret",
        "us-east-1",
    ));
    let err = iam.list_users().send().await.expect_err("allowed");
    assert_eq!(
        message(&err),
        "User: arn:aws:iam::444444444444:user/denied-by-managed is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::444444444444:user/ with an explicit deny in an identity-based policy: arn:aws:iam::444444444444:policy/guardrails/DenyEc2"
    );
}

#[tokio::test]
async fn decoding_needs_permission_and_a_valid_message() {
    let server = server_with(WORLD_444).await;
    let nobody = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        "AKIANOBODY4444444444",
        "nobody-secret",
        "us-east-1",
    ));
    fails_with(
        nobody
            .decode_authorization_message()
            .encoded_message("tb1.e30")
            .send()
            .await,
        "AccessDenied",
    );
    let root = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        "AKIAROOT444444444444",
        "root-secret",
        "us-east-1",
    ));
    fails_with(
        root.decode_authorization_message()
            .encoded_message("not-a-message")
            .send()
            .await,
        "InvalidAuthorizationMessageException",
    );
}

#[tokio::test]
async fn the_rendered_once_answer_equals_the_computed_one() {
    let (_server, client) = connector_client().await;
    let describe = |filter: Option<Filter>| {
        let client = client.clone();
        async move {
            let out = client
                .describe_regions()
                .set_filters(filter.map(|f| vec![f]))
                .send()
                .await
                .unwrap();
            out.regions()
                .iter()
                .map(|r| {
                    (
                        r.region_name().unwrap_or_default().to_owned(),
                        r.endpoint().unwrap_or_default().to_owned(),
                        r.opt_in_status().unwrap_or_default().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // The plain call is served from the account's rendered answer (twice: render, then
    // reuse); a match-everything filter takes the computed path.
    let plain = describe(None).await;
    assert_eq!(plain, describe(None).await);
    let computed = describe(Some(
        Filter::builder().name("region-name").values("*").build(),
    ))
    .await;
    assert_eq!(plain, computed);
    assert!(
        plain
            .iter()
            .any(|(n, _, s)| n == "af-south-1" && s == "opted-in")
    );
}
