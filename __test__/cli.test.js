'use strict'
// bin/dynabatch.js as a user runs it: a child process against dynalite (and the fault server for items that
// exhaust their retries). What it reports (exit code, summary, dead-letter file) is checked against what the
// table really holds.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { DynamoDBClient, NumberValue } = require('dynabatch')
const { startDynalite, clientOptions, uniqueTableName, countItems } = require('./helpers/dynalite.js')
const { startFaultServer } = require('./helpers/fault-server.js')
const { runCli } = require('./helpers/cli-runner.js')

let server
let client
let dir

before(async () => {
  server = await startDynalite()
  client = new DynamoDBClient({ ...clientOptions(server.endpoint), wrapNumbers: true })
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-cli-'))
})
after(async () => {
  await server.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** Runs the CLI against dynalite (or `endpoint`); see helpers/cli-runner.js. */
function cli(args, { input, onStderr, endpoint = server.endpoint, timeoutMs = 30_000 } = {}) {
  return runCli(args, { dir, endpoint, input, onStderr, timeoutMs })
}

function writeLines(name, lines) {
  const file = path.join(dir, name)
  fs.writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n')
  return file
}

function readDeadLetters(file) {
  return fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
}

async function newTable(sortKey) {
  const t = uniqueTableName('cli')
  await client.createTable(t, { partitionKey: { name: 'pk', type: 'S' }, ...(sortKey ? { sortKey } : {}) })
  return t
}

function user(i) {
  return { pk: `u${i}`, name: `User ${i}`, age: i % 90, score: i / 4, tags: ['a', i], address: { city: 'Lyon' }, ok: i % 2 === 0 }
}

describe('dynabatch CLI on dynalite', () => {
  it('imports a JSON Lines file, numbers exact, with a human summary and no dead-letter file', async () => {
    const table = await newTable()
    const N = 2000
    const lines = Array.from({ length: N }, (_, i) => JSON.stringify(user(i)))
    lines[7] = '{"pk":"u7","big":12345678901234567890123,"tiny":0.1000000000000000000001,"neg":-9007199254740993}'
    const file = writeLines('users.jsonl', lines)
    const r = await cli(['import', file, '--table', table])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, new RegExp(`dynabatch import ${table}: 2,000 items read, 2,000 written, 0 failed in `))
    assert.equal(await countItems(server.endpoint, table), N)
    const big = await client.getItem(table, { pk: 'u7' })
    assert.deepEqual(
      [big.big.value, big.tiny.value, big.neg.value],
      ['12345678901234567890123', '0.1000000000000000000001', '-9007199254740993'],
    )
    const u5 = await client.getItem(table, { pk: 'u5' })
    assert.equal(u5.score.toNumber(), 1.25)
    assert.equal(u5.address.city, 'Lyon')
    assert.equal(fs.existsSync(`${file}.failed.jsonl`), false)
  })

  it('reports bad lines with their line numbers in the dead-letter file, writes the rest, exits 1', async () => {
    const table = await newTable()
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify(user(i)))
    lines[9] = '{"pk":"u9", oops}' // line 10
    lines[99] = '{"pk":99}' // line 100: the key has the wrong type
    lines[199] = '{"name":"no key"}' // line 200
    lines[249] = '' // blank: skipped, not an error
    const file = writeLines('bad.jsonl', lines)
    const r = await cli(['import', file, '--table', table])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /299 items read, 296 written, 3 failed \(3 invalid lines\)/)
    assert.match(r.stderr, /line 10: invalid JSON: /)
    assert.match(r.stderr, /line 100: item\.pk: key attribute must be of type S, got N/)
    assert.match(r.stderr, /line 200: .*pk/)
    assert.equal(await countItems(server.endpoint, table), 296)
    const dl = readDeadLetters(`${file}.failed.jsonl`)
    assert.deepEqual(
      dl.map((d) => [d.line, d.reason]),
      [
        [10, 'InvalidLine'],
        [100, 'InvalidItem'],
        [200, 'InvalidItem'],
      ],
    )
    assert.equal(dl[0].raw, '{"pk":"u9", oops}')
    assert.deepEqual(dl[1], {
      input: file,
      line: 100,
      operation: 'put',
      reason: 'InvalidItem',
      message: 'item.pk: key attribute must be of type S, got N',
      attempts: 0,
      item: { pk: { N: '99' } },
    })
    assert.deepEqual(dl[2].item, { name: { S: 'no key' } })
    assert.match(dl[2].message, /pk/)
  })

  it('--json prints one summary on stdout and nothing else', async () => {
    const table = await newTable()
    const file = writeLines('j.jsonl', [...Array.from({ length: 1000 }, (_, i) => user(i)), '{broken'])
    const r = await cli(['import', file, '--table', table, '--json', '--failed-out', 'j-failed.jsonl'])
    assert.equal(r.code, 1)
    const s = JSON.parse(r.stdout)
    assert.equal(r.stdout.trim().split('\n').length, 1)
    assert.deepEqual(
      { ...s, elapsedMs: 0, itemsPerSecond: 0, p50LatencyMs: 0, p99LatencyMs: 0 },
      {
        command: 'import',
        table,
        read: 1001,
        written: 1000,
        putsWritten: 1000,
        deletesWritten: 0,
        skipped: 0,
        failed: 1,
        invalidLines: 1,
        requests: 40,
        retries: 0,
        throttles: 0,
        consumedWcu: 1000,
        p50LatencyMs: 0,
        p99LatencyMs: 0,
        elapsedMs: 0,
        itemsPerSecond: 0,
        failedOut: path.join(dir, 'j-failed.jsonl'),
        interrupted: false,
        reasons: { InvalidLine: 1 },
        files: [{ input: file, read: 1001, written: 1000, failed: 1, invalidLines: 1, complete: true }],
      },
    )
    assert.ok(s.elapsedMs > 0 && s.itemsPerSecond > 0 && s.p99LatencyMs >= s.p50LatencyMs)
    assert.doesNotMatch(r.stderr, /items read/) // no human summary, no progress
    assert.equal(readDeadLetters(path.join(dir, 'j-failed.jsonl'))[0].line, 1001)
  })

  it('imports DynamoDB JSON from stdin: every type, S3-export wrappers', async () => {
    const table = await newTable()
    const b64 = (s) => Buffer.from(s).toString('base64')
    const full = {
      pk: { S: 'all' },
      n: { N: '12345678901234567890.5' },
      b: { B: b64('bytes') },
      ss: { SS: ['x', 'y'] },
      ns: { NS: ['1', '12345678901234567890'] },
      bs: { BS: [b64('p'), b64('q')] },
      m: { M: { inner: { L: [{ S: 's' }, { N: '2' }, { NULL: true }] } } },
      l: { L: [{ BOOL: false }] },
      nul: { NULL: true },
      t: { BOOL: true },
    }
    const lines = [full, ...Array.from({ length: 500 }, (_, i) => ({ Item: { pk: { S: `w${i}` }, v: { N: String(i) } } }))]
    const r = await cli(['import', '-', '--table', table, '--format', 'ddb-json', '--json'], {
      input: lines.map((l) => JSON.stringify(l)).join('\n'),
    })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).written, 501)
    const got = await client.getItem(table, { pk: 'all' })
    assert.equal(got.n.value, '12345678901234567890.5')
    assert.deepEqual(got.b, Buffer.from('bytes'))
    assert.deepEqual(got.ss, new Set(['x', 'y']))
    assert.deepEqual(new Set([...got.ns].map((x) => String(x))), new Set(['1', '12345678901234567890']))
    assert.deepEqual(new Set([...got.bs].map((x) => x.toString())), new Set(['p', 'q']))
    assert.equal(got.m.inner[0], 's')
    assert.equal(String(got.m.inner[1]), '2')
    assert.equal(got.m.inner[2], null)
    assert.deepEqual([got.l, got.nul, got.t], [[false], null, true])
    assert.equal(String((await client.getItem(table, { pk: 'w499' })).v), '499')
    assert.equal(fs.existsSync(path.join(dir, 'dynabatch-failed.jsonl')), false)
  })

  it('DynamoDB JSON is read strictly: bad base64, numbers, sets and types are bad lines with their line and path', async () => {
    const table = await newTable()
    const lines = [
      { pk: { S: 'good' }, b: { B: 'aGVsbG8=' } },
      { pk: { S: 'q' }, b: { B: 'Q' } }, // line 2: would store 0 bytes
      { pk: { S: 'h' }, b: { B: 'hello' } }, // line 3: would store 3 unrelated bytes
      { pk: { S: 'bs' }, m: { M: { set: { BS: ['aGk=', 'aGk'] } } } }, // line 4
      { pk: { S: 'n' }, n: { N: ' 12' } }, // line 5
      { pk: { S: 'ss' }, s: { SS: [] } }, // line 6
      { pk: { S: 'nul' }, z: { NULL: false } }, // line 7
      { pk: { S: 'two' }, t: { S: 'a', N: '1' } }, // line 8
    ]
    const file = writeLines('strict.ddb.jsonl', lines)
    const r = await cli(['import', file, '--table', table, '--format', 'ddb-json', '--json'])
    assert.equal(r.code, 1, r.stderr)
    const s = JSON.parse(r.stdout)
    assert.deepEqual([s.read, s.written, s.failed, s.invalidLines], [8, 1, 7, 7])
    const dl = readDeadLetters(`${file}.failed.jsonl`)
    assert.deepEqual(
      dl.map((d) => [d.line, d.reason, d.message.split(':')[0]]),
      [
        [2, 'InvalidItem', 'item.b'],
        [3, 'InvalidItem', 'item.b'],
        [4, 'InvalidItem', 'item.m.set[1]'],
        [5, 'InvalidItem', 'item.n'],
        [6, 'InvalidItem', 'item.s'],
        [7, 'InvalidItem', 'item.z'],
        [8, 'InvalidItem', 'item.t'],
      ],
    )
    assert.deepEqual(dl[0].item, { pk: { S: 'q' }, b: { B: 'Q' } }) // kept exactly as it was, to be fixed by hand
    assert.equal(await countItems(server.endpoint, table), 1)
    assert.deepEqual((await client.getItem(table, { pk: 'good' })).b, Buffer.from('hello'))
  })

  // Waits for the core to refuse strings without a UTF-8 form (issue 9, item 1): until then these lines are
  // stored with U+FFFD and the test fails.
  it('lines with unpaired surrogates (JSON escapes) are refused with their line number; an escaped pair is kept', async () => {
    const table = await newTable()
    const file = writeLines('surrogates.jsonl', [
      '{"pk":"ok","e":"\\ud83d\\ude00"}', // line 1: an emoji, as an escaped surrogate pair
      '{"pk":"k\\ud800"}', // line 2: in a key
      '{"pk":"k\\udc00"}', // line 3: a key that would become the same row as line 2's
      '{"pk":"v","x\\udc00y":1}', // line 4: in an attribute name
      '{"pk":"s","tags":["a","b\\ud800"]}', // line 5: in a list member
      '{"pk":"m","m":{"in":{"s":"\\udfff"}}}', // line 6: in a nested map
    ])
    const r = await cli(['import', file, '--table', table, '--json'])
    assert.equal(r.code, 1, r.stderr)
    const s = JSON.parse(r.stdout)
    assert.deepEqual([s.read, s.written, s.failed, s.invalidLines], [6, 1, 5, 5])
    const dl = readDeadLetters(`${file}.failed.jsonl`)
    assert.deepEqual(dl.map((d) => [d.line, d.reason]), [2, 3, 4, 5, 6].map((n) => [n, 'InvalidItem']))
    assert.match(dl[0].message, /^item\.pk/)
    assert.match(dl[3].message, /^item\.tags\[1\]/)
    assert.match(dl[4].message, /^item\.m\.in\.s/)
    assert.equal(dl[0].item.pk.S, 'k\ud800') // the dead letter keeps the text exactly (JSON escapes it)
    assert.equal(await countItems(server.endpoint, table), 1)
    assert.equal((await client.getItem(table, { pk: 'ok' })).e, '\u{1F600}')

    const dj = writeLines('surrogates.ddb.jsonl', ['{"pk":{"S":"\\ud800"}}', '{"pk":{"S":"a"},"s":{"SS":["x","\\udc00"]}}', '{"pk":{"S":"b"}}'])
    const d = await cli(['import', dj, '--table', table, '--format', 'ddb-json', '--json'])
    assert.equal(d.code, 1, d.stderr)
    assert.deepEqual(readDeadLetters(`${dj}.failed.jsonl`).map((x) => [x.line, x.reason]), [
      [1, 'InvalidItem'],
      [2, 'InvalidItem'],
    ])
    assert.equal(await countItems(server.endpoint, table), 2)
  })

  it('deletes by key (whole items accepted)', async () => {
    const table = await newTable()
    const items = Array.from({ length: 1000 }, (_, i) => user(i))
    assert.equal((await cli(['import', writeLines('del-items.jsonl', items), '-t', table, '-q'])).code, 0)
    // half as bare keys, half as whole items
    const keys = items.slice(0, 600).map((u, i) => (i % 2 ? { pk: u.pk } : u))
    const r = await cli(['delete', writeLines('del-keys.jsonl', keys), '-t', table, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout)
    assert.deepEqual([s.command, s.deletesWritten, s.putsWritten, s.failed], ['delete', 600, 0, 0])
    assert.equal(await countItems(server.endpoint, table), 400)
    assert.equal(await client.getItem(table, { pk: 'u0' }), undefined)
    assert.equal((await client.getItem(table, { pk: 'u600' })).pk, 'u600')
  })

  it('--create-table creates the table with its key schema, and accepts an existing one', async () => {
    const table = uniqueTableName('clicreate')
    const file = writeLines('create.jsonl', Array.from({ length: 100 }, (_, i) => ({ pk: `p${i % 10}`, sk: i, v: 'x' })))
    const r = await cli(['import', file, '-t', table, '--create-table', 'pk:S,sk:N'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, new RegExp(`created table ${table}`))
    const d = await client.describeTable(table)
    assert.deepEqual([d.partitionKey, d.sortKey], [{ name: 'pk', type: 'S' }, { name: 'sk', type: 'N' }])
    assert.equal(await countItems(server.endpoint, table), 100)
    const again = await cli(['import', file, '-t', table, '--create-table', 'pk:S,sk:N', '-q'])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.stderr, '')
  })

  it('a missing table and usage errors fail before anything is read', async () => {
    const file = writeLines('x.jsonl', [{ pk: 'a' }])
    const r = await cli(['import', file, '-t', 'no_such_table'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /table no_such_table does not exist/)
    const u = await cli(['import', file, '-t', 'users', '--flush-amount', '30'])
    assert.equal(u.code, 2)
    assert.match(u.stderr, /--flush-amount must be between 1 and 25/)
    const c = await cli(['import', file, '-t', 'users', '--create-table', 'pk:X'])
    assert.equal(c.code, 2)
    assert.match(c.stderr, /--create-table takes pk:T/)
    assert.equal((await cli(['upload', file, '-t', 'users'])).code, 2)
  })

  it('SIGINT: every item read is written or dead-lettered, exit 130; the dead letters re-run', async () => {
    const table = await newTable()
    const N = 3000
    const file = writeLines('int.jsonl', Array.from({ length: N }, (_, i) => user(i)))
    let sent = false
    // A slow rate keeps the run going; interrupt once the status line shows writes.
    const r = await cli(['import', file, '-t', table, '--rate-limit', '400', '--status-interval', '0.1'], {
      onStderr: (text, child) => {
        if (!sent && /[1-9][\d,]* written/.test(text)) {
          sent = true
          child.kill('SIGINT')
        }
      },
    })
    assert.ok(sent)
    assert.equal(r.code, 130, r.stderr)
    assert.match(r.stderr, /interrupted/)
    const dlFile = `${file}.failed.jsonl`
    const dl = readDeadLetters(dlFile)
    const inTable = await countItems(server.endpoint, table)
    assert.ok(inTable > 0 && inTable < N, `${inTable} written`)
    assert.ok(dl.length > 0)
    assert.ok(dl.every((d) => d.reason === 'Aborted' && d.line === Number(d.item.pk.S.slice(1)) + 1))
    // Reading stopped: what was read is exactly what is in the table plus the dead letters.
    const read = Number(/([\d,]+) items read/.exec(r.stderr)[1].replace(/,/g, ''))
    assert.equal(inTable + dl.length, read)
    // The dead-letter file retries exactly the unwritten items.
    const again = await cli(['import', dlFile, '-t', table, '--format', 'ddb-json', '--json'])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(JSON.parse(again.stdout).written, dl.length)
    assert.equal(await countItems(server.endpoint, table), read)
  })
})

