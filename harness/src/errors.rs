//! AWS errors as data: the code and message AWS sent, read from the SDK's error metadata
//! (`ProvideErrorMetadata`) wherever it sits in an error's source chain.
//!
//! Nothing in the harness reads a code from an error's `Debug` or `Display` text, which any
//! SDK release may reword. An error whose type is known (`SdkError<DescribeRegionsError>`)
//! answers `ProvideErrorMetadata::code()` itself; a credentials error from `aws-config`
//! wraps the STS error it got, and this module digs it out. What the code means (a hint, a
//! verdict) is for the connector and the runner to decide.

use std::error::Error;

use aws_config::meta::ProviderChainError;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The AWS error metadata (code, message) of the first link in `e`'s chain that carries
/// any, or `None` when no link does (a connection failure, a provider that was not
/// configured).
///
/// The links are read by type: the STS errors `aws-config`'s `AssumeRoleProvider` and
/// `WebIdentityTokenCredentialsProvider` wrap in `CredentialsError::provider_error` (as
/// `SdkError`s or bare), and the `ErrorMetadata` an unmodelled service error holds as its
/// source. A provider chain's error is followed into each provider it tried.
pub fn aws_error<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a ErrorMetadata> {
    links(e).find_map(metadata)
}

/// The first link in `e`'s chain (see [`links`]) of type `T`.
pub fn find<'a, T: Error + 'static>(e: &'a (dyn Error + 'static)) -> Option<&'a T> {
    links(e).find_map(|link| link.downcast_ref::<T>())
}

/// `e`, then its sources in order. A provider chain's error
/// (`aws_config::meta::ProviderChainError`) has no `source()`; the errors of the providers
/// it tried follow it instead, each with its own sources, in the order they were tried.
pub fn links<'a>(e: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    let mut pending = vec![e];
    std::iter::from_fn(move || {
        let link = pending.pop()?;
        if let Some(chain) = link.downcast_ref::<ProviderChainError<CredentialsError>>() {
            pending.extend(
                chain
                    .attempts()
                    .iter()
                    .rev()
                    .map(|attempt| attempt.error() as &(dyn Error + 'static)),
            );
        } else if let Some(source) = link.source() {
            pending.push(source);
        }
        Some(link)
    })
}

/// The metadata of one link, if it is an error type that carries some and it is not empty
/// (an `SdkError` that never got a response has empty metadata).
fn metadata<'a>(link: &'a (dyn Error + 'static)) -> Option<&'a ErrorMetadata> {
    fn read<'a, T: ProvideErrorMetadata + Error + 'static>(
        link: &'a (dyn Error + 'static),
    ) -> Option<&'a ErrorMetadata> {
        link.downcast_ref::<T>().map(ProvideErrorMetadata::meta)
    }
    let meta = read::<SdkError<AssumeRoleError, HttpResponse>>(link)
        .or_else(|| read::<SdkError<AssumeRoleWithWebIdentityError, HttpResponse>>(link))
        .or_else(|| read::<AssumeRoleError>(link))
        .or_else(|| read::<AssumeRoleWithWebIdentityError>(link))
        .or_else(|| read::<ErrorMetadata>(link))?;
    (meta.code().is_some() || meta.message().is_some()).then_some(meta)
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(
            status.try_into().expect("a valid status code"),
            SdkBody::empty(),
        )
    }

    fn meta(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    fn assume_role_denied() -> SdkError<AssumeRoleError, HttpResponse> {
        SdkError::service_error(
            AssumeRoleError::generic(meta("AccessDenied", "m")),
            response(403),
        )
    }

    fn code_and_message<'a>(
        e: &'a (dyn Error + 'static),
    ) -> Option<(Option<&'a str>, Option<&'a str>)> {
        aws_error(e).map(|m| (m.code(), m.message()))
    }

    #[test]
    fn an_sdk_error_gives_its_code_and_message() {
        let e = assume_role_denied();

        let found = code_and_message(&e);

        assert_eq!(found, Some((Some("AccessDenied"), Some("m"))));
    }

    #[test]
    fn a_credentials_error_gives_the_code_of_the_sts_error_it_wraps() {
        let e = CredentialsError::provider_error(assume_role_denied());

        let found = code_and_message(&e);

        assert_eq!(found, Some((Some("AccessDenied"), Some("m"))));
    }

    #[test]
    fn a_web_identity_error_is_found_through_the_credentials_error() {
        let sts = SdkError::<_, HttpResponse>::service_error(
            AssumeRoleWithWebIdentityError::generic(meta(
                "InvalidIdentityToken",
                "Incorrect token audience",
            )),
            response(400),
        );
        let e = CredentialsError::provider_error(sts);

        let found = code_and_message(&e);

        assert_eq!(
            found,
            Some((
                Some("InvalidIdentityToken"),
                Some("Incorrect token audience")
            ))
        );
    }

    #[test]
    fn a_provider_that_loaded_nothing_has_no_code() {
        let e = CredentialsError::not_loaded("x");

        assert_eq!(code_and_message(&e), None);
    }

    #[test]
    fn an_sts_call_that_got_no_answer_has_no_code() {
        let sts = SdkError::<AssumeRoleError, HttpResponse>::dispatch_failure(ConnectorError::io(
            "connection refused".into(),
        ));
        let e = CredentialsError::provider_error(sts);

        assert_eq!(code_and_message(&e), None);
        assert!(
            find::<ConnectorError>(&e).is_some(),
            "the cause is in the chain"
        );
    }
}
