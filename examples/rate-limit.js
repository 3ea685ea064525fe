'use strict'
// Rate limiting in write capacity units: a FixedRate shared by the client, an AdaptiveRate for one writer.
const { DynamoDBClient, withBatch, FixedRate, AdaptiveRate } = require('dynabatch')
const { startLocal } = require('./local-dynalite.js')

async function main() {
  const local = await startLocal()
  const client = new DynamoDBClient({ ...local.options, rateLimit: new FixedRate({ wcu: 500, burst: 100 }) })
  await client.createTable('logs', { partitionKey: { name: 'id', type: 'S' } })
  const t0 = Date.now()
  const r = await withBatch(client, 'logs', (b) => b.putMany(Array.from({ length: 1000 }, (_, i) => ({ id: `l${i}` }))))
  const secs = (Date.now() - t0) / 1000
  console.log(`fixed: ${r.putsWritten} WCU in ${secs.toFixed(1)} s (~${Math.round(r.consumedWcu / secs)} WCU/s for a 500 WCU/s limit)`)
  console.log('client rate limit:', client.metrics.rateLimit)

  const adaptive = new AdaptiveRate({ maxWcu: 2000, minWcu: 50 })
  await withBatch(client, 'logs', (b) => b.putMany(Array.from({ length: 500 }, (_, i) => ({ id: `a${i}` }))), { rateLimit: adaptive })
  console.log(`adaptive: now at ${adaptive.currentWcu} WCU/s (halves on throttling, climbs back when quiet)`)
  await local.close()
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
