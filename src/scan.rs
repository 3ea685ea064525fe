//! scan: a table read in parallel segments, page by page (`Limit`/`ExclusiveStartKey`), handed to one
//! consumer through a bounded queue. Each segment is a task that reads its next page only when the queue
//! has room, so a consumer slower than the reads holds the reads back (memory stays bounded by the queue's
//! pages plus one page per segment). Pages are turned into what the consumer takes (`Convert`) on the
//! reading task, off the JS thread: the JS binding makes the codec's read wire, a job in Rust (an export,
//! a copy) takes the items themselves.
//!
//! Every page request is a call of its own (`Dynamo::run_limited`): retried as the strategy says,
//! recorded once per attempt, paced by the scan's rate limit in read capacity units. With a rate limit a
//! page is sized to fit the bucket: the first page of each segment reads one item, later ones as many as
//! the bucket holds at the capacity per item the previous page cost. A page that still fails ends the
//! scan: the consumer gets the pages read before it, then the error, never an end that looks complete.
//!
//! A job in Rust (an export, a copy) reads a table the same way as the JS binding: `Scanner::new` with
//! `SdkTransport(dynamo)`, a `ScanConfig`, a `Convert` that makes what the job writes (an export's
//! `{"Item":…}` lines with `json::av_map_into`; a copy's items for a writer), and a spawner; then
//! `next_batch` in a loop. The bounded queue holds the reads back while the job writes; `progress()` gives
//! its counts; `abort()`/`close()` stop it.

use crate::batch::Spawner;
use crate::batch_get::Abort;
use crate::error::{self, CoreError};
use crate::json::av_map_into;
use crate::rate_limit::RateLimiter;
use crate::read::AvMap;
use crate::request::{self, ReadShape, ScanPage};
use crate::retry::RetryPolicy;
use futures_util::future::BoxFuture;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

#[derive(Clone, Debug)]
pub struct ScanConfig {
  pub table: String,
  pub total_segments: u32,
  /// `Limit` of each page (items evaluated), or None for DynamoDB's 1 MB pages.
  pub page_size: Option<u32>,
  pub shape: ReadShape,
  pub filter: Option<String>,
  /// DynamoDB JSON of the filter's ExpressionAttributeValues.
  pub values: Option<Vec<u8>>,
  pub retry: RetryPolicy,
  /// In read capacity units.
  pub limiter: Option<Arc<RateLimiter>>,
  /// Pages read ahead of the consumer, at most (besides one per segment waiting to be queued).
  pub buffer_pages: usize,
}

impl ScanConfig {
  pub fn new(table: &str) -> Self {
    ScanConfig {
      table: table.to_string(),
      total_segments: 1,
      page_size: None,
      shape: ReadShape::default(),
      filter: None,
      values: None,
      retry: RetryPolicy::default(),
      limiter: None,
      buffer_pages: 2,
    }
  }
}

/// What one Scan request returned.
#[derive(Debug, Default)]
pub struct ScanReply {
  pub items: Vec<AvMap>,
  pub scanned: u32,
  pub consumed_rcu: f64,
  pub last_key: Option<AvMap>,
}

/// The scan's view of DynamoDB: one page, retried, paced and recorded. The SDK implements it
/// (`SdkTransport`); tests use scripted fakes.
pub trait PageSource: Send + Sync + 'static {
  fn page(
    &self,
    table: &str,
    body: Vec<u8>,
    units: f64,
    limiter: Option<Arc<RateLimiter>>,
    policy: RetryPolicy,
  ) -> BoxFuture<'static, Result<ScanReply, CoreError>>;
}

impl PageSource for crate::dynamo::SdkTransport {
  fn page(
    &self,
    table: &str,
    body: Vec<u8>,
    units: f64,
    limiter: Option<Arc<RateLimiter>>,
    policy: RetryPolicy,
  ) -> BoxFuture<'static, Result<ScanReply, CoreError>> {
    let dynamo = self.0.clone();
    let table = table.to_string();
    Box::pin(async move {
      dynamo
        .scan_page(&table, body.into(), units, limiter.as_ref(), &policy)
        .await
    })
  }
}

/// A page as a segment read it.
#[derive(Debug)]
pub struct RawPage {
  pub segment: u32,
  pub items: Vec<AvMap>,
  pub scanned: u32,
  pub consumed_rcu: f64,
}

/// Turns a page into what the consumer takes; runs on the reading task.
pub type Convert<T> = Arc<dyn Fn(RawPage) -> T + Send + Sync>;

