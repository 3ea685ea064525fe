//! `FixedRate` and `AdaptiveRate`: the shared token buckets, as JS classes. Options are validated by
//! `config.rs`'s rules; the bucket is `rate_limit.rs`. A bucket is in write capacity units (`wcu`,
//! `maxWcu`…) or in read capacity units (`rcu`, `maxRcu`…), never both: writes take WCU buckets, reads
//! RCU ones.

use super::convert::RateStatsJs;
use super::error::to_napi;
use super::options::JsOptions;
use super::raw::Js;
use crate::config::Options;
use crate::error::CoreError;
use crate::rate_limit::{RateLimiter, Unit};
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

/// The unit of a bucket's options: WCU when any `…wcu` option is given, RCU for `…rcu` ones, refused when
/// both are (`key` names the options, e.g. "max" for maxWcu/maxRcu).
fn unit_of(what: &str, o: &Options<'_>, names: &[&str]) -> std::result::Result<Unit, CoreError> {
  let given = |u: Unit| {
    names.iter().any(|n| {
      !matches!(
        o.raw(&u.option(n)),
        crate::config::Value::Absent | crate::config::Value::Null
      )
    })
  };
  match (given(Unit::Wcu), given(Unit::Rcu)) {
    (true, true) => Err(CoreError::invalid_argument(format!(
      "{what} counts write or read capacity units, not both: give {} or {}",
      Unit::Wcu.option(names[0]),
      Unit::Rcu.option(names[0])
    ))),
    (false, true) => Ok(Unit::Rcu),
    _ => Ok(Unit::Wcu),
  }
}

/// `unit`: the bucket's unit, 'WCU' or 'RCU'; `currentWcu`/`currentRcu`: its rate in force, in its unit
/// (the other is null).
fn current_in(limiter: &RateLimiter, unit: Unit) -> Option<f64> {
  (limiter.unit() == unit).then(|| within_runtime_if_available(|| limiter.current()))
}

/// A token bucket of `wcu` write (or `rcu` read) capacity units per second (bucket size `burst`, default
/// the rate), shared by every writer and call that holds it.
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
      &["wcu", "rcu", "burst"],
    )
    .map_err(|e| to_napi(&env, &e))?;
    let get = |n: &str| opts.value(n);
    let o = Options::new(&get);
    let (unit, rate, burst) = (|| {
      let unit = unit_of("FixedRate", &o, &[""])?;
      Ok::<_, CoreError>((unit, required(&o, &unit.option(""))?, o.number("burst")?))
    })()
    .map_err(|e| to_napi(&env, &e))?;
    Ok(FixedRate {
      limiter: limiter(&env, || RateLimiter::fixed_in(unit, rate, burst))?,
    })
  }

  /// 'WCU' or 'RCU'.
  #[napi(getter, ts_return_type = "'WCU' | 'RCU'")]
  pub fn unit(&self) -> &'static str {
    self.limiter.unit().as_str()
  }

  /// The configured rate, WCU per second (null for an RCU bucket).
  #[napi(getter)]
  pub fn current_wcu(&self) -> Option<f64> {
    current_in(&self.limiter, Unit::Wcu)
  }

  /// The configured rate, RCU per second (null for a WCU bucket).
  #[napi(getter)]
  pub fn current_rcu(&self) -> Option<f64> {
    current_in(&self.limiter, Unit::Rcu)
  }

  #[napi]
  pub fn stats(&self) -> RateStatsJs {
    within_runtime_if_available(|| self.limiter.stats()).into()
  }
}

/// A token bucket whose rate halves on throttling and climbs back by `maxWcu / 20` per quiet second, within
/// [`minWcu`, `maxWcu`] (or the same in RCU: `maxRcu`, `minRcu`, `startRcu`).
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
      &[
        "maxWcu", "minWcu", "startWcu", "maxRcu", "minRcu", "startRcu",
      ],
    )
    .map_err(|e| to_napi(&env, &e))?;
    let get = |n: &str| opts.value(n);
    let o = Options::new(&get);
    let (unit, max, min, start) = (|| {
      let unit = unit_of("AdaptiveRate", &o, &["max", "min", "start"])?;
      Ok::<_, CoreError>((
        unit,
        required(&o, &unit.option("max"))?,
        o.number(&unit.option("min"))?,
        o.number(&unit.option("start"))?,
      ))
    })()
    .map_err(|e| to_napi(&env, &e))?;
    Ok(AdaptiveRate {
      limiter: limiter(&env, || RateLimiter::adaptive_in(unit, max, min, start))?,
    })
  }

  /// 'WCU' or 'RCU'.
  #[napi(getter, ts_return_type = "'WCU' | 'RCU'")]
  pub fn unit(&self) -> &'static str {
    self.limiter.unit().as_str()
  }

  /// The rate in force now, WCU per second (null for an RCU bucket).
  #[napi(getter)]
  pub fn current_wcu(&self) -> Option<f64> {
    current_in(&self.limiter, Unit::Wcu)
  }

  /// The rate in force now, RCU per second (null for a WCU bucket).
  #[napi(getter)]
  pub fn current_rcu(&self) -> Option<f64> {
    current_in(&self.limiter, Unit::Rcu)
  }

  #[napi]
  pub fn stats(&self) -> RateStatsJs {
    within_runtime_if_available(|| self.limiter.stats()).into()
  }
}

/// The `rateLimit` option of writes: a FixedRate or an AdaptiveRate in WCU.
pub fn rate_option(opts: &JsOptions) -> std::result::Result<Option<Arc<RateLimiter>>, CoreError> {
  rate_option_in(opts, Unit::Wcu)
}

/// The `rateLimit` option: a FixedRate or an AdaptiveRate in `unit` (a bucket never mixes units).
pub fn rate_option_in(
  opts: &JsOptions,
  unit: Unit,
) -> std::result::Result<Option<Arc<RateLimiter>>, CoreError> {
  let Some(v) = opts.raw("rateLimit")? else {
    return Ok(None);
  };
  let env = opts.js.env;
  let (class, limiter) =
    if let Ok(r) = unsafe { ClassInstance::<FixedRate>::from_napi_value(env, v) } {
      ("FixedRate", r.limiter.clone())
    } else if let Ok(r) = unsafe { ClassInstance::<AdaptiveRate>::from_napi_value(env, v) } {
      ("AdaptiveRate", r.limiter.clone())
    } else {
      return Err(crate::config::invalid(
        "rateLimit",
        "a FixedRate or an AdaptiveRate",
        &opts.value("rateLimit"),
      ));
    };
  if limiter.unit() != unit {
    let what = match unit {
      Unit::Wcu => "writes",
      Unit::Rcu => "reads",
    };
    return Err(CoreError::invalid_argument(format!(
      "rateLimit must be a FixedRate or an AdaptiveRate in {} for {what}, got a {class} in {}",
      unit.as_str(),
      limiter.unit().as_str()
    )));
  }
  Ok(Some(limiter))
}
