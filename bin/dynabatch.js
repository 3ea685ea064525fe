#!/usr/bin/env node
'use strict'
// `dynabatch import|delete <file | ->`: streams JSON Lines through one BatchWriter, with bounded memory,
// progress, a dead-letter file for whatever could not be written, and a clean stop on Ctrl-C.
// Written on the public API only.

const fs = require('node:fs')
const path = require('node:path')
const readline = require('node:readline')
const { parseArgs } = require('node:util')
const { DynamoDBClient, BatchWriter, BatchWriteError, FixedRate, AdaptiveRate } = require('..')
const { parseJsonLine, parseDdbJsonLine, toDdbJsonItem } = require('../lib/cli/items.js')

const USAGE = `Usage: dynabatch <import|delete> <file | -> --table <name> [options]

Loads JSON Lines into a DynamoDB table (import: one item per line; delete: one key, or whole item, per line).

Options:
  --table <name>            target table (required)
  --format json|ddb-json    json (default): plain JSON items; ddb-json: DynamoDB JSON ({"pk":{"S":"a"}},
                            also the S3 export's {"Item":…} lines and this tool's dead-letter records)
  --endpoint <url>          a DynamoDB-compatible endpoint (default: the AWS chain)
  --region <region>         AWS region (default: the AWS chain)
  --profile <name>          named profile from the shared AWS config files
  --concurrency <n>         BatchWriteItem requests in flight (default 16)
  --flush-amount <n>        items per request, 1..25 (default 25)
  --max-retries <n>         retries per item (default 10)
  --rate-limit <wcu>        a fixed write-capacity limit, WCU per second
  --adaptive <maxWcu>       an adaptive limit up to maxWcu, backing off on throttling
  --create-table <pk:T[,sk:T]>  create the table (on-demand) when it does not exist; T is S, N or B
  --failed-out <path>       dead-letter file (default: <input>.failed.jsonl, or ./dynabatch-failed.jsonl)
  --status-interval <s>     seconds between status lines when stderr is not a terminal (default 5)
  --quiet                   print only errors
  --json                    print a JSON summary on stdout (no progress)
  -h, --help                this text
  -v, --version             the version

Exit status: 0 all written, 1 some items failed (see the dead-letter file), 2 usage error, 130 interrupted.`

function usageError(msg) {
  process.stderr.write(`dynabatch: ${msg}\n\n${USAGE}\n`)
  process.exit(2)
}

function parseCli(argv) {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        table: { type: 'string' },
        format: { type: 'string', default: 'json' },
        endpoint: { type: 'string' },
        region: { type: 'string' },
        profile: { type: 'string' },
        concurrency: { type: 'string' },
        'flush-amount': { type: 'string' },
        'max-retries': { type: 'string' },
        'rate-limit': { type: 'string' },
        adaptive: { type: 'string' },
        'create-table': { type: 'string' },
        'failed-out': { type: 'string' },
        'status-interval': { type: 'string' },
        quiet: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    })
  } catch (e) {
    usageError(e.message)
  }
  const { values: o, positionals } = parsed
  if (o.help) {
    process.stdout.write(USAGE + '\n')
    process.exit(0)
  }
  if (o.version) {
    process.stdout.write(require('../package.json').version + '\n')
    process.exit(0)
  }
  const [command, input, ...extra] = positionals
  if (command !== 'import' && command !== 'delete') usageError(command ? `unknown command ${JSON.stringify(command)}` : 'a command is required')
  if (!input) usageError('an input file (or - for standard input) is required')
  if (extra.length) usageError(`unexpected argument ${JSON.stringify(extra[0])}`)
  if (!o.table) usageError('--table is required')
  if (o.format !== 'json' && o.format !== 'ddb-json') usageError('--format must be json or ddb-json')
  if (o['rate-limit'] && o.adaptive) usageError('--rate-limit and --adaptive exclude each other')
  const int = (name, min, max) => {
    const v = o[name]
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
      usageError(`--${name} must be an integer${max !== undefined ? ` from ${min} to ${max}` : ` of at least ${min}`}`)
    }
    return n
  }
  const num = (name) => {
    const v = o[name]
    if (v === undefined) return undefined
    const n = Number(v)
    if (!(n > 0) || !Number.isFinite(n)) usageError(`--${name} must be a positive number`)
    return n
  }
  let createTable
  if (o['create-table']) {
    const parts = o['create-table'].split(',').map((p) => p.split(':'))
    const ok = parts.length >= 1 && parts.length <= 2 && parts.every((p) => p.length === 2 && p[0] && /^[SNB]$/.test(p[1]))
    if (!ok) usageError('--create-table takes pk:T or pk:T,sk:T with T one of S, N, B')
    createTable = { partitionKey: { name: parts[0][0], type: parts[0][1] } }
    if (parts[1]) createTable.sortKey = { name: parts[1][0], type: parts[1][1] }
  }
  return {
    command,
    input,
    table: o.table,
    format: o.format,
    endpoint: o.endpoint,
    region: o.region,
    profile: o.profile,
    concurrency: int('concurrency', 1),
    flushAmount: int('flush-amount', 1, 25),
    maxRetries: int('max-retries', 0),
    rateLimit: num('rate-limit'),
    adaptive: num('adaptive'),
    createTable,
    failedOut: o['failed-out'] || (input === '-' ? path.resolve('dynabatch-failed.jsonl') : `${input}.failed.jsonl`),
    statusInterval: o['status-interval'] === undefined ? 5 : num('status-interval'),
    quiet: o.quiet,
    json: o.json,
  }
}

