//! Command-line types: clap parses, [`crate::run`] acts.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// trustbench: a fake of AWS STS, IAM and EC2 that enforces SigV4, IAM policies, trust and
/// partitions, and a harness that drives real AWS credential code against it.
#[derive(Debug, Parser)]
#[command(name = "trustbench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start an embedded server and run the connector checks against it with the real AWS
    /// SDK clients (the main job). Exit 0 when all pass, 1 when some fail, 2 when none could run.
    Run,
    /// Serve the fake STS, IAM and EC2 endpoints until Ctrl-C.
    Serve(ServeArgs),
    /// Measure requests/s and latency of signed STS and EC2 calls against a bare hyper
    /// server in the same run (build with --release for meaningful numbers).
    Bench(BenchArgs),
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
}
