//! EC2 beyond DescribeRegions with the real `aws-sdk-ec2` client: zones and account
//! attributes, instances on the server clock, images, tags, network reads, pagination and
//! filters, per-resource authorization (tag conditions, `iam:PassRole`), DryRun, and region
//! and partition scoping.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_ec2::types::{
    Filter, IamInstanceProfileSpecification, InstanceStateName, LaunchTemplateSpecification,
    ResourceType, Tag, TagSpecification,
};
use mock_server::{Clock, MockServer, World};

use crate::support::*;

/// Account 555555555555: an admin, a deployer who may launch but not pass roles, a passer
/// who may, a tag-bound operator, the role `app` in the instance profile `app`, and EC2
/// resources in us-east-1 (and one public image in us-west-2).
const WORLD_555: &str = r#"
accounts:
  - id: "555555555555"
    root_access_keys:
      - {id: AKIAROOT555555555555, secret: root-secret}
    roles:
      - name: app
        trust_policy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: "sts:AssumeRole"}]}
    instance_profiles: [{name: app, roles: [app]}]
    users:
      - name: admin
        managed_policies: [AdministratorAccess]
        access_keys: [{id: AKIAADMIN55555555555, secret: admin-secret}]
      - name: deployer
        inline_policies:
          launch: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: ["ec2:RunInstances", "ec2:Describe*", "ec2:CreateTags"], Resource: "*"}]}
        access_keys: [{id: AKIADEPLOYER55555555, secret: deployer-secret}]
      - name: passer
        inline_policies:
          launch: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: ["ec2:RunInstances", "ec2:Describe*"], Resource: "*"}, {Effect: Allow, Action: "iam:PassRole", Resource: "arn:aws:iam::555555555555:role/app", Condition: {StringEquals: {"iam:PassedToService": ec2.amazonaws.com}}}]}
        access_keys: [{id: AKIAPASSER5555555555, secret: passer-secret}]
      - name: operator
        inline_policies:
          dev-only:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: ["ec2:TerminateInstances", "ec2:DeleteTags"], Resource: "arn:aws:ec2:*:555555555555:instance/*", Condition: {StringEquals: {"ec2:ResourceTag/env": dev}}}
              - {Effect: Allow, Action: "ec2:RunInstances", Resource: "arn:aws:ec2:us-east-1:555555555555:instance/*", Condition: {StringEquals: {"aws:RequestTag/team": web}, "ForAllValues:StringEquals": {"aws:TagKeys": [team]}}}
              - {Effect: Allow, Action: "ec2:RunInstances", NotResource: "arn:aws:ec2:*:555555555555:instance/*"}
              - {Effect: Allow, Action: "ec2:CreateTags", Resource: "*", Condition: {StringEquals: {"ec2:CreateAction": RunInstances}}}
              - {Effect: Allow, Action: "ec2:Describe*", Resource: "*", Condition: {StringEquals: {"ec2:Region": us-east-1}}}
        access_keys: [{id: AKIAOPERATOR55555555, secret: operator-secret}]
      - name: tagger
        inline_policies:
          tag-volumes-and-keys:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: ["ec2:RunInstances", "ec2:Describe*"], Resource: "*"}
              - {Effect: Allow, Action: "ec2:CreateTags", Resource: "arn:aws:ec2:us-east-1:555555555555:volume/*", Condition: {StringEquals: {"ec2:CreateAction": RunInstances}}}
              - {Effect: Allow, Action: "ec2:CreateTags", Resource: "arn:aws:ec2:us-east-1:555555555555:key-pair/deploy-key"}
        access_keys: [{id: AKIATAGGER5555555555, secret: tagger-secret}]
    ec2:
      us-east-1:
        vpcs: [{id: vpc-0a0a0a0a0a0a0a0a0, cidr_block: 10.20.0.0/16, tags: {Name: build}}]
        subnets: [{id: subnet-0b0b0b0b0b0b0b0b0, vpc: vpc-0a0a0a0a0a0a0a0a0, cidr_block: 10.20.1.0/24, availability_zone: us-east-1b}]
        security_groups: [{id: sg-0c0c0c0c0c0c0c0c0, name: web, vpc: vpc-0a0a0a0a0a0a0a0a0}]
        key_pairs: [{name: deploy-key}]
        images:
          - {id: ami-0123456789abcdef0, name: app-2026-11, tags: {team: web}}
          - {id: ami-0fedcba9876543210, name: app-2026-12, architecture: arm64}
        launch_templates: [{name: web-lt, image: ami-0123456789abcdef0, instance_type: t3.large}]
        instances:
          - {id: i-0aaaaaaaaaaaaaaa1, image: ami-0123456789abcdef0, instance_type: t3.small, tags: {env: prod, Name: prod-1}, instance_profile: app}
          - {id: i-0aaaaaaaaaaaaaaa2, image: ami-0123456789abcdef0, tags: {env: dev}, key_name: deploy-key}
          - {id: i-0aaaaaaaaaaaaaaa3, image: ami-0fedcba9876543210, state: stopped, subnet: subnet-0b0b0b0b0b0b0b0b0, security_groups: [sg-0c0c0c0c0c0c0c0c0]}
  - id: "666666666666"
    users:
      - name: admin
        managed_policies: [AdministratorAccess]
        access_keys: [{id: AKIAADMIN66666666666, secret: admin-secret}]
    ec2:
      us-east-1:
        images:
          - {id: ami-0666666666666666a, name: shared-golden, public: true}
          - {id: ami-0666666666666666b, name: private-golden}
  - id: "777777777777"
    partition: aws-us-gov
    users:
      - name: admin
        managed_policies: [AdministratorAccess]
        access_keys: [{id: AKIAGOVADMIN77777777, secret: admin-secret}]
delegates:
  - {name: builder, kind: ec2, account: "555555555555", role_arn: "arn:aws:iam::555555555555:role/app"}
"#;

async fn server_555() -> MockServer {
    let world = World::from_yaml(WORLD_555).expect("test world");
    MockServer::builder()
        .world(world)
        .clock(Clock::virtual_at(
            std::time::UNIX_EPOCH + Duration::from_secs(1_900_000_000),
        ))
        .start()
        .await
        .expect("test server")
}

