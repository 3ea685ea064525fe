//! `NativeClient`: the DynamoDB client behind `DynamoDBClient`.

use super::convert::{self, decode, encode, invalid, to_napi, RecordCallback, TotalsJs, WireItem};
use super::rate::NativeRate;
use crate::dynamo::{ClientOptions, Condition, Dynamo, OpMetrics, TableInfo};
use crate::error::INVALID_ARGUMENT;
use crate::marshal::{self, KeyAttr, KeySchema, KeyType};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

#[napi(object)]
pub struct NativeClientOptions {
  pub region: Option<String>,
  pub endpoint: Option<String>,
  pub access_key_id: Option<String>,
  pub secret_access_key: Option<String>,
  pub session_token: Option<String>,
  pub profile: Option<String>,
  pub max_attempts: Option<u32>,
  pub connect_timeout_ms: Option<f64>,
  pub request_timeout_ms: Option<f64>,
}

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
pub struct GetOutcome {
  pub item: Option<WireItem>,
  pub metrics: OpMetricsJs,
}

#[napi(object)]
pub struct KeyAttrJs {
  pub name: String,
  /// Absent when a key is given by name only (any key type is then accepted).
  #[napi(ts_type = "'S' | 'N' | 'B'")]
  pub r#type: Option<String>,
}

#[napi(object)]
pub struct KeySchemaJs {
  pub partition_key: KeyAttrJs,
  pub sort_key: Option<KeyAttrJs>,
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
    r#type: Some(a.ty.as_str().to_string()),
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

pub fn key_schema_from_js(s: &KeySchemaJs) -> Result<KeySchema> {
  let attr = |a: &KeyAttrJs, what: &str| -> Result<KeyAttr> {
    if a.name.is_empty() {
      return Err(invalid(
        INVALID_ARGUMENT,
        format!("{what}.name must be a non-empty string"),
      ));
    }
    let ty = match &a.r#type {
      None => KeyType::Any,
      Some(t) => KeyType::parse(t).ok_or_else(|| {
        invalid(
          INVALID_ARGUMENT,
          format!("{what}.type must be 'S', 'N' or 'B', got {t:?}"),
        )
      })?,
    };
    Ok(KeyAttr {
      name: a.name.clone(),
      ty,
    })
  };
  Ok(KeySchema {
    partition: attr(&s.partition_key, "partitionKey")?,
    sort: s
      .sort_key
      .as_ref()
      .map(|k| attr(k, "sortKey"))
      .transpose()?,
  })
}

/// A condition for putItem/deleteItem; values come as an item wire.
#[napi(object)]
pub struct NativeCondition {
  pub expression: Option<String>,
  pub names: Option<std::collections::HashMap<String, String>>,
  pub values_wire: Option<Utf16String>,
  pub values_bins: Option<Vec<Buffer>>,
}

fn condition(c: Option<NativeCondition>) -> Result<Condition> {
  let Some(c) = c else {
    return Ok(Condition::default());
  };
  let values = match c.values_wire {
    Some(w) => Some(decode(&w, c.values_bins, "expressionAttributeValues")?.0),
    None => None,
  };
  Ok(Condition {
    expression: c.expression,
    names: c.names,
    values,
  })
}

#[napi]
pub struct NativeClient {
  pub(crate) dynamo: Arc<Dynamo>,
}

#[napi]
impl NativeClient {
  /// Never blocks: the AWS configuration chain is loaded on the first request.
  #[napi(constructor)]
  pub fn new(
    options: NativeClientOptions,
    rate: Option<&NativeRate>,
    on_request: Option<RecordCallback>,
  ) -> Result<Self> {
    let credentials = match (options.access_key_id, options.secret_access_key) {
      (Some(a), Some(s)) => Some((a, s, options.session_token)),
      (None, None) => None,
      _ => {
        return Err(invalid(
          INVALID_ARGUMENT,
          "credentials need both accessKeyId and secretAccessKey".into(),
        ))
      }
    };
    let opts = ClientOptions {
      region: options.region,
      endpoint: options.endpoint,
      credentials,
      profile: options.profile,
      max_attempts: options.max_attempts,
      connect_timeout_ms: options.connect_timeout_ms.map(|v| v as u64),
      request_timeout_ms: options.request_timeout_ms.map(|v| v as u64),
    };
    Ok(NativeClient {
      dynamo: Arc::new(Dynamo::new(
        opts,
        rate.map(|r| r.limiter.clone()),
        convert::observer(on_request),
      )),
    })
  }

  fn checked_item(
    &self,
    table: &str,
    wire: &[u16],
    bins: Option<Vec<Buffer>>,
    root: &str,
  ) -> Result<(marshal::Item, usize)> {
    let (item, size) = decode(wire, bins, root)?;
    if let Some(schema) = self.dynamo.cached_schema(table) {
      marshal::check_key(&item, &schema, root)
        .map_err(|m| invalid(crate::error::INVALID_ITEM, m))?;
    }
    Ok((item, size))
  }

