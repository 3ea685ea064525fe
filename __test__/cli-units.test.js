'use strict'
// The CLI's pieces without the native addon: exact-number JSON parsing, DynamoDB JSON both ways, argument
// validation, progress formatting, the dead-letter file, and main()'s bookkeeping (line numbers, dead letters,
// summary, exit codes, SIGINT) against a fake BatchWriter. NumberValue is a stand-in with the same surface.

const { describe, it, beforeEach, afterEach } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Readable } = require('node:stream')

const { parseJsonExact, createLineParser, pickMarker, LineError } = require('../lib/import/json-lines.js')
const { createDdbJson, unwrapRecord } = require('../lib/import/ddb-json.js')
const { parseCommandLine, parseKeySpec, parseShard, UsageError } = require('../lib/cli/args.js')
const { Progress, RateMeter, formatStatus, estimate, duration } = require('../lib/cli/progress.js')
const { DeadLetterFile } = require('../lib/import/dead-letter.js')
const { main } = require('../lib/cli/main.js')
const { makeFakeLib, NumberValue, capture } = require('./helpers/fake-writer.js')

const nv = (t) => new NumberValue(t)
const ddb = createDdbJson(NumberValue)

describe('exact numbers in JSON lines', () => {
  it('lines without long or exponent literals are plain JSON.parse', () => {
    const line = '{"pk":"a","n":42,"f":-0.5,"big":123456789012345,"l":[1,2.25,{"x":null}],"t":true}'
    assert.deepEqual(parseJsonExact(line, NumberValue), JSON.parse(line))
  })

  it('literals a double would round become NumberValue with their original text', () => {
    const v = parseJsonExact('{"a":12345678901234567890,"b":0.1000000000000000000001,"c":[-98765432109876543210.5]}', NumberValue)
    assert.ok(v.a instanceof NumberValue)
    assert.equal(v.a.value, '12345678901234567890')
    assert.equal(v.b.value, '0.1000000000000000000001')
    assert.equal(v.c[0].value, '-98765432109876543210.5')
  })

  it('a literal with an exponent or 16+ mantissa characters is a NumberValue with its text; shorter ones are numbers', () => {
    const v = parseJsonExact(
      '{"a":1.5e3,"b":9007199254740991,"c":0.12345678901234,"d":1.000000000000000,"e":25E-2,"f":123456789012345,"g":-0.5,"h":-123456789012345,"i":0.1234567890123}',
      NumberValue,
    )
    assert.deepEqual(
      [v.a, v.b, v.c, v.d, v.e].map((x) => x instanceof NumberValue && x.value),
      ['1.5e3', '9007199254740991', '0.12345678901234', '1.000000000000000', '25E-2'],
    )
    assert.deepEqual([v.f, v.g, v.h, v.i], [123456789012345, -0.5, -123456789012345, 0.1234567890123])
  })

  it('integers beyond the safe range are NumberValue', () => {
    const v = parseJsonExact('{"a":1e20,"b":9007199254740993,"c":-9007199254740992}', NumberValue)
    assert.equal(v.a.value, '1e20')
    assert.equal(v.b.value, '9007199254740993')
    assert.equal(v.c.value, '-9007199254740992')
  })

  it('a token that is not a JSON number is a syntax error, never a NumberValue', () => {
    for (const bad of ['01e5', '1.e5', '-.5e1', '00000000000000001', '1.2.3.4.5.6.7.8.9']) {
      assert.throws(() => parseJsonExact(`{"a":${bad}}`, NumberValue), { name: 'SyntaxError' }, bad)
    }
  })

  it('digits inside strings, escaped quotes and keys are left alone', () => {
    const line = '{"s":"12345678901234567890","q":"say \\"1e99\\" \\\\","n":12345678901234567890,"k12345678901234567":1}'
    const v = parseJsonExact(line, NumberValue)
    assert.equal(v.s, '12345678901234567890')
    assert.equal(v.q, 'say "1e99" \\')
    assert.equal(v.n.value, '12345678901234567890')
    assert.equal(v.k12345678901234567, 1)
  })

  it('picks a marker no string of the line can contain', () => {
    const line = '{"a":"\\u0001x","b":"\\u0002","n":12345678901234567890}'
    assert.equal(pickMarker(line), 3)
    const v = parseJsonExact(line, NumberValue)
    assert.deepEqual([v.a, v.b, v.n.value], ['\u0001x', '\u0002', '12345678901234567890'])
    assert.equal(pickMarker('{"a":"\\U0001\\u0002"}'), 3) // escapes are case-insensitive
  })

  it('syntax errors read as JSON.parse reports the original line', () => {
    const bad = '{"n":12345678901234567890,}'
    let expected
    try {
      JSON.parse(bad)
    } catch (e) {
      expected = e.message
    }
    assert.throws(() => parseJsonExact(bad, NumberValue), { name: 'SyntaxError', message: expected })
  })

  it('numbers DynamoDB cannot hold fail with code InvalidItem', () => {
    assert.throws(() => parseJsonExact('{"n":1e400}', NumberValue), { code: 'InvalidItem' })
  })
})

