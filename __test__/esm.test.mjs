// The ESM entry: the same objects as the CommonJS entry, and a working client.

import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { DynamoDBClient, BatchWriter, withBatch, NumberValue, BatchWriteError, FixedRate, AdaptiveRate } from 'dynabatch'
import * as esm from 'dynabatch'

const require = createRequire(import.meta.url)
const cjs = require('dynabatch')
const { startDynalite, clientOptions, uniqueTableName } = require('./helpers/dynalite.js')

describe('ESM entry', () => {
  let dyn
  before(async () => {
    dyn = await startDynalite()
  })
  after(() => dyn.close())

  it('exports the very objects of the CommonJS entry', () => {
    const named = { DynamoDBClient, BatchWriter, withBatch, NumberValue, BatchWriteError, FixedRate, AdaptiveRate }
    for (const [name, value] of Object.entries(named)) {
      assert.equal(typeof value, 'function', name)
      assert.equal(value, cjs[name], name)
      assert.equal(esm[name], cjs[name], name)
    }
    for (const name of ['DynabatchError', 'InvalidItemError', 'SuppressedError']) assert.equal(esm[name], cjs[name], name)
    assert.equal(esm.default, cjs)
  })

  it('a put/get round trip works, with the classes interoperating across entries', async () => {
    const client = new DynamoDBClient(clientOptions(dyn.endpoint))
    assert.ok(client instanceof cjs.DynamoDBClient)
    const t = uniqueTableName('esm')
    const created = await client.createTable(t, { partitionKey: { name: 'pk', type: 'S' } })
    assert.equal(created.status, 'ACTIVE')
    const m = await client.putItem(t, { pk: 'esm', n: new NumberValue('0.1000000000000000000001'), list: [1, 'a'] })
    assert.equal(m.operation, 'PutItem')
    assert.equal(m.attempts, 1)
    assert.deepEqual(await client.getItem(t, { pk: 'esm' }), {
      pk: 'esm',
      n: new cjs.NumberValue('0.1000000000000000000001'),
      list: [1, 'a'],
    })
    // a writer from the CommonJS entry accepts the ESM client
    const r = await cjs.withBatch(client, t, (b) => b.put({ pk: 'batch', v: 2 }))
    assert.equal(r.putsWritten, 1)
    assert.deepEqual(await client.getItem(t, { pk: 'batch' }), { pk: 'batch', v: 2 })
  })
})
