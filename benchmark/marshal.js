'use strict'
// JS-thread cost per item: @aws-sdk/util-dynamodb's marshall against dynabatch's encoder, and a whole
// `writer.put(item)` on a writer with room (the call returns an already-resolved Promise). Prints JSON.
// Usage: node benchmark/marshal.js <sink endpoint> <items>
const { marshall } = require('@aws-sdk/util-dynamodb')
const { Encoder } = require('../lib/codec.js')
const { DynamoDBClient, BatchWriter } = require('..')
const { item } = require('./items.js')

const [endpoint, nArg] = process.argv.slice(2)
const N = Number(nArg)
const items = Array.from({ length: N }, (_, i) => item(i))

function usPerItem(fn) {
  fn() // warm up (JIT)
  const t = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - t) / N / 1000
}

async function main() {
  const enc = new Encoder(false)
  const out = {
    marshallUs: usPerItem(() => {
      for (const it of items) marshall(it)
    }),
    encodeUs: usPerItem(() => {
      for (const it of items) enc.item(it, 'item')
    }),
  }
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } })
  const writers = []
  out.putUs = usPerItem(() => {
    const w = new BatchWriter(client, 'bench', { highWaterMark: 1e9, keySchema: { partitionKey: { name: 'pk', type: 'S' } } })
    writers.push(w)
    for (const it of items) w.put(it)
  })
  for (const w of writers) await w.close()
  console.log(JSON.stringify(out))
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