fn client(server: &MockServer, user: &str, region: &str) -> aws_sdk_ec2::Client {
    let (key, secret) = match user {
        "admin" => ("AKIAADMIN55555555555", "admin-secret"),
        "deployer" => ("AKIADEPLOYER55555555", "deployer-secret"),
        "passer" => ("AKIAPASSER5555555555", "passer-secret"),
        "operator" => ("AKIAOPERATOR55555555", "operator-secret"),
        "tagger" => ("AKIATAGGER5555555555", "tagger-secret"),
        "other" => ("AKIAADMIN66666666666", "admin-secret"),
        "gov" => ("AKIAGOVADMIN77777777", "admin-secret"),
        _ => panic!("no user {user}"),
    };
    aws_sdk_ec2::Client::new(&config_with_key(server, key, secret, region))
}

async fn decode(server: &MockServer, message: &str) -> serde_json::Value {
    decode_with(server, ("AKIAROOT555555555555", "root-secret"), message).await
}

/// A RunInstances of one instance of the account's image `app-2026-11`, to add to.
fn launch_one(
    client: &aws_sdk_ec2::Client,
) -> aws_sdk_ec2::operation::run_instances::builders::RunInstancesFluentBuilder {
    client
        .run_instances()
        .image_id("ami-0123456789abcdef0")
        .min_count(1)
        .max_count(1)
}

fn filter(name: &str, values: &[&str]) -> Filter {
    values
        .iter()
        .fold(Filter::builder().name(name), |f, v| f.values(*v))
        .build()
}

