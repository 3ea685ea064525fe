'use strict'
// DynamoDBClient as the README documents it: options (and their AWS-chain fallbacks, in child processes that
// can only reach loopback), every single-item and table operation against dynalite, service error details,
// single-item retries against the fault server, metrics, hooks and logging.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const net = require('node:net')
const { execFile } = require('node:child_process')
const dynabatch = require('dynabatch')
const { DynamoDBClient, DynabatchError } = dynabatch
const { startDynalite, clientOptions, uniqueTableName } = require('./helpers/dynalite.js')
const { startFaultServer } = require('./helpers/fault-server.js')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Polls `fn` until it returns a truthy value (records and warnings arrive asynchronously); bounded.
async function until(fn, what, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v) return v
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

// Waits until `list` (filled by a hook) has stopped growing for `quietMs`: records and log lines of calls
// that already settled may still be on their way to the JS thread. Bounded.
async function settled(list, quietMs = 30, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs
  let n = -1
  while (n !== list.length) {
    if (Date.now() > deadline) assert.fail('the hook kept receiving records')
    n = list.length
    await sleep(quietMs)
  }
}

// The rejection of `p` (fails the test if it resolves), so its fields can be asserted one by one.
async function rejectionOf(p) {
  try {
    await p
  } catch (e) {
    return e
  }
  return assert.fail('expected the promise to reject')
}

// A loopback port with nothing listening on it.
async function closedPort() {
  const srv = net.createServer()
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address()
  await new Promise((resolve) => srv.close(resolve))
  return port
}

function recordingLogger() {
  const lines = []
  const at = (level) => (...args) => lines.push({ level, text: args.map(String).join(' ') })
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } }
}

const RECORD_KEYS = ['attempt', 'consumedRcu', 'consumedWcu', 'durationMs', 'items', 'operation', 'returned', 'scanned', 'table', 'throttled', 'unprocessed']
const METRICS_KEYS = ['attempts', 'consumedRcu', 'consumedWcu', 'durationMs', 'operation', 'requestId', 'table']
const FAULT_TABLES = { t: { partitionKey: { name: 'pk', type: 'S' } } }

let dyn
let client
before(async () => {
  dyn = await startDynalite()
  client = new DynamoDBClient(clientOptions(dyn.endpoint))
})
after(() => dyn.close())

async function newTable(c = client, schema = { partitionKey: { name: 'pk', type: 'S' } }) {
  const t = uniqueTableName('client')
  await c.createTable(t, schema)
  return t
}

// ---------------------------------------------------------------------------------------------------------

describe('options', () => {
  it('region, endpoint and static credentials are the ones used (SigV4 scope seen by the server)', async () => {
    const seen = []
    const onReq = (req) => seen.push(req.headers.authorization || '')
    dyn.server.on('request', onReq)
    try {
      const c = new DynamoDBClient({
        region: 'eu-central-1',
        endpoint: dyn.endpoint,
        credentials: { accessKeyId: 'AKIDOPTIONS1', secretAccessKey: 'opt-secret', sessionToken: 'opt-token' },
      })
      const t = await newTable(c)
      await c.putItem(t, { pk: 'opt', v: 7 })
      assert.deepEqual(await c.getItem(t, { pk: 'opt' }), { pk: 'opt', v: 7 })
    } finally {
      dyn.server.off('request', onReq)
    }
    const mine = seen.filter((a) => a.includes('Credential=AKIDOPTIONS1/'))
    assert.ok(mine.length >= 3, `expected the client's requests, saw ${JSON.stringify(seen)}`)
    for (const a of mine) assert.match(a, /^AWS4-HMAC-SHA256 Credential=AKIDOPTIONS1\/\d{8}\/eu-central-1\/dynamodb\/aws4_request, /)
  })

  it('credentials missing secretAccessKey (or accessKeyId) is a TypeError with code InvalidArgument', () => {
    const message = 'credentials must be { accessKeyId: string, secretAccessKey: string, sessionToken?: string }'
    for (const credentials of [{ accessKeyId: 'a' }, { secretAccessKey: 'b' }, { accessKeyId: 'a', secretAccessKey: 1 }, 'a:b']) {
      assert.throws(() => new DynamoDBClient({ endpoint: dyn.endpoint, region: 'us-east-1', credentials }), (e) => {
        assert.ok(e instanceof TypeError)
        assert.equal(e.code, 'InvalidArgument')
        assert.equal(e.message, message)
        return true
      })
    }
    assert.throws(() => new DynamoDBClient({ credentials: { accessKeyId: 'a', secretAccessKey: 'b', sessionToken: 5 } }), {
      name: 'TypeError',
      code: 'InvalidArgument',
      message: 'credentials.sessionToken must be a non-empty string, got 5',
    })
  })

  it('a malformed endpoint string is InvalidArgument at construction', () => {
    for (const endpoint of ['not a url', 'http://', 'http:// 127.0.0.1']) {
      assert.throws(() => new DynamoDBClient({ endpoint, region: 'us-east-1' }), (e) => {
        assert.ok(e instanceof TypeError)
        assert.equal(e.code, 'InvalidArgument')
        assert.equal(e.message, `endpoint must be a URL such as http://127.0.0.1:8000, got ${JSON.stringify(endpoint)}`)
        return true
      })
    }
    assert.throws(() => new DynamoDBClient({ endpoint: '' }), { code: 'InvalidArgument', message: 'endpoint must be a non-empty string, got ""' })
  })

  it(
    'an endpoint without a scheme ("localhost:8000") is refused with InvalidArgument',
    async () => {
      let constructed
      try {
        constructed = new DynamoDBClient({ endpoint: 'localhost:8000', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 })
      } catch (e) {
        assert.equal(e.code, 'InvalidArgument')
        return
      }
      const err = await rejectionOf(constructed.getItem('table', { pk: 'x' }))
      assert.equal(err.code, 'InvalidArgument', `first call rejected with ${err.code}: ${err.message}`)
    },
  )

  it('maxAttempts must be an integer >= 1 (InvalidArgument)', () => {
    const cases = [
      [0, 'maxAttempts must be an integer of at least 1, got 0'],
      [1.5, 'maxAttempts must be an integer of at least 1, got 1.5'],
      [-1, 'maxAttempts must be an integer of at least 1, got -1'],
    ]
    for (const [maxAttempts, message] of cases) {
      assert.throws(() => new DynamoDBClient({ ...clientOptions(dyn.endpoint), maxAttempts }), (e) => {
        assert.ok(e instanceof TypeError)
        assert.equal(e.code, 'InvalidArgument')
        assert.equal(e.message, message)
        return true
      })
    }
  })

  it('construction never blocks and sends nothing; a closed port fails the first call with Network', async () => {
    const fsrv = await startFaultServer({ tables: FAULT_TABLES })
    let connections = 0
    fsrv.httpServer.on('connection', () => connections++)
    try {
      const t0 = process.hrtime.bigint()
      const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint) })
      new DynamoDBClient() // everything from the chain, still lazy
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      assert.ok(ms < 200, `construction took ${ms} ms`)
      await sleep(100)
      assert.equal(connections, 0)
      assert.equal(fsrv.stats.requestsTotal, 0)
      assert.deepEqual(c.metrics.requests, 0)
      // the first call is what connects
      await c.putItem('t', { pk: 'lazy' })
      assert.equal(fsrv.stats.requests.PutItem, 1)
    } finally {
      await fsrv.close()
    }

    const port = await closedPort()
    const c = new DynamoDBClient({ ...clientOptions(`http://127.0.0.1:${port}`), maxAttempts: 1, connectTimeoutMs: 500 })
    const t0 = Date.now()
    const err = await rejectionOf(c.putItem('table', { pk: 'x' }))
    assert.equal(err.code, 'Network')
    assert.ok(err instanceof DynabatchError)
    assert.match(err.message, /Connection refused/)
    assert.ok(Date.now() - t0 < 5000)
  })

  it('requestTimeoutMs turns a hung answer into Timeout (and a Timeout is retried up to maxAttempts)', async () => {
    const fsrv = await startFaultServer({ tables: FAULT_TABLES, faults: { hangRate: 1, faultOps: ['GetItem'] } })
    try {
      const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 1, requestTimeoutMs: 150 })
      const t0 = Date.now()
      const err = await rejectionOf(c.getItem('t', { pk: 'x' }))
      const elapsed = Date.now() - t0
      assert.equal(err.code, 'Timeout')
      assert.ok(elapsed >= 140 && elapsed < 3000, `took ${elapsed} ms`)
      assert.equal(fsrv.stats.requests.GetItem, 1)
      assert.equal(fsrv.stats.hangs, 1)
      assert.equal(c.lastGetMetrics, undefined) // no getItem succeeded

      const c2 = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 2, requestTimeoutMs: 100 })
      const err2 = await rejectionOf(c2.getItem('t', { pk: 'x' }))
      assert.equal(err2.code, 'Timeout')
      assert.equal(fsrv.stats.requests.GetItem, 3)
      assert.equal(fsrv.stats.hangs, 3)
    } finally {
      await fsrv.close()
    }
  })
})

