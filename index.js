'use strict'
// The public entry: a thin facade over the native binding (binding.js). It keeps the common path of
// put/delete synchronous and cheap, maps native errors to Errors with stable codes, and adds what Rust cannot
// express: withBatch, Symbol.asyncDispose, NumberValue, BatchWriteError and the JS hooks.

const { NativeClient, NativeWriter, NativeRate } = require('./binding.js')
const { Encoder, decodeItem, NumberValue, InvalidItemError } = require('./lib/codec.js')

const RESOLVED = Promise.resolve()
const noop = () => {}

class DynabatchError extends Error {
  constructor(code, message, extra) {
    super(message)
    this.name = 'DynabatchError'
    this.code = code
    if (extra) Object.assign(this, extra)
  }
}

// Native errors carry a JSON payload (src/js/convert.rs); anything else is an internal failure.
function toError(e) {
  if (e instanceof InvalidItemError || e instanceof DynabatchError || (e instanceof TypeError && e.code === 'InvalidArgument')) {
    return e
  }
  const msg = e && e.message
  if (typeof msg === 'string' && msg.startsWith('{"code"')) {
    let info
    try {
      info = JSON.parse(msg)
    } catch {
      info = null
    }
    if (info) {
      const extra = {}
      if (info.requestId) extra.requestId = info.requestId
      if (info.statusCode) extra.statusCode = info.statusCode
      const err =
        info.code === 'InvalidItem' ? new InvalidItemError(info.message) : new DynabatchError(info.code, info.message, extra)
      if (info.code === 'InvalidArgument') err.name = 'TypeError'
      return err
    }
  }
  const err = new DynabatchError(e && e.code === 'InvalidArg' ? 'InvalidArgument' : 'Internal', String(msg || e))
  err.cause = e
  return err
}

function rejected(err) {
  const p = Promise.reject(err)
  p.catch(noop) // never an unhandled rejection: the failure is also reported by the next flush
  return p
}

function invalidArg(message) {
  const e = new TypeError(message)
  e.code = 'InvalidArgument'
  return e
}

function optNumber(v, name) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalidArg(`${name} must be a non-negative number, got ${v}`)
  return v
}
function optInt(v, name) {
  const n = optNumber(v, name)
  if (n !== undefined && !Number.isInteger(n)) throw invalidArg(`${name} must be an integer, got ${v}`)
  return n
}
function optString(v, name) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v === '') throw invalidArg(`${name} must be a non-empty string`)
  return v
}
function optFunction(v, name) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'function') throw invalidArg(`${name} must be a function`)
  return v
}
function checkLogger(l) {
  if (l === undefined || l === null) return undefined
  for (const m of ['debug', 'info', 'warn', 'error']) {
    if (typeof l[m] !== 'function') throw invalidArg(`logger must have a ${m}() method`)
  }
  return l
}

// ---------------------------------------------------------------------------------------------------------
// Rate limits

class FixedRate {
  constructor(options) {
    const { wcu, burst } = options || {}
    if (typeof wcu !== 'number') throw invalidArg('FixedRate needs { wcu: number }')
    try {
      this._native = NativeRate.fixed(wcu, burst === undefined ? undefined : burst)
    } catch (e) {
      throw toError(e)
    }
  }
  get currentWcu() {
    return this._native.currentWcu
  }
}

class AdaptiveRate {
  constructor(options) {
    const { maxWcu, minWcu, startWcu } = options || {}
    if (typeof maxWcu !== 'number') throw invalidArg('AdaptiveRate needs { maxWcu: number }')
    try {
      this._native = NativeRate.adaptive(maxWcu, minWcu, startWcu)
    } catch (e) {
      throw toError(e)
    }
  }
  get currentWcu() {
    return this._native.currentWcu
  }
}

function nativeRate(r, name) {
  if (r === undefined || r === null) return undefined
  if (!(r instanceof FixedRate || r instanceof AdaptiveRate)) throw invalidArg(`${name} must be a FixedRate or an AdaptiveRate`)
  return r._native
}

