'use strict'
// The import job's pieces without the native addon: reading inputs (gzip, encodings, strict line splitting),
// export folders and their manifests, checkpoints, and the job's bookkeeping (per-file counts, shards,
// resume, dead letters) against the fake writer of helpers/fake-writer.js.

const { describe, it, beforeEach, afterEach } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')
const { Readable } = require('node:stream')

const { lineBatches, BadText, MAX_LINE } = require('../lib/import/read.js')
const { resolveInputs } = require('../lib/import/inputs.js')
const { Checkpoint, fingerprint } = require('../lib/import/checkpoint.js')
const { DeadLetterFile } = require('../lib/import/dead-letter.js')
const { ImportJob } = require('../lib/import/index.js')
const { main } = require('../lib/cli/main.js')
const { makeFakeLib, fakeShard, capture } = require('./helpers/fake-writer.js')

/** Every line (BadText as { bad: message }) and the error that ended the input, if any. */
async function readAll(chunks, name = 'in') {
  const lines = []
  let error = null
  try {
    for await (const batch of lineBatches(Readable.from(chunks), { name })) {
      for (const l of batch) lines.push(l instanceof BadText ? { bad: l.message, bytes: l.bytes } : l)
    }
  } catch (e) {
    error = e
  }
  return { lines, error }
}

const utf16le = (text) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
const utf16be = (text) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])

