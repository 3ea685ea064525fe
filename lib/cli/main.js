'use strict'
// The dynabatch command: stream JSON Lines into a BatchWriter. Every line read ends up exactly once in one of
// three places: written, the dead-letter file, or (blank lines) skipped; the summary's counts add up
// (read = written + failed; invalidLines is the part of failed that was bad input). Everything it touches outside the package's public API is injected
// (streams, signals, exit) so the orchestration is tested with a fake writer.

const fs = require('node:fs')
const path = require('node:path')
const { parseCommandLine, UsageError, USAGE } = require('./args.js')
const { createLineParser, isBlank, openLines } = require('../import/json-lines.js')
const { createDdbJson } = require('../import/ddb-json.js')
const { DeadLetterFile } = require('../import/dead-letter.js')
const { Progress } = require('./progress.js')

// Bad lines are listed on stderr up to this many; all of them are in the dead-letter file.
const MAX_SHOWN = 20

function defaultOnSignal(signal, fn) {
  process.on(signal, fn)
  return () => process.off(signal, fn)
}

function inputSize(stream, file) {
  try {
    const st = file ? fs.statSync(file) : typeof stream.fd === 'number' ? fs.fstatSync(stream.fd) : null
    return st && st.isFile() ? st.size : undefined // a pipe or a terminal has no known size
  } catch {
    return undefined
  }
}

function round1(n) {
  return Math.round(n * 10) / 10
}