// ---------------------------------------------------------------------------------------------------------
// The AWS chain, in child processes with a clean environment (no inherited AWS_*, an empty HOME, no instance
// metadata). Every child that has a region also has a loopback endpoint, so nothing real is ever contacted.

describe('options fall back to the AWS chain (child processes)', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-client-home-'))
  const cleanEnv = {
    PATH: process.env.PATH,
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  }
  after(() => fs.rmSync(home, { recursive: true, force: true }))

  // Runs a put/get round trip in a child; resolves to its JSON outcome. Asynchronous on purpose: dynalite
  // runs in this process and must keep answering while the child waits.
  function child(env, options, table, pk) {
    const script = `
      const { DynamoDBClient } = require('dynabatch')
      ;(async () => {
        const c = new DynamoDBClient(${JSON.stringify(options)})
        await c.putItem(${JSON.stringify(table)}, { pk: ${JSON.stringify(pk)}, v: 42 })
        const got = await c.getItem(${JSON.stringify(table)}, { pk: ${JSON.stringify(pk)} })
        console.log(JSON.stringify({ ok: true, got }))
      })().catch((e) => console.log(JSON.stringify({ ok: false, code: e.code, name: e.name, message: e.message })))
    `
    return new Promise((resolve, reject) => {
      execFile(process.execPath, ['-e', script], { cwd: __dirname, env: { ...cleanEnv, ...env }, encoding: 'utf8', timeout: 15000 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`child failed: ${err.message}\n${stderr}`))
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop()))
        } catch {
          reject(new Error(`child printed ${JSON.stringify(stdout)}; stderr ${stderr}`))
        }
      })
    })
  }

  let table
  let scopes // access key id -> regions of its signed requests
  const onReq = (req) => {
    const m = /Credential=([^/]+)\/\d{8}\/([^/]+)\/dynamodb\/aws4_request/.exec(req.headers.authorization || '')
    if (!m) return
    if (!scopes.has(m[1])) scopes.set(m[1], new Set())
    scopes.get(m[1]).add(m[2])
  }
  before(async () => {
    table = await newTable()
    scopes = new Map()
    dyn.server.on('request', onReq)
  })
  after(() => dyn.server.off('request', onReq))

  it('endpoint, region and credentials from the environment; AWS_ENDPOINT_URL_DYNAMODB wins over AWS_ENDPOINT_URL; options win over both', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`
    const creds = (id) => ({ AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: 'env-secret' })
    const [a, b, c, d, e] = await Promise.all([
      child({ ...creds('AKIDENVA'), AWS_ENDPOINT_URL_DYNAMODB: dyn.endpoint, AWS_REGION: 'eu-west-1' }, {}, table, 'env-a'),
      child({ ...creds('AKIDENVB'), AWS_ENDPOINT_URL: dyn.endpoint, AWS_DEFAULT_REGION: 'ap-south-1' }, {}, table, 'env-b'),
      child({ ...creds('AKIDENVC'), AWS_ENDPOINT_URL_DYNAMODB: dyn.endpoint, AWS_ENDPOINT_URL: dead, AWS_REGION: 'eu-west-2' }, {}, table, 'env-c'),
      // a custom endpoint and no region anywhere: us-east-1 (endpoint from the option, or from AWS_ENDPOINT_URL)
      child({ ...creds('AKIDENVD'), AWS_ENDPOINT_URL: dyn.endpoint }, {}, table, 'env-d'),
      child(
        { ...creds('AKIDENVIGNORED'), AWS_ENDPOINT_URL_DYNAMODB: dead, AWS_REGION: 'eu-west-1' },
        { endpoint: dyn.endpoint, region: 'ca-central-1', credentials: { accessKeyId: 'AKIDENVE', secretAccessKey: 's' } },
        table,
        'env-e',
      ),
    ])
    for (const [r, pk] of [[a, 'env-a'], [b, 'env-b'], [c, 'env-c'], [d, 'env-d'], [e, 'env-e']]) {
      assert.deepEqual(r, { ok: true, got: { pk, v: 42 } }, pk)
      assert.deepEqual(await client.getItem(table, { pk }), { pk, v: 42 })
    }
    assert.deepEqual([...(scopes.get('AKIDENVA') || [])], ['eu-west-1'])
    assert.deepEqual([...(scopes.get('AKIDENVB') || [])], ['ap-south-1'])
    assert.deepEqual([...(scopes.get('AKIDENVC') || [])], ['eu-west-2'])
    assert.deepEqual([...(scopes.get('AKIDENVD') || [])], ['us-east-1'])
    assert.deepEqual([...(scopes.get('AKIDENVE') || [])], ['ca-central-1'])
    assert.equal(scopes.has('AKIDENVIGNORED'), false)
  })

  it('a custom endpoint and no region anywhere signs for us-east-1 (endpoint option)', async () => {
    const r = await child({ AWS_ACCESS_KEY_ID: 'AKIDNOREGIONOPT', AWS_SECRET_ACCESS_KEY: 's' }, { endpoint: dyn.endpoint }, table, 'no-region-opt')
    assert.deepEqual(r, { ok: true, got: { pk: 'no-region-opt', v: 42 } })
    assert.deepEqual([...(scopes.get('AKIDNOREGIONOPT') || [])], ['us-east-1'])
  })

  it(
    'a custom endpoint from AWS_ENDPOINT_URL_DYNAMODB and no region anywhere signs for us-east-1',
    async () => {
      const r = await child({ AWS_ACCESS_KEY_ID: 'AKIDNOREGIONSVC', AWS_SECRET_ACCESS_KEY: 's', AWS_ENDPOINT_URL_DYNAMODB: dyn.endpoint }, {}, table, 'no-region-svc')
      assert.deepEqual(r, { ok: true, got: { pk: 'no-region-svc', v: 42 } })
      assert.deepEqual([...(scopes.get('AKIDNOREGIONSVC') || [])], ['us-east-1'])
    },
  )

  it('region and credentials from the shared config files, for the default profile, AWS_PROFILE and the profile option', async () => {
    const dir = fs.mkdtempSync(path.join(home, 'profiles-'))
    const config = path.join(dir, 'config')
    const credentials = path.join(dir, 'credentials')
    fs.writeFileSync(config, '[default]\nregion = eu-north-1\n\n[profile other]\nregion = sa-east-1\n')
    fs.writeFileSync(
      credentials,
      '[default]\naws_access_key_id = AKIDFILEDEFAULT\naws_secret_access_key = file-secret\n\n' +
        '[other]\naws_access_key_id = AKIDFILEOTHER\naws_secret_access_key = file-secret-2\n',
    )
    const env = { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials }
    const [def, byEnv, byOption] = await Promise.all([
      child(env, { endpoint: dyn.endpoint }, table, 'file-default'),
      child({ ...env, AWS_PROFILE: 'other' }, { endpoint: dyn.endpoint }, table, 'file-env-profile'),
      child(env, { endpoint: dyn.endpoint, profile: 'other' }, table, 'file-option-profile'),
    ])
    assert.deepEqual(def, { ok: true, got: { pk: 'file-default', v: 42 } })
    assert.deepEqual(byEnv, { ok: true, got: { pk: 'file-env-profile', v: 42 } })
    assert.deepEqual(byOption, { ok: true, got: { pk: 'file-option-profile', v: 42 } })
    assert.deepEqual([...(scopes.get('AKIDFILEDEFAULT') || [])], ['eu-north-1'])
    assert.deepEqual([...(scopes.get('AKIDFILEOTHER') || [])], ['sa-east-1'])
  })

  it('no region and no endpoint anywhere: the first call rejects with InvalidArgument naming the region', async () => {
    const r = await child({ AWS_ACCESS_KEY_ID: 'AKIDNOREGION', AWS_SECRET_ACCESS_KEY: 's' }, {}, 'table', 'x')
    assert.equal(r.ok, false)
    assert.equal(r.code, 'InvalidArgument')
    assert.match(r.message, /region/)
    assert.equal(r.message, "no AWS region: pass `region`, or set AWS_REGION or a profile's region")
    assert.equal(scopes.has('AKIDNOREGION'), false)
  })
})

// ---------------------------------------------------------------------------------------------------------

describe('operations on dynalite', () => {
  it('createTable resolves ACTIVE with the schema (pk only, and pk+sk of S/N/B); describeTable agrees', async () => {
    const schemas = [
      { partitionKey: { name: 'pk', type: 'S' } },
      { partitionKey: { name: 'id', type: 'N' } },
      { partitionKey: { name: 'bin', type: 'B' } },
      { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } },
      { partitionKey: { name: 'h', type: 'N' }, sortKey: { name: 'r', type: 'B' } },
      { partitionKey: { name: 'h', type: 'B' }, sortKey: { name: 'r', type: 'S' } },
    ]
    for (const schema of schemas) {
      const t = uniqueTableName('create')
      const created = await client.createTable(t, schema)
      const expected = { tableName: t, status: 'ACTIVE', ...schema, itemCount: 0, billingMode: 'PAY_PER_REQUEST' }
      assert.deepEqual(created, expected)
      assert.deepEqual(await client.describeTable(t), expected)
    }
  })

  it('createTable twice rejects with ResourceInUseException; deleteTable then describeTable: ResourceNotFoundException', async () => {
    const t = await newTable()
    const dup = await rejectionOf(client.createTable(t, { partitionKey: { name: 'pk', type: 'S' } }))
    assert.equal(dup.code, 'ResourceInUseException')
    assert.equal(dup.statusCode, 400)
    assert.equal(typeof dup.requestId, 'string')
    assert.equal(await client.deleteTable(t), undefined)
    let outcome
    for (let i = 0; i < 100; i++) {
      outcome = await client.describeTable(t).then((d) => d.status, (e) => e)
      if (outcome !== 'DELETING') break
      await sleep(10)
    }
    assert.ok(outcome instanceof Error, `describeTable still answered ${outcome}`)
    assert.equal(outcome.code, 'ResourceNotFoundException')
    assert.equal(outcome.statusCode, 400)
    const again = await rejectionOf(client.deleteTable(t))
    assert.equal(again.code, 'ResourceNotFoundException')
    const other = await rejectionOf(client.describeTable(uniqueTableName('never')))
    assert.equal(other.code, 'ResourceNotFoundException')
  })

  it('putItem resolves to its metrics; getItem returns the item (undefined when absent) with lastGetMetrics', async () => {
    const t = await newTable()
    const item = {
      pk: 'p1',
      s: 'text',
      n: 12.5,
      big: 12345678901234567890n,
      b: Buffer.from([1, 2, 3]),
      yes: true,
      nothing: null,
      list: [1, 'two', [3]],
      map: { a: { b: 'c' } },
      ss: new Set(['x', 'y']),
      ns: new Set([1, 2]),
    }
    const m = await client.putItem(t, item)
    assert.deepEqual(Object.keys(m).sort(), METRICS_KEYS)
    assert.equal(m.operation, 'PutItem')
    assert.equal(m.table, t)
    assert.ok(m.durationMs > 0)
    assert.equal(m.consumedWcu, 1)
    assert.equal(m.consumedRcu, 0)
    assert.equal(m.attempts, 1)
    assert.equal(typeof m.requestId, 'string')
    assert.ok(m.requestId.length > 0)

    const got = await client.getItem(t, { pk: 'p1' })
    assert.deepEqual(got, {
      pk: 'p1',
      s: 'text',
      n: 12.5,
      big: new dynabatch.NumberValue('12345678901234567890'),
      b: Buffer.from([1, 2, 3]),
      yes: true,
      nothing: null,
      list: [1, 'two', [3]],
      map: { a: { b: 'c' } },
      ss: new Set(['x', 'y']),
      ns: new Set([1, 2]),
    })
    const gm = client.lastGetMetrics
    assert.equal(gm.operation, 'GetItem')
    assert.equal(gm.table, t)
    assert.equal(gm.consumedRcu, 0.5)
    assert.equal(gm.consumedWcu, 0)
    assert.equal(gm.attempts, 1)
    assert.equal(typeof gm.requestId, 'string')

    assert.equal(await client.getItem(t, { pk: 'absent' }), undefined)
    assert.equal(client.lastGetMetrics.operation, 'GetItem')
    assert.notEqual(client.lastGetMetrics.requestId, gm.requestId)

    assert.deepEqual(await client.getItem(t, { pk: 'p1' }, { consistentRead: true }), got)
    assert.equal(client.lastGetMetrics.consumedRcu, 1)

    // a failed getItem leaves the metrics of the last one that succeeded
    const before = client.lastGetMetrics
    await rejectionOf(client.getItem(uniqueTableName('missing'), { pk: 'p1' }))
    assert.equal(client.lastGetMetrics, before)
  })

  it('deleteItem removes the item and accepts a whole item as the key (composite keys too)', async () => {
    const t = await newTable(client, { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } })
    await client.putItem(t, { pk: 'd', sk: 1, v: 'one' })
    await client.putItem(t, { pk: 'd', sk: 2, v: 'two' })
    const dm = await client.deleteItem(t, { pk: 'd', sk: 1 })
    assert.deepEqual(Object.keys(dm).sort(), METRICS_KEYS)
    assert.equal(dm.operation, 'DeleteItem')
    assert.equal(dm.table, t)
    assert.equal(dm.consumedWcu, 1)
    assert.equal(dm.attempts, 1)
    assert.equal(await client.getItem(t, { pk: 'd', sk: 1 }), undefined)
    const whole = await client.getItem(t, { pk: 'd', sk: 2 })
    assert.deepEqual(whole, { pk: 'd', sk: 2, v: 'two' })
    await client.deleteItem(t, whole) // only pk and sk are sent: dynalite would refuse a Key with `v`
    assert.equal(await client.getItem(t, { pk: 'd', sk: 2 }), undefined)
    // deleting what is absent is fine
    assert.equal((await client.deleteItem(t, { pk: 'd', sk: 3 })).operation, 'DeleteItem')
  })

  it('conditions: attribute_not_exists on an existing item rejects with ConditionalCheckFailedException; names/values work', async () => {
    const t = await newTable()
    await client.putItem(t, { pk: 'c', v: 1 }, { conditionExpression: 'attribute_not_exists(pk)' })
    const err = await rejectionOf(client.putItem(t, { pk: 'c', v: 2 }, { conditionExpression: 'attribute_not_exists(pk)' }))
    assert.ok(err instanceof DynabatchError)
    assert.equal(err.code, 'ConditionalCheckFailedException')
    assert.equal(err.message, 'The conditional request failed')
    assert.equal(err.statusCode, 400)
    assert.equal(typeof err.requestId, 'string')
    assert.ok(err.requestId.length > 0)
    assert.deepEqual(await client.getItem(t, { pk: 'c' }), { pk: 'c', v: 1 })

    // compare-and-set with names and values
    const cas = (from, to) =>
      client.putItem(t, { pk: 'c', v: to }, {
        conditionExpression: '#v = :old',
        expressionAttributeNames: { '#v': 'v' },
        expressionAttributeValues: { ':old': from },
      })
    assert.equal((await cas(1, 2)).operation, 'PutItem')
    assert.deepEqual(await client.getItem(t, { pk: 'c' }), { pk: 'c', v: 2 })
    assert.equal((await rejectionOf(cas(1, 3))).code, 'ConditionalCheckFailedException')
    assert.deepEqual(await client.getItem(t, { pk: 'c' }), { pk: 'c', v: 2 })

    const delIf = (v) =>
      client.deleteItem(t, { pk: 'c' }, { conditionExpression: '#v = :v', expressionAttributeNames: { '#v': 'v' }, expressionAttributeValues: { ':v': v } })
    assert.equal((await rejectionOf(delIf(1))).code, 'ConditionalCheckFailedException')
    assert.deepEqual(await client.getItem(t, { pk: 'c' }), { pk: 'c', v: 2 })
    await delIf(2)
    assert.equal(await client.getItem(t, { pk: 'c' }), undefined)
  })

  it('putItem on a missing table rejects with ResourceNotFoundException', async () => {
    const err = await rejectionOf(client.putItem(uniqueTableName('missing'), { pk: 'x' }))
    assert.equal(err.code, 'ResourceNotFoundException')
    assert.equal(err.statusCode, 400)
    assert.equal(typeof err.requestId, 'string')
  })

  it('one client serves 200 concurrent putItem calls (then 200 concurrent getItem calls)', async () => {
    const t = await newTable()
    const c = new DynamoDBClient(clientOptions(dyn.endpoint))
    await c.describeTable(t)
    c.resetMetrics()
    const ms = await Promise.all(Array.from({ length: 200 }, (_, i) => c.putItem(t, { pk: `k${i}`, i })))
    assert.ok(ms.every((m) => m.operation === 'PutItem' && m.consumedWcu === 1 && m.attempts === 1))
    assert.equal(new Set(ms.map((m) => m.requestId)).size, 200)
    const got = await Promise.all(Array.from({ length: 200 }, (_, i) => c.getItem(t, { pk: `k${i}` })))
    got.forEach((g, i) => assert.deepEqual(g, { pk: `k${i}`, i }))
    const m = c.metrics
    assert.equal(m.requests, 400)
    assert.equal(m.itemsWritten, 200)
    assert.equal(m.consumedWcu, 200)
    assert.equal(m.consumedRcu, 100)
    assert.equal(m.errors, 0)
  })

  it(
    'concurrent first calls on a fresh client read the key schema once',
    async () => {
      const fsrv = await startFaultServer({ tables: FAULT_TABLES })
      try {
        const c = new DynamoDBClient(clientOptions(fsrv.endpoint))
        await Promise.all(Array.from({ length: 200 }, (_, i) => c.putItem('t', { pk: `k${i}` })))
        assert.equal(fsrv.table('t').size, 200)
        assert.equal(fsrv.stats.requests.PutItem, 200)
        assert.equal(fsrv.stats.requests.DescribeTable, 1)
      } finally {
        await fsrv.close()
      }
    },
  )

  it(
    'an InvalidArgument raised by the native layer is a TypeError, as the README says',
    async () => {
      const err = await rejectionOf(client.createTable(uniqueTableName('bad'), { partitionKey: { name: 'id', type: 'X' } }))
      assert.equal(err.code, 'InvalidArgument')
      assert.equal(err.message, 'partitionKey.type must be \'S\', \'N\' or \'B\', got "X"')
      assert.ok(err instanceof TypeError)
    },
  )
})

// ---------------------------------------------------------------------------------------------------------

describe('errors keep service details and never leak secrets', () => {
  it('a ValidationException keeps code, message, requestId and statusCode 400', async () => {
    const err = await rejectionOf(client.putItem('ab', { pk: 'x' }))
    assert.ok(err instanceof Error)
    assert.ok(err instanceof DynabatchError)
    assert.equal(err.code, 'ValidationException')
    assert.equal(err.statusCode, 400)
    assert.equal(typeof err.requestId, 'string')
    assert.ok(err.requestId.length > 0)
    assert.equal(
      err.message,
      "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3",
    )
    const err2 = await rejectionOf(client.describeTable('ab'))
    assert.equal(err2.code, 'ValidationException')
    assert.equal(err2.statusCode, 400)
  })

  it('error messages and log lines never contain the secret access key or session token', async () => {
    const SECRET = 'SECRET-do-not-leak'
    const TOKEN = 'TOKEN-do-not-leak'
    const credentials = { accessKeyId: 'AKIDLEAKTEST', secretAccessKey: SECRET, sessionToken: TOKEN }
    const { lines, logger } = recordingLogger()
    const texts = []
    const collect = (e) => texts.push(String(e.message), String(e), String(e.stack), JSON.stringify(e))
    const fsrv = await startFaultServer({ tables: FAULT_TABLES, faults: { faultOps: ['PutItem', 'GetItem'], errorRate: 1 } })
    try {
      const c = new DynamoDBClient({ endpoint: dyn.endpoint, region: 'us-east-1', credentials, logger, maxAttempts: 1 })
      const t = await newTable(c)
      await c.putItem(t, { pk: 'x' })
      collect(await rejectionOf(c.putItem(t, { pk: 'x' }, { conditionExpression: 'attribute_not_exists(pk)' })))
      collect(await rejectionOf(c.putItem('ab', { pk: 'x' })))
      collect(await rejectionOf(c.getItem(uniqueTableName('missing'), { pk: 'x' })))
      collect(await rejectionOf(c.createTable(t, { partitionKey: { name: 'pk', type: 'S' } })))
      const faulty = new DynamoDBClient({ endpoint: fsrv.endpoint, region: 'us-east-1', credentials, logger, maxAttempts: 1, requestTimeoutMs: 1000 })
      collect(await rejectionOf(faulty.putItem('t', { pk: 'x' })))
      const dead = new DynamoDBClient({ endpoint: `http://127.0.0.1:${await closedPort()}`, region: 'us-east-1', credentials, logger, maxAttempts: 1 })
      collect(await rejectionOf(dead.getItem('t', { pk: 'x' })))
      await sleep(30) // log lines come from request records, which arrive asynchronously
    } finally {
      await fsrv.close()
    }
    assert.ok(texts.length >= 24)
    assert.ok(lines.length > 0)
    for (const s of [...texts, ...lines.map((l) => l.text)]) {
      assert.ok(!s.includes(SECRET), `leaked the secret: ${s}`)
      assert.ok(!s.includes(TOKEN), `leaked the session token: ${s}`)
    }
  })

  it(
    'error messages never contain item contents (a scheme-less endpoint)',
    async () => {
      // Refused at construction, before any item can reach a request.
      const err = await rejectionOf(
        (async () => {
          const c = new DynamoDBClient({ endpoint: 'localhost:8000', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 })
          await c.putItem('table', { pk: 'a', ssn: 'ITEM-CONTENT-123' })
        })(),
      )
      assert.ok(!err.message.includes('ITEM-CONTENT-123'), err.message)
      assert.equal(err.code, 'InvalidArgument')
    },
  )
})

