//! Transactions, once: TransactWriteItems and TransactGetItems. What a transaction needs beyond the item
//! rules (which the binding applies to each item and key) is checked here before anything is sent: at
//! most 100 actions, every key by its table's key schema, one action per item (by the normalized key,
//! across tables) and 4 MB of items and keys. The request runs through `Dynamo::run` (one retry loop:
//! throttling, 5xx, network errors and TransactionInProgressException are retried with the same client
//! request token, so a retry never applies a transaction twice). A cancellation keeps DynamoDB's reason
//! for each action, in order; one cancelled by conflicts alone is retried only when the caller asked.

use crate::dynamo::{body_swap, Call, Dynamo, Reply};
use crate::error::{self, from_sdk, CoreError, HttpStatus};
use crate::item::{self, Encoded, Tag};
use crate::key::{KeySchema, NormKey};
use crate::number;
use crate::read::AvMap;
use crate::request::{self, Condition, TransactEntry, TransactOp};
use crate::retry::Retry;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::{CancellationReason, ConsumedCapacity};
use bytes::Bytes;
use futures_util::future::{join_all, FutureExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// DynamoDB's limit of actions per transaction.
pub const MAX_ACTIONS: usize = 100;
/// DynamoDB's limit of the items and keys of one transaction: 4 MB.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// One action of a write transaction; its item (put) or key (the others) judged by the item rules.
#[derive(Clone, Debug)]
pub struct WriteAction {
  pub op: TransactOp,
  pub table: String,
  pub item: Encoded,
  /// The update expression of an update.
  pub update: Option<String>,
  pub cond: Condition,
}

/// One read of a get transaction.
#[derive(Clone, Debug)]
pub struct GetAction {
  pub table: String,
  pub key: Encoded,
  /// Top-level attribute names to read (all when None).
  pub projection: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
pub struct WriteOptions {
  pub token: String,
  /// Ask for the item of an action whose condition failed (`ALL_OLD`).
  pub return_old: bool,
  pub retry_conflicts: bool,
}

/// What DynamoDB said about one action of a cancelled transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Reason {
  /// `None` for an action that did not cause the cancellation, else `ConditionalCheckFailed`,
  /// `TransactionConflict`, `ValidationError`…
  pub code: String,
  pub message: String,
  /// The item as it was, for a failed condition when `ALL_OLD` was asked for.
  pub item: Option<AvMap>,
}

/// A transaction that failed: the error, and for a cancellation (`TransactionCanceled`) the reasons, one
/// per action in order; the token it was sent with, once it was sent.
#[derive(Debug)]
pub struct TransactError {
  pub error: CoreError,
  pub reasons: Vec<Reason>,
  pub token: Option<String>,
}

impl From<CoreError> for TransactError {
  fn from(error: CoreError) -> Self {
    TransactError {
      error,
      reasons: Vec::new(),
      token: None,
    }
  }
}

impl From<item::ItemError> for TransactError {
  fn from(e: item::ItemError) -> Self {
    CoreError::from(e).into()
  }
}

/// Capacity one table consumed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableCapacity {
  pub table: String,
  pub wcu: f64,
  pub rcu: f64,
}

/// What a transaction reports.
#[derive(Clone, Debug, Default)]
pub struct TransactMetrics {
  pub operation: &'static str,
  pub duration_ms: f64,
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  pub tables: Vec<TableCapacity>,
  pub attempts: u32,
  pub request_id: Option<String>,
  pub token: Option<String>,
}

/// Refuses a list of transaction entries (`what`: "actions", "gets") that DynamoDB would refuse for its
/// length.
pub fn check_count(what: &str, n: usize) -> Result<(), CoreError> {
  if (1..=MAX_ACTIONS).contains(&n) {
    return Ok(());
  }
  Err(CoreError::invalid_argument(format!(
    "{what} must be an array of 1 to {MAX_ACTIONS} {what}, got {n} {what}"
  )))
}

