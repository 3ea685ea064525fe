'use strict'
// BatchWriter against the fault-injecting DynamoDB-protocol server: unprocessed items, throttling, 5xx,
// dropped connections and slow answers. Every check is made on the server side too: nothing lost, nothing
// applied twice, the last call per key wins.

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const { DynamoDBClient, BatchWriter, BatchWriteError, withBatch } = require('dynabatch')
const { startFaultServer, DEFAULT_FAULTS } = require('./helpers/fault-server.js')
const { clientOptions } = require('./helpers/dynalite.js')

const TABLES = {
  users: { partitionKey: { name: 'pk', type: 'S' } },
  pairs: { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } },
  byId: { partitionKey: { name: 'id', type: 'S' } },
}
// Fast retries keep the suite quick; the policy itself is covered by the core's tests.
const FAST = { baseDelayMs: 1, maxDelayMs: 20 }

let server
let client

before(async () => {
  server = await startFaultServer({ tables: TABLES })
  client = new DynamoDBClient({ ...clientOptions(server.endpoint), requestTimeoutMs: 2000 })
})
after(() => server.close())
beforeEach(() => {
  server.reset()
  server.setFaults({ ...DEFAULT_FAULTS })
})

function appliedPuts(key) {
  return (server.stats.history.get(key) || []).filter((h) => h.op === 'put').length
}

