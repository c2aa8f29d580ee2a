//! HTTP/1 transport: accepting connections on a listener and serving each request with a
//! function, with the limits every port of a server shares, and delivering a response as a
//! fault rule says (late, not at all, cut short). Used by the server's own port and by the
//! delegates' instance metadata ports.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use atomic_waker::AtomicWaker;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::error::AwsError;
use crate::faults::FaultEffect;
use crate::wire::Body;

/// The largest body accepted (AWS query APIs refuse larger ones too).
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// The largest request head (request line and headers) accepted.
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Sends the response as a struck fault says: late, not at all, or cut short.
pub(crate) async fn deliver(
    response: Response<Body>,
    fault: Option<FaultEffect>,
) -> Result<Response<Delivered>, Dropped> {
    match fault {
        Some(FaultEffect::Latency(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(whole(response))
        }
        Some(FaultEffect::DropConnection) => Err(Dropped),
        Some(FaultEffect::TruncateBody) => Ok(truncate(response)),
        _ => Ok(whole(response)),
    }
}

/// The response, sent whole.
pub(crate) fn whole(response: Response<Body>) -> Response<Delivered> {
    response.map(|body| Delivered {
        data: body.into_inner().unwrap_or_default(),
        ending: Ending::Whole,
    })
}

/// A fault rule struck: the connection drops without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by a fault rule")]
pub(crate) struct Dropped;

/// The response with its full `Content-Length` but half its body, after which the
/// connection closes: the client reads the head and half the body, then the end of the
/// connection, however it reads (keep-alive or not). hyper drops what it has not written
/// when the body fails, so a client whose socket is full at that moment (an answer larger
/// than the socket's buffer, read slowly) gets less than half.
fn truncate(response: Response<Body>) -> Response<Delivered> {
    let (mut parts, body) = response.into_parts();
    let full = body.into_inner().unwrap_or_default();
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(full.len()),
    );
    let half = Delivered {
        data: full.slice(..full.len() / 2),
        ending: Ending::FlushThenFail,
    };
    Response::from_parts(parts, half)
}

/// A response body as the transport sends it: its bytes, and for a body a fault rule cuts
/// short, an error once they are on their way. hyper ends the connection on a body's error,
/// without writing the rest its `Content-Length` promised.
#[derive(Debug)]
pub(crate) struct Delivered {
    data: Bytes,
    ending: Ending,
}

/// How a body ends once its bytes are out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Whole,
    /// Pause once, so that hyper sends what it holds (it drops unsent bytes on an error),
    /// then fail.
    FlushThenFail,
    Fail,
}

/// The error a cut-short body ends with.
#[derive(Debug, thiserror::Error)]
#[error("response body cut short by a fault rule")]
pub(crate) struct CutShort;

impl hyper::body::Body for Delivered {
    type Data = Bytes;
    type Error = CutShort;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, CutShort>>> {
        let this = self.get_mut();
        if !this.data.is_empty() {
            let data = std::mem::take(&mut this.data);
            return Poll::Ready(Some(Ok(hyper::body::Frame::data(data))));
        }
        match this.ending {
            Ending::Whole => Poll::Ready(None),
            Ending::FlushThenFail => {
                this.ending = Ending::Fail;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Ending::Fail => {
                this.ending = Ending::Whole;
                Poll::Ready(Some(Err(CutShort)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty() && self.ending == Ending::Whole
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        let len = self.data.len() as u64;
        match self.ending {
            Ending::Whole => hyper::body::SizeHint::with_exact(len),
            // Not exact: the `Content-Length` header says what was promised.
            Ending::FlushThenFail | Ending::Fail => {
                let mut hint = hyper::body::SizeHint::new();
                hint.set_lower(len);
                hint
            }
        }
    }
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
    F: Future<Output = Result<Response<Delivered>, Dropped>> + Send + 'static,
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
            let conn = SelfWaking::new(conn);
            tokio::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().inner().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}

/// Serves every connection on `listener` with the server's own HTTP transport, answering
/// every request with `headers` and `body` once its own body is read, and doing nothing
/// else: the ceiling `trustbench bench` measures the mock against (the same transport moving
/// the same bytes, so what is left between the two is the mock's work). Serves until
/// dropped.
pub async fn serve_fixed(listener: TcpListener, headers: http::HeaderMap, body: Bytes) {
    let (_serving, stop) = watch::channel(false);
    let idle = Duration::from_secs(60);
    accept_loop(listener, stop, idle, move |req: Request<Incoming>, _| {
        let (headers, body) = (headers.clone(), body.clone());
        async move {
            let _ = read_body(req.into_body(), idle).await;
            let mut response = whole(Response::new(Body::new(body)));
            *response.headers_mut() = headers;
            Ok(response)
        }
    })
    .await;
}

/// Reads the whole body, refusing more than [`MAX_BODY`] bytes and bodies that stall.
pub(crate) async fn read_body(body: Incoming, timeout: Duration) -> Result<Bytes, AwsError> {
    let read = Limited::new(body, MAX_BODY).collect();
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(AwsError::request_entity_too_large(MAX_BODY))
        }
        Ok(Err(_)) => Err(AwsError::new(
            http::StatusCode::BAD_REQUEST,
            "MalformedInput",
            "The request body could not be read",
        )),
        Err(_) => Err(AwsError::new(
            http::StatusCode::REQUEST_TIMEOUT,
            "RequestTimeout",
            "Your socket connection to the server was not read from or written to within the timeout period.",
        )),
    }
}

/// A connection polled again at once when it wakes itself while being polled.
///
/// hyper's HTTP/1 dispatcher wakes its own task while serving a request with a body (the
/// body channel's "want" signal, then the body's data). Tokio re-queues a task woken while
/// it runs as if it had yielded, and wakes another worker thread to share the queue, which
/// then often takes the connection over: at concurrency 1 every request crossed threads,
/// and took 3× as long (BENCHMARKS.md). Polling again in place answers the same wake
/// without the other thread. Wakes from anywhere else (the socket, timers) reach the task
/// as usual, and a connection that keeps waking itself yields after [`SELF_WAKE_POLLS`]
/// polls, or when its cooperative budget is spent, as it would have.
struct SelfWaking<F> {
    inner: Pin<Box<F>>,
    shared: Arc<SelfWake>,
    /// A waker for `shared`, made once.
    waker: Waker,
}

/// Polls in a row a self-waking connection gets before it yields to the scheduler.
const SELF_WAKE_POLLS: usize = 16;

/// Not being polled: a wake goes to the task.
const IDLE: u8 = 0;
/// Being polled: a wake is noted.
const POLLING: u8 = 1;
/// Woken while being polled: the poll loop polls again.
const WOKEN: u8 = 2;

/// The waker a [`SelfWaking`] connection gets.
struct SelfWake {
    state: AtomicU8,
    task: AtomicWaker,
}

impl Wake for SelfWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        match (self.state).compare_exchange(POLLING, WOKEN, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) | Err(WOKEN) => {}
            Err(_) => self.task.wake(),
        }
    }
}

