'use strict'
// DynamoDB JSON ({"pk":{"S":"a"}}) <-> the JS values of dynabatch's marshalling rules. The CLI reads it with
// --format ddb-json and writes it into the dead-letter file, so a failed item goes back exactly as it was.
// NumberValue is passed in (the package's class) so this module loads, and is tested, without the addon.

const TAGS = ['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']
const TAG_SET = new Set(TAGS)
// Keys of a dead-letter record (see main.js): such a line carries its item under `item`.
const DEAD_LETTER_KEYS = new Set(['input', 'line', 'operation', 'reason', 'message', 'attempts', 'item', 'raw', 'rawBase64'])
const INCREMENTAL_KEYS = new Set(['Metadata', 'Keys', 'NewImage', 'OldImage'])

class ConversionError extends TypeError {
  constructor(path, message) {
    super(`${path}: ${message}`)
    this.name = 'ConversionError'
    this.code = 'InvalidItem'
  }
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

// What a value is, for messages: its type and at most its length, never the value (item contents).
function describe(v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  if (typeof v === 'string') return `a string of ${v.length} character${v.length === 1 ? '' : 's'}`
  if (typeof v === 'undefined') return 'undefined'
  return `a ${typeof v}`
}

// Same path syntax as the writer's messages: item.a.b[3], item["odd name"].
function child(path, name) {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`
}

// A plain assignment of "__proto__" would set the prototype instead of an attribute.
function setAttr(obj, name, value) {
  if (name === '__proto__') Object.defineProperty(obj, name, { value, enumerable: true, writable: true, configurable: true })
  else obj[name] = value
}

function payloadMatches(tag, p) {
  switch (tag) {
    case 'S':
    case 'N':
    case 'B':
      return typeof p === 'string'
    case 'BOOL':
      return typeof p === 'boolean'
    case 'NULL':
      return p === true
    case 'M':
      return isObject(p)
    default:
      return Array.isArray(p) // L, SS, NS, BS
  }
}

/** True when `v` is one well-formed attribute value such as {"S": "x"} (its payload type checked, not its contents). */
function isTypedValue(v) {
  if (!isObject(v)) return false
  let tag = null
  for (const k in v) {
    if (tag !== null) return false
    tag = k
  }
  return tag !== null && TAG_SET.has(tag) && payloadMatches(tag, v[tag])
}

/**
 * The DynamoDB-JSON item a line holds, and the operation it asks for: the line itself, the S3 export's
 * {"Item": {...}}, or a dynabatch dead-letter record {"input", "line", "operation", "reason", "message",
 * "item": {...}}, which is re-applied with its own operation. A wrapper is recognised only when its inner
 * object is not itself a typed attribute value, so an item whose one attribute is named Item still reads.
 * Returns { item, operation? }.
 */
function readRecord(obj) {
  if (!isObject(obj)) throw new ConversionError('line', `expected a JSON object, got ${describe(obj)}`)
  const keys = Object.keys(obj)
  if (keys.length === 1 && keys[0] === 'Item' && isObject(obj.Item) && !isTypedValue(obj.Item)) return { item: obj.Item }
  if (Object.prototype.hasOwnProperty.call(obj, 'item') && keys.every((k) => DEAD_LETTER_KEYS.has(k))) {
    if (obj.item === null) {
      const e = new ConversionError('line', 'this dead-letter record has no item (its line was not valid JSON: fix its "raw" text)')
      // carried on, so a re-run's dead letter still holds the original text
      if (typeof obj.raw === 'string') e.raw = obj.raw
      if (typeof obj.rawBase64 === 'string') e.rawBase64 = obj.rawBase64
      throw e
    }
    if (isObject(obj.item) && !isTypedValue(obj.item)) {
      if (obj.operation !== undefined && obj.operation !== 'put' && obj.operation !== 'delete') {
        throw new ConversionError('line', `a dead-letter record's operation must be "put" or "delete", got ${describe(obj.operation)}`)
      }
      return { item: obj.item, operation: obj.operation }
    }
  }
  return { item: obj }
}

function unwrapRecord(obj) {
  return readRecord(obj).item
}

/**
 * A line of a DynamoDB export's data file, strictly in the export's form. A full export's line is exactly
 * {"Item": {...}}; an incremental export's is {"Metadata", "Keys", "NewImage"?, "OldImage"?}: with NewImage
 * it puts NewImage (whose key attributes must be the Keys), without it deletes Keys.
 * Returns { item, operation?, root } (root: the path prefix of the item's attributes in messages).
 */
