'use strict'
// Blocks written with the real `await using` syntax. Node 24 parses it; older versions throw a SyntaxError
// when this file is loaded, so await-using.test.js requires it only where the syntax exists.

const { BatchWriter } = require('dynabatch')

// Puts every item inside a block and leaves it normally. Returns the writer (disposed by then).
async function putInBlock(client, table, items, options) {
  let seen
  {
    await using writer = new BatchWriter(client, table, options)
    seen = writer
    for (const item of items) writer.put(item)
  }
  return seen
}

// Puts every item inside a block, then throws `error` from it. `onWriter` receives the writer.
async function putThenThrow(client, table, items, error, options, onWriter) {
  {
    await using writer = new BatchWriter(client, table, options)
    onWriter(writer)
    for (const item of items) writer.put(item)
    throw error
  }
}

module.exports = { putInBlock, putThenThrow }
