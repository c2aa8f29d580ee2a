//! The request context: the condition keys of one request and their values
//! (`aws:username`, `aws:SourceIp`, `ec2:Region`, …). Keys compare case-insensitively, as
//! IAM's do; a key may carry several values (multivalued keys such as `aws:TagKeys`).

use std::collections::HashMap;

/// Condition keys and their values for one request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Context {
    /// By lower-cased key: the key as it was set, and its values.
    values: HashMap<String, (String, Vec<String>)>,
}

impl Context {
    /// Sets a single-valued key.
    pub(crate) fn set(&mut self, key: &str, value: impl Into<String>) {
        self.set_values(key, vec![value.into()]);
    }

    /// Sets a key with any number of values.
    pub(crate) fn set_values(&mut self, key: &str, values: Vec<String>) {
        self.values
            .insert(key.to_ascii_lowercase(), (key.to_owned(), values));
    }

    /// The values of a key, if the request has it.
    pub(crate) fn get(&self, key: &str) -> Option<&[String]> {
        match self.values.get(key) {
            Some((_, v)) => Some(v),
            None if key.bytes().any(|b| b.is_ascii_uppercase()) => self
                .values
                .get(&key.to_ascii_lowercase())
                .map(|(_, v)| v.as_slice()),
            None => None,
        }
    }

    /// Every key (as it was set) and its values, in no particular order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.values
            .values()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}
