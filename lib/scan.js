'use strict'
// client.scan: an async iterable of the table's items (or, with pages(), of arrays of them). The native scan
// (src/js/scan.rs, the core's src/scan.rs) reads the segments in parallel in Rust and queues at most
// `bufferPages` pages ahead of this consumer; each next() of the native handle brings every page queued
// since the previous one in one hop (each as JSON made on the reading task), and pages are decoded here
// one at a time, as they are needed.

const native = require('./native.js')
const { decodePage } = require('./codec.js')
const { checkSignal } = require('./batch-get.js')

const DONE = Object.freeze({ done: true, value: undefined })

class Scan {
  constructor(client, table, options) {
    const [nw, vw, vb] = client._cond(options)
    this._native = client._native.scan(table, options, nw, vw, vb)
    const signal = options !== null && typeof options === 'object' ? options.signal : undefined
    checkSignal(signal)
    this._signal = signal
    this._used = false
  }

  /** The items, one at a time. */
  [Symbol.asyncIterator]() {
    const pages = this._pages()
    let page = []
    let i = 0
    return {
      next: async () => {
        while (i >= page.length) {
          const p = await pages.next()
          if (p.done) return DONE
          page = p.value
          i = 0
        }
        return { done: false, value: page[i++] }
      },
      return: async () => {
        page = []
        return pages.return()
      },
      [Symbol.asyncIterator]() {
        return this
      },
    }
  }

  /** The items in arrays, one per Scan page read (pages a filter emptied are skipped). */
  pages() {
    const pages = this._pages()
    return {
      next: () => pages.next(),
      return: () => pages.return(),
      [Symbol.asyncIterator]() {
        return this
      },
    }
  }

  _pages() {
    if (this._used) throw native.invalidArgument('a scan is iterated once: call client.scan again to read the table again')
    this._used = true
    const nat = this._native
    let queue = []
    let q = 0
    let finished = false
    let unlisten = () => {}
    const signal = this._signal
    if (signal) {
      const onAbort = () => nat.abort()
      if (signal.aborted) onAbort()
      else {
        signal.addEventListener('abort', onAbort, { once: true })
        unlisten = () => signal.removeEventListener('abort', onAbort)
      }
    }
    const finish = () => {
      finished = true
      queue = []
      unlisten()
    }
    return {
      next: async () => {
        if (q >= queue.length) {
          if (finished) return DONE
          let got
          try {
            got = await nat.next()
          } catch (e) {
            finish()
            throw e
          }
          if (got === null) {
            finish()
            return DONE
          }
          queue = got
          q = 0
        }
        const p = queue[q]
        queue[q++] = undefined
        return { done: false, value: decodePage(p) }
      },
      return: async () => {
        if (!finished) {
          nat.close()
          finish()
        }
        return DONE
      },
    }
  }

  /** What the scan has read so far: pages, items, scanned, consumedRcu, segments, segmentsDone, elapsedMs… */
  get metrics() {
    const { clean } = require('./client.js') // not at load time: client.js requires this file
    const m = clean(this._native.metrics)
    if (m.rateLimit) clean(m.rateLimit)
    return m
  }

  /** Stops the scan: no more reads; an iteration under way ends. */
  close() {
    this._native.close()
  }
}

module.exports = { Scan }
