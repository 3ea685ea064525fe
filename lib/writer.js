'use strict'
// BatchWriter: encodes operations with the codec and hands them to the native writer (src/js/writer.rs),
// whose engine judges, batches, retries and reports them. `put` returns an already-resolved Promise while
// the writer has room; the native side returns a Promise only when the caller must wait.

const native = require('./native.js')
const { Encoder } = require('./codec.js')
const { recordSink, nativeOptions, reportHookError, isLogger } = require('./hooks.js')
const { clean } = require('./client.js')

const RESOLVED = Promise.resolve()
const PUT = 0
const DELETE = 1

class BatchWriter {
  constructor(client, table, options) {
    const o = options === undefined ? {} : options
    const own = o !== null && typeof o === 'object'
    const logger = own && isLogger(o.logger) ? o.logger : undefined
    const slowMs = own && typeof o.slowRequestMs === 'number' ? o.slowRequestMs : client && client._slowMs
    // The client's sink already logs with the client's logger; a writer sink is for its own hook or logger.
    const sink = recordSink(own ? o.onRequest : undefined, logger, slowMs)
    this._native = new native.NativeWriter(client && client._native, table, nativeOptions(o, sink))
    this._logger = logger || (client && client._logger)
    this._encoder = new Encoder()
    // The caller's errors this writer produced, with the object each was produced for (see withBatch).
    this._produced = new WeakMap()
    if (own && o.signal !== undefined && o.signal !== null) {
      const signal = o.signal
      const onAbort = () => this._native.abort()
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
      this._unlisten = () => signal.removeEventListener('abort', onAbort)
    }
    if (own && typeof o.onProgress === 'function') this._startProgress(o.onProgress, o.progressIntervalMs ?? 1000)
  }

  get table() {
    return this._native.table
  }

  get closed() {
    return this._native.closed
  }

  put(item) {
    const wire = this._encoder.item(item)
    try {
      return this._settle(this._native.push(PUT, wire, this._encoder.bins || undefined, item), item)
    } catch (e) {
      return this._refused(e, item)
    }
  }

  delete(key) {
    const wire = this._encoder.item(key)
    try {
      return this._settle(this._native.push(DELETE, wire, this._encoder.bins || undefined, key), key)
    } catch (e) {
      return this._refused(e, key)
    }
  }

  putMany(items) {
    return this._many(PUT, items)
  }

  deleteMany(keys) {
    return this._many(DELETE, keys)
  }

  _many(kind, items) {
    if (items === null || typeof items !== 'object' || typeof items[Symbol.iterator] !== 'function') {
      return this._refused(native.invalidArgument('putMany/deleteMany take an iterable of items'))
    }
    const list = []
    const wire = this._encoder.many(items, list)
    if (list.length === 0) return RESOLVED
    try {
      return this._settle(this._native.pushMany(kind, wire, this._encoder.bins || undefined, list), list)
    } catch (e) {
      return this._refused(e, list)
    }
  }

  // A Promise the caller may never await is marked handled: every refused operation is also reported by the
  // next flush, so nothing is lost by not awaiting.
  _settle(p, item) {
    if (p === undefined || p === null) return RESOLVED
    p.catch((e) => this._produced.set(e, item))
    return p
  }

  _refused(e, item) {
    if (e !== null && typeof e === 'object') this._produced.set(e, item)
    const p = Promise.reject(e)
    p.catch(() => {})
    return p
  }

  /** Whether `err` is an error this writer returned for one of the items listed in `failed`. */
  _isItemFailure(err, failed) {
    if (err === null || typeof err !== 'object' || !this._produced.has(err)) return false
    const item = this._produced.get(err)
    return failed.some((f) => f.item === item || (Array.isArray(item) && item.includes(f.item)))
  }

  flush() {
    return this._native.flush().catch((e) => {
      this._logFailures(e)
      throw e
    })
  }

  /** flush(), then refuse further operations (WriterClosed). Resolves to the writer's whole-life result. */
  close() {
    if (!this._closing) {
      this._closing = this._native.close()
      this._closing
        .catch((e) => this._logFailures(e))
        .finally(() => {
          if (this._timer) clearInterval(this._timer)
          if (this._unlisten) this._unlisten()
        })
    }
    return this._closing
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }

  get metrics() {
    return clean(this._native.metrics)
  }

  _logFailures(e) {
    if (!this._logger || !e || !Array.isArray(e.failed)) return
    const reasons = new Map()
    for (const f of e.failed) reasons.set(f.reason, (reasons.get(f.reason) || 0) + 1)
    const summary = [...reasons].map(([r, n]) => `${r}: ${n}`).join(', ')
    try {
      // Reasons only: a service's message may echo item contents.
      this._logger.error(`dynabatch: ${e.failed.length} item(s) failed in table ${this.table} (first: ${e.failed[0].reason}; ${summary})`)
    } catch {
      // ignore a failing logger
    }
  }

  _startProgress(onProgress, every) {
    let last = ''
    this._progress = () => {
      const m = this._native.metrics
      const ev = { accepted: m.accepted, written: m.putsWritten + m.deletesWritten, failed: m.failed, inFlight: m.inFlight }
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

module.exports = { BatchWriter }
