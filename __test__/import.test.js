'use strict'
// The loader's bulk jobs end to end, as users run them: `dynabatch import` in child processes and importFrom
// in this one, against dynalite (what the table holds) and the fault server as a sink (what was applied, how
// many times). DynamoDB export folders (full and incremental), gzip and UTF-16 inputs, shards across
// processes, crash-safe resume with --checkpoint, the library call, the example handler, credentials.
// Nothing leaves loopback: every child has dummy credentials and AWS_EC2_METADATA_DISABLED=true.

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')
const { spawnSync } = require('node:child_process')
const { Readable } = require('node:stream')
const { DynamoDBClient, importFrom } = require('dynabatch')
const { startDynalite, clientOptions, uniqueTableName, countItems } = require('./helpers/dynalite.js')
const { startFaultServer } = require('./helpers/fault-server.js')
const { runCli, childEnv } = require('./helpers/cli-runner.js')

process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1'
process.env.AWS_EC2_METADATA_DISABLED = 'true' // clients here have static credentials; this makes sure

let server
let sink
let client
let sdk
let dir

before(async () => {
  server = await startDynalite()
  sink = await startFaultServer({ tables: { sink: { partitionKey: { name: 'pk', type: 'S' } } } })
  client = new DynamoDBClient(clientOptions(server.endpoint))
  const { DynamoDBClient: Sdk } = require('@aws-sdk/client-dynamodb')
  sdk = new Sdk(clientOptions(server.endpoint))
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-import-e2e-'))
})
after(async () => {
  sdk.destroy()
  await server.close()
  await sink.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

function cli(args, opts = {}) {
  return runCli(args, { dir, endpoint: server.endpoint, ...opts })
}

async function newTable(name = 'imp') {
  const t = uniqueTableName(name)
  await client.createTable(t, { partitionKey: { name: 'pk', type: 'S' } })
  return t
}

function readDeadLetters(file) {
  return fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64')

// An item with every DynamoDB type, in DynamoDB JSON, numbers in the form DynamoDB gives back.
function everyType(i) {
  return {
    pk: { S: `item#${i}` },
    n: { N: String(i * 7) },
    big: { N: '12345678901234567890123456789012345678' },
    small: { N: '-0.000001' },
    b: { B: b64([i % 256, 0, 255]) },
    ss: { SS: ['a', `s${i}`] },
    ns: { NS: ['1', '2.5', String(i + 10)] },
    bs: { BS: [b64('x'), b64(`b${i}`)] },
    l: { L: [{ S: 'x' }, { N: '1' }, { NULL: true }, { BOOL: false }, { M: { deep: { L: [] } } }] },
    m: { M: { name: { S: 'n' }, empty: { S: '' } } },
    t: { BOOL: true },
    z: { NULL: true },
    u: { S: 'é€😀 "quoted"\n\u0000' },
  }
}

// DynamoDB JSON with sets sorted and binaries as base64, for an exact comparison with what the SDK reads.
function canonical(av) {
  if (Array.isArray(av)) return av.map(canonical)
  const [tag] = Object.keys(av)
  const v = av[tag]
  if (tag === 'B') return { B: typeof v === 'string' ? v : b64(v) }
  if (tag === 'SS' || tag === 'NS') return { [tag]: [...v].sort() }
  if (tag === 'BS') return { BS: v.map((x) => (typeof x === 'string' ? x : b64(x))).sort() }
  if (tag === 'L') return { L: v.map(canonical) }
  if (tag === 'M') return { M: canonicalItem(v) }
  return { [tag]: v }
}
function canonicalItem(item) {
  return Object.fromEntries(Object.keys(item).sort().map((k) => [k, canonical(item[k])]))
}

async function rawItem(table, pk) {
  const { GetItemCommand } = require('@aws-sdk/client-dynamodb')
  const out = await sdk.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }))
  return out.Item
}

