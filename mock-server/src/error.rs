//! `AwsError`: the one error type at the HTTP boundary, and the table of how each service
//! spells each failure.
//!
//! Every stage of the pipeline fails with an `AwsError`. Each constructor below is one AWS
//! failure; the `match` on [`Service`] inside it is the per-service spelling (STS and IAM say
//! `InvalidClientTokenId` where EC2 says `AuthFailure`). Message texts are AWS's, word for word
//! (sources: `shared/FIDELITY.md`, the AWS "common errors" reference, botocore/smithy models).
//! Encoding an `AwsError` into each service's XML envelope is `wire`'s job.

use std::borrow::Cow;

use http::StatusCode;

use crate::policy::eval::Layer;
use crate::service::Service;

/// Who is at fault, the `<Type>` of a query-protocol error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The caller (4xx).
    Sender,
    /// The service (5xx).
    Receiver,
}

/// Why authorization refused a call, as AWS words it at the end of the denial message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denial<'a> {
    /// No statement of this layer allowed it.
    NoAllow(Layer),
    /// A `Deny` statement of this layer matched, in the policy with this ARN (`None`:
    /// inline, or a session's own policy).
    ExplicitDeny {
        /// The kind of policy.
        layer: Layer,
        /// The policy's ARN; AWS names it, inline policies have none.
        policy_arn: Option<&'a str>,
    },
}

impl Denial<'_> {
    /// The layer that refused.
    fn layer(self) -> Layer {
        match self {
            Denial::NoAllow(layer) | Denial::ExplicitDeny { layer, .. } => layer,
        }
    }
}

/// The kind of policy with its article: "an identity-based policy", "a session policy".
fn with_article(layer: Layer) -> String {
    let kind = policy_kind(layer);
    let article = if kind.starts_with('i') { "an" } else { "a" };
    format!("{article} {kind}")
}

/// How AWS names a kind of policy in denial messages.
fn policy_kind(layer: Layer) -> &'static str {
    match layer {
        Layer::Organization => "service control policy",
        Layer::Identity => "identity-based policy",
        Layer::Boundary => "permissions boundary",
        Layer::Session => "session policy",
    }
}

/// An AWS error response: status, code and message, before it is put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} ({status}): {message}")]
pub(crate) struct AwsError {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// The AWS error code, such as `InvalidClientTokenId`.
    pub(crate) code: Cow<'static, str>,
    /// The message, as AWS words it.
    pub(crate) message: String,
    /// Sender or receiver fault.
    pub(crate) fault: Fault,
    /// Raised by AWS's request framework rather than the service (`InvalidAction`): STS and
    /// IAM then answer in the generic `AWSFault` namespace instead of their own.
    pub(crate) framework: bool,
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
const EC2_AUTH_FAILURE: &str = "AWS was not able to validate the provided access credentials";
const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

impl AwsError {
    /// An error with an explicit status, code and message.
    pub(crate) fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        let fault = if status.is_server_error() {
            Fault::Receiver
        } else {
            Fault::Sender
        };
        Self {
            status,
            code: code.into(),
            message: message.into(),
            fault,
            framework: false,
        }
    }

