'use strict'
// Concurrent flush() callers each get exactly the failures of the operations their flush covers (issue 10
// item 4). The contract: a flush covers every operation accepted before it was called and not reported by a
// flush that had resolved before the call; overlapping flushes both report a shared operation; a flush never
// resolves before everything it covers settled. "Failed" is the server's view: the fault server refuses
// chosen keys (failKeys) and its table says what was applied; its request log says when each request
// carrying an item was answered.

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const { DynamoDBClient, BatchWriter, BatchWriteError } = require('dynabatch')
const { startFaultServer, spawnFaultServer, DEFAULT_FAULTS } = require('./helpers/fault-server.js')
const { clientOptions } = require('./helpers/dynalite.js')

const KEY_SCHEMA = { partitionKey: { name: 'pk', type: 'S' } }
const TABLES = { users: KEY_SCHEMA }
const FAST = { baseDelayMs: 1, maxDelayMs: 10 }

let server
let client
before(async () => {
  server = await startFaultServer({ tables: TABLES, logKeys: true, requestLogSize: 1_000_000 })
  client = new DynamoDBClient({ ...clientOptions(server.endpoint), requestTimeoutMs: 3000 })
})
after(() => server.close())
beforeEach(() => {
  server.reset()
  server.setFaults({ ...DEFAULT_FAULTS })
})

/** The items a flush reported failed ([] when it resolved). */
const failedOf = (p) =>
  p.then(
    () => [],
    (e) => {
      assert.ok(e instanceof BatchWriteError, `a BatchWriteError, got ${e && e.code}`)
      return e.failed.map((f) => f.item)
    },
  )

const applied = (item) => server.table('users').get({ pk: { S: item.pk } }) !== undefined

