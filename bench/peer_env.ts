/**
 * How every benchmark peer process runs, decided in one place (issue 17), and the calibration
 * that says whether a peer may be trusted.
 *
 * A peer's ratio is only as honest as the peer is fast. Three things made them slow on these
 * machines, each measured both ways (bench/README.md, "Peers at their best"):
 *  - the machines pin OPENBLAS_CORETYPE=Haswell in the environment, so OpenBLAS ran its AVX2
 *    kernels on AVX-512 CPUs at about half speed: the core type is chosen here from the CPU's
 *    flags and overrides the environment's pin, in the peer's process only;
 *  - Debian's pthread OpenBLAS keeps its own thread pool, which fights PyTorch's OpenMP pool on a
 *    few cores: the OpenMP build is selected per process (LD_LIBRARY_PATH to its folder) where
 *    installed, else the pthread build runs with OPENBLAS_NUM_THREADS=1 so only one pool runs;
 *  - glibc malloc makes PyTorch's step times bimodal: tcmalloc is preloaded for PyTorch peers.
 * Nothing here touches process.env: worldkit, the tests and CI keep the environment they have.
 *
 * The machine's facts (filesystem root, multiarch triplet, CPU flags, environment) are
 * parameters so that test/bench_peers.test.ts can check the decisions on fake machines.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BenchRow, Peak, PeerTiming } from './harness';

/** torch: a PyTorch script; cblas: the C cblas_sgemm peer; python: numpy/scikit-learn (BLAS, no tcmalloc). */
export type PeerKind = 'torch' | 'cblas' | 'python';

export interface MachineFacts {
  /** Root the library folders are looked up under: '/' on a real machine, a temp dir in tests. */
  root: string;
  /** Debian multiarch triplet, the library folder's name under <root>/usr/lib. */
  multiarch: string;
  /** CPU flags as /proc/cpuinfo lists them. */
  cpuFlags: string[];
  /** The environment the peer would inherit; read, never modified. */
  env: NodeJS.ProcessEnv;
}

export function multiarchTriplet(arch: string = process.arch): string {
  if (arch === 'x64') return 'x86_64-linux-gnu';
  if (arch === 'arm64') return 'aarch64-linux-gnu';
  return `${arch}-linux-gnu`;
}

/** The flags line of /proc/cpuinfo (the first CPU's; they are the same on every core we run on). */
export function readCpuFlags(cpuinfo?: string): string[] {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return [];
    }
  }
  const line = text.match(/^(?:flags|Features)\s*:(.*)$/m)?.[1] ?? '';
  return line.split(/\s+/).filter(Boolean);
}

export function machineFacts(): MachineFacts {
  return { root: '/', multiarch: multiarchTriplet(), cpuFlags: readCpuFlags(), env: process.env };
}

export interface CoretypeChoice {
  /** The value for OPENBLAS_CORETYPE, or null to leave it unset (OpenBLAS then detects). */
  coretype: string | null;
  why: string;
}

/**
 * OpenBLAS's kernel family for this CPU. SkylakeX's kernels use AVX-512 F/BW/VL/DQ and die with
 * SIGILL where any is missing, so all four are required; Haswell's need AVX2 and FMA. Below that
 * the variable is removed rather than guessed: OpenBLAS's own detection never picks kernels the
 * CPU lacks, whereas an inherited pin (Haswell on an AVX-only CPU) would fault.
 */
export function chooseCoretype(flags: readonly string[]): CoretypeChoice {
  const has = (f: string) => flags.includes(f);
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].every(has)) return { coretype: 'SkylakeX', why: 'AVX-512 F/BW/VL/DQ' };
  if (has('avx2') && has('fma')) return { coretype: 'Haswell', why: 'AVX2+FMA, no AVX-512' };
  return { coretype: null, why: 'no AVX2: left to OpenBLAS to detect' };
}

