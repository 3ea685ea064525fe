'use strict'
// client.scan against dynalite (real semantics: segments, filters, projections, consistency) and against the
// fault-injecting server (throttling, 5xx, dropped connections, pages that keep failing, aborts, and a slow
// consumer over 200,000 items: the reads are held back, measured on the server side and by RSS).

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const { DynamoDBClient, NumberValue, FixedRate, withBatch } = require('dynabatch')
const { everyType } = require('./helpers/every-type.js')
const { startDynalite, clientOptions, uniqueTableName } = require('./helpers/dynalite.js')
const { startFaultServer, spawnFaultServer, DEFAULT_FAULTS } = require('./helpers/fault-server.js')

const FAST = { baseDelayMs: 1, maxDelayMs: 20 }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// An item of every DynamoDB type, in the form it reads back as.
const typed = (i) => ({ pk: `k${i}`, ...everyType(i) })

// The item in DynamoDB JSON, for loading the fault server directly.
const plain = (i) => ({ pk: { S: `k${i}` }, n: { N: String(i) }, pad: { S: 'p'.repeat(200) } })

async function collect(iterable) {
  const out = []
  for await (const x of iterable) out.push(x)
  return out
}

function exactlyOnce(items, n) {
  assert.equal(items.length, n)
  const seen = new Set(items.map((x) => x.pk))
  assert.equal(seen.size, n, 'no item twice')
  for (let i = 0; i < n; i++) assert.ok(seen.has(`k${i}`), `k${i} read`)
}

describe('scan on dynalite', () => {
  let server
  let client
  let table
  const N = 1500
  const records = []
  before(async () => {
    server = await startDynalite()
    client = new DynamoDBClient({ ...clientOptions(server.endpoint), onRequest: (r) => records.push(r) })
    table = uniqueTableName('scan')
    await client.createTable(table, { partitionKey: { name: 'pk', type: 'S' } })
    await withBatch(client, table, (b) => b.putMany(Array.from({ length: N }, (_, i) => typed(i))))
  })
  after(() => server.close())

  it('1, 4 and 8 segments: every item exactly once, every type read back exactly', async () => {
    for (const totalSegments of [1, 4, 8]) {
      const items = await collect(client.scan(table, { totalSegments, pageSize: 100 }))
      exactlyOnce(items, N)
      for (const it of items) assert.deepEqual(it, typed(Number(it.pk.slice(1))))
    }
  })

  it('pages(): one array per Scan page, at most pageSize; metrics count what was read', async () => {
    const scan = client.scan(table, { totalSegments: 4, pageSize: 64 })
    const from = records.length
    const pages = await collect(scan.pages())
    assert.ok(pages.every((p) => Array.isArray(p) && p.length > 0 && p.length <= 64))
    exactlyOnce(pages.flat(), N)
    const m = scan.metrics
    assert.equal(m.items, N)
    assert.equal(m.scanned, N)
    assert.equal(m.segments, 4)
    assert.equal(m.segmentsDone, 4)
    assert.ok(m.consumedRcu > 0 && m.elapsedMs > 0 && m.itemsPerSecond > 0)
    await sleep(20)
    const scans = records.slice(from).filter((r) => r.operation === 'Scan')
    // every page read is counted; a segment's last page may be empty, and is not handed out
    assert.equal(m.pages, scans.length)
    assert.ok(pages.length <= m.pages && pages.length >= m.pages - 4)
    assert.equal(scans.reduce((n, r) => n + r.returned, 0), N)
    assert.equal(scans.reduce((n, r) => n + r.scanned, 0), N)
    assert.equal(scans.reduce((n, r) => n + r.consumedRcu, 0), m.consumedRcu)
    assert.ok(scans.every((r) => r.items === 0 && r.attempt === 1))
  })

  it('filter with names and values, and a projection', async () => {
    const scan = client.scan(table, {
      totalSegments: 3,
      filterExpression: '#n >= :min AND #t = :yes',
      expressionAttributeNames: { '#n': 'n', '#t': 't' },
      expressionAttributeValues: { ':min': 1500, ':yes': true }, // n is 1.5 i
      projection: ['pk', 'n', 'big'],
    })
    const items = await collect(scan)
    const want = Array.from({ length: N }, (_, i) => i).filter((i) => i >= 1000 && i % 2 === 0)
    assert.deepEqual(
      items.map((x) => x.n / 1.5).sort((a, b) => a - b),
      want,
    )
    for (const it of items) assert.deepEqual(it, { pk: `k${it.n / 1.5}`, n: it.n, big: new NumberValue('12345678901234567890.5') })
    assert.equal(scan.metrics.scanned, N, 'the filter applies after the read')
    assert.equal(scan.metrics.items, want.length)
  })

  it('breaking out early stops the reads; a scan is iterated once', async () => {
    const scan = client.scan(table, { totalSegments: 2, pageSize: 10 })
    let n = 0
    for await (const item of scan) {
      assert.ok(item.pk)
      if (++n === 15) break
    }
    await sleep(50)
    const after1 = client.metrics.requests
    await sleep(100)
    assert.equal(client.metrics.requests, after1, 'nothing is read after the loop ended')
    assert.ok(scan.metrics.pages < 10)
    assert.throws(() => scan[Symbol.asyncIterator](), {
      code: 'InvalidArgument',
      message: 'a scan is iterated once: call client.scan again to read the table again',
    })
  })

  it('nothing is read before the iteration starts', async () => {
    const before1 = client.metrics.requests
    const scan = client.scan(table)
    await sleep(50)
    assert.equal(client.metrics.requests, before1)
    assert.equal(scan.metrics.pages, 0)
  })

  it('a missing table rejects the iteration: never an end that looks complete', async () => {
    await assert.rejects(collect(client.scan(uniqueTableName('missing'))), { code: 'ResourceNotFoundException' })
  })

  it('options are judged when the scan is made', () => {
    assert.throws(() => client.scan(table, { totalSegments: 0 }), {
      code: 'InvalidArgument',
      message: 'totalSegments must be an integer from 1 to 1000000, got 0',
    })
    assert.throws(() => client.scan(table, { segments: 4 }), { code: 'InvalidArgument', message: /^unknown scan option "segments"/ })
    assert.throws(() => client.scan(table, { filterExpression: 5 }), {
      code: 'InvalidArgument',
      message: 'filterExpression must be a string, got 5',
    })
    assert.throws(() => client.scan(table, { pageSize: 0 }), { code: 'InvalidArgument' })
    assert.throws(() => client.scan(table, { projection: 'pk' }), { code: 'InvalidArgument' })
    assert.throws(() => client.scan(table, { rateLimit: new FixedRate({ wcu: 5 }) }), {
      code: 'InvalidArgument',
      message: 'rateLimit must be a FixedRate or an AdaptiveRate in RCU for reads, got a FixedRate in WCU',
    })
    assert.throws(() => client.scan(table, { signal: {} }), { code: 'InvalidArgument', message: 'signal must be an AbortSignal, got an object' })
    assert.throws(() => client.scan(''), { code: 'InvalidArgument', message: 'table must be a non-empty string' })
    assert.throws(() => client.scan(table, { expressionAttributeValues: { ':v': NaN } }), { code: 'InvalidItem' })
  })
})

