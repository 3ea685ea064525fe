//! Capacity rate limiting: a token bucket, fixed or adaptive (AIMD), shared exactly by everything that holds
//! the same `Arc<RateLimiter>` (writers, single-item calls, reads). One bucket serves both kinds of capacity:
//! its `Unit` says whether it counts write or read capacity units, and a bucket never mixes them (writes
//! refuse an RCU bucket, reads a WCU one). Its promise, measured at the server: in any
//! window of t seconds, at most `burst + rate·t` units pass. So a request never carries more units than
//! the bucket holds (the engine sizes batches with `max_units`), waiting requests are served in order
//! (one queue), and only an item larger than the whole bucket goes alone, once the bucket is full, leaving
//! a debt that later requests wait out. Estimates are corrected by the capacity DynamoDB reports; a
//! throttled request keeps its tokens, so retries are paced too. Waiting is an async sleep on the
//! engine's runtime, never on the JS thread.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// What a bucket counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
  /// Write capacity units (writers, putItem, deleteItem).
  Wcu,
  /// Read capacity units (batchGet, scan).
  Rcu,
}

impl Unit {
  pub fn as_str(self) -> &'static str {
    match self {
      Unit::Wcu => "WCU",
      Unit::Rcu => "RCU",
    }
  }
  /// An option's name in this unit: `rate` for FixedRate's (`wcu`/`rcu`), else `maxWcu`, `minRcu`…
  pub fn option(self, prefix: &str) -> String {
    let u = match self {
      Unit::Wcu => "wcu",
      Unit::Rcu => "rcu",
    };
    if prefix.is_empty() {
      u.to_string()
    } else {
      let mut cap = u.to_string();
      cap[..1].make_ascii_uppercase();
      format!("{prefix}{cap}")
    }
  }
}

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
  /// The rate in force, units per second.
  pub current: f64,
  pub waits: u64,
  pub waited_ms: f64,
  pub throttles: u64,
}

#[derive(Debug)]
pub struct RateLimiter {
  unit: Unit,
  mode: Mode,
  bucket: Mutex<Bucket>,
  stats: Mutex<RateStats>,
  /// Waiters queue here, first come first served: a large request is not starved by small ones.
  queue: tokio::sync::Mutex<()>,
}

/// Throttling signals that arrive together (many requests in flight) count as one decrease.
const DECREASE_COOLDOWN: Duration = Duration::from_millis(500);
/// After this long without throttling, the adaptive rate climbs by one step.
const QUIET_PERIOD: Duration = Duration::from_secs(1);

impl RateLimiter {
  /// A fixed rate in write capacity units.
  pub fn fixed(rate: f64, burst: Option<f64>) -> Result<Self, String> {
    Self::fixed_in(Unit::Wcu, rate, burst)
  }

  pub fn fixed_in(unit: Unit, rate: f64, burst: Option<f64>) -> Result<Self, String> {
    if !(rate.is_finite() && rate > 0.0) {
      return Err(format!(
        "{} must be a positive number, got {rate}",
        unit.option("")
      ));
    }
    let burst = burst.unwrap_or(rate.max(1.0));
    if !(burst.is_finite() && burst > 0.0) {
      return Err(format!("burst must be a positive number, got {burst}"));
    }
    Ok(Self::new(unit, Mode::Fixed, rate, burst))
  }

  /// An adaptive rate in write capacity units.
  pub fn adaptive(max: f64, min: Option<f64>, start: Option<f64>) -> Result<Self, String> {
    Self::adaptive_in(Unit::Wcu, max, min, start)
  }

  pub fn adaptive_in(
    unit: Unit,
    max: f64,
    min: Option<f64>,
    start: Option<f64>,
  ) -> Result<Self, String> {
    let (max_name, min_name) = (unit.option("max"), unit.option("min"));
    if !(max.is_finite() && max > 0.0) {
      return Err(format!("{max_name} must be a positive number, got {max}"));
    }
    let min = min.unwrap_or(1.0f64.min(max));
    if !(min.is_finite() && min > 0.0 && min <= max) {
      return Err(format!("{min_name} must be in (0, {max_name}], got {min}"));
    }
    let start = start.unwrap_or(max / 2.0).clamp(min, max);
    Ok(Self::new(unit, Mode::Adaptive { min, max }, start, start))
  }

