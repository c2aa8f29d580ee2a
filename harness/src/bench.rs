//! `trustbench bench`: throughput and latency of the mock server against the loopback
//! ceiling of this machine and optionally a moto server, in the same run.
//!
//! Each operation's request is signed once with `aws-sigv4` (the SDK's signer) and sent
//! again and again over keep-alive connections, so the server verifies a real signature
//! and evaluates the caller's policies on every request while the load generator does
//! almost no work. Two servers on the mock's own HTTP transport ([`mock_server::serve_fixed`])
//! doing nothing else give the ceiling: one answers a tiny GET with a tiny body (the
//! machine's bare request rate), the other reads the operation's own request bytes and
//! answers the mock's own answer, headers and body, captured once (the ceiling for moving
//! these bytes: what is left between it and the mock is the mock's work). All run in this process
//! and share the machine with the load generator, so compare ratios, not absolute numbers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mock_server::{DEFAULT_IDENTITIES, MockServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::HarnessError;
use crate::signing::{Target, signed_post};

/// What one measurement found.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The operation.
    pub operation: &'static str,
    /// Concurrent connections.
    pub concurrency: usize,
    /// Requests per second.
    pub rps: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Requests answered with anything but 200.
    pub errors: u64,
}

/// The operations measured: name, signing service, form body.
const OPERATIONS: [(&str, &str, &str); 4] = [
    (
        "sts:GetCallerIdentity",
        "sts",
        "Action=GetCallerIdentity&Version=2011-06-15",
    ),
    (
        "ec2:DescribeRegions",
        "ec2",
        "Action=DescribeRegions&Version=2016-11-15",
    ),
    (
        "iam:GetRole",
        "iam",
        "Action=GetRole&RoleName=bench-role&Version=2010-05-08",
    ),
    (
        "sts:AssumeRole",
        "sts",
        "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fbench-role&RoleSessionName=bench&Version=2011-06-15",
    ),
];

/// What a benchmark measures besides the ceilings.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    /// A moto server to measure too.
    pub moto: Option<SocketAddr>,
    /// An external trustbench (`trustbench serve --world ci/bench-world.yaml`) to measure
    /// instead of one in this process.
    pub target: Option<SocketAddr>,
    /// Only this operation (`sts:AssumeRole`, …).
    pub only: Option<String>,
}

/// The trust policy of the role the benchmark reads and assumes.
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#;

/// The default world plus the role `bench-role` in account 111111111111.
fn world() -> Result<mock_server::World, HarnessError> {
    let mut world = mock_server::World::default_world();
    let role = mock_server::World::from_yaml(&format!(
        "accounts: [{{id: \"111111111111\", roles: [{{name: bench-role, trust_policy: '{TRUST}'}}]}}]"
    ))?;
    world.accounts[0].roles = role.accounts[0].roles.clone();
    Ok(world)
}

/// Runs every operation at every concurrency for `seconds` each, against the two ceilings,
/// the mock, and moto when `moto` names its address, in turn; prints a Markdown
/// table with the mock's throughput as a ratio of each peer's.
///
/// Fails when a server cannot start or a request cannot be signed.
pub async fn bench(
    seconds: u64,
    concurrencies: &[usize],
    peers: Peers,
) -> Result<Vec<Measurement>, HarnessError> {
    // An external trustbench (`serve`, with `bench-role` in its world) or one in process.
    let (address, _server) = match peers.target {
        Some(addr) => (addr, None),
        None => {
            let server = MockServer::builder().world(world()?).start().await?;
            (server.address(), Some(server))
        }
    };
    let moto = peers.moto;
    let bare = start_bare(
        http::HeaderMap::new(),
        Bytes::from_static(b"<GetCallerIdentityResponse/>"),
    )
    .await?;
    let now = mock_server::Clock::real().now();
    if let Some(moto) = moto {
        // moto needs the role to exist for GetRole.
        let create = format!(
            "Action=CreateRole&RoleName=bench-role&AssumeRolePolicyDocument={}&Version=2010-05-08",
            percent_encoding::utf8_percent_encode(TRUST, percent_encoding::NON_ALPHANUMERIC)
        );
        let mut stream = TcpStream::connect(moto).await?;
        stream
            .write_all(&signed(moto, "iam", &create, now)?)
            .await?;
        let mut buf = vec![0u8; 64 * 1024];
        let _ = read_response(&mut stream, &mut buf).await;
    }
    println!("| operation | target | concurrency | req/s | p50 | p99 | errors | mock / target |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut results = Vec::new();
    // Each operation's requests, and its same-bytes server, are made once for every
    // concurrency.
    let mut operations = Vec::new();
    for (operation, service, form) in OPERATIONS {
        if peers.only.as_deref().is_some_and(|o| o != operation) {
            continue;
        }
        let request = signed(address, service, form, now)?;
        // The same request bytes in and the mock's own answer out, with no work between.
        let (headers, body) = answer_of(address, &request).await?;
        let same = start_bare(headers, body).await?;
        let mut targets = vec![
            ("bare transport", bare, bare_request(bare)),
            ("bare transport, same bytes", same, request.clone()),
            ("trustbench", address, request),
        ];
        if let Some(moto) = moto {
            targets.push(("moto", moto, signed(moto, service, form, now)?));
        }
        operations.push((operation, targets));
    }
    for &concurrency in concurrencies {
        for (operation, targets) in &operations {
            let operation = *operation;
            let mut row = Vec::new();
            for (target, addr, request) in targets {
                let m = measure(
                    operation,
                    *addr,
                    request,
                    concurrency,
                    Duration::from_secs(seconds),
                )
                .await?;
                row.push((*target, m));
            }
            let mock = row
                .iter()
                .find(|(t, _)| *t == "trustbench")
                .map_or(0.0, |(_, m)| m.rps);
            for (target, m) in row {
                println!(
                    "| {} | {target} | {} | {:.0} | {:.1} µs | {:.1} µs | {} | {:.2} |",
                    m.operation,
                    m.concurrency,
                    m.rps,
                    m.p50.as_secs_f64() * 1e6,
                    m.p99.as_secs_f64() * 1e6,
                    m.errors,
                    if m.rps > 0.0 { mock / m.rps } else { 0.0 }
                );
                results.push(m);
            }
        }
    }
    Ok(results)
}

async fn measure(
    operation: &'static str,
    addr: SocketAddr,
    request: &[u8],
    concurrency: usize,
    duration: Duration,
) -> Result<Measurement, HarnessError> {
    let stop = Arc::new(AtomicBool::new(false));
    let request: Arc<[u8]> = Arc::from(request);
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        workers.push(tokio::spawn(worker(
            stream,
            addr,
            Arc::clone(&request),
            Arc::clone(&stop),
        )));
    }
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (lat, err) = w.await.unwrap_or_default();
        latencies.extend(lat);
        errors += err;
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).copied().unwrap_or_default()
    };
    Ok(Measurement {
        operation,
        concurrency,
        rps: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.5),
        p99: pct(0.99),
        errors,
    })
}

