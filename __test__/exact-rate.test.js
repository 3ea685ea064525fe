'use strict'
// A rate limit is a ceiling at the server (issue 10 item 3): in any window of t seconds, no more than
// burst + wcu·t units reach it (an item larger than the burst goes alone, so the ceiling is then that item's
// units + wcu·t), and no request carries more units than the bucket holds. Measured with the server's own
// timestamps: the fault server runs in a child process (so this thread's work does not shift its clock) and
// logs, per request, when it read the request (performance.now()) and the WCU it applied.
//
// Tolerance: a timestamp is taken when the server has read a request, not when dynabatch let it go; a
// request held up on its way (thread scheduling on a shared machine, the socket layer) arrives closer to
// the next one than it left, which can squeeze more units into a window than the bucket released in it.
// SLACK_S seconds of rate are allowed for that: bound = ceiling + wcu·(t + SLACK_S). The overshoots the
// issue measured are far beyond it (120 WCU in 14 ms for wcu 20 / burst 1, whose bound here is 1 + 20·0.35
// = 8 WCU in 100 ms; 100 WCU at once for --rate-limit 10, bound 10 + 10·0.35 = 13.5).

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { DynamoDBClient, BatchWriter, withBatch, FixedRate, AdaptiveRate } = require('dynabatch')
const { spawnFaultServer } = require('./helpers/fault-server.js')
const { clientOptions } = require('./helpers/dynalite.js')
const { runChild, dummyAwsEnv } = require('./helpers/run-child.js')

const SLACK_S = 0.25
const KEY = { partitionKey: { name: 'pk', type: 'S' } }
const BIN = path.join(__dirname, '..', 'bin', 'dynabatch.js')

let server
before(async () => {
  server = await spawnFaultServer({ tables: { rl: KEY }, requestLogSize: 100_000 })
})
after(() => server.close())
beforeEach(() => server.reset())

// Sized away from the 1 KB steps, so dynabatch's estimate and the server's count agree: 1 WCU and 4 WCU.
const small = (prefix, i) => ({ pk: `${prefix}${i}`, pad: 'p'.repeat(580) })
const large = (prefix, i) => ({ pk: `${prefix}${i}`, pad: 'q'.repeat(3500) })

/**
 * Checks the server's log against the ceiling: every window of 0.1, 0.5, 1 and 2 s and the whole run.
 * `largest`: the units of the largest single item (a request may carry that much when it exceeds the burst).
 */
async function assertCeiling({ rate, burst, largest = 1, what }) {
  const snap = await server.snapshot()
  const writes = snap.requestLog.filter((r) => r.wcu > 0).sort((a, b) => a.t - b.t)
  assert.ok(writes.length > 1, 'requests were logged')
  const cap = Math.max(burst, largest)
  for (const r of writes) assert.ok(r.wcu <= cap, `${what}: one request carried ${r.wcu} WCU, more than the bucket's ${cap}`)
  const span = (writes[writes.length - 1].t - writes[0].t) / 1000
  for (const width of [0.1, 0.5, 1, 2, span]) {
    let worst = 0
    let from = 0
    let sum = 0
    for (let i = 0, j = 0; i < writes.length; i++) {
      while (j < writes.length && writes[j].t <= writes[i].t + width * 1000) sum += writes[j++].wcu
      if (sum > worst) [worst, from] = [sum, (writes[i].t - writes[0].t) / 1000]
      sum -= writes[i].wcu
    }
    const bound = cap + rate * (width + SLACK_S)
    assert.ok(
      worst <= bound,
      `${what}: ${worst} WCU reached the server within ${width.toFixed(2)} s (from ${from.toFixed(2)} s), ` +
        `more than ${cap} + ${rate}·(${width.toFixed(2)} + ${SLACK_S}) = ${bound.toFixed(1)}`,
    )
  }
  return { snap, writes, span }
}

