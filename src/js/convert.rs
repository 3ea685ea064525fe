//! Conversions shared by the binding files: request records to the JS hook, totals to result objects, items
//! read back to the codec's read wire, and the items/bins arguments of write calls.

use super::error::to_napi;
use super::options::JsOptions;
use crate::error::CoreError;
use crate::item::{self, Encoded};
use crate::metrics::{Observer, RequestRecord, Totals};
use crate::read::ReadWire;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::sync::Arc;

#[napi(object)]
pub struct RequestRecordJs {
  pub operation: String,
  pub table: String,
  pub duration_ms: f64,
  pub items: u32,
  pub unprocessed: u32,
  /// Items a read returned (GetItem, BatchGetItem, Scan).
  pub returned: u32,
  /// Items a Scan evaluated before its filter.
  pub scanned: u32,
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  pub attempt: u32,
  pub throttled: bool,
  pub request_id: Option<String>,
  pub error_code: Option<String>,
}

impl From<&RequestRecord> for RequestRecordJs {
  fn from(r: &RequestRecord) -> Self {
    RequestRecordJs {
      operation: r.operation.to_string(),
      table: r.table.clone(),
      duration_ms: r.duration.as_secs_f64() * 1000.0,
      items: r.items,
      unprocessed: r.unprocessed,
      returned: r.returned,
      scanned: r.scanned,
      consumed_wcu: r.consumed_wcu,
      consumed_rcu: r.consumed_rcu,
      attempt: r.attempt,
      throttled: r.throttled,
      request_id: r.request_id.clone(),
      error_code: r.error_code.clone(),
    }
  }
}

/// A JS callback receiving request records; weak, so it never keeps the process alive.
pub type RecordCallback =
  ThreadsafeFunction<RequestRecordJs, (), RequestRecordJs, Status, false, true>;

/// The `onRequest` option as an observer: called without blocking the engine, on the JS thread.
pub fn observer(opts: &JsOptions) -> Result<Option<Observer>> {
  let Some(f) = opts
    .raw("onRequest")
    .map_err(|e| to_napi(&env_of(opts), &e))?
  else {
    return Ok(None);
  };
  let tsfn: RecordCallback = unsafe { RecordCallback::from_napi_value(opts.js.env, f)? };
  let tsfn = Arc::new(tsfn);
  Ok(Some(Arc::new(move |r: &RequestRecord| {
    tsfn.call(
      RequestRecordJs::from(r),
      ThreadsafeFunctionCallMode::NonBlocking,
    );
  })))
}

pub fn env_of(opts: &JsOptions) -> Env {
  Env::from_raw(opts.js.env)
}

#[napi(object)]
pub struct BatchWriteResultJs {
  pub puts_written: f64,
  pub deletes_written: f64,
  pub failed: f64,
  pub skipped: f64,
  pub requests: f64,
  pub retries: f64,
  pub throttles: f64,
  pub unprocessed_rounds: f64,
  pub consumed_wcu: f64,
  pub elapsed_ms: f64,
  pub total_latency_ms: f64,
  pub p50_latency_ms: f64,
  pub p99_latency_ms: f64,
  pub items_per_second: f64,
}

pub fn result_of(t: &Totals, elapsed_ms: f64) -> BatchWriteResultJs {
  let written = (t.puts_written + t.deletes_written) as f64;
  BatchWriteResultJs {
    puts_written: t.puts_written as f64,
    deletes_written: t.deletes_written as f64,
    failed: t.failed as f64,
    skipped: t.skipped as f64,
    requests: t.requests as f64,
    retries: t.retries as f64,
    throttles: t.throttles as f64,
    unprocessed_rounds: t.unprocessed_rounds as f64,
    consumed_wcu: t.consumed_wcu,
    elapsed_ms,
    total_latency_ms: t.total_latency_ms,
    p50_latency_ms: t.latency.quantile(0.5),
    p99_latency_ms: t.latency.quantile(0.99),
    items_per_second: if elapsed_ms > 0.0 {
      written * 1000.0 / elapsed_ms
    } else {
      0.0
    },
  }
}

#[napi(object)]
pub struct ClientMetricsJs {
  pub requests: f64,
  pub errors: f64,
  pub throttles: f64,
  pub retries: f64,
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  pub items_written: f64,
  pub items_failed: f64,
  /// Items reads returned.
  pub items_read: f64,
  /// Items Scans evaluated.
  pub items_scanned: f64,
  pub total_latency_ms: f64,
  pub p50_latency_ms: f64,
  pub p99_latency_ms: f64,
  pub rate_limit: Option<RateStatsJs>,
}

pub fn client_metrics(t: &Totals, rate: Option<RateStatsJs>) -> ClientMetricsJs {
  ClientMetricsJs {
    requests: t.requests as f64,
    errors: t.errors as f64,
    throttles: t.throttles as f64,
    retries: t.retries as f64,
    consumed_wcu: t.consumed_wcu,
    consumed_rcu: t.consumed_rcu,
    items_written: (t.puts_written + t.deletes_written) as f64,
    items_failed: t.failed as f64,
    items_read: t.items_read as f64,
    items_scanned: t.items_scanned as f64,
    total_latency_ms: t.total_latency_ms,
    p50_latency_ms: t.latency.quantile(0.5),
    p99_latency_ms: t.latency.quantile(0.99),
    rate_limit: rate,
  }
}

#[napi(object)]
pub struct RateStatsJs {
  pub current_wcu: f64,
  pub waits: f64,
  pub waited_ms: f64,
  pub throttles: f64,
}

impl From<crate::rate_limit::RateStats> for RateStatsJs {
  fn from(s: crate::rate_limit::RateStats) -> Self {
    RateStatsJs {
      current_wcu: s.current,
      waits: s.waits as f64,
      waited_ms: s.waited_ms,
      throttles: s.throttles as f64,
    }
  }
}

/// An item on its way to JS: the read wire's text and the binaries it refers to.
#[napi(object)]
pub struct ReadItemJs {
  pub wire: Utf16String,
  pub bins: Vec<Buffer>,
}

pub fn read_item(w: ReadWire) -> ReadItemJs {
  ReadItemJs {
    wire: Utf16String::from(w.text),
    bins: w.bins.into_iter().map(Buffer::from).collect(),
  }
}

/// The binaries passed beside a wire.
pub fn bins(b: &Option<Vec<Buffer>>) -> Vec<&[u8]> {
  b.as_ref()
    .map(|v| v.iter().map(|b| b.as_ref()).collect())
    .unwrap_or_default()
}

/// Judges one item (or key, or values map) written by the codec.
pub fn encode(
  wire: &[u16],
  b: &Option<Vec<Buffer>>,
  root: &str,
  rules: item::Rules,
  sized: bool,
) -> std::result::Result<Encoded, CoreError> {
  item::encode(wire, &bins(b), root, rules, sized).map_err(CoreError::from)
}

/// Converts a core result for napi on the JS thread.
pub fn ok_or_throw<T>(env: &Env, r: std::result::Result<T, CoreError>) -> Result<T> {
  r.map_err(|e| to_napi(env, &e))
}

/// Runs a core future off the JS thread; its result resolves the Promise, its error rejects it with the
/// error built natively on the JS thread.
pub fn promise<'env, T, F>(env: &'env Env, fut: F) -> Result<PromiseRaw<'env, T>>
where
  T: ToNapiValue + Send + 'static,
  F: std::future::Future<Output = std::result::Result<T, CoreError>> + Send + 'static,
{
  env.spawn_future_with_callback(async move { Ok(fut.await) }, |env, r| {
    r.map_err(|e| to_napi(env, &e))
  })
}
