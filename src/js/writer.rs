//! `NativeWriter`: the batch engine behind `BatchWriter`. `push` is synchronous and cheap; only a full
//! writer returns a Promise that waits (`waitForRoom`).

use super::client::{key_schema_from_js, KeySchemaJs, NativeClient};
use super::convert::{self, invalid, take_bins, to_napi, RateStatsJs, RecordCallback, TotalsJs};
use super::rate::NativeRate;
use crate::batch::{Engine, Hooks, OpKind, Spawner, WriterConfig};
use crate::dynamo::SdkTransport;
use crate::error::{INVALID_ARGUMENT, INVALID_ITEM};
use crate::marshal;
use crate::retry::default_jitter;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;
use std::time::Duration;

#[napi(object)]
pub struct NativeWriterOptions {
  pub flush_amount: Option<u32>,
  pub max_in_flight: Option<u32>,
  pub high_water_mark: Option<u32>,
  pub max_retries: Option<u32>,
  pub base_delay_ms: Option<f64>,
  pub max_delay_ms: Option<f64>,
  pub key_schema: Option<KeySchemaJs>,
}

#[napi(object)]
pub struct FailureJs {
  pub id: f64,
  pub operation: String,
  pub reason: String,
  pub message: String,
  pub attempts: u32,
}

#[napi(object)]
pub struct FlushOutcome {
  pub totals: TotalsJs,
  pub failures: Vec<FailureJs>,
}

#[napi(object)]
pub struct WriterSnapshot {
  pub totals: TotalsJs,
  pub accepted: f64,
  pub unfinished: f64,
  pub in_flight: f64,
  pub rate: Option<RateStatsJs>,
}

/// Status bits returned by `push`.
const FULL: u32 = 1;
const DRAIN: u32 = 2;
/// How many written ids accumulate before the facade is asked to drop its copies of the originals.
const DRAIN_AT: usize = 2048;

#[napi]
pub struct NativeWriter {
  engine: Engine,
  /// The key schema once known, so `push` checks keys without taking the engine's lock.
  schema: std::sync::OnceLock<Arc<crate::marshal::KeySchema>>,
}

fn spawner() -> Spawner {
  Arc::new(|fut| {
    napi::bindgen_prelude::spawn(fut);
  })
}

impl NativeWriterOptions {
  fn config(&self, table: &str) -> Result<WriterConfig> {
    let mut c = WriterConfig::new(table);
    if let Some(n) = self.flush_amount {
      if !(1..=25).contains(&n) {
        return Err(invalid(
          INVALID_ARGUMENT,
          format!("flushAmount must be between 1 and 25, got {n}"),
        ));
      }
      c.flush_amount = n as usize;
    }
    if let Some(n) = self.max_in_flight {
      if n == 0 {
        return Err(invalid(
          INVALID_ARGUMENT,
          "maxInFlight must be at least 1".into(),
        ));
      }
      c.max_in_flight = n as usize;
    }
    if let Some(n) = self.high_water_mark {
      if n == 0 {
        return Err(invalid(
          INVALID_ARGUMENT,
          "highWaterMark must be at least 1".into(),
        ));
      }
      c.high_water_mark = n as usize;
    }
    if let Some(n) = self.max_retries {
      c.retry.max_retries = n;
    }
    let ms = |v: f64, name: &str| -> Result<Duration> {
      if !(v.is_finite() && v >= 0.0) {
        return Err(invalid(
          INVALID_ARGUMENT,
          format!("{name} must be a non-negative number, got {v}"),
        ));
      }
      Ok(Duration::from_secs_f64(v / 1000.0))
    };
    if let Some(v) = self.base_delay_ms {
      c.retry.base_delay = ms(v, "baseDelayMs")?;
    }
    if let Some(v) = self.max_delay_ms {
      c.retry.max_delay = ms(v, "maxDelayMs")?;
    }
    if let Some(s) = &self.key_schema {
      c.key_schema = Some(key_schema_from_js(s)?);
    }
    Ok(c)
  }
}

