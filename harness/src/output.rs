//! `trustbench run`: finds the scenarios, runs them, and reports: progress (a bar on a
//! terminal, a line per scenario otherwise), a summary table, each mismatch with expected
//! and actual side by side and the scenario's request log, and optionally JUnit XML and
//! JSON files.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::HarnessError;
use crate::cli::{ConformArgs, RunArgs};
use crate::conform::{External, Manifest};
use crate::runner::{self, Driver, NOT_APPLICABLE, NOT_SUPPORTED, ScenarioResult};
use crate::scenario;

/// The catalogue's directory: `scenarios/` here, else the one beside the sources this
/// binary was built from.
fn default_paths() -> Vec<PathBuf> {
    let here = PathBuf::from("scenarios");
    if here.is_dir() {
        return vec![here];
    }
    vec![PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios"
    ))]
}

/// Runs `trustbench run`: the reference connector.
pub async fn run(args: RunArgs) -> Result<ExitCode, HarnessError> {
    report(&args, Driver::Reference).await
}

/// Runs `trustbench conform`: a connector under test, through the connector protocol.
pub async fn conform(args: ConformArgs) -> Result<ExitCode, HarnessError> {
    let unsupported = match &args.manifest {
        Some(path) => Manifest::load(path)?
            .unsupported
            .into_iter()
            .map(|u| (u.scenario, u.reason))
            .collect(),
        None => Default::default(),
    };
    let external = External {
        command: args.connector.clone(),
        label: args.label.clone().unwrap_or_else(|| args.connector.clone()),
        timeout: std::time::Duration::from_secs(args.timeout),
        unsupported,
    };
    report(&args.run, Driver::External(external)).await
}

