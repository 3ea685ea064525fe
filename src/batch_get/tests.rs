use super::*;
use crate::item::{encode, Rules};
use crate::key::{KeyAttr, KeyType};
use crate::rate_limit::Unit;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::FutureExt;
use std::sync::Mutex;

struct Half;
impl Jitter for Half {
  fn unit(&self) -> f64 {
    0.5
  }
}

/// A different draw each time (as random backoff would be).
struct Spread(std::sync::atomic::AtomicU64);
impl Jitter for Spread {
  fn unit(&self) -> f64 {
    let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (n as f64 * 0.618_033_988_7).fract()
  }
}

fn enc(w: &str) -> Encoded {
  let units: Vec<u16> = w.encode_utf16().collect();
  encode::<&[u8]>(&units, &[], "key", Rules::default(), true).unwrap()
}

fn schema() -> KeySchema {
  KeySchema::new(KeyAttr::new("pk", KeyType::N), None)
}

fn av_of(v: &serde_json::Value) -> AttributeValue {
  let (t, x) = v.as_object().unwrap().iter().next().unwrap();
  let x = x.as_str().unwrap().to_string();
  match t.as_str() {
    "S" => AttributeValue::S(x),
    "N" => AttributeValue::N(x),
    other => panic!("unexpected key type {other}"),
  }
}

fn item(n: &str, v: &str) -> AvMap {
  AvMap::from([
    ("pk".to_string(), AttributeValue::N(n.into())),
    ("v".to_string(), AttributeValue::S(v.into())),
  ])
}

/// What the fake answers to one request: the keys it carried (as sent) and the call's number.
type Script = dyn Fn(usize, &[AvMap]) -> Plan + Send + Sync;

enum Plan {
  /// Answer from the table, leaving these positions of the request unprocessed, plus foreign items.
  Answer {
    unprocessed: Vec<usize>,
    extra: Vec<AvMap>,
  },
  Fail(CoreError),
}

fn answer() -> Plan {
  Plan::Answer {
    unprocessed: vec![],
    extra: vec![],
  }
}

struct Fake {
  table: HashMap<NormKey, AvMap>,
  script: Box<Script>,
  log: Mutex<Vec<(Vec<AvMap>, serde_json::Value)>>,
}

impl Fake {
  fn new(items: impl IntoIterator<Item = AvMap>, script: Box<Script>) -> Arc<Fake> {
    let s = schema();
    Arc::new(Fake {
      table: items
        .into_iter()
        .map(|i| (s.key_of(&i).unwrap(), i))
        .collect(),
      script,
      log: Mutex::new(Vec::new()),
    })
  }
  fn requests(&self) -> Vec<Vec<AvMap>> {
    self
      .log
      .lock()
      .unwrap()
      .iter()
      .map(|(k, _)| k.clone())
      .collect()
  }
}

impl GetTransport for Fake {
  fn batch_get(
    &self,
    table: &str,
    body: Vec<u8>,
  ) -> BoxFuture<'static, Result<GetReply, CoreError>> {
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ka = &v["RequestItems"][table];
    let keys: Vec<AvMap> = ka["Keys"]
      .as_array()
      .unwrap()
      .iter()
      .map(|k| {
        k.as_object()
          .unwrap()
          .iter()
          .map(|(n, x)| (n.clone(), av_of(x)))
          .collect()
      })
      .collect();
    let call = {
      let mut log = self.log.lock().unwrap();
      log.push((keys.clone(), ka.clone()));
      log.len()
    };
    let res = match (self.script)(call, &keys) {
      Plan::Fail(e) => Err(e),
      Plan::Answer { unprocessed, extra } => {
        let s = schema();
        let mut reply = GetReply {
          consumed_rcu: keys.len() as f64 * 0.5,
          request_id: Some(format!("req{call}")),
          ..Default::default()
        };
        for (i, k) in keys.iter().enumerate() {
          if unprocessed.contains(&i) {
            reply.unprocessed.push(k.clone());
          } else if let Some(it) = self.table.get(&s.key_of(k).unwrap()) {
            reply.items.push(it.clone());
          }
        }
        reply.items.extend(extra);
        Ok(reply)
      }
    };
    async move { res }.boxed()
  }

  fn key_schema(&self, _table: &str) -> BoxFuture<'static, Result<Arc<KeySchema>, CoreError>> {
    async { Ok(Arc::new(schema())) }.boxed()
  }
}

