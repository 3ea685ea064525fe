'use strict'
// Line formats of the command-line loader: plain JSON lines with exact numbers, DynamoDB JSON (what
// DynamoDB's export to S3 writes), and the dead-letter records the loader writes (so a re-run retries them).

const { NumberValue } = require('../codec.js')

// A numeric literal long enough that a double might not hold it exactly. Checked on the whole line first
// so the common line takes the plain JSON.parse path.
const MAYBE_LONG_NUMBER = /[\d.eE+-]{16,}/
const NUMBER_TOKEN = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const MARK = '\u0000dynabatch-number:'

/** Parses one JSON line; numbers a double cannot hold exactly become NumberValue. */
function parseJsonLine(line) {
  if (!MAYBE_LONG_NUMBER.test(line)) return JSON.parse(line)
  // Rewrite long numeric literals (outside strings) as marked strings, then revive them.
  let out = ''
  let i = 0
  let last = 0
  let changed = false
  while (i < line.length) {
    const c = line.charCodeAt(i)
    if (c === 34 /* " */) {
      i++
      while (i < line.length && line.charCodeAt(i) !== 34) i += line.charCodeAt(i) === 92 /* \ */ ? 2 : 1
      i++
      continue
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      NUMBER_TOKEN.lastIndex = i
      const m = NUMBER_TOKEN.exec(line)
      if (m) {
        const tok = m[0]
        if (!exactAsDouble(tok)) {
          out += line.slice(last, i) + JSON.stringify(MARK + tok)
          last = i + tok.length
          changed = true
        }
        i += tok.length
        continue
      }
    }
    i++
  }
  if (!changed) return JSON.parse(line)
  out += line.slice(last)
  return JSON.parse(out, (k, v) => (typeof v === 'string' && v.startsWith(MARK) ? new NumberValue(v.slice(MARK.length)) : v))
}

function exactAsDouble(tok) {
  const n = Number(tok)
  if (!Number.isFinite(n) || Math.abs(n) > Number.MAX_SAFE_INTEGER) return false
  if (/^-?\d+$/.test(tok)) return Number.isSafeInteger(n) && String(n) === tok.replace(/^(-?)0+(?=\d)/, '$1')
  return canonical(String(n)) === canonical(tok)
}

function canonical(t) {
  const m = /^(-?)(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$/.exec(t)
  if (!m) return t
  let digits = (m[2] + m[3]).replace(/^0+/, '')
  let exp = Number(m[4] || 0) - m[3].length
  if (!digits) return '0'
  while (digits.endsWith('0')) {
    digits = digits.slice(0, -1)
    exp++
  }
  return `${m[1]}${digits}e${exp}`
}

/** DynamoDB JSON ({"S": "…"}, {"N": "…"}, …) to the JS values of the marshalling rules. */
function fromDdbJson(av, path = 'item') {
  if (av === null || typeof av !== 'object' || Array.isArray(av)) throw new Error(`${path}: not a DynamoDB JSON attribute value`)
  const keys = Object.keys(av)
  if (keys.length !== 1) throw new Error(`${path}: a DynamoDB JSON attribute value has exactly one type key`)
  const t = keys[0]
  const v = av[t]
  switch (t) {
    case 'S':
      return String(v)
    case 'N':
      return numberFromText(String(v))
    case 'B':
      return Buffer.from(String(v), 'base64')
    case 'BOOL':
      return v === true || v === 'true'
    case 'NULL':
      return null
    case 'SS':
      return new Set(v.map(String))
    case 'NS':
      return new Set(v.map((x) => new NumberValue(String(x))))
    case 'BS':
      return new Set(v.map((x) => Buffer.from(String(x), 'base64')))
    case 'L':
      return v.map((x, i) => fromDdbJson(x, `${path}[${i}]`))
    case 'M':
      return fromDdbJsonItem(v, path)
    default:
      throw new Error(`${path}: unknown DynamoDB JSON type ${JSON.stringify(t)}`)
  }
}

// N values stay exact: a plain number only when the double holds the text exactly.
function numberFromText(t) {
  return exactAsDouble(t) ? Number(t) : new NumberValue(t)
}

function fromDdbJsonItem(obj, path = 'item') {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${path}: must be an object`)
  const out = {}
  for (const k of Object.keys(obj)) out[k] = fromDdbJson(obj[k], `${path}.${k}`)
  return out
}

/** A line of DynamoDB JSON: a bare item, the S3 export's {"Item": …}, or a dead-letter record's {"item": …}. */
function parseDdbJsonLine(line) {
  const obj = JSON.parse(line)
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    if (obj.Item && typeof obj.Item === 'object') return fromDdbJsonItem(obj.Item)
    if (obj.item && typeof obj.item === 'object' && ('reason' in obj || 'line' in obj)) return fromDdbJsonItem(obj.item)
  }
  return fromDdbJsonItem(obj)
}

/** JS values to DynamoDB JSON, for dead-letter records. Throws on values that cannot be stored. */
function toDdbJson(v) {
  if (typeof v === 'string') return { S: v }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${v} is not a number DynamoDB can store`)
    return { N: String(v) }
  }
  if (typeof v === 'bigint') return { N: v.toString() }
  if (typeof v === 'boolean') return { BOOL: v }
  if (v === null) return { NULL: true }
  if (v instanceof NumberValue) return { N: v.value }
  if (Array.isArray(v)) return { L: v.map(toDdbJson) }
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return { B: bytes(v).toString('base64') }
  if (v instanceof Set) {
    const vals = [...v]
    if (vals.every((x) => typeof x === 'string')) return { SS: vals }
    if (vals.every((x) => ArrayBuffer.isView(x) || x instanceof ArrayBuffer)) return { BS: vals.map((x) => bytes(x).toString('base64')) }
    return { NS: vals.map((x) => String(x instanceof NumberValue ? x.value : x)) }
  }
  if (v instanceof Map) return { M: toDdbJsonItem(Object.fromEntries(v)) }
  if (typeof v === 'object') return { M: toDdbJsonItem(v) }
  throw new Error(`a ${typeof v} cannot be stored`)
}

function toDdbJsonItem(obj) {
  const src = obj instanceof Map ? Object.fromEntries(obj) : obj
  const out = {}
  for (const k of Object.keys(src)) {
    if (src[k] === undefined) continue
    out[k] = toDdbJson(src[k])
  }
  return out
}

function bytes(v) {
  if (Buffer.isBuffer(v)) return v
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  return Buffer.from(v)
}

module.exports = { parseJsonLine, parseDdbJsonLine, fromDdbJsonItem, toDdbJsonItem }