  #[napi(catch_unwind)]
  pub fn put_item<'env>(
    &self,
    env: &'env Env,
    table: String,
    wire: Utf16String,
    bins: Option<Vec<Buffer>>,
    cond: Option<NativeCondition>,
  ) -> Result<PromiseRaw<'env, OpMetricsJs>> {
    let (item, size) = self.checked_item(&table, &wire, bins, "item")?;
    let cond = condition(cond)?;
    let dynamo = self.dynamo.clone();
    env.spawn_future(async move {
      check_schema(&dynamo, &table, &item, "item").await?;
      dynamo
        .put_item(&table, item, marshal::write_units(size), cond)
        .await
        .map(OpMetricsJs::from)
        .map_err(to_napi)
    })
  }

  #[napi(catch_unwind)]
  pub fn delete_item<'env>(
    &self,
    env: &'env Env,
    table: String,
    wire: Utf16String,
    bins: Option<Vec<Buffer>>,
    cond: Option<NativeCondition>,
  ) -> Result<PromiseRaw<'env, OpMetricsJs>> {
    let (key, _) = self.checked_item(&table, &wire, bins, "key")?;
    let cond = condition(cond)?;
    let dynamo = self.dynamo.clone();
    env.spawn_future(async move {
      let key = keyed(&dynamo, &table, key, "key").await?;
      dynamo
        .delete_item(&table, key, cond)
        .await
        .map(OpMetricsJs::from)
        .map_err(to_napi)
    })
  }

  #[napi(catch_unwind)]
  pub fn get_item<'env>(
    &self,
    env: &'env Env,
    table: String,
    wire: Utf16String,
    bins: Option<Vec<Buffer>>,
    consistent_read: Option<bool>,
  ) -> Result<PromiseRaw<'env, GetOutcome>> {
    let (key, _) = self.checked_item(&table, &wire, bins, "key")?;
    let dynamo = self.dynamo.clone();
    env.spawn_future(async move {
      let key = keyed(&dynamo, &table, key, "key").await?;
      let (item, m) = dynamo
        .get_item(&table, key, consistent_read.unwrap_or(false))
        .await
        .map_err(to_napi)?;
      Ok(GetOutcome {
        item: item.as_ref().map(encode),
        metrics: m.into(),
      })
    })
  }

  #[napi(catch_unwind)]
  pub fn create_table<'env>(
    &self,
    env: &'env Env,
    table: String,
    schema: KeySchemaJs,
  ) -> Result<PromiseRaw<'env, TableInfoJs>> {
    let schema = key_schema_from_js(&schema)?;
    let dynamo = self.dynamo.clone();
    env.spawn_future(async move {
      dynamo
        .create_table(&table, &schema)
        .await
        .map(TableInfoJs::from)
        .map_err(to_napi)
    })
  }

  #[napi(catch_unwind)]
  pub fn delete_table<'env>(&self, env: &'env Env, table: String) -> Result<PromiseRaw<'env, ()>> {
    let dynamo = self.dynamo.clone();
    env.spawn_future(async move { dynamo.delete_table(&table).await.map_err(to_napi) })
  }

  #[napi(catch_unwind)]
  pub fn describe_table<'env>(
    &self,
    env: &'env Env,
    table: String,
  ) -> Result<PromiseRaw<'env, TableInfoJs>> {
    let dynamo = self.dynamo.clone();
    env.spawn_future(async move {
      dynamo
        .describe_table(&table)
        .await
        .map(TableInfoJs::from)
        .map_err(to_napi)
    })
  }

  #[napi]
  pub fn metrics(&self) -> TotalsJs {
    TotalsJs::from(&self.dynamo.totals.snapshot())
  }

  #[napi]
  pub fn reset_metrics(&self) {
    self.dynamo.totals.reset();
  }

  #[napi]
  pub fn rate_stats(&self) -> Option<convert::RateStatsJs> {
    self
      .dynamo
      .limiter
      .as_ref()
      .map(|l| within_runtime_if_available(|| l.stats()).into())
  }
}

/// Checks the key against the table's schema (read once per table and cached). A schema that cannot be
/// read (no DescribeTable permission) skips the check rather than failing the write.
async fn check_schema(
  dynamo: &Dynamo,
  table: &str,
  item: &marshal::Item,
  root: &str,
) -> Result<()> {
  match dynamo.key_schema(table).await {
    Ok(schema) => {
      marshal::check_key(item, &schema, root).map_err(|m| invalid(crate::error::INVALID_ITEM, m))
    }
    Err(e) if e.code == "ResourceNotFoundException" => Err(to_napi(e)),
    Err(_) => Ok(()),
  }
}

/// Like `check_schema`, and keeps only the key attributes (a whole item may be passed as a key).
async fn keyed(
  dynamo: &Dynamo,
  table: &str,
  key: marshal::Item,
  root: &str,
) -> Result<marshal::Item> {
  match dynamo.key_schema(table).await {
    Ok(schema) => {
      marshal::check_key(&key, &schema, root)
        .map_err(|m| invalid(crate::error::INVALID_ITEM, m))?;
      Ok(marshal::project_key(key, &schema))
    }
    Err(e) if e.code == "ResourceNotFoundException" => Err(to_napi(e)),
    Err(_) => Ok(key),
  }
}
