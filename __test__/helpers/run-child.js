'use strict'
// Runs a child process to its end: resolves to { code, signal, stdout, stderr }.

const { spawn } = require('node:child_process')

function runChild(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** A copy of this process's environment with static dummy AWS credentials and nothing else of AWS's. */
function dummyAwsEnv(extra = {}) {
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k]
  return {
    ...env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  }
}

module.exports = { runChild, dummyAwsEnv }
