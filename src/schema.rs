//! The key-schema policy, once. A client reads each table's key schema with DescribeTable at most once at a
//! time (concurrent readers of one table share one request: single flight), caches what it read, and
//! forgets a failed read (the next caller tries again). What a caller does while it is unknown, or when
//! it cannot be read, is decided here too:
//!
//! - writers hold operations until the schema is known, so a bad key is refused by the `put` itself, and
//!   fail them when it cannot be read: `KeySchemaUnavailable` (pass `keySchema`) for a permission or
//!   service problem, the service's own error for a table that does not exist or a name it refuses;
//! - single-item calls check the key when the schema can be read and skip the check otherwise (DynamoDB
//!   checks it anyway), except for a missing table or an invalid name, which fail the call.

use crate::error::{CoreError, KEY_SCHEMA_UNAVAILABLE};
use crate::key::KeySchema;
use futures_util::future::{BoxFuture, FutureExt, Shared};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Loading = Shared<BoxFuture<'static, Result<Arc<KeySchema>, CoreError>>>;

enum Slot {
  Known(Arc<KeySchema>),
  Loading(Loading),
}

#[derive(Default)]
pub struct Schemas {
  slots: Mutex<HashMap<String, Slot>>,
}

/// Errors of a schema read that are the caller's own (a table that does not exist, an invalid name) rather
/// than the schema being out of reach.
pub fn is_callers_error(e: &CoreError) -> bool {
  e.code == "ResourceNotFoundException"
    || e.code == "ValidationException"
    || e.code == crate::error::INVALID_ARGUMENT
}

impl Schemas {
  pub fn cached(&self, table: &str) -> Option<Arc<KeySchema>> {
    match self.slots.lock().unwrap().get(table) {
      Some(Slot::Known(s)) => Some(s.clone()),
      _ => None,
    }
  }

  pub fn insert(&self, table: &str, schema: KeySchema) {
    self
      .slots
      .lock()
      .unwrap()
      .insert(table.to_string(), Slot::Known(Arc::new(schema)));
  }

  pub fn forget(&self, table: &str) {
    self.slots.lock().unwrap().remove(table);
  }

  /// The table's schema: cached, or read by `load` once for all concurrent callers.
  pub async fn get<F>(self: &Arc<Self>, table: &str, load: F) -> Result<Arc<KeySchema>, CoreError>
  where
    F: FnOnce() -> BoxFuture<'static, Result<KeySchema, CoreError>>,
  {
    let fut = {
      let mut slots = self.slots.lock().unwrap();
      match slots.get(table) {
        Some(Slot::Known(s)) => return Ok(s.clone()),
        Some(Slot::Loading(f)) => f.clone(),
        None => {
          let this = Arc::downgrade(self);
          let name = table.to_string();
          let inner = load();
          let f: Loading = async move {
            let res = inner.await.map(Arc::new);
            if let Some(this) = this.upgrade() {
              let mut slots = this.slots.lock().unwrap();
              match &res {
                Ok(s) => {
                  slots.insert(name, Slot::Known(s.clone()));
                }
                Err(_) => {
                  slots.remove(&name);
                }
              }
            }
            res
          }
          .boxed()
          .shared();
          slots.insert(table.to_string(), Slot::Loading(f.clone()));
          f
        }
      }
    };
    fut.await
  }
}

/// The error a writer reports for its operations when the schema could not be read.
pub fn unavailable(table: &str, e: CoreError) -> CoreError {
  if is_callers_error(&e) {
    return e;
  }
  CoreError::new(
    KEY_SCHEMA_UNAVAILABLE,
    format!(
      "could not read the key schema of table {table} ({}); pass the keySchema option, or allow dynamodb:DescribeTable",
      e.code
    ),
  )
  .with_cause(e)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::key::{KeyAttr, KeyType};
  use std::sync::atomic::{AtomicUsize, Ordering};
  use std::time::Duration;

  fn schema() -> KeySchema {
    KeySchema::new(KeyAttr::new("pk", KeyType::S), None)
  }

  #[tokio::test(start_paused = true)]
  async fn concurrent_readers_share_one_request_and_failures_are_not_cached() {
    let schemas = Arc::new(Schemas::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let load = |calls: Arc<AtomicUsize>, fail: Arc<std::sync::atomic::AtomicBool>| {
      move || -> BoxFuture<'static, Result<KeySchema, CoreError>> {
        async move {
          calls.fetch_add(1, Ordering::SeqCst);
          tokio::time::sleep(Duration::from_millis(50)).await;
          if fail.load(Ordering::SeqCst) {
            Err(CoreError::new("AccessDeniedException", "no"))
          } else {
            Ok(schema())
          }
        }
        .boxed()
      }
    };
    let mut tasks = Vec::new();
    for _ in 0..50 {
      let (s, c, f) = (schemas.clone(), calls.clone(), fail.clone());
      tasks.push(tokio::spawn(async move { s.get("t", load(c, f)).await }));
    }
    for t in tasks {
      assert_eq!(t.await.unwrap().unwrap_err().code, "AccessDeniedException");
    }
    assert_eq!(
      calls.load(Ordering::SeqCst),
      1,
      "one request for 50 concurrent readers"
    );
    fail.store(false, Ordering::SeqCst);
    let got = schemas
      .get("t", load(calls.clone(), fail.clone()))
      .await
      .unwrap();
    assert_eq!(*got, schema());
    assert_eq!(
      calls.load(Ordering::SeqCst),
      2,
      "a failed read is read again"
    );
    schemas
      .get("t", load(calls.clone(), fail.clone()))
      .await
      .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "then cached");
    assert!(schemas.cached("t").is_some());
  }

  #[test]
  fn advice_matches_the_cause() {
    let e = unavailable("t", CoreError::new("AccessDeniedException", "denied"));
    assert_eq!(e.code, KEY_SCHEMA_UNAVAILABLE);
    assert!(e.message.contains("pass the keySchema option"));
    assert_eq!(e.cause.unwrap().code, "AccessDeniedException");
    let e = unavailable("t", CoreError::new("ValidationException", "bad name"));
    assert_eq!(e.code, "ValidationException");
  }
}