function rateMetrics(s) {
  return s ? { currentWcu: s.currentWcu, waits: s.waits, waitedMs: s.waitedMs, throttles: s.throttles } : undefined
}

// ---------------------------------------------------------------------------------------------------------
// Hooks and logging: request records arrive from the engine through a non-blocking threadsafe function.

function reportHookError(logger, what, err) {
  if (logger) {
    try {
      logger.error(`dynabatch: the ${what} callback threw: ${err && err.message}`)
      return
    } catch {
      // fall through to a process warning
    }
  }
  process.emitWarning(`dynabatch: the ${what} callback threw: ${err && err.message !== undefined ? err.message : err}`, {
    type: 'DynabatchHookWarning',
    detail: err && err.stack,
  })
}

function logRecord(logger, slowMs, r) {
  const line =
    `dynabatch ${r.operation} ${r.table} items=${r.items} unprocessed=${r.unprocessed} ` +
    `wcu=${r.consumedWcu} attempt=${r.attempt} ${r.durationMs.toFixed(1)}ms` +
    (r.requestId ? ` requestId=${r.requestId}` : '') +
    (r.errorCode ? ` error=${r.errorCode}` : '')
  try {
    if (r.errorCode) logger.error(line)
    else if (r.durationMs >= slowMs) logger.warn(`${line} (slow: over ${slowMs}ms)`)
    else logger.debug(line)
  } catch {
    // a logger that throws must not break the writer
  }
}

