//! IAM: who exists and what they may do.
//!
//! `store` holds the validated, indexed world the request path reads (identities, access
//! keys, their policies, parsed once); `managed` is the catalogue of AWS managed policies.
//! The IAM API actions come with the IAM issue.

pub(crate) mod managed;
pub(crate) mod store;
