'use strict'
// The README's examples and the demo run as written (each starts its own dynalite on 127.0.0.1).
const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

function run(file, env = {}) {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'examples', file)], {
    encoding: 'utf8',
    timeout: 60000,
    env: { ...process.env, ...env },
  })
  assert.equal(r.status, 0, `${file} failed (${r.signal || r.error || r.status}):\n${r.stdout}\n${r.stderr}`)
  return r.stdout + r.stderr
}

describe('examples', () => {
  it('quickstart.js', () => {
    assert.match(run('quickstart.js'), /written: 1000 puts, 1 deletes in 41 requests/)
  })
  it('observability.js', () => {
    assert.match(run('observability.js'), /client: (\d+) requests \(\1 seen by onRequest\), 5000 items, 0 errors/)
  })
  it('rate-limit.js', () => {
    assert.match(run('rate-limit.js'), /fixed: 1000 WCU in/)
  })
  it('demo.js (npm run demo) with a smaller file', () => {
    const out = run('demo.js', { DEMO_ITEMS: '2000' })
    assert.match(out, /2,000 written/)
    assert.match(out, /verified 200 sampled items field by field/)
  })
})
