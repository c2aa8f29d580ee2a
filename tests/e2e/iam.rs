//! IAM with the real `aws-sdk-iam` client: users, access keys, managed and inline
//! policies, AWS's errors and quotas, and IAM changes taking effect on other services.

use crate::support::*;

fn iam(server: &mock_server::MockServer, key: &str, secret: &str) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&config_with_key(server, key, secret, "us-east-1"))
}

/// An EC2 client signing with `key`.
fn ec2_as(
    server: &mock_server::MockServer,
    key: &aws_sdk_iam::types::AccessKey,
) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&config_with_key(
        server,
        key.access_key_id(),
        key.secret_access_key(),
        "us-east-1",
    ))
}

/// The policy the connector docs require for every connector.
const DESCRIBE_REGIONS: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"VisualEditor0","Effect":"Allow","Action":"ec2:DescribeRegions","Resource":"*"}]}"#;

#[tokio::test]
async fn a_user_without_describe_regions_is_refused_until_a_policy_is_attached() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let key = user_with_key(&admin, "connector").await;
    let ec2 = ec2_as(&server, &key);

    let refused = ec2
        .describe_regions()
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("allowed"));
    assert_eq!(code(&refused).as_deref(), Some("UnauthorizedOperation"));

    let policy = admin
        .create_policy()
        .policy_name("HarnessDescribeRegions")
        .policy_document(DESCRIBE_REGIONS)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let arn = policy
        .policy()
        .and_then(|p| p.arn())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        arn,
        "arn:aws:iam::111111111111:policy/HarnessDescribeRegions"
    );
    admin
        .attach_user_policy()
        .user_name("connector")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    let regions = ec2
        .describe_regions()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(regions.regions().len(), 17);

    admin
        .detach_user_policy()
        .user_name("connector")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        ec2.describe_regions().send().await.is_err(),
        "detached policy still allows"
    );
}

#[tokio::test]
async fn aws_managed_policies_attach_by_arn_with_their_paths() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let key = user_with_key(&admin, "reader").await;
    admin
        .attach_user_policy()
        .user_name("reader")
        .policy_arn("arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let ec2 = ec2_as(&server, &key);
    assert!(ec2.describe_regions().send().await.is_ok());

    let role = admin
        .get_policy()
        .policy_arn("arn:aws:iam::aws:policy/service-role/AWSCodeDeployRole")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let p = role.policy().unwrap_or_else(|| panic!("no policy"));
    assert_eq!(
        (p.policy_name(), p.path()),
        (Some("AWSCodeDeployRole"), Some("/service-role/"))
    );
    let attached = admin
        .list_attached_user_policies()
        .user_name("reader")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let names: Vec<_> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    assert_eq!(names, vec!["AmazonEC2ReadOnlyAccess"]);

    let err = admin
        .attach_user_policy()
        .user_name("reader")
        .policy_arn("arn:aws:iam::aws:policy/AWSCodeDeployRole")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("attached a policy without its path"));
    assert_eq!(code(&err).as_deref(), Some("NoSuchEntity"));
    assert_eq!(
        message(&err),
        "Policy arn:aws:iam::aws:policy/AWSCodeDeployRole does not exist or is not attachable."
    );
}

#[tokio::test]
async fn users_have_aws_errors_and_pagination() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let created = admin
        .create_user()
        .user_name("alice")
        .path("/ci/")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let user = created.user().unwrap_or_else(|| panic!("no user"));
    assert_eq!(user.arn(), "arn:aws:iam::111111111111:user/ci/alice");
    assert!(user.user_id().starts_with("AIDA"));

    let dup = admin
        .create_user()
        .user_name("ALICE")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("duplicate created"));
    assert_eq!(
        (code(&dup), message(&dup)),
        (
            Some("EntityAlreadyExists".into()),
            "User with name ALICE already exists.".into()
        )
    );
    let missing = admin
        .get_user()
        .user_name("bob")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("found"));
    assert_eq!(
        (code(&missing), message(&missing)),
        (
            Some("NoSuchEntity".into()),
            "The user with name bob cannot be found.".into()
        )
    );
    let bad = admin
        .create_user()
        .user_name("no spaces")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("created"));
    assert_eq!(code(&bad).as_deref(), Some("ValidationError"));

    let me = admin
        .get_user()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(me.user().map(|u| u.user_name()), Some("admin"));

    let first = admin
        .list_users()
        .max_items(1)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(first.is_truncated());
    let marker = first
        .marker()
        .unwrap_or_else(|| panic!("no marker"))
        .to_owned();
    let rest = admin
        .list_users()
        .marker(marker)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut names: Vec<String> = first
        .users()
        .iter()
        .chain(rest.users())
        .map(|u| u.user_name().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["admin", "alice"]);
    assert!(!rest.is_truncated());

    admin
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let conflict = admin
        .delete_user()
        .user_name("alice")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted"));
    assert_eq!(
        (code(&conflict), message(&conflict)),
        (
            Some("DeleteConflict".into()),
            "Cannot delete entity, must delete access keys first.".into()
        )
    );
}

