'use strict'
// Progress on stderr: on a terminal one line redrawn in place (at most every 200 ms), otherwise a plain status
// line every few seconds (logs and CI keep every line, so redrawing would only add noise).

const RATE_WINDOW_MS = 5000

function int(n) {
  return Math.round(n).toLocaleString('en-US')
}

function wcu(n) {
  return n >= 100 ? int(n) : n.toFixed(1)
}

function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/**
 * Percent done and seconds left, from a byte-based estimate of the total: the lines read so far scaled by
 * total/read bytes (reading runs ahead of writing by the writer's buffer, so counting bytes alone would
 * report 100% while thousands of items still wait). Undefined when the size is unknown.
 */
function estimate({ read, done, bytesRead, totalBytes, rate }) {
  if (!totalBytes || !bytesRead || read === 0) return undefined
  const total = bytesRead >= totalBytes ? read : Math.max(read, (read * totalBytes) / bytesRead)
  const fraction = total > 0 ? Math.min(1, done / total) : 0
  const etaMs = rate > 0 ? ((total - done) / rate) * 1000 : undefined
  return { percent: fraction * 100, etaMs }
}

/**
 * One status line (no newline). `s`: { read, written, skipped?, failed, invalid, wcu, rate, elapsedMs, bytesRead?,
 * totalBytes?, files?, filesDone? } where failed counts everything not written and invalid the part of it that was bad input.
 */
function formatStatus(s) {
  const parts = [`${int(s.read)} read`, `${int(s.written)} written`]
  if (s.skipped) parts.push(`${int(s.skipped)} skipped`)
  if (s.failed) parts.push(`${int(s.failed)} failed${s.invalid ? ` (${int(s.invalid)} invalid)` : ''}`)
  parts.push(`${int(s.rate)} items/s`, `${wcu(s.wcu)} WCU`)
  if (s.files > 1) parts.push(`${int(s.filesDone)}/${int(s.files)} files`)
  const est = estimate({ read: s.read, done: s.written + (s.skipped || 0) + s.failed, bytesRead: s.bytesRead, totalBytes: s.totalBytes, rate: s.rate })
  if (est) {
    parts.push(`${est.percent.toFixed(1)}%`)
    if (est.etaMs !== undefined && est.percent < 100) parts.push(`ETA ${duration(est.etaMs)}`)
  }
  return `${duration(s.elapsedMs)} ${parts.join(', ')}`
}

/** Items per second over the last few seconds, from (time, written) samples. */
class RateMeter {
  constructor(windowMs = RATE_WINDOW_MS) {
    this.windowMs = windowMs
    this.samples = []
  }
  sample(now, count) {
    this.samples.push([now, count])
    while (this.samples.length > 2 && now - this.samples[1][0] >= this.windowMs) this.samples.shift()
    const [t0, c0] = this.samples[0]
    return now > t0 ? ((count - c0) * 1000) / (now - t0) : 0
  }
}

/**
 * Drives the status output. `sample()` returns the counts of formatStatus without rate and elapsedMs.
 * `log(text)` prints a message line without tearing the redrawn status line.
 */
class Progress {
  constructor({ stream, tty = !!stream.isTTY, intervalMs, sample, enabled = true, now = Date.now }) {
    this.stream = stream
    this.tty = tty
    this.intervalMs = tty ? 200 : intervalMs || 5000
    this.sampleFn = sample
    this.enabled = enabled
    this.now = now
    this.started = now()
    this.meter = new RateMeter()
    this.timer = null
    this.shown = false // a status line is on screen (TTY)
  }

  start() {
    if (!this.enabled || this.timer) return
    this.meter.sample(this.now(), 0)
    this.timer = setInterval(() => this.render(), this.intervalMs)
    this.timer.unref() // never what keeps the process alive
  }

  line() {
    const now = this.now()
    const s = this.sampleFn()
    return formatStatus({ ...s, rate: this.meter.sample(now, s.written + (s.skipped || 0) + s.failed), elapsedMs: now - this.started })
  }

  render() {
    let text = this.line()
    if (this.tty) {
      // Wider than the terminal would wrap, and \r would then redraw only the last row.
      const cols = this.stream.columns || 80
      if (text.length > cols - 1) text = text.slice(0, cols - 1)
      this.stream.write(`\r${text}\x1b[K`)
      this.shown = true
    } else {
      this.stream.write(`${text}\n`)
    }
  }

  clear() {
    if (this.tty && this.shown) {
      this.stream.write('\r\x1b[K')
      this.shown = false
    }
  }

  log(text) {
    this.clear()
    this.stream.write(`${text}\n`)
  }

  stop() {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.clear()
  }
}

module.exports = { Progress, RateMeter, formatStatus, estimate, duration }
