//! Roles and instance profiles: trust policies, limits, one role per profile.

use super::TRUST_ACCOUNT_111;
use crate::support::*;

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
        .unwrap();
    let role = created.role().expect("no role");
    assert_eq!(
        role.arn(),
        "arn:aws:iam::111111111111:role/connectors/deployer"
    );
    assert!(role.role_id().starts_with("AROA"));

    let got = admin.get_role().role_name("deployer").send().await.unwrap();
    let role = got.role().expect("no role");
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
        .expect_err("dup");
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
        .expect_err("created");
    assert_eq!(
        (code(&bad), message(&bad)),
        (
            Some("MalformedPolicyDocument".into()),
            "Has prohibited field Resource".into()
        )
    );
    fails_with(
        admin
            .create_role()
            .role_name("long")
            .assume_role_policy_document(TRUST_ACCOUNT_111)
            .max_session_duration(50000)
            .send()
            .await,
        "ValidationError",
    );
    let missing = admin
        .get_role()
        .role_name("nobody")
        .send()
        .await
        .expect_err("found");
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
        .unwrap();
    let conflict = admin
        .delete_role()
        .role_name("deployer")
        .send()
        .await
        .expect_err("deleted");
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
        .unwrap();
    admin
        .update_assume_role_policy()
        .role_name("deployer")
        .policy_document(TRUST_ACCOUNT_111.replace("x-42", "x-43"))
        .send()
        .await
        .unwrap();
    let listed = admin
        .list_roles()
        .path_prefix("/connectors/")
        .send()
        .await
        .unwrap();
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
        .unwrap();
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
            .unwrap();
    }
    let made = admin
        .create_instance_profile()
        .instance_profile_name("delegate-profile")
        .send()
        .await
        .unwrap();
    let profile = made.instance_profile().expect("no profile");
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
        .unwrap();
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
        .unwrap();
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
        .unwrap();
    assert_eq!(for_role.instance_profiles().len(), 1);

    let in_use = admin
        .delete_role()
        .role_name("delegate")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(
        message(&in_use),
        "Cannot delete entity, must remove roles from instance profile first."
    );
    fails_with(
        admin
            .delete_instance_profile()
            .instance_profile_name("delegate-profile")
            .send()
            .await,
        "DeleteConflict",
    );
    admin
        .remove_role_from_instance_profile()
        .instance_profile_name("delegate-profile")
        .role_name("delegate")
        .send()
        .await
        .unwrap();
    admin
        .delete_instance_profile()
        .instance_profile_name("delegate-profile")
        .send()
        .await
        .unwrap();
    let gone = admin
        .get_instance_profile()
        .instance_profile_name("delegate-profile")
        .send()
        .await
        .expect_err("found");
    assert_eq!(
        message(&gone),
        "Instance Profile delegate-profile cannot be found."
    );
}
