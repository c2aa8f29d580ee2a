//! HTTP/1 transport: accepting connections on a listener and serving each request with a
//! function, with the limits every port of a server shares, and delivering a response as a
//! fault rule says (late, not at all, cut short). Used by the server's own port and by the
//! delegates' instance metadata ports.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::faults::FaultEffect;
use crate::wire::Body;

/// The largest request head (request line and headers) accepted.
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Sends the response as a struck fault says: late, not at all, or cut short.
pub(crate) async fn deliver(
    response: Response<Body>,
    fault: Option<FaultEffect>,
) -> Result<Response<Body>, Dropped> {
    match fault {
        Some(FaultEffect::Latency(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(response)
        }
        Some(FaultEffect::DropConnection) => Err(Dropped),
        Some(FaultEffect::TruncateBody) => Ok(truncate(response)),
        _ => Ok(response),
    }
}

/// A fault rule closed the connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by a fault rule")]
pub(crate) struct Dropped;

/// The response with its full `Content-Length` but half its body: the client sees the
/// connection end early.
fn truncate(response: Response<Body>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let full = body.into_inner().unwrap_or_default();
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(full.len()),
    );
    Response::from_parts(parts, Body::new(full.slice(..full.len() / 2)))
}

/// Accepts connections on `listener` until `stop` changes (or its sender goes), serving
/// each request with `serve` (given the request and the peer's address). Connections close
/// gracefully on stop.
pub(crate) async fn accept_loop<S, F>(
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    idle: Duration,
    serve: S,
) where
    S: Fn(Request<Incoming>, IpAddr) -> F + Clone + Send + 'static,
    F: Future<Output = Result<Response<Body>, Dropped>> + Send + 'static,
{
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: keep serving the others.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let serve = serve.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| serve(req, peer.ip()));
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(idle)
                // Request heads over 32 KiB get hyper's 431; the buffer must hold one to tell.
                .max_header_size(MAX_HEADER_BYTES)
                .max_buf_size(4 * MAX_HEADER_BYTES)
                // The Date header comes from the server clock (see `wire::http_date`).
                .auto_date_header(false)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}
