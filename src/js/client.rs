//! `NativeClient`: the DynamoDB client behind `DynamoDBClient`. Converts arguments and delegates to
//! `dynamo.rs`; options are judged by `config.rs`.

use super::convert::{self, encode, ok_or_throw, promise, read_item, ClientMetricsJs, ReadItemJs};
use super::credentials::{JsProvider, ProviderFn};
use super::options::{string_arg, value_of, JsOptions};
use super::rate::rate_option;
use super::raw::{Js, Type, V};
use crate::config::{self, Options, Value, CLIENT_OPTIONS};
use crate::dynamo::{Creds, Dynamo, OpMetrics, TableInfo};
use crate::error::CoreError;
use crate::item::{self, Encoded};
use crate::key::KeyAttr;
use crate::metrics::Meter;
use crate::request::{Condition, OpKind};
use crate::retry::default_jitter;
use aws_credential_types::provider::SharedCredentialsProvider;
use napi::bindgen_prelude::*;
use napi::JsValue;
use napi_derive::napi;
use std::sync::{Arc, Mutex};

#[napi(object)]
pub struct OpMetricsJs {
  pub operation: String,
  pub table: String,
  pub duration_ms: f64,
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  pub attempts: u32,
  pub request_id: Option<String>,
}

impl From<OpMetrics> for OpMetricsJs {
  fn from(m: OpMetrics) -> Self {
    OpMetricsJs {
      operation: m.operation.to_string(),
      table: m.table,
      duration_ms: m.duration_ms,
      consumed_wcu: m.consumed_wcu,
      consumed_rcu: m.consumed_rcu,
      attempts: m.attempts,
      request_id: m.request_id,
    }
  }
}

#[napi(object)]
pub struct KeyAttrJs {
  pub name: String,
  #[napi(ts_type = "'S' | 'N' | 'B'")]
  pub r#type: String,
}

#[napi(object)]
pub struct TableInfoJs {
  pub table_name: String,
  pub status: String,
  pub partition_key: Option<KeyAttrJs>,
  pub sort_key: Option<KeyAttrJs>,
  pub item_count: Option<f64>,
  pub billing_mode: Option<String>,
}

fn attr_js(a: &KeyAttr) -> KeyAttrJs {
  KeyAttrJs {
    name: a.name.clone(),
    r#type: a.ty.as_str().to_string(),
  }
}

impl From<TableInfo> for TableInfoJs {
  fn from(t: TableInfo) -> Self {
    TableInfoJs {
      table_name: t.name,
      status: t.status,
      partition_key: t.schema.as_ref().map(|s| attr_js(&s.partition)),
      sort_key: t.schema.as_ref().and_then(|s| s.sort.as_ref().map(attr_js)),
      item_count: t.item_count.map(|n| n as f64),
      billing_mode: t.billing_mode,
    }
  }
}

/// `credentials`: `{ accessKeyId, secretAccessKey, sessionToken? }` or an async provider function.
fn credentials(opts: &JsOptions) -> std::result::Result<Option<Creds>, CoreError> {
  let Some(v) = opts.raw("credentials")? else {
    return Ok(None);
  };
  let js = opts.js;
  let rule = "{ accessKeyId: string, secretAccessKey: string, sessionToken?: string } or an async function returning them";
  let shape = || {
    CoreError::invalid_argument(
      "credentials must be { accessKeyId: string, secretAccessKey: string, sessionToken?: string }",
    )
  };
  match js.type_of(v).map_err(super::options::internal)? {
    Type::Function => {
      let f: ProviderFn =
        unsafe { ProviderFn::from_napi_value(js.env, v) }.map_err(super::options::internal)?;
      Ok(Some(Creds::Provider(SharedCredentialsProvider::new(
        JsProvider(Arc::new(f)),
      ))))
    }
    Type::Object => {
      let field = |name: &str| -> std::result::Result<Value, CoreError> {
        value_of(js, js.get(v, name).map_err(super::options::internal)?)
      };
      let s = |name: &str, required: bool| -> std::result::Result<Option<String>, CoreError> {
        match field(name)? {
          Value::Str(s) if !s.is_empty() => Ok(Some(s)),
          Value::Absent | Value::Null if !required => Ok(None),
          other if !required => Err(config::invalid(
            &format!("credentials.{name}"),
            "a non-empty string",
            &other,
          )),
          _ => Err(shape()),
        }
      };
      Ok(Some(Creds::Static {
        access_key_id: s("accessKeyId", true)?.unwrap_or_default(),
        secret_access_key: s("secretAccessKey", true)?.unwrap_or_default(),
        session_token: s("sessionToken", false)?,
      }))
    }
    _ => {
      let _ = rule;
      Err(shape())
    }
  }
}

