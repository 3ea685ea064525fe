// Public typings of dynabatch. The native binding's generated typings live in binding.d.ts; this file is the
// hand-written surface that index.js exposes (it wraps the binding to keep the JS thread's cost low and to add
// what Rust cannot express: withBatch, Symbol.asyncDispose, NumberValue, BatchWriteError).
//
// Item parameters are generic over the caller's own types (`BatchWriter<User>`, `getItem<User>()`), as typed
// DynamoDB clients do: an `interface` has no index signature and could not be passed as `Item`. The runtime
// validation (InvalidItem, with the attribute path) is the guard for values the types let through.

/// <reference types="node" />

/** A DynamoDB number carried exactly (up to 38 significant digits), as text. */
export declare class NumberValue {
  /** @throws {TypeError} with `code = 'InvalidItem'` when the text is not a valid DynamoDB number. */
  constructor(value: string | bigint | number)
  /** Same as `new NumberValue(value)`. */
  static from(value: string | bigint | number): NumberValue
  /** The normalized decimal text, as DynamoDB stores it. */
  readonly value: string
  toString(): string
  /** @throws {RangeError} when the number is not an integer. */
  toBigInt(): bigint
  /** May lose precision, like `Number(text)`. */
  toNumber(): number
  toJSON(): string
}

/** A JS value dynabatch can store (see the README's marshalling table). */
export type AttributeValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | NumberValue
  | Uint8Array
  | ArrayBuffer
  | ArrayBufferView
  | AttributeValue[]
  | Set<string>
  | Set<number | bigint | NumberValue>
  | Set<Uint8Array | ArrayBuffer | ArrayBufferView>
  | Map<string, AttributeValue>
  | { [name: string]: AttributeValue }

/** The default item type: what the marshaller accepts. Pass your own type instead (`BatchWriter<User>`). */
export type Item = { [name: string]: AttributeValue } | Map<string, AttributeValue>
/** A value read back from DynamoDB: N becomes number (or NumberValue), B Buffer, sets Set, M plain object. */
export type ReadValue =
  | string
  | number
  | boolean
  | null
  | NumberValue
  | Buffer
  | ReadValue[]
  | Set<string>
  | Set<number | NumberValue>
  | Set<Buffer>
  | { [name: string]: ReadValue }
export type ReadItem = { [name: string]: ReadValue }

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}
/**
 * What AWS SDK v3 credential providers return (`@aws-sdk/credential-providers`): called when credentials are
 * needed, and again before `expiration`.
 */
export interface AwsCredentialIdentity extends Credentials {
  expiration?: Date
}
export type CredentialProvider = () => Promise<AwsCredentialIdentity> | AwsCredentialIdentity

/** Per-request record: what the engine or client sent and what DynamoDB answered. */
export interface RequestRecord {
  /** 'BatchWriteItem' | 'PutItem' | 'DeleteItem' | 'GetItem' | 'BatchGetItem' | 'Scan' | 'DescribeTable' | ... */
  operation: string
  table: string
  /** Wall-clock duration of the HTTP request, in milliseconds. */
  durationMs: number
  /** Items (or keys) in the request (0 for Scan, which carries none). */
  items: number
  /** Items or keys DynamoDB returned as UnprocessedItems / UnprocessedKeys. */
  unprocessed: number
  /** Items a read returned (GetItem, BatchGetItem, Scan). */
  returned: number
  /** Items a Scan evaluated, before its filter (ScannedCount); 0 for other operations. */
  scanned: number
  /** Consumed write capacity units reported by DynamoDB (0 when not reported). */
  consumedWcu: number
  /** Consumed read capacity units (GetItem, BatchGetItem, Scan). */
  consumedRcu: number
  /** 1 for a first attempt, 2 for its first retry, and so on (the highest attempt among the items sent). */
  attempt: number
  throttled: boolean
  /** The AWS request id, when the service sent one. */
  requestId?: string
  /**
   * The error code when the request failed as a whole, or 'UnreconciledResponse' when DynamoDB's answer
   * could not be matched to what was sent (its operations are then sent again, never counted as written).
   */
  errorCode?: string
}

export interface ProgressEvent {
  accepted: number
  written: number
  failed: number
  inFlight: number
}

export interface Logger {
  debug(...args: any[]): void
  info(...args: any[]): void
  warn(...args: any[]): void
  error(...args: any[]): void
}