function readExportLine(obj, exportType) {
  if (!isObject(obj)) throw new ConversionError('line', `expected a JSON object, got ${describe(obj)}`)
  if (exportType !== 'INCREMENTAL_EXPORT') {
    const keys = Object.keys(obj)
    if (keys.length !== 1 || keys[0] !== 'Item' || !isObject(obj.Item)) {
      throw new ConversionError('line', `a full export's line is {"Item": {...}}, got the fields ${keys.map((k) => JSON.stringify(k)).join(', ') || 'none'}`)
    }
    return { item: obj.Item, root: 'item' }
  }
  for (const k of Object.keys(obj)) {
    if (!INCREMENTAL_KEYS.has(k)) throw new ConversionError('line', `unexpected field ${JSON.stringify(k)} in an incremental export's line (Metadata, Keys, NewImage, OldImage)`)
  }
  if (!isObject(obj.Keys)) throw new ConversionError('line', `an incremental export's line needs "Keys": an object, got ${describe(obj.Keys)}`)
  if (obj.NewImage === undefined) return { item: obj.Keys, operation: 'delete', root: 'Keys' }
  if (!isObject(obj.NewImage)) throw new ConversionError('NewImage', `expected an object, got ${describe(obj.NewImage)}`)
  for (const k of Object.keys(obj.Keys)) {
    if (JSON.stringify(obj.NewImage[k]) !== JSON.stringify(obj.Keys[k])) {
      throw new ConversionError(child('NewImage', k), `the key attribute differs from Keys${child('', k)}`)
    }
  }
  return { item: obj.NewImage, operation: 'put', root: 'NewImage' }
}

