//! batchGet: many keys read with BatchGetItem. Keys arrive judged and encoded (`item.rs`); here they are
//! checked against the table's key schema (InvalidItem with the key's path, before anything is sent),
//! reduced to distinct keys by their normalized form (numbers by value, `key.rs`), sent in requests of at
//! most 100 keys with several in flight, and retried per key (UnprocessedKeys, throttling, 5xx, timeouts)
//! with the writer's jittered backoff. What the service returns is matched back by normalized key, never by
//! raw text: a response that cannot be matched to what was sent confirms nothing and its keys are read
//! again. Every key ends found, absent, or failed with a reason; the caller decides what a failure means
//! (the binding rejects the call), so a partial result never looks complete.
//!
//! The items of each answer are handed to the caller's `Chunker` on the request's own task, as soon as the
//! answer is in (the binding makes them JSON for JS there), so what is held until the end is the caller's
//! compact form, not the SDK's maps, and the work is spread over the runtime's threads.

use crate::error::{self, CoreError};
use crate::item::Encoded;
use crate::key::{KeySchema, NormKey};
use crate::metrics::{Meter, RequestRecord, Totals};
use crate::rate_limit::RateLimiter;
use crate::read::AvMap;
use crate::request::{self, ReadShape};
use crate::retry::{Jitter, Retry, RetryPolicy};
use crate::schema;
use futures_util::future::BoxFuture;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// DynamoDB's limit of keys in one BatchGetItem request.
pub const MAX_GET_KEYS: usize = 100;

#[derive(Clone, Debug)]
pub struct GetConfig {
  pub table: String,
  pub consistent: bool,
  /// Top-level attributes to return (the key attributes are added), or None for whole items.
  pub projection: Option<Vec<String>>,
  pub max_in_flight: usize,
  pub retry: RetryPolicy,
  /// Given by the caller; otherwise read with DescribeTable.
  pub key_schema: Option<KeySchema>,
}

impl GetConfig {
  pub fn new(table: &str) -> Self {
    GetConfig {
      table: table.to_string(),
      consistent: false,
      projection: None,
      max_in_flight: 16,
      retry: RetryPolicy::default(),
      key_schema: None,
    }
  }
}

/// What DynamoDB answered to one BatchGetItem, for the table read.
#[derive(Debug, Default)]
pub struct GetReply {
  pub items: Vec<AvMap>,
  pub unprocessed: Vec<AvMap>,
  /// Items or keys of other tables than the one read (never expected).
  pub foreign: usize,
  pub consumed_rcu: f64,
  pub request_id: Option<String>,
}

/// batchGet's view of DynamoDB: one BatchGetItem attempt, and the key schema. The SDK implements it
/// (`SdkTransport`); tests use scripted fakes.
pub trait GetTransport: Send + Sync + 'static {
  fn batch_get(
    &self,
    table: &str,
    body: Vec<u8>,
  ) -> BoxFuture<'static, Result<GetReply, CoreError>>;
  fn key_schema(&self, table: &str) -> BoxFuture<'static, Result<Arc<KeySchema>, CoreError>>;
}

impl GetTransport for crate::dynamo::SdkTransport {
  fn batch_get(
    &self,
    table: &str,
    body: Vec<u8>,
  ) -> BoxFuture<'static, Result<GetReply, CoreError>> {
    let dynamo = self.0.clone();
    let table = table.to_string();
    Box::pin(async move { dynamo.batch_get(&table, body.into()).await })
  }

  fn key_schema(&self, table: &str) -> BoxFuture<'static, Result<Arc<KeySchema>, CoreError>> {
    crate::batch::Transport::key_schema(self, table)
  }
}

/// A call's abort flag, set from the caller's AbortSignal.
#[derive(Default, Debug)]
pub struct Abort {
  flag: AtomicBool,
  notify: Notify,
}

impl Abort {
  pub fn abort(&self) {
    self.flag.store(true, Ordering::Release);
    self.notify.notify_waiters();
  }
  pub fn is_aborted(&self) -> bool {
    self.flag.load(Ordering::Acquire)
  }
  /// Resolves once aborted.
  pub async fn wait(&self) {
    // A Notified receives notify_waiters from its creation on, so no abort falls between check and wait.
    let notified = self.notify.notified();
    if self.is_aborted() {
      return;
    }
    notified.await
  }
}

/// Where a call's requests are recorded, its rate limit (in RCU), its abort flag and its randomness.
pub struct GetHooks {
  pub meter: Meter,
  pub limiter: Option<Arc<RateLimiter>>,
  pub abort: Arc<Abort>,
  pub jitter: Arc<dyn Jitter>,
}

/// Turns the items of one answer into the caller's form (a chunk); runs on the request's task.
pub type Chunker<C> = Arc<dyn Fn(&[AvMap]) -> C + Send + Sync>;

