//! Engine tests against a scripted in-memory transport that reads the request bodies the engine writes,
//! on tokio's paused clock so retry timing is deterministic.

use super::*;
use crate::item::{encode, Rules};
use crate::key::{KeyAttr, KeyType};
use crate::metrics::SharedTotals;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::FutureExt;
use serde_json::Value;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

fn schema_s() -> KeySchema {
  KeySchema::new(KeyAttr::new("pk", KeyType::S), None)
}

fn enc(wire: &str) -> Result<Encoded, CoreError> {
  let units: Vec<u16> = wire.encode_utf16().collect();
  encode::<Vec<u8>>(&units, &[], "item", Rules::default(), true).map_err(CoreError::from)
}

fn item(pk: &str, v: i64) -> Result<Encoded, CoreError> {
  enc(&format!(
    "{{2:pks{}:{pk}1:vd{v};}}",
    pk.encode_utf16().count()
  ))
}

/// What the fake answers to a request: `Ok(indices returned unprocessed)` or an error.
type Script = dyn Fn(usize, &[Value]) -> Result<Vec<usize>, CoreError> + Send + Sync;
/// Rewrites the key an unprocessed entry is returned with (the service may print numbers its own way).
type Reprint = Option<Box<dyn Fn(&str) -> String + Send + Sync>>;

struct Fake {
  store: Mutex<HashMap<String, Value>>,
  requests: AtomicUsize,
  in_flight: AtomicUsize,
  max_in_flight: AtomicUsize,
  sizes: Mutex<Vec<usize>>,
  script: Box<Script>,
  reprint: Reprint,
  schema: KeySchema,
  latency: Duration,
}

impl Fake {
  fn new(
    script: impl Fn(usize, &[Value]) -> Result<Vec<usize>, CoreError> + Send + Sync + 'static,
  ) -> Arc<Self> {
    Self::with(schema_s(), None, script)
  }
  fn with(
    schema: KeySchema,
    reprint: Reprint,
    script: impl Fn(usize, &[Value]) -> Result<Vec<usize>, CoreError> + Send + Sync + 'static,
  ) -> Arc<Self> {
    Arc::new(Fake {
      store: Mutex::new(HashMap::new()),
      requests: AtomicUsize::new(0),
      in_flight: AtomicUsize::new(0),
      max_in_flight: AtomicUsize::new(0),
      sizes: Mutex::new(Vec::new()),
      script: Box::new(script),
      reprint,
      schema,
      latency: Duration::from_millis(10),
    })
  }
}

/// The entry's item or key, and its pk as text.
fn entry_item(e: &Value) -> (&Value, String) {
  let item = e
    .get("PutRequest")
    .map(|p| &p["Item"])
    .or_else(|| e.get("DeleteRequest").map(|d| &d["Key"]))
    .unwrap();
  let pk = &item["pk"];
  let text = pk
    .get("S")
    .or_else(|| pk.get("N"))
    .and_then(Value::as_str)
    .unwrap()
    .to_string();
  (item, text)
}

fn to_av(v: &Value) -> AttributeValue {
  if let Some(s) = v.get("S") {
    AttributeValue::S(s.as_str().unwrap().into())
  } else {
    AttributeValue::N(v["N"].as_str().unwrap().into())
  }
}

struct FakeTransport(Arc<Fake>);

