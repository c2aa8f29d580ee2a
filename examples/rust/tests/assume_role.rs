//! Testing your own AWS code with trustbench: one isolated `MockServer` per test (random
//! loopback port, its own world and clock), real SDK clients pointed at it.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use mock_server::{MockServer, World};
use trustbench_example::assume_deploy_role;

/// The customer's account trusts ours, with an external ID.
const WORLD: &str = r#"
accounts:
  - id: "111111111111"
    users:
      - name: deployer
        inline_policies:
          assume: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "sts:AssumeRole", Resource: "*"}]}
        access_keys: [{id: AKIAEXAMPLEDEPLOYER1, secret: deployer-secret}]
  - id: "222222222222"
    roles:
      - name: deploy
        trust_policy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {AWS: "arn:aws:iam::111111111111:root"}
              Action: "sts:AssumeRole"
              Condition: {StringEquals: {"sts:ExternalId": "customer-42"}}
"#;
const ROLE: &str = "arn:aws:iam::222222222222:role/deploy";

async fn server() -> MockServer {
    let world = World::from_yaml(WORLD).unwrap_or_else(|e| panic!("{e}"));
    MockServer::builder()
        .world(world)
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// An SDK configuration for the server, as your code would load one.
async fn sdk(server: &MockServer) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(server.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIAEXAMPLEDEPLOYER1",
            "deployer-secret",
            None,
            None,
            "example",
        ))
        // Needed here because this workspace builds the SDK without TLS (so nothing can
        // reach real AWS); with aws-config's default features, leave it out.
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await
}

#[tokio::test]
async fn the_role_is_assumed_with_the_right_external_id() {
    let server = server().await;
    let sts = aws_sdk_sts::Client::new(&sdk(&server).await);
    let arn = assume_deploy_role(&sts, ROLE, "customer-42")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(arn, "arn:aws:sts::222222222222:assumed-role/deploy/deploy");
}

#[tokio::test]
async fn a_wrong_external_id_is_access_denied_as_on_aws() {
    let server = server().await;
    let sts = aws_sdk_sts::Client::new(&sdk(&server).await);
    let err = assume_deploy_role(&sts, ROLE, "customer-41")
        .await
        .err()
        .unwrap_or_else(|| panic!("a wrong external ID was accepted"));
    assert_eq!(err.code, "AccessDenied");
}
