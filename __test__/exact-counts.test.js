'use strict'
// Counts mean what the README says, measured against the fault server's own view (issue 10 items 1, 2 and 7,
// issue 9 item 4): every figure a writer, a single-item call or client.metrics reports is compared with what
// the server counted (requests, error answers, entries received, entries returned unprocessed, WCU applied,
// DescribeTable requests), never with another of dynabatch's figures.
//
// The identities checked (for one writer or client against a fresh server):
//   requests          = requests the server received from it
//   retries           = entries the server received - operations sent (every re-send is one more entry);
//                       for single-item calls and schema reads: attempts the server received - calls
//   errors            = answers that were not a success (throttles, 5xx, resets, service errors)
//   throttles         = throttling answers
//   unprocessedRounds = answers that carried UnprocessedItems entries
//   consumedWcu       = WCU the server applied (no answer is lost in these tests)
//   putsWritten       = puts the server applied (each item once: no fault applies an item twice here)

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const { DynamoDBClient, BatchWriter, BatchWriteError, withBatch } = require('dynabatch')
const { startFaultServer, DEFAULT_FAULTS } = require('./helpers/fault-server.js')
const { clientOptions } = require('./helpers/dynalite.js')

const TABLES = {
  users: { partitionKey: { name: 'pk', type: 'S' } },
  nums: { partitionKey: { name: 'id', type: 'N' } },
  pairs: { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } },
  bins: { partitionKey: { name: 'b', type: 'B' } },
}
// Fast retries keep the suite quick; the backoff policy itself is covered by the core's tests.
const FAST = { baseDelayMs: 1, maxDelayMs: 10 }

let server
before(async () => {
  server = await startFaultServer({ tables: TABLES, requestLogSize: 1_000_000 })
})
after(() => server.close())
beforeEach(() => {
  server.reset()
  server.setFaults({ ...DEFAULT_FAULTS })
})

/** A client that nothing else has used (its own metrics, its own key-schema cache). */
function freshClient(extra = {}) {
  return new DynamoDBClient({ ...clientOptions(server.endpoint), requestTimeoutMs: 3000, ...extra })
}

/** What the server saw, summed from its request log (optionally of one operation). */
function seen(op) {
  const log = server.stats.requestLog.filter((r) => op === undefined || r.op === op)
  return {
    requests: log.length,
    errors: log.filter((r) => r.outcome !== 'ok').length,
    throttles: log.filter((r) => r.outcome === 'throttled' || r.outcome === 'capacity').length,
    unprocessedRounds: log.filter((r) => r.outcome === 'ok' && r.unprocessed > 0).length, // answers received
    entries: log.reduce((n, r) => n + r.entries, 0),
    unprocessed: log.reduce((n, r) => n + r.unprocessed, 0),
    wcu: log.reduce((n, r) => n + r.wcu, 0),
    outcomes: log.map((r) => r.outcome),
  }
}

/** The onRequest records arrive on the JS thread shortly after each request: wait until `n` are in. */
async function settleRecords(records, n) {
  for (let i = 0; i < 200 && records.length < n; i++) await new Promise((r) => setTimeout(r, 5))
  assert.equal(records.length, n, 'one onRequest record per request the server received')
}

/** A writer result (or writer.metrics) checked against the server's view of BatchWriteItem. */
function assertWriterCounts(r, operations) {
  const s = seen('BatchWriteItem')
  assert.equal(s.requests, server.stats.requests.BatchWriteItem, 'the log holds every request')
  assert.equal(r.requests, s.requests, 'requests = BatchWriteItem requests the server received')
  assert.equal(r.retries, s.entries - operations, 'retries = entries received beyond one per operation')
  assert.equal(r.throttles, s.throttles, 'throttles = throttling answers')
  assert.equal(r.unprocessedRounds, s.unprocessedRounds, 'unprocessedRounds = answers carrying UnprocessedItems')
  assert.equal(r.consumedWcu, s.wcu, 'consumedWcu = WCU the server applied')
  return s
}

