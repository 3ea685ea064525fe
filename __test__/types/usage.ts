// Compiled with `tsc --noEmit` (npm run typecheck): the typings must accept every documented use and reject
// misuse (the @ts-expect-error lines fail the check if the typings stop rejecting them).
import {
  AdaptiveRate,
  BatchGetError,
  BatchWriteError,
  BatchWriter,
  DynamoDBClient,
  FixedRate,
  NumberValue,
  withBatch,
  DynabatchError,
  type BatchWriteResult,
  type CancellationReason,
  type FailedItem,
  type TransactWriteAction,
  type FailedKey,
  type ReadRateLimit,
  type Scan,
  type ReadItem,
  type RequestRecord,
} from 'dynabatch'

async function main(): Promise<void> {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:8000',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 3,
    requestTimeoutMs: 1000,
    removeUndefinedValues: true,
    rateLimit: new FixedRate({ wcu: 100 }),
    onRequest: (r: RequestRecord) => void r.consumedWcu,
    logger: console,
  })
  await client.createTable('users', { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } })
  const m = await client.putItem('users', {
    pk: 'a',
    sk: 1,
    big: 12345678901234567890n,
    exact: new NumberValue('1.000000000000000000000000000000000001'),
    tags: new Set(['x']),
    bin: new Uint8Array([1]),
    nested: { list: [1, 'two', null, true] },
  })
  const wcu: number = m.consumedWcu
  const item: ReadItem | undefined = await client.getItem('users', { pk: 'a', sk: 1 }, { consistentRead: true })
  void client.lastGetMetrics?.consumedRcu
  await client.deleteItem('users', { pk: 'a', sk: 1 })
  const d = await client.describeTable('users')
  const pkType: 'S' | 'N' | 'B' = d.partitionKey.type
  void [wcu, item, pkType, client.metrics.p99LatencyMs]

  const ac = new AbortController()
  const writer = new BatchWriter(client, 'users', {
    flushAmount: 25,
    maxInFlight: 8,
    highWaterMark: 1000,
    maxRetries: 5,
    baseDelayMs: 50,
    maxDelayMs: 2000,
    keySchema: { partitionKey: { name: 'pk', type: 'S' } },
    signal: ac.signal,
    rateLimit: new AdaptiveRate({ maxWcu: 1000, minWcu: 10 }),
    onProgress: (p) => void p.written,
  })
  await writer.put({ pk: 'b', sk: 2 })
  await writer.delete({ pk: 'b', sk: 2 })
  await writer.putMany([{ pk: 'c', sk: 3 }])
  const r: BatchWriteResult = await writer.flush()
  void r.itemsPerSecond
  await writer[Symbol.asyncDispose]()
  try {
    await withBatch(client, 'users', (b) => {
      void b.put({ pk: 'd', sk: 4 })
    })
  } catch (e) {
    if (e instanceof BatchWriteError) {
      const f: FailedItem = e.failed[0]
      void [f.reason, f.attempts, f.item, e.result.failed, e.code]
    }
  }
  const total: number = (await withBatch(client, 'users', async (b) => b.put({ pk: 'e', sk: 5 }))).putsWritten
  void total
  const n: bigint = new NumberValue('10').toBigInt()
  void n

  // transactions, with the caller's own item types
  interface Account {
    pk: string
    balance: number
  }
  interface Order {
    id: number
    sk: string
    lines: { sku: string; qty: number }[]
  }
  const order: Order = { id: 1, sk: 'o#1', lines: [{ sku: 'a', qty: 1 }] }
  const tm = await client.transactWrite<Account | Order>(
    [
      {
        update: {
          table: 'accounts',
          key: { pk: 'a' },
          updateExpression: 'SET balance = balance - :p',
          conditionExpression: 'balance >= :p',
          expressionAttributeValues: { ':p': 3 },
        },
      },
      { put: { table: 'orders', item: order, conditionExpression: 'attribute_not_exists(id)' } },
      { delete: { table: 'carts', key: { pk: 'a' } } },
      { conditionCheck: { table: 'accounts', key: { pk: 'b' }, conditionExpression: 'attribute_exists(pk)' } },
    ],
    { clientRequestToken: 'order-1', returnValuesOnConditionCheckFailure: 'ALL_OLD', retryConflicts: true },
  )
  const token: string = tm.clientRequestToken
  const perTable: number = tm.tables['accounts'].consumedWcu
  void [token, perTable, tm.attempts]
  const inferred: TransactWriteAction[] = [{ put: { table: 'accounts', item: { pk: 'c', balance: 0 } } }]
  await client.transactWrite(inferred)
  const account: Account = { pk: 'e', balance: 2 }
  // without a type argument, interfaces of several tables mix (the values are checked at run time)
  await client.transactWrite([{ put: { table: 'orders', item: order } }, { put: { table: 'accounts', item: account } }])
  try {
    await client.transactWrite([{ put: { table: 'accounts', item: { pk: 'd', balance: 1 } } }])
  } catch (e) {
    if (e instanceof DynabatchError && e.code === 'TransactionCanceled') {
      const why: CancellationReason[] = e.reasons ?? []
      void [why[0]?.code, why[0]?.item?.balance, e.clientRequestToken]
    }
  }
  const [acct, missing] = await client.transactGet<Account>([
    { table: 'accounts', key: { pk: 'a' } },
    { table: 'accounts', key: { pk: 'zz' }, projection: ['balance'] },
  ])
  const balance: number | undefined = acct?.balance
  void [balance, missing]
  // @ts-expect-error an action has exactly one kind
  await client.transactWrite([{ put: { table: 't', item: { pk: 'a' } }, delete: { table: 't', key: { pk: 'a' } } }])
  // @ts-expect-error an update needs its updateExpression
  await client.transactWrite([{ update: { table: 't', key: { pk: 'a' } } }])
  // @ts-expect-error the item is an Account
  await client.transactWrite<Account>([{ put: { table: 'accounts', item: { pk: 'a', balance: 'none' } } }])
  // Bulk reads: batchGet and scan, generic over the caller's item type; rate limits in RCU.
  interface User {
    pk: string
    sk: number
    name?: string
  }
  const users: Array<User | undefined> = await client.batchGet<User>('users', [{ pk: 'a', sk: 1 }], {
    consistentRead: true,
    projection: ['name'],
    maxInFlight: 4,
    maxRetries: 3,
    keySchema: { partitionKey: 'pk', sortKey: 'sk' },
    rateLimit: new FixedRate({ rcu: 100 }),
    signal: ac.signal,
  })
  void users[0]?.name
  try {
    await client.batchGet('users', new Set([{ pk: 'a', sk: 1 }]))
  } catch (e) {
    if (e instanceof BatchGetError) {
      const f: FailedKey = e.failed[0]
      void [f.index, f.key, f.reason, f.attempts, e.items[f.index], e.result.consumedRcu, e.code]
    }
  }
  const readRate: ReadRateLimit = new AdaptiveRate({ maxRcu: 500, minRcu: 5 })
  const rcu: number = readRate.currentRcu
  const unit: 'RCU' = new FixedRate({ rcu: 10 }).unit
  const scan: Scan<User> = client.scan<User>('users', {
    totalSegments: 8,
    pageSize: 500,
    bufferPages: 8,
    consistentRead: false,
    projection: ['pk', 'name'],
    filterExpression: '#n = :n',
    expressionAttributeNames: { '#n': 'name' },
    expressionAttributeValues: { ':n': 'Ann' },
    rateLimit: readRate,
    signal: ac.signal,
  })
  for await (const u of scan) void u.sk
  for await (const page of client.scan('users').pages()) void page.length
  void [rcu, unit, scan.metrics.consumedRcu, scan.metrics.rateLimit?.currentRcu, client.metrics.itemsRead]
  // @ts-expect-error reads take an RCU bucket
  client.scan('users', { rateLimit: new FixedRate({ wcu: 10 }) })
  // @ts-expect-error writes take a WCU bucket
  new BatchWriter(client, 'users', { rateLimit: new FixedRate({ rcu: 10 }) })
  // @ts-expect-error a bucket counts one unit
  new FixedRate({ wcu: 1, rcu: 1 })
  // @ts-expect-error totalSegments is a number
  client.scan('users', { totalSegments: '8' })

  // @ts-expect-error flushAmount is a number
  new BatchWriter(client, 'users', { flushAmount: '25' })
  // @ts-expect-error a function is not an attribute value
  await writer.put({ pk: 'x', f: () => 1 })
  // @ts-expect-error key types are S, N or B
  await client.createTable('t', { partitionKey: { name: 'pk', type: 'X' } })
}

void main
