//! The least-privilege report over a known sequence of real SDK calls, from the Rust API and
//! the control API.

use crate::support::*;

const WORLD: &str = r#"
accounts:
  - id: "555555555555"
    users:
      - name: connector
        access_keys: [{id: AKIACONNECTOR5555555, secret: connector-secret}]
        inline_policies:
          connector: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: ["ec2:DescribeRegions", "iam:ListRoles"], Resource: "*"}, {Effect: Allow, Action: "sts:AssumeRole", Resource: "arn:aws:iam::555555555555:role/deploy"}]}
    roles:
      - name: deploy
        trust_policy: {Version: "2012-10-17", Statement: {Effect: Allow, Principal: {AWS: "arn:aws:iam::555555555555:user/connector"}, Action: "sts:AssumeRole"}}
      - name: other
        trust_policy: {Version: "2012-10-17", Statement: {Effect: Allow, Principal: {AWS: "555555555555"}, Action: "sts:AssumeRole"}}
"#;

const CONNECTOR: &str = "arn:aws:iam::555555555555:user/connector";

#[tokio::test]
async fn the_report_lists_what_was_used_grouped_and_what_was_denied() {
    let server = server_with(WORLD).await;
    let config = config_with_key(
        &server,
        "AKIACONNECTOR5555555",
        "connector-secret",
        "us-east-1",
    );
    let sts = aws_sdk_sts::Client::new(&config);
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    sts.get_caller_identity().send().await.unwrap();
    for _ in 0..2 {
        ec2.describe_regions().send().await.unwrap();
    }
    iam.list_roles().send().await.unwrap();
    sts.assume_role()
        .role_arn("arn:aws:iam::555555555555:role/deploy")
        .role_session_name("run")
        .send()
        .await
        .unwrap();
    fails_with(
        sts.assume_role()
            .role_arn("arn:aws:iam::555555555555:role/other")
            .role_session_name("run")
            .send()
            .await,
        "AccessDenied",
    );
    fails_with(
        iam.create_user().user_name("x").send().await,
        "AccessDenied",
    );

    let report = server.least_privilege_report();
    assert_eq!(report.principals.len(), 1, "{report:#?}");
    let p = &report.principals[0];
    assert_eq!(p.principal, CONNECTOR);
    let statements: Vec<(Vec<&str>, Vec<&str>)> = p
        .policy
        .statement
        .iter()
        .map(|s| {
            assert_eq!(s.effect, "Allow");
            (
                s.action.iter().map(String::as_str).collect(),
                s.resource.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        statements,
        vec![
            (vec!["ec2:DescribeRegions"], vec!["*"]),
            (
                vec!["iam:ListRoles"],
                vec!["arn:aws:iam::555555555555:role/"]
            ),
            (
                vec!["sts:AssumeRole"],
                vec!["arn:aws:iam::555555555555:role/deploy"]
            ),
        ]
    );
    let denied: Vec<(&str, &str)> = p
        .denied
        .iter()
        .map(|d| (d.action.as_str(), d.resource.as_str()))
        .collect();
    assert_eq!(
        denied,
        vec![
            ("iam:CreateUser", "arn:aws:iam::555555555555:user/x"),
            ("sts:AssumeRole", "arn:aws:iam::555555555555:role/other"),
        ]
    );

    let over_http = control(&server, "GET", "/_mock/report", "").await;
    let body: mock_server::Report =
        serde_json::from_str(&over_http.body).unwrap_or_else(|e| panic!("{e}: {}", over_http.body));
    assert_eq!(body, report);
    assert!(over_http.body.contains("\"Version\":\"2012-10-17\""));
}
