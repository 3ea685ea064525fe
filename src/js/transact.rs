//! `transactWrite` and `transactGet` on `NativeClient`: reads each entry's shape (one kind per action, its
//! known fields, its strings) with what the facade's codec encoded for it (its item or key, its names and
//! values), and delegates to the core (`transact.rs`), which checks the transaction as a whole and runs it.
//! A cancelled transaction rejects with `reasons`, one per action, their items as read wires (the facade
//! decodes them as it decodes every item read).

use super::client::{expression, join_path, NativeClient};
use super::convert::{encode, ok_or_throw, read_item, ReadItemJs};
use super::error::{js_error, throwable};
use super::options::{internal, string_arg, value_of, JsOptions};
use super::raw::{Js, Type, V};
use crate::config::{self, Options, Value, TRANSACT_GET_OPTIONS, TRANSACT_WRITE_OPTIONS};
use crate::error::{CoreError, INTERNAL, TRANSACTION_CANCELED};
use crate::item;
use crate::read::{self, ReadRules};
use crate::request::TransactOp;
use crate::transact::{
  self, GetAction, TransactError, TransactMetrics, WriteAction, WriteOptions, MAX_ACTIONS,
};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;

type Res<T> = std::result::Result<T, CoreError>;

/// What the facade's codec encoded for one action or get: its item or key, and its condition's names and
/// values.
#[napi(object, object_to_js = false)]
pub struct TransactPartsJs {
  pub wire: Utf16String,
  pub bins: Option<Vec<Buffer>>,
  pub names: Option<Utf16String>,
  pub values: Option<Utf16String>,
  pub values_bins: Option<Vec<Buffer>>,
}

#[napi(object)]
pub struct TableCapacityJs {
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
}

#[napi(object)]
pub struct TransactMetricsJs {
  pub operation: String,
  pub duration_ms: f64,
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  /// Capacity consumed per table.
  pub tables: HashMap<String, TableCapacityJs>,
  pub attempts: u32,
  pub request_id: Option<String>,
  pub client_request_token: Option<String>,
}

impl From<TransactMetrics> for TransactMetricsJs {
  fn from(m: TransactMetrics) -> Self {
    TransactMetricsJs {
      operation: m.operation.to_string(),
      duration_ms: m.duration_ms,
      consumed_wcu: m.consumed_wcu,
      consumed_rcu: m.consumed_rcu,
      tables: m
        .tables
        .into_iter()
        .map(|t| {
          let c = TableCapacityJs {
            consumed_wcu: t.wcu,
            consumed_rcu: t.rcu,
          };
          (t.table, c)
        })
        .collect(),
      attempts: m.attempts,
      request_id: m.request_id,
      client_request_token: m.token,
    }
  }
}

const OPS: [TransactOp; 4] = [
  TransactOp::Put,
  TransactOp::Delete,
  TransactOp::Update,
  TransactOp::ConditionCheck,
];
const ACTION_KINDS: &[&str] = &["put", "delete", "update", "conditionCheck"];
const ONE_KIND: &str = "exactly one of put, delete, update or conditionCheck";

fn fields(op: TransactOp) -> &'static [&'static str] {
  match op {
    TransactOp::Put => &[
      "table",
      "item",
      "conditionExpression",
      "expressionAttributeNames",
      "expressionAttributeValues",
    ],
    TransactOp::Update => &[
      "table",
      "key",
      "updateExpression",
      "conditionExpression",
      "expressionAttributeNames",
      "expressionAttributeValues",
    ],
    TransactOp::Delete | TransactOp::ConditionCheck => &[
      "table",
      "key",
      "conditionExpression",
      "expressionAttributeNames",
      "expressionAttributeValues",
    ],
  }
}

/// `actions`/`gets`: an array of 1 to 100 entries, each read by `read` with what the facade encoded for it.
fn entries<T>(
  js: Js,
  v: V,
  what: &str,
  parts: Vec<TransactPartsJs>,
  mut read: impl FnMut(V, usize, TransactPartsJs) -> Res<T>,
) -> Res<Vec<T>> {
  if !js.is_array(v).map_err(internal)? {
    let rule = format!("an array of 1 to {MAX_ACTIONS} {what}");
    return Err(config::invalid(what, &rule, &value_of(js, v)?));
  }
  let n = js.array_len(v).map_err(internal)?;
  transact::check_count(what, n as usize)?;
  if parts.len() != n as usize {
    return Err(CoreError::new(
      INTERNAL,
      format!("the facade encoded {} of {n} {what}", parts.len()),
    ));
  }
  let mut out = Vec::with_capacity(parts.len());
  for (i, p) in parts.into_iter().enumerate() {
    out.push(read(js.element(v, i as u32).map_err(internal)?, i, p)?);
  }
  Ok(out)
}

