'use strict'
// Request records and log lines on the JS thread. The engine queues each record without waiting for this
// thread; a hook or logger that throws is reported and never stops the writer. Log lines carry codes,
// never item contents or service messages (which may echo them).

function reportHookError(logger, what, err) {
  const text = `dynabatch: the ${what} callback threw: ${err && err.message !== undefined ? err.message : err}`
  if (logger) {
    try {
      logger.error(text)
      return
    } catch {
      // fall through to a process warning
    }
  }
  process.emitWarning(text, { type: 'DynabatchHookWarning', detail: err && err.stack })
}

function logRecord(logger, slowMs, r) {
  const line =
    `dynabatch ${r.operation} ${r.table} items=${r.items} unprocessed=${r.unprocessed} ` +
    `wcu=${r.consumedWcu}` +
    (r.consumedRcu > 0 || r.returned > 0 ? ` rcu=${r.consumedRcu} returned=${r.returned}` : '') +
    (r.scanned > 0 ? ` scanned=${r.scanned}` : '') +
    ` attempt=${r.attempt} ${r.durationMs.toFixed(1)}ms` +
    (r.requestId ? ` requestId=${r.requestId}` : '') +
    (r.errorCode ? ` error=${r.errorCode}` : '')
  try {
    if (r.errorCode) logger.error(line)
    else if (r.durationMs >= slowMs) logger.warn(`${line} (slow: over ${slowMs}ms)`)
    else logger.debug(line)
  } catch {
    // a logger that throws must not break the writer
  }
}

/** The function the engine calls with each record, or undefined when nothing listens. */
function recordSink(onRequest, logger, slowMs) {
  if (typeof onRequest !== 'function' && !logger) return undefined
  return (err, rec) => {
    // napi passes (err, value) only for callee-handled functions; ours passes the record alone
    const r = rec === undefined ? err : rec
    if (!r) return
    if (r.requestId === null) delete r.requestId
    if (r.errorCode === null) delete r.errorCode
    if (logger) logRecord(logger, slowMs, r)
    if (typeof onRequest === 'function') {
      try {
        onRequest(r)
      } catch (e) {
        reportHookError(logger, 'onRequest', e)
      }
    }
  }
}

/**
 * The options as the native constructor takes them: the record sink in place of `onRequest` when one is
 * needed (to log), a credentials function adapted to plain values. Everything is validated natively.
 */
function nativeOptions(o, sink) {
  if (o === null || typeof o !== 'object') return o
  let out = o
  if (sink !== undefined && (o.onRequest === undefined || typeof o.onRequest === 'function')) out = { ...out, onRequest: sink }
  if (typeof o.credentials === 'function') out = { ...out, credentials: credentialsProvider(o.credentials) }
  return out
}

// An AWS SDK v3 credential provider (() => Promise<{ accessKeyId, secretAccessKey, sessionToken?, expiration? }>).
function credentialsProvider(provider) {
  return async () => {
    const c = await provider()
    if (c === null || typeof c !== 'object') throw new TypeError('the credentials function must resolve to { accessKeyId, secretAccessKey }')
    const exp = c.expiration === undefined || c.expiration === null ? undefined : new Date(c.expiration).getTime()
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken ?? undefined, expirationMs: exp }
  }
}

function isLogger(l) {
  return l !== null && typeof l === 'object' && ['debug', 'info', 'warn', 'error'].every((m) => typeof l[m] === 'function')
}

module.exports = { recordSink, nativeOptions, reportHookError, isLogger }
