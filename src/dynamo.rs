//! The DynamoDB side of the core: the SDK client (built lazily from the standard AWS chain, with a bounded
//! connection pool), the one loop that runs a request with retries, rate limit and metrics, the
//! single-item operations, table helpers, and the engine's `Transport`.
//!
//! Request bodies that carry items are written by `request.rs` and swapped in before the SDK signs the
//! request; the SDK still does what it is for: credentials, SigV4, endpoint resolution, HTTP, parsing
//! the response.

use crate::batch::{BatchReply, Returned, Transport};
use crate::batch_get::GetReply;
use crate::error::{self, from_sdk, CoreError};
use crate::item::Encoded;
use crate::key::{KeyAttr, KeySchema, KeyType};
use crate::metrics::{Meter, RequestRecord};
use crate::rate_limit::{RateLimiter, Unit};
use crate::read::AvMap;
use crate::request::{self, Condition, OpKind};
use crate::retry::{Jitter, RetryPolicy};
use crate::scan::ScanReply;
use crate::schema::Schemas;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::types::{
  AttributeDefinition, BillingMode, KeySchemaElement, KeyType as SdkKeyType, KeysAndAttributes,
  ReturnConsumedCapacity, ScalarAttributeType, TableDescription, TableStatus,
};
use aws_smithy_http_client::pool::{Client as PoolClient, ConnectionEvent, ConnectionPool};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

/// Credentials given to the client instead of the chain.
#[derive(Clone, Debug)]
pub enum Creds {
  Static {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
  },
  /// A provider (e.g. one calling back into JS), called again before the credentials expire.
  Provider(SharedCredentialsProvider),
}

/// A client's settings, validated (`config.rs`).
#[derive(Clone, Debug)]
pub struct ClientOptions {
  pub region: Option<String>,
  pub endpoint: Option<String>,
  pub credentials: Option<Creds>,
  pub profile: Option<String>,
  /// Attempts per single-item request.
  pub max_attempts: u32,
  pub connect_timeout: Duration,
  /// Timeout of one attempt of any request.
  pub request_timeout: Duration,
  /// Requests in flight at once across the client's writers and calls (and so open connections).
  pub max_connections: usize,
  /// Idle connections are closed after this long.
  pub idle_timeout: Duration,
  pub item_rules: crate::item::Rules,
  pub read_rules: crate::read::ReadRules,
}

impl Default for ClientOptions {
  fn default() -> Self {
    ClientOptions {
      region: None,
      endpoint: None,
      credentials: None,
      profile: None,
      max_attempts: 3,
      connect_timeout: Duration::from_millis(3100),
      request_timeout: Duration::from_secs(30),
      max_connections: 50,
      idle_timeout: Duration::from_secs(20),
      item_rules: Default::default(),
      read_rules: Default::default(),
    }
  }
}

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

/// What one successful attempt reports besides its value.
#[derive(Clone, Debug, Default)]
pub struct Reply {
  pub consumed_wcu: f64,
  pub consumed_rcu: f64,
  pub request_id: Option<String>,
  pub unprocessed: u32,
  /// Items a read returned.
  pub returned: u32,
  /// Items a Scan evaluated (before its filter).
  pub scanned: u32,
}

impl Reply {
  /// The capacity consumed in a rate limiter's unit.
  pub fn consumed(&self, unit: Unit) -> f64 {
    match unit {
      Unit::Wcu => self.consumed_wcu,
      Unit::Rcu => self.consumed_rcu,
    }
  }
}

#[derive(Clone, Debug)]
pub struct TableInfo {
  pub name: String,
  pub status: String,
  pub schema: Option<KeySchema>,
  pub item_count: Option<i64>,
  pub billing_mode: Option<String>,
}

/// One call: what to record, whether to take write capacity, and the retry policy.
pub struct Call<'a> {
  pub operation: &'static str,
  pub table: &'a str,
  /// Capacity units (in the rate limiter's unit) to take before each attempt (0: none).
  pub units: f64,
  pub items: u32,
  pub policy: &'a RetryPolicy,
}

