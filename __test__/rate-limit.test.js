'use strict'
// Rate limiting and logging, measured on the server side of the fault-injecting DynamoDB server.

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const { DynamoDBClient, BatchWriter, withBatch, FixedRate, AdaptiveRate } = require('dynabatch')
const { startFaultServer } = require('./helpers/fault-server.js')
const { clientOptions } = require('./helpers/dynalite.js')

let server
before(async () => {
  server = await startFaultServer({ tables: { rl: { partitionKey: { name: 'pk', type: 'S' } } }, requestLogSize: 100000 })
})
after(() => server.close())
beforeEach(() => {
  server.reset()
  server.setFaults({ capacityWcuPerSecond: 0, throttleRate: 0, delayMs: 0, unprocessedRate: 0, errorRate: 0 })
})

// ~600 bytes: one WCU on both sides
const item = (prefix, i) => ({ pk: `${prefix}${i}`, pad: 'p'.repeat(580) })

/** Applied WCU per second, measured by the server from its request log between the first and last write. */
function serverRate(burst) {
  const writes = server.stats.requestLog.filter((r) => r.op === 'BatchWriteItem' && r.outcome === 'ok')
  const first = writes[0].at
  const last = writes[writes.length - 1].at
  const wcu = server.stats.wcuTotal
  return (wcu - burst) / ((last - first) / 1000)
}

describe('rate limiting', () => {
  it('FixedRate holds W WCU/s over a few seconds, shared by the writers of a client', async () => {
    const W = 200
    const burst = 25
    const client = new DynamoDBClient({ ...clientOptions(server.endpoint), rateLimit: new FixedRate({ wcu: W, burst }) })
    const start = Date.now()
    // two writers share the client's bucket: together they must stay at W
    await Promise.all([
      withBatch(client, 'rl', (b) => b.putMany(Array.from({ length: 300 }, (_, i) => item('a', i)))),
      withBatch(client, 'rl', (b) => b.putMany(Array.from({ length: 300 }, (_, i) => item('b', i)))),
    ])
    const elapsed = (Date.now() - start) / 1000
    assert.equal(server.table('rl').size, 600)
    assert.equal(server.stats.wcuTotal, 600)
    const rate = serverRate(burst)
    assert.ok(rate > W * 0.85 && rate < W * 1.15, `server saw ${rate.toFixed(1)} WCU/s for a limit of ${W}`)
    assert.ok(elapsed > 2.5, `took ${elapsed}s`)
    const m = client.metrics.rateLimit
    assert.equal(m.currentWcu, W)
    assert.ok(m.waits > 0 && m.waitedMs > 0)
  })

  it('AdaptiveRate comes down below the server throttle threshold and keeps writing', async () => {
    const threshold = 150
    server.setFaults({ capacityWcuPerSecond: threshold })
    const rate = new AdaptiveRate({ maxWcu: 2000, minWcu: 10, startWcu: 1000 })
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    const r = await withBatch(client, 'rl', (b) => b.putMany(Array.from({ length: 600 }, (_, i) => item('c', i))), {
      rateLimit: rate,
      baseDelayMs: 5,
      maxDelayMs: 200,
      maxRetries: 50,
    })
    assert.equal(r.putsWritten, 600)
    assert.equal(server.table('rl').size, 600)
    assert.ok(r.throttles > 0, 'the server throttled at first')
    assert.ok(rate.currentWcu < 400, `rate came down to ${rate.currentWcu}`)
    assert.ok(rate.currentWcu >= 10)
    // Converged: in the second half of the run (by time) few of the items sent meet a throttle.
    const log = server.stats.requestLog.filter((x) => x.op === 'BatchWriteItem')
    const mid = (log[0].at + log[log.length - 1].at) / 2
    const tail = log.filter((x) => x.at >= mid)
    const sent = tail.reduce((n, x) => n + x.entries, 0)
    const throttled = tail.filter((x) => x.outcome !== 'ok').reduce((n, x) => n + x.entries, 0)
    assert.ok(throttled / sent < 0.25, `${throttled}/${sent} items throttled in the second half`)
  })

  it('a single 400 KB item under a 10 WCU burst is written, not stuck', async () => {
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    const t0 = Date.now()
    const r = await withBatch(client, 'rl', (b) => b.put({ pk: 'huge', data: 'x'.repeat(400 * 1024 - 20) }), {
      rateLimit: new FixedRate({ wcu: 50, burst: 10 }),
    })
    assert.equal(r.putsWritten, 1)
    assert.ok(Date.now() - t0 < 2000)
    assert.ok(server.table('rl').get({ pk: { S: 'huge' } }))
  })

  it('waiting never blocks the event loop: a JS timer keeps firing on time', async () => {
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    const lags = []
    let last = Date.now()
    const timer = setInterval(() => {
      const now = Date.now()
      lags.push(now - last - 10)
      last = now
    }, 10)
    const t0 = Date.now()
    await withBatch(client, 'rl', (b) => b.putMany(Array.from({ length: 60 }, (_, i) => item('d', i))), {
      rateLimit: new FixedRate({ wcu: 40, burst: 5 }),
      flushAmount: 5,
    })
    clearInterval(timer)
    const elapsed = Date.now() - t0
    assert.ok(elapsed > 1000, `rate-limited for ${elapsed} ms`)
    assert.ok(lags.length > (elapsed / 10) * 0.6, `${lags.length} ticks in ${elapsed} ms`)
    assert.ok(Math.max(...lags) < 100, `max timer lag ${Math.max(...lags)} ms`)
  })

  it('rejects bad settings with InvalidArgument', () => {
    assert.throws(() => new FixedRate({ wcu: 0 }), { code: 'InvalidArgument', message: 'wcu must be a positive number, got 0' })
    assert.throws(() => new FixedRate({}), { code: 'InvalidArgument' })
    assert.throws(() => new AdaptiveRate({ maxWcu: 10, minWcu: 20 }), {
      code: 'InvalidArgument',
      message: 'minWcu must be in (0, maxWcu], got 20',
    })
    assert.throws(() => new DynamoDBClient({ rateLimit: { wcu: 5 } }), { code: 'InvalidArgument' })
  })
})