/// What became of one distinct key.
#[derive(Debug, PartialEq)]
pub enum Read {
  /// The key's item is item `item` of chunk `chunk`.
  Found {
    chunk: u32,
    item: u32,
  },
  Absent,
  Failed {
    reason: String,
    message: String,
    attempts: u32,
  },
}

#[derive(Debug)]
pub struct GetOutcome<C> {
  /// One per distinct key, in the order of their first position.
  pub reads: Vec<Read>,
  /// The answers' items, in the caller's form, in the order the answers came.
  pub chunks: Vec<C>,
  /// For each key given, the index of its distinct key in `reads`.
  pub slots: Vec<u32>,
  /// This call's requests, retries and consumed capacity.
  pub totals: Totals,
  pub elapsed: Duration,
}

impl<C> GetOutcome<C> {
  pub fn failed(&self) -> usize {
    self
      .reads
      .iter()
      .filter(|r| matches!(r, Read::Failed { .. }))
      .count()
  }
}

struct Key {
  norm: NormKey,
  /// The key's JSON alone (a whole item given as a key is projected).
  json: Vec<u8>,
  attempts: u32,
}

/// Read capacity one key is estimated to take before the response says (a 4 KB item or less).
fn units_per_key(consistent: bool) -> f64 {
  if consistent {
    1.0
  } else {
    0.5
  }
}

struct Run<'a, C> {
  cfg: &'a GetConfig,
  hooks: &'a GetHooks,
  keys: Vec<Key>,
  reads: Vec<Option<Read>>,
  chunks: Vec<C>,
  ready: VecDeque<u32>,
  delayed: Vec<(Instant, u32)>,
  totals: Totals,
}

/// An answer as the request's task leaves it: the normalized keys of what came back (None for an entry
/// without a valid key), and the items in the caller's form.
struct Answer<C> {
  found: Vec<Option<NormKey>>,
  unprocessed: Vec<Option<NormKey>>,
  foreign: usize,
  consumed_rcu: f64,
  request_id: Option<String>,
  chunk: C,
}

impl<C> Answer<C> {
  fn of(reply: GetReply, schema: &KeySchema, chunker: &Chunker<C>) -> Self {
    Answer {
      found: reply.items.iter().map(|i| schema.key_of(i)).collect(),
      unprocessed: reply.unprocessed.iter().map(|k| schema.key_of(k)).collect(),
      foreign: reply.foreign,
      consumed_rcu: reply.consumed_rcu,
      request_id: reply.request_id,
      chunk: chunker(&reply.items),
    }
  }
}

/// How an answer matches what was sent: the key each returned item belongs to, in order, and the keys
/// returned unprocessed. None when it cannot be matched (an entry matches no key sent, or one twice, or
/// names another table): then it confirms nothing.
struct Verdict {
  found: Vec<u32>,
  unprocessed: Vec<u32>,
}

fn reconcile<C>(sent: &HashMap<&[u8], u32>, answer: &Answer<C>) -> Option<Verdict> {
  if answer.foreign > 0 {
    return None;
  }
  let mut seen = std::collections::HashSet::with_capacity(sent.len());
  let mut lookup = |key: &Option<NormKey>| -> Option<u32> {
    let i = *sent.get(&key.as_ref()?[..])?;
    seen.insert(i).then_some(i)
  };
  let found = answer
    .found
    .iter()
    .map(&mut lookup)
    .collect::<Option<Vec<_>>>()?;
  let unprocessed = answer
    .unprocessed
    .iter()
    .map(&mut lookup)
    .collect::<Option<Vec<_>>>()?;
  Some(Verdict { found, unprocessed })
}

/// One random draw of the backoff, shared by the keys of one response.
struct Drawn(f64);

impl Jitter for Drawn {
  fn unit(&self) -> f64 {
    self.0
  }
}

const ABORTED_MESSAGE: &str = "the signal was aborted before the key was read";

