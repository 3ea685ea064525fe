//! The DynamoDB side of the core: the SDK client (built lazily from the standard AWS chain), single-item
//! operations with our retry policy and metrics, table helpers, and the engine's `Transport`.

use crate::batch::{BatchResponse, BoxFuture, Observer, Transport};
use crate::error::{self, from_sdk, CoreError, Retry};
use crate::marshal::{Item, KeyAttr, KeySchema, KeyType};
use crate::metrics::{RequestRecord, SharedTotals};
use crate::rate_limit::RateLimiter;
use crate::retry::RetryPolicy;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::types::{
  AttributeDefinition, BillingMode, KeySchemaElement, KeyType as SdkKeyType,
  ReturnConsumedCapacity, ScalarAttributeType, TableDescription, TableStatus, WriteRequest,
};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
  pub region: Option<String>,
  pub endpoint: Option<String>,
  pub credentials: Option<(String, String, Option<String>)>,
  pub profile: Option<String>,
  pub max_attempts: Option<u32>,
  pub connect_timeout_ms: Option<u64>,
  pub request_timeout_ms: Option<u64>,
}

/// Timeout for one attempt of a batch request when the user set none: a hung connection must not stall a
/// writer forever.
const DEFAULT_BATCH_TIMEOUT: Duration = Duration::from_secs(30);

