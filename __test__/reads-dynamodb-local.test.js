'use strict'
// Conformance of the bulk reads on AWS's own DynamoDB Local (the stricter second server): batchGet of number
// and binary keys with every type, projections, the 16 MB answer limit; scans of 1, 4 and 8 segments and a
// filtered, projected scan, each compared with what the AWS SDK's own Scan reads. Skipped without Java.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { DynamoDBClient: SdkClient, ScanCommand } = require('@aws-sdk/client-dynamodb')
const { DynamoDBClient, NumberValue, withBatch } = require('dynabatch')
const { startDynamoDBLocal, skipReason } = require('./helpers/dynamodb-local.js')
const { clientOptions, uniqueTableName } = require('./helpers/dynalite.js')
const { everyType } = require('./helpers/every-type.js')

const keyOf = (i) => ({ pk: i, sk: Buffer.from([i % 7, 255, i % 251]) })
const typed = (i) => ({ ...keyOf(i), ...everyType(i) })

describe('bulk reads on DynamoDB Local', { skip: skipReason() }, () => {
  let local
  let client
  let sdk
  const records = []
  let table
  const N = 400

  before(async () => {
    local = await startDynamoDBLocal()
    client = new DynamoDBClient({ ...clientOptions(local.endpoint), onRequest: (r) => records.push(r) })
    sdk = new SdkClient({ ...clientOptions(local.endpoint), maxAttempts: 1 })
    table = uniqueTableName('ddbl_reads')
    await client.createTable(table, { partitionKey: { name: 'pk', type: 'N' }, sortKey: { name: 'sk', type: 'B' } })
    await withBatch(client, table, (b) => b.putMany(Array.from({ length: N }, (_, i) => typed(i))))
  })
  after(async () => {
    sdk?.destroy()
    await local?.close()
  })

  // The SDK's own scan, all pages: the independent view of the table.
  async function sdkScan(input = {}) {
    const items = []
    let ExclusiveStartKey
    do {
      const out = await sdk.send(new ScanCommand({ TableName: table, ExclusiveStartKey, ...input }))
      items.push(...out.Items)
      ExclusiveStartKey = out.LastEvaluatedKey
    } while (ExclusiveStartKey)
    return items
  }
  const id = (x) => String(x.pk)

  it('batchGet: number and binary keys, every type, missing and repeated keys, numbers by value', async () => {
    const keys = [...Array.from({ length: 250 }, (_, i) => keyOf(i)), keyOf(5000), { ...keyOf(3), pk: new NumberValue('3.0') }, keyOf(3)]
    const got = await client.batchGet(table, keys, { consistentRead: true })
    for (let p = 0; p < 250; p++) assert.deepEqual(got[p], typed(p), `position ${p}`)
    assert.equal(got[250], undefined)
    assert.deepEqual(got[251], typed(3))
    assert.deepEqual(got[252], typed(3))
    const gets = records.filter((r) => r.operation === 'BatchGetItem')
    assert.equal(gets.reduce((n, r) => n + r.items, 0), 251, 'one read per distinct key')
    assert.ok(gets.every((r) => r.items <= 100 && r.consumedRcu > 0))
  })

  it('batchGet: a projection returns the names asked for and the key', async () => {
    const [a] = await client.batchGet(table, [keyOf(9)], { projection: ['s', 'big', 'ns'] })
    assert.deepEqual(a, { ...keyOf(9), s: typed(9).s, big: typed(9).big, ns: typed(9).ns })
  })

  it('batchGet: an answer over 16 MB is completed from UnprocessedKeys', async () => {
    const t = uniqueTableName('ddbl_big')
    await client.createTable(t, { partitionKey: { name: 'id', type: 'S' } })
    const pad = 'x'.repeat(350 * 1024)
    await withBatch(client, t, (b) => b.putMany(Array.from({ length: 100 }, (_, i) => ({ id: `i${i}`, pad }))), { flushAmount: 10 })
    const from = records.length
    const got = await client.batchGet(
      t,
      Array.from({ length: 100 }, (_, i) => ({ id: `i${i}` })),
    )
    assert.ok(got.every((g, i) => g && g.id === `i${i}` && g.pad === pad))
    const gets = records.slice(from).filter((r) => r.operation === 'BatchGetItem')
    assert.equal(gets.reduce((n, r) => n + r.returned, 0), 100, 'each item returned once')
    assert.ok(gets[0].unprocessed > 0, 'DynamoDB Local cut the first answer at 16 MB')
    // the keys of a cut answer go back together
    assert.ok(gets.length <= 4, `${gets.length} requests`)
  })

  it('scan: 1, 4 and 8 segments read what the SDK reads, every item exactly once', async () => {
    const want = new Set((await sdkScan()).map((raw) => raw.pk.N))
    assert.equal(want.size, N)
    for (const totalSegments of [1, 4, 8]) {
      const seen = new Set()
      for await (const item of client.scan(table, { totalSegments, pageSize: 60 })) {
        assert.ok(!seen.has(id(item)), `${id(item)} once`)
        seen.add(id(item))
        assert.deepEqual(item, typed(Number(item.pk)))
      }
      assert.deepEqual(seen, want, `${totalSegments} segments`)
    }
  })

  it('scan: a filter with names and values and a projection, as the SDK reads them', async () => {
    const filter = { FilterExpression: '#n >= :min AND #t = :yes', ExpressionAttributeNames: { '#n': 'n', '#t': 't' } }
    const want = (await sdkScan({ ...filter, ExpressionAttributeValues: { ':min': { N: '300' }, ':yes': { BOOL: true } } })).map((raw) =>
      Number(raw.pk.N),
    )
    const got = []
    for await (const page of client
      .scan(table, {
        totalSegments: 3,
        filterExpression: filter.FilterExpression,
        expressionAttributeNames: filter.ExpressionAttributeNames,
        expressionAttributeValues: { ':min': 300, ':yes': true },
        projection: ['pk', 'n'],
      })
      .pages()) {
      for (const item of page) {
        assert.deepEqual(Object.keys(item).sort(), ['n', 'pk'])
        got.push(item.pk)
      }
    }
    assert.ok(want.length > 0)
    assert.deepEqual(
      got.sort((a, b) => a - b),
      want.sort((a, b) => a - b),
    )
  })
})