impl<C> Run<'_, C> {
  fn fail(&mut self, i: u32, reason: &str, message: String) {
    let attempts = self.keys[i as usize].attempts;
    self.reads[i as usize] = Some(Read::Failed {
      reason: reason.to_string(),
      message,
      attempts,
    });
  }

  /// Sends the key again after a backoff, or fails it once its retries are used up (or the call aborted).
  /// `draw` is the backoff's random draw, one per response: keys that came back together with as many
  /// attempts wait as long, and go back together, in one request.
  fn retry_or_fail(&mut self, i: u32, draw: &Drawn, reason: &str, message: &str) {
    if self.hooks.abort.is_aborted() {
      self.fail(i, error::ABORTED, ABORTED_MESSAGE.into());
      return;
    }
    let attempts = self.keys[i as usize].attempts;
    match self.cfg.retry.next_delay(Retry::Transient, attempts, draw) {
      Some(delay) => {
        self.hooks.meter.retried(1, Some(&mut self.totals));
        self.delayed.push((Instant::now() + delay, i));
      }
      None => self.fail(
        i,
        reason,
        format!("{message} (gave up after {attempts} attempts)"),
      ),
    }
  }

  fn fail_waiting(&mut self) {
    let waiting: Vec<u32> = self
      .ready
      .drain(..)
      .chain(self.delayed.drain(..).map(|(_, i)| i))
      .collect();
    for i in waiting {
      self.fail(i, error::ABORTED, ABORTED_MESSAGE.into());
    }
  }

  /// Keys whose backoff is over go back in line.
  fn wake_due(&mut self) {
    let now = Instant::now();
    let mut i = 0;
    while i < self.delayed.len() {
      if self.delayed[i].0 <= now {
        let (_, k) = self.delayed.swap_remove(i);
        self.ready.push_back(k);
      } else {
        i += 1;
      }
    }
  }

  /// The next request's keys: up to 100, and no more than the rate limit's bucket holds.
  fn next_batch(&mut self) -> Vec<u32> {
    let per_key = units_per_key(self.cfg.consistent);
    let cap = match &self.hooks.limiter {
      Some(l) => ((l.max_units() / per_key).floor() as usize).clamp(1, MAX_GET_KEYS),
      None => MAX_GET_KEYS,
    };
    let n = cap.min(self.ready.len());
    let batch: Vec<u32> = self.ready.drain(..n).collect();
    for &i in &batch {
      self.keys[i as usize].attempts += 1;
    }
    batch
  }

  /// Records a request and decides each of its keys.
  fn settle(&mut self, sent: Vec<u32>, duration: Duration, res: Result<Answer<C>, CoreError>) {
    let draw = Drawn(self.hooks.jitter.unit());
    let mut record = RequestRecord {
      operation: "BatchGetItem",
      table: self.cfg.table.clone(),
      duration,
      items: sent.len() as u32,
      attempt: sent
        .iter()
        .map(|&i| self.keys[i as usize].attempts)
        .max()
        .unwrap_or(1),
      ..Default::default()
    };
    let verdict = match &res {
      Ok(r) => {
        let by_key: HashMap<&[u8], u32> = sent
          .iter()
          .map(|&i| (&self.keys[i as usize].norm[..], i))
          .collect();
        let v = reconcile(&by_key, r);
        record.unprocessed = (r.unprocessed.len() + r.foreign) as u32;
        record.returned = r.found.len() as u32;
        record.consumed_rcu = r.consumed_rcu;
        record.request_id = r.request_id.clone();
        if v.is_none() {
          record.error_code = Some(crate::error::UNRECONCILED_RESPONSE.into());
        }
        if let Some(l) = &self.hooks.limiter {
          if r.consumed_rcu > 0.0 {
            l.settle(
              sent.len() as f64 * units_per_key(self.cfg.consistent),
              r.consumed_rcu,
            );
          }
          if !r.unprocessed.is_empty() {
            l.on_throttle();
          }
        }
        v
      }
      Err(e) => {
        record.throttled = e.retry == Retry::Throttle;
        record.error_code = Some(e.code.clone());
        record.request_id = e.request_id.clone();
        if let (Some(l), true) = (&self.hooks.limiter, record.throttled) {
          l.on_throttle();
        }
        None
      }
    };
    self.hooks.meter.request(&record, Some(&mut self.totals));
    let chunk = match res {
      Ok(r) => r.chunk,
      Err(e) => {
        for i in sent {
          if e.retry.is_retryable() {
            self.retry_or_fail(i, &draw, e.item_reason(), &e.message);
          } else {
            // Reported at once, as the writer does: retrying would meet the same answer.
            self.fail(i, &e.code, e.message.clone());
          }
        }
        return;
      }
    };
    let Some(v) = verdict else {
      for i in sent {
        self.retry_or_fail(
          i,
          &draw,
          crate::error::UNRECONCILED_RESPONSE,
          "DynamoDB's response could not be matched to the keys sent",
        );
      }
      return;
    };
    let c = self.chunks.len() as u32;
    for (item, i) in v.found.into_iter().enumerate() {
      self.reads[i as usize] = Some(Read::Found {
        chunk: c,
        item: item as u32,
      });
    }
    self.chunks.push(chunk);
    for &i in &v.unprocessed {
      self.retry_or_fail(
        i,
        &draw,
        error::UNPROCESSED_AFTER_RETRIES,
        "DynamoDB returned the key as unprocessed",
      );
    }
    for i in sent {
      if self.reads[i as usize].is_none() && !v.unprocessed.contains(&i) {
        self.reads[i as usize] = Some(Read::Absent);
      }
    }
  }
}

