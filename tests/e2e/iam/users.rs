//! IAM users and their access keys: AWS's errors and pagination, keys that authenticate
//! and follow their status, and last use.

use crate::support::*;

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
        .unwrap();
    let user = created.user().expect("no user");
    assert_eq!(user.arn(), "arn:aws:iam::111111111111:user/ci/alice");
    assert!(user.user_id().starts_with("AIDA"));

    let dup = admin
        .create_user()
        .user_name("ALICE")
        .send()
        .await
        .expect_err("duplicate created");
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
        .expect_err("found");
    assert_eq!(
        (code(&missing), message(&missing)),
        (
            Some("NoSuchEntity".into()),
            "The user with name bob cannot be found.".into()
        )
    );
    fails_with(
        admin.create_user().user_name("no spaces").send().await,
        "ValidationError",
    );

    let me = admin.get_user().send().await.unwrap();
    assert_eq!(me.user().map(|u| u.user_name()), Some("admin"));

    let first = admin.list_users().max_items(1).send().await.unwrap();
    assert!(first.is_truncated());
    let marker = first.marker().expect("no marker").to_owned();
    let rest = admin.list_users().marker(marker).send().await.unwrap();
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
        .unwrap();
    let conflict = admin
        .delete_user()
        .user_name("alice")
        .send()
        .await
        .expect_err("deleted");
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
    admin.create_user().user_name("ci").send().await.unwrap();
    let made = admin
        .create_access_key()
        .user_name("ci")
        .send()
        .await
        .unwrap();
    let key = made.access_key().expect("no key");
    assert!(key.access_key_id().starts_with("AKIA") && key.access_key_id().len() == 20);
    assert_eq!(key.secret_access_key().len(), 40);

    let sts = aws_sdk_sts::Client::new(&config_with_key(
        &server,
        key.access_key_id(),
        key.secret_access_key(),
        "us-east-1",
    ));
    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some("arn:aws:iam::111111111111:user/ci"));

    admin
        .update_access_key()
        .user_name("ci")
        .access_key_id(key.access_key_id())
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    fails_with(
        sts.get_caller_identity().send().await,
        "InvalidClientTokenId",
    );
    let listed = admin
        .list_access_keys()
        .user_name("ci")
        .send()
        .await
        .unwrap();
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
        .unwrap();
    let quota = admin
        .create_access_key()
        .user_name("ci")
        .send()
        .await
        .expect_err("third key");
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
        .unwrap();
    fails_with(
        sts.get_caller_identity().send().await,
        "InvalidClientTokenId",
    );
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
        .unwrap();
    let last = never.access_key_last_used().expect("no details");
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
    sts.get_caller_identity().send().await.unwrap();
    // An IAM write rebuilds the store; what it knew of last use survives.
    admin
        .create_user()
        .user_name("unrelated")
        .send()
        .await
        .unwrap();
    let used = admin
        .get_access_key_last_used()
        .access_key_id(key.access_key_id())
        .send()
        .await
        .unwrap();
    assert_eq!(used.user_name(), Some("used"));
    let last = used.access_key_last_used().expect("no details");
    assert_eq!((last.service_name(), last.region()), ("sts", "eu-west-1"));
    assert!(last.last_used_date().is_some());
}
