'use strict'
// The dead-letter file: one JSON line per item that was not written. It is created on the first record only
// (a clean run leaves no file behind) and written synchronously in 64 KB batches, so what is buffered can
// still be saved from a SIGINT handler just before process.exit.

const fs = require('node:fs')

const FLUSH_BYTES = 64 * 1024

class DeadLetterFile {
  constructor(path, fsImpl = fs) {
    this.path = path
    this.fs = fsImpl
    this.fd = null
    this.pending = []
    this.pendingBytes = 0
    this.count = 0
  }

  /** Whether anything was recorded (the file exists, or will once flushed). */
  get created() {
    return this.count > 0
  }

  /** record: { line, reason, message, item, raw? } */
  write(record) {
    const text = JSON.stringify(record) + '\n'
    this.pending.push(text)
    this.pendingBytes += text.length
    this.count++
    if (this.pendingBytes >= FLUSH_BYTES) this.flushSync()
  }

  flushSync() {
    if (this.pending.length === 0) return
    // 'w': a file left by an earlier run would otherwise mix its records with this run's.
    if (this.fd === null) this.fd = this.fs.openSync(this.path, 'w')
    const data = Buffer.from(this.pending.join(''))
    this.pending = []
    this.pendingBytes = 0
    // writeSync may write less than asked (e.g. on a full pipe or disk quota edge); loop until done
    let off = 0
    while (off < data.length) off += this.fs.writeSync(this.fd, data, off, data.length - off)
  }

  close() {
    this.flushSync()
    if (this.fd !== null) {
      this.fs.closeSync(this.fd)
      this.fd = null
    }
  }
}

module.exports = { DeadLetterFile }
