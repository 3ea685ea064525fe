'use strict'
// importFrom(client, table, input, options): the loader's job as a library call; `dynabatch import` and
// `dynabatch delete` are a shell over it (lib/cli/main.js).
//
// Every line read ends up exactly once in one place: written, skipped (another shard's), the dead-letter
// file, or (blank lines) passed over; the summary's counts add up (read = written + skipped + failed;
// invalidLines is the part of failed that was bad input). Lines are read as the writer accepts them
// (backpressure), so memory stays bounded by the writer's highWaterMark and one chunk per file being read.
//
// With a checkpoint, the writer is flushed about once a second; when a flush resolves (its failures
// dead-lettered and synced), every line read before it started is written or dead-lettered, so its position
// is recorded (checkpoint.js). A restart reads the inputs again and skips the lines below that position.

const fs = require('node:fs')
const path = require('node:path')
const { resolveInputs } = require('./inputs.js')
const { lineBatches } = require('./read.js')
const { createOperationParser } = require('./json-lines.js')
const { createDdbJson } = require('./ddb-json.js')
const { DeadLetterFile, DeadLetterFunction } = require('./dead-letter.js')
const { Checkpoint, fingerprint } = require('./checkpoint.js')
const { ImportError } = require('./errors.js')

const WRITER_OPTIONS = ['flushAmount', 'maxInFlight', 'highWaterMark', 'maxRetries', 'baseDelayMs', 'maxDelayMs', 'rateLimit', 'keySchema', 'onRequest', 'logger', 'slowRequestMs']
const JOB_OPTIONS = ['format', 'operation', 'shard', 'failedOut', 'checkpoint', 'signal', 'onProgress', 'progressIntervalMs', 'onEvent', 'parallelFiles', 'checkpointIntervalMs']
const KNOWN_OPTIONS = new Set([...WRITER_OPTIONS, ...JOB_OPTIONS])
const READ_CHUNK = 64 * 1024
// Items per putMany/deleteMany call, at most (a chunk of short lines holds thousands).
const MAX_RUN = 1000
// Item -> line * MAX_FILES + file index: one WeakMap entry per line recovers where a failed item came from
// (exact up to 2^33 lines per file).
const MAX_FILES = 2 ** 20

function invalidArg(message) {
  return new ImportError('InvalidArgument', message)
}

// Blank lines (a trailing newline, separators) are passed over, not reported.
function isBlank(line) {
  return line.length === 0 || line.trim().length === 0
}

function round1(n) {
  return Math.round(n * 10) / 10
}

function positiveNumber(v, name) {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw invalidArg(`${name} must be a positive number, got ${v}`)
  return v
}

function checkShard(shard) {
  if (shard === undefined || shard === null) return null
  const { index, count } = shard
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw invalidArg(`shard must be { index, count } with whole numbers 0 <= index < count, got ${JSON.stringify(shard)}`)
  }
  return { index, count }
}

/**
 * The default dead-letter path: <input>.failed.jsonl for one path, ./dynabatch-failed.jsonl otherwise; with a
 * shard, .shard-I-of-N before .failed.jsonl, so processes sharing a directory do not write one file.
 */
function defaultFailedOut(input, cwd = process.cwd(), shard = null) {
  const tail = shard ? `.shard-${shard.index}-of-${shard.count}.failed.jsonl` : '.failed.jsonl'
  if (Array.isArray(input) && input.length === 1) input = input[0]
  if (typeof input === 'string' && input !== '' && input !== '-') return `${path.resolve(cwd, input)}${tail}`
  return path.resolve(cwd, `dynabatch${shard ? tail : '-failed.jsonl'}`)
}

