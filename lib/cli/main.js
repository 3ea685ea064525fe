'use strict'
// The dynabatch command: a shell over the import job (lib/import/index.js). It parses the command line,
// creates the client (and the table, if asked), runs the job with progress on stderr, turns Ctrl-C into the
// job's interruption, and prints the job's summary. Everything it touches outside the package's public API is
// injected (streams, signals, exit) so the orchestration is tested with a fake writer.

const { parseCommandLine, UsageError, USAGE } = require('./args.js')
const { ImportJob } = require('../import/index.js')
const { Progress } = require('./progress.js')

// Bad lines are listed on stderr up to this many; all of them are in the dead-letter file.
const MAX_SHOWN = 20

// Exit status of an error that stops the job before it writes anything.
const USAGE_CODES = new Set(['InvalidArgument', 'InputNotFound', 'CheckpointMismatch'])

function defaultOnSignal(signal, fn) {
  process.on(signal, fn)
  return () => process.off(signal, fn)
}

function plural(n, word) {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`
}

// What to do about an error that stopped the job before it started writing.
function explain(e, cfg) {
  const code = e && e.code
  if (code === 'ResourceNotFoundException') return `${e.message} (create it, or pass --create-table pk:S[,sk:S])`
  if (code === 'CredentialsError') {
    return (
      `${e.message}\n` +
      'No AWS credentials were found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for DynamoDB Local or dynalite ' +
      'any values do, e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local), or name a profile with AWS_PROFILE or ' +
      '--profile' +
      (cfg.endpoint ? '' : '; outside AWS, set AWS_EC2_METADATA_DISABLED=true so the instance-metadata lookup is skipped')
    )
  }
  return e && e.message !== undefined ? e.message : String(e)
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

  let progress = null
  const log = (text) => (progress ? progress.log(text) : stderr.write(`${text}\n`))
  const say = (text) => chatty && log(text)
  let shown = 0
  const abort = new AbortController()
  let job
  try {
    job = new ImportJob(lib, client, cfg.table, cfg.inputs.map((i) => (i === '-' ? { name: '-', stream: stdin } : i)), {
      format: cfg.format,
      operation: cfg.command === 'delete' ? 'delete' : 'put',
      shard: cfg.shard,
      failedOut: cfg.failedOut,
      checkpoint: cfg.checkpoint,
      signal: abort.signal,
      maxInFlight: cfg.concurrency,
      maxRetries: cfg.maxRetries,
      flushAmount: cfg.flushAmount,
      rateLimit,
      onEvent: (e) => {
        if (e.type === 'badLine') {
          shown++
          const where = cfg.inputs.length > 1 || e.input !== cfg.inputs[0] ? `${e.input}: ` : ''
          if (e.reason !== 'InvalidItem' && e.reason !== 'InvalidLine') log(`dynabatch: ${where}line ${e.line}: ${e.message}`)
          else if (shown <= MAX_SHOWN) log(`dynabatch: ${where}line ${e.line}: ${e.message}`)
          else if (shown === MAX_SHOWN + 1) log(`dynabatch: more bad lines: see ${cfg.failedOut}`)
        } else if (e.type === 'error' || e.type === 'warning') {
          log(`dynabatch: ${e.message}`)
        } else if (e.type === 'fileDone' && cfg.inputs.length + job.files.length > 2) {
          const f = e.file
          say(`dynabatch: ${f.input}: ${plural(f.read, 'line')} read, ${f.failed.toLocaleString('en-US')} failed${f.complete ? '' : ' (not read to its end)'}`)
        } else if (e.type === 'table' && cfg.createTable) {
          const have = e.table.partitionKey ? describeKeys(e.table) : null
          if (have && have !== describeKeys(cfg.createTable)) {
            log(`dynabatch: warning: table ${cfg.table} already exists with key ${have}, not ${describeKeys(cfg.createTable)}`)
          }
        } else if (e.type === 'interrupted') {
          log(
            e.graceful
              ? 'dynabatch: interrupted: reading stops, what the writer holds is written and the checkpoint recorded (Ctrl-C again to quit now; the last checkpoint stays valid)'
              : 'dynabatch: interrupted: in-flight requests settle, unwritten items go to the dead-letter file (Ctrl-C again to quit now)',
          )
        }
      },
    })
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
        err(`cannot create table ${cfg.table}: ${explain(e, cfg)}`)
        return 1
      }
    }
  }

  let interrupted = false
  const offSignal = onSignal('SIGINT', () => {
    if (interrupted) {
      // The second Ctrl-C: leave now, keeping whatever dead letters are buffered.
      try {
        job.stopNow()
      } catch {
        // exiting anyway
      }
      exitNow(130)
      return
    }
    interrupted = true
    abort.abort()
  })

  progress = new Progress({
    stream: stderr,
    tty: io.isTTY !== undefined ? io.isTTY : !!stderr.isTTY,
    intervalMs: cfg.statusIntervalMs,
    enabled: chatty,
    now,
    sample: () => {
      const p = job.progress()
      const filesDone = p.files.filter((f) => f.complete).length
      return { read: p.read, written: p.written, skipped: p.skipped, failed: p.failed, invalid: p.invalidLines, wcu: p.consumedWcu, bytesRead: p.bytesRead, totalBytes: p.totalBytes, files: p.files.length, filesDone }
    },
  })
  progress.start()
  let summary
  try {
    summary = await job.run()
  } catch (e) {
    progress.stop()
    offSignal()
    err(explain(e, cfg))
    return USAGE_CODES.has(e && e.code) ? 2 : 1
  }
  progress.stop()
  offSignal()

  if (cfg.json) stdout.write(JSON.stringify(summary) + '\n')
  else if (chatty) stderr.write(humanSummary(summary))
  else if (summary.failedOut) err(`${plural(summary.failed, 'item')} not written: see ${summary.failedOut}`)

  if (summary.interrupted) return 130
  const failedBefore = summary.checkpoint ? summary.checkpoint.failedBefore : 0
  if (summary.failed || failedBefore || summary.errors || summary.unaccounted) return 1
  return 0
}

function shellQuote(p) {
  return /^[\w./@%+=:,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`
}

