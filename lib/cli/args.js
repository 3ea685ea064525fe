'use strict'
// Command-line parsing and validation for bin/dynabatch.js. Every mistake is a UsageError (exit code 2) with a
// message that names the option, so nothing reaches DynamoDB with a half-understood configuration.

const path = require('node:path')
const { parseArgs } = require('node:util')
const { defaultFailedOut } = require('../import/index.js')

class UsageError extends Error {
  constructor(message) {
    super(message)
    this.name = 'UsageError'
    this.exitCode = 2
  }
}

const USAGE = `Usage:
  dynabatch import <input...> --table <name> [options]   put every line's item
  dynabatch delete <input...> --table <name> [options]   delete every line's key (a whole item works too)

An input is a file, - (stdin), a directory (its files, in name order) or a DynamoDB export folder (the
contents of s3://.../AWSDynamoDB/<ExportId>/, with manifest-summary.json; its data files are checked against
the manifest and read several at a time). gzip is recognised by its bytes, UTF-16 by its byte-order mark.
Lines are JSON (one item per line) or DynamoDB JSON; numbers are kept exact (a literal with an exponent or
16+ digits becomes a DynamoDB number with its exact text).

Options:
  -t, --table <name>          the table (required)
  -f, --format <fmt>          json (default) or ddb-json: DynamoDB JSON ({"pk":{"S":"a"}}), S3-export lines
                              ({"Item":{...}}) or dynabatch dead-letter records; export folders are always
                              DynamoDB JSON
      --shard <I/N>           load only the lines whose key hashes to shard I of N (0 <= I < N); N processes
                              with 0/N .. N-1/N each read every input and together load it once
      --checkpoint <file>     record progress in <file> (about once a second, atomically); the same command
                              with the same <file> resumes where a killed or interrupted run stopped
      --endpoint <url>        DynamoDB endpoint (DynamoDB Local, dynalite, LocalStack...)
      --region <region>       AWS region (default: the AWS configuration chain)
      --profile <name>        named profile from the AWS config files
      --concurrency <n>       concurrent BatchWriteItem requests (default 16)
      --rate-limit <wcu>      at most <wcu> write capacity units per second (per process)
      --adaptive <maxWcu>     a rate that halves on throttling and climbs back, up to <maxWcu> (per process)
      --max-retries <n>       retries per item after its first attempt (default 10)
      --flush-amount <n>      items per BatchWriteItem request, 1-25 (default 25)
      --create-table <spec>   create the table (on-demand) if it does not exist: pk:S[,sk:N] (types S, N, B)
      --failed-out <path>     dead-letter file for what could not be written (default: <input>.failed.jsonl
                              for one input, dynabatch-failed.jsonl otherwise); created only when something failed
      --status-interval <s>   seconds between status lines when stderr is not a terminal (default 5)
  -q, --quiet                 print nothing but errors
      --json                  print a JSON summary on stdout (and no progress)
  -h, --help                  print this help
  -v, --version               print the version

Credentials come from the AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --profile, SSO,
container and instance roles). For DynamoDB Local or dynalite any values do:
  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local dynabatch import f.jsonl -t t --endpoint http://127.0.0.1:8000

Failed items and bad lines go to the dead-letter file as JSON Lines
  {"input": "...", "line": 12, "operation": "put", "reason": "...", "message": "...", "attempts": 1, "item": {...DynamoDB JSON...}}
(a line that is not JSON has "item": null and its text in "raw"). Re-run them with:
  dynabatch import <file>.failed.jsonl --format ddb-json --table <name>

Exit codes: 0 everything written, 1 something failed, 2 usage error, 130 interrupted.
`

const OPTIONS = {
  table: { type: 'string', short: 't' },
  format: { type: 'string', short: 'f' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  concurrency: { type: 'string' },
  'rate-limit': { type: 'string' },
  adaptive: { type: 'string' },
  'max-retries': { type: 'string' },
  'flush-amount': { type: 'string' },
  'create-table': { type: 'string' },
  'failed-out': { type: 'string' },
  shard: { type: 'string' },
  checkpoint: { type: 'string' },
  'status-interval': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
}

const COMMANDS = new Set(['import', 'delete'])

function integer(name, text, min, max) {
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(text)}`)
  const n = Number(text)
  if (n < min || (max !== undefined && n > max)) {
    throw new UsageError(`--${name} must be ${max === undefined ? `at least ${min}` : `between ${min} and ${max}`}, got ${n}`)
  }
  return n
}

function positive(name, text) {
  if (text === undefined) return undefined
  const n = /^\s*(\d+\.?\d*|\.\d+)\s*$/.test(text) ? Number(text) : NaN
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--${name} must be a positive number, got ${JSON.stringify(text)}`)
  return n
}

