//! The streaming batch-write engine: groups operations into BatchWriteItem requests (25 operations, 16 MB,
//! and no more capacity units than the rate limit's bucket holds), keeps several requests in flight,
//! retries unprocessed and throttled operations with jittered backoff, isolates operations that make a
//! request fail validation, keeps the order of operations per key, and reports every operation it
//! accepted: written, skipped (another shard's) or failed with a reason.
//!
//! Operations arrive already judged and encoded (`item.rs`) through one entry point, `submit`, which owns
//! what happens while the table's key schema is unknown (operations wait for it). The request body is
//! written from the operations' DynamoDB JSON; what the service returns unprocessed is matched back to
//! the operations by normalized key, and an operation is counted as written only when the response says
//! so (an entry that matches nothing makes every operation of the request unconfirmed: they are sent
//! again, and the anomaly is recorded).

use crate::error::{self, CoreError};
use crate::item::{write_units, Encoded};
use crate::key::{self, shard_of, KeySchema, NormKey};
use crate::metrics::{Meter, RequestRecord, Totals};
use crate::rate_limit::RateLimiter;
use crate::read::AvMap;
use crate::request::{self, OpKind};
use crate::retry::{Jitter, Retry, RetryPolicy};
use crate::schema;
use futures_util::future::BoxFuture;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

/// DynamoDB's limits for one BatchWriteItem request.
pub const MAX_BATCH_ITEMS: usize = 25;
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// An entry DynamoDB returned unprocessed.
#[derive(Debug)]
pub struct Returned {
  /// None when the entry was neither a put nor a delete.
  pub kind: Option<OpKind>,
  pub attrs: AvMap,
}

/// What DynamoDB answered to one BatchWriteItem.
#[derive(Debug, Default)]
pub struct BatchReply {
  pub unprocessed: Vec<Returned>,
  /// Unprocessed entries for other tables than the one written to (never expected).
  pub foreign: usize,
  pub consumed_wcu: f64,
  pub request_id: Option<String>,
}

/// The engine's view of DynamoDB. The SDK implements it in `dynamo.rs`; tests use scripted fakes.
pub trait Transport: Send + Sync + 'static {
  fn batch_write(
    &self,
    table: &str,
    body: Vec<u8>,
  ) -> BoxFuture<'static, Result<BatchReply, CoreError>>;
  fn key_schema(&self, table: &str) -> BoxFuture<'static, Result<Arc<KeySchema>, CoreError>>;
}

pub type Spawner = Arc<dyn Fn(BoxFuture<'static, ()>) + Send + Sync>;

#[derive(Clone, Debug)]
pub struct WriterConfig {
  pub table: String,
  pub flush_amount: usize,
  pub max_in_flight: usize,
  pub high_water_mark: usize,
  pub retry: RetryPolicy,
  pub key_schema: Option<KeySchema>,
  /// (index, count): operations whose key falls in another shard are skipped.
  pub shard: Option<(u32, u32)>,
}

impl WriterConfig {
  pub fn new(table: &str) -> Self {
    WriterConfig {
      table: table.to_string(),
      flush_amount: MAX_BATCH_ITEMS,
      max_in_flight: 16,
      high_water_mark: 1_000,
      retry: RetryPolicy::default(),
      key_schema: None,
      shard: None,
    }
  }
}

/// Hashes already spread by `key::hash`, used as they are.
#[derive(Default, Clone, Copy)]
struct KeyHashed;

impl std::hash::BuildHasher for KeyHashed {
  type Hasher = U64Hasher;
  fn build_hasher(&self) -> U64Hasher {
    U64Hasher(0)
  }
}

struct U64Hasher(u64);

impl std::hash::Hasher for U64Hasher {
  fn finish(&self) -> u64 {
    self.0
  }
  fn write(&mut self, bytes: &[u8]) {
    for &b in bytes {
      self.0 = self.0.rotate_left(8) ^ b as u64;
    }
  }
  fn write_u64(&mut self, v: u64) {
    self.0 = v;
  }
}

/// An operation keyed and ready to send.
#[derive(Debug)]
struct Op {
  id: u64,
  kind: OpKind,
  /// The item (put) or the key alone (delete), as DynamoDB JSON.
  json: Vec<u8>,
  size: usize,
  key: NormKey,
  /// The key's hash: per-key order is kept by it (two keys that share a hash are only ordered together).
  slot: u64,
  attempts: u32,
  epoch: u64,
}

impl Op {
  fn units(&self) -> f64 {
    match self.kind {
      OpKind::Put => write_units(self.size),
      OpKind::Delete => 1.0,
    }
  }
}

/// An operation accepted while the key schema was still unknown.
struct Pending {
  id: u64,
  kind: OpKind,
  enc: Encoded,
  epoch: u64,
  notify: oneshot::Sender<Result<(), CoreError>>,
}

/// An operation that could not be written, reported by every flush that covers it.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
  pub id: u64,
  pub kind: OpKind,
  pub reason: String,
  pub message: String,
  pub path: Option<String>,
  pub attempts: u32,
  epoch: u64,
}

