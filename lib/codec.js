'use strict'
// The JS half of marshalling: one walk over a JS value on the JS thread, writing the compact "wire" that the
// Rust core judges and turns into DynamoDB JSON (src/item.rs documents the grammar and holds every rule).
// This file only encodes: it says what each JS value is (a JS number, a bigint, a Set, a Date…) and never
// decides whether it is valid. A value with no DynamoDB form becomes a token the core reports with its path.
// Binaries travel beside the string. The other direction, decodeItem, rebuilds JS values from what the core
// sends back, with the read rules the core already applied (which numbers stay NumberValues).

const native = require('./native.js')

// The walk stops descending where the core refuses anyway (and cycles end there too).
const STOP_DEPTH = native.limits().maxDepth + 2

/** A DynamoDB number carried exactly, as the text given (the core checks it: 38 digits, magnitude). */
class NumberValue {
  constructor(value) {
    let text
    if (typeof value === 'string') text = value
    else if (typeof value === 'bigint' || typeof value === 'number') text = String(value)
    else if (value instanceof NumberValue) text = value.value
    else throw native.invalidArgument(`NumberValue takes a string, bigint or number, got ${describe(value)}`)
    native.checkNumber(text)
    Object.defineProperty(this, 'value', { value: text, enumerable: true })
  }
  static from(value) {
    return value instanceof NumberValue ? value : new NumberValue(value)
  }
  toString() {
    return this.value
  }
  toJSON() {
    return this.value
  }
  toNumber() {
    return Number(this.value)
  }
  toBigInt() {
    const v = this.value
    if (/^[-+]?\d+$/.test(v)) return BigInt(v)
    // Integers written with a fraction of zeros or an exponent are still integers.
    const m = /^([-+]?)(\d*)\.?(\d*)(?:[eE]([-+]?\d+))?$/.exec(v)
    const exp = Number(m[4] || 0) - m[3].length
    const digits = BigInt((m[2] + m[3]).replace(/^0+(?=\d)/, '') || '0')
    const sign = m[1] === '-' ? -1n : 1n
    if (exp >= 0) return sign * digits * 10n ** BigInt(exp)
    const div = 10n ** BigInt(-exp)
    // The value is item contents: the message names the rule only.
    if (digits % div !== 0n) throw new RangeError('toBigInt: the NumberValue has a fractional part')
    return (sign * digits) / div
  }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `NumberValue(${this.value})`
  }
}

// A NumberValue for text the core already judged (reads): no second check.
function trustedNumber(text) {
  const n = Object.create(NumberValue.prototype)
  Object.defineProperty(n, 'value', { value: text, enumerable: true })
  return n
}

function describe(v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') {
    const name = v.constructor && v.constructor.name
    return name ? `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}` : 'an object'
  }
  return typeof v
}

function isBinary(v) {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer)
}

function toBytes(v) {
  if (Buffer.isBuffer(v)) return v
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  return Buffer.from(v)
}

function className(v) {
  const name = (v.constructor && typeof v.constructor.name === 'string' && v.constructor.name) || 'Object'
  return name.length + ':' + name
}

class Encoder {
  constructor() {
    this.bins = null
    this.stack = []
  }

  /** One item (or key, or map of expression values); `bins` then holds its binaries, or null. */
  item(v) {
    this.bins = null
    this.stack.length = 0
    return this.value(v, 0)
  }

  /** Many items, each prefixed by its length; `bins` holds the run's binaries. `list` collects the items. */
  many(items, list) {
    this.bins = null
    this.stack.length = 0
    let out = ''
    for (const v of items) {
      const w = this.value(v, 0)
      out += w.length + ':' + w
      list.push(v)
    }
    return out
  }

  value(v, depth) {
    switch (typeof v) {
      case 'string':
        return 's' + v.length + ':' + v
      case 'number':
        return 'd' + v + ';'
      case 'boolean':
        return v ? 'T' : 'F'
      case 'bigint':
        return 'n' + v + ';'
      case 'undefined':
        return 'u'
      case 'function':
        return '!f'
      case 'symbol':
        return '!y'
    }
    if (v === null) return 'z'
    if (depth > STOP_DEPTH) return '!D'
    if (Array.isArray(v)) return this.list(v, depth)
    if (v instanceof NumberValue) return 'n' + v.value + ';'
    if (isBinary(v)) return 'b' + this.bin(v) + ';'
    if (v instanceof Set) return this.set(v, depth)
    if (v instanceof Map) return this.mapOfMap(v, depth)
    const proto = Object.getPrototypeOf(v)
    if (proto === Object.prototype || proto === null) return this.map(v, depth)
    return '!o' + className(v)
  }

  map(obj, depth) {
    if (this.stack.includes(obj)) return '!c'
    this.stack.push(obj)
    let out = '{'
    for (const k in obj) out += k.length + ':' + k + this.value(obj[k], depth + 1)
    this.stack.pop()
    return out + '}'
  }

