#!/usr/bin/env node
// Builds the test-only addon build/Release/worldkit_emu.node (the CUDA kernels compiled as C++
// against the SIMT emulation, cuda/emulation/emulation.cmake, plus test/cuda/*.cu) into build/,
// by configuring the same build folder with -DWORLDKIT_EMULATION=ON. `npm install` never builds
// it; the jest global setup (test/setup/global_setup.js) runs this before the tests, and
// `npm run build:emulation` runs it by hand.
//
// Cached: nothing is compiled when worldkit_emu.node is newer than every source it is built from.
// WORLDKIT_EMULATION=0 skips it (the emulation tests then fail to find the addon). Builds take the
// lock /tmp/wk-native.lock when flock(1) exists, so parallel builds of build/ do not collide.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const emu = path.join(root, 'build', 'Release', 'worldkit_emu.node');

function newestSource() {
  let newest = 0;
  const dirs = ['cpp', 'cuda', 'cuda/emulation', 'test/cuda', 'binding'];
  for (const d of dirs) {
    const dir = path.join(root, d);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) {
      if (!/\.(cc|cpp|cu|cuh|h|hpp|inl|cmake)$/.test(f)) continue;
      newest = Math.max(newest, fs.statSync(path.join(dir, f)).mtimeMs);
    }
  }
  for (const f of ['CMakeLists.txt']) newest = Math.max(newest, fs.statSync(path.join(root, f)).mtimeMs);
  return newest;
}

function upToDate() {
  return fs.existsSync(emu) && fs.statSync(emu).mtimeMs >= newestSource();
}

function buildEmulation({ quiet = false } = {}) {
  if (/^(0|off|false|no)$/i.test(process.env.WORLDKIT_EMULATION ?? '')) return 0;
  if (upToDate()) return 0;
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  // `cmake-js compile` would not reconfigure a configured build/ (npm install configured it with
  // the emulation off): configure with the option on, then build, under one lock.
  const script = `"${process.execPath}" "${cmakeJs}" configure --out build --CDWORLDKIT_EMULATION=ON && "${process.execPath}" "${cmakeJs}" build --out build`;
  const haveFlock = spawnSync('sh', ['-c', 'command -v flock'], { stdio: 'ignore' }).status === 0;
  const [cmd, argv] = haveFlock ? ['flock', ['/tmp/wk-native.lock', 'sh', '-c', script]] : ['sh', ['-c', script]];
  const started = Date.now();
  if (!quiet) console.log('worldkit: building the test-only emulation addon build/Release/worldkit_emu.node ...');
  const r = spawnSync(cmd, argv, { cwd: root, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8', env: process.env });
  if (r.status !== 0) {
    if (quiet) process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    console.error(`worldkit: building worldkit_emu.node failed (exit ${r.status})`);
    return r.status ?? 1;
  }
  if (!fs.existsSync(emu)) {
    console.error(`worldkit: the build finished but ${emu} was not produced (is WORLDKIT_EMULATION set to 0 in build/CMakeCache.txt?)`);
    return 1;
  }
  if (!quiet) console.log(`worldkit: worldkit_emu.node built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}

module.exports = { buildEmulation, upToDate };

if (require.main === module) process.exitCode = buildEmulation();
