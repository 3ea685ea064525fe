#![deny(clippy::all)]
//! dynabatch: napi-free core modules (marshalling, batching, retry, rate limiting, metrics, the DynamoDB
//! client) and, under `js`, the thin binding that converts and delegates.

pub mod batch;
pub mod dynamo;
pub mod error;
pub mod marshal;
pub mod metrics;
pub mod rate_limit;
pub mod retry;

mod js;