function plural(n, word) {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`
}

/**
 * Runs one command line. Resolves to the exit code (0 all written, 1 something failed, 2 usage, 130 SIGINT).
 * io: { stdin, stdout, stderr, cwd, isTTY, loadLib, onSignal(sig, fn) -> off, exitNow(code), now }
 */
async function main(argv, io = {}) {
  const stdout = io.stdout || process.stdout
  const stderr = io.stderr || process.stderr
  const stdin = io.stdin || process.stdin
  const cwd = io.cwd || process.cwd()
  const now = io.now || Date.now
  const onSignal = io.onSignal || defaultOnSignal
  const exitNow = io.exitNow || ((code) => process.exit(code))
  const loadLib = io.loadLib || (() => require('../..'))
  const err = (text) => stderr.write(`dynabatch: ${text}\n`)

  let cfg
  try {
    cfg = parseCommandLine(argv, { cwd })
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    err(`${e.message}\nRun dynabatch --help for the options.`)
    return 2
  }
  if (cfg.help) {
    stdout.write(USAGE)
    return 0
  }
  if (cfg.version) {
    stdout.write(`${require('../../package.json').version}\n`)
    return 0
  }
  const chatty = !cfg.quiet && !cfg.json
  const say = (text) => chatty && stderr.write(`${text}\n`)

  // Check what can be checked locally before any request.
  if (cfg.input !== '-') {
    let st
    try {
      st = fs.statSync(cfg.input)
    } catch (e) {
      err(`cannot read ${cfg.input}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`)
      return 2
    }
    if (st.isDirectory()) {
      err(`${cfg.input} is a directory; pass a JSON Lines file or -`)
      return 2
    }
  }
  const outDir = path.dirname(cfg.failedOut)
  if (!fs.existsSync(outDir) || !fs.statSync(outDir).isDirectory()) {
    err(`--failed-out: the directory ${outDir} does not exist`)
    return 2
  }

  let lib
  try {
    lib = loadLib()
  } catch (e) {
    err(`cannot load the dynabatch native addon: ${e.message}`)
    return 1
  }

  let client
  let rateLimit
  try {
    client = new lib.DynamoDBClient({ endpoint: cfg.endpoint, region: cfg.region, profile: cfg.profile })
    if (cfg.rateLimit !== undefined) rateLimit = new lib.FixedRate({ wcu: cfg.rateLimit })
    if (cfg.adaptive !== undefined) rateLimit = new lib.AdaptiveRate({ maxWcu: cfg.adaptive })
  } catch (e) {
    err(e.message)
    return 2
  }

  if (cfg.createTable) {
    try {
      await client.createTable(cfg.table, cfg.createTable)
      say(`dynabatch: created table ${cfg.table}`)
    } catch (e) {
      if (e.code !== 'ResourceInUseException') {
        err(`cannot create table ${cfg.table}: ${e.message}`)
        return 1
      }
    }
  }
  // One DescribeTable up front: a missing table or bad credentials fail here, clearly, and the key schema
  // lets the writer check every key as it is put (a bad line is then reported with its line number at once).
  let desc
  try {
    desc = await client.describeTable(cfg.table)
  } catch (e) {
    if (e.code === 'ResourceNotFoundException') {
      err(`table ${cfg.table} does not exist (create it, or pass --create-table pk:S[,sk:S])`)
    } else {
      err(`cannot describe table ${cfg.table}: ${e.message}`)
    }
    return 1
  }
  let keySchema
  if (desc.partitionKey) {
    keySchema = { partitionKey: desc.partitionKey }
    if (desc.sortKey) keySchema.sortKey = desc.sortKey
    if (cfg.createTable && describeKeys(cfg.createTable) !== describeKeys(keySchema)) {
      err(`warning: table ${cfg.table} already exists with key ${describeKeys(keySchema)}, not ${describeKeys(cfg.createTable)}`)
    }
  }

  const abort = new AbortController()
  let writer
  try {
    writer = new lib.BatchWriter(client, cfg.table, {
      keySchema,
      maxInFlight: cfg.concurrency,
      maxRetries: cfg.maxRetries,
      flushAmount: cfg.flushAmount,
      rateLimit,
      signal: abort.signal,
    })
  } catch (e) {
    err(e.message)
    return 2
  }

  const ddb = createDdbJson(lib.NumberValue)
  const dead = new DeadLetterFile(cfg.failedOut)
  const st = {
    lineNo: 0,
    read: 0,
    failed: 0, // lines read but not written, for any reason
    invalid: 0, // of which: lines not JSON, not convertible, or items the writer refused (InvalidItem)
    rejectedInvalid: 0, // InvalidItem refusals by put/delete: the writer counts them in its `failed` too
    bytesRead: 0,
    stopping: false,
    interrupted: false,
    shown: 0,
    deadLetterError: null,
  }
  const reasons = new Map()
  // Writer failures name only the item object: these recover its line number and skip what put/delete
  // already refused (the writer reports those again when it closes).
  const lineOf = new WeakMap()
  const reported = new WeakSet()

  const input = cfg.input === '-' ? stdin : fs.createReadStream(cfg.input, { highWaterMark: 64 * 1024 })
  const totalBytes = inputSize(input, cfg.input === '-' ? null : cfg.input)
  const progress = new Progress({
    stream: stderr,
    tty: io.isTTY !== undefined ? io.isTTY : !!stderr.isTTY,
    intervalMs: cfg.statusIntervalMs,
    enabled: chatty,
    now,
    sample: () => {
      const m = writer.metrics
      return {
        read: st.read,
        written: m.putsWritten + m.deletesWritten,
        // the writer's own count (failures not reported yet) includes the put refusals counted here already
        failed: st.failed + Math.max(0, m.failed - st.rejectedInvalid),
        invalid: st.invalid,
        wcu: m.consumedWcu,
        bytesRead: st.bytesRead,
        totalBytes,
      }
    },
  })

  function deadLetter(record) {
    try {
      dead.write(record)
    } catch (e) {
      if (!st.deadLetterError) {
        st.deadLetterError = e
        progress.log(`dynabatch: cannot write the dead-letter file ${cfg.failedOut}: ${e.message}`)
      }
    }
  }

  function ddbOf(item) {
    try {
      return ddb.toItem(item)
    } catch {
      return null
    }
  }

  function showLine(n, message) {
    st.shown++
    if (st.shown <= MAX_SHOWN) progress.log(`dynabatch: line ${n}: ${message}`)
    else if (st.shown === MAX_SHOWN + 1) progress.log(`dynabatch: more bad lines: see ${cfg.failedOut}`)
  }

  const operation = cfg.command === 'delete' ? 'delete' : 'put'

  // One dead-letter record: { line, operation, reason, message, attempts, item } with the item in DynamoDB
  // JSON, or item null and `raw` (the line's text) when there is no item to give.
  function failure(line, reason, message, attempts, item, raw) {
    st.failed++
    if (reason === 'InvalidItem' || reason === 'InvalidLine') st.invalid++
    reasons.set(reason, (reasons.get(reason) || 0) + 1)
    const record = { line, operation, reason, message, attempts, item }
    if (item === null && raw !== undefined) record.raw = raw
    deadLetter(record)
  }

  function badLine(n, e, text) {
    showLine(n, e.message)
    // A ddb-json line that does not convert is kept as it was (it already is DynamoDB JSON); a line that
    // does not parse has no item, so its text is kept for fixing by hand.
    const item = e.ddbItem !== undefined ? e.ddbItem : null
    failure(n, e.reason, e.message, 0, item, e.raw !== undefined ? e.raw : text)
  }

  function refused(item, n, e, text) {
    reported.add(item)
    const reason = (e && e.code) || 'Error'
    const message = e && e.message !== undefined ? e.message : String(e)
    if (reason === 'InvalidItem') {
      st.rejectedInvalid++
      showLine(n, message)
    } else {
      progress.log(`dynabatch: line ${n}: ${message}`)
    }
    failure(n, reason, message, 0, ddbOf(item), text)
  }

  function writeFailed(f) {
    if (reported.has(f.item)) return
    reported.add(f.item)
    const line = lineOf.get(f.item)
    failure(line === undefined ? null : line, f.reason, f.message, f.attempts, ddbOf(f.item))
  }

  const rl = openLines(input)
  let readError = null
  input.on('error', (e) => {
    readError = readError || e
    rl.close()
  })
  input.on('data', (chunk) => {
    st.bytesRead += chunk.length
  })

  async function readAll() {
    const parse = createLineParser({ format: cfg.format, NumberValue: lib.NumberValue })
    const del = cfg.command === 'delete'
    for await (let text of rl) {
      // Checked before each line: once stopping, nothing more reaches the writer, so every item the writer
      // holds is one it will report as written or failed.
      if (st.stopping) break
      const n = ++st.lineNo
      if (n === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      if (isBlank(text)) continue
      st.read++
      let item
      try {
        item = parse(text)
      } catch (e) {
        badLine(n, e, text)
        continue
      }
      lineOf.set(item, n)
      try {
        // Waits while the writer holds highWaterMark items: reading pauses, memory stays bounded.
        await (del ? writer.delete(item) : writer.put(item))
      } catch (e) {
        refused(item, n, e, text)
        if (e && (e.code === 'WriterClosed' || e.code === 'Aborted')) break
      }
    }
  }

  let onInterrupt
  const interrupted = new Promise((resolve) => {
    onInterrupt = resolve
  })
  const offSignal = onSignal('SIGINT', () => {
    if (st.interrupted) {
      // The second Ctrl-C: leave now, keeping whatever dead letters are buffered.
      try {
        dead.flushSync()
      } catch {
        // exiting anyway
      }
      exitNow(130)
      return
    }
    st.interrupted = true
    st.stopping = true
    progress.log('dynabatch: interrupted: in-flight requests settle, unwritten items go to the dead-letter file (Ctrl-C again to quit now)')
    // Abort: queued items are reported as Aborted instead of being sent, in-flight requests settle.
    abort.abort()
    rl.close()
    input.destroy()
    onInterrupt()
  })

  const started = now()
  progress.start()
  const reading = readAll()
  await Promise.race([reading.catch((e) => (readError = readError || e)), interrupted])
  if (readError) {
    st.stopping = true
    progress.log(`dynabatch: reading ${cfg.input === '-' ? 'stdin' : cfg.input} failed: ${readError.message}`)
  }

  let closeError = null
  try {
    await writer.close()
  } catch (e) {
    if (e && e.code === 'BatchWriteFailed' && Array.isArray(e.failed)) e.failed.forEach(writeFailed)
    else closeError = e
  }
  const elapsedMs = now() - started
  progress.stop()
  offSignal()
  if (!input.destroyed) input.destroy()
  try {
    dead.close()
  } catch (e) {
    st.deadLetterError = st.deadLetterError || e
    err(`cannot write the dead-letter file ${cfg.failedOut}: ${e.message}`)
  }
  if (closeError) err(`the writer failed: ${closeError.message}`)

  const m = writer.metrics
  const written = m.putsWritten + m.deletesWritten
  const summary = {
    command: cfg.command,
    table: cfg.table,
    read: st.read,
    written,
    putsWritten: m.putsWritten,
    deletesWritten: m.deletesWritten,
    failed: st.failed,
    invalidLines: st.invalid,
    requests: m.requests,
    retries: m.retries,
    throttles: m.throttles,
    consumedWcu: round1(m.consumedWcu),
    p50LatencyMs: round1(m.p50LatencyMs),
    p99LatencyMs: round1(m.p99LatencyMs),
    elapsedMs,
    itemsPerSecond: elapsedMs > 0 ? round1((written * 1000) / elapsedMs) : 0,
    failedOut: dead.created ? cfg.failedOut : null,
    interrupted: st.interrupted,
  }
  if (reasons.size) summary.reasons = Object.fromEntries(reasons) // not-written counts by reason
  // Only a writer that failed as a whole (closeError) can leave items unaccounted for; say so.
  const unaccounted = st.read - written - st.failed
  if (unaccounted > 0) summary.unaccounted = unaccounted

  if (cfg.json) stdout.write(JSON.stringify(summary) + '\n')
  else if (chatty) stderr.write(humanSummary(summary, cfg, reasons))
  else if (dead.created) err(`${plural(st.failed, 'item')} not written: see ${cfg.failedOut}`)

  if (st.interrupted) return 130
  if (st.failed || readError || closeError || st.deadLetterError || unaccounted > 0) return 1
  return 0
}

function shellQuote(p) {
  return /^[\w./@%+=:,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`
}

