// ESM entry: the same objects as the CommonJS entry.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const m = require('./index.js')

export const {
  DynamoDBClient,
  BatchWriter,
  BatchWriteError,
  withBatch,
  NumberValue,
  FixedRate,
  AdaptiveRate,
  DynabatchError,
  InvalidItemError,
  SuppressedError,
  importFrom,
} = m
export default m
