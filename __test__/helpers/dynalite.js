'use strict'
// An in-memory dynalite (a DynamoDB emulator) on a random loopback port, for tests that need real
// DynamoDB semantics (conditions, queries, validation) rather than injected faults (see fault-server.js).

const dynalite = require('dynalite')

let tableCounter = 0

// Starts dynalite on 127.0.0.1:0. Table state changes are instant (the *Ms options) so tests never poll
// for CREATING -> ACTIVE. `options` is passed to dynalite after those defaults.
async function startDynalite(options = {}) {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...options })

  // Clients (the AWS SDK, the Rust core) keep connections alive; server.close() alone waits for them
  // to go idle, so we track every socket and destroy what is left at close time.
  const sockets = new Set()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address()

  let closing = null
  const close = () => {
    // Idempotent: tests often close in both the test body and an after() hook.
    if (!closing) {
      closing = new Promise((resolve, reject) => {
        // dynalite's close() wraps http.Server#close, then closes its store. Node reports 'close' before libuv
        // has released the listening handle, so resolve two setImmediate turns later (handles are released
        // after the check phase): a handle check right after close() sees nothing.
        server.close((err) => (err ? reject(err) : setImmediate(setImmediate, resolve)))
        if (typeof server.closeAllConnections === 'function') server.closeAllConnections()
        for (const socket of sockets) socket.destroy()
      })
    }
    return closing
  }

  return { endpoint: `http://127.0.0.1:${port}`, port, server, close }
}

// Options for `new DynamoDBClient(...)` (and dynabatch's client) against a local endpoint. Static dummy
// credentials keep the SDK from walking the credential chain (env, ~/.aws, IMDS on the network).
function clientOptions(endpoint) {
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
}

// A valid, collision-free table name ([A-Za-z0-9_.-], 3..255 chars) so tests can share one server.
function uniqueTableName(prefix = 'test') {
  tableCounter += 1
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${tableCounter}`
}

module.exports = { startDynalite, clientOptions, uniqueTableName }

// Counts a table's items with the AWS SDK's Scan (Select COUNT, paginated): an independent check of what a
// writer put in the table (dynalite, like DynamoDB, does not keep DescribeTable's ItemCount current).
async function countItems(endpoint, table) {
  const { DynamoDBClient, ScanCommand } = require('@aws-sdk/client-dynamodb')
  const sdk = new DynamoDBClient(clientOptions(endpoint))
  let count = 0
  let ExclusiveStartKey
  do {
    const out = await sdk.send(new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey }))
    count += out.Count
    ExclusiveStartKey = out.LastEvaluatedKey
  } while (ExclusiveStartKey)
  sdk.destroy()
  return count
}

module.exports.countItems = countItems
