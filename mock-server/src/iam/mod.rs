//! IAM: who exists and what they may do.
//!
//! `store` holds the validated, indexed world the request path reads (identities, access
//! keys, their policies, parsed once); `state` holds the world and store snapshots and applies
//! IAM writes (`change`: the field-level edits a write is made of, so kinds propagate apart);
//! `api` is the IAM actions; `managed` the catalogue of AWS managed policies.

pub(crate) mod api;
pub(crate) mod change;
pub(crate) mod managed;
pub(crate) mod simulate;
pub(crate) mod state;
pub(crate) mod store;
