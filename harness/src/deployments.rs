//! What each deployment type needs, from the vendor's "Policies Required" sections: the
//! actions the connector's principal must hold, besides `ec2:DescribeRegions`.
//!
//! The docs list managed policies, some with wildcards (`s3:Get*`, `ec2:Describe*`); the
//! policy simulator takes concrete actions, so a wildcard stands for the concrete actions a
//! deployment of that type calls.

use serde::{Deserialize, Serialize};

/// A deployment type of the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentType {
    /// Artifacts from Elastic Container Registry (`AmazonEC2ContainerRegistryReadOnly`).
    Ecr,
    /// Artifacts from S3 (`AmazonS3ReadOnlyAccess`).
    S3,
    /// ECS on an existing cluster (`HarnessECS`, the ECS instance and service roles).
    Ecs,
    /// AMI / Auto Scaling Group deployments (`AmazonEC2FullAccess`).
    Ami,
    /// AMI Blue/Green: also the tagging policy (`HarnessAmiTagging`).
    AmiBlueGreen,
    /// CodeDeploy (`AWSCodeDeployRole`, `AWSCodeDeployDeployerAccess`).
    CodeDeploy,
    /// EC2 provisioned and static hosts (`AmazonEC2FullAccess`).
    Ec2,
    /// Lambda (`AWSLambdaRole`).
    Lambda,
}

const ECR: &[&str] = &[
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetRepositoryPolicy",
    "ecr:DescribeRepositories",
    "ecr:ListImages",
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
];
const S3: &[&str] = &["s3:GetObject", "s3:ListBucket", "s3:ListAllMyBuckets"];
const ECS: &[&str] = &[
    "ecr:DescribeRepositories",
    "ecs:ListClusters",
    "ecs:ListServices",
    "ecs:DescribeServices",
    "ecr:ListImages",
    "ecs:RegisterTaskDefinition",
    "ecs:CreateService",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "ecs:DeleteService",
    "ecs:UpdateService",
    "ecs:DescribeContainerInstances",
    "ecs:DescribeTaskDefinition",
    "application-autoscaling:DescribeScalableTargets",
    "iam:ListRoles",
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
const LAMBDA: &[&str] = &["lambda:InvokeFunction"];

impl DeploymentType {
    /// Every action the type needs, `ec2:DescribeRegions` first.
    pub fn required_actions(self) -> Vec<&'static str> {
        let specific: &[&[&str]] = match self {
            DeploymentType::Ecr => &[ECR],
            DeploymentType::S3 => &[S3],
            DeploymentType::Ecs => &[ECS],
            DeploymentType::Ami | DeploymentType::Ec2 => &[EC2_FULL],
            DeploymentType::AmiBlueGreen => &[EC2_FULL, AMI_TAGGING],
            DeploymentType::CodeDeploy => &[CODE_DEPLOY],
            DeploymentType::Lambda => &[LAMBDA],
        };
        let mut actions = vec!["ec2:DescribeRegions"];
        for list in specific {
            for action in *list {
                if !actions.contains(action) {
                    actions.push(action);
                }
            }
        }
        actions
    }
}
