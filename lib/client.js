'use strict'
// DynamoDBClient: encodes items with the codec and delegates to the native client (src/js/client.rs), which
// judges options and items and runs the requests.

const native = require('./native.js')
const { Encoder, decodeItem } = require('./codec.js')
const { recordSink, nativeOptions, isLogger } = require('./hooks.js')
const transact = require('./transact.js')
const { batchGet } = require('./batch-get.js')
const { Scan } = require('./scan.js')

class DynamoDBClient {
  constructor(options) {
    const o = options === undefined ? {} : options
    const logger = o !== null && isLogger(o.logger) ? o.logger : undefined
    const slowMs = o !== null && typeof o.slowRequestMs === 'number' ? o.slowRequestMs : 1000
    this._native = new native.NativeClient(nativeOptions(o, recordSink(o && o.onRequest, logger, slowMs)))
    this._logger = logger
    this._slowMs = slowMs
    this._encoder = new Encoder()
  }

  // The condition's names and values as the codec encodes them (the core judges them).
  _cond(options) {
    if (options === null || typeof options !== 'object') return [undefined, undefined, undefined]
    const names = options.expressionAttributeNames
    const values = options.expressionAttributeValues
    const nw = names === undefined || names === null ? undefined : this._encoder.item(names)
    if (values === undefined || values === null) return [nw, undefined, undefined]
    const vw = this._encoder.item(values)
    return [nw, vw, this._encoder.bins || undefined]
  }

  async putItem(table, item, options) {
    const [nw, vw, vb] = this._cond(options)
    const w = this._encoder.item(item)
    return this._native.putItem(table, w, this._encoder.bins || undefined, options, nw, vw, vb)
  }

  async deleteItem(table, key, options) {
    const [nw, vw, vb] = this._cond(options)
    const w = this._encoder.item(key)
    return this._native.deleteItem(table, w, this._encoder.bins || undefined, options, nw, vw, vb)
  }

  async getItem(table, key, options) {
    const w = this._encoder.item(key)
    const out = await this._native.getItem(table, w, this._encoder.bins || undefined, options)
    this._lastGet = clean(this._native.lastGetMetrics)
    return out ? decodeItem(out.wire, out.bins) : undefined
  }

  /** All or nothing: puts, deletes, updates and condition checks on up to 100 items (lib/transact.js). */
  async transactWrite(actions, options) {
    return clean(await transact.transactWrite(this, actions, options))
  }

  /** Up to 100 items read at once, consistently; resolves to an array aligned with `gets`. */
  async transactGet(gets, options) {
    return transact.transactGet(this, gets, options)
  }

  /** Many items by key: an array aligned with `keys` (the item, or undefined when absent). See lib/batch-get.js. */
  batchGet(table, keys, options) {
    return batchGet(this, table, keys, options)
  }

  /** The table's items as an async iterable (`pages()` for arrays), read in parallel segments. See lib/scan.js. */
  scan(table, options) {
    return new Scan(this, table, options)
  }

  /** The metrics of the most recent getItem that succeeded. */
  get lastGetMetrics() {
    return this._lastGet
  }

  async createTable(table, options) {
    return tableDescription(await this._native.createTable(table, options))
  }

  async deleteTable(table) {
    await this._native.deleteTable(table)
  }

  async describeTable(table) {
    return tableDescription(await this._native.describeTable(table))
  }

  get metrics() {
    return clean(this._native.metrics)
  }

  resetMetrics() {
    this._native.resetMetrics()
  }

  /** Refuses further calls (ClientClosed), waits for requests in flight, closes the connections. */
  close() {
    return this._native.close()
  }

  async [Symbol.asyncDispose]() {
    await this.close()
  }

  get closed() {
    return this._native.closed
  }
}

// Absent optional fields are left out, not null.
function clean(o) {
  if (o === null || o === undefined) return undefined
  for (const k of Object.keys(o)) if (o[k] === null || o[k] === undefined) delete o[k]
  return o
}

function tableDescription(t) {
  return clean(t)
}

module.exports = { DynamoDBClient, clean }
