//! `FixedRate` and `AdaptiveRate`: the shared token buckets, as JS classes. Options are validated by
//! `config.rs`'s rules; the bucket is `rate_limit.rs`.

use super::convert::RateStatsJs;
use super::error::to_napi;
use super::options::JsOptions;
use super::raw::Js;
use crate::config::Options;
use crate::error::CoreError;
use crate::rate_limit::RateLimiter;
use napi::bindgen_prelude::*;
use napi::JsValue;
use napi_derive::napi;
use std::sync::Arc;

fn limiter(
  env: &Env,
  make: impl FnOnce() -> std::result::Result<RateLimiter, String>,
) -> Result<Arc<RateLimiter>> {
  within_runtime_if_available(make)
    .map(Arc::new)
    .map_err(|m| to_napi(env, &CoreError::invalid_argument(m)))
}

fn required(o: &Options<'_>, name: &str) -> std::result::Result<f64, CoreError> {
  o.number(name)?
    .ok_or_else(|| crate::config::invalid(name, "a positive number", &o.raw(name)))
}

/// A token bucket of `wcu` write capacity units per second (bucket size `burst`, default `wcu`), shared by
/// every writer and call that holds it.
#[napi]
pub struct FixedRate {
  pub(crate) limiter: Arc<RateLimiter>,
}

#[napi]
impl FixedRate {
  #[napi(constructor)]
  pub fn new(env: Env, options: Unknown) -> Result<Self> {
    let opts = JsOptions::new(
      Js::of(&env),
      options.raw(),
      "FixedRate options",
      &["wcu", "burst"],
    )
    .map_err(|e| to_napi(&env, &e))?;
    let get = |n: &str| opts.value(n);
    let o = Options::new(&get);
    let (wcu, burst) = (|| Ok::<_, CoreError>((required(&o, "wcu")?, o.number("burst")?)))()
      .map_err(|e| to_napi(&env, &e))?;
    Ok(FixedRate {
      limiter: limiter(&env, || RateLimiter::fixed(wcu, burst))?,
    })
  }

  /// The configured rate, WCU per second.
  #[napi(getter)]
  pub fn current_wcu(&self) -> f64 {
    within_runtime_if_available(|| self.limiter.current())
  }

  #[napi]
  pub fn stats(&self) -> RateStatsJs {
    within_runtime_if_available(|| self.limiter.stats()).into()
  }
}

/// A token bucket whose rate halves on throttling and climbs back by `maxWcu / 20` per quiet second, within
/// [`minWcu`, `maxWcu`].
#[napi]
pub struct AdaptiveRate {
  pub(crate) limiter: Arc<RateLimiter>,
}

#[napi]
impl AdaptiveRate {
  #[napi(constructor)]
  pub fn new(env: Env, options: Unknown) -> Result<Self> {
    let opts = JsOptions::new(
      Js::of(&env),
      options.raw(),
      "AdaptiveRate options",
      &["maxWcu", "minWcu", "startWcu"],
    )
    .map_err(|e| to_napi(&env, &e))?;
    let get = |n: &str| opts.value(n);
    let o = Options::new(&get);
    let (max, min, start) = (|| {
      Ok::<_, CoreError>((
        required(&o, "maxWcu")?,
        o.number("minWcu")?,
        o.number("startWcu")?,
      ))
    })()
    .map_err(|e| to_napi(&env, &e))?;
    Ok(AdaptiveRate {
      limiter: limiter(&env, || RateLimiter::adaptive(max, min, start))?,
    })
  }

  /// The rate in force now, WCU per second.
  #[napi(getter)]
  pub fn current_wcu(&self) -> f64 {
    within_runtime_if_available(|| self.limiter.current())
  }

  #[napi]
  pub fn stats(&self) -> RateStatsJs {
    within_runtime_if_available(|| self.limiter.stats()).into()
  }
}

/// The `rateLimit` option: a FixedRate or an AdaptiveRate.
pub fn rate_option(opts: &JsOptions) -> std::result::Result<Option<Arc<RateLimiter>>, CoreError> {
  let Some(v) = opts.raw("rateLimit")? else {
    return Ok(None);
  };
  let env = opts.js.env;
  if let Ok(r) = unsafe { ClassInstance::<FixedRate>::from_napi_value(env, v) } {
    return Ok(Some(r.limiter.clone()));
  }
  if let Ok(r) = unsafe { ClassInstance::<AdaptiveRate>::from_napi_value(env, v) } {
    return Ok(Some(r.limiter.clone()));
  }
  Err(crate::config::invalid(
    "rateLimit",
    "a FixedRate or an AdaptiveRate",
    &opts.value("rateLimit"),
  ))
}