/** What a rate bucket counts: write capacity units (writes) or read capacity units (batchGet, scan). */
export type CapacityUnit = 'WCU' | 'RCU'
/** What FixedRate and AdaptiveRate have in common: one bucket, in one unit; the other unit's rate is null. */
/**
 * A token bucket of capacity units, shared exactly by every writer and call that holds it: in any window of t
 * seconds at most `burst + rate·t` units go out. Bad options are TypeErrors with `code` 'InvalidArgument'
 * (unknown names are refused).
 */
export interface RateBucket<U extends CapacityUnit> {
  readonly unit: U
  /** The bucket's counters (the same as `metrics.rateLimit`). */
  stats(): RateLimitMetrics
  /** The rate in force, in WCU/s (null for an RCU bucket). */
  readonly currentWcu: U extends 'WCU' ? number : null
  /** The rate in force, in RCU/s (null for a WCU bucket). */
  readonly currentRcu: U extends 'RCU' ? number : null
}

export interface FixedRateOptions {
  /** Sustained write capacity units per second. */
  wcu: number
  /** Bucket size in WCU (default: `wcu`, i.e. one second of capacity). */
  burst?: number
}
export interface FixedReadRateOptions {
  /** Sustained read capacity units per second. */
  rcu: number
  /** Bucket size in RCU (default: `rcu`). */
  burst?: number
}
/** A token bucket of `wcu` write (or `rcu` read) capacity units per second, shared by everything that holds it. */
export interface FixedRate<U extends CapacityUnit = 'WCU'> extends RateBucket<U> {}
export declare const FixedRate: {
  new (options: FixedRateOptions): FixedRate<'WCU'>
  new (options: FixedReadRateOptions): FixedRate<'RCU'>
  readonly prototype: FixedRate<CapacityUnit>
}

export interface AdaptiveRateOptions {
  /** Upper bound in WCU/s. */
  maxWcu: number
  /** Lower bound in WCU/s (default: 1). */
  minWcu?: number
  /** Starting rate (default: `maxWcu / 2`, within [minWcu, maxWcu]). */
  startWcu?: number
}
export interface AdaptiveReadRateOptions {
  /** Upper bound in RCU/s. */
  maxRcu: number
  /** Lower bound in RCU/s (default: 1). */
  minRcu?: number
  /** Starting rate (default: `maxRcu / 2`, within [minRcu, maxRcu]). */
  startRcu?: number
}
/** A token bucket whose rate falls by half on throttling and climbs back additively after quiet periods. */
export interface AdaptiveRate<U extends CapacityUnit = 'WCU'> extends RateBucket<U> {}
export declare const AdaptiveRate: {
  new (options: AdaptiveRateOptions): AdaptiveRate<'WCU'>
  new (options: AdaptiveReadRateOptions): AdaptiveRate<'RCU'>
  readonly prototype: AdaptiveRate<CapacityUnit>
}
/** A rate limit for writes (WCU). */
export type RateLimit = FixedRate<'WCU'> | AdaptiveRate<'WCU'>
/** A rate limit for reads (RCU): `new FixedRate({ rcu })`, `new AdaptiveRate({ maxRcu })`. */
export type ReadRateLimit = FixedRate<'RCU'> | AdaptiveRate<'RCU'>

export interface DynamoDBClientOptions {
  /** AWS region; default: the standard chain (AWS_REGION, AWS_DEFAULT_REGION, profile), else 'us-east-1' when an endpoint is set. */
  region?: string
  /** Custom endpoint URL (DynamoDB Local, dynalite, LocalStack…); default: AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL / the regional AWS endpoint. */
  endpoint?: string
  /** Static credentials or an async provider (AWS SDK v3's kind); default: the standard AWS credential chain. */
  credentials?: Credentials | CredentialProvider
  /** Named profile from the shared config files; default: AWS_PROFILE or 'default'. */
  profile?: string
  /** Attempts per single-item request and per transaction (default 3). BatchWriter requests use the writer's own retry policy. */
  maxAttempts?: number
  /** TCP connect timeout in ms (default 3100). */
  connectTimeoutMs?: number
  /** Timeout of one attempt of any request, in ms (default 30000): a hung connection becomes a retryable Timeout. */
  requestTimeoutMs?: number
  /**
   * Requests in flight at once across every writer and call of this client, and so open connections
   * (default 50). Requests beyond it wait in the engine, not in the socket layer.
   */
  maxConnections?: number
  /** Idle connections are closed after this many ms (default 20000). */
  idleTimeoutMs?: number
  /** Drop `undefined` values inside maps, lists and sets instead of rejecting the item (default false). */
  removeUndefinedValues?: boolean
  /** Read every N as a NumberValue instead of a number (default false). */
  wrapNumbers?: boolean
  /** A rate limit (WCU) shared by every writer and single-item write of this client (reads take their own). */
  rateLimit?: RateLimit
  /** Called on the JS thread with a record of every request this client sends (writers included). */
  onRequest?: (record: RequestRecord) => void
  /** Receives debug/warn/error lines; default silent. */
  logger?: Logger
  /** Requests slower than this are logged at warn (default 1000 ms). */
  slowRequestMs?: number
}

