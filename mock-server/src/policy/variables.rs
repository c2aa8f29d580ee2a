//! Policy variables: `${aws:username}` in a `Resource` or a condition value is replaced by
//! the request's value of that key; `${key, 'default'}` supplies a default; `${*}`, `${?}` and
//! `${$}` stand for the literal characters. A variable whose key the request lacks makes the
//! element match nothing (IAM documentation, "IAM policy elements: Variables and tags").
//!
//! A substituted value is inserted as it is; IAM names cannot contain `*` or `?`, so the
//! values of the usual variables cannot widen a pattern.

use crate::policy::context::Context;

/// Whether `raw` contains a variable.
pub(crate) fn has_variables(raw: &str) -> bool {
    raw.contains("${")
}

/// `raw` with every variable replaced, or `None` when one has no value and no default.
pub(crate) fn substitute(raw: &str, ctx: &Context) -> Option<String> {
    let mut out = String::with_capacity(raw.len() + 16);
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            // Not a variable after all: keep the text.
            out.push_str(&rest[start..]);
            return Some(out);
        };
        let inner = after[..end].trim();
        match inner {
            "*" | "?" | "$" => out.push_str(inner),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => (k.trim(), Some(d.trim().trim_matches('\''))),
                    None => (inner, None),
                };
                match ctx.get(key).and_then(|v| v.first()) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(default?),
                }
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_escapes_and_defaults() {
        let mut ctx = Context::default();
        ctx.set("aws:username", "alice");
        assert_eq!(
            substitute("arn:aws:iam::1:user/${aws:username}", &ctx).as_deref(),
            Some("arn:aws:iam::1:user/alice")
        );
        assert_eq!(
            substitute("a${*}b${?}c${$}", &ctx).as_deref(),
            Some("a*b?c$")
        );
        assert_eq!(
            substitute("x/${aws:PrincipalTag/team, 'none'}", &ctx).as_deref(),
            Some("x/none")
        );
        assert_eq!(substitute("x/${aws:PrincipalTag/team}", &ctx), None);
        assert_eq!(
            substitute("${AWS:UserName}", &ctx).as_deref(),
            Some("alice")
        );
    }
}
