//! STS AssumeRole and role sessions: trust policies, external ids, same- and cross-account
//! rules, partitions, role chaining, session policies, expiry on the virtual clock; with
//! `aws-config`'s own `AssumeRoleProvider` and the raw `aws-sdk-sts` client.

use std::time::Duration;

use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::ProvideCredentials;
use mock_server::{Clock, MockServer, World};

use crate::support::*;

const WORLD: &str = r#"
accounts:
  - id: "111111111111"
    users:
      - name: admin
        managed_policies: [AdministratorAccess]
        access_keys: [{id: AKIAIOSFODNN7EXAMPLE, secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY}]
      - name: ci
        inline_policies:
          assume: {Version: "2012-10-17", Statement: {Effect: Allow, Action: "sts:AssumeRole", Resource: "arn:aws:iam::222222222222:role/*"}}
        access_keys: [{id: AKIACI11111111111111, secret: ci-secret}]
      - name: nopolicy
        access_keys: [{id: AKIANOPOLICY11111111, secret: nopolicy-secret}]
  - id: "222222222222"
    policies:
      - name: DescribeRegions
        document: {Version: "2012-10-17", Statement: {Effect: Allow, Action: "ec2:DescribeRegions", Resource: "*"}}
    users:
      - name: local
        access_keys: [{id: AKIALOCAL22222222222, secret: local-secret}]
      - name: admin
        managed_policies: [AdministratorAccess]
        access_keys: [{id: AKIAADMIN22222222222, secret: admin-secret}]
    roles:
      - name: deployer
        trust_policy: {Version: "2012-10-17", Statement: {Effect: Allow, Principal: {AWS: "arn:aws:iam::111111111111:root"}, Action: "sts:AssumeRole", Condition: {StringEquals: {"sts:ExternalId": x-42}}}}
        managed_policies: [DescribeRegions]
        max_session_duration: 7200
      - name: trusts-local-user
        trust_policy: {Version: "2012-10-17", Statement: {Effect: Allow, Principal: {AWS: "arn:aws:iam::222222222222:user/local"}, Action: "sts:AssumeRole"}}
        managed_policies: [AdministratorAccess]
      - name: trusts-own-account
        trust_policy: {Version: "2012-10-17", Statement: {Effect: Allow, Principal: {AWS: "222222222222"}, Action: "sts:AssumeRole"}}
      - name: chained
        trust_policy: {Version: "2012-10-17", Statement: {Effect: Allow, Principal: {AWS: ["arn:aws:iam::222222222222:role/trusts-local-user", "arn:aws:iam::222222222222:role/tagged"]}, Action: ["sts:AssumeRole", "sts:TagSession"]}}
        max_session_duration: 43200
        inline_policies:
          by-team: {Version: "2012-10-17", Statement: {Effect: Allow, Action: "ec2:DescribeRegions", Resource: "*", Condition: {StringEquals: {"aws:PrincipalTag/team": platform}}}}
      - name: tagged
        trust_policy: {Version: "2012-10-17", Statement: {Effect: Allow, Principal: {AWS: "arn:aws:iam::222222222222:user/local"}, Action: ["sts:AssumeRole", "sts:TagSession"]}}
        inline_policies:
          by-team: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "ec2:DescribeRegions", Resource: "*", Condition: {StringEquals: {"aws:PrincipalTag/team": platform}}}, {Effect: Allow, Action: "sts:AssumeRole", Resource: "*"}]}
  - id: "333333333333"
    partition: aws-us-gov
    users:
      - name: admin
        managed_policies: [AdministratorAccess]
        access_keys: [{id: AKIAGOVCLOUDEXAMPLE1, secret: govEXAMPLEsecretKEYgovEXAMPLEsecretKEY01}]
    roles:
      - name: gov-deployer
        trust_policy: {Version: "2012-10-17", Statement: {Effect: Allow, Principal: {AWS: "arn:aws-us-gov:iam::333333333333:root"}, Action: "sts:AssumeRole"}}
        managed_policies: [AdministratorAccess]
"#;

