'use strict'
// A small DynamoDB-protocol (JSON 1.0) HTTP server for fault-injection tests and benchmarks.
//
// It implements just enough of the service for a batch writer, bulk reads and transactions: DescribeTable,
// BatchWriteItem, PutItem, DeleteItem, GetItem, BatchGetItem, Scan, CreateTable, DeleteTable, ListTables, with the
// real service's validation for BatchWriteItem (25 entries, duplicate keys, key types) and BatchGetItem (100
// keys, duplicate keys, key types, unused expression names). Reads: BatchGetItem and Scan honour
// ProjectionExpression (top-level names, #placeholders), answer within the response limits (16 MB, or a
// Scan page of 1 MB; `maxResponseBytes` lowers both) and report consumed RCU; Scan pages by Limit and
// ExclusiveStartKey in a stable order (keys sorted) and splits the table into Segment/TotalSegments by a
// hash of the key; FilterExpression is refused (use dynalite). Transactions: TransactWriteItems (Put and
// Delete, without conditions) and TransactGetItems, with 100 entries, one per item, 4 MB, idempotent client
// request tokens (a token seen again with the same items answers without applying; with other items,
// IdempotentParameterMismatchException; while its transaction is held, TransactionInProgressException)
// and, with the transactHoldMs fault, transactions that hold their items for a while: another transaction
// touching a held item is cancelled with TransactionConflict at that item's position, as DynamoDB does. On
// top of that it injects faults chosen by a
// seeded PRNG (repeatable runs): unprocessed entries, throttling, 500/503, socket resets, lost answers,
// slow or hung answers, and a server-side WCU/second limit. It records what was applied, in order, so tests
// can check the writer's guarantees server-side (no loss, last write wins, rate limits, concurrency).
//
// Hot path (benchmarks): one JSON.parse per request, one canonical key string per entry (needed for the
// duplicate check), no other per-entry allocation when `store: false`.
//
// Item size (for WCU and the 400 KB limit) follows DynamoDB's published sizing rules approximately:
// attribute name UTF-8 bytes + value bytes, where S = UTF-8 bytes, N = ceil(chars / 2) + 1, B = decoded
// base64 bytes, BOOL/NULL = 1, M/L = 3 + per element (1 + name + value), sets = sum of their members.
// A put costs max(1, ceil(size / 1024)) WCU, a delete 1 WCU.
//
// Canonical key string (stats.history keys, table(name).items keys, failKeys):
//   partition key only:  `${type}:${value}`                e.g. 'S:user#1', 'N:42'
//   with a sort key:     `${type}:${value}|${type}:${value}` e.g. 'S:user#1|N:7'
// N values are normalized ('1.50', '+1.5e0' -> '1.5') since DynamoDB compares numbers by value; in the
// partition part '\' and '|' are escaped with '\' so the form stays unambiguous. Build one with
// server.keyOf(tableName, keyInDynamoJson) or canonicalKey(schema, key).
//
// Also runnable as a child process (spawnFaultServer) so a benchmark's server does not share the JS thread
// with the code being measured.

const http = require('node:http')
const zlib = require('node:zlib')
const crypto = require('node:crypto')

const TARGET_PREFIX = 'DynamoDB_20120810.'
const DDB = 'com.amazonaws.dynamodb.v20120810#'
const CORAL = 'com.amazon.coral.service#'
const CONTENT_TYPE = 'application/x-amz-json-1.0'
const MAX_BATCH = 25
const MAX_TRANSACT = 100
const MAX_TRANSACT_BYTES = 4 * 1024 * 1024
const MAX_ITEM_BYTES = 400 * 1024
const WRITE_OPS = new Set(['BatchWriteItem', 'PutItem', 'DeleteItem', 'TransactWriteItems'])
const READ_OPS = new Set(['BatchGetItem', 'Scan', 'GetItem'])
const MAX_GET_KEYS = 100
const MAX_GET_RESPONSE_BYTES = 16 * 1024 * 1024
const MAX_SCAN_PAGE_BYTES = 1024 * 1024
const KEY_TYPES = new Set(['S', 'N', 'B'])
const SCHEMA_MISMATCH = 'The provided key element does not match the schema'

const DEFAULT_FAULTS = Object.freeze({
  unprocessedRate: 0,
  throttleRate: 0,
  errorRate: 0,
  unavailableRate: 0,
  resetRate: 0,
  lostAnswerRate: 0,
  hangRate: 0,
  delayMs: 0,
  capacityWcuPerSecond: 0,
  capacityRcuPerSecond: 0,
  maxResponseBytes: 0, // 0: the service's limits (16 MB for BatchGetItem, 1 MB for a Scan page)
  failKeys: null,
  faultOps: ['BatchWriteItem'],
  // ms an accepted TransactWriteItems holds its items before it is applied and answered (0: applied at once)
  transactHoldMs: 0,
  // Outcomes for the next requests of faultOps, in order, before any die is cast: 'throttle', 'error500',
  // 'error503', 'reset', 'lost' (applied, then the socket is destroyed), 'ok'. Deterministic scripts.
  sequence: [],
  // op -> an error code (400 with that __type), or { code?, status?, message?, body?, times? }: the op's next
  // `times` requests (default all) fail so; `message`/`body` may be functions of the request's input (a
  // service that echoes what it was sent). Applies to any operation, whatever faultOps says.
  failOps: null,
  // Unprocessed entries come back with their N key attributes printed otherwise than sent:
  // 'decimal' ('7' -> '7.0') or 'exponent' ('100' -> '1E+2'), as a service may print them.
  unprocessedKeyForm: null,
  // Per BatchWriteItem response (a die): one more UnprocessedItems entry that matches nothing sent: 'key' (a
  // key not in the request), 'table' (under another table's name) or 'kind' (the first entry, applied,
  // returned as the other kind of request). Counted in stats.strayReturned.
  strayUnprocessedRate: 0,
  strayUnprocessedForm: 'key',
})

class ApiError {
  // `extra`: more members of the error body (a cancellation's CancellationReasons).
  constructor(status, type, message, extra) {
    this.status = status
    this.type = type
    this.message = message
    this.extra = extra
  }
}
const validation = (message) => new ApiError(400, DDB + 'ValidationException', message)
const notFound = () => new ApiError(400, DDB + 'ResourceNotFoundException', 'Requested resource not found')

// mulberry32: tiny, fast, good enough for fault dice; seeded so a failing run can be replayed.
function prng(seed) {
  let a = seed >>> 0
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// ---- keys ------------------------------------------------------------------------------------------

const PLAIN_INT = /^(0|-?[1-9]\d*)$/
const NUMBER = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/

// Numbers are keys by value, so '1', '1.0' and '10e-1' must map to the same canonical string.
// Returns null for text that is not a number.
function normalizeNumber(text) {
  if (PLAIN_INT.test(text)) return text // fast path: the common integer key
  const m = NUMBER.exec(text)
  if (!m) return null
  const intPart = m[2] || ''
  const frac = m[3] || ''
  if (intPart.length + frac.length === 0) return null
  let digits = intPart + frac
  let point = intPart.length + (m[4] ? Number(m[4]) : 0) // position of the decimal point in `digits`
  let lead = 0
  while (lead < digits.length && digits.charCodeAt(lead) === 48) lead++
  digits = digits.slice(lead)
  point -= lead
  let end = digits.length
  while (end > 0 && digits.charCodeAt(end - 1) === 48) end--
  digits = digits.slice(0, end)
  if (digits.length === 0) return '0'
  let out
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length)
  else out = digits.slice(0, point) + '.' + digits.slice(point)
  return m[1] === '-' ? '-' + out : out
}

// The same number printed as a service might print it: 'decimal' ('7' -> '7.0'), 'exponent' ('100' -> '1E+2').
function reprintNumber(text, form) {
  const n = normalizeNumber(text)
  if (n === null) return text
  if (form === 'decimal') return /[.eE]/.test(text) ? text : text + '.0'
  if (n === '0') return '0E+0'
  const neg = n[0] === '-'
  const [int, frac = ''] = (neg ? n.slice(1) : n).split('.')
  const exp = int !== '0' ? int.length - 1 : -(frac.length - frac.replace(/^0+/, '').length) - 1
  const digits = (int + frac).replace(/^0+/, '').replace(/0+$/, '')
  const mantissa = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits
  return (neg ? '-' : '') + mantissa + 'E' + (exp >= 0 ? '+' : '') + exp
}