/// A client request token of the SDKs' form (a random UUID v4), for a call that brought none.
pub fn new_token() -> String {
  let r = fastrand::u128(..);
  // version 4 and the RFC 4122 variant
  let r = (r & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
  let h = format!("{r:032x}");
  format!(
    "{}-{}-{}-{}-{}",
    &h[..8],
    &h[8..12],
    &h[12..16],
    &h[16..20],
    &h[20..]
  )
}

/// Checks a caller's client request token: 1 to 36 characters, as DynamoDB requires.
pub fn check_token(token: &str) -> Result<(), CoreError> {
  let n = token.chars().count();
  if (1..=36).contains(&n) {
    return Ok(());
  }
  Err(CoreError::invalid_argument(format!(
    "clientRequestToken must be a string of 1 to 36 characters, got {n} characters"
  )))
}

/// The path of an action's item or key in messages: `actions[3].put.item`, `actions[0].delete.key`.
pub fn action_root(index: usize, op: TransactOp) -> String {
  let what = if op == TransactOp::Put { "item" } else { "key" };
  format!("actions[{index}].{}.{what}", op.as_str())
}

pub fn get_root(index: usize) -> String {
  format!("gets[{index}].key")
}

type Schemas = HashMap<String, Option<Arc<KeySchema>>>;

/// The key schema of every table named, read at once (each once per client and cached). A table whose
/// schema cannot be read is checked by DynamoDB alone, as single-item calls are.
async fn schemas_of<'a>(
  dynamo: &Arc<Dynamo>,
  tables: impl Iterator<Item = &'a str>,
) -> Result<Schemas, CoreError> {
  let names = distinct(tables);
  let found = join_all(names.iter().map(|t| dynamo.single_item_schema(t))).await;
  names
    .into_iter()
    .zip(found)
    .map(|(t, s)| s.map(|s| (t.to_string(), s)))
    .collect()
}

fn distinct<'a>(tables: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
  let mut out: Vec<&str> = Vec::new();
  for t in tables {
    if !out.contains(&t) {
      out.push(t);
    }
  }
  out
}

/// The DynamoDB size of a key alone (a whole item may have been given as the key; only its key is sent).
fn key_size(schema: &KeySchema, e: &Encoded) -> usize {
  let mut size = 0;
  for (attr, _, _) in schema.attrs() {
    let Some(a) = e
      .top
      .iter()
      .find(|a| item::unescape(e.slice(a.name)) == attr.name)
    else {
      continue;
    };
    size += attr.name.len()
      + match a.tag {
        Tag::N => number::parse(e.slice(a.payload)).map_or(0, |p| number::size(&p)),
        _ => a.raw_len as usize,
      };
  }
  size
}

/// One item per transaction: the normalized keys seen, per table.
#[derive(Default)]
struct Seen<'a>(HashMap<(&'a str, NormKey), usize>);

impl<'a> Seen<'a> {
  /// `what[index]` (at `root`) acts on `key` of `table`: refused if an earlier entry did.
  fn add(
    &mut self,
    table: &'a str,
    key: NormKey,
    (what, index, root): (&str, usize, &str),
  ) -> Result<(), CoreError> {
    if let Some(first) = self.0.insert((table, key), index) {
      let mut e = CoreError::invalid_argument(format!(
        "{root}: the same item as {what}[{first}] (table {table:?}); DynamoDB refuses two operations on one item in a transaction"
      ));
      e.path = Some(root.to_string());
      return Err(e);
    }
    Ok(())
  }
}

/// Checks the actions as a whole and returns, per action, the JSON to send: the item of a put, the key of
/// the others (only the key attributes, once the table's key schema is known).
fn plan_writes(actions: &mut [WriteAction], schemas: &Schemas) -> Result<Vec<Vec<u8>>, CoreError> {
  check_count("actions", actions.len())?;
  let mut seen = Seen::default();
  let mut total = 0usize;
  let mut out = Vec::with_capacity(actions.len());
  for (i, a) in actions.iter_mut().enumerate() {
    let root = action_root(i, a.op);
    let schema = schemas.get(&a.table).and_then(|s| s.as_deref());
    let (json, size) = match schema {
      Some(s) => {
        let key = s.check(&a.item, &root)?;
        seen.add(&a.table, key, ("actions", i, &root))?;
        if a.op == TransactOp::Put {
          (std::mem::take(&mut a.item.json), a.item.size)
        } else {
          (s.project(&a.item), key_size(s, &a.item))
        }
      }
      None => (std::mem::take(&mut a.item.json), a.item.size),
    };
    total += size;
    if total > MAX_BYTES {
      let mut e = CoreError::invalid_argument(format!(
        "{root}: the transaction's items and keys reach {total} bytes here; DynamoDB allows at most {MAX_BYTES} bytes (4 MB) per transaction"
      ));
      e.path = Some(root);
      return Err(e);
    }
    out.push(json);
  }
  Ok(out)
}

