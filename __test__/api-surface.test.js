'use strict'
// The typings, the README and the runtime say the same thing: index.d.ts declares exactly what index.js
// exports and exactly the option names the core accepts; the ErrorCode union and the README's error table
// list exactly the codes the core produces (src/error.rs).

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const ts = require('typescript')
const dynabatch = require('dynabatch')
const native = require('../lib/native.js')

const root = path.join(__dirname, '..')
const source = ts.createSourceFile('index.d.ts', fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8'), ts.ScriptTarget.Latest, true)
const surface = native.surface()

function declared(kind) {
  const out = new Map()
  for (const s of source.statements) {
    if (s.name && s.kind === kind && s.modifiers && s.modifiers.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) out.set(s.name.text, s)
  }
  return out
}
const classes = declared(ts.SyntaxKind.ClassDeclaration)
const functions = declared(ts.SyntaxKind.FunctionDeclaration)
const interfaces = declared(ts.SyntaxKind.InterfaceDeclaration)
const aliases = declared(ts.SyntaxKind.TypeAliasDeclaration)

const memberNames = (node) =>
  node.members
    .map((m) => (m.name ? (ts.isComputedPropertyName(m.name) ? `[${m.name.expression.getText(source)}]` : m.name.text) : m.kind === ts.SyntaxKind.Constructor ? null : undefined))
    .filter((n) => n)

describe('index.d.ts matches the runtime', () => {
  it('declares exactly the values index.js exports', () => {
    // `export { importFrom, type … } from './lib/import/index.js'`: the names that are not type-only
    const reexported = source.statements
      .filter((s) => ts.isExportDeclaration(s) && !s.isTypeOnly && s.exportClause)
      .flatMap((s) => s.exportClause.elements.filter((e) => !e.isTypeOnly).map((e) => e.name.text))
    // `export declare const FixedRate: { new (…): … }`: values typed as constructors
    const consts = source.statements
      .filter((s) => ts.isVariableStatement(s) && s.modifiers && s.modifiers.some((m) => m.kind === ts.SyntaxKind.ExportKeyword))
      .flatMap((s) => s.declarationList.declarations.map((d) => d.name.text))
    const values = [...classes.keys(), ...functions.keys(), ...consts, ...reexported].sort()
    assert.deepEqual(values, Object.keys(dynabatch).sort())
    for (const name of values) assert.equal(typeof dynabatch[name], 'function', name)
  })

  it('declares exactly the option names the core accepts', () => {
    assert.deepEqual(memberNames(interfaces.get('DynamoDBClientOptions')).sort(), [...surface.clientOptions].sort())
    assert.deepEqual(memberNames(interfaces.get('BatchWriterOptions')).sort(), [...surface.writerOptions].sort())
    assert.deepEqual(memberNames(interfaces.get('TransactWriteOptions')).sort(), [...surface.transactWriteOptions].sort())
    assert.deepEqual(memberNames(interfaces.get('TransactGetOptions')).sort(), [...surface.transactGetOptions].sort())
  })

  it('declares the public methods and getters of each class', () => {
    const skip = new Set(['constructor'])
    for (const name of ['DynamoDBClient', 'BatchWriter']) {
      const proto = dynabatch[name].prototype
      const runtime = Reflect.ownKeys(proto)
        .map((k) => (k === Symbol.asyncDispose ? '[Symbol.asyncDispose]' : String(k)))
        .filter((k) => !skip.has(k) && !k.startsWith('_'))
        .sort()
      assert.deepEqual(memberNames(classes.get(name)).sort(), runtime, name)
    }
  })

  it('the ErrorCode union lists exactly the codes the core produces (and the loader\'s own)', () => {
    const union = aliases.get('ErrorCode').type.types.map((t) => t.literal.text).sort()
    assert.deepEqual(union, [...surface.errorCodes, 'NativeBindingUnavailable'].sort())
  })
})

describe('the README matches the core', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
  // The rows of the table under "## Errors": | `Code` | when |
  const errors = readme.slice(readme.indexOf('\n## Errors'))
  const table = errors.slice(0, errors.indexOf('\n## ', 5))
  const codes = [...table.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]).sort()

  it('its error table lists exactly the codes the core produces', () => {
    assert.deepEqual(codes, [...surface.errorCodes, 'NativeBindingUnavailable'].sort())
  })

  it('its failure reasons table lists every reason the core reports', () => {
    for (const reason of surface.itemReasons) assert.ok(readme.includes(`| \`${reason}\` |`), `${reason} missing from the README`)
  })
})