async fn server() -> MockServer {
    server_on(Clock::real()).await
}

async fn server_on(clock: Clock) -> MockServer {
    let world = World::from_yaml(WORLD).unwrap();
    MockServer::builder()
        .world(world)
        .clock(clock)
        .start()
        .await
        .unwrap()
}

fn sts_as(server: &MockServer, key: &str, secret: &str, region: &str) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&config_with_key(server, key, secret, region))
}

const DEPLOYER: &str = "arn:aws:iam::222222222222:role/deployer";

fn denied(caller: &str, role: &str) -> String {
    format!("User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role}")
}

/// A config whose credentials are a role session's.
fn session_config(
    server: &MockServer,
    creds: &aws_sdk_sts::types::Credentials,
    region: &str,
) -> aws_config::SdkConfig {
    let c = aws_credential_types::Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        None,
        "test",
    );
    harness::sdk::sdk_config(&server.endpoint(), c, region, server.clock())
}

#[tokio::test]
async fn the_aws_config_assume_role_provider_crosses_accounts_with_the_external_id() {
    let server = server().await;
    let ci = config_with_key(&server, "AKIACI11111111111111", "ci-secret", "us-east-1");
    let provider = AssumeRoleProvider::builder(DEPLOYER)
        .session_name("connector-test")
        .external_id("x-42")
        .configure(&ci)
        .build()
        .await;
    let creds = provider.provide_credentials().await.unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert!(creds.session_token().is_some());

    let config = harness::sdk::sdk_config(&server.endpoint(), creds, "us-east-1", server.clock());
    let me = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::222222222222:assumed-role/deployer/connector-test")
    );
    assert_eq!(me.account(), Some("222222222222"));
    assert!(
        me.user_id()
            .is_some_and(|id| id.starts_with("AROA") && id.ends_with(":connector-test"))
    );
    let regions = aws_sdk_ec2::Client::new(&config)
        .describe_regions()
        .send()
        .await;
    regions.expect("the role's policy allows DescribeRegions");
}

#[tokio::test]
async fn a_missing_or_wrong_external_id_is_access_denied_like_any_refusal() {
    let server = server().await;
    let ci = sts_as(&server, "AKIACI11111111111111", "ci-secret", "us-east-1");
    let expected = denied("arn:aws:iam::111111111111:user/ci", DEPLOYER);
    for external_id in [None, Some("x-43")] {
        let err = ci
            .assume_role()
            .role_arn(DEPLOYER)
            .role_session_name("s1")
            .set_external_id(external_id.map(str::to_owned))
            .send()
            .await;
        let err = err
            .err()
            .unwrap_or_else(|| panic!("assumed with {external_id:?}"));
        assert_eq!(
            (code(&err), message(&err)),
            (Some("AccessDenied".into()), expected.clone()),
            "{external_id:?}"
        );
    }
    // A role that does not exist gets the very same answer.
    let missing = "arn:aws:iam::222222222222:role/no-such-role";
    let err = ci
        .assume_role()
        .role_arn(missing)
        .role_session_name("s1")
        .external_id("x-42")
        .send()
        .await
        .err();
    assert_eq!(
        err.map(|e| message(&e)),
        Some(denied("arn:aws:iam::111111111111:user/ci", missing))
    );
}

#[tokio::test]
async fn trusting_the_account_needs_an_identity_policy_trusting_the_user_does_not() {
    let server = server().await;
    // The trust policy names the account root: nopolicy (no identity policy) is refused.
    let nopolicy = sts_as(
        &server,
        "AKIANOPOLICY11111111",
        "nopolicy-secret",
        "us-east-1",
    );
    fails_with(
        nopolicy
            .assume_role()
            .role_arn(DEPLOYER)
            .role_session_name("s1")
            .external_id("x-42")
            .send()
            .await,
        "AccessDenied",
    );

    let local = sts_as(&server, "AKIALOCAL22222222222", "local-secret", "us-east-1");
    // Same account, the trust policy names the user itself: no identity policy needed.
    let ok = local
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/trusts-local-user")
        .role_session_name("s1")
        .send()
        .await;
    succeeds(ok);
    // Same account, the trust policy names the account: the user's policies must allow.
    let err = local
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/trusts-own-account")
        .role_session_name("s1")
        .send()
        .await
        .err();
    assert_eq!(
        err.map(|e| message(&e)),
        Some(denied(
            "arn:aws:iam::222222222222:user/local",
            "arn:aws:iam::222222222222:role/trusts-own-account"
        ))
    );
}

