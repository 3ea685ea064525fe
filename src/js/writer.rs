//! `NativeWriter`: the batch engine behind `BatchWriter`. `push` judges the item on the JS thread (so a bad
//! item rejects the `put` itself) and hands it to the engine; it returns a Promise only when the caller
//! must wait (no room, or the key schema is still being read). The writer keeps a reference to each
//! caller's object until the operation is written, so failures name the very object that was passed;
//! its open/closed/aborted state is the engine's.

use super::client::NativeClient;
use super::convert::{
  self, encode, ok_or_throw, promise, result_of, BatchWriteResultJs, RateStatsJs,
};
use super::error::{batch_write_error, throwable, to_napi};
use super::options::{internal, string_arg, JsOptions};
use super::rate::rate_option;
use super::raw::{Js, Type, V};
use crate::batch::{Accepted, Engine, Failure, FlushResult, Hooks, Rejected, Spawner};
use crate::config::{self, Options, Value, WRITER_OPTIONS};
use crate::dynamo::{Dynamo, SdkTransport};
use crate::error::CoreError;
use crate::item;
use crate::request::OpKind;
use crate::retry::default_jitter;
use napi::bindgen_prelude::*;
use napi::{sys, JsValue};
use napi_derive::napi;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// References to the callers' objects, by operation id (ids are consecutive from `base`). A value that is
/// not an object (always an invalid item, but reported as passed) is held inside a one-element array.
struct Refs {
  env: sys::napi_env,
  base: u64,
  slots: VecDeque<(sys::napi_ref, bool)>,
  held: usize,
}

impl Refs {
  fn add(&mut self, v: V) -> Result<u64> {
    let js = Js { env: self.env };
    let wrapped = !matches!(js.type_of(v)?, Type::Object | Type::Function);
    let target = if wrapped {
      let a = js.array(1)?;
      js.set_element(a, 0, v)?;
      a
    } else {
      v
    };
    self.slots.push_back((js.new_ref(target)?, wrapped));
    self.held += 1;
    Ok(self.base + self.slots.len() as u64 - 1)
  }
  fn slot(&mut self, id: u64) -> Option<&mut (sys::napi_ref, bool)> {
    let i = id.checked_sub(self.base)? as usize;
    self.slots.get_mut(i).filter(|r| !r.0.is_null())
  }
  fn value(&mut self, id: u64) -> Option<V> {
    let js = Js { env: self.env };
    let (r, wrapped) = *self.slot(id)?;
    let v = js.ref_value(r).ok()?;
    if wrapped {
      js.element(v, 0).ok()
    } else {
      Some(v)
    }
  }
  fn release(&mut self, id: u64) {
    let env = self.env;
    if let Some(r) = self.slot(id) {
      Js { env }.delete_ref(r.0);
      r.0 = std::ptr::null_mut();
      self.held -= 1;
    }
    while self.slots.front().is_some_and(|r| r.0.is_null()) {
      self.slots.pop_front();
      self.base += 1;
    }
  }
}

impl Drop for Refs {
  fn drop(&mut self) {
    let js = Js { env: self.env };
    for (r, _) in self.slots.drain(..) {
      if !r.is_null() {
        js.delete_ref(r);
      }
    }
  }
}

/// Finished operations' references are dropped in bulk, every this many.
const DRAIN_AT: usize = 512;

#[napi]
pub struct NativeWriter {
  engine: Arc<Engine>,
  dynamo: Arc<Dynamo>,
  refs: Rc<RefCell<Refs>>,
  started: Instant,
  last_flush: Rc<Cell<Instant>>,
  close_promise: Cell<sys::napi_ref>,
  table: String,
  /// The wire of the operation being pushed (reused: one allocation for the writer's life).
  wire: RefCell<Vec<u16>>,
}

pub(crate) fn spawner() -> Spawner {
  Arc::new(|fut| {
    napi::bindgen_prelude::spawn(fut);
  })
}

