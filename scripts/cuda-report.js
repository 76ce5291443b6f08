#!/usr/bin/env node
/*
 * `npm run cuda:report [buildDir]`: registers, shared memory, stack and spills per CUDA kernel and
 * architecture, from the ptxas -v reports the build keeps in <buildDir>/cuda-report/*.txt
 * (cuda/ptxas_report.sh). buildDir defaults to $WORLDKIT_BUILD_DIR or build. Exits 1 when a
 * kernel spills or uses local memory (the build already refuses that).
 */
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const buildDir = path.resolve(process.argv[2] || process.env.WORLDKIT_BUILD_DIR || 'build');
const dir = path.join(buildDir, 'cuda-report');
if (!fs.existsSync(dir)) {
  console.log(`no CUDA resource report in ${dir} (built without nvcc, or WORLDKIT_CUDA=0)`);
  process.exit(0);
}
const rows = [];
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
  let cur = null;
  for (const line of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
    let m = line.match(/Compiling entry function '([^']+)' for '(sm_\d+)'/);
    if (m) {
      cur = { file: file.replace(/\.txt$/, '.cu'), mangled: m[1], arch: m[2], regs: 0, smem: 0, stack: 0, spillSt: 0, spillLd: 0 };
      rows.push(cur);
      continue;
    }
    if (!cur) continue;
    m = line.match(/(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/);
    if (m) [cur.stack, cur.spillSt, cur.spillLd] = [+m[1], +m[2], +m[3]];
    m = line.match(/Used (\d+) registers/);
    if (m) cur.regs = +m[1];
    m = line.match(/(\d+) bytes smem/);
    if (m) cur.smem = +m[1];
  }
}
let names = rows.map((r) => r.mangled);
try {
  names = execFileSync('c++filt', { input: names.join('\n') }).toString().split('\n');
} catch {
  /* no c++filt: keep mangled names */
}
const short = (s) => s.replace(/wk::cuda::\(anonymous namespace\)::/g, '').replace(/unsigned long long/g, 'u64');
rows.forEach((r, i) => (r.name = short(names[i] || r.mangled)));
const header = ['file', 'kernel', 'arch', 'regs', 'smem B', 'stack B', 'spill st/ld B'];
const table = rows.map((r) => [r.file, r.name, r.arch, r.regs, r.smem, r.stack, `${r.spillSt}/${r.spillLd}`].map(String));
const width = header.map((h, c) => Math.min(c === 1 ? 90 : 40, Math.max(h.length, ...table.map((t) => t[c].length))));
const fmt = (cells) => cells.map((s, c) => (s.length > width[c] ? s.slice(0, width[c] - 1) + '…' : s.padEnd(width[c]))).join('  ');
console.log(fmt(header));
for (const t of table) console.log(fmt(t));
const bad = rows.filter((r) => r.spillSt || r.spillLd || r.stack);
console.log(`\n${rows.length} kernel builds in ${new Set(rows.map((r) => r.file)).size} files; ` +
  `max registers ${Math.max(0, ...rows.map((r) => r.regs))}; ${bad.length} with spills or local memory`);
process.exit(bad.length ? 1 : 0);
