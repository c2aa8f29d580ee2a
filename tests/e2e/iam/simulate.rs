//! The policy simulator, which must answer as the server decides.

use super::iam;
use crate::support::*;

#[tokio::test]
async fn the_policy_simulator_answers_like_the_server() {
    let server = server_with(WORLD_444).await;
    let root = iam(&server, "AKIAROOT444444444444", "root-secret");
    let out = root
        .simulate_principal_policy()
        .policy_source_arn("arn:aws:iam::444444444444:user/connector")
        .action_names("ec2:DescribeRegions")
        .action_names("ec2:RunInstances")
        .send()
        .await
        .unwrap();
    let results = out.evaluation_results();
    assert_eq!(results.len(), 2);
    assert_eq!(
        (
            results[0].eval_action_name(),
            results[0].eval_decision().as_str()
        ),
        ("ec2:DescribeRegions", "allowed")
    );
    let matched = &results[0].matched_statements()[0];
    assert_eq!(
        (
            matched.source_policy_id(),
            matched.source_policy_type().map(|t| t.as_str())
        ),
        (Some("HarnessDescribeRegions"), Some("user-managed"))
    );
    assert_eq!(results[1].eval_decision().as_str(), "implicitDeny");
    let first = root
        .simulate_principal_policy()
        .policy_source_arn("arn:aws:iam::444444444444:user/connector")
        .action_names("ec2:DescribeRegions")
        .action_names("ec2:RunInstances")
        .max_items(1)
        .send()
        .await
        .unwrap();
    assert!(first.is_truncated() && first.evaluation_results().len() == 1);
    let rest = root
        .simulate_principal_policy()
        .policy_source_arn("arn:aws:iam::444444444444:user/connector")
        .action_names("ec2:DescribeRegions")
        .action_names("ec2:RunInstances")
        .marker(first.marker().unwrap_or_default())
        .send()
        .await
        .unwrap();
    assert_eq!(
        rest.evaluation_results()[0].eval_action_name(),
        "ec2:RunInstances"
    );

    let denied = root
        .simulate_principal_policy()
        .policy_source_arn("arn:aws:iam::444444444444:user/denied-by-managed")
        .action_names("ec2:DescribeRegions")
        .send()
        .await
        .unwrap();
    let result = &denied.evaluation_results()[0];
    assert_eq!(result.eval_decision().as_str(), "explicitDeny");
    assert_eq!(
        result.matched_statements()[0].source_policy_id(),
        Some("DenyEc2")
    );

    let regional = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:DescribeRegions","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}}"#;
    let custom = root
        .simulate_custom_policy()
        .policy_input_list(regional)
        .action_names("ec2:DescribeRegions")
        .send()
        .await;
    let result = custom.unwrap().evaluation_results()[0].clone();
    assert_eq!(result.eval_decision().as_str(), "implicitDeny");
    assert_eq!(result.missing_context_values(), ["aws:RequestedRegion"]);
    let entry = aws_sdk_iam::types::ContextEntry::builder()
        .context_key_name("aws:RequestedRegion")
        .context_key_values("us-east-1")
        .context_key_type(aws_sdk_iam::types::ContextKeyTypeEnum::String)
        .build();
    let with_context = root
        .simulate_custom_policy()
        .policy_input_list(regional)
        .action_names("ec2:DescribeRegions")
        .context_entries(entry)
        .send()
        .await;
    let result = with_context.unwrap().evaluation_results()[0].clone();
    assert_eq!(result.eval_decision().as_str(), "allowed");
    assert!(result.missing_context_values().is_empty());

    let nobody = iam(&server, "AKIANOBODY4444444444", "nobody-secret");
    let refused = nobody
        .simulate_custom_policy()
        .policy_input_list(regional)
        .action_names("ec2:DescribeRegions")
        .send()
        .await;
    assert_eq!(
        refused.err().and_then(|e| code(&e)).as_deref(),
        Some("AccessDenied")
    );
}
