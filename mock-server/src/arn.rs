//! AWS resource names, built in one place: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
//!
//! IAM and STS names have no region (`arn:aws:iam::111111111111:role/deploy`), AWS managed
//! policies have the account `aws`, EC2 images none (they can be public). Each function
//! names one shape; a reader who wants to know how trustbench spells an ARN looks here.

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, the resource given in pieces. Built by
/// copying the pieces into a string of the right size (ARNs are made on every request).
pub(crate) fn arn(
    partition: impl AsRef<str>,
    service: &str,
    region: &str,
    account: &str,
    resource: &[&str],
) -> String {
    let head = [
        "arn:",
        partition.as_ref(),
        ":",
        service,
        ":",
        region,
        ":",
        account,
        ":",
    ];
    let pieces = || head.iter().chain(resource);
    let mut out = String::with_capacity(pieces().map(|p| p.len()).sum());
    pieces().for_each(|p| out.push_str(p));
    out
}

/// An IAM resource: `arn:PARTITION:iam::ACCOUNT:RESOURCE` (`root`, `role/`, …).
pub(crate) fn iam(partition: impl AsRef<str>, account: &str, resource: &str) -> String {
    arn(partition, "iam", "", account, &[resource])
}

/// A named IAM entity: `arn:PARTITION:iam::ACCOUNT:KIND/PATH/NAME`, `path` starting and
/// ending with `/` (`user`, `role`, `policy`, `group`, `instance-profile`).
pub(crate) fn iam_entity(
    partition: impl AsRef<str>,
    account: &str,
    kind: &str,
    path: &str,
    name: &str,
) -> String {
    arn(partition, "iam", "", account, &[kind, path, name])
}

/// An account's root user: `arn:PARTITION:iam::ACCOUNT:root`.
pub(crate) fn root(partition: impl AsRef<str>, account: &str) -> String {
    iam(partition, account, "root")
}

/// Whether `arn` is the root user of `account` in `partition`, without building that ARN.
pub(crate) fn is_root(arn: &str, partition: impl AsRef<str>, account: &str) -> bool {
    arn.strip_prefix("arn:")
        .and_then(|rest| rest.strip_prefix(partition.as_ref()))
        .and_then(|rest| rest.strip_prefix(":iam::"))
        .and_then(|rest| rest.strip_prefix(account))
        .is_some_and(|rest| rest == ":root")
}

/// An IAM OpenID Connect provider, by its issuer without scheme.
pub(crate) fn oidc_provider(partition: impl AsRef<str>, account: &str, host_path: &str) -> String {
    arn(
        partition,
        "iam",
        "",
        account,
        &["oidc-provider/", host_path],
    )
}

/// An assumed-role session: `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
pub(crate) fn assumed_role(
    partition: impl AsRef<str>,
    account: &str,
    role: &str,
    session: &str,
) -> String {
    arn(
        partition,
        "sts",
        "",
        account,
        &["assumed-role/", role, "/", session],
    )
}

/// A federated user: `arn:PARTITION:sts::ACCOUNT:federated-user/NAME`.
pub(crate) fn federated_user(partition: impl AsRef<str>, account: &str, name: &str) -> String {
    arn(partition, "sts", "", account, &["federated-user/", name])
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
            arn("aws", "ec2", "eu-west-1", "", &["image/", "ami-1"]),
            "arn:aws:ec2:eu-west-1::image/ami-1"
        );
        assert!(is_root(
            "arn:aws:iam::111111111111:root",
            "aws",
            "111111111111"
        ));
        for other in [
            "arn:aws:iam::111111111111:rootx",
            "arn:aws-cn:iam::111111111111:root",
            "arn:aws:iam::111111111112:root",
            "arn:aws:sts::111111111111:root",
            "111111111111",
        ] {
            assert!(!is_root(other, "aws", "111111111111"), "{other}");
        }
    }
}
