'use strict'
// The error classes of the public API. The core creates their instances natively (src/js/error.rs) and sets
// `code`, `requestId`, `statusCode`, `path` and `cause`; these classes give them their names and prototypes.

const native = require('./native.js')

/** dynabatch's errors and DynamoDB's service errors (with DynamoDB's code). */
class DynabatchError extends Error {
  constructor(message) {
    super(message)
    this.name = 'DynabatchError'
  }
}

/** An item or key that breaks the marshalling rules, the size limit or the key schema. */
class InvalidItemError extends TypeError {
  constructor(message) {
    super(message)
    this.name = 'InvalidItemError'
  }
}

/** flush/close/withBatch: some operations were not written; `failed` names each, `result` counts. */
class BatchWriteError extends Error {
  constructor(message) {
    super(message)
    this.name = 'BatchWriteError'
  }
}

/**
 * batchGet: some keys could not be read; `failed` names each position, `items` holds what was read
 * (aligned with the keys), `result` counts.
 */
class BatchGetError extends Error {
  constructor(message) {
    super(message)
    this.name = 'BatchGetError'
  }
}

native.registerErrorClasses(DynabatchError, InvalidItemError, BatchWriteError)

// Explicit resource management's SuppressedError (native from Node 24), for withBatch's double failure.
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

module.exports = {
  DynabatchError,
  InvalidItemError,
  BatchWriteError,
  BatchGetError,
  SuppressedError: SuppressedErrorImpl,
  invalidArgument: native.invalidArgument,
}
