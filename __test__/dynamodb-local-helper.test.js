'use strict'
// The DynamoDB Local helper itself: it starts, answers on 127.0.0.1, contacts no AWS endpoint, and leaves no
// java process behind, whether the test process closes it, forgets it or is killed.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { spawn, execFileSync } = require('node:child_process')
const { DynamoDBClient: SdkClient, ListTablesCommand, CreateTableCommand } = require('@aws-sdk/client-dynamodb')
const { DynamoDBClient } = require('dynabatch')
const { startDynamoDBLocal, skipReason, ensureDynamoDBLocal, VERSION } = require('./helpers/dynamodb-local.js')
const { startDynalite, clientOptions, uniqueTableName } = require('./helpers/dynalite.js')

const HELPER = path.join(__dirname, 'helpers', 'dynamodb-local.js')

function isRunning(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    if (err.code === 'ESRCH') return false
    throw err
  }
}

// Waits (boundedly) for a process that was told to die; the bound only keeps a broken helper from hanging.
async function waitGone(pid, ms = 20_000) {
  const until = Date.now() + ms
  while (isRunning(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
  return !isRunning(pid)
}

function connectError(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(null)
    })
    s.once('error', (err) => resolve(err.code))
  })
}

describe('DynamoDB Local helper', { skip: skipReason() }, () => {
  it('starts on 127.0.0.1, answers both clients from one database, contacts no AWS endpoint, and close() leaves no java process', async () => {
    // debugLog: the JVM logs everything, so an attempt to reach AWS (its telemetry) would show up here.
    const local = await startDynamoDBLocal({ debugLog: true })
    let closed = false
    try {
      assert.equal(local.endpoint, `http://127.0.0.1:${local.port}`)
      assert.ok(Number.isInteger(local.jvmPid) && isRunning(local.jvmPid))
      assert.match(local.output(), /Version:\t1\.25\.1/)

      // -sharedDb: a table created by the SDK under one access key is seen by dynabatch under another.
      const table = uniqueTableName('helper')
      const sdk = new SdkClient(clientOptions(local.endpoint))
      await sdk.send(
        new CreateTableCommand({
          TableName: table,
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      )
      const client = new DynamoDBClient({
        endpoint: local.endpoint,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'other', secretAccessKey: 'other' },
      })
      await client.putItem(table, { pk: 'a', n: 1 })
      assert.deepEqual(await client.getItem(table, { pk: 'a' }), { pk: 'a', n: 1 })
      assert.ok((await sdk.send(new ListTablesCommand({}))).TableNames.includes(table))
      sdk.destroy()

      assert.doesNotMatch(local.output(), /amazonaws\.com|cognito|pinpoint/i)

      const { jvmPid, guardPid, port } = local
      await local.close()
      closed = true
      // resolved only once the JVM has exited: no polling needed here
      assert.equal(isRunning(jvmPid), false)
      assert.equal(isRunning(guardPid), false)
      assert.equal(await connectError(port), 'ECONNREFUSED')
      await local.close() // idempotent
    } finally {
      if (!closed) await local.close()
    }
  })

  it('the JVM dies with a test process that is killed without closing it', async () => {
    const script = `require(${JSON.stringify(HELPER)}).startDynamoDBLocal().then((l) => {
      console.log(JSON.stringify({ jvmPid: l.jvmPid, port: l.port }))
      setInterval(() => {}, 1000) // stays alive until killed
    })`
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let text = ''
    const info = await new Promise((resolve, reject) => {
      child.stdout.on('data', (c) => {
        text += c
        if (text.includes('\n')) resolve(JSON.parse(text))
      })
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before starting DynamoDB Local`)))
    })
    assert.ok(isRunning(info.jvmPid))
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal)))
    child.kill('SIGKILL')
    assert.equal(await exited, 'SIGKILL')
    assert.equal(await waitGone(info.jvmPid), true, `java ${info.jvmPid} outlived the killed test process`)
    assert.equal(await connectError(info.port), 'ECONNREFUSED')
  })

  it('another server on the port cannot pass for DynamoDB Local: the start fails and leaves no java', async () => {
    // dynalite answers ListTables like DynamoDB Local would; only this JVM echoes the helper's random origin
    const squatter = await startDynalite()
    try {
      const err = await startDynamoDBLocal({ port: squatter.port }).then(
        (l) => l.close().then(() => assert.fail('started on a port dynalite holds')),
        (e) => e,
      )
      assert.match(err.message, new RegExp(`^DynamoDB Local could not bind port ${squatter.port}; its output:`))
      assert.match(err.message, /BindException/)
      assert.ok(Number.isInteger(err.jvmPid))
      assert.equal(isRunning(err.jvmPid), false)
    } finally {
      await squatter.close()
    }
  })

  it('later starts use the unpacked, verified copy without running npm', async () => {
    const saved = { PATH: process.env.PATH, npm_execpath: process.env.npm_execpath }
    const home = await ensureDynamoDBLocal()
    try {
      // with no npm to run, only the copy already there can satisfy it
      process.env.PATH = ''
      delete process.env.npm_execpath
      assert.equal(await ensureDynamoDBLocal(), home)
    } finally {
      process.env.PATH = saved.PATH
      if (saved.npm_execpath !== undefined) process.env.npm_execpath = saved.npm_execpath
    }
    assert.equal(path.basename(home), VERSION)
    assert.ok(fs.existsSync(path.join(home, 'DynamoDBLocal.jar')))
    assert.ok(fs.existsSync(path.join(home, 'DynamoDBLocal_lib')))
  })
})

it('without java, the helper gives the reason that DynamoDB Local tests are skipped with', () => {
  const env = { ...process.env, PATH: '', JAVA_HOME: '' }
  const out = execFileSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(HELPER)}).skipReason())`], { env })
  assert.equal(out.toString().trim(), 'java is not installed (DynamoDB Local needs a Java runtime on PATH or in JAVA_HOME)')
})
