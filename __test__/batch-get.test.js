'use strict'
// client.batchGet against dynalite (real semantics: every type, projections, consistency) and against the
// fault-injecting server (UnprocessedKeys, throttling, the 16 MB answer limit, aborts), checked position by
// position and, on the fault server, key by key on the server side: every distinct key answered exactly once.

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const { DynamoDBClient, BatchGetError, NumberValue, FixedRate, withBatch } = require('dynabatch')
const { everyType } = require('./helpers/every-type.js')
const { startDynalite, clientOptions, uniqueTableName } = require('./helpers/dynalite.js')
const { startFaultServer, DEFAULT_FAULTS } = require('./helpers/fault-server.js')

const FAST = { baseDelayMs: 1, maxDelayMs: 20 }
// Keys of numbers and binaries: pk N, sk B.
const KEYED = { partitionKey: { name: 'pk', type: 'N' }, sortKey: { name: 'sk', type: 'B' } }
const keyOf = (i) => ({ pk: i, sk: Buffer.from([i % 7, 255, i % 251]) })

// An item of every DynamoDB type, in the form it reads back as.
const typed = (i) => ({ ...keyOf(i), ...everyType(i) })

describe('batchGet on dynalite', () => {
  let server
  let client
  const records = []
  before(async () => {
    server = await startDynalite()
    client = new DynamoDBClient({ ...clientOptions(server.endpoint), onRequest: (r) => records.push(r) })
  })
  after(() => server.close())

  async function table(items = []) {
    const t = uniqueTableName('bget')
    await client.createTable(t, KEYED)
    if (items.length) await withBatch(client, t, (b) => b.putMany(items))
    return t
  }

  it('every position holds its item or undefined: found, missing, repeated keys; every type read back exactly', async () => {
    const t = await table(Array.from({ length: 150 }, (_, i) => typed(i)))
    // 300 positions: 0..149 found, 1000..1049 missing, and every key of 0..99 a second time
    const keys = [...Array.from({ length: 150 }, (_, i) => keyOf(i)), ...Array.from({ length: 50 }, (_, i) => keyOf(1000 + i))]
    for (let i = 0; i < 100; i++) keys.push(keyOf(i))
    const from = records.length
    const got = await client.batchGet(t, keys)
    assert.equal(got.length, keys.length)
    for (let p = 0; p < keys.length; p++) {
      const i = keys[p].pk
      if (i >= 1000) assert.equal(got[p], undefined, `position ${p}`)
      else assert.deepEqual(got[p], typed(i), `position ${p}`)
    }
    // a repeated key gets its own copy: changing one position leaves the other alone
    assert.notEqual(got[0], got[200])
    got[200].m.nested.list.push('changed')
    got[200].b[0] = 99
    assert.deepEqual(got[0], typed(0))
    // one request per distinct key: 200 distinct keys, in requests of at most 100
    await new Promise((r) => setTimeout(r, 20))
    const sent = records.slice(from).filter((r) => r.operation === 'BatchGetItem')
    assert.equal(sent.reduce((n, r) => n + r.items, 0), 200)
    assert.ok(sent.every((r) => r.items <= 100))
    assert.equal(sent.reduce((n, r) => n + r.returned, 0), 150)
    assert.ok(sent.every((r) => r.consumedRcu > 0))
  })

  it('numbers in keys are matched by value: 7, 7.0 and 7n are one key', async () => {
    const t = await table([typed(7)])
    const k = keyOf(7)
    const got = await client.batchGet(t, [k, { ...k, pk: new NumberValue('7.0') }, { ...k, pk: 7n }, { ...k, pk: new NumberValue('0.7E1') }])
    assert.equal(got.length, 4)
    for (const g of got) assert.deepEqual(g, typed(7))
  })

  it('projection: the named attributes plus the key; reserved words and dotted names work', async () => {
    const t = uniqueTableName('bget')
    await client.createTable(t, { partitionKey: { name: 'id', type: 'S' } })
    await client.putItem(t, { id: 'a', name: 'Ann', status: 'on', 'a.b': 1, other: 'x' })
    const [a, none] = await client.batchGet(t, [{ id: 'a' }, { id: 'zz' }], { projection: ['name', 'status', 'a.b', 'name'], consistentRead: true })
    assert.deepEqual(a, { id: 'a', name: 'Ann', status: 'on', 'a.b': 1 })
    assert.equal(none, undefined)
  })

  it('keys are validated like delete keys, before anything is sent', async () => {
    const t = await table([typed(1)])
    const from = records.length
    await assert.rejects(client.batchGet(t, [keyOf(1), keyOf(2), { pk: 'three', sk: Buffer.from([1]) }]), {
      code: 'InvalidItem',
      path: 'keys[2].pk',
      message: 'keys[2].pk: key attribute must be of type N, got S',
    })
    await assert.rejects(client.batchGet(t, [keyOf(1), { pk: NaN, sk: Buffer.from([1]) }]), {
      code: 'InvalidItem',
      message: 'keys[1].pk: NaN is not a valid DynamoDB number',
    })
    await assert.rejects(client.batchGet(t, [{ pk: 1 }]), { code: 'InvalidItem', path: 'keys[0].sk' })
    await assert.rejects(client.batchGet(t, [{ pk: 1, sk: Buffer.alloc(0) }]), {
      code: 'InvalidItem',
      message: 'keys[0].sk: key attribute must not be an empty binary',
    })
    await new Promise((r) => setTimeout(r, 20))
    assert.deepEqual(
      records.slice(from).filter((r) => r.operation === 'BatchGetItem'),
      [],
    )
    // a whole item is a key too: only its key attributes are sent
    const [whole] = await client.batchGet(t, [typed(1)])
    assert.deepEqual(whole, typed(1))
  })

  it('no keys: an empty array and no request; bad arguments and options are refused', async () => {
    const t = await table()
    const before = client.metrics.requests
    assert.deepEqual(await client.batchGet(t, []), [])
    assert.equal(client.metrics.requests, before)
    await assert.rejects(client.batchGet(t, 'k'), { code: 'InvalidArgument', message: 'keys must be an iterable of keys, got string' })
    await assert.rejects(client.batchGet(t, [keyOf(1)], { consistentRed: true }), {
      code: 'InvalidArgument',
      message: /^unknown batchGet option "consistentRed" \(known options: consistentRead, projection,/,
    })
    await assert.rejects(client.batchGet(t, [keyOf(1)], { projection: [] }), {
      code: 'InvalidArgument',
      message: 'projection must be a non-empty array of attribute names, got a Array',
    })
    await assert.rejects(client.batchGet(t, [keyOf(1)], { projection: ['a', 3] }), {
      code: 'InvalidArgument',
      message: 'projection[1] must be a non-empty string, got 3',
    })
    await assert.rejects(client.batchGet(t, [keyOf(1)], { rateLimit: new FixedRate({ wcu: 10 }) }), {
      code: 'InvalidArgument',
      message: 'rateLimit must be a FixedRate or an AdaptiveRate in RCU for reads, got a FixedRate in WCU',
    })
    await assert.rejects(client.batchGet(t, [keyOf(1)], { maxInFlight: 0 }), {
      code: 'InvalidArgument',
      message: 'maxInFlight must be an integer from 1 to 1024, got 0',
    })
    await assert.rejects(client.batchGet(uniqueTableName('missing'), [keyOf(1)]), { code: 'ResourceNotFoundException' })
  })
})

describe('batchGet under faults', () => {
  let server
  let client
  before(async () => {
    server = await startFaultServer({ tables: { keyed: KEYED, big: { partitionKey: { name: 'id', type: 'S' } } } })
    client = new DynamoDBClient({ ...clientOptions(server.endpoint), requestTimeoutMs: 5000 })
  })
  after(() => server.close())
  beforeEach(() => {
    server.reset()
    server.setFaults({ ...DEFAULT_FAULTS })
  })

  // 1,000 positions: 700 distinct keys of which 600 exist, 300 repeats (numbers and binaries as keys).
  async function load() {
    await withBatch(client, 'keyed', (b) => b.putMany(Array.from({ length: 600 }, (_, i) => typed(i))))
    server.resetStats() // keep the items, forget the writes' stats
    const keys = Array.from({ length: 700 }, (_, i) => keyOf(i))
    for (let i = 0; i < 300; i++) keys.push(keyOf((i * 7) % 700))
    return keys
  }
  const canonical = (k) => server.keyOf('keyed', { pk: { N: String(k.pk) }, sk: { B: k.sk.toString('base64') } })

  it('30% of keys unprocessed and 10% of requests throttled: every position right, every key answered once', async () => {
    const keys = await load()
    server.setFaults({ unprocessedRate: 0.3, throttleRate: 0.1, faultOps: ['BatchGetItem'] })
    const records = []
    const c = new DynamoDBClient({ ...clientOptions(server.endpoint), onRequest: (r) => records.push(r) })
    const got = await c.batchGet('keyed', keys, { ...FAST, maxRetries: 30 })
    assert.equal(got.length, 1000)
    for (let p = 0; p < 1000; p++) {
      const i = keys[p].pk
      if (i >= 600) assert.equal(got[p], undefined, `position ${p}`)
      else assert.deepEqual(got[p], typed(i), `position ${p}`)
    }
    const s = server.stats
    assert.ok(s.keysUnprocessed > 0 && s.throttled > 0, 'the faults happened')
    // server side: each of the 700 distinct keys was answered exactly once, in requests of at most 100 keys
    assert.equal(s.keyReads.size, 700)
    for (let i = 0; i < 700; i++) assert.equal(s.keyReads.get(canonical(keyOf(i))), 1, `key ${i}`)
    const gets = s.requestLog.filter((r) => r.op === 'BatchGetItem')
    assert.ok(gets.every((r) => r.entries <= 100))
    // every request was recorded: the records' counts are the server's
    await new Promise((r) => setTimeout(r, 50))
    const recs = records.filter((r) => r.operation === 'BatchGetItem')
    assert.equal(recs.length, gets.length)
    assert.equal(recs.reduce((n, r) => n + r.items, 0), s.keysRequested)
    assert.equal(recs.reduce((n, r) => n + r.unprocessed, 0), s.keysUnprocessed)
    assert.equal(recs.filter((r) => r.throttled).length, s.throttled)
    assert.equal(recs.reduce((n, r) => n + r.consumedRcu, 0), s.rcuTotal)
    const m = c.metrics
    assert.equal(m.itemsRead, 600)
    assert.equal(m.consumedRcu, s.rcuTotal)
    assert.equal(m.retries, s.keysRequested - 700)
  })

  it('with maxRetries 0 the rejection lists exactly the keys not read, and carries the items read', async () => {
    const keys = await load()
    server.setFaults({ unprocessedRate: 0.3, throttleRate: 0.1, faultOps: ['BatchGetItem'] })
    const err = await client.batchGet('keyed', keys, { maxRetries: 0 }).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.ok(err instanceof BatchGetError)
    assert.equal(err.code, 'BatchGetFailed')
    const answered = server.stats.keyReads
    const unread = keys.map((k, p) => p).filter((p) => !answered.has(canonical(keys[p])))
    assert.ok(unread.length > 0)
    assert.deepEqual(
      err.failed.map((f) => f.index),
      unread,
    )
    for (const f of err.failed) {
      assert.equal(f.key, keys[f.index], 'the very key object passed')
      assert.ok(['UnprocessedAfterRetries', 'Throttled'].includes(f.reason), f.reason)
      assert.equal(f.attempts, 1)
      assert.equal(err.items[f.index], undefined)
    }
    assert.equal(err.items.length, 1000)
    for (let p = 0; p < 1000; p++) {
      if (unread.includes(p)) continue
      const i = keys[p].pk
      if (i >= 600) assert.equal(err.items[p], undefined)
      else assert.deepEqual(err.items[p], typed(i))
    }
    assert.equal(err.result.keys, 1000)
    assert.equal(err.result.distinctKeys, 700)
    assert.equal(err.result.failed, 700 - answered.size)
    assert.equal(err.result.found + err.result.absent + err.result.failed, 700)
    assert.match(err.message, /^\d+ keys could not be read \(first: keys\[\d+\] (UnprocessedAfterRetries|Throttled): /)
  })

  it('answers cut at the 16 MB limit: the rest comes back as UnprocessedKeys and is read', async () => {
    const pad = 'x'.repeat(350 * 1024)
    await withBatch(client, 'big', (b) => b.putMany(Array.from({ length: 100 }, (_, i) => ({ id: `i${i}`, pad }))))
    server.resetStats()
    const got = await client.batchGet(
      'big',
      Array.from({ length: 100 }, (_, i) => ({ id: `i${i}` })),
      FAST,
    )
    assert.ok(got.every((g, i) => g.id === `i${i}` && g.pad.length === pad.length))
    assert.ok(server.stats.keysUnprocessed > 0, 'the first answer was cut')
    assert.equal(server.stats.keyReads.size, 100)
    assert.ok([...server.stats.keyReads.values()].every((n) => n === 1))
  })

  it('an aborted signal stops sending: what was read is kept, the rest is listed as Aborted', async () => {
    const keys = await load()
    server.setFaults({ delayMs: 40, faultOps: ['BatchGetItem'] })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 60)
    const err = await client.batchGet('keyed', keys, { maxInFlight: 1, signal: ac.signal }).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.equal(err.code, 'BatchGetFailed')
    assert.ok(err.failed.length > 0 && err.failed.every((f) => f.reason === 'Aborted' && f.attempts === 0))
    const read = keys.filter((k) => server.stats.keyReads.has(canonical(k))).length
    assert.ok(read > 0 && read < 1000, `${read} positions read before the abort`)
    assert.equal(err.failed.length, 1000 - read)
    // an already aborted signal: nothing is sent
    const before = server.stats.requests.BatchGetItem
    await assert.rejects(client.batchGet('keyed', [keyOf(1)], { signal: AbortSignal.abort() }), (e) => e.failed[0].reason === 'Aborted')
    assert.equal(server.stats.requests.BatchGetItem, before)
  })

  // (on this server: dynalite drops a stored "__proto__" attribute)
  it('objects built from stored names have own properties only', async () => {
    await client.putItem('big', { id: 'p', ['__proto__']: { polluted: true }, constructor: 'c' })
    const [got, again] = await client.batchGet('big', [{ id: 'p' }, { id: 'p' }])
    for (const g of [got, again]) {
      assert.equal(Object.getPrototypeOf(g), Object.prototype)
      assert.deepEqual(Object.keys(g).sort(), ['__proto__', 'constructor', 'id'])
      assert.deepEqual(g['__proto__'], { polluted: true })
    }
    assert.equal({}.polluted, undefined)
  })

  it('errors retrying cannot fix fail their keys at once with the service code', async () => {
    await load()
    server.setFaults({ failKeys: () => false })
    const err = await client.batchGet('keyed', [keyOf(1)], { projection: ['s'], keySchema: { partitionKey: 'pk' } }).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    // the given key schema lacks the sort key: the server refuses the keys
    assert.equal(err.code, 'BatchGetFailed')
    assert.equal(err.failed[0].reason, 'ValidationException')
    assert.equal(err.failed[0].message, 'The provided key element does not match the schema')
    assert.equal(err.failed[0].attempts, 1)
  })
})