function fmt(n) {
  return Math.round(n).toLocaleString('en-US')
}

function duration(s) {
  if (!Number.isFinite(s)) return '?'
  if (s < 60) return `${Math.ceil(s)}s`
  return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`
}

async function main() {
  const opts = parseCli(process.argv.slice(2))
  const del = opts.command === 'delete'
  const parse = opts.format === 'ddb-json' ? parseDdbJsonLine : parseJsonLine
  const clientOpts = {}
  if (opts.endpoint) clientOpts.endpoint = opts.endpoint
  if (opts.region) clientOpts.region = opts.region
  if (opts.profile) clientOpts.profile = opts.profile
  const client = new DynamoDBClient(clientOpts)

  if (opts.createTable) {
    try {
      await client.createTable(opts.table, opts.createTable)
      if (!opts.quiet && !opts.json) process.stderr.write(`dynabatch: created table ${opts.table}\n`)
    } catch (e) {
      if (e.code !== 'ResourceInUseException') throw e
    }
  }

  let totalBytes
  let input
  if (opts.input === '-') input = process.stdin
  else {
    try {
      totalBytes = fs.statSync(opts.input).size
    } catch (e) {
      usageError(`cannot read ${opts.input}: ${e.code || e.message}`)
    }
    input = fs.createReadStream(opts.input)
  }
  let bytesRead = 0
  input.on('data', (chunk) => (bytesRead += chunk.length))

  const ac = new AbortController()
  const writer = new BatchWriter(client, opts.table, {
    maxInFlight: opts.concurrency,
    flushAmount: opts.flushAmount,
    maxRetries: opts.maxRetries,
    signal: ac.signal,
    rateLimit: opts.rateLimit ? new FixedRate({ wcu: opts.rateLimit }) : opts.adaptive ? new AdaptiveRate({ maxWcu: opts.adaptive }) : undefined,
  })

  // Dead letters: opened on the first failure only.
  let deadOut = null
  let deadCount = 0
  const lineOf = new WeakMap()
  const reported = new WeakSet()
  function deadLetter(record) {
    if (!deadOut) deadOut = fs.openSync(opts.failedOut, 'w')
    fs.writeSync(deadOut, JSON.stringify(record) + '\n')
    deadCount++
  }
  function itemRecord(item, reason, message, attempts) {
    const rec = { line: lineOf.get(item) ?? null, operation: del ? 'delete' : 'put', reason, message, attempts }
    try {
      rec.item = toDdbJsonItem(item)
    } catch (e) {
      rec.raw = String(item)
    }
    return rec
  }

  let read = 0
  let invalidLines = 0
  const started = Date.now()
  const tty = process.stderr.isTTY && !opts.quiet && !opts.json
  const status = () => {
    const m = writer.metrics
    const written = m.putsWritten + m.deletesWritten
    const secs = (Date.now() - started) / 1000
    const rate = secs > 0 ? written / secs : 0
    let eta = ''
    if (totalBytes && bytesRead > 0 && read > 0) {
      const frac = Math.min(1, bytesRead / totalBytes)
      const expected = read / frac
      eta = ` ${(frac * 100).toFixed(0)}% ETA ${duration((expected - written) / Math.max(rate, 1))}`
    }
    return `read ${fmt(read)} written ${fmt(written)} failed ${fmt(m.failed + invalidLines)} ${fmt(rate)} items/s ${m.consumedWcu.toFixed(0)} WCU${eta}`
  }
  let timer = null
  if (tty) timer = setInterval(() => process.stderr.write(`\r\x1b[2K${status()}`), 200)
  else if (!opts.quiet && !opts.json) timer = setInterval(() => process.stderr.write(`dynabatch: ${status()}\n`), opts.statusInterval * 1000)
  if (timer) timer.unref()

  let interrupted = false
  const rl = readline.createInterface({ input, crlfDelay: Infinity })
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130) // a second Ctrl-C: leave now
    interrupted = true
    if (!opts.quiet) process.stderr.write('\ndynabatch: interrupted: settling requests in flight, writing the unwritten items to the dead-letter file (Ctrl-C again to quit at once)\n')
    rl.close()
    input.destroy()
    ac.abort()
  })

  try {
    for await (const line of rl) {
      if (interrupted) break
      read++
      if (line.trim() === '') {
        read--
        continue
      }
      let item
      try {
        item = parse(line)
      } catch (e) {
        invalidLines++
        deadLetter({ line: read, operation: del ? 'delete' : 'put', reason: 'InvalidLine', message: e.message, attempts: 0, raw: line })
        continue
      }
      if (item !== null && typeof item === 'object') lineOf.set(item, read)
      try {
        await (del ? writer.delete(item) : writer.put(item))
      } catch (e) {
        if (e.code === 'InvalidItem') {
          invalidLines++
          if (item !== null && typeof item === 'object') reported.add(item)
          deadLetter({ line: read, operation: del ? 'delete' : 'put', reason: 'InvalidItem', message: e.message, attempts: 0, raw: line })
        } else if (e.code !== 'Aborted') throw e
      }
    }
  } catch (e) {
    if (!interrupted) throw e
  }

  let result
  let failedItems = 0
  try {
    result = await writer.close()
  } catch (e) {
    if (!(e instanceof BatchWriteError)) throw e
    result = writer.metrics
    for (const f of e.failed) {
      // Items refused by put() were dead-lettered with their line already.
      if (f.reason === 'InvalidItem' && (f.item === null || typeof f.item !== 'object' || reported.has(f.item))) continue
      failedItems++
      deadLetter(itemRecord(f.item, f.reason, f.message, f.attempts))
    }
  }
  if (timer) clearInterval(timer)
  if (deadOut) fs.closeSync(deadOut)
  const m = writer.metrics
  const elapsedMs = Date.now() - started
  const summary = {
    command: opts.command,
    table: opts.table,
    read,
    written: m.putsWritten + m.deletesWritten,
    putsWritten: m.putsWritten,
    deletesWritten: m.deletesWritten,
    failed: failedItems + invalidLines,
    invalidLines,
    requests: m.requests,
    retries: m.retries,
    throttles: m.throttles,
    consumedWcu: m.consumedWcu,
    p50LatencyMs: m.p50LatencyMs,
    p99LatencyMs: m.p99LatencyMs,
    elapsedMs,
    itemsPerSecond: Math.round(((m.putsWritten + m.deletesWritten) * 1000) / Math.max(elapsedMs, 1)),
    failedOut: deadCount > 0 ? opts.failedOut : null,
    interrupted,
  }
  void result
  if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n')
  else if (!opts.quiet) {
    if (tty) process.stderr.write(`\r\x1b[2K${status()}\n`)
    process.stderr.write(
      `dynabatch: ${opts.command} into ${opts.table}: ${fmt(summary.read)} read, ${fmt(summary.written)} written ` +
        `(${fmt(summary.putsWritten)} puts, ${fmt(summary.deletesWritten)} deletes), ${fmt(summary.failed)} failed ` +
        `in ${(elapsedMs / 1000).toFixed(1)}s (${fmt(summary.itemsPerSecond)} items/s)\n` +
        `dynabatch: ${fmt(summary.requests)} requests, ${fmt(summary.retries)} retries, ${fmt(summary.throttles)} throttled, ` +
        `${summary.consumedWcu.toFixed(0)} WCU consumed, latency p50 ${summary.p50LatencyMs.toFixed(1)} ms p99 ${summary.p99LatencyMs.toFixed(1)} ms\n` +
        (summary.failedOut ? `dynabatch: failed items are in ${summary.failedOut} (re-run them with --format ddb-json)\n` : ''),
    )
  }
  process.exitCode = interrupted ? 130 : summary.failed > 0 ? 1 : 0
}

main().catch((e) => {
  process.stderr.write(`dynabatch: ${e.code ? `${e.code}: ` : ''}${e.message}\n`)
  process.exitCode = 1
})