#[tokio::test]
async fn access_keys_made_through_iam_authenticate_and_follow_their_status() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    admin
        .create_user()
        .user_name("ci")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let made = admin
        .create_access_key()
        .user_name("ci")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let key = made.access_key().unwrap_or_else(|| panic!("no key"));
    assert!(key.access_key_id().starts_with("AKIA") && key.access_key_id().len() == 20);
    assert_eq!(key.secret_access_key().len(), 40);

    let sts = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        key.access_key_id(),
        key.secret_access_key(),
        "us-east-1",
    ));
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(me.arn(), Some("arn:aws:iam::111111111111:user/ci"));

    admin
        .update_access_key()
        .user_name("ci")
        .access_key_id(key.access_key_id())
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let refused = sts
        .get_caller_identity()
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("inactive key accepted"));
    assert_eq!(code(&refused).as_deref(), Some("InvalidClientTokenId"));
    let listed = admin
        .list_access_keys()
        .user_name("ci")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        listed
            .access_key_metadata()
            .first()
            .and_then(|k| k.status())
            .map(|s| s.as_str()),
        Some("Inactive")
    );

    admin
        .create_access_key()
        .user_name("ci")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let quota = admin
        .create_access_key()
        .user_name("ci")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("third key"));
    assert_eq!(
        (code(&quota), message(&quota)),
        (
            Some("LimitExceeded".into()),
            "Cannot exceed quota for AccessKeysPerUser: 2".into()
        )
    );

    admin
        .delete_access_key()
        .user_name("ci")
        .access_key_id(key.access_key_id())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let gone = sts
        .get_caller_identity()
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted key accepted"));
    assert_eq!(code(&gone).as_deref(), Some("InvalidClientTokenId"));
}

#[tokio::test]
async fn inline_policies_are_validated_stored_url_encoded_and_enforced() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    admin
        .create_user()
        .user_name("dev")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let malformed = admin
        .put_user_policy()
        .user_name("dev")
        .policy_name("broken")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
        )
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(
        (code(&malformed), message(&malformed)),
        (
            Some("MalformedPolicyDocument".into()),
            "Policy statement must contain actions.".into()
        )
    );
    admin
        .put_user_policy()
        .user_name("dev")
        .policy_name("regions")
        .policy_document(DESCRIBE_REGIONS)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let got = admin
        .get_user_policy()
        .user_name("dev")
        .policy_name("regions")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    // IAM returns documents URL-encoded (RFC 3986); the SDK passes them through as they are.
    assert!(
        got.policy_document()
            .starts_with("%7B%22Version%22%3A%222012-10-17%22"),
        "{}",
        got.policy_document()
    );
    let names = admin
        .list_user_policies()
        .user_name("dev")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(names.policy_names(), ["regions"]);

    let key = admin
        .create_access_key()
        .user_name("dev")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let key = key.access_key().unwrap_or_else(|| panic!("no key"));
    let ec2 = ec2_as(&server, key);
    assert!(ec2.describe_regions().send().await.is_ok());
    admin
        .delete_user_policy()
        .user_name("dev")
        .policy_name("regions")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(ec2.describe_regions().send().await.is_err());
    let missing = admin
        .delete_user_policy()
        .user_name("dev")
        .policy_name("regions")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted twice"));
    assert_eq!(
        message(&missing),
        "The user policy with name regions cannot be found."
    );
}