/// Why `submit` did not take an operation: `recorded` when it counts as accepted and failed (it is
/// reported by the next flush), not when the writer refused it (closed, aborted).
#[derive(Debug)]
pub struct Rejected {
  pub error: CoreError,
  pub recorded: bool,
}

/// How `submit` took an operation.
#[derive(Debug)]
pub enum Accepted {
  /// Accepted; `full` when the writer now holds `high_water_mark` unfinished operations or more.
  Now { full: bool },
  /// Held until the key schema is known; the receiver says whether the key was then accepted.
  AfterSchema(oneshot::Receiver<Result<(), CoreError>>),
}

/// The outcome of a flush: the covered operations' counts and failures, and the requests since the
/// previous flush resolved. The caller hands `id` back to `Engine::delivered` once the result reached
/// whoever called `flush`.
#[derive(Debug, Clone)]
pub struct FlushResult {
  pub id: u64,
  pub totals: Totals,
  pub failures: Vec<Failure>,
}

pub struct Hooks {
  pub meter: Meter,
  pub limiter: Option<Arc<RateLimiter>>,
}

/// Outcome counts of the operations accepted between two flush calls.
#[derive(Clone, Debug, Default)]
struct Epoch {
  epoch: u64,
  unfinished: usize,
  puts: u64,
  deletes: u64,
  failed: u64,
  skipped: u64,
  retries: u64,
}

struct FlushWaiter {
  id: u64,
  /// The last epoch it covers.
  upto: u64,
  /// The first: operations of earlier epochs were reported by a flush resolved before this one was called.
  from: u64,
  tx: oneshot::Sender<FlushResult>,
}

struct Shared {
  cfg: WriterConfig,
  transport: Arc<dyn Transport>,
  jitter: Arc<dyn Jitter>,
  spawner: Spawner,
  hooks: Hooks,
  state: Mutex<State>,
  wake: Notify,
  room: Notify,
  done_count: AtomicUsize,
}

#[derive(Default)]
struct State {
  schema: Option<Arc<KeySchema>>,
  schema_error: Option<CoreError>,
  pending: VecDeque<Pending>,
  ready: VecDeque<Op>,
  groups: VecDeque<Vec<Op>>,
  retry: Vec<(Instant, Op)>,
  waiting: HashMap<u64, VecDeque<Op>, KeyHashed>,
  busy: HashSet<u64, KeyHashed>,
  in_flight: usize,
  unfinished: usize,
  accepted: u64,
  epoch: u64,
  epochs: VecDeque<Epoch>,
  /// Operations of earlier epochs were reported by a flush whose result was delivered.
  reported_before: u64,
  flushes: Vec<FlushWaiter>,
  /// Flushes resolved here whose results have not reached their callers yet: (id, from, upto).
  undelivered: Vec<(u64, u64, u64)>,
  flush_ids: u64,
  failures: Vec<Failure>,
  done_ids: Vec<u64>,
  totals: Totals,
  flushed_totals: Totals,
  room_waiters: usize,
  aborted: bool,
  closed: bool,
  shutdown: bool,
  started: bool,
}

/// Live counts for `writer.metrics` and progress events.
#[derive(Debug, Clone)]
pub struct Snapshot {
  pub totals: Totals,
  pub accepted: u64,
  pub unfinished: usize,
  pub in_flight: usize,
}

pub struct Engine {
  shared: Arc<Shared>,
}

impl Drop for Engine {
  fn drop(&mut self) {
    // The writer object is gone: let the dispatcher end once nothing is left to do.
    self.shared.state.lock().unwrap().shutdown = true;
    self.shared.wake.notify_one();
  }
}