// One key attribute -> 'T:value', or an ApiError. `fromKey` selects the DeleteRequest/GetItem wording,
// which in the real service differs from the PutRequest wording.
function keyPart(attr, def, fromKey) {
  if (attr === null || typeof attr !== 'object') {
    return validation(fromKey ? SCHEMA_MISMATCH : `One or more parameter values were invalid: Missing the key ${def.name} in the item`)
  }
  const value = attr[def.type]
  if (typeof value !== 'string') {
    if (fromKey) return validation(SCHEMA_MISMATCH)
    const actual = Object.keys(attr)[0]
    return validation(`One or more parameter values were invalid: Type mismatch for key ${def.name} expected: ${def.type} actual: ${actual}`)
  }
  if (value.length === 0) {
    const what = def.type === 'S' ? 'string' : 'binary'
    return validation(
      `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty ${what} value. Key: ${def.name}`,
    )
  }
  if (def.type === 'N') {
    const n = normalizeNumber(value)
    if (n === null) return validation('The parameter cannot be converted to a numeric value')
    return 'N:' + n
  }
  return def.type + ':' + value
}

const ESCAPE = /[\\|]/g
function joinKey(hash, range) {
  if (hash.indexOf('|') !== -1 || hash.indexOf('\\') !== -1) hash = hash.replace(ESCAPE, '\\$&')
  return hash + '|' + range
}

// Canonical key of a full item (PutRequest.Item): the key attributes must be present with the right type.
function keyOfItem(schema, item) {
  const hash = keyPart(item[schema.pk.name], schema.pk, false)
  if (typeof hash !== 'string' || !schema.sk) return hash
  const range = keyPart(item[schema.sk.name], schema.sk, false)
  return typeof range === 'string' ? joinKey(hash, range) : range
}

// Canonical key of a Key map (DeleteRequest.Key, GetItem.Key): exactly the key attributes, nothing else.
function keyOfKey(schema, key) {
  if (key === null || typeof key !== 'object') return validation(SCHEMA_MISMATCH)
  let n = 0
  for (const _ in key) n++
  if (n !== (schema.sk ? 2 : 1)) return validation(SCHEMA_MISMATCH)
  const hash = keyPart(key[schema.pk.name], schema.pk, true)
  if (typeof hash !== 'string' || !schema.sk) return hash
  const range = keyPart(key[schema.sk.name], schema.sk, true)
  return typeof range === 'string' ? joinKey(hash, range) : range
}

// Public form: throws instead of returning the error.
function canonicalKey(schema, key) {
  const s = normalizeSchema('(table)', schema)
  const k = keyOfKey(s, key)
  if (typeof k !== 'string') throw new Error(k.message)
  return k
}

// ---- item size ---------------------------------------------------------------------------------------

function base64Bytes(s) {
  const len = s.length
  let pad = 0
  if (len > 0 && s.charCodeAt(len - 1) === 61) pad++
  if (len > 1 && s.charCodeAt(len - 2) === 61) pad++
  return ((len * 3) >> 2) - pad
}

function valueBytes(v) {
  if (v === null || typeof v !== 'object') return 0
  if (v.S !== undefined) return Buffer.byteLength(v.S)
  if (v.N !== undefined) return Math.ceil(v.N.length / 2) + 1
  if (v.B !== undefined) return base64Bytes(v.B)
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1
  let size = 0
  if (v.M !== undefined) {
    size = 3
    for (const k in v.M) size += 1 + Buffer.byteLength(k) + valueBytes(v.M[k])
  } else if (v.L !== undefined) {
    size = 3
    for (let i = 0; i < v.L.length; i++) size += 1 + valueBytes(v.L[i])
  } else if (v.SS !== undefined) {
    for (let i = 0; i < v.SS.length; i++) size += Buffer.byteLength(v.SS[i])
  } else if (v.NS !== undefined) {
    for (let i = 0; i < v.NS.length; i++) size += Math.ceil(v.NS[i].length / 2) + 1
  } else if (v.BS !== undefined) {
    for (let i = 0; i < v.BS.length; i++) size += base64Bytes(v.BS[i])
  }
  return size
}

function itemBytes(item) {
  let size = 0
  for (const name in item) size += Buffer.byteLength(name) + valueBytes(item[name])
  return size
}

const putWcu = (bytes) => (bytes <= 1024 ? 1 : Math.ceil(bytes / 1024))
// A read of `bytes` (an item, or a Scan page's total): 4 KB units, at least one, half for eventual consistency.
const readRcu = (bytes, consistent) => Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5)

// ---- tables ------------------------------------------------------------------------------------------

function keyDef(d, what, table) {
  if (typeof d === 'string') return { name: d, type: 'S' } // shorthand: a string key named d
  if (!d || typeof d.name !== 'string' || !KEY_TYPES.has(d.type)) {
    throw new TypeError(`fault-server: table ${table}: ${what} must be { name, type: 'S' | 'N' | 'B' }`)
  }
  return { name: d.name, type: d.type }
}

function normalizeSchema(name, def) {
  if (!def || !def.partitionKey) throw new TypeError(`fault-server: table ${name} needs a partitionKey`)
  return {
    name,
    pk: keyDef(def.partitionKey, 'partitionKey', name),
    sk: def.sortKey ? keyDef(def.sortKey, 'sortKey', name) : null,
  }
}

function newTable(name, def) {
  const schema = normalizeSchema(name, def)
  return { ...schema, items: new Map(), puts: 0, deletes: 0, version: 0, scanOrder: null, createdAt: Date.now() / 1000 }
}

function tableDescription(t, status) {
  const keySchema = [{ AttributeName: t.pk.name, KeyType: 'HASH' }]
  const attrs = [{ AttributeName: t.pk.name, AttributeType: t.pk.type }]
  if (t.sk) {
    keySchema.push({ AttributeName: t.sk.name, KeyType: 'RANGE' })
    attrs.push({ AttributeName: t.sk.name, AttributeType: t.sk.type })
  }
  return {
    TableName: t.name,
    TableStatus: status,
    KeySchema: keySchema,
    AttributeDefinitions: attrs,
    CreationDateTime: t.createdAt,
    ProvisionedThroughput: { NumberOfDecreasesToday: 0, ReadCapacityUnits: 0, WriteCapacityUnits: 0 },
    BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST', LastUpdateToPayPerRequestDateTime: t.createdAt },
    TableSizeBytes: 0,
    ItemCount: t.items.size,
    TableArn: `arn:aws:dynamodb:us-east-1:000000000000:table/${t.name}`,
    TableId: crypto.createHash('md5').update(t.name).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'),
    DeletionProtectionEnabled: false,
  }
}

// ---- stats -------------------------------------------------------------------------------------------