describe('scan under faults', () => {
  let server
  let client
  const N = 5000
  before(async () => {
    server = await startFaultServer({
      tables: { t: { partitionKey: { name: 'pk', type: 'S' } }, wide: { partitionKey: { name: 'pk', type: 'S' } } },
    })
    server.load(
      't',
      Array.from({ length: N }, (_, i) => plain(i)),
    )
    client = new DynamoDBClient({ ...clientOptions(server.endpoint), requestTimeoutMs: 2000 })
  })
  after(() => server.close())
  beforeEach(() => {
    server.resetStats()
    server.setFaults({ ...DEFAULT_FAULTS })
  })

  it('throttling, 5xx and dropped connections: 8 segments still read every item exactly once', async () => {
    server.setFaults({ throttleRate: 0.1, errorRate: 0.05, resetRate: 0.03, lostAnswerRate: 0.03, faultOps: ['Scan'] })
    const before1 = client.metrics
    const items = await collect(client.scan('t', { totalSegments: 8, pageSize: 100, ...FAST, maxRetries: 30 }))
    exactlyOnce(items, N)
    const s = server.stats
    assert.ok(s.throttled > 0 && s.errors500 > 0 && s.resets + s.lostAnswers > 0, 'the faults happened')
    const m = client.metrics
    assert.ok(m.throttles - before1.throttles > 0)
    assert.ok(m.retries - before1.retries >= s.throttled + s.errors500 + s.resets + s.lostAnswers)
    assert.equal(m.requests - before1.requests, s.requests.Scan)
  })

  it('a page that keeps failing ends the iteration with its error, after the items read before it', async () => {
    let n = 0
    const iteration = (async () => {
      for await (const _ of client.scan('t', { pageSize: 100, maxRetries: 2, ...FAST })) {
        if (++n === 300) server.setFaults({ throttleRate: 1, faultOps: ['Scan'] })
      }
    })()
    await assert.rejects(iteration, { code: 'ProvisionedThroughputExceededException' })
    assert.ok(n >= 300 && n < N, `${n} items before the error`)
  })

  it('an aborted signal rejects the iteration with Aborted', async () => {
    server.setFaults({ delayMs: 30, faultOps: ['Scan'] })
    const ac = new AbortController()
    let n = 0
    const iteration = (async () => {
      for await (const _ of client.scan('t', { pageSize: 100, signal: ac.signal })) if (++n === 150) ac.abort()
    })()
    await assert.rejects(iteration, { code: 'Aborted', message: "the scan's signal was aborted before the table was read" })
    assert.ok(n < N)
    await assert.rejects(collect(client.scan('t', { signal: AbortSignal.abort() })), { code: 'Aborted' })
    await sleep(100) // the requests the abort left in flight are answered before the next test
  })

  it('consistentRead: strongly consistent pages cost twice the capacity', async () => {
    const rcu0 = server.stats.rcuTotal
    const eventual = client.scan('t', { pageSize: 500 })
    await collect(eventual)
    const strong = client.scan('t', { pageSize: 500, consistentRead: true })
    await collect(strong)
    assert.ok(eventual.metrics.consumedRcu > 0)
    assert.equal(strong.metrics.consumedRcu, 2 * eventual.metrics.consumedRcu)
    assert.equal(server.stats.rcuTotal - rcu0, 3 * eventual.metrics.consumedRcu)
  })

  it('pages stop at 1 MB', async () => {
    server.load(
      'wide',
      Array.from({ length: 300 }, (_, i) => ({ pk: { S: `w${i}` }, pad: { S: 'x'.repeat(10 * 1024) } })),
    )
    const pages = await collect(client.scan('wide').pages())
    assert.equal(pages.flat().length, 300)
    assert.ok(pages.length >= 3)
    assert.ok(pages.every((p) => p.length <= 103), `page sizes ${pages.map((p) => p.length)}`)
  })
})

