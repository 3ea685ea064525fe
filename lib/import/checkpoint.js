'use strict'
// The checkpoint file of a resumable import: for each input, the position (line number) below which every
// line is written or dead-lettered. It is replaced atomically (written to a temporary file, synced, renamed),
// so a crash at any moment leaves either the previous checkpoint or the new one, never a torn file.
//
// The job it belongs to is recorded with it (table, operation, format, shard, dead-letter file, and each input
// by path, size and a hash of its first 64 KiB, which survives a re-copy of the same data but not other data),
// and a checkpoint made for another job is refused rather than applied to the wrong lines.

const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')

const FINGERPRINT_BYTES = 64 * 1024
const VERSION = 1

const { ImportError } = require('./errors.js')

const checkpointError = (message) => new ImportError('CheckpointMismatch', message)

/** { path, size, sha256 } of an input file: what a resume compares. */
async function fingerprint(file) {
  const fh = await fs.promises.open(file, 'r')
  try {
    const { size } = await fh.stat()
    const buf = Buffer.alloc(Math.min(size, FINGERPRINT_BYTES))
    let off = 0
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, off)
      if (bytesRead === 0) break
      off += bytesRead
    }
    return { path: file, size, sha256: crypto.createHash('sha256').update(buf.subarray(0, off)).digest('hex') }
  } finally {
    await fh.close()
  }
}

function shardText(s) {
  return s ? `${s.index}/${s.count}` : 'none'
}

// The first difference between the job a checkpoint was made for and this one, in words; null if none.
function difference(saved, job) {
  for (const [key, what, show] of [
    ['table', 'table', String],
    ['operation', 'operation', String],
    ['format', 'format', String],
    ['shard', '--shard', shardText],
    ['failedOut', 'dead-letter file', String],
  ]) {
    const a = show(saved[key])
    const b = show(job[key])
    if (a !== b) return `its ${what} is ${a}, this run's is ${b}`
  }
  const si = saved.inputs || []
  if (si.length !== job.inputs.length) return `it has ${si.length} input file(s), this run has ${job.inputs.length}`
  for (let i = 0; i < si.length; i++) {
    const a = si[i]
    const b = job.inputs[i]
    if (a.path !== b.path) return `its input #${i + 1} is ${a.path}, this run's is ${b.path}`
    if (a.size !== b.size || a.sha256 !== b.sha256) return `the input ${b.path} changed since (size ${a.size} then, ${b.size} now, or other content)`
  }
  return null
}

class Checkpoint {
  /**
   * `job`: { table, operation, format, shard, failedOut, inputs: [{ path, size, sha256 }] }.
   * Use Checkpoint.open(file, job): it reads an existing checkpoint (refusing one of another job) or starts
   * a fresh one, which the caller saves at once (an unwritable path then fails before any work).
   */
  constructor(file, job, positions, complete, fresh) {
    this.file = file
    this.job = job
    this.positions = positions // [{ line, items }] aligned with job.inputs
    this.complete = complete
    this.fresh = fresh // no checkpoint file yet: save() writes the first one
  }

  static async open(file, job) {
    let text
    try {
      text = await fs.promises.readFile(file, 'utf8')
    } catch (e) {
      if (e.code !== 'ENOENT') throw checkpointError(`cannot read the checkpoint ${file}: ${e.message}`)
    }
    if (text === undefined) return new Checkpoint(file, job, job.inputs.map(() => ({ line: 0, items: 0 })), false, true)
    let saved
    try {
      saved = JSON.parse(text)
    } catch {
      saved = null
    }
    if (!saved || saved.dynabatch !== 'checkpoint' || saved.version !== VERSION || !saved.job || !Array.isArray(saved.positions)) {
      throw checkpointError(`${file} is not a dynabatch checkpoint (version ${VERSION}); pass another --checkpoint path`)
    }
    const diff = difference(saved.job, job)
    if (diff) {
      throw checkpointError(
        `the checkpoint ${file} was made for another job: ${diff}. Run the same command as before, or delete the checkpoint (or pass another path) to start over`,
      )
    }
    if (saved.positions.length !== job.inputs.length) throw checkpointError(`${file} is damaged: it records ${saved.positions.length} positions for ${job.inputs.length} inputs`)
    const positions = saved.positions.map((p) => ({ line: Number(p.line) || 0, items: Number(p.items) || 0 }))
    return new Checkpoint(file, job, positions, saved.complete === true, false)
  }

  /** Records `positions` (and whether every input was read to its end): temporary file, fsync, rename. */
  save(positions = this.positions, complete = false) {
    const body = JSON.stringify({
      dynabatch: 'checkpoint',
      version: VERSION,
      job: this.job,
      positions,
      complete,
      savedAt: new Date().toISOString(),
    })
    const tmp = `${this.file}.tmp-${process.pid}`
    const fd = fs.openSync(tmp, 'w')
    try {
      fs.writeFileSync(fd, body + '\n')
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, this.file)
    syncDir(path.dirname(this.file))
    this.positions = positions
    this.complete = complete
    this.fresh = false
  }
}

// The rename itself is durable once the directory is synced (where the platform allows opening one).
function syncDir(dir) {
  let fd
  try {
    fd = fs.openSync(dir, 'r')
    fs.fsyncSync(fd)
  } catch {
    // not supported here (e.g. Windows): the rename is still atomic
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

module.exports = { Checkpoint, fingerprint }
