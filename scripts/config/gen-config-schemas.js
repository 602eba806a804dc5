#!/usr/bin/env node
/**
 * Writes schemas/config/<plugin class>.schema.json for every built-in plugin, from the compiled
 * worker (run `make build` first). test/unit/core/config-schemas.test.ts fails when these files
 * drift from the code: rerun this script and commit the result.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const { builtinPlugins } = require(path.join(root, 'dist', 'plugins', 'builtins'));
const { pluginConfigSchema, schemaFileName } = require(path.join(root, 'dist', 'config', 'json-schema'));

const dir = path.join(root, 'schemas', 'config');
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
let n = 0;
for (const plugin of builtinPlugins()) {
  fs.writeFileSync(path.join(dir, schemaFileName(plugin)), JSON.stringify(pluginConfigSchema(plugin), null, 2) + '\n');
  n++;
}
console.log(`wrote ${n} schemas to ${path.relative(root, dir)}/`);
