//! The IAM policy language: documents parsed once when stored, evaluated on every call.
//!
//! `ast` is the parsed form, `parse` turns JSON into it (errors name the statement and field),
//! `crate::wildcard` does IAM wildcards, `eval` decides. Evaluation is AWS's order: an explicit deny
//! beats an allow, and without an allow the answer is an implicit deny.
//!
//! Condition blocks are refused at parse time for now rather than ignored: a policy that
//! silently lost its conditions would allow more than AWS does.

pub(crate) mod ast;
pub(crate) mod eval;
pub(crate) mod parse;

pub(crate) use ast::Policy;
pub use parse::PolicyError;
