'use strict'
// Transactions (client.transactWrite, client.transactGet): the codec encodes each action's item or key and
// its condition's names and values; the core (src/js/transact.rs, src/transact.rs) judges the shape, the
// items and the limits, and runs the request. Items read back (the gets, and the old items a cancellation
// returns in `reasons`) are decoded here, by the read rules like every item read.

const { decodeItem } = require('./codec.js')

const KINDS = ['put', 'delete', 'update', 'conditionCheck']

// The first kind present, as the core reads it (undefined and null are absent); the core refuses an action
// with none or with two.
function bodyOf(action) {
  if (action === null || typeof action !== 'object') return [undefined, undefined]
  for (const k of KINDS) {
    const body = action[k]
    if (body !== undefined && body !== null) return [k, body]
  }
  return [undefined, undefined]
}

// What the core needs encoded for one entry: `target` (an item or a key) and the names and values.
function encodeParts(encoder, body, target) {
  const parts = { wire: encoder.item(target), bins: encoder.bins || undefined }
  const names = body.expressionAttributeNames
  if (names !== undefined && names !== null) parts.names = encoder.item(names)
  const values = body.expressionAttributeValues
  if (values !== undefined && values !== null) {
    parts.values = encoder.item(values)
    parts.valuesBins = encoder.bins || undefined
  }
  return parts
}

function encodeAction(encoder, action) {
  const [kind, body] = bodyOf(action)
  if (typeof body !== 'object') return { wire: encoder.item(undefined) }
  return encodeParts(encoder, body, kind === 'put' ? body.item : body.key)
}

function encodeGet(encoder, get) {
  if (get === null || typeof get !== 'object') return { wire: encoder.item(undefined) }
  return encodeParts(encoder, {}, get.key)
}

// A cancellation's old items, decoded in place.
function withItems(err) {
  if (err && err.code === 'TransactionCanceled' && Array.isArray(err.reasons)) {
    for (const r of err.reasons) if (r.item) r.item = decodeItem(r.item.wire, r.item.bins)
  }
  return err
}

async function transactWrite(client, actions, options) {
  const parts = Array.isArray(actions) ? Array.from(actions, (a) => encodeAction(client._encoder, a)) : []
  try {
    return await client._native.transactWrite(actions, parts, options)
  } catch (err) {
    throw withItems(err)
  }
}

async function transactGet(client, gets, options) {
  const parts = Array.isArray(gets) ? Array.from(gets, (g) => encodeGet(client._encoder, g)) : []
  let out
  try {
    out = await client._native.transactGet(gets, parts, options)
  } catch (err) {
    throw withItems(err)
  }
  return out.map((r) => (r ? decodeItem(r.wire, r.bins) : undefined))
}

module.exports = { transactWrite, transactGet }
