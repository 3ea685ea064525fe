'use strict'
// One input's bytes -> batches of lines. The first bytes decide how the input is read, whatever its name:
// gzip (decompressed as a stream, then looked at again), UTF-16 with a byte-order mark (decoded), UTF-8 (the
// default; a UTF-8 BOM is dropped); other compressions and UTF-32 are refused at once with their name.
//
// Lines are split here rather than by readline, which would silently change what is read: it ends a line at
// a lone CR (JSON allows CR as whitespace between tokens) and turns invalid UTF-8 into U+FFFD. Here a line ends
// at LF (a CR before it is dropped), and a line that is not valid UTF-8 is handed on as a BadText, never as
// replaced text. A line longer than MAX_LINE is a BadText too, and is not buffered, so memory stays bounded.

const zlib = require('node:zlib')
const { isUtf8 } = require('node:buffer')
const { StringDecoder } = require('node:string_decoder')
const { Readable, pipeline } = require('node:stream')

// DynamoDB items are at most 400 KB; their DynamoDB JSON (base64, type wrappers) stays far below this.
const MAX_LINE = 16 * 1024 * 1024

const { ImportError } = require('./errors.js')

const inputError = (message) => new ImportError('InvalidInput', message)

/** A line that is not text: { message, bytes? } (bytes: the line's raw bytes when they were kept). */
class BadText {
  constructor(message, bytes) {
    this.message = message
    if (bytes !== undefined) this.bytes = bytes
  }
}

const REFUSED = [
  [[0xff, 0xfe, 0x00, 0x00], 'is UTF-32LE text; convert it to UTF-8 (iconv -f UTF-32LE -t UTF-8)'],
  [[0x00, 0x00, 0xfe, 0xff], 'is UTF-32BE text; convert it to UTF-8 (iconv -f UTF-32BE -t UTF-8)'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'is zstd-compressed; decompress it first (zstd -d), or pipe it: zstd -dc FILE | dynabatch import -'],
  [[0x42, 0x5a, 0x68], 'is bzip2-compressed; decompress it first (bunzip2), or pipe it: bzip2 -dc FILE | dynabatch import -'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'is xz-compressed; decompress it first (unxz), or pipe it: xz -dc FILE | dynabatch import -'],
  [[0x50, 0x4b, 0x03, 0x04], 'is a zip archive; extract its files and pass them instead'],
]

function startsWith(head, bytes) {
  if (head.length < bytes.length) return false
  for (let i = 0; i < bytes.length; i++) if (head[i] !== bytes[i]) return false
  return true
}

/** 'gzip' | 'utf-16le' | 'utf-16be' | 'utf-8' | 'utf-8-bom' from the first bytes; throws an InvalidInput ImportError for the refused ones. */
function sniff(head, name) {
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip'
  for (const [magic, why] of REFUSED) if (startsWith(head, magic)) throw inputError(`${name} ${why}`)
  if (startsWith(head, [0xff, 0xfe])) return 'utf-16le'
  if (startsWith(head, [0xfe, 0xff])) return 'utf-16be'
  if (startsWith(head, [0xef, 0xbb, 0xbf])) return 'utf-8-bom'
  return 'utf-8'
}

/**
 * The first `n` bytes of a chunk iterator (fewer at its end) and an iterable of every chunk, those included.
 * Chunks stay Buffers; a string chunk makes `strings` true (text given as text: nothing to sniff or decode).
 */
async function peek(iterator, n) {
  const first = []
  let size = 0
  let done = false
  while (size < n) {
    const r = await iterator.next()
    if (r.done) {
      done = true
      break
    }
    if (typeof r.value === 'string') {
      first.push(r.value)
      return { head: null, strings: true, chunks: rest(first, iterator, false) }
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength)
    first.push(chunk)
    size += chunk.length
  }
  const head = Buffer.concat(first, size)
  return { head, strings: false, chunks: rest(size ? [head] : [], iterator, done) }
}

async function* rest(first, iterator, done) {
  let kind = first.length ? typeof first[0] : null
  yield* first
  if (done) return
  for (;;) {
    const r = await iterator.next()
    if (r.done) return
    const v = r.value
    if (kind === null) kind = typeof v
    if ((typeof v === 'string') !== (kind === 'string')) throw inputError('the input mixes strings and bytes')
    yield typeof v === 'string' || Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  }
}

async function* counted(chunks, onBytes) {
  for await (const c of chunks) {
    onBytes(c.length)
    yield c
  }
}

function gunzip(chunks, name) {
  const z = zlib.createGunzip({ chunkSize: 64 * 1024 }) // fewer, larger chunks: less work on the JS thread
  pipeline(Readable.from(chunks, { objectMode: false }), z, () => {})
  return (async function* () {
    try {
      yield* z
    } catch (e) {
      if (e && e.code === 'Z_BUF_ERROR') throw inputError(`${name}: the gzip data is truncated (unexpected end of file)`)
      if (e && e.code === 'Z_DATA_ERROR') throw inputError(`${name}: not valid gzip data (${e.message})`)
      throw e
    }
  })()
}