fn root(kind: OpKind) -> &'static str {
  match kind {
    OpKind::Put => "item",
    OpKind::Delete => "key",
  }
}

impl Engine {
  pub fn new(
    cfg: WriterConfig,
    transport: Arc<dyn Transport>,
    jitter: Arc<dyn Jitter>,
    spawner: Spawner,
    hooks: Hooks,
  ) -> Self {
    let mut state = State {
      schema: cfg.key_schema.clone().map(Arc::new),
      ..Default::default()
    };
    state.epochs.push_back(Epoch::default());
    Engine {
      shared: Arc::new(Shared {
        cfg,
        transport,
        jitter,
        spawner,
        hooks,
        state: Mutex::new(state),
        wake: Notify::new(),
        room: Notify::new(),
        done_count: AtomicUsize::new(0),
      }),
    }
  }

  /// Starts the dispatcher, which reads the key schema first (unless it was given).
  pub fn start(&self) {
    let start = {
      let mut st = self.shared.state.lock().unwrap();
      !std::mem::replace(&mut st.started, true)
    };
    if start {
      (self.shared.spawner)(Box::pin(dispatch(self.shared.clone())));
    }
  }

  pub fn key_schema(&self) -> Option<Arc<KeySchema>> {
    self.shared.state.lock().unwrap().schema.clone()
  }

  /// The one entry point for operations: an item judged by `item::encode` (or the error it got), keyed
  /// against the schema when it is known, held until it is otherwise. An invalid operation is refused
  /// here (the caller's `put` rejects) and reported by the next flush like any failure; a closed or aborted
  /// writer refuses without accepting.
  pub fn submit(
    &self,
    id: u64,
    kind: OpKind,
    item: Result<Encoded, CoreError>,
  ) -> Result<Accepted, Rejected> {
    let sh = &self.shared;
    let mut st = sh.state.lock().unwrap();
    let refuse = |code: &str, what: &str| Rejected {
      error: CoreError::new(
        code,
        format!("the writer for table {} {what}", sh.cfg.table),
      ),
      recorded: false,
    };
    if st.closed {
      return Err(refuse(error::WRITER_CLOSED, "is closed"));
    }
    if st.aborted {
      return Err(refuse(error::ABORTED, "was aborted"));
    }
    let epoch = st.epoch;
    st.accepted += 1;
    st.unfinished += 1;
    st.epochs.back_mut().unwrap().unfinished += 1;
    let enc = match item {
      Ok(e) => e,
      Err(e) => {
        sh.fail(&mut st, id, kind, epoch, 0, &e);
        return Err(Rejected {
          error: e,
          recorded: true,
        });
      }
    };
    if st.schema.is_none() && st.schema_error.is_none() {
      let (tx, rx) = oneshot::channel();
      st.pending.push_back(Pending {
        id,
        kind,
        enc,
        epoch,
        notify: tx,
      });
      drop(st);
      self.start();
      return Ok(Accepted::AfterSchema(rx));
    }
    sh.admit(&mut st, id, kind, enc, epoch)
      .map_err(|error| Rejected {
        error,
        recorded: true,
      })?;
    let full = st.unfinished >= sh.cfg.high_water_mark;
    let start = !st.started;
    st.started = true;
    // Wake the dispatcher only when it can do something: once per batch's worth of new operations while a
    // request slot is free, or under pressure. A wake-up is a futex call, too costly to make per item.
    let wake = start
      || full
      || (st.in_flight < sh.cfg.max_in_flight
        && st.ready.len().is_multiple_of(sh.cfg.flush_amount));
    drop(st);
    if start {
      (sh.spawner)(Box::pin(dispatch(sh.clone())));
    }
    if wake {
      sh.wake.notify_one();
    }
    Ok(Accepted::Now { full })
  }

  /// Ids of operations finished without failure (written or skipped) since the last call.
  pub fn take_done(&self) -> Vec<u64> {
    let ids = std::mem::take(&mut self.shared.state.lock().unwrap().done_ids);
    self
      .shared
      .done_count
      .fetch_sub(ids.len(), Ordering::Relaxed);
    ids
  }

  /// How many ids `take_done` would return (no lock).
  pub fn done_pending(&self) -> usize {
    self.shared.done_count.load(Ordering::Relaxed)
  }

