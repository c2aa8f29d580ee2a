//! `trustbench report`: the least-privilege report of a saved request log.

use std::io::{Read, Write};
use std::path::Path;

use mock_server::{LoggedRequest, least_privilege};
use serde::Deserialize;

use crate::HarnessError;

/// The body of `GET /_mock/requests`.
#[derive(Deserialize)]
struct SavedLog {
    requests: Vec<LoggedRequest>,
}

/// Reads the log at `path` (`-` for standard input) and prints the report as JSON.
pub fn print(path: &Path) -> Result<(), HarnessError> {
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
