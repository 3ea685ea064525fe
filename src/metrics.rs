//! Request records and their totals, per writer and per client. Every request dynabatch sends is recorded
//! once, by `Meter::request`, and every re-send once, by `Meter::retried`: the counts mean what the README
//! says whatever the call site (batch writes, single-item calls, key-schema reads, table operations).
//!
//! Latency quantiles come from a log-bucketed histogram (constant memory): four buckets per doubling
//! from 0.1 ms, interpolated within the bucket and clamped to the smallest and largest durations seen, so a
//! quantile is never outside the observed range and is within one bucket (about ±10%) of the exact value.

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request sent to DynamoDB and what came back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestRecord {
  pub operation: &'static str,
  pub table: String,
  pub duration: Duration,
  /// Items (or keys) the request carried.
  pub items: u32,
  /// Entries DynamoDB returned as unprocessed (UnprocessedItems / UnprocessedKeys).
  pub unprocessed: u32,
  /// Items a read returned (GetItem, BatchGetItem, Scan).
  pub returned: u32,
  /// Items a Scan evaluated, before its filter (ScannedCount).
  pub scanned: u32,
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  /// 1 for a first attempt, 2 for its first retry… (the highest among the items a batch carried).
  pub attempt: u32,
  pub throttled: bool,
  pub request_id: Option<String>,
  pub error_code: Option<String>,
}

const BUCKETS: usize = 4 * 21;

#[derive(Clone, Debug)]
pub struct Histogram {
  counts: [u64; BUCKETS],
  total: u64,
  min: f64,
  max: f64,
  /// The smallest and largest durations since the last `mark` (the window a later `minus` describes).
  mark_min: f64,
  mark_max: f64,
}

impl Default for Histogram {
  fn default() -> Self {
    Histogram {
      counts: [0; BUCKETS],
      total: 0,
      min: f64::INFINITY,
      max: 0.0,
      mark_min: f64::INFINITY,
      mark_max: 0.0,
    }
  }
}

impl Histogram {
  fn bucket(ms: f64) -> usize {
    if ms <= 0.1 {
      return 0;
    }
    (((ms / 0.1).log2() * 4.0).ceil() as usize).min(BUCKETS - 1)
  }
  /// Bucket b holds (upper(b-1), upper(b)].
  fn upper(b: usize) -> f64 {
    0.1 * 2f64.powf(b as f64 / 4.0)
  }
  pub fn record(&mut self, ms: f64) {
    self.counts[Self::bucket(ms)] += 1;
    self.total += 1;
    self.min = self.min.min(ms);
    self.max = self.max.max(ms);
    self.mark_min = self.mark_min.min(ms);
    self.mark_max = self.mark_max.max(ms);
  }
  /// Starts a new window: a later `minus` of a snapshot taken now is clamped to what was seen after it.
  pub fn mark(&mut self) {
    self.mark_min = f64::INFINITY;
    self.mark_max = 0.0;
  }
  pub fn count(&self) -> u64 {
    self.total
  }
  /// The q-quantile (0..1); 0 when empty.
  pub fn quantile(&self, q: f64) -> f64 {
    if self.total == 0 {
      return 0.0;
    }
    let rank = ((self.total as f64) * q)
      .ceil()
      .clamp(1.0, self.total as f64);
    let mut seen = 0u64;
    for (b, &c) in self.counts.iter().enumerate() {
      if c == 0 {
        continue;
      }
      if (seen + c) as f64 >= rank {
        let lo = if b == 0 { 0.0 } else { Self::upper(b - 1) };
        let hi = Self::upper(b);
        let within = (rank - seen as f64) / c as f64;
        return (lo + (hi - lo) * within).clamp(self.min, self.max);
      }
      seen += c;
    }
    self.max
  }
  /// The durations recorded after `earlier`, a snapshot taken when this histogram was last marked (its
  /// min/max are then the window's own, so the window's quantiles stay within what the window saw).
  fn minus(&self, earlier: &Histogram) -> Histogram {
    let mut h = self.clone();
    for (c, e) in h.counts.iter_mut().zip(earlier.counts.iter()) {
      *c -= e;
    }
    h.total -= earlier.total;
    h.min = self.mark_min;
    h.max = self.mark_max;
    h
  }
}

