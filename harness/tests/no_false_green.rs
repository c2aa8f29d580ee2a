//! No false green: a principal allowed only a sample of what a deployment type needs is
//! reported missing exactly the rest, for every type. The samples are the hand-picked lists
//! the deployment check asked before it read the docs' policies whole (for the ECS role
//! types, every other required action): each passed that check while lacking most of what a
//! pipeline calls.

#![expect(
    clippy::unwrap_used,
    reason = "helpers of a test crate panic on what the test did not expect; clippy's allow-unwrap-in-tests reaches only #[test] fns"
)]

use std::collections::BTreeSet;

use harness::connector::{self, ConnectorConfig, CredentialOption, Place};
use harness::deployments::{DeploymentType, Principal, Resources};
use harness::scenario::auditor_key;
use harness::sdk;
use mock_server::{MockServer, World};

const ECR: &[&str] = &[
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetRepositoryPolicy",
    "ecr:DescribeRepositories",
    "ecr:ListImages",
    "ecr:DescribeImages",
];
const S3: &[&str] = &["s3:GetObject", "s3:ListBucket", "s3:ListAllMyBuckets"];
const ECS: &[&str] = &[
    "ecs:ListClusters",
    "ecs:ListServices",
    "ecs:DescribeServices",
    "ecs:CreateService",
    "ecs:UpdateService",
    "iam:PassRole",
];
const EC2_FULL: &[&str] = &[
    "ec2:RunInstances",
    "ec2:DescribeInstances",
    "ec2:TerminateInstances",
    "ec2:CreateTags",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:RegisterTargets",
    "cloudwatch:DescribeAlarms",
    "autoscaling:CreateAutoScalingGroup",
    "autoscaling:UpdateAutoScalingGroup",
    "autoscaling:DescribeAutoScalingGroups",
];
const AMI_TAGGING: &[&str] = &[
    "autoscaling:CreateOrUpdateTags",
    "autoscaling:DeleteTags",
    "autoscaling:DescribeTags",
];
const CODE_DEPLOY: &[&str] = &[
    "autoscaling:CompleteLifecycleAction",
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:PutLifecycleHook",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "tag:GetResources",
    "elasticloadbalancing:DescribeTargetGroups",
    "codedeploy:BatchGetDeployments",
    "codedeploy:CreateDeployment",
    "codedeploy:GetDeployment",
    "codedeploy:ListApplications",
    "codedeploy:RegisterApplicationRevision",
];

/// The sample a principal of `deployment` is given.
fn sample(deployment: DeploymentType) -> BTreeSet<String> {
    let listed: &[&[&str]] = match deployment {
        DeploymentType::Ecr => &[ECR],
        DeploymentType::S3 => &[S3],
        DeploymentType::Ecs => &[ECS],
        DeploymentType::Ami | DeploymentType::Ec2 => &[EC2_FULL],
        DeploymentType::AmiBlueGreen => &[EC2_FULL, AMI_TAGGING],
        DeploymentType::CodeDeploy => &[CODE_DEPLOY],
        // A single action: the sample is none of it.
        DeploymentType::Lambda => &[],
        DeploymentType::EcsInstanceRole
        | DeploymentType::EcsServiceRole
        | DeploymentType::EcsAutoScaling => {
            return deployment
                .requirement()
                .actions()
                .iter()
                .step_by(2)
                .cloned()
                .collect();
        }
    };
    let mut sample: BTreeSet<String> = listed
        .iter()
        .flat_map(|l| l.iter())
        .map(|a| (*a).to_owned())
        .collect();
    sample.insert("ec2:DescribeRegions".into());
    sample
}

/// A world whose connector user (or ECS role) is allowed exactly `actions`.
fn world(deployment: DeploymentType, actions: &BTreeSet<String>) -> World {
    let (root_id, root_secret) = auditor_key("111111111111");
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    });
    let on_role = deployment.requirement().principal != Principal::Connector;
    let yaml = format!(
        r#"
accounts:
  - id: "111111111111"
    root_access_keys: [{{id: {root_id}, secret: {root_secret}}}]
    policies:
      - {{name: Sample, document: {policy}}}
      - {{name: DescribeRegions, document: {{Version: "2012-10-17", Statement: [{{Effect: Allow, Action: "ec2:DescribeRegions", Resource: "*"}}]}}}}
    users:
      - name: connector
        managed_policies: [{user}]
        access_keys: [{{id: AKIACONNECTOR1111111, secret: connector-secret}}]
    roles:
      - name: ecsInstanceRole
        trust_policy: {{Version: "2012-10-17", Statement: [{{Effect: Allow, Principal: {{Service: [ec2.amazonaws.com, ecs.amazonaws.com]}}, Action: "sts:AssumeRole"}}]}}
        managed_policies: [{role}]
"#,
        user = if on_role { "DescribeRegions" } else { "Sample" },
        role = if on_role { "Sample" } else { "" },
    );
    World::from_yaml(&yaml).unwrap()
}

#[tokio::test]
async fn a_sample_of_a_type_s_actions_is_reported_missing_the_rest() {
    for deployment in DeploymentType::ALL {
        let requirement = deployment.requirement();
        let granted = sample(deployment);
        let server = MockServer::builder()
            .world(world(deployment, &granted))
            .start()
            .await
            .unwrap();
        let config = ConnectorConfig {
            credentials: CredentialOption::AccessKey {
                access_key_id: "AKIACONNECTOR1111111".into(),
                secret_access_key: "connector-secret".into(),
            },
            cross_account: None,
            test_region: None,
            connectivity: connector::Connectivity::Platform,
            clock_skew_seconds: 0,
            credentials_cache: Default::default(),
        };
        let connection = connector::connection_test(&Place::on(&server, &config), &config)
            .await
            .unwrap();
        let (id, secret) = auditor_key("111111111111");
        let check = requirement.check(None, &Resources::default(), "us-east-1");
        let verdict = connection
            .check_deployment(&check, sdk::access_key(&id, &secret))
            .await
            .unwrap();
        let rest: BTreeSet<String> = requirement
            .actions()
            .difference(&granted)
            .cloned()
            .collect();
        assert!(
            !rest.is_empty(),
            "{deployment:?}: the sample is not a sample"
        );
        assert_eq!(verdict.missing, rest, "{deployment:?}");
        // The sample itself is held: only what it lacks is reported.
        assert!(verdict.missing.is_disjoint(&granted), "{deployment:?}");
    }
}
