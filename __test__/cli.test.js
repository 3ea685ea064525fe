'use strict'
// The `dynabatch` command-line loader, run as a child process against dynalite and the fault server.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { DynamoDBClient, NumberValue } = require('dynabatch')
const { startDynalite, clientOptions, uniqueTableName, countItems } = require('./helpers/dynalite.js')
const { startFaultServer } = require('./helpers/fault-server.js')
const { parseJsonLine, parseDdbJsonLine, toDdbJsonItem } = require('../lib/cli/items.js')

const BIN = path.join(__dirname, '..', 'bin', 'dynabatch.js')
const ENV = { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' }

let dir
let server
let client
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-cli-'))
  server = await startDynalite()
  client = new DynamoDBClient(clientOptions(server.endpoint))
})
after(async () => {
  await server.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

function run(args, { onSpawn, env = ENV } = {}) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    if (onSpawn) onSpawn(p)
    p.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

function writeLines(name, lines) {
  const f = path.join(dir, name)
  fs.writeFileSync(f, lines.join('\n') + '\n')
  return f
}

describe('line formats', () => {
  it('plain JSON keeps numbers a double cannot hold', () => {
    const v = parseJsonLine('{"a":12345678901234567890,"b":0.1000000000000000000001,"c":1.5,"d":"12345678901234567890","e":-42}')
    assert.ok(v.a instanceof NumberValue)
    assert.equal(v.a.toString(), '12345678901234567890')
    assert.equal(v.b.toString(), '0.1000000000000000000001')
    assert.equal(v.c, 1.5)
    assert.equal(v.d, '12345678901234567890')
    assert.equal(v.e, -42)
  })

  it('DynamoDB JSON, the S3 export wrapper, and dead-letter records', () => {
    const item = { pk: { S: 'a' }, n: { N: '12345678901234567890' }, b: { B: 'aGk=' }, ss: { SS: ['x'] }, ns: { NS: ['1'] }, m: { M: { l: { L: [{ BOOL: true }, { NULL: true }] } } } }
    const v = parseDdbJsonLine(JSON.stringify(item))
    assert.equal(v.pk, 'a')
    assert.equal(v.n.toString(), '12345678901234567890')
    assert.equal(v.b.toString(), 'hi')
    assert.deepEqual(v.ss, new Set(['x']))
    assert.deepEqual(v.m, { l: [true, null] })
    assert.deepEqual(parseDdbJsonLine(JSON.stringify({ Item: { pk: { S: 'b' } } })), { pk: 'b' })
    assert.deepEqual(parseDdbJsonLine(JSON.stringify({ line: 3, reason: 'X', item: { pk: { S: 'c' } } })), { pk: 'c' })
    assert.deepEqual(toDdbJsonItem({ pk: 'a', n: 1, s: new Set([1, 2]), b: Buffer.from('hi') }), {
      pk: { S: 'a' },
      n: { N: '1' },
      s: { NS: ['1', '2'] },
      b: { B: 'aGk=' },
    })
  })
})

describe('dynabatch import / delete', () => {
  it('imports a JSON Lines file with --create-table and prints a JSON summary', async () => {
    const table = uniqueTableName('cli')
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ pk: `u${i}`, sk: i % 7, name: `n${i}`, big: 1 }))
    lines[5] = lines[5].replace('"big":1', '"big":98765432109876543210')
    const file = writeLines('users.jsonl', lines)
    const r = await run(['import', file, '--table', table, '--create-table', 'pk:S,sk:N', '--endpoint', server.endpoint, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout)
    assert.equal(s.read, 3000)
    assert.equal(s.written, 3000)
    assert.equal(s.failed, 0)
    assert.equal(s.failedOut, null)
    assert.equal(s.requests, 120)
    assert.equal(await countItems(server.endpoint, table), 3000)
    const got = await client.getItem(table, { pk: 'u5', sk: 5 })
    assert.equal(got.big.toString(), '98765432109876543210')
    assert.ok(!fs.existsSync(`${file}.failed.jsonl`))
  })

  it('reports bad lines with their line numbers in the dead-letter file, writes the rest, exits 1', async () => {
    const table = uniqueTableName('cli')
    await client.createTable(table, { partitionKey: { name: 'pk', type: 'S' } })
    const file = writeLines('bad.jsonl', [
      '{"pk":"a"}',
      '{"pk": broken',
      '{"pk":"b"}',
      '{"pk":5}',
      '',
      '{"pk":"c","x":[1,{"y":null}]}',
    ])
    const out = path.join(dir, 'dead.jsonl')
    const r = await run(['import', file, '--table', table, '--endpoint', server.endpoint, '--failed-out', out, '--json'])
    assert.equal(r.code, 1)
    const s = JSON.parse(r.stdout)
    assert.equal(s.read, 5)
    assert.equal(s.written, 3)
    assert.equal(s.failed, 2)
    assert.equal(s.failedOut, out)
    const dead = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    assert.deepEqual(
      dead.map((d) => [d.line, d.reason]),
      [
        [2, 'InvalidLine'],
        [4, 'InvalidItem'],
      ],
    )
    assert.equal(dead[1].message, 'item.pk: key attribute must be of type S, got N')
    assert.equal(dead[0].raw, '{"pk": broken')
    assert.equal(await countItems(server.endpoint, table), 3)
  })

  it('delete removes keys (whole items accepted), ddb-json import works from stdin', async () => {
    const table = uniqueTableName('cli')
    await client.createTable(table, { partitionKey: { name: 'pk', type: 'S' } })
    const ddb = Array.from({ length: 100 }, (_, i) => JSON.stringify({ Item: { pk: { S: `d${i}` }, n: { N: String(i) } } })).join('\n') + '\n'
    const r = await run(['import', '-', '--table', table, '--endpoint', server.endpoint, '--format', 'ddb-json', '--json'], {
      onSpawn: (p) => p.stdin.end(ddb),
    })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).written, 100)
    assert.deepEqual(await client.getItem(table, { pk: 'd7' }), { pk: 'd7', n: 7 })
    const keys = writeLines('keys.jsonl', Array.from({ length: 60 }, (_, i) => JSON.stringify({ pk: `d${i}`, n: i })))
    const d = await run(['delete', keys, '--table', table, '--endpoint', server.endpoint, '--json'])
    assert.equal(d.code, 0, d.stderr)
    assert.equal(JSON.parse(d.stdout).deletesWritten, 60)
    assert.equal(await countItems(server.endpoint, table), 40)
  })

  it('usage errors exit 2 with a message', async () => {
    const r = await run(['import', 'x.jsonl'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--table is required/)
    const r2 = await run(['import', 'x.jsonl', '--table', 't', '--create-table', 'pk:X'])
    assert.equal(r2.code, 2)
    assert.match(r2.stderr, /--create-table takes pk:T/)
    const r3 = await run(['upload', 'x', '--table', 't'])
    assert.equal(r3.code, 2)
  })
})

