'use strict'
// Rate limits of reads, in read capacity units: the same FixedRate/AdaptiveRate buckets as writes, made with
// `rcu`/`maxRcu`, measured on the server side of the fault-injecting server.

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const { DynamoDBClient, BatchWriter, FixedRate, AdaptiveRate } = require('dynabatch')
const { startFaultServer, DEFAULT_FAULTS } = require('./helpers/fault-server.js')
const { clientOptions } = require('./helpers/dynalite.js')

// ~2 KB items: a scan page of n items costs about n / 4 RCU, a batchGet key 0.5 RCU.
const N = 600
const item = (i) => ({ pk: { S: `k${String(i).padStart(4, '0')}` }, pad: { S: 'p'.repeat(2000) } })

let server
let client
before(async () => {
  server = await startFaultServer({ tables: { rl: { partitionKey: { name: 'pk', type: 'S' } } }, requestLogSize: 100000 })
  server.load(
    'rl',
    Array.from({ length: N }, (_, i) => item(i)),
  )
  client = new DynamoDBClient(clientOptions(server.endpoint))
})
after(() => server.close())
beforeEach(() => {
  server.resetStats()
  server.setFaults({ ...DEFAULT_FAULTS })
})

/** RCU per second the server served between its first and last answer of `op`, the first burst left out. */
function serverRate(op, burst) {
  const reads = server.stats.requestLog.filter((r) => r.op === op && r.outcome === 'ok')
  const rcu = reads.reduce((n, r) => n + r.rcu, 0)
  return (rcu - burst) / ((reads[reads.length - 1].at - reads[0].at) / 1000)
}

async function count(scan) {
  let n = 0
  for await (const _ of scan) n++
  return n
}

describe('read rate limits (RCU)', () => {
  it('FixedRate({ rcu }) holds a scan of 4 segments to R RCU/s, pages sized to the bucket', async () => {
    const R = 40
    const burst = 10
    const rate = new FixedRate({ rcu: R, burst })
    const scan = client.scan('rl', { totalSegments: 4, rateLimit: rate })
    assert.equal(await count(scan), N)
    const measured = serverRate('Scan', burst)
    assert.ok(measured > R * 0.7 && measured < R * 1.15, `server saw ${measured.toFixed(1)} RCU/s for a limit of ${R}`)
    const pages = server.stats.requestLog.filter((r) => r.op === 'Scan')
    // after each segment's first page (one item), a page costs about what the bucket holds, never much more
    assert.ok(pages.every((p) => p.rcu <= burst + 1), `page costs ${pages.map((p) => p.rcu)}`)
    const m = scan.metrics
    assert.equal(m.rateLimit.currentRcu, R)
    assert.ok(m.rateLimit.waits > 0 && m.rateLimit.waitedMs > 0)
    assert.equal(m.consumedRcu, server.stats.rcuTotal)
  })

  it('FixedRate({ rcu }) holds batchGet to R RCU/s, in requests the bucket can carry', async () => {
    const R = 50
    const burst = 10
    const keys = Array.from({ length: 300 }, (_, i) => ({ pk: item(i).pk.S }))
    const got = await client.batchGet('rl', keys, { rateLimit: new FixedRate({ rcu: R, burst }) })
    assert.ok(got.every((g, i) => g && g.pk === keys[i].pk))
    assert.equal(server.stats.rcuTotal, 150)
    const measured = serverRate('BatchGetItem', burst)
    assert.ok(measured > R * 0.7 && measured < R * 1.15, `server saw ${measured.toFixed(1)} RCU/s for a limit of ${R}`)
    const gets = server.stats.requestLog.filter((r) => r.op === 'BatchGetItem')
    assert.ok(gets.every((r) => r.entries <= 20), '10 RCU at 0.5 per key: 20 keys a request')
  })

  it('AdaptiveRate({ maxRcu }) comes down below the server throttle threshold and reads everything', async () => {
    server.setFaults({ capacityRcuPerSecond: 30 })
    const rate = new AdaptiveRate({ maxRcu: 2000, minRcu: 5, startRcu: 1000 })
    // pages of 20 items (~5 RCU): enough requests for the limiter to hear the throttling
    const scan = client.scan('rl', { totalSegments: 4, pageSize: 20, rateLimit: rate, baseDelayMs: 5, maxDelayMs: 200, maxRetries: 50 })
    assert.equal(await count(scan), N)
    assert.ok(server.stats.capacityThrottled > 0, 'the server throttled at first')
    assert.ok(rate.currentRcu < 400, `rate came down to ${rate.currentRcu}`)
    assert.ok(rate.currentRcu >= 5)
    assert.ok(scan.metrics.rateLimit.throttles > 0)
  })

  it('a bucket counts one unit: RCU buckets for reads, WCU buckets for writes', () => {
    const r = new FixedRate({ rcu: 5 })
    assert.deepEqual([r.unit, r.currentRcu, r.currentWcu], ['RCU', 5, null])
    const w = new FixedRate({ wcu: 7 })
    assert.deepEqual([w.unit, w.currentWcu, w.currentRcu], ['WCU', 7, null])
    const a = new AdaptiveRate({ maxRcu: 100, minRcu: 10 })
    assert.deepEqual([a.unit, a.currentRcu, a.currentWcu], ['RCU', 50, null])
    assert.throws(() => new FixedRate({ wcu: 5, rcu: 5 }), {
      code: 'InvalidArgument',
      message: 'FixedRate counts write or read capacity units, not both: give wcu or rcu',
    })
    assert.throws(() => new AdaptiveRate({ maxRcu: 10, minWcu: 1 }), {
      code: 'InvalidArgument',
      message: 'AdaptiveRate counts write or read capacity units, not both: give maxWcu or maxRcu',
    })
    assert.throws(() => new FixedRate({ rcu: 0 }), { code: 'InvalidArgument', message: 'rcu must be a positive number, got 0' })
    assert.throws(() => new AdaptiveRate({ maxRcu: 10, minRcu: 20 }), {
      code: 'InvalidArgument',
      message: 'minRcu must be in (0, maxRcu], got 20',
    })
    assert.throws(() => new DynamoDBClient({ ...clientOptions(server.endpoint), rateLimit: r }), {
      code: 'InvalidArgument',
      message: 'rateLimit must be a FixedRate or an AdaptiveRate in WCU for writes, got a FixedRate in RCU',
    })
    assert.throws(() => new BatchWriter(client, 'rl', { rateLimit: a, keySchema: { partitionKey: 'pk' } }), {
      code: 'InvalidArgument',
      message: 'rateLimit must be a FixedRate or an AdaptiveRate in WCU for writes, got a AdaptiveRate in RCU',
    })
  })
})