function createDdbJson(NumberValue) {
  if (typeof NumberValue !== 'function') throw new TypeError('createDdbJson needs the NumberValue class')

  // The number rules are the core's (NumberValue); only the surrounding space it would trim away is refused
  // here, so the text stored is the text read.
  function number(text, path) {
    if (typeof text !== 'string') throw new ConversionError(path, `a number must be given as a string, got ${describe(text)}`)
    if (text.length === 0 || text.trim() !== text) throw new ConversionError(path, 'not a valid DynamoDB number (empty, or with spaces around it)')
    try {
      return new NumberValue(text)
    } catch (e) {
      throw new ConversionError(path, e.message)
    }
  }

  // Canonical base64 is the text Buffer's own encoder gives back for the bytes it decodes: any other text
  // (another alphabet, missing or extra padding, stray bits, spaces) would be stored as other bytes.
  function binary(text, path) {
    if (typeof text === 'string') {
      const bytes = Buffer.from(text, 'base64')
      if (bytes.toString('base64') === text) return bytes
    }
    throw new ConversionError(path, `binary must be canonical base64 (A-Z a-z 0-9 + /, padded with = to a multiple of 4), got ${describe(text)}`)
  }

  // SS, NS, BS: DynamoDB refuses an empty set, so an empty array is a bad line rather than a lost attribute.
  function members(p, tag, path) {
    if (!Array.isArray(p)) throw new ConversionError(path, `${tag} must hold an array, got ${describe(p)}`)
    if (p.length === 0) throw new ConversionError(path, `${tag} must hold at least one member (DynamoDB has no empty sets)`)
    return p
  }

  /** One attribute value, e.g. {"N": "1"} -> NumberValue('1'). */
  function fromValue(av, path = 'value') {
    if (!isObject(av)) {
      throw new ConversionError(path, `expected an attribute value such as {"S": "text"}, got ${describe(av)}`)
    }
    const keys = Object.keys(av)
    if (keys.length !== 1 || !TAG_SET.has(keys[0])) {
      throw new ConversionError(
        path,
        `expected exactly one type key (${TAGS.join(', ')}), got ${keys.length ? keys.map((k) => JSON.stringify(k)).join(', ') : 'none'}`,
      )
    }
    const tag = keys[0]
    const p = av[tag]
    switch (tag) {
      case 'S':
        if (typeof p !== 'string') throw new ConversionError(path, `S must hold a string, got ${describe(p)}`)
        return p
      case 'N':
        return number(p, path)
      case 'B':
        return binary(p, path)
      case 'BOOL':
        if (typeof p !== 'boolean') throw new ConversionError(path, `BOOL must hold true or false, got ${describe(p)}`)
        return p
      case 'NULL':
        if (p !== true) throw new ConversionError(path, `NULL must hold true, got ${describe(p)}`)
        return null
      case 'M':
        if (!isObject(p)) throw new ConversionError(path, `M must hold an object, got ${describe(p)}`)
        return fromMap(p, path)
      case 'L': {
        if (!Array.isArray(p)) throw new ConversionError(path, `L must hold an array, got ${describe(p)}`)
        const out = new Array(p.length)
        for (let i = 0; i < p.length; i++) out[i] = fromValue(p[i], `${path}[${i}]`)
        return out
      }
      case 'SS': {
        const out = new Set()
        members(p, tag, path).forEach((s, i) => {
          if (typeof s !== 'string') throw new ConversionError(`${path}[${i}]`, `SS members must be strings, got ${describe(s)}`)
          // a Set would merge the two silently; DynamoDB refuses duplicates
          if (out.has(s)) throw new ConversionError(`${path}[${i}]`, 'a member equal to an earlier one of this SS (DynamoDB rejects duplicate set members)')
          out.add(s)
        })
        return out
      }
      case 'NS': {
        // Members equal by value (1 and 1.0) are distinct NumberValues here; the writer refuses them.
        const out = new Set()
        members(p, tag, path).forEach((s, i) => out.add(number(s, `${path}[${i}]`)))
        return out
      }
      default: {
        // BS: equal byte strings are distinct Buffers here; the writer refuses them.
        const out = new Set()
        members(p, tag, path).forEach((s, i) => out.add(binary(s, `${path}[${i}]`)))
        return out
      }
    }
  }

  function fromMap(m, path) {
    const out = {}
    for (const name of Object.keys(m)) setAttr(out, name, fromValue(m[name], child(path, name)))
    return out
  }

  /** A whole item: {"pk": {"S": "a"}, ...} -> {pk: 'a', ...}. */
  function fromItem(obj, path = 'item') {
    if (!isObject(obj)) throw new ConversionError(path, `expected a JSON object, got ${describe(obj)}`)
    return fromMap(obj, path)
  }

  function setMemberKind(v) {
    if (typeof v === 'string') return 'SS'
    if (typeof v === 'number' || typeof v === 'bigint' || v instanceof NumberValue) return 'NS'
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return 'BS'
    return null
  }

  function base64(v) {
    if (Buffer.isBuffer(v)) return v.toString('base64')
    if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')
    return Buffer.from(v).toString('base64')
  }

  function numberText(v, path) {
    if (v instanceof NumberValue) return v.value
    if (typeof v === 'number' && !Number.isFinite(v)) throw new ConversionError(path, `${v} is not a valid DynamoDB number`)
    return String(v)
  }

  /** The inverse of fromValue. Empty sets have no member to type them; they become SS (DynamoDB rejects them anyway). */
  function toValue(v, path = 'value') {
    switch (typeof v) {
      case 'string':
        return { S: v }
      case 'number':
      case 'bigint':
        return { N: numberText(v, path) }
      case 'boolean':
        return { BOOL: v }
      case 'undefined':
        throw new ConversionError(path, 'undefined has no DynamoDB JSON form')
    }
    if (v === null) return { NULL: true }
    if (typeof v !== 'object') throw new ConversionError(path, `a ${typeof v} has no DynamoDB JSON form`)
    if (v instanceof NumberValue) return { N: v.value }
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return { B: base64(v) }
    if (Array.isArray(v)) return { L: v.map((x, i) => toValue(x, `${path}[${i}]`)) }
    if (v instanceof Set) {
      let kind = null
      const members = []
      let i = 0
      for (const x of v) {
        const k = setMemberKind(x)
        if (k === null || (kind !== null && k !== kind)) {
          throw new ConversionError(`${path}[${i}]`, 'a set must hold only strings, only numbers or only binaries')
        }
        kind = k
        members.push(k === 'SS' ? x : k === 'NS' ? numberText(x, `${path}[${i}]`) : base64(x))
        i++
      }
      return { [kind || 'SS']: members }
    }
    if (v instanceof Map) {
      const out = {}
      for (const [k, x] of v) setAttr(out, String(k), toValue(x, child(path, String(k))))
      return { M: out }
    }
    return { M: toMap(v, path) }
  }

  function toMap(obj, path) {
    const out = {}
    for (const name of Object.keys(obj)) setAttr(out, name, toValue(obj[name], child(path, name)))
    return out
  }

  /** A JS item (plain object or Map) -> its DynamoDB JSON. */
  function toItem(item, path = 'item') {
    if (item instanceof Map) return toValue(item, path).M
    if (!isObject(item)) throw new ConversionError(path, `expected an object, got ${describe(item)}`)
    return toMap(item, path)
  }

  return { fromValue, fromItem, toValue, toItem }
}

module.exports = { createDdbJson, readRecord, readExportLine, unwrapRecord, isTypedValue, ConversionError, TAGS }
