'use strict'
// Metrics, hooks and logging: a record per request, progress events, and the totals of a run.
const { DynamoDBClient, withBatch } = require('dynabatch')
const { startLocal } = require('./local-dynalite.js')

async function main() {
  const local = await startLocal()
  let requests = 0
  const client = new DynamoDBClient({
    ...local.options,
    onRequest: (r) => {
      requests++ // r: { operation, table, durationMs, items, unprocessed, consumedWcu, attempt, throttled, requestId }
    },
    logger: { debug() {}, info() {}, warn: console.warn, error: console.error }, // console works too
    slowRequestMs: 500,
  })
  await client.createTable('events', { partitionKey: { name: 'id', type: 'S' } })
  const result = await withBatch(
    client,
    'events',
    (b) => b.putMany(Array.from({ length: 5000 }, (_, i) => ({ id: `e${i}`, at: Date.now(), payload: 'x'.repeat(100) }))),
    { onProgress: (p) => console.log(`progress: ${p.written}/${p.accepted} written, ${p.inFlight} in flight`), progressIntervalMs: 100 },
  )
  console.log(`run: ${result.putsWritten} written, ${result.consumedWcu} WCU, p50 ${result.p50LatencyMs.toFixed(1)} ms, p99 ${result.p99LatencyMs.toFixed(1)} ms, ${Math.round(result.itemsPerSecond)} items/s`)
  const m = client.metrics
  console.log(`client: ${m.requests} requests (${requests} seen by onRequest), ${m.itemsWritten} items, ${m.errors} errors`)
  await local.close()
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
