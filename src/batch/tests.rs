//! Engine tests against a scripted in-memory transport, on tokio's paused clock so retry timing is
//! deterministic.

use super::*;
use crate::marshal::{KeyAttr, KeyType};
use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn schema() -> KeySchema {
  KeySchema {
    partition: KeyAttr {
      name: "pk".into(),
      ty: KeyType::S,
    },
    sort: None,
  }
}

fn item(pk: &str, v: i64) -> Item {
  let mut m = Item::new();
  m.insert("pk".into(), AttributeValue::S(pk.into()));
  m.insert("v".into(), AttributeValue::N(v.to_string()));
  m
}

/// What the fake answers to a request: `Ok(indices to return unprocessed)` or an error.
type Script = dyn Fn(usize, &[WriteRequest]) -> Result<Vec<usize>, CoreError> + Send + Sync;

struct Fake {
  store: Mutex<HashMap<String, Item>>,
  requests: AtomicUsize,
  in_flight: AtomicUsize,
  max_in_flight: AtomicUsize,
  sizes: Mutex<Vec<usize>>,
  script: Box<Script>,
  latency: Duration,
}

impl Fake {
  fn new(
    script: impl Fn(usize, &[WriteRequest]) -> Result<Vec<usize>, CoreError> + Send + Sync + 'static,
  ) -> Arc<Self> {
    Arc::new(Fake {
      store: Mutex::new(HashMap::new()),
      requests: AtomicUsize::new(0),
      in_flight: AtomicUsize::new(0),
      max_in_flight: AtomicUsize::new(0),
      sizes: Mutex::new(Vec::new()),
      script: Box::new(script),
      latency: Duration::from_millis(10),
    })
  }
}

fn pk_of(i: &Item) -> String {
  match i.get("pk") {
    Some(AttributeValue::S(s)) => s.clone(),
    _ => "?".into(),
  }
}

struct FakeTransport(Arc<Fake>);

impl Transport for FakeTransport {
  fn batch_write(
    &self,
    _table: String,
    requests: Vec<WriteRequest>,
  ) -> BoxFuture<Result<BatchResponse, CoreError>> {
    let f = self.0.clone();
    Box::pin(async move {
      let n = f.requests.fetch_add(1, Ordering::SeqCst);
      let now = f.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
      f.max_in_flight.fetch_max(now, Ordering::SeqCst);
      f.sizes.lock().unwrap().push(requests.len());
      // DynamoDB rejects two operations on one key in a request.
      let mut keys = HashSet::new();
      for r in &requests {
        let k = r
          .put_request()
          .map(|p| pk_of(p.item()))
          .or_else(|| r.delete_request().map(|d| pk_of(d.key())))
          .unwrap();
        assert!(keys.insert(k), "duplicate key in one request");
      }
      tokio::time::sleep(f.latency).await;
      f.in_flight.fetch_sub(1, Ordering::SeqCst);
      let unprocessed = (f.script)(n, &requests)?;
      let mut store = f.store.lock().unwrap();
      let mut out = Vec::new();
      for (i, r) in requests.into_iter().enumerate() {
        if unprocessed.contains(&i) {
          out.push(r);
          continue;
        }
        if let Some(p) = r.put_request() {
          store.insert(pk_of(p.item()), p.item().clone());
        } else if let Some(d) = r.delete_request() {
          store.remove(&pk_of(d.key()));
        }
      }
      Ok(BatchResponse {
        consumed_wcu: 1.0,
        unprocessed: out,
        request_id: Some(format!("req-{n}")),
      })
    })
  }

  fn key_schema(&self, _table: String) -> BoxFuture<Result<KeySchema, CoreError>> {
    Box::pin(async { Ok(schema()) })
  }
}

struct FixedJitter(f64);
impl Jitter for FixedJitter {
  fn unit(&self) -> f64 {
    self.0
  }
}

fn engine(fake: &Arc<Fake>, cfg: impl FnOnce(&mut WriterConfig)) -> Engine {
  let mut c = WriterConfig::new("t");
  cfg(&mut c);
  engine_over(Arc::new(FakeTransport(fake.clone())), c)
}