class ImportJob {
  /**
   * `lib`: the package's exports (BatchWriter, NumberValue), passed in so the job is tested with a fake
   * writer. See importFrom for the rest.
   */
  constructor(lib, client, table, input, options = {}) {
    if (options === null || typeof options !== 'object') throw invalidArg('options must be an object')
    for (const k of Object.keys(options)) if (!KNOWN_OPTIONS.has(k)) throw invalidArg(`unknown option ${k}`)
    if (typeof table !== 'string' || table === '') throw invalidArg('table must be a non-empty string')
    const o = options
    if (o.format !== undefined && o.format !== 'json' && o.format !== 'ddb-json') throw invalidArg(`format must be 'json' or 'ddb-json', got ${JSON.stringify(o.format)}`)
    if (o.operation !== undefined && o.operation !== 'put' && o.operation !== 'delete') throw invalidArg(`operation must be 'put' or 'delete', got ${JSON.stringify(o.operation)}`)
    for (const k of ['onProgress', 'onEvent']) if (o[k] !== undefined && typeof o[k] !== 'function') throw invalidArg(`${k} must be a function`)
    if (o.failedOut !== undefined && typeof o.failedOut !== 'function' && (typeof o.failedOut !== 'string' || o.failedOut === '')) {
      throw invalidArg('failedOut must be a path or a function (record) => void')
    }
    if (o.checkpoint !== undefined && (typeof o.checkpoint !== 'string' || o.checkpoint === '')) throw invalidArg('checkpoint must be a path')
    if (o.signal !== undefined && (o.signal === null || typeof o.signal.addEventListener !== 'function')) throw invalidArg('signal must be an AbortSignal')
    if (o.parallelFiles !== undefined && (!Number.isSafeInteger(o.parallelFiles) || o.parallelFiles < 1)) throw invalidArg('parallelFiles must be a whole number >= 1')

    this.lib = lib
    this.client = client
    this.table = table
    this.input = input
    this.format = o.format
    this.operation = o.operation || 'put'
    this.shard = checkShard(o.shard)
    this.failedOut = typeof o.failedOut === 'function' ? o.failedOut : path.resolve(o.failedOut || defaultFailedOut(input, process.cwd(), this.shard))
    this.checkpointPath = o.checkpoint === undefined ? null : path.resolve(o.checkpoint)
    this.signal = o.signal
    this.onProgress = o.onProgress
    this.onEvent = o.onEvent
    this.progressIntervalMs = positiveNumber(o.progressIntervalMs, 'progressIntervalMs') || 1000
    this.checkpointIntervalMs = positiveNumber(o.checkpointIntervalMs, 'checkpointIntervalMs') || 1000
    this.parallelFiles = o.parallelFiles || 4
    this.writerOptions = {}
    for (const k of WRITER_OPTIONS) if (o[k] !== undefined) this.writerOptions[k] = o[k]

    this.files = []
    this.errors = [] // { input, message }: whole-file problems (truncated, count mismatch, unreadable)
    this.reasons = new Map()
    this.read = 0
    this.failed = 0
    this.invalid = 0
    this.takenFromWriter = 0 // failures the writer reported and this job dead-lettered
    this.bytesRead = 0
    this.totalBytes = undefined
    this.stopping = false
    this.interrupted = false
    this.open = new Set() // streams being read, destroyed on interrupt
    this.itemWhere = new WeakMap()
    this.reported = new WeakSet()
    this.ddb = createDdbJson(lib.NumberValue)
    this.failedBefore = 0
    this.resumedLines = 0
  }

  emit(event) {
    if (!this.onEvent) return
    try {
      this.onEvent(event)
    } catch {
      // a throwing observer must not stop the job
    }
  }

  /** A snapshot of the counts (totals and per file), as given to onProgress. */
  progress() {
    const m = this.writer ? this.writer.metrics : null
    const pending = m ? Math.max(0, m.failed - this.takenFromWriter) : 0
    return {
      read: this.read,
      written: m ? m.putsWritten + m.deletesWritten : 0,
      skipped: (m && m.skipped) || 0,
      failed: this.failed + pending,
      invalidLines: this.invalid,
      consumedWcu: m ? m.consumedWcu : 0,
      bytesRead: this.bytesRead,
      totalBytes: this.totalBytes,
      files: this.files.map((f) => ({ input: f.src.name, read: f.read, failed: f.failed, invalidLines: f.invalid, complete: f.complete })),
    }
  }