#[tokio::test]
async fn managed_policy_errors_and_quotas() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    admin
        .create_user()
        .user_name("many")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut arns = Vec::new();
    for n in 0..11 {
        let p = admin
            .create_policy()
            .policy_name(format!("p{n}"))
            .policy_document(DESCRIBE_REGIONS)
            .send()
            .await;
        arns.push(
            p.unwrap_or_else(|e| panic!("{e:?}"))
                .policy()
                .and_then(|p| p.arn())
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let dup = admin
        .create_policy()
        .policy_name("p0")
        .policy_document(DESCRIBE_REGIONS)
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("dup"));
    assert_eq!(
        message(&dup),
        "A policy called p0 already exists. Duplicate names are not allowed."
    );
    for arn in &arns[..10] {
        admin
            .attach_user_policy()
            .user_name("many")
            .policy_arn(arn)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    let quota = admin
        .attach_user_policy()
        .user_name("many")
        .policy_arn(&arns[10])
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("11th"));
    assert_eq!(
        (code(&quota), message(&quota)),
        (
            Some("LimitExceeded".into()),
            "Cannot exceed quota for PoliciesPerUser: 10".into()
        )
    );
    let attached = admin
        .delete_policy()
        .policy_arn(&arns[0])
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted"));
    assert_eq!(
        (code(&attached), message(&attached)),
        (
            Some("DeleteConflict".into()),
            "Cannot delete a policy attached to entities.".into()
        )
    );
    admin
        .delete_policy()
        .policy_arn(&arns[10])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let gone = admin
        .get_policy()
        .policy_arn(&arns[10])
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("found"));
    assert_eq!(
        message(&gone),
        format!("Policy {} was not found.", arns[10])
    );
}

#[tokio::test]
async fn iam_calls_are_authorized_with_policy_variables() {
    let server = server_with(WORLD_444).await;
    let nobody = iam(&server, "AKIANOBODY4444444444", "nobody-secret");
    let denied = nobody
        .list_users()
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("allowed"));
    assert_eq!(code(&denied).as_deref(), Some("AccessDenied"));
    assert_eq!(
        message(&denied),
        "User: arn:aws:iam::444444444444:user/nobody is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::444444444444:user/ because no identity-based policy allows the iam:ListUsers action"
    );

    let root = iam(&server, "AKIAROOT444444444444", "root-secret");
    root.put_user_policy()
        .user_name("nobody")
        .policy_name("self-service")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateAccessKey","iam:ListAccessKeys"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let own = nobody
        .list_access_keys()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(own.access_key_metadata().len(), 2);
    let other = nobody
        .list_access_keys()
        .user_name("connector")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("allowed"));
    assert_eq!(code(&other).as_deref(), Some("AccessDenied"));
}

const TRUST_ACCOUNT_111: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x-42"}}}]}"#;

