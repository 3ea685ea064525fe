'use strict'
// A stand-in for the package (DynamoDBClient, BatchWriter, NumberValue…) with the surface the loader uses, so
// the CLI and the import job are tested without the native addon: what the job does with what the writer
// says (accepted, refused, failed at a flush, aborted, skipped by a shard).

class NumberValue {
  constructor(v) {
    const t = String(v).trim()
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t) || Math.abs(Number(t)) >= 1e126) {
      const e = new TypeError(`${JSON.stringify(t)} is not a valid DynamoDB number`)
      e.code = 'InvalidItem'
      throw e
    }
    this.value = t
  }
  toString() {
    return this.value
  }
  toJSON() {
    return this.value
  }
}

const RESOLVED = Promise.resolve()

// The fake's shard of a key: a sum of char codes (the real writer hashes the normalized key).
function fakeShard(pk, count) {
  let h = 0
  for (const c of String(pk)) h = (h + c.charCodeAt(0)) % count
  return h
}

/**
 * behaviour: { tables, failPk: Set, blockAfter, onBlocked, holdPk, noShard, flushError, slowFlushMs, describeError }
 * Returns { lib, state } where state records writers, items and created tables.
 */
function makeFakeLib(behaviour = {}) {
  const state = { writers: [], items: [], created: [], tables: new Set(behaviour.tables || ['users']) }
  class DynamoDBClient {
    constructor(options) {
      state.clientOptions = options
    }
    async createTable(table, options) {
      state.created.push([table, options])
      if (state.tables.has(table)) throw Object.assign(new Error('Table already exists'), { code: 'ResourceInUseException' })
      state.tables.add(table)
      return { tableName: table, status: 'ACTIVE', ...options }
    }
    async describeTable(table) {
      if (behaviour.describeError) throw behaviour.describeError
      if (!state.tables.has(table)) throw Object.assign(new Error('not found'), { code: 'ResourceNotFoundException' })
      return { tableName: table, status: 'ACTIVE', partitionKey: { name: 'pk', type: 'S' } }
    }
  }
  class BatchWriteError extends Error {
    constructor(failed) {
      super(`${failed.length} items could not be written`)
      this.code = 'BatchWriteFailed'
      this.failed = failed
    }
  }
  class BatchWriter {
    constructor(client, table, options) {
      this.table = table
      this.options = options
      this.queue = [] // [operation, item]
      this.invalid = []
      this.pendingFailed = []
      this.waiters = []
      this.puts = 0
      this.deletes = 0
      this.skipped = 0
      this.failedCount = 0
      this.flushes = 0
      this.closed = false
      this.aborted = false
      options.signal.addEventListener('abort', () => {
        this.aborted = true
        this.waiters.splice(0).forEach((r) => r()) // like waitForRoom: room is made on abort
      })
      state.writers.push(this)
    }
    push(op, item) {
      if (this.closed || this.aborted) return Promise.reject(Object.assign(new Error('closed'), { code: 'WriterClosed' }))
      if (typeof item.pk !== 'string') {
        const e = Object.assign(new TypeError(`item.pk: key attribute must be of type S, got ${typeof item.pk}`), { code: 'InvalidItem' })
        this.invalid.push({ operation: op, item, reason: 'InvalidItem', message: e.message, attempts: 0 })
        this.failedCount++
        return Promise.reject(e)
      }
      if (this.flushing) state.pushedWhileFlushing = (state.pushedWhileFlushing || 0) + 1
      this.queue.push([op, item])
      state.items.push(item)
      if (behaviour.holdPk === item.pk) return new Promise((r) => this.waiters.push(r)) // until the next flush
      if (behaviour.blockAfter !== undefined && this.queue.length >= behaviour.blockAfter) {
        if (behaviour.onBlocked) setImmediate(behaviour.onBlocked)
        // like the engine, which drains by itself: room is made soon (unless aborted meanwhile)
        setImmediate(() => this.drain())
        return new Promise((r) => this.waiters.push(r))
      }
      return RESOLVED
    }
    // Writes what is queued; its failures wait for the next flush, as the engine's do.
    drain() {
      if (this.aborted) return
      const shard = this.options.shard
      for (const [op, item] of this.queue.splice(0)) {
        if (shard && !behaviour.noShard && fakeShard(item.pk, shard.count) !== shard.index) this.skipped++
        else if (behaviour.failPk && behaviour.failPk.has(item.pk)) {
          this.pendingFailed.push({ operation: op, item, reason: 'ValidationException', message: 'too big', attempts: 1 })
        } else if (op === 'put') this.puts++
        else this.deletes++
      }
      this.waiters.splice(0).forEach((r) => r())
    }
    put(item) {
      return this.push('put', item)
    }
    // Like the package's: every valid item is accepted, the invalid ones reject the call (first error) and are
    // reported again by the next flush; a closed or aborted writer refuses the whole call.
    many(op, items) {
      if (this.closed || this.aborted) return Promise.reject(Object.assign(new Error('closed'), { code: this.aborted ? 'Aborted' : 'WriterClosed' }))
      let first = null
      let wait = null
      for (const item of items) {
        const p = this.push(op, item)
        p.catch((e) => (first = first || e))
        if (p !== RESOLVED) wait = p
      }
      return Promise.resolve(wait).then(
        () => (first ? Promise.reject(first) : undefined),
        () => Promise.reject(first),
      )
    }
    putMany(items) {
      return this.many('put', items)
    }
    deleteMany(items) {
      return this.many('delete', items)
    }
    delete(key) {
      return this.push('delete', key)
    }
    async flush() {
      this.flushes++
      if (behaviour.flushError) throw behaviour.flushError
      if (behaviour.slowFlushMs) {
        this.flushing = true
        await new Promise((r) => setTimeout(r, behaviour.slowFlushMs))
        this.flushing = false
      }
      if (this.aborted) {
        for (const [op, item] of this.queue.splice(0)) this.pendingFailed.push({ operation: op, item, reason: 'Aborted', message: 'aborted', attempts: 0 })
      }
      this.drain()
      const failed = [...this.invalid.splice(0), ...this.pendingFailed.splice(0)]
      this.failedCount += failed.filter((f) => f.reason !== 'InvalidItem').length
      if (failed.length) throw new BatchWriteError(failed)
      return {}
    }
    async close() {
      this.closed = true
      return this.flush()
    }
    get metrics() {
      const m = {
        putsWritten: this.puts,
        deletesWritten: this.deletes,
        failed: this.failedCount,
        requests: Math.ceil((this.puts + this.deletes) / 25),
        retries: 0,
        throttles: 0,
        consumedWcu: this.puts + this.deletes,
        p50LatencyMs: 1,
        p99LatencyMs: 2,
        accepted: 0,
        inFlight: 0,
      }
      if (!behaviour.noShard) m.skipped = this.skipped
      return m
    }
  }
  const lib = { DynamoDBClient, BatchWriter, BatchWriteError, NumberValue, FixedRate: class {}, AdaptiveRate: class {} }
  return { lib, state }
}

/** A Writable that keeps what is written to it in `.text` (a command's stdout or stderr). */
function capture() {
  const { Writable } = require('node:stream')
  let text = ''
  const s = new Writable({
    write(chunk, enc, cb) {
      text += chunk
      cb()
    },
  })
  Object.defineProperty(s, 'text', { get: () => text })
  return s
}

module.exports = { makeFakeLib, NumberValue, fakeShard, capture }