describe('logging', () => {
  it('debug per request, warn when slow, error on failures; no item contents', async () => {
    const lines = { debug: [], info: [], warn: [], error: [] }
    const logger = Object.fromEntries(Object.keys(lines).map((k) => [k, (m) => lines[k].push(String(m))]))
    const client = new DynamoDBClient({ ...clientOptions(server.endpoint), logger, slowRequestMs: 15 })
    await withBatch(client, 'rl', (b) => b.putMany(Array.from({ length: 50 }, (_, i) => ({ pk: `l${i}`, secret: 'TOP-SECRET' }))))
    server.setFaults({ delayMs: 30 })
    await withBatch(client, 'rl', (b) => b.put({ pk: 'slow', secret: 'TOP-SECRET' }))
    server.setFaults({ delayMs: 0, throttleRate: 1 })
    await withBatch(client, 'rl', (b) => b.put({ pk: 'fail', secret: 'TOP-SECRET' }), { maxRetries: 0 }).catch(() => {})
    await new Promise((r) => setTimeout(r, 30))
    assert.ok(lines.debug.some((l) => /BatchWriteItem rl items=25/.test(l)), lines.debug.join('\n'))
    assert.ok(lines.warn.some((l) => /slow: over 15ms/.test(l)))
    assert.ok(lines.error.some((l) => /error=ProvisionedThroughputExceededException/.test(l)))
    assert.ok(lines.error.some((l) => /1 item\(s\) failed in table rl \(first: Throttled/.test(l)))
    const all = Object.values(lines).flat().join('\n')
    assert.ok(!all.includes('TOP-SECRET'))
    assert.ok(!all.includes('fail'.repeat(2)))
  })

  it('is silent by default', async () => {
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    const orig = { ...console }
    const seen = []
    for (const k of ['log', 'debug', 'info', 'warn', 'error']) console[k] = (...a) => seen.push(a)
    try {
      await withBatch(client, 'rl', (b) => b.put({ pk: 'quiet' }))
    } finally {
      Object.assign(console, orig)
    }
    assert.equal(seen.length, 0)
  })

  it('writer.metrics is live and carries the rate limit state', async () => {
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    const w = new BatchWriter(client, 'rl', { rateLimit: new FixedRate({ wcu: 1000 }) })
    await w.putMany(Array.from({ length: 100 }, (_, i) => item('z', i)))
    const mid = w.metrics
    assert.equal(mid.accepted, 100)
    await w.flush()
    const m = w.metrics
    assert.equal(m.putsWritten, 100)
    assert.equal(m.inFlight, 0)
    assert.equal(m.rateLimit.currentWcu, 1000)
    assert.equal(m.consumedWcu, 100)
    await w.close()
  })
})
