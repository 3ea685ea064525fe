//! The napi binding: one file per JS concept. These modules only convert values and delegate to the core;
//! `index.js` wraps them into the public API.

mod client;
mod convert;
mod rate;
mod writer;