  /// Waits until the writer holds fewer than `high_water_mark` unfinished operations (or was aborted).
  pub fn wait_for_room(&self) -> impl Future<Output = ()> + Send + 'static {
    let shared = self.shared.clone();
    async move {
      loop {
        let notified = shared.room.notified();
        {
          let mut st = shared.state.lock().unwrap();
          if st.unfinished < shared.cfg.high_water_mark || st.aborted {
            return;
          }
          st.room_waiters += 1;
        }
        shared.wake.notify_one();
        notified.await;
        shared.state.lock().unwrap().room_waiters -= 1;
      }
    }
  }

  /// Sends everything accepted before the call and resolves when all of it is written, skipped or failed.
  /// It covers the operations accepted before the call and not reported by a flush whose result had been
  /// delivered (`delivered`) before the call, so overlapping flushes both report a shared failure.
  pub fn flush(&self) -> oneshot::Receiver<FlushResult> {
    let (tx, rx) = oneshot::channel();
    let mut st = self.shared.state.lock().unwrap();
    let upto = st.epoch;
    st.epoch += 1;
    let next = st.epoch;
    st.epochs.push_back(Epoch {
      epoch: next,
      ..Default::default()
    });
    let from = st.reported_before;
    st.flush_ids += 1;
    let id = st.flush_ids;
    st.flushes.push(FlushWaiter { id, upto, from, tx });
    resolve_flushes(&mut st);
    let started = std::mem::replace(&mut st.started, true);
    drop(st);
    if !started {
      (self.shared.spawner)(Box::pin(dispatch(self.shared.clone())));
    }
    self.shared.wake.notify_one();
    rx
  }

  /// Refuses further operations (`WriterClosed`) and flushes.
  pub fn close(&self) -> oneshot::Receiver<FlushResult> {
    self.shared.state.lock().unwrap().closed = true;
    self.flush()
  }

  /// The result of flush `id` reached its caller: later flushes no longer cover what it reported (a flush
  /// called before that moment still does, even if this one had already resolved here). Returns the ids
  /// of failed operations no flush can report any more (their callers' objects may be dropped).
  pub fn delivered(&self, id: u64) -> Vec<u64> {
    let mut st = self.shared.state.lock().unwrap();
    let Some(i) = st.undelivered.iter().position(|d| d.0 == id) else {
      return Vec::new();
    };
    let (_, _, upto) = st.undelivered.swap_remove(i);
    st.reported_before = st.reported_before.max(upto + 1);
    forget_reported(&mut st)
  }

  pub fn is_closed(&self) -> bool {
    self.shared.state.lock().unwrap().closed
  }

  /// Stops sending: queued operations fail with `Aborted`; requests in flight settle.
  pub fn abort(&self) {
    let mut st = self.shared.state.lock().unwrap();
    st.aborted = true;
    // What waits for the key schema fails now, not once the schema arrives.
    let aborted = CoreError::new(
      error::ABORTED,
      "the writer's signal was aborted before the item was sent",
    );
    while let Some(p) = st.pending.pop_front() {
      self
        .shared
        .fail(&mut st, p.id, p.kind, p.epoch, 0, &aborted);
      let _ = p.notify.send(Err(aborted.clone()));
    }
    drop(st);
    self.shared.wake.notify_one();
    self.shared.room.notify_waiters();
  }

  pub fn is_aborted(&self) -> bool {
    self.shared.state.lock().unwrap().aborted
  }

  pub fn snapshot(&self) -> Snapshot {
    let st = self.shared.state.lock().unwrap();
    Snapshot {
      totals: st.totals.clone(),
      accepted: st.accepted,
      unfinished: st.unfinished,
      in_flight: st.in_flight,
    }
  }

  pub fn limiter(&self) -> Option<&Arc<RateLimiter>> {
    self.shared.hooks.limiter.as_ref()
  }
}