#[napi]
pub struct NativeClient {
  pub(crate) dynamo: Arc<Dynamo>,
  last_get: Arc<Mutex<Option<OpMetrics>>>,
}

pub(crate) fn table_arg(js: Js, v: V) -> std::result::Result<String, CoreError> {
  let t = string_arg(js, v, "table")?;
  config::check_table(&t)?;
  Ok(t)
}

const WRITE_OPTIONS: &[&str] = &[
  "conditionExpression",
  "expressionAttributeNames",
  "expressionAttributeValues",
];

impl NativeClient {
  fn item(
    &self,
    wire: &[u16],
    bins: &Option<Vec<Buffer>>,
    root: &str,
  ) -> std::result::Result<Encoded, CoreError> {
    encode(wire, bins, root, self.dynamo.options().item_rules, true)
  }

  /// A condition's expression, names and values (the last two encoded by the codec), all judged here.
  /// `root` prefixes their names in messages (`actions[2].put`; empty for the options of single items).
  pub(super) fn condition(
    &self,
    opts: &JsOptions,
    root: &str,
    names: Option<Utf16String>,
    values: Option<Utf16String>,
    values_bins: Option<Vec<Buffer>>,
  ) -> std::result::Result<Condition, CoreError> {
    self.expression_at(
      opts,
      root,
      "conditionExpression",
      names,
      values,
      values_bins,
    )
  }

  /// An expression option (`option`: conditionExpression, filterExpression) with the names and values it
  /// uses, all judged here.
  pub(crate) fn expression(
    &self,
    opts: &JsOptions,
    option: &str,
    names: Option<Utf16String>,
    values: Option<Utf16String>,
    values_bins: Option<Vec<Buffer>>,
  ) -> std::result::Result<Condition, CoreError> {
    self.expression_at(opts, "", option, names, values, values_bins)
  }

  /// The same, its names prefixed by `root` in messages.
  fn expression_at(
    &self,
    opts: &JsOptions,
    root: &str,
    option: &str,
    names: Option<Utf16String>,
    values: Option<Utf16String>,
    values_bins: Option<Vec<Buffer>>,
  ) -> std::result::Result<Condition, CoreError> {
    let path = |name: &str| join_path(root, name);
    let expression = expression(opts, option, &path(option))?;
    let names = names
      .map(|w| item::string_map(&w, &path("expressionAttributeNames")))
      .transpose()?;
    let values = values
      .map(|w| {
        encode(
          &w,
          &values_bins,
          &path("expressionAttributeValues"),
          self.dynamo.options().item_rules,
          false,
        )
      })
      .transpose()?
      .map(|e| e.json);
    Ok(Condition {
      expression,
      names,
      values,
    })
  }
}

/// `root.name`, or `name` at the top.
pub(super) fn join_path(root: &str, name: &str) -> String {
  if root.is_empty() {
    name.to_string()
  } else {
    format!("{root}.{name}")
  }
}

/// An expression option (`conditionExpression`, `updateExpression`): a well-formed string, named `path` in
/// messages.
pub(super) fn expression(
  opts: &JsOptions,
  name: &str,
  path: &str,
) -> std::result::Result<Option<String>, CoreError> {
  let Some(v) = opts.raw(name)? else {
    return Ok(None);
  };
  match opts.js.type_of(v).map_err(super::options::internal)? {
    Type::String => {
      let units = opts.js.utf16(v).map_err(super::options::internal)?;
      Ok(Some(item::strict_string(&units, path)?))
    }
    _ => Err(config::invalid(path, "a string", &opts.value(name))),
  }
}

#[napi]
impl NativeClient {
  /// Never blocks: the AWS configuration chain is loaded on the first request.
  #[napi(constructor)]
  pub fn new(env: Env, options: Unknown) -> Result<Self> {
    let r = (|| {
      let opts = JsOptions::new(
        Js::of(&env),
        options.raw(),
        "DynamoDBClient options",
        CLIENT_OPTIONS,
      )?;
      let get = |n: &str| opts.value(n);
      let mut o = config::client_options(&Options::new(&get))?;
      super::options::check_logger(&opts)?;
      o.credentials = credentials(&opts)?;
      let limiter = rate_option(&opts)?;
      let observer = convert::observer(&opts).map_err(super::options::internal)?;
      let meter = Meter::default().with_observer(observer);
      Ok(NativeClient {
        dynamo: Arc::new(Dynamo::new(o, limiter, meter, default_jitter())),
        last_get: Arc::new(Mutex::new(None)),
      })
    })();
    ok_or_throw(&env, r)
  }