function newStats() {
  return {
    requests: {}, // operation -> count ('' for a request without a valid x-amz-target)
    requestsTotal: 0,
    throttled: 0, // all ProvisionedThroughputExceededException answers
    capacityThrottled: 0, // ... of which caused by capacityWcuPerSecond
    errors500: 0,
    errors503: 0,
    resets: 0, // sockets destroyed before applying (resetRate)
    lostAnswers: 0, // sockets destroyed after applying (lostAnswerRate)
    hangs: 0,
    validationErrors: 0,
    entriesReceived: 0, // BatchWriteItem entries in every request received, faulted or not
    entriesApplied: 0,
    entriesUnprocessed: 0,
    failKeyHits: 0, // ... of entriesUnprocessed caused by failKeys
    putsApplied: 0, // BatchWriteItem + PutItem
    deletesApplied: 0, // BatchWriteItem + DeleteItem
    wcuTotal: 0,
    rcuTotal: 0,
    rcuBySecond: new Map(), // wall-clock second -> RCU consumed by reads
    keysRequested: 0, // BatchGetItem keys in every request received, faulted or not
    keysUnprocessed: 0,
    keyReads: new Map(), // canonical key -> times BatchGetItem answered it (found or absent), not unprocessed
    itemsReturned: 0, // BatchGetItem + Scan
    itemsScanned: 0, // Scan
    wcuBySecond: new Map(), // wall-clock second (Math.floor(Date.now() / 1000)) -> applied WCU
    history: new Map(), // canonical key -> [{ seq, table, op: 'put', item } | { seq, table, op: 'delete', key }]
    transactions: 0, // TransactWriteItems applied
    transactConflicts: 0, // transactions (write or get) cancelled with TransactionConflict
    idempotentReplays: 0, // TransactWriteItems answered from a known token, nothing applied
    transactTokens: [], // the ClientRequestToken of every TransactWriteItems received, in order
    applySeq: 0,
    inFlight: 0,
    maxConcurrent: 0, // most requests between arrival and answer at once
    // Connections (sockets) from clients: accepted in all, open now, most open at once, ended by the client
    // (a FIN from its side, as when a pool closes an idle connection); open and its maximum carry over reset().
    connectionsOpened: 0,
    openConnections: 0,
    maxOpenConnections: 0,
    connectionsEndedByClient: 0,
    strayReturned: 0, // UnprocessedItems entries that matched nothing sent (strayUnprocessedRate)
    // Bounded (opts.requestLogSize), oldest first: { op, entries, at: Date.now() once the body is in, t: the same
    // instant as performance.now() (sub-millisecond, for windows of time), wcu: the units this request applied,
    // unprocessed: the entries it returned unprocessed, outcome, answeredAt: performance.now() when the answer
    // was written (absent while unanswered, or never answered), keys: the canonical keys of its entries (only
    // with opts.logKeys) }, outcome one of ok, hang, reset, lost, throttled, capacity, error500, error503,
    // serialization, or an error code.
    requestLog: [],
  }
}

// A JSON-able copy (Maps flattened; history reduced to its size) for logs and for the child-process mode.
function snapshotStats(stats, tables) {
  const { history, wcuBySecond, rcuBySecond, keyReads, requestLog, ...rest } = stats
  const t = {}
  for (const [name, table] of tables) t[name] = { size: table.items.size, puts: table.puts, deletes: table.deletes }
  return {
    ...rest,
    requests: { ...stats.requests },
    wcuBySecond: Array.from(wcuBySecond),
    rcuBySecond: Array.from(rcuBySecond),
    keyReads: keyReads.size,
    historyKeys: history.size,
    requestLog: requestLog.slice(),
    tables: t,
  }
}

// ---- server ------------------------------------------------------------------------------------------

/**
 * @param {object} [opts]
 * @param {Record<string, {partitionKey: {name: string, type: 'S'|'N'|'B'} | string, sortKey?: {name: string, type: 'S'|'N'|'B'} | string}>} [opts.tables]
 * @param {boolean} [opts.store=true] false: benchmark sink, count only (no items, no history)
 * @param {boolean} [opts.history=opts.store] record stats.history
 * @param {number} [opts.seed=1] PRNG seed for the fault dice
 * @param {number} [opts.requestLogSize=1000] 0 disables stats.requestLog
 * @param {boolean} [opts.logKeys=false] record each BatchWriteItem's canonical keys in its requestLog entry
 * @param {number} [opts.port=0]
 * @param {number} [opts.keepAliveTimeoutMs=60000] long, so clients with pooled connections see no idle-close races
 * @param {object} [opts.faults] initial faults (see setFaults)
 */