export interface KeyAttribute {
  name: string
  type: 'S' | 'N' | 'B'
}
export interface KeySchema {
  partitionKey: KeyAttribute
  sortKey?: KeyAttribute
}
export interface CreateTableOptions extends KeySchema {}
export interface TableDescription extends KeySchema {
  tableName: string
  /** 'CREATING' | 'ACTIVE' | 'DELETING' | 'UPDATING' ... */
  status: string
  itemCount?: number
  billingMode?: string
}

export interface OperationMetrics {
  operation: string
  table: string
  durationMs: number
  consumedWcu: number
  consumedRcu: number
  attempts: number
  requestId?: string
}

export interface WriteOptions {
  conditionExpression?: string
  expressionAttributeNames?: Record<string, string>
  expressionAttributeValues?: Record<string, AttributeValue>
}
export interface GetItemOptions {
  consistentRead?: boolean
}

/** A transaction's put: the item, written if the condition (if any) holds. */
export interface TransactPut<T extends object = Item> extends WriteOptions {
  table: string
  item: T
}
/** A transaction's delete by key (a whole item is accepted; only its key attributes are sent). */
export interface TransactDelete<T extends object = Item> extends WriteOptions {
  table: string
  key: Partial<T>
}
/** A transaction's update of the item with this key (created if absent, as UpdateItem does). */
export interface TransactUpdate<T extends object = Item> extends WriteOptions {
  table: string
  key: Partial<T>
  updateExpression: string
}
/** A condition on an item the transaction does not write: if it fails, nothing is written. */
export interface TransactConditionCheck<T extends object = Item> extends WriteOptions {
  table: string
  key: Partial<T>
  conditionExpression: string
}
/** `T`, as a place TypeScript does not infer `T` from (the default applies unless `T` is given). */
type NotInferred<T> = [T][T extends any ? 0 : never]

/**
 * One action of `transactWrite`: exactly one of `put`, `delete`, `update`, `conditionCheck`. `T` is the item
 * type: any object by default (the values are checked at run time), or your own (a union of several for
 * several tables) when you pass it: `transactWrite<Account | Order>(…)`.
 */
export type TransactWriteAction<T extends object = Item> =
  | { put: TransactPut<T>; delete?: never; update?: never; conditionCheck?: never }
  | { delete: TransactDelete<T>; put?: never; update?: never; conditionCheck?: never }
  | { update: TransactUpdate<T>; put?: never; delete?: never; conditionCheck?: never }
  | { conditionCheck: TransactConditionCheck<T>; put?: never; delete?: never; update?: never }

export interface TransactWriteOptions {
  /**
   * Makes the call idempotent: within 10 minutes, the same token with the same actions applies once. Default: a
   * random token generated for the call (every retry of the call carries it); it is in the result and in
   * `err.clientRequestToken`, so the call can be repeated safely.
   */
  clientRequestToken?: string
  /** 'ALL_OLD': a cancellation's reason for a failed condition carries the item as it was (`reason.item`). */
  returnValuesOnConditionCheckFailure?: 'ALL_OLD' | 'NONE'
  /**
   * Retry a transaction cancelled by conflicts with other requests on its items (default false: your
   * conditions were judged against items that were changing; it rejects with TransactionCanceled).
   */
  retryConflicts?: boolean
}

export interface TransactGetOptions {
  /** Retry a read cancelled by a conflicting write (default true: a read has no conditions to go stale). */
  retryConflicts?: boolean
}

/** One read of `transactGet`. */
export interface TransactGet {
  table: string
  /** The item's key (a whole item is accepted; only its key attributes are sent). */
  key: object
  /** Top-level attribute names to read (default: the whole item). */
  projection?: string[]
}

