'use strict'
// Child process for connections.test.js: one client, `count` short-lived writers at once (each withBatch
// writing `items` items), while the application reads its own files. Run under `ulimit -n 1024` (AWS
// Lambda's limit). Prints one JSON line: the sockets this process held (baseline and peak, from
// /proc/self/fd), how many of its file reads failed, and what the writers wrote.
//
// usage: node many-writers.js <endpoint> <table> <count> <items> [maxConnections]

const fs = require('node:fs')
const path = require('node:path')
const { DynamoDBClient, withBatch } = require(path.join(__dirname, '..', '..', 'index.js'))

const [endpoint, table, count, items, maxConnections] = process.argv.slice(2)

function sockets() {
  let n = 0
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++
    } catch {
      // closed between the listing and the read
    }
  }
  return n
}

async function main() {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    ...(maxConnections ? { maxConnections: Number(maxConnections) } : {}),
  })
  const baseline = sockets()
  let peak = baseline
  const sample = () => (peak = Math.max(peak, sockets()))
  const timer = setInterval(sample, 2)

  // The application's own work: file reads for as long as the writers run.
  let reads = 0
  let readErrors = 0
  const codes = new Set()
  let running = true
  const reader = (async () => {
    while (running) {
      await Promise.all(
        Array.from({ length: 50 }, () =>
          fs.promises.readFile(__filename).then(
            () => reads++,
            (e) => {
              readErrors++
              codes.add(e.code)
            },
          ),
        ),
      )
    }
  })()

  let written = 0
  const failures = []
  await Promise.all(
    Array.from({ length: Number(count) }, (_, w) =>
      withBatch(client, table, (b) => {
        for (let i = 0; i < Number(items); i++) b.put({ pk: `w${w}#${i}` })
        sample()
      }).then(
        (r) => (written += r.putsWritten),
        (e) => failures.push(e.code),
      ),
    ),
  )
  running = false
  await reader
  sample()
  clearInterval(timer)
  await client.close()
  const afterClose = sockets()
  process.stdout.write(JSON.stringify({ baseline, peak, afterClose, reads, readErrors, codes: [...codes], written, failures }) + '\n')
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n')
  process.exit(1)
})
