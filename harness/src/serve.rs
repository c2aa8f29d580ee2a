//! `trustbench serve`: the mock server as a process.

use std::io::Write;

use mock_server::{Clock, DEFAULT_IDENTITIES, MockServer, World};

use crate::HarnessError;
use crate::cli::{ClockMode, HealthArgs, ServeArgs};

/// Starts the server, prints its endpoint and credentials, and serves until Ctrl-C or
/// SIGTERM. Fails when the world file is invalid or the address cannot be bound.
pub async fn serve(args: ServeArgs) -> Result<(), HarnessError> {
    let (world, custom) = match &args.world {
        Some(path) => (World::load(path)?, true),
        None => (World::default_world(), false),
    };
    let clock = match args.clock {
        ClockMode::Real => Clock::real(),
        ClockMode::Virtual => args
            .start_time
            .map_or_else(Clock::virtual_now, Clock::virtual_at),
    };
    let mut builder = MockServer::builder().world(world);
    if let Some(delay) = args.propagation_delay {
        builder = builder.propagation_delay(delay);
    }
    let token = control_token(&args)?;
    if let Some(token) = &token {
        builder = builder.control_token(token.clone());
    } else if !args.listen.ip().is_loopback() {
        eprintln!(
            "trustbench: warning: the control API (/_mock/: world, clock, faults) is open to anyone who can reach {}; protect it with --control-token",
            args.listen
        );
    }
    let server = builder
        .listen(args.listen)
        .allow_non_loopback(args.allow_non_loopback)
        .clock(clock)
        .start()
        .await?;
    let stopped = shutdown_signal();
    let mut out = std::io::stdout().lock();
    writeln!(out, "trustbench: serving STS, IAM and EC2 (Ctrl-C to stop)")?;
    writeln!(out, "endpoint: {}", server.endpoint())?;
    if token.is_some() {
        writeln!(
            out,
            "control API: protected (Authorization: Bearer <the control token>)"
        )?;
    }
    if custom {
        writeln!(
            out,
            "world: {}",
            args.world
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )?;
    } else {
        // These are AWS's published documentation example keys, valid nowhere but here.
        writeln!(out, "default identities (AWS documentation example keys):")?;
        for id in &DEFAULT_IDENTITIES {
            writeln!(
                out,
                "  {:<11} {}  {:<5}  AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
                id.partition, id.account, id.user, id.access_key_id, id.secret_access_key
            )?;
        }
    }
    out.flush()?;
    drop(out);
    stopped.await;
    drop(server);
    Ok(())
}

/// Asks the server at `args.address` for `GET /_mock/health`; prints what it found.
pub async fn health(args: &HealthArgs) -> std::process::ExitCode {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(args.wait);
    loop {
        match probe(args).await {
            Ok(()) => {
                println!("trustbench at {} is healthy", args.address);
                return std::process::ExitCode::SUCCESS;
            }
            Err(why) if tokio::time::Instant::now() >= deadline => {
                eprintln!("trustbench at {} {why}", args.address);
                return std::process::ExitCode::FAILURE;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}

/// One `GET /_mock/health`; what went wrong, if it did.
async fn probe(args: &HealthArgs) -> Result<(), String> {
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(args.address).await?;
        let request = format!(
            "GET /_mock/health HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
            args.address
        );
        tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await?;
        let mut answer = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(args.timeout), ask).await {
        Ok(Ok(answer))
            if answer.starts_with("HTTP/1.1 200") && answer.contains(r#""status":"ok""#) =>
        {
            Ok(())
        }
        Ok(Ok(answer)) => Err(format!(
            "is not healthy: {}",
            answer.lines().next().unwrap_or_default()
        )),
        Ok(Err(e)) => Err(format!("is not answering: {e}")),
        Err(_) => Err(format!("did not answer within {} s", args.timeout)),
    }
}

/// The control token from `--control-token` (or `TRUSTBENCH_CONTROL_TOKEN`) or
/// `--control-token-file`; refuses an empty one.
fn control_token(args: &ServeArgs) -> Result<Option<String>, HarnessError> {
    let token = match (&args.control_token, &args.control_token_file) {
        (Some(token), _) => token.trim().to_owned(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| HarnessError::ControlToken(format!("{}: {e}", path.display())))?
            .trim()
            .to_owned(),
        (None, None) => return Ok(None),
    };
    if token.is_empty() {
        return Err(HarnessError::ControlToken("the token is empty".into()));
    }
    Ok(Some(token))
}

/// Waits for Ctrl-C or SIGTERM. The handlers are installed when this is called, so call it
/// before telling anyone the server is up: a signal that arrives in between must not kill
/// the process uncleanly.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