export interface PeerConfig {
  kind: PeerKind;
  /** Threads the peer runs its workload on (torch.set_num_threads / openblas_set_num_threads). */
  threads: number;
  /** Which OpenBLAS build the process loads: 'system' when neither Debian folder exists (whatever libblas resolves to). */
  blas: 'openmp' | 'pthread' | 'system';
  /** The folder put first on LD_LIBRARY_PATH, or null. */
  blasDir: string | null;
  /** OPENBLAS_NUM_THREADS for the pthread build (1 where another pool runs beside it); 'openmp' follows OMP_NUM_THREADS. */
  blasThreads: number | 'openmp';
  coretype: string | null;
  coretypeWhy: string;
  /** The environment's OPENBLAS_CORETYPE, when it differed from the choice (reported, then overridden). */
  overriddenCoretype?: string;
  allocator: 'tcmalloc' | 'malloc';
  allocatorLib: string | null;
  /** The complete environment for the peer's process. */
  env: NodeJS.ProcessEnv;
}

const TCMALLOC_NAMES = ['libtcmalloc_minimal.so.4', 'libtcmalloc.so.4'];

function prependPath(value: string | undefined, first: string): string {
  const rest = (value ?? '').split(':').filter((p) => p && p !== first);
  return [first, ...rest].join(':');
}

/** Debian's OpenBLAS folder of one build when it holds a loadable library. */
function blasFolder(facts: MachineFacts, build: 'openmp' | 'pthread'): string | null {
  const dir = path.join(facts.root, 'usr', 'lib', facts.multiarch, `openblas-${build}`);
  return ['libopenblas.so.0', 'libblas.so.3'].some((f) => fs.existsSync(path.join(dir, f))) ? dir : null;
}

/** The best configuration this machine offers a peer of `kind` running on `threads` threads. */
export function peerConfig(kind: PeerKind, threads: number, facts: MachineFacts = machineFacts()): PeerConfig {
  const env: NodeJS.ProcessEnv = { ...facts.env };
  const { coretype, why } = chooseCoretype(facts.cpuFlags);
  const inherited = facts.env.OPENBLAS_CORETYPE;
  if (coretype) env.OPENBLAS_CORETYPE = coretype;
  else delete env.OPENBLAS_CORETYPE;

  const openmp = blasFolder(facts, 'openmp');
  const pthread = openmp ? null : blasFolder(facts, 'pthread');
  const blasDir = openmp ?? pthread;
  if (blasDir) env.LD_LIBRARY_PATH = prependPath(env.LD_LIBRARY_PATH, blasDir);
  env.OMP_NUM_THREADS = String(threads);
  let blasThreads: PeerConfig['blasThreads'];
  if (openmp) {
    // The OpenMP build sizes itself from OpenMP (the peer's own pool); an inherited
    // OPENBLAS_NUM_THREADS or GOTO_NUM_THREADS would cap it behind the peer's back.
    delete env.OPENBLAS_NUM_THREADS;
    delete env.GOTO_NUM_THREADS;
    blasThreads = 'openmp';
  } else {
    // The C peer is the only pool in its process, so its OpenBLAS may have them all; in a
    // PyTorch or numpy process a second (pthread) pool would fight the OpenMP one.
    blasThreads = kind === 'cblas' ? threads : 1;
    env.OPENBLAS_NUM_THREADS = String(blasThreads);
    delete env.GOTO_NUM_THREADS;
  }

  let allocatorLib: string | null = null;
  if (kind === 'torch') {
    const libDir = path.join(facts.root, 'usr', 'lib', facts.multiarch);
    allocatorLib = TCMALLOC_NAMES.map((n) => path.join(libDir, n)).find((f) => fs.existsSync(f)) ?? null;
    if (allocatorLib) env.LD_PRELOAD = prependPath(env.LD_PRELOAD, allocatorLib);
  }
  return {
    kind,
    threads,
    blas: openmp ? 'openmp' : pthread ? 'pthread' : 'system',
    blasDir,
    blasThreads,
    coretype,
    coretypeWhy: why,
    ...(inherited !== undefined && inherited !== coretype ? { overriddenCoretype: inherited } : {}),
    allocator: allocatorLib ? 'tcmalloc' : 'malloc',
    allocatorLib,
    env,
  };
}

// ---- calibration ---------------------------------------------------------------------------

/** A peer whose 1024² GEMM runs below this fraction of the measured machine peak is handicapped. */
export const HANDICAP_FRACTION = 0.7;

