// Writes dist/index.mjs, a thin ES-module entry over the CommonJS build, so both
// `import * as wk from 'worldkit'` and `require('worldkit')` work from one compiled tree.
const fs = require('fs');
const path = require('path');
const dist = path.join(__dirname, '..', 'dist');
const cjs = require(path.join(dist, 'index.js'));
const names = Object.keys(cjs).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
const lines = [
  "import { createRequire } from 'module';",
  'const require = createRequire(import.meta.url);',
  "const wk = require('./index.js');",
  'export default wk;',
  ...names.map((n) => `export const ${n} = wk.${n};`),
];
fs.writeFileSync(path.join(dist, 'index.mjs'), lines.join('\n') + '\n');