/** What a committed transaction reports. */
export interface TransactWriteMetrics {
  operation: 'TransactWriteItems'
  /** From the first attempt to the answer, retries included. */
  durationMs: number
  consumedWcu: number
  /** Read units: reported for a repeated token, whose answer only read the items. */
  consumedRcu: number
  /** Consumed capacity per table. */
  tables: Record<string, { consumedWcu: number; consumedRcu: number }>
  attempts: number
  requestId?: string
  /** The token the transaction was sent with (the caller's, or the generated one). */
  clientRequestToken: string
}

/**
 * Why DynamoDB cancelled a transaction, for one action (`err.reasons[i]` is about `actions[i]`):
 * `'None'` for actions that did not cause it.
 */
export interface CancellationReason {
  code:
    | 'None'
    | 'ConditionalCheckFailed'
    | 'TransactionConflict'
    | 'ItemCollectionSizeLimitExceeded'
    | 'ValidationError'
    | 'ThrottlingError'
    | 'ProvisionedThroughputExceeded'
    | 'Unknown'
    | string
  message: string
  /** The item as it was, for a failed condition with `returnValuesOnConditionCheckFailure: 'ALL_OLD'`. */
  item?: ReadItem
}

export interface ClientMetrics {
  requests: number
  errors: number
  throttles: number
  retries: number
  consumedWcu: number
  consumedRcu: number
  itemsWritten: number
  itemsFailed: number
  /** Items reads returned (getItem, batchGet, scan). */
  itemsRead: number
  /** Items scans evaluated, before their filters. */
  itemsScanned: number
  totalLatencyMs: number
  p50LatencyMs: number
  p99LatencyMs: number
  /** Present when the client has a rate limit. */
  rateLimit?: RateLimitMetrics
}
export interface RateLimitMetrics {
  currentWcu: number
  waits: number
  waitedMs: number
  throttles: number
}
export interface ReadRateLimitMetrics {
  currentRcu: number
  waits: number
  waitedMs: number
  throttles: number
}

/** A table's key schema as an option: typed keys, or names alone (any key type is then accepted). */
export type KeySchemaOption = KeySchema | { partitionKey: string | KeyAttribute; sortKey?: string | KeyAttribute }

export interface BatchGetOptions {
  /** Strongly consistent reads (default false). */
  consistentRead?: boolean
  /** Top-level attributes to return; the key attributes are always returned too. Default: whole items. */
  projection?: string[]
  /** Concurrent BatchGetItem requests (default 16). */
  maxInFlight?: number
  /** Retries per key after its first attempt (UnprocessedKeys, throttling, 5xx, timeouts; default 10). */
  maxRetries?: number
  /** Backoff base in ms (default 50). */
  baseDelayMs?: number
  /** Backoff cap in ms (default 5000). */
  maxDelayMs?: number
  /** The table's key schema; default: read with DescribeTable (once per client and table). */
  keySchema?: KeySchemaOption
  /** A rate limit in read capacity units. */
  rateLimit?: ReadRateLimit
  /** Aborting stops sending; keys not read are reported with reason 'Aborted'. */
  signal?: AbortSignal
}

/** A key batchGet could not read. */
export interface FailedKey {
  /** Its position in `keys`. */
  index: number
  /** The key exactly as it was passed in. */
  key: object
  reason: FailureReason
  message: string
  /** Attempts made (0 when it was never sent). */
  attempts: number
}

export interface BatchGetResult {
  /** Keys given, and distinct keys among them (one read each). */
  keys: number
  distinctKeys: number
  /** Distinct keys found, absent, not read. */
  found: number
  absent: number
  failed: number
  requests: number
  retries: number
  throttles: number
  unprocessedRounds: number
  consumedRcu: number
  elapsedMs: number
}

/** batchGet's rejection when some keys could not be read: never a partial array that looks complete. */
export declare class BatchGetError<T extends object = ReadItem> extends Error {
  readonly code: 'BatchGetFailed'
  /** One entry per position whose key was not read. */
  readonly failed: FailedKey[]
  /** Aligned with the keys: the items that were read (undefined where absent or not read). */
  readonly items: Array<T | undefined>
  readonly result: BatchGetResult
}

