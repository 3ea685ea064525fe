//! `client.batchGet` natively: the keys' wire is judged on the JS thread (a bad key throws with its
//! path), the reads run in the core (`batch_get.rs`), and the outcome comes back as one read wire of the
//! items found plus, for each position, which of them it holds. The facade decodes, aligns, and turns a
//! call with unread keys into a `BatchGetError` (code and message made here). Also the `projection`
//! option both reads take, and `ReadAbort`, the flag an AbortSignal sets.

use super::client::{table_arg, NativeClient};
use super::convert::bins;
use super::options::{internal, JsOptions};
use super::rate::rate_option_in;
use super::raw::{Js, Type};
use super::writer::key_schema_option;
use crate::batch_get::{self, Abort, GetHooks, GetOutcome, Read};
use crate::config::{self, Options, BATCH_GET_OPTIONS};
use crate::dynamo::SdkTransport;
use crate::error::{self, CoreError};
use crate::item::{self, ItemError};
use crate::rate_limit::Unit;
use crate::read::JsonPage;
use crate::retry::default_jitter;
use napi::bindgen_prelude::*;
use napi::JsValue;
use napi_derive::napi;
use std::sync::Arc;

/// `projection`: a non-empty array of top-level attribute names.
pub(crate) fn projection_option(
  opts: &JsOptions,
) -> std::result::Result<Option<Vec<String>>, CoreError> {
  let Some(v) = opts.raw("projection")? else {
    return Ok(None);
  };
  let js = opts.js;
  let rule = "a non-empty array of attribute names";
  if !js.is_array(v).map_err(internal)? || js.array_len(v).map_err(internal)? == 0 {
    return Err(config::invalid(
      "projection",
      rule,
      &opts.value("projection"),
    ));
  }
  let mut names = Vec::new();
  for i in 0..js.array_len(v).map_err(internal)? {
    let e = js.element(v, i).map_err(internal)?;
    let what = format!("projection[{i}]");
    if js.type_of(e).map_err(internal)? != Type::String {
      let got = super::options::value_of(js, e)?;
      return Err(config::invalid(&what, "a non-empty string", &got));
    }
    let units = js.utf16(e).map_err(internal)?;
    let name =
      item::strict_string(&units, &what).map_err(|e| CoreError::invalid_argument(e.message()))?;
    if name.is_empty() {
      return Err(CoreError::invalid_argument(format!(
        "{what} must be a non-empty string"
      )));
    }
    names.push(name);
  }
  Ok(Some(names))
}

/// The flag a read's AbortSignal sets (the facade listens to the signal and calls `abort`).
#[napi]
pub struct ReadAbort {
  pub(crate) flag: Arc<Abort>,
}

#[napi]
impl ReadAbort {
  #[napi(constructor)]
  pub fn new() -> Self {
    ReadAbort {
      flag: Arc::new(Abort::default()),
    }
  }

  #[napi]
  pub fn abort(&self) {
    self.flag.abort();
  }
}

impl Default for ReadAbort {
  fn default() -> Self {
    Self::new()
  }
}

/// The `abort` argument: a ReadAbort, or nothing.
fn abort_arg(env: &Env, v: Unknown) -> Result<Arc<Abort>> {
  match v.get_type()? {
    ValueType::Undefined | ValueType::Null => Ok(Arc::new(Abort::default())),
    _ => {
      let a = unsafe { ClassInstance::<ReadAbort>::from_napi_value(env.raw(), v.raw()) }?;
      Ok(a.flag.clone())
    }
  }
}

#[napi(object)]
pub struct KeyFailureJs {
  /// The position in `keys`.
  pub index: u32,
  pub reason: String,
  pub message: String,
  pub attempts: u32,
}

#[napi(object)]
pub struct BatchGetResultJs {
  /// Keys given, and distinct keys among them.
  pub keys: f64,
  pub distinct_keys: f64,
  pub found: f64,
  pub absent: f64,
  pub failed: f64,
  pub requests: f64,
  pub retries: f64,
  pub throttles: f64,
  pub unprocessed_rounds: f64,
  pub consumed_rcu: f64,
  pub elapsed_ms: f64,
}

#[napi(object)]
pub struct ErrorInfoJs {
  pub code: String,
  pub message: String,
}

/// Items for JS (`read::JsonPage`): JSON for `JSON.parse`, and the patches for what JSON cannot carry.
#[napi(object)]
pub struct JsonPageJs {
  pub json: String,
  pub patches: Utf16String,
  pub bins: Vec<Buffer>,
  pub count: u32,
  /// Where each item's JSON starts and ends (batchGet's repeated keys get a second copy from it).
  pub spans: Option<Uint32Array>,
}

pub(crate) fn json_page(p: JsonPage, spans: bool) -> JsonPageJs {
  JsonPageJs {
    json: String::from_utf8(p.json)
      .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    patches: Utf16String::from(p.patches.text),
    bins: p.patches.bins.into_iter().map(Buffer::from).collect(),
    count: p.count,
    spans: spans.then(|| Uint32Array::new(p.spans)),
  }
}

#[napi(object)]
pub struct BatchGetOutJs {
  /// The items found, one chunk per answer.
  pub chunks: Vec<JsonPageJs>,
  /// For each position: the index of its item among those found (chunk after chunk), -1 when absent, -2
  /// when not read.
  pub slots: Int32Array,
  /// One entry per position whose key was not read.
  pub failed: Vec<KeyFailureJs>,
  pub result: BatchGetResultJs,
  /// Set when some key was not read: the error the facade throws.
  pub error: Option<ErrorInfoJs>,
}

const ABSENT: i32 = -1;
const NOT_READ: i32 = -2;