function describeKeys(ks) {
  return ks.partitionKey.name + ':' + ks.partitionKey.type + (ks.sortKey ? `,${ks.sortKey.name}:${ks.sortKey.type}` : '')
}

function humanSummary(s, cfg, reasons) {
  const secs = s.elapsedMs / 1000
  const head =
    `dynabatch ${s.command} ${s.table}${s.interrupted ? ' (interrupted)' : ''}: ${plural(s.read, 'item')} read, ` +
    `${s.written.toLocaleString('en-US')} written` +
    (s.putsWritten && s.deletesWritten ? ` (${s.putsWritten} puts, ${s.deletesWritten} deletes)` : '') +
    `, ${s.failed.toLocaleString('en-US')} failed` +
    (s.invalidLines ? ` (${plural(s.invalidLines, 'invalid line')})` : '') +
    ' ' +
    `in ${secs < 10 ? secs.toFixed(2) : secs.toFixed(1)} s (${Math.round(s.itemsPerSecond).toLocaleString('en-US')} items/s)`
  const lines = [
    head,
    `  ${plural(s.requests, 'request')}, ${s.retries.toLocaleString('en-US')} ${s.retries === 1 ? 'retry' : 'retries'}, ` +
      `${plural(s.throttles, 'throttle')}, ` +
      `${s.consumedWcu.toLocaleString('en-US')} WCU consumed, latency p50 ${s.p50LatencyMs} ms p99 ${s.p99LatencyMs} ms`,
  ]
  if (reasons.size) {
    lines.push(`  not written: ${[...reasons].map(([r, n]) => `${n.toLocaleString('en-US')} ${r}`).join(', ')}`)
  }
  if (s.unaccounted) lines.push(`  ${plural(s.unaccounted, 'item')} read but neither written nor reported (the writer failed)`)
  if (s.failedOut) {
    lines.push(`  dead letters: ${s.failedOut}`)
    lines.push(`  retry them: dynabatch ${s.command} ${shellQuote(s.failedOut)} --format ddb-json --table ${s.table}`)
  }
  return lines.join('\n') + '\n'
}

module.exports = { main }