/// What a single-item operation reports.
#[derive(Clone, Debug, Default)]
pub struct OpMetrics {
  pub operation: &'static str,
  pub table: String,
  pub duration_ms: f64,
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  pub attempts: u32,
  pub request_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TableInfo {
  pub name: String,
  pub status: String,
  pub schema: Option<KeySchema>,
  pub item_count: Option<i64>,
  pub billing_mode: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Condition {
  pub expression: Option<String>,
  pub names: Option<HashMap<String, String>>,
  pub values: Option<Item>,
}

pub struct Dynamo {
  opts: ClientOptions,
  sdk: OnceCell<aws_sdk_dynamodb::Client>,
  schemas: Mutex<HashMap<String, KeySchema>>,
  pub totals: Arc<SharedTotals>,
  pub limiter: Option<Arc<RateLimiter>>,
  pub observer: Option<Observer>,
  policy: RetryPolicy,
}

impl Dynamo {
  pub fn new(
    opts: ClientOptions,
    limiter: Option<Arc<RateLimiter>>,
    observer: Option<Observer>,
  ) -> Self {
    let attempts = opts.max_attempts.unwrap_or(3).max(1);
    Dynamo {
      policy: RetryPolicy {
        max_retries: attempts - 1,
        ..RetryPolicy::default()
      },
      opts,
      sdk: OnceCell::new(),
      schemas: Mutex::new(HashMap::new()),
      totals: Arc::new(SharedTotals::default()),
      limiter,
      observer,
    }
  }

  /// The SDK client, created on first use from the options and the standard AWS chain. Retries are ours
  /// (the engine's policy for batches, `maxAttempts` for single items), so the SDK's are off.
  pub async fn sdk(&self) -> Result<&aws_sdk_dynamodb::Client, CoreError> {
    self
      .sdk
      .get_or_try_init(|| async {
        let o = &self.opts;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(r) = &o.region {
          loader = loader.region(Region::new(r.clone()));
        }
        if let Some(p) = &o.profile {
          loader = loader.profile_name(p);
        }
        if let Some(e) = &o.endpoint {
          loader = loader.endpoint_url(e);
        }
        if let Some((ak, sk, token)) = &o.credentials {
          loader = loader.credentials_provider(Credentials::new(
            ak.clone(),
            sk.clone(),
            token.clone(),
            None,
            "dynabatch",
          ));
        }
        let mut timeouts = TimeoutConfig::builder();
        timeouts =
          timeouts.connect_timeout(Duration::from_millis(o.connect_timeout_ms.unwrap_or(3100)));
        timeouts = timeouts.operation_attempt_timeout(
          o.request_timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_BATCH_TIMEOUT),
        );
        loader = loader.timeout_config(timeouts.build());
        let conf = loader.load().await;
        let mut b =
          aws_sdk_dynamodb::config::Builder::from(&conf).retry_config(RetryConfig::disabled());
        if conf.region().is_none() && conf.endpoint_url().is_some() {
          // A local endpoint needs some region for signing; DynamoDB-compatible servers ignore it.
          b = b.region(Region::new("us-east-1"));
        }
        if conf.region().is_none() && conf.endpoint_url().is_none() {
          return Err(CoreError::new(
            error::INVALID_ARGUMENT,
            "no AWS region: pass `region`, or set AWS_REGION or a profile's region",
          ));
        }
        Ok(aws_sdk_dynamodb::Client::from_conf(b.build()))
      })
      .await
  }

  fn record(&self, rec: &RequestRecord) {
    self.totals.update(|t| t.add_request(rec));
    if let Some(o) = &self.observer {
      o(rec);
    }
  }

  /// Runs one single-item request with our retry policy, recording every attempt.
  async fn with_retries<T, F, Fut>(
    &self,
    operation: &'static str,
    table: &str,
    wcu_estimate: f64,
    mut call: F,
  ) -> Result<(T, OpMetrics), CoreError>
  where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(T, f64, f64, Option<String>), CoreError>>,
  {
    let started = Instant::now();
    let mut attempt = 0;
    loop {
      attempt += 1;
      if let (Some(l), true) = (&self.limiter, wcu_estimate > 0.0) {
        l.acquire(wcu_estimate).await;
      }
      let t0 = Instant::now();
      let res = call().await;
      let mut rec = RequestRecord {
        operation,
        table: table.to_string(),
        duration: t0.elapsed(),
        items: 1,
        attempt,
        ..Default::default()
      };
      match res {
        Ok((value, wcu, rcu, request_id)) => {
          rec.consumed_wcu = wcu;
          rec.consumed_rcu = rcu;
          rec.request_id = request_id.clone();
          if let Some(l) = &self.limiter {
            if wcu_estimate > 0.0 && wcu > 0.0 {
              l.settle(wcu_estimate, wcu);
            }
          }
          self.record(&rec);
          match operation {
            "PutItem" => self.totals.update(|t| t.puts_written += 1),
            "DeleteItem" => self.totals.update(|t| t.deletes_written += 1),
            _ => {}
          }
          return Ok((
            value,
            OpMetrics {
              operation,
              table: table.to_string(),
              duration_ms: started.elapsed().as_secs_f64() * 1000.0,
              consumed_wcu: wcu,
              consumed_rcu: rcu,
              attempts: attempt,
              request_id,
            },
          ));
        }
        Err(e) => {
          rec.throttled = e.retry == Retry::Throttle;
          rec.error_code = Some(e.code.clone());
          rec.request_id = e.request_id.clone();
          self.record(&rec);
          if let (Some(l), true) = (&self.limiter, rec.throttled) {
            l.on_throttle();
          }
          let retryable = matches!(e.retry, Retry::Throttle | Retry::Transient);
          if !retryable || attempt > self.policy.max_retries {
            if wcu_estimate > 0.0 || operation == "DeleteItem" {
              self.totals.update(|t| t.failed += 1);
            }
            return Err(e);
          }
          self.totals.update(|t| t.retries += 1);
          tokio::time::sleep(self.policy.delay(attempt, fastrand::f64())).await;
        }
      }
    }
  }

  pub async fn put_item(
    &self,
    table: &str,
    item: Item,
    wcu_estimate: f64,
    cond: Condition,
  ) -> Result<OpMetrics, CoreError> {
    let sdk = self.sdk().await?.clone();
    let (_, m) = self
      .with_retries("PutItem", table, wcu_estimate, || {
        let req = sdk
          .put_item()
          .table_name(table)
          .set_item(Some(item.clone()))
          .set_condition_expression(cond.expression.clone())
          .set_expression_attribute_names(cond.names.clone())
          .set_expression_attribute_values(cond.values.clone())
          .return_consumed_capacity(ReturnConsumedCapacity::Total);
        async move {
          let out = req.send().await.map_err(from_sdk)?;
          let wcu = out
            .consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0);
          Ok(((), wcu, 0.0, out.request_id().map(str::to_string)))
        }
      })
      .await?;
    Ok(m)
  }