export interface ScanOptions {
  /** Segments read in parallel (default 1; DynamoDB allows up to 1,000,000). */
  totalSegments?: number
  /** Items evaluated per Scan request (`Limit`); default: DynamoDB's 1 MB pages. */
  pageSize?: number
  /** Pages queued for the consumer, at most (default: totalSegments, at least 2); see the README for the whole read-ahead. */
  bufferPages?: number
  /** Strongly consistent reads (default false). */
  consistentRead?: boolean
  /** Top-level attributes to return. Default: whole items. */
  projection?: string[]
  /** A FilterExpression, applied by DynamoDB after the read. */
  filterExpression?: string
  expressionAttributeNames?: Record<string, string>
  expressionAttributeValues?: Record<string, AttributeValue>
  /** A rate limit in read capacity units. */
  rateLimit?: ReadRateLimit
  /** Aborting stops the reads; the iteration rejects with code 'Aborted'. */
  signal?: AbortSignal
  /** Retries per page request (default 10). */
  maxRetries?: number
  baseDelayMs?: number
  maxDelayMs?: number
}

export interface ScanMetrics {
  /** Scan pages read, items returned and items evaluated (before the filter) so far. */
  pages: number
  items: number
  scanned: number
  consumedRcu: number
  segments: number
  segmentsDone: number
  elapsedMs: number
  itemsPerSecond: number
  rateLimit?: ReadRateLimitMetrics
}

/** A scan: iterate it once, item by item (`for await`), or page by page (`pages()`). */
export interface Scan<T extends object = ReadItem> extends AsyncIterable<T> {
  [Symbol.asyncIterator](): AsyncIterableIterator<T>
  /** The items in arrays, one per Scan page read. */
  pages(): AsyncIterableIterator<T[]>
  /** What the scan has read so far. */
  readonly metrics: ScanMetrics
  /** Stops the reads; an iteration under way ends. */
  close(): void
}

export declare class DynamoDBClient {
  /** Never blocks: the AWS configuration chain is loaded lazily, on the first request. */
  constructor(options?: DynamoDBClientOptions)
  /** Writes one item (any object type; its values are checked at run time). Resolves to the request's metrics. */
  putItem<T extends object = Item>(table: string, item: T, options?: WriteOptions): Promise<OperationMetrics>
  /**
   * Reads one item; resolves to `undefined` when it is absent. `T` is what you expect to read (not checked).
   * Its metrics are in `lastGetMetrics`.
   */
  getItem<T extends object = ReadItem>(table: string, key: object, options?: GetItemOptions): Promise<T | undefined>
  /**
   * Reads many items by key: resolves to an array aligned with `keys` (the item, or `undefined` when
   * absent). Keys may repeat; each distinct key is read once. Rejects with a BatchGetError when some keys
   * could not be read. `T` is what you expect to read (not checked).
   */
  batchGet<T extends object = ReadItem>(table: string, keys: Iterable<object>, options?: BatchGetOptions): Promise<Array<T | undefined>>
  /** The table's items, read in parallel segments in the background with bounded read-ahead. Nothing is read before the iteration starts. */
  scan<T extends object = ReadItem>(table: string, options?: ScanOptions): Scan<T>
  /** Deletes one item by key (a whole item is accepted). Resolves to the request's metrics. */
  deleteItem(table: string, key: object, options?: WriteOptions): Promise<OperationMetrics>
  /** Creates a table with on-demand billing; resolves once it is ACTIVE. */
  createTable(table: string, options: CreateTableOptions): Promise<TableDescription>
  /** Deletes a table; resolves when DynamoDB accepted the deletion. */
  deleteTable(table: string): Promise<void>
  describeTable(table: string): Promise<TableDescription>
  /**
   * Writes up to 100 items, in up to 100 tables, all or nothing. Resolves to the metrics once committed; a
   * cancelled transaction rejects with `err.code === 'TransactionCanceled'` and `err.reasons`, one per action.
   */
  transactWrite<T extends object = object>(
    actions: TransactWriteAction<NotInferred<T>>[],
    options?: TransactWriteOptions,
  ): Promise<TransactWriteMetrics>
  /**
   * Reads up to 100 items at once, consistently with each other. Resolves to an array aligned with `gets`:
   * the item, or `undefined` when there is none. `T` is what you expect to read (not checked).
   */
  transactGet<T extends object = ReadItem>(gets: TransactGet[], options?: TransactGetOptions): Promise<(T | undefined)[]>
  /** The metrics of the most recent getItem that settled. */
  readonly lastGetMetrics: OperationMetrics | undefined
  /** Totals across every operation and writer of this client. */
  readonly metrics: ClientMetrics
  resetMetrics(): void
  /**
   * Refuses further calls and writers (`ClientClosed`), waits for the requests in flight, and closes the
   * connections. Idempotent. Close writers first: their later requests fail with `ClientClosed`.
   */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
  readonly closed: boolean
}