describe('reading an input', () => {
  it('lines end at LF (a CR before it is dropped); a lone CR is JSON whitespace and stays in its line', async () => {
    const { lines, error } = await readAll([Buffer.from('{"a":1}\r\n{"b":\r2}\n\n  \n{"c":3}')])
    assert.equal(error, null)
    assert.deepEqual(lines, ['{"a":1}', '{"b":\r2}', '', '  ', '{"c":3}'])
    assert.deepEqual(JSON.parse(lines[1]), { b: 2 })
  })

  it('lines and characters cut across chunks are joined, CRLF included', async () => {
    const text = Buffer.from('{"k":"é€😀"}\r\n{"n":2}\n')
    const chunks = [...text].map((b) => Buffer.from([b])) // one byte per chunk
    assert.deepEqual((await readAll(chunks)).lines, ['{"k":"é€😀"}', '{"n":2}'])
  })

  it('a line that is not valid UTF-8 is a BadText with its bytes, never replaced text; a real U+FFFD is kept', async () => {
    const bad = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) // {"a":"\xff\xfe"}
    const { lines } = await readAll([Buffer.concat([Buffer.from('{"ok":1}\n'), bad, Buffer.from('\n{"r":"\uFFFD"}\n')])])
    assert.equal(lines[0], '{"ok":1}')
    assert.deepEqual(lines[1], { bad: 'the line is not valid UTF-8', bytes: bad })
    assert.equal(lines[2], '{"r":"\uFFFD"}')
  })

  it('a line longer than the limit is a BadText without being kept in memory; the next lines are read', async () => {
    const big = Buffer.alloc(MAX_LINE + 10, 0x61)
    const { lines } = await readAll([Buffer.from('{"a":1}\n'), big.subarray(0, MAX_LINE / 2), big.subarray(MAX_LINE / 2), Buffer.from('\n{"b":2}\n')])
    assert.deepEqual(lines, ['{"a":1}', { bad: 'the line is longer than 16 MiB', bytes: undefined }, '{"b":2}'])
  })

  it('gzip is recognised by its bytes, whatever the name; several members and UTF-16 inside are read', async () => {
    const gz = Buffer.concat([zlib.gzipSync('{"a":1}\n'), zlib.gzipSync('{"b":2}\n')])
    assert.deepEqual((await readAll([gz], 'plain.txt')).lines, ['{"a":1}', '{"b":2}'])
    assert.deepEqual((await readAll([zlib.gzipSync(utf16le('{"u":"é"}\n'))])).lines, ['{"u":"é"}'])
  })

  it('a truncated gzip fails with the name, after the complete lines; the cut-off line is not read', async () => {
    const gz = zlib.gzipSync('{"a":1}\n{"b":2}\n{"c":3}')
    const { lines, error } = await readAll([gz.subarray(0, gz.length - 6)], 'data/x.json.gz')
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}'])
    assert.equal(error.code, 'InvalidInput')
    assert.equal(error.message, 'data/x.json.gz: the gzip data is truncated (unexpected end of file)')
  })

  it('UTF-16 with a byte-order mark is decoded (LE and BE), unpaired surrogates kept as they are; an odd length is refused', async () => {
    assert.deepEqual((await readAll([utf16le('{"a":"é"}\r\n{"b":"😀"}\n')])).lines, ['{"a":"é"}', '{"b":"😀"}'])
    const be = utf16be('{"a":"é"}\n{"b":"😀"}\n')
    assert.deepEqual((await readAll([be.subarray(0, 5), be.subarray(5)])).lines, ['{"a":"é"}', '{"b":"😀"}']) // an odd cut
    // never replaced: the writer refuses it with its attribute path, as it refuses a "\ud800" escape
    assert.deepEqual((await readAll([utf16le('{"s":"x\ud800"}\n')])).lines, ['{"s":"x\ud800"}'])
    const { lines, error } = await readAll([Buffer.concat([utf16le('{"a":1}\n{"b":2}'), Buffer.from([0x7d])])], 'w.jsonl')
    assert.deepEqual(lines, ['{"a":1}'])
    assert.equal(error.message, 'w.jsonl: not valid UTF-16LE text (an odd number of bytes: its last character is cut off)')
  })

  it('a UTF-8 byte-order mark is dropped', async () => {
    assert.deepEqual((await readAll([Buffer.from([0xef, 0xbb]), Buffer.from([0xbf]), Buffer.from('{"a":1}\n')])).lines, ['{"a":1}'])
  })

  it('other compressions and UTF-32 are refused at once, by name', async () => {
    const cases = [
      [[0x28, 0xb5, 0x2f, 0xfd, 0, 0], /^f is zstd-compressed; decompress it first \(zstd -d\)/],
      [[0x42, 0x5a, 0x68, 0x39, 0, 0], /^f is bzip2-compressed/],
      [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], /^f is xz-compressed/],
      [[0x50, 0x4b, 0x03, 0x04, 0, 0], /^f is a zip archive/],
      [[0xff, 0xfe, 0x00, 0x00, 0x7b, 0x00], /^f is UTF-32LE text; convert it to UTF-8/],
      [[0x00, 0x00, 0xfe, 0xff, 0x00, 0x00], /^f is UTF-32BE text/],
    ]
    for (const [bytes, re] of cases) {
      const { lines, error } = await readAll([Buffer.from(bytes)], 'f')
      assert.deepEqual(lines, [])
      assert.equal(error.code, 'InvalidInput')
      assert.match(error.message, re)
    }
  })

  it('text given as strings is split as text; strings and bytes mixed are refused', async () => {
    assert.deepEqual((await readAll(['{"a":', '1}\n{"b":"\ud800"}\n'])).lines, ['{"a":1}', '{"b":"\ud800"}'])
    const { error } = await readAll(['{"a":1}\n', Buffer.from('{"b":2}\n')])
    assert.equal(error.message, 'the input mixes strings and bytes')
  })
})

function tmpdir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-import-'))
}

/** An export folder: files = [{ name, lines: [obj], itemCount? }]; summary overrides manifest-summary.json fields. */
function makeExport(dir, files, summary = {}) {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true })
  const list = []
  let total = 0
  for (const f of files) {
    const text = f.lines.map((l) => JSON.stringify(l) + '\n').join('')
    fs.writeFileSync(path.join(dir, 'data', f.name), zlib.gzipSync(text))
    const count = f.itemCount !== undefined ? f.itemCount : f.lines.length
    total += count
    list.push(JSON.stringify({ itemCount: count, md5Checksum: 'x', etag: 'y', dataFileS3Key: `AWSDynamoDB/0123-abcd/data/${f.name}` }))
  }
  fs.writeFileSync(path.join(dir, 'manifest-files.json'), list.join('\n') + '\n')
  fs.writeFileSync(
    path.join(dir, 'manifest-summary.json'),
    JSON.stringify({ version: '2020-06-30', itemCount: total, outputFormat: 'DYNAMODB_JSON', exportType: 'FULL_EXPORT', ...summary }),
  )
  return dir
}

