//! The code under test of the example: what a deployment tool's AWS connector does first,
//! assume the customer's role with its external ID. `tests/` checks it against trustbench.

use aws_sdk_sts::Client;

/// Why the role could not be assumed.
#[derive(Debug, thiserror::Error)]
#[error("cannot assume {role_arn}: {code}")]
pub struct AssumeError {
    /// The role.
    pub role_arn: String,
    /// AWS's error code (`AccessDenied`, …), or `unknown`.
    pub code: String,
}

/// Assumes `role_arn` with `external_id` and returns the session's ARN.
///
/// # Errors
/// When STS refuses (the trust policy, the external ID, the caller's own policies).
pub async fn assume_deploy_role(
    sts: &Client,
    role_arn: &str,
    external_id: &str,
) -> Result<String, AssumeError> {
    let out = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("deploy")
        .external_id(external_id)
        .send()
        .await
        .map_err(|e| AssumeError {
            role_arn: role_arn.to_owned(),
            code: aws_sdk_sts::error::ProvideErrorMetadata::code(&e)
                .unwrap_or("unknown")
                .to_owned(),
        })?;
    Ok(out
        .assumed_role_user()
        .map(|u| u.arn().to_owned())
        .unwrap_or_default())
}