describe('dynabatch against faults', () => {
  let faults
  before(async () => {
    faults = await startFaultServer({ tables: { t: { partitionKey: { name: 'pk', type: 'S' } } } })
  })
  after(() => faults.close())

  it('items that exhaust their retries go to the dead-letter file, and a re-run of that file writes them', async () => {
    faults.reset()
    faults.setFaults({ failKeys: ['S:k3', 'S:k7'], delayMs: 0 })
    const file = writeLines('retry.jsonl', Array.from({ length: 10 }, (_, i) => JSON.stringify({ pk: `k${i}`, v: i })))
    const r = await run(['import', file, '--table', 't', '--endpoint', faults.endpoint, '--max-retries', '1', '--json'])
    assert.equal(r.code, 1)
    const s = JSON.parse(r.stdout)
    assert.equal(s.written, 8)
    assert.equal(s.failed, 2)
    const dead = fs.readFileSync(s.failedOut, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    assert.deepEqual(dead.map((d) => [d.line, d.reason, d.attempts, d.item.pk.S]).sort(), [
      [4, 'UnprocessedAfterRetries', 2, 'k3'],
      [8, 'UnprocessedAfterRetries', 2, 'k7'],
    ])
    faults.setFaults({ failKeys: null })
    const again = await run(['import', s.failedOut, '--table', 't', '--endpoint', faults.endpoint, '--format', 'ddb-json', '--json', '--failed-out', path.join(dir, 'none.jsonl')])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(JSON.parse(again.stdout).written, 2)
    assert.equal(faults.table('t').size, 10)
  })

  it('Ctrl-C stops reading, settles requests in flight, dead-letters every unwritten item, exits 130', async () => {
    faults.reset()
    faults.setFaults({ failKeys: null, delayMs: 40 })
    const N = 20000
    const file = writeLines('big.jsonl', Array.from({ length: N }, (_, i) => JSON.stringify({ pk: `s${i}` })))
    const out = path.join(dir, 'sigint.jsonl')
    const r = await run(['import', file, '--table', 't', '--endpoint', faults.endpoint, '--concurrency', '2', '--failed-out', out, '--json'], {
      onSpawn: (p) => setTimeout(() => p.kill('SIGINT'), 700),
    })
    assert.equal(r.code, 130, r.stderr)
    const s = JSON.parse(r.stdout)
    assert.equal(s.interrupted, true)
    assert.ok(s.read < N, 'reading stopped')
    const dead = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n').filter(Boolean) : []
    assert.equal(s.written + dead.length, s.read, 'every item read is written or dead-lettered')
    assert.equal(faults.table('t').size, s.written)
    assert.ok(dead.every((l) => JSON.parse(l).reason === 'Aborted'))
  })
})
