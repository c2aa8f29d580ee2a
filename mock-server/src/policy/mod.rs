//! The IAM policy language: documents parsed once when stored, evaluated on every call.
//!
//! - `ast`: the parsed form (statements, compiled action and resource patterns);
//! - `parse`: JSON → AST, errors naming the statement and field;
//! - `condition`: condition operators, set qualifiers, `…IfExists`, `Null`;
//! - `context`: the request's condition keys; `variables`: `${aws:username}` and friends;
//! - `eval`: the decision (explicit deny, then identity, boundary and session layers) and
//!   the statements that decided it.
//!
//! Wildcards (`*`, `?`) are `crate::wildcard`.

pub(crate) mod ast;
pub(crate) mod condition;
pub(crate) mod context;
pub(crate) mod eval;
pub(crate) mod parse;
pub(crate) mod trust;
pub(crate) mod variables;

pub(crate) use ast::Policy;
pub use parse::PolicyError;
