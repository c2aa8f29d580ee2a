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
