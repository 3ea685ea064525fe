//! Options, validated once and with one message style: `<name> must be <rule>, got <what>`. An unknown
//! option name is refused with the known names (a misspelt option would otherwise be silently ignored).
//! Defaults are applied here too. The binding reads a JS options object into `Value`s; options that are
//! JS handles (callbacks, a logger, a signal, a rate limit) are checked by kind here and used by the
//! binding and the facade.

use crate::batch::{WriterConfig, MAX_BATCH_ITEMS};
use crate::batch_get::GetConfig;
use crate::dynamo::ClientOptions;
use crate::error::CoreError;
use crate::key::{KeyAttr, KeySchema, KeyType};
use crate::retry::RetryPolicy;
use crate::scan::ScanConfig;
use std::time::Duration;

/// A JS value as options see it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
  /// Absent or `undefined`.
  Absent,
  Null,
  Bool(bool),
  Number(f64),
  Str(String),
  Function,
  /// An object; `class` is its constructor's name when it is not a plain object.
  Object {
    class: Option<String>,
  },
  Other(&'static str),
}

impl Value {
  pub fn describe(&self) -> String {
    match self {
      Value::Absent => "undefined".into(),
      Value::Null => "null".into(),
      Value::Bool(b) => b.to_string(),
      Value::Number(n) => js_number(*n),
      Value::Str(s) if s.chars().count() <= 60 => format!("{s:?}"),
      Value::Str(_) => "a long string".into(),
      Value::Function => "a function".into(),
      Value::Object { class: Some(c) } => format!("a {c}"),
      Value::Object { class: None } => "an object".into(),
      Value::Other(t) => (*t).into(),
    }
  }
  fn is_set(&self) -> bool {
    !matches!(self, Value::Absent | Value::Null)
  }
}

fn js_number(n: f64) -> String {
  if n.is_nan() {
    "NaN".into()
  } else if n.is_infinite() {
    if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
  } else if n.fract() == 0.0 && n.abs() < 1e21 {
    format!("{}", n as i64)
  } else {
    n.to_string()
  }
}

pub fn invalid(name: &str, rule: &str, got: &Value) -> CoreError {
  CoreError::invalid_argument(format!("{name} must be {rule}, got {}", got.describe()))
}

pub const CLIENT_OPTIONS: &[&str] = &[
  "region",
  "endpoint",
  "credentials",
  "profile",
  "maxAttempts",
  "connectTimeoutMs",
  "requestTimeoutMs",
  "maxConnections",
  "idleTimeoutMs",
  "removeUndefinedValues",
  "wrapNumbers",
  "rateLimit",
  "onRequest",
  "logger",
  "slowRequestMs",
];

pub const WRITER_OPTIONS: &[&str] = &[
  "flushAmount",
  "maxInFlight",
  "highWaterMark",
  "maxRetries",
  "baseDelayMs",
  "maxDelayMs",
  "keySchema",
  "shard",
  "signal",
  "rateLimit",
  "onRequest",
  "onProgress",
  "progressIntervalMs",
  "logger",
  "slowRequestMs",
];

/// transactWrite's options (`clientRequestToken` is checked by `transact.rs`).
pub const TRANSACT_WRITE_OPTIONS: &[&str] = &[
  "clientRequestToken",
  "returnValuesOnConditionCheckFailure",
  "retryConflicts",
];

pub const TRANSACT_GET_OPTIONS: &[&str] = &["retryConflicts"];

/// Refuses option names that are not known, naming the known ones.
pub fn check_names(what: &str, names: &[String], known: &[&str]) -> Result<(), CoreError> {
  for n in names {
    if !known.contains(&n.as_str()) {
      return Err(CoreError::invalid_argument(format!(
        "unknown {what} option {n:?} (known options: {})",
        known.join(", ")
      )));
    }
  }
  Ok(())
}

/// Reads typed options by name.
pub struct Options<'a> {
  get: &'a dyn Fn(&str) -> Value,
}