  fn new(unit: Unit, mode: Mode, rate: f64, burst: f64) -> Self {
    let now = Instant::now();
    RateLimiter {
      unit,
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
      queue: tokio::sync::Mutex::new(()),
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

  pub fn unit(&self) -> Unit {
    self.unit
  }

  /// The most units one request may carry: what the bucket holds when full.
  pub fn max_units(&self) -> f64 {
    let mut b = self.bucket.lock().unwrap();
    self.refill(&mut b, Instant::now());
    b.burst
  }

  /// Takes `units` tokens, waiting (asynchronously, in arrival order) until the bucket holds them; a
  /// request larger than the bucket waits for a full bucket and leaves a debt.
  pub async fn acquire(&self, units: f64) {
    let _turn = self.queue.lock().await;
    let mut waited = Duration::ZERO;
    loop {
      let wait = {
        let mut b = self.bucket.lock().unwrap();
        self.refill(&mut b, Instant::now());
        let need = units.min(b.burst);
        if b.tokens >= need - 1e-9 {
          b.tokens -= units;
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

  /// Corrects an estimate with the capacity DynamoDB reported.
  pub fn settle(&self, estimated: f64, consumed: f64) {
    let mut b = self.bucket.lock().unwrap();
    b.tokens = (b.tokens + estimated - consumed).min(b.burst);
  }

  /// A throttling signal (a throttled request, unprocessed entries). Adaptive limiters halve their rate.
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
    s.current = self.current();
    s
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::Arc;

  #[tokio::test(start_paused = true)]
  async fn fixed_rate_holds_over_time() {
    let rl = RateLimiter::fixed(100.0, Some(10.0)).unwrap();
    let start = Instant::now();
    for _ in 0..100 {
      rl.acquire(10.0).await;
    }
    // 1000 units at 100/s with a 10-unit initial burst: 9.9 s
    let secs = start.elapsed().as_secs_f64();
    assert!((9.8..=10.1).contains(&secs), "{secs}");
    assert!(rl.stats().waits > 0);
  }

  /// In every window of t seconds, at most burst + rate·t units, among concurrent users of one bucket.
  #[tokio::test(start_paused = true)]
  async fn no_window_carries_more_than_burst_plus_rate() {
    let rl = Arc::new(RateLimiter::fixed(20.0, Some(5.0)).unwrap());
    let log = Arc::new(Mutex::new(Vec::<(f64, f64)>::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..3 {
      let (rl, log) = (rl.clone(), log.clone());
      tasks.push(tokio::spawn(async move {
        for i in 0..20 {
          let units = ((w + i) % 5 + 1) as f64;
          rl.acquire(units).await;
          log
            .lock()
            .unwrap()
            .push((start.elapsed().as_secs_f64(), units));
        }
      }));
    }
    for t in tasks {
      t.await.unwrap();
    }
    let log = log.lock().unwrap();
    for &(t0, _) in log.iter() {
      for width in [0.1, 0.5, 1.0, 2.0] {
        let sum: f64 = log
          .iter()
          .filter(|(t, _)| *t >= t0 && *t < t0 + width)
          .map(|(_, u)| u)
          .sum();
        assert!(
          sum <= 5.0 + 20.0 * width + 1e-6,
          "{sum} units in {width}s from {t0}"
        );
      }
    }
  }

  #[tokio::test(start_paused = true)]
  async fn a_request_larger_than_the_bucket_waits_for_a_full_bucket_and_leaves_a_debt() {
    let rl = RateLimiter::fixed(5.0, Some(5.0)).unwrap();
    assert_eq!(rl.max_units(), 5.0);
    rl.acquire(3.0).await;
    let start = Instant::now();
    rl.acquire(400.0).await; // waits for the 3 units to come back, then goes with a debt
    let waited = start.elapsed().as_secs_f64();
    assert!((0.55..=0.65).contains(&waited), "{waited}");
    rl.acquire(1.0).await; // pays the debt: 396 units at 5/s
    let secs = start.elapsed().as_secs_f64();
    assert!((79.6..=80.0).contains(&secs), "{secs}");
  }

  #[tokio::test(start_paused = true)]
  async fn adaptive_halves_on_throttle_and_recovers_within_bounds() {
    let rl = RateLimiter::adaptive(100.0, Some(10.0), Some(80.0)).unwrap();
    assert_eq!(rl.current(), 80.0);
    rl.on_throttle();
    rl.on_throttle(); // same burst of signals: one decrease
    assert_eq!(rl.current(), 40.0);
    assert_eq!(rl.max_units(), 40.0);
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
      "additive increase: 5 units per quiet second"
    );
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(rl.current(), 100.0, "never above max");
    assert_eq!(rl.stats().throttles, 8);
  }

  #[test]
  fn one_bucket_for_either_unit() {
    let w = RateLimiter::fixed(10.0, None).unwrap();
    assert_eq!(w.unit(), Unit::Wcu);
    let r = RateLimiter::fixed_in(Unit::Rcu, 10.0, None).unwrap();
    assert_eq!(r.unit(), Unit::Rcu);
    assert_eq!(
      RateLimiter::fixed_in(Unit::Rcu, -1.0, None).unwrap_err(),
      "rcu must be a positive number, got -1"
    );
    assert_eq!(
      RateLimiter::adaptive_in(Unit::Rcu, 10.0, Some(20.0), None).unwrap_err(),
      "minRcu must be in (0, maxRcu], got 20"
    );
    assert_eq!(
      RateLimiter::adaptive(0.0, None, None).unwrap_err(),
      "maxWcu must be a positive number, got 0"
    );
  }

  #[test]
  fn rejects_bad_settings() {
    assert!(RateLimiter::fixed(0.0, None).is_err());
    assert!(RateLimiter::fixed(f64::NAN, None).is_err());
    assert!(RateLimiter::fixed(10.0, Some(0.0)).is_err());
    assert!(RateLimiter::adaptive(10.0, Some(20.0), None).is_err());
  }
}
