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

    /// The values of a key, if the request has it. A key with capitals is lower-cased on
    /// the stack (keys are short), so looking one up does not allocate.
    pub(crate) fn get(&self, key: &str) -> Option<&[String]> {
        const ON_STACK: usize = 128;
        let entry = if !key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.values.get(key)
        } else if key.len() <= ON_STACK {
            let mut lower = [0u8; ON_STACK];
            let lower = &mut lower[..key.len()];
            lower.copy_from_slice(key.as_bytes());
            lower.make_ascii_lowercase();
            // Lower-casing ASCII letters keeps UTF-8 valid.
            std::str::from_utf8(lower)
                .ok()
                .and_then(|lower| self.values.get(lower))
        } else {
            self.values.get(&key.to_ascii_lowercase())
        };
        entry.map(|(_, v)| v.as_slice())
    }

    /// Every key (as it was set) and its values, in no particular order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.values
            .values()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn keys_match_in_any_case_short_or_long(
            key in "[A-Za-z0-9:/_.-]{1,200}",
            flips in proptest::collection::vec(any::<bool>(), 200),
        ) {
            let mut context = Context::default();
            context.set(&key, "v");
            let asked: String = key
                .chars()
                .zip(&flips)
                .map(|(c, flip)| if *flip { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect();
            prop_assert_eq!(context.get(&asked), Some(&["v".to_owned()][..]));
            let other = format!("{asked}x");
            prop_assert_eq!(context.get(&other), None);
        }
    }

    #[test]
    fn a_key_keeps_the_case_it_was_set_in() {
        let mut context = Context::default();
        context.set("aws:SourceIdentity", "alice");
        assert_eq!(
            context.entries().collect::<Vec<_>>(),
            vec![("aws:SourceIdentity", &["alice".to_owned()][..])]
        );
        assert!(context.get("AWS:SOURCEIDENTITY").is_some());
    }
}
