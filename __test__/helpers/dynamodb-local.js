'use strict'
// AWS's own DynamoDB Local (a Java program) on a free port, for tests that want a second, stricter server
// than dynalite (and the features dynalite lacks, such as transactions). Same shape as startDynalite():
// `{ endpoint, port, close }`; clientOptions() and uniqueTableName() from dynalite.js work with it.
//
// Where it comes from: the npm package amplify-dynamodb-simulator ships DynamoDB Local (emulator/). It is not
// a devDependency on purpose: its own dependencies (the Amplify CLI core, aws-cdk-lib, typescript-json-
// schema...) made `npm ci` install 285 more packages, 17,000 more files and 326 MB more node_modules
// (463 MB instead of 137 MB) and take 44 s instead of 8 s on the 2-core development machine, for two
// folders. So the first start fetches the pinned tarball with `npm pack` (54 MB, about 2 s; npm's own
// cache serves it after that), checks its sha512 against the pin below, and unpacks emulator/ into
// node_modules/.cache/dynamodb-local/<version>/ (about 1 s), where later starts find it.
//
// It listens on every interface (Jetty's wildcard address, IPv4 and IPv6: DynamoDB Local has no option to
// choose one); tests only ever connect to 127.0.0.1. It contacts nothing: telemetry is off through
// DDB_LOCAL_TELEMETRY=0 (see startOnce). -sharedDb gives every credential and region one database, as
// dynalite does, so the SDK and dynabatch see the same tables whatever their options.

const { spawn, spawnSync, execFile } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const path = require('node:path')

const PACKAGE = 'amplify-dynamodb-simulator'
const VERSION = '2.9.30' // ships DynamoDB Local 1.25.1
const INTEGRITY = 'sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ=='

const ROOT = path.join(__dirname, '..', '..')
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'dynamodb-local')
const HOME = path.join(CACHE, VERSION)
const MARKER = '.dynabatch-verified' // written last, so a folder without it is an interrupted unpack
const GUARD = path.join(__dirname, 'dynamodb-local-guard.js')

const JAVA_MISSING = 'java is not installed (DynamoDB Local needs a Java runtime on PATH or in JAVA_HOME)'

function javaCommand() {
  const home = process.env.JAVA_HOME
  const exe = process.platform === 'win32' ? 'java.exe' : 'java'
  return home && fs.existsSync(path.join(home, 'bin', exe)) ? path.join(home, 'bin', exe) : 'java'
}

let javaChecked
// True when `java -version` runs. Tests that need DynamoDB Local skip with skipReason() otherwise.
function javaAvailable() {
  if (javaChecked === undefined) {
    const r = spawnSync(javaCommand(), ['-version'], { stdio: 'ignore', timeout: 30_000 })
    javaChecked = !r.error && r.status === 0
  }
  return javaChecked
}

// For node:test's `skip` option: false when DynamoDB Local can run, else the reason printed with the skip.
function skipReason() {
  return javaAvailable() ? false : JAVA_MISSING
}

function run(cmd, args, options) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024, timeout: 10 * 60_000, ...options }, (err, stdout, stderr) => {
      if (err) {
        err.message = `${err.message.trim()}\n${stderr}` // execFile's message names the command
        reject(err)
      } else resolve(stdout)
    })
  })
}

// npm itself: the one that runs us under `npm test`, else the npm on PATH.
function npm(args, options) {
  const cli = process.env.npm_execpath
  if (cli && /npm-cli\.js$/.test(cli)) return run(process.execPath, [cli, ...args], options)
  if (process.platform === 'win32') return run('npm.cmd', args, { ...options, shell: true })
  return run('npm', args, options)
}