describe('line parsers', () => {
  const json = createLineParser({ format: 'json', NumberValue })
  const dj = createLineParser({ format: 'ddb-json', NumberValue })

  it('json: an object per line; anything else is an InvalidLine LineError', () => {
    assert.deepEqual(json('{"pk":"a"}'), { pk: 'a' })
    for (const bad of ['[1]', '"x"', 'null', '{"pk":', 'nope']) {
      assert.throws(() => json(bad), (e) => e instanceof LineError && e.reason === 'InvalidLine')
    }
    assert.throws(() => json('{"n":1e400}'), (e) => e instanceof LineError && e.reason === 'InvalidItem')
  })

  it('ddb-json: every type converts to the marshalling values', () => {
    const line = JSON.stringify({
      pk: { S: 'a' },
      n: { N: '12345678901234567890.5' },
      b: { B: Buffer.from('hi').toString('base64') },
      ss: { SS: ['x', 'y'] },
      ns: { NS: ['1', '2.5'] },
      bs: { BS: [Buffer.from([1]).toString('base64')] },
      m: { M: { in: { L: [{ S: 's' }, { NULL: true }, { BOOL: false }] } } },
      nul: { NULL: true },
      t: { BOOL: true },
    })
    const item = dj(line)
    assert.equal(item.pk, 'a')
    assert.equal(item.n.value, '12345678901234567890.5')
    assert.deepEqual(item.b, Buffer.from('hi'))
    assert.deepEqual(item.ss, new Set(['x', 'y']))
    assert.deepEqual([...item.ns].map(String), ['1', '2.5'])
    assert.deepEqual([...item.bs], [Buffer.from([1])])
    assert.deepEqual(item.m, { in: ['s', null, false] })
    assert.equal(item.nul, null)
    assert.equal(item.t, true)
  })

  it('ddb-json: S3-export wrappers and dead-letter records are unwrapped', () => {
    assert.deepEqual(dj('{"Item":{"pk":{"S":"a"}}}'), { pk: 'a' })
    assert.deepEqual(dj('{"line":3,"reason":"Throttled","message":"m","item":{"pk":{"S":"b"}}}'), { pk: 'b' })
    // an item whose only attribute is named Item / item is not a wrapper
    assert.deepEqual(dj('{"Item":{"S":"x"}}'), { Item: 'x' })
    assert.deepEqual(dj('{"Item":{"M":{"pk":{"S":"a"}}}}'), { Item: { pk: 'a' } })
    assert.deepEqual(dj('{"item":{"S":"x"},"line":{"N":"1"}}'), { item: 'x', line: nv('1') })
  })

  it('ddb-json: errors name the path and keep the DynamoDB JSON for the dead-letter file', () => {
    assert.throws(
      () => dj('{"pk":{"S":"a"},"m":{"M":{"x y":{"L":[{"N":"abc"}]}}}}'),
      (e) =>
        e.reason === 'InvalidItem' &&
        e.message.startsWith('item.m["x y"][0]: ') &&
        e.ddbItem.m.M['x y'].L[0].N === 'abc',
    )
    assert.throws(() => dj('{"pk":{"S":"a","N":"1"}}'), /item\.pk: expected exactly one type key/)
    assert.throws(() => dj('{"pk":"a"}'), /item\.pk: expected an attribute value/)
    assert.throws(() => dj('{"b":{"B":"not base64!"}}'), /item\.b: binary must be canonical base64/)
    assert.throws(() => dj('{"n":{"N":5}}'), /item\.n: a number must be given as a string/)
    assert.throws(() => dj('{"x":{"NULL":false}}'), /NULL must hold true/)
    assert.throws(() => dj('[]'), (e) => e.reason === 'InvalidLine')
    assert.throws(
      () => dj('{"line":1,"reason":"InvalidLine","message":"m","item":null,"raw":"{oops"}'),
      (e) => e.reason === 'InvalidLine' && e.raw === '{oops' && /has no item/.test(e.message),
    )
  })
})