#[tokio::test]
async fn roles_keep_their_trust_policy_and_limits() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let created = admin
        .create_role()
        .role_name("deployer")
        .path("/connectors/")
        .assume_role_policy_document(TRUST_ACCOUNT_111)
        .max_session_duration(7200)
        .description("cross-account deployments")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let role = created.role().unwrap_or_else(|| panic!("no role"));
    assert_eq!(
        role.arn(),
        "arn:aws:iam::111111111111:role/connectors/deployer"
    );
    assert!(role.role_id().starts_with("AROA"));

    let got = admin
        .get_role()
        .role_name("deployer")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let role = got.role().unwrap_or_else(|| panic!("no role"));
    assert_eq!(role.max_session_duration(), Some(7200));
    assert_eq!(role.description(), Some("cross-account deployments"));
    let document = role.assume_role_policy_document().unwrap_or_default();
    assert!(
        document.starts_with("%7B%22Version%22"),
        "not URL-encoded: {document}"
    );

    let dup = admin
        .create_role()
        .role_name("DEPLOYER")
        .assume_role_policy_document(TRUST_ACCOUNT_111)
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("dup"));
    assert_eq!(
        (code(&dup), message(&dup)),
        (
            Some("EntityAlreadyExists".into()),
            "Role with name DEPLOYER already exists.".into()
        )
    );
    let with_resource = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}"#;
    let bad = admin
        .create_role()
        .role_name("bad")
        .assume_role_policy_document(with_resource)
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("created"));
    assert_eq!(
        (code(&bad), message(&bad)),
        (
            Some("MalformedPolicyDocument".into()),
            "Has prohibited field Resource".into()
        )
    );
    let long = admin
        .create_role()
        .role_name("long")
        .assume_role_policy_document(TRUST_ACCOUNT_111)
        .max_session_duration(50000)
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("created"));
    assert_eq!(code(&long).as_deref(), Some("ValidationError"));
    let missing = admin
        .get_role()
        .role_name("nobody")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("found"));
    assert_eq!(
        message(&missing),
        "The role with name nobody cannot be found."
    );

    admin
        .attach_role_policy()
        .role_name("deployer")
        .policy_arn("arn:aws:iam::aws:policy/AmazonEC2FullAccess")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let conflict = admin
        .delete_role()
        .role_name("deployer")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted"));
    assert_eq!(
        message(&conflict),
        "Cannot delete entity, must detach all policies first."
    );
    admin
        .detach_role_policy()
        .role_name("deployer")
        .policy_arn("arn:aws:iam::aws:policy/AmazonEC2FullAccess")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    admin
        .update_assume_role_policy()
        .role_name("deployer")
        .policy_document(TRUST_ACCOUNT_111.replace("x-42", "x-43"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let listed = admin
        .list_roles()
        .path_prefix("/connectors/")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(listed.roles().len(), 1);
    assert!(
        listed.roles()[0]
            .assume_role_policy_document()
            .unwrap_or_default()
            .contains("x-43")
    );
    admin
        .delete_role()
        .role_name("deployer")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
}

#[tokio::test]
async fn group_policies_apply_to_members() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let key = user_with_key(&admin, "member").await;
    let ec2 = ec2_as(&server, &key);
    admin
        .create_group()
        .group_name("connectors")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    admin
        .put_group_policy()
        .group_name("connectors")
        .policy_name("regions")
        .policy_document(DESCRIBE_REGIONS)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        ec2.describe_regions().send().await.is_err(),
        "not a member yet"
    );

    admin
        .add_user_to_group()
        .group_name("connectors")
        .user_name("member")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        ec2.describe_regions().send().await.is_ok(),
        "members get the group's policies"
    );
    let groups = admin
        .list_groups_for_user()
        .user_name("member")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        groups
            .groups()
            .iter()
            .map(|g| g.group_name())
            .collect::<Vec<_>>(),
        vec!["connectors"]
    );
    let group = admin
        .get_group()
        .group_name("connectors")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        group
            .users()
            .iter()
            .map(|u| u.user_name())
            .collect::<Vec<_>>(),
        vec!["member"]
    );
    let conflict = admin
        .delete_group()
        .group_name("connectors")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted"));
    assert_eq!(code(&conflict).as_deref(), Some("DeleteConflict"));

    admin
        .remove_user_from_group()
        .group_name("connectors")
        .user_name("member")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        ec2.describe_regions().send().await.is_err(),
        "removed members lose them"
    );
}

#[tokio::test]
async fn a_permissions_boundary_caps_what_policies_grant() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    admin
        .create_user()
        .user_name("bounded")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    admin
        .attach_user_policy()
        .user_name("bounded")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let key = admin
        .create_access_key()
        .user_name("bounded")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let key = key.access_key().unwrap_or_else(|| panic!("no key"));
    let bounded_iam = iam(&server, key.access_key_id(), key.secret_access_key());
    let ec2 = ec2_as(&server, key);
    assert!(bounded_iam.list_users().send().await.is_ok());

    admin
        .put_user_permissions_boundary()
        .user_name("bounded")
        .permissions_boundary("arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        ec2.describe_regions().send().await.is_ok(),
        "the boundary allows EC2 reads"
    );
    let denied = bounded_iam
        .list_users()
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("allowed"));
    assert_eq!(code(&denied).as_deref(), Some("AccessDenied"));
    assert!(
        message(&denied)
            .ends_with("because no permissions boundary allows the iam:ListUsers action"),
        "{}",
        message(&denied)
    );
    let got = admin
        .get_user()
        .user_name("bounded")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let boundary = got
        .user()
        .and_then(|u| u.permissions_boundary())
        .and_then(|b| b.permissions_boundary_arn());
    assert_eq!(
        boundary,
        Some("arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
    );

    admin
        .delete_user_permissions_boundary()
        .user_name("bounded")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(bounded_iam.list_users().send().await.is_ok());
}

