#!/usr/bin/env node
'use strict'
// dynabatch: load JSON Lines, DynamoDB JSON and DynamoDB export folders into a table (import) or delete by key
// (delete). See `dynabatch --help`; the command line is lib/cli/main.js, the job lib/import/index.js.

const { main } = require('../lib/cli/main.js')

// process.exit: the native client's threads must not keep a finished command alive; stdout and stderr are
// drained first so a piped --json summary is never cut short.
function exit(code) {
  process.exitCode = code
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
}

main(process.argv.slice(2)).then(exit, (e) => {
  process.stderr.write(`dynabatch: unexpected error: ${(e && e.stack) || e}\n`)
  exit(1)
})
