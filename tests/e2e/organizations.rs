//! AWS Organizations with the real SDK clients: service control policies on every STS, IAM
//! and EC2 call of a member account (region allow-list, a denied `iam:PassRole`, an OU that
//! allows only some services), the management account and service-linked roles exempt, the
//! organization condition keys in trust and identity policies, and a GovCloud organization
//! of its own. The world is `tests/worlds/organizations.yaml`.

use aws_sdk_ec2::types::IamInstanceProfileSpecification;
use mock_server::{Clock, MockServer, World};

use crate::support::*;

const WORLD: &str = include_str!("../worlds/organizations.yaml");
const MANAGEMENT: (&str, &str) = ("AKIAORGMANAGEMENT001", "management-secret");
const CONNECTOR: (&str, &str) = ("AKIAORGCONNECTOR0002", "connector-secret");
const MEMBER_ROOT: (&str, &str) = ("AKIAORGMEMBERROOT002", "member-root-secret");
const READER: (&str, &str) = ("AKIAORGREADER0000003", "reader-secret");
const IN_ORG_ONLY: (&str, &str) = ("AKIAORGINORGONLY0003", "in-org-secret");
const SANDBOX: (&str, &str) = ("AKIAORGSANDBOX000004", "sandbox-secret");
const SANDBOX_ROOT: (&str, &str) = ("AKIAORGSANDBOXROOT04", "sandbox-root-secret");
const OUTSIDER: (&str, &str) = ("AKIAOUTSIDER00000009", "outsider-secret");
const GOV_MANAGEMENT: (&str, &str) = ("AKIAGOVMANAGEMENT001", "gov-management-secret");
const GOV_MEMBER: (&str, &str) = ("AKIAGOVMEMBER0000002", "gov-member-secret");

const REGIONS_SCP: &str =
    "arn:aws:organizations::100000000001:policy/o-exampleorg01/service_control_policy/p-regions01";

async fn server() -> MockServer {
    MockServer::builder()
        .world(World::from_yaml(WORLD).unwrap())
        .clock(Clock::virtual_now())
        .start()
        .await
        .unwrap()
}

fn ec2(server: &MockServer, who: (&str, &str), region: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&config_with_key(server, who.0, who.1, region))
}

fn iam(server: &MockServer, who: (&str, &str)) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&config_with_key(server, who.0, who.1, "us-east-1"))
}

fn sts(server: &MockServer, who: (&str, &str), region: &str) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&config_with_key(server, who.0, who.1, region))
}

#[tokio::test]
async fn a_region_allow_list_denies_other_regions_and_says_it_was_an_scp() {
    let server = server().await;
    // In the allowed region the connector's policies decide.
    succeeds(
        ec2(&server, CONNECTOR, "eu-west-1")
            .describe_regions()
            .send()
            .await,
    );
    let err = fails_with(
        ec2(&server, CONNECTOR, "us-east-1")
            .describe_regions()
            .send()
            .await,
        "UnauthorizedOperation",
    );
    let text = message(&err);
    assert!(
        text.starts_with(&format!(
            "You are not authorized to perform this operation. User: arn:aws:iam::100000000002:user/connector is not authorized to perform: ec2:DescribeRegions on resource: * with an explicit deny in a service control policy: {REGIONS_SCP}. Encoded authorization failure message: "
        )),
        "{text}"
    );
    let decoded = decode_with(&server, MANAGEMENT, &text).await;
    assert_eq!(decoded["explicitDeny"], true, "{decoded}");
    assert_eq!(
        decoded["matchedStatements"]["items"][0]["statementId"],
        "DenyOutsideEuWest1"
    );
    let org_id = decoded["context"]["conditions"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["key"] == "aws:PrincipalOrgID")
        .map(|c| c["values"]["items"][0]["value"].clone());
    assert_eq!(org_id, Some("o-exampleorg01".into()), "{decoded}");
    // SCPs bind the member account's root user too; IAM and STS are outside the deny.
    fails_with(
        ec2(&server, MEMBER_ROOT, "us-east-1")
            .describe_regions()
            .send()
            .await,
        "UnauthorizedOperation",
    );
    succeeds(iam(&server, CONNECTOR).list_users().send().await);
    // The management account is never affected.
    succeeds(
        ec2(&server, MANAGEMENT, "us-east-1")
            .describe_regions()
            .send()
            .await,
    );
}