#[tokio::test]
async fn the_policy_simulator_answers_like_the_server() {
    let server = server_with(WORLD_444).await;
    let root = iam(&server, "AKIAROOT444444444444", "root-secret");
    let out = root
        .simulate_principal_policy()
        .policy_source_arn("arn:aws:iam::444444444444:user/connector")
        .action_names("ec2:DescribeRegions")
        .action_names("ec2:RunInstances")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let results = out.evaluation_results();
    assert_eq!(results.len(), 2);
    assert_eq!(
        (
            results[0].eval_action_name(),
            results[0].eval_decision().as_str()
        ),
        ("ec2:DescribeRegions", "allowed")
    );
    let matched = &results[0].matched_statements()[0];
    assert_eq!(
        (
            matched.source_policy_id(),
            matched.source_policy_type().map(|t| t.as_str())
        ),
        (Some("HarnessDescribeRegions"), Some("user-managed"))
    );
    assert_eq!(results[1].eval_decision().as_str(), "implicitDeny");
    let first = root
        .simulate_principal_policy()
        .policy_source_arn("arn:aws:iam::444444444444:user/connector")
        .action_names("ec2:DescribeRegions")
        .action_names("ec2:RunInstances")
        .max_items(1)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(first.is_truncated() && first.evaluation_results().len() == 1);
    let rest = root
        .simulate_principal_policy()
        .policy_source_arn("arn:aws:iam::444444444444:user/connector")
        .action_names("ec2:DescribeRegions")
        .action_names("ec2:RunInstances")
        .marker(first.marker().unwrap_or_default())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        rest.evaluation_results()[0].eval_action_name(),
        "ec2:RunInstances"
    );

    let denied = root
        .simulate_principal_policy()
        .policy_source_arn("arn:aws:iam::444444444444:user/denied-by-managed")
        .action_names("ec2:DescribeRegions")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let result = &denied.evaluation_results()[0];
    assert_eq!(result.eval_decision().as_str(), "explicitDeny");
    assert_eq!(
        result.matched_statements()[0].source_policy_id(),
        Some("DenyEc2")
    );

    let regional = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:DescribeRegions","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}}"#;
    let custom = root
        .simulate_custom_policy()
        .policy_input_list(regional)
        .action_names("ec2:DescribeRegions")
        .send()
        .await;
    let result = custom
        .unwrap_or_else(|e| panic!("{e:?}"))
        .evaluation_results()[0]
        .clone();
    assert_eq!(result.eval_decision().as_str(), "implicitDeny");
    assert_eq!(result.missing_context_values(), ["aws:RequestedRegion"]);
    let entry = aws_sdk_iam::types::ContextEntry::builder()
        .context_key_name("aws:RequestedRegion")
        .context_key_values("us-east-1")
        .context_key_type(aws_sdk_iam::types::ContextKeyTypeEnum::String)
        .build();
    let with_context = root
        .simulate_custom_policy()
        .policy_input_list(regional)
        .action_names("ec2:DescribeRegions")
        .context_entries(entry)
        .send()
        .await;
    let result = with_context
        .unwrap_or_else(|e| panic!("{e:?}"))
        .evaluation_results()[0]
        .clone();
    assert_eq!(result.eval_decision().as_str(), "allowed");
    assert!(result.missing_context_values().is_empty());

    let nobody = iam(&server, "AKIANOBODY4444444444", "nobody-secret");
    let refused = nobody
        .simulate_custom_policy()
        .policy_input_list(regional)
        .action_names("ec2:DescribeRegions")
        .send()
        .await;
    assert_eq!(
        refused.err().and_then(|e| code(&e)).as_deref(),
        Some("AccessDenied")
    );
}

