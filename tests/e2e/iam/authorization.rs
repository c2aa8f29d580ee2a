//! How IAM decides: IAM calls authorized with policy variables, group policies,
//! permissions boundaries and user tags as principal tags.

use super::{DESCRIBE_REGIONS, ec2_as, iam};
use crate::support::*;

#[tokio::test]
async fn iam_calls_are_authorized_with_policy_variables() {
    let server = server_with(WORLD_444).await;
    let nobody = iam(&server, "AKIANOBODY4444444444", "nobody-secret");
    let denied = fails_with(nobody.list_users().send().await, "AccessDenied");
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
        .unwrap();
    let own = nobody.list_access_keys().send().await.unwrap();
    assert_eq!(own.access_key_metadata().len(), 2);
    fails_with(
        nobody
            .list_access_keys()
            .user_name("connector")
            .send()
            .await,
        "AccessDenied",
    );
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
        .unwrap();
    admin
        .put_group_policy()
        .group_name("connectors")
        .policy_name("regions")
        .policy_document(DESCRIBE_REGIONS)
        .send()
        .await
        .unwrap();
    // Not a member yet.
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");

    admin
        .add_user_to_group()
        .group_name("connectors")
        .user_name("member")
        .send()
        .await
        .unwrap();
    ec2.describe_regions()
        .send()
        .await
        .expect("members get the group's policies");
    let groups = admin
        .list_groups_for_user()
        .user_name("member")
        .send()
        .await
        .unwrap();
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
        .unwrap();
    assert_eq!(
        group
            .users()
            .iter()
            .map(|u| u.user_name())
            .collect::<Vec<_>>(),
        vec!["member"]
    );
    fails_with(
        admin.delete_group().group_name("connectors").send().await,
        "DeleteConflict",
    );

    admin
        .remove_user_from_group()
        .group_name("connectors")
        .user_name("member")
        .send()
        .await
        .unwrap();
    // Removed members lose them.
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");
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
        .unwrap();
    admin
        .attach_user_policy()
        .user_name("bounded")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    let key = admin
        .create_access_key()
        .user_name("bounded")
        .send()
        .await
        .unwrap();
    let key = key.access_key().expect("no key");
    let bounded_iam = iam(&server, key.access_key_id(), key.secret_access_key());
    let ec2 = ec2_as(&server, key);
    succeeds(bounded_iam.list_users().send().await);

    admin
        .put_user_permissions_boundary()
        .user_name("bounded")
        .permissions_boundary("arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    ec2.describe_regions()
        .send()
        .await
        .expect("the boundary allows EC2 reads");
    let denied = fails_with(bounded_iam.list_users().send().await, "AccessDenied");
    assert!(
        message(&denied)
            .ends_with("because no permissions boundary allows the iam:ListUsers action"),
        "{}",
        message(&denied)
    );
    let got = admin.get_user().user_name("bounded").send().await.unwrap();
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
        .unwrap();
    succeeds(bounded_iam.list_users().send().await);
}

#[tokio::test]
async fn user_tags_are_principal_tags_in_policies() {
    let server = mock_server::MockServer::start().await;
    let admin = iam_admin(&server);
    let team = aws_sdk_iam::types::Tag::builder()
        .key("team")
        .value("platform")
        .build()
        .unwrap();
    admin
        .create_user()
        .user_name("tagged")
        .tags(team)
        .send()
        .await
        .unwrap();
    let by_team = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeRegions","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"platform"}}}]}"#;
    admin
        .put_user_policy()
        .user_name("tagged")
        .policy_name("team")
        .policy_document(by_team)
        .send()
        .await
        .unwrap();
    let key = admin
        .create_access_key()
        .user_name("tagged")
        .send()
        .await
        .unwrap();
    let key = key.access_key().expect("no key");
    let ec2 = ec2_as(&server, key);
    ec2.describe_regions()
        .send()
        .await
        .expect("the tag satisfies the condition");

    let listed = admin
        .list_user_tags()
        .user_name("tagged")
        .send()
        .await
        .unwrap();
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
        .unwrap();
    // Without the tag the condition fails.
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");
    let other = aws_sdk_iam::types::Tag::builder()
        .key("team")
        .value("data")
        .build()
        .unwrap();
    admin
        .tag_user()
        .user_name("tagged")
        .tags(other)
        .send()
        .await
        .unwrap();
    // Another team's tag does not satisfy it.
    fails_with(ec2.describe_regions().send().await, "UnauthorizedOperation");
    let user = admin.get_user().user_name("tagged").send().await.unwrap();
    assert_eq!(user.user().map(|u| u.tags().len()), Some(1));
}
