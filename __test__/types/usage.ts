// Compiled with `tsc --noEmit` (npm run typecheck): the typings must accept every documented use and reject
// misuse (the @ts-expect-error lines fail the check if the typings stop rejecting them).
import {
  AdaptiveRate,
  BatchWriteError,
  BatchWriter,
  DynamoDBClient,
  FixedRate,
  NumberValue,
  withBatch,
  type BatchWriteResult,
  type FailedItem,
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

  // @ts-expect-error flushAmount is a number
  new BatchWriter(client, 'users', { flushAmount: '25' })
  // @ts-expect-error a function is not an attribute value
  await writer.put({ pk: 'x', f: () => 1 })
  // @ts-expect-error key types are S, N or B
  await client.createTable('t', { partitionKey: { name: 'pk', type: 'X' } })
}

void main
