'use strict'
// Nothing silent (issue "close every kind of silent change"): inputs from public bug reports against other
// DynamoDB clients, each checked against what dynalite stores. Text with no UTF-8 form is refused wherever a
// string can appear; stored names never become prototypes; Sets equal once marshalled are refused by the put
// itself; and the README's withBatch patterns keep their promise when one item among many is invalid.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { DynamoDBClient, BatchWriter, BatchWriteError, InvalidItemError, NumberValue, withBatch } = require('dynabatch')
const { startDynalite, clientOptions, uniqueTableName, countItems } = require('./helpers/dynalite.js')
const { startDynamoDBLocal, skipReason } = require('./helpers/dynamodb-local.js')

let server
let client
let sdk

before(async () => {
  server = await startDynalite()
  client = new DynamoDBClient(clientOptions(server.endpoint))
  const { DynamoDBClient: Sdk } = require('@aws-sdk/client-dynamodb')
  sdk = new Sdk(clientOptions(server.endpoint))
})
after(async () => {
  sdk.destroy()
  await client.close()
  await server.close()
})

async function newTable(sortKey) {
  const t = uniqueTableName('silent')
  await client.createTable(t, { partitionKey: { name: 'pk', type: 'S' }, ...(sortKey ? { sortKey } : {}) })
  return t
}

// Items as dynalite holds them, read with the AWS SDK (not with dynabatch).
async function rawScan(table) {
  const { ScanCommand } = require('@aws-sdk/client-dynamodb')
  const out = await sdk.send(new ScanCommand({ TableName: table, ConsistentRead: true }))
  return out.Items
}

function invalid(path) {
  return (e) => {
    assert.ok(e instanceof InvalidItemError, `${e && e.code}: ${e && e.message}`)
    assert.equal(e.code, 'InvalidItem')
    assert.equal(e.path, path)
    assert.match(e.message, /lone surrogate/)
    return true
  }
}

describe('text with no UTF-8 form is refused, never rewritten', () => {
  it('two keys that differ only by a lone surrogate are both refused: neither overwrites the other', async () => {
    const table = await newTable()
    const w = new BatchWriter(client, table)
    await assert.rejects(w.put({ pk: 'k\ud800', v: 1 }), invalid('item.pk'))
    await assert.rejects(w.put({ pk: 'k\udc00', v: 2 }), invalid('item.pk'))
    await assert.rejects(client.putItem(table, { pk: 'x\udc00y' }), invalid('item.pk'))
    await w.put({ pk: 'fine', v: 3 })
    const err = await w.close().catch((e) => e)
    assert.ok(err instanceof BatchWriteError)
    assert.deepEqual(
      err.failed.map((f) => [f.item.v, f.reason, f.path]),
      [
        [1, 'InvalidItem', 'item.pk'],
        [2, 'InvalidItem', 'item.pk'],
      ],
    )
    assert.equal(err.result.putsWritten, 1)
    assert.deepEqual(await rawScan(table), [{ pk: { S: 'fine' }, v: { N: '3' } }])
  })

  it('wherever a string can appear: values, names, Set members, Map keys, nested lists and maps', async () => {
    const table = await newTable()
    const cases = [
      [{ pk: 'a', s: 'x\udc00y' }, 'item.s'],
      [{ pk: 'a', ['n\ud800']: 1 }, 'item["n\\ud800"]'],
      [{ pk: 'a', tags: new Set(['ok', '\ud83d']) }, 'item.tags[1]'],
      [{ pk: 'a', m: new Map([['\udfff', 1]]) }, 'item.m["\\udfff"]'],
      [{ pk: 'a', l: [1, { deep: ['fine', 'bad\ud800'] }] }, 'item.l[1].deep[1]'],
      [{ pk: 'a', l: [{ ['k\udc00']: true }] }, 'item.l[0]["k\\udc00"]'],
    ]
    for (const [item, path] of cases) {
      await assert.rejects(client.putItem(table, item), invalid(path))
      await assert.rejects(withBatch(client, table, (b) => b.put(item)), (e) => e instanceof BatchWriteError && e.failed[0].path === path)
    }
    await assert.rejects(client.getItem(table, { pk: 'k\ud800' }), invalid('key.pk'))
    await assert.rejects(client.deleteItem(table, { pk: 'k\ud800' }), invalid('key.pk'))
    assert.deepEqual(await rawScan(table), [])
  })

  it('condition expressions, their names and their values', async () => {
    const table = await newTable()
    await client.putItem(table, { pk: 'c', v: 1 })
    const cond = { conditionExpression: '#v = :v', expressionAttributeNames: { '#v': 'v' }, expressionAttributeValues: { ':v': 1 } }
    await assert.rejects(client.putItem(table, { pk: 'c', v: 2 }, { ...cond, conditionExpression: '#v = :v\ud800' }), (e) => {
      assert.equal(e.code, 'InvalidItem')
      assert.equal(e.path, 'conditionExpression')
      return true
    })
    await assert.rejects(
      client.putItem(table, { pk: 'c', v: 2 }, { ...cond, expressionAttributeNames: { '#v': 'v\udc00' } }),
      invalid('expressionAttributeNames["#v"]'),
    )
    await assert.rejects(
      client.putItem(table, { pk: 'c', v: 2 }, { ...cond, expressionAttributeNames: { ['#v\ud800']: 'v' } }),
      invalid('expressionAttributeNames["#v\\ud800"]'),
    )
    await assert.rejects(
      client.deleteItem(table, { pk: 'c' }, { ...cond, expressionAttributeValues: { ':v': 'x\ud800' } }),
      invalid('expressionAttributeValues[":v"]'),
    )
    // the well-formed condition still works, and nothing was changed on the way
    await client.putItem(table, { pk: 'c', v: 2 }, cond)
    assert.deepEqual(await rawScan(table), [{ pk: { S: 'c' }, v: { N: '2' } }])
  })

  it('a valid surrogate pair (emoji) is kept exactly, in keys, values and names', async () => {
    const table = await newTable()
    const item = { pk: 'k😀', '名前😀': 'v😀', s: new Set(['😀', '😁']) }
    await client.putItem(table, item)
    assert.deepEqual(await client.getItem(table, { pk: 'k😀' }), item)
    const [raw] = await rawScan(table)
    assert.equal(raw.pk.S, 'k\ud83d\ude00')
    assert.equal(raw['名前😀'].S, 'v😀')
  })
})

