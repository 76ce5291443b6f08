#!/usr/bin/env node
// `npm install` of worldkit (the package's "install" script).
//
//  1. A prebuilt addon for this platform (prebuilds/<platform>-<arch>/worldkit[.cuda].node, made by
//     `npm run build:prebuild`) that loads here: nothing is compiled.
//  2. Otherwise the addon is compiled with cmake-js (needs cmake and a C++17 compiler; CUDA kernels
//     only where a GPU is present or WORLDKIT_CUDA=1 asks, see CMakeLists.txt) into build/Release.
//     Installed as a dependency (inside node_modules), the build intermediates are then removed,
//     keeping build/Release/*.node.
//
// Environment: WORLDKIT_BUILD_FROM_SOURCE=1 compiles even when a prebuild matches.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

function prebuildCandidates() {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return ['worldkit.cuda.node', 'worldkit.node'].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
}

/** Whether `file` loads in a child node (a prebuild for another libc or Node-API level fails here). */
function loads(file) {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { stdio: 'pipe', encoding: 'utf8' });
  if (r.status !== 0) console.error(`worldkit: the prebuilt ${path.relative(root, file)} does not load here (${(r.stderr || '').trim().split('\n').slice(-1)[0]}); compiling instead`);
  return r.status === 0;
}

/** Removes everything under build/ but build/Release/*.node. */
function removeIntermediates() {
  const build = path.join(root, 'build');
  if (!fs.existsSync(build)) return;
  for (const entry of fs.readdirSync(build)) {
    if (entry === 'Release') continue;
    fs.rmSync(path.join(build, entry), { recursive: true, force: true });
  }
  const rel = path.join(build, 'Release');
  if (fs.existsSync(rel)) {
    for (const entry of fs.readdirSync(rel)) {
      if (!entry.endsWith('.node')) fs.rmSync(path.join(rel, entry), { recursive: true, force: true });
    }
  }
}

function main() {
  if (process.env.WORLDKIT_BUILD_FROM_SOURCE !== '1') {
    const prebuilt = prebuildCandidates().find(loads);
    if (prebuilt) {
      console.log(`worldkit: using the prebuilt addon ${path.relative(root, prebuilt)} (WORLDKIT_BUILD_FROM_SOURCE=1 compiles instead)`);
      return 0;
    }
  }
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  } catch {
    console.error('worldkit: cmake-js was not found; it is a dependency of worldkit (reinstall worldkit)');
    return 1;
  }
  const started = Date.now();
  const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    console.error(
      'worldkit: compiling the native addon failed. It needs cmake (>= 3.18) and a C++17 compiler ' +
        '(Debian/Ubuntu: apt-get install cmake g++; macOS: xcode-select --install and brew install cmake); ' +
        'nvcc is optional (CUDA). Then run `npm rebuild worldkit`.',
    );
    return r.status ?? 1;
  }
  // Inside node_modules (installed as a dependency) nobody rebuilds incrementally: keep the addon only.
  if (root.split(path.sep).includes('node_modules')) removeIntermediates();
  console.log(`worldkit: native addon compiled in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}

process.exitCode = main();
