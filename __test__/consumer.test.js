'use strict'
// The package as a user gets it. The main package is packed as the release publishes it (npm pack, then the
// manifest of scripts/publish-manifest.js: optional platform packages, no prepare), the platform package is
// npm/<platform> with the built binary copied in (what `napi artifacts` does in the release workflow), and a
// fresh consumer project installs both tarballs offline. Everything below runs in that project: require and
// import, strict TypeScript 5 and 7, the CLI through npx, esbuild bundles, and the loader's errors.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { DynamoDBClient } = require('dynabatch')
const { startDynalite, clientOptions, uniqueTableName, countItems } = require('./helpers/dynalite.js')
const { publishedManifest, platformsOf } = require('../scripts/publish-manifest.js')

const ROOT = path.join(__dirname, '..')
const PKG = require('../package.json')
const ADDON = fs.readdirSync(ROOT).find((f) => /^dynabatch\..+\.node$/.test(f))
const PLATFORM = ADDON && ADDON.slice('dynabatch.'.length, -'.node'.length)
const PLATFORM_DIR = PLATFORM && path.join(ROOT, 'npm', PLATFORM)
const skip = !ADDON
  ? 'no built addon (npm run build)'
  : !fs.existsSync(PLATFORM_DIR)
    ? `no npm/${PLATFORM} package`
    : false
const WINDOWS = process.platform === 'win32'

// Every export of the package (the ESM entry must list the same names as the CommonJS one).
const API = [
  'AdaptiveRate',
  'BatchGetError',
  'BatchWriteError',
  'BatchWriter',
  'DynabatchError',
  'DynamoDBClient',
  'FixedRate',
  'InvalidItemError',
  'NumberValue',
  'SuppressedError',
  'importFrom',
  'withBatch',
]

let tmp // everything of this test: tarballs, the consumer project, bundles
let consumer
let dyn
let client
let main // { file, size, files } of the main tarball
let platformTgz