#[tokio::test]
async fn an_ou_that_allows_only_some_services_is_an_implicit_scp_deny_for_iam_and_root() {
    let server = server().await;
    succeeds(
        ec2(&server, SANDBOX, "us-east-1")
            .describe_regions()
            .send()
            .await,
    );
    for who in [SANDBOX, SANDBOX_ROOT] {
        let err = fails_with(iam(&server, who).list_users().send().await, "AccessDenied");
        assert!(
            message(&err).ends_with(
                "is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::100000000004:user/ because no service control policy allows the iam:ListUsers action"
            ),
            "{}",
            message(&err)
        );
    }
}

#[tokio::test]
async fn a_role_trusting_only_its_organization_is_assumable_from_inside_only() {
    let server = server().await;
    let role = "arn:aws:iam::100000000003:role/org-reader";
    let inside = sts(&server, CONNECTOR, "eu-west-1")
        .assume_role()
        .role_arn(role)
        .role_session_name("inside")
        .send()
        .await;
    let assumed = succeeds(inside);
    assert_eq!(
        assumed.assumed_role_user().map(|u| u.arn()),
        Some("arn:aws:sts::100000000003:assumed-role/org-reader/inside")
    );
    let outside = sts(&server, OUTSIDER, "us-east-1")
        .assume_role()
        .role_arn(role)
        .role_session_name("outside")
        .send()
        .await;
    let err = fails_with(outside, "AccessDenied");
    assert_eq!(
        message(&err),
        format!(
            "User: arn:aws:iam::200000000009:user/admin is not authorized to perform: sts:AssumeRole on resource: {role}"
        )
    );
    // The outsider's role trusts the connector's account, but an SCP keeps it inside.
    let leaving = sts(&server, CONNECTOR, "eu-west-1")
        .assume_role()
        .role_arn("arn:aws:iam::200000000009:role/vendor")
        .role_session_name("leaving")
        .send()
        .await;
    assert_eq!(
        message(&fails_with(leaving, "AccessDenied")),
        "User: arn:aws:iam::100000000002:user/connector is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::200000000009:role/vendor with an explicit deny in a service control policy: arn:aws:organizations::100000000001:policy/o-exampleorg01/service_control_policy/p-stayin01"
    );
    // The GovCloud organization is another organization.
    let gov = sts(&server, GOV_MANAGEMENT, "us-gov-west-1")
        .assume_role()
        .role_arn(role)
        .role_session_name("gov")
        .send()
        .await;
    fails_with(gov, "AccessDenied");
}

#[tokio::test]
async fn organization_paths_and_resource_account_reach_identity_policies() {
    let server = server().await;
    let me = iam(&server, IN_ORG_ONLY);
    // Its path is the root's (`o-…/r-…/`) and the user is of its own account.
    succeeds(me.get_user().send().await);
    // It is not in the Workloads OU.
    let err = fails_with(me.list_users().send().await, "AccessDenied");
    assert!(
        message(&err).ends_with("because no identity-based policy allows the iam:ListUsers action"),
        "{}",
        message(&err)
    );
    // With its own policies allowing everything, the reader's calls pass: FullAWSAccess.
    succeeds(iam(&server, READER).list_users().send().await);
}

#[tokio::test]
async fn an_scp_denying_pass_role_breaks_a_launch_with_an_instance_profile() {
    let server = server().await;
    let client = ec2(&server, CONNECTOR, "eu-west-1");
    let launch = |profile: &str| {
        client
            .run_instances()
            .image_id("ami-0abcdef1234567890")
            .min_count(1)
            .max_count(1)
            .iam_instance_profile(
                IamInstanceProfileSpecification::builder()
                    .name(profile)
                    .build(),
            )
    };
    let err = fails_with(launch("app").send().await, "UnauthorizedOperation");
    let text = message(&err);
    assert!(
        text.contains(
            "is not authorized to perform: iam:PassRole on resource: arn:aws:iam::100000000002:role/app with an explicit deny in a service control policy: arn:aws:organizations::100000000001:policy/o-exampleorg01/service_control_policy/p-passrole01."
        ),
        "{text}"
    );
    let decoded = decode_with(&server, MANAGEMENT, &text).await;
    assert_eq!(decoded["context"]["action"], "iam:PassRole");
    // A role under /connectors/ passes.
    succeeds(launch("launcher").send().await);
}

#[tokio::test]
async fn service_linked_roles_are_not_bound_by_scps() {
    let server = server().await;
    let session = succeeds(
        sts(&server, CONNECTOR, "eu-west-1")
            .assume_role()
            .role_arn("arn:aws:iam::100000000002:role/aws-service-role/AWSServiceRoleForExample")
            .role_session_name("slr")
            .send()
            .await,
    );
    let creds = session.credentials().unwrap();
    let creds = aws_credential_types::Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        None,
        "test",
    );
    let config = harness::sdk::sdk_config(&server.endpoint(), creds, "us-east-1", server.clock());
    succeeds(
        aws_sdk_ec2::Client::new(&config)
            .describe_regions()
            .send()
            .await,
    );
}

