//! Core errors become JS errors here, once: the right class (`InvalidItemError`, a real `TypeError` for
//! `InvalidArgument`, `DynabatchError` otherwise), with `err.code` set natively, and `requestId`,
//! `statusCode`, `path` and `cause` where there is one. The facade registers its classes at load time;
//! nothing in JS parses a message.

use super::raw::{Js, V};
use crate::error::{CoreError, INVALID_ARGUMENT, INVALID_ITEM};
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use std::cell::RefCell;

struct Classes {
  dynabatch: sys::napi_ref,
  invalid_item: sys::napi_ref,
  batch_write: sys::napi_ref,
}

thread_local! {
  static CLASSES: RefCell<Option<Classes>> = const { RefCell::new(None) };
}

/// Called once by the facade (lib/errors.js) with its error classes.
#[napi]
pub fn register_error_classes(
  env: Env,
  dynabatch_error: Unknown,
  invalid_item_error: Unknown,
  batch_write_error: Unknown,
) -> Result<()> {
  let js = Js::of(&env);
  let classes = Classes {
    dynabatch: js.new_ref(dynabatch_error.raw())?,
    invalid_item: js.new_ref(invalid_item_error.raw())?,
    batch_write: js.new_ref(batch_write_error.raw())?,
  };
  CLASSES.with(|c| {
    if let Some(old) = c.borrow_mut().replace(classes) {
      for r in [old.dynabatch, old.invalid_item, old.batch_write] {
        js.delete_ref(r);
      }
    }
  });
  Ok(())
}

#[derive(Clone, Copy)]
enum Class {
  Dynabatch,
  InvalidItem,
  BatchWrite,
}

/// `new Class(message)` for a registered class, or a plain Error when none is registered (tests of the
/// binding alone).
fn construct(js: Js, class: Class, code: &str, message: &str) -> Result<V> {
  let ctor = CLASSES.with(|c| {
    c.borrow().as_ref().map(|c| match class {
      Class::Dynabatch => c.dynabatch,
      Class::InvalidItem => c.invalid_item,
      Class::BatchWrite => c.batch_write,
    })
  });
  match ctor {
    Some(r) => {
      let ctor = js.ref_value(r)?;
      js.new_instance(ctor, &[js.string(message)?])
    }
    None => js.error(code, message),
  }
}

/// The JS error for a core error.
pub fn js_error(js: Js, e: &CoreError) -> Result<V> {
  let err = match e.code.as_str() {
    INVALID_ARGUMENT => js.type_error(&e.code, &e.message)?,
    INVALID_ITEM => construct(js, Class::InvalidItem, &e.code, &e.message)?,
    _ => construct(js, Class::Dynabatch, &e.code, &e.message)?,
  };
  js.set(err, "code", js.string(&e.code)?)?;
  if let Some(id) = &e.request_id {
    js.set(err, "requestId", js.string(id)?)?;
  }
  if let Some(s) = e.status {
    js.set(err, "statusCode", js.number(s as f64)?)?;
  }
  if let Some(p) = &e.path {
    js.set(err, "path", js.string(p)?)?;
  }
  if let Some(c) = &e.cause {
    js.set(err, "cause", js_error(js, c)?)?;
  }
  Ok(err)
}

/// A `BatchWriteError` with its `failed` entries and `result`.
pub fn batch_write_error(js: Js, message: &str, failed: V, result: V) -> Result<V> {
  let err = construct(
    js,
    Class::BatchWrite,
    crate::error::BATCH_WRITE_FAILED,
    message,
  )?;
  js.set(err, "code", js.string(crate::error::BATCH_WRITE_FAILED)?)?;
  js.set(err, "failed", failed)?;
  js.set(err, "result", result)?;
  Ok(err)
}

/// A napi error that throws (or rejects with) exactly this JS value.
pub fn throwable(js: Js, value: V) -> Error {
  Error::from(unsafe { Unknown::from_raw_unchecked(js.env, value) })
}

/// Converts a core error for a `Result` returned to napi (thrown, or a rejection).
pub fn to_napi(env: &Env, e: &CoreError) -> Error {
  let js = Js::of(env);
  match js_error(js, e) {
    Ok(v) => throwable(js, v),
    Err(err) => err,
  }
}
