//! STS actions.

use crate::api::{ActionSpec, Authorization, Call};
use crate::error::AwsError;
use crate::sts::authorization_message;
use crate::wire::xml::Node;

/// The STS actions served.
pub(crate) const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "GetCallerIdentity",
        iam_action: "sts:GetCallerIdentity",
        // "No permissions are required to perform this operation" (STS API reference): even
        // an explicit deny does not stop it.
        authorization: Authorization::Always,
        handler: get_caller_identity,
    },
    authorization_message::DECODE,
];

fn get_caller_identity(call: &Call<'_>) -> Result<Vec<Node>, AwsError> {
    let who = call.caller;
    Ok(vec![
        Node::leaf("Arn", who.arn.clone()),
        Node::leaf("UserId", who.user_id.clone()),
        Node::leaf("Account", who.account.clone()),
    ])
}
