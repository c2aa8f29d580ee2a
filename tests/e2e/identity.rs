//! STS GetCallerIdentity with the real `aws-sdk-sts` client.

use crate::support::*;

#[tokio::test]
async fn get_caller_identity_returns_the_user_in_each_partition() {
    let server = mock_server::MockServer::start().await;
    for (who, region) in [
        (STD, "us-east-1"),
        (GOV, "us-gov-west-1"),
        (GOV, "us-gov-east-1"),
    ] {
        let out = sts(&server, who, region)
            .get_caller_identity()
            .send()
            .await
            .unwrap_or_else(|e| panic!("{who:?} in {region}: {e:?}"));
        assert_eq!(out.arn(), Some(who.arn().as_str()));
        assert_eq!(out.account(), Some(who.account));
        assert!(
            out.user_id()
                .is_some_and(|id| id.starts_with("AIDA") && id.len() == 21),
            "{:?}",
            out.user_id()
        );
    }
}

#[tokio::test]
async fn get_caller_identity_of_the_root_user_is_the_account() {
    let server = server_with(WORLD_444).await;
    let config = config_with_key(&server, "AKIAROOT444444444444", "root-secret", "us-east-1");
    let out = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(out.arn(), Some("arn:aws:iam::444444444444:root"));
    assert_eq!(out.user_id(), Some("444444444444"));
}

#[tokio::test]
async fn get_caller_identity_needs_no_permission_and_cannot_be_denied() {
    let server = server_with(WORLD_444).await;
    for (key, secret, user) in [
        ("AKIANOBODY4444444444", "nobody-secret", "nobody"),
        ("AKIADENIED4444444444", "denied-secret", "denied"),
    ] {
        let config = config_with_key(&server, key, secret, "us-east-1");
        let out = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await;
        let arn = out
            .unwrap_or_else(|e| panic!("{user}: {e:?}"))
            .arn()
            .map(str::to_owned);
        assert_eq!(arn, Some(format!("arn:aws:iam::444444444444:user/{user}")));
    }
}
