'use strict'
// BatchWriter against a real DynamoDB-compatible server (dynalite): what the writer accepts ends in the table.

const { describe, it, before, after } = require('node:test')
const { spawn } = require('node:child_process')
const assert = require('node:assert/strict')
const { DynamoDBClient, BatchWriter, BatchWriteError, withBatch } = require('dynabatch')
const { startDynalite, clientOptions, uniqueTableName, countItems } = require('./helpers/dynalite.js')

let server
let client

before(async () => {
  server = await startDynalite()
  client = new DynamoDBClient(clientOptions(server.endpoint))
})
after(() => server.close())

async function newTable(sortKey) {
  const t = uniqueTableName('w')
  await client.createTable(t, { partitionKey: { name: 'pk', type: 'S' }, ...(sortKey ? { sortKey } : {}) })
  return t
}

function user(i) {
  return {
    pk: `USER#${i}`,
    name: `User ${i}`,
    age: i % 90,
    score: i / 4,
    active: i % 2 === 0,
    tags: new Set([`t${i % 5}`, 'all']),
    address: { city: 'Lyon', zip: String(69000 + (i % 10)) },
    history: [i, `${i}`, null],
  }
}

describe('BatchWriter on dynalite', () => {
  it('10,000 puts through withBatch land in the table, exactly', async () => {
    const table = await newTable()
    const N = 10000
    const result = await withBatch(client, table, async (b) => {
      for (let i = 0; i < N; i++) await b.put(user(i))
    })
    assert.equal(result.putsWritten, N)
    assert.equal(result.deletesWritten, 0)
    assert.equal(result.failed, 0)
    assert.equal(result.requests, N / 25)
    assert.equal(result.consumedWcu, N)
    assert.ok(result.itemsPerSecond > 0)
    assert.ok(result.p99LatencyMs >= result.p50LatencyMs)
    assert.equal(await countItems(server.endpoint, table), N)
    for (const i of [0, 1, 777, 4242, 9999]) {
      assert.deepEqual(await client.getItem(table, { pk: `USER#${i}` }), user(i))
    }
  })

  it('a synchronous callback that never awaits loses nothing', async () => {
    const table = await newTable()
    const result = await withBatch(
      client,
      table,
      (b) => {
        for (let i = 0; i < 3000; i++) b.put({ pk: `k${i}`, v: i })
      },
      { highWaterMark: 100 },
    )
    assert.equal(result.putsWritten, 3000)
    assert.equal(await countItems(server.endpoint, table), 3000)
  })

  it('un-awaited putMany and put right before close are all written (nothing accepted is refused by close)', async () => {
    const table = await newTable()
    const w = new BatchWriter(new DynamoDBClient(clientOptions(server.endpoint)), table) // waits for the schema
    assert.equal(w._native.keySchemaKnown, false)
    w.putMany([{ pk: 'a' }, { pk: 'b' }])
    w.put({ pk: 'c' })
    w.deleteMany([{ pk: 'a' }])
    const r = await w.close()
    assert.equal(r.putsWritten, 3)
    assert.equal(r.deletesWritten, 1)
    assert.equal(await countItems(server.endpoint, table), 2)
  })

  it('an abort right after the first puts reports them (they were accepted) as Aborted', async () => {
    const table = await newTable()
    const ac = new AbortController()
    // a fresh client has no cached key schema, so the writer's first operations wait for DescribeTable
    const w = new BatchWriter(new DynamoDBClient(clientOptions(server.endpoint)), table, { signal: ac.signal })
    const item = { pk: 'early' }
    const p = w.put(item) // waits for the key schema
    ac.abort()
    await assert.rejects(p, { code: 'Aborted' })
    await assert.rejects(w.put({ pk: 'late' }), { code: 'Aborted' }) // refused at the call: not accepted
    const err = await w.close().then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.deepEqual(
      err.failed.map((f) => [f.item, f.reason]),
      [[item, 'Aborted']],
    )
  })

  it('mixes puts and deletes, and keeps the last operation per key', async () => {
    const table = await newTable({ name: 'sk', type: 'N' })
    const w = new BatchWriter(client, table)
    for (let i = 0; i < 200; i++) await w.put({ pk: `p${i % 10}`, sk: i % 3, v: i })
    for (let i = 0; i < 10; i++) await w.delete({ pk: `p${i}`, sk: 0 })
    await w.put({ pk: 'p0', sk: 0, v: 'back' })
    const r = await w.flush()
    assert.equal(r.putsWritten, 201)
    assert.equal(r.deletesWritten, 10)
    assert.deepEqual(await client.getItem(table, { pk: 'p0', sk: 0 }), { pk: 'p0', sk: 0, v: 'back' })
    assert.equal(await client.getItem(table, { pk: 'p1', sk: 0 }), undefined)
    // the last put for p1/sk=1 was i = 181 (181 % 10 = 1, 181 % 3 = 1)
    assert.equal((await client.getItem(table, { pk: 'p1', sk: 1 })).v, 181)
    await w.close()
  })

  it('delete accepts a whole item and sends only its key', async () => {
    const table = await newTable()
    await client.putItem(table, { pk: 'whole', a: 1 })
    await withBatch(client, table, (b) => b.delete({ pk: 'whole', a: 1, other: 'ignored' }))
    assert.equal(await client.getItem(table, { pk: 'whole' }), undefined)
  })

  it('flush resolves per period; close resolves to the lifetime totals', async () => {
    const table = await newTable()
    const w = new BatchWriter(client, table)
    for (let i = 0; i < 30; i++) w.put({ pk: `a${i}` })
    const r1 = await w.flush()
    assert.equal(r1.putsWritten, 30)
    assert.equal(r1.requests, 2)
    for (let i = 0; i < 5; i++) w.put({ pk: `b${i}` })
    const r2 = await w.flush()
    assert.equal(r2.putsWritten, 5)
    assert.equal(r2.requests, 1)
    const total = await w.close()
    assert.equal(total.putsWritten, 35)
    assert.equal(total.requests, 3)
    assert.equal(w.metrics.putsWritten, 35)
    assert.equal(w.metrics.accepted, 35)
  })

  it('flush on an empty writer resolves to zeros', async () => {
    const table = await newTable()
    const w = new BatchWriter(client, table)
    const r = await w.flush()
    assert.equal(r.putsWritten, 0)
    assert.equal(r.requests, 0)
    assert.equal(r.failed, 0)
    await w.close()
  })

  it('close then put rejects with WriterClosed; close is idempotent; asyncDispose closes', async () => {
    const table = await newTable()
    const w = new BatchWriter(client, table)
    await w.put({ pk: 'x' })
    await w.close()
    assert.equal(w.closed, true)
    await assert.rejects(w.put({ pk: 'y' }), { code: 'WriterClosed', message: `the writer for table ${table} is closed` })
    await assert.rejects(w.delete({ pk: 'y' }), { code: 'WriterClosed' })
    assert.equal((await w.close()).putsWritten, 1)
    const w2 = new BatchWriter(client, table)
    w2.put({ pk: 'z' })
    await w2[Symbol.asyncDispose]()
    assert.equal(w2.closed, true)
    assert.ok(await client.getItem(table, { pk: 'z' }))
  })

  it('an invalid item rejects with its path, is reported by the next flush, and spares the others', async () => {
    const table = await newTable()
    const w = new BatchWriter(client, table)
    const bad = { pk: 'bad', tags: [1, 2, 3, NaN] }
    await w.put({ pk: 'good1' })
    await assert.rejects(w.put(bad), { code: 'InvalidItem', message: 'item.tags[3]: NaN is not a valid DynamoDB number' })
    w.put({ pk: 'good2' })
    w.put({ pk: 5 }) // wrong key type: never awaited, still reported
    const err = await w.flush().then(
      () => assert.fail('flush should reject'),
      (e) => e,
    )
    assert.ok(err instanceof BatchWriteError)
    assert.equal(err.code, 'BatchWriteFailed')
    assert.equal(err.failed.length, 2)
    assert.equal(err.failed[0].item, bad)
    assert.equal(err.failed[0].reason, 'InvalidItem')
    assert.equal(err.failed[0].operation, 'put')
    assert.equal(err.failed[0].attempts, 0)
    assert.equal(err.failed[1].message, 'item.pk: key attribute must be of type S, got N')
    assert.deepEqual(err.failed[1].item, { pk: 5 })
    assert.equal(err.result.putsWritten, 2)
    assert.equal(err.result.failed, 2)
    assert.ok(await client.getItem(table, { pk: 'good2' }))
    // reported once: the next flush is clean
    assert.equal((await w.flush()).failed, 0)
    await w.close()
  })

  it('withBatch flushes what was accepted when the callback throws, then rethrows', async () => {
    const table = await newTable()
    const boom = new Error('boom')
    await assert.rejects(
      withBatch(client, table, async (b) => {
        for (let i = 0; i < 40; i++) b.put({ pk: `t${i}` })
        throw boom
      }),
      (e) => e === boom,
    )
    assert.equal(await countItems(server.endpoint, table), 40)
  })

  it('withBatch with a throwing callback and a failed flush rejects with both (SuppressedError)', async () => {
    const table = await newTable()
    const boom = new Error('boom')
    const e = await withBatch(client, table, (b) => {
      b.put({ pk: 1 })
      throw boom
    }).then(
      () => assert.fail('should reject'),
      (x) => x,
    )
    assert.equal(e.name, 'SuppressedError')
    assert.equal(e.suppressed, boom)
    assert.ok(e.error instanceof BatchWriteError)
    assert.equal(e.error.failed[0].reason, 'InvalidItem')
  })

  it('a missing table fails every item with ResourceNotFoundException', async () => {
    const err = await withBatch(client, 'no_such_table', (b) => {
      b.put({ pk: 'a' })
      b.put({ pk: 'b' })
    }).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.equal(err.failed.length, 2)
    assert.ok(err.failed.every((f) => f.reason === 'ResourceNotFoundException'))
  })

  it('a bad key is refused by put itself, even before the key schema has been read', async () => {
    const table = await newTable()
    // a fresh client (no cached schema) and no keySchema option: the schema is read with DescribeTable
    const w = new BatchWriter(new DynamoDBClient(clientOptions(server.endpoint)), table)
    assert.equal(w._native.keySchemaKnown, false)
    const first = w.put({ pk: 7, v: 1 }) // the very first call, while DescribeTable is in flight
    w.put({ pk: 'fine' }) // un-awaited, keeps its order after the bad one
    await assert.rejects(first, { code: 'InvalidItem', message: 'item.pk: key attribute must be of type S, got N' })
    await assert.rejects(w.delete({ other: 1 }), { code: 'InvalidItem', message: 'key.pk: missing key attribute (table key schema: pk S)' })
    const err = await w.close().then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.equal(err.failed.length, 2)
    assert.equal(err.result.putsWritten, 1)
  })

  it('putMany accepts every valid item (binaries included) and rejects with the first invalid one', async () => {
    const table = await newTable()
    const w = new BatchWriter(client, table)
    const bad = { pk: 'bad', n: NaN }
    const items = [{ pk: 'm1', bin: Buffer.from([1, 2]) }, bad, { pk: 'm2', bins: new Set([Buffer.from('a'), Buffer.from('b')]) }, { pk: 'm3' }]
    await assert.rejects(w.putMany(items), { code: 'InvalidItem', message: 'item.n: NaN is not a valid DynamoDB number' })
    const err = await w.flush().then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.equal(err.failed.length, 1)
    assert.equal(err.failed[0].item, bad)
    assert.equal(err.result.putsWritten, 3)
    assert.deepEqual([...(await client.getItem(table, { pk: 'm1' })).bin], [1, 2])
    assert.equal((await client.getItem(table, { pk: 'm2' })).bins.size, 2)
    await w.deleteMany([{ pk: 'm1' }, { pk: 'm2' }])
    assert.equal((await w.close()).deletesWritten, 2)
    assert.equal(await countItems(server.endpoint, table), 1)
  })

  it('a process that awaited withBatch exits by itself: no handle is left open', async () => {
    const table = await newTable()
    const script = `
      const { DynamoDBClient, withBatch } = require('dynabatch')
      const client = new DynamoDBClient(${JSON.stringify(clientOptions(server.endpoint))})
      withBatch(client, ${JSON.stringify(table)}, async (b) => {
        for (let i = 0; i < 500; i++) await b.put({ pk: 'exit' + i })
      }, { onRequest: () => {}, onProgress: () => {}, progressIntervalMs: 5 }).then((r) => console.log('written', r.putsWritten))
    `
    const child = await new Promise((resolve) => {
      const p = spawn(process.execPath, ['-e', script], { cwd: __dirname })
      let out = ''
      p.stdout.on('data', (d) => (out += d))
      const timer = setTimeout(() => p.kill('SIGKILL'), 15000)
      p.on('exit', (code, signal) => {
        clearTimeout(timer)
        resolve({ code, signal, out })
      })
    })
    assert.equal(child.signal, null, 'the child had to be killed: something kept it alive')
    assert.equal(child.code, 0)
    assert.equal(child.out.trim(), 'written 500')
    assert.equal(await countItems(server.endpoint, table), 500)
  })
})
