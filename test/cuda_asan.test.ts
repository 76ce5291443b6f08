/**
 * AddressSanitizer build of the emulated CUDA kernels (issue 13: "an AddressSanitizer build of
 * the emulated kernels beside the ThreadSanitizer one; a planted out-of-bounds kernel is caught").
 *
 * Builds test/cuda/asan_emu.cc (its kernel runs: test/cuda/emu_cases.h, shared with the TSan build)
 * with the unchanged cuda/*.cu sources, test/cuda/broken_barrier.cu and the planted
 * test/cuda/out_of_bounds.cu through the SIMT emulation with `g++ -fsanitize=address` (simt.h
 * switches fibers with ucontext under ASan), cached under build/asan-emu/<hash of the sources and
 * flags>/ (override the folder with WORLDKIT_ASAN_DIR, the compiler with CXX). Every operand is a
 * std::vector of exactly its size, so ASan's redzone starts right after it. Then:
 *   - the good kernels (GEMM tiles, shuffle reductions, losses, LSTM, conv, broadcast, optim,
 *     permute, elementwise, frames, RNG, the fixed shift and copy kernels) run with no ASan report
 *     under forward and random order;
 *   - the planted grid-stride loop running to i <= n is reported as a WRITE heap-buffer-overflow in
 *     outOfBoundsKernel at its line of out_of_bounds.cu, and the out[i] = in[i + 1] kernel as a
 *     READ one (the guard zones of the emulation addon catch the write too, and show the read as
 *     NaN: test/cuda_emulation_guards.test.ts).
 * Skipped, with a note, only where the compiler or the machine cannot run ASan programs.
 */
