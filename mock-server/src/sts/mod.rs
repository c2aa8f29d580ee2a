//! AWS STS: who am I, and (with the STS issue) who may become whom.

pub(crate) mod api;
pub(crate) mod authorization_message;
pub(crate) mod oidc;
pub(crate) mod service;
pub(crate) mod session;
pub(crate) mod trust;