fn kind_of(k: u32) -> OpKind {
  if k == 1 {
    OpKind::Delete
  } else {
    OpKind::Put
  }
}

fn root(kind: OpKind) -> &'static str {
  match kind {
    OpKind::Put => "item",
    OpKind::Delete => "key",
  }
}

/// `shard: { index, count }`.
fn shard_option(opts: &JsOptions) -> std::result::Result<Option<(u32, u32)>, CoreError> {
  let Some(v) = opts.raw("shard")? else {
    return Ok(None);
  };
  let js = opts.js;
  let rule = "{ index, count } with integers 0 <= index < count";
  if js.type_of(v).map_err(internal)? != Type::Object {
    return Err(config::invalid("shard", rule, &opts.value("shard")));
  }
  let int = |name: &str| -> std::result::Result<u32, CoreError> {
    match super::options::value_of(js, js.get(v, name).map_err(internal)?)? {
      Value::Number(n) if n.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&n) => Ok(n as u32),
      other => Err(config::invalid(
        &format!("shard.{name}"),
        "a non-negative integer",
        &other,
      )),
    }
  };
  Ok(Some((int("index")?, int("count")?)))
}

/// `keySchema: { partitionKey, sortKey? }` (keys typed, or by name alone).
pub(crate) fn key_schema_option(
  opts: &JsOptions,
) -> std::result::Result<Option<crate::key::KeySchema>, CoreError> {
  let Some(v) = opts.raw("keySchema")? else {
    return Ok(None);
  };
  let js = opts.js;
  if js.type_of(v).map_err(internal)? != Type::Object {
    return Err(config::invalid(
      "keySchema",
      "{ partitionKey, sortKey? }",
      &opts.value("keySchema"),
    ));
  }
  let attr = |name: &str| -> std::result::Result<_, CoreError> {
    let a = js.get(v, name).map_err(internal)?;
    match js.type_of(a).map_err(internal)? {
      Type::Undefined | Type::Null => Ok(None),
      _ => opts.key_attr(a).map(Some),
    }
  };
  config::key_schema("keySchema", attr("partitionKey")?, attr("sortKey")?, false).map(Some)
}

impl NativeWriter {
  fn drain(&self) {
    let mut refs = self.refs.borrow_mut();
    for id in self.engine.take_done() {
      refs.release(id);
    }
  }

  /// What `push` returns for an accepted operation: nothing, or a Promise to wait on.
  fn accepted<'env>(&self, env: &'env Env, a: Accepted) -> Result<Option<PromiseRaw<'env, ()>>> {
    if self.engine.done_pending() >= DRAIN_AT {
      self.drain();
    }
    match a {
      Accepted::Now { full: false } => Ok(None),
      Accepted::Now { full: true } => {
        let wait = self.engine.wait_for_room();
        promise(env, async move {
          wait.await;
          Ok(())
        })
        .map(Some)
      }
      Accepted::AfterSchema(rx) => promise(env, async move {
        rx.await
          .unwrap_or_else(|_| Err(CoreError::new(crate::error::INTERNAL, "the writer stopped")))
      })
      .map(Some),
    }
  }

  fn rejected(&self, env: &Env, id: u64, r: Rejected) -> Error {
    if !r.recorded {
      self.refs.borrow_mut().release(id);
    }
    to_napi(env, &r.error)
  }

  /// Converts a flush's outcome on the JS thread: the result, or a BatchWriteError naming the callers'
  /// objects. From here on the result counts as delivered: flushes called later no longer cover what it
  /// reports.
  fn settle(
    env: &Env,
    refs: &Rc<RefCell<Refs>>,
    engine: &Engine,
    r: FlushResult,
    result: BatchWriteResultJs,
  ) -> Result<BatchWriteResultJs> {
    let js = Js::of(env);
    let outcome = if r.failures.is_empty() {
      Ok(result)
    } else {
      let failed = js.array(r.failures.len())?;
      let mut refs_mut = refs.borrow_mut();
      for (i, f) in r.failures.iter().enumerate() {
        js.set_element(failed, i as u32, failure(js, f, refs_mut.value(f.id))?)?;
      }
      drop(refs_mut);
      let first = &r.failures[0];
      let n = r.failures.len();
      let message = format!(
        "{n} item{} could not be written (first: {} {}: {})",
        if n == 1 { "" } else { "s" },
        first.kind.as_str(),
        first.reason,
        first.message
      );
      let result = unsafe { BatchWriteResultJs::to_napi_value(js.env, result)? };
      Err(throwable(
        js,
        batch_write_error(js, &message, failed, result)?,
      ))
    };
    let mut refs = refs.borrow_mut();
    for id in engine.delivered(r.id) {
      refs.release(id);
    }
    outcome
  }
}

