'use strict'
// Runs bin/dynabatch.js as a user does, in a child process that can reach nothing but loopback: static dummy
// credentials, no shared config files, and no EC2 instance-metadata lookup.

const path = require('node:path')
const { spawn } = require('node:child_process')

const BIN = path.join(__dirname, '..', '..', 'bin', 'dynabatch.js')

/** process.env without AWS_* variables, plus `extra`; dir holds the (absent) config files. */
function childEnv(dir, extra = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }) {
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k]
  return {
    ...env,
    AWS_CONFIG_FILE: path.join(dir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  }
}

/**
 * Runs the CLI with `--endpoint endpoint --region us-east-1` appended; `onStderr(text, child)` sees stderr as
 * it arrives, `onSpawn(child)` the process. Resolves to { code, signal, stdout, stderr }.
 */
function runCli(args, { dir, endpoint, input, onStderr, onSpawn, env, timeoutMs = 60_000 }) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--endpoint', endpoint, '--region', 'us-east-1'], {
      cwd: dir,
      env: env || childEnv(dir),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => {
      stderr += c
      if (onStderr) onStderr(stderr, child)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
    if (onSpawn) onSpawn(child)
    child.stdin.on('error', () => {}) // a child killed early closes its stdin
    child.stdin.end(input)
  })
}

module.exports = { runCli, childEnv, BIN }