// Static dummy credentials, no shared config, no instance metadata: nothing here reaches AWS. npm works
// offline from its cache and never asks the registry.
function env(extra = {}) {
  const e = { ...process.env }
  // Without what `npm test` exports to its scripts (npm_config_local_prefix would point npm at this repository).
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry'])
  for (const k of Object.keys(e)) if (k.startsWith('AWS_') || (k.startsWith('npm_') && !keep.has(k))) delete e[k]
  return {
    ...e,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: path.join(tmp, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    ...extra,
  }
}

// Child processes run asynchronously: dynalite answers them from this very process.
function run(cmd, args, { cwd = consumer, extraEnv } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: env(extraEnv), shell: WINDOWS })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000)
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('error', reject)
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, stdout, stderr })
    })
  })
}
async function ok(cmd, args, opts) {
  const r = await run(cmd, args, opts)
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`)
  return r
}
const node = (args, opts) => run(process.execPath, args, opts)
// A script's last stdout line is its JSON report.
const report = (r) => JSON.parse(r.stdout.trim().split('\n').pop())

async function pack(dir) {
  const r = await ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', path.join(tmp, 'tarballs')], {
    cwd: dir,
  })
  const [info] = JSON.parse(r.stdout)
  return { file: path.join(tmp, 'tarballs', info.filename), size: info.size, files: info.files.map((f) => f.path) }
}

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, text)
  return file
}

// Files the package's own code needs and the tarball lacks: every relative require/import of every packed
// script, and every entry point of package.json. binding.js also probes optional files (a .node built next
// to it, a WASI loader) that a package legitimately does not have.
function missingFiles(files, readFile, manifest) {
  const have = new Set(files)
  const missing = new Set()
  const need = (from, spec) => {
    const base = path.posix.join(path.posix.dirname(from), spec)
    const candidates = [base, `${base}.js`, `${base}.json`, path.posix.join(base, 'index.js')]
    if (base === '.') candidates.push(path.posix.normalize(manifest.main))
    if (!candidates.some((f) => have.has(f))) missing.add(base)
  }
  for (const f of files.filter((f) => /\.(c|m)?js$/.test(f))) {
    const text = readFile(f)
    for (const m of text.matchAll(/(?:require\(|import\(|\bfrom\s)\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      if (!/\.node$|\.wasi\.cjs$/.test(m[1])) need(f, m[1])
    }
  }
  const entries = [manifest.main, manifest.types, ...Object.values(manifest.bin || {})]
  for (const c of Object.values(manifest.exports || {}))
    entries.push(...(typeof c === 'string' ? [c] : Object.values(c)))
  for (const e of entries.filter(Boolean)) need('package.json', e)
  return [...missing]
}

describe('consumer project: the packed packages installed from their tarballs', { skip }, () => {
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dynabatch-consumer-'))
    consumer = path.join(tmp, 'consumer')
    fs.mkdirSync(path.join(tmp, 'tarballs'))

    // The main package as published: packed from the repository, then given the release manifest.
    const first = await pack(ROOT)
    const stage = path.join(tmp, 'stage-main')
    fs.mkdirSync(stage)
    await ok('tar', ['-xzf', first.file, '-C', stage], { cwd: tmp })
    fs.rmSync(first.file)
    const manifestFile = path.join(stage, 'package', 'package.json')
    const manifest = publishedManifest(
      JSON.parse(fs.readFileSync(manifestFile, 'utf8')),
      await platformsOf(path.join(ROOT, 'package.json')),
    )
    fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2))
    main = await pack(path.join(stage, 'package'))

    // The platform package: npm/<platform> with the binary the build produced.
    const platformStage = path.join(tmp, `stage-${PLATFORM}`)
    fs.cpSync(PLATFORM_DIR, platformStage, { recursive: true })
    fs.copyFileSync(path.join(ROOT, ADDON), path.join(platformStage, ADDON))
    platformTgz = await pack(platformStage)
    console.log(
      `tarballs: ${path.basename(main.file)} ${(main.size / 1024).toFixed(1)} KB (${main.files.length} files), ` +
        `${path.basename(platformTgz.file)} ${(platformTgz.size / 1024 / 1024).toFixed(2)} MB`,
    )

    dyn = await startDynalite()
    client = new DynamoDBClient(clientOptions(dyn.endpoint))
  })
  after(async () => {
    if (dyn) await dyn.close()
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('the main tarball holds every file its code and entry points need, and no binary', () => {
    const dir = path.join(tmp, 'stage-main', 'package')
    const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8')
    const manifest = JSON.parse(read('package.json'))
    assert.deepEqual(missingFiles(main.files, read, manifest), [])
    for (const f of [
      'index.js',
      'index.mjs',
      'index.d.ts',
      'binding.js',
      'lib/native.js',
      'lib/codec.js',
      'bin/dynabatch.js',
    ]) {
      assert.ok(main.files.includes(f), f)
    }
    assert.deepEqual(
      main.files.filter((f) => f.endsWith('.node')),
      [],
    )
    // The check is not vacuous: a package without one of its modules is caught.
    const without = main.files.filter((f) => f !== 'lib/cli/progress.js')
    assert.deepEqual(missingFiles(without, read, manifest), ['lib/cli/progress.js'])
    assert.deepEqual(
      missingFiles(
        main.files.filter((f) => f !== 'index.mjs'),
        read,
        manifest,
      ),
      ['index.mjs'],
    )

    // The release manifest: every napi target as an optional dependency at this version, no install scripts.
    for (const dep of Object.keys(manifest.optionalDependencies))
      assert.equal(manifest.optionalDependencies[dep], PKG.version, dep)
    assert.equal(manifest.optionalDependencies[`dynabatch-${PLATFORM}`], PKG.version)
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(manifest.scripts[s], undefined, s)
    assert.deepEqual(manifest.dependencies, undefined)
  })

  it('the platform tarball is the binary and its manifest, for this platform only', () => {
    assert.deepEqual([...platformTgz.files].sort(), [ADDON, 'README.md', 'package.json'].sort())
    const m = JSON.parse(fs.readFileSync(path.join(PLATFORM_DIR, 'package.json'), 'utf8'))
    assert.equal(m.name, `dynabatch-${PLATFORM}`)
    assert.equal(m.version, PKG.version)
    assert.equal(m.main, ADDON)
    assert.deepEqual(m.os, [process.platform])
    assert.deepEqual(m.cpu, [process.arch])
    if (process.platform === 'linux') assert.deepEqual(m.libc, [PLATFORM.endsWith('-musl') ? 'musl' : 'glibc'])
  })

  it('installs offline in a fresh project without compiling or running anything', async () => {
    write(
      path.join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2),
    )
    // A TypeScript project has Node's types; from npm's cache (they are a dev dependency of this repository).
    const typesVersion = require('@types/node/package.json').version
    await ok('npm', ['install', '--prefer-offline', '--save-dev', `@types/node@${typesVersion}`])

    // Compilers and build tools on PATH that only record being called.
    const shims = path.join(tmp, 'shims')
    const called = path.join(tmp, 'compilers-called.log')
    if (!WINDOWS) {
      for (const tool of ['cargo', 'rustc', 'rustup', 'napi', 'node-gyp', 'cc', 'gcc', 'make']) {
        write(path.join(shims, tool), `#!/bin/sh\necho "${tool} $*" >> '${called}'\nexit 1\n`)
        fs.chmodSync(path.join(shims, tool), 0o755)
      }
    }
    const started = process.hrtime.bigint()
    const r = await ok('npm', ['install', '--offline', '--foreground-scripts', main.file, platformTgz.file], {
      extraEnv: { PATH: `${shims}${path.delimiter}${process.env.PATH}` },
    })
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    console.log(`consumer install (npm install --offline of the two tarballs): ${seconds.toFixed(1)} s`)

    assert.equal(fs.existsSync(called), false, fs.existsSync(called) ? fs.readFileSync(called, 'utf8') : '')
    assert.doesNotMatch(r.stdout + r.stderr, /install-scripts|ensure-built|cargo/)
    const installed = path.join(consumer, 'node_modules', 'dynabatch')
    assert.deepEqual(
      fs.readdirSync(installed).filter((f) => f.endsWith('.node') || f === 'target'),
      [],
    )
    const lock = JSON.parse(fs.readFileSync(path.join(consumer, 'package-lock.json'), 'utf8'))
    for (const [where, entry] of Object.entries(lock.packages)) assert.ok(!entry.hasInstallScript, where)
  })

  it('require and import give the full API, loading the binary from the platform package', async () => {
    const table = uniqueTableName('consumer_esm')
    await client.createTable(table, { partitionKey: { name: 'pk', type: 'S' } })
    write(
      path.join(consumer, 'check.cjs'),
      `const m = require('dynabatch')
console.log(JSON.stringify({
  keys: Object.keys(m).sort(),
  functions: Object.keys(m).filter((k) => typeof m[k] === 'function').sort(),
  resolved: require.resolve('dynabatch'),
  binaries: Object.keys(require.cache).filter((k) => k.endsWith('.node')),
}))
`,
    )
    write(
      path.join(consumer, 'check.mjs'),
      `import * as esm from 'dynabatch'
import lib, { DynamoDBClient, withBatch } from 'dynabatch'
import { createRequire } from 'node:module'
const cjs = createRequire(import.meta.url)('dynabatch')
const [endpoint, table] = process.argv.slice(2)
const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
const result = await withBatch(client, table, (b) => b.putMany([{ pk: 'a', n: 1 }, { pk: 'b', n: 2n }]))
console.log(JSON.stringify({
  keys: Object.keys(esm).filter((k) => k !== 'default').sort(),
  sameObjects: lib === cjs && Object.keys(cjs).every((k) => esm[k] === cjs[k]),
  resolved: import.meta.resolve('dynabatch'),
  putsWritten: result.putsWritten,
  read: await client.getItem(table, { pk: 'b' }),
}))
`,
    )
    const c = report(await ok(process.execPath, ['check.cjs']))
    assert.deepEqual(c.keys, API)
    assert.deepEqual(c.functions, API)
    assert.equal(c.resolved, path.join(fs.realpathSync(consumer), 'node_modules', 'dynabatch', 'index.js'))
    assert.deepEqual(c.binaries, [path.join(fs.realpathSync(consumer), 'node_modules', `dynabatch-${PLATFORM}`, ADDON)])

    const e = report(await ok(process.execPath, ['check.mjs', dyn.endpoint, table]))
    assert.deepEqual(e.keys, API)
    assert.equal(e.sameObjects, true)
    assert.match(e.resolved, /\/node_modules\/dynabatch\/index\.mjs$/)
    assert.equal(e.putsWritten, 2)
    assert.deepEqual(e.read, { pk: 'b', n: 2 })
    assert.deepEqual(await client.getItem(table, { pk: 'a' }), { pk: 'a', n: 1 })
  })

  it("the typings compile in a strict project with the user's own types (TypeScript 5 and 7; node16 and bundler)", async () => {
    const source = `import { BatchWriteError, BatchWriter, DynamoDBClient, NumberValue, withBatch, type BatchWriteResult, type ReadItem } from 'dynabatch'

interface User { pk: string; age: number; tags: string[] }

export async function load(client: DynamoDBClient, users: User[], loose: Record<string, unknown>): Promise<BatchWriteResult> {
  await client.putItem('users', users[0])
  await client.putItem('users', loose)
  const found: User | undefined = await client.getItem<User>('users', { pk: users[0].pk })
  const age: number | undefined = found?.age
  const untyped: ReadItem | undefined = await client.getItem('users', { pk: 'x' })
  const bytes = untyped?.data instanceof Buffer ? untyped.data.byteLength : 0
  await client.deleteItem('users', { pk: users[0].pk })

  const writer = new BatchWriter<User>(client, 'users', { maxRetries: 3 })
  await writer.put(users[0])
  await writer.putMany(users)
  await writer.delete({ pk: 'gone' })
  // @ts-expect-error a User's pk is a string
  await writer.put({ pk: 1, age: 2, tags: [] })
  const looseWriter = new BatchWriter<Record<string, unknown>>(client, 'users')
  await looseWriter.put(loose)
  await looseWriter.close()

  await withBatch<User>(client, 'users', (b) => b.putMany(users))
  await withBatch(client, 'users', async (b: BatchWriter<User>) => {
    for (const u of users) await b.put(u)
  })
  try {
    await withBatch(client, 'users', (b) => b.put({ pk: 'p', n: new NumberValue('0.1') }))
  } catch (e) {
    if (e instanceof BatchWriteError) void e.failed.map((f) => [f.reason, f.item])
  }
  {
    await using scoped = new BatchWriter<User>(client, 'users')
    void scoped.put(users[0])
  }
  void [age, bytes]
  return writer.close()
}
`
    write(path.join(consumer, 'src', 'app.ts'), source)
    write(path.join(consumer, 'src', 'app.mts'), source)
    // No "types": TypeScript 5 includes every @types package, 7 none: the typings reference Node's themselves.
    const base = {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: 'ES2022',
      lib: ['ES2022', 'ESNext.Disposable'],
    }
    const configs = {
      node16: { ...base, module: 'node16', moduleResolution: 'node16' },
      bundler: { ...base, module: 'esnext', moduleResolution: 'bundler' },
    }
    for (const [name, compilerOptions] of Object.entries(configs)) {
      write(
        path.join(consumer, `tsconfig.${name}.json`),
        JSON.stringify({ compilerOptions, include: ['src'] }, null, 2),
      )
    }
    for (const ts of ['typescript', 'typescript7']) {
      const tsc = path.join(ROOT, 'node_modules', ts, 'bin', 'tsc')
      const version = (await ok(process.execPath, [tsc, '--version'])).stdout.trim()
      for (const name of Object.keys(configs)) {
        const r = await node([tsc, '-p', `tsconfig.${name}.json`, '--pretty', 'false'])
        assert.equal(r.status, 0, `${version}, ${name}:\n${r.stdout}${r.stderr}`)
        // The program really read the package's typings (not a stub or an any).
        const files = (await ok(process.execPath, [tsc, '-p', `tsconfig.${name}.json`, '--listFilesOnly'])).stdout
        assert.match(files, /node_modules\/dynabatch\/index\.d\.ts/, `${version}, ${name}`)
        assert.match(files, /node_modules\/@types\/node\//, `${version}, ${name}`)
      }
      console.log(`${version}: node16 and bundler compile`)
    }
  })

  it('npx dynabatch --help exits 0, and npx dynabatch import loads a JSON Lines file into dynalite', async () => {
    const npxEnv = { extraEnv: { npm_config_offline: 'true' } }
    const help = await ok('npx', ['dynabatch', '--help'], npxEnv)
    assert.match(help.stdout, /dynabatch import <input\.\.\.> --table <name>/)

    const table = uniqueTableName('consumer_cli')
    const users = Array.from({ length: 300 }, (_, i) => ({ pk: `user#${i}`, age: 20 + (i % 50), tags: ['a', `t${i}`] }))
    write(path.join(consumer, 'users.jsonl'), users.map((u) => JSON.stringify(u)).join('\n') + '\n')
    const args = [
      'dynabatch',
      'import',
      'users.jsonl',
      '--table',
      table,
      '--create-table',
      'pk:S',
      '--endpoint',
      dyn.endpoint,
    ]
    const r = await ok('npx', [...args, '--region', 'us-east-1', '--json', '--quiet'], npxEnv)
    const summary = JSON.parse(r.stdout)
    assert.equal(summary.read, users.length)
    assert.equal(summary.written, users.length)
    assert.equal(summary.failed, 0)
    assert.equal(await countItems(dyn.endpoint, table), users.length)
    assert.deepEqual(await client.getItem(table, { pk: 'user#7' }), users[7])
  })

  describe('esbuild bundles of a handler that imports dynabatch', () => {
    const esbuild = path.join(ROOT, 'node_modules', '.bin', 'esbuild')
    const handler = `import { DynamoDBClient, withBatch } from 'dynabatch'

interface Order { pk: string; qty: number }

export async function handler(event: { endpoint: string; table: string; orders: Order[] }): Promise<number> {
  const client = new DynamoDBClient({ endpoint: event.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  const result = await withBatch<Order>(client, event.table, (b) => b.putMany(event.orders))
  return result.putsWritten
}
`
    // Runs a bundle's handler as a Lambda runtime would (an import, then a call), from `cwd`.
    const runner = `import { pathToFileURL } from 'node:url'
const [file, event] = process.argv.slice(2)
try {
  const { handler } = await import(pathToFileURL(file).href)
  console.log(JSON.stringify({ written: await handler(JSON.parse(event)) }))
} catch (e) {
  console.log(JSON.stringify({ code: e.code, message: e.message }))
}
`
    let orders = 0
    async function invoke(bundle) {
      const table = uniqueTableName('consumer_bundle')
      await client.createTable(table, { partitionKey: { name: 'pk', type: 'S' } })
      const event = {
        endpoint: dyn.endpoint,
        table,
        orders: [1, 2, 3].map((q) => ({ pk: `order#${++orders}`, qty: q })),
      }
      const out = report(
        await node([path.join(tmp, 'runner.mjs'), bundle, JSON.stringify(event)], { cwd: path.dirname(bundle) }),
      )
      if (out.written !== undefined) {
        assert.equal(out.written, 3)
        assert.equal(await countItems(dyn.endpoint, table), 3)
        assert.deepEqual(await client.getItem(table, { pk: event.orders[2].pk }), event.orders[2])
      }
      return out
    }
    function bundle(args) {
      return ok(esbuild, ['handler.ts', '--bundle', '--platform=node', '--log-level=warning', ...args])
    }

    before(() => {
      write(path.join(consumer, 'handler.ts'), handler)
      write(path.join(tmp, 'runner.mjs'), runner)
    })

    for (const format of ['esm', 'cjs']) {
      it(`--format=${format} with dynabatch external runs, dynabatch coming from node_modules`, async () => {
        const out = path.join(consumer, 'dist', `handler.${format === 'esm' ? 'mjs' : 'cjs'}`)
        await bundle([`--format=${format}`, '--external:dynabatch', `--outfile=${out}`])
        const text = fs.readFileSync(out, 'utf8')
        assert.doesNotMatch(text, /createRequire|NativeClient/) // dynabatch itself is not in the bundle
        assert.deepEqual(await invoke(out), { written: 3 })
      })
    }

    it('inlined, with the binary not next to the bundle: the error says so and what to do; copied, it runs', async () => {
      // An artifact folder outside the project: no node_modules to fall back on.
      const artifact = path.join(tmp, 'lambda-cjs')
      await bundle(['--format=cjs', '--external:dynabatch-*', `--outfile=${path.join(artifact, 'index.js')}`])
      const failed = await invoke(path.join(artifact, 'index.js'))
      assert.equal(failed.code, 'NativeBindingUnavailable')
      assert.match(failed.message, new RegExp(`cannot load its native binary for ${PLATFORM}`))
      assert.match(failed.message, /It runs from a bundle \(.*lambda-cjs[\\/]index\.js\)/)
      assert.match(failed.message, /--external:dynabatch/)
      assert.match(failed.message, new RegExp(`put dynabatch\\.${PLATFORM}\\.node next to the bundle`))

      fs.copyFileSync(path.join(consumer, 'node_modules', `dynabatch-${PLATFORM}`, ADDON), path.join(artifact, ADDON))
      assert.deepEqual(await invoke(path.join(artifact, 'index.js')), { written: 3 })
    })

    it('inlined with --loader:.node=copy (the binary copied beside the bundle) runs; ESM with the require banner', async () => {
      const banner =
        "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
      const copy = ['--loader:.node=copy']
      const cjsDir = path.join(tmp, 'lambda-copy-cjs')
      await bundle(['--format=cjs', ...copy, `--outdir=${cjsDir}`])
      assert.ok(fs.readdirSync(cjsDir).some((f) => f.endsWith('.node')))
      assert.deepEqual(await invoke(path.join(cjsDir, 'handler.js')), { written: 3 })

      const esm = ['--format=esm', ...copy, '--out-extension:.js=.mjs']
      await bundle([...esm, banner, `--outdir=${path.join(tmp, 'lambda-copy-esm')}`])
      assert.deepEqual(await invoke(path.join(tmp, 'lambda-copy-esm', 'handler.mjs')), { written: 3 })

      await bundle([...esm, `--outdir=${path.join(tmp, 'lambda-copy-esm-no-banner')}`])
      const failed = await invoke(path.join(tmp, 'lambda-copy-esm-no-banner', 'handler.mjs'))
      assert.equal(failed.code, 'NativeBindingUnavailable')
      assert.match(failed.message, /runs from a bundle \(an ES module bundle\)/)
      assert.match(failed.message, /needs a require function: esbuild --banner:js=/)
    })
  })

  describe('the loader error', () => {
    const probe = `try { require('dynabatch'); console.log('{}') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, cause: !!e.cause })) }`

    it('names the missing optional platform package and how to install it', async () => {
      const installed = path.join(consumer, 'node_modules', `dynabatch-${PLATFORM}`)
      const aside = path.join(tmp, 'platform-package-aside')
      fs.renameSync(installed, aside)
      try {
        const e = report(await node(['-e', probe]))
        assert.equal(e.code, 'NativeBindingUnavailable')
        assert.equal(e.cause, true)
        assert.match(e.message, new RegExp(`binary for ${PLATFORM} \\(Node ${process.version}\\)`))
        assert.match(
          e.message,
          new RegExp(
            `optional dependency dynabatch-${PLATFORM}@${PKG.version.replace(/\./g, '\\.')}, and it is not installed`,
          ),
        )
        assert.match(e.message, new RegExp(`npm install --os=${process.platform} --cpu=${process.arch}`))
      } finally {
        fs.renameSync(aside, installed)
      }
    })

    it('on a platform without a prebuilt binary, names it and says how to build from source', async () => {
      // Pretend to be a Linux/riscv64 machine: the loader then looks for a package that does not exist.
      write(path.join(tmp, 'riscv64.cjs'), "Object.defineProperty(process, 'arch', { value: 'riscv64' })\n")
      const e = report(await node(['-r', path.join(tmp, 'riscv64.cjs'), '-e', probe]))
      assert.equal(e.code, 'NativeBindingUnavailable')
      const libc =
        process.platform === 'linux' ? `-${PLATFORM.split('-')[2]}` : process.platform === 'win32' ? '-msvc' : ''
      const target = `${process.platform}-riscv64${libc}`
      assert.match(e.message, new RegExp(`There is no prebuilt binary for ${target} \\(prebuilt: linux-x64-gnu, .*\\)`))
      assert.match(e.message, /Build it from source .*"Building from source"/)
      assert.match(e.message, /NAPI_RS_NATIVE_LIBRARY_PATH/)
    })
  })
})
