//! `trustbench report`: the least-privilege report of a saved request log, or one HTML page
//! of saved results (`--html`).

use std::io::{Read, Write};
use std::path::Path;

use mock_server::{LoggedRequest, least_privilege};
use serde::Deserialize;

use crate::HarnessError;
use crate::cli::ReportArgs;
use crate::runner::ScenarioResult;

/// The body of `GET /_mock/requests`.
#[derive(Deserialize)]
struct SavedLog {
    requests: Vec<LoggedRequest>,
}

/// Runs `trustbench report`.
pub fn report(args: &ReportArgs) -> Result<(), HarnessError> {
    match (&args.html, args.files.as_slice()) {
        (Some(out), files) => {
            let mut runs = Vec::new();
            for file in files {
                let text = std::fs::read_to_string(file)?;
                let run: Vec<ScenarioResult> = serde_json::from_str(&text).map_err(|e| {
                    HarnessError::Results(format!(
                        "{}: not the JSON results of `trustbench run` or `conform` (--json): {e}",
                        file.display()
                    ))
                })?;
                runs.push(run);
            }
            std::fs::write(out, crate::html::page("trustbench results", &runs))?;
            Ok(())
        }
        (None, [log]) => print(log),
        (None, _) => Err(HarnessError::Results(
            "a least-privilege report reads one request log; merge results with --html".into(),
        )),
    }
}

/// Reads the log at `path` (`-` for standard input) and prints the report as JSON.
fn print(path: &Path) -> Result<(), HarnessError> {
    let text = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        std::fs::read_to_string(path)?
    };
    let log: SavedLog = serde_json::from_str(&text)?;
    let report = least_privilege(&log.requests);
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    Ok(())
}