/// Checks the gets as a whole and returns each key's JSON.
fn plan_gets(gets: &[GetAction], schemas: &Schemas) -> Result<Vec<Vec<u8>>, CoreError> {
  check_count("gets", gets.len())?;
  let mut seen = Seen::default();
  let mut out = Vec::with_capacity(gets.len());
  for (i, g) in gets.iter().enumerate() {
    let root = get_root(i);
    out.push(match schemas.get(&g.table).and_then(|s| s.as_deref()) {
      Some(s) => {
        seen.add(&g.table, s.check(&g.key, &root)?, ("gets", i, &root))?;
        s.project(&g.key)
      }
      None => g.key.json.clone(),
    });
  }
  Ok(out)
}

/// Write capacity to take from the rate limiter: transactional writes cost twice the units of plain ones.
fn write_units(actions: &[WriteAction]) -> f64 {
  actions
    .iter()
    .map(|a| match a.op {
      TransactOp::Put => 2.0 * item::write_units(a.item.size),
      _ => 2.0,
    })
    .sum()
}

/// DynamoDB's reasons, one per action (`labels`): an action it said nothing about gets `Unknown`.
fn reasons_of(given: &[CancellationReason], n: usize) -> Vec<Reason> {
  (0..n)
    .map(|i| match given.get(i) {
      Some(r) => {
        let code = r.code().unwrap_or("Unknown").to_string();
        let message = match (r.message(), code.as_str()) {
          (Some(m), _) => m.to_string(),
          (None, "None") => "this action did not cause the cancellation".into(),
          (None, _) => code.clone(),
        };
        Reason {
          code,
          message,
          item: r.item().cloned(),
        }
      }
      None => Reason {
        code: "Unknown".into(),
        message: "DynamoDB gave no cancellation reason for this action".into(),
        item: None,
      },
    })
    .collect()
}

const THROTTLING_REASONS: &[&str] = &["ThrottlingError", "ProvisionedThroughputExceeded"];

/// Whether a cancelled transaction is tried again: one cancelled only by throttling is (as any throttled
/// request); one cancelled by conflicts (and perhaps throttling) only when the caller asked, since what
/// its conditions assumed may have changed; any other reason ends it.
pub fn cancel_retry(reasons: &[Reason], retry_conflicts: bool) -> Retry {
  let mut conflict = false;
  let mut throttled = false;
  for r in reasons {
    match r.code.as_str() {
      "None" => {}
      "TransactionConflict" => conflict = true,
      c if THROTTLING_REASONS.contains(&c) => throttled = true,
      _ => return Retry::Fatal,
    }
  }
  match (conflict, throttled) {
    (true, _) if retry_conflicts => Retry::Transient,
    (true, _) => Retry::Fatal,
    (false, true) => Retry::Throttle,
    (false, false) => Retry::Fatal,
  }
}

/// `transaction cancelled: actions[1].put: ConditionalCheckFailed (The conditional request failed)`.
fn cancel_message(reasons: &[Reason], labels: &[String]) -> String {
  let causes: Vec<String> = reasons
    .iter()
    .zip(labels)
    .filter(|(r, _)| r.code != "None")
    .map(|(r, l)| {
      if r.message == r.code {
        format!("{l}: {}", r.code)
      } else {
        format!("{l}: {} ({})", r.code, r.message)
      }
    })
    .collect();
  if causes.is_empty() {
    "transaction cancelled (DynamoDB named no action as the cause)".into()
  } else {
    format!("transaction cancelled: {}", causes.join("; "))
  }
}