#[tokio::test]
async fn a_govcloud_organization_has_its_own_scps() {
    let server = server().await;
    let err = fails_with(
        ec2(&server, GOV_MEMBER, "us-gov-west-1")
            .describe_regions()
            .send()
            .await,
        "UnauthorizedOperation",
    );
    assert!(
        message(&err).contains(
            "with an explicit deny in a service control policy: arn:aws-us-gov:organizations::300000000001:policy/o-govexample01/service_control_policy/p-"
        ),
        "{}",
        message(&err)
    );
    succeeds(
        ec2(&server, GOV_MANAGEMENT, "us-gov-west-1")
            .describe_regions()
            .send()
            .await,
    );
}

/// The organizations world on a virtual clock, organization changes taking 120 s.
async fn propagating_server() -> MockServer {
    MockServer::builder()
        .world(World::from_yaml(WORLD).unwrap())
        .clock(Clock::virtual_now())
        .propagation(mock_server::Propagation {
            kinds: [(mock_server::ChangeKind::Organizations, 120.0)].into(),
            ..mock_server::Propagation::default()
        })
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_scp_change_takes_effect_after_propagation() {
    let server = propagating_server().await;
    let r = control(&server, "GET", "/_mock/organizations", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut organizations: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    // Detach the region allow-list from the Workloads OU.
    let workloads = &mut organizations["organizations"][0]["root"]["units"][0];
    assert_eq!(workloads["name"], "Workloads");
    workloads["policies"] = serde_json::json!(["FullAWSAccess"]);
    let r = control(
        &server,
        "POST",
        "/_mock/organizations",
        &organizations.to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let connector = ec2(&server, CONNECTOR, "us-east-1");
    fails_with(
        connector.describe_regions().send().await,
        "UnauthorizedOperation",
    );
    server.clock().advance(std::time::Duration::from_secs(119));
    fails_with(
        connector.describe_regions().send().await,
        "UnauthorizedOperation",
    );
    server.clock().advance(std::time::Duration::from_secs(1));
    succeeds(connector.describe_regions().send().await);

    // An inconsistent organization is refused and changes nothing.
    let bad = serde_json::json!({"organizations": [{"management_account": "999999999999"}]});
    let r = control(&server, "POST", "/_mock/organizations", &bad.to_string()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("not an account of the world"), "{}", r.body);
    succeeds(connector.describe_regions().send().await);
}

/// One `SimulatePrincipalPolicy` result of `principal` for `action` on `resource`, with
/// `aws:RequestedRegion` in the context when `region` is given, asked by `who`.
async fn simulated(
    server: &MockServer,
    who: (&str, &str),
    principal: &str,
    action: &str,
    resource: &str,
    region: Option<&str>,
) -> aws_sdk_iam::types::EvaluationResult {
    let entries = region.map(|r| {
        vec![
            aws_sdk_iam::types::ContextEntry::builder()
                .context_key_name("aws:RequestedRegion")
                .context_key_type(aws_sdk_iam::types::ContextKeyTypeEnum::String)
                .context_key_values(r)
                .build(),
        ]
    });
    let out = succeeds(
        iam(server, who)
            .simulate_principal_policy()
            .policy_source_arn(principal)
            .action_names(action)
            .resource_arns(resource)
            .set_context_entries(entries)
            .send()
            .await,
    );
    out.evaluation_results()[0].clone()
}

/// The decision and `AllowedByOrganizations` (`None`: no `OrganizationsDecisionDetail`).
fn verdict(result: &aws_sdk_iam::types::EvaluationResult) -> (&str, Option<bool>) {
    (
        result.eval_decision().as_str(),
        result
            .organizations_decision_detail()
            .map(|d| d.allowed_by_organizations()),
    )
}

#[tokio::test]
async fn the_policy_simulator_applies_the_scps_and_says_whether_they_allow() {
    let server = server().await;
    let connector = "arn:aws:iam::100000000002:user/connector";
    // The region allow-list reads aws:RequestedRegion: outside eu-west-1 (or with no region
    // in the context, as its StringNotEquals then holds) the SCP denies, whatever
    // AdministratorAccess allows.
    let outside = simulated(
        &server,
        MEMBER_ROOT,
        connector,
        "ec2:DescribeRegions",
        "*",
        Some("us-east-1"),
    )
    .await;
    assert_eq!(verdict(&outside), ("explicitDeny", Some(false)));
    // An SCP is not one of the policies MatchedStatements can name.
    assert!(outside.matched_statements().is_empty(), "{outside:?}");
    let unknown = simulated(
        &server,
        MEMBER_ROOT,
        connector,
        "ec2:DescribeRegions",
        "*",
        None,
    )
    .await;
    assert_eq!(verdict(&unknown), ("explicitDeny", Some(false)));
    assert_eq!(unknown.missing_context_values(), ["aws:RequestedRegion"]);
    let inside = simulated(
        &server,
        MEMBER_ROOT,
        connector,
        "ec2:DescribeRegions",
        "*",
        Some("eu-west-1"),
    )
    .await;
    assert_eq!(verdict(&inside), ("allowed", Some(true)));
    assert_eq!(
        inside.matched_statements()[0].source_policy_id(),
        Some("AdministratorAccess")
    );
    // Resource scoping: iam:PassRole only for roles under /connectors/.
    let pass = |role: &'static str| {
        let server = &server;
        async move {
            let arn = format!("arn:aws:iam::100000000002:role/{role}");
            simulated(server, MEMBER_ROOT, connector, "iam:PassRole", &arn, None).await
        }
    };
    assert_eq!(verdict(&pass("app").await), ("explicitDeny", Some(false)));
    assert_eq!(
        verdict(&pass("connectors/launcher").await),
        ("allowed", Some(true))
    );
    // A service-linked role is outside the SCPs, as is the management account; an account
    // of no organization has no OrganizationsDecisionDetail.
    let cases = [
        (
            MEMBER_ROOT,
            "arn:aws:iam::100000000002:role/aws-service-role/AWSServiceRoleForExample",
            Some(true),
        ),
        (
            MANAGEMENT,
            "arn:aws:iam::100000000001:user/admin",
            Some(true),
        ),
        (OUTSIDER, "arn:aws:iam::200000000009:user/admin", None),
    ];
    for (who, principal, organizations) in cases {
        let result = simulated(
            &server,
            who,
            principal,
            "ec2:DescribeRegions",
            "*",
            Some("us-east-1"),
        )
        .await;
        assert_eq!(verdict(&result), ("allowed", organizations), "{principal}");
    }
    // SimulateCustomPolicy simulates only the policies given.
    let custom = succeeds(
        iam(&server, MEMBER_ROOT)
            .simulate_custom_policy()
            .policy_input_list(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}"#,
            )
            .action_names("ec2:DescribeRegions")
            .send()
            .await,
    );
    assert_eq!(verdict(&custom.evaluation_results()[0]), ("allowed", None));
}

#[tokio::test]
async fn the_policy_simulator_sees_an_scp_change_once_it_takes_effect() {
    let server = propagating_server().await;
    let mut organizations = server.world().organizations;
    let workloads = &mut organizations[0].root.units[0];
    assert_eq!(workloads.name, "Workloads");
    workloads.policies = vec!["FullAWSAccess".into()];
    succeeds(server.set_organizations(organizations));
    let ask = || {
        simulated(
            &server,
            MEMBER_ROOT,
            "arn:aws:iam::100000000002:user/connector",
            "ec2:DescribeRegions",
            "*",
            Some("us-east-1"),
        )
    };
    assert_eq!(verdict(&ask().await), ("explicitDeny", Some(false)));
    server.clock().advance(std::time::Duration::from_secs(120));
    assert_eq!(verdict(&ask().await), ("allowed", Some(true)));
}

#[tokio::test]
async fn the_least_privilege_report_says_which_denials_an_scp_made() {
    let server = server().await;
    fails_with(
        ec2(&server, CONNECTOR, "us-east-1")
            .describe_regions()
            .send()
            .await,
        "UnauthorizedOperation",
    );
    fails_with(
        iam(&server, IN_ORG_ONLY).list_users().send().await,
        "AccessDenied",
    );
    let report = server.least_privilege_report();
    let denied = |principal: &str| {
        report
            .principals
            .iter()
            .find(|p| p.principal == principal)
            .map(|p| p.denied.clone())
            .unwrap_or_default()
    };
    let by_scp = denied("arn:aws:iam::100000000002:user/connector");
    assert_eq!(by_scp.len(), 1, "{by_scp:?}");
    assert!(by_scp[0].service_control_policy, "{by_scp:?}");
    let by_policy = denied("arn:aws:iam::100000000003:user/in-org-only");
    assert_eq!(by_policy.len(), 1, "{by_policy:?}");
    assert!(!by_policy[0].service_control_policy, "{by_policy:?}");
}
