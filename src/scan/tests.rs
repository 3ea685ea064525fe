use super::*;
use crate::rate_limit::Unit;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::FutureExt;
use std::collections::HashSet;
use std::time::Duration;

/// A table of `n` items (pk N = 0..n); segment s holds the items with pk % total == s; pages of `Limit`
/// items (50 without one), a LastEvaluatedKey whenever a page was cut, as DynamoDB does (so a segment may
/// end with an empty page). Each item costs 0.5 RCU.
struct Fake {
  n: u64,
  /// Called with the request's number (1-based): an error to return instead of the page.
  fail: Box<dyn Fn(usize) -> Option<CoreError> + Send + Sync>,
  /// Items a filter would drop: pages keep their keys but return fewer items.
  drop_item: fn(u64) -> bool,
  log: Mutex<Vec<serde_json::Value>>,
}

impl Fake {
  fn new(n: u64) -> Arc<Fake> {
    Arc::new(Fake {
      n,
      fail: Box::new(|_| None),
      drop_item: |_| false,
      log: Mutex::new(Vec::new()),
    })
  }
  fn calls(&self) -> usize {
    self.log.lock().unwrap().len()
  }
}

impl PageSource for Fake {
  fn page(
    &self,
    _table: &str,
    body: Vec<u8>,
    _units: f64,
    _limiter: Option<Arc<RateLimiter>>,
    _policy: RetryPolicy,
  ) -> BoxFuture<'static, Result<ScanReply, CoreError>> {
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let call = {
      let mut log = self.log.lock().unwrap();
      log.push(v.clone());
      log.len()
    };
    if let Some(e) = (self.fail)(call) {
      return async move { Err(e) }.boxed();
    }
    let total = v["TotalSegments"].as_u64().unwrap_or(1);
    let seg = v["Segment"].as_u64().unwrap_or(0);
    let limit = v["Limit"].as_u64().unwrap_or(50) as usize;
    let after = v["ExclusiveStartKey"]["pk"]["N"]
      .as_str()
      .map(|s| s.parse::<u64>().unwrap());
    let ids: Vec<u64> = (0..self.n)
      .filter(|i| i % total == seg && after.is_none_or(|a| *i > a))
      .take(limit)
      .collect();
    let last_key = (ids.len() == limit).then(|| {
      AvMap::from([(
        "pk".to_string(),
        AttributeValue::N(ids.last().unwrap().to_string()),
      )])
    });
    let items = ids
      .iter()
      .filter(|i| !(self.drop_item)(**i))
      .map(|i| AvMap::from([("pk".to_string(), AttributeValue::N(i.to_string()))]))
      .collect();
    let reply = ScanReply {
      items,
      scanned: ids.len() as u32,
      consumed_rcu: ids.len() as f64 * 0.5,
      last_key,
    };
    async move { Ok(reply) }.boxed()
  }
}

fn spawner() -> Spawner {
  Arc::new(|f| {
    tokio::spawn(f);
  })
}

/// Pages as the pks they hold.
fn ids() -> Convert<Vec<u64>> {
  Arc::new(|p: RawPage| {
    p.items
      .iter()
      .map(|m| match &m["pk"] {
        AttributeValue::N(n) => n.parse().unwrap(),
        _ => unreachable!(),
      })
      .collect()
  })
}

fn scanner(fake: &Arc<Fake>, cfg: ScanConfig) -> Scanner<Vec<u64>> {
  Scanner::new(fake.clone(), cfg, ids(), spawner())
}

async fn drain(s: &Scanner<Vec<u64>>) -> Result<Vec<u64>, CoreError> {
  let mut all = Vec::new();
  while let Some(batch) = s.next_batch(8).await {
    for page in batch? {
      all.extend(page);
    }
  }
  Ok(all)
}

#[tokio::test(start_paused = true)]
async fn every_item_exactly_once_with_one_four_and_eight_segments() {
  for segments in [1, 4, 8] {
    let fake = Fake::new(1000);
    let mut cfg = ScanConfig::new("t");
    cfg.total_segments = segments;
    cfg.page_size = Some(30);
    let s = scanner(&fake, cfg);
    let all = drain(&s).await.unwrap();
    assert_eq!(all.len(), 1000, "{segments} segments");
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 1000);
    let p = s.progress();
    assert_eq!(
      (p.items, p.scanned, p.segments_done),
      (1000, 1000, segments)
    );
    assert_eq!(p.consumed_rcu, 500.0);
    let log = fake.log.lock().unwrap();
    assert!(log.iter().all(|r| r["Limit"] == 30));
    let segs: HashSet<u64> = log.iter().filter_map(|r| r["Segment"].as_u64()).collect();
    assert_eq!(segs.len() as u32, if segments == 1 { 0 } else { segments });
    assert!(log
      .iter()
      .all(|r| r["TotalSegments"].as_u64().unwrap_or(1) == segments as u64));
  }
}