fn resolve_flushes(st: &mut State) {
  // Every epoch before the oldest one with unfinished operations is complete.
  let oldest_open = st
    .epochs
    .iter()
    .find(|e| e.unfinished > 0)
    .map(|e| e.epoch)
    .unwrap_or(u64::MAX);
  let mut ready = Vec::new();
  let mut i = 0;
  while i < st.flushes.len() {
    if st.flushes[i].upto < oldest_open {
      ready.push(st.flushes.remove(i));
    } else {
      i += 1;
    }
  }
  if ready.is_empty() {
    return;
  }
  let mut results = Vec::with_capacity(ready.len());
  for w in ready {
    let mut failures: Vec<Failure> = st
      .failures
      .iter()
      .filter(|f| f.epoch >= w.from && f.epoch <= w.upto)
      .cloned()
      .collect();
    failures.sort_by_key(|f| f.id);
    let mut totals = st.totals.since(&st.flushed_totals);
    let (mut puts, mut deletes, mut failed, mut skipped, mut retries) = (0, 0, 0, 0, 0);
    for e in st
      .epochs
      .iter()
      .filter(|e| e.epoch >= w.from && e.epoch <= w.upto)
    {
      puts += e.puts;
      deletes += e.deletes;
      failed += e.failed;
      skipped += e.skipped;
      retries += e.retries;
    }
    totals.puts_written = puts;
    totals.deletes_written = deletes;
    totals.failed = failed;
    totals.skipped = skipped;
    totals.retries = retries;
    st.totals.mark();
    st.flushed_totals = st.totals.clone();
    st.undelivered.push((w.id, w.from, w.upto));
    results.push((
      w.tx,
      FlushResult {
        id: w.id,
        totals,
        failures,
      },
    ));
  }
  for (tx, r) in results {
    let id = r.id;
    if tx.send(r).is_err() {
      // Nobody waits for it: it will never be delivered, and must not hold failures forever.
      st.undelivered.retain(|d| d.0 != id);
    }
  }
}

/// Forgets the failures (and epochs) no flush can report any more: those before every waiting or
/// undelivered flush's first epoch and before `reported_before`. Returns the forgotten operations' ids.
fn forget_reported(st: &mut State) -> Vec<u64> {
  let floor = st
    .flushes
    .iter()
    .map(|w| w.from)
    .chain(st.undelivered.iter().map(|d| d.1))
    .min()
    .unwrap_or(u64::MAX)
    .min(st.reported_before);
  let mut forgotten = Vec::new();
  st.failures.retain(|f| {
    let keep = f.epoch >= floor;
    if !keep {
      forgotten.push(f.id);
    }
    keep
  });
  while st.epochs.len() > 1 && st.epochs[0].epoch < floor && st.epochs[0].unfinished == 0 {
    st.epochs.pop_front();
  }
  forgotten
}