describe('strict DynamoDB JSON (every field checked; a failure names the line\'s attribute path)', () => {
  const dj = createLineParser({ format: 'ddb-json', NumberValue })
  // Throws a LineError whose message starts with the path and matches `re`.
  function refused(value, path, re) {
    const line = JSON.stringify({ pk: { S: 'a' }, x: value })
    assert.throws(
      () => dj(line),
      (e) => {
        assert.ok(e instanceof LineError, `${line}: not a LineError`)
        assert.equal(e.reason, 'InvalidItem', line)
        assert.ok(e.message.startsWith(`${path}: `), `${line}: ${e.message}`)
        assert.match(e.message, re, line)
        return true
      },
    )
  }

  it('B: only canonical base64 (alphabet, length, padding, no stray bits)', () => {
    for (const bad of ['Q', 'hello', 'QQ', 'QQ=', 'Q===', 'QR==', 'QUI', 'QUJ=', 'a-b_', 'QQ==\n', ' QQ==', 'QQ==QQ==', '====', 'Q Q=']) {
      refused({ B: bad }, 'item.x', /canonical base64/)
    }
    assert.deepEqual(dj('{"pk":{"S":"a"},"x":{"B":"QQ=="}}').x, Buffer.from('A'))
    assert.deepEqual(dj('{"pk":{"S":"a"},"x":{"B":"QUJD"}}').x, Buffer.from('ABC'))
    assert.deepEqual(dj('{"pk":{"S":"a"},"x":{"B":""}}').x, Buffer.alloc(0)) // an empty binary is DynamoDB's call (allowed outside keys)
    refused({ B: 5 }, 'item.x', /canonical base64/)
  })

  it('BS: a non-empty array of canonical base64 members', () => {
    refused({ BS: ['QQ==', 'Q'] }, 'item.x[1]', /canonical base64/)
    refused({ BS: ['hello'] }, 'item.x[0]', /canonical base64/)
    refused({ BS: [] }, 'item.x', /BS must hold at least one member/)
    refused({ BS: [7] }, 'item.x[0]', /canonical base64/)
    refused({ BS: 'QQ==' }, 'item.x', /BS must hold an array/)
  })

  it('N and NS: DynamoDB number text exactly, no surrounding space', () => {
    for (const bad of [' 1', '1 ', '', 'abc', '0x10', 'NaN', 'Infinity', '1e400', '1,5', '--1']) refused({ N: bad }, 'item.x', /not a valid DynamoDB number|significant digits|number/)
    refused({ N: 5 }, 'item.x', /a number must be given as a string/)
    assert.equal(dj('{"pk":{"S":"a"},"x":{"N":"1E+2"}}').x.value, '1E+2')
    refused({ NS: [] }, 'item.x', /NS must hold at least one member/)
    refused({ NS: ['1', 2] }, 'item.x[1]', /a number must be given as a string/)
    refused({ NS: ['1', ' 2'] }, 'item.x[1]', /not a valid DynamoDB number/)
  })

  it('SS: a non-empty array of distinct strings', () => {
    refused({ SS: [] }, 'item.x', /SS must hold at least one member/)
    refused({ SS: ['a', 1] }, 'item.x[1]', /SS members must be strings/)
    refused({ SS: ['a', 'b', 'a'] }, 'item.x[2]', /a member equal to an earlier one of this SS/)
  })

  it('BOOL, NULL, S, M, L: the payload type exactly', () => {
    refused({ BOOL: 'true' }, 'item.x', /BOOL must hold true or false/)
    refused({ BOOL: 1 }, 'item.x', /BOOL must hold true or false/)
    refused({ NULL: false }, 'item.x', /NULL must hold true/)
    refused({ NULL: 'true' }, 'item.x', /NULL must hold true/)
    refused({ NULL: null }, 'item.x', /NULL must hold true/)
    refused({ S: 1 }, 'item.x', /S must hold a string/)
    refused({ M: [] }, 'item.x', /M must hold an object/)
    refused({ L: {} }, 'item.x', /L must hold an array/)
    refused({ M: { in: { L: [{ B: 'Q' }] } } }, 'item.x.in[0]', /canonical base64/)
  })

  it('exactly one type per value', () => {
    refused({}, 'item.x', /expected exactly one type key/)
    refused({ S: 'a', N: '1' }, 'item.x', /expected exactly one type key/)
    refused({ X: 'a' }, 'item.x', /expected exactly one type key/)
  })
})