/** An export folder: files = [{ name, lines, itemCount? }] (lines are objects); summary overrides. */
function makeExport(name, files, summary = {}) {
  const root = path.join(dir, name)
  fs.mkdirSync(path.join(root, 'data'), { recursive: true })
  let total = 0
  const list = files.map((f) => {
    fs.writeFileSync(path.join(root, 'data', f.name), zlib.gzipSync(f.lines.map((l) => JSON.stringify(l) + '\n').join('')))
    const count = f.itemCount !== undefined ? f.itemCount : f.lines.length
    total += count
    return JSON.stringify({ itemCount: count, md5Checksum: 'AAAA', etag: 'e', dataFileS3Key: `AWSDynamoDB/01700000000000-abcd1234/data/${f.name}` })
  })
  fs.writeFileSync(path.join(root, 'manifest-files.json'), list.join('\n') + '\n')
  fs.writeFileSync(
    path.join(root, 'manifest-summary.json'),
    JSON.stringify({
      version: '2023-08-01',
      exportArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/src/export/01700000000000-abcd1234',
      itemCount: total,
      outputFormat: 'DYNAMODB_JSON',
      exportType: 'FULL_EXPORT',
      manifestFilesS3Key: 'AWSDynamoDB/01700000000000-abcd1234/manifest-files.json',
      ...summary,
    }),
  )
  fs.writeFileSync(path.join(root, '_started'), '')
  return root
}

// Timing and latency differ from run to run; everything else in a summary must not.
function stable(summary) {
  const { elapsedMs, itemsPerSecond, p50LatencyMs, p99LatencyMs, ...rest } = summary
  return rest
}

describe('DynamoDB export folders', () => {
  it('a full export (three gzip data files, one empty, every type) loads completely and exactly', async () => {
    const table = await newTable()
    const a = Array.from({ length: 40 }, (_, i) => ({ Item: everyType(i) }))
    const c = Array.from({ length: 35 }, (_, i) => ({ Item: everyType(100 + i) }))
    const ex = makeExport('full', [
      { name: 'aaaa.json.gz', lines: a },
      { name: 'bbbb.json.gz', lines: [] },
      { name: 'cccc.json.gz', lines: c },
    ])
    const r = await cli(['import', ex, '--table', table, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout)
    assert.deepEqual([s.read, s.written, s.failed, s.failedOut, s.errors], [75, 75, 0, null, undefined])
    assert.deepEqual(
      s.files.map((f) => [path.basename(f.input), f.read, f.written, f.expectedItems, f.complete]),
      [
        ['aaaa.json.gz', 40, 40, 40, true],
        ['bbbb.json.gz', 0, 0, 0, true],
        ['cccc.json.gz', 35, 35, 35, true],
      ],
    )
    assert.equal(await countItems(server.endpoint, table), 75)
    for (const { Item } of [...a, ...c]) assert.deepEqual(canonicalItem(await rawItem(table, Item.pk.S)), canonicalItem(Item), Item.pk.S)
  })

  it('a truncated data file and a wrong manifest count are reported with the file name, and fail the exit status', async () => {
    const table = await newTable()
    const lines = (from, n) => Array.from({ length: n }, (_, i) => ({ Item: { pk: { S: `k${from + i}` } } }))
    const ex = makeExport('broken', [
      { name: 'good.json.gz', lines: lines(0, 30) },
      { name: 'cut.json.gz', lines: lines(100, 500) },
      { name: 'count.json.gz', lines: lines(1000, 20), itemCount: 21 },
    ])
    const cut = path.join(ex, 'data', 'cut.json.gz')
    const gz = fs.readFileSync(cut)
    fs.writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)))
    const r = await cli(['import', ex, '--table', table, '--json'])
    assert.equal(r.code, 1)
    const s = JSON.parse(r.stdout)
    const cutFile = s.files.find((f) => f.input === cut)
    assert.equal(cutFile.complete, false)
    assert.ok(cutFile.read > 0 && cutFile.read < 500)
    assert.deepEqual(s.errors.map((e) => e.message).sort(), [
      `${path.join(ex, 'data', 'count.json.gz')}: 20 items read, manifest-files.json lists 21`,
      `${cut}: the gzip data is truncated (unexpected end of file) (read up to line ${cutFile.read})`,
    ])
    assert.match(r.stderr, /cut\.json\.gz: the gzip data is truncated/)
    assert.match(r.stderr, /count\.json\.gz: 20 items read, manifest-files\.json lists 21/)
    // what could be read was written: nothing is silently dropped, nothing is silently short
    assert.equal(await countItems(server.endpoint, table), 30 + cutFile.read + 20)
  })

  it('an incremental export: NewImage lines put, the others delete Keys; the table ends as the source did', async () => {
    const table = await newTable()
    const base = Array.from({ length: 10 }, (_, i) => ({ Item: { pk: { S: `u${i}` }, v: { N: '1' } } }))
    assert.equal((await cli(['import', makeExport('base', [{ name: 'b.json.gz', lines: base }]), '--table', table, '-q'])).code, 0)
    const meta = (t) => ({ WriteTimestampMicros: { N: String(1700000000000000 + t) } })
    const inc = makeExport(
      'inc',
      [
        {
          name: 'i1.json.gz',
          lines: [
            { Metadata: meta(1), Keys: { pk: { S: 'u1' } }, NewImage: { pk: { S: 'u1' }, v: { N: '2' } }, OldImage: { pk: { S: 'u1' }, v: { N: '1' } } },
            { Metadata: meta(2), Keys: { pk: { S: 'u2' } }, OldImage: { pk: { S: 'u2' }, v: { N: '1' } } },
          ],
        },
        {
          name: 'i2.json.gz',
          lines: [
            { Metadata: meta(3), Keys: { pk: { S: 'new' } }, NewImage: { pk: { S: 'new' }, v: { N: '9' } } },
            { Metadata: meta(4), Keys: { pk: { S: 'u3' } } },
          ],
        },
      ],
      { exportType: 'INCREMENTAL_EXPORT' },
    )
    const r = await cli(['import', inc, '--table', table, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout)
    assert.deepEqual([s.putsWritten, s.deletesWritten, s.failed], [2, 2, 0])
    assert.equal(await countItems(server.endpoint, table), 9) // 10 - u2 - u3 + new
    assert.equal(await rawItem(table, 'u2'), undefined)
    assert.equal(await rawItem(table, 'u3'), undefined)
    assert.deepEqual(await rawItem(table, 'u1'), { pk: { S: 'u1' }, v: { N: '2' } })
    assert.deepEqual(await rawItem(table, 'new'), { pk: { S: 'new' }, v: { N: '9' } })
    assert.deepEqual(await rawItem(table, 'u4'), { pk: { S: 'u4' }, v: { N: '1' } })
  })
})

