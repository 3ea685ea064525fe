#!/usr/bin/env node
'use strict'
// The main package's package.json as it is published. Run by `prepublishOnly` after `napi prepublish -t npm`
// (which publishes the platform packages of npm/ and declares them); the consumer test applies the same
// function to the package it installs, so what it tests is what would be published.
//
// - optionalDependencies: one platform package per napi target, at the package's own version (napi
//   prepublish writes the same; npm installs only the one whose os/cpu/libc match the machine).
// - no `prepare`: it builds the addon from source for contributors (scripts/ensure-built.js, not in the
//   package); in a published manifest npm lists it as an install script, and a user's install runs none.

const fs = require('node:fs')
const path = require('node:path')

function publishedManifest(pkg, platforms) {
  const out = { ...pkg, scripts: { ...pkg.scripts } }
  delete out.scripts.prepare
  out.optionalDependencies = { ...pkg.optionalDependencies }
  for (const platform of platforms) out.optionalDependencies[`${pkg.name}-${platform}`] = pkg.version
  return out
}

// The platform names (napi's platformArchABI, the npm/<name> folders) of package.json's napi.targets.
async function platformsOf(packageJsonPath) {
  const { readNapiConfig } = require('@napi-rs/cli')
  const { targets } = await readNapiConfig(path.resolve(packageJsonPath))
  return targets.map((t) => t.platformArchABI)
}

module.exports = { publishedManifest, platformsOf }

if (require.main === module) {
  const file = path.join(__dirname, '..', 'package.json')
  platformsOf(file).then((platforms) => {
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
    fs.writeFileSync(file, `${JSON.stringify(publishedManifest(pkg, platforms), null, 2)}\n`)
    console.error(`publish-manifest: ${pkg.name}@${pkg.version} with ${platforms.length} platform packages, no prepare`)
  })
}
