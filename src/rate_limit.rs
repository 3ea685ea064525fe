//! Write-capacity rate limiting: a token bucket in WCU, fixed or adaptive (AIMD), shared by everything that
//! holds the same `Arc<RateLimiter>`. Waiting is an async sleep on the engine's runtime, never on the JS thread.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
  Fixed,
  Adaptive { min: f64, max: f64 },
}

#[derive(Debug)]
struct Bucket {
  rate: f64,
  burst: f64,
  tokens: f64,
  last_refill: Instant,
  last_decrease: Option<Instant>,
  last_change: Instant,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RateStats {
  pub current_wcu: f64,
  pub waits: u64,
  pub waited_ms: f64,
  pub throttles: u64,
}

#[derive(Debug)]
pub struct RateLimiter {
  mode: Mode,
  bucket: Mutex<Bucket>,
  stats: Mutex<RateStats>,
}

/// Throttling signals that arrive together (many requests in flight) count as one decrease.
const DECREASE_COOLDOWN: Duration = Duration::from_millis(500);
/// After this long without throttling, the adaptive rate climbs by one step.
const QUIET_PERIOD: Duration = Duration::from_secs(1);

impl RateLimiter {
  pub fn fixed(wcu: f64, burst: Option<f64>) -> Result<Self, String> {
    if !(wcu.is_finite() && wcu > 0.0) {
      return Err(format!("wcu must be a positive number, got {wcu}"));
    }
    let burst = burst.unwrap_or(wcu);
    if !(burst.is_finite() && burst > 0.0) {
      return Err(format!("burst must be a positive number, got {burst}"));
    }
    Ok(Self::new(Mode::Fixed, wcu, burst))
  }

  pub fn adaptive(max: f64, min: Option<f64>, start: Option<f64>) -> Result<Self, String> {
    if !(max.is_finite() && max > 0.0) {
      return Err(format!("maxWcu must be a positive number, got {max}"));
    }
    let min = min.unwrap_or(1.0f64.min(max));
    if !(min.is_finite() && min > 0.0 && min <= max) {
      return Err(format!("minWcu must be in (0, maxWcu], got {min}"));
    }
    let start = start.unwrap_or(max / 2.0).clamp(min, max);
    Ok(Self::new(Mode::Adaptive { min, max }, start, start))
  }

  fn new(mode: Mode, rate: f64, burst: f64) -> Self {
    let now = Instant::now();
    RateLimiter {
      mode,
      bucket: Mutex::new(Bucket {
        rate,
        burst,
        tokens: burst,
        last_refill: now,
        last_decrease: None,
        last_change: now,
      }),
      stats: Mutex::new(RateStats::default()),
    }
  }

  fn refill(&self, b: &mut Bucket, now: Instant) {
    let dt = now.saturating_duration_since(b.last_refill).as_secs_f64();
    b.tokens = (b.tokens + dt * b.rate).min(b.burst);
    b.last_refill = now;
    if let Mode::Adaptive { max, .. } = self.mode {
      // Additive increase: one step per quiet period since the last change.
      let quiet = now.saturating_duration_since(b.last_change);
      if quiet >= QUIET_PERIOD && b.rate < max {
        let steps = (quiet.as_secs_f64() / QUIET_PERIOD.as_secs_f64()).floor();
        b.rate = (b.rate + steps * (max / 20.0).max(1.0)).min(max);
        b.burst = b.rate;
        b.last_change = now;
      }
    }
  }

  /// Takes `wcu` tokens, waiting (asynchronously) until the bucket holds min(wcu, burst): a request larger
  /// than the burst goes through once the bucket is full and leaves a debt, so nothing waits forever.
  pub async fn acquire(&self, wcu: f64) {
    let mut waited = Duration::ZERO;
    loop {
      let wait = {
        let mut b = self.bucket.lock().unwrap();
        let now = Instant::now();
        self.refill(&mut b, now);
        let need = wcu.min(b.burst);
        if b.tokens >= need {
          b.tokens -= wcu;
          None
        } else {
          Some(Duration::from_secs_f64((need - b.tokens) / b.rate))
        }
      };
      match wait {
        None => break,
        Some(d) => {
          let d = d.max(Duration::from_millis(1));
          tokio::time::sleep(d).await;
          waited += d;
        }
      }
    }
    if !waited.is_zero() {
      let mut s = self.stats.lock().unwrap();
      s.waits += 1;
      s.waited_ms += waited.as_secs_f64() * 1000.0;
    }
  }