describe('scan with a slow consumer', () => {
  const N = 200_000
  const PAGE = 500
  const SEGMENTS = 8
  let child
  before(async () => {
    child = await spawnFaultServer({ tables: { big: { partitionKey: { name: 'pk', type: 'S' } } }, history: false, requestLogSize: 0 })
    const pad = 'p'.repeat(400)
    for (let i = 0; i < N; i += 20_000) {
      await child.load(
        'big',
        Array.from({ length: 20_000 }, (_, j) => ({ pk: { S: `k${i + j}` }, n: { N: String(i + j) }, pad: { S: pad } })),
      )
    }
  })
  after(() => child.close())

  it('200,000 items: the reads stay a bounded distance ahead, and memory stays bounded', async () => {
    const client = new DynamoDBClient(clientOptions(child.endpoint))
    const rss0 = process.memoryUsage().rss
    let peak = rss0
    let maxAhead = 0
    let n = 0
    const seen = new Uint8Array(N)
    const scan = client.scan('big', { totalSegments: SEGMENTS, pageSize: PAGE })
    for await (const item of scan) {
      seen[item.n] += 1
      if (++n % 2000 === 0) {
        // a consumer slower than the reads: it pauses, and the server says how far the reads got meanwhile
        await sleep(25)
        const served = (await child.snapshot()).itemsReturned
        maxAhead = Math.max(maxAhead, served - n)
        peak = Math.max(peak, process.memoryUsage().rss)
      }
    }
    assert.equal(n, N)
    assert.ok(seen.every((c) => c === 1), 'every item exactly once')
    // Ahead of the consumer at most: a page per segment in flight, one per segment waiting for room in the
    // queue, the queue's pages (bufferPages = segments), the pages the last hop brought to JS (at most a
    // queue's worth) and the page being consumed.
    const bound = (4 * SEGMENTS + 1) * PAGE
    assert.ok(maxAhead <= bound, `the reads got ${maxAhead} items ahead (bound ${bound})`)
    assert.ok(maxAhead >= PAGE, `the reads did run ahead (${maxAhead})`)
    // The whole table is ~100 MB as data (twice that as the read wire's UTF-16): the scan held a bounded part.
    const grewMb = (peak - rss0) / 1e6
    assert.ok(grewMb < 120, `RSS grew by ${grewMb.toFixed(0)} MB`)
  })
})
