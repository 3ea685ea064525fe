'use strict'
// Transactions (client.transactWrite, client.transactGet). On AWS's own DynamoDB Local (dynalite has no
// transactions): commits across tables, cancellations with a reason per action and the old item, what is
// refused before sending, idempotent client request tokens, reads aligned with their input. On the fault
// server: retries (throttling, a lost answer, TransactionInProgressException, all with one token) and a
// conflict between two concurrent transactions, which DynamoDB Local cannot show: it runs transactions one
// at a time under a table lock and never cancels one with TransactionConflict.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { GetItemCommand, ScanCommand, TransactWriteItemsCommand } = require('@aws-sdk/client-dynamodb')
const { DynamoDBClient, DynabatchError, InvalidItemError, NumberValue } = require('dynabatch')
const { skipReason } = require('./helpers/dynamodb-local.js')
const { startLocalClients } = require('./helpers/local-clients.js')
const { clientOptions, uniqueTableName } = require('./helpers/dynalite.js')
const { startFaultServer } = require('./helpers/fault-server.js')

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const NOT_THE_CAUSE = { code: 'None', message: 'this action did not cause the cancellation' }

const rejectionOf = (p) =>
  p.then(
    () => assert.fail('expected the promise to reject'),
    (e) => e,
  )
// An update that takes `amount` from an account's balance, if the balance holds it.
const withdraw = (table, pk, amount) => ({
  update: {
    table,
    key: { pk },
    updateExpression: 'SET balance = balance - :p',
    conditionExpression: 'balance >= :p',
    expressionAttributeValues: { ':p': amount },
  },
})

// Waits (boundedly) for a state of the fault server; the bound only keeps a broken test from hanging.
async function until(what, ms = 10_000) {
  for (const end = Date.now() + ms; !what();) {
    if (Date.now() > end) assert.fail('the fault server never reached the awaited state')
    await new Promise((r) => setTimeout(r, 2))
  }
}

