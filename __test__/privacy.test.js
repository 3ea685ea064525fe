'use strict'
// Item contents never reach messages or logs (issue 10 item 6): messages name the path, the type and the
// rule, not the value; an SDK error's debug form (which prints the whole request) is never a message; an
// endpoint without a scheme is refused at construction; a service's message, which may echo what it was
// sent, is not logged. Every item below carries a marker value; every message and every log line (the
// client's and the writer's loggers, the CLI's stderr) is searched for it.

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { DynamoDBClient, BatchWriter, BatchWriteError, NumberValue } = require('dynabatch')
const { startFaultServer, DEFAULT_FAULTS } = require('./helpers/fault-server.js')
const { clientOptions } = require('./helpers/dynalite.js')
const { runChild, dummyAwsEnv } = require('./helpers/run-child.js')

const KEY = { partitionKey: { name: 'pk', type: 'S' } }
const CARD = 4111111111111111000 // the example: outside the safe integers
const CARD_DIGITS = '4111111111111111' // any run of its digits in a message is a leak
const SSN = '123-45-6789'

let server
before(async () => {
  server = await startFaultServer({ tables: { t: KEY } })
})
after(() => server.close())
beforeEach(() => {
  server.reset()
  server.setFaults({ ...DEFAULT_FAULTS })
})

function capture() {
  const lines = []
  const logger = {}
  for (const level of ['debug', 'info', 'warn', 'error']) logger[level] = (l) => lines.push(`${level}: ${l}`)
  return { lines, logger }
}

/** No text in `texts` holds any of the secrets. */
function assertClean(texts, secrets, what) {
  for (const t of texts) {
    for (const s of secrets) assert.ok(!String(t).includes(s), `${what} holds ${JSON.stringify(s)}: ${t}`)
  }
}

const rejection = (p) =>
  p.then(
    () => assert.fail('should reject'),
    (e) => e,
  )