/// The ids of every instance a DescribeInstances answer lists.
fn instance_ids(
    out: &aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput,
) -> Vec<String> {
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.instance_id().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn zones_follow_the_region_and_partition_of_the_call() {
    let server = MockServer::start().await;
    let out = ec2(&server, STD, "us-east-1")
        .describe_availability_zones()
        .send()
        .await
        .unwrap();
    let zones: Vec<(String, String)> = out
        .availability_zones()
        .iter()
        .map(|z| {
            (
                z.zone_name().unwrap_or_default().to_owned(),
                z.zone_id().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(zones.len(), 6, "{zones:?}");
    assert_eq!(zones[0], ("us-east-1a".into(), "use1-az1".into()));
    let first = &out.availability_zones()[0];
    assert_eq!(first.region_name(), Some("us-east-1"));
    assert_eq!(first.state().map(|s| s.as_str()), Some("available"));
    assert_eq!(first.zone_type(), Some("availability-zone"));

    let gov = ec2(&server, GOV, "us-gov-west-1")
        .describe_availability_zones()
        .filters(filter("zone-id", &["usgw1-az2"]))
        .send()
        .await
        .unwrap();
    let names: Vec<_> = gov
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .collect();
    assert_eq!(names, vec!["us-gov-west-1b"]);

    let err = fails_with(
        ec2(&server, STD, "us-east-1")
            .describe_availability_zones()
            .zone_names("us-west-2a")
            .send()
            .await,
        "InvalidParameterValue",
    );
    assert_eq!(message(&err), "Invalid availability zone: [us-west-2a]");
}

#[tokio::test]
async fn every_region_has_a_default_vpc_with_a_subnet_per_zone() {
    let server = MockServer::start().await;
    let client = ec2(&server, STD, "us-west-2");
    let attrs = client
        .describe_account_attributes()
        .attribute_names(aws_sdk_ec2::types::AccountAttributeName::DefaultVpc)
        .send()
        .await
        .unwrap();
    let attr = &attrs.account_attributes()[0];
    assert_eq!(attr.attribute_name(), Some("default-vpc"));
    let vpc_id = attr.attribute_values()[0]
        .attribute_value()
        .unwrap_or_default()
        .to_owned();
    assert!(vpc_id.starts_with("vpc-"), "{vpc_id}");

    let vpcs = client.describe_vpcs().send().await.unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    assert_eq!(vpcs.vpcs()[0].vpc_id(), Some(vpc_id.as_str()));
    assert_eq!(vpcs.vpcs()[0].is_default(), Some(true));
    assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("172.31.0.0/16"));

    let subnets = client
        .describe_subnets()
        .filters(filter("default-for-az", &["true"]))
        .send()
        .await
        .unwrap();
    let zones: BTreeSet<_> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.availability_zone())
        .collect();
    assert_eq!(zones.len(), 4, "us-west-2 has four zones: {zones:?}");
    assert!(
        subnets
            .subnets()
            .iter()
            .all(|s| s.vpc_id() == Some(vpc_id.as_str()))
    );

    let groups = client
        .describe_security_groups()
        .group_names("default")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups().len(), 1);
    assert_eq!(groups.security_groups()[0].vpc_id(), Some(vpc_id.as_str()));

    let err = fails_with(
        client
            .describe_vpcs()
            .vpc_ids("vpc-0123456789abcdef0")
            .send()
            .await,
        "InvalidVpcID.NotFound",
    );
    assert_eq!(
        message(&err),
        "The vpc ID 'vpc-0123456789abcdef0' does not exist"
    );
}

#[tokio::test]
async fn declared_instances_filter_by_tag_state_and_profile() {
    let server = server_555().await;
    let admin = client(&server, "admin", "us-east-1");
    let by = |f: Filter| {
        let admin = admin.clone();
        async move {
            let out = admin.describe_instances().filters(f).send().await.unwrap();
            instance_ids(&out)
        }
    };
    assert_eq!(
        by(filter("tag:env", &["prod"])).await,
        vec!["i-0aaaaaaaaaaaaaaa1"]
    );
    assert_eq!(
        by(filter("instance-state-name", &["stopped"])).await,
        vec!["i-0aaaaaaaaaaaaaaa3"]
    );
    assert_eq!(
        by(filter("tag:Name", &["prod-*"])).await,
        vec!["i-0aaaaaaaaaaaaaaa1"]
    );
    assert_eq!(
        by(filter("key-name", &["deploy-key"])).await,
        vec!["i-0aaaaaaaaaaaaaaa2"]
    );
    assert_eq!(
        by(filter("vpc-id", &["vpc-0a0a0a0a0a0a0a0a0"])).await,
        vec!["i-0aaaaaaaaaaaaaaa3"]
    );

    let out = admin
        .describe_instances()
        .instance_ids("i-0aaaaaaaaaaaaaaa1")
        .send()
        .await
        .unwrap();
    let i = &out.reservations()[0].instances()[0];
    assert_eq!(
        i.state().and_then(|s| s.name()),
        Some(&InstanceStateName::Running)
    );
    assert_eq!(i.instance_type().map(|t| t.as_str()), Some("t3.small"));
    assert_eq!(
        i.iam_instance_profile().and_then(|p| p.arn()),
        Some("arn:aws:iam::555555555555:instance-profile/app")
    );
    assert!(
        i.iam_instance_profile()
            .and_then(|p| p.id())
            .is_some_and(|id| id.starts_with("AIPA"))
    );
    assert_eq!(
        i.placement().and_then(|p| p.availability_zone()),
        Some("us-east-1a")
    );
    assert_eq!(out.reservations()[0].owner_id(), Some("555555555555"));

    let err = fails_with(
        admin
            .describe_instances()
            .filters(filter("nope", &["x"]))
            .send()
            .await,
        "InvalidParameterValue",
    );
    assert_eq!(message(&err), "The filter 'nope' is invalid");

    let err = fails_with(
        admin
            .describe_instances()
            .instance_ids("i-0bbbbbbbbbbbbbbb1")
            .instance_ids("i-0bbbbbbbbbbbbbbb2")
            .send()
            .await,
        "InvalidInstanceID.NotFound",
    );
    assert_eq!(
        message(&err),
        "The instance IDs 'i-0bbbbbbbbbbbbbbb1, i-0bbbbbbbbbbbbbbb2' do not exist"
    );
    fails_with(
        admin
            .describe_instances()
            .instance_ids("instance-1")
            .send()
            .await,
        "InvalidInstanceID.Malformed",
    );
    fails_with(
        admin
            .describe_instances()
            .instance_ids("i-0aaaaaaaaaaaaaaa1")
            .max_results(5)
            .send()
            .await,
        "InvalidParameterCombination",
    );
}

#[tokio::test]
async fn launched_instances_page_and_move_through_their_states_on_the_clock() {
    let server = server_555().await;
    let admin = client(&server, "admin", "us-east-1");
    let run = admin
        .run_instances()
        .image_id("ami-0123456789abcdef0")
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(12)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("batch").value("b1").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(run.instances().len(), 12);
    assert!(run.reservation_id().is_some_and(|r| r.starts_with("r-")));
    let launched: Vec<String> = run
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_owned))
        .collect();
    assert!(
        run.instances()
            .iter()
            .all(|i| i.state().and_then(|s| s.code()) == Some(0))
    );

    // Five a page: every instance (12 launched, 3 declared, 1 delegate) exactly once.
    let mut pages = admin
        .describe_instances()
        .max_results(5)
        .into_paginator()
        .send();
    let mut seen = Vec::new();
    let mut page_count = 0;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        page_count += 1;
        let ids = instance_ids(&page);
        assert!(ids.len() <= 5);
        seen.extend(ids);
    }
    assert_eq!(page_count, 4);
    assert_eq!(seen.len(), 16);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 16);

    let tagged = admin
        .describe_instances()
        .filters(filter("tag:batch", &["b1"]))
        .filters(filter("instance-state-name", &["pending"]))
        .send()
        .await
        .unwrap();
    assert_eq!(instance_ids(&tagged).len(), 12);

    server.clock().advance(Duration::from_secs(10));
    let victim = launched[0].clone();
    let gone = admin
        .terminate_instances()
        .instance_ids(&victim)
        .send()
        .await
        .unwrap();
    let change = &gone.terminating_instances()[0];
    assert_eq!(
        change.previous_state().and_then(|s| s.name()),
        Some(&InstanceStateName::Running)
    );
    assert_eq!(
        change.current_state().and_then(|s| s.name()),
        Some(&InstanceStateName::ShuttingDown)
    );
    server.clock().advance(Duration::from_secs(10));
    let state = |admin: aws_sdk_ec2::Client, id: String| async move {
        let out = admin.describe_instances().instance_ids(id).send().await;
        out.map(|o| {
            o.reservations()[0].instances()[0]
                .state()
                .and_then(|s| s.name())
                .cloned()
        })
    };
    assert_eq!(
        state(admin.clone(), victim.clone()).await.ok().flatten(),
        Some(InstanceStateName::Terminated)
    );
    // Terminated instances fade from view after about an hour.
    server.clock().advance(Duration::from_secs(3600));
    fails_with(
        state(admin.clone(), victim.clone()).await,
        "InvalidInstanceID.NotFound",
    );

    let status = admin
        .describe_instance_status()
        .instance_ids(&launched[1])
        .send()
        .await
        .unwrap();
    let s = &status.instance_statuses()[0];
    assert_eq!(
        s.instance_status()
            .and_then(|s| s.status())
            .map(|s| s.as_str()),
        Some("ok")
    );
}

#[tokio::test]
async fn dry_run_answers_412_when_allowed_and_the_encoded_denial_when_not() {
    let server = server_555().await;
    let err = fails_with(
        client(&server, "admin", "us-east-1")
            .terminate_instances()
            .instance_ids("i-0aaaaaaaaaaaaaaa1")
            .dry_run(true)
            .send()
            .await,
        "DryRunOperation",
    );
    assert_eq!(
        message(&err),
        "Request would have succeeded, but DryRun flag is set."
    );
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(412));

    let err = fails_with(
        client(&server, "deployer", "us-east-1")
            .terminate_instances()
            .instance_ids("i-0aaaaaaaaaaaaaaa1")
            .dry_run(true)
            .send()
            .await,
        "UnauthorizedOperation",
    );
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
    let decoded = decode(&server, &message(&err)).await;
    assert_eq!(decoded["context"]["action"], "ec2:TerminateInstances");
    assert_eq!(
        decoded["context"]["resource"],
        "arn:aws:ec2:us-east-1:555555555555:instance/i-0aaaaaaaaaaaaaaa1"
    );

    // A Describe dry run by someone allowed: 412 too; nothing was terminated by the first.
    fails_with(
        client(&server, "deployer", "us-east-1")
            .describe_instances()
            .dry_run(true)
            .send()
            .await,
        "DryRunOperation",
    );
    let out = client(&server, "admin", "us-east-1")
        .describe_instances()
        .instance_ids("i-0aaaaaaaaaaaaaaa1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.reservations()[0].instances()[0]
            .state()
            .and_then(|s| s.name()),
        Some(&InstanceStateName::Running)
    );
}

