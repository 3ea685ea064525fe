'use strict'
// The loader's throughput: `dynabatch import` of a gzip file of N JSON lines against the sink, next to
// putMany of the same items from memory, in the same run (each in its own process, in back-to-back pairs,
// median of the pairs' ratios). Reading, decompressing and parsing must not be the bottleneck: the loader should stay within 80%
// of putMany's items/s.
//
//   node benchmark/loader.js [--lines N] [--runs R] [--json]     (npm run bench runs it through bench())
//   node benchmark/loader.js --child <file> <endpoint>          (one loader run; prints its summary and peak RSS)
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')
const { spawn } = require('node:child_process')
const { pipeline } = require('node:stream/promises')
const { Readable } = require('node:stream')
const { item } = require('./items.js')

const ROOT = path.join(__dirname, '..')

function arg(name, fallback) {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

async function writeGzip(file, n) {
  const lines = Readable.from(
    (function* () {
      for (let i = 0; i < n; i += 1000) {
        let chunk = ''
        for (let j = i; j < Math.min(n, i + 1000); j++) chunk += JSON.stringify(item(j)) + '\n'
        yield chunk
      }
    })(),
  )
  await pipeline(lines, zlib.createGzip({ level: 6 }), fs.createWriteStream(file))
}

function runChild(args, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_EC2_METADATA_DISABLED: 'true', ...env },
    })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${args.join(' ')}: ${err}`))))
  })
}

// The loader as a user runs it, in this process (so its peak RSS is measured): prints one JSON line.
async function child(file, endpoint) {
  const { main } = require('../lib/cli/main.js')
  let out = ''
  const stdout = { write: (t) => (out += t) }
  const code = await main(['import', file, '--table', 'bench', '--endpoint', endpoint, '--region', 'us-east-1', '--json'], { stdout })
  if (code !== 0) throw new Error(`the loader exited with ${code}: ${out}`)
  const s = JSON.parse(out)
  console.log(JSON.stringify({ itemsPerSecond: s.itemsPerSecond, written: s.written, elapsedMs: s.elapsedMs, peakRssMb: process.resourceUsage().maxRSS / 1024 }))
  process.exit(0) // the native client's threads must not keep a finished run alive
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Generates the file, measures both, and returns { lines, runs, gzipMb, putMany, loader, ratio }. */
async function run({ lines = 1000000, runs = 5, log = (t) => process.stderr.write(`${t}\n`) } = {}) {
  const { spawnFaultServer } = require('../__test__/helpers/fault-server.js')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-loader-bench-'))
  const file = path.join(dir, 'items.jsonl.gz')
  const sink = await spawnFaultServer({ tables: { bench: { partitionKey: { name: 'pk', type: 'S' } } }, store: false })
  try {
    await writeGzip(file, lines)
    const gzipMb = fs.statSync(file).size / 1024 / 1024
    log(`  loader benchmark: ${lines.toLocaleString('en-US')} lines, gzip ${gzipMb.toFixed(1)} MB`)
    const putMany = []
    const loader = []
    const ratios = []
    const runPutMany = () => runChild(['benchmark/peer.js', 'dynabatch-putMany', sink.endpoint, String(lines), '16'])
    const runLoader = async () => {
      const l = await runChild([__filename, '--child', file, sink.endpoint])
      if (l.written !== lines) throw new Error(`the loader wrote ${l.written} of ${lines}`)
      return l
    }
    for (let r = 0; r < runs; r++) {
      // Each run is a pair measured back to back (in alternating order), so both share the machine's load
      // of the moment; the figure is the median of the pairs' ratios.
      let p, l
      if (r % 2 === 0) {
        p = await runPutMany()
        l = await runLoader()
      } else {
        l = await runLoader()
        p = await runPutMany()
      }
      putMany.push(p)
      loader.push(l)
      ratios.push(l.itemsPerSecond / p.itemsPerSecond)
      log(`  run ${r + 1}: putMany ${Math.round(p.itemsPerSecond)} items/s, loader ${Math.round(l.itemsPerSecond)} items/s (${(ratios[r] * 100).toFixed(0)}%)`)
    }
    return {
      lines,
      runs,
      gzipMb,
      putMany: { itemsPerSecond: median(putMany.map((x) => x.itemsPerSecond)), peakRssMb: median(putMany.map((x) => x.peakRssMb)) },
      loader: { itemsPerSecond: median(loader.map((x) => x.itemsPerSecond)), peakRssMb: median(loader.map((x) => x.peakRssMb)) },
      ratio: median(ratios),
      ratios,
    }
  } finally {
    await sink.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

function report(r) {
  const f = (n) => Math.round(n).toLocaleString('en-US')
  return (
    `loader: ${f(r.lines)} gzip JSON lines: dynabatch import ${f(r.loader.itemsPerSecond)} items/s (peak RSS ${f(r.loader.peakRssMb)} MB), ` +
    `putMany from memory ${f(r.putMany.itemsPerSecond)} items/s (medians of ${r.runs}); loader/putMany, median of the ` +
    `back-to-back pairs: ${(r.ratio * 100).toFixed(0)}% (target: at least 80%)`
  )
}

/** The npm run bench hook: runs (a small version with --quick), prints the report, returns the figures. */
async function bench({ quick = false } = {}) {
  const r = await run(quick ? { lines: 50000, runs: 1 } : {})
  console.log(report(r))
  return r
}

module.exports = { run, report, bench }

if (require.main === module) {
  if (process.argv[2] === '--child') {
    child(process.argv[3], process.argv[4]).catch((e) => {
      console.error(e)
      process.exit(1)
    })
  } else {
    run({ lines: arg('--lines', 1000000), runs: arg('--runs', 5) })
      .then((r) => {
        console.log(report(r))
        if (process.argv.includes('--json')) console.log(JSON.stringify(r))
      })
      .catch((e) => {
        console.error(e)
        process.exit(1)
      })
  }
}