// ---------------------------------------------------------------------------------------------------------

describe('single-item retries (fault server)', () => {
  it('throttling is retried maxAttempts times, then rejects with ProvisionedThroughputExceededException', async () => {
    const fsrv = await startFaultServer({ tables: FAULT_TABLES, faults: { faultOps: ['PutItem'], throttleRate: 1 } })
    try {
      const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 3 })
      const err = await rejectionOf(c.putItem('t', { pk: 'x' }))
      assert.equal(err.code, 'ProvisionedThroughputExceededException')
      assert.equal(err.statusCode, 400)
      assert.equal(typeof err.requestId, 'string')
      assert.equal(
        err.message,
        'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      )
      assert.equal(fsrv.stats.requests.PutItem, 3)
      assert.equal(fsrv.stats.throttled, 3)
      assert.equal(fsrv.table('t').size, 0)
      const m = c.metrics
      assert.equal(m.throttles, 3)
      assert.equal(m.errors, 3)
      assert.equal(m.itemsFailed, 1)
      assert.equal(m.itemsWritten, 0)
    } finally {
      await fsrv.close()
    }
  })

  it('a 500 is retried: errorRate 1 with maxAttempts 2 rejects with InternalServerError after 2 requests', async () => {
    const fsrv = await startFaultServer({ tables: FAULT_TABLES, faults: { faultOps: ['PutItem'], errorRate: 1 } })
    try {
      const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 2 })
      const err = await rejectionOf(c.putItem('t', { pk: 'x' }))
      assert.equal(err.code, 'InternalServerError')
      assert.equal(err.statusCode, 500)
      assert.equal(err.message, 'Internal server error')
      assert.equal(fsrv.stats.requests.PutItem, 2)
      assert.equal(fsrv.stats.errors500, 2)
    } finally {
      await fsrv.close()
    }
  })

  it('a putItem that gets a 500 first and then succeeds resolves with attempts 2', async () => {
    // The fault dice are a seeded PRNG (mulberry32); with seed 8 the first two draws are 0.156 and 0.625, so
    // errorRate 0.5 fails exactly the first PutItem and lets the second through (DescribeTable draws none).
    const fsrv = await startFaultServer({ tables: FAULT_TABLES, seed: 8, faults: { faultOps: ['PutItem'], errorRate: 0.5 } })
    try {
      const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 3 })
      const m = await c.putItem('t', { pk: 'x', v: 1 })
      assert.equal(m.operation, 'PutItem')
      assert.equal(m.attempts, 2)
      assert.equal(m.consumedWcu, 1)
      assert.deepEqual(fsrv.stats.requestLog.filter((r) => r.op === 'PutItem').map((r) => r.outcome), ['error500', 'ok'])
      assert.deepEqual(fsrv.table('t').get({ pk: { S: 'x' } }), { pk: { S: 'x' }, v: { N: '1' } })
      assert.equal(c.metrics.errors, 1)
      assert.equal(c.metrics.itemsWritten, 1)
      assert.equal(c.metrics.itemsFailed, 0)
    } finally {
      await fsrv.close()
    }
  })

  it('a dropped connection is retried and ends as Network; a ValidationException is not retried', async () => {
    const fsrv = await startFaultServer({ tables: FAULT_TABLES, faults: { faultOps: ['PutItem'], resetRate: 1 } })
    try {
      const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 2 })
      const err = await rejectionOf(c.putItem('t', { pk: 'x' }))
      assert.equal(err.code, 'Network')
      assert.equal(fsrv.stats.requests.PutItem, 2)
      assert.equal(fsrv.stats.resets, 2)

      fsrv.setFaults({ resetRate: 0 })
      const c3 = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 3 })
      // the fault server refuses conditions with a ValidationException: not retryable
      const v = await rejectionOf(c3.putItem('t', { pk: 'y' }, { conditionExpression: 'attribute_not_exists(pk)' }))
      assert.equal(v.code, 'ValidationException')
      assert.equal(v.message, 'fault-server: conditional writes are not supported (use dynalite)')
      assert.equal(fsrv.stats.requests.PutItem, 3)
    } finally {
      await fsrv.close()
    }
  })

  it(
    'client.metrics.retries counts each retry once',
    async () => {
      const fsrv = await startFaultServer({ tables: FAULT_TABLES, faults: { faultOps: ['PutItem'], throttleRate: 1 } })
      try {
        const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 3 })
        await rejectionOf(c.putItem('t', { pk: 'x' }))
        assert.equal(fsrv.stats.requests.PutItem, 3)
        assert.equal(c.metrics.retries, 2)
      } finally {
        await fsrv.close()
      }
    },
  )
})

