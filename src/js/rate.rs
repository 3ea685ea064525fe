//! `NativeRate`: the shared token bucket behind `FixedRate` and `AdaptiveRate`.

use super::convert::{invalid, RateStatsJs};
use crate::error::INVALID_ARGUMENT;
use crate::rate_limit::RateLimiter;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

#[napi]
pub struct NativeRate {
  pub(crate) limiter: Arc<RateLimiter>,
}

#[napi]
impl NativeRate {
  #[napi(factory)]
  pub fn fixed(wcu: f64, burst: Option<f64>) -> Result<Self> {
    let limiter =
      napi::bindgen_prelude::within_runtime_if_available(|| RateLimiter::fixed(wcu, burst))
        .map_err(|m| invalid(INVALID_ARGUMENT, m))?;
    Ok(NativeRate {
      limiter: Arc::new(limiter),
    })
  }

  #[napi(factory)]
  pub fn adaptive(max_wcu: f64, min_wcu: Option<f64>, start_wcu: Option<f64>) -> Result<Self> {
    let limiter = napi::bindgen_prelude::within_runtime_if_available(|| {
      RateLimiter::adaptive(max_wcu, min_wcu, start_wcu)
    })
    .map_err(|m| invalid(INVALID_ARGUMENT, m))?;
    Ok(NativeRate {
      limiter: Arc::new(limiter),
    })
  }

  #[napi(getter)]
  pub fn current_wcu(&self) -> f64 {
    napi::bindgen_prelude::within_runtime_if_available(|| self.limiter.current())
  }

  #[napi]
  pub fn stats(&self) -> RateStatsJs {
    napi::bindgen_prelude::within_runtime_if_available(|| self.limiter.stats()).into()
  }
}
