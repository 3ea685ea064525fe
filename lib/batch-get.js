'use strict'
// client.batchGet: the keys are encoded in one run and read by the native client (src/js/read.rs, the core's
// src/batch_get.rs: distinct keys, requests of 100, per-key retries). The result is an array aligned with
// `keys`: the item, or undefined when absent. A key that could not be read makes the call reject with a
// BatchGetError naming each such position and carrying the items that were read, never a partial array.

const native = require('./native.js')
const { decodePage, copyPageItem, describe } = require('./codec.js')
const { BatchGetError } = require('./errors.js')

/** Throws InvalidArgument unless `signal` is absent or an AbortSignal (something to listen to). */
function checkSignal(signal) {
  if (signal === undefined || signal === null) return
  if (typeof signal === 'object' && typeof signal.addEventListener === 'function') return
  const what = signal !== null && typeof signal === 'object' && Object.getPrototypeOf(signal) === Object.prototype ? 'an object' : describe(signal)
  throw native.invalidArgument(`signal must be an AbortSignal, got ${what}`)
}

// The native flag an AbortSignal sets, and the function that stops listening.
function abortFlag(signal) {
  checkSignal(signal)
  if (signal === undefined || signal === null) return [undefined, () => {}]
  const flag = new native.ReadAbort()
  if (signal.aborted) {
    flag.abort()
    return [flag, () => {}]
  }
  const onAbort = () => flag.abort()
  signal.addEventListener('abort', onAbort, { once: true })
  return [flag, () => signal.removeEventListener('abort', onAbort)]
}

async function batchGet(client, table, keys, options) {
  if (keys === null || typeof keys !== 'object' || typeof keys[Symbol.iterator] !== 'function') {
    throw native.invalidArgument(`keys must be an iterable of keys, got ${describe(keys)}`)
  }
  const list = []
  const wire = client._encoder.many(keys, list)
  const bins = client._encoder.bins || undefined
  const [flag, unlisten] = abortFlag(options !== null && typeof options === 'object' ? options.signal : undefined)
  let out
  try {
    out = await client._native.batchGet(table, wire, bins, options, flag)
  } finally {
    unlisten()
  }
  // The answers' items in order; a repeated key gets its own copy, so that changing one position leaves
  // the others alone.
  const found = []
  const place = [] // [chunk, index in it] of each found item
  for (const chunk of out.chunks) {
    const items = decodePage(chunk)
    for (let j = 0; j < items.length; j++) {
      found.push(items[j])
      place.push([chunk, j])
    }
  }
  const given = new Uint8Array(found.length)
  const items = new Array(list.length)
  const slots = out.slots
  for (let i = 0; i < list.length; i++) {
    const s = slots[i]
    if (s < 0) items[i] = undefined
    else if (given[s] === 0) {
      given[s] = 1
      items[i] = found[s]
    } else items[i] = copyPageItem(place[s][0], place[s][1])
  }
  if (out.error) {
    const err = new BatchGetError(out.error.message)
    err.code = out.error.code
    err.failed = out.failed.map((f) => ({ index: f.index, key: list[f.index], reason: f.reason, message: f.message, attempts: f.attempts }))
    err.items = items
    err.result = out.result
    throw err
  }
  return items
}

module.exports = { batchGet, checkSignal }