// ---------------------------------------------------------------------------------------------------------

describe('metrics, onRequest and logger', () => {
  const ZERO = {
    requests: 0,
    errors: 0,
    throttles: 0,
    retries: 0,
    consumedWcu: 0,
    consumedRcu: 0,
    itemsWritten: 0,
    itemsFailed: 0,
    itemsRead: 0,
    itemsScanned: 0,
    totalLatencyMs: 0,
    p50LatencyMs: 0,
    p99LatencyMs: 0,
  }

  it('client.metrics counts requests, capacity and errors; resetMetrics zeroes them', async () => {
    const c = new DynamoDBClient(clientOptions(dyn.endpoint))
    assert.deepEqual(c.metrics, ZERO)
    const t = await newTable(c) // CreateTable + DescribeTable until ACTIVE (which also caches the key schema)
    assert.ok(c.metrics.requests >= 2)
    assert.equal(c.metrics.errors, 0)
    c.resetMetrics()
    assert.deepEqual(c.metrics, ZERO)

    await c.putItem(t, { pk: 'a' }) // 1 WCU
    await c.putItem(t, { pk: 'b', pad: 'x'.repeat(1500) }) // 2 WCU
    await c.getItem(t, { pk: 'a' }) // 0.5 RCU
    await c.getItem(t, { pk: 'b' }, { consistentRead: true }) // 1 RCU
    await c.deleteItem(t, { pk: 'a' }) // 1 WCU
    await rejectionOf(c.putItem(t, { pk: 'b' }, { conditionExpression: 'attribute_not_exists(pk)' }))
    const m = c.metrics
    assert.equal(m.requests, 6)
    assert.equal(m.errors, 1)
    assert.equal(m.throttles, 0)
    assert.equal(m.retries, 0)
    assert.equal(m.consumedWcu, 4)
    assert.equal(m.consumedRcu, 1.5)
    assert.equal(m.itemsWritten, 3)
    assert.equal(m.itemsFailed, 1)
    assert.equal(m.itemsRead, 2)
    assert.ok(m.totalLatencyMs > 0)
    assert.ok(m.p50LatencyMs > 0 && m.p99LatencyMs >= m.p50LatencyMs)
    assert.equal(m.rateLimit, undefined)
    c.resetMetrics()
    assert.deepEqual(c.metrics, ZERO)
    await c.getItem(t, { pk: 'b' })
    assert.equal(c.metrics.requests, 1)
    assert.equal(c.metrics.consumedRcu, 0.5)
  })

  it('onRequest receives a record with the documented fields for putItem, getItem and deleteItem', async () => {
    const records = []
    const c = new DynamoDBClient({ ...clientOptions(dyn.endpoint), onRequest: (r) => records.push(r) })
    const t = await newTable(c)
    await settled(records)
    // CreateTable, then DescribeTable until the table is ACTIVE
    assert.equal(records[0].operation, 'CreateTable')
    assert.ok(records.length >= 2 && records.slice(1).every((r) => r.operation === 'DescribeTable'))
    records.length = 0

    const pm = await c.putItem(t, { pk: 'r', v: 1 })
    await c.getItem(t, { pk: 'r' })
    const gm = c.lastGetMetrics
    const dm = await c.deleteItem(t, { pk: 'r' })
    const fail = await rejectionOf(c.deleteItem(t, { pk: 'r' }, { conditionExpression: 'attribute_exists(pk)' }))
    await until(() => records.length >= 4, 'four records')
    await settled(records)
    assert.equal(records.length, 4)
    for (const r of records) {
      const keys = Object.keys(r).filter((k) => k !== 'requestId' && k !== 'errorCode').sort()
      assert.deepEqual(keys, RECORD_KEYS)
      assert.equal(r.table, t)
      assert.equal(r.items, 1)
      assert.equal(r.unprocessed, 0)
      assert.equal(r.attempt, 1)
      assert.equal(r.throttled, false)
      assert.ok(typeof r.durationMs === 'number' && r.durationMs > 0)
    }
    const [put, get, del, bad] = records
    assert.deepEqual(
      [put.operation, put.consumedWcu, put.consumedRcu, put.requestId, put.errorCode],
      ['PutItem', 1, 0, pm.requestId, undefined],
    )
    assert.deepEqual([get.operation, get.consumedWcu, get.consumedRcu, get.requestId, get.errorCode], ['GetItem', 0, 0.5, gm.requestId, undefined])
    assert.deepEqual([get.returned, put.returned, del.returned, get.scanned], [1, 0, 0, 0])
    assert.deepEqual([del.operation, del.consumedWcu, del.consumedRcu, del.requestId, del.errorCode], ['DeleteItem', 1, 0, dm.requestId, undefined])
    assert.deepEqual([bad.operation, bad.errorCode, bad.requestId], ['DeleteItem', 'ConditionalCheckFailedException', fail.requestId])
  })

  it('a throttled attempt is recorded with throttled: true and its attempt number', async () => {
    const fsrv = await startFaultServer({ tables: FAULT_TABLES, faults: { faultOps: ['PutItem'], throttleRate: 1 } })
    try {
      const records = []
      const c = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), maxAttempts: 2, onRequest: (r) => records.push(r) })
      await rejectionOf(c.putItem('t', { pk: 'x' }))
      await until(() => records.filter((r) => r.operation === 'PutItem').length >= 2, 'two PutItem records')
      const puts = records.filter((r) => r.operation === 'PutItem')
      assert.deepEqual(
        puts.map((r) => [r.attempt, r.throttled, r.errorCode, typeof r.requestId]),
        [
          [1, true, 'ProvisionedThroughputExceededException', 'string'],
          [2, true, 'ProvisionedThroughputExceededException', 'string'],
        ],
      )
    } finally {
      await fsrv.close()
    }
  })

  it('an onRequest that throws does not break the call and becomes a process warning', async () => {
    const warnings = []
    const onWarning = (w) => warnings.push(w)
    process.on('warning', onWarning)
    try {
      const c = new DynamoDBClient({
        ...clientOptions(dyn.endpoint),
        onRequest: () => {
          throw new Error('hook boom')
        },
      })
      const t = await newTable(c)
      const m = await c.putItem(t, { pk: 'w' })
      assert.equal(m.operation, 'PutItem')
      assert.deepEqual(await c.getItem(t, { pk: 'w' }), { pk: 'w' })
      const w = await until(() => warnings.find((x) => x.name === 'DynabatchHookWarning'), 'a DynabatchHookWarning')
      assert.equal(w.message, 'dynabatch: the onRequest callback threw: hook boom')
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('with a logger, a throwing onRequest is reported to logger.error instead', async () => {
    const warnings = []
    const onWarning = (w) => warnings.push(w)
    process.on('warning', onWarning)
    const { lines, logger } = recordingLogger()
    try {
      const c = new DynamoDBClient({
        ...clientOptions(dyn.endpoint),
        logger,
        onRequest: () => {
          throw new Error('hook boom 2')
        },
      })
      const t = await newTable(c)
      assert.equal((await c.putItem(t, { pk: 'w' })).operation, 'PutItem')
      await until(() => lines.some((l) => l.text === 'dynabatch: the onRequest callback threw: hook boom 2'), 'the logged hook error')
      assert.ok(lines.filter((l) => l.text.startsWith('dynabatch: the onRequest callback threw')).every((l) => l.level === 'error'))
      await sleep(20)
      assert.equal(warnings.filter((x) => x.name === 'DynabatchHookWarning').length, 0)
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('the logger gets a debug line per request, an error line per failed request, warn when slow; no item contents or secret', async () => {
    const SECRET = 'SECRET-do-not-leak'
    const { lines, logger } = recordingLogger()
    const c = new DynamoDBClient({ endpoint: dyn.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOG', secretAccessKey: SECRET }, logger })
    const t = await newTable(c)
    await settled(lines)
    lines.length = 0
    const pm = await c.putItem(t, { pk: 'L', payload: 'ITEM-CONTENT-payload' })
    await c.getItem(t, { pk: 'L' })
    const dm = await c.deleteItem(t, { pk: 'L' })
    await rejectionOf(c.putItem(t, { pk: 'L2', payload: 'ITEM-CONTENT-2' }, { conditionExpression: 'attribute_exists(pk)' }))
    await until(() => lines.length >= 4, 'four log lines')
    await settled(lines)
    assert.deepEqual(lines.map((l) => l.level), ['debug', 'debug', 'debug', 'error'])
    const re = (op, extra, read = '') =>
      new RegExp(`^dynabatch ${op} ${t} items=1 unprocessed=0 wcu=\\d+(\\.\\d+)?${read} attempt=1 \\d+\\.\\dms requestId=\\S+${extra}$`)
    assert.match(lines[0].text, re('PutItem', ''))
    assert.ok(lines[0].text.includes(`requestId=${pm.requestId}`))
    assert.match(lines[1].text, re('GetItem', '', ' rcu=0\\.5 returned=1'))
    assert.match(lines[2].text, re('DeleteItem', ''))
    assert.ok(lines[2].text.includes(`requestId=${dm.requestId}`))
    assert.match(lines[3].text, re('PutItem', ' error=ConditionalCheckFailedException'))
    for (const l of lines) {
      assert.ok(!l.text.includes('ITEM-CONTENT'), `item contents logged: ${l.text}`)
      assert.ok(!l.text.includes(SECRET), `secret logged: ${l.text}`)
    }

    // slow requests go to warn
    const fsrv = await startFaultServer({ tables: FAULT_TABLES, faults: { faultOps: ['PutItem'], delayMs: 150 } })
    try {
      const slow = recordingLogger()
      const sc = new DynamoDBClient({ ...clientOptions(fsrv.endpoint), logger: slow.logger, slowRequestMs: 100 })
      await sc.putItem('t', { pk: 's' })
      await until(() => slow.lines.some((l) => l.text.startsWith('dynabatch PutItem')), 'the PutItem line')
      const line = slow.lines.find((l) => l.text.startsWith('dynabatch PutItem'))
      assert.equal(line.level, 'warn')
      assert.match(line.text, /^dynabatch PutItem t items=1 unprocessed=0 wcu=1 attempt=1 \d+\.\dms requestId=\S+ \(slow: over 100ms\)$/)
      const describe = slow.lines.find((l) => l.text.startsWith('dynabatch DescribeTable'))
      assert.equal(describe.level, 'debug')
    } finally {
      await fsrv.close()
    }
  })

  it(
    'table operations are recorded like the others: a failed CreateTable/DeleteTable carries the service code and request id',
    async () => {
      const records = []
      const { lines, logger } = recordingLogger()
      const c = new DynamoDBClient({ ...clientOptions(dyn.endpoint), logger, onRequest: (r) => records.push(r) })
      const t = await newTable(c)
      await settled(records)
      const created = records[0]
      c.resetMetrics()
      records.length = 0
      lines.length = 0
      const dup = await rejectionOf(c.createTable(t, { partitionKey: { name: 'pk', type: 'S' } }))
      const gone = await rejectionOf(c.deleteTable(uniqueTableName('missing')))
      await until(() => records.length >= 2, 'two records')
      await settled(records)
      assert.deepEqual(
        records.map((r) => [r.operation, r.errorCode, r.requestId]),
        [
          ['CreateTable', 'ResourceInUseException', dup.requestId],
          ['DeleteTable', 'ResourceNotFoundException', gone.requestId],
        ],
      )
      assert.equal(c.metrics.errors, 2)
      assert.deepEqual(lines.map((l) => l.level), ['error', 'error'])
      assert.equal(created.operation, 'CreateTable')
      assert.equal(typeof created.requestId, 'string', 'a successful CreateTable record has the request id')
    },
  )
})
