//! The results as one self-contained HTML page (`--html`, `trustbench report --html`): no
//! network, no external assets. The page embeds the results as JSON and draws, with its own
//! script and style (`assets/report.js`, `assets/report.css`): the summary per
//! implementation, a conformance matrix of scenarios × implementations, filters (outcome,
//! credential option, partition, text), and per scenario and implementation the steps
//! (expected and actual side by side), the request log as a timeline under the step that
//! made it, and the least-privilege policy per principal.
//!
//! Secrets never reach it: results hold no credentials (scenario worlds and connector
//! configurations are not part of them), and the server's request log records principals,
//! never keys or tokens.

use std::collections::BTreeMap;

use mock_server::least_privilege;
use serde_json::{Value, json};

use crate::runner::ScenarioResult;

const STYLE: &str = include_str!("../assets/report.css");
const SCRIPT: &str = include_str!("../assets/report.js");

/// The page for `runs`: each a set of results of one implementation (the reference
/// connector, or a connector under test), in the order given.
pub fn page(title: &str, runs: &[Vec<ScenarioResult>]) -> String {
    let data = data(title, runs);
    // `</` would end the script element early; JSON allows `<\/`.
    let json = data.to_string().replace("</", "<\\/");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <noscript>This report draws itself with JavaScript; the results are in the \
         <code>report-data</code> element of this file.</noscript>\n\
         <div id=\"app\"></div>\n\
         <script type=\"application/json\" id=\"report-data\">{json}</script>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        title = escape(title)
    )
}

/// What the page's script reads: implementations, and per scenario each one's result.
fn data(title: &str, runs: &[Vec<ScenarioResult>]) -> Value {
    let mut implementations: Vec<String> = Vec::new();
    let mut scenarios: BTreeMap<String, Value> = BTreeMap::new();
    for run in runs {
        for r in run {
            if !implementations.contains(&r.implementation) {
                implementations.push(r.implementation.clone());
            }
            let entry = scenarios.entry(r.name.clone()).or_insert_with(|| {
                json!({
                    "name": r.name,
                    "file": r.file,
                    "description": r.description,
                    "credentials": r.credentials,
                    "partition": r.partition,
                    "results": {},
                })
            });
            if entry["description"] == "" && !r.description.is_empty() {
                entry["description"] = json!(r.description);
            }
            entry["results"][&r.implementation] = result(r);
        }
    }
    json!({
        "title": title,
        "implementations": implementations,
        "scenarios": scenarios.into_values().collect::<Vec<_>>(),
    })
}

/// One implementation's result of one scenario.
fn result(r: &ScenarioResult) -> Value {
    let outcome = match (r.not_run(), r.passed) {
        (Some(kind), _) => kind,
        (None, true) => "pass",
        (None, false) => "fail",
    };
    let steps: Vec<Value> = r
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let [first, end] = r.step_requests.get(i).copied().unwrap_or([0, 0]);
            json!({
                "step": s.step,
                "expected": s.expected,
                "actual": s.actual,
                "passed": s.passed,
                "requests": r.requests.iter().filter(|q| q.seq >= first && q.seq < end).collect::<Vec<_>>(),
            })
        })
        .collect();
    let report = least_privilege(&r.requests);
    json!({
        "outcome": outcome,
        "why": r.skipped.clone().or_else(|| r.error.clone()),
        "millis": r.millis as u64,
        "steps": steps,
        "least_privilege": report.principals,
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, implementation: &str, passed: bool) -> ScenarioResult {
        serde_json::from_value(json!({
            "name": name, "file": format!("scenarios/{name}.yaml"),
            "description": "a </script> in a description",
            "implementation": implementation, "credentials": "irsa", "partition": "aws",
            "steps": [{"step": "connection_test", "expected": "success", "actual": "success", "passed": passed}],
            "step_requests": [[0, 1]],
            "passed": passed, "millis": 5,
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_page_embeds_every_implementation_and_cannot_be_broken_out_of() {
        let runs = vec![
            vec![result("a", "reference connector", true)],
            vec![result("a", "boto3", false), result("b", "boto3", true)],
        ];
        let page = page("t <x>", &runs);
        assert!(page.contains("<title>t &lt;x&gt;</title>"));
        // The only `</script>` are the page's own two.
        assert_eq!(page.matches("</script>").count(), 2, "{page}");
        let start = page.find("id=\"report-data\">").unwrap_or(0) + 17;
        let end = start + page[start..].find("</script>").unwrap_or(0);
        let data: Value = serde_json::from_str(&page[start..end]).unwrap_or_default();
        assert_eq!(
            data["implementations"],
            json!(["reference connector", "boto3"])
        );
        assert_eq!(data["scenarios"][0]["results"]["boto3"]["outcome"], "fail");
        assert_eq!(
            data["scenarios"][0]["description"],
            "a </script> in a description"
        );
        assert_eq!(data["scenarios"][1]["results"]["boto3"]["outcome"], "pass");
    }
}
