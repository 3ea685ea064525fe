#![deny(clippy::all)]
//! dynabatch: napi-free core modules (marshalling, batching, retry, rate limiting, metrics, the DynamoDB
//! client) and, under `js`, the thin binding that converts and delegates.

/// mimalloc, as napi-rs's own packages use: the engine allocates on tokio's threads and frees on the JS
/// thread (and back), which glibc's allocator handles slowly.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod batch;
pub mod dynamo;
pub mod error;
pub mod marshal;
pub mod metrics;
pub mod rate_limit;
pub mod retry;

mod js;
