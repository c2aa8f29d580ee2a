//! The evaluation table: every case in `tests/data/policy/*.json` is one fact of AWS's
//! documented evaluation logic, with the decision and, where it matters, the deciding
//! statement.

use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::policy::parse::parse_identity_value;

fn policies(case: &Value, field: &str, name: &str) -> Option<Vec<Policy>> {
    let list = case.get(field)?;
    let list = list
        .as_array()
        .unwrap_or_else(|| panic!("{name}: `{field}` must be a list"));
    Some(
        list.iter()
            .map(|p| parse_identity_value(p).unwrap_or_else(|e| panic!("{name}: {field}: {e}")))
            .collect(),
    )
}

fn context(case: &Value) -> Context {
    let mut ctx = Context::default();
    if let Some(map) = case.get("context").and_then(Value::as_object) {
        for (k, v) in map {
            match v {
                Value::Array(items) => ctx.set_values(
                    k,
                    items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect(),
                ),
                Value::String(s) => ctx.set(k, s.clone()),
                other => ctx.set(k, other.to_string()),
            }
        }
    }
    ctx
}

fn layer(name: &str) -> Layer {
    match name {
        "organization" => Layer::Organization,
        "identity" => Layer::Identity,
        "boundary" => Layer::Boundary,
        "session" => Layer::Session,
        other => panic!("unknown layer {other}"),
    }
}

#[test]
fn the_evaluation_table_holds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policy");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut checked = 0;
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
    {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let cases: Vec<Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (i, case) in cases.iter().enumerate() {
            let name = format!(
                "{}#{i} ({})",
                file.display(),
                case["docs"].as_str().unwrap_or("no docs")
            );
            // `"identity": null`: no identity-based policy is needed (the root user).
            let identity = match case.get("identity") {
                Some(Value::Null) => None,
                _ => Some(policies(case, "identity", &name).unwrap_or_default()),
            };
            // `organization`: a list of levels (root first), each a list of SCPs.
            let levels: Option<Vec<Vec<Policy>>> = case.get("organization").map(|levels| {
                (levels.as_array().into_iter().flatten())
                    .map(|level| policies(&json!({ "l": level }), "l", &name).unwrap_or_default())
                    .collect()
            });
            let ends: Vec<usize> = (levels.iter().flatten())
                .scan(0, |end, level| {
                    *end += level.len();
                    Some(*end)
                })
                .collect();
            let scps: Vec<Policy> = levels.iter().flatten().flatten().cloned().collect();
            let organization = levels.as_ref().map(|_| Levels {
                policies: &scps,
                ends: &ends,
            });
            let boundary = policies(case, "boundary", &name);
            let session = policies(case, "session", &name);
            let ctx = context(case);
            let req = Request {
                action: case["action"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: action")),
                resource: case["resource"].as_str().unwrap_or("*"),
                context: &ctx,
            };
            let got = evaluate(
                organization,
                identity.as_deref(),
                boundary.as_deref(),
                session.as_deref(),
                &req,
            );
            let expected = case["expect"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: expect"));
            match (expected, got.decision) {
                ("allow", Decision::Allow) => {}
                ("explicitDeny", Decision::ExplicitDeny(at)) => {
                    if let Some(d) = case.get("deciding") {
                        let want = (
                            layer(d["layer"].as_str().unwrap_or("identity")),
                            d["policy"].as_u64(),
                            d["statement"].as_u64(),
                        );
                        assert_eq!(
                            (at.layer, Some(at.policy as u64), Some(at.statement as u64)),
                            want,
                            "{name}"
                        );
                    }
                }
                ("implicitDeny", Decision::ImplicitDeny(l)) => {
                    if let Some(want) = case.get("missing").and_then(Value::as_str) {
                        assert_eq!(l, layer(want), "{name}");
                    }
                }
                (want, got) => panic!("{name}: expected {want}, got {got:?}"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} evaluation cases");
}
