'use strict'
// A client bounds its connections (issue 10 item 5): the requests it has in flight and the sockets it holds,
// across all its writers and calls, stay within maxConnections (default 50); idle connections close after
// idleTimeoutMs; client.close() closes them. Measured at the server (the fault server counts the sockets
// open at once, the requests in flight at once, and which connections the client ended) and, for a process
// under `ulimit -n 1024` with a thousand short-lived writers, in the process's own descriptor table.
// (Before the client used the SDK's bounded pool, a request slot alone bounded requests but not sockets:
// 50 -> 51..63 sockets for 1,200 writers, and close() resolved before the sockets were closed.)

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { DynamoDBClient, BatchWriter, withBatch } = require('dynabatch')
const { startFaultServer, DEFAULT_FAULTS } = require('./helpers/fault-server.js')
const { clientOptions } = require('./helpers/dynalite.js')
const { runChild } = require('./helpers/run-child.js')

const KEY = { partitionKey: { name: 'pk', type: 'S' } }

let server
before(async () => {
  server = await startFaultServer({ tables: { t: KEY }, store: true, history: false })
})
after(() => server.close())
beforeEach(async () => {
  // Sockets of a previous test's clients are gone (each test closes its clients).
  await until(() => server.stats.openConnections === 0, 5000)
  server.reset()
  // Slow answers make requests overlap, so a client without a bound would open one socket per request.
  server.setFaults({ ...DEFAULT_FAULTS, faultOps: ['BatchWriteItem', 'PutItem', 'GetItem', 'DescribeTable'], delayMs: 20 })
})

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
async function until(cond, ms) {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) return false
    await sleep(10)
  }
  return true
}

/** 1,200 writers on one client, one item each, closing at once; what the server saw. */
async function manyWriters(client, n = 1200) {
  const writers = Array.from({ length: n }, () => new BatchWriter(client, 't', { keySchema: KEY }))
  writers.forEach((w, i) => w.put({ pk: `w${i}` }))
  const results = await Promise.all(writers.map((w) => w.close()))
  assert.equal(results.reduce((k, r) => k + r.putsWritten, 0), n)
  assert.equal(server.table('t').size, n)
  return { maxConcurrent: server.stats.maxConcurrent, maxOpen: server.stats.maxOpenConnections }
}

