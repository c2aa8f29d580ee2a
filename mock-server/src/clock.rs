//! The server's only "now".
//!
//! Everything time-dependent (the SigV4 ±15-minute window, credential expiry, the `Date`
//! response header) reads [`Clock::now`]. A clock is either real time plus an offset, or
//! virtual: it stands still until a test moves it with [`Clock::advance`] or [`Clock::set`].
//! Both are lock-free (one atomic), so reading the clock costs nothing on the request path.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Something to run whenever the clock is moved (told the new now).
pub(crate) type Listener = dyn Fn(SystemTime) + Send + Sync;

/// A shareable handle to one server's clock. Clones see the same time.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Inner>,
}

struct Inner {
    mode: Mode,
    /// Real mode: offset from the system clock. Virtual mode: the current instant.
    /// Nanoseconds relative to the Unix epoch (virtual) or signed offset (real).
    nanos: AtomicI64,
    /// What `nanos` held when the clock was made: where [`Clock::reset`] puts it back.
    start: i64,
    /// Told when the clock is moved; held weakly, so a dropped server's are skipped.
    listeners: Mutex<Vec<Weak<Listener>>>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("mode", &self.mode)
            .field("nanos", &self.nanos)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Real,
    Virtual,
}

impl Clock {
    /// A clock that follows the system clock (shiftable with `advance`/`set`).
    pub fn real() -> Self {
        Self::new(Mode::Real, 0)
    }

    /// A clock that stands still at `start` until moved.
    pub fn virtual_at(start: SystemTime) -> Self {
        Self::new(Mode::Virtual, to_nanos(start))
    }

    /// A virtual clock starting at the current system time.
    pub fn virtual_now() -> Self {
        Self::virtual_at(system_now())
    }

    fn new(mode: Mode, nanos: i64) -> Self {
        Self {
            inner: Arc::new(Inner {
                mode,
                nanos: AtomicI64::new(nanos),
                start: nanos,
                listeners: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Whether the clock moves only when told.
    pub fn is_virtual(&self) -> bool {
        self.inner.mode == Mode::Virtual
    }

    /// The current instant on this clock.
    pub fn now(&self) -> SystemTime {
        let n = self.inner.nanos.load(Ordering::Acquire);
        match self.inner.mode {
            Mode::Virtual => from_nanos(n),
            Mode::Real => from_nanos(to_nanos(system_now()).saturating_add(n)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        self.inner.nanos.fetch_add(by, Ordering::AcqRel);
        self.moved();
    }

    /// Runs `listener` after every later move of the clock, for as long as it lives.
    pub(crate) fn on_move(&self, listener: &Arc<Listener>) {
        self.listeners().push(Arc::downgrade(listener));
    }

    fn listeners(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Listener>>> {
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tells the listeners (outside the lock: they may read the clock).
    fn moved(&self) {
        let live: Vec<Arc<Listener>> = {
            let mut listeners = self.listeners();
            listeners.retain(|l| l.strong_count() > 0);
            listeners.iter().filter_map(Weak::upgrade).collect()
        };
        let now = self.now();
        for listener in live {
            listener(now);
        }
    }

    /// Undoes every move: a virtual clock goes back to its start, a real-time one loses its
    /// offset and follows the system clock again (what a server reset does, so other
    /// processes signing with the machine's clock are within the SigV4 window again).
    pub fn reset(&self) {
        self.inner.nanos.store(self.inner.start, Ordering::Release);
        self.moved();
    }

    /// Puts the clock at `instant` (in real mode, by shifting its offset).
    pub fn set(&self, instant: SystemTime) {
        let target = to_nanos(instant);
        let value = match self.inner.mode {
            Mode::Virtual => target,
            Mode::Real => target.saturating_sub(to_nanos(system_now())),
        };
        self.inner.nanos.store(value, Ordering::Release);
        self.moved();
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "clock.rs is the one place that reads the system clock"
)]
fn system_now() -> SystemTime {
    SystemTime::now()
}

fn to_nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

fn from_nanos(n: i64) -> SystemTime {
    if n >= 0 {
        UNIX_EPOCH + Duration::from_nanos(n.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_nanos(n.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_stands_still_until_moved() {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = Clock::virtual_at(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(300));
        assert_eq!(clock.now(), start + Duration::from_secs(300));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn real_clock_can_be_shifted() {
        let clock = Clock::real();
        clock.advance(Duration::from_secs(3600));
        let ahead = clock.now().duration_since(system_now()).unwrap_or_default();
        assert!(ahead > Duration::from_secs(3590), "{ahead:?}");
        let past = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        clock.set(past);
        let diff = clock.now().duration_since(past).unwrap_or_default();
        assert!(diff < Duration::from_secs(5), "{diff:?}");
    }

    #[test]
    fn reset_undoes_every_move() {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let virtual_clock = Clock::virtual_at(start);
        virtual_clock.advance(Duration::from_secs(86_400));
        virtual_clock.reset();
        assert_eq!(virtual_clock.now(), start);

        let real = Clock::real();
        real.advance(Duration::from_secs(3600));
        real.reset();
        let off = match real.now().duration_since(system_now()) {
            Ok(ahead) => ahead,
            Err(behind) => behind.duration(),
        };
        assert!(
            off < Duration::from_secs(5),
            "{off:?} from the system clock"
        );
    }
}