/// What one request needs to describe a cancellation.
struct Cancel {
  labels: Vec<String>,
  retry_conflicts: bool,
  /// The reasons of the last cancelled attempt.
  last: Mutex<Vec<Reason>>,
}

impl Cancel {
  /// An SDK error as a core error; a cancellation (which `canceled` finds in the operation's error)
  /// becomes `TransactionCanceled`, its reasons kept.
  fn error<E, R>(
    &self,
    e: SdkError<E, R>,
    canceled: fn(&E) -> Option<&TransactionCanceledException>,
  ) -> CoreError
  where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus + Send + Sync + 'static,
  {
    let reasons = e
      .as_service_error()
      .and_then(canceled)
      .map(|c| reasons_of(c.cancellation_reasons(), self.labels.len()));
    let mut err = from_sdk(e);
    if let Some(reasons) = reasons {
      err.code = error::TRANSACTION_CANCELED.into();
      err.message = cancel_message(&reasons, &self.labels);
      err.retry = cancel_retry(&reasons, self.retry_conflicts);
      *self.last.lock().unwrap() = reasons;
    }
    err
  }

  fn fail(&self, error: CoreError, token: Option<String>) -> TransactError {
    let reasons = if error.code == error::TRANSACTION_CANCELED {
      std::mem::take(&mut *self.last.lock().unwrap())
    } else {
      Vec::new()
    };
    TransactError {
      error,
      reasons,
      token,
    }
  }
}

fn write_canceled(e: &TransactWriteItemsError) -> Option<&TransactionCanceledException> {
  match e {
    TransactWriteItemsError::TransactionCanceledException(c) => Some(c),
    _ => None,
  }
}

fn get_canceled(e: &TransactGetItemsError) -> Option<&TransactionCanceledException> {
  match e {
    TransactGetItemsError::TransactionCanceledException(c) => Some(c),
    _ => None,
  }
}

fn capacities(list: &[ConsumedCapacity], reads: bool) -> Vec<TableCapacity> {
  list
    .iter()
    .map(|c| {
      let total = c.capacity_units().unwrap_or(0.0);
      let (wcu, rcu) = if reads {
        (0.0, c.read_capacity_units().unwrap_or(total))
      } else {
        let rcu = c.read_capacity_units().unwrap_or(0.0);
        (c.write_capacity_units().unwrap_or(total - rcu), rcu)
      };
      TableCapacity {
        table: c.table_name().unwrap_or_default().to_string(),
        wcu,
        rcu,
      }
    })
    .collect()
}

fn reply_of(tables: &[TableCapacity], request_id: Option<&str>) -> Reply {
  Reply {
    consumed_wcu: tables.iter().map(|t| t.wcu).sum(),
    consumed_rcu: tables.iter().map(|t| t.rcu).sum(),
    request_id: request_id.map(str::to_string),
    ..Default::default()
  }
}