describe('retries are item re-sends, counted once (issue 10 item 1)', () => {
  it('one item re-sent once reports retries: 1 (writer, flush result and client.metrics)', async () => {
    const first = new Set()
    server.setFaults({ failKeys: (table, wr, key) => !first.has(key) && !!first.add(key) })
    const client = freshClient()
    const w = new BatchWriter(client, 'users', FAST)
    await w.put({ pk: 'once', v: 1 })
    const r = await w.flush()
    assert.equal(server.stats.entriesUnprocessed, 1, 'the server returned the entry once')
    assert.equal(server.table('users').size, 1)
    assert.equal(r.retries, 1)
    assert.equal(r.putsWritten, 1)
    assertWriterCounts(r, 1)
    assertWriterCounts(w.metrics, 1)
    await w.close()
    const c = client.metrics
    assert.equal(c.retries, 1, 'client.metrics.retries')
    assert.equal(c.requests, server.stats.requestsTotal, 'client requests = DescribeTable + BatchWriteItem')
    assert.equal(c.itemsWritten, server.stats.putsApplied)
  })

  it('a putItem whose first attempt was throttled reports client.metrics.retries: 1', async () => {
    server.setFaults({ faultOps: ['PutItem'], sequence: ['throttle'] })
    const records = []
    const client = freshClient({ onRequest: (r) => records.push(r) })
    const m = await client.putItem('users', { pk: 'p1' })
    const s = seen('PutItem')
    assert.deepEqual(s.outcomes, ['throttled', 'ok'])
    assert.equal(m.attempts, s.requests)
    const c = client.metrics
    assert.equal(c.retries, s.requests - 1, 'retries = attempts beyond the first')
    assert.equal(c.retries, 1)
    assert.equal(c.throttles, 1)
    assert.equal(c.requests, server.stats.requestsTotal)
    assert.equal(c.errors, seen().errors)
    assert.equal(c.itemsWritten, server.stats.putsApplied)
    assert.equal(c.consumedWcu, server.stats.wcuTotal)
    await settleRecords(records, server.stats.requestsTotal)
    assert.deepEqual(
      records.filter((r) => r.operation === 'PutItem').map((r) => [r.attempt, r.errorCode ?? 'ok', r.throttled]),
      [
        [1, 'ProvisionedThroughputExceededException', true],
        [2, 'ok', false],
      ],
    )
  })

  it('2,000 items with 20% returned unprocessed: retries = the entries the server returned unprocessed', async () => {
    server.setFaults({ unprocessedRate: 0.2 })
    const client = freshClient()
    const N = 2000
    const r = await withBatch(
      client,
      'users',
      async (b) => {
        for (let i = 0; i < N; i++) await b.put({ pk: `u${i}`, v: i })
      },
      { ...FAST, maxRetries: 30 },
    )
    assert.ok(server.stats.entriesUnprocessed > 300, 'the fault was injected')
    assert.equal(r.retries, server.stats.entriesUnprocessed)
    assert.equal(r.putsWritten, N)
    assert.equal(server.table('users').size, N)
    assert.equal(server.stats.putsApplied, N, 'each item applied once')
    assertWriterCounts(r, N)
    const c = client.metrics
    assert.equal(c.retries, server.stats.entriesUnprocessed)
    assert.equal(c.requests, server.stats.requestsTotal)
    assert.equal(c.itemsWritten, N)
    assert.equal(c.consumedWcu, server.stats.wcuTotal)
  })

  it('throttles, 5xx, resets and unprocessed entries together: every count matches the server', async () => {
    server.setFaults({ unprocessedRate: 0.2, throttleRate: 0.1, errorRate: 0.05, unavailableRate: 0.05, resetRate: 0.03 })
    const client = freshClient()
    const N = 1500
    const r = await withBatch(client, 'users', (b) => b.putMany(Array.from({ length: N }, (_, i) => ({ pk: `m${i}` }))), {
      ...FAST,
      maxRetries: 40,
    })
    assert.equal(r.putsWritten, N)
    assert.equal(server.table('users').size, N)
    const s = assertWriterCounts(r, N)
    assert.ok(s.throttles > 0 && server.stats.errors500 > 0 && server.stats.resets > 0, 'the faults were injected')
    const c = client.metrics
    const all = seen()
    assert.equal(c.requests, all.requests)
    assert.equal(c.errors, all.errors, 'errors = answers that were not a success (a reset included)')
    assert.equal(c.throttles, all.throttles)
    assert.equal(c.retries, r.retries)
  })

  it('lost answers and hung requests (timeouts): requests, retries and errors still match the server', async () => {
    server.setFaults({ lostAnswerRate: 0.1, hangRate: 0.03, unprocessedRate: 0.1 })
    const client = freshClient({ requestTimeoutMs: 300 })
    const N = 600
    const r = await withBatch(client, 'users', (b) => b.putMany(Array.from({ length: N }, (_, i) => ({ pk: `l${i}` }))), {
      ...FAST,
      maxRetries: 40,
    })
    assert.ok(server.stats.lostAnswers > 0 && server.stats.hangs > 0, 'the faults were injected')
    assert.equal(r.putsWritten, N)
    assert.equal(server.table('users').size, N)
    const s = seen('BatchWriteItem')
    assert.equal(r.requests, s.requests)
    assert.equal(r.retries, s.entries - N, 'every re-send of an entry, after a lost answer or a timeout too')
    assert.equal(r.unprocessedRounds, s.unprocessedRounds)
    const all = seen()
    assert.equal(client.metrics.errors, all.errors, 'a lost answer and a timeout are errors')
    assert.equal(client.metrics.requests, all.requests)
    // A lost answer's WCU were applied but never reported: consumedWcu counts what DynamoDB reported.
    const reported = server.stats.requestLog.filter((x) => x.outcome === 'ok').reduce((n, x) => n + x.wcu, 0)
    assert.equal(r.consumedWcu, reported)
  })

  it('a request split after a ValidationException counts each re-sent entry once', async () => {
    const client = freshClient()
    // Names only: any key type passes the writer's check, and the server refuses the number key.
    const w = new BatchWriter(client, 'users', { ...FAST, keySchema: { partitionKey: 'pk' } })
    const items = Array.from({ length: 25 }, (_, i) => ({ pk: i === 13 ? 13 : `v${i}` }))
    for (const it of items) await w.put(it)
    const err = await w.close().then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.ok(err instanceof BatchWriteError)
    assert.deepEqual(
      err.failed.map((f) => [f.item, f.reason]),
      [[items[13], 'ValidationException']],
    )
    assert.equal(server.table('users').size, 24)
    assertWriterCounts(err.result, 25)
    assert.equal(client.metrics.errors, server.stats.validationErrors)
  })

  it('a writer whose DescribeTable was throttled twice: the schema read is recorded and retried like any request', async () => {
    server.setFaults({ faultOps: ['DescribeTable'], sequence: ['throttle', 'throttle'] })
    const records = []
    const client = freshClient({ onRequest: (r) => records.push(r) })
    const r = await withBatch(client, 'users', (b) => b.put({ pk: 'a' }), FAST)
    assert.equal(r.putsWritten, 1)
    assert.deepEqual(seen('DescribeTable').outcomes, ['throttled', 'throttled', 'ok'])
    const c = client.metrics
    assert.equal(c.requests, server.stats.requestsTotal)
    assert.equal(c.retries, 2, 'two re-sent DescribeTable requests')
    assert.equal(c.throttles, 2)
    assert.equal(c.errors, 2)
    await settleRecords(records, server.stats.requestsTotal)
    assert.deepEqual(
      records.filter((x) => x.operation === 'DescribeTable').map((x) => [x.attempt, x.errorCode ?? 'ok']),
      [
        [1, 'ProvisionedThroughputExceededException'],
        [2, 'ProvisionedThroughputExceededException'],
        [3, 'ok'],
      ],
    )
  })

  it('single-item calls: written = what the server applied, failed = calls that rejected, retries = re-attempts', async () => {
    const client = freshClient({ maxAttempts: 3 })
    server.setFaults({ faultOps: ['PutItem', 'DeleteItem', 'GetItem'], sequence: ['error500', 'ok', 'throttle', 'ok', 'error503'] })
    await client.putItem('users', { pk: 'a' }) // 500, then ok
    await client.deleteItem('users', { pk: 'a' }) // throttled, then ok
    assert.equal(await client.getItem('users', { pk: 'a' }), undefined) // 503, then ok
    // Rejected by the server, and rejected before anything is sent (the item, the key, an option).
    server.setFaults({ failOps: { PutItem: { code: 'ValidationException', times: 1 } } })
    const calls = [
      client.putItem('users', { pk: 'b' }),
      client.putItem('users', { pk: 'c', n: Number.NaN }),
      client.putItem('users', { pk: 7 }),
      client.deleteItem('users', { other: 'x' }),
      client.putItem('users', { pk: 'd' }, { conditionExpresion: 'typo' }),
    ]
    const settled = await Promise.allSettled(calls)
    const rejected = settled.filter((r) => r.status === 'rejected').length
    assert.equal(rejected, 5)
    const c = client.metrics
    const all = seen()
    assert.equal(c.itemsWritten, server.stats.putsApplied + server.stats.deletesApplied, 'itemsWritten = writes the server applied')
    assert.equal(c.itemsWritten, 2)
    assert.equal(c.itemsFailed, rejected, 'itemsFailed = write calls that rejected')
    assert.equal(c.requests, all.requests)
    assert.equal(c.errors, all.errors)
    assert.equal(c.throttles, all.throttles)
    assert.equal(c.retries, 3, 'one re-attempt after each of the three failed answers')
    assert.equal(c.consumedWcu, server.stats.wcuTotal)
  })

  it("failed CreateTable, DeleteTable and DescribeTable requests are errors with the service's code", async () => {
    const records = []
    const client = freshClient({ onRequest: (r) => records.push(r) })
    await assert.rejects(client.createTable('users', { partitionKey: { name: 'pk', type: 'S' } }), { code: 'ResourceInUseException' })
    await assert.rejects(client.deleteTable('missing-table'), { code: 'ResourceNotFoundException' })
    server.setFaults({ failOps: { DescribeTable: { code: 'AccessDeniedException', times: 1 } } })
    await assert.rejects(client.describeTable('users'), { code: 'AccessDeniedException' })
    await settleRecords(records, server.stats.requestsTotal)
    const all = seen()
    assert.deepEqual(all.outcomes, ['ResourceInUseException', 'ResourceNotFoundException', 'AccessDeniedException'])
    assert.deepEqual(
      records.map((r) => [r.operation, r.errorCode]),
      [
        ['CreateTable', 'ResourceInUseException'],
        ['DeleteTable', 'ResourceNotFoundException'],
        ['DescribeTable', 'AccessDeniedException'],
      ],
    )
    const c = client.metrics
    assert.equal(c.requests, 3)
    assert.equal(c.errors, 3)
    assert.equal(c.retries, 0, 'none of these is retryable')
    // and a successful pair is recorded as such
    await client.createTable('made-here', { partitionKey: { name: 'pk', type: 'S' } })
    await client.deleteTable('made-here')
    assert.equal(client.metrics.errors, seen().errors)
    assert.equal(client.metrics.requests, server.stats.requestsTotal)
  })
})