#[tokio::test]
async fn tag_conditions_allow_and_deny_per_resource() {
    let server = server_555().await;
    let operator = client(&server, "operator", "us-east-1");
    // ec2:ResourceTag/env = dev: the dev instance, not the prod one.
    let err = fails_with(
        operator
            .terminate_instances()
            .instance_ids("i-0aaaaaaaaaaaaaaa1")
            .send()
            .await,
        "UnauthorizedOperation",
    );
    let decoded = decode(&server, &message(&err)).await;
    let conditions = decoded["context"]["conditions"]["items"].to_string();
    assert!(
        conditions.contains("ec2:ResourceTag/env") && conditions.contains("prod"),
        "{conditions}"
    );
    operator
        .terminate_instances()
        .instance_ids("i-0aaaaaaaaaaaaaaa2")
        .send()
        .await
        .unwrap();

    // aws:RequestTag/team = web and only that key, on the instance being made; tagging on
    // create needs ec2:CreateTags with ec2:CreateAction = RunInstances.
    let launch = |tags: &[(&str, &str)]| {
        let spec = tags.iter().fold(
            TagSpecification::builder().resource_type(ResourceType::Instance),
            |s, (k, v)| s.tags(Tag::builder().key(*k).value(*v).build()),
        );
        launch_one(&operator)
            .tag_specifications(spec.build())
            .send()
    };
    fails_with(launch(&[("team", "data")]).await, "UnauthorizedOperation");
    fails_with(
        launch(&[("team", "web"), ("owner", "me")]).await,
        "UnauthorizedOperation",
    );
    let ok = launch(&[("team", "web")]).await.unwrap();
    assert_eq!(ok.instances().len(), 1);

    // ec2:Region: the operator's Describe calls work in us-east-1 only.
    let west = client(&server, "operator", "us-west-2");
    fails_with(
        west.describe_instances().send().await,
        "UnauthorizedOperation",
    );
}

#[tokio::test]
async fn passing_a_role_to_an_instance_needs_iam_pass_role() {
    let server = server_555().await;
    let profile = IamInstanceProfileSpecification::builder()
        .name("app")
        .build();
    let err = fails_with(
        launch_one(&client(&server, "deployer", "us-east-1"))
            .iam_instance_profile(profile.clone())
            .send()
            .await,
        "UnauthorizedOperation",
    );
    // The log names the denied action and resource.
    let log = server.requests();
    let last = log.last().expect("no log");
    assert_eq!(last.iam_action, "iam:PassRole");
    assert_eq!(last.resource, "arn:aws:iam::555555555555:role/app");
    assert_eq!(last.decision, mock_server::Decision::Denied);
    let decoded = decode(&server, &message(&err)).await;
    assert_eq!(decoded["context"]["action"], "iam:PassRole");
    assert_eq!(
        decoded["context"]["resource"],
        "arn:aws:iam::555555555555:role/app"
    );
    assert!(
        decoded["context"]["conditions"]["items"]
            .to_string()
            .contains("iam:PassedToService"),
        "{decoded}"
    );

    // Without a profile the same user launches.
    launch_one(&client(&server, "deployer", "us-east-1"))
        .send()
        .await
        .unwrap();

    let out = launch_one(&client(&server, "passer", "us-east-1"))
        .iam_instance_profile(profile)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.instances()[0]
            .iam_instance_profile()
            .and_then(|p| p.arn()),
        Some("arn:aws:iam::555555555555:instance-profile/app")
    );
    // The log keeps every authorization the launch needed, for the least-privilege report.
    let log = server.requests();
    let launch = log.last().expect("no log");
    assert_eq!(launch.iam_action, "ec2:RunInstances");
    assert_eq!(
        launch.resource,
        "arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0"
    );
    let also: Vec<(String, String)> = launch
        .also_allowed
        .iter()
        .map(|a| (a.action.clone(), a.resource.clone()))
        .collect();
    for (action, resource) in [
        (
            "ec2:RunInstances",
            "arn:aws:ec2:us-east-1:555555555555:instance/*",
        ),
        (
            "ec2:RunInstances",
            "arn:aws:ec2:us-east-1:555555555555:volume/*",
        ),
        ("iam:PassRole", "arn:aws:iam::555555555555:role/app"),
    ] {
        assert!(
            also.contains(&(action.to_owned(), resource.to_owned())),
            "{action} {resource} not in {also:?}"
        );
    }
    let report = mock_server::least_privilege(&log);
    let passer = report
        .principals
        .iter()
        .find(|p| p.principal.ends_with(":user/passer"))
        .expect("no report for passer");
    assert!(
        passer
            .policy
            .statement
            .iter()
            .any(|s| s.action.contains(&"iam:PassRole".to_owned())),
        "{:?}",
        passer.policy
    );

    let err = fails_with(
        launch_one(&client(&server, "admin", "us-east-1"))
            .iam_instance_profile(
                IamInstanceProfileSpecification::builder()
                    .name("nope")
                    .build(),
            )
            .send()
            .await,
        "InvalidParameterValue",
    );
    assert_eq!(
        message(&err),
        "Value (nope) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
    );
}