// dynalite itself drops an attribute named __proto__ (it copies items as JS objects), so this runs on AWS's
// DynamoDB Local, which stores it as DynamoDB does.
describe('stored attribute names never change the shape of returned objects', { skip: skipReason() }, () => {
  let local
  let client
  let sdk
  before(async () => {
    local = await startDynamoDBLocal()
    client = new DynamoDBClient(clientOptions(local.endpoint))
    const { DynamoDBClient: Sdk } = require('@aws-sdk/client-dynamodb')
    sdk = new Sdk(clientOptions(local.endpoint))
  })
  after(async () => {
    if (sdk) sdk.destroy()
    if (client) await client.close()
    if (local) await local.close()
  })

  it('__proto__, constructor and toString come back as own properties, at any depth', async () => {
    const table = uniqueTableName('proto')
    await client.createTable(table, { partitionKey: { name: 'pk', type: 'S' } })
    const { PutItemCommand } = require('@aws-sdk/client-dynamodb')
    // Written by another client, as a JSON.parse'd document would be.
    await sdk.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: { S: 'p' },
          ['__proto__']: { M: { isAdmin: { BOOL: true } } },
          constructor: { S: 'c' },
          toString: { N: '1' },
          l: { L: [{ M: { ['__proto__']: { M: { polluted: { BOOL: true } } }, hasOwnProperty: { S: 'x' } } }] },
        },
      }),
    )
    const got = await client.getItem(table, { pk: 'p' })
    assert.equal(Object.getPrototypeOf(got), Object.prototype)
    assert.equal(got.isAdmin, undefined, 'nothing comes through a prototype')
    assert.ok(Object.hasOwn(got, '__proto__'))
    assert.deepEqual(Object.getOwnPropertyDescriptor(got, '__proto__').value, { isAdmin: true })
    assert.equal(got.constructor, 'c')
    assert.equal(got.toString, 1)
    const inner = got.l[0]
    assert.equal(Object.getPrototypeOf(inner), Object.prototype)
    assert.equal(inner.polluted, undefined)
    assert.deepEqual(Object.getOwnPropertyDescriptor(inner, '__proto__').value, { polluted: true })
    assert.equal(inner.hasOwnProperty, 'x')
    assert.equal({}.polluted, undefined, 'Object.prototype untouched')
    // and such an item round-trips through dynabatch unchanged
    await client.putItem(table, { ...JSON.parse('{"pk":"q","__proto__":{"isAdmin":true}}') })
    const q = await client.getItem(table, { pk: 'q' })
    assert.deepEqual(Object.keys(q).sort(), ['__proto__', 'pk'])
    assert.equal(q.isAdmin, undefined)
  })
})