  pub async fn delete_item(
    &self,
    table: &str,
    key: Item,
    cond: Condition,
  ) -> Result<OpMetrics, CoreError> {
    let sdk = self.sdk().await?.clone();
    let (_, m) = self
      .with_retries("DeleteItem", table, 1.0, || {
        let req = sdk
          .delete_item()
          .table_name(table)
          .set_key(Some(key.clone()))
          .set_condition_expression(cond.expression.clone())
          .set_expression_attribute_names(cond.names.clone())
          .set_expression_attribute_values(cond.values.clone())
          .return_consumed_capacity(ReturnConsumedCapacity::Total);
        async move {
          let out = req.send().await.map_err(from_sdk)?;
          let wcu = out
            .consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0);
          Ok(((), wcu, 0.0, out.request_id().map(str::to_string)))
        }
      })
      .await?;
    Ok(m)
  }

  pub async fn get_item(
    &self,
    table: &str,
    key: Item,
    consistent: bool,
  ) -> Result<(Option<Item>, OpMetrics), CoreError> {
    let sdk = self.sdk().await?.clone();
    self
      .with_retries("GetItem", table, 0.0, || {
        let req = sdk
          .get_item()
          .table_name(table)
          .set_key(Some(key.clone()))
          .consistent_read(consistent)
          .return_consumed_capacity(ReturnConsumedCapacity::Total);
        async move {
          let out = req.send().await.map_err(from_sdk)?;
          let rcu = out
            .consumed_capacity()
            .and_then(|c| c.capacity_units())
            .unwrap_or(0.0);
          let id = out.request_id().map(str::to_string);
          Ok((out.item, 0.0, rcu, id))
        }
      })
      .await
  }

  pub async fn describe_table(&self, table: &str) -> Result<TableInfo, CoreError> {
    let sdk = self.sdk().await?.clone();
    let t0 = Instant::now();
    let res = sdk.describe_table().table_name(table).send().await;
    let mut rec = RequestRecord {
      operation: "DescribeTable",
      table: table.to_string(),
      duration: t0.elapsed(),
      attempt: 1,
      ..Default::default()
    };
    let out = match res {
      Ok(o) => {
        rec.request_id = o.request_id().map(str::to_string);
        self.record(&rec);
        o
      }
      Err(e) => {
        let e = from_sdk(e);
        rec.error_code = Some(e.code.clone());
        rec.request_id = e.request_id.clone();
        self.record(&rec);
        return Err(e);
      }
    };
    let desc = out
      .table
      .ok_or_else(|| CoreError::new(error::SERVICE_ERROR, "DescribeTable returned no table"))?;
    let info = table_info(table, &desc);
    if let Some(s) = &info.schema {
      self
        .schemas
        .lock()
        .unwrap()
        .insert(table.to_string(), s.clone());
    }
    Ok(info)
  }

  /// The table's key schema, read once with DescribeTable and cached.
  pub async fn key_schema(&self, table: &str) -> Result<KeySchema, CoreError> {
    if let Some(s) = self.cached_schema(table) {
      return Ok(s);
    }
    self.describe_table(table).await?.schema.ok_or_else(|| {
      CoreError::new(
        error::KEY_SCHEMA_UNAVAILABLE,
        format!("table {table} reported no key schema"),
      )
    })
  }

  pub fn cached_schema(&self, table: &str) -> Option<KeySchema> {
    self.schemas.lock().unwrap().get(table).cloned()
  }

  pub async fn create_table(
    &self,
    table: &str,
    schema: &KeySchema,
  ) -> Result<TableInfo, CoreError> {
    let sdk = self.sdk().await?.clone();
    let mut req = sdk
      .create_table()
      .table_name(table)
      .billing_mode(BillingMode::PayPerRequest);
    for (attr, kt) in std::iter::once((&schema.partition, SdkKeyType::Hash))
      .chain(schema.sort.iter().map(|s| (s, SdkKeyType::Range)))
    {
      let ty = match attr.ty {
        KeyType::S => ScalarAttributeType::S,
        KeyType::N => ScalarAttributeType::N,
        KeyType::B => ScalarAttributeType::B,
        KeyType::Any => {
          return Err(CoreError::new(
            error::INVALID_ARGUMENT,
            format!(
              "createTable needs the type ('S', 'N' or 'B') of key {}",
              attr.name
            ),
          ))
        }
      };
      req = req
        .key_schema(
          KeySchemaElement::builder()
            .attribute_name(&attr.name)
            .key_type(kt)
            .build()
            .map_err(|e| CoreError::new(error::INVALID_ARGUMENT, e.to_string()))?,
        )
        .attribute_definitions(
          AttributeDefinition::builder()
            .attribute_name(&attr.name)
            .attribute_type(ty)
            .build()
            .map_err(|e| CoreError::new(error::INVALID_ARGUMENT, e.to_string()))?,
        );
    }
    let t0 = Instant::now();
    let res = req.send().await;
    self.record(&RequestRecord {
      operation: "CreateTable",
      table: table.to_string(),
      duration: t0.elapsed(),
      attempt: 1,
      error_code: res.as_ref().err().map(|_| "error".to_string()),
      ..Default::default()
    });
    res.map_err(from_sdk)?;
    // Wait for ACTIVE: 20 ms polls at first (local servers are instant), backing off to 1 s.
    let mut delay = Duration::from_millis(20);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
      let info = self.describe_table(table).await?;
      if info.status == TableStatus::Active.as_str() {
        return Ok(info);
      }
      if Instant::now() > deadline {
        return Err(CoreError::new(
          error::TIMEOUT,
          format!("table {table} did not become ACTIVE within 300 s"),
        ));
      }
      tokio::time::sleep(delay).await;
      delay = (delay * 2).min(Duration::from_secs(1));
    }
  }

  pub async fn delete_table(&self, table: &str) -> Result<(), CoreError> {
    let sdk = self.sdk().await?.clone();
    let t0 = Instant::now();
    let res = sdk.delete_table().table_name(table).send().await;
    self.record(&RequestRecord {
      operation: "DeleteTable",
      table: table.to_string(),
      duration: t0.elapsed(),
      attempt: 1,
      ..Default::default()
    });
    res.map_err(from_sdk)?;
    self.schemas.lock().unwrap().remove(table);
    Ok(())
  }
}