describe('dynabatch CLI against faults', () => {
  let faults
  before(async () => {
    faults = await startFaultServer({ tables: { t: { partitionKey: { name: 'pk', type: 'S' } } } })
  })
  after(() => faults.close())

  it('items that exhaust their retries go to the dead-letter file, and a re-run of that file writes them', async () => {
    faults.reset()
    faults.setFaults({ failKeys: ['S:k3', 'S:k7'], delayMs: 0 })
    const file = writeLines('retry.jsonl', Array.from({ length: 10 }, (_, i) => ({ pk: `k${i}`, v: i })))
    const r = await cli(['import', file, '--table', 't', '--max-retries', '1', '--json'], { endpoint: faults.endpoint })
    assert.equal(r.code, 1)
    const s = JSON.parse(r.stdout)
    assert.deepEqual([s.written, s.failed, s.invalidLines], [8, 2, 0])
    const dead = readDeadLetters(s.failedOut)
    assert.deepEqual(dead.map((d) => [d.line, d.reason, d.attempts, d.item.pk.S]).sort(), [
      [4, 'UnprocessedAfterRetries', 2, 'k3'],
      [8, 'UnprocessedAfterRetries', 2, 'k7'],
    ])
    faults.setFaults({ failKeys: null })
    const again = await cli(['import', s.failedOut, '--table', 't', '--format', 'ddb-json', '--json'], { endpoint: faults.endpoint })
    assert.equal(again.code, 0, again.stderr)
    assert.equal(JSON.parse(again.stdout).written, 2)
    assert.equal(faults.table('t').size, 10)
  })
})