describe('inputs as a new user has them', () => {
  it('gzip whatever the name, UTF-16 with a BOM, several paths at once; zstd refused by name', async () => {
    const table = await newTable()
    const gz = path.join(dir, 'export.json') // gzip without a .gz name, as an export file often is once renamed
    fs.writeFileSync(gz, zlib.gzipSync(Array.from({ length: 300 }, (_, i) => JSON.stringify({ Item: { pk: { S: `g${i}` } } })).join('\n')))
    const u16 = path.join(dir, 'windows.jsonl')
    fs.writeFileSync(u16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"pk":"w1","s":"é"}\r\n{"pk":"w2"}\r\n', 'utf16le')]))
    const r = await cli(['import', gz, '--table', table, '--format', 'ddb-json', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).written, 300)
    const w = await cli(['import', u16, u16, '--table', table, '--json'])
    assert.equal(w.code, 0, w.stderr)
    assert.deepEqual(JSON.parse(w.stdout).files.map((f) => f.written), [2, 2])
    assert.deepEqual(await rawItem(table, 'w1'), { pk: { S: 'w1' }, s: { S: 'é' } })
    const zst = path.join(dir, 'x.zst')
    fs.writeFileSync(zst, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]))
    const z = await cli(['import', zst, '--table', table])
    assert.equal(z.code, 1)
    assert.match(z.stderr, new RegExp(`${zst} is zstd-compressed; decompress it first`))
  })

  it('missing credentials: the failure says which variables and flags supply them, and nothing leaves loopback', async () => {
    const f = path.join(dir, 'c.jsonl')
    fs.writeFileSync(f, '{"pk":"a"}\n')
    const r = await cli(['import', f, '--table', 'whatever'], { env: childEnv(dir, {}) })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /cannot describe table whatever: could not load AWS credentials/)
    assert.match(r.stderr, /Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \(for DynamoDB Local or dynalite any values do/)
    assert.match(r.stderr, /AWS_PROFILE or --profile/)
  })
})

