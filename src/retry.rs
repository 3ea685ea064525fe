//! The retry strategy, once: which errors are retried (the exported code lists, as the AWS SDKs' standard
//! retry mode classifies them), and full-jitter exponential backoff. Every retry loop (batch writes,
//! key-schema reads, single-item calls) takes its decisions here; the clock is tokio's and the randomness
//! injectable, so the engine's tests are deterministic.

use std::sync::Arc;
use std::time::Duration;

/// Error codes the service uses for throttling: retried with backoff, and a signal to adaptive rates.
pub const THROTTLING_ERRORS: &[&str] = &[
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "Throttling",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestThrottledException",
];

/// Error codes of transient service faults: retried with backoff (as is any 5xx).
pub const TRANSIENT_ERRORS: &[&str] = &[
  "InternalServerError",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "TransactionInProgressException",
];

/// How a failed request is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
  /// Throttling: retry with backoff, and tell the adaptive rate limiter.
  Throttle,
  /// 5xx, timeouts, dropped connections: retry with backoff.
  Transient,
  /// The request was rejected for its content: a multi-item request is split to isolate the offender.
  Validation,
  /// Anything else: reported at once.
  Fatal,
}

impl Retry {
  pub fn is_retryable(self) -> bool {
    matches!(self, Retry::Throttle | Retry::Transient)
  }
}

/// Classifies a service error code (and HTTP status).
pub fn classify(code: &str, status: Option<u16>) -> Retry {
  if THROTTLING_ERRORS.contains(&code) {
    Retry::Throttle
  } else if TRANSIENT_ERRORS.contains(&code) || status.is_some_and(|s| s >= 500) {
    Retry::Transient
  } else if code == "ValidationException" || code == "SerializationException" {
    Retry::Validation
  } else {
    Retry::Fatal
  }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
  /// Retries after the first attempt.
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

  /// The strategy: after `attempts` attempts ended with an error classified `retry`, the delay before the
  /// next attempt, or None when the error is not retried or the retries are used up.
  pub fn next_delay(&self, retry: Retry, attempts: u32, jitter: &dyn Jitter) -> Option<Duration> {
    (retry.is_retryable() && attempts <= self.max_retries)
      .then(|| self.delay(attempts, jitter.unit()))
  }
}

/// The randomness of the backoff, injectable so tests can fix it.
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
  fn classification_follows_standard_retry_mode() {
    assert_eq!(
      classify("ProvisionedThroughputExceededException", Some(400)),
      Retry::Throttle
    );
    assert_eq!(classify("ThrottlingException", Some(400)), Retry::Throttle);
    assert_eq!(classify("InternalServerError", Some(500)), Retry::Transient);
    assert_eq!(classify("Whatever", Some(503)), Retry::Transient);
    assert_eq!(
      classify("ValidationException", Some(400)),
      Retry::Validation
    );
    assert_eq!(
      classify("ResourceNotFoundException", Some(400)),
      Retry::Fatal
    );
  }

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

  #[test]
  fn the_strategy_stops_at_max_retries_and_at_fatal_errors() {
    struct Half;
    impl Jitter for Half {
      fn unit(&self) -> f64 {
        0.5
      }
    }
    let p = RetryPolicy {
      max_retries: 2,
      ..Default::default()
    };
    assert_eq!(
      p.next_delay(Retry::Throttle, 1, &Half),
      Some(Duration::from_millis(25))
    );
    assert!(p.next_delay(Retry::Transient, 2, &Half).is_some());
    assert_eq!(p.next_delay(Retry::Transient, 3, &Half), None);
    assert_eq!(p.next_delay(Retry::Fatal, 1, &Half), None);
    assert_eq!(p.next_delay(Retry::Validation, 1, &Half), None);
  }
}
