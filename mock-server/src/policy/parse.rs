//! JSON → [`Policy`]. Errors say which statement and which field is wrong, the way IAM's
//! `MalformedPolicyDocument` does.

use serde_json::Value;

use crate::policy::ast::{ActionPattern, Effect, Matchers, Policy, ResourcePattern, Statement};
use crate::policy::condition::{Condition, Operator};
use crate::wildcard::Pattern;

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The document is not JSON.
    #[error("policy is not valid JSON: {0}")]
    Json(String),
    /// A field at the top level is wrong.
    #[error("policy field `{field}`: {message}")]
    Document {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A field of a statement is wrong.
    #[error("statement {index}, field `{field}`: {message}")]
    Statement {
        /// Zero-based statement index.
        index: usize,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

impl PolicyError {
    /// The `MalformedPolicyDocument` message AWS sends for this problem (texts captured
    /// from IAM: statements without actions or resources have their own; a principal in an
    /// identity policy has its own; everything else is a syntax error).
    pub(crate) fn aws_message(&self) -> &'static str {
        match self {
            PolicyError::Statement {
                field: "Action",
                message,
                ..
            } if message.starts_with("one of") => "Policy statement must contain actions.",
            PolicyError::Statement {
                field: "Resource",
                message,
                ..
            } if message.starts_with("one of") => "Policy statement must contain resources.",
            PolicyError::Statement {
                field: "Principal", ..
            } => "Policy document should not specify a principal.",
            _ => "Syntax errors in policy.",
        }
    }
}

const VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];

/// Parses an identity-based policy (user, group, role or managed policy) from JSON text.
pub(crate) fn parse_identity_policy(json: &str) -> Result<Policy, PolicyError> {
    let value: Value = serde_json::from_str(json).map_err(|e| PolicyError::Json(e.to_string()))?;
    parse_identity_value(&value)
}

/// Parses an identity-based policy from a JSON value.
pub(crate) fn parse_identity_value(value: &Value) -> Result<Policy, PolicyError> {
    let doc = value.as_object().ok_or(PolicyError::Document {
        field: "(document)",
        message: "must be a JSON object".into(),
    })?;
    for key in doc.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            return Err(PolicyError::Document {
                field: "(document)",
                message: format!("unknown field `{key}`"),
            });
        }
    }
    // Policy variables exist only in version 2012-10-17; before it `${…}` is literal text.
    let variables = match doc.get("Version") {
        None => false,
        Some(Value::String(v)) if VERSIONS.contains(&v.as_str()) => v == VERSIONS[0],
        Some(other) => {
            return Err(PolicyError::Document {
                field: "Version",
                message: format!("must be one of {VERSIONS:?}, got {other}"),
            });
        }
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(obj @ Value::Object(_)) => vec![obj],
        Some(_) => {
            return Err(PolicyError::Document {
                field: "Statement",
                message: "must be an object or an array of objects".into(),
            });
        }
        None => {
            return Err(PolicyError::Document {
                field: "Statement",
                message: "is required".into(),
            });
        }
    };
    let statements = statements
        .into_iter()
        .enumerate()
        .map(|(index, s)| statement(index, s, variables))
        .collect::<Result<_, _>>()?;
    Ok(Policy { statements })
}

fn statement(index: usize, value: &Value, variables: bool) -> Result<Statement, PolicyError> {
    let err = |field: &'static str, message: String| PolicyError::Statement {
        index,
        field,
        message,
    };
    let obj = value
        .as_object()
        .ok_or_else(|| err("(statement)", "must be a JSON object".into()))?;
    for key in obj.keys() {
        match key.as_str() {
            "Sid" | "Effect" | "Action" | "NotAction" | "Resource" | "NotResource"
            | "Condition" => {}
            "Principal" | "NotPrincipal" => {
                return Err(err(
                    "Principal",
                    "an identity-based policy must not specify a principal".into(),
                ));
            }
            other => return Err(err("(statement)", format!("unknown field `{other}`"))),
        }
    }
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(err("Sid", "must be a string".into())),
    };
    let effect = match obj.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        Some(other) => {
            return Err(err(
                "Effect",
                format!("must be `Allow` or `Deny`, got `{other}`"),
            ));
        }
        None => return Err(err("Effect", "is required".into())),
    };
    let actions = matchers(obj, "Action", "NotAction", |raw| {
        ActionPattern(Pattern::ignoring_case(raw))
    })
    .map_err(|(f, m)| err(f, m))?;
    let resources = matchers(obj, "Resource", "NotResource", |raw| {
        if variables {
            ResourcePattern::compile(raw)
        } else {
            ResourcePattern::Fixed(Pattern::exact_case(raw))
        }
    })
    .map_err(|(f, m)| err(f, m))?;
    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(c) => conditions(c, variables).map_err(|m| err("Condition", m))?,
    };
    Ok(Statement {
        sid,
        effect,
        actions,
        resources,
        conditions,
    })
}

