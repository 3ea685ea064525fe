'use strict'
// Marshalling both ways, against a real DynamoDB-compatible server (dynalite): every type round-trips, every
// rejection is an InvalidItem with the attribute path, and nothing is lost silently.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { DynamoDBClient, NumberValue } = require('dynabatch')
const { startDynalite, clientOptions, uniqueTableName } = require('./helpers/dynalite.js')
const roundTripItems = require('./helpers/round-trip-items.js')

let server
let client
let table

before(async () => {
  server = await startDynalite()
  client = new DynamoDBClient(clientOptions(server.endpoint))
  table = uniqueTableName('marshal')
  await client.createTable(table, { partitionKey: { name: 'pk', type: 'S' } })
})
after(() => server.close())

async function roundTrip(item, opts) {
  const c = opts ? new DynamoDBClient({ ...clientOptions(server.endpoint), ...opts }) : client
  await c.putItem(table, item)
  return c.getItem(table, { pk: item.pk }, { consistentRead: true })
}

async function rejects(item, message, c = client) {
  await assert.rejects(c.putItem(table, item), (err) => {
    assert.equal(err.code, 'InvalidItem')
    assert.equal(err.message, message)
    return true
  })
}

describe('round trips', () => {
  it('scalars, unicode and empty strings outside keys', async () => {
    const item = roundTripItems.scalars()
    assert.deepEqual(await roundTrip(item), item)
  })

  it('nested maps and lists, Map and null-prototype objects become plain objects', async () => {
    const item = roundTripItems.nested()
    const got = await roundTrip(item)
    assert.deepEqual(got.m, item.m)
    assert.deepEqual(got.fromMap, { k: 'v', n: 2 })
    assert.deepEqual(got.bare, { x: 1 })
    assert.deepEqual(got.emptyList, [])
    assert.deepEqual(got.emptyMap, {})
  })

  it('binaries of every kind come back as Buffers, including large ones', async () => {
    const item = roundTripItems.binaries()
    const got = await roundTrip(item)
    assert.ok(Buffer.isBuffer(got.buf))
    assert.deepEqual([...got.buf], [1, 2, 3])
    assert.deepEqual([...got.u8], [4, 5])
    assert.deepEqual(got.f64, Buffer.from(new Float64Array([1.5]).buffer))
    assert.deepEqual([...got.ab], [9, 8])
    assert.deepEqual([...got.dv], [6])
    assert.equal(got.empty.length, 0)
    assert.deepEqual([...got.sub], [1, 2])
    assert.ok(got.big.equals(item.big))
  })

  it('sets of strings, numbers and binaries come back as Sets', async () => {
    const item = {
      pk: 'sets',
      ss: new Set(['a', 'b']),
      ns: new Set([1, 2n, new NumberValue('3.5')]),
      bs: new Set([Buffer.from('x'), new Uint8Array([1])]),
    }
    const got = await roundTrip(item)
    assert.deepEqual(got.ss, new Set(['a', 'b']))
    assert.deepEqual(got.ns, new Set([1, 2, 3.5]))
    assert.ok(got.bs instanceof Set)
    assert.deepEqual(
      [...got.bs].map((b) => b.toString('hex')).sort(),
      ['01', '78'],
    )
  })

  it('bigints and 38-digit numbers are exact; unsafe values come back as NumberValue', async () => {
    const n38 = '12345678901234567890123456789012345678'
    const item = {
      pk: 'numbers',
      big: 123456789012345678901234567890n,
      n38: new NumberValue(n38),
      frac: new NumberValue('0.000000000000000000000000000000000001'),
      inexact: new NumberValue('0.1000000000000000000000000000000000001'),
      small: 5n,
      tiny: new NumberValue('1E-130'),
    }
    const got = await roundTrip(item)
    assert.ok(got.big instanceof NumberValue)
    assert.equal(got.big.toBigInt(), 123456789012345678901234567890n)
    assert.equal(got.n38.toString(), n38)
    assert.equal(got.frac, 1e-36) // its shortest decimal text is exact, so it is a number
    assert.ok(got.inexact instanceof NumberValue, 'a double would round it: ' + require('node:util').inspect(got))
    assert.equal(got.inexact.toString(), '0.1000000000000000000000000000000000001')
    assert.equal(got.small, 5)
    assert.equal(got.tiny, 1e-130)
  })

  it('wrapNumbers returns every number as a NumberValue', async () => {
    const got = await roundTrip({ pk: 'wrapped', n: 7, s: new Set([1]) }, { wrapNumbers: true })
    assert.ok(got.n instanceof NumberValue)
    assert.equal(got.n.toString(), '7')
    assert.ok([...got.s][0] instanceof NumberValue)
  })

  it('removeUndefinedValues drops undefined inside maps, lists and sets', async () => {
    const got = await roundTrip(
      { pk: 'undef', a: undefined, m: { x: undefined, y: 1 }, l: [1, undefined, 2], s: new Set(['a', undefined]) },
      { removeUndefinedValues: true },
    )
    assert.deepEqual(got, { pk: 'undef', m: { y: 1 }, l: [1, 2], s: new Set(['a']) })
  })

  it('an item of exactly 400 KB is written; one byte more is rejected before sending', async () => {
    // size = names + values: "pk"(2) + "max"(3) + "data"(4) + data
    const pk = 'max'
    const data = 'x'.repeat(409600 - 2 - pk.length - 4)
    await client.putItem(table, { pk, data })
    const got = await client.getItem(table, { pk })
    assert.equal(got.data.length, data.length)
    await rejects(
      { pk, data: data + 'x' },
      "item: 409601 bytes exceeds DynamoDB's item size limit of 409600 bytes (400 KB)",
    )
  })

  it('getItem resolves to undefined for a missing item', async () => {
    assert.equal(await client.getItem(table, { pk: 'absent' }), undefined)
  })
})

