'use strict'
// Runs DynamoDB Local's JVM as its own child and ties the JVM's life to the test process that started this
// guard (see dynamodb-local.js). Usage: node dynamodb-local-guard.js <java> <java args...>
//
// - Our stdin is a pipe from the test process. When it closes, that process has exited (normally, by
//   process.exit, an uncaught error or a SIGKILL): the JVM is killed, so no java is ever left behind.
// - The helper's close() ends our stdin on purpose, for the same effect; SIGTERM and SIGINT (Ctrl-C) kill
//   the JVM too.
// - We exit only after the JVM has exited, with its status, so the helper's close() can wait for our exit.
// The database is in memory, so there is nothing to flush: SIGKILL is as good as a graceful stop, and faster.

const { spawn } = require('node:child_process')

const [java, ...args] = process.argv.slice(2)
const jvm = spawn(java, args, { stdio: ['ignore', 'inherit', 'inherit'] })
// Written before the JVM prints anything (pipe writes are synchronous): the helper reads the JVM's pid here.
if (jvm.pid) process.stdout.write(`jvm-pid ${jvm.pid}\n`)

const kill = () => {
  if (jvm.exitCode === null && jvm.signalCode === null) jvm.kill('SIGKILL')
}
process.on('SIGTERM', kill)
process.on('SIGINT', kill)
process.stdin.on('end', kill)
process.stdin.on('close', kill)
process.stdin.on('error', kill)
process.stdin.resume()

jvm.on('error', (err) => {
  console.error(`dynamodb-local-guard: cannot start ${java}: ${err.message}`)
  process.exit(127)
})
jvm.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)))