describe('the key schema is read once per table (issue 10 item 2)', () => {
  it('50 concurrent withBatch calls on a fresh client send exactly one DescribeTable', async () => {
    // A slow DescribeTable makes every caller arrive while the read is in flight.
    server.setFaults({ faultOps: ['DescribeTable'], delayMs: 100 })
    const client = freshClient()
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => withBatch(client, 'users', (b) => b.put({ pk: `c${i}` }))))
    assert.equal(server.stats.requests.DescribeTable, 1)
    assert.equal(results.reduce((n, r) => n + r.putsWritten, 0), 50)
    assert.equal(server.table('users').size, 50)
    // later writers and calls use the cached schema
    await withBatch(client, 'users', (b) => b.put({ pk: 'later' }))
    await client.putItem('users', { pk: 'later2' })
    assert.equal(server.stats.requests.DescribeTable, 1)
  })

  it('writers and single-item calls starting together share one read, per table', async () => {
    server.setFaults({ faultOps: ['DescribeTable'], delayMs: 100 })
    const client = freshClient()
    const calls = []
    for (let i = 0; i < 20; i++) {
      calls.push(withBatch(client, 'users', (b) => b.put({ pk: `w${i}` })))
      calls.push(client.putItem('users', { pk: `p${i}` }))
      calls.push(client.getItem('users', { pk: `p${i}` }))
      calls.push(client.deleteItem('pairs', { pk: `x${i}`, sk: i }))
      calls.push(withBatch(client, 'pairs', (b) => b.put({ pk: `y${i}`, sk: i })))
    }
    await Promise.all(calls)
    const described = server.stats.requestLog.filter((r) => r.op === 'DescribeTable')
    assert.equal(described.length, 2, 'one DescribeTable per table')
    assert.equal(server.table('users').size, 40)
    assert.equal(server.table('pairs').size, 20)
  })

  it('a failed read is shared by its concurrent callers and not cached: the next caller reads again', async () => {
    server.setFaults({ faultOps: ['DescribeTable'], delayMs: 50, failOps: { DescribeTable: { code: 'AccessDeniedException', times: 1 } } })
    const client = freshClient()
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        withBatch(client, 'users', (b) => b.put({ pk: `f${i}` })).then(
          () => 'written',
          (e) => (e instanceof BatchWriteError ? e.failed.map((f) => f.reason).join() : e.code),
        ),
      ),
    )
    assert.deepEqual(new Set(outcomes), new Set(['KeySchemaUnavailable']))
    assert.equal(server.stats.requests.DescribeTable, 1, 'one request for the 20 concurrent readers')
    assert.equal(server.stats.requests.BatchWriteItem, undefined, 'nothing was sent without a schema')
    const r = await withBatch(client, 'users', (b) => b.put({ pk: 'after' }))
    assert.equal(r.putsWritten, 1)
    assert.equal(server.stats.requests.DescribeTable, 2, 'the failure was not cached')
    await withBatch(client, 'users', (b) => b.put({ pk: 'after2' }))
    assert.equal(server.stats.requests.DescribeTable, 2, 'the success is')
  })
})

