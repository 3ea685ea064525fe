'use strict'
// `credentials` as AWS SDK v3 users pass it: an async provider (what @aws-sdk/credential-providers returns).
// The server (dynalite) sees the keys it returned in each request's SigV4 Authorization header; a provider
// whose credentials expire is called again; a provider that fails gives CredentialsError.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { DynamoDBClient, withBatch } = require('dynabatch')
const { startDynalite, uniqueTableName } = require('./helpers/dynalite.js')

let dyn
before(async () => {
  dyn = await startDynalite()
})
after(() => dyn.close())

function keysSeen() {
  const seen = []
  const onReq = (req) => {
    const m = /Credential=([^/]+)\//.exec(req.headers.authorization || '')
    if (m) seen.push(m[1])
  }
  dyn.server.on('request', onReq)
  return { seen, stop: () => dyn.server.off('request', onReq) }
}

describe('credentials from an async provider', () => {
  it('signs with what the provider resolves to, and calls it again before the credentials expire', async () => {
    let calls = 0
    const provider = async () => {
      calls++
      // expiring within the SDK's refresh window: the next request asks again
      return { accessKeyId: `AKIDPROVIDER${calls}`, secretAccessKey: 's', sessionToken: 't', expiration: new Date(Date.now() + 5_000) }
    }
    const { seen, stop } = keysSeen()
    try {
      const client = new DynamoDBClient({ endpoint: dyn.endpoint, region: 'us-east-1', credentials: provider })
      const t = uniqueTableName('creds')
      await client.createTable(t, { partitionKey: { name: 'pk', type: 'S' } })
      await withBatch(client, t, (b) => b.putMany([{ pk: 'a' }, { pk: 'b' }]))
      assert.deepEqual(await client.getItem(t, { pk: 'a' }), { pk: 'a' })
      await client.close()
    } finally {
      stop()
    }
    assert.ok(calls >= 2, `the provider was called ${calls} time(s)`)
    assert.ok(seen.length >= 3)
    assert.ok(seen.every((k) => /^AKIDPROVIDER\d+$/.test(k)), seen.join(' '))
  })

  it('a provider with long-lived credentials is called once for many requests; a plain function works too', async () => {
    let calls = 0
    const provider = () => {
      calls++
      return { accessKeyId: 'AKIDSTATIC', secretAccessKey: 's' }
    }
    const { seen, stop } = keysSeen()
    try {
      const client = new DynamoDBClient({ endpoint: dyn.endpoint, region: 'us-east-1', credentials: provider })
      const t = uniqueTableName('creds')
      await client.createTable(t, { partitionKey: { name: 'pk', type: 'S' } })
      for (let i = 0; i < 5; i++) await client.putItem(t, { pk: `k${i}` })
      await client.close()
    } finally {
      stop()
    }
    assert.equal(calls, 1)
    assert.ok(seen.length >= 6 && seen.every((k) => k === 'AKIDSTATIC'))
  })

  it('a provider that rejects fails the call with CredentialsError, without sending it', async () => {
    const { seen, stop } = keysSeen()
    try {
      const client = new DynamoDBClient({
        endpoint: dyn.endpoint,
        region: 'us-east-1',
        maxAttempts: 1,
        credentials: async () => {
          throw new Error('the SSO session expired')
        },
      })
      await assert.rejects(client.describeTable('whatever'), (e) => {
        assert.equal(e.code, 'CredentialsError')
        assert.match(e.message, /the SSO session expired/)
        return true
      })
    } finally {
      stop()
    }
    assert.deepEqual(seen, [])
  })
})