fn engine_over(transport: Arc<dyn Transport>, c: WriterConfig) -> Engine {
  Engine::new(
    c,
    transport,
    Arc::new(FixedJitter(1.0)),
    Arc::new(|f| {
      tokio::spawn(f);
    }),
    Hooks {
      observer: None,
      client_totals: None,
      limiter: None,
    },
  )
}

async fn flush(e: &Engine) -> FlushResult {
  e.flush().await.expect("flush resolves")
}

#[tokio::test(start_paused = true)]
async fn streams_full_batches_with_several_in_flight() {
  let fake = Fake::new(|_, _| Ok(vec![]));
  let e = engine(&fake, |c| c.max_in_flight = 4);
  for i in 0..1000 {
    e.push(i as f64, OpKind::Put, item(&format!("k{i}"), i), 20)
      .unwrap();
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
async fn unprocessed_items_are_retried_until_written() {
  // Every first attempt of the first 3 requests comes back entirely unprocessed.
  let fake = Fake::new(|n, reqs| {
    Ok(if n < 3 {
      (0..reqs.len()).collect()
    } else {
      vec![]
    })
  });
  let e = engine(&fake, |c| c.max_in_flight = 1);
  for i in 0..75 {
    e.push(i as f64, OpKind::Put, item(&format!("k{i}"), i), 20)
      .unwrap();
  }
  let r = flush(&e).await;
  assert!(r.failures.is_empty(), "{:?}", r.failures);
  assert_eq!(r.totals.puts_written, 75);
  // every item came back at least once (some twice, when a retry shared an unprocessed request)
  assert!(r.totals.retries >= 75, "{}", r.totals.retries);
  assert_eq!(r.totals.unprocessed_rounds, 3);
  assert_eq!(fake.store.lock().unwrap().len(), 75);
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_report_each_item_once() {
  let fake = Fake::new(|_, reqs| {
    Ok(
      reqs
        .iter()
        .enumerate()
        .filter(|(_, r)| pk_of(r.put_request().unwrap().item()).ends_with('7'))
        .map(|(i, _)| i)
        .collect(),
    )
  });
  let e = engine(&fake, |c| {
    c.retry.max_retries = 2;
    c.retry.base_delay = Duration::from_millis(100);
  });
  let start = Instant::now();
  for i in 0..30 {
    e.push(i as f64, OpKind::Put, item(&format!("k{i}"), i), 20)
      .unwrap();
  }
  let r = flush(&e).await;
  let ids: Vec<f64> = r.failures.iter().map(|f| f.id).collect();
  assert_eq!(ids, vec![7.0, 17.0, 27.0]);
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
  // Backoff with jitter fixed at 1.0: 100 ms then 200 ms, plus three 10 ms round trips.
  let waited = start.elapsed();
  assert!(waited >= Duration::from_millis(330), "{waited:?}");
  assert!(waited < Duration::from_millis(400), "{waited:?}");
  // A second flush reports nothing again.
  let r2 = flush(&e).await;
  assert!(r2.failures.is_empty());
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
    e.push(i as f64, OpKind::Put, item(&format!("k{i}"), i), 20)
      .unwrap();
  }
  let r = flush(&e).await;
  assert!(r.failures.is_empty());
  assert_eq!(r.totals.puts_written, 50);
  assert!(r.totals.throttles >= 2);

  let fake = Fake::new(|_, _| {
    Err(CoreError::new("InternalServerError", "boom").with_retry(Retry::Transient))
  });
  let e = engine(&fake, |c| c.retry.max_retries = 0);
  for i in 0..10 {
    e.push(i as f64, OpKind::Put, item(&format!("k{i}"), i), 20)
      .unwrap();
  }
  let r = flush(&e).await;
  assert_eq!(r.failures.len(), 10);
  assert!(r
    .failures
    .iter()
    .all(|f| f.reason == error::SERVER_ERROR && f.attempts == 1));
}

#[tokio::test(start_paused = true)]
async fn a_poison_item_is_isolated_by_splitting() {
  let fake = Fake::new(|_, reqs| {
    let poisoned = reqs
      .iter()
      .any(|r| pk_of(r.put_request().unwrap().item()) == "poison");
    if poisoned {
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
    e.push(i as f64, OpKind::Put, item(&format!("k{i}"), i), 20)
      .unwrap();
  }
  e.push(24.0, OpKind::Put, item("poison", 0), 20).unwrap();
  let r = flush(&e).await;
  assert_eq!(r.totals.puts_written, 24);
  assert_eq!(r.failures.len(), 1);
  assert_eq!(r.failures[0].id, 24.0);
  assert_eq!(r.failures[0].reason, "ValidationException");
  assert_eq!(r.failures[0].message, "Type mismatch for key");
}

#[tokio::test(start_paused = true)]
async fn per_key_order_survives_retries_and_concurrency() {
  // Unprocessed at random-ish positions: every third request returns its first entry unprocessed.
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
      e.push(i as f64, OpKind::Delete, item(&k, 0), 10).unwrap();
      expected.insert(k, None);
    } else {
      e.push(i as f64, OpKind::Put, item(&k, i), 10).unwrap();
      expected.insert(k, Some(i));
    }
  }
  let r = flush(&e).await;
  assert!(r.failures.is_empty());
  let store = fake.store.lock().unwrap();
  for (k, v) in expected {
    let got = store.get(&k).map(|i| match &i["v"] {
      AttributeValue::N(n) => n.parse::<i64>().unwrap(),
      _ => -1,
    });
    assert_eq!(got, v, "key {k}");
  }
}

#[tokio::test(start_paused = true)]
async fn backpressure_waits_for_room_then_resumes() {
  let fake = Fake::new(|_, _| Ok(vec![]));
  let e = engine(&fake, |c| {
    c.high_water_mark = 10;
    c.max_in_flight = 1;
  });
  let mut full = false;
  for i in 0..10 {
    full = e
      .push(i as f64, OpKind::Put, item(&format!("k{i}"), i), 20)
      .unwrap();
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
    e.push(i as f64, OpKind::Put, item(&format!("k{i}"), i), 20)
      .unwrap();
  }
  let rx = e.flush();
  tokio::time::sleep(Duration::from_millis(50)).await;
  e.abort();
  let r = rx.await.unwrap();
  assert_eq!(r.failures.len(), 60);
  assert!(r.failures.iter().all(|f| f.reason == error::ABORTED));
  assert!(e.push(99.0, OpKind::Put, item("late", 1), 20).is_err());
}

#[tokio::test(start_paused = true)]
async fn invalid_keys_fail_alone_once_the_schema_is_known() {
  let fake = Fake::new(|_, _| Ok(vec![]));
  let e = engine(&fake, |_| {});
  e.push(1.0, OpKind::Put, item("good", 1), 20).unwrap();
  let mut bad = Item::new();
  bad.insert("pk".into(), AttributeValue::N("5".into()));
  e.push(2.0, OpKind::Put, bad, 10).unwrap();
  let r = flush(&e).await;
  assert_eq!(r.totals.puts_written, 1);
  assert_eq!(r.failures.len(), 1);
  assert_eq!(r.failures[0].reason, error::INVALID_ITEM);
  assert_eq!(
    r.failures[0].message,
    "item.pk: key attribute must be of type S, got N"
  );
}

#[tokio::test(start_paused = true)]
async fn describe_table_is_retried_on_transient_errors() {
  struct Flaky(Arc<Fake>, AtomicUsize);
  impl Transport for Flaky {
    fn batch_write(
      &self,
      t: String,
      r: Vec<WriteRequest>,
    ) -> BoxFuture<Result<BatchResponse, CoreError>> {
      FakeTransport(self.0.clone()).batch_write(t, r)
    }
    fn key_schema(&self, _t: String) -> BoxFuture<Result<KeySchema, CoreError>> {
      let n = self.1.fetch_add(1, Ordering::SeqCst);
      Box::pin(async move {
        if n < 2 {
          Err(CoreError::new("ThrottlingException", "slow down").with_retry(Retry::Throttle))
        } else {
          Ok(schema())
        }
      })
    }
  }
  let fake = Fake::new(|_, _| Ok(vec![]));
  let flaky = Arc::new(Flaky(fake.clone(), AtomicUsize::new(0)));
  let e = engine_over(flaky.clone(), WriterConfig::new("t"));
  e.push(1.0, OpKind::Put, item("a", 1), 10).unwrap();
  let r = flush(&e).await;
  assert!(r.failures.is_empty(), "{:?}", r.failures);
  assert_eq!(r.totals.puts_written, 1);
  assert_eq!(flaky.1.load(Ordering::SeqCst), 3);
}