describe('unprocessed entries are matched by key value, fail-safe (issue 9 item 4)', () => {
  async function writeAll(table, items, faults, options = {}) {
    server.setFaults(faults)
    const client = freshClient()
    const w = new BatchWriter(client, table, { ...FAST, maxRetries: 40, ...options })
    const r = await w.putMany(items).then(() => w.close())
    return { r, client }
  }

  for (const form of ['decimal', 'exponent']) {
    it(`number keys returned in ${form} form ("7" sent, "${form === 'decimal' ? '7.0' : '7E+0'}" returned) are re-sent, never counted as written`, async () => {
      // Integers, multiples of 100 (100 -> 1E+2) and fractions (0.25 -> 2.5E-1).
      const ids = []
      for (let i = 0; i < 300; i++) ids.push(i, i * 100 + 100000, i + 0.25)
      const items = ids.map((id) => ({ id, v: String(id) }))
      const { r } = await writeAll('nums', items, { unprocessedRate: 0.3, unprocessedKeyForm: form })
      assert.ok(server.stats.entriesUnprocessed > 100, 'the fault was injected')
      assert.equal(server.table('nums').size, items.length, 'every item reached the table')
      assert.equal(r.putsWritten, items.length)
      assert.equal(server.stats.putsApplied, items.length, 'each applied once: no entry was re-sent without cause')
      assert.equal(r.retries, server.stats.entriesUnprocessed, 'each returned entry matched its operation')
      assertWriterCounts(r, items.length)
    })
  }

  it('sort keys and deletes returned in another number form are matched too', async () => {
    const puts = Array.from({ length: 200 }, (_, i) => ({ pk: `p${i % 7}`, sk: i * 10 }))
    const { r } = await writeAll('pairs', puts, { unprocessedRate: 0.3, unprocessedKeyForm: 'exponent' })
    assert.equal(server.table('pairs').size, 200)
    assert.equal(r.retries, server.stats.entriesUnprocessed)
    server.reset()
    server.setFaults({ ...DEFAULT_FAULTS, unprocessedRate: 0.3, unprocessedKeyForm: 'decimal' })
    const client = freshClient()
    const d = await withBatch(client, 'pairs', (b) => b.deleteMany(puts), { ...FAST, maxRetries: 40 })
    assert.equal(d.deletesWritten, 200)
    assert.equal(server.stats.deletesApplied, 200)
    assert.equal(d.retries, server.stats.entriesUnprocessed)
  })

  it('with retries disabled, exactly the entries the server did not apply are reported failed', async () => {
    const items = Array.from({ length: 400 }, (_, i) => ({ id: i * 100 }))
    server.setFaults({ unprocessedRate: 0.25, unprocessedKeyForm: 'exponent' })
    const client = freshClient()
    const err = await withBatch(client, 'nums', (b) => b.putMany(items), { maxRetries: 0 }).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    const failed = new Set(err.failed.map((f) => f.item.id))
    const missing = items.filter((it) => !server.table('nums').get({ id: { N: String(it.id) } })).map((it) => it.id)
    assert.equal(missing.length, server.stats.entriesUnprocessed)
    assert.deepEqual([...failed].sort((a, b) => a - b), missing, 'failed = not applied by the server')
    assert.equal(err.result.putsWritten, server.table('nums').size, 'written = applied')
    assert.ok(err.failed.every((f) => f.reason === 'UnprocessedAfterRetries'))
  })

  it('a writer given the key by name only (no DescribeTable) matches by value too', async () => {
    const items = Array.from({ length: 300 }, (_, i) => ({ id: i * 100 }))
    const { r } = await writeAll('nums', items, { unprocessedRate: 0.3, unprocessedKeyForm: 'exponent' }, { keySchema: { partitionKey: 'id' } })
    assert.equal(server.stats.requests.DescribeTable, undefined)
    assert.equal(server.table('nums').size, 300)
    assert.equal(r.retries, server.stats.entriesUnprocessed)
  })

  it('string keys that JSON escapes and binary keys are matched exactly', async () => {
    const odd = ['"q"', 'back\\slash', 'line\nbreak', 'tab\t', '\u0001ctl', 'emoji 😀', 'sep\u2028', 'a/b', 'é', '']
    const items = []
    for (let i = 0; i < 200; i++) items.push({ pk: `${odd[i % odd.length]}#${i}` })
    const records = []
    const { r } = await writeAll('users', items, { unprocessedRate: 0.4 }, { onRequest: (x) => records.push(x) })
    assert.equal(server.table('users').size, 200)
    assert.equal(r.retries, server.stats.entriesUnprocessed)
    assert.ok(records.every((x) => x.errorCode !== 'UnreconciledResponse'))
    server.reset()
    const bins = Array.from({ length: 200 }, (_, i) => ({ b: Buffer.from([i, 255 - i, 0, i % 3]) }))
    const b = await writeAll('bins', bins, { unprocessedRate: 0.4 })
    assert.equal(server.table('bins').size, 200)
    assert.equal(b.r.retries, server.stats.entriesUnprocessed)
  })

  for (const form of ['key', 'table', 'kind']) {
    it(`an unprocessed entry that matches nothing (${form}) leaves the request's operations unconfirmed: re-sent, logged, never assumed written`, async () => {
      const lines = []
      const logger = { debug() {}, info() {}, warn: (l) => lines.push(l), error: (l) => lines.push(l) }
      const items = Array.from({ length: 500 }, (_, i) => ({ pk: `s${i}` }))
      server.setFaults({ unprocessedRate: 0.2, strayUnprocessedRate: 0.3, strayUnprocessedForm: form })
      const client = freshClient({ logger })
      const r = await withBatch(client, 'users', (b) => b.putMany(items), { ...FAST, maxRetries: 40 })
      assert.ok(server.stats.strayReturned > 0, 'the fault was injected')
      assert.equal(r.putsWritten, 500)
      assert.equal(server.table('users').size, 500)
      // Every operation of an unreconciled request is sent again, written or not.
      assertWriterCounts(r, 500)
      const anomalies = lines.filter((l) => l.includes('UnreconciledResponse'))
      assert.equal(anomalies.length, server.stats.strayReturned, 'each unreconciled response is logged')
    })
  }

  it('with retries disabled, an unreconciled response reports its operations failed, none as written', async () => {
    const items = Array.from({ length: 300 }, (_, i) => ({ pk: `z${i}` }))
    server.setFaults({ unprocessedRate: 0.2, strayUnprocessedRate: 0.5 })
    const client = freshClient()
    const err = await withBatch(client, 'users', (b) => b.putMany(items), { maxRetries: 0 }).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    const failed = new Set(err.failed.map((f) => f.item))
    for (const it of items) {
      if (!failed.has(it)) assert.ok(server.table('users').get({ pk: { S: it.pk } }), `${it.pk} counted as written and applied`)
    }
    assert.equal(err.result.putsWritten + err.failed.length, 300)
    assert.ok(err.failed.some((f) => f.reason === 'UnreconciledResponse'))
  })
})

