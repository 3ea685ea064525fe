'use strict'
// `npm run bench`: dynabatch against the peer a user would pick instead (@aws-sdk/lib-dynamodb with a
// BatchWriteCommand loop), same items, same machine, in the same run. Every peer runs in its own process.
//
//   1. sink: a local DynamoDB-protocol server (the test suite's fault server in sink mode, in a child
//      process) that answers at once, so the client's own cost is what is measured;
//   2. JS-thread cost per item: marshall vs dynabatch's encoder vs a whole put;
//   3. memory: 1,000,000 items streamed through one writer;
//   4. the real-server view: dynalite.
//
// Flags: --quick (10k items, one run, no 1M memory run), --json (also writes benchmark/results.json),
// --no-reads (skip the read benchmarks of benchmark/reads.js).
const os = require('node:os')
const fs = require('node:fs')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const { spawnFaultServer } = require('../__test__/helpers/fault-server.js')

const quick = process.argv.includes('--quick')
const asJson = process.argv.includes('--json')
const ITEMS = quick ? 10000 : 100000
const RUNS = quick ? 1 : 3
const STREAM_ITEMS = 1000000
const DYNALITE_ITEMS = quick ? 5000 : 20000

// pydynox runs from Python when it is installed (DYNABATCH_BENCH_PYTHON may name a virtualenv's python).
const PYTHON = process.env.DYNABATCH_BENCH_PYTHON || 'python3'
// The raw Rust SDK row: benchmark/sdk_peer.rs, built as a cargo example.
const SDK_PEER = path.join(__dirname, '..', 'target', 'release', 'examples', 'sdk_peer')

function buildSdkPeer() {
  process.stderr.write('  building the raw SDK peer (cargo build --release --example sdk_peer)…\n')
  const r = spawnSync('cargo', ['build', '--release', '--quiet', '--example', 'sdk_peer'], { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'ignore', 'inherit'] })
  return r.status === 0
}