async fn report(args: &RunArgs, driver: Driver) -> Result<ExitCode, HarnessError> {
    let conformance = matches!(driver, Driver::External(_));
    let title = match &driver {
        Driver::Reference => "trustbench run".to_owned(),
        Driver::External(external) => format!("trustbench conform: {}", external.label),
    };
    let paths = if args.paths.is_empty() {
        default_paths()
    } else {
        args.paths.clone()
    };
    let files = scenario::discover(&paths)?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get() * 2));
    let terminal = std::io::stdout().is_terminal();
    let driver = std::sync::Arc::new(driver);
    let results = runner::run_all(
        &files,
        args.filter.as_deref(),
        jobs,
        driver,
        |r, done, total| {
            let mut out = std::io::stdout().lock();
            if terminal {
                let width = 30;
                let filled = done * width / total.max(1);
                let _ = write!(
                    out,
                    "\r[{}{}] {done}/{total} {:<40.40}",
                    "#".repeat(filled),
                    " ".repeat(width - filled),
                    r.name
                );
                if r.failed() {
                    let _ = writeln!(out, "\rFAIL {}{}", r.name, " ".repeat(60));
                }
            } else {
                let _ = writeln!(out, "{r}");
            }
            let _ = out.flush();
        },
    )
    .await;
    if terminal {
        println!();
    }
    if results.is_empty() {
        eprintln!("trustbench: no scenarios found in {paths:?}");
        return Ok(ExitCode::from(2));
    }
    let mut out = std::io::stdout().lock();
    for r in results.iter().filter(|r| r.failed()) {
        write_failure(&mut out, r)?;
    }
    write_summary(&mut out, &results, conformance)?;
    drop(out);
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&results))?;
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)?;
    }
    if let Some(path) = &args.html {
        std::fs::write(
            path,
            crate::html::page(&title, std::slice::from_ref(&results)),
        )?;
    }
    Ok(if !results.iter().any(ScenarioResult::failed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn write_summary(
    out: &mut impl Write,
    results: &[ScenarioResult],
    conformance: bool,
) -> std::io::Result<()> {
    let passed = results.iter().filter(|r| r.passed).count();
    let not_run = |kind| results.iter().filter(|r| r.not_run() == Some(kind)).count();
    let (not_applicable, not_supported) = (not_run(NOT_APPLICABLE), not_run(NOT_SUPPORTED));
    let skipped = not_applicable + not_supported;
    let failed = results.len() - passed - skipped;
    let millis: u128 = results.iter().map(|r| r.millis).sum();
    writeln!(out)?;
    writeln!(out, "| result | scenario | steps | ms |")?;
    writeln!(out, "|---|---|---|---|")?;
    for r in results {
        let result = match (&r.skipped, r.passed) {
            (Some(why), _) => why.clone(),
            (None, true) => "pass".into(),
            (None, false) => "FAIL".into(),
        };
        writeln!(
            out,
            "| {result} | {} | {} | {} |",
            r.name,
            r.steps.len(),
            r.millis
        )?;
    }
    let left_out = if conformance {
        format!(", {not_applicable} not applicable, {not_supported} not supported")
    } else {
        String::new()
    };
    writeln!(
        out,
        "\n{passed} of {} scenarios behaved as expected ({failed} failed{left_out}); {millis} ms of scenario time",
        results.len() - skipped
    )?;
    if conformance {
        let scored = passed + failed;
        let score = if scored == 0 {
            0.0
        } else {
            passed as f64 * 100.0 / scored as f64
        };
        writeln!(
            out,
            "conformance score: {score:.1}% ({passed} of {scored}; {not_applicable} not applicable, {not_supported} not supported)"
        )?;
    }
    Ok(())
}

/// A scenario that did not behave as expected: each step, expected and actual side by side,
/// and the request log.
pub fn write_failure(out: &mut impl Write, r: &ScenarioResult) -> std::io::Result<()> {
    writeln!(out, "\n=== FAIL {} ({})", r.name, r.file)?;
    if !r.description.is_empty() {
        writeln!(out, "    {}", r.description)?;
    }
    if let Some(e) = &r.error {
        writeln!(out, "    could not run: {e}")?;
    }
    for (i, s) in r.steps.iter().enumerate() {
        let mark = if s.passed { "ok  " } else { "DIFF" };
        writeln!(out, "    {mark} step {}: {}", i + 1, s.step)?;
        if !s.passed {
            writeln!(out, "         expected: {}", s.expected)?;
            writeln!(out, "         actual:   {}", s.actual)?;
        }
    }
    if !r.requests.is_empty() {
        writeln!(out, "    request log:")?;
        for q in &r.requests {
            writeln!(
                out,
                "      {} {:<4} {:<28} {:<14} {:<8} {} {} {}",
                q.time,
                q.service,
                q.action,
                q.region,
                q.decision,
                q.status,
                q.error_code,
                q.principal
            )?;
            if !q.statement.is_empty() {
                writeln!(out, "           {}", q.statement)?;
            }
        }
    }
    Ok(())
}

/// The results as JUnit XML: one test suite, a test case per scenario.
pub fn junit(results: &[ScenarioResult]) -> String {
    let failures = results.iter().filter(|r| r.failed()).count();
    let seconds: f64 = results.iter().map(|r| r.millis as f64 / 1000.0).sum();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">\n  <testsuite name=\"trustbench\" tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">\n",
        results.len(),
        results.len()
    );
    for r in results {
        xml.push_str(&format!(
            "    <testcase classname=\"scenarios\" name=\"{}\" file=\"{}\" time=\"{:.3}\"",
            escape(&r.name),
            escape(&r.file),
            r.millis as f64 / 1000.0
        ));
        if let Some(why) = &r.skipped {
            xml.push_str(&format!(
                ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                escape(why)
            ));
            continue;
        }
        if r.passed {
            xml.push_str("/>\n");
            continue;
        }
        let mut detail = Vec::new();
        let _ = write_failure(&mut detail, r);
        let summary = r
            .error
            .clone()
            .or_else(|| {
                r.steps
                    .iter()
                    .find(|s| !s.passed)
                    .map(|s| format!("{}: expected {}, got {}", s.step, s.expected, s.actual))
            })
            .unwrap_or_default();
        xml.push_str(&format!(
            ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
            escape(&summary),
            escape(&String::from_utf8_lossy(&detail))
        ));
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