describe('rate limits hold at the server (issue 10 item 3)', () => {
  it('FixedRate({ wcu: 20, burst: 1 }): one unit per request, never more than 1 + 20·t in t seconds', async () => {
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    const r = await withBatch(client, 'rl', (b) => b.putMany(Array.from({ length: 60 }, (_, i) => small('a', i))), {
      rateLimit: new FixedRate({ wcu: 20, burst: 1 }),
      keySchema: KEY,
    })
    assert.equal(r.putsWritten, 60)
    const { snap } = await assertCeiling({ rate: 20, burst: 1, what: 'wcu 20, burst 1' })
    assert.equal(snap.wcuTotal, 60)
    assert.equal(snap.tables.rl.size, 60)
  })

  it('one FixedRate({ wcu: 50 }) shared by two writers: the two together stay under it', async () => {
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    const rate = new FixedRate({ wcu: 50 })
    await Promise.all(
      ['a', 'b'].map((p) => withBatch(client, 'rl', (b) => b.putMany(Array.from({ length: 100 }, (_, i) => small(p, i))), { rateLimit: rate, keySchema: KEY })),
    )
    const { snap } = await assertCeiling({ rate: 50, burst: 50, what: 'wcu 50 shared by two writers' })
    assert.equal(snap.wcuTotal, 200)
  })

  it("a client's FixedRate({ wcu: 50, burst: 5 }) shared by two writers and putItem calls", async () => {
    const client = new DynamoDBClient({ ...clientOptions(server.endpoint), rateLimit: new FixedRate({ wcu: 50, burst: 5 }) })
    await client.putItem('rl', small('warm', 0)) // reads the key schema, so every call below is a write
    await Promise.all([
      withBatch(client, 'rl', (b) => b.putMany(Array.from({ length: 80 }, (_, i) => small('a', i)))),
      withBatch(client, 'rl', (b) => b.putMany(Array.from({ length: 80 }, (_, i) => small('b', i)))),
      ...Array.from({ length: 40 }, (_, i) => client.putItem('rl', small('c', i))),
    ])
    const { snap } = await assertCeiling({ rate: 50, burst: 5, what: 'wcu 50, burst 5, two writers and 40 putItem' })
    assert.equal(snap.wcuTotal, 201)
  })

  it('items larger than the burst go alone, each once the bucket is full, and later requests wait out the debt', async () => {
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    const items = []
    for (let i = 0; i < 8; i++) items.push(large('L', i), small('s', i), small('t', i))
    const r = await withBatch(client, 'rl', (b) => b.putMany(items), { rateLimit: new FixedRate({ wcu: 10, burst: 2 }), keySchema: KEY })
    assert.equal(r.putsWritten, items.length)
    const { writes } = await assertCeiling({ rate: 10, burst: 2, largest: 4, what: 'wcu 10, burst 2, items of 4 WCU' })
    for (const w of writes) if (w.wcu > 2) assert.equal(w.entries, 1, 'an item larger than the burst goes alone')
  })

  it('re-sends of unprocessed and throttled items are paced by the same bucket', async () => {
    await server.setFaults({ unprocessedRate: 0.3, throttleRate: 0.1 })
    try {
      const client = new DynamoDBClient(clientOptions(server.endpoint))
      const r = await withBatch(client, 'rl', (b) => b.putMany(Array.from({ length: 60 }, (_, i) => small('r', i))), {
        rateLimit: new FixedRate({ wcu: 20, burst: 3 }),
        keySchema: KEY,
        maxRetries: 30,
        baseDelayMs: 1,
        maxDelayMs: 10,
      })
      assert.equal(r.putsWritten, 60)
      const { snap } = await assertCeiling({ rate: 20, burst: 3, what: 'wcu 20, burst 3, with re-sends' })
      assert.ok(snap.entriesUnprocessed > 0 && snap.throttled > 0, 'the faults were injected')
    } finally {
      await server.setFaults({ unprocessedRate: 0, throttleRate: 0 })
    }
  })

  it('AdaptiveRate({ maxWcu: 20 }) stays within its maximum the same way', async () => {
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    const rate = new AdaptiveRate({ maxWcu: 20, startWcu: 20 })
    await withBatch(client, 'rl', (b) => b.putMany(Array.from({ length: 70 }, (_, i) => small('a', i))), { rateLimit: rate, keySchema: KEY })
    await assertCeiling({ rate: 20, burst: 20, what: 'adaptive, max 20' })
    assert.ok(rate.currentWcu <= 20)
  })

  it('dynabatch import --rate-limit 10 with 25 items of 4 WCU: at most 10 + 10·t WCU in t seconds', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-rate-'))
    try {
      const file = path.join(dir, 'items.jsonl')
      fs.writeFileSync(file, Array.from({ length: 25 }, (_, i) => JSON.stringify(large('cli', i))).join('\n') + '\n')
      const args = [BIN, 'import', file, '--table', 'rl', '--rate-limit', '10', '--endpoint', server.endpoint, '--region', 'us-east-1', '--json']
      const { code, stdout: out, stderr: errText } = await runChild(process.execPath, args, { env: dummyAwsEnv() })
      assert.equal(code, 0, errText)
      const { snap } = await assertCeiling({ rate: 10, burst: 10, largest: 4, what: 'CLI --rate-limit 10' })
      assert.equal(snap.tables.rl.size, 25)
      assert.equal(snap.wcuTotal, 100)
      assert.equal(JSON.parse(out).written, 25)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