  /// Corrects the estimate with the capacity DynamoDB reported.
  pub fn settle(&self, estimated: f64, consumed: f64) {
    let mut b = self.bucket.lock().unwrap();
    b.tokens = (b.tokens + estimated - consumed).min(b.burst);
  }

  /// A throttling signal: a throttled request or unprocessed items. Adaptive limiters halve their rate.
  pub fn on_throttle(&self) {
    self.stats.lock().unwrap().throttles += 1;
    if let Mode::Adaptive { min, .. } = self.mode {
      let mut b = self.bucket.lock().unwrap();
      let now = Instant::now();
      if b
        .last_decrease
        .is_none_or(|t| now.saturating_duration_since(t) >= DECREASE_COOLDOWN)
      {
        self.refill(&mut b, now);
        b.rate = (b.rate / 2.0).max(min);
        b.burst = b.rate;
        b.tokens = b.tokens.min(b.burst);
        b.last_decrease = Some(now);
        b.last_change = now;
      }
    }
  }

  pub fn current(&self) -> f64 {
    let mut b = self.bucket.lock().unwrap();
    self.refill(&mut b, Instant::now());
    b.rate
  }

  pub fn stats(&self) -> RateStats {
    let mut s = *self.stats.lock().unwrap();
    s.current_wcu = self.current();
    s
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[tokio::test(start_paused = true)]
  async fn fixed_rate_holds_over_time() {
    let rl = RateLimiter::fixed(100.0, Some(10.0)).unwrap();
    let start = Instant::now();
    for _ in 0..100 {
      rl.acquire(10.0).await;
    }
    // 1000 WCU at 100/s with a 10 WCU initial burst: ~9.9 s
    let secs = start.elapsed().as_secs_f64();
    assert!((9.5..=10.5).contains(&secs), "{secs}");
    assert!(rl.stats().waits > 0);
  }

  #[tokio::test(start_paused = true)]
  async fn request_larger_than_burst_goes_through_with_debt() {
    let rl = RateLimiter::fixed(5.0, Some(5.0)).unwrap();
    let start = Instant::now();
    rl.acquire(400.0).await; // a 400 KB item under a 5 WCU burst
    assert!(start.elapsed() < Duration::from_millis(10));
    rl.acquire(1.0).await; // pays the debt: 396 WCU at 5/s
    let secs = start.elapsed().as_secs_f64();
    assert!((78.0..=80.5).contains(&secs), "{secs}");
  }

  #[tokio::test(start_paused = true)]
  async fn adaptive_halves_on_throttle_and_recovers() {
    let rl = RateLimiter::adaptive(100.0, Some(10.0), Some(80.0)).unwrap();
    assert_eq!(rl.current(), 80.0);
    rl.on_throttle();
    rl.on_throttle(); // same burst of signals: one decrease
    assert_eq!(rl.current(), 40.0);
    tokio::time::advance(Duration::from_millis(600)).await;
    rl.on_throttle();
    assert_eq!(rl.current(), 20.0);
    for _ in 0..5 {
      tokio::time::advance(Duration::from_millis(600)).await;
      rl.on_throttle();
    }
    assert_eq!(rl.current(), 10.0, "never below min");
    tokio::time::advance(Duration::from_secs(3)).await;
    assert_eq!(
      rl.current(),
      25.0,
      "additive increase: 5 WCU per quiet second"
    );
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(rl.current(), 100.0, "never above max");
    assert_eq!(rl.stats().throttles, 8);
  }

  #[test]
  fn rejects_bad_settings() {
    assert!(RateLimiter::fixed(0.0, None).is_err());
    assert!(RateLimiter::fixed(f64::NAN, None).is_err());
    assert!(RateLimiter::adaptive(10.0, Some(20.0), None).is_err());
  }
}