#[napi]
impl NativeWriter {
  #[napi(constructor)]
  pub fn new(
    client: &NativeClient,
    table: String,
    options: NativeWriterOptions,
    rate: Option<&NativeRate>,
    on_request: Option<RecordCallback>,
  ) -> Result<Self> {
    if table.is_empty() {
      return Err(invalid(
        INVALID_ARGUMENT,
        "table must be a non-empty string".into(),
      ));
    }
    let mut cfg = options.config(&table)?;
    if cfg.key_schema.is_none() {
      cfg.key_schema = client.dynamo.cached_schema(&table);
    }
    let dynamo = client.dynamo.clone();
    let client_observer = dynamo.observer.clone();
    let own_observer = convert::observer(on_request);
    // Both the writer's and the client's hooks see the writer's requests.
    let observer: Option<crate::batch::Observer> = match (own_observer, client_observer) {
      (Some(a), Some(b)) => Some(Arc::new(move |r: &crate::metrics::RequestRecord| {
        a(r);
        b(r);
      })),
      (a, b) => a.or(b),
    };
    let hooks = Hooks {
      observer,
      client_totals: Some(dynamo.totals.clone()),
      limiter: rate
        .map(|r| r.limiter.clone())
        .or_else(|| dynamo.limiter.clone()),
    };
    let engine = Engine::new(
      cfg,
      Arc::new(SdkTransport(dynamo)),
      default_jitter(),
      spawner(),
      hooks,
    );
    // Read the key schema now, so the first operations can be checked against it before they are accepted.
    engine.start();
    Ok(NativeWriter {
      schema: std::sync::OnceLock::new(),
      engine,
    })
  }

  fn status(&self, full: bool) -> u32 {
    let mut s = if full { FULL } else { 0 };
    if self.engine.done_pending() >= DRAIN_AT {
      s |= DRAIN;
    }
    s
  }

  /// Checks what must be refused at once (the key, once the schema is known, and an item that may be
  /// over 400 KB) and hands the wire to the engine, which decodes it on its own threads.
  fn accept_wire(
    &self,
    id: f64,
    kind: OpKind,
    wire: &[u16],
    mut bins: Vec<Vec<u8>>,
  ) -> Result<(bool, usize)> {
    let root = if kind == OpKind::Put { "item" } else { "key" };
    let schema = match self.schema.get() {
      Some(s) => Some(s.clone()),
      None => self.engine.key_schema().inspect(|s| {
        let _ = self.schema.set(s.clone());
      }),
    };
    if let Some(schema) = schema {
      let mut names = vec![schema.partition.name.as_str()];
      if let Some(sk) = &schema.sort {
        names.push(sk.name.as_str());
      }
      let key =
        marshal::extract_attrs(wire, &bins, root, &names).map_err(|m| invalid(INVALID_ITEM, m))?;
      marshal::check_key(&key, &schema, root).map_err(|m| invalid(INVALID_ITEM, m))?;
    }
    if marshal::size_upper_bound(wire, &bins) <= marshal::MAX_ITEM_BYTES {
      return self
        .engine
        .push_wire_counting(id, kind, wire.to_vec(), bins)
        .map_err(to_napi);
    }
    // Possibly too large: decode now so an oversized item is refused at once.
    let item = marshal::decode_item(wire, &mut bins, root).map_err(|m| invalid(INVALID_ITEM, m))?;
    let size = marshal::item_size(&item);
    marshal::check_item_size(size, root).map_err(|m| invalid(INVALID_ITEM, m))?;
    let full = self.engine.push(id, kind, item, size).map_err(to_napi)?;
    Ok((full, self.engine.done_pending()))
  }

  /// Accepts one put (`del` false) or delete. Returns status bits: 1 the writer is full (await
  /// `waitForRoom`), 2 written ids are waiting in `takeDone`.
  #[napi(catch_unwind)]
  pub fn push(
    &self,
    id: f64,
    del: bool,
    wire: Utf16String,
    bins: Option<Vec<Buffer>>,
  ) -> Result<u32> {
    let kind = if del { OpKind::Delete } else { OpKind::Put };
    let (full, done) = self.accept_wire(id, kind, &wire, take_bins(bins))?;
    Ok(if full { FULL } else { 0 } | if done >= DRAIN_AT { DRAIN } else { 0 })
  }