fn failure(js: Js, f: &Failure, item: Option<V>) -> Result<V> {
  let o = js.object()?;
  js.set(o, "operation", js.string(f.kind.as_str())?)?;
  js.set(o, "item", item.map_or_else(|| js.undefined(), Ok)?)?;
  js.set(o, "reason", js.string(&f.reason)?)?;
  js.set(o, "message", js.string(&f.message)?)?;
  js.set(o, "attempts", js.number(f.attempts as f64)?)?;
  if let Some(p) = &f.path {
    js.set(o, "path", js.string(p)?)?;
  }
  Ok(o)
}

#[napi]
impl NativeWriter {
  #[napi(constructor)]
  pub fn new(env: Env, client: Unknown, table: Unknown, options: Unknown) -> Result<Self> {
    let js = Js::of(&env);
    let client =
      match unsafe { ClassInstance::<NativeClient>::from_napi_value(js.env, client.raw()) } {
        Ok(c) => c,
        Err(_) => {
          let got = super::options::value_of(js, client.raw()).unwrap_or(Value::Absent);
          return Err(to_napi(
            &env,
            &config::invalid("the client", "a DynamoDBClient", &got),
          ));
        }
      };
    let dynamo = client.dynamo.clone();
    let r = (|| {
      if dynamo.is_closed() {
        return Err(CoreError::new(
          crate::error::CLIENT_CLOSED,
          "the client is closed",
        ));
      }
      let table = string_arg(js, table.raw(), "table")?;
      let opts = JsOptions::new(js, options.raw(), "BatchWriter options", WRITER_OPTIONS)?;
      super::options::check_logger(&opts)?;
      let get = |n: &str| opts.value(n);
      let mut cfg = config::writer_config(
        &table,
        &Options::new(&get),
        key_schema_option(&opts)?,
        shard_option(&opts)?,
      )?;
      if cfg.key_schema.is_none() {
        cfg.key_schema = dynamo.schemas.cached(&table).map(|s| (*s).clone());
      }
      let limiter = rate_option(&opts)?.or_else(|| dynamo.limiter.clone());
      let observer = convert::observer(&opts).map_err(internal)?;
      Ok((cfg, limiter, observer, table))
    })();
    let (cfg, limiter, observer, table) = ok_or_throw(&env, r)?;
    let hooks = Hooks {
      meter: dynamo.meter.with_observer(observer),
      limiter,
    };
    let engine = Engine::new(
      cfg,
      Arc::new(SdkTransport(dynamo.clone())),
      default_jitter(),
      spawner(),
      hooks,
    );
    // Read the key schema now, so the first operations can be judged against it as early as possible.
    engine.start();
    let now = Instant::now();
    Ok(NativeWriter {
      engine: Arc::new(engine),
      dynamo,
      refs: Rc::new(RefCell::new(Refs {
        env: env.raw(),
        base: 1,
        slots: VecDeque::new(),
        held: 0,
      })),
      started: now,
      last_flush: Rc::new(Cell::new(now)),
      close_promise: Cell::new(std::ptr::null_mut()),
      table,
      wire: RefCell::new(Vec::new()),
    })
  }