impl<'a> Options<'a> {
  pub fn new(get: &'a dyn Fn(&str) -> Value) -> Self {
    Options { get }
  }
  pub fn raw(&self, name: &str) -> Value {
    (self.get)(name)
  }
  pub fn int(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, CoreError> {
    match self.raw(name) {
      v if !v.is_set() => Ok(None),
      Value::Number(n) if n.fract() == 0.0 && n >= min as f64 && n <= max as f64 => {
        Ok(Some(n as u64))
      }
      v => Err(invalid(
        name,
        &if max >= u32::MAX as u64 {
          format!("an integer of at least {min}")
        } else {
          format!("an integer from {min} to {max}")
        },
        &v,
      )),
    }
  }
  pub fn ms(&self, name: &str) -> Result<Option<Duration>, CoreError> {
    match self.raw(name) {
      v if !v.is_set() => Ok(None),
      Value::Number(n) if n.is_finite() && n >= 0.0 => {
        Ok(Some(Duration::from_secs_f64(n / 1000.0)))
      }
      v => Err(invalid(name, "a non-negative number of milliseconds", &v)),
    }
  }
  pub fn number(&self, name: &str) -> Result<Option<f64>, CoreError> {
    match self.raw(name) {
      v if !v.is_set() => Ok(None),
      Value::Number(n) if n.is_finite() => Ok(Some(n)),
      v => Err(invalid(name, "a finite number", &v)),
    }
  }
  pub fn string(&self, name: &str) -> Result<Option<String>, CoreError> {
    match self.raw(name) {
      v if !v.is_set() => Ok(None),
      Value::Str(s) if !s.is_empty() => Ok(Some(s)),
      v => Err(invalid(name, "a non-empty string", &v)),
    }
  }
  pub fn bool(&self, name: &str) -> Result<Option<bool>, CoreError> {
    match self.raw(name) {
      v if !v.is_set() => Ok(None),
      Value::Bool(b) => Ok(Some(b)),
      v => Err(invalid(name, "a boolean", &v)),
    }
  }
  pub fn function(&self, name: &str) -> Result<bool, CoreError> {
    match self.raw(name) {
      v if !v.is_set() => Ok(false),
      Value::Function => Ok(true),
      v => Err(invalid(name, "a function", &v)),
    }
  }
  pub fn object(&self, name: &str, rule: &str) -> Result<bool, CoreError> {
    match self.raw(name) {
      v if !v.is_set() => Ok(false),
      Value::Object { .. } => Ok(true),
      v => Err(invalid(name, rule, &v)),
    }
  }
}

/// An endpoint must be an http(s) URL with a host: `localhost:8000` would otherwise be taken for a URL of
/// scheme `localhost:` and fail on the first request.
pub fn check_endpoint(e: &str) -> Result<(), CoreError> {
  let rest = e
    .strip_prefix("http://")
    .or_else(|| e.strip_prefix("https://"))
    .filter(|r| {
      let host = r.split(['/', '?', '#']).next().unwrap_or("");
      !host.is_empty() && !host.starts_with(':') && !host.contains(char::is_whitespace)
    });
  if rest.is_none() {
    return Err(invalid(
      "endpoint",
      "a URL such as http://127.0.0.1:8000",
      &Value::Str(e.to_string()),
    ));
  }
  Ok(())
}

/// A table name: any non-empty string. Its form is DynamoDB's to judge (names, ARNs and what local servers
/// accept differ); a name the service refuses fails with the service's own ValidationException.
pub fn check_table(table: &str) -> Result<(), CoreError> {
  if table.is_empty() {
    return Err(CoreError::invalid_argument(
      "table must be a non-empty string",
    ));
  }
  Ok(())
}

/// The client's options, with their defaults. `credentials` and `rateLimit` are resolved by the binding.
pub fn client_options(o: &Options<'_>) -> Result<ClientOptions, CoreError> {
  let d = ClientOptions::default();
  let endpoint = o.string("endpoint")?;
  if let Some(e) = &endpoint {
    check_endpoint(e)?;
  }
  o.function("onRequest")?;
  o.object(
    "logger",
    "an object with debug, info, warn and error methods",
  )?;
  o.ms("slowRequestMs")?;
  Ok(ClientOptions {
    region: o.string("region")?,
    endpoint,
    credentials: None,
    profile: o.string("profile")?,
    max_attempts: o
      .int("maxAttempts", 1, u32::MAX as u64)?
      .map_or(d.max_attempts, |n| n as u32),
    connect_timeout: o.ms("connectTimeoutMs")?.unwrap_or(d.connect_timeout),
    request_timeout: o.ms("requestTimeoutMs")?.unwrap_or(d.request_timeout),
    max_connections: o
      .int("maxConnections", 1, 10_000)?
      .map_or(d.max_connections, |n| n as usize),
    idle_timeout: o.ms("idleTimeoutMs")?.unwrap_or(d.idle_timeout),
    item_rules: crate::item::Rules {
      remove_undefined: o.bool("removeUndefinedValues")?.unwrap_or(false),
    },
    read_rules: crate::read::ReadRules {
      wrap_numbers: o.bool("wrapNumbers")?.unwrap_or(false),
    },
  })
}

/// A key attribute given as `{ name, type }` or by its name alone.
#[derive(Clone, Debug)]
pub enum KeyAttrInput {
  Name(String),
  Typed { name: Value, ty: Value },
  Bad(Value),
}

fn join(what: &str, name: &str) -> String {
  if what.is_empty() {
    name.to_string()
  } else {
    format!("{what}.{name}")
  }
}

pub fn key_attr(what: &str, a: KeyAttrInput, typed: bool) -> Result<KeyAttr, CoreError> {
  let (name, ty) = match a {
    KeyAttrInput::Name(n) => (Value::Str(n), None),
    KeyAttrInput::Typed { name, ty } => (name, Some(ty)),
    KeyAttrInput::Bad(v) => return Err(invalid(what, "{ name, type } or a key name", &v)),
  };
  let name = match name {
    Value::Str(s) if !s.is_empty() => s,
    v => return Err(invalid(&join(what, "name"), "a non-empty string", &v)),
  };
  let ty = match ty {
    None | Some(Value::Absent) if !typed => KeyType::Any,
    Some(Value::Str(t)) if KeyType::parse(&t).is_some() => KeyType::parse(&t).unwrap(),
    Some(v) => return Err(invalid(&join(what, "type"), "'S', 'N' or 'B'", &v)),
    None => {
      return Err(invalid(
        &join(what, "type"),
        "'S', 'N' or 'B'",
        &Value::Absent,
      ))
    }
  };
  Ok(KeyAttr::new(name, ty))
}

/// A key schema option: `{ partitionKey, sortKey? }`; `typed` when the types are required (createTable).
pub fn key_schema(
  what: &str,
  partition: Option<KeyAttrInput>,
  sort: Option<KeyAttrInput>,
  typed: bool,
) -> Result<KeySchema, CoreError> {
  let Some(p) = partition else {
    return Err(invalid(
      &join(what, "partitionKey"),
      "{ name, type } or a key name",
      &Value::Absent,
    ));
  };
  Ok(KeySchema::new(
    key_attr(&join(what, "partitionKey"), p, typed)?,
    sort
      .map(|s| key_attr(&join(what, "sortKey"), s, typed))
      .transpose()?,
  ))
}

/// A writer's options, with their defaults. Handles (signal, hooks, rate limit) are checked here by kind;
/// `keySchema` and `shard` are read by the binding and passed in.
pub fn writer_config(
  table: &str,
  o: &Options<'_>,
  key_schema: Option<KeySchema>,
  shard: Option<(u32, u32)>,
) -> Result<WriterConfig, CoreError> {
  check_table(table)?;
  let mut c = WriterConfig::new(table);
  if let Some(n) = o.int("flushAmount", 1, MAX_BATCH_ITEMS as u64)? {
    c.flush_amount = n as usize;
  }
  if let Some(n) = o.int("maxInFlight", 1, 1024)? {
    c.max_in_flight = n as usize;
  }
  if let Some(n) = o.int("highWaterMark", 1, u32::MAX as u64 - 1)? {
    c.high_water_mark = n as usize;
  }
  retry_options(o, &mut c.retry)?;
  o.function("onRequest")?;
  o.function("onProgress")?;
  o.ms("progressIntervalMs")?;
  o.ms("slowRequestMs")?;
  o.object(
    "logger",
    "an object with debug, info, warn and error methods",
  )?;
  o.object("signal", "an AbortSignal")?;
  c.key_schema = key_schema;
  if let Some((index, count)) = shard {
    if count == 0 || index >= count {
      return Err(CoreError::invalid_argument(format!(
        "shard must be {{ index, count }} with 0 <= index < count, got index {index} and count {count}"
      )));
    }
    c.shard = Some((index, count));
  }
  Ok(c)
}

/// `maxRetries`, `baseDelayMs`, `maxDelayMs`: the writer's retry policy, for any engine that takes it.
fn retry_options(o: &Options<'_>, r: &mut RetryPolicy) -> Result<(), CoreError> {
  if let Some(n) = o.int("maxRetries", 0, 1000)? {
    r.max_retries = n as u32;
  }
  if let Some(d) = o.ms("baseDelayMs")? {
    r.base_delay = d;
  }
  if let Some(d) = o.ms("maxDelayMs")? {
    r.max_delay = d;
  }
  Ok(())
}

pub const BATCH_GET_OPTIONS: &[&str] = &[
  "consistentRead",
  "projection",
  "maxInFlight",
  "maxRetries",
  "baseDelayMs",
  "maxDelayMs",
  "keySchema",
  "rateLimit",
  "signal",
];

/// batchGet's options, with their defaults. `projection`, `keySchema` and `rateLimit` are read by the
/// binding and passed in.
pub fn batch_get_config(
  table: &str,
  o: &Options<'_>,
  projection: Option<Vec<String>>,
  key_schema: Option<KeySchema>,
) -> Result<GetConfig, CoreError> {
  check_table(table)?;
  let mut c = GetConfig::new(table);
  c.consistent = o.bool("consistentRead")?.unwrap_or(false);
  c.projection = projection;
  if let Some(n) = o.int("maxInFlight", 1, 1024)? {
    c.max_in_flight = n as usize;
  }
  retry_options(o, &mut c.retry)?;
  o.object("signal", "an AbortSignal")?;
  c.key_schema = key_schema;
  Ok(c)
}

pub const SCAN_OPTIONS: &[&str] = &[
  "totalSegments",
  "pageSize",
  "bufferPages",
  "consistentRead",
  "projection",
  "filterExpression",
  "expressionAttributeNames",
  "expressionAttributeValues",
  "rateLimit",
  "signal",
  "maxRetries",
  "baseDelayMs",
  "maxDelayMs",
];

/// DynamoDB's limit on a parallel scan's segments.
pub const MAX_SEGMENTS: u64 = 1_000_000;

/// A scan's options, with their defaults. `projection`, the filter and `rateLimit` are read by the binding
/// and set on the result.
pub fn scan_config(table: &str, o: &Options<'_>) -> Result<ScanConfig, CoreError> {
  check_table(table)?;
  let mut c = ScanConfig::new(table);
  if let Some(n) = o.int("totalSegments", 1, MAX_SEGMENTS)? {
    c.total_segments = n as u32;
  }
  c.page_size = o.int("pageSize", 1, u32::MAX as u64 - 1)?.map(|n| n as u32);
  // One page queued per segment (at least two), so every segment can read ahead by one page.
  c.buffer_pages = match o.int("bufferPages", 1, 100_000)? {
    Some(n) => n as usize,
    None => (c.total_segments as usize).clamp(2, 1024),
  };
  c.shape.consistent = o.bool("consistentRead")?.unwrap_or(false);
  retry_options(o, &mut c.retry)?;
  o.object("signal", "an AbortSignal")?;
  Ok(c)
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::collections::HashMap;

  fn opts(pairs: &[(&str, Value)]) -> HashMap<String, Value> {
    pairs
      .iter()
      .map(|(k, v)| (k.to_string(), v.clone()))
      .collect()
  }

  #[test]
  fn unknown_names_are_refused_with_the_known_ones() {
    let e = check_names("BatchWriter", &["flushAmmount".into()], WRITER_OPTIONS).unwrap_err();
    assert_eq!(e.code, crate::error::INVALID_ARGUMENT);
    assert!(
      e.message
        .starts_with("unknown BatchWriter option \"flushAmmount\" (known options: flushAmount,"),
      "{}",
      e.message
    );
    assert!(check_names("BatchWriter", &["flushAmount".into()], WRITER_OPTIONS).is_ok());
  }

  #[test]
  fn one_message_style() {
    let m = opts(&[
      ("flushAmount", Value::Number(30.0)),
      ("maxInFlight", Value::Str("8".into())),
    ]);
    let get = |n: &str| m.get(n).cloned().unwrap_or(Value::Absent);
    let o = Options::new(&get);
    assert_eq!(
      writer_config("users", &o, None, None).unwrap_err().message,
      "flushAmount must be an integer from 1 to 25, got 30"
    );
    assert_eq!(
      o.int("maxInFlight", 1, 1024).unwrap_err().message,
      "maxInFlight must be an integer from 1 to 1024, got \"8\""
    );
    assert_eq!(o.ms("nope").unwrap(), None);
  }

  #[test]
  fn read_options_and_their_defaults() {
    let m = opts(&[("totalSegments", Value::Number(8.0))]);
    let get = |n: &str| m.get(n).cloned().unwrap_or(Value::Absent);
    let c = scan_config("t", &Options::new(&get)).unwrap();
    assert_eq!(
      (c.total_segments, c.buffer_pages, c.page_size),
      (8, 8, None)
    );
    assert_eq!(c.retry, RetryPolicy::default());
    let m = opts(&[("totalSegments", Value::Number(0.0))]);
    let get = |n: &str| m.get(n).cloned().unwrap_or(Value::Absent);
    assert_eq!(
      scan_config("t", &Options::new(&get)).unwrap_err().message,
      "totalSegments must be an integer from 1 to 1000000, got 0"
    );
    let m = opts(&[
      ("maxRetries", Value::Number(0.0)),
      ("consistentRead", Value::Bool(true)),
    ]);
    let get = |n: &str| m.get(n).cloned().unwrap_or(Value::Absent);
    let c = batch_get_config("t", &Options::new(&get), None, None).unwrap();
    assert_eq!(
      (c.retry.max_retries, c.consistent, c.max_in_flight),
      (0, true, 16)
    );
    assert!(check_names("batchGet", &["consistentRed".into()], BATCH_GET_OPTIONS).is_err());
  }

  #[test]
  fn endpoints_and_tables() {
    assert!(check_endpoint("http://127.0.0.1:8000").is_ok());
    assert!(check_endpoint("https://dynamodb.eu-west-1.amazonaws.com").is_ok());
    let e = check_endpoint("localhost:8000").unwrap_err();
    assert_eq!(
      e.message,
      "endpoint must be a URL such as http://127.0.0.1:8000, got \"localhost:8000\""
    );
    assert!(check_endpoint("http://").is_err());
    assert!(check_table("users").is_ok());
    assert_eq!(
      check_table("").unwrap_err().message,
      "table must be a non-empty string"
    );
  }

  #[test]
  fn shards_and_key_schemas() {
    let get = |_: &str| Value::Absent;
    let o = Options::new(&get);
    assert!(writer_config("users", &o, None, Some((3, 3))).is_err());
    assert_eq!(
      writer_config("users", &o, None, Some((2, 3)))
        .unwrap()
        .shard,
      Some((2, 3))
    );
    let ks = key_schema(
      "keySchema",
      Some(KeyAttrInput::Name("pk".into())),
      None,
      false,
    )
    .unwrap();
    assert_eq!(ks.partition.ty, KeyType::Any);
    let e = key_schema(
      "",
      Some(KeyAttrInput::Typed {
        name: Value::Str("pk".into()),
        ty: Value::Str("X".into()),
      }),
      None,
      true,
    )
    .unwrap_err();
    assert_eq!(
      e.message,
      "partitionKey.type must be 'S', 'N' or 'B', got \"X\""
    );
  }
}