/// The client's open connections, as its connection pool reports them (opened, not yet physically
/// closed), so that `close` can wait until they are gone.
#[derive(Default)]
struct Sockets {
  open: AtomicUsize,
  changed: Notify,
}

pub struct Dynamo {
  opts: ClientOptions,
  sdk: RwLock<Option<aws_sdk_dynamodb::Client>>,
  sockets: Arc<Sockets>,
  init: tokio::sync::Mutex<()>,
  closed: AtomicBool,
  permits: Arc<Semaphore>,
  pub schemas: Arc<Schemas>,
  pub meter: Meter,
  pub limiter: Option<Arc<RateLimiter>>,
  /// Single-item calls: `maxAttempts`.
  policy: RetryPolicy,
  /// Key-schema reads and table operations: the writers' default policy, so a throttled DescribeTable on a
  /// cold start does not fail every writer.
  control_policy: RetryPolicy,
  jitter: Arc<dyn Jitter>,
}

pub(crate) fn body_swap(body: Bytes) -> impl Fn(&mut HttpRequest) + Send + Sync + 'static {
  move |req: &mut HttpRequest| {
    let len = body.len();
    *req.body_mut() = SdkBody::from(body.clone());
    req.headers_mut().insert("content-length", len.to_string());
  }
}

fn reply_of(wcu: f64, rcu: f64, request_id: Option<&str>) -> Reply {
  Reply {
    consumed_wcu: wcu,
    consumed_rcu: rcu,
    request_id: request_id.map(str::to_string),
    ..Default::default()
  }
}

impl Dynamo {
  pub fn new(
    opts: ClientOptions,
    limiter: Option<Arc<RateLimiter>>,
    meter: Meter,
    jitter: Arc<dyn Jitter>,
  ) -> Self {
    Dynamo {
      policy: RetryPolicy {
        max_retries: opts.max_attempts.max(1) - 1,
        ..RetryPolicy::default()
      },
      control_policy: RetryPolicy::default(),
      permits: Arc::new(Semaphore::new(opts.max_connections.max(1))),
      opts,
      sdk: RwLock::new(None),
      sockets: Arc::default(),
      init: tokio::sync::Mutex::new(()),
      closed: AtomicBool::new(false),
      schemas: Arc::new(Schemas::default()),
      meter,
      limiter,
      jitter,
    }
  }

  pub fn options(&self) -> &ClientOptions {
    &self.opts
  }

  /// The retry policy of single requests (`maxAttempts`).
  pub fn policy(&self) -> &RetryPolicy {
    &self.policy
  }

  fn closed_error() -> CoreError {
    CoreError::new(error::CLIENT_CLOSED, "the client is closed")
  }

  pub fn is_closed(&self) -> bool {
    self.closed.load(Ordering::Acquire)
  }

  /// The SDK client, created on first use from the options and the standard AWS chain. Retries are ours,
  /// so the SDK's are off.
  pub async fn sdk(&self) -> Result<aws_sdk_dynamodb::Client, CoreError> {
    if self.is_closed() {
      return Err(Self::closed_error());
    }
    if let Some(c) = self.sdk.read().unwrap().as_ref() {
      return Ok(c.clone());
    }
    let _guard = self.init.lock().await;
    if let Some(c) = self.sdk.read().unwrap().as_ref() {
      return Ok(c.clone());
    }
    let client = self.build().await?;
    if self.is_closed() {
      return Err(Self::closed_error());
    }
    *self.sdk.write().unwrap() = Some(client.clone());
    Ok(client)
  }

