//! `NativeScan`: the scan behind `client.scan`. `NativeClient::scan` judges the options on the JS thread
//! and returns the handle; nothing is read before the first `next()`. Each `next()` resolves to the pages
//! read since the previous one (at least one, each as JSON for `JSON.parse` with patches, made on the
//! reading task) or to null once the table is read. The queue between the segments and `next()` is bounded
//! (`bufferPages`), so a consumer slower than the reads holds them back.

use super::client::{table_arg, NativeClient};
use super::convert::{ok_or_throw, promise};
use super::options::JsOptions;
use super::rate::rate_option_in;
use super::raw::Js;
use super::read::{json_page, projection_option, JsonPageJs};
use super::writer::spawner;
use crate::config::{self, Options, SCAN_OPTIONS};
use crate::dynamo::SdkTransport;
use crate::rate_limit::{RateLimiter, Unit};
use crate::read::JsonPage;
use crate::request::ReadShape;
use crate::scan::{RawPage, Scanner};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Pages handed over in one `next()`, at most: one hop for many pages when the consumer lags.
const PAGES_PER_HOP: usize = 16;

#[napi(object)]
pub struct ReadRateStatsJs {
  pub current_rcu: f64,
  pub waits: f64,
  pub waited_ms: f64,
  pub throttles: f64,
}

#[napi(object)]
pub struct ScanMetricsJs {
  /// Pages, items returned and items evaluated (before the filter) so far.
  pub pages: f64,
  pub items: f64,
  pub scanned: f64,
  pub consumed_rcu: f64,
  pub segments: u32,
  pub segments_done: u32,
  pub elapsed_ms: f64,
  pub items_per_second: f64,
  pub rate_limit: Option<ReadRateStatsJs>,
}

#[napi]
pub struct NativeScan {
  scanner: Arc<Scanner<JsonPage>>,
  limiter: Option<Arc<RateLimiter>>,
  started: Mutex<Option<Instant>>,
}

#[napi]
impl NativeClient {
  /// A scan of `table` (not started): options, and the filter's names and values as the codec encodes
  /// them.
  #[napi(catch_unwind)]
  pub fn scan(
    &self,
    env: Env,
    table: Unknown,
    options: Unknown,
    names: Option<Utf16String>,
    values: Option<Utf16String>,
    values_bins: Option<Vec<Buffer>>,
  ) -> Result<NativeScan> {
    let js = Js::of(&env);
    let dynamo = self.dynamo.clone();
    let prepared = (|| {
      if dynamo.is_closed() {
        return Err(crate::error::CoreError::new(
          crate::error::CLIENT_CLOSED,
          "the client is closed",
        ));
      }
      let table = table_arg(js, table.raw())?;
      let opts = JsOptions::new(js, options.raw(), "scan options", SCAN_OPTIONS)?;
      let get = |n: &str| opts.value(n);
      let mut cfg = config::scan_config(&table, &Options::new(&get))?;
      let filter = self.expression(&opts, "filterExpression", names, values, values_bins)?;
      let projection = projection_option(&opts)?;
      cfg.shape = ReadShape::new(
        cfg.shape.consistent,
        projection.as_deref(),
        filter.names.unwrap_or_default(),
      );
      cfg.filter = filter.expression;
      cfg.values = filter.values;
      cfg.limiter = rate_option_in(&opts, Unit::Rcu)?;
      Ok(cfg)
    })();
    let cfg = ok_or_throw(&env, prepared)?;
    let rules = dynamo.options().read_rules;
    let limiter = cfg.limiter.clone();
    let scanner = Scanner::new(
      Arc::new(SdkTransport(dynamo)),
      cfg,
      Arc::new(move |p: RawPage| JsonPage::new(&p.items, rules)),
      spawner(),
    );
    Ok(NativeScan {
      scanner: Arc::new(scanner),
      limiter,
      started: Mutex::new(None),
    })
  }
}

#[napi]
impl NativeScan {
  /// The pages read since the previous call (waiting for one), or null once the table is read or the
  /// scan closed. Rejects with a page's error (after the pages read before it), or Aborted.
  #[napi(catch_unwind)]
  pub fn next<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Option<Vec<JsonPageJs>>>> {
    self
      .started
      .lock()
      .unwrap()
      .get_or_insert_with(Instant::now);
    let scanner = self.scanner.clone();
    promise(env, async move {
      let pages = scanner.next_batch(PAGES_PER_HOP).await.transpose()?;
      Ok(pages.map(|pages| pages.into_iter().map(|p| json_page(p, false)).collect()))
    })
  }

  /// Ends the scan quietly (the consumer is done): reads stop, `next()` resolves to null.
  #[napi]
  pub fn close(&self) {
    self.scanner.close();
  }

  /// Ends the scan for the caller's signal: reads stop, `next()` rejects with Aborted.
  #[napi]
  pub fn abort(&self) {
    self.scanner.abort();
  }

  #[napi(getter)]
  pub fn metrics(&self) -> ScanMetricsJs {
    let p = self.scanner.progress();
    let elapsed_ms = self
      .started
      .lock()
      .unwrap()
      .map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0);
    ScanMetricsJs {
      pages: p.pages as f64,
      items: p.items as f64,
      scanned: p.scanned as f64,
      consumed_rcu: p.consumed_rcu,
      segments: self.scanner.segments(),
      segments_done: p.segments_done,
      elapsed_ms,
      items_per_second: if elapsed_ms > 0.0 {
        p.items as f64 * 1000.0 / elapsed_ms
      } else {
        0.0
      },
      rate_limit: self.limiter.as_ref().map(|l| {
        let s = within_runtime_if_available(|| l.stats());
        ReadRateStatsJs {
          current_rcu: s.current,
          waits: s.waits as f64,
          waited_ms: s.waited_ms,
          throttles: s.throttles as f64,
        }
      }),
    }
  }
}