#[tokio::test(start_paused = true)]
async fn nothing_is_read_before_the_first_call() {
  let fake = Fake::new(10);
  let s = scanner(&fake, ScanConfig::new("t"));
  tokio::time::sleep(Duration::from_secs(1)).await;
  assert_eq!(fake.calls(), 0);
  assert_eq!(drain(&s).await.unwrap().len(), 10);
}

#[tokio::test(start_paused = true)]
async fn a_slow_consumer_holds_the_reads_back() {
  let fake = Fake::new(100_000);
  let mut cfg = ScanConfig::new("t");
  cfg.total_segments = 4;
  cfg.page_size = Some(10);
  cfg.buffer_pages = 3;
  let s = scanner(&fake, cfg);
  let mut taken = 0;
  for _ in 0..20 {
    taken += s.next_batch(1).await.unwrap().unwrap().len();
    // the consumer is busy: every reader gets all the time it wants
    tokio::time::sleep(Duration::from_secs(5)).await;
    let read = fake.calls();
    assert!(
      read <= taken + 3 + 4,
      "{read} pages read for {taken} taken (3 queued, one waiting per segment)"
    );
  }
  s.close();
  assert!(
    s.next_batch(8).await.is_none(),
    "closed: the scan ends quietly"
  );
  let read = fake.calls();
  tokio::time::sleep(Duration::from_secs(5)).await;
  assert_eq!(fake.calls(), read, "closed: nothing more is read");
}

#[tokio::test(start_paused = true)]
async fn a_failed_page_ends_the_scan_after_the_pages_read_before_it() {
  let fake = Arc::new(Fake {
    fail: Box::new(|call| {
      (call == 4).then(|| CoreError::new("ProvisionedThroughputExceededException", "slow down"))
    }),
    ..Arc::into_inner(Fake::new(1000)).unwrap()
  });
  let mut cfg = ScanConfig::new("t");
  cfg.page_size = Some(10);
  let s = scanner(&fake, cfg);
  let mut pages = 0;
  let err = loop {
    match s.next_batch(8).await {
      Some(Ok(b)) => pages += b.len(),
      Some(Err(e)) => break e,
      None => panic!("the scan must not end as if complete"),
    }
  };
  assert_eq!(pages, 3);
  assert_eq!(err.code, "ProvisionedThroughputExceededException");
  assert!(s.next_batch(8).await.is_none());
}

#[tokio::test(start_paused = true)]
async fn an_abort_rejects_the_next_call() {
  let fake = Fake::new(100_000);
  let mut cfg = ScanConfig::new("t");
  cfg.page_size = Some(10);
  let s = scanner(&fake, cfg);
  assert!(s.next_batch(1).await.unwrap().is_ok());
  s.abort();
  let e = s.next_batch(1).await.unwrap().unwrap_err();
  assert_eq!(e.code, error::ABORTED);
}

#[tokio::test(start_paused = true)]
async fn pages_a_filter_emptied_are_skipped_and_followed() {
  let fake = Arc::new(Fake {
    drop_item: |i| !(200..210).contains(&i),
    ..Arc::into_inner(Fake::new(1000)).unwrap()
  });
  let mut cfg = ScanConfig::new("t");
  cfg.page_size = Some(100);
  let s = scanner(&fake, cfg);
  let mut batches = Vec::new();
  while let Some(b) = s.next_batch(8).await {
    batches.extend(b.unwrap());
  }
  assert_eq!(batches, vec![(200..210).collect::<Vec<u64>>()]);
  assert_eq!(
    fake.calls(),
    11,
    "ten full pages and the empty one after the last key"
  );
  assert_eq!(s.progress().scanned, 1000);
}

#[tokio::test(start_paused = true)]
async fn with_a_rate_limit_pages_fit_the_bucket() {
  let fake = Fake::new(200);
  let mut cfg = ScanConfig::new("t");
  cfg.limiter = Some(Arc::new(
    RateLimiter::fixed_in(Unit::Rcu, 5.0, None).unwrap(),
  ));
  let s = scanner(&fake, cfg);
  assert_eq!(drain(&s).await.unwrap().len(), 200);
  let log = fake.log.lock().unwrap();
  assert_eq!(
    log[0]["Limit"], 1,
    "the first page learns what an item costs"
  );
  assert!(
    log[1..].iter().all(|r| r["Limit"] == 10),
    "5 RCU at 0.5 per item"
  );
}