/// Builds the JS outcome off the JS thread: the answers' items, positions, failures, counts.
fn outcome(o: GetOutcome<JsonPage>) -> BatchGetOutJs {
  let mut first = Vec::with_capacity(o.chunks.len());
  let mut total = 0u32;
  for c in &o.chunks {
    first.push(total);
    total += c.count;
  }
  let (mut found, mut absent, mut failed_keys) = (0, 0, 0);
  let index: Vec<i32> = o
    .reads
    .iter()
    .map(|r| match r {
      Read::Found { chunk, item } => {
        found += 1;
        (first[*chunk as usize] + item) as i32
      }
      Read::Absent => {
        absent += 1;
        ABSENT
      }
      Read::Failed { .. } => {
        failed_keys += 1;
        NOT_READ
      }
    })
    .collect();
  let slots: Vec<i32> = o.slots.iter().map(|&d| index[d as usize]).collect();
  let failed: Vec<KeyFailureJs> = o
    .slots
    .iter()
    .enumerate()
    .filter_map(|(pos, &d)| match &o.reads[d as usize] {
      Read::Failed {
        reason,
        message,
        attempts,
      } => Some(KeyFailureJs {
        index: pos as u32,
        reason: reason.clone(),
        message: message.clone(),
        attempts: *attempts,
      }),
      _ => None,
    })
    .collect();
  let error = failed.first().map(|f| {
    let n = failed.len();
    ErrorInfoJs {
      code: error::BATCH_GET_FAILED.to_string(),
      message: format!(
        "{n} key{} could not be read (first: keys[{}] {}: {})",
        if n == 1 { "" } else { "s" },
        f.index,
        f.reason,
        f.message
      ),
    }
  });
  let t = &o.totals;
  BatchGetOutJs {
    chunks: o.chunks.into_iter().map(|c| json_page(c, true)).collect(),
    slots: Int32Array::new(slots),
    result: BatchGetResultJs {
      keys: o.slots.len() as f64,
      distinct_keys: o.reads.len() as f64,
      found: found as f64,
      absent: absent as f64,
      failed: failed_keys as f64,
      requests: t.requests as f64,
      retries: t.retries as f64,
      throttles: t.throttles as f64,
      unprocessed_rounds: t.unprocessed_rounds as f64,
      consumed_rcu: t.consumed_rcu,
      elapsed_ms: o.elapsed.as_secs_f64() * 1000.0,
    },
    failed,
    error,
  }
}

/// `keys[i]` for a key's own error in a run of keys (the codec encodes them back to back).
fn at_index(e: ItemError, root: &str, i: usize) -> CoreError {
  let rest = e.path.strip_prefix(root).unwrap_or("");
  CoreError::from(ItemError {
    path: format!("{root}[{i}]{rest}"),
    rule: e.rule,
  })
}

#[napi]
impl NativeClient {
  /// Reads many keys (the codec's length-prefixed run of them). Throws for a key that breaks the item
  /// rules and for bad options; the Promise rejects for a key that breaks the key schema (nothing sent)
  /// and resolves to the outcome otherwise, unread keys included.
  #[napi(catch_unwind)]
  pub fn batch_get<'env>(
    &self,
    env: &'env Env,
    table: Unknown,
    wire: Utf16String,
    bins_arg: Option<Vec<Buffer>>,
    options: Unknown,
    abort: Unknown,
  ) -> Result<PromiseRaw<'env, BatchGetOutJs>> {
    let js = Js::of(env);
    let dynamo = self.dynamo.clone();
    let prepared = (|| {
      let table = table_arg(js, table.raw())?;
      let opts = JsOptions::new(js, options.raw(), "batchGet options", BATCH_GET_OPTIONS)?;
      let get = |n: &str| opts.value(n);
      let cfg = config::batch_get_config(
        &table,
        &Options::new(&get),
        projection_option(&opts)?,
        key_schema_option(&opts)?,
      )?;
      let limiter = rate_option_in(&opts, Unit::Rcu)?;
      let rules = dynamo.options().item_rules;
      let keys = item::encode_many(&wire, &bins(&bins_arg), "keys", rules)
        .map_err(CoreError::from)?
        .into_iter()
        .enumerate()
        .map(|(i, k)| k.map_err(|e| at_index(e, "keys", i)))
        .collect::<std::result::Result<Vec<_>, _>>()?;
      Ok((cfg, limiter, keys))
    })();
    let (cfg, limiter, keys) = super::convert::ok_or_throw(env, prepared)?;
    let hooks = GetHooks {
      meter: dynamo.meter.clone(),
      limiter,
      abort: abort_arg(env, abort)?,
      jitter: default_jitter(),
    };
    let rules = dynamo.options().read_rules;
    super::convert::promise(env, async move {
      if dynamo.is_closed() {
        return Err(CoreError::new(error::CLIENT_CLOSED, "the client is closed"));
      }
      let transport = Arc::new(SdkTransport(dynamo));
      let chunker = Arc::new(move |items: &[crate::read::AvMap]| JsonPage::new(items, rules));
      let out = batch_get::batch_get(transport, &cfg, &hooks, keys, chunker).await?;
      Ok(outcome(out))
    })
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_key_in_a_run_is_named_by_its_position() {
    let e = at_index(
      ItemError {
        path: "keys.pk".into(),
        rule: "NaN is not a valid DynamoDB number".into(),
      },
      "keys",
      3,
    );
    assert_eq!(e.code, error::INVALID_ITEM);
    assert_eq!(e.path.as_deref(), Some("keys[3].pk"));
    assert_eq!(e.message, "keys[3].pk: NaN is not a valid DynamoDB number");
    let e = at_index(
      ItemError {
        path: "keys".into(),
        rule: "must be an object".into(),
      },
      "keys",
      0,
    );
    assert_eq!(e.message, "keys[0]: must be an object");
  }
}
