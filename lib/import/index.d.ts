// Typings of importFrom (lib/import/index.js), re-exported by the package's index.d.ts.
import type { Readable } from 'node:stream'
import type { BatchWriterOptions, DynamoDBClient, FailureReason, KeyAttribute } from '../../index.js'

/** A stream input: a Readable or async iterable of Buffer/Uint8Array or string chunks (gzip is recognised by its bytes). */
export type ImportStream = Readable | AsyncIterable<Buffer | Uint8Array | string>

/** A path (file, directory, or DynamoDB export folder), a stream, or a named stream (the name is used in messages and dead letters). */
export type ImportInput = string | ImportStream | { name: string; stream: ImportStream }

/** One line that was not written, as written to the dead-letter file. */
export interface DeadLetterRecord {
  /** The input the line came from (its path, or a stream's name; `-` for stdin). */
  input: string | null
  /** The line number in that input (1-based). */
  line: number | null
  operation: 'put' | 'delete'
  reason: FailureReason | 'InvalidLine'
  message: string
  attempts: number
  /** The item (or key) in DynamoDB JSON, or null when the line had none. */
  item: Record<string, unknown> | null
  /** The line's text, when it has no item. */
  raw?: string
  /** The line's bytes in base64, when they are not valid UTF-8. */
  rawBase64?: string
}

export interface ImportFileProgress {
  input: string
  read: number
  failed: number
  invalidLines: number
  complete: boolean
}

export interface ImportProgress {
  read: number
  written: number
  skipped: number
  failed: number
  invalidLines: number
  consumedWcu: number
  bytesRead: number
  totalBytes: number | undefined
  files: ImportFileProgress[]
}

export interface ImportFileSummary {
  input: string
  read: number
  /** Lines written (absent when the writer failed as a whole, or with a shard: see writtenOrSkipped). */
  written?: number
  /** With a shard: lines written or left to another shard (the writer does not say which, per file). */
  writtenOrSkipped?: number
  failed: number
  invalidLines: number
  /** Lines done by earlier runs of the same checkpoint, not read again. */
  resumedLines?: number
  /** The item count manifest-files.json gives for this data file. */
  expectedItems?: number
  /** Read to its end without an error. */
  complete: boolean
  error?: string
}

export type ImportEvent =
  | { type: 'badLine'; input: string; line: number; reason: string; message: string }
  | { type: 'error'; input: string; message: string }
  | { type: 'warning'; message: string }
  | { type: 'fileDone'; file: ImportFileSummary }
  | { type: 'table'; table: { tableName: string; status: string; partitionKey?: KeyAttribute; sortKey?: KeyAttribute } }
  | { type: 'interrupted'; graceful: boolean }

/** What `dynabatch import --json` prints. read = written + skipped + failed. */
export interface ImportSummary {
  command: 'import' | 'delete'
  table: string
  read: number
  written: number
  putsWritten: number
  deletesWritten: number
  /** Lines of other shards (with `shard`). */
  skipped: number
  failed: number
  /** The part of `failed` that was bad input (not JSON, not convertible, refused by the writer's checks). */
  invalidLines: number
  requests: number
  retries: number
  throttles: number
  consumedWcu: number
  p50LatencyMs: number
  p99LatencyMs: number
  elapsedMs: number
  itemsPerSecond: number
  /** The dead-letter file, when it holds anything. */
  failedOut: string | null
  interrupted: boolean
  /** Not-written counts by reason. */
  reasons?: Record<string, number>
  /** Lines read but neither written nor reported (only when the writer failed as a whole). */
  unaccounted?: number
  files: ImportFileSummary[]
  /** Whole-file problems (truncated gzip, a count that differs from the manifest, a read error) and job errors. */
  errors?: { input: string | null; message: string }[]
  checkpoint?: { path: string; resumedLines: number; failedBefore: number; complete: boolean }
}

/** The writer's own options, passed on to its BatchWriter (signal and onProgress are the job's, above). */
type WriterPart = Pick<
  BatchWriterOptions,
  'flushAmount' | 'maxInFlight' | 'highWaterMark' | 'maxRetries' | 'baseDelayMs' | 'maxDelayMs' | 'rateLimit' | 'keySchema' | 'onRequest' | 'logger' | 'slowRequestMs'
>

export interface ImportOptions extends WriterPart {
  /** 'json' (default) or 'ddb-json'; an export folder is always DynamoDB JSON. */
  format?: 'json' | 'ddb-json'
  /** What each line does (default 'put'); incremental exports and dead-letter records say it per line. */
  operation?: 'put' | 'delete'
  /** Load only the lines whose key hashes to shard `index` of `count`. */
  shard?: { index: number; count: number }
  /** The dead-letter file (default `<input>.failed.jsonl` for one path, `./dynabatch-failed.jsonl` otherwise), or a function receiving each record. */
  failedOut?: string | ((record: DeadLetterRecord) => void)
  /** A checkpoint file: progress recorded about once a second; the same call with the same file resumes. Path inputs only. */
  checkpoint?: string
  /** Stops reading; with a checkpoint what the writer holds is written and recorded, otherwise it is dead-lettered as Aborted. */
  signal?: AbortSignal
  onProgress?: (progress: ImportProgress) => void
  /** Default 1000. */
  progressIntervalMs?: number
  onEvent?: (event: ImportEvent) => void
  /** Data files of one export folder read at once (default 4). */
  parallelFiles?: number
  /** Default 1000. */
  checkpointIntervalMs?: number
}

/**
 * Loads `input` into `table` through one BatchWriter; resolves to the summary (item failures are in it,
 * not thrown). Rejects, before anything is written, on a bad option or input, a checkpoint of another job,
 * or a table that cannot be described (err.code: InvalidArgument, InputNotFound, InvalidInput,
 * CheckpointMismatch, ResourceNotFoundException, CredentialsError…).
 */
export declare function importFrom(
  client: DynamoDBClient,
  table: string,
  input: ImportInput | ImportInput[],
  options?: ImportOptions,
): Promise<ImportSummary>