describe('rejections name the attribute path', () => {
  it('NaN, Infinity and unsafe integers', async () => {
    await rejects({ pk: 'r', tags: [1, 2, 3, NaN] }, 'item.tags[3]: NaN is not a valid DynamoDB number')
    await rejects({ pk: 'r', a: { b: -Infinity } }, 'item.a.b: -Infinity is not a valid DynamoDB number')
    await rejects(
      { pk: 'r', n: 2 ** 53 + 2 },
      'item.n: a JS number outside ±Number.MAX_SAFE_INTEGER may have lost precision; pass a bigint or a NumberValue',
    )
  })

  it('undefined, with the option named', async () => {
    await rejects(
      { pk: 'r', address: { zip: undefined } },
      'item.address.zip: undefined is not allowed (set removeUndefinedValues to drop it)',
    )
    await rejects({ pk: 'r', l: [undefined] }, 'item.l[0]: undefined is not allowed (set removeUndefinedValues to drop it)')
  })

  it('functions, symbols and class instances', async () => {
    await rejects({ pk: 'r', f() {} }, 'item.f: a function is not a valid DynamoDB value')
    await rejects({ pk: 'r', s: Symbol('x') }, 'item.s: a symbol is not a valid DynamoDB value')
    await rejects(
      { pk: 'r', when: new Date(0) },
      'item.when: a Date is not supported (only plain objects, arrays, Map, Set, binary data, bigint and NumberValue are)',
    )
    await rejects({ pk: 'r', 'odd key': { x: () => 1 } }, 'item["odd key"].x: a function is not a valid DynamoDB value')
  })

  it('empty sets, mixed sets and duplicate members', async () => {
    await rejects({ pk: 'r', s: new Set() }, 'item.s: an empty Set cannot be stored (DynamoDB has no empty sets)')
    await rejects(
      { pk: 'r', s: new Set(['a', 1]) },
      'item.s[1]: a Set must hold only strings, only numbers/bigints/NumberValues, or only binary values',
    )
    await rejects(
      { pk: 'r', s: new Set([1, 1n]) },
      'item.s: the Set holds duplicate values once marshalled (DynamoDB rejects duplicate set members)',
    )
  })

  it('cycles and nesting deeper than 32 levels', async () => {
    const a = { pk: 'r' }
    a.self = { back: a }
    await rejects(a, 'item.self.back: circular reference')
    let deep = 'leaf'
    for (let i = 0; i < 32; i++) deep = [deep]
    await rejects({ pk: 'r', deep }, "item.deep[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nesting exceeds DynamoDB's 32 levels")
    let ok = 'leaf'
    for (let i = 0; i < 31; i++) ok = [ok]
    await client.putItem(table, { pk: 'deep-ok', ok })
  })

  it('numbers with more than 38 significant digits', async () => {
    assert.throws(() => new NumberValue('1'.repeat(39)), {
      code: 'InvalidItem',
      message: 'NumberValue: a number of 39 significant digits: DynamoDB numbers hold at most 38',
    })
    await rejects(
      { pk: 'r', n: 10n ** 40n + 1n },
      'item.n: a number of 41 significant digits: DynamoDB numbers hold at most 38',
    )
    assert.throws(() => new NumberValue('abc'), { code: 'InvalidItem' })
  })

  it('items that are not objects', async () => {
    await rejects(null, 'item: must be an object (a plain object or a Map), got null')
    await rejects([1], 'item: must be an object (a plain object or a Map), got an array')
  })

  it('key schema violations, once the schema is known', async () => {
    await rejects({ pk: 5 }, 'item.pk: key attribute must be of type S, got N')
    await rejects({ other: 'x' }, 'item.pk: missing key attribute (table key schema: pk S)')
    await rejects({ pk: '' }, 'item.pk: key attribute must not be an empty string')
    await rejects({ pk: 'x'.repeat(2049) }, 'item.pk: partition key value is 2049 bytes; DynamoDB allows at most 2048')
    await client.putItem(table, { pk: 'x'.repeat(2048) })
  })

  it('sort keys over 1024 bytes and empty binary keys', async () => {
    const t = uniqueTableName('sk')
    await client.createTable(t, { partitionKey: { name: 'id', type: 'B' }, sortKey: { name: 'sk', type: 'S' } })
    await assert.rejects(client.putItem(t, { id: Buffer.from('a'), sk: 'y'.repeat(1025) }), {
      code: 'InvalidItem',
      message: 'item.sk: sort key value is 1025 bytes; DynamoDB allows at most 1024',
    })
    await assert.rejects(client.putItem(t, { id: Buffer.alloc(0), sk: 'a' }), {
      code: 'InvalidItem',
      message: 'item.id: key attribute must not be an empty binary',
    })
    await client.putItem(t, { id: Buffer.from('a'), sk: 'y'.repeat(1024) })
    assert.equal((await client.getItem(t, { id: Buffer.from('a'), sk: 'y'.repeat(1024) })).sk.length, 1024)
  })
})

describe('NumberValue', () => {
  it('converts exactly', () => {
    const v = new NumberValue('12345678901234567890.000')
    assert.equal(v.toString(), '12345678901234567890.000')
    assert.equal(v.toBigInt(), 12345678901234567890n)
    assert.equal(NumberValue.from(10n).toNumber(), 10)
    assert.equal(new NumberValue('1.5e3').toBigInt(), 1500n)
    assert.throws(() => new NumberValue('1.5').toBigInt(), RangeError)
    assert.equal(JSON.stringify({ n: new NumberValue('1.25') }), '{"n":"1.25"}')
  })
})