impl Shared {
  fn epoch_mut<'a>(&self, st: &'a mut State, epoch: u64) -> &'a mut Epoch {
    let front = st.epochs.front().unwrap().epoch;
    &mut st.epochs[(epoch - front) as usize]
  }

  /// Keys an operation and queues it (or skips it, for another shard). Errors are failures of the
  /// operation, recorded here.
  fn admit(
    &self,
    st: &mut State,
    id: u64,
    kind: OpKind,
    enc: Encoded,
    epoch: u64,
  ) -> Result<(), CoreError> {
    if let Some(e) = &st.schema_error {
      let e = e.clone();
      self.fail(st, id, kind, epoch, 0, &e);
      return Err(e);
    }
    let schema = st.schema.clone().expect("admitted with a schema");
    let key = match schema.check(&enc, root(kind)) {
      Ok(k) => k,
      Err(e) => {
        let e = CoreError::from(e);
        self.fail(st, id, kind, epoch, 0, &e);
        return Err(e);
      }
    };
    if let Some((index, count)) = self.cfg.shard {
      if shard_of(&key, count) != index {
        self.epoch_mut(st, epoch).skipped += 1;
        self.hooks.meter.outcome(0, 0, 0, 1, Some(&mut st.totals));
        st.done_ids.push(id);
        self.done_count.fetch_add(1, Ordering::Relaxed);
        self.finish_epoch(st, epoch);
        return Ok(());
      }
    }
    let size = enc.size;
    let json = match kind {
      OpKind::Put => enc.json,
      OpKind::Delete => schema.project(&enc),
    };
    let op = Op {
      id,
      kind,
      json,
      size,
      slot: key::hash(&key),
      key,
      attempts: 0,
      epoch,
    };
    if st.busy.contains(&op.slot) {
      st.waiting.entry(op.slot).or_default().push_back(op);
    } else {
      st.busy.insert(op.slot);
      st.ready.push_back(op);
    }
    Ok(())
  }

  /// The key schema is known (or known to be unreadable): judge what waited for it.
  fn admit_pending(&self, st: &mut State) {
    while let Some(p) = st.pending.pop_front() {
      let res = self.admit(st, p.id, p.kind, p.enc, p.epoch);
      let _ = p.notify.send(res);
    }
  }

  /// One operation less in its epoch; resolves the flushes that were waiting for it.
  fn finish_epoch(&self, st: &mut State, epoch: u64) {
    st.unfinished -= 1;
    self.epoch_mut(st, epoch).unfinished -= 1;
    if !st.flushes.is_empty() {
      resolve_flushes(st);
    }
    // Waiters wake at a low-water mark, not at the first free slot: each wake-up is a hop to the JS thread,
    // so one should let a caller hand over many operations, not one.
    if st.room_waiters > 0 && st.unfinished <= self.low_water_mark() {
      self.room.notify_waiters();
    }
  }

  /// A sent (or queued) operation is done: the next one on its key may go.
  fn release(&self, st: &mut State, op: &Op) {
    if let Some(mut q) = st.waiting.remove(&op.slot) {
      let next = q.pop_front().unwrap();
      if !q.is_empty() {
        st.waiting.insert(op.slot, q);
      }
      st.ready.push_back(next);
    } else {
      st.busy.remove(&op.slot);
    }
    self.finish_epoch(st, op.epoch);
  }

  fn low_water_mark(&self) -> usize {
    let hwm = self.cfg.high_water_mark;
    hwm.saturating_sub((hwm / 4).max(self.cfg.flush_amount))
  }

  /// Records a failure of an operation that holds no key (refused before it was keyed).
  fn fail(&self, st: &mut State, id: u64, kind: OpKind, epoch: u64, attempts: u32, e: &CoreError) {
    self.record_failure(
      st,
      id,
      kind,
      epoch,
      attempts,
      e.item_reason(),
      &e.message,
      e.path.clone(),
    );
    self.finish_epoch(st, epoch);
  }

  #[allow(clippy::too_many_arguments)]
  fn record_failure(
    &self,
    st: &mut State,
    id: u64,
    kind: OpKind,
    epoch: u64,
    attempts: u32,
    reason: &str,
    message: &str,
    path: Option<String>,
  ) {
    self.epoch_mut(st, epoch).failed += 1;
    self.hooks.meter.outcome(0, 0, 1, 0, Some(&mut st.totals));
    st.failures.push(Failure {
      id,
      kind,
      reason: reason.to_string(),
      message: message.to_string(),
      path,
      attempts,
      epoch,
    });
  }

  fn fail_op(&self, st: &mut State, op: Op, reason: &str, message: String) {
    self.record_failure(
      st,
      op.id,
      op.kind,
      op.epoch,
      op.attempts,
      reason,
      &message,
      None,
    );
    self.release(st, &op);
  }

  fn succeed(&self, st: &mut State, op: Op) {
    let e = self.epoch_mut(st, op.epoch);
    match op.kind {
      OpKind::Put => e.puts += 1,
      OpKind::Delete => e.deletes += 1,
    }
    let (p, d) = if op.kind == OpKind::Put {
      (1, 0)
    } else {
      (0, 1)
    };
    self.hooks.meter.outcome(p, d, 0, 0, Some(&mut st.totals));
    st.done_ids.push(op.id);
    self.done_count.fetch_add(1, Ordering::Relaxed);
    self.release(st, &op);
  }

  /// Sends the operation again after a backoff, or reports it once its retries are used up.
  fn retry_or_fail(&self, st: &mut State, op: Op, reason: &str, message: &str) {
    if st.aborted {
      self.fail_op(
        st,
        op,
        error::ABORTED,
        "the writer's signal was aborted before the item was written".into(),
      );
      return;
    }
    match self
      .cfg
      .retry
      .next_delay(Retry::Transient, op.attempts, self.jitter.as_ref())
    {
      Some(delay) => {
        self.epoch_mut(st, op.epoch).retries += 1;
        self.hooks.meter.retried(1, Some(&mut st.totals));
        st.retry.push((Instant::now() + delay, op));
      }
      None => {
        let attempts = op.attempts;
        self.fail_op(
          st,
          op,
          reason,
          format!("{message} (gave up after {attempts} attempts)"),
        );
      }
    }
  }

  fn should_send_partial(&self, st: &State) -> bool {
    !st.flushes.is_empty()
      || st.room_waiters > 0
      || st.unfinished >= self.cfg.high_water_mark
      || st.aborted
      || st.closed
      || (st.in_flight == 0 && (!st.waiting.is_empty() || !st.retry.is_empty()))
  }

  /// Takes the next request's operations, if one should leave now: a full request (25 operations, the
  /// byte limit, or as many capacity units as the rate limit's bucket holds), or a partial one when
  /// something waits for it.
  fn next_batch(&self, st: &mut State) -> Option<Vec<Op>> {
    if st.in_flight >= self.cfg.max_in_flight || st.aborted {
      return None;
    }
    if let Some(g) = st.groups.pop_front() {
      return Some(g);
    }
    if st.ready.is_empty() {
      return None;
    }
    let cap_units = self.hooks.limiter.as_ref().map(|l| l.max_units());
    let mut n = 0;
    let mut bytes = request::BATCH_OVERHEAD + self.cfg.table.len();
    let mut units = 0.0;
    let mut full = false;
    for op in st.ready.iter() {
      if n == self.cfg.flush_amount {
        full = true;
        break;
      }
      let b = op.json.len() + request::ENTRY_OVERHEAD;
      let u = op.units();
      if n > 0 && (bytes + b > MAX_REQUEST_BYTES || cap_units.is_some_and(|c| units + u > c)) {
        full = true;
        break;
      }
      n += 1;
      bytes += b;
      units += u;
    }
    if !full && !self.should_send_partial(st) {
      return None;
    }
    Some(st.ready.drain(..n).collect())
  }

  fn fail_queued(&self, st: &mut State) {
    let msg = "the writer's signal was aborted before the item was sent";
    let aborted = CoreError::new(error::ABORTED, msg);
    while let Some(p) = st.pending.pop_front() {
      self.fail(st, p.id, p.kind, p.epoch, 0, &aborted);
      let _ = p.notify.send(Err(aborted.clone()));
    }
    let mut ops: Vec<Op> = st.ready.drain(..).collect();
    ops.extend(st.groups.drain(..).flatten());
    ops.extend(st.retry.drain(..).map(|(_, op)| op));
    let waiting: Vec<Op> = st.waiting.drain().flat_map(|(_, q)| q).collect();
    ops.extend(waiting);
    for op in ops {
      self.fail_op(st, op, error::ABORTED, msg.into());
    }
  }
}

