//! The retry policy: full-jitter exponential backoff, with the clock and the randomness injectable so the
//! engine's tests are deterministic.

use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
  /// Retries per item after its first attempt.
  pub max_retries: u32,
  pub base_delay: Duration,
  pub max_delay: Duration,
}

impl Default for RetryPolicy {
  fn default() -> Self {
    RetryPolicy {
      max_retries: 10,
      base_delay: Duration::from_millis(50),
      max_delay: Duration::from_secs(5),
    }
  }
}

impl RetryPolicy {
  /// The ceiling of the delay before retry number `retry` (1-based): min(max, base * 2^(retry-1)).
  pub fn ceiling(&self, retry: u32) -> Duration {
    let exp = retry.saturating_sub(1).min(30);
    self
      .base_delay
      .saturating_mul(1u32 << exp)
      .min(self.max_delay)
  }

  /// Full jitter: a uniformly random delay in [0, ceiling], `unit` being a random number in [0, 1).
  pub fn delay(&self, retry: u32, unit: f64) -> Duration {
    self.ceiling(retry).mul_f64(unit.clamp(0.0, 1.0))
  }
}

/// The randomness of the backoff, injectable so tests can fix it. The engine's clock is tokio's, which
/// tests pause and advance (`#[tokio::test(start_paused = true)]`), so retry timing is deterministic there.
pub trait Jitter: Send + Sync + 'static {
  /// A random number in [0, 1).
  fn unit(&self) -> f64;
}

pub struct RandomJitter;

impl Jitter for RandomJitter {
  fn unit(&self) -> f64 {
    fastrand::f64()
  }
}

pub fn default_jitter() -> Arc<dyn Jitter> {
  Arc::new(RandomJitter)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn exponential_ceiling_capped() {
    let p = RetryPolicy {
      max_retries: 5,
      base_delay: Duration::from_millis(100),
      max_delay: Duration::from_millis(1000),
    };
    assert_eq!(p.ceiling(1), Duration::from_millis(100));
    assert_eq!(p.ceiling(2), Duration::from_millis(200));
    assert_eq!(p.ceiling(4), Duration::from_millis(800));
    assert_eq!(p.ceiling(5), Duration::from_millis(1000));
    assert_eq!(p.ceiling(60), Duration::from_millis(1000));
  }

  #[test]
  fn full_jitter_spans_zero_to_ceiling() {
    let p = RetryPolicy::default();
    assert_eq!(p.delay(3, 0.0), Duration::ZERO);
    assert_eq!(p.delay(3, 0.5), Duration::from_millis(100));
    assert_eq!(p.delay(3, 1.0), Duration::from_millis(200));
  }
}