fn hooks() -> GetHooks {
  GetHooks {
    meter: Meter::default(),
    limiter: None,
    abort: Arc::new(Abort::default()),
    jitter: Arc::new(Half),
  }
}

fn cfg() -> GetConfig {
  let mut c = GetConfig::new("t");
  c.retry.base_delay = Duration::from_millis(10);
  c
}

/// The chunker that keeps the items as they came.
fn ident() -> Chunker<Vec<AvMap>> {
  Arc::new(|items: &[AvMap]| items.to_vec())
}

fn found_v(out: &GetOutcome<Vec<AvMap>>, r: &Read) -> Option<String> {
  match r {
    Read::Found { chunk, item } => match out.chunks[*chunk as usize][*item as usize].get("v") {
      Some(AttributeValue::S(s)) => Some(s.clone()),
      _ => None,
    },
    _ => None,
  }
}

#[tokio::test(start_paused = true)]
async fn positions_are_aligned_and_each_distinct_key_is_read_once() {
  let fake = Fake::new(
    (0..200)
      .step_by(2)
      .map(|i| item(&i.to_string(), &format!("v{i}"))),
    Box::new(|_, _| answer()),
  );
  // 200 distinct keys, then 50 repeats written differently (7 and 7.0 are one key).
  let mut keys: Vec<Encoded> = (0..200).map(|i| enc(&format!("{{2:pkd{i};}}"))).collect();
  keys.extend((0..50).map(|i| enc(&format!("{{2:pkn{i}.0;1:xT}}"))));
  let h = hooks();
  let out = batch_get(fake.clone(), &cfg(), &h, keys, ident())
    .await
    .unwrap();
  assert_eq!(out.reads.len(), 200);
  assert_eq!(out.slots.len(), 250);
  for (pos, &slot) in out.slots.iter().enumerate() {
    let i = pos % 200;
    let want = (i % 2 == 0).then(|| format!("v{i}"));
    assert_eq!(
      found_v(&out, &out.reads[slot as usize]),
      want,
      "position {pos}"
    );
    if want.is_none() {
      assert_eq!(out.reads[slot as usize], Read::Absent);
    }
  }
  let reqs = fake.requests();
  assert_eq!(reqs.len(), 2);
  assert!(reqs.iter().all(|r| r.len() <= MAX_GET_KEYS));
  // a whole item given as a key is sent as its key alone
  assert!(reqs.iter().flatten().all(|k| k.len() == 1));
  assert_eq!(reqs.iter().map(Vec::len).sum::<usize>(), 200);
  assert_eq!(out.totals.requests, 2);
  assert_eq!(out.totals.items_read, 100);
  assert_eq!(out.totals.consumed_rcu, 100.0);
  assert_eq!(h.meter.client.snapshot().requests, 2);
}

