'use strict'
// One peer writing N items to an endpoint, in its own process so CPU time, event-loop time and peak RSS are
// its own. Prints one JSON line: { items, seconds, itemsPerSecond, cpuSecondsPer100k, eventLoopMsPer100k,
// peakRssMb }. Usage: node benchmark/peer.js <peer> <endpoint> <items> [inFlight]
const { performance } = require('node:perf_hooks')
const { item } = require('./items.js')

const [peer, endpoint, nArg, inFlightArg] = process.argv.slice(2)
const N = Number(nArg)
const inFlight = Number(inFlightArg || 16)
const TABLE = 'bench'
const creds = { accessKeyId: 'bench', secretAccessKey: 'bench' }

async function libDynamodb() {
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1'
  const http = require('node:http')
  const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
  const { DynamoDBDocumentClient, BatchWriteCommand } = require('@aws-sdk/lib-dynamodb')
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: creds,
      requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: Math.max(16, inFlight) }) },
    }),
  )
  // The loop a competent user writes: chunks of 25, `inFlight` workers, UnprocessedItems re-sent with backoff.
  let next = 0
  async function worker() {
    while (next < N) {
      const start = next
      next = Math.min(N, next + 25)
      const chunk = []
      for (let i = start; i < next; i++) chunk.push({ PutRequest: { Item: item(i) } })
      let request = { [TABLE]: chunk }
      for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 50 * 2 ** attempt)))
        const out = await doc.send(new BatchWriteCommand({ RequestItems: request }))
        request = out.UnprocessedItems
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  doc.destroy()
}

async function dynabatch(mode) {
  const { DynamoDBClient, BatchWriter } = require('..')
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: creds })
  const w = new BatchWriter(client, TABLE, { maxInFlight: inFlight })
  if (mode === 'putMany') {
    for (let i = 0; i < N; i += 1000) {
      const chunk = []
      for (let j = i; j < Math.min(N, i + 1000); j++) chunk.push(item(j))
      await w.putMany(chunk)
    }
  } else {
    for (let i = 0; i < N; i++) await w.put(item(i))
  }
  const r = await w.close()
  if (r.putsWritten !== N) throw new Error(`wrote ${r.putsWritten} of ${N}`)
}

// Streams `N` items through one writer with awaited puts: the memory figure (items are made on the fly).
async function stream() {
  return dynabatch('put')
}

const peers = {
  stream,
  'lib-dynamodb': libDynamodb,
  'dynabatch-put': () => dynabatch('put'),
  'dynabatch-putMany': () => dynabatch('putMany'),
}

async function main() {
  const run = peers[peer]
  if (!run) throw new Error(`unknown peer ${peer}`)
  await measured(run, N)
}

/** Runs `run` and prints its one JSON line of figures for `n` items (also used by benchmark/read-peer.js). */
async function measured(run, N) {
  const elu0 = performance.eventLoopUtilization()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await run()
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const elu = performance.eventLoopUtilization(elu0)
  const per100k = 100000 / N
  console.log(
    JSON.stringify({
      items: N,
      seconds,
      itemsPerSecond: N / seconds,
      cpuSecondsPer100k: ((cpu.user + cpu.system) / 1e6) * per100k,
      eventLoopMsPer100k: elu.active * per100k,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  )
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}

module.exports = { measured }