function runNode(args, command = process.execPath) {
  return new Promise((resolve, reject) => {
    const p = spawn(command, args, { cwd: path.join(__dirname, '..'), env: { ...process.env, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' } })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${args.join(' ')}: ${err}`))))
  })
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function measure(peer, endpoint, n, inFlight) {
  const runs = []
  for (let r = 0; r < RUNS; r++) {
    runs.push(
      peer === 'pydynox'
        ? await runNode(['benchmark/pydynox_peer.py', endpoint, String(n)], PYTHON)
        : peer === 'sdk'
          ? await runNode([endpoint, String(n), String(inFlight)], SDK_PEER)
          : await runNode(['benchmark/peer.js', peer, endpoint, String(n), String(inFlight)]),
    )
  }
  return medians(runs)
}

// The median of each figure over several runs of one peer.
function medians(runs) {
  const keys = ['itemsPerSecond', 'cpuSecondsPer100k', 'eventLoopMsPer100k', 'peakRssMb']
  return Object.fromEntries(keys.map((k) => [k, runs[0][k] === null ? null : median(runs.map((x) => x[k]))]))
}

function table(rows, cols) {
  const widths = cols.map((c) => Math.max(c.title.length, ...rows.map((r) => c.fmt(r).length)))
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(cols.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => c.fmt(r))))].join('\n')
}

const fmt0 = (n) => Math.round(n).toLocaleString('en-US')
const fmt2 = (n) => n.toFixed(2)

async function main() {
  const cpus = os.cpus()
  console.log(`dynabatch benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus.length} × ${cpus[0] && cpus[0].model.trim()}, ${os.platform()} ${os.arch()}`)
  console.log(`items: ${fmt0(ITEMS)} of ~200 bytes per run, median of ${RUNS} run(s), every peer in its own process\n`)
  const results = { date: new Date().toISOString(), node: process.version, cpus: cpus.length, items: ITEMS }

  const sink = await spawnFaultServer({ tables: { bench: { partitionKey: { name: 'pk', type: 'S' } } }, store: false })
  try {
    const peers = [
      ['lib-dynamodb, 1 in flight', 'lib-dynamodb', 1],
      ['lib-dynamodb, 16 in flight', 'lib-dynamodb', 16],
      ['aws-sdk-dynamodb (Rust), 16 in flight', 'sdk', 16],
      ['dynabatch put (awaited)', 'dynabatch-put', 16],
      ['dynabatch putMany (1,000)', 'dynabatch-putMany', 16],
    ]
    if (!buildSdkPeer()) peers.splice(2, 1)
    const rows = []
    for (const [name, peer, inFlight] of peers) {
      const m = await measure(peer, sink.endpoint, peer === 'lib-dynamodb' && inFlight === 1 ? Math.min(ITEMS, 20000) : ITEMS, inFlight)
      rows.push({ name, ...m })
      process.stderr.write(`  measured ${name}\n`)
    }
    const py = spawnSync(PYTHON, ['-c', 'import pydynox'], { encoding: 'utf8' })
    let pydynoxNote = 'pydynox row: its SyncBatchWriter from Python (no event loop; it sends one request at a time)'
    if (py.status === 0) {
      rows.push({ name: 'pydynox SyncBatchWriter (Python)', ...(await measure('pydynox', sink.endpoint, ITEMS, 1)) })
      process.stderr.write('  measured pydynox\n')
    } else {
      pydynoxNote = `pydynox: not installed for ${PYTHON} (pip install pydynox, or set DYNABATCH_BENCH_PYTHON, to add its row)`
    }
    const base = rows[1]
    const sdkRow = rows.find((r) => r.name.startsWith('aws-sdk-dynamodb'))
    const cols = [
      { title: 'peer (sink server)', fmt: (r) => r.name },
      { title: 'items/s', fmt: (r) => fmt0(r.itemsPerSecond) },
      { title: 'CPU s/100k', fmt: (r) => fmt2(r.cpuSecondsPer100k) },
      { title: 'event loop ms/100k', fmt: (r) => (r.eventLoopMsPer100k === null ? 'n/a' : fmt0(r.eventLoopMsPer100k)) },
      { title: 'peak RSS MB', fmt: (r) => fmt0(r.peakRssMb) },
      {
        title: 'vs lib-dynamodb@16',
        fmt: (r) =>
          `${(r.itemsPerSecond / base.itemsPerSecond).toFixed(2)}x items/s` +
          (r.eventLoopMsPer100k === null ? '' : `, ${(r.eventLoopMsPer100k / base.eventLoopMsPer100k).toFixed(3)}x loop`) +
          `, ${(r.cpuSecondsPer100k / base.cpuSecondsPer100k).toFixed(2)}x CPU`,
      },
      { title: 'vs Rust SDK', fmt: (r) => (sdkRow ? `${(r.itemsPerSecond / sdkRow.itemsPerSecond).toFixed(2)}x items/s` : 'n/a') },
    ]
    console.log(table(rows, cols))
    console.log(`(${pydynoxNote})\n`)
    results.sink = rows

    const mm = await runNode(['benchmark/marshal.js', sink.endpoint, String(Math.min(ITEMS, 50000))])
    console.log('JS-thread cost per item (µs):')
    console.log(`  @aws-sdk/util-dynamodb marshall  ${mm.marshallUs.toFixed(2)}`)
    console.log(`  dynabatch encoder                ${mm.encodeUs.toFixed(2)}  (${(mm.marshallUs / mm.encodeUs).toFixed(1)}x faster)`)
    console.log(`  dynabatch writer.put (with room) ${mm.putUs.toFixed(2)}  (encode + hand-off to the Rust engine)\n`)
    results.marshal = mm

    if (!quick) {
      const s = await runNode(['benchmark/peer.js', 'stream', sink.endpoint, String(STREAM_ITEMS), '16'])
      console.log(`memory: ${fmt0(STREAM_ITEMS)} items streamed through one writer (awaited put): peak RSS ${fmt0(s.peakRssMb)} MB, ${fmt0(s.itemsPerSecond)} items/s\n`)
      results.stream = s
    }
  } finally {
    await sink.close()
  }

  // The real-server view: dynalite in its own process.
  const server = spawn(process.execPath, [path.join(__dirname, 'dynalite-server.js')], { stdio: ['pipe', 'pipe', 'inherit'] })
  const endpoint = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(d.toString().trim())))
  try {
    const setup = spawnSync(
      process.execPath,
      [
        '-e',
        `const { DynamoDBClient } = require('.'); new DynamoDBClient({ endpoint: '${endpoint}', region: 'us-east-1', credentials: { accessKeyId: 'b', secretAccessKey: 'b' } }).createTable('bench', { partitionKey: { name: 'pk', type: 'S' } }).then(() => {}, (e) => { console.error(e); process.exit(1) })`,
      ],
      { cwd: path.join(__dirname, '..'), stdio: 'inherit' },
    )
    if (setup.status !== 0) throw new Error('could not create the dynalite table')
    const lib = await runNode(['benchmark/peer.js', 'lib-dynamodb', endpoint, String(DYNALITE_ITEMS), '16'])
    const ours = await runNode(['benchmark/peer.js', 'dynabatch-put', endpoint, String(DYNALITE_ITEMS), '16'])
    console.log(`dynalite (${fmt0(DYNALITE_ITEMS)} items): lib-dynamodb@16 ${fmt0(lib.itemsPerSecond)} items/s, dynabatch put ${fmt0(ours.itemsPerSecond)} items/s (${(ours.itemsPerSecond / lib.itemsPerSecond).toFixed(2)}x; dynalite itself is the bottleneck)`)
    results.dynalite = { libDynamodb: lib, dynabatch: ours }
  } finally {
    server.stdin.end()
  }
  results.loader = await require('./loader.js').bench({ quick })
  // Reads (batchGet, scan) against their lib-dynamodb equivalents: benchmark/reads.js.
  if (!process.argv.includes('--no-reads')) results.reads = await require('./reads.js').readBenchmarks({ quick, runs: RUNS })
  if (asJson) fs.writeFileSync(path.join(__dirname, 'results.json'), JSON.stringify(results, null, 2) + '\n')
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}

module.exports = { runNode, medians, table, fmt0, fmt2 }