describe('no item contents in messages and logs (issue 10 item 6)', () => {
  it('InvalidItem: a number outside the safe integers is named by path and rule, not by value', async () => {
    const { lines, logger } = capture()
    const client = new DynamoDBClient({ ...clientOptions(server.endpoint), logger })
    const e = await rejection(client.putItem('t', { pk: 'a', card: CARD }))
    assert.equal(e.code, 'InvalidItem')
    assert.match(e.message, /^item\.card: /)
    assertClean([e.message, e.stack, ...lines], [CARD_DIGITS], 'putItem')
    // The writer: the put's rejection, the flush's BatchWriteError and failed[], and both loggers.
    const w = capture()
    const writer = new BatchWriter(client, 't', { keySchema: KEY, logger: w.logger })
    const pe = await rejection(writer.put({ pk: 'b', card: CARD }))
    assert.equal(pe.code, 'InvalidItem')
    const fe = await rejection(writer.close())
    assert.ok(fe instanceof BatchWriteError)
    assert.equal(fe.failed[0].path, 'item.card')
    assert.ok(w.lines.some((l) => l.startsWith('error: ')), 'the failure was logged')
    assertClean([pe.message, fe.message, ...fe.failed.map((f) => f.message), ...lines, ...w.lines], [CARD_DIGITS], 'the writer')
  })

  it('InvalidItem: other rules name the place and the rule, never the value', async () => {
    const client = new DynamoDBClient(clientOptions(server.endpoint))
    const secret = 'S3CR3T'
    const cases = [
      { pk: 'a', s: new Set([secret, 7]) }, // mixed set
      { pk: secret.repeat(400) }, // key too long
      { pk: 7_000_000_123 }, // key of the wrong type
      { pk: 'a', n: Number.NaN, other: secret },
      { pk: 'a', big: 10n ** 130n * 7_000_000_123n }, // too large
      { pk: 'a', m: new Map([[7_000_000_123, secret]]) }, // a Map key that is not a string
      { pk: 'a', list: [secret, undefined] },
      { pk: 'a', d: new Date(7_000_000_123) },
      { pk: 'a', lone: `${secret}\ud800` },
      { pk: 'a', blob: secret.repeat(120_000) }, // over 400 KB
    ]
    for (const item of cases) {
      const e = await rejection(client.putItem('t', item))
      assert.equal(e.code, 'InvalidItem', e.message)
      assertClean([e.message], [secret, '7000000123'], `putItem ${e.message.slice(0, 40)}`)
    }
    const cond = await rejection(
      client.putItem('t', { pk: 'a' }, { conditionExpression: 'v = :v', expressionAttributeValues: { ':v': CARD } }),
    )
    assert.equal(cond.code, 'InvalidItem')
    assertClean([cond.message], [CARD_DIGITS], 'a condition value')
  })

  it('NumberValue: a text that is not a DynamoDB number, and toBigInt of a fraction, name no value', () => {
    const e = (() => {
      try {
        // eslint-disable-next-line no-new
        new NumberValue(SSN)
      } catch (err) {
        return err
      }
      return assert.fail('should throw')
    })()
    assert.equal(e.code, 'InvalidItem')
    assertClean([e.message], [SSN], 'NumberValue')
    // A NumberValue is how dynabatch returns stored numbers: its value is item contents.
    const stored = new NumberValue('4111111111.25')
    assert.throws(() => stored.toBigInt(), (err) => err instanceof RangeError && !err.message.includes('4111111111'))
  })

  it('an endpoint without a scheme is refused at construction, whatever its form', () => {
    for (const endpoint of ['localhost:8000', '127.0.0.1:8000', 'dynamodb.us-east-1.amazonaws.com', '//localhost:8000']) {
      assert.throws(() => new DynamoDBClient({ ...clientOptions(server.endpoint), endpoint }), { code: 'InvalidArgument' }, endpoint)
    }
  })

  it('a scheme-less endpoint from the environment fails with a message that holds no request', () => {
    // AWS_ENDPOINT_URL_DYNAMODB is read by the AWS configuration chain, past the constructor's check.
    const script = `
      const { DynamoDBClient, BatchWriter } = require(${JSON.stringify(path.join(__dirname, '..', 'index.js'))})
      const c = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 })
      const out = []
      c.putItem('t', { pk: 'a', ssn: ${JSON.stringify(SSN)} })
        .catch((e) => out.push(e.code, e.message))
        .then(async () => {
          const w = new BatchWriter(c, 't', { keySchema: { partitionKey: 'pk' }, maxRetries: 0 })
          w.put({ pk: 'b', ssn: ${JSON.stringify(SSN)} })
          await w.close().catch((e) => out.push(e.code, e.message, ...e.failed.map((f) => f.message)))
          console.log(JSON.stringify(out))
        })`
    const env = { ...process.env, AWS_ENDPOINT_URL_DYNAMODB: 'localhost:8000', AWS_EC2_METADATA_DISABLED: 'true' }
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }))
    assert.equal(out[0], 'Network')
    assert.equal(out[2], 'BatchWriteFailed')
    assertClean(out, [SSN, '"ssn"', 'PutItem {', 'HttpRequest'], 'the messages')
  })

  it('network errors and unreadable answers hold no request', async () => {
    const { lines, logger } = capture()
    const down = new DynamoDBClient({ ...clientOptions('http://127.0.0.1:1'), maxAttempts: 1, logger })
    const e = await rejection(down.putItem('t', { pk: 'a', ssn: SSN }))
    assert.equal(e.code, 'Network')
    const w = new BatchWriter(down, 't', { keySchema: KEY, maxRetries: 0 })
    w.put({ pk: 'b', ssn: SSN })
    const fe = await rejection(w.close())
    assert.equal(fe.failed[0].reason, 'Network')
    const client = new DynamoDBClient({ ...clientOptions(server.endpoint), maxAttempts: 1, logger })
    const answers = []
    // A proxy or a broken server answering with the request it received, as 200, 500 and 400 bodies.
    for (const status of [200, 500, 400]) {
      server.setFaults({ failOps: { PutItem: { status, body: (input) => `<html>${JSON.stringify(input)}</html>` } } })
      answers.push(await rejection(client.putItem('t', { pk: 'c', ssn: SSN })))
    }
    assertClean(
      [e.message, fe.message, ...fe.failed.map((f) => f.message), ...answers.map((a) => a.message), ...lines],
      [SSN, '"ssn"'],
      'the messages and logs',
    )
  })

  it("a service message that echoes the item is not logged (the client's and the writer's loggers)", async () => {
    const { lines, logger } = capture()
    const echo = (input) => `bad request: ${JSON.stringify(input)}`
    server.setFaults({ failOps: { PutItem: { code: 'ValidationException', message: echo }, BatchWriteItem: { code: 'ValidationException', message: echo } } })
    const client = new DynamoDBClient({ ...clientOptions(server.endpoint), logger })
    await rejection(client.putItem('t', { pk: 'a', ssn: SSN }))
    const w = capture()
    const writer = new BatchWriter(client, 't', { keySchema: KEY, logger: w.logger })
    writer.put({ pk: 'b', ssn: SSN })
    const fe = await rejection(writer.close())
    assert.equal(fe.failed[0].reason, 'ValidationException')
    assert.ok(lines.length > 0 && w.lines.length > 0, 'something was logged')
    assertClean([...lines, ...w.lines], [SSN], 'the logs')
  })
})

