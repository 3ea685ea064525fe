'use strict'
// dynabatch: the public entry. Each concept lives in its own file under lib/; the Rust core does the work
// (see src/ and the README's Layout section).

const native = require('./lib/native.js')
const { DynamoDBClient } = require('./lib/client.js')
const { BatchWriter } = require('./lib/writer.js')
const { withBatch } = require('./lib/with-batch.js')
const { NumberValue } = require('./lib/codec.js')
const { DynabatchError, InvalidItemError, BatchWriteError, BatchGetError, SuppressedError } = require('./lib/errors.js')

module.exports = {
  DynamoDBClient,
  BatchWriter,
  BatchWriteError,
  BatchGetError,
  withBatch,
  NumberValue,
  FixedRate: native.FixedRate,
  AdaptiveRate: native.AdaptiveRate,
  DynabatchError,
  InvalidItemError,
  SuppressedError,
  importFrom: require('./lib/import/index.js').importFrom,
}
