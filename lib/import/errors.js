'use strict'
// The import's own errors, each with a stable code: InvalidArgument (a bad option or input type),
// InputNotFound (a path that does not exist), InvalidInput (an input that cannot be read as it claims to be:
// a refused encoding, truncated gzip, an export whose manifests do not add up), CheckpointMismatch (a
// checkpoint of another job, or not a checkpoint). Errors from the client (a missing table, no credentials)
// keep their own codes.

class ImportError extends Error {
  constructor(code, message, options) {
    super(message, options)
    this.name = code === 'InvalidArgument' ? 'TypeError' : 'ImportError'
    this.code = code
  }
}

module.exports = { ImportError }