  async fn build(&self) -> Result<aws_sdk_dynamodb::Client, CoreError> {
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
    match &o.credentials {
      Some(Creds::Static {
        access_key_id,
        secret_access_key,
        session_token,
      }) => {
        loader = loader.credentials_provider(Credentials::new(
          access_key_id.clone(),
          secret_access_key.clone(),
          session_token.clone(),
          None,
          "dynabatch",
        ));
      }
      Some(Creds::Provider(p)) => loader = loader.credentials_provider(p.clone()),
      None => {}
    }
    // The SDK's bounded pool: at most maxConnections sockets (connecting, busy or idle) to the endpoint,
    // whatever the timing of a connection's return (a request slot alone does not bound sockets: a request
    // may start before the previous one's connection is back in an unbounded pool, and open another).
    let sockets = self.sockets.clone();
    let pool = ConnectionPool::builder()
      .idle_timeout(o.idle_timeout)
      .max_connections_per_host(o.max_connections.max(1))
      .event_listener(move |e: &ConnectionEvent<'_>| match e {
        ConnectionEvent::Opened(_) => {
          sockets.open.fetch_add(1, Ordering::AcqRel);
        }
        ConnectionEvent::PhysicalClose(_) => {
          sockets.open.fetch_sub(1, Ordering::AcqRel);
          sockets.changed.notify_waiters();
        }
        _ => {}
      })
      .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
        aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
      ))
      .build_https()
      .map_err(|e| CoreError::new(error::INTERNAL, format!("connection pool: {e}")))?;
    let http = PoolClient::new(&pool)
      .map_err(|e| CoreError::new(error::INTERNAL, format!("connection pool: {e}")))?;
    loader = loader.http_client(http);
    loader = loader.timeout_config(
      TimeoutConfig::builder()
        .connect_timeout(o.connect_timeout)
        .operation_attempt_timeout(o.request_timeout)
        .build(),
    );
    let conf = loader.load().await;
    let mut b =
      aws_sdk_dynamodb::config::Builder::from(&conf).retry_config(RetryConfig::disabled());
    let has_endpoint = conf.endpoint_url().is_some()
      || std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok_and(|v| !v.is_empty());
    if conf.region().is_none() {
      if !has_endpoint {
        return Err(CoreError::invalid_argument(
          "no AWS region: pass `region`, or set AWS_REGION or a profile's region",
        ));
      }
      // A local endpoint needs some region for signing; DynamoDB-compatible servers ignore it.
      b = b.region(Region::new("us-east-1"));
    }
    Ok(aws_sdk_dynamodb::Client::from_conf(b.build()))
  }

  /// Refuses new requests (`ClientClosed`), waits for those in flight, drops the SDK client (and with it
  /// the connection pool), and resolves once the pool reports every connection closed.
  pub async fn close(&self) {
    self.closed.store(true, Ordering::Release);
    let total = self.opts.max_connections.max(1) as u32;
    if let Ok(all) = self.permits.acquire_many(total).await {
      drop(all);
    }
    self.sdk.write().unwrap().take();
    // Bounded, in case something else still holds the pool: its idle expiry closes them by then.
    let _ = tokio::time::timeout(self.opts.idle_timeout + Duration::from_secs(5), async {
      loop {
        let changed = self.sockets.changed.notified();
        if self.sockets.open.load(Ordering::Acquire) == 0 {
          return;
        }
        changed.await;
      }
    })
    .await;
  }

  /// Runs one call: for each attempt, takes its write capacity, a connection slot and records it; retries
  /// what the strategy retries. The one retry loop of single requests (batches retry per item instead).
  pub async fn run<T, F>(&self, call: Call<'_>, attempt_fn: F) -> Result<(T, OpMetrics), CoreError>
  where
    F: FnMut(aws_sdk_dynamodb::Client) -> BoxFuture<'static, Result<(T, Reply), CoreError>>,
  {
    self
      .run_limited(call, self.limiter.as_ref(), attempt_fn)
      .await
  }

  /// `run` paced by another rate limiter than the client's (which is in WCU, for writes): reads pass their
  /// own RCU bucket, or none.
  pub async fn run_limited<T, F>(
    &self,
    call: Call<'_>,
    limiter: Option<&Arc<RateLimiter>>,
    mut attempt_fn: F,
  ) -> Result<(T, OpMetrics), CoreError>
  where
    F: FnMut(aws_sdk_dynamodb::Client) -> BoxFuture<'static, Result<(T, Reply), CoreError>>,
  {
    let started = Instant::now();
    let mut attempt = 0;
    loop {
      attempt += 1;
      if let (Some(l), true) = (limiter, call.units > 0.0) {
        l.acquire(call.units).await;
      }
      let (res, duration) = {
        let _slot = self
          .permits
          .acquire()
          .await
          .map_err(|_| Self::closed_error())?;
        // A client that cannot be built (no region) or is closed makes no request: nothing to record.
        let client = self.sdk().await?;
        let t0 = Instant::now();
        let res = attempt_fn(client).await;
        (res, t0.elapsed())
      };
      let mut rec = RequestRecord {
        operation: call.operation,
        table: call.table.to_string(),
        duration,
        items: call.items,
        attempt,
        ..Default::default()
      };
      match res {
        Ok((value, reply)) => {
          rec.consumed_wcu = reply.consumed_wcu;
          rec.consumed_rcu = reply.consumed_rcu;
          rec.request_id = reply.request_id.clone();
          rec.unprocessed = reply.unprocessed;
          rec.returned = reply.returned;
          rec.scanned = reply.scanned;
          if let (Some(l), true) = (limiter, call.units > 0.0) {
            let consumed = reply.consumed(l.unit());
            if consumed > 0.0 {
              l.settle(call.units, consumed);
            }
          }
          self.meter.request(&rec, None);
          return Ok((
            value,
            OpMetrics {
              operation: call.operation,
              table: call.table.to_string(),
              duration_ms: started.elapsed().as_secs_f64() * 1000.0,
              consumed_wcu: reply.consumed_wcu,
              consumed_rcu: reply.consumed_rcu,
              attempts: attempt,
              request_id: reply.request_id,
            },
          ));
        }
        Err(e) => {
          rec.throttled = e.retry == crate::retry::Retry::Throttle;
          rec.error_code = Some(e.code.clone());
          rec.request_id = e.request_id.clone();
          self.meter.request(&rec, None);
          if let (Some(l), true) = (limiter, rec.throttled) {
            l.on_throttle();
          }
          match call
            .policy
            .next_delay(e.retry, attempt, self.jitter.as_ref())
          {
            Some(delay) => {
              self.meter.retried(1, None);
              tokio::time::sleep(delay).await;
            }
            None => return Err(e),
          }
        }
      }
    }
  }

  // ---- single items --------------------------------------------------------------------------------

  /// The key schema for a single-item call: read once per table (with this call's retry policy) and
  /// cached; None when it cannot be read, whatever the reason: the check is then skipped and the request
  /// itself says what is wrong (a missing table, an invalid name, no connection), as DynamoDB checks keys
  /// anyway.
  pub(crate) async fn single_item_schema(
    self: &Arc<Self>,
    table: &str,
  ) -> Result<Option<Arc<KeySchema>>, CoreError> {
    match self.key_schema_with(table, self.policy.clone()).await {
      Ok(s) => Ok(Some(s)),
      Err(e) if e.code == error::CLIENT_CLOSED => Err(e),
      Err(_) => Ok(None),
    }
  }

  /// PutItem or DeleteItem of one item (a delete accepts a whole item and sends its key): the table, the
  /// item and its condition, or the error that refused the call before anything could be sent (the item,
  /// the key, an option). Counted once either way: written when DynamoDB confirmed it, failed when the
  /// call rejects.
  pub async fn write_item(
    self: &Arc<Self>,
    kind: OpKind,
    prepared: Result<(String, Encoded, Condition), CoreError>,
  ) -> Result<OpMetrics, CoreError> {
    let res = match prepared {
      Ok((table, item, cond)) => self.send_item(kind, &table, item, cond).await,
      Err(e) => Err(e),
    };
    match (kind, res.is_ok()) {
      (OpKind::Put, true) => self.meter.outcome(1, 0, 0, 0, None),
      (OpKind::Delete, true) => self.meter.outcome(0, 1, 0, 0, None),
      (_, false) => self.meter.outcome(0, 0, 1, 0, None),
    }
    res
  }

  async fn send_item(
    self: &Arc<Self>,
    kind: OpKind,
    table: &str,
    item: Encoded,
    cond: Condition,
  ) -> Result<OpMetrics, CoreError> {
    let schema = self.single_item_schema(table).await?;
    if let Some(s) = &schema {
      s.check(&item, if kind == OpKind::Put { "item" } else { "key" })?;
    }
    let (operation, units, body) = match kind {
      OpKind::Put => (
        "PutItem",
        crate::item::write_units(item.size),
        request::put_item(table, &item.json, &cond),
      ),
      OpKind::Delete => {
        let key = match &schema {
          Some(s) => s.project(&item),
          None => item.json,
        };
        ("DeleteItem", 1.0, request::delete_item(table, &key, &cond))
      }
    };
    let body = Bytes::from(body);
    let call = Call {
      operation,
      table,
      units,
      items: 1,
      policy: &self.policy,
    };
    let res = self
      .run(call, |sdk| {
        let swap = body_swap(body.clone());
        let table = table.to_string();
        async move {
          let (capacity, request_id) = match kind {
            OpKind::Put => {
              let out = sdk
                .put_item()
                .table_name(table)
                .set_item(Some(HashMap::new()))
                .customize()
                .mutate_request(swap)
                .send()
                .await
                .map_err(from_sdk)?;
              (
                out.consumed_capacity().and_then(|c| c.capacity_units()),
                out.request_id().map(str::to_string),
              )
            }
            OpKind::Delete => {
              let out = sdk
                .delete_item()
                .table_name(table)
                .set_key(Some(HashMap::new()))
                .customize()
                .mutate_request(swap)
                .send()
                .await
                .map_err(from_sdk)?;
              (
                out.consumed_capacity().and_then(|c| c.capacity_units()),
                out.request_id().map(str::to_string),
              )
            }
          };
          Ok((
            (),
            reply_of(capacity.unwrap_or(0.0), 0.0, request_id.as_deref()),
          ))
        }
        .boxed()
      })
      .await;
    res.map(|(_, m)| m)
  }

  pub async fn get_item(
    self: &Arc<Self>,
    table: &str,
    key: Encoded,
    consistent: bool,
  ) -> Result<(Option<AvMap>, OpMetrics), CoreError> {
    let json = match self.single_item_schema(table).await? {
      Some(s) => {
        s.check(&key, "key")?;
        s.project(&key)
      }
      None => key.json,
    };
    let body = Bytes::from(request::get_item(table, &json, consistent));
    self
      .run(
        Call {
          operation: "GetItem",
          table,
          units: 0.0,
          items: 1,
          policy: &self.policy,
        },
        |sdk| {
          let req = sdk
            .get_item()
            .table_name(table)
            .set_key(Some(HashMap::new()))
            .customize()
            .mutate_request(body_swap(body.clone()));
          async move {
            let out = req.send().await.map_err(from_sdk)?;
            let rcu = out
              .consumed_capacity()
              .and_then(|c| c.capacity_units())
              .unwrap_or(0.0);
            let mut reply = reply_of(0.0, rcu, out.request_id());
            reply.returned = out.item.is_some() as u32;
            Ok((out.item, reply))
          }
          .boxed()
        },
      )
      .await
  }

  // ---- tables --------------------------------------------------------------------------------------

  pub async fn describe_table(&self, table: &str) -> Result<TableInfo, CoreError> {
    self.describe_with(table, &self.control_policy).await
  }

  async fn describe_with(&self, table: &str, policy: &RetryPolicy) -> Result<TableInfo, CoreError> {
    let (desc, _) = self
      .run(
        Call {
          operation: "DescribeTable",
          table,
          units: 0.0,
          items: 0,
          policy,
        },
        |sdk| {
          let req = sdk.describe_table().table_name(table);
          async move {
            let out = req.send().await.map_err(from_sdk)?;
            let reply = reply_of(0.0, 0.0, out.request_id());
            let desc = out.table.ok_or_else(|| {
              CoreError::new(error::SERVICE_ERROR, "DescribeTable returned no table")
            })?;
            Ok((desc, reply))
          }
          .boxed()
        },
      )
      .await?;
    let info = table_info(table, &desc);
    if let Some(s) = &info.schema {
      self.schemas.insert(table, s.clone());
    }
    Ok(info)
  }

  /// The table's key schema: cached, or read once for all concurrent callers (single flight), with the
  /// writers' retry policy (a throttled DescribeTable on a cold start must not fail every writer).
  pub async fn key_schema(self: &Arc<Self>, table: &str) -> Result<Arc<KeySchema>, CoreError> {
    self
      .key_schema_with(table, self.control_policy.clone())
      .await
  }

  async fn key_schema_with(
    self: &Arc<Self>,
    table: &str,
    policy: RetryPolicy,
  ) -> Result<Arc<KeySchema>, CoreError> {
    let this = self.clone();
    let name = table.to_string();
    self
      .schemas
      .get(table, move || {
        async move {
          this
            .describe_with(&name, &policy)
            .await?
            .schema
            .ok_or_else(|| {
              CoreError::new(
                error::KEY_SCHEMA_UNAVAILABLE,
                format!("table {name} reported no key schema"),
              )
            })
        }
        .boxed()
      })
      .await
  }

  pub async fn create_table(
    &self,
    table: &str,
    schema: &KeySchema,
  ) -> Result<TableInfo, CoreError> {
    let mut defs = Vec::new();
    let mut keys = Vec::new();
    for (attr, kt) in std::iter::once((&schema.partition, SdkKeyType::Hash))
      .chain(schema.sort.iter().map(|s| (s, SdkKeyType::Range)))
    {
      let ty = match attr.ty {
        KeyType::S => ScalarAttributeType::S,
        KeyType::N => ScalarAttributeType::N,
        KeyType::B => ScalarAttributeType::B,
        KeyType::Any => {
          return Err(CoreError::invalid_argument(format!(
            "createTable needs the type ('S', 'N' or 'B') of key {}",
            attr.name
          )))
        }
      };
      keys.push(
        KeySchemaElement::builder()
          .attribute_name(&attr.name)
          .key_type(kt)
          .build()
          .map_err(|e| CoreError::invalid_argument(e.to_string()))?,
      );
      defs.push(
        AttributeDefinition::builder()
          .attribute_name(&attr.name)
          .attribute_type(ty)
          .build()
          .map_err(|e| CoreError::invalid_argument(e.to_string()))?,
      );
    }
    self
      .run(
        Call {
          operation: "CreateTable",
          table,
          units: 0.0,
          items: 0,
          policy: &self.control_policy,
        },
        |sdk| {
          let req = sdk
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(keys.clone()))
            .set_attribute_definitions(Some(defs.clone()));
          async move {
            let out = req.send().await.map_err(from_sdk)?;
            Ok(((), reply_of(0.0, 0.0, out.request_id())))
          }
          .boxed()
        },
      )
      .await?;
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
    self
      .run(
        Call {
          operation: "DeleteTable",
          table,
          units: 0.0,
          items: 0,
          policy: &self.control_policy,
        },
        |sdk| {
          let req = sdk.delete_table().table_name(table);
          async move {
            let out = req.send().await.map_err(from_sdk)?;
            Ok(((), reply_of(0.0, 0.0, out.request_id())))
          }
          .boxed()
        },
      )
      .await?;
    self.schemas.forget(table);
    Ok(())
  }

  /// A connection slot and the SDK client, for an attempt sent outside `run` (batches retry per entry).
  async fn slot(
    &self,
  ) -> Result<(tokio::sync::SemaphorePermit<'_>, aws_sdk_dynamodb::Client), CoreError> {
    let slot = self
      .permits
      .acquire()
      .await
      .map_err(|_| Self::closed_error())?;
    Ok((slot, self.sdk().await?))
  }

  /// One BatchWriteItem attempt with a body already written (the engine retries per item itself).
  pub async fn batch_write(&self, table: &str, body: Bytes) -> Result<BatchReply, CoreError> {
    let (_slot, sdk) = self.slot().await?;
    let out = sdk
      .batch_write_item()
      .set_request_items(Some(HashMap::from([(table.to_string(), Vec::new())])))
      .return_consumed_capacity(ReturnConsumedCapacity::Total)
      .customize()
      .mutate_request(body_swap(body))
      .send()
      .await
      .map_err(from_sdk)?;
    let consumed_wcu = out
      .consumed_capacity()
      .iter()
      .filter_map(|c| c.capacity_units())
      .sum();
    let request_id = out.request_id().map(str::to_string);
    let mut reply = BatchReply {
      consumed_wcu,
      request_id,
      ..Default::default()
    };
    for (t, entries) in out.unprocessed_items.unwrap_or_default() {
      if t != table {
        reply.foreign += entries.len();
        continue;
      }
      for w in entries {
        reply
          .unprocessed
          .push(match (w.put_request, w.delete_request) {
            (Some(p), None) => Returned {
              kind: Some(OpKind::Put),
              attrs: p.item,
            },
            (None, Some(d)) => Returned {
              kind: Some(OpKind::Delete),
              attrs: d.key,
            },
            _ => Returned {
              kind: None,
              attrs: HashMap::new(),
            },
          });
      }
    }
    Ok(reply)
  }
}