  #[napi(catch_unwind)]
  #[allow(clippy::too_many_arguments)]
  pub fn put_item<'env>(
    &self,
    env: &'env Env,
    table: Unknown,
    wire: Utf16String,
    bins: Option<Vec<Buffer>>,
    options: Unknown,
    names: Option<Utf16String>,
    values: Option<Utf16String>,
    values_bins: Option<Vec<Buffer>>,
  ) -> Result<PromiseRaw<'env, OpMetricsJs>> {
    let js = Js::of(env);
    // What refuses the call before sending rejects it as a failed write (counted by the core).
    let prepared = (|| {
      let table = table_arg(js, table.raw())?;
      let opts = JsOptions::new(js, options.raw(), "putItem options", WRITE_OPTIONS)?;
      let cond = self.condition(&opts, "", names, values, values_bins)?;
      Ok((table, self.item(&wire, &bins, "item")?, cond))
    })();
    let dynamo = self.dynamo.clone();
    promise(env, async move {
      dynamo
        .write_item(OpKind::Put, prepared)
        .await
        .map(OpMetricsJs::from)
    })
  }

  #[napi(catch_unwind)]
  #[allow(clippy::too_many_arguments)]
  pub fn delete_item<'env>(
    &self,
    env: &'env Env,
    table: Unknown,
    wire: Utf16String,
    bins: Option<Vec<Buffer>>,
    options: Unknown,
    names: Option<Utf16String>,
    values: Option<Utf16String>,
    values_bins: Option<Vec<Buffer>>,
  ) -> Result<PromiseRaw<'env, OpMetricsJs>> {
    let js = Js::of(env);
    // What refuses the call before sending rejects it as a failed write (counted by the core).
    let prepared = (|| {
      let table = table_arg(js, table.raw())?;
      let opts = JsOptions::new(js, options.raw(), "deleteItem options", WRITE_OPTIONS)?;
      let cond = self.condition(&opts, "", names, values, values_bins)?;
      Ok((table, self.item(&wire, &bins, "key")?, cond))
    })();
    let dynamo = self.dynamo.clone();
    promise(env, async move {
      dynamo
        .write_item(OpKind::Delete, prepared)
        .await
        .map(OpMetricsJs::from)
    })
  }

  /// Resolves to the item's read wire, or undefined when there is no such item.
  #[napi(catch_unwind)]
  pub fn get_item<'env>(
    &self,
    env: &'env Env,
    table: Unknown,
    wire: Utf16String,
    bins: Option<Vec<Buffer>>,
    options: Unknown,
  ) -> Result<PromiseRaw<'env, Option<ReadItemJs>>> {
    let js = Js::of(env);
    let prepared = (|| {
      let table = table_arg(js, table.raw())?;
      let opts = JsOptions::new(js, options.raw(), "getItem options", &["consistentRead"])?;
      let get = |n: &str| opts.value(n);
      let consistent = Options::new(&get).bool("consistentRead")?.unwrap_or(false);
      Ok((table, self.item(&wire, &bins, "key")?, consistent))
    })();
    let (table, key, consistent) = ok_or_throw(env, prepared)?;
    let dynamo = self.dynamo.clone();
    let last = self.last_get.clone();
    let rules = dynamo.options().read_rules;
    promise(env, async move {
      let (item, m) = dynamo.get_item(&table, key, consistent).await?;
      *last.lock().unwrap() = Some(m);
      Ok(item.map(|i| read_item(crate::read::encode(&i, rules))))
    })
  }

  /// The metrics of the most recent getItem that succeeded.
  #[napi(getter)]
  pub fn last_get_metrics(&self) -> Option<OpMetricsJs> {
    self.last_get.lock().unwrap().clone().map(OpMetricsJs::from)
  }

  #[napi(catch_unwind)]
  pub fn create_table<'env>(
    &self,
    env: &'env Env,
    table: Unknown,
    options: Unknown,
  ) -> Result<PromiseRaw<'env, TableInfoJs>> {
    let js = Js::of(env);
    let prepared = (|| {
      let table = table_arg(js, table.raw())?;
      let opts = JsOptions::new(
        js,
        options.raw(),
        "createTable options",
        &["partitionKey", "sortKey"],
      )?;
      let attr = |name: &str| opts.raw(name)?.map(|v| opts.key_attr(v)).transpose();
      let schema = config::key_schema("", attr("partitionKey")?, attr("sortKey")?, true)?;
      Ok((table, schema))
    })();
    let (table, schema) = ok_or_throw(env, prepared)?;
    let dynamo = self.dynamo.clone();
    promise(env, async move {
      dynamo
        .create_table(&table, &schema)
        .await
        .map(TableInfoJs::from)
    })
  }

  #[napi(catch_unwind)]
  pub fn delete_table<'env>(&self, env: &'env Env, table: Unknown) -> Result<PromiseRaw<'env, ()>> {
    let table = ok_or_throw(env, table_arg(Js::of(env), table.raw()))?;
    let dynamo = self.dynamo.clone();
    promise(env, async move { dynamo.delete_table(&table).await })
  }

  #[napi(catch_unwind)]
  pub fn describe_table<'env>(
    &self,
    env: &'env Env,
    table: Unknown,
  ) -> Result<PromiseRaw<'env, TableInfoJs>> {
    let table = ok_or_throw(env, table_arg(Js::of(env), table.raw()))?;
    let dynamo = self.dynamo.clone();
    promise(env, async move {
      dynamo.describe_table(&table).await.map(TableInfoJs::from)
    })
  }

  #[napi(getter)]
  pub fn metrics(&self) -> ClientMetricsJs {
    let rate = self
      .dynamo
      .limiter
      .as_ref()
      .map(|l| within_runtime_if_available(|| l.stats()).into());
    convert::client_metrics(&self.dynamo.meter.client.snapshot(), rate)
  }

  #[napi]
  pub fn reset_metrics(&self) {
    self.dynamo.meter.client.reset();
  }

  /// Refuses further calls with `ClientClosed`, waits for the requests in flight, and closes the
  /// connections. Idempotent.
  #[napi(catch_unwind)]
  pub fn close<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
    let dynamo = self.dynamo.clone();
    promise(env, async move {
      dynamo.close().await;
      Ok(())
    })
  }

  #[napi(getter)]
  pub fn closed(&self) -> bool {
    self.dynamo.is_closed()
  }
}