impl<F> SelfWaking<F> {
    fn new(inner: F) -> Self {
        let shared = Arc::new(SelfWake {
            state: AtomicU8::new(IDLE),
            task: AtomicWaker::new(),
        });
        let waker = Waker::from(Arc::clone(&shared));
        SelfWaking {
            inner: Box::pin(inner),
            shared,
            waker,
        }
    }

    fn inner(self: Pin<&mut Self>) -> Pin<&mut F> {
        self.get_mut().inner.as_mut()
    }
}

impl<F: Future> Future for SelfWaking<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        this.shared.task.register(cx.waker());
        let mut inner_cx = Context::from_waker(&this.waker);
        for _ in 0..SELF_WAKE_POLLS {
            this.shared.state.store(POLLING, Ordering::Release);
            if let Poll::Ready(out) = this.inner.as_mut().poll(&mut inner_cx) {
                this.shared.state.store(IDLE, Ordering::Release);
                return Poll::Ready(out);
            }
            let state = this.shared.state.swap(IDLE, Ordering::AcqRel);
            // A spent cooperative budget makes Tokio's resources wake the task and answer
            // Pending: only the scheduler gives a new one.
            if state != WOKEN || !tokio::task::coop::has_budget_remaining() {
                if state == WOKEN {
                    cx.waker().wake_by_ref();
                }
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use super::*;

    /// Wakes itself `times` times, then is ready; counts its polls.
    struct WakesItself {
        times: usize,
        polls: usize,
    }

    impl Future for WakesItself {
        type Output = usize;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls += 1;
            if self.times == 0 {
                return Poll::Ready(self.polls);
            }
            self.times -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// A waker that counts its wakes.
    struct Counter(std::sync::atomic::AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter(std::sync::atomic::AtomicUsize::new(0)));
        (Arc::clone(&counter), Waker::from(counter))
    }

    #[test]
    fn a_self_wake_is_answered_in_place_without_waking_the_task() {
        let (count, waker) = counter();
        let mut cx = Context::from_waker(&waker);
        let mut conn = pin!(SelfWaking::new(WakesItself { times: 3, polls: 0 }));
        assert_eq!(conn.as_mut().poll(&mut cx), Poll::Ready(4));
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_connection_that_keeps_waking_itself_yields() {
        let (count, waker) = counter();
        let mut cx = Context::from_waker(&waker);
        let mut conn = pin!(SelfWaking::new(WakesItself {
            times: 100,
            polls: 0
        }));
        assert_eq!(conn.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(conn.inner.polls, SELF_WAKE_POLLS);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn wakes_after_the_poll_reach_the_task() {
        let (count, waker) = counter();
        let mut cx = Context::from_waker(&waker);
        // Pending without waking itself: waits for someone else.
        let mut conn = pin!(SelfWaking::new(std::future::pending::<()>()));
        assert_eq!(conn.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        conn.waker.wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // Polled again (as the wake asked), it waits again, and the next wake arrives too.
        assert_eq!(conn.as_mut().poll(&mut cx), Poll::Pending);
        Waker::from(Arc::clone(&conn.shared)).wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wake_from_another_thread_while_polled_is_not_lost() {
        // The inner future is woken from another thread on every poll; each wake must
        // either re-poll in place or reach the task, or the join below never finishes.
        for _ in 0..1000 {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let sender = std::thread::spawn(move || tx.send(()));
            let conn = SelfWaking::new(rx);
            let got = tokio::time::timeout(Duration::from_secs(5), conn).await;
            assert!(matches!(got, Ok(Ok(()))));
            let _ = sender.join();
        }
    }
}