describe('transactions on DynamoDB Local', { skip: skipReason() }, () => {
  let env
  let client
  let sdk
  let records
  const refusedBeforeSending = async (promise, expected) => {
    const sent = await env.requestsDuring(() => assert.rejects(promise, expected))
    assert.deepEqual(sent, [], 'nothing may be sent')
  }

  before(async () => {
    env = await startLocalClients()
    ;({ client, sdk, records } = env)
  })
  after(() => env?.close())

  async function newTable(keySchema = { partitionKey: { name: 'pk', type: 'S' } }) {
    const t = uniqueTableName('tx')
    await client.createTable(t, keySchema)
    return t
  }
  const ORDERS = { partitionKey: { name: 'id', type: 'N' }, sortKey: { name: 'sk', type: 'S' } }
  async function rawGet(table, key) {
    return (await sdk.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item
  }
  async function count(table) {
    let n = 0
    let ExclusiveStartKey
    do {
      const out = await sdk.send(
        new ScanCommand({ TableName: table, Select: 'COUNT', ConsistentRead: true, ExclusiveStartKey }),
      )
      n += out.Count
      ExclusiveStartKey = out.LastEvaluatedKey
    } while (ExclusiveStartKey)
    return n
  }

  it('commits puts, updates, deletes and condition checks across two tables, and reports capacity per table', async () => {
    const users = await newTable()
    const orders = await newTable(ORDERS)
    await client.putItem(users, { pk: 'u1', balance: 10 })
    await client.putItem(users, { pk: 'cart#u1', lines: 2 })
    await client.putItem(orders, { id: 0, sk: 'config', open: true })
    const written = client.metrics.itemsWritten
    const m = await client.transactWrite([
      withdraw(users, 'u1', 3),
      {
        put: {
          table: orders,
          item: {
            id: 1,
            sk: 'o#1',
            total: 3,
            lines: [{ sku: 'a', qty: 1n }],
            tags: new Set(['new']),
            note: Buffer.from('hi'),
          },
          conditionExpression: 'attribute_not_exists(id)',
        },
      },
      { delete: { table: users, key: { pk: 'cart#u1' } } },
      {
        conditionCheck: {
          table: orders,
          key: { id: 0, sk: 'config' },
          conditionExpression: '#o = :t',
          expressionAttributeNames: { '#o': 'open' },
          expressionAttributeValues: { ':t': true },
        },
      },
    ])
    assert.deepEqual(await rawGet(users, { pk: { S: 'u1' } }), { pk: { S: 'u1' }, balance: { N: '7' } })
    assert.equal(await rawGet(users, { pk: { S: 'cart#u1' } }), undefined)
    const order = await rawGet(orders, { id: { N: '1' }, sk: { S: 'o#1' } })
    assert.deepEqual(
      { ...order, note: Buffer.from(order.note.B).toString() },
      {
        id: { N: '1' },
        sk: { S: 'o#1' },
        total: { N: '3' },
        lines: { L: [{ M: { sku: { S: 'a' }, qty: { N: '1' } } }] },
        tags: { SS: ['new'] },
        note: 'hi',
      },
    )
    assert.equal(m.operation, 'TransactWriteItems')
    assert.equal(m.attempts, 1)
    assert.equal(typeof m.requestId, 'string')
    assert.match(m.clientRequestToken, UUID)
    assert.deepEqual(Object.keys(m.tables).sort(), [orders, users].sort())
    assert.ok(m.tables[users].consumedWcu > 0 && m.tables[orders].consumedWcu > 0)
    assert.equal(m.consumedWcu, m.tables[users].consumedWcu + m.tables[orders].consumedWcu)
    assert.equal(client.metrics.itemsWritten - written, 3, 'the update, the put and the delete')
    const rec = records.findLast((r) => r.operation === 'TransactWriteItems')
    assert.deepEqual([rec.items, rec.table, rec.consumedWcu], [4, `${users},${orders}`, m.consumedWcu])
  })

  it('a cancelled transaction: TransactionCanceled, a reason per action in order, the old item decoded, nothing applied', async () => {
    const t = await newTable()
    const other = await newTable(ORDERS)
    const stored = {
      pk: 'acct',
      balance: 5,
      history: [1, 2],
      flags: new Set(['a']),
      raw: Buffer.from([7]),
      big: new NumberValue('12345678901234567890'),
    }
    await client.putItem(t, stored)
    const actions = [
      { put: { table: t, item: { pk: 'receipt' } } },
      withdraw(t, 'acct', 10),
      { delete: { table: other, key: { id: 1, sk: 'x' } } },
    ]
    const err = await rejectionOf(client.transactWrite(actions, { returnValuesOnConditionCheckFailure: 'ALL_OLD' }))
    assert.ok(err instanceof DynabatchError)
    assert.equal(err.code, 'TransactionCanceled')
    assert.equal(
      err.message,
      'transaction cancelled: actions[1].update: ConditionalCheckFailed (The conditional request failed)',
    )
    assert.equal(err.statusCode, 400)
    assert.equal(typeof err.requestId, 'string')
    assert.match(err.clientRequestToken, UUID)
    assert.equal(err.reasons.length, 3)
    assert.deepEqual(err.reasons[0], NOT_THE_CAUSE)
    assert.deepEqual(err.reasons[2], NOT_THE_CAUSE)
    const { item, ...rest } = err.reasons[1]
    assert.deepEqual(rest, { code: 'ConditionalCheckFailed', message: 'The conditional request failed' })
    assert.deepEqual({ ...item, big: item.big.toString() }, { ...stored, big: '12345678901234567890' })
    assert.ok(item.big instanceof NumberValue && Buffer.isBuffer(item.raw) && item.flags instanceof Set)
    assert.equal(await rawGet(t, { pk: { S: 'receipt' } }), undefined, 'nothing of a cancelled transaction is applied')
    assert.equal((await rawGet(t, { pk: { S: 'acct' } })).balance.N, '5')
    const rec = records.findLast((r) => r.operation === 'TransactWriteItems')
    assert.equal(rec.errorCode, 'TransactionCanceled')

    // without ALL_OLD, no item; with wrapNumbers, the old item's numbers are NumberValues (the read rules)
    const plain = await rejectionOf(client.transactWrite(actions))
    assert.deepEqual(plain.reasons[1], { code: 'ConditionalCheckFailed', message: 'The conditional request failed' })
    const wrapping = new DynamoDBClient({ ...clientOptions(env.local.endpoint), wrapNumbers: true })
    const wrapped = await rejectionOf(
      wrapping.transactWrite(actions, { returnValuesOnConditionCheckFailure: 'ALL_OLD' }),
    )
    assert.ok(wrapped.reasons[1].item.balance instanceof NumberValue)
    assert.equal(wrapped.reasons[1].item.balance.toString(), '5')
  })

  it('two actions on one item are refused before sending (numbers in keys compared by value); the same key in two tables is two items', async () => {
    const t = await newTable(ORDERS)
    const t2 = await newTable(ORDERS)
    await refusedBeforeSending(
      client.transactWrite([
        { put: { table: t, item: { id: 7, sk: 'a', v: 1 } } },
        { put: { table: t2, item: { id: 7, sk: 'a' } } },
        { delete: { table: t, key: { id: new NumberValue('7.0'), sk: 'a' } } },
      ]),
      {
        name: 'TypeError',
        code: 'InvalidArgument',
        message: `actions[2].delete.key: the same item as actions[0] (table "${t}"); DynamoDB refuses two operations on one item in a transaction`,
        path: 'actions[2].delete.key',
      },
    )
    // the rule is the service's: DynamoDB Local refuses such a request (it compares number keys as written,
    // so it is shown with one text; DynamoDB stores numbers normalized, 7.0 as 7, so they are one item)
    await assert.rejects(
      sdk.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: t, Item: { id: { N: '7' }, sk: { S: 'a' } } } },
            { Delete: { TableName: t, Key: { id: { N: '7' }, sk: { S: 'a' } } } },
          ],
        }),
      ),
      { name: 'ValidationException', message: 'Transaction request cannot include multiple operations on one item' },
    )
    await client.transactWrite([
      { put: { table: t, item: { id: 7, sk: 'a' } } },
      { put: { table: t2, item: { id: 7, sk: 'a' } } },
    ])
    assert.deepEqual([await count(t), await count(t2)], [1, 1])
  })

  it('101 actions are refused before sending; 100 commit', async () => {
    const t = await newTable()
    const actions = Array.from({ length: 101 }, (_, i) => ({ put: { table: t, item: { pk: `k${i}` } } }))
    await refusedBeforeSending(client.transactWrite(actions), {
      name: 'TypeError',
      code: 'InvalidArgument',
      message: 'actions must be an array of 1 to 100 actions, got 101 actions',
    })
    assert.equal(await count(t), 0)
    const m = await client.transactWrite(actions.slice(0, 100))
    assert.equal(m.attempts, 1)
    assert.equal(await count(t), 100)
  })

  it('more than 4 MB of items is refused before sending, naming the action where the total crosses it', async () => {
    const t = await newTable()
    // items of 390,008 bytes: "pk" + "bigNN" + "d" + 390,000 characters
    const actions = Array.from({ length: 11 }, (_, i) => ({
      put: { table: t, item: { pk: `big${String(i).padStart(2, '0')}`, d: 'x'.repeat(390_000) } },
    }))
    await refusedBeforeSending(client.transactWrite(actions), {
      code: 'InvalidArgument',
      message:
        "actions[10].put.item: the transaction's items and keys reach 4290088 bytes here; DynamoDB allows at most 4194304 bytes (4 MB) per transaction",
      path: 'actions[10].put.item',
    })
    await client.transactWrite(actions.slice(0, 10))
    assert.equal(await count(t), 10)
  })

  it('the same clientRequestToken sent twice applies once; with other actions it is IdempotentParameterMismatchException', async () => {
    const t = await newTable()
    const add = [
      {
        update: {
          table: t,
          key: { pk: 'counter' },
          updateExpression: 'ADD n :one',
          expressionAttributeValues: { ':one': 1 },
        },
      },
    ]
    const token = 'order-42-payment'
    const first = await client.transactWrite(add, { clientRequestToken: token })
    const second = await client.transactWrite(add, { clientRequestToken: token })
    assert.equal(first.clientRequestToken, token)
    assert.equal(second.clientRequestToken, token)
    assert.equal((await rawGet(t, { pk: { S: 'counter' } })).n.N, '1', 'applied once')
    assert.ok(first.consumedWcu > 0)
    // the second answer only read the item: DynamoDB reports read capacity for it
    assert.deepEqual([second.consumedWcu, second.consumedRcu > 0], [0, true])
    const err = await rejectionOf(
      client.transactWrite([{ put: { table: t, item: { pk: 'other' } } }], { clientRequestToken: token }),
    )
    assert.equal(err.code, 'IdempotentParameterMismatchException')
    assert.equal(err.clientRequestToken, token)
    // without a token, each call is a new transaction (its own generated token)
    const a = await client.transactWrite(add)
    const b = await client.transactWrite(add)
    assert.notEqual(a.clientRequestToken, b.clientRequestToken)
    assert.equal((await rawGet(t, { pk: { S: 'counter' } })).n.N, '3')
  })

  it('concurrent transactions on one item: DynamoDB Local runs them one at a time, so each applies (it never reports TransactionConflict)', async () => {
    const t = await newTable()
    const add = (i) => [
      {
        update: {
          table: t,
          key: { pk: 'hot' },
          updateExpression: 'ADD n :one',
          expressionAttributeValues: { ':one': 1 },
        },
      },
      { put: { table: t, item: { pk: `side${i}` } } },
    ]
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => client.transactWrite(add(i))))
    assert.deepEqual(
      results.map((m) => m.attempts),
      Array(10).fill(1),
    )
    assert.equal((await rawGet(t, { pk: { S: 'hot' } })).n.N, '10')
    assert.equal(await count(t), 11)
  })

  it('a table that does not exist: the service error, nothing applied; a closed client refuses with ClientClosed', async () => {
    const t = await newTable()
    const missing = uniqueTableName('tx-missing')
    const err = await rejectionOf(
      client.transactWrite([{ put: { table: t, item: { pk: 'a' } } }, { put: { table: missing, item: { pk: 'a' } } }]),
    )
    assert.equal(err.code, 'ResourceNotFoundException')
    assert.match(err.clientRequestToken, UUID)
    assert.equal(await count(t), 0)
    await assert.rejects(client.transactGet([{ table: missing, key: { pk: 'a' } }]), {
      code: 'ResourceNotFoundException',
    })
    const closing = new DynamoDBClient(clientOptions(env.local.endpoint))
    await closing.close()
    await assert.rejects(closing.transactWrite([{ put: { table: t, item: { pk: 'a' } } }]), {
      code: 'ClientClosed',
      message: 'the client is closed',
    })
    await assert.rejects(closing.transactGet([{ table: t, key: { pk: 'a' } }]), { code: 'ClientClosed' })
  })

  it('transactGet resolves to an array aligned with its input: items, undefined for missing ones, projections', async () => {
    const users = await newTable()
    const orders = await newTable(ORDERS)
    await client.putItem(users, { pk: 'a', name: 'Ann', tags: new Set(['x']), 'a.b': 1, big: 12345678901234567890n })
    await client.putItem(orders, { id: 2, sk: 's', total: 1.5, raw: Buffer.from([1, 2]) })
    const got = await client.transactGet([
      { table: orders, key: { id: 2, sk: 's' } },
      { table: users, key: { pk: 'missing' } },
      { table: users, key: { pk: 'a' }, projection: ['name', 'a.b', 'name', 'absent'] },
      { table: orders, key: { id: 3, sk: 's' } },
      { table: users, key: { pk: 'b', name: 'a whole item is a key too' } },
    ])
    assert.equal(got.length, 5)
    assert.deepEqual(got[0], { id: 2, sk: 's', total: 1.5, raw: Buffer.from([1, 2]) })
    assert.equal(got[1], undefined)
    assert.deepEqual(got[2], { name: 'Ann', 'a.b': 1 })
    assert.equal(got[3], undefined)
    assert.equal(got[4], undefined)
    assert.deepEqual(await client.transactGet([{ table: users, key: { pk: 'a' } }]), [
      { pk: 'a', name: 'Ann', tags: new Set(['x']), 'a.b': 1, big: new NumberValue('12345678901234567890') },
    ])
    const rec = records.findLast((r) => r.operation === 'TransactGetItems')
    assert.ok(rec.consumedRcu > 0)
    assert.equal(rec.items, 1)

    await refusedBeforeSending(
      client.transactGet([
        { table: users, key: { pk: 'a' } },
        { table: users, key: { pk: 'a' }, projection: ['name'] },
      ]),
      {
        code: 'InvalidArgument',
        message: `gets[1].key: the same item as gets[0] (table "${users}"); DynamoDB refuses two operations on one item in a transaction`,
      },
    )
    await refusedBeforeSending(
      client.transactGet(Array.from({ length: 101 }, (_, i) => ({ table: users, key: { pk: `k${i}` } }))),
      { code: 'InvalidArgument', message: 'gets must be an array of 1 to 100 gets, got 101 gets' },
    )
    await refusedBeforeSending(client.transactGet([{ table: orders, key: { id: 2 } }]), {
      name: 'InvalidItemError',
      code: 'InvalidItem',
      message: 'gets[0].key.sk: missing key attribute (table key schema: id N, sk S)',
      path: 'gets[0].key.sk',
    })
  })

  it('actions, gets and options are judged before sending, with the path in the message', async () => {
    const t = await newTable()
    const ok = { put: { table: t, item: { pk: 'ok' } } }
    const cases = [
      ['x', undefined, 'InvalidArgument', 'actions must be an array of 1 to 100 actions, got "x"'],
      [[], undefined, 'InvalidArgument', 'actions must be an array of 1 to 100 actions, got 0 actions'],
      [
        [ok, null],
        undefined,
        'InvalidArgument',
        'actions[1] must be an object with exactly one of put, delete, update or conditionCheck, got null',
      ],
      [[{}], undefined, 'InvalidArgument', 'actions[0] must have exactly one of put, delete, update or conditionCheck'],
      [
        [{ put: { table: t, item: { pk: 'a' } }, delete: { table: t, key: { pk: 'b' } } }],
        undefined,
        'InvalidArgument',
        'actions[0] has both put and delete; an action has exactly one of put, delete, update or conditionCheck',
      ],
      [
        [{ Put: {} }],
        undefined,
        'InvalidArgument',
        'unknown actions[0] option "Put" (known options: put, delete, update, conditionCheck)',
      ],
      [[{ put: 5 }], undefined, 'InvalidArgument', 'actions[0].put must be an object, got 5'],
      [
        [{ put: { table: t, item: { pk: 'a' }, condition: 'x' } }],
        undefined,
        'InvalidArgument',
        'unknown actions[0].put option "condition" (known options: table, item, conditionExpression, expressionAttributeNames, expressionAttributeValues)',
      ],
      [
        [{ put: { item: { pk: 'a' } } }],
        undefined,
        'InvalidArgument',
        'actions[0].put.table must be a non-empty string, got undefined',
      ],
      [
        [{ delete: { table: '', key: { pk: 'a' } } }],
        undefined,
        'InvalidArgument',
        'actions[0].delete.table must be a non-empty string',
      ],
      [
        [ok, { delete: { table: t } }],
        undefined,
        'InvalidItem',
        'actions[1].delete.key: must be an object (a plain object or a Map), got undefined',
      ],
      [
        [ok, ok, ok, { put: { table: t, item: { pk: 'a', tags: ['x', undefined] } } }],
        undefined,
        'InvalidItem',
        'actions[3].put.item.tags[1]: undefined is not allowed (set removeUndefinedValues to drop it)',
      ],
      [
        [{ update: { table: t, key: { pk: 'a' } } }],
        undefined,
        'InvalidArgument',
        'actions[0].update.updateExpression must be a string, got undefined',
      ],
      [
        [{ update: { table: t, key: { pk: 'a' }, updateExpression: 7 } }],
        undefined,
        'InvalidArgument',
        'actions[0].update.updateExpression must be a string, got 7',
      ],
      [
        [{ conditionCheck: { table: t, key: { pk: 'a' } } }],
        undefined,
        'InvalidArgument',
        'actions[0].conditionCheck.conditionExpression must be a string, got undefined',
      ],
      [
        [
          {
            put: { table: t, item: { pk: 'a' }, conditionExpression: '#a = :v', expressionAttributeNames: { '#a': 1 } },
          },
        ],
        undefined,
        'InvalidItem',
        'actions[0].put.expressionAttributeNames["#a"]: must be a string, got N',
      ],
      [
        [
          {
            delete: {
              table: t,
              key: { pk: 'a' },
              conditionExpression: 'v = :v',
              expressionAttributeValues: { ':v': NaN },
            },
          },
        ],
        undefined,
        'InvalidItem',
        'actions[0].delete.expressionAttributeValues[":v"]: NaN is not a valid DynamoDB number',
      ],
      [
        [ok],
        { token: 'x' },
        'InvalidArgument',
        'unknown transactWrite option "token" (known options: clientRequestToken, returnValuesOnConditionCheckFailure, retryConflicts)',
      ],
      [[ok], { clientRequestToken: '' }, 'InvalidArgument', 'clientRequestToken must be a non-empty string, got ""'],
      [
        [ok],
        { clientRequestToken: 'x'.repeat(37) },
        'InvalidArgument',
        'clientRequestToken must be a string of 1 to 36 characters, got 37 characters',
      ],
      [
        [ok],
        { returnValuesOnConditionCheckFailure: 'ALL_NEW' },
        'InvalidArgument',
        "returnValuesOnConditionCheckFailure must be 'ALL_OLD' or 'NONE', got \"ALL_NEW\"",
      ],
      [[ok], { retryConflicts: 'yes' }, 'InvalidArgument', 'retryConflicts must be a boolean, got "yes"'],
      [[ok], 'options', 'InvalidArgument', 'transactWrite options must be an object, got "options"'],
    ]
    for (const [actions, options, code, message] of cases) {
      await refusedBeforeSending(client.transactWrite(actions, options), (err) => {
        assert.equal(err.code, code, message)
        assert.equal(err.message, message)
        assert.ok(code === 'InvalidItem' ? err instanceof InvalidItemError : err instanceof TypeError)
        return true
      })
    }
    const sparse = [ok, ok]
    delete sparse[0]
    await refusedBeforeSending(client.transactWrite(sparse), {
      code: 'InvalidArgument',
      message: 'actions[0] must be an object with exactly one of put, delete, update or conditionCheck, got undefined',
    })
    // key schema errors come once the table's schema is known (DescribeTable), still before sending
    await refusedBeforeSending(client.transactWrite([ok, { delete: { table: t, key: { pk: 1 } } }]), {
      code: 'InvalidItem',
      message: 'actions[1].delete.key.pk: key attribute must be of type S, got N',
      path: 'actions[1].delete.key.pk',
    })
    const gets = [
      [
        [{ table: t, key: { pk: 'a' }, projection: [] }],
        undefined,
        'gets[0].projection must be a non-empty array of attribute names, got an empty array',
      ],
      [
        [{ table: t, key: { pk: 'a' }, projection: 'name' }],
        undefined,
        'gets[0].projection must be a non-empty array of attribute names, got "name"',
      ],
      [
        [{ table: t, key: { pk: 'a' }, projection: ['a', 1] }],
        undefined,
        'gets[0].projection[1] must be a non-empty string, got 1',
      ],
      [
        [{ table: t, key: { pk: 'a' }, consistentRead: true }],
        undefined,
        'unknown gets[0] option "consistentRead" (known options: table, key, projection)',
      ],
      [
        [{ table: t, key: { pk: 'a' } }, 'x'],
        undefined,
        'gets[1] must be an object { table, key, projection? }, got "x"',
      ],
      [[{ table: t, key: { pk: 'a' } }], { retryConflicts: 1 }, 'retryConflicts must be a boolean, got 1'],
      [
        [{ table: t, key: { pk: 'a' } }],
        { clientRequestToken: 'x' },
        'unknown transactGet option "clientRequestToken" (known options: retryConflicts)',
      ],
    ]
    for (const [list, options, message] of gets) {
      await refusedBeforeSending(client.transactGet(list, options), { code: 'InvalidArgument', message })
    }
  })
})