describe('inputs and export folders', () => {
  let dir
  beforeEach(() => {
    dir = tmpdir()
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  const rejects = (input, code, message, opts) => assert.rejects(resolveInputs(input, opts), (e) => e.code === code && (message instanceof RegExp ? message.test(e.message) : e.message === message))

  it('an export folder: every listed data file, found by its base name, with its count; one concurrent group', async () => {
    const ex = makeExport(path.join(dir, 'ex'), [
      { name: 'a.json.gz', lines: [{ Item: { pk: { S: 'a' } } }] },
      { name: 'b.json.gz', lines: [] },
    ])
    fs.writeFileSync(path.join(ex, 'data', 'stray.json.gz'), '')
    const r = await resolveInputs([ex, path.join(dir, 'ex', 'manifest-files.json')])
    assert.equal(r.groups.length, 2)
    assert.deepEqual(
      r.groups[0].map((s) => [path.basename(s.path), s.expectedItems, s.exportType]),
      [
        ['a.json.gz', 1, 'FULL_EXPORT'],
        ['b.json.gz', 0, 'FULL_EXPORT'],
      ],
    )
    assert.deepEqual(r.warnings, [`${ex}: 1 file(s) under data/ are not in manifest-files.json and are not loaded (stray.json.gz)`])
  })

  it('manifest problems stop the job before anything is written, with the path', async () => {
    const ex = makeExport(path.join(dir, 'ex'), [{ name: 'a.json.gz', lines: [] }])
    fs.rmSync(path.join(ex, 'data', 'a.json.gz'))
    await rejects(ex, 'InvalidInput', `${ex}: the data file a.json.gz (listed in manifest-files.json) is missing from ${path.join(ex, 'data')}`)
    const ex2 = makeExport(path.join(dir, 'ex2'), [{ name: 'a.json.gz', lines: [] }], { itemCount: 5 })
    await rejects(ex2, 'InvalidInput', `${ex2}: manifest-summary.json says 5 items, manifest-files.json lists 0`)
    const ex3 = makeExport(path.join(dir, 'ex3'), [], { outputFormat: 'ION' })
    await rejects(ex3, 'InvalidInput', `${ex3} is an export in ION format; dynabatch reads DYNAMODB_JSON exports`)
    const ex4 = makeExport(path.join(dir, 'ex4'), [{ name: 'a.json.gz', lines: [] }])
    fs.appendFileSync(path.join(ex4, 'manifest-files.json'), '{"dataFileS3Key":"x/data/a.json.gz","itemCount":-1}\n')
    await rejects(ex4, 'InvalidInput', `${path.join(ex4, 'manifest-files.json')} line 2: itemCount must be a non-negative integer, got -1`)
    const ex5 = makeExport(path.join(dir, 'ex5'), [{ name: 'a.json.gz', lines: [] }])
    fs.appendFileSync(path.join(ex5, 'manifest-files.json'), '{"dataFileS3Key":"x/data/a.json.gz","itemCount":0}\n')
    await rejects(ex5, 'InvalidInput', /line 2: the data file a\.json\.gz is listed twice$/)
  })

  it('a plain directory: its files in name order, one group each; a sub-directory or an output inside it is refused', async () => {
    fs.writeFileSync(path.join(dir, 'b.jsonl'), '')
    fs.writeFileSync(path.join(dir, 'a.jsonl'), '')
    fs.writeFileSync(path.join(dir, '.hidden'), '')
    const r = await resolveInputs(dir)
    assert.deepEqual(r.groups.map((g) => g.map((s) => path.basename(s.path))), [['a.jsonl'], ['b.jsonl']])
    await rejects(dir, 'InvalidArgument', `${path.join(dir, 'a.jsonl')} is in the input directory ${dir} and would be read as input; write it elsewhere`, {
      exclude: [path.join(dir, 'a.jsonl')],
    })
    fs.mkdirSync(path.join(dir, 'sub'))
    await rejects(dir, 'InvalidArgument', `${dir} holds the directory sub: pass the files to load, or an export folder (with manifest-summary.json)`)
    await rejects(path.join(dir, 'nope'), 'InputNotFound', `cannot read ${path.join(dir, 'nope')}: no such file or directory`)
    await rejects(42, 'InvalidArgument', /an input must be a path, a Readable/)
  })
})

describe('checkpoint file', () => {
  let dir
  beforeEach(() => {
    dir = tmpdir()
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  async function jobFor(files, extra = {}) {
    return { table: 't', operation: 'put', format: null, shard: null, failedOut: path.join(dir, 'dl'), inputs: await Promise.all(files.map(fingerprint)), ...extra }
  }

  it('is written atomically and read back for the same job', async () => {
    const f = path.join(dir, 'a.jsonl')
    fs.writeFileSync(f, '{"pk":"a"}\n')
    const file = path.join(dir, 'ck')
    const cp = await Checkpoint.open(file, await jobFor([f]))
    assert.equal(cp.fresh, true)
    assert.equal(fs.existsSync(file), false)
    cp.save([{ line: 7, items: 6 }])
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.jsonl', 'ck']) // no temporary file left behind
    const again = await Checkpoint.open(file, await jobFor([f]))
    assert.deepEqual([again.fresh, again.positions, again.complete], [false, [{ line: 7, items: 6 }], false])
  })

  it('a checkpoint of another job is refused, saying what differs', async () => {
    const f = path.join(dir, 'a.jsonl')
    fs.writeFileSync(f, '{"pk":"a"}\n')
    const file = path.join(dir, 'ck')
    ;(await Checkpoint.open(file, await jobFor([f]))).save()
    const refused = async (job, re) =>
      assert.rejects(Checkpoint.open(file, job), (e) => e.code === 'CheckpointMismatch' && re.test(e.message) && e.message.startsWith(`the checkpoint ${file} was made for another job: `))
    await refused(await jobFor([f], { table: 'other' }), /its table is t, this run's is other\. Run the same command as before, or delete the checkpoint/)
    await refused(await jobFor([f], { shard: { index: 1, count: 3 } }), /its --shard is none, this run's is 1\/3/)
    await refused(await jobFor([f], { operation: 'delete' }), /its operation is put, this run's is delete/)
    await refused(await jobFor([f], { format: 'ddb-json' }), /its format is null, this run's is ddb-json/)
    await refused(await jobFor([f, f]), /it has 1 input file\(s\), this run has 2/)
    fs.appendFileSync(f, '{"pk":"b"}\n')
    await refused(await jobFor([f]), /the input .*a\.jsonl changed since \(size 11 then, 22 now, or other content\)/)
    fs.writeFileSync(file, '{"hello":1}')
    await assert.rejects(Checkpoint.open(file, await jobFor([f])), { code: 'CheckpointMismatch', message: `${file} is not a dynabatch checkpoint (version 1); pass another --checkpoint path` })
  })
})

// ---------------------------------------------------------------------------------------------------------
// The job against the fake writer.

function deadLetters(file) {
  return fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
}

describe('the import job with a fake writer', () => {
  let dir
  beforeEach(() => {
    dir = tmpdir()
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  function write(name, lines, gzip = false) {
    const file = path.join(dir, name)
    const text = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l)) + '\n').join('')
    fs.writeFileSync(file, gzip ? zlib.gzipSync(text) : text)
    return file
  }

  function job(lib, input, options = {}) {
    return new ImportJob(lib, new lib.DynamoDBClient({}), 'users', input, { failedOut: path.join(dir, 'dl.jsonl'), ...options })
  }

  it('several inputs in the order given, counted per file and in total; dead letters name the input and line', async () => {
    const { lib, state } = makeFakeLib({ failPk: new Set(['f']) })
    const a = write('a.jsonl', [{ pk: 'a1' }, '', '{oops', { pk: 'f' }])
    const b = write('b.json.gz', [{ pk: 'b1' }, { pk: 5 }, { pk: 'b3' }], true)
    const s = await job(lib, [a, b]).run()
    assert.deepEqual(state.items.map((i) => i.pk), ['a1', 'f', 'b1', 'b3'])
    assert.deepEqual([s.read, s.written, s.skipped, s.failed, s.invalidLines], [6, 3, 0, 3, 2])
    assert.deepEqual(s.files, [
      { input: a, read: 3, written: 1, failed: 2, invalidLines: 1, complete: true },
      { input: b, read: 3, written: 2, failed: 1, invalidLines: 1, complete: true },
    ])
    assert.deepEqual(
      deadLetters(s.failedOut).map((d) => [path.basename(d.input), d.line, d.reason]),
      [
        ['a.jsonl', 3, 'InvalidLine'],
        ['b.json.gz', 2, 'InvalidItem'],
        ['a.jsonl', 4, 'ValidationException'],
      ],
    )
    assert.equal(s.errors, undefined)
  })

  it('an export folder: Item lines put, counts checked per file, a truncated file and a wrong count reported', async () => {
    const { lib, state } = makeFakeLib()
    const ex = makeExport(path.join(dir, 'ex'), [
      { name: 'one.json.gz', lines: [{ Item: { pk: { S: 'a' } } }, { Item: { pk: { S: 'b' } } }] },
      { name: 'empty.json.gz', lines: [] },
      { name: 'count.json.gz', lines: [{ Item: { pk: { S: 'c' } } }], itemCount: 2 },
      { name: 'cut.json.gz', lines: [{ Item: { pk: { S: 'd' } } }, { Item: { pk: { S: 'e' } } }] },
      { name: 'bare.json.gz', lines: [{ pk: { S: 'x' } }] },
    ])
    const cut = path.join(ex, 'data', 'cut.json.gz')
    const gz = fs.readFileSync(cut)
    fs.writeFileSync(cut, gz.subarray(0, gz.length - 12))
    const events = []
    const s = await job(lib, ex, { onEvent: (e) => events.push(e) }).run()
    assert.deepEqual(state.items.map((i) => i.pk).sort(), ['a', 'b', 'c', 'd'])
    const byName = Object.fromEntries(s.files.map((f) => [path.basename(f.input), f]))
    assert.deepEqual(byName['empty.json.gz'], { input: path.join(ex, 'data', 'empty.json.gz'), read: 0, written: 0, failed: 0, invalidLines: 0, expectedItems: 0, complete: true })
    assert.equal(byName['count.json.gz'].complete, false)
    assert.equal(byName['cut.json.gz'].complete, false)
    assert.deepEqual(s.errors.map((e) => e.message).sort(), [
      `${path.join(ex, 'data', 'count.json.gz')}: 1 items read, manifest-files.json lists 2`,
      `${cut}: the gzip data is truncated (unexpected end of file) (read up to line 1)`,
    ])
    assert.equal(events.filter((e) => e.type === 'error').length, 2)
    // an export's line is strictly {"Item": …}
    const bare = deadLetters(s.failedOut)
    assert.equal(bare.length, 1)
    assert.deepEqual([path.basename(bare[0].input), bare[0].line, bare[0].reason], ['bare.json.gz', 1, 'InvalidLine'])
    assert.match(bare[0].message, /a full export's line is \{"Item": \{\.\.\.\}\}, got the fields "pk"/)
  })

  it('an incremental export: NewImage puts, otherwise deletes Keys; an inconsistent line is refused', async () => {
    const { lib, state } = makeFakeLib()
    const meta = { WriteTimestampMicros: { N: '1700000000000000' } }
    const ex = makeExport(
      path.join(dir, 'inc'),
      [
        {
          name: 'x.json.gz',
          lines: [
            { Metadata: meta, Keys: { pk: { S: 'a' } }, NewImage: { pk: { S: 'a' }, v: { N: '2' } }, OldImage: { pk: { S: 'a' }, v: { N: '1' } } },
            { Metadata: meta, Keys: { pk: { S: 'gone' } }, OldImage: { pk: { S: 'gone' } } },
            { Metadata: meta, Keys: { pk: { S: 'b' } }, NewImage: { pk: { S: 'B' } } },
          ],
        },
      ],
      { exportType: 'INCREMENTAL_EXPORT' },
    )
    const s = await job(lib, ex).run()
    const w = state.writers[0]
    assert.deepEqual([w.puts, w.deletes], [1, 1])
    assert.deepEqual(state.items, [{ pk: 'a', v: new (lib.NumberValue)('2') }, { pk: 'gone' }])
    assert.deepEqual([s.putsWritten, s.deletesWritten, s.failed], [1, 1, 1])
    assert.match(deadLetters(s.failedOut)[0].message, /^NewImage\.pk: the key attribute differs from Keys\.pk$/)
    await assert.rejects(job(lib, ex, { operation: 'delete' }).run(), { code: 'InvalidArgument', message: /an incremental export's lines say themselves/ })
    await assert.rejects(job(lib, ex, { format: 'json' }).run(), { code: 'InvalidArgument', message: 'format json does not apply to a DynamoDB export folder (its lines are DynamoDB JSON)' })
  })

  it('a shard is passed to the writer; the summary separates written and skipped', async () => {
    const { lib, state } = makeFakeLib()
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`)
    const f = write('s.jsonl', keys.map((pk) => ({ pk })))
    const s = await job(lib, f, { shard: { index: 1, count: 3 } }).run()
    assert.deepEqual(state.writers[0].options.shard, { index: 1, count: 3 })
    const mine = keys.filter((k) => fakeShard(k, 3) === 1).length
    assert.deepEqual([s.read, s.written, s.skipped, s.failed], [30, mine, 30 - mine, 0])
    assert.deepEqual(s.files[0], { input: f, read: 30, writtenOrSkipped: 30, failed: 0, invalidLines: 0, complete: true })
  })

  it('a writer without sharding support is refused rather than loading everything', async () => {
    const { lib } = makeFakeLib({ noShard: true })
    const f = write('s.jsonl', [{ pk: 'a' }])
    await assert.rejects(job(lib, f, { shard: { index: 0, count: 2 } }).run(), {
      code: 'InvalidArgument',
      message: 'this build of dynabatch cannot shard: its BatchWriter has no shard option (no `skipped` count)',
    })
  })

  it('options are checked: unknown names, shards, formats, a checkpoint on a stream', async () => {
    const { lib } = makeFakeLib()
    const bad = (options, message, input = 'x') => assert.throws(() => job(lib, input, options), { code: 'InvalidArgument', message })
    bad({ bogus: 1 }, 'unknown option bogus')
    bad({ shard: { index: 3, count: 3 } }, 'shard must be { index, count } with whole numbers 0 <= index < count, got {"index":3,"count":3}')
    bad({ format: 'csv' }, `format must be 'json' or 'ddb-json', got "csv"`)
    bad({ operation: 'update' }, `operation must be 'put' or 'delete', got "update"`)
    await assert.rejects(job(lib, Readable.from(['{"pk":"a"}\n']), { checkpoint: path.join(dir, 'ck') }).run(), {
      code: 'InvalidArgument',
      message: 'a checkpoint needs inputs that can be read again (files, directories, export folders), not a stream',
    })
  })

  it('a dead-letter record is applied again with its own operation', async () => {
    const { lib } = makeFakeLib()
    const f = write('dl-in.jsonl', [
      { input: 'x', line: 1, operation: 'delete', reason: 'Throttled', message: 'm', attempts: 3, item: { pk: { S: 'a' } } },
      { input: 'x', line: 2, operation: 'put', reason: 'Throttled', message: 'm', attempts: 3, item: { pk: { S: 'b' } } },
    ])
    const s = await job(lib, f, { format: 'ddb-json' }).run()
    assert.deepEqual([s.deletesWritten, s.putsWritten], [1, 1])
  })

  it('with a checkpoint: positions recorded after each flush; an interrupted run is drained (not aborted) and resumes exactly', async () => {
    const keys = Array.from({ length: 20000 }, (_, i) => `k${i}`) // several chunks
    const f = write('c.jsonl', keys.map((pk) => ({ pk })))
    const ck = path.join(dir, 'ck.json')
    const ac = new AbortController()
    const first = makeFakeLib({ blockAfter: 50, onBlocked: () => ac.abort() })
    const s1 = await job(first.lib, f, { checkpoint: ck, signal: ac.signal }).run()
    assert.equal(s1.interrupted, true)
    assert.equal(s1.failed, 0) // nothing dead-lettered as Aborted: it was written, and recorded
    const saved = JSON.parse(fs.readFileSync(ck, 'utf8'))
    assert.equal(saved.positions[0].line, s1.written)
    assert.ok(s1.written > 0 && s1.written < keys.length, `${s1.written} written`)
    assert.equal(saved.complete, false)
    const second = makeFakeLib()
    const s2 = await job(second.lib, f, { checkpoint: ck }).run()
    assert.deepEqual([...first.state.items, ...second.state.items].map((i) => i.pk), keys) // every line once, in order
    assert.deepEqual(s2.checkpoint, { path: ck, resumedLines: s1.written, failedBefore: 0, complete: true })
    assert.equal(s2.files[0].resumedLines, s1.written)
    const third = makeFakeLib()
    const s3 = await job(third.lib, f, { checkpoint: ck }).run()
    assert.deepEqual([s3.read, third.state.items.length, s3.checkpoint.resumedLines], [0, 0, 20000])
  })

  it('resuming keeps the dead letters of the lines below the checkpoint and drops the others (read again)', async () => {
    const f = write('r.jsonl', [{ pk: 'a' }, '{bad1', { pk: 'b' }, '{bad2', { pk: 'c' }])
    const ck = path.join(dir, 'ck.json')
    const dl = path.join(dir, 'dl.jsonl')
    const { lib } = makeFakeLib()
    const cp = await Checkpoint.open(ck, { table: 'users', operation: 'put', format: null, shard: null, failedOut: dl, inputs: [await fingerprint(f)] })
    cp.save([{ line: 3, items: 3 }])
    // as a killed run leaves it: a record below the position, one above, and a torn last line
    fs.writeFileSync(dl, [JSON.stringify({ input: f, line: 2, reason: 'InvalidLine', item: null }), JSON.stringify({ input: f, line: 4, reason: 'InvalidLine', item: null }), '{"input":'].join('\n'))
    const s = await job(lib, f, { checkpoint: ck }).run()
    assert.deepEqual([s.read, s.written, s.failed], [2, 1, 1])
    assert.deepEqual(s.checkpoint, { path: ck, resumedLines: 3, failedBefore: 1, complete: true })
    assert.deepEqual(deadLetters(dl).map((d) => d.line), [2, 4])
  })

  it('failures reported by a periodic flush are dead-lettered and synced before the checkpoint that covers them', async () => {
    // k3 fails; the put of k2500 (in a later chunk) waits until a flush, so periodic flushes happen mid-file
    const { lib } = makeFakeLib({ failPk: new Set(['k3']), holdPk: 'k2500' })
    const f = write('p.jsonl', Array.from({ length: 3000 }, (_, i) => ({ pk: `k${i}`, pad: 'x'.repeat(30) })))
    const ck = path.join(dir, 'ck.json')
    const dl = path.join(dir, 'dl.jsonl')
    const saves = []
    const save = Checkpoint.prototype.save
    Checkpoint.prototype.save = function (positions, complete) {
      saves.push({ line: (positions || this.positions)[0].line, deadOnDisk: fs.existsSync(dl) ? deadLetters(dl).map((d) => d.line) : [] })
      return save.call(this, positions, complete)
    }
    try {
      await job(lib, f, { checkpoint: ck, checkpointIntervalMs: 5 }).run()
    } finally {
      Checkpoint.prototype.save = save
    }
    assert.deepEqual(saves[0], { line: 0, deadOnDisk: [] }) // the fresh checkpoint, before any work
    // every save: each line up to its position is written or already in the dead-letter file on disk
    for (const sv of saves) if (sv.line >= 4) assert.deepEqual(sv.deadOnDisk, [4], JSON.stringify(sv))
    const mid = saves.filter((sv) => sv.line > 4 && sv.line < 2501)
    assert.ok(mid.length > 0, JSON.stringify(saves)) // a position recorded while line 2501 was pending
    assert.deepEqual(saves.at(-1), { line: 3000, deadOnDisk: [4] })
    assert.equal(JSON.parse(fs.readFileSync(ck, 'utf8')).complete, true)
  })
})

describe('checkpoint flushes and the hand-over', () => {
  it('nothing is handed over while a checkpoint flush runs (the writer drains, so the flush resolves)', async () => {
    const dir = tmpdir()
    const f = path.join(dir, 'g.jsonl')
    fs.writeFileSync(f, Array.from({ length: 30000 }, (_, i) => JSON.stringify({ pk: `k${i}` })).join('\n'))
    const { lib, state } = makeFakeLib({ slowFlushMs: 20, blockAfter: 1500 })
    const s = await new ImportJob(lib, new lib.DynamoDBClient({}), 'users', f, { checkpoint: path.join(dir, 'ck'), checkpointIntervalMs: 1, failedOut: path.join(dir, 'dl') }).run()
    assert.equal(s.written, 30000)
    assert.ok(state.writers[0].flushes > 1, 'periodic flushes ran')
    assert.equal(state.pushedWhileFlushing, undefined)
    fs.rmSync(dir, { recursive: true, force: true })
  })
})

describe('dynabatch command (fake writer): shards, several inputs, credentials', () => {
  let dir
  beforeEach(() => {
    dir = tmpdir()
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  async function run(args, lib) {
    const stdout = capture()
    const stderr = capture()
    const code = await main(args, { cwd: dir, stdout, stderr, isTTY: false, loadLib: () => lib, onSignal: () => () => {} })
    return { code, out: stdout.text, err: stderr.text }
  }

  it('--shard reaches the writer and the summary counts skipped lines; a writer without shards fails before reading', async () => {
    fs.writeFileSync(path.join(dir, 'a.jsonl'), ['a', 'b', 'c', 'd'].map((pk) => JSON.stringify({ pk })).join('\n'))
    const { lib, state } = makeFakeLib()
    const r = await run(['import', 'a.jsonl', '-t', 'users', '--shard', '0/2'], lib)
    assert.equal(r.code, 0, r.err)
    assert.deepEqual(state.writers[0].options.shard, { index: 0, count: 2 })
    assert.match(r.err, /4 items read, 2 written, 2 skipped \(other shards\), 0 failed/)
    const none = await run(['import', 'a.jsonl', '-t', 'users', '--shard', '0/2'], makeFakeLib({ noShard: true }).lib)
    assert.equal(none.code, 2)
    assert.match(none.err, /cannot shard/)
  })

  it('several inputs: one line per finished file, the dead letters in ./dynabatch-failed.jsonl', async () => {
    fs.writeFileSync(path.join(dir, 'a.jsonl'), '{"pk":"a"}\n{nope\n')
    fs.writeFileSync(path.join(dir, 'b.jsonl'), '{"pk":"b"}\n')
    const { lib } = makeFakeLib()
    const r = await run(['import', 'a.jsonl', 'b.jsonl', '-t', 'users'], lib)
    assert.equal(r.code, 1)
    assert.match(r.err, new RegExp(`${path.join(dir, 'a.jsonl')}: line 2: invalid JSON`))
    assert.match(r.err, new RegExp(`${path.join(dir, 'a.jsonl')}: 2 lines read, 1 failed\\n`))
    assert.match(r.err, new RegExp(`${path.join(dir, 'b.jsonl')}: 1 line read, 0 failed\\n`))
    assert.equal(deadLetters(path.join(dir, 'dynabatch-failed.jsonl'))[0].line, 2)
  })

  it('missing credentials: the message says which variables and flags supply them', async () => {
    fs.writeFileSync(path.join(dir, 'a.jsonl'), '{"pk":"a"}\n')
    const { lib } = makeFakeLib({ describeError: Object.assign(new Error('could not load AWS credentials'), { code: 'CredentialsError' }) })
    const r = await run(['import', 'a.jsonl', '-t', 'users', '--endpoint', 'http://127.0.0.1:8000'], lib)
    assert.equal(r.code, 1)
    assert.equal(
      r.err,
      'dynabatch: cannot describe table users: could not load AWS credentials\n' +
        'No AWS credentials were found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for DynamoDB Local or dynalite any values do, ' +
        'e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local), or name a profile with AWS_PROFILE or --profile\n',
    )
  })

  it('a checkpoint of another job: exit 2 with the reason', async () => {
    fs.writeFileSync(path.join(dir, 'a.jsonl'), '{"pk":"a"}\n')
    const { lib } = makeFakeLib()
    assert.equal((await run(['import', 'a.jsonl', '-t', 'users', '--checkpoint', 'ck', '-q'], lib)).code, 0)
    const r = await run(['import', 'a.jsonl', '-t', 'users', '--checkpoint', 'ck', '--shard', '0/2'], lib)
    assert.equal(r.code, 2)
    assert.match(r.err, /the checkpoint .*ck was made for another job: its --shard is none, this run's is 0\/2/)
  })
})

describe('dead-letter file on resume', () => {
  it('a missing file keeps nothing; records are appended after the kept ones', async () => {
    const dir = tmpdir()
    const file = path.join(dir, 'dl.jsonl')
    const d = new DeadLetterFile(file)
    assert.equal(await d.resume(() => true), 0)
    d.write({ line: 1 })
    d.close()
    const again = new DeadLetterFile(file)
    assert.equal(await again.resume((r) => r.line === 1), 1)
    again.write({ line: 2 })
    again.close()
    assert.equal(fs.readFileSync(file, 'utf8'), '{"line":1}\n{"line":2}\n')
    assert.equal(again.created, true)
    fs.rmSync(dir, { recursive: true, force: true })
  })
})