/// Validates DynamoDB number text (syntax, 38 significant digits, magnitude): the rule `NumberValue` uses.
#[napi]
pub fn check_number(env: Env, text: Unknown) -> Result<()> {
  let js = Js::of(&env);
  let r = (|| {
    let units = js.utf16(text.raw()).map_err(super::options::internal)?;
    let s = String::from_utf16(&units)
      .map_err(|_| CoreError::new(crate::error::INVALID_ITEM, "not a valid DynamoDB number"))?;
    crate::number::parse(s.as_bytes())
      .map(|_| ())
      .map_err(|rule| CoreError::new(crate::error::INVALID_ITEM, format!("NumberValue: {rule}")))
  })();
  ok_or_throw(&env, r)
}

/// The DynamoDB JSON an item's wire becomes, or the InvalidItem error it gets: the core's item rules,
/// exposed for the shared test vectors.
#[napi]
pub fn encode_item(
  env: Env,
  wire: Utf16String,
  bins: Option<Vec<Buffer>>,
  remove_undefined: Option<bool>,
) -> Result<String> {
  let rules = item::Rules {
    remove_undefined: remove_undefined.unwrap_or(false),
  };
  let r =
    encode(&wire, &bins, "item", rules, true).map(|e| String::from_utf8(e.json).expect("utf-8"));
  ok_or_throw(&env, r)
}

/// The item rules' limits, for the codec's walk (which stops descending where the core refuses anyway).
#[napi(object)]
pub struct Limits {
  pub max_depth: u32,
}

#[napi]
pub fn limits() -> Limits {
  Limits {
    max_depth: item::MAX_DEPTH as u32,
  }
}

/// A TypeError with `code` InvalidArgument, for the facade's own argument checks (the code is defined once,
/// in the core).
#[napi]
pub fn invalid_argument(env: Env, message: String) -> Result<Unknown<'static>> {
  let js = Js::of(&env);
  let e = super::error::js_error(js, &CoreError::invalid_argument(message))?;
  Ok(unsafe { Unknown::from_raw_unchecked(js.env, e) })
}

/// What the core accepts and produces, for the tests that hold the typings and the README to it.
#[napi(object)]
pub struct Surface {
  pub client_options: Vec<String>,
  pub writer_options: Vec<String>,
  pub transact_write_options: Vec<String>,
  pub transact_get_options: Vec<String>,
  pub error_codes: Vec<String>,
  pub item_reasons: Vec<String>,
}

#[napi]
pub fn surface() -> Surface {
  let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
  Surface {
    client_options: own(config::CLIENT_OPTIONS),
    writer_options: own(config::WRITER_OPTIONS),
    transact_write_options: own(config::TRANSACT_WRITE_OPTIONS),
    transact_get_options: own(config::TRANSACT_GET_OPTIONS),
    error_codes: own(crate::error::CODES),
    item_reasons: own(crate::error::ITEM_REASONS),
  }
}