import { execFile, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const cxx = process.env.CXX || 'g++';
const KERNELS = ['gemm', 'reduce', 'losses', 'lstm', 'conv', 'broadcast', 'elementwise', 'optim', 'frames', 'rng', 'permute'];
const SOURCES = [
  ...KERNELS.map((k) => path.join(root, 'cuda', `${k}.cu`)),
  path.join(root, 'test', 'cuda', 'broken_barrier.cu'),
  path.join(root, 'test', 'cuda', 'out_of_bounds.cu'),
  path.join(root, 'test', 'cuda', 'asan_emu.cc'),
];
const FLAGS = ['-std=c++17', '-O1', '-g', '-fsanitize=address', '-fno-omit-frame-pointer', '-ffp-contract=off', '-Wall',
  '-Wno-unused-parameter', '-Wno-unknown-pragmas', `-I${path.join(root, 'cuda')}`, `-I${path.join(root, 'cpp')}`];
// No leak check: the emulation keeps its fiber-stack pool for the process on purpose.
const ASAN_OPTIONS = 'detect_leaks=0:abort_on_error=0:print_summary=1';

/** Whether `cxx -fsanitize=address` builds a program that runs here (why not, otherwise). */
function probeAsan(): string | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-asan-probe-'));
  try {
    const src = path.join(dir, 'p.cc'), exe = path.join(dir, 'p');
    fs.writeFileSync(src, '#include <ucontext.h>\n#include <thread>\nint main(){ucontext_t c;getcontext(&c);std::thread t([]{});t.join();int*p=new int[2];p[1]=1;int r=p[1]-1;delete[]p;return r;}\n');
    const c = spawnSync(cxx, ['-fsanitize=address', src, '-o', exe, '-lpthread'], { encoding: 'utf8' });
    if (c.error) return `${cxx} was not found (${c.error.message})`;
    if (c.status !== 0) return `${cxx} -fsanitize=address failed: ${(c.stderr || '').trim().split('\n').slice(-3).join(' / ')}`;
    const r = spawnSync(exe, [], { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS } });
    if (r.status !== 0) return `a -fsanitize=address program does not run on this machine: ${(r.stderr || '').trim().split('\n').slice(-2).join(' / ')}`;
    return null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Hash of everything the build reads: the sources, the headers they include, flags, compiler. */
function buildKey(): string {
  const h = crypto.createHash('sha256');
  const files = [...SOURCES];
  for (const dir of [path.join(root, 'cuda'), path.join(root, 'cuda', 'emulation'), path.join(root, 'cpp'), path.join(root, 'test', 'cuda')])
    for (const f of fs.readdirSync(dir).sort()) if (/\.(h|cuh)$/.test(f)) files.push(path.join(dir, f));
  for (const f of files) h.update(f).update(fs.readFileSync(f));
  h.update(FLAGS.join(' '));
  h.update(spawnSync(cxx, ['--version'], { encoding: 'utf8' }).stdout || '');
  return h.digest('hex').slice(0, 16);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 << 20 }, (err, _out, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}\n${stderr}`));
      else resolve();
    });
  });
}

/** Compiles (two at a time) and links asan_emu into its cache folder; returns the executable. */
async function build(): Promise<string> {
  const base = process.env.WORLDKIT_ASAN_DIR ? path.resolve(process.env.WORLDKIT_ASAN_DIR) : path.join(root, 'build', 'asan-emu');
  const dir = path.join(base, buildKey());
  const exe = path.join(dir, 'asan_emu');
  if (fs.existsSync(exe)) return exe;
  fs.mkdirSync(dir, { recursive: true });
  const tag = `${process.pid}-${Date.now()}`;
  const objs = SOURCES.map((s) => path.join(dir, `${path.basename(s)}.${tag}.o`));
  const queue = SOURCES.map((s, i) => () => run(cxx, [...FLAGS, '-x', 'c++', '-c', s, '-o', objs[i]]));
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) await job();
  };
  try {
    await Promise.all([worker(), worker()]);
    const tmp = `${exe}.${tag}`;
    await run(cxx, ['-fsanitize=address', ...objs, '-o', tmp, '-lpthread']);
    fs.renameSync(tmp, exe); // atomic: a concurrent run sees the old state or a whole program
    // builds of older sources: drop those untouched for an hour
    for (const d of fs.readdirSync(base)) {
      const p = path.join(base, d);
      if (p !== dir && Date.now() - fs.statSync(p).mtimeMs > 3600e3) fs.rmSync(p, { recursive: true, force: true });
    }
  } finally {
    for (const o of objs) fs.rmSync(o, { force: true });
  }
  return exe;
}

const why = probeAsan();
const maybe = why === null ? describe : describe.skip;
if (why !== null) {
  // eslint-disable-next-line no-console
  console.warn(`cuda_asan.test.ts skipped: ${why}`);
}

maybe('AddressSanitizer build of the emulated kernels (test/cuda/asan_emu.cc)', () => {
  let exe = '';
  beforeAll(async () => {
    exe = await build();
  }, 300000);

  const exec = (mode: string) => {
    const r = spawnSync(exe, [mode], { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS }, timeout: 240000 });
    return { status: r.status, out: r.stdout || '', err: r.stderr || '' };
  };

  test('the good kernels run with no ASan report in forward and random order and match the spot checks', () => {
    const r = exec('good');
    if (r.status !== 0) throw new Error(`asan_emu good exited ${r.status}\n${r.out}\n${r.err.slice(0, 20000)}`);
    expect(r.out).toMatch(/good kernels: 0 ASan reports, 0 check failures/);
    expect(r.err).not.toMatch(/ERROR: AddressSanitizer/);
  }, 240000);

  test('the planted i <= n loop is reported as a heap-buffer-overflow write in out_of_bounds.cu', () => {
    const r = exec('write');
    expect(r.out).not.toMatch(/NOT caught/);
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/ERROR: AddressSanitizer: heap-buffer-overflow/);
    expect(r.err).toMatch(/WRITE of size 4/);
    expect(r.err).toMatch(/outOfBoundsKernel<0>[^\n]*out_of_bounds\.cu:\d+/);
  }, 240000);

  test('the planted read of in[n] is reported as a heap-buffer-overflow read in out_of_bounds.cu', () => {
    const r = exec('read');
    expect(r.out).not.toMatch(/NOT caught/);
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/ERROR: AddressSanitizer: heap-buffer-overflow/);
    expect(r.err).toMatch(/READ of size 4/);
    expect(r.err).toMatch(/outOfBoundsKernel<1>[^\n]*out_of_bounds\.cu:\d+/);
  }, 240000);
});