describe('shards across processes', () => {
  beforeEach(() => sink.reset())

  // 300 keys, 10 versions each, the versions of a key in file order (version v of every key, then v + 1).
  function versionsFile() {
    const lines = []
    for (let v = 0; v < 10; v++) for (let k = 0; k < 300; k++) lines.push(JSON.stringify({ pk: `key${k}`, v }))
    const file = path.join(dir, 'versions.jsonl')
    fs.writeFileSync(file, lines.join('\n') + '\n')
    return file
  }

  // Waits for the core's shard option (BatchWriter { shard }): until then the loader refuses --shard.
  it('three processes with --shard 0/3, 1/3, 2/3: every line written once in total, in file order per key', async () => {
    const file = versionsFile()
    const runs = await Promise.all([0, 1, 2].map((i) => runCli(['import', file, '--table', 'sink', '--shard', `${i}/3`, '--json', '--failed-out', `f${i}.jsonl`], { dir, endpoint: sink.endpoint })))
    for (const r of runs) assert.equal(r.code, 0, r.stderr)
    const sums = runs.map((r) => JSON.parse(r.stdout))
    assert.equal(sums.reduce((n, s) => n + s.written, 0), 3000)
    for (const s of sums) assert.equal(s.written + s.skipped, 3000)
    assert.equal(sink.stats.putsApplied, 3000) // counted on the server: no line twice, none lost
    assert.equal(sink.table('sink').size, 300)
    for (let k = 0; k < 300; k++) {
      const h = sink.table('sink').history({ pk: { S: `key${k}` } })
      assert.deepEqual(h.map((e) => Number(e.item.v.N)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], `key${k}`)
    }
  })

  it('on dynalite, every key holds its last version', async () => {
    const file = versionsFile()
    const table = await newTable('shard')
    const runs = await Promise.all([0, 1, 2].map((i) => cli(['import', file, '--table', table, '--shard', `${i}/3`, '-q'])))
    for (const r of runs) assert.equal(r.code, 0, r.stderr)
    assert.equal(await countItems(server.endpoint, table), 300)
    for (const k of [0, 1, 137, 299]) assert.deepEqual(await rawItem(table, `key${k}`), { pk: { S: `key${k}` }, v: { N: '9' } })
  })
})

describe('crash-safe resume with --checkpoint', () => {
  beforeEach(() => sink.reset())

  function numbered(name, n) {
    const file = path.join(dir, name)
    fs.writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ pk: `r${i}`, i })).join('\n') + '\n')
    return file
  }

  function position(ck) {
    try {
      return JSON.parse(fs.readFileSync(ck, 'utf8')).positions[0].line
    } catch {
      return 0
    }
  }

  it('killed with SIGKILL at a random moment, then restarted: every item is in the table; only lines above the checkpoint are sent again', async () => {
    const N = 20000
    const file = numbered('kill.jsonl', N)
    const ck = path.join(dir, 'kill.ckpt')
    const args = ['import', file, '--table', 'sink', '--checkpoint', ck, '--json']
    let at = null
    // A slow rate keeps the run going for seconds; the kill comes at a random moment once a checkpoint
    // records progress.
    const first = await runCli([...args, '--rate-limit', '4000'], {
      dir,
      endpoint: sink.endpoint,
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (position(ck) > 0 && at === null) {
            at = Math.random() * 1500
            clearInterval(poll)
            setTimeout(() => child.kill('SIGKILL'), at)
          }
        }, 20)
        child.on('close', () => clearInterval(poll))
      },
    })
    assert.equal(first.signal, 'SIGKILL', `the run ended before the kill: ${first.stderr}`)
    const writtenBeforeKill = sink.stats.putsApplied
    const p = position(ck)
    assert.ok(p > 0 && p <= writtenBeforeKill, `checkpoint ${p}, written ${writtenBeforeKill}`)
    assert.ok(writtenBeforeKill < N, 'the kill came before the end')

    const second = await runCli(args, { dir, endpoint: sink.endpoint })
    assert.equal(second.code, 0, second.stderr)
    const s = JSON.parse(second.stdout)
    assert.deepEqual(s.checkpoint, { path: ck, resumedLines: p, failedBefore: 0, complete: true })
    assert.equal(s.read, N - p)
    assert.equal(sink.table('sink').size, N) // every item
    const sentTwice = sink.stats.putsApplied - N
    // exactly the lines above the recorded position that the killed run had written
    assert.equal(sentTwice, writtenBeforeKill - p)
    assert.ok(sentTwice < writtenBeforeKill)
    for (const i of [0, p - 1, p, N - 1]) assert.equal(sink.table('sink').get({ pk: { S: `r${i}` } }).i.N, String(i))
  })

  it('Ctrl-C leaves a valid checkpoint (what the writer held is written, nothing dead-lettered); the restart sends no line twice', async () => {
    const N = 6000
    const file = numbered('int.jsonl', N)
    const ck = path.join(dir, 'int.ckpt')
    const args = ['import', file, '--table', 'sink', '--checkpoint', ck]
    let sent = false
    const first = await runCli([...args, '--rate-limit', '2000', '--status-interval', '0.1'], {
      dir,
      endpoint: sink.endpoint,
      onStderr: (text, child) => {
        if (!sent && /[1-9][\d,]* written/.test(text)) {
          sent = true
          child.kill('SIGINT')
        }
      },
    })
    assert.equal(first.code, 130, first.stderr)
    assert.match(first.stderr, /interrupted: reading stops, what the writer holds is written and the checkpoint recorded/)
    assert.equal(fs.existsSync(`${file}.failed.jsonl`), false)
    const p = position(ck)
    assert.equal(sink.stats.putsApplied, p) // the checkpoint is exact after a graceful stop
    assert.ok(p > 0 && p < N)
    const second = await runCli([...args, '--json'], { dir, endpoint: sink.endpoint })
    assert.equal(second.code, 0, second.stderr)
    assert.equal(sink.stats.putsApplied, N)
    assert.equal(sink.table('sink').size, N)
  })
})