/// An entry's object (`actions[3]`, `actions[3].put`, `gets[0]`) with the fields it may have.
fn entry(js: Js, v: V, path: &str, rule: &str, known: &[&str]) -> Res<JsOptions> {
  if js.type_of(v).map_err(internal)? != Type::Object || js.is_array(v).map_err(internal)? {
    return Err(config::invalid(path, rule, &value_of(js, v)?));
  }
  JsOptions::new(js, v, path, known)
}

/// An entry's `table`: a non-empty string.
fn table_of(e: &JsOptions, root: &str) -> Res<String> {
  let obj = e.obj.expect("an entry is an object");
  let v = e.js.get(obj, "table").map_err(internal)?;
  string_arg(e.js, v, &join_path(root, "table"))
}

/// An expression the action cannot go without (`updateExpression`, a condition check's condition).
fn required(found: Option<String>, root: &str, name: &str) -> Res<String> {
  found.ok_or_else(|| config::invalid(&join_path(root, name), "a string", &Value::Absent))
}

/// `gets[i].projection`: a non-empty array of attribute names (repeats are asked for once).
fn projection(js: Js, v: V, path: &str) -> Res<Vec<String>> {
  let rule = "a non-empty array of attribute names";
  if !js.is_array(v).map_err(internal)? {
    return Err(config::invalid(path, rule, &value_of(js, v)?));
  }
  let n = js.array_len(v).map_err(internal)?;
  if n == 0 {
    return Err(CoreError::invalid_argument(format!(
      "{path} must be {rule}, got an empty array"
    )));
  }
  let mut names: Vec<String> = Vec::with_capacity(n as usize);
  for j in 0..n {
    let e = js.element(v, j).map_err(internal)?;
    let at = format!("{path}[{j}]");
    if js.type_of(e).map_err(internal)? != Type::String {
      return Err(config::invalid(
        &at,
        "a non-empty string",
        &value_of(js, e)?,
      ));
    }
    let name = item::strict_string(&js.utf16(e).map_err(internal)?, &at)?;
    if name.is_empty() {
      return Err(CoreError::invalid_argument(format!(
        "{at} must be a non-empty string"
      )));
    }
    if !names.contains(&name) {
      names.push(name);
    }
  }
  Ok(names)
}

fn write_options(js: Js, v: V) -> Res<WriteOptions> {
  let opts = JsOptions::new(js, v, "transactWrite options", TRANSACT_WRITE_OPTIONS)?;
  let get = |n: &str| opts.value(n);
  let o = Options::new(&get);
  let token = match o.string("clientRequestToken")? {
    Some(t) => {
      transact::check_token(&t)?;
      t
    }
    None => transact::new_token(),
  };
  let name = "returnValuesOnConditionCheckFailure";
  let return_old = match o.raw(name) {
    Value::Absent | Value::Null => false,
    Value::Str(s) if s == "ALL_OLD" => true,
    Value::Str(s) if s == "NONE" => false,
    v => return Err(config::invalid(name, "'ALL_OLD' or 'NONE'", &v)),
  };
  Ok(WriteOptions {
    token,
    return_old,
    retry_conflicts: o.bool("retryConflicts")?.unwrap_or(false),
  })
}

impl NativeClient {
  fn write_action(&self, js: Js, v: V, i: usize, p: TransactPartsJs) -> Res<WriteAction> {
    let what = format!("actions[{i}]");
    let action = entry(
      js,
      v,
      &what,
      &format!("an object with {ONE_KIND}"),
      ACTION_KINDS,
    )?;
    let mut found: Option<(TransactOp, V)> = None;
    for op in OPS {
      let Some(body) = action.raw(op.as_str())? else {
        continue;
      };
      if let Some((first, _)) = found {
        return Err(CoreError::invalid_argument(format!(
          "{what} has both {} and {}; an action has {ONE_KIND}",
          first.as_str(),
          op.as_str()
        )));
      }
      found = Some((op, body));
    }
    let Some((op, body)) = found else {
      return Err(CoreError::invalid_argument(format!(
        "{what} must have {ONE_KIND}"
      )));
    };
    let root = format!("{what}.{}", op.as_str());
    let body = entry(js, body, &root, "an object", fields(op))?;
    let table = table_of(&body, &root)?;
    let target = if op == TransactOp::Put { "item" } else { "key" };
    let rules = self.dynamo.options().item_rules;
    let item = encode(&p.wire, &p.bins, &join_path(&root, target), rules, true)?;
    let cond = self.condition(&body, &root, p.names, p.values, p.values_bins)?;
    let update = match op {
      TransactOp::Update => {
        let path = join_path(&root, "updateExpression");
        let found = expression(&body, "updateExpression", &path)?;
        Some(required(found, &root, "updateExpression")?)
      }
      _ => None,
    };
    if op == TransactOp::ConditionCheck {
      required(cond.expression.clone(), &root, "conditionExpression")?;
    }
    Ok(WriteAction {
      op,
      table,
      item,
      update,
      cond,
    })
  }