describe('BatchWriter under faults', () => {
  it('30% unprocessed, 10% throttled, 5% 500: every item written once, none lost', async () => {
    server.setFaults({ unprocessedRate: 0.3, throttleRate: 0.1, errorRate: 0.05 })
    const N = 2000
    const result = await withBatch(
      client,
      'users',
      async (b) => {
        for (let i = 0; i < N; i++) await b.put({ pk: `u${i}`, v: i })
      },
      { ...FAST, maxRetries: 30 },
    )
    assert.equal(result.putsWritten, N)
    assert.equal(result.failed, 0)
    assert.ok(result.retries > 0)
    assert.ok(result.throttles > 0)
    assert.ok(result.unprocessedRounds > 0)
    const t = server.table('users')
    assert.equal(t.size, N)
    for (let i = 0; i < N; i++) assert.equal(appliedPuts(`S:u${i}`), 1, `u${i} applied once`)
    assert.ok(server.stats.throttled > 0 && server.stats.errors500 > 0 && server.stats.entriesUnprocessed > 0)
    // consumed capacity is summed over every request that applied something
    assert.equal(result.consumedWcu, server.stats.wcuTotal)
  })

  it('with retries disabled, every unwritten item is reported: written + failed = accepted', async () => {
    server.setFaults({ unprocessedRate: 0.3, throttleRate: 0.1, errorRate: 0.05 })
    const N = 1000
    const items = Array.from({ length: N }, (_, i) => ({ pk: `n${i}`, v: i }))
    const err = await withBatch(
      client,
      'users',
      async (b) => {
        for (const it of items) await b.put(it)
      },
      { maxRetries: 0 },
    ).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.ok(err instanceof BatchWriteError)
    assert.equal(err.result.putsWritten + err.failed.length, N)
    assert.equal(err.result.failed, err.failed.length)
    const reasons = new Set(err.failed.map((f) => f.reason))
    assert.deepEqual([...reasons].sort(), ['ServerError', 'Throttled', 'UnprocessedAfterRetries'])
    const t = server.table('users')
    assert.equal(t.size, err.result.putsWritten)
    const seen = new Set()
    for (const f of err.failed) {
      assert.ok(items.includes(f.item), 'the original object is reported')
      assert.ok(!seen.has(f.item), 'reported once')
      seen.add(f.item)
      assert.equal(f.attempts, 1)
      assert.equal(t.get({ pk: { S: f.item.pk } }), undefined, 'a failed item is not in the table')
    }
  })

  it('keeps per-key order: interleaved puts and deletes on hot keys under faults and concurrency', async () => {
    server.setFaults({ unprocessedRate: 0.3, throttleRate: 0.1, errorRate: 0.05, resetRate: 0.03, lostAnswerRate: 0.03 })
    const last = new Map()
    const w = new BatchWriter(client, 'pairs', { ...FAST, maxRetries: 50, maxInFlight: 8, flushAmount: 5 })
    for (let i = 0; i < 1500; i++) {
      const key = { pk: `hot${i % 4}`, sk: i % 3 }
      const k = `${key.pk}/${key.sk}`
      if (i % 5 === 2) {
        w.delete(key)
        last.set(k, null)
      } else {
        w.put({ ...key, v: i })
        last.set(k, i)
      }
    }
    const r = await w.close()
    assert.equal(r.failed, 0)
    assert.equal(r.putsWritten + r.deletesWritten, 1500)
    const t = server.table('pairs')
    for (const [k, v] of last) {
      const [pk, sk] = k.split('/')
      const got = t.get({ pk: { S: pk }, sk: { N: sk } })
      if (v === null) assert.equal(got, undefined, `${k} deleted last`)
      else assert.equal(got && got.v.N, String(v), `${k} holds its last put`)
    }
    assert.ok(server.stats.maxConcurrent > 1, 'several requests were in flight')
  })

  it('a poison item among 24 good ones: the request is split, 24 written, 1 reported with the service message', async () => {
    // The writer is told the key is `pk`, so the client cannot see that `id` (the table's real key) is wrong
    // in one item: only the server rejects the request, and the engine must isolate the offender.
    const items = []
    for (let i = 0; i < 24; i++) items.push({ pk: `p${i}`, id: `id${i}` })
    const poison = { pk: 'poison', id: 42 }
    items.splice(11, 0, poison)
    const err = await withBatch(client, 'byId', (b) => b.putMany(items), {
      keySchema: { partitionKey: { name: 'pk', type: 'S' } },
    }).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.equal(err.result.putsWritten, 24)
    assert.equal(err.failed.length, 1)
    assert.equal(err.failed[0].item, poison)
    assert.equal(err.failed[0].reason, 'ValidationException')
    assert.match(err.failed[0].message, /Type mismatch for key id/)
    assert.equal(server.table('byId').size, 24)
  })

  it('keySchema by names alone: keys are checked for presence, order per key is kept', async () => {
    server.setFaults({ unprocessedRate: 0.3 })
    const w = new BatchWriter(client, 'pairs', { ...FAST, maxRetries: 30, keySchema: { partitionKey: 'pk', sortKey: 'sk' } })
    for (let i = 0; i < 200; i++) w.put({ pk: 'same', sk: 1, v: i })
    await assert.rejects(w.put({ pk: 'x' }), { code: 'InvalidItem', message: 'item.sk: missing key attribute (table key schema: pk, sk)' })
    const err = await w.close().then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.equal(err.failed.length, 1)
    assert.equal(err.result.putsWritten, 200)
    assert.equal(server.table('pairs').get({ pk: { S: 'same' }, sk: { N: '1' } }).v.N, '199')
  })

  it('exhausted retries report UnprocessedAfterRetries and Throttled with the attempts made', async () => {
    server.setFaults({ failKeys: ['S:stuck1', 'S:stuck2'] })
    const err = await withBatch(
      client,
      'users',
      (b) => {
        b.put({ pk: 'fine' })
        b.put({ pk: 'stuck1' })
        b.delete({ pk: 'stuck2' })
      },
      { ...FAST, maxRetries: 3 },
    ).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.deepEqual(
      err.failed.map((f) => [f.operation, f.item.pk, f.reason, f.attempts]),
      [
        ['put', 'stuck1', 'UnprocessedAfterRetries', 4],
        ['delete', 'stuck2', 'UnprocessedAfterRetries', 4],
      ],
    )
    assert.match(err.failed[0].message, /gave up after 4 attempts/)
    assert.equal(err.result.putsWritten, 1)

    server.setFaults({ failKeys: null, throttleRate: 1 })
    const err2 = await withBatch(client, 'users', (b) => b.put({ pk: 't' }), { ...FAST, maxRetries: 2 }).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.equal(err2.failed[0].reason, 'Throttled')
    assert.equal(err2.failed[0].attempts, 3)
    assert.equal(err2.result.throttles, 3)
  })

  it('slow and hung answers: requests time out and are retried; several are in flight', async () => {
    const slow = new DynamoDBClient({ ...clientOptions(server.endpoint), requestTimeoutMs: 200 })
    server.setFaults({ hangRate: 0.2, delayMs: 20 })
    const r = await withBatch(
      slow,
      'users',
      async (b) => {
        for (let i = 0; i < 300; i++) await b.put({ pk: `s${i}` })
      },
      { ...FAST, maxRetries: 20, maxInFlight: 6 },
    )
    assert.equal(r.putsWritten, 300)
    assert.equal(server.table('users').size, 300)
    assert.ok(server.stats.hangs > 0)
    assert.ok(server.stats.maxConcurrent >= 4, `max concurrent ${server.stats.maxConcurrent}`)
  })

  it('dropped connections are retried as Network errors', async () => {
    server.setFaults({ resetRate: 1 })
    const err = await withBatch(client, 'users', (b) => b.put({ pk: 'r' }), { ...FAST, maxRetries: 1 }).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.equal(err.failed[0].reason, 'Network')
    assert.equal(err.failed[0].attempts, 2)
    server.setFaults({ resetRate: 0.3 })
    const r = await withBatch(client, 'users', (b) => b.putMany(Array.from({ length: 200 }, (_, i) => ({ pk: `c${i}` }))), {
      ...FAST,
      maxRetries: 30,
    })
    assert.equal(r.putsWritten, 200)
  })

  it('abort: in-flight requests settle, every unwritten item is reported Aborted, later puts reject', async () => {
    server.setFaults({ delayMs: 30 })
    const ac = new AbortController()
    const w = new BatchWriter(client, 'users', { signal: ac.signal, maxInFlight: 2 })
    const N = 500
    for (let i = 0; i < N; i++) w.put({ pk: `a${i}` })
    const flushing = w.flush().then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    await new Promise((r) => setTimeout(r, 45))
    ac.abort()
    const err = await flushing
    assert.ok(err.failed.length > 0)
    assert.ok(err.failed.every((f) => f.reason === 'Aborted'))
    assert.equal(err.result.putsWritten + err.failed.length, N)
    assert.equal(server.table('users').size, err.result.putsWritten)
    await assert.rejects(w.put({ pk: 'late' }), { code: 'Aborted' })
    await w.close().catch(() => {})
  })

  it('backpressure: put resolves at once while there is room, waits when the writer is full', async () => {
    server.setFaults({ delayMs: 80 })
    const w = new BatchWriter(client, 'users', { highWaterMark: 10, maxInFlight: 1 })
    let settled = 0
    const ps = []
    for (let i = 0; i < 10; i++) {
      const p = w.put({ pk: `b${i}` })
      p.then(() => settled++)
      ps.push(p)
    }
    await new Promise((r) => setImmediate(r))
    assert.equal(settled, 9, 'the tenth put fills the writer and waits')
    await ps[9]
    assert.ok(server.stats.requestsTotal >= 1)
    assert.ok(w.metrics.putsWritten > 0, 'room came from written items')
    await w.close()
    assert.equal(server.table('users').size, 10)
  })

  it('metrics, onRequest and onProgress: records for every request, a throwing hook is harmless', async () => {
    server.setFaults({ unprocessedRate: 0.2 })
    const records = []
    const progress = []
    const warnings = []
    const onWarning = (w) => warnings.push(w)
    process.on('warning', onWarning)
    let calls = 0
    const r = await withBatch(
      client,
      'users',
      async (b) => {
        for (let i = 0; i < 500; i++) await b.put({ pk: `m${i}`, pad: 'x'.repeat(1500) })
      },
      {
        ...FAST,
        maxRetries: 20,
        onRequest: (rec) => {
          records.push(rec)
          if (calls++ === 0) throw new Error('hook bug')
        },
        onProgress: (p) => progress.push(p),
        progressIntervalMs: 5,
      },
    )
    await new Promise((res) => setTimeout(res, 50))
    process.off('warning', onWarning)
    assert.equal(r.putsWritten, 500)
    assert.equal(records.length, r.requests, 'one record per request, none dropped')
    assert.ok(records.every((x) => x.operation === 'BatchWriteItem' && x.table === 'users' && typeof x.requestId === 'string'))
    assert.ok(records.some((x) => x.unprocessed > 0 && x.attempt >= 1))
    assert.equal(
      records.reduce((s, x) => s + x.consumedWcu, 0),
      r.consumedWcu,
    )
    assert.equal(r.consumedWcu, 1000, 'each 1.5 KB item costs 2 WCU, summed over every attempt')
    assert.ok(warnings.some((w) => /onRequest callback threw: hook bug/.test(w.message)))
    assert.ok(progress.length > 0)
    assert.ok(progress.every((p) => p.written <= p.accepted))
    assert.ok(client.metrics.requests >= r.requests)
  })

  it('an un-awaited invalid put never surfaces as an unhandled rejection', async () => {
    const unhandled = []
    const onUnhandled = (e) => unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    const err = await withBatch(client, 'users', (b) => {
      b.put({ pk: 'ok' })
      b.put({ pk: 'bad', n: NaN })
      b.delete(null)
    }).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    await new Promise((r) => setTimeout(r, 20))
    process.off('unhandledRejection', onUnhandled)
    assert.equal(unhandled.length, 0)
    assert.deepEqual(
      err.failed.map((f) => [f.operation, f.reason, f.message]),
      [
        ['put', 'InvalidItem', 'item.n: NaN is not a valid DynamoDB number'],
        ['delete', 'InvalidItem', 'key: must be an object (a plain object or a Map), got null'],
      ],
    )
    assert.equal(server.table('users').size, 1)
  })

  it('streams: requests leave before any flush, and memory of written items is released', async () => {
    server.setFaults({ delayMs: 2 })
    const w = new BatchWriter(client, 'users', { highWaterMark: 200 })
    for (let i = 0; i < 20000; i++) await w.put({ pk: `f${i}` })
    assert.ok(server.stats.requestsTotal > 700, 'sent while putting')
    assert.ok(w.metrics.putsWritten > 19000)
    assert.ok(w._native.heldItems <= 200 + 2048 + 25, `originals kept: ${w._native.heldItems}`)
    await w.close()
    assert.equal(server.table('users').size, 20000)
  })
})