// ---------------------------------------------------------------------------------------------------------

describe('transactions under faults (fault server)', () => {
  const TABLES = { t: { partitionKey: { name: 'pk', type: 'S' } }, u: { partitionKey: { name: 'pk', type: 'S' } } }
  let fsrv
  before(async () => {
    fsrv = await startFaultServer({ tables: TABLES })
  })
  after(() => fsrv.close())
  const setup = (faults) => {
    fsrv.reset()
    fsrv.setFaults({
      throttleRate: 0,
      lostAnswerRate: 0,
      transactHoldMs: 0,
      faultOps: ['TransactWriteItems'],
      ...faults,
    })
  }
  const puts = (t, key) =>
    (fsrv.stats.history.get(fsrv.keyOf(t, { pk: { S: key } })) || []).filter((h) => h.op === 'put' && h.table === t)

  it('throttling is retried with the same client request token, and the transaction applies once', async () => {
    // seed 8: the fault dice draw 0.156 then 0.625, so throttleRate 0.5 throttles the first attempt only
    const f = await startFaultServer({
      tables: TABLES,
      seed: 8,
      faults: { faultOps: ['TransactWriteItems'], throttleRate: 0.5 },
    })
    try {
      const c = new DynamoDBClient({ ...clientOptions(f.endpoint), maxAttempts: 3 })
      const m = await c.transactWrite([
        { put: { table: 't', item: { pk: 'a', v: 1 } } },
        { put: { table: 'u', item: { pk: 'b', pad: 'x'.repeat(1500) } } },
      ])
      assert.equal(m.attempts, 2)
      assert.deepEqual(
        f.stats.requestLog.filter((r) => r.op === 'TransactWriteItems').map((r) => r.outcome),
        ['throttled', 'ok'],
      )
      assert.deepEqual(f.stats.transactTokens, [m.clientRequestToken, m.clientRequestToken])
      assert.deepEqual(m.tables, { t: { consumedWcu: 2, consumedRcu: 0 }, u: { consumedWcu: 4, consumedRcu: 0 } })
      assert.equal(m.consumedWcu, 6)
      assert.equal(f.stats.transactions, 1)
      assert.deepEqual(f.table('t').get({ pk: { S: 'a' } }), { pk: { S: 'a' }, v: { N: '1' } })
      assert.deepEqual(
        [c.metrics.requests, c.metrics.throttles, c.metrics.retries, c.metrics.itemsWritten],
        [4, 1, 1, 2],
        'two DescribeTable, two attempts',
      )
    } finally {
      await f.close()
    }
  })

  it('throttled until maxAttempts ran out: rejects with the service code and the token, nothing applied', async () => {
    setup({ throttleRate: 1 })
    const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 3 })
    const err = await rejectionOf(
      c.transactWrite([{ put: { table: 't', item: { pk: 'a' } } }], { clientRequestToken: 'tok-throttled' }),
    )
    assert.equal(err.code, 'ProvisionedThroughputExceededException')
    assert.equal(err.clientRequestToken, 'tok-throttled')
    assert.equal(err.reasons, undefined)
    assert.deepEqual(fsrv.stats.transactTokens, ['tok-throttled', 'tok-throttled', 'tok-throttled'])
    assert.equal(fsrv.table('t').size, 0)
    assert.deepEqual([c.metrics.throttles, c.metrics.retries, c.metrics.itemsFailed], [3, 2, 1])
  })

  it('an answer lost after the transaction applied: the retry carries the same token, so it is not applied twice', async () => {
    const f = await startFaultServer({
      tables: TABLES,
      seed: 8,
      faults: { faultOps: ['TransactWriteItems'], lostAnswerRate: 0.5 },
    })
    try {
      const c = new DynamoDBClient({ ...clientOptions(f.endpoint), maxAttempts: 3 })
      const m = await c.transactWrite([{ put: { table: 't', item: { pk: 'once' } } }])
      assert.equal(m.attempts, 2)
      assert.deepEqual([f.stats.lostAnswers, f.stats.transactions, f.stats.idempotentReplays], [1, 1, 1])
      assert.deepEqual(f.stats.transactTokens, [m.clientRequestToken, m.clientRequestToken])
      assert.equal(f.table('t').history({ pk: { S: 'once' } }).length, 1, 'applied once')
    } finally {
      await f.close()
    }
  })

  it('TransactionInProgressException is retried with the same token until the first attempt has finished', async () => {
    setup({ transactHoldMs: 1000 })
    // the first attempt times out while the server still holds it; the next ones find it in progress
    const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 30, requestTimeoutMs: 200 })
    const m = await c.transactWrite([{ put: { table: 't', item: { pk: 'slow' } } }])
    const outcomes = fsrv.stats.requestLog.filter((r) => r.op === 'TransactWriteItems').map((r) => r.outcome)
    assert.ok(outcomes.includes('TransactionInProgressException'), outcomes.join())
    assert.ok(m.attempts >= 3)
    assert.deepEqual(new Set(fsrv.stats.transactTokens), new Set([m.clientRequestToken]))
    assert.deepEqual([fsrv.stats.transactions, fsrv.stats.idempotentReplays], [1, 1])
    assert.equal(puts('t', 'slow').length, 1)
    // the answer came from the token's replay, which reads
    assert.deepEqual(m.tables, { t: { consumedWcu: 0, consumedRcu: 2 } })
  })

  it('a conflict between two concurrent transactions on one item: TransactionConflict at its position, not retried unless asked', async () => {
    setup({ transactHoldMs: 500 })
    const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 20 })
    const first = c.transactWrite([{ put: { table: 't', item: { pk: 'x', by: 'first' } } }])
    await until(() => fsrv.stats.requests.TransactWriteItems === 1) // the first holds x
    const second = [
      { put: { table: 'u', item: { pk: 'y' } } },
      { put: { table: 't', item: { pk: 'x', by: 'second' } } },
    ]
    const err = await rejectionOf(c.transactWrite(second))
    assert.equal(err.code, 'TransactionCanceled')
    assert.equal(
      err.message,
      'transaction cancelled: actions[1].put: TransactionConflict (Transaction is ongoing for the item)',
    )
    assert.deepEqual(err.reasons, [
      NOT_THE_CAUSE,
      { code: 'TransactionConflict', message: 'Transaction is ongoing for the item' },
    ])
    assert.equal(fsrv.stats.requests.TransactWriteItems, 2, 'not retried')
    await first
    assert.equal(fsrv.table('t').get({ pk: { S: 'x' } }).by.S, 'first')
    assert.equal(fsrv.table('u').size, 0)

    // retryConflicts: true: retried (same token) until the first has committed, then applied after it
    const again = c.transactWrite([{ put: { table: 't', item: { pk: 'x', by: 'third' } } }])
    await until(() => fsrv.stats.requests.TransactWriteItems === 3)
    const m = await c.transactWrite(second, { retryConflicts: true })
    await again
    assert.ok(m.attempts >= 2)
    assert.deepEqual(
      puts('t', 'x').map((h) => h.item.by.S),
      ['first', 'third', 'second'],
    )
    assert.equal(puts('u', 'y').length, 1)
    const tokens = fsrv.stats.transactTokens.slice(3)
    assert.deepEqual(new Set(tokens), new Set([m.clientRequestToken]))
    assert.equal(tokens.length, m.attempts)
  })

  it('transactGet: a read cancelled by a conflict is retried by default; with retryConflicts: false its reasons are aligned with the gets', async () => {
    setup({ transactHoldMs: 500 })
    const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 20 })
    await c.transactWrite([{ put: { table: 'u', item: { pk: 'z', v: 0 } } }])
    const write = c.transactWrite([{ put: { table: 'u', item: { pk: 'z', v: 1 } } }])
    await until(() => fsrv.stats.requests.TransactWriteItems === 2)
    const err = await rejectionOf(
      c.transactGet(
        [
          { table: 't', key: { pk: 'none' } },
          { table: 'u', key: { pk: 'z' } },
        ],
        { retryConflicts: false },
      ),
    )
    assert.equal(err.code, 'TransactionCanceled')
    assert.equal(
      err.message,
      'transaction cancelled: gets[1]: TransactionConflict (Transaction is ongoing for the item)',
    )
    assert.deepEqual(err.reasons, [
      NOT_THE_CAUSE,
      { code: 'TransactionConflict', message: 'Transaction is ongoing for the item' },
    ])
    assert.equal(err.clientRequestToken, undefined)
    const got = await c.transactGet([
      { table: 't', key: { pk: 'none' } },
      { table: 'u', key: { pk: 'z' } },
    ])
    await write
    assert.deepEqual(got, [undefined, { pk: 'z', v: 1 }], 'read once the write committed')
    assert.ok(fsrv.stats.requests.TransactGetItems >= 3)
  })
})