describe('DynamoDB JSON from JS values', () => {
  it('round-trips every type', () => {
    const item = {
      pk: 'a',
      n: 5,
      big: nv('12345678901234567890'),
      bi: 10n,
      b: Buffer.from([0, 255]),
      u8: new Uint8Array([7]),
      ss: new Set(['x']),
      ns: new Set([1, nv('2')]),
      bs: new Set([Buffer.from('z')]),
      l: [null, true, 'x', [1]],
      m: { deep: { v: 'w' } },
      map: new Map([['k', 'v']]),
    }
    const d = ddb.toItem(item)
    assert.deepEqual(d, {
      pk: { S: 'a' },
      n: { N: '5' },
      big: { N: '12345678901234567890' },
      bi: { N: '10' },
      b: { B: 'AP8=' },
      u8: { B: 'Bw==' },
      ss: { SS: ['x'] },
      ns: { NS: ['1', '2'] },
      bs: { BS: ['eg=='] },
      l: { L: [{ NULL: true }, { BOOL: true }, { S: 'x' }, { L: [{ N: '1' }] }] },
      m: { M: { deep: { M: { v: { S: 'w' } } } } },
      map: { M: { k: { S: 'v' } } },
    })
    const back = ddb.fromItem(JSON.parse(JSON.stringify(d)))
    assert.equal(back.big.value, '12345678901234567890')
    assert.deepEqual(back.b, Buffer.from([0, 255]))
    assert.deepEqual(back.m, { deep: { v: 'w' } })
  })

  it('a "__proto__" attribute stays an attribute', () => {
    const item = ddb.fromItem(JSON.parse('{"__proto__":{"S":"x"},"pk":{"S":"a"}}'))
    assert.equal(Object.getPrototypeOf(item), Object.prototype)
    assert.deepEqual(Object.keys(item), ['__proto__', 'pk'])
    assert.deepEqual(ddb.toItem(item), JSON.parse('{"__proto__":{"S":"x"},"pk":{"S":"a"}}'))
  })

  it('refuses what has no DynamoDB JSON form', () => {
    assert.throws(() => ddb.toItem({ s: new Set(['a', 1]) }), /item\.s\[1\]: a set must hold only/)
    assert.throws(() => ddb.toItem({ u: undefined }), /item\.u: undefined/)
    assert.throws(() => ddb.toItem({ n: NaN }), /item\.n: NaN/)
    assert.deepEqual(ddb.toItem({ e: new Set() }), { e: { SS: [] } })
  })

  it('unwrapRecord leaves plain items alone', () => {
    const o = { pk: { S: 'a' } }
    assert.equal(unwrapRecord(o), o)
  })
})

