'use strict'
// One reader of N items from an endpoint, in its own process (CPU time, event-loop time and peak RSS are its
// own); prints peer.js's JSON line. Usage: node benchmark/read-peer.js <peer> <endpoint> <items> [segments]
// The table `bench` holds benchmark/items.js's items 0..N-1 (key pk, sk). Every peer checks what it read.
const { measured } = require('./peer.js')

const [peer, endpoint, nArg, segArg] = process.argv.slice(2)
const N = Number(nArg)
const SEGMENTS = Number(segArg || 8)
const IN_FLIGHT = 16
const TABLE = 'bench'
const creds = { accessKeyId: 'bench', secretAccessKey: 'bench' }
const keys = () => Array.from({ length: N }, (_, i) => ({ pk: `USER#${i}`, sk: 'PROFILE' }))

function check(what, got) {
  if (got !== N) throw new Error(`${peer}: ${what} ${got} of ${N}`)
}

function libClient() {
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1'
  const http = require('node:http')
  const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
  const { DynamoDBDocumentClient } = require('@aws-sdk/lib-dynamodb')
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: creds,
      requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: Math.max(IN_FLIGHT, SEGMENTS) }) },
    }),
  )
}

// The loop a competent user writes: chunks of 100 keys, 16 workers, UnprocessedKeys re-sent with backoff,
// the answers put back in the keys' order.
async function libBatchGet() {
  const { BatchGetCommand } = require('@aws-sdk/lib-dynamodb')
  const doc = libClient()
  const all = keys()
  const position = new Map(all.map((k, i) => [`${k.pk}|${k.sk}`, i]))
  const out = new Array(N)
  let next = 0
  async function worker() {
    while (next < N) {
      const start = next
      next = Math.min(N, next + 100)
      let request = { [TABLE]: { Keys: all.slice(start, next) } }
      for (let attempt = 0; request; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 50 * 2 ** attempt)))
        const res = await doc.send(new BatchGetCommand({ RequestItems: request }))
        for (const item of res.Responses[TABLE] || []) out[position.get(`${item.pk}|${item.sk}`)] = item
        request = res.UnprocessedKeys && Object.keys(res.UnprocessedKeys).length > 0 ? res.UnprocessedKeys : null
      }
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  doc.destroy()
  check('read', out.filter((x, i) => x && x.pk === `USER#${i}`).length)
}

// ScanCommand over `SEGMENTS` parallel segments, each paged with ExclusiveStartKey.
async function libScan() {
  const { ScanCommand } = require('@aws-sdk/lib-dynamodb')
  const doc = libClient()
  let n = 0
  await Promise.all(
    Array.from({ length: SEGMENTS }, async (_, Segment) => {
      let ExclusiveStartKey
      do {
        const res = await doc.send(new ScanCommand({ TableName: TABLE, Segment, TotalSegments: SEGMENTS, ExclusiveStartKey }))
        for (const item of res.Items) if (item.pk) n++
        ExclusiveStartKey = res.LastEvaluatedKey
      } while (ExclusiveStartKey)
    }),
  )
  doc.destroy()
  check('scanned', n)
}

function ours() {
  const { DynamoDBClient } = require('..')
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: creds })
}

async function dynabatchBatchGet() {
  const got = await ours().batchGet(TABLE, keys(), { maxInFlight: IN_FLIGHT })
  check('read', got.filter((x, i) => x && x.pk === `USER#${i}`).length)
}

async function dynabatchScan() {
  let n = 0
  for await (const item of ours().scan(TABLE, { totalSegments: SEGMENTS })) if (item.pk) n++
  check('scanned', n)
}

async function dynabatchScanPages() {
  let n = 0
  for await (const page of ours().scan(TABLE, { totalSegments: SEGMENTS }).pages()) for (const item of page) if (item.pk) n++
  check('scanned', n)
}

const peers = {
  'lib-dynamodb-batchget': libBatchGet,
  'lib-dynamodb-scan': libScan,
  'dynabatch-batchget': dynabatchBatchGet,
  'dynabatch-scan': dynabatchScan,
  'dynabatch-scan-pages': dynabatchScanPages,
}

const run = peers[peer]
if (!run) throw new Error(`unknown peer ${peer}`)
measured(run, N).catch((e) => {
  console.error(e)
  process.exit(1)
})