/// Runs a write transaction; resolves to its metrics once DynamoDB committed it.
pub async fn transact_write(
  dynamo: &Arc<Dynamo>,
  mut actions: Vec<WriteAction>,
  opts: WriteOptions,
) -> Result<TransactMetrics, TransactError> {
  let schemas = schemas_of(dynamo, actions.iter().map(|a| a.table.as_str())).await?;
  let json = plan_writes(&mut actions, &schemas)?;
  let body = Bytes::from(request::transact_write(
    actions.iter().zip(&json).map(|(a, json)| TransactEntry {
      op: a.op,
      table: &a.table,
      json,
      update: a.update.as_deref(),
      cond: &a.cond,
    }),
    &opts.token,
    opts.return_old,
  ));
  let cancel = Arc::new(Cancel {
    labels: (0..actions.len())
      .map(|i| format!("actions[{i}].{}", actions[i].op.as_str()))
      .collect(),
    retry_conflicts: opts.retry_conflicts,
    last: Mutex::new(Vec::new()),
  });
  let label = distinct(actions.iter().map(|a| a.table.as_str())).join(",");
  let res = dynamo
    .run(
      Call {
        operation: "TransactWriteItems",
        table: &label,
        units: write_units(&actions),
        items: actions.len() as u32,
        policy: dynamo.policy(),
      },
      |sdk| {
        let req = sdk
          .transact_write_items()
          .set_transact_items(Some(Vec::new()))
          .client_request_token(&opts.token)
          .customize()
          .mutate_request(body_swap(body.clone()));
        let cancel = cancel.clone();
        async move {
          let out = req
            .send()
            .await
            .map_err(|e| cancel.error(e, write_canceled))?;
          let tables = capacities(out.consumed_capacity(), false);
          let reply = reply_of(&tables, out.request_id());
          Ok((tables, reply))
        }
        .boxed()
      },
    )
    .await;
  let writes = actions
    .iter()
    .filter(|a| a.op != TransactOp::ConditionCheck)
    .count() as u64;
  let deletes = actions
    .iter()
    .filter(|a| a.op == TransactOp::Delete)
    .count() as u64;
  match res {
    Ok((tables, m)) => {
      dynamo.meter.outcome(writes - deletes, deletes, 0, 0, None);
      Ok(TransactMetrics {
        operation: "TransactWriteItems",
        duration_ms: m.duration_ms,
        consumed_wcu: m.consumed_wcu,
        consumed_rcu: m.consumed_rcu,
        tables,
        attempts: m.attempts,
        request_id: m.request_id,
        token: Some(opts.token),
      })
    }
    Err(e) => {
      if e.code != error::CLIENT_CLOSED {
        dynamo.meter.outcome(0, 0, writes, 0, None);
      }
      Err(cancel.fail(e, Some(opts.token)))
    }
  }
}

/// Runs a get transaction; resolves to the items in the order of `gets` (None where there is none).
pub async fn transact_get(
  dynamo: &Arc<Dynamo>,
  gets: Vec<GetAction>,
  retry_conflicts: bool,
) -> Result<(Vec<Option<AvMap>>, TransactMetrics), TransactError> {
  let schemas = schemas_of(dynamo, gets.iter().map(|g| g.table.as_str())).await?;
  let keys = plan_gets(&gets, &schemas)?;
  let body = Bytes::from(request::transact_get(
    gets
      .iter()
      .zip(&keys)
      .map(|(g, k)| (g.table.as_str(), &k[..], g.projection.as_deref())),
  ));
  let cancel = Arc::new(Cancel {
    labels: (0..gets.len()).map(|i| format!("gets[{i}]")).collect(),
    retry_conflicts,
    last: Mutex::new(Vec::new()),
  });
  let label = distinct(gets.iter().map(|g| g.table.as_str())).join(",");
  let n = gets.len();
  let res = dynamo
    .run(
      Call {
        operation: "TransactGetItems",
        table: &label,
        units: 0.0,
        items: n as u32,
        policy: dynamo.policy(),
      },
      |sdk| {
        let req = sdk
          .transact_get_items()
          .set_transact_items(Some(Vec::new()))
          .customize()
          .mutate_request(body_swap(body.clone()));
        let cancel = cancel.clone();
        async move {
          let out = req
            .send()
            .await
            .map_err(|e| cancel.error(e, get_canceled))?;
          let tables = capacities(out.consumed_capacity(), true);
          let reply = reply_of(&tables, out.request_id());
          let responses = out.responses.unwrap_or_default();
          if responses.len() != n {
            return Err(CoreError::new(
              error::SERVICE_ERROR,
              format!(
                "TransactGetItems answered {} responses for {n} gets",
                responses.len()
              ),
            ));
          }
          let items = responses.into_iter().map(|r| r.item).collect();
          Ok(((items, tables), reply))
        }
        .boxed()
      },
    )
    .await;
  match res {
    Ok(((items, tables), m)) => Ok((
      items,
      TransactMetrics {
        operation: "TransactGetItems",
        duration_ms: m.duration_ms,
        consumed_wcu: 0.0,
        consumed_rcu: m.consumed_rcu,
        tables,
        attempts: m.attempts,
        request_id: m.request_id,
        token: None,
      },
    )),
    Err(e) => Err(cancel.fail(e, None)),
  }
}

#[cfg(test)]
mod tests;
