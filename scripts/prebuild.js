#!/usr/bin/env node
// `npm run build:prebuild [-- --out DIR]`: copies the compiled addon (build/Release/worldkit.node,
// compiled first with cmake-js when absent) to DIR/<platform>-<arch>/ (DIR defaults to prebuilds/
// at the package root, which `npm pack` includes), as worldkit.cuda.node when the build holds the
// CUDA kernels (WORLDKIT_CUDA=1, or a machine with a GPU) and worldkit.node otherwise. The package's
// install script (scripts/install.js) uses a matching prebuild instead of compiling, and the loader
// (src/backend/native.ts) prefers it. (Not named "prebuild": npm would run that before `npm run build`.)
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

function parseOut(argv) {
  const i = argv.findIndex((a) => a === '--out' || a.startsWith('--out='));
  if (i < 0) return path.join(root, 'prebuilds');
  const v = argv[i].includes('=') ? argv[i].slice(6) : argv[i + 1];
  if (!v) throw new Error('prebuild: --out needs a folder');
  return path.resolve(v);
}

function main(argv) {
  const outRoot = parseOut(argv);
  const addon = path.join(root, 'build', 'Release', 'worldkit.node');
  if (!fs.existsSync(addon) || argv.includes('--compile')) {
    const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
    const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) return r.status ?? 1;
  }
  // Ask the addon itself whether it holds CUDA kernels (it loads without a GPU or CUDA libraries).
  const probe = spawnSync(process.execPath, ['-e', `const a=require(${JSON.stringify(addon)}); process.stdout.write(JSON.stringify(a.families||[]))`], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.error(`prebuild: ${addon} does not load: ${probe.stderr}`);
    return 1;
  }
  const families = JSON.parse(probe.stdout || '[]');
  const cuda = families.some((f) => /cuda/i.test(String(f)));
  const dir = path.join(outRoot, `${process.platform}-${process.arch}`);
  fs.mkdirSync(dir, { recursive: true });
  const name = cuda ? 'worldkit.cuda.node' : 'worldkit.node';
  fs.copyFileSync(addon, path.join(dir, name));
  console.log(`prebuild: ${path.join(dir, name)} (${cuda ? 'CUDA + CPU' : 'CPU'}, ${(fs.statSync(addon).size / 1e6).toFixed(1)} MB)`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