describe('importFrom, the same job as a library call', () => {
  beforeEach(() => sink.reset())

  it('a gzip Readable and an export folder give the same summary as the CLI', async () => {
    const sinkClient = new DynamoDBClient(clientOptions(sink.endpoint))
    const file = path.join(dir, 'lib.jsonl.gz')
    fs.writeFileSync(file, zlib.gzipSync(Array.from({ length: 1000 }, (_, i) => JSON.stringify({ pk: `l${i}`, n: 12345678901234567890n.toString() + i })).join('\n') + '\n'))
    const viaCli = JSON.parse((await runCli(['import', file, '--table', 'sink', '--json'], { dir, endpoint: sink.endpoint })).stdout)
    const viaLib = await importFrom(sinkClient, 'sink', { name: file, stream: fs.createReadStream(file) })
    assert.deepEqual(stable(viaLib), stable(viaCli))
    assert.deepEqual([viaLib.written, viaLib.files.length], [1000, 1])

    const ex = makeExport('lib-export', [
      { name: 'x.json.gz', lines: Array.from({ length: 60 }, (_, i) => ({ Item: { pk: { S: `x${i}` } } })) },
      { name: 'y.json.gz', lines: [] },
    ])
    const cliEx = JSON.parse((await runCli(['import', ex, '--table', 'sink', '--json'], { dir, endpoint: sink.endpoint })).stdout)
    const libEx = await importFrom(sinkClient, 'sink', ex)
    assert.deepEqual(stable(libEx), stable(cliEx))
    assert.equal(libEx.written, 60)
    // a stream of strings, and progress
    const seen = []
    const s = await importFrom(sinkClient, 'sink', Readable.from(['{"pk":"s1"}\n{"pk":', '"s2"}\n']), { onProgress: (p) => seen.push(p), progressIntervalMs: 1 })
    assert.deepEqual([s.written, s.files[0].input], [2, 'stream'])
    await assert.rejects(importFrom(sinkClient, 'sink', file, { shard: { index: 2, count: 2 } }), { code: 'InvalidArgument' })
  })

  it('the example handler loads a local object stream (in place of S3)', async () => {
    const { createHandler } = require('../examples/import-handler.js')
    const table = await newTable('handler')
    const object = zlib.gzipSync(Array.from({ length: 250 }, (_, i) => JSON.stringify({ Item: { pk: { S: `h${i}` }, n: { N: String(i) } } })).join('\n'))
    const handler = createHandler({ client, table, bucket: 'b', openObject: async (bucket, key) => (assert.deepEqual([bucket, key], ['b', 'data/h.json.gz']), Readable.from([object])) })
    assert.deepEqual(await handler({ Key: 'data/h.json.gz', Size: object.length }), { object: 'data/h.json.gz', read: 250, written: 250, failed: 0, errors: [], failures: [] })
    assert.equal(await countItems(server.endpoint, table), 250)
    const bad = createHandler({ client, table, bucket: 'b', openObject: async () => Readable.from(['{"Item":{"pk":{"S":"ok"}}}\n{"Item":{"pk":{"N":"1"}}}\n']) })
    await assert.rejects(bad({ Key: 'k' }), (e) => e.message === '1 of 2 items of k not written' && e.result.failures[0].line === 2 && e.result.failures[0].input === 's3://b/k')
    // and as `node examples/import-handler.js` runs it
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'examples', 'import-handler.js')], { encoding: 'utf8', timeout: 60_000, env: childEnv(dir) })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /example\.json\.gz: 500 of 500 items written, 0 failed/)
  })
})
