'use strict'
// The item rules' shared vectors (__test__/vectors/items.json), also run by `cargo test` (src/item/tests.rs):
// here each JS value goes through the JS codec, which must write exactly the vector's wire, and then through
// the native core, which must give exactly the vector's DynamoDB JSON or error. One table of cases, so the
// JS codec (which only encodes) and the Rust rules cannot drift apart.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const vectors = require('./vectors/items.json')
const { NumberValue } = require('dynabatch')
const { Encoder } = require('../lib/codec.js')
const native = require('../lib/native.js')

// ⟨d800⟩ stands for a lone UTF-16 unit, which JSON text cannot hold.
const units = (w) => w.replace(/⟨([0-9a-f]{4})⟩/g, (_, h) => String.fromCharCode(parseInt(h, 16)))

describe('shared item vectors', () => {
  for (const v of vectors) {
    it(v.name, () => {
      const value = new Function('NumberValue', `return ${v.js}`)(NumberValue)
      const enc = new Encoder()
      const wire = enc.item(value)
      assert.equal(wire, units(v.wire), 'the JS codec writes the vector wire')
      assert.deepEqual((enc.bins || []).map((b) => Buffer.from(b).toString('base64')), v.bins)
      let json
      let error
      try {
        json = native.encodeItem(wire, enc.bins || undefined, v.removeUndefinedValues)
      } catch (e) {
        error = e
      }
      if (v.error) {
        assert.ok(error, 'refused')
        assert.equal(error.code, v.error.code)
        assert.equal(error.path, v.error.path)
        assert.equal(error.message, v.error.message)
        assert.ok(error instanceof require('dynabatch').InvalidItemError)
      } else {
        assert.equal(error, undefined)
        if (v.json !== null) assert.deepEqual(JSON.parse(json), v.json)
      }
    })
  }
})
