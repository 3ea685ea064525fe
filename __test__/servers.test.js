'use strict'
// Specs for the test servers themselves (helpers/dynalite.js, helpers/fault-server.js), driven over HTTP by
// the AWS SDK so that the writer's tests can trust what the servers say and record.

const { test, describe, before, after } = require('node:test')
const assert = require('node:assert/strict')
const {
  DynamoDBClient,
  CreateTableCommand,
  PutItemCommand,
  GetItemCommand,
  DescribeTableCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
} = require('@aws-sdk/client-dynamodb')
const { startDynalite, clientOptions, uniqueTableName } = require('./helpers/dynalite.js')
const { startFaultServer, spawnFaultServer, canonicalKey, normalizeNumber, DEFAULT_FAULTS } = require('./helpers/fault-server.js')

const TABLE = 'items'
const put = (pk, extra = {}) => ({ PutRequest: { Item: { pk: { S: pk }, ...extra } } })
const del = (pk) => ({ DeleteRequest: { Key: { pk: { S: pk } } } })
const puts = (n, prefix = 'k') => Array.from({ length: n }, (_, i) => put(`${prefix}${i}`))

// The SDK's own retries would hide the faults under test, hence maxAttempts 1.
function sdk(endpoint, extra = {}) {
  return new DynamoDBClient({ ...clientOptions(endpoint), maxAttempts: 1, ...extra })
}

// Waits (if needed) so that the next few requests fall early in one wall-clock second.
async function startOfSecond() {
  const ms = Date.now() % 1000
  if (ms > 300) await new Promise((r) => setTimeout(r, 1000 - ms + 5))
}

