#![deny(clippy::all)]
//! dynabatch's core, napi-free: the item rules (`item`, `number`, `key`), the request bodies (`json`,
//! `request`), the batch engine (`batch`), bulk reads (`batch_get`, `scan`), transactions (`transact`), the
//! key-schema policy (`schema`), retries (`retry`), rate limiting, metrics, reads (`read`), option validation
//! (`config`) and the DynamoDB client (`dynamo`). The binding under `js` converts JS values and delegates to
//! these.

pub mod batch;
pub mod batch_get;
pub mod config;
pub mod dynamo;
pub mod error;
pub mod item;
pub mod json;
pub mod key;
pub mod metrics;
pub mod number;
pub mod rate_limit;
pub mod read;
pub mod request;
pub mod retry;
pub mod scan;
pub mod schema;
pub mod transact;

mod js;
