'use strict'
// DynamoDBClient against dynalite: every operation, its metrics, its errors; ESM and CommonJS entries.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const dynabatch = require('dynabatch')
const { DynamoDBClient } = dynabatch
const { startDynalite, clientOptions, uniqueTableName } = require('./helpers/dynalite.js')
const { startFaultServer } = require('./helpers/fault-server.js')

let server
let client
before(async () => {
  server = await startDynalite()
  client = new DynamoDBClient(clientOptions(server.endpoint))
})
after(() => server.close())

describe('DynamoDBClient', () => {
  it('creates, describes and deletes tables', async () => {
    const t = uniqueTableName('ops')
    const created = await client.createTable(t, { partitionKey: { name: 'id', type: 'B' }, sortKey: { name: 'n', type: 'N' } })
    assert.equal(created.tableName, t)
    assert.equal(created.status, 'ACTIVE')
    assert.deepEqual(created.partitionKey, { name: 'id', type: 'B' })
    assert.deepEqual(created.sortKey, { name: 'n', type: 'N' })
    assert.equal(created.billingMode, 'PAY_PER_REQUEST')
    const d = await client.describeTable(t)
    assert.deepEqual([d.tableName, d.status, d.partitionKey.name], [t, 'ACTIVE', 'id'])
    await assert.rejects(client.createTable(t, { partitionKey: { name: 'id', type: 'S' } }), { code: 'ResourceInUseException' })
    await client.deleteTable(t)
    // deleteTable resolves once the deletion is accepted; the table is DELETING, then gone
    let state
    for (let i = 0; i < 50; i++) {
      state = await client.describeTable(t).then((x) => x.status, (e) => e.code)
      if (state !== 'DELETING') break
      await new Promise((r) => setTimeout(r, 10))
    }
    assert.equal(state, 'ResourceNotFoundException')
    await assert.rejects(client.createTable(t, { partitionKey: { name: 'id', type: 'X' } }), {
      code: 'InvalidArgument',
      message: 'partitionKey.type must be \'S\', \'N\' or \'B\', got "X"',
    })
  })

  it('putItem, getItem and deleteItem, with their metrics', async () => {
    const t = uniqueTableName('ops')
    await client.createTable(t, { partitionKey: { name: 'pk', type: 'S' } })
    const m = await client.putItem(t, { pk: 'a', v: 1, pad: 'x'.repeat(1500) })
    assert.equal(m.operation, 'PutItem')
    assert.equal(m.table, t)
    assert.equal(m.consumedWcu, 2)
    assert.equal(m.attempts, 1)
    assert.ok(m.durationMs > 0)
    assert.equal(typeof m.requestId, 'string')
    const got = await client.getItem(t, { pk: 'a' }, { consistentRead: true })
    assert.equal(got.v, 1)
    assert.equal(client.lastGetMetrics.operation, 'GetItem')
    assert.equal(client.lastGetMetrics.consumedRcu, 1)
    const eventually = await client.getItem(t, { pk: 'a' })
    assert.equal(eventually.v, 1)
    assert.equal(client.lastGetMetrics.consumedRcu, 0.5)
    const dm = await client.deleteItem(t, { pk: 'a', v: 1, other: 'a whole item is a key too' })
    assert.equal(dm.operation, 'DeleteItem')
    assert.equal(await client.getItem(t, { pk: 'a' }), undefined)
  })

  it('conditions: ConditionalCheckFailedException keeps its code and request id', async () => {
    const t = uniqueTableName('ops')
    await client.createTable(t, { partitionKey: { name: 'pk', type: 'S' } })
    await client.putItem(t, { pk: 'c', n: 1 }, { conditionExpression: 'attribute_not_exists(pk)' })
    const err = await client.putItem(t, { pk: 'c', n: 2 }, { conditionExpression: 'attribute_not_exists(pk)' }).then(
      () => assert.fail('should reject'),
      (e) => e,
    )
    assert.equal(err.code, 'ConditionalCheckFailedException')
    assert.equal(typeof err.requestId, 'string')
    assert.equal(err.statusCode, 400)
    await client.deleteItem(t, { pk: 'c' }, {
      conditionExpression: '#n = :one',
      expressionAttributeNames: { '#n': 'n' },
      expressionAttributeValues: { ':one': 1 },
    })
    assert.equal(await client.getItem(t, { pk: 'c' }), undefined)
  })

  it('service errors keep their code; one client serves many concurrent calls', async () => {
    await assert.rejects(client.putItem('no_such_table', { pk: 'x' }), { code: 'ResourceNotFoundException' })
    await assert.rejects(client.getItem('ab', { pk: 'x' }), (e) => e.code === 'ValidationException' && e.statusCode === 400)
    const t = uniqueTableName('ops')
    await client.createTable(t, { partitionKey: { name: 'pk', type: 'S' } })
    await Promise.all(Array.from({ length: 200 }, (_, i) => client.putItem(t, { pk: `p${i}` })))
    const all = await Promise.all(Array.from({ length: 200 }, (_, i) => client.getItem(t, { pk: `p${i}` })))
    assert.ok(all.every((x, i) => x.pk === `p${i}`))
  })

  it('client.metrics totals every operation; resetMetrics zeroes them; onRequest sees each request', async () => {
    const records = []
    const c = new DynamoDBClient({ ...clientOptions(server.endpoint), onRequest: (r) => records.push(r) })
    const t = uniqueTableName('ops')
    await c.createTable(t, { partitionKey: { name: 'pk', type: 'S' } })
    c.resetMetrics()
    records.length = 0
    await c.putItem(t, { pk: 'm' })
    await c.getItem(t, { pk: 'm' })
    await c.deleteItem(t, { pk: 'm' })
    await dynabatch.withBatch(c, t, (b) => b.putMany([{ pk: 'a' }, { pk: 'b' }]))
    await new Promise((r) => setTimeout(r, 20))
    const m = c.metrics
    assert.equal(m.requests, 4)
    assert.equal(m.itemsWritten, 4)
    assert.equal(m.consumedWcu, 4)
    assert.equal(m.consumedRcu, 0.5)
    assert.ok(m.p99LatencyMs >= m.p50LatencyMs && m.p50LatencyMs > 0)
    assert.deepEqual(
      records.map((r) => r.operation),
      ['PutItem', 'GetItem', 'DeleteItem', 'BatchWriteItem'],
    )
    c.resetMetrics()
    assert.equal(c.metrics.requests, 0)
    assert.equal(c.metrics.consumedWcu, 0)
  })

  it('maxAttempts retries throttled single-item calls, then rejects with the service code', async () => {
    const faults = await startFaultServer({ tables: { t: { partitionKey: { name: 'pk', type: 'S' } } }, faults: { faultOps: ['PutItem'], throttleRate: 1 } })
    try {
      const c = new DynamoDBClient({ ...clientOptions(faults.endpoint), maxAttempts: 3 })
      await assert.rejects(c.putItem('t', { pk: 'x' }), { code: 'ProvisionedThroughputExceededException' })
      assert.equal(faults.stats.requests.PutItem, 3)
      assert.equal(c.metrics.throttles, 3)
    } finally {
      await faults.close()
    }
  })

  it('requestTimeoutMs turns a hung answer into a Timeout', async () => {
    const faults = await startFaultServer({ tables: { t: { partitionKey: { name: 'pk', type: 'S' } } }, faults: { faultOps: ['GetItem'], hangRate: 1 } })
    try {
      const c = new DynamoDBClient({ ...clientOptions(faults.endpoint), maxAttempts: 1, requestTimeoutMs: 200 })
      await assert.rejects(c.getItem('t', { pk: 'x' }), { code: 'Timeout' })
    } finally {
      await faults.close()
    }
  })

  it('bad options are TypeErrors with code InvalidArgument', () => {
    assert.throws(() => new DynamoDBClient({ credentials: { accessKeyId: 'a' } }), { code: 'InvalidArgument', name: 'TypeError' })
    assert.throws(() => new DynamoDBClient({ endpoint: 'not a url' }), { code: 'InvalidArgument' })
    assert.throws(() => new DynamoDBClient({ maxAttempts: 0 }), { code: 'InvalidArgument', message: 'maxAttempts must be an integer of at least 1, got 0' })
    assert.throws(() => new DynamoDBClient({ logger: {} }), {
      code: 'InvalidArgument',
      message: 'logger must be an object with debug, info, warn and error methods, got an object without debug()',
    })
    assert.throws(() => new dynabatch.BatchWriter(client, 't', { flushAmount: 26 }), {
      code: 'InvalidArgument',
      message: 'flushAmount must be an integer from 1 to 25, got 26',
    })
    assert.throws(() => new dynabatch.BatchWriter({}, 't'), { code: 'InvalidArgument' })
  })

  it('the ESM entry exports the same objects', async () => {
    const esm = await import('dynabatch')
    for (const name of ['DynamoDBClient', 'BatchWriter', 'BatchWriteError', 'withBatch', 'NumberValue', 'FixedRate', 'AdaptiveRate']) {
      assert.equal(esm[name], dynabatch[name], name)
    }
    assert.equal(esm.default, dynabatch)
  })
})
