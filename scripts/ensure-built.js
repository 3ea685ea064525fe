#!/usr/bin/env node
'use strict'
// Contributors only: builds the native addon (release) when it is missing or older than its sources, so the
// repository's own `npm install`/`npm ci` (the `prepare` script), `npm test`, `npm run demo` and `npm run bench`
// each build at most once and never twice in a row. Not part of the published package: users get the
// prebuilt binary from the platform package (npm/<platform>), and their install runs no script.
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

// `prepare` also runs before `npm pack`/`npm publish`: those package what is there (the release workflow has
// already put the prebuilt binaries into npm/<platform>/), they never compile.
if (process.env.npm_lifecycle_event === 'prepare' && ['pack', 'publish'].includes(process.env.npm_command)) process.exit(0)

const root = path.join(__dirname, '..')
const addon = fs.readdirSync(root).find((f) => /^dynabatch\..*\.node$/.test(f))

function newest(p) {
  const st = fs.statSync(p)
  if (!st.isDirectory()) return st.mtimeMs
  return fs.readdirSync(p).reduce((m, f) => Math.max(m, newest(path.join(p, f))), 0)
}

const sources = ['src', 'Cargo.toml', 'Cargo.lock', 'build.rs'].map((f) => path.join(root, f))
const stale = !addon || sources.some((s) => fs.existsSync(s) && newest(s) > fs.statSync(path.join(root, addon)).mtimeMs)
if (!stale && process.env.DYNABATCH_FORCE_BUILD !== '1') process.exit(0)

console.error(`dynabatch: building the native addon (release; the first build takes several minutes)…`)
const napi = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
const r = spawnSync(process.execPath, [napi, 'build', '--platform', '--release', '--js', 'binding.js', '--dts', 'binding.d.ts'], {
  cwd: root,
  stdio: 'inherit',
})
if (r.status !== 0) {
  console.error('dynabatch: the native build failed (it needs Rust: https://rustup.rs)')
  process.exit(r.status || 1)
}
