'use strict'
// The product in one screen: withBatch writes users, flushed, retried and verified — or it throws.
const { DynamoDBClient, withBatch, BatchWriteError } = require('dynabatch')
const { startLocal } = require('./local-dynalite.js')

async function main() {
  const local = await startLocal()
  const client = new DynamoDBClient(local.options)
  await client.createTable('users', { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'S' } })

  const users = Array.from({ length: 1000 }, (_, i) => ({ pk: `USER#${i}`, sk: 'PROFILE', name: `User ${i}`, tags: new Set(['new']) }))
  try {
    const result = await withBatch(client, 'users', async (b) => {
      for (const u of users) await b.put(u) // resolves when accepted; waits under backpressure
      await b.delete({ pk: 'USER#3', sk: 'PROFILE' })
    })
    console.log(`written: ${result.putsWritten} puts, ${result.deletesWritten} deletes in ${result.requests} requests`)
  } catch (e) {
    if (e instanceof BatchWriteError) for (const f of e.failed) console.error(f.operation, f.reason, f.message, f.item)
    throw e
  }
  console.log(await client.getItem('users', { pk: 'USER#42', sk: 'PROFILE' }))
  await local.close()
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