impl Transport for FakeTransport {
  fn batch_write(
    &self,
    table: &str,
    body: Vec<u8>,
  ) -> BoxFuture<'static, Result<BatchReply, CoreError>> {
    let f = self.0.clone();
    let table = table.to_string();
    async move {
      let body: Value = serde_json::from_slice(&body).expect("the engine writes valid JSON");
      assert_eq!(body["ReturnConsumedCapacity"], "TOTAL");
      let entries = body["RequestItems"][&table].as_array().unwrap().clone();
      let n = f.requests.fetch_add(1, Ordering::SeqCst);
      let now = f.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
      f.max_in_flight.fetch_max(now, Ordering::SeqCst);
      f.sizes.lock().unwrap().push(entries.len());
      // DynamoDB rejects two operations on one key in a request.
      let mut keys = HashSet::new();
      for e in &entries {
        assert!(keys.insert(entry_item(e).1), "duplicate key in one request");
      }
      tokio::time::sleep(f.latency).await;
      f.in_flight.fetch_sub(1, Ordering::SeqCst);
      let unprocessed = (f.script)(n, &entries)?;
      let mut store = f.store.lock().unwrap();
      let mut reply = BatchReply {
        consumed_wcu: entries
          .iter()
          .map(|e| e.to_string().len().div_ceil(1024).max(1) as f64)
          .sum(),
        request_id: Some(format!("req-{n}")),
        ..Default::default()
      };
      for (i, e) in entries.iter().enumerate() {
        let (item, pk) = entry_item(e);
        if unprocessed.contains(&i) {
          let mut attrs = AvMap::new();
          for (attr, _, _) in f.schema.attrs() {
            let mut av = to_av(&item[&attr.name]);
            if let (AttributeValue::N(n), Some(r)) = (&av, &f.reprint) {
              av = AttributeValue::N(r(n));
            }
            attrs.insert(attr.name.clone(), av);
          }
          let kind = if e.get("PutRequest").is_some() {
            OpKind::Put
          } else {
            OpKind::Delete
          };
          reply.unprocessed.push(Returned {
            kind: Some(kind),
            attrs,
          });
          continue;
        }
        if e.get("PutRequest").is_some() {
          store.insert(pk, item.clone());
        } else {
          store.remove(&pk);
        }
      }
      Ok(reply)
    }
    .boxed()
  }

  fn key_schema(&self, _table: &str) -> BoxFuture<'static, Result<Arc<KeySchema>, CoreError>> {
    let s = self.0.schema.clone();
    async move { Ok(Arc::new(s)) }.boxed()
  }
}

struct FixedJitter(f64);
impl Jitter for FixedJitter {
  fn unit(&self) -> f64 {
    self.0
  }
}

fn hooks() -> Hooks {
  Hooks {
    meter: Meter {
      client: Arc::new(SharedTotals::default()),
      observers: Vec::new(),
    },
    limiter: None,
  }
}

fn engine(fake: &Arc<Fake>, cfg: impl FnOnce(&mut WriterConfig)) -> Engine {
  let mut c = WriterConfig::new("t");
  cfg(&mut c);
  engine_over(Arc::new(FakeTransport(fake.clone())), c, hooks())
}

fn engine_over(transport: Arc<dyn Transport>, c: WriterConfig, hooks: Hooks) -> Engine {
  Engine::new(
    c,
    transport,
    Arc::new(FixedJitter(1.0)),
    Arc::new(|f| {
      tokio::spawn(f);
    }),
    hooks,
  )
}

/// A flush whose result is then delivered, as the binding does on the JS thread.
async fn flush(e: &Engine) -> FlushResult {
  let r = e.flush().await.expect("flush resolves");
  e.delivered(r.id);
  r
}

fn put(e: &Engine, id: u64, pk: &str, v: i64) {
  submit(e, id, OpKind::Put, item(pk, v));
}

/// Submits and, if the operation waits for the schema, lets it be judged in the background.
fn submit(e: &Engine, id: u64, kind: OpKind, it: Result<Encoded, CoreError>) {
  if let Ok(Accepted::AfterSchema(rx)) = e.submit(id, kind, it) {
    tokio::spawn(rx);
  }
}

#[tokio::test(start_paused = true)]
async fn streams_full_batches_with_several_in_flight() {
  let fake = Fake::new(|_, _| Ok(vec![]));
  let e = engine(&fake, |c| {
    c.max_in_flight = 4;
    c.key_schema = Some(schema_s());
  });
  for i in 0..1000 {
    put(&e, i, &format!("k{i}"), i as i64);
  }
  // Requests leave before any flush.
  tokio::time::sleep(Duration::from_millis(5)).await;
  assert!(fake.requests.load(Ordering::SeqCst) >= 4);
  let r = flush(&e).await;
  assert_eq!(r.totals.puts_written, 1000);
  assert!(r.failures.is_empty());
  assert_eq!(fake.store.lock().unwrap().len(), 1000);
  assert_eq!(fake.max_in_flight.load(Ordering::SeqCst), 4);
  assert!(fake.sizes.lock().unwrap().iter().all(|&n| n <= 25));
  assert_eq!(r.totals.requests, 40);
  assert_eq!(r.totals.retries, 0);
  assert_eq!(e.take_done().len(), 1000);
}

