'use strict'
// Client-side error codes that need an environment without AWS configuration: run in child processes with
// an empty HOME, no AWS variables and instance metadata disabled, so nothing but loopback is ever contacted.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-home-'))
const cleanEnv = { PATH: process.env.PATH, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: path.join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none') }

function errorOf(clientOptions, extraEnv = {}) {
  const script = `
    const { DynamoDBClient } = require('dynabatch')
    new DynamoDBClient(${JSON.stringify(clientOptions)}).getItem('table', { pk: 'x' })
      .then(() => console.log(JSON.stringify({ ok: true })), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })))
  `
  const r = spawnSync(process.execPath, ['-e', script], { cwd: __dirname, env: { ...cleanEnv, ...extraEnv }, encoding: 'utf8', timeout: 20000 })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

describe('client-side error codes', () => {
  it('no credentials anywhere: CredentialsError, without contacting anything but loopback', () => {
    const e = errorOf({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1' })
    assert.equal(e.code, 'CredentialsError')
    assert.match(e.message, /^could not load AWS credentials: .*no credentials found in chain/s)
    assert.match(e.message, /set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/)
  })

  it('no region and no endpoint: InvalidArgument naming the region', () => {
    const e = errorOf({ credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })
    assert.deepEqual(e, { code: 'InvalidArgument', message: 'no AWS region: pass `region`, or set AWS_REGION or a profile\'s region' })
  })

  it('a refused connection: Network; credentials from the environment are used', () => {
    const e = errorOf({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }, { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_REGION: 'eu-west-1' })
    assert.equal(e.code, 'Network')
    assert.match(e.message, /Connection refused/)
  })

  it('the endpoint comes from AWS_ENDPOINT_URL_DYNAMODB when not passed', () => {
    const e = errorOf({ maxAttempts: 1 }, { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' })
    assert.equal(e.code, 'Network')
    assert.match(e.message, /Connection refused/)
  })
})