describe('arguments', () => {
  const cwd = '/data'
  const parse = (...a) => parseCommandLine(a, { cwd })
  const usage = (args, re) => assert.throws(() => parse(...args), (e) => e instanceof UsageError && e.exitCode === 2 && re.test(e.message))

  it('defaults', () => {
    const c = parse('import', 'items.jsonl', '--table', 'users')
    assert.equal(c.command, 'import')
    assert.deepEqual(c.inputs, ['/data/items.jsonl'])
    assert.equal(c.format, undefined) // json, except for export folders (DynamoDB JSON)
    assert.equal(c.failedOut, '/data/items.jsonl.failed.jsonl')
    assert.equal(c.checkpoint, undefined)
    assert.equal(c.shard, undefined)
    assert.equal(c.statusIntervalMs, 5000)
    assert.equal(c.concurrency, undefined)
    assert.equal(c.quiet, false)
    assert.equal(parse('delete', '-', '-t', 'users').failedOut, '/data/dynabatch-failed.jsonl')
    assert.deepEqual(parse('delete', '-', '-t', 'users').inputs, ['-'])
    // several inputs: one dead-letter file in the working directory; a directory: <dir>.failed.jsonl
    const many = parse('import', 'a.jsonl', 'exports/', '-', '-t', 'users')
    assert.deepEqual(many.inputs, ['/data/a.jsonl', '/data/exports', '-'])
    assert.equal(many.failedOut, '/data/dynabatch-failed.jsonl')
    assert.equal(parse('import', 'exports/', '-t', 'users').failedOut, '/data/exports.failed.jsonl')
    // shards sharing a directory each have their own
    assert.equal(parse('import', 'a.jsonl', '-t', 'users', '--shard', '1/3').failedOut, '/data/a.jsonl.shard-1-of-3.failed.jsonl')
    assert.equal(parse('import', '-', '-t', 'users', '--shard', '0/2').failedOut, '/data/dynabatch.shard-0-of-2.failed.jsonl')
  })

  it('every option', () => {
    const c = parse(
      'delete', 'k.jsonl', '--table=users', '-f', 'ddb-json', '--endpoint', 'http://127.0.0.1:8000', '--region', 'eu-west-1',
      '--profile', 'p', '--concurrency', '4', '--adaptive', '500', '--max-retries', '0', '--flush-amount', '10',
      '--create-table', 'pk:s,sk:N', '--failed-out', 'out/f.jsonl', '--status-interval', '0.5', '-q', '--json',
      '--shard', '2/3', '--checkpoint', 'run.ckpt',
    )
    assert.deepEqual(
      { ...c },
      {
        command: 'delete',
        inputs: ['/data/k.jsonl'],
        table: 'users',
        format: 'ddb-json',
        endpoint: 'http://127.0.0.1:8000',
        region: 'eu-west-1',
        profile: 'p',
        concurrency: 4,
        rateLimit: undefined,
        adaptive: 500,
        maxRetries: 0,
        flushAmount: 10,
        createTable: { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } },
        failedOut: '/data/out/f.jsonl',
        checkpoint: '/data/run.ckpt',
        shard: { index: 2, count: 3 },
        statusIntervalMs: 500,
        quiet: true,
        json: true,
      },
    )
    assert.deepEqual(parse('--help'), { help: true })
    assert.deepEqual(parse('-v'), { version: true })
  })

  it('usage errors', () => {
    usage([], /missing command/)
    usage(['load', 'f', '-t', 'users'], /unknown command "load"/)
    usage(['import', '-t', 'users'], /import needs an input: a file, a directory, an export folder, or - for stdin/)
    usage(['import', '-', '-', '-t', 'users'], /- \(stdin\) can be read only once/)
    usage(['import', 'f'], /--table is required/)
    usage(['import', 'f', '-t', ''], /--table is required/)
    usage(['import', 'f', '-t', 'users', '--bogus'], /Unknown option '--bogus'/)
    usage(['import', 'f', '-t', 'users', '--format', 'csv'], /--format must be json or ddb-json/)
    usage(['import', 'f', '-t', 'users', '--endpoint', 'localhost:8000'], /--endpoint must be an http\(s\) URL/)
    usage(['import', 'f', '-t', 'users', '--concurrency', '0'], /--concurrency must be between 1 and 1000/)
    usage(['import', 'f', '-t', 'users', '--concurrency', '2.5'], /--concurrency must be a whole number/)
    usage(['import', 'f', '-t', 'users', '--flush-amount', '26'], /--flush-amount must be between 1 and 25/)
    usage(['import', 'f', '-t', 'users', '--rate-limit', '0'], /--rate-limit must be a positive number/)
    usage(['import', 'f', '-t', 'users', '--adaptive', '1e3x'], /--adaptive must be a positive number/)
    usage(['import', 'f', '-t', 'users', '--rate-limit', '10', '--adaptive', '10'], /either --rate-limit or --adaptive/)
    usage(['import', 'f', '-t', 'users', '--failed-out', 'f'], /--failed-out must not be an input file/)
    usage(['import', 'f', 'g', '-t', 'users', '--failed-out', 'g'], /--failed-out must not be an input file/)
    usage(['import', '-', '-t', 'users', '--checkpoint', 'c'], /--checkpoint needs inputs that can be read again: not - \(stdin\)/)
    usage(['import', 'f', '-t', 'users', '--checkpoint', 'f'], /--checkpoint must not be an input file/)
    usage(['import', 'f', '-t', 'users', '--checkpoint', 'x', '--failed-out', 'x'], /--checkpoint must not be the dead-letter file/)
    for (const bad of ['3/3', '1', '-1/3', '0/0', 'a/b', '1/2/3', '1.5/3']) {
      usage(['import', 'f', '-t', 'users', `--shard=${bad}`], /--shard takes I\/N with 0 <= I < N, e\.g\. 0\/3/)
    }
    usage(['import', 'f', '-t', 'users', '--status-interval', '0'], /--status-interval must be a positive number/)
  })

  it('--shard I/N', () => {
    assert.deepEqual(parseShard('0/3'), { index: 0, count: 3 })
    assert.deepEqual(parseShard(' 2 / 3 '), { index: 2, count: 3 })
    assert.deepEqual(parseShard('0/1'), { index: 0, count: 1 })
  })

  it('--create-table specs', () => {
    assert.deepEqual(parseKeySpec('pk:S'), { partitionKey: { name: 'pk', type: 'S' } })
    assert.deepEqual(parseKeySpec('a:b:B'), { partitionKey: { name: 'a:b', type: 'B' } })
    for (const bad of ['pk', 'pk:X', ':S', 'pk:S,', 'a:S,b:S,c:S', 'pk:S,pk:N']) {
      assert.throws(() => parseKeySpec(bad), UsageError, bad)
    }
  })
})