describe('the CLI prints no item contents', () => {
  let dir
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-privacy-'))
  })
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  async function cli(file, format) {
    const failedOut = path.join(dir, `${format}.failed.jsonl`)
    const args = [path.join(__dirname, '..', 'bin', 'dynabatch.js'), 'import', file, '--table', 't', '--format', format]
    args.push('--endpoint', server.endpoint, '--region', 'us-east-1', '--failed-out', failedOut)
    const { code, stderr } = await runChild(process.execPath, args, { env: dummyAwsEnv() })
    const dead = fs.readFileSync(failedOut, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    return { code, stderr, dead }
  }

  // Bad lines, each holding the secret: the dead-letter file keeps the item (that is its job), but the
  // messages (stderr and each record's "message") must not.
  // The loader's messages say where and what kind of mistake (JSON.parse's own message may quote the line;
  // a DynamoDB JSON value is described by its type and length).

  it('json lines: lines that are not JSON, a number out of range', async () => {
    const file = path.join(dir, 'in.jsonl')
    const lines = [`{"pk":"a","ssn":"${SSN}","ok":tru}`, `ssn ${SSN}`, `{"pk":"b","card":1e400,"ssn":"${SSN}"}`, `{"pk":"c"}`]
    fs.writeFileSync(file, lines.join('\n') + '\n')
    const r = await cli(file, 'json')
    assert.equal(r.code, 1)
    assert.equal(r.dead.length, 3)
    assertClean([r.stderr, ...r.dead.map((d) => d.message)], [SSN, '1e400'], 'the CLI')
  })

  it('ddb-json: invalid number text, a number not given as text, invalid base64', async () => {
    const file = path.join(dir, 'in.ddb.jsonl')
    fs.writeFileSync(
      file,
      [
        `{"pk":{"S":"a"},"ssn":{"N":"${SSN}"}}`,
        `{"pk":{"S":"b"},"acct":{"N":7000000123}}`,
        `{"pk":{"S":"c"},"blob":{"B":"S3CR3T!!"}}`,
        `{"pk":{"S":"d"},"odd":{"X":"S3CR3T"}}`,
        `{"pk":{"S":"e"}}`,
      ].join('\n') + '\n',
    )
    const r = await cli(file, 'ddb-json')
    assert.equal(r.code, 1)
    assert.equal(r.dead.length, 4)
    assertClean([r.stderr, ...r.dead.map((d) => d.message)], [SSN, '7000000123', 'S3CR3T'], 'the CLI')
  })
})