/** trusted: calibrated at ≥ 70% of peak; handicapped: below; uncalibrated: no figure (probe or peer failed). */
export type PeerTrust = 'trusted' | 'handicapped' | 'uncalibrated';

export interface Calibration {
  /** The name its timings carry in the table ('PyTorch', 'OpenBLAS'). */
  label: string;
  kind: PeerKind;
  threads: number;
  config: Omit<PeerConfig, 'env'>;
  /**
   * 1024² sgemm through the library the peer's workload uses, from its fastest batch: the peak
   * probe keeps its best run too, so a moment of load elsewhere does not condemn a peer, while
   * a misconfigured one (AVX2 kernels on an AVX-512 CPU run at about half) stays below 70%.
   */
  gflops: number | null;
  /** The measured machine peak at `threads` threads. */
  peakGflops: number | null;
  fraction: number | null;
  trust: PeerTrust;
  /** What the loaded library says of itself (openblas_get_parallel / _corename), and what the process mapped. */
  reported?: { parallel?: string; corename?: string; lib?: string; allocatorMapped?: boolean };
  error?: string;
}

export function judge(gflops: number | null, peakGflops: number | null): { fraction: number | null; trust: PeerTrust } {
  if (gflops === null || !(gflops > 0) || peakGflops === null || !(peakGflops > 0)) return { fraction: null, trust: 'uncalibrated' };
  const fraction = gflops / peakGflops;
  return { fraction, trust: fraction >= HANDICAP_FRACTION ? 'trusted' : 'handicapped' };
}

function publicConfig(cfg: PeerConfig): Omit<PeerConfig, 'env'> {
  const { env: _env, ...rest } = cfg;
  return rest;
}

const PARALLEL = ['sequential', 'pthread', 'openmp'];

// The PyTorch peer's GEMM, then what its process really loaded: the BLAS it mapped (and that
// library's own account of its build and kernels) and whether tcmalloc is in.
const TORCH_CALIBRATION = String.raw`
import ctypes, json, sys, time
import torch
n, threads, min_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
torch.set_num_threads(threads)
g = torch.Generator().manual_seed(0)
a, b, c = torch.rand(n, n, generator=g) - 0.5, torch.rand(n, n, generator=g) - 0.5, torch.empty(n, n)
torch.mm(a, b, out=c)
t0, reps = time.perf_counter(), 0
while (time.perf_counter() - t0) * 1e3 < min_ms / 5:
    torch.mm(a, b, out=c)
    reps += 1
samples = []
for _ in range(5):
    t = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b, out=c)
    samples.append((time.perf_counter() - t) / reps)
ms = min(samples) * 1e3
out = {"ms": ms, "gflops": 2.0 * n ** 3 / (ms * 1e6), "threads": torch.get_num_threads()}
mapped = []
for line in open("/proc/self/maps"):
    f = line.split()
    if len(f) >= 6 and f[-1] not in mapped and ("blas" in f[-1].rsplit("/", 1)[-1] or "tcmalloc" in f[-1]):
        mapped.append(f[-1])
out["allocatorMapped"] = any("tcmalloc" in p for p in mapped)
for p in mapped:
    try:
        lib = ctypes.CDLL(p)
    except OSError:
        continue
    if hasattr(lib, "openblas_get_corename"):
        lib.openblas_get_corename.restype = ctypes.c_char_p
        out.update(lib=p, corename=lib.openblas_get_corename().decode(), parallel=lib.openblas_get_parallel())
        break
print(json.dumps(out))
`;

export const PYTHON = '/usr/bin/python3';

