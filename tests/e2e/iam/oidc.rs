//! IAM OIDC identity providers, as IRSA needs them.

use crate::support::*;

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
        .unwrap();
    let arn = made
        .open_id_connect_provider_arn()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        arn,
        "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    );
    fails_with(
        admin
            .create_open_id_connect_provider()
            .url(issuer)
            .send()
            .await,
        "EntityAlreadyExists",
    );
    fails_with(
        admin
            .create_open_id_connect_provider()
            .url("https://x")
            .thumbprint_list("short")
            .send()
            .await,
        "ValidationError",
    );

    admin
        .add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .client_id("my-app")
        .send()
        .await
        .unwrap();
    let got = admin
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
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
        .unwrap();
    let listed = admin.list_open_id_connect_providers().send().await.unwrap();
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
        .unwrap();
    fails_with(
        admin
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await,
        "NoSuchEntity",
    );
}