/// What the scan has read so far (pages queued or taken).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
  pub pages: u64,
  pub items: u64,
  pub scanned: u64,
  pub consumed_rcu: f64,
  pub segments_done: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
  /// The consumer is done (it broke out of its loop): the scan ends quietly.
  Closed,
  /// The caller's signal: the consumer's next call rejects with Aborted.
  Aborted,
  /// A page failed; its error was handed to the consumer.
  Failed,
}

struct Shared {
  stop: Abort,
  why: Mutex<Option<Stop>>,
  pages: AtomicU64,
  items: AtomicU64,
  scanned: AtomicU64,
  consumed_rcu: Mutex<f64>,
  segments_done: AtomicU32,
}

impl Shared {
  fn halt(&self, why: Stop) {
    self.why.lock().unwrap().get_or_insert(why);
    self.stop.abort();
  }
}

type Starter = Box<dyn FnOnce() + Send>;

/// A running (or not yet started) scan: `next_batch` hands out pages in the order they were read.
pub struct Scanner<T> {
  shared: Arc<Shared>,
  rx: tokio::sync::Mutex<mpsc::Receiver<Result<T, CoreError>>>,
  start: Mutex<Option<Starter>>,
  /// A page's error found behind pages already handed out: the next call's.
  pending: Mutex<Option<CoreError>>,
  segments: u32,
}

impl<T: Send + 'static> Scanner<T> {
  /// Prepares the scan; nothing is read before the first `next_batch`.
  pub fn new(
    source: Arc<dyn PageSource>,
    cfg: ScanConfig,
    convert: Convert<T>,
    spawner: Spawner,
  ) -> Self {
    let (tx, rx) = mpsc::channel(cfg.buffer_pages.max(1));
    let shared = Arc::new(Shared {
      stop: Abort::default(),
      why: Mutex::new(None),
      pages: AtomicU64::new(0),
      items: AtomicU64::new(0),
      scanned: AtomicU64::new(0),
      consumed_rcu: Mutex::new(0.0),
      segments_done: AtomicU32::new(0),
    });
    let segments = cfg.total_segments.max(1);
    let sh = shared.clone();
    let start: Starter = Box::new(move || {
      let cfg = Arc::new(cfg);
      for seg in 0..segments {
        let task = segment(
          sh.clone(),
          source.clone(),
          cfg.clone(),
          convert.clone(),
          tx.clone(),
          seg,
        );
        spawner(Box::pin(task));
      }
      // The segments hold the only senders: the queue ends when the last one finishes.
      drop(tx);
    });
    Scanner {
      shared,
      rx: tokio::sync::Mutex::new(rx),
      start: Mutex::new(Some(start)),
      pending: Mutex::new(None),
      segments,
    }
  }

  pub fn segments(&self) -> u32 {
    self.segments
  }

  /// The next pages read (at least one, at most `max_pages`, as many as are queued), waiting for one if
  /// none is. None once every segment is read, or after `close`; `Aborted` after `abort`; a page's error
  /// once, after the pages read before it.
  pub async fn next_batch(&self, max_pages: usize) -> Option<Result<Vec<T>, CoreError>> {
    if let Some(start) = self.start.lock().unwrap().take() {
      start();
    }
    let mut rx = self.rx.lock().await;
    if let Some(e) = self.pending.lock().unwrap().take() {
      self.shared.halt(Stop::Failed);
      return Some(Err(e));
    }
    let first = tokio::select! {
      biased;
      r = rx.recv() => r,
      _ = self.shared.stop.wait() => None,
    };
    let stopped = *self.shared.why.lock().unwrap();
    match (first, stopped) {
      (_, Some(Stop::Aborted)) => Some(Err(aborted())),
      (_, Some(Stop::Closed | Stop::Failed)) | (None, None) => None,
      (Some(Err(e)), None) => {
        self.shared.halt(Stop::Failed);
        Some(Err(e))
      }
      (Some(Ok(page)), None) => {
        let mut out = vec![page];
        while out.len() < max_pages.max(1) {
          match rx.try_recv() {
            Ok(Ok(p)) => out.push(p),
            Ok(Err(e)) => {
              // Handed out after these pages, by the next call.
              *self.pending.lock().unwrap() = Some(e);
              break;
            }
            Err(_) => break,
          }
        }
        Some(Ok(out))
      }
    }
  }

  /// Ends the scan quietly: segments stop, queued pages are dropped, `next_batch` gives None.
  pub fn close(&self) {
    self.shared.halt(Stop::Closed);
  }

  /// Ends the scan for the caller's signal: `next_batch` rejects with Aborted.
  pub fn abort(&self) {
    self.shared.halt(Stop::Aborted);
  }

  pub fn progress(&self) -> Progress {
    let s = &self.shared;
    Progress {
      pages: s.pages.load(Ordering::Relaxed),
      items: s.items.load(Ordering::Relaxed),
      scanned: s.scanned.load(Ordering::Relaxed),
      consumed_rcu: *s.consumed_rcu.lock().unwrap(),
      segments_done: s.segments_done.load(Ordering::Relaxed),
    }
  }
}

