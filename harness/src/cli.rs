//! Command-line types: clap parses, [`crate::run`] acts.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// trustbench: a fake of AWS STS, IAM and EC2 that enforces SigV4, IAM policies, trust and
/// partitions, and a harness that drives real AWS credential code against it.
#[derive(Debug, Parser)]
#[command(
    name = "trustbench",
    version,
    about,
    long_about = None,
    after_help = "Examples:\n  \
    trustbench run                                  play the scenario catalogue (scenarios/)\n  \
    trustbench run case-1234.yaml                   reproduce one customer's failure\n  \
    trustbench serve --world my-world.yaml          serve STS, IAM and EC2 on 127.0.0.1:4566\n  \
    trustbench conform --connector './my-connector' certify another connector implementation\n\n\
    `trustbench COMMAND --help` describes each command; docs/ the rest (start at README.md)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play connector scenarios (default: the catalogue in `scenarios/`), each on its own
    /// embedded server with a virtual clock, with the real AWS SDK credential code (the main
    /// job). Exit 0 when all behave as expected, 1 when some do not, 2 when none could run.
    Run(RunArgs),
    /// Certify a connector implementation in any language against the scenarios, through
    /// the connector protocol (docs/conformance-protocol.md). Exit 0 when every applicable,
    /// supported scenario behaves as expected, 1 otherwise, 2 when none could run.
    Conform(ConformArgs),
    /// Serve the fake STS, IAM and EC2 endpoints until Ctrl-C.
    Serve(ServeArgs),
    /// Measure requests/s and latency of signed GetCallerIdentity, DescribeRegions, GetRole
    /// and AssumeRole calls against two servers on the mock's own transport doing nothing
    /// else (a tiny answer, and the same bytes in and out) and moto (with --moto) in the same run (build with --release for
    /// meaningful numbers).
    Bench(BenchArgs),
    /// Print the least-privilege report of a saved request log (the JSON of
    /// `GET /_mock/requests`): per principal, the policy that would have allowed its calls,
    /// and the calls it was denied. With `--html`, merge saved results into one page.
    Report(ReportArgs),
    /// Check that a server answers its health check (`GET /_mock/health`): exit 0 when it
    /// does, 1 when not. For container health checks and scripts that wait for `serve`.
    Health(HealthArgs),
}

/// Options of `trustbench health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:4566", value_name = "HOST:PORT")]
    pub address: SocketAddr,
    /// Seconds to wait for the answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    pub timeout: u64,
    /// Keep asking, every 100 ms, for up to this many seconds while the server does not
    /// answer yet or is not healthy (a server just started); default: ask once.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait: u64,
}

/// Options of `trustbench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or directories of them (default: `scenarios/`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Only scenarios whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// How many scenarios run at once (default: twice the CPUs).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Also write the results as JUnit XML here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the results as JSON here (`trustbench report --html` merges such files).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write the results as one self-contained HTML page here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Options of `trustbench conform`.
#[derive(Debug, Args)]
pub struct ConformArgs {
    /// The connector's command line (run with `sh -c`), e.g.
    /// `.venv/bin/python adapters/python/connector.py`.
    #[arg(long, value_name = "CMD")]
    pub connector: String,
    /// What the results and reports call it (default: the command), e.g. `boto3`.
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,
    /// Its manifest: the scenarios it does not support, with the reasons.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Seconds one operation may take before it counts as a failure.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,
    /// Which scenarios, how many at once, and the report files, as for `run`.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Options of `trustbench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The saved request log (`-` reads standard input); with `--html`, the JSON results of
    /// `run` and `conform` runs (`--json`) to merge into one page.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Write one HTML page of the results files here: every scenario, and a conformance
    /// matrix of the implementations they come from.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Options of `trustbench bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Seconds per operation and concurrency.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Concurrent keep-alive connections, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    pub concurrency: Vec<usize>,
    /// Also measure a moto server at this address (`moto_server -p PORT`; see
    /// `ci/bench-moto.sh`).
    #[arg(long, value_name = "HOST:PORT")]
    pub moto: Option<SocketAddr>,
    /// Measure a running `trustbench serve` (whose world has the role `bench-role`
    /// trusting account 111111111111, e.g. `ci/bench-world.yaml`) instead of a server in
    /// this process.
    #[arg(long, value_name = "HOST:PORT")]
    pub target: Option<SocketAddr>,
    /// Only this operation: sts:GetCallerIdentity, ec2:DescribeRegions, iam:GetRole or
    /// sts:AssumeRole.
    #[arg(long, value_name = "OPERATION")]
    pub only: Option<String>,
}

/// Options of `trustbench serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,
    /// World file (YAML) with the accounts, users, keys, roles and policies to serve;
    /// without it, the default world.
    #[arg(long, value_name = "FILE")]
    pub world: Option<PathBuf>,
    /// Allow listening on a non-loopback address. The server accepts anything signed with
    /// the world's keys (by default AWS's published example keys): only for a container or
    /// an isolated network.
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// `real` follows the system clock (shiftable through `POST /_mock/clock`); `virtual`
    /// stands still until moved through the control API.
    #[arg(long, value_enum, default_value_t = ClockMode::Real)]
    pub clock: ClockMode,
    /// With `--clock virtual`: the instant to start at (RFC 3339); default now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub start_time: Option<std::time::SystemTime>,
    /// How long IAM changes take to reach authentication, STS and authorization, like AWS's
    /// "up to 5 minutes": `300`, `300s`, `5m`, `1h`. Sets the delay of every kind of change
    /// without its own; default: the world file's `propagation.delay_seconds`, else 0.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub propagation_delay: Option<std::time::Duration>,
    /// Protect the control API: every `/_mock/` call but `GET /_mock/health` must send
    /// `Authorization: Bearer TOKEN`, or gets a 401. Use it whenever others can reach the
    /// server (a container, a team's shared server).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "TRUSTBENCH_CONTROL_TOKEN",
        hide_env_values = true,
        conflicts_with = "control_token_file"
    )]
    pub control_token: Option<String>,
    /// Read the control token from this file (surrounding whitespace ignored), so it stays
    /// out of the process list.
    #[arg(long, value_name = "FILE")]
    pub control_token_file: Option<PathBuf>,
}

/// How the server's clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClockMode {
    /// The system clock.
    Real,
    /// Moves only when told.
    Virtual,
}

fn parse_time(s: &str) -> Result<std::time::SystemTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(Into::into)
        .map_err(|e| format!("not an RFC 3339 time: {e}"))
}

/// `300`, `300s`, `5m`, `1h`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 300s, 5m or 1h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("`{s}` is not a duration such as 300s, 5m or 1h")),
    };
    Ok(std::time::Duration::from_secs(seconds))
}