  /** Resolves to the summary. Rejects (nothing written) when the inputs, options, checkpoint or table are wrong. */
  async run() {
    this.started = Date.now()
    await this.prepare()
    const timers = []
    if (this.onProgress) {
      const t = setInterval(() => {
        try {
          this.onProgress(this.progress())
        } catch {
          // a throwing observer must not stop the job
        }
      }, this.progressIntervalMs)
      t.unref()
      timers.push(t)
    }
    if (this.checkpoint) {
      // Not unref'd: while a put waits for room, this timer's flush is what a checkpoint needs to advance.
      timers.push(setInterval(() => this.tick(), this.checkpointIntervalMs))
    }
    const onAbort = () => this.interrupt()
    if (this.signal) {
      if (this.signal.aborted) onAbort()
      else this.signal.addEventListener('abort', onAbort, { once: true })
    }
    try {
      for (const group of this.groups) {
        if (this.stopping) break
        let next = 0
        const worker = async () => {
          while (!this.stopping && next < group.length) await this.readFile(group[next++])
        }
        await Promise.all(Array.from({ length: Math.min(this.parallelFiles, group.length) }, worker))
      }
    } finally {
      for (const t of timers) clearInterval(t)
      if (this.signal) this.signal.removeEventListener('abort', onAbort)
    }
    return this.finish()
  }

