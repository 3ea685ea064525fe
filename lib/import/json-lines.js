'use strict'
// JSON Lines input with exact numbers. JSON.parse turns 12345678901234567890 into 12345678901234567000 and
// Node 20's reviver cannot see the source text, so lines that may hold such a literal are scanned: every
// number literal a double might not carry exactly is swapped for a marker string, the line is parsed, and a
// reviver puts NumberValue(original text) in place of each marker. The loader does not judge numbers itself:
// a literal of 16 or more mantissa characters (digits and the point) or with an exponent simply becomes a
// NumberValue, whose text the core validates and stores as written; a shorter literal without an exponent
// (at most 15 digits) is carried exactly by a double and stays a number. Lines without such a literal (the
// common case) cost one regex test on top of JSON.parse.

const { createDdbJson, readRecord, readExportLine, ConversionError } = require('./ddb-json.js')

// The same rule as exactSpans, over the whole line: false hits (digits inside strings) only cost the scan.
// The 16 classes are spelled out: V8 tests that form several times faster than [\d.]{16} (measured).
const SUSPECT_RE = new RegExp('\\d[eE]|' + '[\\d.]'.repeat(16))

// JSON's number grammar (RFC 8259), not DynamoDB's number rules: those are the core's.
const JSON_NUMBER_RE = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/

class LineError extends Error {
  constructor(reason, message) {
    super(message)
    this.name = 'LineError'
    this.reason = reason // 'InvalidLine' (not JSON, not an object) | 'InvalidItem' (a value that cannot be converted)
  }
}

// Start and end offsets of the number literals outside strings that become NumberValues.
function exactSpans(line) {
  const spans = []
  const n = line.length
  let i = 0
  while (i < n) {
    const c = line.charCodeAt(i)
    if (c === 34) {
      // a string: jump to the closing quote that is not escaped
      let j = i + 1
      for (;;) {
        j = line.indexOf('"', j)
        if (j < 0) return spans // unterminated: JSON.parse will say so
        let k = j - 1
        while (line.charCodeAt(k) === 92) k--
        if ((j - 1 - k) % 2 === 0) break
        j++
      }
      i = j + 1
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1
      while (j < n) {
        const d = line.charCodeAt(j)
        // digits . e E + -
        if ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) j++
        else break
      }
      // the exponent, if any, starts at the first e/E; the mantissa is what precedes it, without the sign
      let e = i
      while (e < j && (line.charCodeAt(e) | 32) !== 101) e++
      const mantissa = e - i - (c === 45 ? 1 : 0)
      // a token that is not a JSON number (01, 1., -.5) is left for JSON.parse to refuse
      if ((e < j || mantissa >= 16) && JSON_NUMBER_RE.test(line.slice(i, j))) spans.push([i, j])
      i = j
    } else {
      i++
    }
  }
  return spans
}

// A marker character that no string of this line can contain: a control character (it can appear in a JSON
// string only as a \u00XX escape) or a private-use character, absent from the line in either form.
function pickMarker(line) {
  const lower = line.indexOf('\\u') >= 0 ? line.toLowerCase() : null
  const candidates = [1, 2, 3, 4, 5, 6, 7, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]
  for (let c = 0xe000; c < 0xe100; c++) candidates.push(c)
  for (const c of candidates) {
    const ch = String.fromCharCode(c)
    if (line.includes(ch)) continue
    if (lower !== null && lower.includes('\\u' + c.toString(16).padStart(4, '0'))) continue
    return c
  }
  return -1
}

/**
 * JSON.parse with exact numbers: a literal with an exponent or 16+ mantissa characters becomes
 * `new NumberValue(text)`; its errors (e.g. 1e400, over 38 digits) have code 'InvalidItem'.
 */