async function startFaultServer(opts = {}) {
  const store = opts.store !== false
  const keepHistory = opts.history !== undefined ? !!opts.history && store : store
  const logSize = opts.requestLogSize !== undefined ? opts.requestLogSize : 1000
  const seed = opts.seed !== undefined ? opts.seed : 1
  const logKeys = !!opts.logKeys

  const tables = new Map()
  for (const [name, def] of Object.entries(opts.tables || {})) tables.set(name, newTable(name, def))

  let rand = prng(seed)
  let stats = newStats()
  // The current faults; failKeys is kept as a Set or a function, faultOps as a Set.
  let faults = null
  const sockets = new Set()
  const timers = new Set()
  const idPrefix = crypto.randomBytes(6).toString('hex').toUpperCase()
  let idCounter = 0
  let closed = false
  let api = null // the returned object, so setFaults can chain

  function setFaults(partial = {}) {
    const next = { ...(faults || DEFAULT_FAULTS), ...partial }
    for (const k of Object.keys(partial)) {
      if (!(k in DEFAULT_FAULTS)) throw new TypeError(`fault-server: unknown fault ${k}`)
    }
    if (next.failKeys && typeof next.failKeys !== 'function' && !(next.failKeys instanceof Set)) {
      next.failKeys = new Set(next.failKeys)
    }
    if (next.failKeys instanceof Set && next.failKeys.size === 0) next.failKeys = null
    next.faultOps = new Set(next.faultOps)
    next.sequence = Array.from(next.sequence || [])
    if (next.failOps) {
      const ops = {}
      for (const [op, f] of Object.entries(next.failOps)) ops[op] = typeof f === 'string' ? { code: f } : { ...f }
      next.failOps = ops
    }
    faults = next
    return api
  }
  setFaults(opts.faults)

  // Node's default keep-alive timeout (5 s) is shorter than typical client pools keep idle connections,
  // which makes clients occasionally reuse a socket the server is closing: spurious resets in benchmarks.
  const http_ = http.createServer({ keepAliveTimeout: opts.keepAliveTimeoutMs || 60000 }, onRequest)
  http_.on('connection', (socket) => {
    sockets.add(socket)
    stats.connectionsOpened++
    stats.openConnections++
    if (stats.openConnections > stats.maxOpenConnections) stats.maxOpenConnections = stats.openConnections
    socket.once('end', () => stats.connectionsEndedByClient++)
    socket.once('close', () => {
      sockets.delete(socket)
      stats.openConnections--
    })
  })

  function send(res, status, body, entry) {
    if (res.destroyed || res.writableEnded) return
    if (entry) entry.answeredAt = performance.now()
    res.writeHead(status, {
      'content-type': CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': idPrefix + (++idCounter).toString(36).toUpperCase().padStart(8, '0'),
      'x-amz-crc32': String(zlib.crc32(body)),
    })
    res.end(body)
  }

  function errorBody(e) {
    return JSON.stringify({ __type: e.type, message: e.message, ...e.extra })
  }

  // Answers now, or after delayMs for requests subject to faults. The delay is on the answer only: the
  // effect (if any) is already applied, like a slow network path rather than a slow table.
  function answer(res, faulty, status, body, entry) {
    const delay = faulty ? faults.delayMs : 0
    if (delay > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer)
        send(res, status, body, entry)
      }, delay)
      timers.add(timer)
    } else {
      send(res, status, body, entry)
    }
  }

  function log(op, entries, outcome, extra) {
    if (logSize <= 0) return undefined
    const l = stats.requestLog
    if (l.length >= logSize) l.shift()
    const entry = { op, entries, at: Date.now(), t: performance.now(), wcu: 0, unprocessed: 0, outcome, ...extra }
    l.push(entry)
    return entry
  }

  function onRequest(req, res) {
    stats.inFlight++
    if (stats.inFlight > stats.maxConcurrent) stats.maxConcurrent = stats.inFlight
    // 'close' follows both a normal answer and a destroyed socket, so inFlight counts arrival -> answer.
    // (`stats`, not a captured copy: reset() carries inFlight over to the new stats object.)
    res.once('close', onAnswered)
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => handle(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)))
  }

  function onAnswered() {
    stats.inFlight--
  }

  function handle(req, res, body) {
    const target = req.headers['x-amz-target']
    const op = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : ''
    stats.requests[op] = (stats.requests[op] || 0) + 1
    stats.requestsTotal++

    let input
    try {
      input = body.length > 0 ? JSON.parse(body.toString('utf8')) : {}
      if (input === null || typeof input !== 'object') throw new Error('not an object')
    } catch {
      log(op, 0, 'serialization')
      return send(res, 400, errorBody(new ApiError(400, CORAL + 'SerializationException', 'Malformed JSON request body')))
    }

    let entries = 0
    if ((op === 'TransactWriteItems' || op === 'TransactGetItems') && Array.isArray(input.TransactItems)) {
      entries = input.TransactItems.length
    }
    if (op === 'TransactWriteItems' && input.ClientRequestToken !== undefined) stats.transactTokens.push(input.ClientRequestToken)
    if (op === 'BatchWriteItem' && input.RequestItems && typeof input.RequestItems === 'object') {
      for (const name in input.RequestItems) {
        const list = input.RequestItems[name]
        if (Array.isArray(list)) entries += list.length
      }
      stats.entriesReceived += entries
    } else if (op === 'BatchGetItem' && input.RequestItems && typeof input.RequestItems === 'object') {
      for (const name in input.RequestItems) {
        const ka = input.RequestItems[name]
        if (ka && Array.isArray(ka.Keys)) entries += ka.Keys.length
      }
      stats.keysRequested += entries
    }

    const f = faults
    const faulty = f.faultOps.has(op)
    const keys = logKeys && op === 'BatchWriteItem' ? requestKeys(input) : undefined
    const extra = keys ? { keys } : undefined
    const failing = f.failOps && f.failOps[op]
    if (failing && (failing.times === undefined || failing.times > 0)) {
      if (failing.times !== undefined) failing.times--
      const message = typeof failing.message === 'function' ? failing.message(input) : failing.message
      const body =
        failing.body !== undefined
          ? typeof failing.body === 'function'
            ? failing.body(input)
            : failing.body
          : JSON.stringify({ __type: DDB + (failing.code || 'ValidationException'), message: message || 'injected failure' })
      const entry = log(op, entries, failing.code || `status${failing.status || 400}`, extra)
      return answer(res, faulty, failing.status || 400, body, entry)
    }
    const scripted = faulty && f.sequence.length > 0 ? f.sequence.shift() : null
    if (scripted === 'throttle') {
      stats.throttled++
      return answer(res, true, 400, THROTTLE_BODY, log(op, entries, 'throttled', extra))
    }
    if (scripted === 'error500') {
      stats.errors500++
      return answer(res, true, 500, INTERNAL_BODY, log(op, entries, 'error500', extra))
    }
    if (scripted === 'error503') {
      stats.errors503++
      return answer(res, true, 503, UNAVAILABLE_BODY, log(op, entries, 'error503', extra))
    }
    if (scripted === 'reset') {
      stats.resets++
      log(op, entries, 'reset', extra)
      return req.socket.destroy()
    }
    if (faulty && scripted === null) {
      // One die per enabled fault, in a fixed order, so a seed replays the same sequence.
      if (f.hangRate > 0 && rand() < f.hangRate) {
        stats.hangs++
        log(op, entries, 'hang', extra)
        return // never answered; close() destroys the socket
      }
      if (f.resetRate > 0 && rand() < f.resetRate) {
        stats.resets++
        log(op, entries, 'reset', extra)
        return req.socket.destroy()
      }
      if (f.throttleRate > 0 && rand() < f.throttleRate) {
        stats.throttled++
        return answer(res, true, 400, THROTTLE_BODY, log(op, entries, 'throttled', extra))
      }
      if (f.errorRate > 0 && rand() < f.errorRate) {
        stats.errors500++
        return answer(res, true, 500, INTERNAL_BODY, log(op, entries, 'error500', extra))
      }
      if (f.unavailableRate > 0 && rand() < f.unavailableRate) {
        stats.errors503++
        return answer(res, true, 503, UNAVAILABLE_BODY, log(op, entries, 'error503', extra))
      }
    }
    // Server-side throughput limits: the request that crosses the limit is applied in full (as a real
    // partition's burst would), every later write (read) request in the same wall-clock second is throttled.
    const [cap, used] = WRITE_OPS.has(op)
      ? [f.capacityWcuPerSecond, stats.wcuBySecond]
      : READ_OPS.has(op)
        ? [f.capacityRcuPerSecond, stats.rcuBySecond]
        : [0, null]
    if (cap > 0 && (used.get(Math.floor(Date.now() / 1000)) || 0) >= cap) {
      stats.throttled++
      stats.capacityThrottled++
      return answer(res, faulty, 400, THROTTLE_BODY, log(op, entries, 'capacity', extra))
    }

    const wcuBefore = stats.wcuTotal
    let result
    switch (op) {
      case 'BatchWriteItem':
        result = batchWriteItem(input)
        break
      case 'PutItem':
        result = putItem(input)
        break
      case 'DeleteItem':
        result = deleteItem(input)
        break
      case 'GetItem':
        result = getItem(input)
        break
      case 'BatchGetItem':
        result = batchGetItem(input)
        break
      case 'Scan':
        result = scan(input)
        break
      case 'DescribeTable':
        result = describeTable(input)
        break
      case 'CreateTable':
        result = createTable(input)
        break
      case 'DeleteTable':
        result = deleteTable(input)
        break
      case 'ListTables':
        result = { TableNames: Array.from(tables.keys()).sort() }
        break
      case 'TransactWriteItems':
        result = transactWriteItems(input)
        break
      case 'TransactGetItems':
        result = transactGetItems(input)
        break
      default:
        result = new ApiError(400, CORAL + 'UnknownOperationException', `Unknown operation ${op || '(no x-amz-target)'}`)
    }
    // A held transaction answers later: its WCU are the last recorded, by the commit that resolved it.
    if (result instanceof Promise) return result.then((r) => finish(req, res, op, entries, faulty, r, { extra, scripted, wcu: lastWcu }))
    finish(req, res, op, entries, faulty, result, { extra, scripted, wcu: stats.wcuTotal - wcuBefore })
  }

  // `ctx`: { extra (log fields), scripted (the sequence's outcome, or null), wcu (what this request applied) }.
  function finish(req, res, op, entries, faulty, result, { extra, scripted, wcu }) {
    const f = faults
    if (result instanceof ApiError) {
      if (result.type === DDB + 'ValidationException') stats.validationErrors++
      const entry = log(op, entries, result.type.slice(result.type.indexOf('#') + 1), extra) // e.g. 'ValidationException'
      return answer(res, faulty, result.status, errorBody(result), entry)
    }
    let unprocessed = 0
    if (result.UnprocessedItems) for (const name in result.UnprocessedItems) unprocessed += result.UnprocessedItems[name].length
    if (scripted === 'lost' || (faulty && scripted === null && f.lostAnswerRate > 0 && rand() < f.lostAnswerRate)) {
      stats.lostAnswers++
      log(op, entries, 'lost', { wcu, unprocessed, ...extra })
      return req.socket.destroy()
    }
    const entry = log(op, entries, 'ok', { wcu, unprocessed, ...(result[RCU] !== undefined ? { rcu: result[RCU] } : {}), ...extra })
    answer(res, faulty, 200, JSON.stringify(result), entry)
  }

  function lookup(name) {
    if (typeof name !== 'string') return null
    return tables.get(name) || null
  }

  // The canonical keys of a BatchWriteItem's entries (logKeys), null for an entry without a valid key.
  function requestKeys(input) {
    const out = []
    const ri = input.RequestItems
    if (ri === null || typeof ri !== 'object') return out
    for (const name in ri) {
      const t = lookup(name)
      if (!t || !Array.isArray(ri[name])) continue
      for (const wr of ri[name]) {
        const k = wr && wr.PutRequest ? keyOfItem(t, wr.PutRequest.Item || {}) : wr && wr.DeleteRequest ? keyOfKey(t, wr.DeleteRequest.Key) : null
        out.push(typeof k === 'string' ? k : null)
      }
    }
    return out
  }

  // An unprocessed entry as returned: its N key attributes reprinted when unprocessedKeyForm asks for it.
  function returnedEntry(t, wr, form) {
    if (!form) return wr
    const reprint = (map) => {
      const out = { ...map }
      for (const def of [t.pk, t.sk]) {
        if (def && def.type === 'N' && out[def.name] && typeof out[def.name].N === 'string') {
          out[def.name] = { N: reprintNumber(out[def.name].N, form) }
        }
      }
      return out
    }
    if (wr.PutRequest) return { PutRequest: { Item: reprint(wr.PutRequest.Item) } }
    return { DeleteRequest: { Key: reprint(wr.DeleteRequest.Key) } }
  }

  // An UnprocessedItems entry that matches nothing the request carried (strayUnprocessedForm).
  function strayEntry(t, first, form) {
    if (form === 'kind') {
      if (first.PutRequest) {
        const key = { [t.pk.name]: first.PutRequest.Item[t.pk.name] }
        if (t.sk) key[t.sk.name] = first.PutRequest.Item[t.sk.name]
        return { table: t.name, entry: { DeleteRequest: { Key: key } } }
      }
      return { table: t.name, entry: { PutRequest: { Item: { ...first.DeleteRequest.Key } } } }
    }
    const value = (def) =>
      def.type === 'S' ? { S: `stray#${stats.strayReturned}` } : def.type === 'N' ? { N: String(-1e9 - stats.strayReturned) } : { B: Buffer.from(`stray#${stats.strayReturned}`).toString('base64') }
    const item = { [t.pk.name]: value(t.pk) }
    if (t.sk) item[t.sk.name] = value(t.sk)
    return { table: form === 'table' ? `${t.name}-other` : t.name, entry: { PutRequest: { Item: item } } }
  }

  let lastWcu = 0
  function recordWcu(wcu) {
    lastWcu = wcu
    const sec = Math.floor(Date.now() / 1000)
    stats.wcuBySecond.set(sec, (stats.wcuBySecond.get(sec) || 0) + wcu)
    stats.wcuTotal += wcu
  }

  function applyPut(t, key, item) {
    const s = stats
    t.puts++
    t.version++
    s.putsApplied++
    if (!store) return undefined
    const old = t.items.get(key)
    t.items.set(key, item)
    if (keepHistory) pushHistory(key, { seq: ++s.applySeq, table: t.name, op: 'put', item })
    return old
  }

  function applyDelete(t, key, keyObj) {
    const s = stats
    t.deletes++
    t.version++
    s.deletesApplied++
    if (!store) return undefined
    const old = t.items.get(key)
    t.items.delete(key)
    if (keepHistory) pushHistory(key, { seq: ++s.applySeq, table: t.name, op: 'delete', key: keyObj })
    return old
  }

  function pushHistory(key, entry) {
    const list = stats.history.get(key)
    if (list) list.push(entry)
    else stats.history.set(key, [entry])
  }

  function wantsCapacity(input) {
    return input.ReturnConsumedCapacity === 'TOTAL' || input.ReturnConsumedCapacity === 'INDEXES'
  }

  function capacity(input, name, units) {
    const c = { TableName: name, CapacityUnits: units }
    if (input.ReturnConsumedCapacity === 'INDEXES') c.Table = { CapacityUnits: units }
    return c
  }

  function batchWriteItem(input) {
    const ri = input.RequestItems
    const names = requestItemNames(ri)
    if (names instanceof ApiError) return names
    const schemas = new Array(names.length)
    let total = 0
    for (let n = 0; n < names.length; n++) {
      const t = lookup(names[n])
      if (!t) return notFound()
      const list = ri[names[n]]
      if (!Array.isArray(list) || list.length === 0) {
        return validation(
          `1 validation error detected: Value at 'requestItems.${names[n]}.member' failed to satisfy constraint: Member must have length greater than or equal to 1`,
        )
      }
      schemas[n] = t
      total += list.length
    }
    if (total > MAX_BATCH) return validation('Too many items requested for the BatchWriteItem call')

    // Pass 1: validate everything (the service rejects the whole request on any error, nothing applied).
    const keys = new Array(total)
    const wcus = new Array(total)
    let i = 0
    for (let n = 0; n < names.length; n++) {
      const t = schemas[n]
      const list = ri[names[n]]
      const first = i
      for (let e = 0; e < list.length; e++, i++) {
        const wr = list[e]
        const put = wr && wr.PutRequest
        const del = wr && wr.DeleteRequest
        let key
        if (put && !del) {
          const item = put.Item
          if (item === null || typeof item !== 'object') {
            return validation('1 validation error detected: PutRequest.Item must not be null')
          }
          key = keyOfItem(t, item)
          if (typeof key !== 'string') return key
          const bytes = itemBytes(item)
          if (bytes > MAX_ITEM_BYTES) return validation('Item size has exceeded the maximum allowed size')
          wcus[i] = putWcu(bytes)
        } else if (del && !put) {
          key = keyOfKey(t, del.Key)
          if (typeof key !== 'string') return key
          wcus[i] = 1
        } else {
          return validation('A WriteRequest must contain exactly one of PutRequest and DeleteRequest')
        }
        // At most 25 entries: a linear scan beats building a Set.
        for (let j = first; j < i; j++) {
          if (keys[j] === key) return validation('Provided list of item keys contains duplicates')
        }
        keys[i] = key
      }
    }

    // Pass 2: apply, except entries the fault dice or failKeys leave unprocessed.
    const f = faults
    const failKeys = f.failKeys
    const rate = f.faultOps.has('BatchWriteItem') ? f.unprocessedRate : 0
    const withCapacity = wantsCapacity(input)
    const consumed = withCapacity ? [] : null
    let unprocessed = null
    let wcu = 0
    i = 0
    for (let n = 0; n < names.length; n++) {
      const t = schemas[n]
      const name = names[n]
      const list = ri[name]
      let tableWcu = 0
      for (let e = 0; e < list.length; e++, i++) {
        const wr = list[e]
        let skip = rate > 0 && rand() < rate
        if (!skip && failKeys !== null) {
          skip = typeof failKeys === 'function' ? !!failKeys(name, wr, keys[i]) : failKeys.has(keys[i])
          if (skip) stats.failKeyHits++
        }
        if (skip) {
          if (unprocessed === null) unprocessed = {}
          const back = returnedEntry(t, wr, f.unprocessedKeyForm)
          const u = unprocessed[name]
          if (u) u.push(back)
          else unprocessed[name] = [back]
          stats.entriesUnprocessed++
          continue
        }
        if (wr.PutRequest) applyPut(t, keys[i], wr.PutRequest.Item)
        else applyDelete(t, keys[i], wr.DeleteRequest.Key)
        stats.entriesApplied++
        tableWcu += wcus[i]
      }
      wcu += tableWcu
      if (withCapacity) consumed.push(capacity(input, name, tableWcu))
    }
    if (wcu > 0) recordWcu(wcu)

    if (f.strayUnprocessedRate > 0 && rand() < f.strayUnprocessedRate) {
      const { table, entry } = strayEntry(schemas[0], ri[names[0]][0], f.strayUnprocessedForm)
      stats.strayReturned++
      if (unprocessed === null) unprocessed = {}
      if (unprocessed[table]) unprocessed[table].push(entry)
      else unprocessed[table] = [entry]
    }
    const out = { UnprocessedItems: unprocessed || {} }
    if (withCapacity) out.ConsumedCapacity = consumed
    return out
  }

  // PutItem/DeleteItem: conditions and update expressions are not implemented; refusing them loudly beats
  // silently applying a write the real service would have rejected.
  function unsupported(input) {
    if (input.ConditionExpression || input.Expected || input.ConditionalOperator) {
      return validation('fault-server: conditional writes are not supported (use dynalite)')
    }
    return null
  }

  function putItem(input) {
    const t = lookup(input.TableName)
    if (!t) return notFound()
    const bad = unsupported(input)
    if (bad) return bad
    const item = input.Item
    if (item === null || typeof item !== 'object') return validation('1 validation error detected: Item must not be null')
    const key = keyOfItem(t, item)
    if (typeof key !== 'string') return key
    const bytes = itemBytes(item)
    if (bytes > MAX_ITEM_BYTES) return validation('Item size has exceeded the maximum allowed size')
    const old = applyPut(t, key, item)
    const wcu = putWcu(bytes)
    recordWcu(wcu)
    const out = {}
    if (input.ReturnValues === 'ALL_OLD' && old) out.Attributes = old
    if (wantsCapacity(input)) out.ConsumedCapacity = capacity(input, t.name, wcu)
    return out
  }

  function deleteItem(input) {
    const t = lookup(input.TableName)
    if (!t) return notFound()
    const bad = unsupported(input)
    if (bad) return bad
    const key = keyOfKey(t, input.Key)
    if (typeof key !== 'string') return key
    const old = applyDelete(t, key, input.Key)
    recordWcu(1)
    const out = {}
    if (input.ReturnValues === 'ALL_OLD' && old) out.Attributes = old
    if (wantsCapacity(input)) out.ConsumedCapacity = capacity(input, t.name, 1)
    return out
  }

  // Key lookup only: ProjectionExpression and ConsistentRead are ignored.
  function getItem(input) {
    const t = lookup(input.TableName)
    if (!t) return notFound()
    const key = keyOfKey(t, input.Key)
    if (typeof key !== 'string') return key
    const item = t.items.get(key)
    return item ? { Item: item } : {}
  }

  // ---- transactions ----

  const held = new Map() // 'table\0canonical key' -> token of the held transaction holding it
  const tokens = new Map() // ClientRequestToken -> { params, pending, replay }
  const heldKey = (t, key) => t.name + '\0' + key

  function transactItems(input) {
    const list = input.TransactItems
    if (!Array.isArray(list) || list.length === 0) {
      return validation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
    }
    if (list.length > MAX_TRANSACT) {
      return validation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100")
    }
    return list
  }

  // TransactionCanceledException with one reason per entry: TransactionConflict where `conflicts[i]`.
  function conflicted(conflicts) {
    stats.transactConflicts++
    const reasons = conflicts.map((c) => (c ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' } : { Code: 'None' }))
    const codes = reasons.map((r) => r.Code).join(', ')
    return new ApiError(
      400,
      DDB + 'TransactionCanceledException',
      `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`,
      { CancellationReasons: reasons },
    )
  }

  function perTable(input, counts, field) {
    if (!wantsCapacity(input)) return undefined
    return Array.from(counts, ([name, units]) => ({ TableName: name, CapacityUnits: units, [field]: units }))
  }

  function transactWriteItems(input) {
    const list = transactItems(input)
    if (list instanceof ApiError) return list
    const token = input.ClientRequestToken
    const params = JSON.stringify(list)
    const known = typeof token === 'string' ? tokens.get(token) : undefined
    if (known) {
      if (known.params !== params) {
        return new ApiError(400, DDB + 'IdempotentParameterMismatchException', 'fault-server: this token was used with other items')
      }
      if (known.pending) return new ApiError(400, DDB + 'TransactionInProgressException', 'fault-server: the transaction of this token is in progress')
      stats.idempotentReplays++
      return known.replay
    }
    const actions = []
    let bytes = 0
    for (let i = 0; i < list.length; i++) {
      const entry = list[i] || {}
      const kinds = Object.keys(entry)
      const kind = kinds[0]
      if (kinds.length !== 1 || (kind !== 'Put' && kind !== 'Delete')) {
        return validation(`fault-server: TransactItems[${i}]: only Put and Delete are supported (use DynamoDB Local)`)
      }
      const body = entry[kind] || {}
      const bad = unsupported(body)
      if (bad) return bad
      const t = lookup(body.TableName)
      if (!t) return notFound()
      let key
      let wcu = 2
      if (kind === 'Put') {
        if (body.Item === null || typeof body.Item !== 'object') return validation('1 validation error detected: Put.Item must not be null')
        key = keyOfItem(t, body.Item)
        const size = itemBytes(body.Item)
        if (size > MAX_ITEM_BYTES) return validation('Item size has exceeded the maximum allowed size')
        bytes += size
        wcu = 2 * putWcu(size)
      } else {
        key = keyOfKey(t, body.Key)
        bytes += itemBytes(body.Key || {})
      }
      if (typeof key !== 'string') return key
      if (actions.some((a) => a.t === t && a.key === key)) return validation('Transaction request cannot include multiple operations on one item')
      actions.push({ kind, t, key, body, wcu })
    }
    if (bytes > MAX_TRANSACT_BYTES) return validation(`Transaction payload size cannot exceed 4MB. Payload Size: ${bytes}`)
    const conflicts = actions.map((a) => held.has(heldKey(a.t, a.key)))
    if (conflicts.some(Boolean)) return conflicted(conflicts)

    const entry = typeof token === 'string' ? { params, pending: true, replay: null } : null
    if (entry) tokens.set(token, entry)
    const commit = () => {
      const wcus = new Map()
      const reads = new Map()
      for (const a of actions) {
        if (a.kind === 'Put') applyPut(a.t, a.key, a.body.Item)
        else applyDelete(a.t, a.key, a.body.Key)
        wcus.set(a.t.name, (wcus.get(a.t.name) || 0) + a.wcu)
        reads.set(a.t.name, (reads.get(a.t.name) || 0) + 2)
      }
      stats.transactions++
      let total = 0
      for (const w of wcus.values()) total += w
      recordWcu(total)
      if (entry) {
        entry.pending = false
        const replay = {}
        const rc = perTable(input, reads, 'ReadCapacityUnits')
        if (rc) replay.ConsumedCapacity = rc
        entry.replay = replay
      }
      const out = {}
      const consumed = perTable(input, wcus, 'WriteCapacityUnits')
      if (consumed) out.ConsumedCapacity = consumed
      return out
    }
    const hold = faults.transactHoldMs
    if (!(hold > 0)) return commit()
    for (const a of actions) held.set(heldKey(a.t, a.key), token)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        for (const a of actions) held.delete(heldKey(a.t, a.key))
        resolve(commit())
      }, hold)
      timers.add(timer)
    })
  }

  // Key lookups only: ProjectionExpression is ignored.
  function transactGetItems(input) {
    const list = transactItems(input)
    if (list instanceof ApiError) return list
    const gets = []
    for (let i = 0; i < list.length; i++) {
      const g = list[i] && list[i].Get
      if (!g) return validation(`fault-server: TransactItems[${i}]: only Get is supported`)
      const t = lookup(g.TableName)
      if (!t) return notFound()
      const key = keyOfKey(t, g.Key)
      if (typeof key !== 'string') return key
      if (gets.some((x) => x.t === t && x.key === key)) return validation('Transaction request cannot include multiple operations on one item')
      gets.push({ t, key })
    }
    const conflicts = gets.map((g) => held.has(heldKey(g.t, g.key)))
    if (conflicts.some(Boolean)) return conflicted(conflicts)
    const reads = new Map()
    for (const g of gets) reads.set(g.t.name, (reads.get(g.t.name) || 0) + 2)
    const out = { Responses: gets.map((g) => (g.t.items.has(g.key) ? { Item: g.t.items.get(g.key) } : {})) }
    const consumed = perTable(input, reads, 'ReadCapacityUnits')
    if (consumed) out.ConsumedCapacity = consumed
    return out
  }

  function recordRcu(rcu) {
    const sec = Math.floor(Date.now() / 1000)
    stats.rcuBySecond.set(sec, (stats.rcuBySecond.get(sec) || 0) + rcu)
    stats.rcuTotal += rcu
  }

  // The consumed capacity of a read answer: recorded, reported when asked for, and kept on the answer (not
  // serialized) for the request log.
  function readCapacity(input, out, name, rcu) {
    recordRcu(rcu)
    if (wantsCapacity(input)) out.ConsumedCapacity = Array.isArray(out.ConsumedCapacity) ? [...out.ConsumedCapacity, capacity(input, name, rcu)] : capacity(input, name, rcu)
    Object.defineProperty(out, RCU, { value: (out[RCU] || 0) + rcu, configurable: true })
  }

  function batchGetItem(input) {
    const ri = input.RequestItems
    const names = requestItemNames(ri)
    if (names instanceof ApiError) return names
    // Pass 1: validate everything (the service rejects the whole request on any error).
    const plans = []
    let total = 0
    for (const name of names) {
      const t = lookup(name)
      if (!t) return notFound()
      const ka = ri[name]
      if (!ka || !Array.isArray(ka.Keys) || ka.Keys.length === 0) {
        return validation(
          `1 validation error detected: Value at 'requestItems.${name}.member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1`,
        )
      }
      total += ka.Keys.length
      if (total > MAX_GET_KEYS) return validation('Too many items requested for the BatchGetItem call')
      const attrs = projectionOf(ka.ProjectionExpression, ka.ExpressionAttributeNames)
      if (attrs instanceof ApiError) return attrs
      const keys = []
      const seen = new Set()
      for (const k of ka.Keys) {
        const key = keyOfKey(t, k)
        if (typeof key !== 'string') return key
        if (seen.has(key)) return validation('Provided list of item keys contains duplicates')
        seen.add(key)
        keys.push(key)
      }
      plans.push({ name, t, ka, attrs, keys })
    }
    // Pass 2: answer, except keys the dice or failKeys leave unprocessed, or past the response limit.
    const f = faults
    const rate = f.faultOps.has('BatchGetItem') ? f.unprocessedRate : 0
    const limit = f.maxResponseBytes > 0 ? f.maxResponseBytes : MAX_GET_RESPONSE_BYTES
    const out = { Responses: {}, UnprocessedKeys: {} }
    if (wantsCapacity(input)) out.ConsumedCapacity = []
    let bytes = 0
    for (const { name, t, ka, attrs, keys } of plans) {
      const found = []
      const unprocessed = []
      let rcu = 0
      for (let i = 0; i < keys.length; i++) {
        let skip = rate > 0 && rand() < rate
        if (!skip && f.failKeys !== null) {
          skip = typeof f.failKeys === 'function' ? !!f.failKeys(name, ka.Keys[i], keys[i]) : f.failKeys.has(keys[i])
          if (skip) stats.failKeyHits++
        }
        const item = skip ? undefined : t.items.get(keys[i])
        const size = item ? itemBytes(item) : 0
        if (skip || (bytes > 0 && bytes + size > limit)) {
          unprocessed.push(ka.Keys[i])
          stats.keysUnprocessed++
          continue
        }
        bytes += size
        rcu += readRcu(size, ka.ConsistentRead === true)
        stats.keyReads.set(keys[i], (stats.keyReads.get(keys[i]) || 0) + 1)
        if (item) found.push(project(item, attrs))
      }
      out.Responses[name] = found
      stats.itemsReturned += found.length
      if (unprocessed.length > 0) {
        const u = { Keys: unprocessed }
        for (const k of ['ProjectionExpression', 'ExpressionAttributeNames', 'ConsistentRead']) if (ka[k] !== undefined) u[k] = ka[k]
        out.UnprocessedKeys[name] = u
      }
      readCapacity(input, out, name, rcu)
    }
    return out
  }

  // The table's keys in scan order (sorted, so pages resume after ExclusiveStartKey even if it was deleted)
  // and each key's hash for segments; rebuilt after writes.
  function scanOrder(t) {
    if (t.scanOrder && t.scanOrder.version === t.version) return t.scanOrder
    const keys = Array.from(t.items.keys()).sort()
    const hashes = new Uint32Array(keys.length)
    for (let i = 0; i < keys.length; i++) {
      let h = 0x811c9dc5
      const k = keys[i]
      for (let j = 0; j < k.length; j++) h = Math.imul(h ^ k.charCodeAt(j), 0x01000193) >>> 0
      hashes[i] = h
    }
    t.scanOrder = { version: t.version, keys, hashes }
    return t.scanOrder
  }

  function scan(input) {
    const t = lookup(input.TableName)
    if (!t) return notFound()
    if (input.FilterExpression || input.ScanFilter || input.ConditionalOperator) {
      return validation('fault-server: scan filters are not supported (use dynalite)')
    }
    const isInt = (v) => Number.isInteger(v)
    let seg = 0
    let total = 1
    if (input.TotalSegments !== undefined || input.Segment !== undefined) {
      total = input.TotalSegments
      seg = input.Segment
      if (!isInt(total) || total < 1 || total > 1000000) return validation('TotalSegments must be an integer from 1 to 1000000')
      if (!isInt(seg) || seg < 0 || seg >= total) return validation('The Segment parameter is required and must be less than TotalSegments')
    }
    if (input.Limit !== undefined && (!isInt(input.Limit) || input.Limit < 1)) {
      return validation("1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
    }
    const attrs = projectionOf(input.ProjectionExpression, input.ExpressionAttributeNames)
    if (attrs instanceof ApiError) return attrs
    const { keys, hashes } = scanOrder(t)
    let lo = 0
    if (input.ExclusiveStartKey !== undefined) {
      const k = keyOfKey(t, input.ExclusiveStartKey)
      if (typeof k !== 'string') return validation('The provided starting key is invalid: ' + k.message)
      let hi = keys.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (keys[mid] <= k) lo = mid + 1
        else hi = mid
      }
    }
    const limit = input.Limit || Infinity
    const maxBytes = faults.maxResponseBytes > 0 ? faults.maxResponseBytes : MAX_SCAN_PAGE_BYTES
    const items = []
    let scanned = 0
    let bytes = 0
    let last = null
    for (let i = lo; i < keys.length; i++) {
      if (total > 1 && hashes[i] % total !== seg) continue
      const item = t.items.get(keys[i])
      scanned++
      bytes += itemBytes(item)
      items.push(project(item, attrs))
      if (scanned >= limit || bytes >= maxBytes) {
        last = item
        break
      }
    }
    stats.itemsScanned += scanned
    stats.itemsReturned += items.length
    const out = { Items: items, Count: items.length, ScannedCount: scanned }
    if (last) {
      out.LastEvaluatedKey = { [t.pk.name]: last[t.pk.name] }
      if (t.sk) out.LastEvaluatedKey[t.sk.name] = last[t.sk.name]
    }
    readCapacity(input, out, t.name, readRcu(bytes, input.ConsistentRead === true))
    return out
  }

  function describeTable(input) {
    const t = lookup(input.TableName)
    if (!t) return notFound()
    return { Table: tableDescription(t, 'ACTIVE') }
  }

  function createTable(input) {
    const name = input.TableName
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(name)) return validation('Invalid table name')
    if (tables.has(name)) return new ApiError(400, DDB + 'ResourceInUseException', `Table already exists: ${name}`)
    const ks = Array.isArray(input.KeySchema) ? input.KeySchema : []
    const defs = Array.isArray(input.AttributeDefinitions) ? input.AttributeDefinitions : []
    const typeOf = (attr) => {
      const d = defs.find((x) => x && x.AttributeName === attr)
      return d && d.AttributeType
    }
    const hash = ks.find((k) => k && k.KeyType === 'HASH')
    const range = ks.find((k) => k && k.KeyType === 'RANGE')
    if (!hash || !KEY_TYPES.has(typeOf(hash.AttributeName)) || (range && !KEY_TYPES.has(typeOf(range.AttributeName)))) {
      return validation('One or more parameter values were invalid: invalid KeySchema or AttributeDefinitions')
    }
    const t = newTable(name, {
      partitionKey: { name: hash.AttributeName, type: typeOf(hash.AttributeName) },
      sortKey: range ? { name: range.AttributeName, type: typeOf(range.AttributeName) } : undefined,
    })
    tables.set(name, t)
    // Tables are usable at once, so the description says ACTIVE and callers need not poll.
    return { TableDescription: tableDescription(t, 'ACTIVE') }
  }

  function deleteTable(input) {
    const t = lookup(input.TableName)
    if (!t) return notFound()
    tables.delete(t.name)
    return { TableDescription: tableDescription(t, 'DELETING') }
  }

  function tableView(name) {
    const t = tables.get(name)
    if (!t) throw new Error(`fault-server: no table ${name}`)
    return {
      name,
      items: t.items,
      get size() {
        return t.items.size
      },
      get puts() {
        return t.puts
      },
      get deletes() {
        return t.deletes
      },
      keyOf: (key) => keyOf(name, key),
      get: (key) => t.items.get(keyOf(name, key)),
      history: (key) => (stats.history.get(keyOf(name, key)) || []).filter((h) => h.table === name),
    }
  }

  // Canonical key of a Key in DynamoDB JSON for the given table (throws on a key that does not fit).
  function keyOf(name, key) {
    const t = tables.get(name)
    if (!t) throw new Error(`fault-server: no table ${name}`)
    const k = keyOfKey(t, key)
    if (typeof k !== 'string') throw new Error(`fault-server: ${k.message}`)
    return k
  }

  // Forgets items, history and stats and re-seeds the dice; keeps tables and faults.
  function reset() {
    tokens.clear()
    held.clear()
    for (const t of tables.values()) {
      t.items.clear()
      t.puts = 0
      t.version++
      t.deletes = 0
    }
    resetStats()
  }

  // Puts items (DynamoDB JSON) straight into a table, as if written before the test: no request, no stats.
  function load(name, items) {
    const t = tables.get(name)
    if (!t) throw new Error(`fault-server: no table ${name}`)
    for (const item of items) {
      const key = keyOfItem(t, item)
      if (typeof key !== 'string') throw new Error(`fault-server: ${key.message}`)
      t.items.set(key, item)
    }
    t.version++
  }

  // Forgets stats and history and re-seeds the dice; keeps tables, their items and faults (a table loaded
  // once, then read under several fault settings).
  function resetStats() {
    const { inFlight, openConnections } = stats
    stats = newStats()
    stats.inFlight = inFlight
    stats.openConnections = openConnections
    stats.maxOpenConnections = openConnections
    rand = prng(seed)
  }

  let closing = null
  function close() {
    if (!closing) {
      closed = true
      closing = new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        // Node emits 'close' before libuv has released the listening handle (that happens after the check
        // phase), so resolve two setImmediate turns later: a handle check right after close() sees nothing.
        http_.close(() => setImmediate(setImmediate, resolve))
        http_.closeAllConnections()
        for (const socket of sockets) socket.destroy()
      })
    }
    return closing
  }

  await new Promise((resolve, reject) => {
    http_.once('error', reject)
    http_.listen(opts.port || 0, '127.0.0.1', () => {
      http_.off('error', reject)
      resolve()
    })
  })
  const port = http_.address().port

  api = {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    httpServer: http_,
    get stats() {
      return stats
    },
    get faults() {
      return faults
    },
    get closed() {
      return closed
    },
    setFaults,
    table: tableView,
    keyOf,
    reset,
    resetStats,
    load,
    snapshot: () => snapshotStats(stats, tables),
    close,
  }
  return api
}