  mapOfMap(m, depth) {
    if (this.stack.includes(m)) return '!c'
    this.stack.push(m)
    let out = '{'
    for (const [k, v] of m) {
      if (typeof k !== 'string') {
        out += '!k' + (typeof k).length + ':' + typeof k
        break
      }
      out += k.length + ':' + k + this.value(v, depth + 1)
    }
    this.stack.pop()
    return out + '}'
  }

  list(arr, depth) {
    if (this.stack.includes(arr)) return '!c'
    this.stack.push(arr)
    let out = '['
    for (let i = 0; i < arr.length; i++) out += this.value(arr[i], depth + 1)
    this.stack.pop()
    return out + ']'
  }

  set(s, depth) {
    if (this.stack.includes(s)) return '!c'
    this.stack.push(s)
    let out = '<'
    for (const v of s) out += this.value(v, depth + 1)
    this.stack.pop()
    return out + ']'
  }

  bin(v) {
    if (this.bins === null) this.bins = []
    this.bins.push(toBytes(v))
    return this.bins.length - 1
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reads: the core's read wire (src/read.rs) back to JS values. Objects built from stored attribute names get
// own properties only: a stored "__proto__" is an attribute like any other, never a prototype.

class Decoder {
  constructor(wire, bins) {
    this.w = wire
    this.p = 0
    this.bins = bins
    this.copyBins = false
  }
  uint(end) {
    const i = this.w.indexOf(end, this.p)
    const n = Number(this.w.slice(this.p, i))
    this.p = i + 1
    return n
  }
  chars() {
    const len = this.uint(':')
    const s = this.w.slice(this.p, this.p + len)
    this.p += len
    return s
  }
  text() {
    const i = this.w.indexOf(';', this.p)
    const t = this.w.slice(this.p, i)
    this.p = i + 1
    return t
  }
  value() {
    const c = this.w[this.p++]
    switch (c) {
      case 's':
        return this.chars()
      case 'd':
        return Number(this.text())
      case 'n':
        return trustedNumber(this.text())
      case 'T':
        return true
      case 'F':
        return false
      case 'z':
        return null
      case 'b': {
        const b = this.bins[this.uint(';')]
        return this.copyBins ? Buffer.from(b) : b
      }
      case '{':
        return this.map()
      case '[': {
        const out = []
        while (this.w[this.p] !== ']') out.push(this.value())
        this.p++
        return out
      }
      case '$':
      case '#':
      case '%': {
        const out = new Set()
        while (this.w[this.p] !== ']') out.add(this.value())
        this.p++
        return out
      }
      default:
        throw new Error(`dynabatch: DynamoDB returned a value of a type this version cannot read (at ${this.p - 1})`)
    }
  }
  map() {
    const out = {}
    while (this.w[this.p] !== '}') {
      const k = this.chars()
      const v = this.value()
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
      else out[k] = v
    }
    this.p++
    return out
  }
}

function decodeItem(wire, bins) {
  const d = new Decoder(wire, bins)
  d.p = 1
  return d.map()
}

// Many items at once (a scan page, one batchGet answer: src/read.rs's JsonPage): JSON.parse makes the objects
// (own properties only: a stored "__proto__" is an own property there too), then the patches put in the
// values JSON has no form for (Buffers, Sets, NumberValues), at their paths.

function decodePage(page) {
  const items = JSON.parse(page.json)
  if (page.patches.length > 0) patch(page, (i) => items[i], false)
  return items
}

/** Item `i` of a page again, as an independent copy (its binaries copied too): a batchGet's repeated key. */
function copyPageItem(page, i) {
  const item = JSON.parse(page.json.slice(page.spans[2 * i], page.spans[2 * i + 1]))
  if (page.patches.length > 0) patch(page, (j) => (j === i ? item : undefined), true)
  return item
}

// Patches: `<item>;`, the path (`.<len>:<name>` or `[<index>;`), `=`, the value in the read grammar.
function patch(page, itemAt, copyBins) {
  const w = page.patches
  const d = new Decoder(w, page.bins)
  d.copyBins = copyBins
  while (d.p < w.length) {
    let target = itemAt(d.uint(';'))
    let key = null
    for (;;) {
      const c = w[d.p++]
      if (c === '=') break
      if (key !== null && target !== undefined) target = target[key]
      key = c === '.' ? d.chars() : d.uint(';')
    }
    const v = d.value()
    if (target === undefined) continue
    if (key === '__proto__') Object.defineProperty(target, key, { value: v, enumerable: true, writable: true, configurable: true })
    else target[key] = v
  }
}

module.exports = { Encoder, decodeItem, decodePage, copyPageItem, NumberValue, describe }