describe('dynalite helper', () => {
  test('round trip CreateTable / PutItem / GetItem, then close', async () => {
    const db = await startDynalite()
    assert.match(db.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/)
    const client = sdk(db.endpoint)
    try {
      const TableName = uniqueTableName('rt')
      await client.send(
        new CreateTableCommand({
          TableName,
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      )
      await client.send(new PutItemCommand({ TableName, Item: { pk: { S: 'a' }, n: { N: '1.5' } } }))
      const got = await client.send(new GetItemCommand({ TableName, Key: { pk: { S: 'a' } } }))
      assert.deepEqual(got.Item, { pk: { S: 'a' }, n: { N: '1.5' } })
    } finally {
      client.destroy()
      await db.close()
      await db.close() // idempotent
    }
    assert.equal(db.server.listening, false)
  })

  test('uniqueTableName gives distinct valid names', () => {
    const a = uniqueTableName('x')
    const b = uniqueTableName('x')
    assert.notEqual(a, b)
    assert.match(a, /^[A-Za-z0-9_.-]{3,255}$/)
  })
})

describe('fault server', () => {
  let server
  let client
  before(async () => {
    server = await startFaultServer({
      tables: { [TABLE]: { partitionKey: { name: 'pk', type: 'S' } }, nums: { partitionKey: { name: 'id', type: 'N' }, sortKey: 'sk' } },
    })
    client = sdk(server.endpoint)
  })
  after(async () => {
    client.destroy()
    await server.close()
  })

  // Each test starts with an empty store, zeroed stats and no faults.
  const fresh = () => {
    server.reset()
    server.setFaults({ ...DEFAULT_FAULTS })
  }

  test('DescribeTable returns a proper Table; unknown table is ResourceNotFoundException', async () => {
    fresh()
    const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE }))
    assert.equal(Table.TableName, TABLE)
    assert.equal(Table.TableStatus, 'ACTIVE')
    assert.deepEqual(Table.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }])
    assert.deepEqual(Table.AttributeDefinitions, [{ AttributeName: 'pk', AttributeType: 'S' }])
    assert.equal(Table.BillingModeSummary.BillingMode, 'PAY_PER_REQUEST')
    assert.equal(Table.ItemCount, 0)
    assert.ok(Table.CreationDateTime instanceof Date)

    const nums = (await client.send(new DescribeTableCommand({ TableName: 'nums' }))).Table
    assert.deepEqual(nums.KeySchema.map((k) => k.KeyType), ['HASH', 'RANGE'])

    await assert.rejects(client.send(new DescribeTableCommand({ TableName: 'nope' })), {
      name: 'ResourceNotFoundException',
      message: 'Requested resource not found',
    })
    assert.equal(server.stats.requests.DescribeTable, 3)
  })

  test('answers carry a unique request id and a correct x-amz-crc32', async () => {
    fresh()
    const ids = new Set()
    for (let i = 0; i < 3; i++) {
      const res = await fetch(server.endpoint, {
        method: 'POST',
        headers: { 'x-amz-target': 'DynamoDB_20120810.DescribeTable', 'content-type': 'application/x-amz-json-1.0' },
        body: JSON.stringify({ TableName: i === 2 ? 'nope' : TABLE }),
      })
      const body = await res.text()
      assert.equal(res.status, i === 2 ? 400 : 200)
      assert.equal(res.headers.get('content-type'), 'application/x-amz-json-1.0')
      assert.equal(res.headers.get('x-amz-crc32'), String(require('node:zlib').crc32(body)))
      ids.add(res.headers.get('x-amzn-requestid'))
      if (i === 2) assert.deepEqual(JSON.parse(body).__type, 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException')
    }
    assert.equal(ids.size, 3)
  })

  test('BatchWriteItem stores, deletes, records history and reports ConsumedCapacity', async () => {
    fresh()
    const big = 'x'.repeat(3000) // 3 KB -> 3 WCU
    const out = await client.send(
      new BatchWriteItemCommand({
        RequestItems: { [TABLE]: [put('a', { v: { N: '1' } }), put('b', { big: { S: big } }), del('c')] },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    )
    assert.deepEqual(out.UnprocessedItems, {})
    assert.deepEqual(out.ConsumedCapacity, [{ TableName: TABLE, CapacityUnits: 1 + 3 + 1 }])

    const t = server.table(TABLE)
    assert.equal(t.size, 2)
    assert.deepEqual(t.get({ pk: { S: 'a' } }), { pk: { S: 'a' }, v: { N: '1' } })
    assert.equal(t.items.get('S:a').v.N, '1')

    await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: [del('a'), put('b', { v: { N: '2' } })] } }))
    assert.equal(t.size, 1)
    assert.deepEqual(t.history({ pk: { S: 'a' } }).map((h) => h.op), ['put', 'delete'])
    assert.deepEqual(
      server.stats.history.get('S:b').map((h) => h.item.v && h.item.v.N),
      [undefined, '2'],
    )

    // The SDK's GetItem against the stored data, and single-item writes.
    const got = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'b' } } }))
    assert.equal(got.Item.v.N, '2')
    assert.equal((await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'zz' } } }))).Item, undefined)
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'p' } } }))
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: 'b' } } }))
    assert.deepEqual(Array.from(t.items.keys()), ['S:p'])

    const s = server.stats
    assert.equal(s.entriesReceived, 5)
    assert.equal(s.entriesApplied, 5)
    assert.equal(s.putsApplied, 4)
    assert.equal(s.deletesApplied, 3)
    assert.equal(s.wcuTotal, 5 + 2 + 1 + 1)
    assert.equal([...s.wcuBySecond.values()].reduce((a, b) => a + b, 0), s.wcuTotal)
  })

  test('numeric and composite keys are canonical by value', async () => {
    fresh()
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: { nums: [{ PutRequest: { Item: { id: { N: '1.50' }, sk: { S: 'a|b' }, v: { S: 'first' } } } }] },
      }),
    )
    // 1.5 == 1.50 for DynamoDB: same item.
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: { nums: [{ PutRequest: { Item: { id: { N: '15e-1' }, sk: { S: 'a|b' }, v: { S: 'second' } } } }] },
      }),
    )
    const t = server.table('nums')
    assert.equal(t.size, 1)
    assert.deepEqual(Array.from(t.items.keys()), ['N:1.5|S:a|b'])
    assert.equal(t.get({ id: { N: '1.5' }, sk: { S: 'a|b' } }).v.S, 'second')
    assert.equal(server.keyOf('nums', { id: { N: '1.5' }, sk: { S: 'a|b' } }), 'N:1.5|S:a|b')
    assert.equal(canonicalKey({ partitionKey: { name: 'k', type: 'S' }, sortKey: 's' }, { k: { S: 'x|y' }, s: { S: 'z' } }), 'S:x\\|y|S:z')
    assert.deepEqual(['0.0', '-0', '007', '1e3', '-12.340', '.5', '1.2E-3', 'abc'].map(normalizeNumber), [
      '0',
      '0',
      '7',
      '1000',
      '-12.34',
      '0.5',
      '0.0012',
      null,
    ])
  })

  test('invalid batches are rejected whole with ValidationException', async () => {
    fresh()
    const expectValidation = (RequestItems, message) =>
      assert.rejects(client.send(new BatchWriteItemCommand({ RequestItems })), (e) => {
        assert.equal(e.name, 'ValidationException')
        assert.equal(e.$metadata.httpStatusCode, 400)
        if (message) assert.equal(e.message, message)
        return true
      })

    await expectValidation({ [TABLE]: [put('a'), put('d'), del('d')] }, 'Provided list of item keys contains duplicates')
    await expectValidation(
      { [TABLE]: [put('a'), { PutRequest: { Item: { pk: { N: '1' } } } }] },
      'One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N',
    )
    await expectValidation(
      { [TABLE]: [{ PutRequest: { Item: { other: { S: '1' } } } }] },
      'One or more parameter values were invalid: Missing the key pk in the item',
    )
    await expectValidation({ [TABLE]: [{ DeleteRequest: { Key: { pk: { N: '1' } } } }] }, 'The provided key element does not match the schema')
    await expectValidation({ [TABLE]: puts(26) }, 'Too many items requested for the BatchWriteItem call')
    await expectValidation({ [TABLE]: [{ PutRequest: { Item: { pk: { S: 'big' }, b: { S: 'x'.repeat(400 * 1024) } } } }] })

    await assert.rejects(client.send(new BatchWriteItemCommand({ RequestItems: { nope: [put('a')] } })), {
      name: 'ResourceNotFoundException',
    })
    assert.equal(server.table(TABLE).size, 0)
    assert.equal(server.stats.entriesApplied, 0)
    assert.equal(server.stats.validationErrors, 6)
  })

  test('unprocessedRate 1 returns every entry unprocessed, nothing applied', async () => {
    fresh()
    server.setFaults({ unprocessedRate: 1 })
    const batch = [...puts(3), del('x')]
    const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: batch }, ReturnConsumedCapacity: 'TOTAL' }))
    assert.deepEqual(out.UnprocessedItems, { [TABLE]: batch })
    assert.deepEqual(out.ConsumedCapacity, [{ TableName: TABLE, CapacityUnits: 0 }])
    assert.equal(server.table(TABLE).size, 0)
    assert.equal(server.stats.entriesUnprocessed, 4)
    assert.equal(server.stats.entriesApplied, 0)
  })

  test('unprocessedRate is repeatable for a seed', async () => {
    const run = async () => {
      fresh() // reset() re-seeds the dice
      server.setFaults({ unprocessedRate: 0.5 })
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(25) } }))
      return (out.UnprocessedItems[TABLE] || []).map((w) => w.PutRequest.Item.pk.S)
    }
    const first = await run()
    assert.ok(first.length > 0 && first.length < 25, `some but not all unprocessed: ${first.length}`)
    assert.deepEqual(await run(), first)
    assert.equal(server.table(TABLE).size, 25 - first.length)
  })

  test('failKeys always come back unprocessed', async () => {
    fresh()
    server.setFaults({ failKeys: ['S:k1', 'S:k3'] })
    for (let i = 0; i < 3; i++) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(5) } }))
      assert.deepEqual(out.UnprocessedItems[TABLE].map((w) => w.PutRequest.Item.pk.S), ['k1', 'k3'])
    }
    server.setFaults({ failKeys: (table, wr, key) => table === TABLE && key === 'S:k0' })
    const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(2) } }))
    assert.deepEqual(out.UnprocessedItems[TABLE], [put('k0')])
    assert.equal(server.stats.failKeyHits, 7)
  })

  test('throttleRate 1 gives ProvisionedThroughputExceededException, nothing applied', async () => {
    fresh()
    server.setFaults({ throttleRate: 1 })
    await assert.rejects(client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(3) } })), (e) => {
      assert.equal(e.name, 'ProvisionedThroughputExceededException')
      assert.equal(e.$metadata.httpStatusCode, 400)
      assert.ok(e.$metadata.requestId)
      return true
    })
    // Faults only hit BatchWriteItem by default, so a writer can still describe its table.
    await client.send(new DescribeTableCommand({ TableName: TABLE }))
    assert.equal(server.stats.throttled, 1)
    assert.equal(server.stats.entriesReceived, 3)
    assert.deepEqual(
      server.stats.requestLog.map((r) => [r.op, r.entries, r.outcome]),
      [
        ['BatchWriteItem', 3, 'throttled'],
        ['DescribeTable', 0, 'ok'],
      ],
    )
    assert.equal(server.table(TABLE).size, 0)
  })

  test('errorRate, unavailableRate and resetRate', async () => {
    fresh()
    const send = () => client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(1) } }))
    server.setFaults({ errorRate: 1 })
    await assert.rejects(send(), (e) => e.name === 'InternalServerError' && e.$metadata.httpStatusCode === 500)
    server.setFaults({ errorRate: 0, unavailableRate: 1 })
    await assert.rejects(send(), (e) => e.$metadata.httpStatusCode === 503)
    server.setFaults({ unavailableRate: 0, resetRate: 1 })
    await assert.rejects(send(), (e) => /socket hang up|ECONNRESET/.test(`${e.code} ${e.message}`))
    server.setFaults({ resetRate: 0, lostAnswerRate: 1 })
    await assert.rejects(send())
    const s = server.stats
    assert.deepEqual([s.errors500, s.errors503, s.resets, s.lostAnswers], [1, 1, 1, 1])
    assert.equal(server.table(TABLE).size, 1, 'only the lost answer applied its write')
  })

  test('delayMs keeps several requests in flight (maxConcurrent)', async () => {
    fresh()
    server.setFaults({ delayMs: 150 })
    const t0 = Date.now()
    await Promise.all(
      Array.from({ length: 4 }, (_, i) => client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(2, `c${i}-`) } }))),
    )
    assert.ok(Date.now() - t0 >= 140)
    assert.equal(server.stats.maxConcurrent, 4)
    assert.equal(server.stats.inFlight, 0)
    assert.equal(server.table(TABLE).size, 8)
  })

  test('capacityWcuPerSecond throttles once the second is used up', async () => {
    fresh()
    server.setFaults({ capacityWcuPerSecond: 30 })
    await startOfSecond()
    const send = (prefix) => client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(20, prefix) } }))
    await send('a') // 20 WCU
    await send('b') // 40 WCU: crosses the limit, still applied
    await assert.rejects(send('c'), { name: 'ProvisionedThroughputExceededException' })
    assert.equal(server.stats.capacityThrottled, 1)
    const [[, wcu]] = Array.from(server.stats.wcuBySecond)
    assert.equal(wcu, 40)
    assert.equal(server.table(TABLE).size, 40)
  })

  test('hangRate never answers; close() still resolves promptly', async () => {
    const s2 = await startFaultServer({ tables: { [TABLE]: { partitionKey: 'pk' } }, faults: { hangRate: 1 } })
    const c2 = sdk(s2.endpoint)
    const pending = c2.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(1) } }))
    pending.catch(() => {})
    while (s2.stats.hangs === 0) await new Promise((r) => setTimeout(r, 5))
    assert.equal(s2.stats.inFlight, 1)
    const t0 = Date.now()
    await s2.close()
    assert.ok(Date.now() - t0 < 500)
    await assert.rejects(pending)
    c2.destroy()
  })

  test('store: false counts without storing', async () => {
    const sink = await startFaultServer({ tables: { [TABLE]: { partitionKey: 'pk' } }, store: false })
    const c2 = sdk(sink.endpoint)
    try {
      await c2.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: [...puts(10), del('z')] } }))
      assert.equal(sink.stats.putsApplied, 10)
      assert.equal(sink.stats.deletesApplied, 1)
      assert.equal(sink.table(TABLE).size, 0)
      assert.equal(sink.table(TABLE).puts, 10)
      assert.equal(sink.stats.history.size, 0)
    } finally {
      c2.destroy()
      await sink.close()
    }
  })
})

test('spawnFaultServer runs the server in a child process', async () => {
  const child = await spawnFaultServer({ tables: { [TABLE]: { partitionKey: 'pk' } }, faults: { failKeys: new Set(['S:k0']) } })
  const c2 = sdk(child.endpoint)
  try {
    const out = await c2.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(3) } }))
    assert.deepEqual(out.UnprocessedItems[TABLE], [put('k0')])
    await child.setFaults({ throttleRate: 1 })
    await assert.rejects(c2.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: puts(1) } })), {
      name: 'ProvisionedThroughputExceededException',
    })
    const snap = await child.snapshot()
    assert.equal(snap.entriesApplied, 2)
    assert.equal(snap.throttled, 1)
    assert.equal(snap.tables[TABLE].size, 2)
    assert.equal(snap.wcuBySecond.reduce((a, [, w]) => a + w, 0), 2)
  } finally {
    c2.destroy()
    await child.close()
  }
})

// Runs last: every server above was closed, so no listening or connected TCP handle may remain.
test('no TCP handles are left open', () => {
  const tcp = process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP'))
  assert.deepEqual(tcp, [])
})