#[tokio::test(start_paused = true)]
async fn flush_on_an_empty_writer_resolves() {
  let fake = Fake::new(|_, _| Ok(vec![]));
  let e = engine(&fake, |_| {});
  let r = flush(&e).await;
  assert_eq!(r.totals.requests, 0);
  assert!(r.failures.is_empty());
}

#[tokio::test(start_paused = true)]
async fn operations_wait_for_the_schema_and_a_bad_key_is_refused_then() {
  let fake = Fake::new(|_, _| Ok(vec![]));
  let e = engine(&fake, |_| {});
  let good = e.submit(1, OpKind::Put, item("a", 1)).unwrap();
  let bad = e.submit(2, OpKind::Put, enc("{2:pkd5;}")).unwrap();
  let (Accepted::AfterSchema(good), Accepted::AfterSchema(bad)) = (good, bad) else {
    panic!("the schema is read first")
  };
  assert!(good.await.unwrap().is_ok());
  let err = bad.await.unwrap().unwrap_err();
  assert_eq!(err.code, error::INVALID_ITEM);
  assert_eq!(
    err.message,
    "item.pk: key attribute must be of type S, got N"
  );
  // Once known, a bad key is refused by submit itself.
  let err = e.submit(3, OpKind::Put, enc("{1:xT}")).unwrap_err().error;
  assert_eq!(err.path.as_deref(), Some("item.pk"));
  let r = flush(&e).await;
  assert_eq!(r.totals.puts_written, 1);
  assert_eq!(r.totals.failed, 2);
  assert_eq!(
    r.failures.iter().map(|f| f.id).collect::<Vec<_>>(),
    vec![2, 3]
  );
  assert!(r
    .failures
    .iter()
    .all(|f| f.reason == error::INVALID_ITEM && f.attempts == 0));
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_schema_fails_what_waited_with_advice_that_matches_the_cause() {
  struct NoSchema;
  impl Transport for NoSchema {
    fn batch_write(
      &self,
      _: &str,
      _: Vec<u8>,
    ) -> BoxFuture<'static, Result<BatchReply, CoreError>> {
      unreachable!("nothing is sent without a schema")
    }
    fn key_schema(&self, _: &str) -> BoxFuture<'static, Result<Arc<KeySchema>, CoreError>> {
      async { Err(CoreError::new("AccessDeniedException", "not authorized")) }.boxed()
    }
  }
  let e = engine_over(Arc::new(NoSchema), WriterConfig::new("t"), hooks());
  let Accepted::AfterSchema(rx) = e.submit(1, OpKind::Put, item("a", 1)).unwrap() else {
    panic!()
  };
  let err = rx.await.unwrap().unwrap_err();
  assert_eq!(err.code, error::KEY_SCHEMA_UNAVAILABLE);
  assert!(
    err.message.contains("pass the keySchema option"),
    "{}",
    err.message
  );
  assert_eq!(err.cause.unwrap().code, "AccessDeniedException");
  assert_eq!(
    e.submit(2, OpKind::Put, item("b", 1))
      .unwrap_err()
      .error
      .code,
    error::KEY_SCHEMA_UNAVAILABLE
  );
  let r = flush(&e).await;
  assert_eq!(r.failures.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn unprocessed_items_are_retried_and_each_re_send_counts_once() {
  // The first 3 requests come back entirely unprocessed.
  let fake = Fake::new(|n, reqs| {
    Ok(if n < 3 {
      (0..reqs.len()).collect()
    } else {
      vec![]
    })
  });
  let e = engine(&fake, |c| c.max_in_flight = 1);
  for i in 0..75 {
    put(&e, i, &format!("k{i}"), i as i64);
  }
  let r = flush(&e).await;
  assert!(r.failures.is_empty(), "{:?}", r.failures);
  assert_eq!(r.totals.puts_written, 75);
  assert_eq!(
    r.totals.retries, 75,
    "each of the 75 entries returned once was re-sent once"
  );
  assert_eq!(r.totals.unprocessed_rounds, 3);
  assert_eq!(fake.store.lock().unwrap().len(), 75);
}

#[tokio::test(start_paused = true)]
async fn an_unprocessed_entry_printed_otherwise_is_matched_by_value() {
  // Keys are numbers; the service returns them as "7.0" and "1E+2".
  let schema = KeySchema::new(KeyAttr::new("pk", KeyType::N), None);
  let reprint: Box<dyn Fn(&str) -> String + Send + Sync> = Box::new(|n: &str| match n {
    "100" => "1E+2".to_string(),
    n => format!("{n}.0"),
  });
  let fake = Fake::with(schema.clone(), Some(reprint), |n, reqs| {
    Ok(if n == 0 {
      (0..reqs.len()).collect()
    } else {
      vec![]
    })
  });
  let e = engine(&fake, |c| c.key_schema = Some(schema));
  submit(&e, 1, OpKind::Put, enc("{2:pkd7;}"));
  submit(&e, 2, OpKind::Put, enc("{2:pkd100;}"));
  let r = flush(&e).await;
  assert_eq!(r.totals.puts_written, 2);
  assert_eq!(r.totals.retries, 2);
  let store = fake.store.lock().unwrap();
  assert!(
    store.contains_key("7") && store.contains_key("100"),
    "both really written: {store:?}"
  );
}

#[tokio::test(start_paused = true)]
async fn a_response_that_matches_nothing_never_counts_as_written() {
  struct Liar(Arc<Fake>, AtomicUsize);
  impl Transport for Liar {
    fn batch_write(
      &self,
      t: &str,
      body: Vec<u8>,
    ) -> BoxFuture<'static, Result<BatchReply, CoreError>> {
      let first = self.1.fetch_add(1, Ordering::SeqCst) == 0;
      let inner = FakeTransport(self.0.clone()).batch_write(t, body);
      async move {
        let mut r = inner.await?;
        if first {
          // An entry for a key that was not sent.
          let attrs = AvMap::from([("pk".to_string(), AttributeValue::S("stranger".into()))]);
          r.unprocessed.push(Returned {
            kind: Some(OpKind::Put),
            attrs,
          });
        }
        Ok(r)
      }
      .boxed()
    }
    fn key_schema(&self, t: &str) -> BoxFuture<'static, Result<Arc<KeySchema>, CoreError>> {
      FakeTransport(self.0.clone()).key_schema(t)
    }
  }
  // The fake leaves everything of the first request unwritten, yet only the stranger comes back.
  let fake = Fake::new(|_, _| Ok(vec![]));
  let seen = Arc::new(Mutex::new(Vec::new()));
  let s2 = seen.clone();
  let mut h = hooks();
  h.meter.observers.push(Arc::new(move |r: &RequestRecord| {
    s2.lock().unwrap().push(r.clone())
  }));
  let e = engine_over(
    Arc::new(Liar(fake.clone(), AtomicUsize::new(0))),
    WriterConfig::new("t"),
    h,
  );
  for i in 0..3 {
    put(&e, i, &format!("k{i}"), 1);
  }
  let r = flush(&e).await;
  assert_eq!(r.totals.puts_written, 3);
  assert_eq!(
    r.totals.retries, 3,
    "every operation of the unreconciled request was sent again"
  );
  assert_eq!(fake.requests.load(Ordering::SeqCst), 2);
  let seen = seen.lock().unwrap();
  assert_eq!(
    seen[0].error_code.as_deref(),
    Some(error::UNRECONCILED_RESPONSE)
  );
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_report_each_item_once() {
  let fake = Fake::new(|_, reqs| {
    Ok(
      reqs
        .iter()
        .enumerate()
        .filter(|(_, r)| entry_item(r).1.ends_with('7'))
        .map(|(i, _)| i)
        .collect(),
    )
  });
  let e = engine(&fake, |c| {
    c.retry.max_retries = 2;
    c.retry.base_delay = Duration::from_millis(100);
    c.key_schema = Some(schema_s());
  });
  let start = Instant::now();
  for i in 0..30 {
    put(&e, i, &format!("k{i}"), i as i64);
  }
  let r = flush(&e).await;
  let ids: Vec<u64> = r.failures.iter().map(|f| f.id).collect();
  assert_eq!(ids, vec![7, 17, 27]);
  for f in &r.failures {
    assert_eq!(f.reason, error::UNPROCESSED_AFTER_RETRIES);
    assert_eq!(f.attempts, 3);
    assert!(
      f.message.contains("gave up after 3 attempts"),
      "{}",
      f.message
    );
  }
  assert_eq!(r.totals.puts_written, 27);
  assert_eq!(r.totals.failed, 3);
  assert_eq!(r.totals.retries, 6);
  // Backoff with jitter fixed at 1.0: 100 ms then 200 ms, plus three 10 ms round trips.
  let waited = start.elapsed();
  assert!(waited >= Duration::from_millis(330), "{waited:?}");
  assert!(waited < Duration::from_millis(400), "{waited:?}");
  // A later flush reports nothing again.
  let r2 = flush(&e).await;
  assert!(r2.failures.is_empty());
}