#[tokio::test]
async fn policy_versions_switch_what_a_policy_grants() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let key = user_with_key(&admin, "versioned").await;
    let ec2 = ec2_as(&server, &key);
    let nothing = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;
    let created = admin
        .create_policy()
        .policy_name("switchable")
        .policy_document(nothing)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let arn = created
        .policy()
        .and_then(|p| p.arn())
        .unwrap_or_default()
        .to_owned();
    admin
        .attach_user_policy()
        .user_name("versioned")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(ec2.describe_regions().send().await.is_err());

    let v2 = admin
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(DESCRIBE_REGIONS)
        .set_as_default(true)
        .send()
        .await;
    assert_eq!(
        v2.unwrap_or_else(|e| panic!("{e:?}"))
            .policy_version()
            .and_then(|v| v.version_id()),
        Some("v2")
    );
    assert!(
        ec2.describe_regions().send().await.is_ok(),
        "the new default version applies"
    );
    let got = admin
        .get_policy()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        got.policy().and_then(|p| p.default_version_id()),
        Some("v2")
    );
    assert_eq!(got.policy().and_then(|p| p.attachment_count()), Some(1));

    admin
        .set_default_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(ec2.describe_regions().send().await.is_err(), "back to v1");
    let v1 = admin
        .get_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        v1.policy_version().map(|v| v.is_default_version()),
        Some(true)
    );
    let default = admin
        .delete_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted"));
    assert_eq!(
        message(&default),
        "Cannot delete the default version of a policy."
    );
    for _ in 0..3 {
        admin
            .create_policy_version()
            .policy_arn(&arn)
            .policy_document(nothing)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    let sixth = admin
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(nothing)
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("6th"));
    assert_eq!(
        (code(&sixth), message(&sixth)),
        (Some("LimitExceeded".into()), "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".into())
    );
    let listed = admin
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let ids: Vec<_> = listed
        .versions()
        .iter()
        .filter_map(|v| v.version_id())
        .collect();
    assert_eq!(ids, vec!["v5", "v4", "v3", "v2", "v1"]);

    let entities = admin
        .list_entities_for_policy()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        entities
            .policy_users()
            .iter()
            .filter_map(|u| u.user_name())
            .collect::<Vec<_>>(),
        vec!["versioned"]
    );
    let local = admin
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        local
            .policies()
            .iter()
            .filter_map(|p| p.policy_name())
            .collect::<Vec<_>>(),
        vec!["switchable"]
    );
    let aws = admin
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Aws)
        .only_attached(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        aws.policies()
            .iter()
            .filter_map(|p| p.policy_name())
            .collect::<Vec<_>>(),
        vec!["AdministratorAccess"]
    );
    let managed = admin
        .get_policy_version()
        .policy_arn("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly")
        .version_id("v3")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let document = managed
        .policy_version()
        .and_then(|v| v.document())
        .unwrap_or_default();
    assert!(
        document.contains("ecr%3AGetAuthorizationToken"),
        "{document}"
    );
}

