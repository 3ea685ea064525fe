'use strict'
// The attributes of an item of every DynamoDB type, in the form they read back as (so a read compares with
// deepEqual): the read tests (batch-get, scan, the DynamoDB Local conformance) add their own key to it.
const { NumberValue } = require('dynabatch')

function everyType(i) {
  return {
    s: `héllo ${i} 😀`,
    n: i * 1.5,
    big: new NumberValue('12345678901234567890.5'),
    t: i % 2 === 0,
    nul: null,
    b: Buffer.from([i % 256, 0, 1]),
    m: { nested: { list: [1, 'two', false, null, { deep: Buffer.from([7]) }] } },
    l: [i, `x${i}`],
    ss: new Set(['a', `s${i}`]),
    ns: new Set([1, 2.5, i + 10]),
    bs: new Set([Buffer.from([1]), Buffer.from([2, i % 256])]),
  }
}

module.exports = { everyType }