  /// One put (`kind` 0) or delete (1): the codec's wire, its binaries, and the caller's object. Returns
  /// nothing when accepted with room, a Promise when the caller should wait; throws what refuses it.
  #[napi(catch_unwind)]
  pub fn push<'env>(
    &self,
    env: &'env Env,
    kind: u32,
    wire: Unknown,
    bins: Option<Vec<Buffer>>,
    item: Unknown,
  ) -> Result<Option<PromiseRaw<'env, ()>>> {
    let kind = kind_of(kind);
    let id = self.refs.borrow_mut().add(item.raw())?;
    let mut units = self.wire.borrow_mut();
    Js::of(env).utf16_into(wire.raw(), &mut units)?;
    let enc = encode(
      &units,
      &bins,
      root(kind),
      self.dynamo.options().item_rules,
      true,
    );
    drop(units);
    match self.engine.submit(id, kind, enc) {
      Ok(a) => self.accepted(env, a),
      Err(r) => Err(self.rejected(env, id, r)),
    }
  }

  /// Many operations: the codec's length-prefixed run, the binaries (numbered across the run) and the
  /// callers' objects in order. Every valid one is accepted; throws (or the Promise rejects with) the first
  /// refusal, and every refused one is reported by the next flush.
  #[napi(catch_unwind)]
  pub fn push_many<'env>(
    &self,
    env: &'env Env,
    kind: u32,
    wire: Utf16String,
    bins: Option<Vec<Buffer>>,
    items: Array,
  ) -> Result<Option<PromiseRaw<'env, ()>>> {
    let kind = kind_of(kind);
    let js = Js::of(env);
    let encoded = item::encode_many(
      &wire,
      &convert::bins(&bins),
      root(kind),
      self.dynamo.options().item_rules,
    )
    .map_err(|e| to_napi(env, &CoreError::from(e)))?;
    if encoded.len() != items.len() as usize {
      return Err(to_napi(
        env,
        &CoreError::new(
          crate::error::INTERNAL,
          "putMany: items and their encoding disagree",
        ),
      ));
    }
    let mut first_err: Option<CoreError> = None;
    let mut waits = Vec::new();
    let mut full = false;
    for (i, enc) in encoded.into_iter().enumerate() {
      let obj = js.element(items.raw(), i as u32)?;
      let id = self.refs.borrow_mut().add(obj)?;
      match self.engine.submit(id, kind, enc.map_err(CoreError::from)) {
        Ok(Accepted::Now { full: f }) => full |= f,
        Ok(Accepted::AfterSchema(rx)) => waits.push(rx),
        Err(r) => {
          if !r.recorded {
            self.refs.borrow_mut().release(id);
            // A closed or aborted writer refuses the rest too.
            return Err(to_napi(env, &r.error));
          }
          first_err.get_or_insert(r.error);
        }
      }
    }
    if let Some(e) = first_err {
      return Err(to_napi(env, &e));
    }
    if !waits.is_empty() {
      return promise(env, async move {
        let mut first = Ok(());
        for rx in waits {
          let r = rx
            .await
            .unwrap_or_else(|_| Err(CoreError::new(crate::error::INTERNAL, "the writer stopped")));
          if first.is_ok() {
            first = r;
          }
        }
        first
      })
      .map(Some);
    }
    self.accepted(env, Accepted::Now { full })
  }

  /// Sends everything accepted before the call; resolves to the result of the operations it covers, or
  /// rejects with a BatchWriteError naming each one that failed.
  #[napi(catch_unwind)]
  pub fn flush<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, BatchWriteResultJs>> {
    let rx = self.engine.flush();
    let refs = self.refs.clone();
    let last = self.last_flush.clone();
    let engine = self.engine.clone();
    env.spawn_future_with_callback(
      async move {
        rx.await.map_err(|_| {
          Error::new(
            Status::GenericFailure,
            "the writer stopped before the flush completed",
          )
        })
      },
      move |env, r| {
        let now = Instant::now();
        let elapsed = now.duration_since(last.replace(now)).as_secs_f64() * 1000.0;
        {
          let mut refs_mut = refs.borrow_mut();
          for id in engine.take_done() {
            refs_mut.release(id);
          }
        }
        let result = result_of(&r.totals, elapsed);
        Self::settle(env, &refs, &engine, r, result)
      },
    )
  }

  /// Refuses further operations (`WriterClosed`), flushes, and resolves to the writer's whole-life result
  /// (or rejects with the BatchWriteError of what the final flush could not write). Returns the same
  /// Promise every time.
  #[napi(catch_unwind)]
  pub fn close(&self, env: &Env) -> Result<Unknown<'_>> {
    let js = Js::of(env);
    let existing = self.close_promise.get();
    if !existing.is_null() {
      return Ok(unsafe { Unknown::from_raw_unchecked(js.env, js.ref_value(existing)?) });
    }
    let rx = self.engine.close();
    let refs = self.refs.clone();
    let engine = self.engine.clone();
    let started = self.started;
    let p = env.spawn_future_with_callback(
      async move {
        rx.await.map_err(|_| {
          Error::new(
            Status::GenericFailure,
            "the writer stopped before it was closed",
          )
        })
      },
      move |env, r| {
        {
          let mut refs_mut = refs.borrow_mut();
          for id in engine.take_done() {
            refs_mut.release(id);
          }
        }
        let lifetime = result_of(
          &engine.snapshot().totals,
          started.elapsed().as_secs_f64() * 1000.0,
        );
        Self::settle(env, &refs, &engine, r, lifetime)
      },
    )?;
    let raw = p.raw();
    self.close_promise.set(js.new_ref(raw)?);
    Ok(unsafe { Unknown::from_raw_unchecked(js.env, raw) })
  }

  /// Stops sending: queued operations fail with `Aborted`; requests in flight settle.
  #[napi]
  pub fn abort(&self) {
    self.engine.abort();
  }

  #[napi(getter)]
  pub fn closed(&self) -> bool {
    self.engine.is_closed()
  }

  /// How many callers' objects the writer still holds (operations not yet written, or failed and not yet
  /// reported): what a streaming writer keeps in memory.
  #[napi(getter)]
  pub fn held_items(&self) -> u32 {
    self.drain();
    self.refs.borrow().held as u32
  }

  /// Whether the table's key schema is known (given, cached, or read).
  #[napi(getter)]
  pub fn key_schema_known(&self) -> bool {
    self.engine.key_schema().is_some()
  }

  #[napi(getter)]
  pub fn table(&self) -> String {
    self.table.clone()
  }

  /// Live totals of the writer's whole life.
  #[napi(
    getter,
    ts_return_type = "BatchWriteResultJs & { accepted: number; inFlight: number; rateLimit?: RateStatsJs }"
  )]
  pub fn metrics(&self, env: &Env) -> Result<Unknown<'_>> {
    let s = self.engine.snapshot();
    let r = result_of(&s.totals, self.started.elapsed().as_secs_f64() * 1000.0);
    let js = Js::of(env);
    let o = unsafe { BatchWriteResultJs::to_napi_value(js.env, r)? };
    js.set(o, "accepted", js.number(s.accepted as f64)?)?;
    js.set(o, "inFlight", js.number(s.in_flight as f64)?)?;
    if let Some(l) = self.engine.limiter() {
      let stats: RateStatsJs = within_runtime_if_available(|| l.stats()).into();
      js.set(o, "rateLimit", unsafe {
        RateStatsJs::to_napi_value(js.env, stats)?
      })?;
    }
    Ok(unsafe { Unknown::from_raw_unchecked(js.env, o) })
  }
}

impl Drop for NativeWriter {
  fn drop(&mut self) {
    let r = self.close_promise.get();
    if !r.is_null() {
      Js {
        env: self.refs.borrow().env,
      }
      .delete_ref(r);
    }
  }
}