fn table_info(name: &str, d: &TableDescription) -> TableInfo {
  let attr_type = |n: &str| -> Option<KeyType> {
    d.attribute_definitions()
      .iter()
      .find(|a| a.attribute_name() == n)
      .and_then(|a| KeyType::parse(a.attribute_type().as_str()))
  };
  let mut partition = None;
  let mut sort = None;
  for k in d.key_schema() {
    let attr = attr_type(k.attribute_name()).map(|ty| KeyAttr {
      name: k.attribute_name().to_string(),
      ty,
    });
    match k.key_type() {
      SdkKeyType::Hash => partition = attr,
      SdkKeyType::Range => sort = attr,
      _ => {}
    }
  }
  TableInfo {
    name: d.table_name().unwrap_or(name).to_string(),
    status: d
      .table_status()
      .map(|s| s.as_str().to_string())
      .unwrap_or_else(|| "UNKNOWN".into()),
    schema: partition.map(|p| KeySchema { partition: p, sort }),
    item_count: d.item_count(),
    billing_mode: d
      .billing_mode_summary()
      .and_then(|b| b.billing_mode())
      .map(|m| m.as_str().to_string()),
  }
}

/// The engine's transport over the SDK client.
pub struct SdkTransport(pub Arc<Dynamo>);

impl Transport for SdkTransport {
  fn batch_write(
    &self,
    table: String,
    requests: Vec<WriteRequest>,
  ) -> BoxFuture<Result<BatchResponse, CoreError>> {
    let dynamo = self.0.clone();
    Box::pin(async move {
      let sdk = dynamo.sdk().await?;
      let out = sdk
        .batch_write_item()
        .request_items(&table, requests)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .map_err(from_sdk)?;
      let consumed_wcu = out
        .consumed_capacity()
        .iter()
        .filter_map(|c| c.capacity_units())
        .sum();
      let request_id = out.request_id().map(str::to_string);
      let unprocessed = out
        .unprocessed_items
        .and_then(|mut m| m.remove(&table))
        .unwrap_or_default();
      Ok(BatchResponse {
        unprocessed,
        consumed_wcu,
        request_id,
      })
    })
  }

  fn key_schema(&self, table: String) -> BoxFuture<Result<KeySchema, CoreError>> {
    let dynamo = self.0.clone();
    Box::pin(async move { dynamo.key_schema(&table).await })
  }
}
