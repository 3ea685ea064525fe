'use strict'
// Items that the round-trip tests on dynalite (marshal.test.js) and on DynamoDB Local (dynamodb-local.test.js)
// both write: one definition of each case, a fresh object per call.

// S, N, BOOL, NULL: unicode, an empty string outside the key, safe integers and a fraction.
function scalars(pk = 'scalars') {
  return {
    pk,
    s: 'héllo wörld 😀 日本語',
    empty: '',
    n: 42,
    neg: -3.25,
    zero: 0,
    t: true,
    f: false,
    nul: null,
    maxSafe: Number.MAX_SAFE_INTEGER,
  }
}

// M and L, from plain objects, a Map and a null-prototype object.
function nested(pk = 'nested') {
  const bare = Object.create(null)
  bare.x = 1
  return {
    pk,
    m: { a: { b: { c: [1, 'two', { three: 3 }, [true, null]] } } },
    fromMap: new Map([
      ['k', 'v'],
      ['n', 2],
    ]),
    bare,
    emptyList: [],
    emptyMap: {},
  }
}

// B from every binary kind, an empty one and a 300 KB one.
function binaries(pk = 'binary') {
  return {
    pk,
    buf: Buffer.from([1, 2, 3]),
    u8: new Uint8Array([4, 5]),
    f64: new Float64Array([1.5]),
    ab: new Uint8Array([9, 8]).buffer,
    dv: new DataView(new Uint8Array([6]).buffer),
    sub: new Uint8Array([0, 1, 2, 3]).subarray(1, 3),
    empty: Buffer.alloc(0),
    big: Buffer.alloc(300 * 1024, 7),
  }
}

module.exports = { scalars, nested, binaries }
