'use strict'
// What importFrom reads, resolved before anything is written: each input is a file, a stream, a directory of
// files, or a DynamoDB export folder (the contents of s3://…/AWSDynamoDB/<ExportId>/ as `aws s3 sync` copies
// them). Every problem found here (a missing file, a manifest that does not add up) stops the job before its
// first write, with the path in the message.
//
// The result is a list of groups, read one after another; the files of one group are read concurrently.
// Plain files and directories make one group per file, so their lines keep the order given (a later file's
// version of a key wins). An export folder is one group: its data files partition the table's keyspace, so
// no key is in two of them and reading them at once changes nothing but the time taken.

const fs = require('node:fs')
const path = require('node:path')

const { ImportError } = require('./errors.js')

const EXPORT_TYPES = new Set(['FULL_EXPORT', 'INCREMENTAL_EXPORT'])

function isStreamLike(v) {
  return v !== null && typeof v === 'object' && typeof v[Symbol.asyncIterator] === 'function'
}

async function statOf(p) {
  try {
    return await fs.promises.stat(p)
  } catch (e) {
    throw new ImportError('InputNotFound', `cannot read ${p}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`)
  }
}

async function readJson(file, what) {
  let text
  try {
    text = await fs.promises.readFile(file, 'utf8')
  } catch (e) {
    throw new ImportError('InvalidInput', `cannot read ${what} ${file}: ${e.message}`)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new ImportError('InvalidInput', `${file} is not valid JSON: ${e.message}`)
  }
}

/**
 * An export folder's data files, checked against its two manifests: every listed file present under data/
 * (found by its base name), each count a non-negative integer, the counts adding up to the summary's.
 */
async function exportFolder(dir) {
  const summary = await readJson(path.join(dir, 'manifest-summary.json'), 'the export summary')
  if (summary === null || typeof summary !== 'object' || Array.isArray(summary)) {
    throw new ImportError('InvalidInput', `${path.join(dir, 'manifest-summary.json')} is not an export summary (expected a JSON object)`)
  }
  if (summary.outputFormat !== undefined && summary.outputFormat !== 'DYNAMODB_JSON') {
    throw new ImportError('InvalidInput', `${dir} is an export in ${summary.outputFormat} format; dynabatch reads DYNAMODB_JSON exports`)
  }
  const exportType = summary.exportType === undefined ? 'FULL_EXPORT' : summary.exportType
  if (!EXPORT_TYPES.has(exportType)) throw new ImportError('InvalidInput', `${dir}: unknown exportType ${JSON.stringify(summary.exportType)} in manifest-summary.json`)

  const listFile = path.join(dir, 'manifest-files.json')
  let text
  try {
    text = await fs.promises.readFile(listFile, 'utf8')
  } catch (e) {
    throw new ImportError('InvalidInput', `cannot read the export's file list ${listFile}: ${e.message}`)
  }
  const files = []
  const seen = new Set()
  let total = 0
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue
    const where = `${listFile} line ${i + 1}`
    let entry
    try {
      entry = JSON.parse(lines[i])
    } catch (e) {
      throw new ImportError('InvalidInput', `${where}: not valid JSON (${e.message})`)
    }
    if (entry === null || typeof entry !== 'object' || typeof entry.dataFileS3Key !== 'string' || entry.dataFileS3Key === '') {
      throw new ImportError('InvalidInput', `${where}: expected {"dataFileS3Key": "...", "itemCount": n}`)
    }
    if (!Number.isSafeInteger(entry.itemCount) || entry.itemCount < 0) {
      throw new ImportError('InvalidInput', `${where}: itemCount must be a non-negative integer, got ${JSON.stringify(entry.itemCount)}`)
    }
    const base = path.posix.basename(entry.dataFileS3Key)
    if (seen.has(base)) throw new ImportError('InvalidInput', `${where}: the data file ${base} is listed twice`)
    seen.add(base)
    const file = path.join(dir, 'data', base)
    let st
    try {
      st = await fs.promises.stat(file)
    } catch {
      throw new ImportError('InvalidInput', `${dir}: the data file ${base} (listed in manifest-files.json) is missing from ${path.join(dir, 'data')}`)
    }
    if (!st.isFile()) throw new ImportError('InvalidInput', `${file} is not a file`)
    files.push({ name: file, path: file, size: st.size, expectedItems: entry.itemCount, exportType })
    total += entry.itemCount
  }
  if (summary.itemCount !== undefined && summary.itemCount !== total) {
    throw new ImportError('InvalidInput', `${dir}: manifest-summary.json says ${summary.itemCount} items, manifest-files.json lists ${total}`)
  }
  let extra = []
  try {
    extra = (await fs.promises.readdir(path.join(dir, 'data'))).filter((f) => !seen.has(f) && !f.startsWith('.'))
  } catch {
    // no data/ folder: only possible when the manifest lists no file
  }
  return { files, exportType, extra }
}

