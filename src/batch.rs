//! The streaming batch-write engine: groups operations into BatchWriteItem requests of up to 25, keeps
//! several requests in flight, retries unprocessed and throttled items with jittered backoff, isolates
//! items that make a request fail validation, and keeps the order of operations per key.
//!
//! It knows nothing of napi: the binding hands it decoded items and reads back failures and counts.

use crate::error::{self, CoreError, Retry};
use crate::marshal::{self, Item, KeySchema};
use crate::metrics::{RequestRecord, SharedTotals, Totals};
use crate::rate_limit::RateLimiter;
use crate::retry::{Jitter, RetryPolicy};
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// DynamoDB's limits for one BatchWriteItem request.
pub const MAX_BATCH_ITEMS: usize = 25;
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
  Put,
  Delete,
}

impl OpKind {
  pub fn as_str(self) -> &'static str {
    match self {
      OpKind::Put => "put",
      OpKind::Delete => "delete",
    }
  }
}

#[derive(Debug)]
pub struct Op {
  /// The caller's id for the operation (the JS facade maps it back to the original item).
  pub id: f64,
  pub kind: OpKind,
  /// Moved into the request when sent; restored from UnprocessedItems or, after a failed request,
  /// re-decoded from `wire` (ops without a wire are copied instead of moved).
  pub item: Item,
  wire: Option<Arc<Wire>>,
  size: usize,
  key: Vec<u8>,
  attempts: u32,
  epoch: u64,
}

/// What `push` accepted: a decoded item, or the JS codec's wire, decoded later on the engine's threads so
/// the JS thread only hands it over.
#[derive(Debug)]
pub enum Body {
  Item(Item, usize),
  Wire(Vec<u16>, Vec<Vec<u8>>),
}

/// A wire kept for re-decoding: the text and the binaries it refers to.
type Wire = (Vec<u16>, Vec<Vec<u8>>);

/// An accepted operation not yet decoded and keyed.
#[derive(Debug)]
struct Pending {
  id: f64,
  kind: OpKind,
  body: Body,
  epoch: u64,
}

impl Pending {
  fn into_op(self, item: Item, size: usize) -> Op {
    Op {
      id: self.id,
      kind: self.kind,
      item,
      wire: None,
      size,
      key: Vec::new(),
      attempts: 0,
      epoch: self.epoch,
    }
  }
}

/// An operation that could not be written, reported once by the flush that covers it.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
  pub id: f64,
  pub kind: OpKind,
  pub reason: String,
  pub message: String,
  pub attempts: u32,
  epoch: u64,
}

/// What DynamoDB answered to one BatchWriteItem.
#[derive(Debug, Default)]
pub struct BatchResponse {
  pub unprocessed: Vec<WriteRequest>,
  pub consumed_wcu: f64,
  pub request_id: Option<String>,
}

/// The engine's view of DynamoDB. The SDK implements it in `client.rs`; tests use scripted fakes.
pub trait Transport: Send + Sync + 'static {
  fn batch_write(
    &self,
    table: String,
    requests: Vec<WriteRequest>,
  ) -> BoxFuture<Result<BatchResponse, CoreError>>;
  fn key_schema(&self, table: String) -> BoxFuture<Result<KeySchema, CoreError>>;
}

pub type Spawner = Arc<dyn Fn(BoxFuture<()>) + Send + Sync>;
pub type Observer = Arc<dyn Fn(&RequestRecord) + Send + Sync>;

#[derive(Clone, Debug)]
pub struct WriterConfig {
  pub table: String,
  pub flush_amount: usize,
  pub max_in_flight: usize,
  pub high_water_mark: usize,
  pub retry: RetryPolicy,
  pub key_schema: Option<KeySchema>,
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
    }
  }
}

/// The outcome of a flush: counts since the previous flush and the failures it covers.
#[derive(Debug, Clone)]
pub struct FlushResult {
  pub totals: Totals,
  pub failures: Vec<Failure>,
}

pub struct Hooks {
  pub observer: Option<Observer>,
  pub client_totals: Option<Arc<SharedTotals>>,
  pub limiter: Option<Arc<RateLimiter>>,
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
  /// Signalled once the key schema is known (or could not be read).
  schema_known: Notify,
}