#[tokio::test]
async fn run_instances_checks_what_it_is_given() {
    let server = server_555().await;
    let admin = client(&server, "admin", "us-east-1");
    fails_with(
        admin.run_instances().min_count(1).max_count(1).send().await,
        "MissingParameter",
    );
    let err = fails_with(
        admin
            .run_instances()
            .image_id("ami-0999999999999999f")
            .min_count(1)
            .max_count(1)
            .send()
            .await,
        "InvalidAMIID.NotFound",
    );
    assert_eq!(
        message(&err),
        "The image id '[ami-0999999999999999f]' does not exist"
    );
    // Another account's private image is as unknown; its public one launches.
    fails_with(
        admin
            .run_instances()
            .image_id("ami-0666666666666666b")
            .min_count(1)
            .max_count(1)
            .send()
            .await,
        "InvalidAMIID.NotFound",
    );
    admin
        .run_instances()
        .image_id("ami-0666666666666666a")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    fails_with(
        launch_one(&admin)
            .subnet_id("subnet-0123456789abcdef0")
            .send()
            .await,
        "InvalidSubnetID.NotFound",
    );
    fails_with(
        launch_one(&admin).key_name("missing").send().await,
        "InvalidKeyPair.NotFound",
    );
    fails_with(
        admin
            .run_instances()
            .image_id("ami-0123456789abcdef0")
            .min_count(30)
            .max_count(30)
            .send()
            .await,
        "InstanceLimitExceeded",
    );

    // From a launch template: its image and type, in the subnet and group given.
    let out = admin
        .run_instances()
        .launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_name("web-lt")
                .build(),
        )
        .subnet_id("subnet-0b0b0b0b0b0b0b0b0")
        .security_group_ids("sg-0c0c0c0c0c0c0c0c0")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    let i = &out.instances()[0];
    assert_eq!(i.image_id(), Some("ami-0123456789abcdef0"));
    assert_eq!(i.instance_type().map(|t| t.as_str()), Some("t3.large"));
    assert_eq!(
        i.placement().and_then(|p| p.availability_zone()),
        Some("us-east-1b")
    );
    assert!(
        i.private_ip_address()
            .is_some_and(|ip| ip.starts_with("10.20.1."))
    );
}

#[tokio::test]
async fn images_by_owner_filter_and_id() {
    let server = server_555().await;
    let admin = client(&server, "admin", "us-east-1");
    let names = |out: aws_sdk_ec2::operation::describe_images::DescribeImagesOutput| {
        out.images()
            .iter()
            .filter_map(|i| i.name().map(str::to_owned))
            .collect::<BTreeSet<_>>()
    };
    let own = admin.describe_images().owners("self").send().await.unwrap();
    assert_eq!(
        names(own),
        BTreeSet::from(["app-2026-11".to_owned(), "app-2026-12".to_owned()])
    );
    let amazon = admin
        .describe_images()
        .owners("amazon")
        .filters(filter("architecture", &["arm64"]))
        .send()
        .await
        .unwrap();
    assert_eq!(amazon.images().len(), 1);
    assert_eq!(amazon.images()[0].image_owner_alias(), Some("amazon"));
    let shared = admin
        .describe_images()
        .owners("666666666666")
        .send()
        .await
        .unwrap();
    assert_eq!(names(shared), BTreeSet::from(["shared-golden".to_owned()]));
    let tagged = admin
        .describe_images()
        .filters(filter("tag:team", &["web"]))
        .filters(filter("name", &["app-*"]))
        .send()
        .await
        .unwrap();
    assert_eq!(names(tagged), BTreeSet::from(["app-2026-11".to_owned()]));
    let err = fails_with(
        admin
            .describe_images()
            .image_ids("ami-0999999999999999f")
            .image_ids("ami-0999999999999999e")
            .send()
            .await,
        "InvalidAMIID.NotFound",
    );
    assert_eq!(
        message(&err),
        "The image ids '[ami-0999999999999999f, ami-0999999999999999e]' do not exist"
    );
}