/** Runs the PyTorch calibration in a process configured as the PyTorch peers are. */
export function calibrateTorch(threads: number, peak: Peak | null, quick: boolean, facts: MachineFacts = machineFacts()): Calibration {
  const cfg = peerConfig('torch', threads, facts);
  const base = { label: 'PyTorch', kind: 'torch' as const, threads, config: publicConfig(cfg), peakGflops: peakAt(peak, threads) };
  const r = spawnSync(PYTHON, ['-c', TORCH_CALIBRATION, '1024', String(threads), quick ? '60' : '400'], { env: cfg.env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return { ...base, gflops: null, ...judge(null, null), error: (r.stderr || r.error?.message || 'failed').slice(-300) };
  try {
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    return {
      ...base,
      gflops: out.gflops,
      ...judge(out.gflops, base.peakGflops),
      reported: { lib: out.lib, corename: out.corename, parallel: PARALLEL[out.parallel] ?? String(out.parallel ?? '?'), allocatorMapped: out.allocatorMapped },
    };
  } catch (e) {
    return { ...base, gflops: null, ...judge(null, null), error: `unreadable output: ${(e as Error).message}` };
  }
}

/** The measured peak at `threads` threads (the 1-thread probe for 1, else the run's). */
export function peakAt(peak: Peak | null, threads: number): number | null {
  if (!peak) return null;
  return threads === 1 && peak.threads !== 1 ? peak.gflops1 : peak.gflops;
}

let cblasExe: string | null | undefined;

/**
 * The C cblas_sgemm peer (bench/peers/openblas_sgemm.c), compiled once per process against
 * libopenblas.so.0: which build's library it loads is decided at run time by peerConfig's
 * LD_LIBRARY_PATH, so the one binary serves either build.
 */
export function cblasPeerExe(sourceCandidates: string[], multiarch: string = multiarchTriplet()): string | null {
  if (cblasExe !== undefined) return cblasExe;
  const header = [`/usr/include/${multiarch}/cblas.h`, '/usr/include/cblas.h', '/usr/include/openblas/cblas.h'].find((f) => fs.existsSync(f));
  const src = sourceCandidates.find((f) => fs.existsSync(f));
  if (!header || !src) return (cblasExe = null);
  const exe = path.join(os.tmpdir(), `wk-openblas-sgemm-${process.pid}`);
  try {
    execFileSync('cc', ['-O2', src, '-I', path.dirname(header), '-o', exe, '-lopenblas'], { stdio: 'pipe' });
  } catch {
    return (cblasExe = null);
  }
  process.once('exit', () => fs.rmSync(exe, { force: true }));
  return (cblasExe = exe);
}

export interface CblasRun {
  /** From the median batch (the workload's figure) and from the fastest (the calibration's). */
  gflops: number[];
  bestGflops: number[];
  reported?: Calibration['reported'];
}

/** Runs the C peer on shapes [tA, tB, M, N, K] with the peer configuration for `threads`. */
export function runCblasPeer(exe: string, shapes: [boolean, boolean, number, number, number][], threads: number, minMs: number, facts: MachineFacts = machineFacts()): CblasRun {
  const cfg = peerConfig('cblas', threads, facts);
  const args = ['--threads', String(threads), '--min-ms', String(minMs), '--report'];
  for (const [tA, tB, M, N, K] of shapes) args.push(tA ? '1' : '0', tB ? '1' : '0', String(M), String(N), String(K));
  const r = spawnSync(exe, args, { env: cfg.env, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`openblas_sgemm failed: ${(r.stderr || r.error?.message || '').slice(-300)}`);
  const res = JSON.parse(r.stdout) as { gflops: number; bestGflops?: number }[];
  const gflops = res.map((x) => x.gflops), bestGflops = res.map((x) => x.bestGflops ?? x.gflops);
  const line = r.stderr.split('\n').find((l) => l.startsWith('{'));
  if (!line) return { gflops, bestGflops };
  const rep = JSON.parse(line) as { parallel: number; corename: string; lib: string };
  return { gflops, bestGflops, reported: { parallel: PARALLEL[rep.parallel] ?? String(rep.parallel), corename: rep.corename, lib: rep.lib } };
}

export function calibrateCblas(exe: string | null, threads: number, peak: Peak | null, quick: boolean, facts: MachineFacts = machineFacts()): Calibration {
  const cfg = peerConfig('cblas', threads, facts);
  const base = { label: 'OpenBLAS', kind: 'cblas' as const, threads, config: publicConfig(cfg), peakGflops: peakAt(peak, threads) };
  if (!exe) return { ...base, gflops: null, ...judge(null, null), error: 'not built (needs cc and libopenblas-dev)' };
  try {
    const run = runCblasPeer(exe, [[false, false, 1024, 1024, 1024]], threads, quick ? 60 : 300, facts);
    return { ...base, gflops: run.bestGflops[0], ...judge(run.bestGflops[0], base.peakGflops), reported: run.reported };
  } catch (e) {
    return { ...base, gflops: null, ...judge(null, null), error: (e as Error).message };
  }
}

export function formatCalibration(c: Calibration): string {
  const cfg = c.config;
  const blas = `BLAS ${cfg.blas}${cfg.blasDir ? ` (${cfg.blasDir})` : ''}${cfg.blasThreads === 'openmp' ? '' : `, OPENBLAS_NUM_THREADS=${cfg.blasThreads}`}`;
  const kernel = `kernels ${cfg.coretype ?? 'detected by OpenBLAS'}${cfg.overriddenCoretype !== undefined ? ` (environment's ${cfg.overriddenCoretype} overridden)` : ''}`;
  const rep = c.reported;
  const loaded = rep?.corename ? `; the library reports ${rep.parallel} build, ${rep.corename} kernels` : '';
  const alloc = c.kind === 'torch' ? `, allocator ${cfg.allocator}${rep && rep.allocatorMapped === false && cfg.allocator === 'tcmalloc' ? ' (NOT mapped)' : ''}` : '';
  const fig =
    c.gflops === null
      ? `not calibrated${c.error ? ` (${c.error.split('\n').filter(Boolean).pop()})` : ''}`
      : `1024² GEMM ${c.gflops.toFixed(0)} GFLOP/s${c.fraction !== null ? ` = ${(100 * c.fraction).toFixed(0)}% of the ${c.threads}-thread peak` : ' (no peak probe)'}`;
  const verdict = c.trust === 'trusted' ? 'trusted' : c.trust === 'handicapped' ? `HANDICAPPED (< ${100 * HANDICAP_FRACTION}%)` : 'UNCALIBRATED';
  return `peer ${c.label}, ${c.threads} thread${c.threads > 1 ? 's' : ''}: ${blas}, ${kernel}${alloc}${loaded}; ${fig} → ${verdict}`;
}

/** The calibration a peer timing answers to: PyTorch and OpenBLAS peers have one; other peers (TF.js, scikit-learn) are not BLAS peers. */
function familyOf(peer: string): PeerKind | null {
  if (/^PyTorch\b/.test(peer)) return 'torch';
  if (/^OpenBLAS\b/.test(peer)) return 'cblas';
  return null;
}

/**
 * Marks every PyTorch and OpenBLAS timing with its peer's trust. A timing with no matching
 * calibration is 'uncalibrated', never trusted by default: a peer is calibrated before it is trusted.
 */
export function applyCalibrations(rows: BenchRow[], calibrations: Calibration[], runThreads: number): void {
  for (const r of rows)
    for (const p of r.peers ?? []) {
      const kind = familyOf(p.peer);
      if (!kind) continue;
      const threads = kind === 'cblas' ? r.threads ?? runThreads : runThreads;
      const c = calibrations.find((x) => x.kind === kind && x.threads === threads);
      (p as PeerTiming).trust = c ? c.trust : 'uncalibrated';
    }
}

/**
 * `env` arguments that turn the current environment into a peer's: NAME=value for what the
 * configuration sets or changes, `-u NAME` for what it removes. For running a peer by hand:
 *   env $(node dist/bench/peer_env.js torch 2) /usr/bin/python3 bench/peers/torch_predictor.py --threads 2
 */
export function envArgs(cfg: PeerConfig, base: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const k of Object.keys(base)) if (!(k in cfg.env)) out.push('-u', k);
  for (const [k, v] of Object.entries(cfg.env)) if (v !== undefined && base[k] !== v) out.push(`${k}=${v}`);
  return out;
}

if (require.main === module) {
  const [kind = 'torch', threads = '2'] = process.argv.slice(2);
  if (!['torch', 'cblas', 'python'].includes(kind) || !(Number(threads) >= 1)) {
    console.error('usage: node dist/bench/peer_env.js torch|cblas|python THREADS');
    process.exit(2);
  }
  console.log(envArgs(peerConfig(kind as PeerKind, Number(threads))).join(' '));
}