function describeKeys(ks) {
  return ks.partitionKey.name + ':' + ks.partitionKey.type + (ks.sortKey ? `,${ks.sortKey.name}:${ks.sortKey.type}` : '')
}

function humanSummary(s) {
  const secs = s.elapsedMs / 1000
  const n = (x) => x.toLocaleString('en-US')
  const head =
    `dynabatch ${s.command} ${s.table}${s.interrupted ? ' (interrupted)' : ''}: ${plural(s.read, 'item')} read, ` +
    `${n(s.written)} written` +
    (s.putsWritten && s.deletesWritten ? ` (${s.putsWritten} puts, ${s.deletesWritten} deletes)` : '') +
    (s.skipped ? `, ${n(s.skipped)} skipped (other shards)` : '') +
    `, ${n(s.failed)} failed` +
    (s.invalidLines ? ` (${plural(s.invalidLines, 'invalid line')})` : '') +
    ' ' +
    `in ${secs < 10 ? secs.toFixed(2) : secs.toFixed(1)} s (${Math.round(s.itemsPerSecond).toLocaleString('en-US')} items/s)`
  const lines = [
    head,
    `  ${plural(s.requests, 'request')}, ${n(s.retries)} ${s.retries === 1 ? 'retry' : 'retries'}, ` +
      `${plural(s.throttles, 'throttle')}, ` +
      `${n(s.consumedWcu)} WCU consumed, latency p50 ${s.p50LatencyMs} ms p99 ${s.p99LatencyMs} ms`,
  ]
  if (s.files.length > 1) lines.push(`  ${plural(s.files.length, 'input file')}, ${s.files.filter((f) => f.complete).length} read to the end`)
  if (s.reasons) lines.push(`  not written: ${Object.entries(s.reasons).map(([r, c]) => `${n(c)} ${r}`).join(', ')}`)
  if (s.unaccounted) lines.push(`  ${plural(s.unaccounted, 'item')} read but neither written nor reported (the writer failed)`)
  for (const e of s.errors || []) lines.push(`  error: ${e.message}`)
  if (s.checkpoint) {
    const c = s.checkpoint
    lines.push(
      `  checkpoint ${c.path}: ${c.complete ? 'every input done' : 'resumable'}` +
        (c.resumedLines ? `; ${plural(c.resumedLines, 'line')} done before this run` : '') +
        (c.failedBefore ? `, ${n(c.failedBefore)} of them dead-lettered` : ''),
    )
  }
  if (s.failedOut) {
    lines.push(`  dead letters: ${s.failedOut}`)
    lines.push(`  retry them: dynabatch ${s.command} ${shellQuote(s.failedOut)} --format ddb-json --table ${s.table}`)
  }
  return lines.join('\n') + '\n'
}

module.exports = { main }
