//! The napi binding: one file per JS concept (`client`, `writer`, `transact`, `read` (batchGet), `scan`,
//! `rate`, `credentials`), the native errors
//! (`error`), option reading (`options`) and shared conversions (`convert`, `raw`). These only convert JS
//! values and delegate to the core; `lib/` wraps them into the public API. Exercised from JS (`node --test`), so `cargo test` sees exports
//! as unused.
#![cfg_attr(test, allow(dead_code))]

mod client;
mod convert;
mod credentials;
mod error;
mod options;
mod rate;
mod raw;
mod read;
mod scan;
mod transact;
mod writer;