#[tokio::test(start_paused = true)]
async fn unprocessed_and_throttled_keys_are_retried_until_read() {
  let fake = Fake::new(
    (0..300).map(|i| item(&i.to_string(), &format!("v{i}"))),
    Box::new(|call, keys| {
      if call % 3 == 0 {
        return Plan::Fail(
          CoreError::new("ProvisionedThroughputExceededException", "slow down")
            .with_retry(Retry::Throttle),
        );
      }
      Plan::Answer {
        unprocessed: (0..keys.len()).filter(|i| i % 3 == 1).collect(),
        extra: vec![],
      }
    }),
  );
  let keys: Vec<Encoded> = (0..300).map(|i| enc(&format!("{{2:pkd{i};}}"))).collect();
  let mut h = hooks();
  h.jitter = Arc::new(Spread(std::sync::atomic::AtomicU64::new(0)));
  let out = batch_get(fake.clone(), &cfg(), &h, keys, ident())
    .await
    .unwrap();
  for (i, r) in out.reads.iter().enumerate() {
    assert_eq!(found_v(&out, r), Some(format!("v{i}")), "key {i}");
  }
  assert!(out.totals.retries > 0);
  assert!(out.totals.throttles > 0);
  assert!(out.totals.unprocessed_rounds > 0);
  // every key was answered exactly once: the retries re-sent only what was not read
  let sent: usize = fake.requests().iter().map(Vec::len).sum();
  assert_eq!(sent as u64, 300 + out.totals.retries);
  // keys that came back together go back together (86 requests when each key drew its own backoff)
  assert!(
    fake.requests().len() <= 30,
    "{} requests",
    fake.requests().len()
  );
  assert_eq!(h.meter.client.snapshot().retries, out.totals.retries);
}