#[tokio::test]
async fn tags_are_created_described_and_deleted() {
    let server = server_555().await;
    let admin = client(&server, "admin", "us-east-1");
    admin
        .create_tags()
        .resources("i-0aaaaaaaaaaaaaaa2")
        .resources("ami-0fedcba9876543210")
        .tags(Tag::builder().key("stage").value("canary").build())
        .send()
        .await
        .unwrap();
    let out = admin
        .describe_tags()
        .filters(filter("key", &["stage"]))
        .send()
        .await
        .unwrap();
    let rows: Vec<(String, String)> = out
        .tags()
        .iter()
        .map(|t| {
            (
                t.resource_id().unwrap_or_default().to_owned(),
                t.resource_type()
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("ami-0fedcba9876543210".to_owned(), "image".to_owned()),
            ("i-0aaaaaaaaaaaaaaa2".to_owned(), "instance".to_owned()),
        ]
    );
    // A value that does not match leaves the tag; no value removes it.
    admin
        .delete_tags()
        .resources("i-0aaaaaaaaaaaaaaa2")
        .tags(Tag::builder().key("stage").value("other").build())
        .send()
        .await
        .unwrap();
    let left = admin
        .describe_tags()
        .filters(filter("resource-id", &["i-0aaaaaaaaaaaaaaa2"]))
        .filters(filter("key", &["stage"]))
        .send()
        .await
        .unwrap();
    assert_eq!(left.tags().len(), 1);
    admin
        .delete_tags()
        .resources("i-0aaaaaaaaaaaaaaa2")
        .tags(Tag::builder().key("stage").build())
        .send()
        .await
        .unwrap();
    let left = admin
        .describe_tags()
        .filters(filter("resource-id", &["i-0aaaaaaaaaaaaaaa2"]))
        .filters(filter("key", &["stage"]))
        .send()
        .await
        .unwrap();
    assert!(left.tags().is_empty());

    fails_with(
        admin
            .create_tags()
            .resources("i-0ccccccccccccccc1")
            .tags(Tag::builder().key("a").value("b").build())
            .send()
            .await,
        "InvalidInstanceID.NotFound",
    );
    fails_with(
        admin
            .create_tags()
            .resources("i-0aaaaaaaaaaaaaaa2")
            .tags(Tag::builder().key("aws:owner").value("b").build())
            .send()
            .await,
        "InvalidParameterValue",
    );
    // The deployer may not delete tags.
    fails_with(
        client(&server, "deployer", "us-east-1")
            .delete_tags()
            .resources("i-0aaaaaaaaaaaaaaa2")
            .send()
            .await,
        "UnauthorizedOperation",
    );
}

#[tokio::test]
async fn key_pairs_launch_templates_and_groups_are_listed() {
    let server = server_555().await;
    let admin = client(&server, "admin", "us-east-1");
    let keys = admin.describe_key_pairs().send().await.unwrap();
    assert_eq!(keys.key_pairs().len(), 1);
    assert_eq!(keys.key_pairs()[0].key_name(), Some("deploy-key"));
    assert!(
        keys.key_pairs()[0]
            .key_pair_id()
            .is_some_and(|id| id.starts_with("key-"))
    );
    fails_with(
        admin.describe_key_pairs().key_names("nope").send().await,
        "InvalidKeyPair.NotFound",
    );

    let templates = admin.describe_launch_templates().send().await.unwrap();
    assert_eq!(
        templates.launch_templates()[0].launch_template_name(),
        Some("web-lt")
    );
    assert_eq!(
        templates.launch_templates()[0].latest_version_number(),
        Some(1)
    );
    fails_with(
        admin
            .describe_launch_templates()
            .launch_template_names("nope")
            .send()
            .await,
        "InvalidLaunchTemplateName.NotFoundException",
    );

    let groups = admin
        .describe_security_groups()
        .filters(filter("vpc-id", &["vpc-0a0a0a0a0a0a0a0a0"]))
        .send()
        .await
        .unwrap();
    let names: BTreeSet<_> = groups
        .security_groups()
        .iter()
        .filter_map(|g| g.group_name())
        .collect();
    assert_eq!(names, BTreeSet::from(["default", "web"]));
}

#[tokio::test]
async fn delegates_are_instances_with_their_profile() {
    let server = server_555().await;
    let admin = client(&server, "admin", "us-east-1");
    let out = admin
        .describe_instances()
        .filters(filter("tag:Name", &["builder"]))
        .send()
        .await
        .unwrap();
    let i = &out.reservations()[0].instances()[0];
    assert_eq!(
        i.state().and_then(|s| s.name()),
        Some(&InstanceStateName::Running)
    );
    assert_eq!(
        i.iam_instance_profile().and_then(|p| p.arn()),
        Some("arn:aws:iam::555555555555:instance-profile/app")
    );

    // A delegate added at run time is an instance too.
    let added = control(
        &server,
        "POST",
        "/_mock/delegates",
        r#"{"name": "late", "kind": "ec2", "account": "555555555555", "role_arn": "arn:aws:iam::555555555555:role/app"}"#,
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let out = admin
        .describe_instances()
        .filters(filter("tag:Name", &["late"]))
        .send()
        .await
        .unwrap();
    assert_eq!(instance_ids(&out).len(), 1);
}

#[tokio::test]
async fn resources_stay_in_their_region_account_and_partition() {
    let server = server_555().await;
    let west = client(&server, "admin", "us-west-2");
    let out = west.describe_instances().send().await.unwrap();
    assert!(instance_ids(&out).is_empty());
    fails_with(
        west.describe_instances()
            .instance_ids("i-0aaaaaaaaaaaaaaa1")
            .send()
            .await,
        "InvalidInstanceID.NotFound",
    );
    let images = west.describe_images().owners("self").send().await.unwrap();
    assert!(images.images().is_empty());

    // Another account in the same region sees none of them.
    let other = client(&server, "other", "us-east-1")
        .describe_instances()
        .send()
        .await
        .unwrap();
    assert!(instance_ids(&other).is_empty());

    // GovCloud: its own Amazon images, none of the standard partition's.
    let gov = client(&server, "gov", "us-gov-west-1");
    let amazon = gov.describe_images().owners("amazon").send().await.unwrap();
    let east = client(&server, "admin", "us-east-1")
        .describe_images()
        .owners("amazon")
        .send()
        .await
        .unwrap();
    let ids = |out: &aws_sdk_ec2::operation::describe_images::DescribeImagesOutput| {
        out.images()
            .iter()
            .filter_map(|i| i.image_id().map(str::to_owned))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(ids(&amazon).len(), 2);
    assert!(ids(&amazon).is_disjoint(&ids(&east)));
    fails_with(
        gov.run_instances()
            .image_id("ami-0666666666666666a")
            .min_count(1)
            .max_count(1)
            .send()
            .await,
        "InvalidAMIID.NotFound",
    );
}

#[tokio::test]
async fn errors_use_the_ec2_envelope_with_the_request_id_header() {
    let server = MockServer::start().await;
    let cases = [
        (
            "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=bogus",
            "InvalidInstanceID.Malformed",
            Some("Invalid id: &quot;bogus&quot; (expecting &quot;i-...&quot;)"),
        ),
        (
            "Action=DescribeInstances&Version=2016-11-15&MaxResults=2",
            "InvalidParameterValue",
            Some(
                "Value ( 2 ) for parameter maxResults is invalid. Expecting a value greater than 5.",
            ),
        ),
        (
            "Action=DescribeInstances&Version=2016-11-15&NextToken=abc",
            "InvalidParameterValue",
            Some("Value ( abc ) for parameter NextToken is invalid. The token is invalid."),
        ),
        (
            "Action=CreateTags&Version=2016-11-15",
            "MissingParameter",
            Some("The request must contain the parameter resourceIdSet"),
        ),
    ];
    for (form, code, message) in cases {
        let raw = send_signed(&server, "ec2", form).await;
        raw.assert_ec2_error(400, code);
        assert_eq!(raw.xml("Message"), message, "{form}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_launches_never_exceed_the_limit_or_repeat_an_id() {
    let server = server_555().await;
    let admin = client(&server, "admin", "us-east-1");
    // Two declared instances and the delegate run already: room for 17 more.
    let launches = (0..24).map(|_| {
        let admin = admin.clone();
        tokio::spawn(async move { launch_one(&admin).send().await.map_err(|e| code(&e)) })
    });
    let mut ids = BTreeSet::new();
    let mut refused = 0;
    for launch in launches {
        match launch.await.unwrap() {
            Ok(out) => ids.extend(
                out.instances()
                    .iter()
                    .filter_map(|i| i.instance_id().map(str::to_owned)),
            ),
            Err(code) => {
                assert_eq!(code.as_deref(), Some("InstanceLimitExceeded"));
                refused += 1;
            }
        }
    }
    assert_eq!(ids.len(), 17);
    assert_eq!(refused, 7);
    let out = admin
        .describe_instances()
        .filters(filter("instance-state-name", &["pending", "running"]))
        .send()
        .await
        .unwrap();
    assert_eq!(instance_ids(&out).len(), 20);
}

#[tokio::test]
async fn each_kind_tagged_at_launch_and_key_pairs_by_name_are_authorized_on_their_own() {
    let server = server_555().await;
    let tagger = client(&server, "tagger", "us-east-1");
    let launch = |kind: ResourceType| {
        launch_one(&tagger)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(kind)
                    .tags(Tag::builder().key("cost").value("ci").build())
                    .build(),
            )
            .send()
    };
    // ec2:CreateTags is allowed on volumes being created, not on instances.
    launch(ResourceType::Volume).await.unwrap();
    let err = fails_with(
        launch(ResourceType::Instance).await,
        "UnauthorizedOperation",
    );
    let decoded = decode(&server, &message(&err)).await;
    assert_eq!(decoded["context"]["action"], "ec2:CreateTags");
    assert_eq!(
        decoded["context"]["resource"],
        "arn:aws:ec2:us-east-1:555555555555:instance/*"
    );

    // A key pair's ARN names it by name, whichever id the call uses.
    let keys = tagger.describe_key_pairs().send().await.unwrap();
    let key_id = keys.key_pairs()[0]
        .key_pair_id()
        .unwrap_or_default()
        .to_owned();
    tagger
        .create_tags()
        .resources(&key_id)
        .tags(Tag::builder().key("owner").value("ci").build())
        .send()
        .await
        .unwrap();
    fails_with(
        tagger
            .create_tags()
            .resources("i-0aaaaaaaaaaaaaaa2")
            .tags(Tag::builder().key("owner").value("ci").build())
            .send()
            .await,
        "UnauthorizedOperation",
    );
}

/// What a call answered: its error code, or `None` when it succeeded.
type Answer = std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send>>;

/// The error code of an answer (`None`: it succeeded).
fn answer<T, E: aws_sdk_ec2::error::ProvideErrorMetadata>(result: Result<T, E>) -> Option<String> {
    result.err().and_then(|e| code(&e))
}

/// One EC2 action in [`every_action_validates_then_authorizes_then_looks_up`]: a request
/// with an invalid parameter and EC2's code for it; a valid request naming resources that do
/// not exist (just a valid one, for calls that name none), with what an allowed caller gets
/// for it as a dry run and for real (`None`: success). Each is sent with `DryRun` as asked.
struct Order {
    action: &'static str,
    invalid: fn(aws_sdk_ec2::Client, bool) -> Answer,
    invalid_code: &'static str,
    unknown: fn(aws_sdk_ec2::Client, bool) -> Answer,
    allowed_dry_run: &'static str,
    allowed: Option<&'static str>,
}

/// Ids of the right shape that name nothing in the default world.
const NO_INSTANCE: &str = "i-0bbbbbbbbbbbbbbb1";

/// A request of [`orders`], sent with `DryRun` as asked: `ask!(|c| c.describe_vpcs())`.
macro_rules! ask {
    (|$c:ident| $request:expr) => {
        |$c: aws_sdk_ec2::Client, dry: bool| -> Answer {
            Box::pin(async move { answer($request.dry_run(dry).send().await) })
        }
    };
}

fn orders() -> Vec<Order> {
    use aws_sdk_ec2::types::AccountAttributeName;
    const DRY: &str = "DryRunOperation";
    vec![
        Order {
            action: "DescribeRegions",
            invalid: ask!(|c| c.describe_regions().region_names("mars-east-1")),
            invalid_code: "InvalidParameterValue",
            unknown: ask!(|c| c.describe_regions().all_regions(true)),
            allowed_dry_run: DRY,
            allowed: None,
        },
        Order {
            action: "DescribeAvailabilityZones",
            invalid: ask!(|c| c.describe_availability_zones().zone_names("us-west-2a")),
            invalid_code: "InvalidParameterValue",
            unknown: ask!(|c| c.describe_availability_zones().zone_names("us-east-1f")),
            allowed_dry_run: DRY,
            allowed: None,
        },
        Order {
            action: "DescribeAccountAttributes",
            invalid: ask!(|c| c
                .describe_account_attributes()
                .attribute_names(AccountAttributeName::from("nope"))),
            invalid_code: "InvalidParameterValue",
            unknown: ask!(|c| c
                .describe_account_attributes()
                .attribute_names(AccountAttributeName::DefaultVpc)),
            allowed_dry_run: DRY,
            allowed: None,
        },
        Order {
            action: "DescribeInstances",
            invalid: ask!(|c| c
                .describe_instances()
                .instance_ids(NO_INSTANCE)
                .max_results(5)),
            invalid_code: "InvalidParameterCombination",
            unknown: ask!(|c| c.describe_instances().instance_ids(NO_INSTANCE)),
            allowed_dry_run: DRY,
            allowed: Some("InvalidInstanceID.NotFound"),
        },
        Order {
            action: "DescribeInstanceStatus",
            invalid: ask!(|c| c.describe_instance_status().instance_ids("i-nothex!")),
            invalid_code: "InvalidInstanceID.Malformed",
            unknown: ask!(|c| c.describe_instance_status().instance_ids(NO_INSTANCE)),
            allowed_dry_run: DRY,
            allowed: Some("InvalidInstanceID.NotFound"),
        },
        Order {
            action: "RunInstances",
            invalid: ask!(|c| c
                .run_instances()
                .image_id("ami-0bbbbbbbbbbbbbbb1")
                .min_count(2)
                .max_count(1)),
            invalid_code: "InvalidParameterValue",
            unknown: ask!(|c| c
                .run_instances()
                .image_id("ami-0bbbbbbbbbbbbbbb1")
                .subnet_id("subnet-0bbbbbbbbbbbbbbb1")
                .key_name("missing")
                .min_count(1)
                .max_count(1)),
            // Authorizing a launch reads the resources it names (tags, the image's owner):
            // what is missing is told before the dry run answers.
            allowed_dry_run: "InvalidAMIID.NotFound",
            allowed: Some("InvalidAMIID.NotFound"),
        },
        Order {
            action: "TerminateInstances",
            invalid: ask!(|c| c.terminate_instances().instance_ids("i-nothex!")),
            invalid_code: "InvalidInstanceID.Malformed",
            unknown: ask!(|c| c.terminate_instances().instance_ids(NO_INSTANCE)),
            // Authorized per instance with its tags: an unknown one is told before the dry run.
            allowed_dry_run: "InvalidInstanceID.NotFound",
            allowed: Some("InvalidInstanceID.NotFound"),
        },
        Order {
            action: "DescribeImages",
            invalid: ask!(|c| c
                .describe_images()
                .image_ids("ami-0bbbbbbbbbbbbbbb1")
                .max_results(2000)),
            invalid_code: "InvalidParameterValue",
            unknown: ask!(|c| c.describe_images().image_ids("ami-0bbbbbbbbbbbbbbb1")),
            allowed_dry_run: DRY,
            allowed: Some("InvalidAMIID.NotFound"),
        },
        Order {
            action: "CreateTags",
            invalid: ask!(|c| c
                .create_tags()
                .resources(NO_INSTANCE)
                .tags(Tag::builder().key("aws:team").value("web").build())),
            invalid_code: "InvalidParameterValue",
            unknown: ask!(|c| c
                .create_tags()
                .resources(NO_INSTANCE)
                .tags(Tag::builder().key("team").value("web").build())),
            allowed_dry_run: "InvalidInstanceID.NotFound",
            allowed: Some("InvalidInstanceID.NotFound"),
        },
        Order {
            action: "DeleteTags",
            invalid: ask!(|c| c.delete_tags().resources("sg-nothex!")),
            invalid_code: "InvalidGroupId.Malformed",
            unknown: ask!(|c| c.delete_tags().resources("sg-0bbbbbbbbbbbbbbb1")),
            allowed_dry_run: "InvalidGroup.NotFound",
            allowed: Some("InvalidGroup.NotFound"),
        },
        Order {
            action: "DescribeTags",
            invalid: ask!(|c| c.describe_tags().filters(filter("nope", &["x"]))),
            invalid_code: "InvalidParameterValue",
            unknown: ask!(|c| c
                .describe_tags()
                .filters(filter("resource-id", &[NO_INSTANCE]))),
            allowed_dry_run: DRY,
            allowed: None,
        },
        Order {
            action: "DescribeVpcs",
            invalid: ask!(|c| c.describe_vpcs().vpc_ids("vpc-1")),
            invalid_code: "InvalidVpcID.Malformed",
            unknown: ask!(|c| c.describe_vpcs().vpc_ids("vpc-0bbbbbbbbbbbbbbb1")),
            allowed_dry_run: DRY,
            allowed: Some("InvalidVpcID.NotFound"),
        },
        Order {
            action: "DescribeSubnets",
            invalid: ask!(|c| c
                .describe_subnets()
                .subnet_ids("subnet-0bbbbbbbbbbbbbbb1")
                .next_token("forged")),
            invalid_code: "InvalidParameterValue",
            unknown: ask!(|c| c.describe_subnets().subnet_ids("subnet-0bbbbbbbbbbbbbbb1")),
            allowed_dry_run: DRY,
            allowed: Some("InvalidSubnetID.NotFound"),
        },
        Order {
            action: "DescribeSecurityGroups",
            invalid: ask!(|c| c
                .describe_security_groups()
                .group_ids("sg-x")
                .group_names("nope")),
            invalid_code: "InvalidGroupId.Malformed",
            unknown: ask!(|c| c.describe_security_groups().group_names("nope")),
            allowed_dry_run: DRY,
            allowed: Some("InvalidGroup.NotFound"),
        },
        Order {
            action: "DescribeKeyPairs",
            invalid: ask!(|c| c
                .describe_key_pairs()
                .key_names("missing")
                .key_pair_ids("key-x")),
            invalid_code: "InvalidKeyPair.Malformed",
            unknown: ask!(|c| c.describe_key_pairs().key_names("missing")),
            allowed_dry_run: DRY,
            allowed: Some("InvalidKeyPair.NotFound"),
        },
        Order {
            action: "DescribeLaunchTemplates",
            invalid: ask!(|c| c
                .describe_launch_templates()
                .launch_template_names("nope")
                .max_results(201)),
            invalid_code: "InvalidParameterValue",
            unknown: ask!(|c| c.describe_launch_templates().launch_template_names("nope")),
            allowed_dry_run: DRY,
            allowed: Some("InvalidLaunchTemplateName.NotFoundException"),
        },
    ]
}

/// Issue 17: every EC2 action validates its parameters, then authorizes, then answers a
/// dry run (after reading what its authorization needs, for actions authorized per
/// resource), then looks resources up. A caller without permissions learns of a malformed
/// request, never of what exists.
#[tokio::test]
async fn every_action_validates_then_authorizes_then_looks_up() {
    let server = MockServer::start().await;
    let key = user_with_key(&iam_admin(&server), "nobody").await;
    let nobody = aws_sdk_ec2::Client::new(&config_with_key(
        &server,
        key.access_key_id(),
        key.secret_access_key(),
        "us-east-1",
    ));
    let admin = ec2(&server, STD, "us-east-1");
    let table = orders();
    let every: BTreeSet<&str> = mock_server::supported_actions()
        .filter(|(service, ..)| *service == mock_server::Service::Ec2)
        .map(|(_, action, _)| action)
        .collect();
    assert_eq!(
        table.iter().map(|o| o.action).collect::<BTreeSet<_>>(),
        every
    );
    for o in &table {
        let action = o.action;
        for (who, client, dry) in [("unauthorized", &nobody, false), ("allowed", &admin, true)] {
            assert_eq!(
                (o.invalid)(client.clone(), dry).await.as_deref(),
                Some(o.invalid_code),
                "{action}: an invalid request by the {who} caller (DryRun {dry})"
            );
        }
        for dry in [false, true] {
            assert_eq!(
                (o.unknown)(nobody.clone(), dry).await.as_deref(),
                Some("UnauthorizedOperation"),
                "{action}: unknown resources asked by the unauthorized caller (DryRun {dry})"
            );
        }
        assert_eq!(
            (o.unknown)(admin.clone(), true).await.as_deref(),
            Some(o.allowed_dry_run),
            "{action}: an allowed dry run naming unknown resources"
        );
        assert_eq!(
            (o.unknown)(admin.clone(), false).await.as_deref(),
            o.allowed,
            "{action}: an allowed call naming unknown resources"
        );
    }
    // Ids and MaxResults do not go together, whatever the ids name.
    let err = fails_with(
        admin
            .describe_instances()
            .instance_ids(NO_INSTANCE)
            .max_results(5)
            .send()
            .await,
        "InvalidParameterCombination",
    );
    assert_eq!(
        message(&err),
        "The parameter instancesSet cannot be used with the parameter maxResults"
    );
}