/// Sends `request` until told to stop; returns each latency and the count of non-200s. A
/// server that closes connections after answering (moto's says `Connection: close`) is
/// connected to again for the next request, and that counts in the latency.
async fn worker(
    stream: TcpStream,
    addr: SocketAddr,
    request: Arc<[u8]>,
    stop: Arc<AtomicBool>,
) -> (Vec<Duration>, u64) {
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut errors = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let mut open = Some(stream);
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let mut stream = match open.take() {
            Some(s) => s,
            None => match TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    s
                }
                Err(_) => break,
            },
        };
        if stream.write_all(&request).await.is_err() {
            break;
        }
        // A server that stops answering ends the worker instead of hanging it.
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            read_response(&mut stream, &mut buf),
        )
        .await
        .ok()
        .flatten();
        let Some((status, keep_alive, _)) = answer else {
            break;
        };
        latencies.push(t.elapsed());
        if status != 200 {
            errors += 1;
        }
        if keep_alive {
            open = Some(stream);
        }
    }
    (latencies, errors)
}

/// Reads one HTTP/1.1 response with a Content-Length body; returns its status, whether
/// the connection stays open, and where the body is in `buf`.
async fn read_response(
    stream: &mut TcpStream,
    buf: &mut [u8],
) -> Option<(u16, bool, std::ops::Range<usize>)> {
    let mut filled = 0;
    let head_end = loop {
        let n = stream.read(&mut buf[filled..]).await.ok()?;
        if n == 0 {
            return None;
        }
        filled += n;
        if let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let keep_alive = !header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let total = head_end + 4 + length;
    while filled < total {
        let n = stream.read(&mut buf[filled..]).await.ok()?;
        if n == 0 {
            return None;
        }
        filled += n;
    }
    Some((status, keep_alive, head_end + 4..total))
}

fn signed(
    addr: SocketAddr,
    service: &str,
    form: &str,
    time: std::time::SystemTime,
) -> Result<Vec<u8>, HarnessError> {
    let target = Target {
        addr,
        who: &DEFAULT_IDENTITIES[0],
        service,
        region: "us-east-1",
        time,
    };
    Ok(signed_post(&target, form, &[])?)
}

fn bare_request(addr: SocketAddr) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nhost: {addr}\r\n\r\n").into_bytes()
}

/// A ceiling: the server's own transport reading each request and answering `headers`
/// and `body`, nothing else.
async fn start_bare(headers: http::HeaderMap, body: Bytes) -> Result<SocketAddr, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(mock_server::serve_fixed(listener, headers, body));
    Ok(addr)
}

/// The mock's answer to `request`, to serve as the same-bytes ceiling's fixed answer: its
/// headers (but those the transport writes itself) and its body.
async fn answer_of(
    addr: SocketAddr,
    request: &[u8],
) -> Result<(http::HeaderMap, Bytes), HarnessError> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    let mut buf = vec![0u8; 64 * 1024];
    let no_answer = || std::io::Error::other(format!("no answer from {addr}"));
    let (_, _, body) = read_response(&mut stream, &mut buf)
        .await
        .ok_or_else(no_answer)?;
    let head = std::str::from_utf8(&buf[..body.start]).map_err(|_| no_answer())?;
    let mut headers = http::HeaderMap::new();
    for (name, value) in head.lines().skip(1).filter_map(|l| l.split_once(':')) {
        let name = http::HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| no_answer())?;
        if name != http::header::CONTENT_LENGTH {
            let value = http::HeaderValue::from_str(value.trim()).map_err(|_| no_answer())?;
            headers.append(name, value);
        }
    }
    Ok((headers, Bytes::copy_from_slice(&buf[body])))
}
