//! AWS resource names, built in one place: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
//!
//! IAM and STS names have no region (`arn:aws:iam::111111111111:role/deploy`), AWS managed
//! policies have the account `aws`, EC2 images none (they can be public). Each function
//! names one shape; a reader who wants to know how trustbench spells an ARN looks here.

use std::fmt::Display;

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
pub(crate) fn arn(
    partition: impl Display,
    service: &str,
    region: &str,
    account: &str,
    resource: impl Display,
) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(96);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "arn:{partition}:{service}:{region}:{account}:{resource}"
    );
    out
}

/// An IAM resource: `arn:PARTITION:iam::ACCOUNT:RESOURCE` (`root`, `role/`, …).
pub(crate) fn iam(partition: impl Display, account: &str, resource: impl Display) -> String {
    arn(partition, "iam", "", account, resource)
}

/// A named IAM entity: `arn:PARTITION:iam::ACCOUNT:KIND/PATH/NAME`, `path` starting and
/// ending with `/` (`user`, `role`, `policy`, `group`, `instance-profile`).
pub(crate) fn iam_entity(
    partition: impl Display,
    account: &str,
    kind: &str,
    path: &str,
    name: &str,
) -> String {
    iam(partition, account, format_args!("{kind}{path}{name}"))
}

/// An account's root user: `arn:PARTITION:iam::ACCOUNT:root`.
pub(crate) fn root(partition: impl Display, account: &str) -> String {
    iam(partition, account, "root")
}

/// An IAM OpenID Connect provider, by its issuer without scheme.
pub(crate) fn oidc_provider(partition: impl Display, account: &str, host_path: &str) -> String {
    iam(
        partition,
        account,
        format_args!("oidc-provider/{host_path}"),
    )
}

/// An assumed-role session: `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
pub(crate) fn assumed_role(
    partition: impl Display,
    account: &str,
    role: &str,
    session: &str,
) -> String {
    arn(
        partition,
        "sts",
        "",
        account,
        format_args!("assumed-role/{role}/{session}"),
    )
}

/// A federated user: `arn:PARTITION:sts::ACCOUNT:federated-user/NAME`.
pub(crate) fn federated_user(partition: impl Display, account: &str, name: &str) -> String {
    arn(
        partition,
        "sts",
        "",
        account,
        format_args!("federated-user/{name}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shape_is_spelled_as_aws_spells_it() {
        assert_eq!(
            root("aws", "111111111111"),
            "arn:aws:iam::111111111111:root"
        );
        assert_eq!(
            iam_entity("aws-us-gov", "333333333333", "role", "/ci/", "deploy"),
            "arn:aws-us-gov:iam::333333333333:role/ci/deploy"
        );
        assert_eq!(
            assumed_role("aws", "111111111111", "deploy", "s1"),
            "arn:aws:sts::111111111111:assumed-role/deploy/s1"
        );
        assert_eq!(
            federated_user("aws-cn", "111111111111", "bob"),
            "arn:aws-cn:sts::111111111111:federated-user/bob"
        );
        assert_eq!(
            oidc_provider("aws", "111111111111", "oidc.example/id/A"),
            "arn:aws:iam::111111111111:oidc-provider/oidc.example/id/A"
        );
        assert_eq!(
            arn("aws", "ec2", "eu-west-1", "", "image/ami-1"),
            "arn:aws:ec2:eu-west-1::image/ami-1"
        );
    }
}