describe('latency percentiles lie within what was observed (issue 10 item 7)', () => {
  it('a one-request writer: p50 and p99 are that request, not above it', async () => {
    server.setFaults({ delayMs: 30 })
    const client = freshClient()
    const w = new BatchWriter(client, 'users', { keySchema: { partitionKey: { name: 'pk', type: 'S' } } })
    const t0 = performance.now()
    await w.put({ pk: 'one' })
    const r = await w.flush()
    const wall = performance.now() - t0
    assert.equal(r.requests, 1)
    // The server held the answer 30 ms; the request cannot have taken longer than the whole flush.
    for (const p of [r.p50LatencyMs, r.p99LatencyMs]) {
      assert.ok(p >= 30 && p <= wall, `percentile ${p} outside [30, ${wall}]`)
      // (a flush's totalLatencyMs is a difference of two running sums: equal to the one duration up to rounding)
      assert.ok(p <= r.totalLatencyMs + 1e-6, `percentile ${p} above the only request's ${r.totalLatencyMs} ms`)
    }
    await w.close()
  })

  it("a flush's percentiles are within its own requests, not the writer's earlier ones", async () => {
    const client = freshClient()
    const w = new BatchWriter(client, 'users', { keySchema: { partitionKey: { name: 'pk', type: 'S' } } })
    server.setFaults({ delayMs: 300 })
    await w.put({ pk: 'slow' })
    await w.flush()
    server.setFaults({ delayMs: 0 })
    await w.put({ pk: 'fast' })
    const t0 = performance.now()
    const r = await w.flush()
    const wall = performance.now() - t0
    assert.equal(r.requests, 1)
    for (const p of [r.p50LatencyMs, r.p99LatencyMs]) {
      assert.ok(p <= wall, `percentile ${p} above the flush's own ${wall.toFixed(2)} ms`)
      // (a flush's totalLatencyMs is a difference of two running sums: equal to the one duration up to rounding)
      assert.ok(p <= r.totalLatencyMs + 1e-6, `percentile ${p} above the only request's ${r.totalLatencyMs} ms`)
    }
    await w.close()
  })

  it('requests that all took about 1.1 s: p50 and p99 are not above the run (DynamoDB Local example)', async () => {
    server.setFaults({ delayMs: 1100 })
    const client = freshClient()
    const t0 = performance.now()
    const r = await withBatch(client, 'users', (b) => b.putMany(Array.from({ length: 75 }, (_, i) => ({ pk: `d${i}` }))), {
      keySchema: { partitionKey: { name: 'pk', type: 'S' } },
    })
    const wall = performance.now() - t0
    assert.equal(r.requests, 3)
    for (const p of [r.p50LatencyMs, r.p99LatencyMs, client.metrics.p50LatencyMs, client.metrics.p99LatencyMs]) {
      assert.ok(p >= 1100 && p <= wall, `percentile ${p} outside [1100, ${wall.toFixed(1)}]`)
      assert.ok(p <= r.elapsedMs, `percentile ${p} above elapsedMs ${r.elapsedMs}`)
    }
  })

  it('many requests with a known server delay: percentiles within [delay, wall time]', async () => {
    server.setFaults({ delayMs: 20 })
    const client = freshClient()
    const t0 = performance.now()
    const r = await withBatch(client, 'users', (b) => b.putMany(Array.from({ length: 1000 }, (_, i) => ({ pk: `k${i}` }))), {
      keySchema: { partitionKey: { name: 'pk', type: 'S' } },
      maxInFlight: 4,
    })
    const wall = performance.now() - t0
    assert.equal(r.requests, server.stats.requests.BatchWriteItem)
    for (const p of [r.p50LatencyMs, r.p99LatencyMs, client.metrics.p50LatencyMs, client.metrics.p99LatencyMs]) {
      assert.ok(p >= 20 && p <= wall, `percentile ${p} outside [20, ${wall.toFixed(1)}]`)
    }
    assert.ok(r.p50LatencyMs <= r.p99LatencyMs)
  })
})