  // Inputs, checkpoint and table, checked in that order (local checks before any request); nothing is written.
  async prepare() {
    const cp = this.checkpointPath
    const dl = typeof this.failedOut === 'string' ? this.failedOut : null
    const { groups, warnings, exportTypes } = await resolveInputs(this.input, { exclude: [dl, cp] })
    let index = 0
    this.groups = groups.map((g) =>
      g.map((src) => {
        const f = { src, index: index++, items: 0, read: 0, failed: 0, invalid: 0, done: 0, doneItems: 0, skipTo: 0, complete: false, error: null }
        this.files.push(f)
        return f
      }),
    )
    if (this.files.length > MAX_FILES) throw invalidArg(`at most ${MAX_FILES} input files per job, got ${this.files.length}`)
    if (exportTypes.size && this.format !== undefined && this.format !== 'ddb-json') {
      throw invalidArg(`format ${this.format} does not apply to a DynamoDB export folder (its lines are DynamoDB JSON)`)
    }
    if (exportTypes.has('INCREMENTAL_EXPORT') && this.operation === 'delete') {
      throw invalidArg("an incremental export's lines say themselves whether they put or delete: import it (operation 'put')")
    }
    const paths = this.files.filter((f) => f.src.path).map((f) => f.src.path)
    for (const [p, what] of [[dl, 'the dead-letter file (failedOut)'], [cp, 'the checkpoint']]) {
      if (p && paths.includes(p)) throw invalidArg(`${what} must not be an input file: ${p}`)
    }
    if (dl && cp && dl === cp) throw invalidArg('the checkpoint and the dead-letter file must be different files')
    if (dl && !isDirectory(path.dirname(dl))) throw invalidArg(`failedOut: the directory ${path.dirname(dl)} does not exist`)
    if (this.files.every((f) => f.src.size !== undefined)) this.totalBytes = this.files.reduce((n, f) => n + f.src.size, 0)
    for (const w of warnings) this.emit({ type: 'warning', message: w })

    if (cp) {
      if (this.files.some((f) => !f.src.path)) throw invalidArg('a checkpoint needs inputs that can be read again (files, directories, export folders), not a stream')
      if (!isDirectory(path.dirname(cp))) throw invalidArg(`checkpoint: the directory ${path.dirname(cp)} does not exist`)
      const inputs = []
      // one file at a time: an export can have thousands of data files, more than a process may open at once
      for (const f of this.files) inputs.push(await fingerprint(f.src.path))
      const job = { table: this.table, operation: this.operation, format: this.format || null, shard: this.shard, failedOut: dl, inputs }
      this.checkpoint = await Checkpoint.open(cp, job)
      this.checkpoint.positions.forEach((p, i) => {
        this.files[i].skipTo = p.line
        this.files[i].done = p.line
        this.files[i].doneItems = p.items
        this.files[i].skipItems = p.items
        this.resumedLines += p.line
      })
    }

    let keySchema = this.writerOptions.keySchema
    if (!keySchema) {
      // One DescribeTable up front: a missing table or missing credentials fail here, clearly, and the key
      // schema lets the writer check every key as it is put (a bad line is reported with its line at once).
      let desc
      try {
        desc = await this.client.describeTable(this.table)
      } catch (e) {
        const message =
          e && e.code === 'ResourceNotFoundException' ? `table ${this.table} does not exist` : `cannot describe table ${this.table}: ${e && e.message}`
        throw new ImportError((e && e.code) || 'Internal', message, { cause: e })
      }
      if (desc.partitionKey) {
        keySchema = { partitionKey: desc.partitionKey }
        if (desc.sortKey) keySchema.sortKey = desc.sortKey
      }
      this.emit({ type: 'table', table: desc })
    }

    const resuming = this.checkpoint && !this.checkpoint.fresh
    if (this.checkpoint && this.checkpoint.fresh) this.checkpoint.save()
    this.dead = typeof this.failedOut === 'function' ? new DeadLetterFunction(this.failedOut) : new DeadLetterFile(this.failedOut)
    if (resuming) {
      // Records of lines above the checkpoint are dropped: those lines are read (and recorded) again.
      const pos = new Map(this.checkpoint.job.inputs.map((inp, i) => [inp.path, this.checkpoint.positions[i].line]))
      this.failedBefore = await this.dead.resume((r) => !pos.has(r.input) || (typeof r.line === 'number' && r.line <= pos.get(r.input)))
    }

    this.abort = new AbortController()
    const wopts = { ...this.writerOptions, keySchema, signal: this.abort.signal }
    if (this.shard) wopts.shard = this.shard
    this.writer = new this.lib.BatchWriter(this.client, this.table, wopts)
    if (this.shard && typeof this.writer.metrics.skipped !== 'number') {
      await this.writer.close().catch(() => {})
      throw invalidArg('this build of dynabatch cannot shard: its BatchWriter has no shard option (no `skipped` count)')
    }
  }

  /** Stops reading: with a checkpoint, what the writer holds is written (and recorded); otherwise it is aborted. */
  interrupt() {
    if (this.stopping && this.interrupted) return
    this.interrupted = true
    this.stopping = true
    this.emit({ type: 'interrupted', graceful: !!this.checkpoint })
    if (!this.checkpoint) this.abort.abort() // queued items are reported as Aborted instead of being sent
    for (const s of this.open) if (typeof s.destroy === 'function') s.destroy()
  }

  /** For a second Ctrl-C: saves the buffered dead letters now; the last checkpoint written stays valid. */
  stopNow() {
    if (this.dead) this.dead.flushSync()
  }