function makeRecordSink(onRequest, logger, slowMs) {
  if (!onRequest && !logger) return undefined
  return (err, rec) => {
    // napi passes (err, value) only for callee-handled functions; ours passes the record alone
    const r = rec === undefined ? err : rec
    if (!r) return
    if (logger) logRecord(logger, slowMs, r)
    if (onRequest) {
      try {
        onRequest(r)
      } catch (e) {
        reportHookError(logger, 'onRequest', e)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// DynamoDBClient

class DynamoDBClient {
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') throw invalidArg('options must be an object')
    const o = options
    let creds = {}
    if (o.credentials !== undefined && o.credentials !== null) {
      const c = o.credentials
      if (typeof c !== 'object' || typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string') {
        throw invalidArg('credentials must be { accessKeyId: string, secretAccessKey: string, sessionToken?: string }')
      }
      creds = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: optString(c.sessionToken, 'credentials.sessionToken') }
    }
    if (o.endpoint !== undefined) {
      const ep = optString(o.endpoint, 'endpoint')
      try {
        new URL(ep)
      } catch {
        throw invalidArg(`endpoint must be a URL such as http://127.0.0.1:8000, got ${JSON.stringify(ep)}`)
      }
    }
    const maxAttempts = optInt(o.maxAttempts, 'maxAttempts')
    if (maxAttempts !== undefined && maxAttempts < 1) throw invalidArg('maxAttempts must be at least 1')
    this._logger = checkLogger(o.logger)
    this._slowMs = optNumber(o.slowRequestMs, 'slowRequestMs') ?? 1000
    this._onRequest = optFunction(o.onRequest, 'onRequest')
    this._rate = o.rateLimit
    this._encoder = new Encoder(o.removeUndefinedValues === true)
    this._wrapNumbers = o.wrapNumbers === true
    this._lastGet = undefined
    const sink = makeRecordSink(this._onRequest, this._logger, this._slowMs)
    try {
      this._native = new NativeClient(
        {
          region: optString(o.region, 'region'),
          endpoint: o.endpoint,
          profile: optString(o.profile, 'profile'),
          maxAttempts,
          connectTimeoutMs: optNumber(o.connectTimeoutMs, 'connectTimeoutMs'),
          requestTimeoutMs: optNumber(o.requestTimeoutMs, 'requestTimeoutMs'),
          ...creds,
        },
        nativeRate(o.rateLimit, 'rateLimit'),
        sink,
      )
    } catch (e) {
      throw toError(e)
    }
  }

  _encode(item, root) {
    const wire = this._encoder.item(item, root)
    return [wire, this._encoder.bins || undefined]
  }

  _cond(options) {
    if (!options) return undefined
    const { conditionExpression, expressionAttributeNames, expressionAttributeValues } = options
    if (!conditionExpression && !expressionAttributeNames && !expressionAttributeValues) return undefined
    const cond = { expression: conditionExpression, names: expressionAttributeNames }
    if (expressionAttributeValues) {
      const [w, b] = this._encode(expressionAttributeValues, 'expressionAttributeValues')
      cond.valuesWire = w
      cond.valuesBins = b
    }
    return cond
  }

  async putItem(table, item, options) {
    checkTable(table)
    try {
      const [w, b] = this._encode(item, 'item')
      return await this._native.putItem(table, w, b, this._cond(options))
    } catch (e) {
      throw toError(e)
    }
  }

  async deleteItem(table, key, options) {
    checkTable(table)
    try {
      const [w, b] = this._encode(key, 'key')
      return await this._native.deleteItem(table, w, b, this._cond(options))
    } catch (e) {
      throw toError(e)
    }
  }

  async getItem(table, key, options = {}) {
    checkTable(table)
    try {
      const [w, b] = this._encode(key, 'key')
      const out = await this._native.getItem(table, w, b, options && options.consistentRead === true)
      this._lastGet = out.metrics
      return out.item ? decodeItem(out.item.wire, out.item.bins, this._wrapNumbers) : undefined
    } catch (e) {
      throw toError(e)
    }
  }

  /** The metrics of the most recent getItem that settled successfully. */
  get lastGetMetrics() {
    return this._lastGet
  }

  async createTable(table, options) {
    checkTable(table)
    if (!options || !options.partitionKey) throw invalidArg('createTable needs { partitionKey: { name, type } }')
    try {
      return tableDescription(await this._native.createTable(table, keySchemaOption(options, 'createTable options')))
    } catch (e) {
      throw toError(e)
    }
  }

  async deleteTable(table) {
    checkTable(table)
    try {
      await this._native.deleteTable(table)
    } catch (e) {
      throw toError(e)
    }
  }

  async describeTable(table) {
    checkTable(table)
    try {
      return tableDescription(await this._native.describeTable(table))
    } catch (e) {
      throw toError(e)
    }
  }

  get metrics() {
    const t = this._native.metrics()
    const m = {
      requests: t.requests,
      errors: t.errors,
      throttles: t.throttles,
      retries: t.retries,
      consumedWcu: t.consumedWcu,
      consumedRcu: t.consumedRcu,
      itemsWritten: t.putsWritten + t.deletesWritten,
      itemsFailed: t.failed,
      totalLatencyMs: t.totalLatencyMs,
      p50LatencyMs: t.p50LatencyMs,
      p99LatencyMs: t.p99LatencyMs,
    }
    const r = rateMetrics(this._native.rateStats())
    if (r) m.rateLimit = r
    return m
  }

  resetMetrics() {
    this._native.resetMetrics()
  }
}

function checkTable(table) {
  if (typeof table !== 'string' || table === '') throw invalidArg('table must be a non-empty string')
}

function tableDescription(t) {
  const d = { tableName: t.tableName, status: t.status }
  if (t.partitionKey) d.partitionKey = t.partitionKey
  if (t.sortKey) d.sortKey = t.sortKey
  if (t.itemCount !== undefined && t.itemCount !== null) d.itemCount = t.itemCount
  if (t.billingMode) d.billingMode = t.billingMode
  return d
}

// ---------------------------------------------------------------------------------------------------------
// BatchWriter

class BatchWriteError extends Error {
  constructor(failed, result) {
    const first = failed[0]
    super(
      `${failed.length} item${failed.length === 1 ? '' : 's'} could not be written` +
        (first ? ` (first: ${first.operation} ${first.reason}: ${first.message})` : ''),
    )
    this.name = 'BatchWriteError'
    this.code = 'BatchWriteFailed'
    this.failed = failed
    this.result = result
  }
}

function makeResult(t, elapsedMs, extraFailed) {
  const written = t.putsWritten + t.deletesWritten
  return {
    putsWritten: t.putsWritten,
    deletesWritten: t.deletesWritten,
    failed: t.failed + extraFailed,
    requests: t.requests,
    retries: t.retries,
    throttles: t.throttles,
    unprocessedRounds: t.unprocessedRounds,
    consumedWcu: t.consumedWcu,
    elapsedMs,
    totalLatencyMs: t.totalLatencyMs,
    p50LatencyMs: t.p50LatencyMs,
    p99LatencyMs: t.p99LatencyMs,
    itemsPerSecond: elapsedMs > 0 ? (written * 1000) / elapsedMs : 0,
  }
}

// `{ partitionKey: { name, type }, sortKey? }`; a key may also be given by its name alone ('pk'), in which
// case any key type is accepted for it.
function keySchemaOption(ks, what = 'keySchema') {
  if (ks === undefined || ks === null) return undefined
  if (typeof ks !== 'object' || !ks.partitionKey) throw invalidArg(`${what} must be { partitionKey: { name, type }, sortKey? }`)
  const attr = (a) => (typeof a === 'string' ? { name: a } : a)
  const out = { partitionKey: attr(ks.partitionKey) }
  if (ks.sortKey !== undefined && ks.sortKey !== null) out.sortKey = attr(ks.sortKey)
  return out
}

class BatchWriter {
  constructor(client, table, options = {}) {
    if (!(client instanceof DynamoDBClient)) throw invalidArg('BatchWriter needs a DynamoDBClient')
    checkTable(table)
    const o = options || {}
    this._client = client
    this._encoder = client._encoder
    this._logger = checkLogger(o.logger) || client._logger
    const slowMs = optNumber(o.slowRequestMs, 'slowRequestMs') ?? client._slowMs
    const onRequest = optFunction(o.onRequest, 'onRequest')
    // The client's own sink already logs with the client's logger; a writer sink is needed only for the
    // writer's hook or a logger of its own.
    const ownLogger = o.logger ? this._logger : undefined
    const sink = makeRecordSink(onRequest, ownLogger, slowMs)
    try {
      this._native = new NativeWriter(
        client._native,
        table,
        {
          flushAmount: optInt(o.flushAmount, 'flushAmount'),
          maxInFlight: optInt(o.maxInFlight, 'maxInFlight'),
          highWaterMark: optInt(o.highWaterMark, 'highWaterMark'),
          maxRetries: optInt(o.maxRetries, 'maxRetries'),
          baseDelayMs: optNumber(o.baseDelayMs, 'baseDelayMs'),
          maxDelayMs: optNumber(o.maxDelayMs, 'maxDelayMs'),
          keySchema: keySchemaOption(o.keySchema),
        },
        nativeRate(o.rateLimit, 'rateLimit'),
        sink,
      )
    } catch (e) {
      throw toError(e)
    }
    this.table = table
    this._orig = new Map() // id -> the caller's item, until it is written or reported
    this._nextId = 1
    this._invalid = [] // rejected puts, reported again by the next flush
    this._invalidTotal = 0
    this._closed = false
    this._aborted = false
    // Until the key schema is known (read at construction unless `keySchema` was given), operations wait
    // for it so that a bad key is refused by put() itself.
    this._ready = null
    if (!this._native.hasSchema()) {
      this._ready = this._native.schemaReady().then(
        () => {
          this._ready = null
        },
        () => {
          this._ready = null
        },
      )
    }
    this._closing = null
    this._started = Date.now()
    this._lastFlush = this._started
    const signal = o.signal
    if (signal !== undefined && signal !== null) {
      if (typeof signal.addEventListener !== 'function') throw invalidArg('signal must be an AbortSignal')
      const onAbort = () => {
        this._aborted = true
        this._native.abort()
      }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
      this._signal = signal
      this._onAbort = onAbort
    }
    const onProgress = optFunction(o.onProgress, 'onProgress')
    if (onProgress) {
      const every = optNumber(o.progressIntervalMs, 'progressIntervalMs') ?? 1000
      let last = ''
      this._progress = () => {
        const s = this._native.snapshot()
        const ev = {
          accepted: s.accepted,
          written: s.totals.putsWritten + s.totals.deletesWritten,
          failed: s.totals.failed + this._invalidTotal,
          inFlight: s.inFlight,
        }
        const key = `${ev.accepted}/${ev.written}/${ev.failed}/${ev.inFlight}`
        if (key === last) return
        last = key
        try {
          onProgress(ev)
        } catch (e) {
          reportHookError(this._logger, 'onProgress', e)
        }
      }
      this._timer = setInterval(this._progress, Math.max(1, every))
      this._timer.unref() // progress must never keep the process alive
    }
  }

  get closed() {
    return this._closed
  }

  put(item) {
    return this._push(item, false)
  }

  delete(key) {
    return this._push(key, true)
  }

  _refuse() {
    if (this._closed) return new DynabatchError('WriterClosed', `the writer for table ${this.table} is closed`)
    if (this._aborted) return new DynabatchError('Aborted', `the writer for table ${this.table} was aborted`)
    return null
  }

  // `accepted`: the call had returned a pending Promise (it waited for the key schema), so an abort that
  // refuses it now must still be reported by the next flush, like any accepted operation.
  _reject(item, del, err, accepted = false) {
    const e = toError(err)
    if (e.code === 'InvalidItem' || (accepted && e.code === 'Aborted')) {
      this._invalid.push({ operation: del ? 'delete' : 'put', item, reason: e.code, message: e.message, attempts: 0 })
      this._invalidTotal++
    }
    return rejected(e)
  }

  _push(item, del) {
    const refused = this._refuse()
    if (refused) return rejected(refused)
    let wire
    try {
      wire = this._encoder.item(item, del ? 'key' : 'item')
    } catch (e) {
      return this._reject(item, del, e)
    }
    const bins = this._encoder.bins || undefined
    if (this._ready !== null) {
      // The key schema is still being read: hand the item over once it is known, so a bad key rejects
      // this put like any other bad input. Operations keep their call order (then-callbacks run FIFO).
      const p = this._ready.then(() => this._handOver(item, del, wire, bins, true))
      p.catch(noop)
      return p
    }
    return this._handOver(item, del, wire, bins)
  }

  _handOver(item, del, wire, bins, deferred = false) {
    const id = this._nextId++
    let st
    try {
      st = this._native.push(id, del, wire, bins)
    } catch (e) {
      return this._reject(item, del, e, deferred)
    }
    this._orig.set(id, item)
    if (st & 2) this._drain()
    if (st & 1) return this._native.waitForRoom()
    return RESOLVED
  }

  putMany(items) {
    return this._pushMany(items, false)
  }

  deleteMany(keys) {
    return this._pushMany(keys, true)
  }

  // One boundary crossing for many items: the wires are concatenated (each is self-delimiting).
  _pushMany(items, del) {
    const refused = this._refuse()
    if (refused) return rejected(refused)
    if (items === null || typeof items !== 'object' || typeof items[Symbol.iterator] !== 'function') {
      return rejected(invalidArg('putMany/deleteMany take an iterable of items'))
    }
    if (this._ready !== null) {
      const list = [...items] // an iterator cannot wait for the schema
      const p = this._ready.then(() => this._handOverMany(list, del, true))
      p.catch(noop)
      return p
    }
    return this._handOverMany(items, del)
  }

  // Accepted at the call (a close() that follows does not refuse them); handed over now.
  _handOverMany(items, del, deferred = false) {
    const root = del ? 'key' : 'item'
    const accepted = []
    let wire = ''
    let firstErr = null
    this._encoder.bins = null
    for (const item of items) {
      try {
        // keepBins: binary indices run on across the items, matching the one list sent along
        wire += this._encoder.item(item, root, true)
      } catch (e) {
        this._reject(item, del, e)
        firstErr = firstErr || toError(e)
        continue
      }
      accepted.push(item)
    }
    const bins = this._encoder.bins
    if (accepted.length === 0) return firstErr ? rejected(firstErr) : RESOLVED
    const firstId = this._nextId
    this._nextId += accepted.length
    let out
    try {
      out = this._native.pushMany(firstId, del, wire, bins || undefined)
    } catch (e) {
      for (const item of accepted) this._reject(item, del, e, deferred)
      return rejected(toError(e))
    }
    const bad = new Set()
    for (const r of out.rejected) {
      bad.add(r.index)
      this._reject(accepted[r.index], del, toError(new Error(r.error)))
      firstErr = firstErr || toError(new Error(r.error))
    }
    for (let i = 0; i < accepted.length; i++) if (!bad.has(i)) this._orig.set(firstId + i, accepted[i])
    if (out.status & 2) this._drain()
    if (firstErr) return rejected(firstErr)
    if (out.status & 1) return this._native.waitForRoom()
    return RESOLVED
  }

  _drain() {
    for (const id of this._native.takeDone()) this._orig.delete(id)
  }

  async flush() {
    if (this._ready !== null) await this._ready // operations waiting for the key schema belong to this flush
    let out
    try {
      out = await this._native.flush()
    } catch (e) {
      throw toError(e)
    }
    const now = Date.now()
    const elapsed = now - this._lastFlush
    this._lastFlush = now
    const failed = this._invalid.splice(0)
    for (const f of out.failures) {
      failed.push({ operation: f.operation, item: this._orig.get(f.id), reason: f.reason, message: f.message, attempts: f.attempts })
      this._orig.delete(f.id)
    }
    this._drain()
    if (this._progress) this._progress()
    const result = makeResult(out.totals, elapsed, failed.length - out.failures.length)
    if (failed.length > 0) {
      if (this._logger) {
        try {
          this._logger.error(`dynabatch: ${failed.length} item(s) failed in table ${this.table} (first: ${failed[0].reason}: ${failed[0].message})`)
        } catch {
          // ignore a failing logger
        }
      }
      throw new BatchWriteError(failed, result)
    }
    return result
  }

  /** flush(), then refuse further operations. Resolves to the totals of the writer's whole life. */
  close() {
    if (!this._closing) {
      this._closed = true
      this._closing = this.flush().then(() => this._lifetime())
      this._closing
        .finally(() => {
          if (this._timer) clearInterval(this._timer)
          if (this._signal) this._signal.removeEventListener('abort', this._onAbort)
        })
        .catch(noop)
    }
    return this._closing
  }

  _lifetime() {
    const s = this._native.snapshot()
    return makeResult(s.totals, Date.now() - this._started, this._invalidTotal)
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }

  get metrics() {
    const s = this._native.snapshot()
    const m = makeResult(s.totals, Date.now() - this._started, this._invalidTotal)
    m.accepted = s.accepted
    m.inFlight = s.inFlight
    const r = rateMetrics(s.rate)
    if (r) m.rateLimit = r
    return m
  }
}

// ---------------------------------------------------------------------------------------------------------
// withBatch

const SuppressedErrorImpl =
  typeof globalThis.SuppressedError === 'function'
    ? globalThis.SuppressedError
    : class SuppressedError extends Error {
        constructor(error, suppressed, message) {
          super(message)
          this.name = 'SuppressedError'
          this.error = error
          this.suppressed = suppressed
        }
      }

async function withBatch(client, table, fn, options) {
  if (typeof fn !== 'function') throw invalidArg('withBatch needs a callback')
  const writer = new BatchWriter(client, table, options)
  let threw = false
  let error
  try {
    await fn(writer)
  } catch (e) {
    threw = true
    error = e
  }
  let result
  try {
    result = await writer.close()
  } catch (closeErr) {
    if (threw) {
      // As `await using` does: the disposal error, with the callback's error as `suppressed`.
      const s = new SuppressedErrorImpl(closeErr, error, 'withBatch: the callback threw and the final flush failed too')
      s.code = closeErr && closeErr.code
      throw s
    }
    throw closeErr
  }
  if (threw) throw error
  return result
}

module.exports = {
  DynamoDBClient,
  BatchWriter,
  BatchWriteError,
  withBatch,
  NumberValue,
  FixedRate,
  AdaptiveRate,
  DynabatchError,
  InvalidItemError,
  SuppressedError: SuppressedErrorImpl,
  importFrom: require('./lib/import/index.js').importFrom,
}
