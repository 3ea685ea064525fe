'use strict'
// The read benchmarks of `npm run bench` (or alone: `node benchmark/reads.js [--quick]`): dynabatch's batchGet
// and scan against what a user writes with @aws-sdk/lib-dynamodb instead (a BatchGetCommand loop with
// UnprocessedKeys handling; ScanCommand over parallel segments), same table, same machine, in the same run,
// every peer in its own process (benchmark/read-peer.js). The server is the test suite's fault server in a
// child process, holding the items and answering at once, so the clients' own cost is what is measured.
const { spawnFaultServer } = require('../__test__/helpers/fault-server.js')
const { marshall } = require('@aws-sdk/util-dynamodb')
const { item } = require('./items.js')
const { runNode, medians, table, fmt0, fmt2 } = require('./run.js')

const SEGMENTS = 8

const PEERS = [
  // [name, peer, the row it is compared with]
  ['lib-dynamodb BatchGetCommand loop, 16 in flight', 'lib-dynamodb-batchget', 'lib-dynamodb-batchget'],
  ['dynabatch batchGet (one call, 16 in flight)', 'dynabatch-batchget', 'lib-dynamodb-batchget'],
  [`lib-dynamodb ScanCommand, ${SEGMENTS} segments`, 'lib-dynamodb-scan', 'lib-dynamodb-scan'],
  [`dynabatch scan, ${SEGMENTS} segments (for await items)`, 'dynabatch-scan', 'lib-dynamodb-scan'],
  [`dynabatch scan, ${SEGMENTS} segments (pages())`, 'dynabatch-scan-pages', 'lib-dynamodb-scan'],
]

async function readBenchmarks({ quick = false, runs = quick ? 1 : 3 } = {}) {
  const n = quick ? 10000 : 100000
  console.log(`\nreads: ${fmt0(n)} items of ~200 bytes in one table, median of ${runs} run(s), every peer in its own process`)
  const server = await spawnFaultServer({
    tables: { bench: { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'S' } } },
    history: false,
    requestLogSize: 0,
  })
  const rows = []
  try {
    for (let i = 0; i < n; i += 10000) {
      await server.load(
        'bench',
        Array.from({ length: Math.min(10000, n - i) }, (_, j) => marshall(item(i + j))),
      )
    }
    for (const [name, peer, base] of PEERS) {
      const results = []
      for (let r = 0; r < runs; r++) results.push(await runNode(['benchmark/read-peer.js', peer, server.endpoint, String(n), String(SEGMENTS)]))
      rows.push({ name, peer, base, ...medians(results) })
      process.stderr.write(`  measured ${name}\n`)
    }
  } finally {
    await server.close()
  }
  const baseOf = (r) => rows.find((x) => x.peer === r.base)
  const cols = [
    { title: 'reader (fault server, answering at once)', fmt: (r) => r.name },
    { title: 'items/s', fmt: (r) => fmt0(r.itemsPerSecond) },
    { title: 'CPU s/100k', fmt: (r) => fmt2(r.cpuSecondsPer100k) },
    { title: 'event loop ms/100k', fmt: (r) => fmt0(r.eventLoopMsPer100k) },
    { title: 'peak RSS MB', fmt: (r) => fmt0(r.peakRssMb) },
    {
      title: 'vs lib-dynamodb',
      fmt: (r) =>
        r.peer === r.base
          ? '-'
          : `${(r.itemsPerSecond / baseOf(r).itemsPerSecond).toFixed(2)}x items/s, ${(r.eventLoopMsPer100k / baseOf(r).eventLoopMsPer100k).toFixed(2)}x loop`,
    },
  ]
  console.log(table(rows, cols))
  return rows
}

if (require.main === module) {
  readBenchmarks({ quick: process.argv.includes('--quick') }).catch((e) => {
    console.error(e)
    process.exit(1)
  })
}

module.exports = { readBenchmarks }