describe('bounded connections (issue 10 item 5)', () => {
  it('1,200 writers on one client closing at once: at most the default 50 requests in flight at the server', async () => {
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    try {
      const s = await manyWriters(client)
      assert.ok(s.maxConcurrent <= 50, `${s.maxConcurrent} requests in flight at once`)
      assert.ok(s.maxConcurrent > 10, 'the requests did overlap')
    } finally {
      await client.close()
    }
  })

  it('1,200 writers on one client closing at once: at most the default 50 sockets at the server (three runs)', async () => {
    for (let run = 0; run < 3; run++) {
      const client = new DynamoDBClient(clientOptions(server.endpoint))
      try {
        server.reset()
        const s = await manyWriters(client)
        assert.ok(s.maxOpen <= 50, `run ${run}: ${s.maxOpen} sockets open at once`)
      } finally {
        await client.close()
        await until(() => server.stats.openConnections === 0, 5000)
      }
    }
  })

  it('maxConnections bounds writers, single-item calls and schema reads of a client together', async () => {
    const client = new DynamoDBClient({ ...clientOptions(server.endpoint), maxConnections: 4 })
    try {
      await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => withBatch(client, 't', (b) => b.putMany(Array.from({ length: 30 }, (_, j) => ({ pk: `b${i}#${j}` }))))),
        ...Array.from({ length: 50 }, (_, i) => client.putItem('t', { pk: `p${i}` })),
        ...Array.from({ length: 50 }, (_, i) => client.getItem('t', { pk: `p${i}` })),
      ])
      const s = server.stats
      assert.equal(server.table('t').size, 20 * 30 + 50)
      assert.ok(s.maxConcurrent <= 4, `${s.maxConcurrent} requests in flight at once`)
      assert.ok(s.maxOpenConnections <= 4, `${s.maxOpenConnections} sockets open at once`)
      assert.ok(s.maxConcurrent >= 2, 'the requests did overlap')
    } finally {
      await client.close()
    }
  })

  it('idle connections are closed by the client after idleTimeoutMs', async () => {
    const idle = 1000
    const client = new DynamoDBClient({ ...clientOptions(server.endpoint), idleTimeoutMs: idle, maxConnections: 8 })
    try {
      await Promise.all(Array.from({ length: 8 }, (_, i) => withBatch(client, 't', (b) => b.put({ pk: `i${i}` }), { keySchema: KEY })))
      const opened = server.stats.connectionsOpened
      assert.ok(opened > 1, `${opened} connections`)
      const idleSince = Date.now()
      await sleep(idle * 0.4)
      assert.equal(server.stats.openConnections, opened, 'still open well before idleTimeoutMs')
      // The server keeps connections 60 s; the pool's idle check runs about once per idleTimeoutMs, so a
      // connection closes between idleTimeoutMs and about twice that (2 s more for a busy machine).
      assert.ok(await until(() => server.stats.openConnections === 0, idle * 2 + 2000), `${server.stats.openConnections} still open`)
      const closedAfter = Date.now() - idleSince
      assert.ok(closedAfter >= idle * 0.9, `closed after ${closedAfter} ms, before idleTimeoutMs`)
      assert.equal(server.stats.connectionsEndedByClient, opened, 'the client ended them')
      // The client still works: it opens a connection again.
      await client.putItem('t', { pk: 'again' })
      assert.equal(server.stats.connectionsOpened, opened + 1)
    } finally {
      await client.close()
    }
  })

  it('client.close() waits for requests in flight, closes every connection, and refuses later calls', async () => {
    const client = new DynamoDBClient({ ...clientOptions(server.endpoint), maxConnections: 8 })
    await client.putItem('t', { pk: 'warm' }) // the key schema is read: the slow call below is one request
    await Promise.all(Array.from({ length: 8 }, (_, i) => withBatch(client, 't', (b) => b.put({ pk: `c${i}` }))))
    assert.ok(server.stats.openConnections > 1)
    server.setFaults({ delayMs: 300 })
    const slow = client.putItem('t', { pk: 'slow' })
    await until(() => server.stats.inFlight === 1, 2000)
    await client.close()
    await slow // the request in flight completed
    assert.ok(server.table('t').get({ pk: { S: 'slow' } }))
    assert.equal(client.closed, true)
    assert.ok(await until(() => server.stats.openConnections === 0, 2000), `${server.stats.openConnections} still open after close()`)
    assert.equal(server.stats.connectionsEndedByClient, server.stats.connectionsOpened)
    await assert.rejects(client.putItem('t', { pk: 'late' }), { code: 'ClientClosed' })
    assert.throws(() => new BatchWriter(client, 't', { keySchema: KEY }), { code: 'ClientClosed' })
    await client.close() // idempotent
  })

  it('[Symbol.asyncDispose] closes the connections too', async () => {
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    await client.putItem('t', { pk: 'd' })
    assert.equal(server.stats.openConnections, 1)
    await client[Symbol.asyncDispose]()
    assert.ok(await until(() => server.stats.openConnections === 0, 2000))
    assert.equal(server.stats.connectionsEndedByClient, 1)
  })

  describe('under ulimit -n 1024 (AWS Lambda), a thousand short-lived writers in one process', () => {
    let r
    before(async () => {
      server.reset()
      const script = path.join(__dirname, 'helpers', 'many-writers.js')
      const shell = 'ulimit -n 1024 && exec "$0" "$@"'
      const { code, stdout: out, stderr: errText } = await runChild('bash', ['-c', shell, process.execPath, script, server.endpoint, 't', '1000', '3'])
      assert.equal(code, 0, errText)
      r = JSON.parse(out)
      // (the outer beforeEach resets the server before each test below)
      r.serverMaxOpen = server.stats.maxOpenConnections
      r.tableSize = server.table('t').size
    })

    it("write everything and leave the application's own file reads working", () => {
      assert.deepEqual(r.failures, [])
      assert.equal(r.written, 3000)
      assert.equal(r.tableSize, 3000)
      assert.equal(r.readErrors, 0, `the application's file reads failed: ${r.codes}`)
      assert.ok(r.reads > 0)
    })

    it('hold no socket once `await client.close()` has resolved', () => {
      assert.ok(r.afterClose <= r.baseline, `${r.afterClose - r.baseline} sockets left after client.close()`)
    })

    it('hold at most maxConnections (50) sockets, in its own descriptor table and at the server', () => {
      assert.ok(r.peak - r.baseline <= 50, `${r.peak - r.baseline} sockets at once (baseline ${r.baseline})`)
      assert.ok(r.serverMaxOpen <= 50, `${r.serverMaxOpen} sockets at the server`)
    })
  })
})