/// The dispatcher: one task per writer, ending once the writer is dropped and nothing is left to do.
async fn dispatch(shared: Arc<Shared>) {
  // Learn the key schema first: needed for key checks, per-key order and matching responses.
  let need_schema = shared.state.lock().unwrap().schema.is_none();
  if need_schema {
    let res = shared.transport.key_schema(&shared.cfg.table).await;
    let mut st = shared.state.lock().unwrap();
    match res {
      Ok(s) => st.schema = Some(s),
      Err(e) => st.schema_error = Some(schema::unavailable(&shared.cfg.table, e)),
    }
    shared.admit_pending(&mut st);
  }
  loop {
    let notified = shared.wake.notified();
    let deadline = {
      let mut st = shared.state.lock().unwrap();
      let now = Instant::now();
      if !st.retry.is_empty() {
        let (due, later): (Vec<_>, Vec<_>) = st.retry.drain(..).partition(|(t, _)| *t <= now);
        st.retry = later;
        for (_, op) in due.into_iter().rev() {
          st.ready.push_front(op);
        }
      }
      if st.aborted {
        shared.fail_queued(&mut st);
      }
      while let Some(batch) = shared.next_batch(&mut st) {
        st.in_flight += 1;
        let s = shared.clone();
        (shared.spawner)(Box::pin(send(s, batch)));
      }
      if st.shutdown && st.unfinished == 0 && st.in_flight == 0 {
        return;
      }
      st.retry.iter().map(|(t, _)| *t).min()
    };
    match deadline {
      Some(d) => {
        tokio::select! {
          _ = notified => {}
          _ = tokio::time::sleep_until(d) => {}
        }
      }
      None => notified.await,
    }
  }
}

/// Which operations of a request the response leaves unwritten: by normalized key, fail-safe. None when
/// the response cannot be reconciled (an entry matches no operation, or matches one twice, or names
/// another table): then no operation may be taken as written.
fn unwritten(batch: &[Op], reply: &BatchReply, schema: &KeySchema) -> Option<Vec<bool>> {
  let mut unwritten = vec![false; batch.len()];
  if reply.unprocessed.is_empty() && reply.foreign == 0 {
    return Some(unwritten);
  }
  if reply.foreign > 0 {
    return None;
  }
  let index: HashMap<&[u8], usize> = batch
    .iter()
    .enumerate()
    .map(|(i, op)| (&op.key[..], i))
    .collect();
  for r in &reply.unprocessed {
    let key = schema.key_of(&r.attrs)?;
    let i = *index.get(&key[..])?;
    if unwritten[i] || r.kind != Some(batch[i].kind) {
      return None;
    }
    unwritten[i] = true;
  }
  Some(unwritten)
}

