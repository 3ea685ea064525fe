#!/usr/bin/env node
'use strict'
// npm run test:node-matrix [-- <test files>]: the Node test suite (all of __test__/, as npm test runs it:
// loading, the writer, withBatch, `await using`, the CLI, the consumer install) under each Node version of
// scripts/node-matrix/package.json (22 and 24), installed from the npm registry's `node` package on first use.
// `npm test` runs it after the suite under the machine's own Node. DYNABATCH_NODE_MATRIX=24 picks versions.
//
// The versions live in a project of their own: the `node` package links a `node` binary into
// node_modules/.bin, which in the main project would become the Node of every npm script.

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const project = path.join(__dirname, 'node-matrix')
const declared = Object.keys(require('./node-matrix/package.json').devDependencies).map((name) =>
  name.slice('node'.length),
)
const versions = process.env.DYNABATCH_NODE_MATRIX ? process.env.DYNABATCH_NODE_MATRIX.split(',') : declared
// The test files npm test runs (Node 22+ reads a directory argument as a file, so they are listed).
const files =
  process.argv.length > 2
    ? process.argv.slice(2)
    : fs
        .readdirSync(path.join(root, '__test__'))
        .filter((f) => /\.test\.[cm]?js$/.test(f))
        .map((f) => `__test__/${f}`)

// What `npm run` exports to its scripts is about this repository; the nested install must not see it.
const KEEP = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry'])
function cleanEnv(extra) {
  const env = { ...process.env }
  for (const k of Object.keys(env)) {
    if (k.startsWith('npm_') && !KEEP.has(k)) delete env[k]
  }
  return { ...env, ...extra }
}

const binary = (major) =>
  path.join(project, 'node_modules', `node${major}`, 'bin', process.platform === 'win32' ? 'node.exe' : 'node')
const runs = (major) => {
  const r = spawnSync(binary(major), ['--version'], { encoding: 'utf8' })
  return r.status === 0 && r.stdout.startsWith(`v${major}.`)
}

for (const major of versions) {
  if (!declared.includes(major)) {
    console.error(`node-matrix: Node ${major} is not in scripts/node-matrix/package.json (${declared.join(', ')})`)
    process.exit(2)
  }
}
if (!versions.every(runs)) {
  console.error(`node-matrix: installing Node ${declared.join(' and ')} (npm ci in scripts/node-matrix)`)
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: project,
    stdio: 'inherit',
    env: cleanEnv(),
    shell: process.platform === 'win32',
  })
  const missing = versions.filter((v) => !runs(v))
  if (r.status !== 0 || missing.length > 0) {
    console.error(
      `node-matrix: no runnable Node ${missing.join(', ')} in ${project}/node_modules (its install script must run)`,
    )
    process.exit(1)
  }
}

const failed = []
for (const major of versions) {
  const bin = binary(major)
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim()
  console.error(`\nnode-matrix: node --test under Node ${version}`)
  const started = Date.now()
  // Its directory first on PATH, so that what the tests spawn by name (npm, npx) runs on this Node too.
  const r = spawnSync(bin, ['--test', '--test-concurrency=1', ...files], {
    cwd: root,
    stdio: 'inherit',
    env: cleanEnv({ PATH: `${path.dirname(bin)}${path.delimiter}${process.env.PATH}` }),
  })
  console.error(
    `node-matrix: Node ${version}: ${r.status === 0 ? 'passed' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
  )
  if (r.status !== 0) failed.push(version)
}
if (failed.length > 0) {
  console.error(`node-matrix: failed under ${failed.join(', ')}`)
  process.exit(1)
}
console.error(`node-matrix: passed under Node ${versions.join(' and ')}`)