describe('every rule that can be judged from the item alone rejects the put itself', () => {
  it('Set members equal once marshalled: 1 and 1n, NumberValue 1 and 1.0, equal binaries', async () => {
    const table = await newTable()
    const w = new BatchWriter(client, table)
    const bad = [
      { pk: 'a', s: new Set([1, 1n]) },
      { pk: 'b', s: new Set([new NumberValue('1'), new NumberValue('1.0')]) },
      { pk: 'c', s: new Set([Buffer.from('x'), new Uint8Array([120])]) },
      { pk: 'd', n: NaN },
      { pk: 'e', big: 'x'.repeat(409600) },
    ]
    for (const item of bad) {
      await assert.rejects(w.put(item), { code: 'InvalidItem' })
      await assert.rejects(client.putItem(table, item), { code: 'InvalidItem' })
    }
    const err = await w.close().catch((e) => e)
    assert.deepEqual(
      err.failed.map((f) => f.item.pk),
      ['a', 'b', 'c', 'd', 'e'],
    )
    assert.equal(await countItems(server.endpoint, table), 0)
  })
})

describe("the README's withBatch patterns with one invalid item among valid ones", () => {
  const users = () => [{ pk: 'a' }, { pk: 'b', age: NaN }, { pk: 'c' }, { pk: 'd' }]

  it('awaited puts: the loop stops at the bad item; withBatch rejects with a BatchWriteError naming it (cause: the put error)', async () => {
    const table = await newTable()
    const list = users()
    const err = await withBatch(client, table, async (b) => {
      for (const u of list) await b.put(u)
    }).catch((e) => e)
    assert.ok(err instanceof BatchWriteError, `got ${err && err.name}`)
    assert.equal(err.code, 'BatchWriteFailed')
    assert.deepEqual(
      err.failed.map((f) => [f.item, f.reason]),
      [[list[1], 'InvalidItem']],
    )
    assert.ok(err.cause instanceof InvalidItemError)
    assert.equal(err.cause.path, 'item.age')
    assert.equal(err.result.putsWritten, 1)
    assert.deepEqual((await rawScan(table)).map((i) => i.pk.S), ['a'])
  })

  it('un-awaited puts: every valid item is written and the bad one is reported', async () => {
    const table = await newTable()
    const list = users()
    const err = await withBatch(client, table, (b) => {
      for (const u of list) b.put(u)
    }).catch((e) => e)
    assert.ok(err instanceof BatchWriteError)
    assert.deepEqual(
      err.failed.map((f) => f.item),
      [list[1]],
    )
    assert.equal(err.cause, undefined)
    assert.equal(err.result.putsWritten, 3)
    assert.deepEqual((await rawScan(table)).map((i) => i.pk.S).sort(), ['a', 'c', 'd'])
  })

  it('the loop that continues past bad items (try/catch per put, as the README shows) writes every valid item', async () => {
    const table = await newTable()
    const list = users()
    const skipped = []
    const err = await withBatch(client, table, async (b) => {
      for (const u of list) {
        try {
          await b.put(u)
        } catch (e) {
          skipped.push(e.path)
        }
      }
    }).catch((e) => e)
    assert.deepEqual(skipped, ['item.age'])
    assert.ok(err instanceof BatchWriteError)
    assert.deepEqual(
      err.failed.map((f) => f.item),
      [list[1]],
    )
    assert.deepEqual((await rawScan(table)).map((i) => i.pk.S).sort(), ['a', 'c', 'd'])
  })

  it('putMany accepts every valid item and rejects with the first invalid one', async () => {
    const table = await newTable()
    const list = users()
    const err = await withBatch(client, table, (b) => b.putMany(list)).catch((e) => e)
    assert.ok(err instanceof BatchWriteError)
    assert.ok(err.cause instanceof InvalidItemError, 'the callback stopped on an item listed in failed')
    assert.deepEqual(
      err.failed.map((f) => f.item),
      [list[1]],
    )
    assert.deepEqual((await rawScan(table)).map((i) => i.pk.S).sort(), ['a', 'c', 'd'])
  })

  it('a callback error that is not an item failure keeps the SuppressedError form when the flush fails too', async () => {
    const table = await newTable()
    const boom = new Error('boom')
    const err = await withBatch(client, table, (b) => {
      b.put({ pk: 'x', n: NaN })
      throw boom
    }).catch((e) => e)
    assert.equal(err.name, 'SuppressedError')
    assert.ok(err.error instanceof BatchWriteError)
    assert.equal(err.suppressed, boom)
  })
})