describe('concurrent flush() callers (issue 10 item 4)', () => {
  it("two handlers, each `await w.put(x); return w.flush()`: the failing item's handler is told, and so is every flush that covers it", async () => {
    server.setFaults({ failKeys: ['S:bad'] })
    const w = new BatchWriter(client, 'users', { ...FAST, maxRetries: 1, keySchema: KEY_SCHEMA })
    const handler = async (x) => {
      await w.put(x)
      return w.flush()
    }
    const good = { pk: 'good' }
    const bad = { pk: 'bad' }
    // Started together: both puts are accepted before either flush is called, so both flushes cover both.
    const [g, b] = await Promise.all([failedOf(handler(good)), failedOf(handler(bad))])
    assert.ok(applied(good) && !applied(bad), "the server's view")
    assert.deepEqual(b, [bad], "the failing item's own handler gets its failure")
    assert.deepEqual(g, [bad], 'the other flush covers it too (accepted before it was called)')
    // One after the other: the first flush covers only its own item.
    server.reset()
    const g2 = { pk: 'good2' }
    const b2 = { pk: 'bad' }
    assert.deepEqual(await failedOf(handler(g2)), [])
    assert.deepEqual(await failedOf(handler(b2)), [b2])
    await w.close().catch(() => {})
  })

  it("a flush called after another flush settled in the engine, but before its result reached JS, still reports its caller's item", async () => {
    // The server runs in a child process, so requests are answered while this thread is busy. Handler B
    // puts x and flushes in a microtask; in between, in the same turn, handler A puts y, calls flush (which
    // covers x and y) and does synchronous work (rendering a response, say) until the engine has settled
    // both. A's flush is then resolved in the engine but its result has not reached JS: B's flush, called
    // next, must still cover x, which was not reported by any flush that had resolved before B called.
    const child = await spawnFaultServer({ tables: TABLES, faults: { failKeys: ['S:x'] } })
    const c = new DynamoDBClient({ ...clientOptions(child.endpoint), requestTimeoutMs: 3000 })
    try {
      const w = new BatchWriter(c, 'users', { maxRetries: 0, keySchema: KEY_SCHEMA })
      const x = { pk: 'x' }
      const y = { pk: 'y' }
      const b = (async () => {
        await w.put(x)
        return w.flush()
      })()
      w.put(y)
      const a = w.flush()
      // Busy until the engine has settled both operations (its own live counts, used here only to wait).
      const deadline = Date.now() + 10_000
      while (w.metrics.failed + w.metrics.putsWritten < 2) {
        if (Date.now() > deadline) assert.fail('the engine did not settle the two operations within 10 s')
      }
      const [fa, fb] = await Promise.all([failedOf(a), failedOf(b)])
      const snap = await child.snapshot()
      assert.equal(snap.tables.users.size, 1, 'the server applied y only')
      assert.deepEqual(fa, [x], 'A covers x (accepted before its call)')
      assert.deepEqual(fb, [x], "B's own item failed: B's flush must say so")
      await w.close().catch(() => {})
    } finally {
      await c.close()
      await child.close()
    }
  })

  it('300 handlers with random timing: each flush reports exactly the failures it covers, after they settled', async () => {
    const N = 300
    const items = Array.from({ length: N }, (_, i) => ({ pk: `h${i}` }))
    const failing = new Set(items.filter((_, i) => i % 7 === 3).map((it) => `S:${it.pk}`))
    // Some answers are slow, some entries come back unprocessed once or twice (and are then written).
    server.setFaults({ failKeys: failing, unprocessedRate: 0.1, delayMs: 15 })
    const w = new BatchWriter(client, 'users', { ...FAST, maxRetries: 6, keySchema: KEY_SCHEMA, highWaterMark: 10_000 })
    let clock = 0 // a logical clock on this thread: put, flush call, flush settle
    const putAt = new Map()
    const flushes = []
    // At the moment a flush settles: the items the server applied in a request it has answered.
    function settledAtServer() {
      const unanswered = new Set()
      for (const r of server.stats.requestLog) if (r.keys && r.answeredAt === undefined) for (const k of r.keys) unanswered.add(k)
      return new Set(items.filter((x) => applied(x) && !unanswered.has(`S:${x.pk}`)))
    }
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
    await Promise.all(
      items.map(async (it, i) => {
        await sleep(Math.floor(((i * 7919) % 97) / 2)) // a spread of start times, repeatable
        putAt.set(it, ++clock)
        await w.put(it)
        const f = { own: it, calledAt: ++clock }
        flushes.push(f)
        f.failed = await failedOf(w.flush())
        f.settledAt = ++clock
        f.written = settledAtServer()
      }),
    )
    const failedAtServer = new Set(items.filter((x) => !applied(x)))
    assert.equal(failedAtServer.size, failing.size, 'the server refused exactly the failKeys')
    const reportedAnywhere = new Set(flushes.flatMap((f) => f.failed))
    assert.deepEqual([...reportedAnywhere].map((x) => x.pk).sort(), [...failedAtServer].map((x) => x.pk).sort(), 'reported failed = not applied')
    for (const f of flushes) {
      // Covered: accepted before the call and not reported by a flush that had settled before the call.
      const reportedBefore = new Set(flushes.filter((g) => g.settledAt < f.calledAt).flatMap((g) => g.failed))
      const covered = items.filter((x) => putAt.get(x) < f.calledAt && !reportedBefore.has(x))
      const unsettled = covered.filter((x) => !f.failed.includes(x) && !f.written.has(x))
      assert.deepEqual(unsettled, [], `flush of ${f.own.pk} resolved before what it covers had settled`)
      if (failedAtServer.has(f.own)) assert.ok(f.failed.includes(f.own), `${f.own.pk}'s handler was not told its item failed`)
      for (const x of f.failed) assert.ok(putAt.get(x) < f.calledAt, `flush of ${f.own.pk} reported ${x.pk}, accepted after its call`)
      for (const x of covered) {
        if (failedAtServer.has(x)) assert.ok(f.failed.includes(x), `flush of ${f.own.pk} covers ${x.pk} but did not report it`)
      }
    }
    await w.close().catch(() => {})
  })
})