/** "pk:S" or "pk:S,sk:N" -> { partitionKey: { name, type }, sortKey? } */
function parseKeySpec(spec) {
  const parts = spec.split(',').map((p) => p.trim())
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new UsageError(`--create-table takes pk:T or pk:T,sk:T with T one of S, N, B; got ${JSON.stringify(spec)}`)
  }
  const attrs = parts.map((p) => {
    const at = p.lastIndexOf(':') // names may hold a colon; the type never does
    const name = at > 0 ? p.slice(0, at) : ''
    const type = at > 0 ? p.slice(at + 1).toUpperCase() : ''
    if (!name || !['S', 'N', 'B'].includes(type)) {
      throw new UsageError(`--create-table takes pk:T or pk:T,sk:T with T one of S, N, B; got ${JSON.stringify(spec)}`)
    }
    return { name, type }
  })
  if (attrs[1] && attrs[1].name === attrs[0].name) throw new UsageError('--create-table: the sort key must differ from the partition key')
  return attrs[1] ? { partitionKey: attrs[0], sortKey: attrs[1] } : { partitionKey: attrs[0] }
}

/** "I/N" -> { index: I, count: N } with 0 <= I < N. */
function parseShard(text) {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text)
  const index = m ? Number(m[1]) : NaN
  const count = m ? Number(m[2]) : NaN
  if (!m || !(count >= 1) || !(index < count) || !Number.isSafeInteger(count)) {
    throw new UsageError(`--shard takes I/N with 0 <= I < N, e.g. 0/3 for the first of three shards; got ${JSON.stringify(text)}`)
  }
  return { index, count }
}

/**
 * argv (without node and the script) -> { help } | { version } | the run's configuration.
 * `cwd` resolves paths. Throws UsageError.
 */
function parseCommandLine(argv, { cwd = process.cwd() } = {}) {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    // parseArgs' messages are clear ("Unknown option '--foo'", "Option '--table <value>' argument missing")
    throw new UsageError(e.message.split('. To specify a positional argument')[0])
  }
  const v = parsed.values
  if (v.help) return { help: true }
  if (v.version) return { version: true }

  const [command, ...inputs] = parsed.positionals
  if (command === undefined) throw new UsageError('missing command: import or delete')
  if (!COMMANDS.has(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}: use import or delete`)
  if (inputs.length === 0) throw new UsageError(`${command} needs an input: a file, a directory, an export folder, or - for stdin`)
  if (inputs.filter((i) => i === '-').length > 1) throw new UsageError('- (stdin) can be read only once')
  if (inputs.some((i) => i.trim() === '')) throw new UsageError('an input path must not be empty')

  // Only emptiness is checked: DynamoDB also takes table ARNs, and emulators are laxer than its name rules.
  if (v.table === undefined || v.table.trim() === '') throw new UsageError('--table is required')

  const format = v.format
  if (format !== undefined && format !== 'json' && format !== 'ddb-json') throw new UsageError(`--format must be json or ddb-json, got ${JSON.stringify(format)}`)

  if (v.endpoint !== undefined) {
    let url
    try {
      url = new URL(v.endpoint)
    } catch {
      url = null
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new UsageError(`--endpoint must be an http(s) URL such as http://127.0.0.1:8000, got ${JSON.stringify(v.endpoint)}`)
    }
  }
  for (const name of ['region', 'profile']) {
    if (v[name] !== undefined && v[name].trim() === '') throw new UsageError(`--${name} must not be empty`)
  }

  const rateLimit = positive('rate-limit', v['rate-limit'])
  const adaptive = positive('adaptive', v.adaptive)
  if (rateLimit !== undefined && adaptive !== undefined) throw new UsageError('use either --rate-limit or --adaptive, not both')

  const resolved = inputs.map((i) => (i === '-' ? '-' : path.resolve(cwd, i)))
  if (v['failed-out'] !== undefined && v['failed-out'].trim() === '') throw new UsageError('--failed-out must not be empty')
  const shard = v.shard === undefined ? undefined : parseShard(v.shard)
  const failedOut = v['failed-out'] !== undefined ? path.resolve(cwd, v['failed-out']) : defaultFailedOut(inputs, cwd, shard)
  // Writing the dead letters or the checkpoint over an input would truncate what is being read.
  if (resolved.includes(failedOut)) throw new UsageError('--failed-out must not be an input file')
  let checkpoint
  if (v.checkpoint !== undefined) {
    if (v.checkpoint.trim() === '') throw new UsageError('--checkpoint must not be empty')
    checkpoint = path.resolve(cwd, v.checkpoint)
    if (resolved.includes('-')) throw new UsageError('--checkpoint needs inputs that can be read again: not - (stdin)')
    if (resolved.includes(checkpoint)) throw new UsageError('--checkpoint must not be an input file')
    if (checkpoint === failedOut) throw new UsageError('--checkpoint must not be the dead-letter file')
  }

  const statusInterval = positive('status-interval', v['status-interval'])

  return {
    command,
    inputs: resolved,
    table: v.table,
    format,
    endpoint: v.endpoint,
    region: v.region,
    profile: v.profile,
    concurrency: integer('concurrency', v.concurrency, 1, 1000),
    rateLimit,
    adaptive,
    maxRetries: integer('max-retries', v['max-retries'], 0, 1000),
    flushAmount: integer('flush-amount', v['flush-amount'], 1, 25),
    createTable: v['create-table'] === undefined ? undefined : parseKeySpec(v['create-table']),
    failedOut,
    checkpoint,
    shard,
    statusIntervalMs: statusInterval === undefined ? 5000 : Math.round(statusInterval * 1000),
    quiet: v.quiet === true,
    json: v.json === true,
  }
}

module.exports = { parseCommandLine, parseKeySpec, parseShard, UsageError, USAGE }
