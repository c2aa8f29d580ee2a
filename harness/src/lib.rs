//! # trustbench harness
//!
//! Drives real AWS credential-resolution code (`aws-config` and the `aws-sdk-*` clients)
//! against the [`mock_server`]. `sdk` builds every SDK configuration; `connector` is the
//! reference AWS connector; `errors` reads AWS's error codes from SDK errors; `scenario` the scenario format, `runner` plays scenarios and
//! `output` reports them (`trustbench run`); `serve` runs the server as a process.

#![warn(missing_docs)]

pub mod bench;
pub mod cli;
pub mod conform;
pub mod connector;
pub mod deployments;
pub mod errors;
pub mod html;
pub mod output;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sdk;
pub mod serve;
pub mod signing;

use std::process::ExitCode;

use cli::{Cli, Command};
use mock_server::{StartError, WorldError};

/// Why a command could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The world file is unreadable or invalid.
    #[error(transparent)]
    World(#[from] WorldError),
    /// The server could not start.
    #[error("cannot start the mock server")]
    Start(#[from] StartError),
    /// Writing output or a benchmark connection failed.
    #[error("i/o error")]
    Io(#[from] std::io::Error),
    /// A saved request log is not the JSON of `GET /_mock/requests`.
    #[error("not a request log (the JSON of GET /_mock/requests)")]
    RequestLog(#[from] serde_json::Error),
    /// Scenario or manifest files could not be found or read.
    #[error(transparent)]
    File(#[from] scenario::FileError),
    /// The control token is empty or its file unreadable.
    #[error("control token: {0}")]
    ControlToken(String),
    /// A benchmark request could not be signed.
    #[error(transparent)]
    Signing(#[from] signing::SigningError),
    /// `trustbench report` was given files it cannot use.
    #[error("{0}")]
    Results(String),
}

/// Runs a parsed command line. `Ok` carries the exit code: 0 when everything passed, 1 when
/// some check failed. Fails (exit 2) when nothing could run.
pub async fn run(cli: Cli) -> Result<ExitCode, HarnessError> {
    match cli.command {
        Command::Serve(args) => serve::serve(args).await.map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench::bench(
            args.seconds,
            &args.concurrency,
            bench::Peers {
                moto: args.moto,
                target: args.target,
                only: args.only,
            },
        )
        .await
        .map(|_| ExitCode::SUCCESS),
        Command::Report(args) => report::report(&args).map(|()| ExitCode::SUCCESS),
        Command::Health(args) => Ok(serve::health(&args).await),
        Command::Run(args) => output::run(args).await,
        Command::Conform(args) => output::conform(args).await,
    }
}