impl Dynamo {
  /// One BatchGetItem attempt with a body already written (batchGet retries per key itself).
  pub async fn batch_get(&self, table: &str, body: Bytes) -> Result<GetReply, CoreError> {
    let (_slot, sdk) = self.slot().await?;
    let placeholder = KeysAndAttributes::builder()
      .set_keys(Some(Vec::new()))
      .build()
      .map_err(|e| CoreError::new(error::INTERNAL, e.to_string()))?;
    let out = sdk
      .batch_get_item()
      .set_request_items(Some(HashMap::from([(table.to_string(), placeholder)])))
      .return_consumed_capacity(ReturnConsumedCapacity::Total)
      .customize()
      .mutate_request(body_swap(body))
      .send()
      .await
      .map_err(from_sdk)?;
    let mut reply = GetReply {
      consumed_rcu: out
        .consumed_capacity()
        .iter()
        .filter_map(|c| c.capacity_units())
        .sum(),
      request_id: out.request_id().map(str::to_string),
      ..Default::default()
    };
    for (t, items) in out.responses.unwrap_or_default() {
      if t == table {
        reply.items = items;
      } else {
        reply.foreign += items.len();
      }
    }
    for (t, ka) in out.unprocessed_keys.unwrap_or_default() {
      if t == table {
        reply.unprocessed = ka.keys;
      } else {
        reply.foreign += ka.keys.len();
      }
    }
    Ok(reply)
  }