#[tokio::test]
async fn instance_profiles_hold_one_role() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let ec2_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    for role in ["delegate", "other"] {
        admin
            .create_role()
            .role_name(role)
            .assume_role_policy_document(ec2_trust)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    let made = admin
        .create_instance_profile()
        .instance_profile_name("delegate-profile")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let profile = made
        .instance_profile()
        .unwrap_or_else(|| panic!("no profile"));
    assert_eq!(
        profile.arn(),
        "arn:aws:iam::111111111111:instance-profile/delegate-profile"
    );
    assert!(profile.instance_profile_id().starts_with("AIPA"));
    admin
        .add_role_to_instance_profile()
        .instance_profile_name("delegate-profile")
        .role_name("delegate")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let second = admin
        .add_role_to_instance_profile()
        .instance_profile_name("delegate-profile")
        .role_name("other")
        .send()
        .await
        .err();
    assert_eq!(
        second.map(|e| message(&e)).as_deref(),
        Some("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
    );

    let got = admin
        .get_instance_profile()
        .instance_profile_name("delegate-profile")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let roles: Vec<_> = got
        .instance_profile()
        .map(|p| p.roles().iter().map(|r| r.role_name().to_owned()).collect())
        .unwrap_or_default();
    assert_eq!(roles, vec!["delegate"]);
    let for_role = admin
        .list_instance_profiles_for_role()
        .role_name("delegate")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(for_role.instance_profiles().len(), 1);

    let in_use = admin
        .delete_role()
        .role_name("delegate")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted"));
    assert_eq!(
        message(&in_use),
        "Cannot delete entity, must remove roles from instance profile first."
    );
    let not_empty = admin
        .delete_instance_profile()
        .instance_profile_name("delegate-profile")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("deleted"));
    assert_eq!(code(&not_empty).as_deref(), Some("DeleteConflict"));
    admin
        .remove_role_from_instance_profile()
        .instance_profile_name("delegate-profile")
        .role_name("delegate")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    admin
        .delete_instance_profile()
        .instance_profile_name("delegate-profile")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let gone = admin
        .get_instance_profile()
        .instance_profile_name("delegate-profile")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("found"));
    assert_eq!(
        message(&gone),
        "Instance Profile delegate-profile cannot be found."
    );
}

#[tokio::test]
async fn oidc_providers_for_irsa() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    let made = admin
        .create_open_id_connect_provider()
        .url(issuer)
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let arn = made
        .open_id_connect_provider_arn()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        arn,
        "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    );
    let dup = admin
        .create_open_id_connect_provider()
        .url(issuer)
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("dup"));
    assert_eq!(code(&dup).as_deref(), Some("EntityAlreadyExists"));
    let bad = admin
        .create_open_id_connect_provider()
        .url("https://x")
        .thumbprint_list("short")
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("bad"));
    assert_eq!(code(&bad).as_deref(), Some("ValidationError"));

    admin
        .add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("my-app")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let got = admin
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        got.url(),
        Some("oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE")
    );
    assert_eq!(got.client_id_list(), ["sts.amazonaws.com", "my-app"]);
    admin
        .remove_client_id_from_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("my-app")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let listed = admin
        .list_open_id_connect_providers()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        listed
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .collect::<Vec<_>>(),
        vec![arn.as_str()]
    );
    admin
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let gone = admin
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("found"));
    assert_eq!(code(&gone).as_deref(), Some("NoSuchEntity"));
}

#[tokio::test]
async fn user_tags_are_principal_tags_in_policies() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let team = aws_sdk_iam::types::Tag::builder()
        .key("team")
        .value("platform")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    admin
        .create_user()
        .user_name("tagged")
        .tags(team)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let by_team = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeRegions","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"platform"}}}]}"#;
    admin
        .put_user_policy()
        .user_name("tagged")
        .policy_name("team")
        .policy_document(by_team)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let key = admin
        .create_access_key()
        .user_name("tagged")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let key = key.access_key().unwrap_or_else(|| panic!("no key"));
    let ec2 = ec2_as(&server, key);
    assert!(
        ec2.describe_regions().send().await.is_ok(),
        "the tag satisfies the condition"
    );

    let listed = admin
        .list_user_tags()
        .user_name("tagged")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        listed
            .tags()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect::<Vec<_>>(),
        vec![("team", "platform")]
    );
    admin
        .untag_user()
        .user_name("tagged")
        .tag_keys("team")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        ec2.describe_regions().send().await.is_err(),
        "without the tag the condition fails"
    );
    let other = aws_sdk_iam::types::Tag::builder()
        .key("team")
        .value("data")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    admin
        .tag_user()
        .user_name("tagged")
        .tags(other)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        ec2.describe_regions().send().await.is_err(),
        "another team's tag does not satisfy it"
    );
    let user = admin
        .get_user()
        .user_name("tagged")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(user.user().map(|u| u.tags().len()), Some(1));
}

