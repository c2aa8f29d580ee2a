//! Managed and inline policies: attaching, validation, storage, errors and quotas, and
//! versions, each taking effect on other services.

use super::{DESCRIBE_REGIONS, ec2_as};
use crate::support::*;

#[tokio::test]
async fn a_user_without_describe_regions_is_refused_until_a_policy_is_attached() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let key = user_with_key(&admin, "connector").await;
    let ec2 = ec2_as(&server, &key);

    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");

    let policy = admin
        .create_policy()
        .policy_name("HarnessDescribeRegions")
        .policy_document(DESCRIBE_REGIONS)
        .send()
        .await
        .unwrap();
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
        .unwrap();

    let regions = ec2.describe_regions().send().await.unwrap();
    assert_eq!(regions.regions().len(), 17);

    admin
        .detach_user_policy()
        .user_name("connector")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    // A detached policy no longer allows.
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");
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
        .unwrap();
    let ec2 = ec2_as(&server, &key);
    succeeds(ec2.describe_regions().send().await);

    let role = admin
        .get_policy()
        .policy_arn("arn:aws:iam::aws:policy/service-role/AWSCodeDeployRole")
        .send()
        .await
        .unwrap();
    let p = role.policy().expect("no policy");
    assert_eq!(
        (p.policy_name(), p.path()),
        (Some("AWSCodeDeployRole"), Some("/service-role/"))
    );
    let attached = admin
        .list_attached_user_policies()
        .user_name("reader")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    assert_eq!(names, vec!["AmazonEC2ReadOnlyAccess"]);

    let err = fails_with(
        admin
            .attach_user_policy()
            .user_name("reader")
            .policy_arn("arn:aws:iam::aws:policy/AWSCodeDeployRole")
            .send()
            .await,
        "NoSuchEntity",
    );
    assert_eq!(
        message(&err),
        "Policy arn:aws:iam::aws:policy/AWSCodeDeployRole does not exist or is not attachable."
    );
}

#[tokio::test]
async fn inline_policies_are_validated_stored_url_encoded_and_enforced() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    admin.create_user().user_name("dev").send().await.unwrap();
    let malformed = admin
        .put_user_policy()
        .user_name("dev")
        .policy_name("broken")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect_err("accepted");
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
        .unwrap();
    let got = admin
        .get_user_policy()
        .user_name("dev")
        .policy_name("regions")
        .send()
        .await
        .unwrap();
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
        .unwrap();
    assert_eq!(names.policy_names(), ["regions"]);

    let key = admin
        .create_access_key()
        .user_name("dev")
        .send()
        .await
        .unwrap();
    let key = key.access_key().expect("no key");
    let ec2 = ec2_as(&server, key);
    succeeds(ec2.describe_regions().send().await);
    admin
        .delete_user_policy()
        .user_name("dev")
        .policy_name("regions")
        .send()
        .await
        .unwrap();
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");
    let missing = admin
        .delete_user_policy()
        .user_name("dev")
        .policy_name("regions")
        .send()
        .await
        .expect_err("deleted twice");
    assert_eq!(
        message(&missing),
        "The user policy with name regions cannot be found."
    );
}

#[tokio::test]
async fn managed_policy_errors_and_quotas() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    admin.create_user().user_name("many").send().await.unwrap();
    let mut arns = Vec::new();
    for n in 0..11 {
        let p = admin
            .create_policy()
            .policy_name(format!("p{n}"))
            .policy_document(DESCRIBE_REGIONS)
            .send()
            .await;
        arns.push(
            p.unwrap()
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
        .expect_err("dup");
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
            .unwrap();
    }
    let quota = admin
        .attach_user_policy()
        .user_name("many")
        .policy_arn(&arns[10])
        .send()
        .await
        .expect_err("11th");
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
        .expect_err("deleted");
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
        .unwrap();
    let gone = admin
        .get_policy()
        .policy_arn(&arns[10])
        .send()
        .await
        .expect_err("found");
    assert_eq!(
        message(&gone),
        format!("Policy {} was not found.", arns[10])
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
        .unwrap();
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
        .unwrap();
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");

    let v2 = admin
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(DESCRIBE_REGIONS)
        .set_as_default(true)
        .send()
        .await;
    assert_eq!(
        v2.unwrap().policy_version().and_then(|v| v.version_id()),
        Some("v2")
    );
    ec2.describe_regions()
        .send()
        .await
        .expect("the new default version applies");
    let got = admin.get_policy().policy_arn(&arn).send().await.unwrap();
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
        .unwrap();
    // Back to v1.
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");
    let v1 = admin
        .get_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap();
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
        .expect_err("deleted");
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
            .unwrap();
    }
    let sixth = admin
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(nothing)
        .send()
        .await
        .expect_err("6th");
    assert_eq!(
        (code(&sixth), message(&sixth)),
        (Some("LimitExceeded".into()), "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".into())
    );
    let listed = admin
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
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
        .unwrap();
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
        .unwrap();
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
        .unwrap();
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
        .unwrap();
    let document = managed
        .policy_version()
        .and_then(|v| v.document())
        .unwrap_or_default();
    assert!(
        document.contains("ecr%3AGetAuthorizationToken"),
        "{document}"
    );
}