  /// One Scan page with a body already written, retried, paced by `limiter` (in RCU) and recorded as
  /// `run` does.
  pub async fn scan_page(
    &self,
    table: &str,
    body: Bytes,
    units: f64,
    limiter: Option<&Arc<RateLimiter>>,
    policy: &RetryPolicy,
  ) -> Result<ScanReply, CoreError> {
    let call = Call {
      operation: "Scan",
      table,
      units,
      items: 0,
      policy,
    };
    let (page, _) = self
      .run_limited(call, limiter, |sdk| {
        let req = sdk
          .scan()
          .table_name(table)
          .customize()
          .mutate_request(body_swap(body.clone()));
        async move {
          let out = req.send().await.map_err(from_sdk)?;
          let mut reply = reply_of(
            0.0,
            out
              .consumed_capacity()
              .and_then(|c| c.capacity_units())
              .unwrap_or(0.0),
            out.request_id(),
          );
          reply.returned = out.count().max(0) as u32;
          reply.scanned = out.scanned_count().max(0) as u32;
          let page = ScanReply {
            items: out.items.unwrap_or_default(),
            scanned: reply.scanned,
            consumed_rcu: reply.consumed_rcu,
            last_key: out.last_evaluated_key.filter(|k| !k.is_empty()),
          };
          Ok((page, reply))
        }
        .boxed()
      })
      .await?;
    Ok(page)
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
    let attr = attr_type(k.attribute_name()).map(|ty| KeyAttr::new(k.attribute_name(), ty));
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
    schema: partition.map(|p| KeySchema::new(p, sort)),
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
    table: &str,
    body: Vec<u8>,
  ) -> BoxFuture<'static, Result<BatchReply, CoreError>> {
    let dynamo = self.0.clone();
    let table = table.to_string();
    async move { dynamo.batch_write(&table, Bytes::from(body)).await }.boxed()
  }

  fn key_schema(&self, table: &str) -> BoxFuture<'static, Result<Arc<KeySchema>, CoreError>> {
    let dynamo = self.0.clone();
    let table = table.to_string();
    async move { dynamo.key_schema(&table).await }.boxed()
  }
}