async fn send(shared: Arc<Shared>, mut batch: Vec<Op>) {
  let units: f64 = batch.iter().map(Op::units).sum();
  if let Some(l) = &shared.hooks.limiter {
    l.acquire(units).await;
  }
  for op in batch.iter_mut() {
    op.attempts += 1;
  }
  let bytes: usize = batch
    .iter()
    .map(|o| o.json.len() + request::ENTRY_OVERHEAD)
    .sum();
  let body = request::batch_write(
    &shared.cfg.table,
    batch.iter().map(|o| (o.kind, &o.json[..])),
    bytes,
  );
  let started = Instant::now();
  let res = shared.transport.batch_write(&shared.cfg.table, body).await;
  let duration = started.elapsed();
  let mut record = RequestRecord {
    operation: "BatchWriteItem",
    table: shared.cfg.table.clone(),
    duration,
    items: batch.len() as u32,
    attempt: batch.iter().map(|o| o.attempts).max().unwrap_or(1),
    ..Default::default()
  };
  let mut st = shared.state.lock().unwrap();
  let schema = st.schema.clone().expect("sent with a schema");
  let verdict = res.as_ref().ok().map(|r| unwritten(&batch, r, &schema));
  match &res {
    Ok(r) => {
      record.unprocessed = (r.unprocessed.len() + r.foreign) as u32;
      record.consumed_wcu = r.consumed_wcu;
      record.request_id = r.request_id.clone();
      if verdict == Some(None) {
        record.error_code = Some(error::UNRECONCILED_RESPONSE.into());
      }
    }
    Err(e) => {
      record.throttled = e.retry == Retry::Throttle;
      record.error_code = Some(e.code.clone());
      record.request_id = e.request_id.clone();
    }
  }
  // Tokens are corrected by the capacity DynamoDB reports; a throttled or failed attempt keeps its tokens,
  // so retries are paced by the bucket instead of bursting straight back.
  if let Some(l) = &shared.hooks.limiter {
    match &res {
      Ok(r) => {
        if r.consumed_wcu > 0.0 {
          l.settle(units, r.consumed_wcu);
        }
        if !r.unprocessed.is_empty() {
          l.on_throttle();
        }
      }
      Err(e) if e.retry == Retry::Throttle => l.on_throttle(),
      Err(_) => {}
    }
  }
  shared.hooks.meter.request(&record, Some(&mut st.totals));
  st.in_flight -= 1;
  match res {
    Ok(_) => match verdict.flatten() {
      Some(unwritten) => {
        for (op, again) in batch.into_iter().zip(unwritten) {
          if again {
            shared.retry_or_fail(
              &mut st,
              op,
              error::UNPROCESSED_AFTER_RETRIES,
              "DynamoDB returned the item as unprocessed",
            );
          } else {
            shared.succeed(&mut st, op);
          }
        }
      }
      None => {
        for op in batch {
          shared.retry_or_fail(
            &mut st,
            op,
            error::UNRECONCILED_RESPONSE,
            "DynamoDB's response could not be matched to the items sent",
          );
        }
      }
    },
    Err(e) => match e.retry {
      Retry::Throttle | Retry::Transient => {
        let reason = e.item_reason().to_string();
        for op in batch {
          shared.retry_or_fail(&mut st, op, &reason, &e.message);
        }
      }
      Retry::Validation if batch.len() > 1 => {
        // Split and send the halves on their own until the offenders are isolated.
        for op in &batch {
          shared.epoch_mut(&mut st, op.epoch).retries += 1;
        }
        shared
          .hooks
          .meter
          .retried(batch.len() as u64, Some(&mut st.totals));
        let second = batch.split_off(batch.len() / 2);
        st.groups.push_front(second);
        st.groups.push_front(batch);
      }
      _ => {
        for op in batch {
          shared.fail_op(&mut st, op, &e.code.clone(), e.message.clone());
        }
      }
    },
  }
  drop(st);
  shared.wake.notify_one();
}

#[cfg(test)]
mod tests;
