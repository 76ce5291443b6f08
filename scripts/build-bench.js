#!/usr/bin/env node
// Compiles the benchmark suites (bench/*.ts, bench/peers/tfjs_*.ts) into dist/bench/, next to the
// library they measure: their imports of '../src/...' become '../...' (dist/ is the compiled src/),
// so the package holds one compiled copy of src/. The PyTorch, OpenBLAS and scikit-learn peers
// (bench/peers/*.py, *.c) stay in the repository; `worldkit bench` skips them, saying so, when they
// are absent. Needs dist/ (npm run build:ts) for nothing: tsc compiles src/ alongside into a scratch
// folder, and only the bench files are kept.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const scratch = path.join(root, 'node_modules', '.cache', 'worldkit-bench');
const out = path.join(root, 'dist', 'bench');

fs.rmSync(scratch, { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.bench.json', '--outDir', scratch], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

fs.rmSync(out, { recursive: true, force: true });
let files = 0;
function copy(from, to, depth) {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    if (e.isDirectory()) {
      copy(src, path.join(to, e.name), depth + 1);
      continue;
    }
    if (!e.name.endsWith('.js')) continue;
    // bench/x.js sits in dist/bench/x.js: '../src/a' -> '../a'; bench/peers/y.js: '../../src/a' -> '../../a'
    const up = '../'.repeat(depth);
    const text = fs
      .readFileSync(src, 'utf8')
      .split(`require("${up}src/`).join(`require("${up}`)
      .split(`require("${up}src")`).join(`require("${up.slice(0, -1)}")`);
    if (/require\("(\.\.\/)+src[/"]/.test(text)) throw new Error(`build-bench: ${src} still requires ../src after rewriting`);
    fs.writeFileSync(path.join(to, e.name), text);
    ++files;
  }
}
copy(path.join(scratch, 'bench'), out, 1);
fs.rmSync(scratch, { recursive: true, force: true });
console.log(`build-bench: ${files} files -> ${path.relative(root, out)}/`);