/// Totals over requests and operations.
#[derive(Clone, Debug, Default)]
pub struct Totals {
  /// Requests sent (every attempt).
  pub requests: u64,
  /// Requests that failed as a whole (throttles included).
  pub errors: u64,
  /// Operations sent again: one per re-sent item of a batch, one per re-attempt of a single-item call.
  pub retries: u64,
  /// Requests refused with a throttling error.
  pub throttles: u64,
  /// Responses that carried unprocessed entries.
  pub unprocessed_rounds: u64,
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  /// Items reads returned.
  pub items_read: u64,
  /// Items Scans evaluated.
  pub items_scanned: u64,
  pub puts_written: u64,
  pub deletes_written: u64,
  pub failed: u64,
  /// Operations a sharded writer left to other shards.
  pub skipped: u64,
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
    self.consumed_wcu += r.consumed_wcu;
    self.consumed_rcu += r.consumed_rcu;
    self.items_read += r.returned as u64;
    self.items_scanned += r.scanned as u64;
    let ms = r.duration.as_secs_f64() * 1000.0;
    self.total_latency_ms += ms;
    self.latency.record(ms);
  }

  /// Starts a new window for `since`: call it when taking the snapshot a later `since` will subtract.
  pub fn mark(&mut self) {
    self.latency.mark();
  }

  /// Counters of `self` minus an earlier snapshot (taken when `self` was last marked).
  pub fn since(&self, earlier: &Totals) -> Totals {
    Totals {
      requests: self.requests - earlier.requests,
      errors: self.errors - earlier.errors,
      retries: self.retries - earlier.retries,
      throttles: self.throttles - earlier.throttles,
      unprocessed_rounds: self.unprocessed_rounds - earlier.unprocessed_rounds,
      consumed_wcu: self.consumed_wcu - earlier.consumed_wcu,
      consumed_rcu: self.consumed_rcu - earlier.consumed_rcu,
      items_read: self.items_read - earlier.items_read,
      items_scanned: self.items_scanned - earlier.items_scanned,
      puts_written: self.puts_written - earlier.puts_written,
      deletes_written: self.deletes_written - earlier.deletes_written,
      failed: self.failed - earlier.failed,
      skipped: self.skipped - earlier.skipped,
      total_latency_ms: self.total_latency_ms - earlier.total_latency_ms,
      latency: self.latency.minus(&earlier.latency),
    }
  }
}

/// Totals shared across threads (the client's, fed by every writer and call).
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

pub type Observer = Arc<dyn Fn(&RequestRecord) + Send + Sync>;

/// Where a client's requests and outcomes are recorded: its totals and its observers (the client's hook
/// and, for a writer, the writer's own). Writers keep their own `Totals` too and update them with the
/// same calls.
#[derive(Clone, Default)]
pub struct Meter {
  pub client: Arc<SharedTotals>,
  pub observers: Vec<Observer>,
}

