//! Conversions shared by the binding modules: errors, item wires, request records, metrics.

use crate::error::CoreError;
use crate::marshal::{self, json_quote, Item};
use crate::metrics::{RequestRecord, Totals};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::sync::Arc;

/// Core errors cross as a JSON message that `index.js` turns into an Error with a stable `code`.
pub fn to_napi(e: CoreError) -> Error {
  let mut json = format!(
    "{{\"code\":{},\"message\":{}",
    json_quote(&e.code),
    json_quote(&e.message)
  );
  if let Some(id) = &e.request_id {
    json.push_str(&format!(",\"requestId\":{}", json_quote(id)));
  }
  if let Some(s) = e.status {
    json.push_str(&format!(",\"statusCode\":{s}"));
  }
  json.push('}');
  Error::new(Status::GenericFailure, json)
}

pub fn invalid(code: &str, message: String) -> Error {
  to_napi(CoreError::new(code, message))
}

pub fn take_bins(bins: Option<Vec<Buffer>>) -> Vec<Vec<u8>> {
  bins
    .map(|v| v.iter().map(|b| b.to_vec()).collect())
    .unwrap_or_default()
}

/// Decodes a single item or key; errors are `InvalidItem` with the attribute path.
pub fn decode(wire: &[u16], bins: Option<Vec<Buffer>>, root: &str) -> Result<(Item, usize)> {
  let mut bins = take_bins(bins);
  let item = marshal::decode_item(wire, &mut bins, root)
    .map_err(|m| invalid(crate::error::INVALID_ITEM, m))?;
  let size = marshal::item_size(&item);
  marshal::check_item_size(size, root).map_err(|m| invalid(crate::error::INVALID_ITEM, m))?;
  Ok((item, size))
}

/// An item on its way back to JS: the wire text and the binaries it refers to.
#[napi(object)]
pub struct WireItem {
  pub wire: Utf16String,
  pub bins: Vec<Buffer>,
}

pub fn encode(item: &Item) -> WireItem {
  let mut out = Vec::with_capacity(64);
  let mut bins = Vec::new();
  marshal::encode_item(item, &mut out, &mut bins);
  WireItem {
    wire: Utf16String::from(out),
    bins: bins.into_iter().map(Buffer::from).collect(),
  }
}

#[napi(object)]
pub struct RequestRecordJs {
  pub operation: String,
  pub table: String,
  pub duration_ms: f64,
  pub items: u32,
  pub unprocessed: u32,
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
      consumed_wcu: r.consumed_wcu,
      consumed_rcu: r.consumed_rcu,
      attempt: r.attempt,
      throttled: r.throttled,
      request_id: r.request_id.clone(),
      error_code: r.error_code.clone(),
    }
  }
}

/// A JS callback receiving request records; weak so it never keeps the process alive.
pub type RecordCallback =
  ThreadsafeFunction<RequestRecordJs, (), RequestRecordJs, Status, false, true>;

pub fn observer(cb: Option<RecordCallback>) -> Option<crate::batch::Observer> {
  cb.map(|f| {
    let f = Arc::new(f);
    Arc::new(move |r: &RequestRecord| {
      // Non-blocking: the engine never waits for the JS thread.
      f.call(
        RequestRecordJs::from(r),
        ThreadsafeFunctionCallMode::NonBlocking,
      );
    }) as crate::batch::Observer
  })
}

#[napi(object)]
pub struct TotalsJs {
  pub requests: f64,
  pub errors: f64,
  pub retries: f64,
  pub throttles: f64,
  pub unprocessed_rounds: f64,
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  pub puts_written: f64,
  pub deletes_written: f64,
  pub failed: f64,
  pub total_latency_ms: f64,
  pub p50_latency_ms: f64,
  pub p99_latency_ms: f64,
}

impl From<&Totals> for TotalsJs {
  fn from(t: &Totals) -> Self {
    TotalsJs {
      requests: t.requests as f64,
      errors: t.errors as f64,
      retries: t.retries as f64,
      throttles: t.throttles as f64,
      unprocessed_rounds: t.unprocessed_rounds as f64,
      consumed_wcu: t.consumed_wcu,
      consumed_rcu: t.consumed_rcu,
      puts_written: t.puts_written as f64,
      deletes_written: t.deletes_written as f64,
      failed: t.failed as f64,
      total_latency_ms: t.total_latency_ms,
      p50_latency_ms: t.latency.quantile(0.5),
      p99_latency_ms: t.latency.quantile(0.99),
    }
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
      current_wcu: s.current_wcu,
      waits: s.waits as f64,
      waited_ms: s.waited_ms,
      throttles: s.throttles as f64,
    }
  }
}

/// Validates a DynamoDB number's text (syntax, 38 significant digits, magnitude) and returns it normalized;
/// `NumberValue` and the rare numbers the JS codec cannot judge alone go through it.
#[napi]
#[cfg_attr(test, allow(dead_code))] // called from JS only
pub fn check_number(text: String) -> Result<String> {
  marshal::normalize_number(&text).map_err(|m| invalid(crate::error::INVALID_ITEM, m))
}