#[tokio::test(start_paused = true)]
async fn when_retries_run_out_exactly_the_unread_keys_fail() {
  let fake = Fake::new(
    (0..10).map(|i| item(&i.to_string(), "x")),
    Box::new(|_, keys| Plan::Answer {
      unprocessed: (0..keys.len()).filter(|i| i % 4 == 0).collect(),
      extra: vec![],
    }),
  );
  let keys: Vec<Encoded> = (0..20).map(|i| enc(&format!("{{2:pkd{i};}}"))).collect();
  let mut c = cfg();
  c.retry.max_retries = 0;
  let out = batch_get(fake, &c, &hooks(), keys, ident()).await.unwrap();
  for (i, r) in out.reads.iter().enumerate() {
    match (i % 4, i < 10) {
      (0, _) => assert_eq!(
        r,
        &Read::Failed {
          reason: "UnprocessedAfterRetries".into(),
          message: "DynamoDB returned the key as unprocessed (gave up after 1 attempts)".into(),
          attempts: 1
        }
      ),
      (_, true) => assert!(matches!(r, Read::Found { .. })),
      (_, false) => assert_eq!(r, &Read::Absent),
    }
  }
  assert_eq!(out.failed(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_response_that_matches_nothing_sent_confirms_nothing() {
  let fake = Fake::new(
    (0..5).map(|i| item(&i.to_string(), "x")),
    Box::new(|call, _| Plan::Answer {
      unprocessed: vec![],
      extra: if call == 1 {
        vec![item("999", "stray")]
      } else {
        vec![]
      },
    }),
  );
  let keys: Vec<Encoded> = (0..8).map(|i| enc(&format!("{{2:pkd{i};}}"))).collect();
  let records = Arc::new(Mutex::new(Vec::new()));
  let r2 = records.clone();
  let mut h = hooks();
  h.meter = Meter::default().with_observer(Some(Arc::new(move |r: &RequestRecord| {
    r2.lock().unwrap().push(r.error_code.clone())
  })));
  let out = batch_get(fake.clone(), &cfg(), &h, keys, ident())
    .await
    .unwrap();
  assert_eq!(
    fake.requests().len(),
    2,
    "sent again after the unmatched answer"
  );
  assert_eq!(
    *records.lock().unwrap(),
    vec![Some(crate::error::UNRECONCILED_RESPONSE.to_string()), None]
  );
  assert_eq!(
    out
      .reads
      .iter()
      .filter(|r| matches!(r, Read::Found { .. }))
      .count(),
    5
  );
  assert_eq!(out.failed(), 0);
}

#[tokio::test(start_paused = true)]
async fn invalid_keys_fail_the_call_before_anything_is_sent() {
  let fake = Fake::new([], Box::new(|_, _| answer()));
  let keys = vec![enc("{2:pkd1;}"), enc("{2:pks1:a}")];
  let e = batch_get(fake.clone(), &cfg(), &hooks(), keys, ident())
    .await
    .unwrap_err();
  assert_eq!(e.code, error::INVALID_ITEM);
  assert_eq!(e.path.as_deref(), Some("keys[1].pk"));
  assert_eq!(
    e.message,
    "keys[1].pk: key attribute must be of type N, got S"
  );
  assert!(fake.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn errors_that_retrying_cannot_fix_fail_their_keys_at_once() {
  let fake = Fake::new(
    [],
    Box::new(|_, _| {
      Plan::Fail(
        CoreError::new("ValidationException", "bad projection").with_retry(Retry::Validation),
      )
    }),
  );
  let keys: Vec<Encoded> = (0..3).map(|i| enc(&format!("{{2:pkd{i};}}"))).collect();
  let out = batch_get(fake.clone(), &cfg(), &hooks(), keys, ident())
    .await
    .unwrap();
  assert!(out.reads.iter().all(|r| r
    == &Read::Failed {
      reason: "ValidationException".into(),
      message: "bad projection".into(),
      attempts: 1
    }));
  assert_eq!(fake.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_abort_fails_the_keys_not_yet_read() {
  let fake = Fake::new(
    (0..300).map(|i| item(&i.to_string(), "x")),
    Box::new(|_, keys| Plan::Answer {
      unprocessed: (0..keys.len()).collect(),
      extra: vec![],
    }),
  );
  let keys: Vec<Encoded> = (0..300).map(|i| enc(&format!("{{2:pkd{i};}}"))).collect();
  let h = hooks();
  let abort = h.abort.clone();
  let mut c = cfg();
  c.max_in_flight = 1;
  c.retry.base_delay = Duration::from_secs(1);
  c.retry.max_delay = Duration::from_secs(1);
  let run = batch_get(fake.clone(), &c, &h, keys, ident());
  let stop = async {
    tokio::time::sleep(Duration::from_millis(10)).await;
    abort.abort();
  };
  let (out, _) = tokio::join!(run, stop);
  let out = out.unwrap();
  assert_eq!(out.failed(), 300);
  assert!(out
    .reads
    .iter()
    .all(|r| matches!(r, Read::Failed { reason, .. } if reason == "Aborted")));
  assert!(
    fake.requests().len() < 5,
    "nothing new is sent once aborted"
  );
}

#[tokio::test(start_paused = true)]
async fn requests_fit_the_rate_limit_and_projections_carry_the_key() {
  let fake = Fake::new(
    (0..30).map(|i| item(&i.to_string(), "x")),
    Box::new(|_, _| answer()),
  );
  let keys: Vec<Encoded> = (0..30).map(|i| enc(&format!("{{2:pkd{i};}}"))).collect();
  let mut h = hooks();
  h.limiter = Some(Arc::new(
    RateLimiter::fixed_in(Unit::Rcu, 10.0, None).unwrap(),
  ));
  let mut c = cfg();
  c.consistent = true;
  c.projection = Some(vec!["v".into()]);
  let out = batch_get(fake.clone(), &c, &h, keys, ident())
    .await
    .unwrap();
  assert_eq!(out.failed(), 0);
  let log = fake.log.lock().unwrap();
  assert!(
    log.iter().all(|(k, _)| k.len() <= 10),
    "10 RCU, 1 per consistent key"
  );
  let shape = &log[0].1;
  assert_eq!(shape["ConsistentRead"], true);
  assert_eq!(shape["ProjectionExpression"], "#proj0,#proj1");
  assert_eq!(shape["ExpressionAttributeNames"]["#proj1"], "pk");
}

#[tokio::test(start_paused = true)]
async fn no_keys_no_requests() {
  let fake = Fake::new([], Box::new(|_, _| answer()));
  let out = batch_get(fake.clone(), &cfg(), &hooks(), vec![], ident())
    .await
    .unwrap();
  assert!(out.reads.is_empty() && out.slots.is_empty());
  assert!(fake.requests().is_empty());
}
