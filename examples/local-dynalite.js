'use strict'
// Starts dynalite (a DynamoDB emulator) in this process on 127.0.0.1, for the examples: no AWS account needed.
// Against real AWS, drop this and use `new DynamoDBClient()` (or `{ region }`): the standard chain applies.
const dynalite = require('dynalite')

async function startLocal() {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0 })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const options = {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  }
  // closeAllConnections: the client's pool may hold a connection it opened but never used, which a closing
  // server would otherwise keep until its headers timeout (a minute).
  const close = () =>
    new Promise((resolve) => {
      server.close(resolve)
      server.closeAllConnections()
    })
  return { options, close }
}

module.exports = { startLocal }