#[tokio::test]
async fn access_key_last_use_follows_authenticated_calls() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let key = user_with_key(&admin, "used").await;
    let never = admin
        .get_access_key_last_used()
        .access_key_id(key.access_key_id())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let last = never
        .access_key_last_used()
        .unwrap_or_else(|| panic!("no details"));
    assert_eq!(
        (last.service_name(), last.region(), last.last_used_date()),
        ("N/A", "N/A", None)
    );

    let sts = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        key.access_key_id(),
        key.secret_access_key(),
        "eu-west-1",
    ));
    sts.get_caller_identity()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    // An IAM write rebuilds the store; what it knew of last use survives.
    admin
        .create_user()
        .user_name("unrelated")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let used = admin
        .get_access_key_last_used()
        .access_key_id(key.access_key_id())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(used.user_name(), Some("used"));
    let last = used
        .access_key_last_used()
        .unwrap_or_else(|| panic!("no details"));
    assert_eq!((last.service_name(), last.region()), ("sts", "eu-west-1"));
    assert!(last.last_used_date().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_lose_no_update() {
    const TASKS: usize = 16;
    const EACH: usize = 8;
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    admin
        .create_group()
        .group_name("shared")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let admin = admin.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    // A new entity and a read-modify-write of one shared entity, interleaved.
                    admin
                        .create_user()
                        .user_name(format!("u{t}-{i}"))
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{e:?}"));
                    admin
                        .add_user_to_group()
                        .group_name("shared")
                        .user_name(format!("u{t}-{i}"))
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{e:?}"));
                    admin
                        .list_users()
                        .max_items(1000)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{e:?}"));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let users = admin
        .list_users()
        .max_items(1000)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let created = users
        .users()
        .iter()
        .filter(|u| u.user_name().starts_with('u') && u.user_name().contains('-'))
        .count();
    assert_eq!(created, TASKS * EACH);
    let group = admin
        .get_group()
        .group_name("shared")
        .max_items(1000)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(group.users().len(), TASKS * EACH);
}

/// Readers running beside writers see each write whole: a TagRole that sets two tags to
/// the same value is never seen with one tag old and one new, through ListRoleTags or
/// GetRole, and the last write of each writer is what remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_readers_never_see_a_half_applied_write() {
    const WRITERS: usize = 4;
    const READERS: usize = 4;
    const WRITES: usize = 40;
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    admin
        .create_role()
        .role_name("contended")
        .assume_role_policy_document(TRUST_ACCOUNT_111)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let tag = |key: &str, value: &str| {
        aws_sdk_iam::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let admin = admin.clone();
            tokio::spawn(async move {
                for i in 0..WRITES {
                    let value = format!("w{w}-{i}");
                    admin
                        .tag_role()
                        .role_name("contended")
                        .tags(tag("a", &value))
                        .tags(tag("b", &value))
                        .tags(tag(&format!("last-{w}"), &value))
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{e:?}"));
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let admin = admin.clone();
            let done = std::sync::Arc::clone(&done);
            tokio::spawn(async move {
                let mut reads = 0;
                while !done.load(std::sync::atomic::Ordering::Acquire) || reads == 0 {
                    let tags: Vec<(String, String)> = if r % 2 == 0 {
                        admin
                            .list_role_tags()
                            .role_name("contended")
                            .send()
                            .await
                            .unwrap_or_else(|e| panic!("{e:?}"))
                            .tags()
                            .iter()
                            .map(|t| (t.key().to_owned(), t.value().to_owned()))
                            .collect()
                    } else {
                        admin
                            .get_role()
                            .role_name("contended")
                            .send()
                            .await
                            .unwrap_or_else(|e| panic!("{e:?}"))
                            .role()
                            .map(|role| {
                                role.tags()
                                    .iter()
                                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                                    .collect()
                            })
                            .unwrap_or_default()
                    };
                    let value =
                        |key: &str| tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
                    assert_eq!(value("a"), value("b"), "a torn write: {tags:?}");
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap_or_else(|e| panic!("{e}"));
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    for reader in readers {
        let reads = reader.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(reads > 0);
    }
    let tags = admin
        .list_role_tags()
        .role_name("contended")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    for w in 0..WRITERS {
        let last = tags.tags().iter().find(|t| t.key() == format!("last-{w}"));
        assert_eq!(
            last.map(aws_sdk_iam::types::Tag::value),
            Some(format!("w{w}-{}", WRITES - 1).as_str()),
            "writer {w}'s last write was lost"
        );
    }
}