// The table names of a batch request's RequestItems, or the service's ValidationException.
function requestItemNames(ri) {
  if (ri === null || typeof ri !== 'object' || Array.isArray(ri)) {
    return validation("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null")
  }
  const names = Object.keys(ri)
  if (names.length === 0) {
    return validation(
      "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
    )
  }
  return names
}

// A read answer's consumed RCU, kept off the serialized body for the request log.
const RCU = Symbol('rcu')

// A ProjectionExpression's top-level attribute names (paths reduced to their first name), null without one,
// or the service's ValidationException for an undefined or unused #placeholder.
function projectionOf(expr, names) {
  if (expr === undefined) {
    if (names && Object.keys(names).length > 0) {
      return validation(`Value provided in ExpressionAttributeNames unused in expressions: keys: {${Object.keys(names).join(', ')}}`)
    }
    return null
  }
  if (typeof expr !== 'string' || expr.trim() === '') return validation('Invalid ProjectionExpression: The expression can not be empty;')
  const used = new Set()
  const out = []
  for (const part of expr.split(',')) {
    let top = part.trim().split(/[.[]/)[0]
    if (top.startsWith('#')) {
      if (!names || typeof names[top] !== 'string') {
        return validation(`Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: ${top}`)
      }
      used.add(top)
      top = names[top]
    }
    out.push(top)
  }
  const unused = Object.keys(names || {}).filter((n) => !used.has(n))
  if (unused.length > 0) return validation(`Value provided in ExpressionAttributeNames unused in expressions: keys: {${unused.join(', ')}}`)
  return out
}

function project(item, attrs) {
  if (attrs === null) return item
  const out = {}
  for (const a of attrs) {
    if (!Object.prototype.hasOwnProperty.call(item, a)) continue
    if (a === '__proto__') Object.defineProperty(out, a, { value: item[a], enumerable: true, writable: true, configurable: true })
    else out[a] = item[a]
  }
  return out
}

const THROTTLE_BODY = JSON.stringify({
  __type: DDB + 'ProvisionedThroughputExceededException',
  message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
})
const INTERNAL_BODY = JSON.stringify({ __type: DDB + 'InternalServerError', message: 'Internal server error' })
const UNAVAILABLE_BODY = JSON.stringify({ __type: DDB + 'ServiceUnavailable', message: 'Service unavailable' })

// ---- child-process mode ------------------------------------------------------------------------------

/**
 * Runs startFaultServer(opts) in a child process (so its CPU use does not compete with the measured code
 * on the JS thread). Same options, except failKeys must be an array (functions do not cross processes).
 * Resolves to { endpoint, port, pid, setFaults(partial), snapshot(), reset(), resetStats(), load(table, items),
 * close() }, all async.
 */
function spawnFaultServer(opts = {}) {
  const { fork } = require('node:child_process')
  const child = fork(__filename, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const pending = new Map()
  let nextId = 0
  let exited = false
  const exitedP = new Promise((resolve) => child.once('exit', resolve))
  child.once('exit', () => {
    exited = true
    for (const p of pending.values()) p.reject(new Error('fault-server child exited'))
    pending.clear()
  })
  child.on('message', (m) => {
    const p = pending.get(m.id)
    if (!p) return
    pending.delete(m.id)
    if (m.ok) p.resolve(m.value)
    else p.reject(new Error(m.error))
  })
  const call = (cmd, arg) =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error('fault-server child exited'))
      const id = ++nextId
      pending.set(id, { resolve, reject })
      child.send({ id, cmd, arg })
    })
  const toWire = (f) => (f && f.failKeys instanceof Set ? { ...f, failKeys: Array.from(f.failKeys) } : f)

  let closing = null
  return call('start', { ...opts, faults: toWire(opts.faults) }).then(({ port }) => ({
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    setFaults: (partial) => call('setFaults', toWire(partial)),
    snapshot: () => call('snapshot'),
    reset: () => call('reset'),
    resetStats: () => call('resetStats'),
    load: (table, items) => call('load', { table, items }),
    close() {
      if (!closing) {
        closing = (exited ? Promise.resolve() : call('close').catch(() => {})).then(() => {
          if (child.connected) child.disconnect() // the child exits when its IPC channel closes
          return exitedP
        })
      }
      return closing
    },
  }))
}

if (require.main === module && typeof process.send === 'function') {
  let server = null
  process.on('message', async ({ id, cmd, arg }) => {
    try {
      let value
      if (cmd === 'start') value = { port: (server = await startFaultServer(arg)).port }
      else if (cmd === 'setFaults') server.setFaults(arg)
      else if (cmd === 'snapshot') value = server.snapshot()
      else if (cmd === 'reset') server.reset()
      else if (cmd === 'resetStats') server.resetStats()
      else if (cmd === 'load') server.load(arg.table, arg.items)
      else if (cmd === 'close') await server.close()
      else throw new Error(`unknown command ${cmd}`)
      process.send({ id, ok: true, value })
    } catch (e) {
      process.send({ id, ok: false, error: String((e && e.message) || e) })
    }
  })
  // The parent went away (or closed us): stop serving so the process can exit.
  process.on('disconnect', () => {
    if (server) server.close()
  })
}

module.exports = { startFaultServer, spawnFaultServer, canonicalKey, normalizeNumber, reprintNumber, itemBytes, DEFAULT_FAULTS }
