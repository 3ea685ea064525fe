//! The raw Rust SDK row of `npm run bench`: aws-sdk-dynamodb itself writing the benchmark's items with
//! BatchWriteItem, 25 per request, `inFlight` requests at once, UnprocessedItems re-sent with backoff — the
//! ceiling of any client built on this SDK. The items are built as `AttributeValue` maps before the clock
//! starts, so what is measured is the SDK's own cost (serialization, signing, HTTP).
//!
//! Usage: sdk_peer <endpoint> <items> [inFlight]; prints one JSON line like benchmark/peer.js.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The same ~200-byte user record as benchmark/items.js.
fn item(i: usize) -> HashMap<String, AttributeValue> {
  let s = |v: String| AttributeValue::S(v);
  let n = |v: String| AttributeValue::N(v);
  HashMap::from([
    ("pk".into(), s(format!("USER#{i}"))),
    ("sk".into(), s("PROFILE".into())),
    ("name".into(), s(format!("User number {i}"))),
    ("email".into(), s(format!("user{i}@example.com"))),
    ("age".into(), n((20 + i % 50).to_string())),
    ("active".into(), AttributeValue::Bool(i.is_multiple_of(2))),
    (
      "tags".into(),
      AttributeValue::L(vec![s("a".into()), s("b".into()), s("c".into())]),
    ),
    (
      "address".into(),
      AttributeValue::M(HashMap::from([
        ("city".into(), s("Paris".into())),
        ("zip".into(), s("75001".into())),
      ])),
    ),
    ("score".into(), n(format!("{}", i as f64 * 1.5))),
  ])
}

/// user + system CPU seconds of this process, and its peak RSS in MB (Linux /proc).
fn usage() -> (f64, f64) {
  let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
  let fields: Vec<&str> = stat
    .rsplit(')')
    .next()
    .unwrap_or("")
    .split_whitespace()
    .collect();
  let ticks = |i: usize| {
    fields
      .get(i)
      .and_then(|v| v.parse::<f64>().ok())
      .unwrap_or(0.0)
  };
  let cpu = (ticks(11) + ticks(12)) / 100.0; // utime + stime, in clock ticks of 1/100 s
  let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
  let hwm_kb = status
    .lines()
    .find(|l| l.starts_with("VmHWM:"))
    .and_then(|l| l.split_whitespace().nth(1))
    .and_then(|v| v.parse::<f64>().ok())
    .unwrap_or(0.0);
  (cpu, hwm_kb / 1024.0)
}

fn main() {
  let args: Vec<String> = std::env::args().collect();
  let endpoint = args.get(1).expect("endpoint").clone();
  let n: usize = args.get(2).expect("items").parse().unwrap();
  let in_flight: usize = args.get(3).map(|v| v.parse().unwrap()).unwrap_or(16);
  let rt = tokio::runtime::Builder::new_multi_thread()
    .enable_all()
    .build()
    .unwrap();
  rt.block_on(async move {
    let conf = aws_sdk_dynamodb::Config::builder()
      .behavior_version(BehaviorVersion::latest())
      .endpoint_url(endpoint)
      .region(Region::new("us-east-1"))
      .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
      .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let batches: Vec<Vec<WriteRequest>> = (0..n)
      .collect::<Vec<_>>()
      .chunks(25)
      .map(|c| {
        c.iter()
          .map(|&i| {
            WriteRequest::builder()
              .put_request(PutRequest::builder().set_item(Some(item(i))).build().unwrap())
              .build()
          })
          .collect()
      })
      .collect();
    let batches = Arc::new(std::sync::Mutex::new(batches.into_iter()));
    let written = Arc::new(AtomicUsize::new(0));
    let (cpu0, _) = usage();
    let t0 = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..in_flight {
      let (client, batches, written) = (client.clone(), batches.clone(), written.clone());
      workers.push(tokio::spawn(async move {
        loop {
          let Some(mut batch) = batches.lock().unwrap().next() else { break };
          let mut attempt = 0u32;
          while !batch.is_empty() {
            if attempt > 0 {
              let cap = 1000f64.min(50.0 * 2f64.powi(attempt as i32));
              tokio::time::sleep(Duration::from_secs_f64(fastrand::f64() * cap / 1000.0)).await;
            }
            let len = batch.len();
            let out = client
              .batch_write_item()
              .request_items("bench", batch)
              .send()
              .await
              .expect("BatchWriteItem");
            batch = out.unprocessed_items.and_then(|mut m| m.remove("bench")).unwrap_or_default();
            written.fetch_add(len - batch.len(), Ordering::Relaxed);
            attempt += 1;
          }
        }
      }));
    }
    for w in workers {
      w.await.unwrap();
    }
    let seconds = t0.elapsed().as_secs_f64();
    let (cpu1, rss) = usage();
    assert_eq!(written.load(Ordering::Relaxed), n);
    let per100k = 100_000.0 / n as f64;
    println!(
      "{{\"items\":{n},\"seconds\":{seconds},\"itemsPerSecond\":{},\"cpuSecondsPer100k\":{},\"eventLoopMsPer100k\":null,\"peakRssMb\":{rss}}}",
      n as f64 / seconds,
      (cpu1 - cpu0) * per100k
    );
  });
}
