//! Backing off between retries of retryable storage errors.
//!
//! crm-core has no runtime, so it cannot sleep on its own: the host hands it a
//! [`RetryPause`] (on tokio: `RetryPause::new(|d| Box::pin(tokio::time::sleep(d)))`, which
//! the facade crate ships as `crm::tokio_retry_pause`). Without one, retries follow at once.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The first pause before a retry, before jitter.
pub const RETRY_BASE: Duration = Duration::from_millis(5);
/// The longest pause before a retry, before jitter.
pub const RETRY_CAP: Duration = Duration::from_millis(200);

/// A future that completes after a pause.
pub type Pause = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How the service waits before retrying: a function from a duration to a future that
/// completes after it (the host's timer). Set it in [`super::CrmConfig::retry_pause`].
#[derive(Clone)]
pub struct RetryPause(Arc<dyn Fn(Duration) -> Pause + Send + Sync>);

impl RetryPause {
    /// Wraps the host's timer.
    pub fn new(f: impl Fn(Duration) -> Pause + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Waits `d`.
    pub(crate) fn pause(&self, d: Duration) -> Pause {
        (self.0)(d)
    }
}

impl fmt::Debug for RetryPause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RetryPause(..)")
    }
}

/// The pause before retry number `attempt` (0 for the first retry): exponential from
/// [`RETRY_BASE`], capped at [`RETRY_CAP`], with "equal jitter" (a random point in the upper
/// half), so writers that collided do not retry in lockstep. `seed` varies the jitter; the
/// randomness comes from the process's hash keys (no clock is read).
pub fn backoff(attempt: u32, seed: u64) -> Duration {
    // 2^16 * RETRY_BASE is far above the cap: larger shifts change nothing.
    let ceiling = RETRY_BASE
        .saturating_mul(1 << attempt.min(16))
        .min(RETRY_CAP);
    let half = ceiling / 2;
    // At most RETRY_CAP / 2 (100 ms) in nanoseconds: fits a u64.
    let span = half.as_nanos() as u64 + 1;
    half + Duration::from_nanos(RandomState::new().hash_one((attempt, seed)) % span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        for attempt in 0..40 {
            let ceiling = (RETRY_BASE * 2u32.saturating_pow(attempt.min(16))).min(RETRY_CAP);
            for seed in 0..20 {
                let d = backoff(attempt, seed);
                assert!(d >= ceiling / 2 && d <= ceiling, "{attempt}: {d:?}");
            }
        }
        let spread: std::collections::HashSet<Duration> = (0..50).map(|s| backoff(3, s)).collect();
        assert!(spread.len() > 10, "jittered: {spread:?}");
    }
}