// The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib/, fetched and unpacked on first use.
async function ensureDynamoDBLocal() {
  if (fs.existsSync(path.join(HOME, MARKER))) return HOME
  fs.mkdirSync(CACHE, { recursive: true })
  const work = fs.mkdtempSync(path.join(CACHE, `.fetch-${process.pid}-`))
  try {
    // --prefer-offline: npm's cache answers when it has the tarball, so nothing is downloaded twice.
    await npm(['pack', `${PACKAGE}@${VERSION}`, '--pack-destination', work, '--prefer-offline', '--ignore-scripts', '--loglevel=error'], {
      cwd: work,
    })
    const tgz = path.join(work, `${PACKAGE}-${VERSION}.tgz`)
    const digest = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tgz)).digest('base64')}`
    if (digest !== INTEGRITY) throw new Error(`${PACKAGE}@${VERSION}: integrity ${digest} is not the pinned ${INTEGRITY}`)
    await run('tar', ['-xzf', tgz, '-C', work, 'package/emulator'])
    const emulator = path.join(work, 'package', 'emulator')
    if (!fs.existsSync(path.join(emulator, 'DynamoDBLocal.jar'))) throw new Error(`${PACKAGE}@${VERSION} has no emulator/DynamoDBLocal.jar`)
    fs.writeFileSync(path.join(emulator, MARKER), `${PACKAGE}@${VERSION} ${INTEGRITY}\n`)
    try {
      fs.renameSync(emulator, HOME)
    } catch {
      // Another process unpacked it at the same time: theirs is as good as ours.
      if (!fs.existsSync(path.join(HOME, MARKER))) {
        // An interrupted unpack left a folder without the marker: replace it.
        fs.rmSync(HOME, { recursive: true, force: true })
        fs.renameSync(emulator, HOME)
      }
    }
    return HOME
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
}

// A port that is free now (the JVM binds it a moment later; a lost race is retried by startDynamoDBLocal).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

// One real request: resolves true when the server at `port` answers ListTables as DynamoDB does and echoes
// our CORS origin. The JVM was started with `-cors <origin>`, a random one, so only our JVM echoes it: a
// lost port race (someone else answering on that port) cannot pass for a start.
function answersListTables(port, origin) {
  return new Promise((resolve) => {
    const body = '{}'
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent: false,
        timeout: 2000,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          'content-length': Buffer.byteLength(body),
          origin,
          // DynamoDB Local wants an Authorization header but does not check the signature.
          authorization:
            'AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
        },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c) => (text += c))
        res.on('end', () => {
          try {
            const ours = res.headers['access-control-allow-origin'] === origin
            resolve(ours && res.statusCode === 200 && Array.isArray(JSON.parse(text).TableNames))
          } catch {
            resolve(false)
          }
        })
        res.on('error', () => resolve(false))
      },
    )
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
    req.end(body)
  })
}

// A log4j2 configuration that logs everything (DynamoDB Local's own one logs warnings only).
function debugLogConfig(home) {
  const file = path.join(home, 'log4j2-debug.xml')
  if (!fs.existsSync(file)) {
    fs.writeFileSync(
      file,
      '<?xml version="1.0" encoding="UTF-8"?>\n<Configuration status="WARN">\n' +
        '  <Appenders><Console name="Console" target="SYSTEM_OUT"><PatternLayout pattern="%p %c %m%n"/></Console></Appenders>\n' +
        '  <Loggers><Root level="DEBUG"><AppenderRef ref="Console"/></Root></Loggers>\n</Configuration>\n',
    )
  }
  return file
}

const BIND_FAILED = /Failed to bind|BindException|Address already in use|Could not start server on port/

async function startOnce(home, port, { timeoutMs, debugLog }) {
  const origin = `http://dynabatch-${crypto.randomBytes(8).toString('hex')}`
  const args = [
    // Serial GC: fewer threads on a small machine, and the heap stays small.
    '-XX:+UseSerialGC',
    ...(debugLog ? [`-Dlog4j2.configurationFile=${debugLogConfig(home)}`] : []),
    `-Djava.library.path=${path.join(home, 'DynamoDBLocal_lib')}`,
    '-jar',
    path.join(home, 'DynamoDBLocal.jar'),
    '-inMemory',
    '-sharedDb',
    '-disableTelemetry',
    '-cors',
    origin,
    '-port',
    String(port),
  ]
  const guard = spawn(process.execPath, [GUARD, javaCommand(), ...args], {
    cwd: home,
    stdio: ['pipe', 'pipe', 'pipe'],
    // -disableTelemetry alone is not enough: DynamoDB Local 1.25.1 reads only this variable before it builds
    // its telemetry client, which otherwise calls cognito-identity.us-east-1.amazonaws.com at every start.
    env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' },
  })
  // A forgotten close() must not keep the test process alive; the guard kills the JVM when we exit.
  guard.unref()
  for (const s of [guard.stdin, guard.stdout, guard.stderr]) s.unref?.()
  let output = ''
  let jvmPid
  const keep = (chunk) => {
    output += chunk
    if (output.length > 1_000_000) output = output.slice(-500_000)
    jvmPid ??= Number(/^jvm-pid (\d+)$/m.exec(output)?.[1]) || undefined
  }
  guard.stdout.setEncoding('utf8').on('data', keep)
  guard.stderr.setEncoding('utf8').on('data', keep)
  guard.stdin.on('error', () => {}) // EPIPE once the guard is gone
  let gone = false
  const exited = new Promise((resolve) =>
    guard.once('exit', (code, signal) => {
      gone = true
      resolve({ code, signal })
    }),
  )

  let closing = null
  const close = () => {
    if (!closing) {
      guard.ref() // keep the event loop alive until the exit is seen
      // The guard kills the JVM when its stdin ends: the same path as when this process dies, and one that
      // works where signals do not (on Windows, kill() would end the guard and orphan the JVM).
      if (!gone) guard.stdin.end()
      closing = exited.then(() => {})
    }
    return closing
  }
  const tail = () => output.slice(-4000)

  const started = Date.now()
  for (;;) {
    if (gone) {
      const { code, signal } = await exited
      const err = new Error(`DynamoDB Local exited (${signal || code}) before answering on port ${port}; its output:\n${tail()}`)
      err.portInUse = BIND_FAILED.test(output)
      err.jvmPid = jvmPid
      throw err
    }
    if (BIND_FAILED.test(output)) {
      // Jetty's main thread died, but its other threads keep the JVM running: stop it and try another port.
      await close()
      const err = new Error(`DynamoDB Local could not bind port ${port}; its output:\n${tail()}`)
      err.portInUse = true
      err.jvmPid = jvmPid
      throw err
    }
    if (await answersListTables(port, origin)) {
      return {
        endpoint: `http://127.0.0.1:${port}`,
        port,
        close,
        jvmPid,
        guardPid: guard.pid,
        startMs: Date.now() - started,
        output: () => output,
      }
    }
    if (Date.now() - started > timeoutMs) {
      await close()
      const err = new Error(`DynamoDB Local did not answer on 127.0.0.1:${port} within ${timeoutMs} ms; its output:\n${tail()}`)
      err.jvmPid = jvmPid
      throw err
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

// Starts DynamoDB Local in memory on a free port (or on `port`) and resolves once it answers ListTables:
// `{ endpoint, port, close, jvmPid, guardPid, startMs, output }`. close() kills the JVM and resolves once it
// has exited; it is idempotent. output() is what the JVM printed (with `debugLog: true`, everything it logs).
// Rejects (never skips) when it cannot start, with the JVM already gone: use skipReason() to skip when java
// is missing. A free port that someone takes before the JVM binds it is replaced by another (three tries);
// a given `port` is tried once.
async function startDynamoDBLocal({ port, timeoutMs = 60_000, debugLog = false } = {}) {
  if (!javaAvailable()) throw new Error(JAVA_MISSING)
  const home = await ensureDynamoDBLocal()
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(home, port ?? (await freePort()), { timeoutMs, debugLog })
    } catch (err) {
      if (port !== undefined || !err.portInUse || attempt === 3) throw err
    }
  }
}

module.exports = { startDynamoDBLocal, javaAvailable, skipReason, ensureDynamoDBLocal, PACKAGE, VERSION, INTEGRITY }