impl Meter {
  pub fn with_observer(&self, o: Option<Observer>) -> Meter {
    let mut m = self.clone();
    if let Some(o) = o {
      m.observers.insert(0, o);
    }
    m
  }
  /// Records one request (one attempt).
  pub fn request(&self, rec: &RequestRecord, local: Option<&mut Totals>) {
    self.client.update(|t| t.add_request(rec));
    if let Some(l) = local {
      l.add_request(rec);
    }
    for o in &self.observers {
      o(rec);
    }
  }
  /// Records `n` operations being sent again.
  pub fn retried(&self, n: u64, local: Option<&mut Totals>) {
    self.client.update(|t| t.retries += n);
    if let Some(l) = local {
      l.retries += n;
    }
  }
  /// Records operations written (puts, deletes), failed and skipped.
  pub fn outcome(
    &self,
    puts: u64,
    deletes: u64,
    failed: u64,
    skipped: u64,
    local: Option<&mut Totals>,
  ) {
    let apply = |t: &mut Totals| {
      t.puts_written += puts;
      t.deletes_written += deletes;
      t.failed += failed;
      t.skipped += skipped;
    };
    self.client.update(apply);
    if let Some(l) = local {
      apply(l);
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn quantiles_are_close_and_within_what_was_seen() {
    let mut h = Histogram::default();
    for i in 1..=100 {
      h.record(i as f64);
    }
    let p50 = h.quantile(0.5);
    let p99 = h.quantile(0.99);
    assert!((45.0..=55.0).contains(&p50), "{p50}");
    assert!((90.0..=100.0).contains(&p99), "{p99}");
    assert_eq!(Histogram::default().quantile(0.5), 0.0);
    let mut one = Histogram::default();
    one.record(2.38);
    assert_eq!(one.quantile(0.5), 2.38);
    assert_eq!(one.quantile(0.99), 2.38);
    let mut two = Histogram::default();
    two.record(1000.0);
    two.record(1108.0);
    assert!(two.quantile(0.5) <= 1108.0 && two.quantile(0.5) >= 1000.0);
    assert!(two.quantile(0.99) <= 1108.0);
  }

  #[test]
  fn a_window_is_clamped_to_its_own_durations_not_the_lifetime_ones() {
    let mut t = Totals::default();
    let slow = RequestRecord {
      duration: Duration::from_millis(300),
      ..Default::default()
    };
    t.add_request(&slow);
    t.mark();
    let snap = t.clone();
    t.add_request(&RequestRecord {
      duration: Duration::from_micros(2380),
      ..slow.clone()
    });
    let w = t.since(&snap);
    let ms = Duration::from_micros(2380).as_secs_f64() * 1000.0;
    assert_eq!(w.latency.count(), 1);
    assert_eq!(w.latency.quantile(0.5), ms);
    assert_eq!(w.latency.quantile(0.99), ms);
    // the lifetime view still spans both
    assert_eq!(t.latency.quantile(0.99), 300.0);
    t.mark();
    assert_eq!(
      t.since(&t.clone()).latency.quantile(0.5),
      0.0,
      "an empty window"
    );
  }

  #[test]
  fn requests_are_counted_once_and_retries_only_when_re_sent() {
    let meter = Meter::default();
    let mut local = Totals::default();
    let rec = RequestRecord {
      operation: "BatchWriteItem",
      duration: Duration::from_millis(10),
      items: 25,
      unprocessed: 3,
      consumed_wcu: 22.0,
      attempt: 2,
      ..Default::default()
    };
    meter.request(&rec, Some(&mut local));
    assert_eq!(
      local.retries, 0,
      "a record of a second attempt is not a retry by itself"
    );
    meter.retried(3, Some(&mut local));
    meter.request(
      &RequestRecord {
        throttled: true,
        error_code: Some("ProvisionedThroughputExceededException".into()),
        ..rec.clone()
      },
      Some(&mut local),
    );
    let c = meter.client.snapshot();
    for t in [&local, &c] {
      assert_eq!(t.requests, 2);
      assert_eq!(t.retries, 3);
      assert_eq!(t.errors, 1);
      assert_eq!(t.throttles, 1);
      assert_eq!(t.unprocessed_rounds, 2);
      assert_eq!(t.consumed_wcu, 44.0);
    }
    let snap = local.clone();
    meter.outcome(2, 1, 1, 0, Some(&mut local));
    let d = local.since(&snap);
    assert_eq!(
      (d.puts_written, d.deletes_written, d.failed, d.requests),
      (2, 1, 1, 0)
    );
  }
}
