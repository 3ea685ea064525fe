'use strict'
// A DynamoDB Local with the two clients a test file on it needs: dynabatch's (recording every request it
// sends) and the AWS SDK's (to look at what the server holds, independently of dynabatch).

const { DynamoDBClient: SdkClient } = require('@aws-sdk/client-dynamodb')
const { DynamoDBClient } = require('dynabatch')
const { startDynamoDBLocal } = require('./dynamodb-local.js')
const { clientOptions } = require('./dynalite.js')

async function startLocalClients() {
  const local = await startDynamoDBLocal()
  const records = []
  const client = new DynamoDBClient({ ...clientOptions(local.endpoint), onRequest: (r) => records.push(r) })
  const sdk = new SdkClient({ ...clientOptions(local.endpoint), maxAttempts: 1 })
  return {
    local,
    client,
    sdk,
    records,
    // The operations the client sent while fn ran, DescribeTable (reading key schemas) left out. The count
    // comes from client.metrics, kept in step with the requests; the records, which name them, arrive
    // asynchronously shortly after, so they are awaited (boundedly).
    async requestsDuring(fn) {
      const before = client.metrics.requests
      const from = records.length
      await fn()
      const n = client.metrics.requests - before
      for (const until = Date.now() + 5000; records.length - from < n && Date.now() < until;)
        await new Promise(setImmediate)
      return records
        .slice(from)
        .map((r) => r.operation)
        .filter((op) => op !== 'DescribeTable')
    },
    async close() {
      sdk.destroy()
      await local.close()
    },
  }
}

module.exports = { startLocalClients }