  async readFile(f) {
    const src = f.src
    const stream = src.stream || fs.createReadStream(src.path, { highWaterMark: READ_CHUNK })
    this.open.add(stream)
    const parse = createOperationParser({
      format: src.exportType ? 'export' : this.format || 'json',
      operation: this.operation,
      NumberValue: this.lib.NumberValue,
      exportType: src.exportType,
    })
    let n = 0
    try {
      for await (const batch of lineBatches(stream, { name: src.name, onBytes: (k) => (this.bytesRead += k) })) {
        // Checked before each batch (one chunk's lines): once stopping, nothing more reaches the writer.
        if (this.stopping) return
        // The batch's items, in runs of one operation (an incremental export mixes puts and deletes), are
        // handed over with putMany/deleteMany: one call per run instead of one per line.
        const runs = []
        let run = null
        for (let k = 0; k < batch.length; k++) {
          n++
          if (n <= f.skipTo) {
            if (n === f.skipTo) f.items = f.skipItems
            continue
          }
          const text = batch[k]
          if (typeof text === 'string' && isBlank(text)) continue
          f.items++
          f.read++
          this.read++
          if (typeof text !== 'string') {
            this.badLine(f, n, { reason: 'InvalidLine', message: text.message, rawBase64: text.bytes && text.bytes.toString('base64') })
            continue
          }
          let rec
          try {
            rec = parse(text)
          } catch (e) {
            this.badLine(f, n, e, text)
            continue
          }
          this.itemWhere.set(rec.item, n * MAX_FILES + f.index)
          if (run === null || run.operation !== rec.operation || run.items.length === MAX_RUN) {
            run = { operation: rec.operation, items: [] }
            runs.push(run)
          }
          run.items.push(rec.item)
        }
        for (let r = 0; r < runs.length; r++) {
          const refusal = await this.handOver(runs[r])
          if (refusal) {
            // the writer takes nothing more (closed, aborted): the rest of the batch is refused the same way
            for (let q = r; q < runs.length; q++) for (const item of runs[q].items) this.refusedItem(item, runs[q].operation, refusal)
            this.stopping = true
            break
          }
        }
        f.done = n
        f.doneItems = f.items
      }
      // destroyed to stop, the stream may also just end: that file was not read to its end
      if (this.stopping && stream.destroyed && !stream.readableEnded) return
      f.complete = true
      if (src.expectedItems !== undefined && f.items !== src.expectedItems) {
        this.fileError(f, `${src.name}: ${f.items} items read, manifest-files.json lists ${src.expectedItems}`)
      }
    } catch (e) {
      if (this.stopping) return // the stream was destroyed to stop
      const name = src.name === '-' ? 'stdin' : src.name
      this.fileError(f, e && e.code === 'InvalidInput' ? `${e.message} (read up to line ${f.done})` : `reading ${name} failed: ${e && e.message}`)
    } finally {
      this.open.delete(stream)
      if (!src.stream && !stream.destroyed) stream.destroy()
      this.emit({ type: 'fileDone', file: this.fileSummary(f, null) })
    }
  }

  fileError(f, message) {
    f.error = message
    this.errors.push({ input: f.src.name, message })
    this.emit({ type: 'error', input: f.src.name, message })
  }

  // One dead-letter record: { input, line, operation, reason, message, attempts, item } with the item in
  // DynamoDB JSON, or item null and `raw` (the line's text) or `rawBase64` (its bytes, when not UTF-8).
  failure(f, line, operation, reason, message, attempts, item, raw, rawBase64) {
    if (f) f.failed++
    this.failed++
    if (reason === 'InvalidItem' || reason === 'InvalidLine') {
      this.invalid++
      if (f) f.invalid++
    }
    this.reasons.set(reason, (this.reasons.get(reason) || 0) + 1)
    const record = { input: f ? f.src.name : null, line, operation, reason, message, attempts, item }
    if (item === null) {
      if (raw !== undefined) record.raw = raw
      if (rawBase64 !== undefined) record.rawBase64 = rawBase64
    }
    try {
      this.dead.write(record)
    } catch (e) {
      if (!this.deadLetterError) {
        this.deadLetterError = e
        this.emit({ type: 'warning', message: `cannot write the dead-letter file ${this.dead.path}: ${e.message}` })
      }
    }
  }

