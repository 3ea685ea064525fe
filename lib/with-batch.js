'use strict'
// withBatch: a writer for the length of a callback, always closed. Its promise: everything the callback
// handed over is written, or it rejects with a BatchWriteError naming every operation that was not.

const { BatchWriter } = require('./writer.js')
const { BatchWriteError, SuppressedError, invalidArgument } = require('./errors.js')

async function withBatch(client, table, fn, options) {
  if (typeof fn !== 'function') throw invalidArgument('withBatch needs a callback')
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
    if (!threw) throw closeErr
    // The callback stopped on an item this writer refused: that item is in closeErr.failed already, so the
    // BatchWriteError is the whole story (the callback's error is its cause).
    if (closeErr instanceof BatchWriteError && writer._isItemFailure(error, closeErr.failed)) {
      closeErr.cause = error
      throw closeErr
    }
    // As `await using` does: the disposal error, with the callback's error as `suppressed`.
    const s = new SuppressedError(closeErr, error, 'withBatch: the callback threw and the final flush failed too')
    if (closeErr && closeErr.code !== undefined) s.code = closeErr.code
    throw s
  }
  if (threw) throw error
  return result
}

module.exports = { withBatch }