#[tokio::test(start_paused = true)]
async fn overlapping_flushes_each_report_what_they_cover() {
  let fake = Fake::new(|_, reqs| {
    Ok(
      reqs
        .iter()
        .enumerate()
        .filter(|(_, r)| entry_item(r).1 == "bad")
        .map(|(i, _)| i)
        .collect(),
    )
  });
  let e = engine(&fake, |c| {
    c.retry.max_retries = 0;
    c.key_schema = Some(schema_s());
  });
  put(&e, 1, "bad", 1);
  put(&e, 2, "good", 1);
  let a = e.flush(); // covers 1 and 2
  let b = e.flush(); // covers 1 and 2 too: both were accepted before it
  put(&e, 3, "later", 1);
  let c = e.flush(); // covers 3 only? no: 1 and 2 were not reported by a flush resolved before it was called
  let (a, b, c) = (a.await.unwrap(), b.await.unwrap(), c.await.unwrap());
  for r in [&a, &b, &c] {
    assert_eq!(r.failures.iter().map(|f| f.id).collect::<Vec<_>>(), vec![1]);
  }
  // Resolved here, but not yet delivered: a flush called now still covers 1 (its caller has not seen any
  // flush report it).
  let d = e.flush().await.unwrap();
  assert_eq!(d.failures.iter().map(|f| f.id).collect::<Vec<_>>(), vec![1]);
  // Delivered in any order, the failure is forgotten only once no flush can report it again.
  assert!(e.delivered(c.id).is_empty());
  assert!(e.delivered(a.id).is_empty());
  assert!(e.delivered(d.id).is_empty());
  assert_eq!(
    e.delivered(b.id),
    vec![1],
    "forgotten once no flush can report it again"
  );
  assert_eq!((a.totals.puts_written, a.totals.failed), (1, 1));
  assert_eq!(c.totals.puts_written, 2);
  // A flush called after those were delivered covers only what came since.
  put(&e, 4, "x", 1);
  let d = flush(&e).await;
  assert!(d.failures.is_empty());
  assert_eq!((d.totals.puts_written, d.totals.failed), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn throttled_requests_are_retried_or_reported() {
  let fake = Fake::new(|n, _| {
    if n % 2 == 0 {
      Err(
        CoreError::new("ProvisionedThroughputExceededException", "slow down")
          .with_retry(Retry::Throttle),
      )
    } else {
      Ok(vec![])
    }
  });
  let e = engine(&fake, |c| c.max_in_flight = 1);
  for i in 0..50 {
    put(&e, i, &format!("k{i}"), i as i64);
  }
  let r = flush(&e).await;
  assert!(r.failures.is_empty());
  assert_eq!(r.totals.puts_written, 50);
  assert_eq!(r.totals.throttles, 2);
  assert_eq!(r.totals.errors, 2);
  assert_eq!(r.totals.retries, 50);

  let fake = Fake::new(|_, _| {
    Err(CoreError::new("InternalServerError", "boom").with_retry(Retry::Transient))
  });
  let e = engine(&fake, |c| c.retry.max_retries = 0);
  for i in 0..10 {
    put(&e, i, &format!("k{i}"), i as i64);
  }
  let r = flush(&e).await;
  assert_eq!(r.failures.len(), 10);
  assert!(r
    .failures
    .iter()
    .all(|f| f.reason == error::SERVER_ERROR && f.attempts == 1));
  assert_eq!(r.totals.retries, 0);
}

#[tokio::test(start_paused = true)]
async fn a_poison_item_is_isolated_by_splitting() {
  let fake = Fake::new(|_, reqs| {
    if reqs.iter().any(|r| entry_item(r).1 == "poison") {
      Err(
        CoreError::new("ValidationException", "Type mismatch for key")
          .with_retry(Retry::Validation),
      )
    } else {
      Ok(vec![])
    }
  });
  let e = engine(&fake, |_| {});
  for i in 0..24 {
    put(&e, i, &format!("k{i}"), i as i64);
  }
  put(&e, 24, "poison", 0);
  let r = flush(&e).await;
  assert_eq!(r.totals.puts_written, 24);
  assert_eq!(r.failures.len(), 1);
  assert_eq!(r.failures[0].id, 24);
  assert_eq!(r.failures[0].reason, "ValidationException");
  assert_eq!(r.failures[0].message, "Type mismatch for key");
}

#[tokio::test(start_paused = true)]
async fn per_key_order_survives_retries_and_concurrency() {
  // Every third request returns its first entry unprocessed.
  let fake = Fake::new(|n, reqs| {
    Ok(if n % 3 == 0 && !reqs.is_empty() {
      vec![0]
    } else {
      vec![]
    })
  });
  let e = engine(&fake, |c| {
    c.max_in_flight = 8;
    c.flush_amount = 5;
  });
  let mut expected: HashMap<String, Option<i64>> = HashMap::new();
  for i in 0..400i64 {
    let k = format!("hot{}", i % 4);
    if i % 7 == 3 {
      submit(&e, i as u64, OpKind::Delete, item(&k, 0));
      expected.insert(k, None);
    } else {
      put(&e, i as u64, &k, i);
      expected.insert(k, Some(i));
    }
  }
  let r = flush(&e).await;
  assert!(r.failures.is_empty());
  let store = fake.store.lock().unwrap();
  for (k, v) in expected {
    let got = store
      .get(&k)
      .map(|i| i["v"]["N"].as_str().unwrap().parse::<i64>().unwrap());
    assert_eq!(got, v, "key {k}");
  }
}

#[tokio::test(start_paused = true)]
async fn deletes_send_the_key_alone() {
  let fake = Fake::new(|_, reqs| {
    for r in reqs {
      if let Some(d) = r.get("DeleteRequest") {
        assert_eq!(d["Key"], serde_json::json!({"pk": {"S": "a"}}));
      }
    }
    Ok(vec![])
  });
  let e = engine(&fake, |c| c.key_schema = Some(schema_s()));
  submit(&e, 1, OpKind::Delete, item("a", 5));
  let r = flush(&e).await;
  assert_eq!(r.totals.deletes_written, 1);
}

#[tokio::test(start_paused = true)]
async fn backpressure_waits_for_room_then_resumes() {
  let fake = Fake::new(|_, _| Ok(vec![]));
  let e = engine(&fake, |c| {
    c.high_water_mark = 10;
    c.max_in_flight = 1;
    c.key_schema = Some(schema_s());
  });
  let mut full = false;
  for i in 0..10 {
    full = matches!(
      e.submit(i, OpKind::Put, item(&format!("k{i}"), i as i64))
        .unwrap(),
      Accepted::Now { full: true }
    );
  }
  assert!(full, "the tenth unfinished item fills the writer");
  // A partial batch leaves because someone waits for room.
  e.wait_for_room().await;
  assert!(e.snapshot().unfinished < 10);
  let r = flush(&e).await;
  assert_eq!(r.totals.puts_written, 10);
}

#[tokio::test(start_paused = true)]
async fn abort_reports_every_unwritten_item() {
  let fake = Fake::new(|_, reqs| Ok((0..reqs.len()).collect()));
  let e = engine(&fake, |c| c.retry.base_delay = Duration::from_secs(1));
  for i in 0..60 {
    put(&e, i, &format!("k{i}"), i as i64);
  }
  let rx = e.flush();
  tokio::time::sleep(Duration::from_millis(50)).await;
  e.abort();
  let r = rx.await.unwrap();
  assert_eq!(r.failures.len(), 60);
  assert!(r.failures.iter().all(|f| f.reason == error::ABORTED));
  let r = e.submit(99, OpKind::Put, item("late", 1)).unwrap_err();
  assert_eq!((r.error.code.as_str(), r.recorded), (error::ABORTED, false));
}

#[tokio::test(start_paused = true)]
async fn close_refuses_later_operations() {
  let fake = Fake::new(|_, _| Ok(vec![]));
  let e = engine(&fake, |_| {});
  put(&e, 1, "a", 1);
  let r = e.close().await.unwrap();
  assert_eq!(r.totals.puts_written, 1);
  let err = e.submit(2, OpKind::Put, item("b", 1)).unwrap_err();
  assert_eq!(
    (err.error.code.as_str(), err.recorded),
    (error::WRITER_CLOSED, false)
  );
}

#[tokio::test(start_paused = true)]
async fn a_shard_writes_only_its_keys() {
  let fake = Fake::new(|_, _| Ok(vec![]));
  let mut written = 0;
  for index in 0..3 {
    let e = engine(&fake, |c| {
      c.shard = Some((index, 3));
      c.key_schema = Some(schema_s());
    });
    for i in 0..300 {
      put(&e, i, &format!("k{}", i % 100), i as i64);
    }
    let r = flush(&e).await;
    assert_eq!(r.totals.puts_written + r.totals.skipped, 300);
    assert!(r.totals.skipped > 0);
    written += r.totals.puts_written;
  }
  assert_eq!(written, 300, "every operation written by exactly one shard");
  assert_eq!(fake.store.lock().unwrap().len(), 100);
}

#[tokio::test(start_paused = true)]
async fn requests_carry_no_more_units_than_the_bucket_holds() {
  let fake = Fake::new(|_, _| Ok(vec![]));
  let limiter = Arc::new(RateLimiter::fixed(10.0, Some(10.0)).unwrap());
  let mut h = hooks();
  h.limiter = Some(limiter);
  let mut c = WriterConfig::new("t");
  c.key_schema = Some(schema_s());
  let e = engine_over(Arc::new(FakeTransport(fake.clone())), c, h);
  // 25 items of about 4 KB: 4 WCU each, so at most two per request.
  let big = "x".repeat(3500);
  for i in 0..25 {
    submit(
      &e,
      i,
      OpKind::Put,
      enc(&format!("{{2:pks3:k{:02}1:as3500:{big}}}", i)),
    );
  }
  let start = Instant::now();
  let r = flush(&e).await;
  assert_eq!(r.totals.puts_written, 25);
  assert!(
    fake.sizes.lock().unwrap().iter().all(|&n| n <= 2),
    "{:?}",
    fake.sizes.lock().unwrap()
  );
  // 100 WCU at 10/s after a 10 WCU burst: 9 s at least.
  assert!(
    start.elapsed() >= Duration::from_secs(9),
    "{:?}",
    start.elapsed()
  );
}