/// `{"Operator": {"key": value-or-values}, …}`, one [`Condition`] per operator and key.
pub(crate) fn conditions(block: &Value, variables: bool) -> Result<Vec<Condition>, String> {
    let operators = block.as_object().ok_or("must be an object of operators")?;
    let mut out = Vec::new();
    for (name, keys) in operators {
        let operator = Operator::parse(name).ok_or_else(|| format!("unknown operator `{name}`"))?;
        let keys = keys
            .as_object()
            .ok_or_else(|| format!("`{name}` must map condition keys to values"))?;
        for (key, values) in keys {
            let scalar = |v: &Value| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                _ => Err(format!(
                    "`{name}`/`{key}`: values must be strings, numbers or booleans"
                )),
            };
            let values = match values {
                Value::Array(items) => items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
                other => vec![scalar(other)?],
            };
            out.push(Condition {
                operator,
                key: key.to_ascii_lowercase(),
                name: key.clone(),
                values,
                variables,
            });
        }
    }
    Ok(out)
}

pub(crate) fn matchers<P>(
    obj: &serde_json::Map<String, Value>,
    positive: &'static str,
    negative: &'static str,
    compile: impl Fn(&str) -> P,
) -> Result<Matchers<P>, (&'static str, String)> {
    let (field, negated, value) = match (obj.get(positive), obj.get(negative)) {
        (Some(v), None) => (positive, false, v),
        (None, Some(v)) => (negative, true, v),
        (Some(_), Some(_)) => {
            return Err((
                positive,
                format!("`{positive}` and `{negative}` cannot both be present"),
            ));
        }
        (None, None) => {
            return Err((
                positive,
                format!("one of `{positive}` or `{negative}` is required"),
            ));
        }
    };
    let strings: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .ok_or((field, "every entry must be a string".to_owned()))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err((field, "must be a string or an array of strings".into())),
    };
    if strings.is_empty() {
        return Err((field, "must not be empty".into()));
    }
    Ok(Matchers {
        negated,
        patterns: strings.into_iter().map(compile).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn errors_name_the_statement_and_field() {
        let e = parse_identity_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#,
        );
        assert_eq!(
            e.err().map(|e| e.to_string()),
            Some("statement 1, field `Effect`: must be `Allow` or `Deny`, got `Maybe`".into())
        );
    }

    #[test]
    fn unknown_condition_operators_are_refused() {
        let e = parse_identity_policy(
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Boolean":{"aws:SecureTransport":"true"}}}}"#,
        );
        assert!(matches!(
            e,
            Err(PolicyError::Statement {
                field: "Condition",
                ..
            })
        ));
    }

    #[test]
    fn principal_is_refused_in_identity_policies() {
        let e = parse_identity_policy(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
        );
        assert!(matches!(
            e,
            Err(PolicyError::Statement {
                field: "Principal",
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in ".{0,200}") {
            let _ = parse_identity_policy(&s);
        }

        #[test]
        fn arbitrary_statement_shapes_never_panic(
            effect in prop_oneof![Just("\"Allow\""), Just("\"Deny\""), Just("1"), Just("null")],
            action in prop_oneof![Just("\"*\""), Just("[]"), Just("[\"a:b\", 3]"), Just("{}")],
            resource in prop_oneof![Just("\"*\""), Just("[\"arn:*\"]"), Just("null")],
        ) {
            let json = format!(r#"{{"Statement":[{{"Effect":{effect},"Action":{action},"Resource":{resource}}}]}}"#);
            let _ = parse_identity_policy(&json);
        }
    }
}
