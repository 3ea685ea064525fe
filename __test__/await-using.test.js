'use strict'
// `await using` with a BatchWriter. Where the runtime parses the syntax (Node 24), the blocks of
// helpers/await-using-blocks.js run for real: the writer is flushed and closed at block exit, a block's error
// survives the flush, and a failed final flush under a block's error is the native SuppressedError. On every
// version, the explicit call that the syntax makes (`[Symbol.asyncDispose]()`, the Node 20 and 22 path).

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const dynabatch = require('dynabatch')
const { DynamoDBClient, BatchWriter, BatchWriteError } = dynabatch
const { startDynalite, clientOptions, uniqueTableName, countItems } = require('./helpers/dynalite.js')
const { startFaultServer, DEFAULT_FAULTS } = require('./helpers/fault-server.js')

function parses(source) {
  try {
    new Function(source) // eslint-disable-line no-new-func
    return true
  } catch {
    return false
  }
}
const SYNTAX = parses('return async () => { await using x = null }')
const NO_SYNTAX = `Node ${process.version} cannot parse \`await using\`; npm run test:node-matrix runs this under Node 24`

const KEY = { partitionKey: { name: 'pk', type: 'S' } }
const items = (n, tag) => Array.from({ length: n }, (_, i) => ({ pk: `${tag}#${i}`, n: i, tags: [tag] }))

let dyn
let client
let faults // a fault server whose BatchWriteItem answers are all throttling errors
let faultClient

before(async () => {
  dyn = await startDynalite()
  client = new DynamoDBClient(clientOptions(dyn.endpoint))
  faults = await startFaultServer({ tables: { t: KEY }, faults: { throttleRate: 1 } })
  faultClient = new DynamoDBClient(clientOptions(faults.endpoint))
})
after(async () => {
  await dyn.close()
  await faults.close()
})
beforeEach(() => {
  faults.reset()
  faults.setFaults({ ...DEFAULT_FAULTS, throttleRate: 1 })
})

async function newTable() {
  const t = uniqueTableName('using')
  await client.createTable(t, KEY)
  return t
}
// With no retries, every item of the final flush fails at once (reason Throttled).
const FAILING = { maxRetries: 0, keySchema: KEY }

describe('await using (the native syntax)', { skip: SYNTAX ? false : NO_SYNTAX }, () => {
  const blocks = SYNTAX ? require('./helpers/await-using-blocks.js') : null

  it('flushes and closes the writer when the block exits', async () => {
    const table = await newTable()
    const written = items(60, 'ok')
    const writer = await blocks.putInBlock(client, table, written)
    assert.equal(writer.closed, true)
    assert.equal(writer.metrics.putsWritten, 60)
    assert.equal(await countItems(dyn.endpoint, table), 60)
    assert.deepEqual(await client.getItem(table, { pk: 'ok#59' }), written[59])
    await assert.rejects(writer.put({ pk: 'late' }), { code: 'WriterClosed' })
  })

  it('a block that throws after its puts still flushes them, then rethrows its own error', async () => {
    const table = await newTable()
    const written = items(40, 'thrown')
    const boom = new Error('the block failed')
    let writer
    await assert.rejects(
      blocks.putThenThrow(client, table, written, boom, undefined, (w) => (writer = w)),
      (e) => e === boom,
    )
    assert.equal(writer.closed, true)
    assert.equal(await countItems(dyn.endpoint, table), 40)
    assert.deepEqual(await client.getItem(table, { pk: 'thrown#0' }), written[0])
  })

  it('a block that throws while the final flush fails rejects with the native SuppressedError', async () => {
    const sent = items(30, 'sup')
    const boom = new Error('the block failed')
    let writer
    const err = await blocks
      .putThenThrow(faultClient, 't', sent, boom, FAILING, (w) => (writer = w))
      .then(
        () => assert.fail('the block resolved'),
        (e) => e,
      )
    assert.equal(typeof globalThis.SuppressedError, 'function')
    assert.equal(err.constructor, globalThis.SuppressedError) // the runtime's, not dynabatch's fallback
    assert.equal(dynabatch.SuppressedError, globalThis.SuppressedError)
    assert.equal(err.suppressed, boom)
    assert.ok(err.error instanceof BatchWriteError)
    assert.equal(err.error.code, 'BatchWriteFailed')
    assert.equal(err.error.failed.length, sent.length)
    for (const [i, f] of err.error.failed.entries()) {
      assert.equal(f.operation, 'put')
      assert.equal(f.reason, 'Throttled')
      assert.equal(
        f.item,
        sent.find((s) => s.pk === f.item.pk),
        `failure ${i} carries the very object put`,
      )
    }
    assert.deepEqual(new Set(err.error.failed.map((f) => f.item.pk)), new Set(sent.map((s) => s.pk)))
    assert.equal(writer.closed, true)
    assert.equal(faults.table('t').size, 0)
    assert.ok(faults.stats.throttled > 0)
  })

  it('a block that exits normally while the final flush fails rejects with the BatchWriteError itself', async () => {
    const sent = items(5, 'plain')
    const err = await blocks.putInBlock(faultClient, 't', sent, FAILING).then(
      () => assert.fail('the block resolved'),
      (e) => e,
    )
    assert.ok(err instanceof BatchWriteError)
    assert.deepEqual(
      err.failed.map((f) => f.reason),
      Array(5).fill('Throttled'),
    )
  })
})

describe('[Symbol.asyncDispose]() called explicitly (what the syntax does; the Node 20 and 22 path)', () => {
  it('flushes what was accepted, closes the writer and resolves to undefined', async () => {
    const table = await newTable()
    const writer = new BatchWriter(client, table)
    const written = items(30, 'explicit')
    for (const item of written) writer.put(item)
    assert.equal(typeof Symbol.asyncDispose, 'symbol')
    assert.equal(await writer[Symbol.asyncDispose](), undefined)
    assert.equal(writer.closed, true)
    assert.equal(await countItems(dyn.endpoint, table), 30)
    assert.deepEqual(await client.getItem(table, { pk: 'explicit#29' }), written[29])
    assert.equal(await writer[Symbol.asyncDispose](), undefined) // idempotent, like close()
  })

  it('rejects with the BatchWriteError when the final flush fails, and leaves the writer closed', async () => {
    const writer = new BatchWriter(faultClient, 't', FAILING)
    const sent = items(3, 'explicit-fail')
    for (const item of sent) writer.put(item)
    await assert.rejects(writer[Symbol.asyncDispose](), (e) => {
      assert.ok(e instanceof BatchWriteError)
      assert.deepEqual(
        e.failed.map((f) => f.item),
        sent,
      )
      return true
    })
    assert.equal(writer.closed, true)
    await assert.rejects(writer.put({ pk: 'late' }), { code: 'WriterClosed' })
  })
})