fn aborted() -> CoreError {
  CoreError::new(
    error::ABORTED,
    "the scan's signal was aborted before the table was read",
  )
}

/// A page's `Limit` and its estimated read capacity. Without a rate limit: the caller's page size (or
/// DynamoDB's 1 MB pages) and no estimate. With one: the first page reads one item (its cost is learned),
/// later pages as many items as the bucket holds at the previous page's cost per item.
fn sizing(cfg: &ScanConfig, per_item: Option<f64>) -> (Option<u32>, f64) {
  let Some(l) = &cfg.limiter else {
    return (cfg.page_size, 0.0);
  };
  let min_page = if cfg.shape.consistent { 1.0 } else { 0.5 };
  match per_item {
    None => (Some(1), min_page),
    // A server that reports no capacity: pages as asked, each taken at the least a page costs.
    Some(u) if u <= 0.0 => (cfg.page_size, min_page),
    Some(u) => {
      let fit = (l.max_units() / u).floor().clamp(1.0, u32::MAX as f64) as u32;
      let n = cfg.page_size.map_or(fit, |p| p.min(fit));
      (Some(n), (n as f64 * u).max(min_page))
    }
  }
}

async fn segment<T: Send + 'static>(
  sh: Arc<Shared>,
  source: Arc<dyn PageSource>,
  cfg: Arc<ScanConfig>,
  convert: Convert<T>,
  tx: mpsc::Sender<Result<T, CoreError>>,
  seg: u32,
) {
  let mut start_key: Option<Vec<u8>> = None;
  let mut per_item: Option<f64> = None;
  loop {
    let (limit, units) = sizing(&cfg, per_item);
    let body = request::scan(&ScanPage {
      table: &cfg.table,
      segment: (seg, cfg.total_segments.max(1)),
      limit,
      start_key: start_key.as_deref(),
      shape: &cfg.shape,
      filter: cfg.filter.as_deref(),
      values: cfg.values.as_deref(),
    });
    let fetch = source.page(
      &cfg.table,
      body,
      units,
      cfg.limiter.clone(),
      cfg.retry.clone(),
    );
    let res = tokio::select! {
      biased;
      _ = sh.stop.wait() => return,
      r = fetch => r,
    };
    let page = match res {
      Ok(p) => p,
      Err(e) => {
        let _ = tx.send(Err(e)).await;
        return;
      }
    };
    if page.scanned > 0 {
      per_item = Some(page.consumed_rcu / page.scanned as f64);
    }
    let next = match &page.last_key {
      None => None,
      Some(k) => {
        let mut out = Vec::with_capacity(64);
        if !av_map_into(&mut out, k) {
          let e = CoreError::new(
            error::INTERNAL,
            "a Scan's LastEvaluatedKey holds a type this version cannot send back",
          );
          let _ = tx.send(Err(e)).await;
          return;
        }
        Some(out)
      }
    };
    let n = page.items.len() as u64;
    sh.pages.fetch_add(1, Ordering::Relaxed);
    sh.items.fetch_add(n, Ordering::Relaxed);
    sh.scanned.fetch_add(page.scanned as u64, Ordering::Relaxed);
    *sh.consumed_rcu.lock().unwrap() += page.consumed_rcu;
    // A page the filter emptied is not handed out; its key still leads to the next one.
    if n > 0 {
      let converted = convert(RawPage {
        segment: seg,
        items: page.items,
        scanned: page.scanned,
        consumed_rcu: page.consumed_rcu,
      });
      let sent = tokio::select! {
        biased;
        _ = sh.stop.wait() => return,
        r = tx.send(Ok(converted)) => r,
      };
      if sent.is_err() {
        return;
      }
    }
    match next {
      Some(k) => start_key = Some(k),
      None => break,
    }
  }
  sh.segments_done.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests;