  badLine(f, n, e, text) {
    // A DynamoDB JSON line that does not convert is kept as it was (it already is DynamoDB JSON); a line
    // that does not parse has no item, so its text is kept for fixing by hand.
    const item = e.ddbItem !== undefined ? e.ddbItem : null
    const raw = e.raw !== undefined ? e.raw : text
    this.failure(f, n, e.operation || this.operation, e.reason, e.message, 0, item, raw, e.rawBase64)
    this.emit({ type: 'badLine', input: f.src.name, line: n, reason: e.reason, message: e.message })
  }

  // Resolves to null once the writer accepted the run (putMany accepts every valid item; an invalid one
  // comes back in the next flush's failures, with its line), or to the error that refused the whole call.
  async handOver(run) {
    // While a checkpoint's flush runs, nothing new is handed over: the writer drains what it holds and the
    // flush resolves (under a steady feed it would wait for the feed to pause), then reading goes on.
    while (this.ticking) await this.ticking
    try {
      await (run.operation === 'delete' ? this.writer.deleteMany(run.items) : this.writer.putMany(run.items))
      return null
    } catch (e) {
      if (e && e.code === 'InvalidItem') return null
      return e || new Error('the writer refused the items')
    }
  }

  refusedItem(item, operation, e) {
    if (this.reported.has(item)) return
    this.reported.add(item)
    const w = this.itemWhere.get(item)
    this.failure(w === undefined ? null : this.files[w % MAX_FILES], w === undefined ? null : Math.floor(w / MAX_FILES), operation, e.code || 'Error', e.message !== undefined ? e.message : String(e), 0, this.ddbOf(item))
  }

  ddbOf(item) {
    try {
      return this.ddb.toItem(item)
    } catch {
      return null
    }
  }

  // The failures of a BatchWriteError (flush or close); false for any other error (the writer failed as a whole).
  takeFailures(e) {
    if (!e || e.code !== 'BatchWriteFailed' || !Array.isArray(e.failed)) return false
    for (const fail of e.failed) {
      if (this.reported.has(fail.item)) continue
      this.reported.add(fail.item)
      this.takenFromWriter++
      const w = this.itemWhere.get(fail.item)
      const f = w === undefined ? null : this.files[w % MAX_FILES]
      const line = w === undefined ? null : Math.floor(w / MAX_FILES)
      this.failure(f, line, fail.operation, fail.reason, fail.message, fail.attempts, this.ddbOf(fail.item))
      // refused by the writer's own checks: bad input, shown like a line that does not parse
      if (fail.reason === 'InvalidItem' && f) this.emit({ type: 'badLine', input: f.src.name, line, reason: fail.reason, message: fail.message })
    }
    return true
  }

  positions() {
    return this.files.map((f) => ({ line: f.done, items: f.doneItems }))
  }

  // About once a second with a checkpoint: flush, dead-letter and sync the failures, then record the
  // positions taken before the flush started (every line up to them is now written or dead-lettered).
  // Readers wait for it before handing anything over (see handOver).
  tick() {
    if (this.ticking || this.closing) return
    this.ticking = (async () => {
      const positions = this.positions()
      try {
        await this.writer.flush()
      } catch (e) {
        if (!this.takeFailures(e)) return // the writer failed as a whole: the last checkpoint stays
      }
      this.dead.sync()
      this.checkpoint.save(positions)
    })()
      .catch((e) => this.checkpointFailed(e))
      .finally(() => {
        this.ticking = null
      })
  }

  checkpointFailed(e) {
    if (this.checkpointError) return
    this.checkpointError = e
    this.emit({ type: 'warning', message: `cannot write the checkpoint ${this.checkpointPath}: ${e.message}` })
  }

