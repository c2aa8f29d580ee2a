//! IAM with the real `aws-sdk-iam` client: users, access keys, managed and inline
//! policies, AWS's errors and quotas, and IAM changes taking effect on other services.
//! One module per feature; the clients and documents they share are here.

use crate::support::*;

mod authorization;
mod concurrency;
mod oidc;
mod policies;
mod roles;
mod simulate;
mod users;

pub(super) fn iam(
    server: &mock_server::MockServer,
    key: &str,
    secret: &str,
) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&config_with_key(server, key, secret, "us-east-1"))
}

/// An EC2 client signing with `key`.
pub(super) fn ec2_as(
    server: &mock_server::MockServer,
    key: &aws_sdk_iam::types::AccessKey,
) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&config_with_key(
        server,
        key.access_key_id(),
        key.secret_access_key(),
        "us-east-1",
    ))
}

/// The policy the connector docs require for every connector.
pub(super) const DESCRIBE_REGIONS: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"VisualEditor0","Effect":"Allow","Action":"ec2:DescribeRegions","Resource":"*"}]}"#;

/// Trusts account 111111111111 with external id `x-42`.
pub(super) const TRUST_ACCOUNT_111: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x-42"}}}]}"#;