#[derive(Default)]
struct State {
  schema: Option<Arc<KeySchema>>,
  schema_error: Option<CoreError>,
  incoming: VecDeque<Pending>,
  ready: VecDeque<Op>,
  groups: VecDeque<Vec<Op>>,
  retry: Vec<(Instant, Op)>,
  waiting: HashMap<Vec<u8>, VecDeque<Op>>,
  busy: HashSet<Vec<u8>>,
  in_flight: usize,
  unfinished: usize,
  accepted: u64,
  epoch: u64,
  /// Unfinished operations per epoch, oldest first; the back is always the current epoch.
  epoch_counts: VecDeque<(u64, usize)>,
  flushes: Vec<(u64, oneshot::Sender<FlushResult>)>,
  failures: Vec<Failure>,
  done_ids: Vec<f64>,
  totals: Totals,
  flushed_totals: Totals,
  room_waiters: usize,
  aborted: bool,
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
    state.epoch_counts.push_back((0, 0));
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
        schema_known: Notify::new(),
      }),
    }
  }

  pub fn key_schema(&self) -> Option<Arc<KeySchema>> {
    self.shared.state.lock().unwrap().schema.clone()
  }

  /// Accepts one decoded operation. Never refuses for lack of room. Returns true when the writer now holds
  /// `high_water_mark` unfinished items or more.
  pub fn push(&self, id: f64, kind: OpKind, item: Item, size: usize) -> Result<bool, CoreError> {
    self.accept(id, kind, Body::Item(item, size))
  }

  /// Accepts one operation as its wire; it is decoded and checked on the engine's threads, and a failure
  /// there is reported by the next flush like any other.
  pub fn push_wire(
    &self,
    id: f64,
    kind: OpKind,
    wire: Vec<u16>,
    bins: Vec<Vec<u8>>,
  ) -> Result<bool, CoreError> {
    self.accept(id, kind, Body::Wire(wire, bins))
  }

  fn accept(&self, id: f64, kind: OpKind, body: Body) -> Result<bool, CoreError> {
    self.accept_counting(id, kind, body).map(|(full, _)| full)
  }

  /// Like `push_wire`, also returning how many written ids wait in `take_done` (one lock for both).
  pub fn push_wire_counting(
    &self,
    id: f64,
    kind: OpKind,
    wire: Vec<u16>,
    bins: Vec<Vec<u8>>,
  ) -> Result<(bool, usize), CoreError> {
    self.accept_counting(id, kind, Body::Wire(wire, bins))
  }

  fn accept_counting(&self, id: f64, kind: OpKind, body: Body) -> Result<(bool, usize), CoreError> {
    let mut st = self.shared.state.lock().unwrap();
    if st.aborted {
      return Err(CoreError::new(
        error::ABORTED,
        "the writer's signal was aborted",
      ));
    }
    let epoch = st.epoch;
    st.epoch_counts.back_mut().unwrap().1 += 1;
    st.unfinished += 1;
    st.accepted += 1;
    st.incoming.push_back(Pending {
      id,
      kind,
      body,
      epoch,
    });
    let full = st.unfinished >= self.shared.cfg.high_water_mark;
    let done = st.done_ids.len();
    let start = !st.started;
    st.started = true;
    // Wake the dispatcher only when it can do something: once per batch's worth of new operations while a
    // request slot is free, or under pressure. A wake-up is a futex call, too costly to make per item.
    let wake = start
      || full
      || (st.in_flight < self.shared.cfg.max_in_flight
        && st
          .incoming
          .len()
          .is_multiple_of(self.shared.cfg.flush_amount));
    drop(st);
    if start {
      (self.shared.spawner)(Box::pin(dispatch(self.shared.clone())));
    }
    if wake {
      self.shared.wake.notify_one();
    }
    Ok((full, done))
  }

  /// Starts the dispatcher now (it reads the key schema first) instead of on the first operation.
  pub fn start(&self) {
    let start = {
      let mut st = self.shared.state.lock().unwrap();
      !std::mem::replace(&mut st.started, true)
    };
    if start {
      (self.shared.spawner)(Box::pin(dispatch(self.shared.clone())));
    }
  }

  /// Resolves once the key schema is known, or known to be unavailable (true when it is known).
  pub fn schema_ready(&self) -> impl Future<Output = bool> + Send + 'static {
    let shared = self.shared.clone();
    async move {
      loop {
        let notified = shared.schema_known.notified();
        {
          let st = shared.state.lock().unwrap();
          if st.schema.is_some() {
            return true;
          }
          if st.schema_error.is_some() {
            return false;
          }
        }
        notified.await;
      }
    }
  }

  /// Ids of operations written since the last call (so the caller can drop its copies).
  pub fn take_done(&self) -> Vec<f64> {
    std::mem::take(&mut self.shared.state.lock().unwrap().done_ids)
  }

  pub fn done_pending(&self) -> usize {
    self.shared.state.lock().unwrap().done_ids.len()
  }

  /// Waits until the writer holds fewer than `high_water_mark` unfinished items.
  pub fn wait_for_room(&self) -> impl Future<Output = ()> + Send + 'static {
    let shared = self.shared.clone();
    async move { Self::room(&shared).await }
  }

  async fn room(shared: &Shared) {
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

  /// Sends everything accepted before the call and resolves when all of it is written or failed.
  pub fn flush(&self) -> oneshot::Receiver<FlushResult> {
    let (tx, rx) = oneshot::channel();
    let mut st = self.shared.state.lock().unwrap();
    let e = st.epoch;
    st.epoch += 1;
    let next = st.epoch;
    st.epoch_counts.push_back((next, 0));
    st.flushes.push((e, tx));
    resolve_flushes(&mut st);
    let started = st.started;
    st.started = true;
    drop(st);
    if !started {
      (self.shared.spawner)(Box::pin(dispatch(self.shared.clone())));
    }
    self.shared.wake.notify_one();
    rx
  }

  /// Stops sending: queued operations fail with `Aborted`; requests in flight settle.
  pub fn abort(&self) {
    self.shared.state.lock().unwrap().aborted = true;
    self.shared.wake.notify_one();
    self.shared.room.notify_waiters();
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
  while st.epoch_counts.len() > 1 && st.epoch_counts.front().unwrap().1 == 0 {
    st.epoch_counts.pop_front();
  }
  // Every epoch before the oldest one with unfinished operations is complete.
  let oldest_open = st.epoch_counts.front().unwrap().0;
  let mut i = 0;
  while i < st.flushes.len() {
    let e = st.flushes[i].0;
    if e < oldest_open {
      let (_, tx) = st.flushes.swap_remove(i);
      let mut failures = Vec::new();
      st.failures.retain(|f| {
        if f.epoch <= e {
          failures.push(f.clone());
          false
        } else {
          true
        }
      });
      failures.sort_by(|a, b| a.id.partial_cmp(&b.id).unwrap());
      let totals = st.totals.since(&st.flushed_totals);
      st.flushed_totals = st.totals.clone();
      let _ = tx.send(FlushResult { totals, failures });
    } else {
      i += 1;
    }
  }
}

impl Shared {
  fn finish(&self, st: &mut State, op: &Op) {
    if let Some(mut q) = st.waiting.remove(&op.key) {
      let next = q.pop_front().unwrap();
      if !q.is_empty() {
        st.waiting.insert(op.key.clone(), q);
      }
      st.ready.push_back(next);
    } else {
      st.busy.remove(&op.key);
    }
    st.unfinished -= 1;
    let front = st.epoch_counts.front().unwrap().0;
    st.epoch_counts[(op.epoch - front) as usize].1 -= 1;
    if !st.flushes.is_empty() {
      resolve_flushes(st);
    }
    // Waiters wake at a low-water mark, not at the first free slot: each wake-up is a hop to the JS thread,
    // so one should let a caller hand over many items, not one.
    if st.room_waiters > 0 && st.unfinished <= self.low_water_mark() {
      self.room.notify_waiters();
    }
  }

  fn low_water_mark(&self) -> usize {
    let hwm = self.cfg.high_water_mark;
    hwm.saturating_sub((hwm / 4).max(self.cfg.flush_amount))
  }

  fn fail(&self, st: &mut State, op: Op, reason: &str, message: String) {
    st.totals.failed += 1;
    if let Some(t) = &self.hooks.client_totals {
      t.update(|t| t.failed += 1);
    }
    st.failures.push(Failure {
      id: op.id,
      kind: op.kind,
      reason: reason.to_string(),
      message,
      attempts: op.attempts,
      epoch: op.epoch,
    });
    self.finish(st, &op);
  }

  fn succeed(&self, st: &mut State, op: Op) {
    match op.kind {
      OpKind::Put => st.totals.puts_written += 1,
      OpKind::Delete => st.totals.deletes_written += 1,
    }
    st.done_ids.push(op.id);
    self.finish(st, &op);
  }

  fn retry_or_fail(&self, st: &mut State, op: Op, reason: &str, message: &str) {
    if st.aborted {
      self.fail(
        st,
        op,
        error::ABORTED,
        "the writer's signal was aborted before the item was written".into(),
      );
    } else if op.attempts <= self.cfg.retry.max_retries {
      let delay = self.cfg.retry.delay(op.attempts, self.jitter.unit());
      st.totals.retries += 1;
      if let Some(t) = &self.hooks.client_totals {
        t.update(|t| t.retries += 1);
      }
      st.retry.push((Instant::now() + delay, op));
    } else {
      let attempts = op.attempts;
      self.fail(
        st,
        op,
        reason,
        format!("{message} (gave up after {attempts} attempts)"),
      );
    }
  }

  /// Decodes newly accepted operations (outside the lock, so `push` is never held up by it), checks them,
  /// and moves them to `ready` or behind a busy key.
  fn admit(&self) {
    let pending = {
      let mut st = self.state.lock().unwrap();
      if st.schema.is_none() && st.schema_error.is_none() {
        return;
      }
      std::mem::take(&mut st.incoming)
    };
    if pending.is_empty() {
      return;
    }
    type Decoded = Result<(Item, usize, Option<Arc<Wire>>), String>;
    let decoded: Vec<(Pending, Decoded)> = pending
      .into_iter()
      .map(|mut p| {
        let root = if p.kind == OpKind::Put { "item" } else { "key" };
        let body = std::mem::replace(&mut p.body, Body::Item(Item::new(), 0));
        let res = match body {
          Body::Item(item, size) => Ok((item, size, None)),
          Body::Wire(wire, bins) => {
            let mut taken = bins.clone();
            let kept = Arc::new((wire, bins));
            marshal::decode_item(&kept.0, &mut taken, root).and_then(|item| {
              let size = marshal::item_size(&item);
              marshal::check_item_size(size, root).map(|_| (item, size, Some(kept)))
            })
          }
        };
        (p, res)
      })
      .collect();
    let mut st = self.state.lock().unwrap();
    for (p, res) in decoded {
      let (item, size, wire) = match res {
        Ok(v) => v,
        Err(m) => {
          let op = p.into_op(Item::new(), 0);
          self.fail(&mut st, op, error::INVALID_ITEM, m);
          continue;
        }
      };
      let mut op = p.into_op(item, size);
      op.wire = wire;
      if let Some(err) = &st.schema_error {
        let (code, msg) = (err.code.clone(), err.message.clone());
        self.fail(&mut st, op, &code, msg);
        continue;
      }
      let schema = st.schema.clone().unwrap();
      let root = if op.kind == OpKind::Put {
        "item"
      } else {
        "key"
      };
      if let Err(m) = marshal::check_key(&op.item, &schema, root) {
        self.fail(&mut st, op, error::INVALID_ITEM, m);
        continue;
      }
      if op.kind == OpKind::Delete {
        op.item = marshal::project_key(std::mem::take(&mut op.item), &schema);
      }
      op.key = marshal::key_bytes(&op.item, &schema);
      if st.busy.contains(&op.key) {
        st.waiting.entry(op.key.clone()).or_default().push_back(op);
      } else {
        st.busy.insert(op.key.clone());
        st.ready.push_back(op);
      }
    }
  }

  fn should_send_partial(&self, st: &State) -> bool {
    !st.flushes.is_empty()
      || st.room_waiters > 0
      || st.unfinished >= self.cfg.high_water_mark
      || st.aborted
      || (st.in_flight == 0 && (!st.waiting.is_empty() || !st.retry.is_empty()))
  }

  /// Takes the next request's operations, if one should leave now.
  fn next_batch(&self, st: &mut State) -> Option<Vec<Op>> {
    if st.in_flight >= self.cfg.max_in_flight || st.aborted {
      return None;
    }
    if let Some(g) = st.groups.pop_front() {
      return Some(g);
    }
    if st.ready.is_empty()
      || (st.ready.len() < self.cfg.flush_amount && !self.should_send_partial(st))
    {
      return None;
    }
    let mut batch = Vec::with_capacity(self.cfg.flush_amount);
    let mut bytes = 0;
    while batch.len() < self.cfg.flush_amount {
      let Some(op) = st.ready.front() else { break };
      if !batch.is_empty() && bytes + op.size > MAX_REQUEST_BYTES - 64 * 1024 {
        break;
      }
      bytes += op.size;
      batch.push(st.ready.pop_front().unwrap());
    }
    Some(batch)
  }

  fn fail_queued(&self, st: &mut State) {
    let msg = || "the writer's signal was aborted before the item was sent".to_string();
    let mut ops: Vec<Op> = st
      .incoming
      .drain(..)
      .map(|p| p.into_op(Item::new(), 0))
      .collect();
    ops.extend(st.ready.drain(..));
    ops.extend(st.groups.drain(..).flatten());
    ops.extend(st.retry.drain(..).map(|(_, op)| op));
    for (_, q) in st.waiting.drain() {
      ops.extend(q);
    }
    for op in ops {
      self.fail(st, op, error::ABORTED, msg());
    }
  }
}

/// The request entry for an operation. The item is moved, not copied, when it can be rebuilt from the wire.
fn write_request(op: &mut Op) -> WriteRequest {
  let item = if op.wire.is_some() {
    std::mem::take(&mut op.item)
  } else {
    op.item.clone()
  };
  let b = WriteRequest::builder();
  match op.kind {
    OpKind::Put => b.put_request(
      PutRequest::builder()
        .set_item(Some(item))
        .build()
        .expect("item is set"),
    ),
    OpKind::Delete => b.delete_request(
      DeleteRequest::builder()
        .set_key(Some(item))
        .build()
        .expect("key is set"),
    ),
  }
  .build()
}

/// Puts back an item that was moved into a request and must be sent again.
fn restore(op: &mut Op, from: Option<Item>, schema: Option<&KeySchema>) {
  if !op.item.is_empty() {
    return;
  }
  if let Some(item) = from {
    op.item = item;
    return;
  }
  if let Some(w) = &op.wire {
    let root = if op.kind == OpKind::Put {
      "item"
    } else {
      "key"
    };
    let mut bins = w.1.clone();
    if let Ok(item) = marshal::decode_item(&w.0, &mut bins, root) {
      op.item = match (op.kind, schema) {
        (OpKind::Delete, Some(s)) => marshal::project_key(item, s),
        _ => item,
      };
    }
  }
}

/// The dispatcher: one task per writer, ending once the writer is dropped and nothing is left to do.
async fn dispatch(shared: Arc<Shared>) {
  // Learn the key schema first: needed for key checks, duplicate detection and per-key order.
  let need_schema = shared.state.lock().unwrap().schema.is_none();
  if need_schema {
    // DescribeTable gets the same retry policy as the writes: a throttle or a dropped connection here must
    // not fail every item.
    let mut attempt = 0;
    let res = loop {
      attempt += 1;
      let res = shared.transport.key_schema(shared.cfg.table.clone()).await;
      match &res {
        Err(e)
          if matches!(e.retry, Retry::Throttle | Retry::Transient)
            && attempt <= shared.cfg.retry.max_retries
            && !shared.state.lock().unwrap().aborted =>
        {
          tokio::time::sleep(shared.cfg.retry.delay(attempt, shared.jitter.unit())).await;
        }
        _ => break res,
      }
    };
    let mut st = shared.state.lock().unwrap();
    match res {
      Ok(s) => st.schema = Some(Arc::new(s)),
      Err(e) => {
        let mut e = e;
        if e.code != "ResourceNotFoundException" {
          e.message = format!(
            "could not read the table's key schema ({}: {}); pass the keySchema option",
            e.code, e.message
          );
          e.code = error::KEY_SCHEMA_UNAVAILABLE.to_string();
        }
        st.schema_error = Some(e);
      }
    }
    drop(st);
    shared.schema_known.notify_waiters();
  }
  loop {
    let notified = shared.wake.notified();
    let deadline = {
      shared.admit();
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

async fn send(shared: Arc<Shared>, mut batch: Vec<Op>) {
  for op in batch.iter_mut() {
    op.attempts += 1;
  }
  let estimate: f64 = batch
    .iter()
    .map(|op| match op.kind {
      OpKind::Put => marshal::write_units(op.size),
      OpKind::Delete => 1.0,
    })
    .sum();
  if let Some(l) = &shared.hooks.limiter {
    l.acquire(estimate).await;
  }
  let requests: Vec<WriteRequest> = batch.iter_mut().map(write_request).collect();
  let started = Instant::now();
  let res = shared
    .transport
    .batch_write(shared.cfg.table.clone(), requests)
    .await;
  let duration = started.elapsed();
  let attempt = batch.iter().map(|o| o.attempts).max().unwrap_or(1);
  let mut record = RequestRecord {
    operation: "BatchWriteItem",
    table: shared.cfg.table.clone(),
    duration,
    items: batch.len() as u32,
    attempt,
    ..Default::default()
  };
  match &res {
    Ok(r) => {
      record.unprocessed = r.unprocessed.len() as u32;
      record.consumed_wcu = r.consumed_wcu;
      record.request_id = r.request_id.clone();
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
          l.settle(estimate, r.consumed_wcu);
        }
        if !r.unprocessed.is_empty() {
          l.on_throttle();
        }
      }
      Err(e) if e.retry == Retry::Throttle => l.on_throttle(),
      Err(_) => {}
    }
  }
  if let Some(t) = &shared.hooks.client_totals {
    t.update(|t| t.add_request(&record));
  }
  if let Some(obs) = &shared.hooks.observer {
    obs(&record);
  }
  let mut st = shared.state.lock().unwrap();
  st.totals.add_request(&record);
  st.in_flight -= 1;
  match res {
    Ok(r) => {
      let mut written = (0u64, 0u64);
      let schema = st.schema.clone();
      let mut unprocessed: HashMap<Vec<u8>, Item> = match (&schema, r.unprocessed.is_empty()) {
        (Some(schema), false) => r
          .unprocessed
          .into_iter()
          .filter_map(|w| {
            let item = match (w.put_request, w.delete_request) {
              (Some(p), _) => p.item,
              (None, Some(d)) => d.key,
              _ => return None,
            };
            Some((marshal::key_bytes(&item, schema), item))
          })
          .collect(),
        _ => HashMap::new(),
      };
      for mut op in batch {
        if let Some(item) = unprocessed.remove(&op.key) {
          restore(&mut op, Some(item), schema.as_deref());
          shared.retry_or_fail(
            &mut st,
            op,
            error::UNPROCESSED_AFTER_RETRIES,
            "DynamoDB returned the item as unprocessed",
          );
        } else {
          match op.kind {
            OpKind::Put => written.0 += 1,
            OpKind::Delete => written.1 += 1,
          }
          shared.succeed(&mut st, op);
        }
      }
      if let Some(t) = &shared.hooks.client_totals {
        t.update(|t| {
          t.puts_written += written.0;
          t.deletes_written += written.1;
        });
      }
    }
    Err(e) => match e.retry {
      Retry::Throttle | Retry::Transient => {
        let reason = e.item_reason().to_string();
        let schema = st.schema.clone();
        for mut op in batch {
          restore(&mut op, None, schema.as_deref());
          shared.retry_or_fail(&mut st, op, &reason, &e.message);
        }
      }
      Retry::Validation if batch.len() > 1 => {
        let schema = st.schema.clone();
        for op in batch.iter_mut() {
          restore(op, None, schema.as_deref());
        }
        // Split and resend the halves on their own until the offenders are isolated.
        let second = batch.split_off(batch.len() / 2);
        st.groups.push_front(second);
        st.groups.push_front(batch);
      }
      _ => {
        for op in batch {
          shared.fail(&mut st, op, &e.code.clone(), e.message.clone());
        }
      }
    },
  }
  drop(st);
  shared.wake.notify_one();
}

#[cfg(test)]
mod tests;