    fn ec2_auth_failure() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "AuthFailure", EC2_AUTH_FAILURE)
    }

    /// The access key id is unknown in this partition, inactive, or not valid where it was
    /// used (an opt-in region the account has not enabled).
    pub(crate) fn invalid_client_token_id(service: Service) -> Self {
        match service {
            Service::Sts | Service::Iam => {
                Self::new(StatusCode::FORBIDDEN, "InvalidClientTokenId", INVALID_TOKEN)
            }
            Service::Ec2 => Self::ec2_auth_failure(),
        }
    }

    /// Temporary credentials past their expiry.
    pub(crate) fn expired_token(service: Service) -> Self {
        match service {
            Service::Sts | Service::Iam => Self::new(
                StatusCode::FORBIDDEN,
                "ExpiredToken",
                "The security token included in the request is expired",
            ),
            Service::Ec2 => Self::new(
                StatusCode::BAD_REQUEST,
                "RequestExpired",
                "Request has expired.",
            ),
        }
    }

    /// The signature was computed with another secret or over other bytes.
    pub(crate) fn signature_does_not_match(service: Service) -> Self {
        Self::signature_problem(service, SIGNATURE_MISMATCH.to_owned())
    }

    /// The signature cannot be right for this endpoint: its scope names another region,
    /// service or date. `message` is AWS's specific text.
    pub(crate) fn signature_problem(service: Service, message: String) -> Self {
        match service {
            Service::Sts | Service::Iam => {
                Self::new(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", message)
            }
            Service::Ec2 => Self::ec2_auth_failure(),
        }
    }

    /// The request time is outside the ±15-minute window, or a presigned URL has expired.
    /// `message` is the STS/IAM text ("Signature expired: …"); EC2 has its own.
    pub(crate) fn request_expired(service: Service, message: String) -> Self {
        match service {
            Service::Sts | Service::Iam => {
                Self::new(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", message)
            }
            Service::Ec2 => Self::new(
                StatusCode::BAD_REQUEST,
                "RequestExpired",
                "Request has expired.",
            ),
        }
    }

    /// No Authorization header and no presigned query parameters.
    pub(crate) fn missing_authentication_token(service: Service) -> Self {
        match service {
            Service::Sts | Service::Iam => Self::new(
                StatusCode::FORBIDDEN,
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            ),
            // EC2 still speaks of its SigV2 parameter here (captured from EC2).
            Service::Ec2 => Self::new(
                StatusCode::BAD_REQUEST,
                "MissingParameter",
                "The request must contain the parameter AWSAccessKeyId",
            ),
        }
    }

    /// The Authorization header or presigned parameters are malformed.
    pub(crate) fn incomplete_signature(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "IncompleteSignature", message)
    }

    /// The caller's policies do not allow `action` on `resource`, for `why`. EC2 says only
    /// "Encoded authorization failure message: `encoded`" (`sts:DecodeAuthorizationMessage`
    /// decodes it); STS and IAM say why in words.
    pub(crate) fn access_denied(
        service: Service,
        principal_arn: &str,
        action: &str,
        resource: &str,
        why: Denial<'_>,
        encoded: &str,
    ) -> Self {
        let reason = match why {
            Denial::NoAllow(layer) => format!(
                "because no {} allows the {action} action",
                policy_kind(layer)
            ),
            Denial::ExplicitDeny {
                layer,
                policy_arn: None,
            } => format!("with an explicit deny in {}", with_article(layer)),
            Denial::ExplicitDeny {
                layer,
                policy_arn: Some(arn),
            } => format!("with an explicit deny in {}: {arn}", with_article(layer)),
        };
        let sentence = format!(
            "User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {reason}"
        );
        match service {
            Service::Sts | Service::Iam => {
                Self::new(StatusCode::FORBIDDEN, "AccessDenied", sentence)
            }
            // EC2 words a service control policy's denial too, before the encoded message.
            Service::Ec2 if why.layer() == Layer::Organization => Self::new(
                StatusCode::FORBIDDEN,
                "UnauthorizedOperation",
                format!(
                    "You are not authorized to perform this operation. {sentence}. Encoded authorization failure message: {encoded}"
                ),
            ),
            Service::Ec2 => Self::new(
                StatusCode::FORBIDDEN,
                "UnauthorizedOperation",
                format!(
                    "You are not authorized to perform this operation. Encoded authorization failure message: {encoded}"
                ),
            ),
        }
    }

    /// The `Action` parameter names no operation of the service, or `Version` is missing or
    /// not the service's (`version` is `None` when absent). STS/IAM word both the same way.
    pub(crate) fn invalid_action(service: Service, action: &str, version: Option<&str>) -> Self {
        let message = match service {
            Service::Sts | Service::Iam => format!(
                "Could not find operation {action} for version {}",
                version.unwrap_or("NO_VERSION_SPECIFIED")
            ),
            Service::Ec2 => format!("The action {action} is not valid for this web service."),
        };
        let mut err = Self::new(StatusCode::BAD_REQUEST, "InvalidAction", message);
        err.framework = true;
        err
    }

    /// No `Action` parameter. (AWS answers STS this with a 302 redirect to its web site; a
    /// mock must never send a client to real AWS, so this is a 400 instead.)
    pub(crate) fn missing_action() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MissingAction",
            "The request must contain the parameter Action",
        )
    }

    /// The query string or form body could not be decoded.
    pub(crate) fn malformed_query_string(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MalformedQueryString", message)
    }

    /// A parameter was given more than once.
    pub(crate) fn duplicate_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameter",
            format!(
                "The AWS query string is malformed or does not adhere to AWS standards: parameter {name} appears more than once"
            ),
        )
    }

    /// The body is larger than the service accepts.
    pub(crate) fn request_entity_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("Request body must be smaller than {limit} bytes"),
        )
    }

    /// The HTTP method is not one the query protocol accepts.
    pub(crate) fn unsupported_method(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnsupportedProtocol",
            format!("The HTTP method {method} is not supported. Use GET or POST."),
        )
    }

    /// A parameter value is invalid (`ValidationError` on STS/IAM, `InvalidParameterValue` on EC2).
    pub(crate) fn invalid_parameter_value(service: Service, message: impl Into<String>) -> Self {
        let code = match service {
            Service::Sts | Service::Iam => "ValidationError",
            Service::Ec2 => "InvalidParameterValue",
        };
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The request cannot be routed to any service: its scope and `Version` name none
    /// served here.
    pub(crate) fn unknown_service(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!(
                "The service `{name}` is not served here: sign for sts, iam or ec2, or send the Version parameter of one of them"
            ),
        )
    }
}

impl AwsError {
    /// The service's internal error (500): `InternalError` (EC2), `ServiceFailure` (IAM),
    /// `InternalFailure` (STS).
    pub(crate) fn internal(service: Service) -> Self {
        const UNKNOWN: &str =
            "The request processing has failed because of an unknown error, exception or failure.";
        let (code, message) = match service {
            Service::Ec2 => ("InternalError", "An internal error has occurred"),
            Service::Iam => ("ServiceFailure", UNKNOWN),
            Service::Sts => ("InternalFailure", UNKNOWN),
        };
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code, message)
    }
}

/// IAM's own errors (codes and statuses from the IAM service model; texts are AWS's, given
/// by the caller from `iam::api`).
impl AwsError {
    /// 404 `NoSuchEntity`.
    pub(crate) fn no_such_entity(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NoSuchEntity", message)
    }

    /// 409 `EntityAlreadyExists`.
    pub(crate) fn entity_already_exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "EntityAlreadyExists", message)
    }

    /// 409 `DeleteConflict`.
    pub(crate) fn delete_conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "DeleteConflict", message)
    }

    /// 409 `LimitExceeded`.
    pub(crate) fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "LimitExceeded", message)
    }

    /// 400 `MalformedPolicyDocument`.
    pub(crate) fn malformed_policy_document(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MalformedPolicyDocument", message)
    }

    /// 400 `InvalidInput`.
    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidInput", message)
    }
}