// UTF-16 is decoded by Buffer's own UTF-16LE decoder (BE bytes swapped first), which keeps what the file
// says: an unpaired surrogate stays one, in its line, for the writer to refuse with the attribute path, like
// a "\ud800" escape; it is never replaced.
async function* decodeUtf16(chunks, encoding, name) {
  const decoder = new StringDecoder('utf16le')
  let odd = null // big-endian: a byte waiting for its pair
  let total = 0
  let first = true
  for await (let c of chunks) {
    total += c.length
    if (encoding === 'utf-16be') {
      if (odd !== null) c = Buffer.concat([odd, c])
      odd = c.length % 2 ? c.subarray(c.length - 1) : null
      c = Buffer.from(c.subarray(0, c.length - (c.length % 2))).swap16()
    }
    let text = decoder.write(c)
    if (first && text.length) {
      first = false
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (text.length) yield text
  }
  if (total % 2) throw inputError(`${name}: not valid ${encoding.toUpperCase()} text (an odd number of bytes: its last character is cut off)`)
  const tail = decoder.end()
  if (tail.length) yield tail
}

// --- splitting ---------------------------------------------------------------------------------------

function lineOfBytes(buf, a, b) {
  if (b > a && buf[b - 1] === 13) b-- // CRLF
  const text = buf.toString('utf8', a, b)
  // toString replaces invalid sequences with U+FFFD: only then is the (rarer) byte check needed
  if (text.indexOf('\uFFFD') !== -1 && !isUtf8(buf.subarray(a, b))) return new BadText('the line is not valid UTF-8', Buffer.from(buf.subarray(a, b)))
  return text
}

function lineOfText(text) {
  return text.length > 0 && text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text
}

/** Splits chunks (all Buffers or all strings) into lines, keeping what follows the last LF for the next chunk. */
class Splitter {
  constructor(strings) {
    this.strings = strings
    this.carry = [] // pieces of the line under way
    this.carryLen = 0
    this.overlong = false // the line under way passed MAX_LINE: it is dropped up to its LF
  }

  push(chunk, out) {
    const nlChar = this.strings ? '\n' : 10
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(nlChar, start)
      if (nl < 0) break
      if (this.overlong) {
        out.push(new BadText(`the line is longer than ${MAX_LINE / 1024 / 1024} MiB`))
        this.overlong = false
      } else if (this.carryLen === 0) {
        out.push(this.strings ? lineOfText(chunk.slice(start, nl)) : lineOfBytes(chunk, start, nl))
      } else {
        this.carry.push(chunk.slice(start, nl))
        out.push(this.joined())
      }
      this.carry = []
      this.carryLen = 0
      start = nl + 1
    }
    if (start < chunk.length && !this.overlong) {
      const piece = chunk.slice(start)
      this.carry.push(piece)
      this.carryLen += piece.length
      if (this.carryLen > MAX_LINE) {
        this.overlong = true
        this.carry = []
        this.carryLen = 0
      }
    }
  }

  joined() {
    if (this.strings) return lineOfText(this.carry.join(''))
    const buf = Buffer.concat(this.carry)
    return lineOfBytes(buf, 0, buf.length)
  }

  end(out) {
    if (this.overlong) out.push(new BadText(`the line is longer than ${MAX_LINE / 1024 / 1024} MiB`))
    else if (this.carryLen > 0) out.push(this.joined())
  }
}

/**
 * Batches (arrays) of lines of one input: strings without their line end, or BadText for a line that is not
 * text. `source`: a Readable or an async iterable of Buffers/Uint8Arrays or of strings. `onBytes(n)` counts
 * the input's own bytes (compressed ones for gzip). Throws an InvalidInput ImportError for refused encodings,
 * truncated or corrupt gzip and UTF-16 of an odd length; the lines before the failure have been yielded, a
 * cut-off last line not.
 */
async function* lineBatches(source, { name, onBytes = () => {} }) {
  const iterator = source[Symbol.asyncIterator]()
  let { head, strings, chunks } = await peek(iterator, 6)
  let kind = 'utf-8'
  if (!strings) {
    chunks = counted(chunks, onBytes)
    kind = sniff(head, name)
    if (kind === 'gzip') {
      const inner = await peek(gunzip(chunks, name)[Symbol.asyncIterator](), 6)
      chunks = inner.chunks
      kind = sniff(inner.head, `${name} (decompressed)`)
      if (kind === 'gzip') throw inputError(`${name} is gzip inside gzip; decompress it once first`)
    }
    if (kind === 'utf-16le' || kind === 'utf-16be') {
      chunks = decodeUtf16(chunks, kind, name)
      strings = true
    }
  }
  const splitter = new Splitter(strings)
  let first = true
  for await (let chunk of chunks) {
    if (first) {
      first = false
      if (kind === 'utf-8-bom') chunk = chunk.subarray(3)
      else if (strings && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1) // text given as strings
    }
    const out = []
    splitter.push(chunk, out)
    if (out.length) yield out
  }
  const out = []
  splitter.end(out)
  if (out.length) yield out
}

module.exports = { lineBatches, sniff, BadText, MAX_LINE }
