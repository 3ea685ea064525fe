//! Request records and their aggregation (per writer and per client), with p50/p99 latency from a
//! log-bucketed histogram so memory stays constant however many requests are made.

use std::sync::Mutex;
use std::time::Duration;

/// One request sent to DynamoDB and what came back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestRecord {
  pub operation: &'static str,
  pub table: String,
  pub duration: Duration,
  pub items: u32,
  pub unprocessed: u32,
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  pub attempt: u32,
  pub throttled: bool,
  pub request_id: Option<String>,
  pub error_code: Option<String>,
}

/// 4 buckets per doubling from 0.1 ms up to ~100 s: p50/p99 within ~19%.
const BUCKETS: usize = 4 * 20;

#[derive(Clone, Debug)]
pub struct Histogram {
  counts: [u64; BUCKETS],
  total: u64,
}

impl Default for Histogram {
  fn default() -> Self {
    Histogram {
      counts: [0; BUCKETS],
      total: 0,
    }
  }
}

impl Histogram {
  fn bucket(ms: f64) -> usize {
    if ms <= 0.1 {
      return 0;
    }
    let b = ((ms / 0.1).log2() * 4.0).ceil() as usize;
    b.min(BUCKETS - 1)
  }
  fn upper(b: usize) -> f64 {
    0.1 * 2f64.powf(b as f64 / 4.0)
  }
  pub fn record(&mut self, ms: f64) {
    self.counts[Self::bucket(ms)] += 1;
    self.total += 1;
  }
  /// The q-quantile (0..1), as the upper edge of its bucket; 0 when empty.
  pub fn quantile(&self, q: f64) -> f64 {
    if self.total == 0 {
      return 0.0;
    }
    let rank = ((self.total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (b, &c) in self.counts.iter().enumerate() {
      seen += c;
      if seen >= rank {
        return Self::upper(b);
      }
    }
    Self::upper(BUCKETS - 1)
  }
}

/// Totals over requests and items.
#[derive(Clone, Debug, Default)]
pub struct Totals {
  pub requests: u64,
  pub errors: u64,
  pub retries: u64,
  pub throttles: u64,
  pub unprocessed_rounds: u64,
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  pub puts_written: u64,
  pub deletes_written: u64,
  pub failed: u64,
  pub total_latency_ms: f64,
  pub latency: Histogram,
}

impl Totals {
  pub fn add_request(&mut self, r: &RequestRecord) {
    self.requests += 1;
    if r.error_code.is_some() {
      self.errors += 1;
    }
    if r.throttled {
      self.throttles += 1;
    }
    if r.unprocessed > 0 {
      self.unprocessed_rounds += 1;
    }
    if r.attempt > 1 {
      self.retries += 1;
    }
    self.consumed_wcu += r.consumed_wcu;
    self.consumed_rcu += r.consumed_rcu;
    let ms = r.duration.as_secs_f64() * 1000.0;
    self.total_latency_ms += ms;
    self.latency.record(ms);
  }

  /// Counters of `self` minus an earlier snapshot (latency quantiles stay those of `self`).
  pub fn since(&self, earlier: &Totals) -> Totals {
    let mut latency = self.latency.clone();
    for (c, e) in latency.counts.iter_mut().zip(earlier.latency.counts.iter()) {
      *c -= e;
    }
    latency.total -= earlier.latency.total;
    Totals {
      requests: self.requests - earlier.requests,
      errors: self.errors - earlier.errors,
      retries: self.retries - earlier.retries,
      throttles: self.throttles - earlier.throttles,
      unprocessed_rounds: self.unprocessed_rounds - earlier.unprocessed_rounds,
      consumed_wcu: self.consumed_wcu - earlier.consumed_wcu,
      consumed_rcu: self.consumed_rcu - earlier.consumed_rcu,
      puts_written: self.puts_written - earlier.puts_written,
      deletes_written: self.deletes_written - earlier.deletes_written,
      failed: self.failed - earlier.failed,
      total_latency_ms: self.total_latency_ms - earlier.total_latency_ms,
      latency,
    }
  }
}

/// Totals shared across threads (the client's, fed by every writer and operation).
#[derive(Default, Debug)]
pub struct SharedTotals(Mutex<Totals>);

impl SharedTotals {
  pub fn update(&self, f: impl FnOnce(&mut Totals)) {
    f(&mut self.0.lock().unwrap())
  }
  pub fn snapshot(&self) -> Totals {
    self.0.lock().unwrap().clone()
  }
  pub fn reset(&self) {
    *self.0.lock().unwrap() = Totals::default();
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn quantiles_are_close() {
    let mut h = Histogram::default();
    for i in 1..=100 {
      h.record(i as f64);
    }
    let p50 = h.quantile(0.5);
    let p99 = h.quantile(0.99);
    assert!((50.0..=60.0).contains(&p50), "{p50}");
    assert!((99.0..=120.0).contains(&p99), "{p99}");
    assert_eq!(Histogram::default().quantile(0.5), 0.0);
  }

  #[test]
  fn totals_aggregate_and_diff() {
    let mut t = Totals::default();
    let rec = RequestRecord {
      operation: "BatchWriteItem",
      duration: Duration::from_millis(10),
      items: 25,
      unprocessed: 3,
      consumed_wcu: 22.0,
      attempt: 2,
      throttled: false,
      ..Default::default()
    };
    t.add_request(&rec);
    let snap = t.clone();
    t.add_request(&RequestRecord {
      throttled: true,
      attempt: 1,
      error_code: Some("ProvisionedThroughputExceededException".into()),
      ..rec.clone()
    });
    assert_eq!(t.requests, 2);
    assert_eq!(t.retries, 1);
    assert_eq!(t.throttles, 1);
    assert_eq!(t.unprocessed_rounds, 2);
    assert_eq!(t.consumed_wcu, 44.0);
    let d = t.since(&snap);
    assert_eq!(d.requests, 1);
    assert_eq!(d.throttles, 1);
    assert_eq!(d.retries, 0);
  }
}
