'use strict'
// `npm run demo`: the main job on the embedded default. Generates 100,000 realistic user records as JSON
// Lines, starts dynalite in this process (no AWS account, nothing to configure), loads the file with the
// `dynabatch` command-line loader (progress on a terminal), reads a sample back to verify it field by field,
// and prints the run's metrics.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const dynalite = require('dynalite')
const { DynamoDBClient, NumberValue } = require('dynabatch')
const { createLineParser } = require('../lib/import/json-lines.js')
const { createDdbJson } = require('../lib/import/ddb-json.js')

const COUNT = Number(process.env.DEMO_ITEMS || 100000)
const TABLE = 'demo_users'
const CITIES = ['Lyon', 'Paris', 'Lisbon', 'Osaka', 'Denver', 'Nairobi', 'Recife', 'Tromsø']

function user(i) {
  return {
    pk: `USER#${String(i).padStart(7, '0')}`,
    sk: 'PROFILE',
    name: `User ${i}`,
    email: `user${i}@example.com`,
    age: 18 + (i % 60),
    active: i % 3 !== 0,
    score: Math.round(((i * 7919) % 100000) / 7) / 100,
    balanceCents: 12345678901234567 + i, // beyond 2^53: loaded exactly as a NumberValue
    tags: ['customer', i % 2 ? 'newsletter' : 'sms', `tier-${i % 4}`],
    address: { city: CITIES[i % CITIES.length], zip: String(10000 + (i % 89999)), geo: [45.75 + (i % 100) / 1000, 4.85] },
    createdAt: new Date(Date.UTC(2024, 0, 1) + i * 60000).toISOString(),
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-demo-'))
  const file = path.join(dir, 'users.jsonl')
  const out = fs.createWriteStream(file)
  for (let i = 0; i < COUNT; i++) {
    const line = JSON.stringify(user(i)).replace(/"balanceCents":(\d+)/, () => `"balanceCents":${12345678901234567n + BigInt(i)}`)
    if (!out.write(line + '\n')) await new Promise((r) => out.once('drain', r))
  }
  await new Promise((r) => out.end(r))
  console.error(`demo: wrote ${COUNT.toLocaleString('en-US')} items to ${file} (${(fs.statSync(file).size / 1e6).toFixed(1)} MB)`)

  const server = dynalite({ createTableMs: 0, deleteTableMs: 0 })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const endpoint = `http://127.0.0.1:${server.address().port}`
  console.error(`demo: embedded dynalite listening on ${endpoint}`)
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'demo', AWS_SECRET_ACCESS_KEY: 'demo', AWS_REGION: 'us-east-1' }

  const bin = path.join(__dirname, '..', 'bin', 'dynabatch.js')
  const args = [bin, 'import', file, '--table', TABLE, '--create-table', 'pk:S,sk:S', '--endpoint', endpoint, '--status-interval', '2']
  console.error(`demo: $ dynabatch ${args.slice(1).join(' ')}`)
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: 'inherit' })
    child.on('exit', (c) => resolve(c))
  })
  if (code !== 0) throw new Error(`the loader exited with ${code}`)

  // Verify a sample against the source, field by field (numbers beyond 2^53 compared exactly).
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' } })
  const parseJsonLine = createLineParser({ format: 'json', NumberValue }) // the loader's own parser
  const ddb = createDdbJson(NumberValue)
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  let checked = 0
  for (let k = 0; k < 200; k++) {
    const i = Math.floor((k * COUNT) / 200)
    const expected = parseJsonLine(lines[i])
    const got = await client.getItem(TABLE, { pk: expected.pk, sk: expected.sk })
    assert.ok(got, `item ${expected.pk} is in the table`)
    // Compared as DynamoDB JSON, numbers by their text: the loader keeps long literals (balanceCents, some
    // float sums in geo) as NumberValues, the read gives numbers where they round-trip exactly.
    assert.deepEqual(ddb.toItem(got), ddb.toItem(expected))
    checked++
  }
  console.error(`demo: verified ${checked} sampled items field by field, including 17-digit exact numbers`)
  const m = client.metrics
  console.error(`demo: read-back metrics: ${m.requests} GetItem requests, ${m.consumedRcu} RCU, p50 ${m.p50LatencyMs.toFixed(1)} ms, p99 ${m.p99LatencyMs.toFixed(1)} ms`)
  server.close()
  server.closeAllConnections() // the client's pool may hold an unused connection open
  fs.rmSync(dir, { recursive: true, force: true })
}

main().catch((e) => {
  console.error('demo failed:', e)
  process.exit(1)
})
