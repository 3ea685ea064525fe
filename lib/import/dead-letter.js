'use strict'
// The dead-letter file: one JSON line per item that was not written. It is created on the first record only
// (a clean run leaves no file behind) and written synchronously in 64 KB batches, so what is buffered can
// still be saved from a SIGINT handler just before process.exit.
//
// A resumed import (see checkpoint.js) keeps the records of the lines below its checkpoint and drops the
// others (their lines are read again, and recorded again if they fail again), then appends.

const fs = require('node:fs')

const FLUSH_BYTES = 64 * 1024

class DeadLetterFile {
  constructor(path, fsImpl = fs) {
    this.path = path
    this.fs = fsImpl
    this.fd = null
    this.append = false
    this.pending = []
    this.pendingBytes = 0
    this.count = 0 // records of this run
    this.kept = 0 // records kept from earlier runs of a resumed import
  }

  /** Whether the file holds anything (this run's records, or records kept from before). */
  get created() {
    return this.count + this.kept > 0
  }

  /** record: { input, line, operation, reason, message, attempts, item, raw? } */
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
    if (this.fd === null) this.fd = this.fs.openSync(this.path, this.append ? 'a' : 'w')
    const data = Buffer.from(this.pending.join(''))
    this.pending = []
    this.pendingBytes = 0
    // writeSync may write less than asked (e.g. on a full pipe or disk quota edge); loop until done
    let off = 0
    while (off < data.length) off += this.fs.writeSync(this.fd, data, off, data.length - off)
  }

  /** Everything recorded so far is on disk (a checkpoint may then say so). */
  sync() {
    this.flushSync()
    if (this.fd !== null) this.fs.fsyncSync(this.fd)
  }

  /**
   * For a resumed import: keeps the records for which keep(record) is true (a line that is not a complete
   * record, as a crash can leave last, is dropped), rewrites the file atomically, and appends from then on.
   * Resolves to the number of records kept.
   */
  async resume(keep) {
    this.append = true
    let text
    try {
      text = await this.fs.promises.readFile(this.path, 'utf8')
    } catch (e) {
      if (e.code === 'ENOENT') return 0
      throw e
    }
    const kept = []
    for (const line of text.split('\n')) {
      let record
      try {
        record = JSON.parse(line)
      } catch {
        continue
      }
      if (record !== null && typeof record === 'object' && keep(record)) kept.push(line + '\n')
    }
    const tmp = `${this.path}.tmp-${process.pid}`
    this.fs.writeFileSync(tmp, kept.join(''))
    this.fs.renameSync(tmp, this.path)
    this.kept = kept.length
    return kept.length
  }

  close() {
    this.flushSync()
    if (this.fd !== null) {
      this.fs.closeSync(this.fd)
      this.fd = null
    }
  }
}

/** The same surface over a caller's function: importFrom({ failedOut: (record) => … }). */
class DeadLetterFunction {
  constructor(fn) {
    this.fn = fn
    this.path = null
    this.count = 0
    this.kept = 0
  }
  get created() {
    return this.count > 0
  }
  write(record) {
    this.count++
    this.fn(record)
  }
  flushSync() {}
  sync() {}
  async resume() {
    return 0
  }
  close() {}
}

module.exports = { DeadLetterFile, DeadLetterFunction }
