/**
 * Builds a sanitizer build of the emulated CUDA kernels for a test: the unchanged cuda/*.cu
 * sources plus test-only sources, compiled through the SIMT emulation with g++ -fsanitize=<kind>,
 * cached under build/<kind>-emu/<hash of the sources, headers, flags and compiler>/ (the folder
 * can be overridden by an environment variable, the compiler by CXX). Shared by the ThreadSanitizer
 * (test/cuda_tsan.test.ts) and AddressSanitizer (test/cuda_asan.test.ts) tests.
 */
import { execFile, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const root = path.resolve(__dirname, '..', '..');
export const cxx = process.env.CXX || 'g++';
/** The kernel files of cuda/ every sanitizer build compiles. */
export const KERNELS = ['gemm', 'reduce', 'losses', 'lstm', 'conv', 'broadcast', 'elementwise', 'optim', 'frames', 'rng', 'permute'];

export interface SanitizedBuild {
  /** 'thread' or 'address'. */
  sanitizer: string;
  /** Name of the program and of its cache folder prefix ('tsan_emu' -> build/tsan-emu). */
  program: string;
  /** Sources beyond cuda/<KERNELS>.cu (test kernels, the driver). */
  extraSources: string[];
  /** Flags beyond the common ones. */
  extraFlags?: string[];
  /** Environment variable naming another cache folder. */
  dirEnv: string;
  /** A small C++ program that must build and run for the sanitizer to be usable here. */
  probeSource: string;
  /** Environment for the programs (sanitizer options). */
  env?: Record<string, string>;
}

function flags(b: SanitizedBuild): string[] {
  return ['-std=c++17', '-O1', '-g', `-fsanitize=${b.sanitizer}`, ...(b.extraFlags ?? []), '-ffp-contract=off', '-Wall',
    '-Wno-unused-parameter', '-Wno-unknown-pragmas', `-I${path.join(root, 'cuda')}`, `-I${path.join(root, 'cpp')}`];
}

function sources(b: SanitizedBuild): string[] {
  return [...KERNELS.map((k) => path.join(root, 'cuda', `${k}.cu`)), ...b.extraSources];
}

/** Whether `cxx -fsanitize=<kind>` builds a program that runs here (null), or why not. */
export function probeSanitizer(b: SanitizedBuild): string | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wk-${b.program}-probe-`));
  try {
    const src = path.join(dir, 'p.cc'), exe = path.join(dir, 'p');
    fs.writeFileSync(src, b.probeSource);
    const c = spawnSync(cxx, [`-fsanitize=${b.sanitizer}`, src, '-o', exe, '-lpthread'], { encoding: 'utf8' });
    if (c.error) return `${cxx} was not found (${c.error.message})`;
    if (c.status !== 0) return `${cxx} -fsanitize=${b.sanitizer} failed: ${(c.stderr || '').trim().split('\n').slice(-3).join(' / ')}`;
    const r = spawnSync(exe, [], { encoding: 'utf8', env: { ...process.env, ...(b.env ?? {}) } });
    if (r.status !== 0) return `a -fsanitize=${b.sanitizer} program does not run on this machine: ${(r.stderr || '').trim().split('\n').slice(-2).join(' / ')}`;
    return null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Hash of everything the build reads: the sources, the headers they include, flags, compiler. */
function buildKey(b: SanitizedBuild): string {
  const h = crypto.createHash('sha256');
  const files = sources(b);
  for (const dir of [path.join(root, 'cuda'), path.join(root, 'cuda', 'emulation'), path.join(root, 'cpp'), path.join(root, 'test', 'cuda')])
    for (const f of fs.readdirSync(dir).sort()) if (/\.(h|cuh)$/.test(f)) files.push(path.join(dir, f));
  for (const f of files) h.update(f).update(fs.readFileSync(f));
  h.update(flags(b).join(' '));
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

/** Compiles (two at a time) and links the program into its cache folder; returns the executable. */
export async function buildSanitized(b: SanitizedBuild): Promise<string> {
  const base = process.env[b.dirEnv] ? path.resolve(process.env[b.dirEnv]!) : path.join(root, 'build', b.program.replace('_', '-'));
  const dir = path.join(base, buildKey(b));
  const exe = path.join(dir, b.program);
  if (fs.existsSync(exe)) return exe;
  fs.mkdirSync(dir, { recursive: true });
  const tag = `${process.pid}-${Date.now()}`;
  const srcs = sources(b);
  const objs = srcs.map((s) => path.join(dir, `${path.basename(s)}.${tag}.o`));
  const queue = srcs.map((s, i) => () => run(cxx, [...flags(b), '-x', 'c++', '-c', s, '-o', objs[i]]));
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) await job();
  };
  try {
    await Promise.all([worker(), worker()]);
    const tmp = `${exe}.${tag}`;
    await run(cxx, [`-fsanitize=${b.sanitizer}`, ...objs, '-o', tmp, '-lpthread']);
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

/** Runs the built program in a mode; its status, stdout and stderr. */
export function runSanitized(b: SanitizedBuild, exe: string, mode: string): { status: number | null; out: string; err: string } {
  const r = spawnSync(exe, [mode], { encoding: 'utf8', env: { ...process.env, ...(b.env ?? {}) }, timeout: 240000 });
  return { status: r.status, out: r.stdout || '', err: r.stderr || '' };
}
