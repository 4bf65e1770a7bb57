//! The clock: the one place in crossauthz that reads the system time.
//!
//! Every function that checks validity takes `now` explicitly; services obtain it from a
//! [`Clock`] so tests can pin or advance time with [`FixedClock`].

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current instant in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock. The only code in the workspace that reads the system time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock for tests: returns a fixed instant that can be set or advanced.
///
/// Clones share the same instant, so a test can keep one handle and give another to a service.
#[derive(Debug, Clone)]
pub struct FixedClock {
    instant: Arc<Mutex<DateTime<Utc>>>,
}

impl FixedClock {
    /// A clock stopped at `instant`.
    pub fn new(instant: DateTime<Utc>) -> Self {
        Self {
            instant: Arc::new(Mutex::new(instant)),
        }
    }

    /// A clock stopped at the given unix time in seconds; `None` if out of chrono's range.
    pub fn at_unix(seconds: i64) -> Option<Self> {
        DateTime::from_timestamp(seconds, 0).map(Self::new)
    }

    /// Moves the clock to `instant` (backwards is allowed).
    pub fn set(&self, instant: DateTime<Utc>) {
        *self.instant.lock().unwrap_or_else(PoisonError::into_inner) = instant;
    }

    /// Moves the clock forward by `by` (a negative duration moves it back). Saturates at chrono's
    /// representable range instead of panicking.
    pub fn advance(&self, by: Duration) {
        let mut guard = self.instant.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(next) = guard.checked_add_signed(by) {
            *guard = next;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.instant.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_is_settable_and_advanceable() {
        let clock = FixedClock::at_unix(1_700_000_000).unwrap();
        assert_eq!(clock.now().timestamp(), 1_700_000_000);
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now().timestamp(), 1_700_000_090);
        let shared = clock.clone();
        shared.set(DateTime::from_timestamp(5, 0).unwrap());
        assert_eq!(clock.now().timestamp(), 5, "clones share the instant");
        clock.advance(Duration::seconds(-5));
        assert_eq!(clock.now().timestamp(), 0);
    }

    #[test]
    fn fixed_clock_advance_saturates_instead_of_panicking() {
        let clock = FixedClock::new(DateTime::<Utc>::MAX_UTC);
        clock.advance(Duration::days(1));
        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn clock_is_object_safe_and_works_through_arc() {
        let clock: Arc<dyn Clock> = Arc::new(FixedClock::at_unix(42).unwrap());
        assert_eq!(clock.now().timestamp(), 42);
        let system = SystemClock;
        assert!(system.now().timestamp() > 1_600_000_000);
    }
}