/**
 * input: a path, a Readable/async iterable, { name, stream }, or an array of these.
 * Resolves to { groups: [[source]], warnings: [text], exportTypes: Set } where a source is
 * { name, path?, stream?, size?, expectedItems?, exportType? }.
 */
async function resolveInputs(input, { exclude = [] } = {}) {
  const list = Array.isArray(input) ? input : [input]
  if (list.length === 0) throw new ImportError('InvalidArgument', 'no input given')
  const groups = []
  const warnings = []
  const excluded = new Set(exclude.filter(Boolean).map((p) => path.resolve(p)))
  for (const item of list) {
    if (typeof item === 'string') {
      if (item === '') throw new ImportError('InvalidArgument', 'an input path must not be empty')
      const p = path.resolve(item)
      const st = await statOf(p)
      if (st.isFile()) {
        groups.push([{ name: p, path: p, size: st.size }])
      } else if (st.isDirectory()) {
        if (fs.existsSync(path.join(p, 'manifest-summary.json'))) {
          const ex = await exportFolder(p)
          if (ex.extra.length) {
            warnings.push(`${p}: ${ex.extra.length} file(s) under data/ are not in manifest-files.json and are not loaded (${ex.extra.slice(0, 3).join(', ')}${ex.extra.length > 3 ? ', …' : ''})`)
          }
          if (ex.files.length) groups.push(ex.files)
          else warnings.push(`${p}: the export lists no data file`)
        } else {
          const names = (await fs.promises.readdir(p)).filter((f) => !f.startsWith('.')).sort()
          const files = []
          for (const f of names) {
            const fp = path.join(p, f)
            const fst = await fs.promises.stat(fp)
            if (fst.isDirectory()) {
              throw new ImportError('InvalidArgument', `${p} holds the directory ${f}: pass the files to load, or an export folder (with manifest-summary.json)`)
            }
            if (excluded.has(fp)) {
              throw new ImportError('InvalidArgument', `${fp} is in the input directory ${p} and would be read as input; write it elsewhere`)
            }
            files.push({ name: fp, path: fp, size: fst.size })
          }
          if (files.length === 0) warnings.push(`${p}: the directory holds no file`)
          for (const f of files) groups.push([f])
        }
      } else {
        throw new ImportError('InvalidArgument', `${p} is neither a file nor a directory`)
      }
    } else if (isStreamLike(item)) {
      groups.push([{ name: item === process.stdin ? '-' : 'stream', stream: item }])
    } else if (item && typeof item === 'object' && isStreamLike(item.stream) && typeof item.name === 'string') {
      groups.push([{ name: item.name, stream: item.stream }])
    } else {
      throw new ImportError('InvalidArgument', 'an input must be a path, a Readable or async iterable of Buffers or strings, or { name, stream }')
    }
  }
  const exportTypes = new Set()
  for (const g of groups) for (const s of g) if (s.exportType) exportTypes.add(s.exportType)
  return { groups, warnings, exportTypes }
}

module.exports = { resolveInputs, exportFolder }
