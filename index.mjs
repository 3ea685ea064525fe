// ESM entry: the very objects of the CommonJS entry. A static import (not createRequire), so that bundlers
// (esbuild, Rollup, webpack) follow it to index.js like any other module.
import m from './index.js'

export const {
  DynamoDBClient,
  BatchWriter,
  BatchWriteError,
  BatchGetError,
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