type Sent<C> = (Vec<u32>, Duration, Result<Answer<C>, CoreError>);

/// Reads every key: resolves once each distinct key is found, absent or failed. Rejects only for what
/// fails the call as a whole before anything is sent: an invalid key (InvalidItem with `keys[i]`'s
/// path), or a key schema that cannot be read.
pub async fn batch_get<C: Send + 'static>(
  transport: Arc<dyn GetTransport>,
  cfg: &GetConfig,
  hooks: &GetHooks,
  keys: Vec<Encoded>,
  chunker: Chunker<C>,
) -> Result<GetOutcome<C>, CoreError> {
  let started = Instant::now();
  if keys.is_empty() {
    return Ok(GetOutcome {
      reads: Vec::new(),
      chunks: Vec::new(),
      slots: Vec::new(),
      totals: Totals::default(),
      elapsed: Duration::ZERO,
    });
  }
  let schema = match &cfg.key_schema {
    Some(s) => Arc::new(s.clone()),
    None => transport
      .key_schema(&cfg.table)
      .await
      .map_err(|e| schema::unavailable(&cfg.table, e))?,
  };
  let mut distinct: Vec<Key> = Vec::new();
  let mut index: HashMap<NormKey, u32> = HashMap::with_capacity(keys.len());
  let mut slots = Vec::with_capacity(keys.len());
  for (i, enc) in keys.iter().enumerate() {
    let norm = schema.check(enc, &format!("keys[{i}]"))?;
    let next = distinct.len() as u32;
    let slot = *index.entry(norm.clone()).or_insert(next);
    if slot == next {
      distinct.push(Key {
        norm,
        json: schema.project(enc),
        attempts: 0,
      });
    }
    slots.push(slot);
  }
  drop(keys);
  let attrs = cfg.projection.clone().map(|mut p| {
    for (a, _, _) in schema.attrs() {
      if !p.contains(&a.name) {
        p.push(a.name.clone());
      }
    }
    p
  });
  let shape = Arc::new(ReadShape::new(cfg.consistent, attrs.as_deref(), Vec::new()));
  let n = distinct.len();
  let mut run = Run {
    cfg,
    hooks,
    keys: distinct,
    reads: (0..n).map(|_| None).collect(),
    chunks: Vec::new(),
    ready: (0..n as u32).collect(),
    delayed: Vec::new(),
    totals: Totals::default(),
  };
  let mut in_flight: JoinSet<Sent<C>> = JoinSet::new();
  loop {
    run.wake_due();
    if hooks.abort.is_aborted() {
      run.fail_waiting();
    }
    while in_flight.len() < cfg.max_in_flight.max(1) && !run.ready.is_empty() {
      let batch = run.next_batch();
      let bytes: usize = batch
        .iter()
        .map(|&i| run.keys[i as usize].json.len() + request::KEY_OVERHEAD)
        .sum();
      let body = request::batch_get(
        &cfg.table,
        batch.iter().map(|&i| &run.keys[i as usize].json[..]),
        &shape,
        bytes,
      );
      let units = batch.len() as f64 * units_per_key(cfg.consistent);
      let transport = transport.clone();
      let limiter = hooks.limiter.clone();
      let table = cfg.table.clone();
      let (schema, chunker) = (schema.clone(), chunker.clone());
      in_flight.spawn(async move {
        if let Some(l) = &limiter {
          l.acquire(units).await;
        }
        let t0 = Instant::now();
        let res = transport.batch_get(&table, body).await;
        let duration = t0.elapsed();
        (
          batch,
          duration,
          res.map(|r| Answer::of(r, &schema, &chunker)),
        )
      });
    }
    if in_flight.is_empty() && run.ready.is_empty() && run.delayed.is_empty() {
      break;
    }
    let next_due = run.delayed.iter().map(|d| d.0).min();
    tokio::select! {
      Some(done) = in_flight.join_next(), if !in_flight.is_empty() => match done {
        Ok((sent, duration, res)) => run.settle(sent, duration, res),
        Err(e) => {
          // A request task that panicked: its keys are unknown, so the call must not resolve as if read.
          return Err(CoreError::new(error::INTERNAL, format!("a BatchGetItem task failed: {e}")));
        }
      },
      _ = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() => {}
      _ = hooks.abort.wait(), if !hooks.abort.is_aborted() => {}
    }
  }
  Ok(GetOutcome {
    reads: run
      .reads
      .into_iter()
      .map(|r| r.expect("every key is decided before the loop ends"))
      .collect(),
    chunks: run.chunks,
    slots,
    totals: run.totals,
    elapsed: started.elapsed(),
  })
}

#[cfg(test)]
mod tests;
