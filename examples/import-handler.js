'use strict'
// A function handler that loads one S3 object into a table with importFrom: the shape of a Lambda function
// that Step Functions' Distributed Map calls once per object of a DynamoDB export (ItemReader: the export's
// data/ prefix), so a large export is loaded by many functions at once. importFrom reads the object as a
// stream (gzip recognised by its bytes), with memory bounded whatever the object's size.
//
// `node examples/import-handler.js` runs it here on an embedded dynalite with a local stream in place of S3.
const { DynamoDBClient, importFrom } = require('dynabatch')

/**
 * openObject(bucket, key) -> a Readable of the object's bytes. In Lambda, with @aws-sdk/client-s3:
 *   const s3 = new S3Client({})
 *   const openObject = async (Bucket, Key) => (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body
 */
function createHandler({ client, table, openObject, bucket }) {
  return async function handler(event) {
    // Distributed Map passes each S3 object as { Key, Size, Etag, … } (the bucket comes from the state's input)
    const Bucket = event.Bucket || bucket
    const stream = await openObject(Bucket, event.Key)
    const failures = [] // dead letters, kept in the result (the first 100: a state's result is at most 256 KB)
    const summary = await importFrom(client, table, { name: `s3://${Bucket}/${event.Key}`, stream }, {
      format: 'ddb-json', // an export's data file: {"Item": {…}} lines
      failedOut: (record) => failures.length < 100 && failures.push(record),
    })
    const result = { object: event.Key, read: summary.read, written: summary.written, failed: summary.failed, errors: summary.errors || [], failures }
    // Failing the invocation lets the Map's retry and tolerated-failure settings decide; re-running an
    // object is safe (puts are idempotent).
    if (summary.failed || summary.errors) throw Object.assign(new Error(`${summary.failed} of ${summary.read} items of ${event.Key} not written`), { result })
    return result
  }
}

module.exports = { createHandler }

async function demo() {
  const zlib = require('node:zlib')
  const { Readable } = require('node:stream')
  const { startLocal } = require('./local-dynalite.js')
  const local = await startLocal()
  const client = new DynamoDBClient(local.options)
  await client.createTable('restored', { partitionKey: { name: 'pk', type: 'S' } })
  // Stands in for S3: one gzip data file of an export, held in memory.
  const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ Item: { pk: { S: `user#${i}` }, visits: { N: String(i) } } }))
  const object = zlib.gzipSync(lines.join('\n') + '\n')
  const handler = createHandler({ client, table: 'restored', bucket: 'my-exports', openObject: async () => Readable.from([object]) })
  const result = await handler({ Key: 'AWSDynamoDB/01234567890123-abcdefgh/data/example.json.gz', Size: object.length })
  console.log(`${result.object}: ${result.written} of ${result.read} items written, ${result.failed} failed`)
  await local.close()
}

if (require.main === module) {
  demo().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