#[tokio::test]
async fn roles_do_not_cross_partitions() {
    let server = server().await;
    let gov = sts_as(
        &server,
        "AKIAGOVCLOUDEXAMPLE1",
        "govEXAMPLEsecretKEYgovEXAMPLEsecretKEY01",
        "us-gov-west-1",
    );
    let out = gov
        .assume_role()
        .role_arn("arn:aws-us-gov:iam::333333333333:role/gov-deployer")
        .role_session_name("gov")
        .send()
        .await;
    let arn = out.unwrap().assumed_role_user().map(|u| u.arn().to_owned());
    assert_eq!(
        arn.as_deref(),
        Some("arn:aws-us-gov:sts::333333333333:assumed-role/gov-deployer/gov")
    );

    let admin = sts_as(
        &server,
        STD.access_key_id,
        STD.secret_access_key,
        "us-east-1",
    );
    fails_with(
        admin
            .assume_role()
            .role_arn("arn:aws-us-gov:iam::333333333333:role/gov-deployer")
            .role_session_name("s1")
            .send()
            .await,
        "AccessDenied",
    );
}

#[tokio::test]
async fn role_chaining_is_capped_at_one_hour() {
    let server = server().await;
    let local = sts_as(&server, "AKIALOCAL22222222222", "local-secret", "us-east-1");
    let first = local
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/trusts-local-user")
        .role_session_name("first")
        .send()
        .await;
    let first = first.unwrap();
    let creds = first.credentials().expect("no credentials");
    let session = aws_sdk_sts::Client::new(&session_config(&server, creds, "us-east-1"));
    let chained = "arn:aws:iam::222222222222:role/chained";
    let err = session
        .assume_role()
        .role_arn(chained)
        .role_session_name("second")
        .duration_seconds(7200)
        .send()
        .await
        .err();
    let err = err.expect("chained past an hour");
    assert_eq!(
        (code(&err), message(&err)),
        (Some("ValidationError".into()), "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into())
    );
    let ok = session
        .assume_role()
        .role_arn(chained)
        .role_session_name("second")
        .duration_seconds(3600)
        .send()
        .await;
    let arn = ok.unwrap().assumed_role_user().map(|u| u.arn().to_owned());
    assert_eq!(
        arn.as_deref(),
        Some("arn:aws:sts::222222222222:assumed-role/chained/second")
    );
}

#[tokio::test]
async fn input_validation_follows_sts() {
    let server = server().await;
    let ci = sts_as(&server, "AKIACI11111111111111", "ci-secret", "us-east-1");
    let short = ci
        .assume_role()
        .role_arn(DEPLOYER)
        .role_session_name("a")
        .external_id("x-42")
        .send()
        .await
        .err();
    assert_eq!(
        short.map(|e| message(&e)).as_deref(),
        Some(
            "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"
        )
    );
    let too_short = ci
        .assume_role()
        .role_arn(DEPLOYER)
        .role_session_name("s1")
        .external_id("x-42")
        .duration_seconds(899)
        .send()
        .await
        .err();
    assert_eq!(
        too_short.map(|e| message(&e)).as_deref(),
        Some(
            "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        )
    );
    let too_long = ci
        .assume_role()
        .role_arn(DEPLOYER)
        .role_session_name("s1")
        .external_id("x-42")
        .duration_seconds(10800)
        .send()
        .await
        .err();
    assert_eq!(
        too_long.map(|e| message(&e)).as_deref(),
        Some("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    );
    let ok = ci
        .assume_role()
        .role_arn(DEPLOYER)
        .role_session_name("s1")
        .external_id("x-42")
        .duration_seconds(7200)
        .send()
        .await;
    succeeds(ok);
}

#[tokio::test]
async fn sessions_expire_on_the_server_clock() {
    let server = server_on(Clock::virtual_now()).await;
    let local = sts_as(&server, "AKIALOCAL22222222222", "local-secret", "us-east-1");
    let out = local
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/trusts-local-user")
        .role_session_name("short")
        .duration_seconds(900)
        .send()
        .await;
    let out = out.unwrap();
    let creds = out.credentials().expect("no credentials").clone();
    let config = session_config(&server, &creds, "us-east-1");
    succeeds(
        aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await,
    );

    server.clock().advance(Duration::from_secs(901));
    let sts_err = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect_err("expired session accepted");
    assert_eq!(
        (code(&sts_err), message(&sts_err)),
        (
            Some("ExpiredToken".into()),
            "The security token included in the request is expired".into()
        )
    );
    fails_with(
        aws_sdk_ec2::Client::new(&config)
            .describe_regions()
            .send()
            .await,
        "RequestExpired",
    );
}

#[tokio::test]
async fn a_session_token_must_match_its_key_and_policy_changes_reach_live_sessions() {
    let server = server().await;
    let local = sts_as(&server, "AKIALOCAL22222222222", "local-secret", "us-east-1");
    let out = local
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/trusts-local-user")
        .role_session_name("s1")
        .send()
        .await;
    let creds = out.unwrap().credentials().cloned().expect("no credentials");
    let forged = aws_credential_types::Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(format!("{}x", creds.session_token())),
        None,
        "t",
    );
    let config = harness::sdk::sdk_config(&server.endpoint(), forged, "us-east-1", server.clock());
    fails_with(
        aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await,
        "InvalidClientTokenId",
    );
    let no_token = aws_credential_types::Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        None,
        None,
        "t",
    );
    let config =
        harness::sdk::sdk_config(&server.endpoint(), no_token, "us-east-1", server.clock());
    fails_with(
        aws_sdk_ec2::Client::new(&config)
            .describe_regions()
            .send()
            .await,
        "AuthFailure",
    );

    // Deleting the role ends its sessions.
    let root_iam = aws_sdk_iam::Client::new(&config_with_key(
        &server,
        "AKIALOCAL22222222222",
        "local-secret",
        "us-east-1",
    ));
    let _ = root_iam; // `local` cannot delete roles; use a session of the admin role instead.
    let session = session_config(&server, &creds, "us-east-1");
    let iam = aws_sdk_iam::Client::new(&session);
    iam.detach_role_policy()
        .role_name("trusts-local-user")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    // Policy changes reach live sessions: the session just removed its own permissions.
    fails_with(iam.list_users().send().await, "AccessDenied");
}

#[tokio::test]
async fn session_policies_narrow_the_session() {
    let server = server().await;
    let local = sts_as(&server, "AKIALOCAL22222222222", "local-secret", "us-east-1");
    let only_regions = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeRegions","Resource":"*"}]}"#;
    let out = local
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/trusts-local-user")
        .role_session_name("narrow")
        .policy(only_regions)
        .send()
        .await
        .unwrap();
    let config = session_config(
        &server,
        out.credentials().expect("no credentials"),
        "us-east-1",
    );
    succeeds(
        aws_sdk_ec2::Client::new(&config)
            .describe_regions()
            .send()
            .await,
    );
    let err = aws_sdk_iam::Client::new(&config)
        .list_users()
        .send()
        .await
        .expect_err("allowed");
    assert_eq!(
        message(&err),
        "User: arn:aws:sts::222222222222:assumed-role/trusts-local-user/narrow is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::222222222222:user/ because no session policy allows the iam:ListUsers action"
    );
}

#[tokio::test]
async fn deleting_the_role_ends_its_sessions() {
    let server = server().await;
    let local = sts_as(&server, "AKIALOCAL22222222222", "local-secret", "us-east-1");
    let out = local
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/trusts-local-user")
        .role_session_name("s1")
        .send()
        .await;
    let creds = out.unwrap().credentials().cloned().expect("no credentials");
    let session = aws_sdk_sts::Client::new(&session_config(&server, &creds, "us-east-1"));
    succeeds(session.get_caller_identity().send().await);

    let admin = aws_sdk_iam::Client::new(&config_with_key(
        &server,
        "AKIAADMIN22222222222",
        "admin-secret",
        "us-east-1",
    ));
    admin
        .detach_role_policy()
        .role_name("trusts-local-user")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    admin
        .delete_role()
        .role_name("trusts-local-user")
        .send()
        .await
        .unwrap();
    fails_with(
        session.get_caller_identity().send().await,
        "InvalidClientTokenId",
    );
}

#[tokio::test]
async fn get_session_token_gives_a_user_temporary_credentials_of_its_own() {
    let server = server_on(Clock::virtual_now()).await;
    let ci = sts_as(&server, "AKIACI11111111111111", "ci-secret", "us-east-1");
    let out = ci
        .get_session_token()
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let creds = out.credentials().cloned().expect("no credentials");
    assert!(creds.access_key_id().starts_with("ASIA"));
    let config = session_config(&server, &creds, "us-east-1");
    let session = aws_sdk_sts::Client::new(&config);
    let me = session.get_caller_identity().send().await.unwrap();
    assert_eq!(
        me.arn(),
        Some("arn:aws:iam::111111111111:user/ci"),
        "the session is the user itself"
    );
    // It keeps the user's permissions: ci may assume the deployer role with the external id.
    let assumed = session
        .assume_role()
        .role_arn(DEPLOYER)
        .role_session_name("s1")
        .external_id("x-42")
        .send()
        .await;
    succeeds(assumed);
    fails_with(session.get_session_token().send().await, "AccessDenied");
    fails_with(
        ci.get_session_token().duration_seconds(600).send().await,
        "ValidationError",
    );

    server.clock().advance(Duration::from_secs(900));
    fails_with(session.get_caller_identity().send().await, "ExpiredToken");
}

#[tokio::test]
async fn get_access_key_info_names_the_account() {
    let server = server().await;
    let admin = sts_as(
        &server,
        STD.access_key_id,
        STD.secret_access_key,
        "us-east-1",
    );
    let out = admin
        .get_access_key_info()
        .access_key_id("AKIALOCAL22222222222")
        .send()
        .await
        .unwrap();
    assert_eq!(out.account(), Some("222222222222"));
    // It needs sts:GetAccessKeyInfo, which ci does not have.
    let ci = sts_as(&server, "AKIACI11111111111111", "ci-secret", "us-east-1");
    fails_with(
        ci.get_access_key_info()
            .access_key_id("AKIALOCAL22222222222")
            .send()
            .await,
        "AccessDenied",
    );
}

#[tokio::test]
async fn federation_tokens_carry_only_what_the_session_policy_allows() {
    let server = server().await;
    let admin = sts_as(
        &server,
        STD.access_key_id,
        STD.secret_access_key,
        "us-east-1",
    );
    let regions_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeRegions","Resource":"*"}]}"#;
    let out = admin
        .get_federation_token()
        .name("deploy-bot")
        .policy(regions_only)
        .send()
        .await
        .unwrap();
    let user = out.federated_user().expect("no federated user");
    assert_eq!(
        user.arn(),
        "arn:aws:sts::111111111111:federated-user/deploy-bot"
    );
    assert_eq!(user.federated_user_id(), "111111111111:deploy-bot");
    let config = session_config(
        &server,
        out.credentials().expect("no credentials"),
        "us-east-1",
    );
    let me = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::111111111111:federated-user/deploy-bot")
    );
    succeeds(
        aws_sdk_ec2::Client::new(&config)
            .describe_regions()
            .send()
            .await,
    );
    let err = aws_sdk_iam::Client::new(&config)
        .list_users()
        .send()
        .await
        .expect_err("allowed");
    assert!(
        message(&err).ends_with("because no session policy allows the iam:ListUsers action"),
        "{}",
        message(&err)
    );

    // Without a session policy the federated user can do nothing.
    let bare = admin
        .get_federation_token()
        .name("nothing")
        .send()
        .await
        .unwrap();
    let config = session_config(
        &server,
        bare.credentials().expect("no credentials"),
        "us-east-1",
    );
    fails_with(
        aws_sdk_ec2::Client::new(&config)
            .describe_regions()
            .send()
            .await,
        "UnauthorizedOperation",
    );
    fails_with(
        aws_sdk_sts::Client::new(&config)
            .get_federation_token()
            .name("x1")
            .send()
            .await,
        "AccessDenied",
    );
}

#[tokio::test]
async fn session_tags_need_tag_session_and_transitive_ones_follow_chained_sessions() {
    let server = server().await;
    let local = sts_as(&server, "AKIALOCAL22222222222", "local-secret", "us-east-1");
    let team = aws_sdk_sts::types::Tag::builder()
        .key("team")
        .value("platform")
        .build()
        .unwrap();
    // trusts-local-user's trust policy does not allow sts:TagSession.
    let refused = local
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/trusts-local-user")
        .role_session_name("s1")
        .tags(team.clone())
        .send()
        .await
        .expect_err("tagged without sts:TagSession");
    assert_eq!(
        message(&refused),
        "User: arn:aws:iam::222222222222:user/local is not authorized to perform: sts:TagSession on resource: arn:aws:iam::222222222222:role/trusts-local-user"
    );

    let out = local
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/tagged")
        .role_session_name("tagged")
        .tags(team)
        .transitive_tag_keys("team")
        .send()
        .await
        .unwrap();
    let first = session_config(
        &server,
        out.credentials().expect("no credentials"),
        "us-east-1",
    );
    aws_sdk_ec2::Client::new(&first)
        .describe_regions()
        .send()
        .await
        .expect("the session tag satisfies the role policy");

    let chained = aws_sdk_sts::Client::new(&first)
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/chained")
        .role_session_name("onwards")
        .send()
        .await
        .unwrap();
    let second = session_config(
        &server,
        chained.credentials().expect("no credentials"),
        "us-east-1",
    );
    aws_sdk_ec2::Client::new(&second)
        .describe_regions()
        .send()
        .await
        .expect("the transitive tag followed the chain");
}

#[tokio::test]
async fn aws_config_caches_assumed_role_credentials_and_refreshes_them_at_expiry_on_virtual_time() {
    let server = server_on(Clock::virtual_now()).await;
    let ci = config_with_key(&server, "AKIACI11111111111111", "ci-secret", "us-east-1");
    let provider = AssumeRoleProvider::builder(DEPLOYER)
        .session_name("cached")
        .external_id("x-42")
        .session_length(Duration::from_secs(900))
        .configure(&ci)
        .build()
        .await;
    let first = provider.provide_credentials().await.unwrap();
    let config = ci
        .into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build();
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let assume_roles = || {
        server
            .requests()
            .iter()
            .filter(|r| r.action == "AssumeRole" && r.status == 200)
            .count()
    };
    let describe = || async { ec2.describe_regions().send().await.unwrap() };

    describe().await;
    // One for `first`, one when the client's cache first asked.
    assert_eq!(assume_roles(), 2);
    server.clock().advance(Duration::from_secs(600));
    describe().await;
    assert_eq!(
        assume_roles(),
        2,
        "still-valid credentials were fetched again"
    );

    server.clock().advance(Duration::from_secs(360));
    // The credentials taken at the start have expired on the server's clock...
    let stale = harness::sdk::sdk_config(&server.endpoint(), first, "us-east-1", server.clock());
    let err = aws_sdk_ec2::Client::new(&stale)
        .describe_regions()
        .send()
        .await
        .expect_err("expired session credentials were accepted");
    // EC2 words expired session credentials as an expired request.
    assert_eq!(code(&err).as_deref(), Some("RequestExpired"), "{err:?}");
    // ...and the SDK's cache, on the same clock, assumed the role again.
    describe().await;
    assert_eq!(assume_roles(), 3);
}