  /// Accepts many operations encoded back to back, with ids `firstId`, `firstId + 1`… Returns the status
  /// bits and, for each rejected item, its index and message.
  #[napi(catch_unwind)]
  pub fn push_many(
    &self,
    first_id: f64,
    del: bool,
    wire: Utf16String,
    bins: Option<Vec<Buffer>>,
  ) -> Result<PushManyOutcome> {
    let kind = if del { OpKind::Delete } else { OpKind::Put };
    let root = if del { "key" } else { "item" };
    let mut bins = take_bins(bins);
    let mut full = false;
    let mut rejected = Vec::new();
    let mut reject = |i: usize, e: Error| {
      rejected.push(RejectedJs {
        index: i as u32,
        error: e.reason.clone(),
      })
    };
    if bins.is_empty() {
      // The common case: split the run and hand each wire over undecoded.
      let ranges = marshal::item_ranges(&wire).map_err(|m| invalid(INVALID_ITEM, m))?;
      for (i, r) in ranges.into_iter().enumerate() {
        match self.accept_wire(first_id + i as f64, kind, &wire[r], Vec::new()) {
          Ok((f, _)) => full |= f,
          Err(e) => reject(i, e),
        }
      }
    } else {
      // Binaries are numbered across the run: decode here, where the numbering is known.
      for (i, res) in marshal::decode_items(&wire, &mut bins, root)
        .into_iter()
        .enumerate()
      {
        let res = res.map_err(|m| invalid(INVALID_ITEM, m)).and_then(|item| {
          let schema = self.engine.key_schema();
          if let Some(schema) = &schema {
            marshal::check_key(&item, schema, root).map_err(|m| invalid(INVALID_ITEM, m))?;
          }
          let size = marshal::item_size(&item);
          marshal::check_item_size(size, root).map_err(|m| invalid(INVALID_ITEM, m))?;
          self
            .engine
            .push(first_id + i as f64, kind, item, size)
            .map_err(to_napi)
        });
        match res {
          Ok(f) => full |= f,
          Err(e) => reject(i, e),
        }
      }
    }
    Ok(PushManyOutcome {
      status: self.status(full),
      rejected,
    })
  }

  /// True once the key schema is known: `push` then refuses a bad key at once.
  #[napi]
  pub fn has_schema(&self) -> bool {
    self.schema.get().is_some() || self.engine.key_schema().is_some()
  }

  /// Resolves (to whether the schema is known) once the key schema was read or could not be.
  #[napi(catch_unwind)]
  pub fn schema_ready<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, bool>> {
    let ready = self.engine.schema_ready();
    env.spawn_future(async move { Ok(ready.await) })
  }

  #[napi]
  pub fn take_done(&self) -> Vec<f64> {
    self.engine.take_done()
  }

  #[napi(catch_unwind)]
  pub fn wait_for_room<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
    let wait = self.engine.wait_for_room();
    env.spawn_future(async move {
      wait.await;
      Ok(())
    })
  }

  #[napi(catch_unwind)]
  pub fn flush<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, FlushOutcome>> {
    let rx = self.engine.flush();
    env.spawn_future(async move {
      let r = rx.await.map_err(|_| {
        invalid(
          crate::error::INTERNAL,
          "the writer stopped before the flush completed".into(),
        )
      })?;
      Ok(FlushOutcome {
        totals: TotalsJs::from(&r.totals),
        failures: r
          .failures
          .into_iter()
          .map(|f| FailureJs {
            id: f.id,
            operation: f.kind.as_str().to_string(),
            reason: f.reason,
            message: f.message,
            attempts: f.attempts,
          })
          .collect(),
      })
    })
  }

  #[napi]
  pub fn abort(&self) {
    self.engine.abort();
  }

  #[napi]
  pub fn snapshot(&self) -> WriterSnapshot {
    let s = self.engine.snapshot();
    WriterSnapshot {
      totals: TotalsJs::from(&s.totals),
      accepted: s.accepted as f64,
      unfinished: s.unfinished as f64,
      in_flight: s.in_flight as f64,
      rate: self
        .engine
        .limiter()
        .map(|l| within_runtime_if_available(|| l.stats()).into()),
    }
  }
}

#[napi(object)]
pub struct RejectedJs {
  pub index: u32,
  pub error: String,
}

#[napi(object)]
pub struct PushManyOutcome {
  pub status: u32,
  pub rejected: Vec<RejectedJs>,
}