export interface BatchWriterOptions {
  /** Items per BatchWriteItem request, 1..25 (default 25). */
  flushAmount?: number
  /** Concurrent BatchWriteItem requests (default 16). */
  maxInFlight?: number
  /** Accepted-but-unfinished items before an awaited put/delete waits (default 1000). */
  highWaterMark?: number
  /** Retries per item after its first attempt (default 10). */
  maxRetries?: number
  /** Backoff base in ms (default 50); delay = random(0, min(maxDelayMs, baseDelayMs * 2^retry)). */
  baseDelayMs?: number
  /** Backoff cap in ms (default 5000). */
  maxDelayMs?: number
  /**
   * The table's key schema; default: read with DescribeTable when the writer is created (operations made
   * before it is known wait for it). A key may be given by name alone (`{ partitionKey: 'pk' }`): any key
   * type is then accepted for it.
   */
  keySchema?: KeySchemaOption
  /**
   * Write only the keys of one shard: operations whose key (by the table's key schema, numbers by value)
   * hashes to another shard are skipped (counted in `skipped`). N processes with `index` 0..N-1 and the same
   * `count` write disjoint keys, every operation on one key in one process.
   */
  shard?: { index: number; count: number }
  /** Aborting stops new requests; every unwritten item is reported with reason 'Aborted'. */
  signal?: AbortSignal
  /** A rate limit for this writer (default: the client's, if any). */
  rateLimit?: RateLimit
  /** Called with a record of every request this writer sends. */
  onRequest?: (record: RequestRecord) => void
  /** Called with progress counts, at most every `progressIntervalMs`. */
  onProgress?: (progress: ProgressEvent) => void
  /** Minimum interval between onProgress calls, ms (default 1000). */
  progressIntervalMs?: number
  /** Default: the client's logger. */
  logger?: Logger
  /** Default: the client's slowRequestMs. */
  slowRequestMs?: number
}

/**
 * Counts of a flush (the operations it covers, and the requests since the previous flush resolved) or of a
 * writer's whole life (close, withBatch, metrics). See the README's table for each count's exact meaning.
 */
export interface BatchWriteResult {
  /** Puts DynamoDB confirmed written. */
  putsWritten: number
  /** Deletes DynamoDB confirmed applied. */
  deletesWritten: number
  /** Operations not written (each is in BatchWriteError.failed). */
  failed: number
  /** Operations a sharded writer left to other shards. */
  skipped: number
  /** BatchWriteItem requests sent (every attempt). */
  requests: number
  /** Operations sent again (one per re-sent item). */
  retries: number
  /** Requests refused with a throttling error. */
  throttles: number
  /** Responses that carried UnprocessedItems. */
  unprocessedRounds: number
  /** Write capacity units DynamoDB reported consumed, summed over every request. */
  consumedWcu: number
  elapsedMs: number
  /** Request durations summed, ms. */
  totalLatencyMs: number
  /** Request latency quantiles, ms: within the smallest and largest latency seen, about ±10%. */
  p50LatencyMs: number
  p99LatencyMs: number
  itemsPerSecond: number
}

export interface WriterMetrics extends BatchWriteResult {
  accepted: number
  inFlight: number
  rateLimit?: RateLimitMetrics
}

export type FailureReason =
  | 'UnprocessedAfterRetries'
  | 'Throttled'
  | 'Network'
  | 'Timeout'
  | 'ServerError'
  | 'Aborted'
  | 'InvalidItem'
  | 'ValidationException'
  | 'ResourceNotFoundException'
  | 'AccessDeniedException'
  | 'KeySchemaUnavailable'
  | 'ClientClosed'
  | 'UnreconciledResponse'
  | string

export interface FailedItem<T extends object = Item> {
  operation: 'put' | 'delete'
  /** The item (put) or key (delete) exactly as it was passed in. */
  item: T | Partial<T>
  reason: FailureReason
  message: string
  /** Attempts made (0 when the item was never sent). */
  attempts: number
  /** For InvalidItem: the attribute path, as in the message (`item.tags[3]`). */
  path?: string
}