function parseJsonExact(line, NumberValue) {
  if (!SUSPECT_RE.test(line)) return JSON.parse(line)
  const spans = exactSpans(line)
  if (spans.length === 0) return JSON.parse(line)
  const code = pickMarker(line)
  if (code < 0) throw new LineError('InvalidLine', 'the line uses every marker character; cannot keep its numbers exact')
  const escaped = '"\\u' + code.toString(16).padStart(4, '0')
  let text = ''
  let from = 0
  spans.forEach(([a, b], idx) => {
    text += line.slice(from, a) + escaped + idx + '"'
    from = b
  })
  text += line.slice(from)
  let parsed
  try {
    parsed = JSON.parse(text, (key, v) => {
      if (typeof v === 'string' && v.charCodeAt(0) === code) {
        const [a, b] = spans[Number(v.slice(1))]
        return new NumberValue(line.slice(a, b))
      }
      return v
    })
  } catch (e) {
    // A syntax error: report it as JSON.parse reports the original line (positions refer to it).
    if (e instanceof SyntaxError) JSON.parse(line)
    throw e
  }
  return parsed
}

/**
 * A function line -> item for the given format ('json' or 'ddb-json'); it throws a LineError whose reason
 * is 'InvalidLine' (not JSON, not an object) or 'InvalidItem' (a value that cannot be converted).
 */
function createLineParser({ format = 'json', NumberValue }) {
  const parse = createOperationParser({ format, NumberValue })
  return (line) => parse(line).item
}

/**
 * A function line -> { operation, item } where operation is 'put' or 'delete': `operation` (the default),
 * the one a dead-letter record names (ddb-json), or the one an incremental export's line implies.
 * format: 'json' | 'ddb-json' | 'export' (a DynamoDB export's data file; `exportType` FULL_EXPORT or
 * INCREMENTAL_EXPORT). Throws LineError like createLineParser.
 */
function createOperationParser({ format = 'json', operation = 'put', NumberValue, exportType }) {
  if (format === 'json') {
    return (line) => {
      let v
      try {
        v = parseJsonExact(line, NumberValue)
      } catch (e) {
        throw toLineError(e)
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        throw new LineError('InvalidLine', `expected a JSON object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`)
      }
      return { operation, item: v }
    }
  }
  if (format !== 'ddb-json' && format !== 'export') throw new TypeError(`unknown format ${format}`)
  const ddb = createDdbJson(NumberValue)
  const read = format === 'export' ? (v) => readExportLine(v, exportType) : readRecord
  return (line) => {
    let v
    try {
      v = JSON.parse(line)
    } catch (e) {
      throw toLineError(e)
    }
    let rec
    try {
      rec = read(v)
      return { operation: rec.operation || operation, item: ddb.fromItem(rec.item, rec.root || 'item') }
    } catch (e) {
      const err = toLineError(e)
      if (e.raw !== undefined) err.raw = e.raw
      if (e.rawBase64 !== undefined) err.rawBase64 = e.rawBase64
      if (rec !== undefined) {
        err.ddbItem = rec.item // already DynamoDB JSON: the dead-letter file keeps it as is
        if (rec.operation) err.operation = rec.operation
      }
      throw err
    }
  }
}

// JSON.parse's own message may quote the line (item contents): keep only where and what kind of mistake.
function jsonSyntax(e) {
  const at = /at position (\d+)/.exec(e.message)
  const kind = /Unexpected end of JSON input/.test(e.message)
    ? 'the line ends inside a value'
    : /Bad control character/.test(e.message)
      ? 'a control character inside a string'
      : /Unterminated string/.test(e.message)
        ? 'an unterminated string'
        : 'unexpected text'
  return `invalid JSON: ${kind}${at ? ` at position ${at[1]}` : ''}`
}

function toLineError(e) {
  if (e instanceof LineError) return e
  if (e instanceof SyntaxError) return new LineError('InvalidLine', jsonSyntax(e))
  if (e instanceof ConversionError && e.message.startsWith('line: ')) return new LineError('InvalidLine', e.message.slice(6))
  return new LineError(e && e.code === 'InvalidItem' ? 'InvalidItem' : 'InvalidLine', e && e.message !== undefined ? e.message : String(e))
}

module.exports = {
  parseJsonExact,
  createLineParser,
  createOperationParser,
  exactSpans,
  pickMarker,
  LineError,
}