  fn get_action(&self, js: Js, v: V, i: usize, p: TransactPartsJs) -> Res<GetAction> {
    let root = format!("gets[{i}]");
    let rule = "an object { table, key, projection? }";
    let get = entry(js, v, &root, rule, &["table", "key", "projection"])?;
    let table = table_of(&get, &root)?;
    let rules = self.dynamo.options().item_rules;
    let key = encode(&p.wire, &p.bins, &join_path(&root, "key"), rules, true)?;
    let projection = get
      .raw("projection")?
      .map(|v| projection(js, v, &join_path(&root, "projection")))
      .transpose()?;
    Ok(GetAction {
      table,
      key,
      projection,
    })
  }
}

/// The rejection of a transaction: its error, with `clientRequestToken` once it was sent, and for a
/// cancellation `reasons`: `{ code, message, item? }` per action, in order.
fn rejection(env: &Env, e: &TransactError, rules: ReadRules) -> napi::Error {
  let js = Js::of(env);
  let built = (|| -> Result<V> {
    let err = js_error(js, &e.error)?;
    if let Some(t) = &e.token {
      js.set(err, "clientRequestToken", js.string(t)?)?;
    }
    if e.error.code == TRANSACTION_CANCELED {
      let reasons = js.array(e.reasons.len())?;
      for (i, r) in e.reasons.iter().enumerate() {
        let o = js.object()?;
        js.set(o, "code", js.string(&r.code)?)?;
        js.set(o, "message", js.string(&r.message)?)?;
        if let Some(item) = &r.item {
          let wire = read_item(read::encode(item, rules));
          js.set(o, "item", unsafe {
            ReadItemJs::to_napi_value(js.env, wire)?
          })?;
        }
        js.set_element(reasons, i as u32, o)?;
      }
      js.set(err, "reasons", reasons)?;
    }
    Ok(err)
  })();
  match built {
    Ok(v) => throwable(js, v),
    Err(err) => err,
  }
}

#[napi]
impl NativeClient {
  /// Resolves to the transaction's metrics once DynamoDB committed it.
  #[napi(catch_unwind)]
  pub fn transact_write<'env>(
    &self,
    env: &'env Env,
    actions: Unknown,
    parts: Vec<TransactPartsJs>,
    options: Unknown,
  ) -> Result<PromiseRaw<'env, TransactMetricsJs>> {
    let js = Js::of(env);
    let list = actions.raw();
    let prepared = (|| {
      let actions = entries(js, list, "actions", parts, |v, i, p| {
        self.write_action(js, v, i, p)
      })?;
      Ok((actions, write_options(js, options.raw())?))
    })();
    let (actions, opts) = ok_or_throw(env, prepared)?;
    let dynamo = self.dynamo.clone();
    let rules = dynamo.options().read_rules;
    env.spawn_future_with_callback(
      async move { Ok(transact::transact_write(&dynamo, actions, opts).await) },
      move |env, r| {
        r.map(TransactMetricsJs::from)
          .map_err(|e| rejection(env, &e, rules))
      },
    )
  }

  /// Resolves to the items' read wires, aligned with `gets` (null where there is no item).
  #[napi(catch_unwind)]
  pub fn transact_get<'env>(
    &self,
    env: &'env Env,
    gets: Unknown,
    parts: Vec<TransactPartsJs>,
    options: Unknown,
  ) -> Result<PromiseRaw<'env, Vec<Option<ReadItemJs>>>> {
    let js = Js::of(env);
    let list = gets.raw();
    let prepared = (|| {
      let gets = entries(js, list, "gets", parts, |v, i, p| {
        self.get_action(js, v, i, p)
      })?;
      let opts = JsOptions::new(
        js,
        options.raw(),
        "transactGet options",
        TRANSACT_GET_OPTIONS,
      )?;
      let get = |n: &str| opts.value(n);
      let retry_conflicts = Options::new(&get).bool("retryConflicts")?.unwrap_or(true);
      Ok((gets, retry_conflicts))
    })();
    let (gets, retry_conflicts) = ok_or_throw(env, prepared)?;
    let dynamo = self.dynamo.clone();
    let rules = dynamo.options().read_rules;
    env.spawn_future_with_callback(
      async move {
        Ok(
          transact::transact_get(&dynamo, gets, retry_conflicts)
            .await
            .map(|(items, _)| {
              items
                .into_iter()
                .map(|i| i.map(|i| read_item(read::encode(&i, rules))))
                .collect::<Vec<_>>()
            }),
        )
      },
      move |env, r| r.map_err(|e| rejection(env, &e, rules)),
    )
  }
}
