//! Instance metadata at the root of a port of its own, one per `ec2` delegate (and per pod
//! on a node: its node's metadata, one hop further away), as at `169.254.169.254` on an
//! instance.
//!
//! SDKs differ in what they keep of `AWS_EC2_METADATA_SERVICE_ENDPOINT`: botocore and
//! aws-config join `latest/api/token` to a path in it, the AWS SDK for JavaScript v3 keeps
//! only `scheme://host:port` and asks at the root (see `docs/delegates.md`). A port whose
//! root is the instance's metadata serves them all. Each delegate's port lives as long as
//! the delegate and the server: a world load, a reset or an added delegate opens the ports
//! of new `ec2` delegates and closes those of delegates that went; a delegate replaced by
//! one of the same name keeps its port, so its environment stays valid. The listeners only
//! hold the server weakly: when the server goes, so do they.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::watch;

use crate::iam::state::Iam;
use crate::state::State;
use crate::transport;

/// The ports of one server's `ec2` delegates.
#[derive(Debug, Default)]
pub(crate) struct Ports {
    bound: Mutex<HashMap<String, Bound>>,
    /// Set when the server starts listening; before that (and in the fuzzing entry points,
    /// which use no sockets) nothing is bound.
    serving: OnceLock<Serving>,
}

/// What a delegate's listener needs of the server.
#[derive(Debug)]
struct Serving {
    runtime: tokio::runtime::Handle,
    state: Weak<State>,
    idle: Duration,
}

/// One delegate's listeners.
#[derive(Debug)]
struct Bound {
    ipv4: SocketAddr,
    ipv6: Option<SocketAddr>,
    /// Dropping it (or sending) closes the delegate's listeners and connections.
    _stop: watch::Sender<bool>,
}

/// The instance metadata endpoint a process on the delegate is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `127.0.0.1:PORT`, always served.
    pub(crate) ipv4: SocketAddr,
    /// `[::1]:PORT`, when the delegate has the IPv6 endpoint enabled.
    pub(crate) ipv6: Option<SocketAddr>,
}

impl Ports {
    /// Starts serving: binds the ports of the world's `ec2` delegates now and of later ones
    /// when [`sync`](Self::sync) is called. Fails when a port cannot be bound.
    pub(crate) fn start(&self, state: &Arc<State>, idle: Duration) -> std::io::Result<()> {
        let serving = Serving {
            runtime: tokio::runtime::Handle::current(),
            state: Arc::downgrade(state),
            idle,
        };
        // A second start (there is none) would keep the first one's settings.
        let _ = self.serving.set(serving);
        self.sync(&state.iam)
    }

    /// Opens the ports of the world's `ec2` delegates that have none and closes the others.
    /// Fails (with the first error) when a port cannot be bound; every other delegate still
    /// gets its port.
    pub(crate) fn sync(&self, iam: &Iam) -> std::io::Result<()> {
        let Some(serving) = self.serving.get() else {
            return Ok(());
        };
        let mut bound = self.lock();
        // Read under the lock: of two syncs racing, the later sees the later world.
        let world = iam.world();
        bound.retain(|name, b| {
            world.delegates.iter().any(|d| {
                &d.name == name
                    && d.has_instance_metadata()
                    && d.ipv6_endpoint() == b.ipv6.is_some()
            })
        });
        let mut failed = Ok(());
        for d in world.delegates.iter().filter(|d| d.has_instance_metadata()) {
            if bound.contains_key(&d.name) {
                continue;
            }
            match serving.bind(&d.name, d.ipv6_endpoint()) {
                Ok(b) => {
                    bound.insert(d.name.clone(), b);
                }
                // The others still get theirs; this one's environment disables instance
                // metadata (see `delegates::env`), so no SDK falls back to a real one.
                Err(e) => failed = failed.and(Err(e)),
            }
        }
        failed
    }

    /// Where the delegate `name`'s instance metadata is served, if it has a port.
    pub(crate) fn endpoint(&self, name: &str) -> Option<Endpoint> {
        self.lock().get(name).map(|b| Endpoint {
            ipv4: b.ipv4,
            ipv6: b.ipv6,
        })
    }

    /// Closes every port (the server is stopping).
    pub(crate) fn close_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bound>> {
        // Holders only insert or remove whole entries, so a poisoned map is consistent.
        self.bound
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Serving {
    /// Binds the delegate's loopback port(s) and serves its instance metadata on them.
    fn bind(&self, name: &str, ipv6: bool) -> std::io::Result<Bound> {
        let (stop, stopped) = watch::channel(false);
        let ipv4 = self.listen(name, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), &stopped)?;
        let ipv6 = if ipv6 {
            Some(self.listen(name, SocketAddr::from((Ipv6Addr::LOCALHOST, 0)), &stopped)?)
        } else {
            None
        };
        Ok(Bound {
            ipv4,
            ipv6,
            _stop: stop,
        })
    }

    fn listen(
        &self,
        name: &str,
        addr: SocketAddr,
        stopped: &watch::Receiver<bool>,
    ) -> std::io::Result<SocketAddr> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let _entered = self.runtime.enter();
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let state = Weak::clone(&self.state);
        let idle = self.idle;
        tracing::debug!(delegate = name, %addr, "instance metadata listening");
        let name: Arc<str> = Arc::from(name);
        self.runtime.spawn(transport::accept_loop(
            listener,
            stopped.clone(),
            self.idle,
            move |req, _peer| {
                let state = Weak::clone(&state);
                let name = Arc::clone(&name);
                async move {
                    match state.upgrade() {
                        Some(state) => {
                            let (parts, _body) = req.into_parts();
                            match super::serve_instance(&state, &name, &parts) {
                                super::Delivery::Answered(response, fault) => {
                                    transport::deliver(response, fault).await
                                }
                                // Nothing arrives: the asker times out and goes; the
                                // connection is dropped once it has been idle that long.
                                super::Delivery::BeyondHopLimit => {
                                    drop(state);
                                    tokio::time::sleep(idle).await;
                                    Err(transport::Dropped)
                                }
                            }
                        }
                        None => Err(transport::Dropped),
                    }
                }
            },
        ));
        Ok(addr)
    }
}