export declare class BatchWriteError<T extends object = Item> extends Error {
  readonly code: 'BatchWriteFailed'
  /** One entry per operation not written, each reported once per flush that covers it. */
  readonly failed: FailedItem<T>[]
  readonly result: BatchWriteResult
  /** withBatch: the callback's own error, when it stopped on an item that is listed in `failed`. */
  cause?: unknown
}

/** A writer of items of type `T` (default: any storable item; `new BatchWriter<User>(…)` for your own type). */
export declare class BatchWriter<T extends object = Item> {
  constructor(client: DynamoDBClient, table: string, options?: BatchWriterOptions)
  readonly table: string
  readonly closed: boolean
  /** Resolves once accepted; waits only when the writer holds `highWaterMark` unfinished items. */
  put(item: T): Promise<void>
  /** Queues a delete by key (a whole item is accepted; only its key attributes are sent). */
  delete(key: Partial<T>): Promise<void>
  /** Queues many puts in one call; resolves once all are accepted. */
  putMany(items: Iterable<T>): Promise<void>
  /** Queues many deletes in one call. */
  deleteMany(keys: Iterable<Partial<T>>): Promise<void>
  /** Sends everything queued before the call and waits for it. Rejects with BatchWriteError if anything failed. */
  flush(): Promise<BatchWriteResult>
  /** flush(), then refuse further puts with err.code 'WriterClosed'. Resolves to the whole writer's result. */
  close(): Promise<BatchWriteResult>
  [Symbol.asyncDispose](): Promise<void>
  readonly metrics: WriterMetrics
}

/**
 * Runs `fn` with a fresh writer and always closes it; resolves to the final result. `T` is the item type
 * (`withBatch<User>(…)`, or inferred from an annotated `(b: BatchWriter<User>) => …`).
 */
export declare function withBatch<T extends object = Item>(
  client: DynamoDBClient,
  table: string,
  fn: (writer: BatchWriter<T>) => unknown | Promise<unknown>,
  options?: BatchWriterOptions,
): Promise<BatchWriteResult>

/** The stable error codes dynabatch sets on `err.code` for client-side errors (src/error.rs lists them). */
export type ErrorCode =
  | 'InvalidItem'
  | 'InvalidArgument'
  | 'WriterClosed'
  | 'ClientClosed'
  | 'Aborted'
  | 'BatchWriteFailed'
  | 'BatchGetFailed'
  | 'Network'
  | 'Timeout'
  | 'CredentialsError'
  | 'KeySchemaUnavailable'
  | 'ServiceError'
  | 'Internal'
  /** A transaction DynamoDB cancelled: `err.reasons` has one entry per action. */
  | 'TransactionCanceled'
  /** Thrown when the package is loaded: no native binary for this platform, or not where it was looked for. */
  | 'NativeBindingUnavailable'

/** The Error class of dynabatch's client-side failures (and of service errors, with DynamoDB's code). */
export declare class DynabatchError extends Error {
  readonly code: ErrorCode | string
  /** The AWS request id, for service errors. */
  readonly requestId?: string
  /** The HTTP status, for service errors. */
  readonly statusCode?: number
  /** The error this one wraps (KeySchemaUnavailable over the DescribeTable error that caused it). */
  readonly cause?: unknown
  /** transactWrite, once sent: the token it was sent with (repeating the call with it is safe). */
  readonly clientRequestToken?: string
  /** TransactionCanceled: why, one entry per action (or get), in order. */
  readonly reasons?: CancellationReason[]
}

/** Thrown (as a rejection) for an item or key that breaks the marshalling rules; the message names the path. */
export declare class InvalidItemError extends TypeError {
  readonly code: 'InvalidItem'
  /** The attribute path, as in the message (`item.tags[3]`). */
  readonly path?: string
}

/**
 * withBatch's rejection when the callback threw and the final flush failed too, shaped like the
 * explicit-resource-management proposal's SuppressedError (the global one where the runtime has it).
 */
export declare class SuppressedError extends Error {
  /** The final flush's error (usually a BatchWriteError). */
  readonly error: unknown
  /** The callback's error. */
  readonly suppressed: unknown
  readonly code?: string
}

export { importFrom, type ImportInput, type ImportStream, type ImportOptions, type ImportSummary, type ImportFileSummary, type ImportProgress, type ImportEvent, type DeadLetterRecord } from './lib/import/index.js'