  async finish() {
    this.closing = true
    if (this.ticking) await this.ticking
    let closeError = null
    try {
      await this.writer.close()
    } catch (e) {
      if (!this.takeFailures(e)) closeError = e
    }
    const elapsedMs = Date.now() - this.started
    try {
      this.dead.sync()
      this.dead.close()
    } catch (e) {
      this.deadLetterError = this.deadLetterError || e
    }
    if (this.checkpoint && !closeError && !this.deadLetterError) {
      try {
        const complete = !this.interrupted && this.files.every((f) => f.complete && !f.error)
        this.checkpoint.save(this.positions(), complete)
      } catch (e) {
        this.checkpointFailed(e)
      }
    }

    const m = this.writer.metrics
    const written = m.putsWritten + m.deletesWritten
    const skipped = m.skipped || 0
    const summary = {
      command: this.operation === 'delete' ? 'delete' : 'import',
      table: this.table,
      read: this.read,
      written,
      putsWritten: m.putsWritten,
      deletesWritten: m.deletesWritten,
      skipped,
      failed: this.failed,
      invalidLines: this.invalid,
      requests: m.requests,
      retries: m.retries,
      throttles: m.throttles,
      consumedWcu: round1(m.consumedWcu),
      p50LatencyMs: round1(m.p50LatencyMs),
      p99LatencyMs: round1(m.p99LatencyMs),
      elapsedMs,
      itemsPerSecond: elapsedMs > 0 ? round1((written * 1000) / elapsedMs) : 0,
      failedOut: this.dead.created ? this.dead.path : null,
      interrupted: this.interrupted,
    }
    if (this.reasons.size) summary.reasons = Object.fromEntries(this.reasons) // not-written counts by reason
    // Only a writer that failed as a whole (closeError) can leave items unaccounted for; say so.
    const unaccounted = this.read - written - skipped - this.failed
    if (unaccounted > 0) summary.unaccounted = unaccounted
    summary.files = this.files.map((f) => this.fileSummary(f, unaccounted > 0 ? null : f.read - f.failed))
    const errors = this.errors.slice()
    if (closeError) errors.push({ input: null, message: `the writer failed: ${closeError.message}` })
    if (this.deadLetterError) errors.push({ input: null, message: `cannot write the dead-letter file ${this.dead.path}: ${this.deadLetterError.message}` })
    if (this.checkpointError) errors.push({ input: null, message: `cannot write the checkpoint ${this.checkpointPath}: ${this.checkpointError.message}` })
    if (errors.length) summary.errors = errors
    if (this.checkpoint) {
      summary.checkpoint = { path: this.checkpoint.file, resumedLines: this.resumedLines, failedBefore: this.failedBefore, complete: this.checkpoint.complete }
    }
    return summary
  }

  // Per file: with a shard, the writer does not say which of a file's lines were another shard's, so the
  // file's count is `writtenOrSkipped`; the totals separate written and skipped.
  fileSummary(f, notFailed) {
    const s = { input: f.src.name, read: f.read }
    if (notFailed !== null) s[this.shard ? 'writtenOrSkipped' : 'written'] = notFailed
    s.failed = f.failed
    s.invalidLines = f.invalid
    if (f.skipTo) s.resumedLines = f.skipTo
    if (f.src.expectedItems !== undefined) s.expectedItems = f.src.expectedItems
    s.complete = f.complete && !f.error
    if (f.error) s.error = f.error
    return s
  }
}

function isDirectory(p) {
  try {
    return fs.statSync(p).isDirectory()
  } catch {
    return false
  }
}

/**
 * Loads `input` into `table` through one BatchWriter and resolves to the summary the CLI's --json prints.
 * input: a path (file, directory, or DynamoDB export folder), a Readable or async iterable of Buffer/string
 * chunks (gzip detected by its bytes), { name, stream }, or an array of these.
 */
async function importFrom(client, table, input, options) {
  const lib = require('../../index.js') // here, not at load: index.js exports this function
  if (!(client instanceof lib.DynamoDBClient)) throw invalidArg('importFrom needs a DynamoDBClient')
  return new ImportJob(lib, client, table, input, options).run()
}

module.exports = { importFrom, ImportJob, defaultFailedOut }