describe('progress', () => {
  it('status line with percent and ETA when the size is known', () => {
    const s = { read: 1000, written: 500, failed: 2, invalid: 1, wcu: 500, rate: 250, elapsedMs: 2000, bytesRead: 50_000, totalBytes: 100_000 }
    // 1000 lines in half the bytes -> about 2000 items; 502 done (failed includes the invalid one)
    assert.equal(formatStatus(s), '0:02 1,000 read, 500 written, 2 failed (1 invalid), 250 items/s, 500 WCU, 25.1%, ETA 0:06')
    assert.equal(
      formatStatus({ read: 10, written: 10, failed: 0, invalid: 0, wcu: 12.5, rate: 5, elapsedMs: 3_723_000 }),
      '1:02:03 10 read, 10 written, 5 items/s, 12.5 WCU',
    )
    assert.equal(
      formatStatus({ read: 10, written: 4, skipped: 6, failed: 0, invalid: 0, wcu: 4, rate: 5, elapsedMs: 1000, files: 3, filesDone: 1 }),
      '0:01 10 read, 4 written, 6 skipped, 5 items/s, 4.0 WCU, 1/3 files',
    )
    assert.equal(estimate({ read: 10, done: 10, bytesRead: 100, totalBytes: 100, rate: 1 }).percent, 100)
    assert.equal(estimate({ read: 10, done: 5, bytesRead: 0, totalBytes: 100, rate: 1 }), undefined)
    assert.equal(duration(59_600), '1:00')
  })

  it('rate over a sliding window', () => {
    const m = new RateMeter(1000)
    m.sample(0, 0)
    assert.equal(m.sample(500, 100), 200)
    assert.equal(m.sample(1000, 300), 300)
    assert.equal(m.sample(2000, 300), 0) // nothing in the last second
  })

  function sink(extra = {}) {
    const out = []
    return Object.assign({ out, write: (t) => out.push(t) }, extra)
  }

  it('TTY: redraws one line in place, truncated to the terminal, cleared for messages and at the end', () => {
    let t = 0
    const stream = sink({ columns: 30 })
    const p = new Progress({ stream, tty: true, now: () => t, sample: () => ({ read: 5, written: 4, failed: 0, invalid: 0, wcu: 4 }) })
    t = 1000
    p.render()
    assert.match(stream.out[0], /^\r0:01 5 read, 4 written, \d+ ite\x1b\[K$/)
    assert.equal(stream.out[0].length, '\r'.length + 29 + '\x1b[K'.length)
    p.log('a message')
    assert.deepEqual(stream.out.slice(1), ['\r\x1b[K', 'a message\n'])
    p.render()
    p.stop()
    assert.equal(stream.out.at(-1), '\r\x1b[K')
  })

  it('not a TTY: plain lines at the status interval', async () => {
    const stream = sink()
    const p = new Progress({ stream, tty: false, intervalMs: 20, sample: () => ({ read: 1, written: 1, failed: 0, invalid: 0, wcu: 1 }) })
    assert.equal(p.intervalMs, 20)
    p.start()
    // Waits for two ticks however slow the machine is (a fixed sleep fails on a loaded one).
    while (stream.out.length < 2) await new Promise((r) => setTimeout(r, 10))
    p.stop()
    assert.ok(stream.out.every((l) => /^0:00 1 read, 1 written, \d+ items\/s, 1\.0 WCU\n$/.test(l)))
  })

  it('a disabled progress never starts', () => {
    const stream = sink()
    const p = new Progress({ stream, tty: true, enabled: false, sample: () => assert.fail() })
    p.start()
    p.stop()
    assert.deepEqual(stream.out, [])
  })
})

describe('dead-letter file', () => {
  let dir
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-cli-'))
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('is created on the first record only, and holds one JSON line per record', () => {
    const f = path.join(dir, 'x.failed.jsonl')
    const d = new DeadLetterFile(f)
    d.close()
    assert.equal(fs.existsSync(f), false)
    assert.equal(d.created, false)
    d.write({ line: 1, reason: 'R', message: 'm', item: { pk: { S: 'a' } } })
    for (let i = 0; i < 3000; i++) d.write({ line: i + 2, reason: 'R', message: 'x'.repeat(50), item: null })
    d.close()
    const lines = fs.readFileSync(f, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
    assert.equal(lines.length, 3001)
    assert.deepEqual(lines[0], { line: 1, reason: 'R', message: 'm', item: { pk: { S: 'a' } } })
    assert.equal(lines[3000].line, 3001)
  })
})

// ---------------------------------------------------------------------------------------------------------
// main() against a fake package (helpers/fake-writer.js): what the CLI does with what the writer says.

describe('main() with a fake writer', () => {
  let dir
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-main-'))
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  async function run(args, { lib, stdin, signals } = {}) {
    const stdout = capture()
    const stderr = capture()
    const code = await main(args, {
      cwd: dir,
      stdout,
      stderr,
      stdin,
      isTTY: false,
      loadLib: () => lib,
      onSignal: (sig, fn) => {
        if (signals) signals[sig] = fn
        return () => {}
      },
      exitNow: (c) => {
        if (signals) signals.exited = c
      },
    })
    return { code, out: stdout.text, err: stderr.text }
  }

  function deadLetters(file) {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
  }

  it('good, bad and refused lines: counts, line numbers, dead letters, exit 1', async () => {
    const { lib, state } = makeFakeLib({ failPk: new Set(['f']) })
    const input = path.join(dir, 'in.jsonl')
    fs.writeFileSync(input, ['\uFEFF{"pk":"a","n":12345678901234567890}', '', '{oops', '{"pk":5}', '{"pk":"b"}', '{"pk":"f","v":[1]}', '[]'].join('\n'))
    const r = await run(['import', 'in.jsonl', '-t', 'users', '--json'], { lib })
    assert.equal(r.code, 1)
    const s = JSON.parse(r.out)
    assert.deepEqual(
      { read: s.read, written: s.written, failed: s.failed, invalidLines: s.invalidLines, failedOut: s.failedOut },
      { read: 6, written: 2, failed: 4, invalidLines: 3, failedOut: `${input}.failed.jsonl` },
    )
    assert.deepEqual(s.reasons, { InvalidLine: 2, InvalidItem: 1, ValidationException: 1 })
    assert.equal(state.writers[0].options.keySchema.partitionKey.name, 'pk')
    assert.equal(state.writers[0].puts, 2)
    assert.ok(state.items[0].n instanceof NumberValue, 'the BOM is dropped and the number kept exact')
    assert.equal(state.items[0].n.value, '12345678901234567890')
    // lines that do not parse are recorded as they are read; what the writer refuses, when it reports it
    const dl = deadLetters(`${input}.failed.jsonl`).sort((x, y) => x.line - y.line)
    assert.deepEqual(
      dl.map((d) => [d.line, d.reason]),
      [
        [3, 'InvalidLine'],
        [4, 'InvalidItem'],
        [6, 'ValidationException'],
        [7, 'InvalidLine'],
      ],
    )
    assert.deepEqual(dl[0], { input, line: 3, operation: 'put', reason: 'InvalidLine', message: dl[0].message, attempts: 0, item: null, raw: '{oops' })
    assert.match(dl[0].message, /^invalid JSON: /)
    assert.deepEqual(dl[2], { input, line: 6, operation: 'put', reason: 'ValidationException', message: 'too big', attempts: 1, item: dl[2].item })
    assert.deepEqual(dl[1].item, { pk: { N: '5' } })
    assert.deepEqual(dl[2].item, { pk: { S: 'f' }, v: { L: [{ N: '1' }] } })
    assert.match(r.err, /line 3: invalid JSON: /)
    assert.match(r.err, /line 4: item\.pk: key attribute/)
  })

  it('the dead-letter file re-runs with --format ddb-json', async () => {
    const { lib, state } = makeFakeLib()
    const dl = path.join(dir, 'in.jsonl.failed.jsonl')
    fs.writeFileSync(dl, JSON.stringify({ line: 6, reason: 'Throttled', message: 'm', item: { pk: { S: 'f' }, n: { N: '12345678901234567890' } } }) + '\n')
    const r = await run(['import', dl, '-t', 'users', '-f', 'ddb-json', '-q'], { lib })
    assert.equal(r.code, 0)
    assert.equal(r.err, '')
    assert.equal(state.writers[0].puts, 1)
    assert.equal(fs.existsSync(`${dl}.failed.jsonl`), false)
  })

  it('a clean run: human summary, no dead-letter file, exit 0; delete from stdin', async () => {
    const { lib, state } = makeFakeLib()
    const stdin = Readable.from(['{"pk":"a"}\n{"pk":', '"b","x":1}\n'])
    const r = await run(['delete', '-', '-t', 'users'], { lib, stdin })
    assert.equal(r.code, 0)
    assert.equal(state.writers[0].deletes, 2)
    assert.match(r.err, /dynabatch delete users: 2 items read, 2 written, 0 failed in /)
    assert.equal(fs.existsSync(path.join(dir, 'dynabatch-failed.jsonl')), false)
  })

  it('a read error stops reading, keeps what was read, exits 1', async () => {
    const { lib, state } = makeFakeLib()
    let sent = false
    const stdin = new Readable({
      read() {
        if (!sent) {
          sent = true
          this.push('{"pk":"a"}\n{"pk":"b"}\n')
        } else setImmediate(() => this.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })))
      },
    })
    const r = await run(['import', '-', '-t', 'users', '--json'], { lib, stdin })
    assert.equal(r.code, 1)
    assert.match(r.err, /reading stdin failed: EIO: i\/o error, read/)
    assert.equal(state.writers[0].puts, 2)
    assert.equal(JSON.parse(r.out).written, 2)
  })

  it('--create-table creates the table, or goes on when it exists', async () => {
    const { lib, state } = makeFakeLib({ tables: [] })
    fs.writeFileSync(path.join(dir, 'a.jsonl'), '{"pk":"a"}\n')
    const r = await run(['import', 'a.jsonl', '-t', 'fresh', '--create-table', 'pk:S'], { lib })
    assert.equal(r.code, 0)
    assert.match(r.err, /created table fresh/)
    const again = await run(['import', 'a.jsonl', '-t', 'fresh', '--create-table', 'pk:S', '--json'], { lib })
    assert.equal(again.code, 0)
    assert.equal(state.created.length, 2)
  })

  it('a missing table, a missing input and a missing output directory', async () => {
    const { lib } = makeFakeLib()
    fs.writeFileSync(path.join(dir, 'a.jsonl'), '{"pk":"a"}\n')
    const r = await run(['import', 'a.jsonl', '-t', 'nosuch'], { lib })
    assert.equal(r.code, 1)
    assert.match(r.err, /table nosuch does not exist/)
    assert.equal((await run(['import', 'none.jsonl', '-t', 'users'], { lib })).code, 2)
    assert.equal((await run(['import', 'a.jsonl', '-t', 'users', '--failed-out', 'no/dir/f'], { lib })).code, 2)
    assert.equal((await run(['import', 'a.jsonl', '-t', 'users', '--flush-amount', 'x'], { lib })).code, 2)
  })

  it('SIGINT: stops reading, unsent items go to the dead-letter file, exit 130; a second SIGINT exits at once', async () => {
    const signals = {}
    const { lib, state } = makeFakeLib({ blockAfter: 5, onBlocked: () => signals.SIGINT() })
    const input = path.join(dir, 'many.jsonl')
    const N = 100000 // many chunks: reading stops after the chunk under way
    fs.writeFileSync(input, Array.from({ length: N }, (_, i) => JSON.stringify({ pk: `k${i}` })).join('\n'))
    const r = await run(['import', 'many.jsonl', '-t', 'users', '--json'], { lib, signals })
    assert.equal(r.code, 130)
    const s = JSON.parse(r.out)
    assert.equal(s.interrupted, true)
    assert.ok(s.read > 0 && s.read < N, `${s.read} read`)
    assert.deepEqual([s.written, s.failed], [0, s.read])
    const dl = deadLetters(`${input}.failed.jsonl`).sort((x, y) => x.line - y.line)
    assert.deepEqual(
      dl.map((d) => [d.line, d.reason, d.item.pk.S]),
      Array.from({ length: s.read }, (_, i) => [i + 1, 'Aborted', `k${i}`]),
    )
    assert.equal(state.writers[0].aborted, true)
    signals.SIGINT()
    assert.equal(signals.exited, 130)
  })

  it('--help, --version and usage errors need no addon', async () => {
    const noLib = () => assert.fail('loaded the addon')
    const h = await main(['--help'], { stdout: capture(), stderr: capture(), loadLib: noLib })
    assert.equal(h, 0)
    const out = capture()
    assert.equal(await main(['--version'], { stdout: out, stderr: capture(), loadLib: noLib }), 0)
    assert.equal(out.text, `${require('../package.json').version}\n`)
    const err = capture()
    assert.equal(await main(['import'], { stdout: capture(), stderr: err, loadLib: noLib }), 2)
    assert.match(err.text, /needs an input: .*\n.*--help/)
  })
})
