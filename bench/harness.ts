/**
 * The benchmark harness: the common row format every suite returns, the timer, the machine
 * probes and the table printer. `bench/run.ts` drives it; each `bench/<family>.bench.ts` exports
 * a function returning rows (its own shape or `BenchRow`; run.ts adapts the former).
 *
 * Timing (see bench/README.md): `measure()` uses benchmark.js for calls under ~25 ms (it picks the
 * repetition count per cycle, so timer resolution never matters) and a manual timer for longer
 * calls (training steps, scaling cases): one warm-up call, then single calls timed with
 * process.hrtime until `minSamples` calls and `maxTime` seconds are both reached. Either way the
 * row holds the median and the 10th/90th percentiles of the per-call times. `--quick` times one
 * call, with no warm-up.
 */
import Benchmark from 'benchmark';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../src/backend/native';
import { PYTHON, type PeerTrust, peerConfig } from './peer_env';

export { PYTHON };

/** One line of the table. `ms` is the median time of one call of the operation. */
export interface BenchRow {
  /** Suite the row comes from ('gemm', 'lstm', 'conv', ...). */
  suite: string;
  /** What was timed ('conv2d forward', 'train step, teacher forcing', ...). */
  op: string;
  /** Shape or configuration, short ('B=32 H=256', '1024x1024x1024'). */
  shape: string;
  /** Median ms per call, and the spread (10th and 90th percentile) when more than one sample. */
  ms: number;
  p10?: number;
  p90?: number;
  samples?: number;
  /** Work per call, from which the throughput and % of peak are derived. */
  flops?: number;
  bytes?: number;
  items?: number;
  /** Name of the items ('steps', 'images', 'latent-steps'); default 'items'. */
  itemUnit?: string;
  /** Peers timed in the same run: ratio = peer ms / worldkit ms (> 1: worldkit is faster). */
  peers?: PeerTiming[];
  /** Threads the case ran on when not the run's count (% of peak then uses that peak: 1 thread → the 1-thread probe). */
  threads?: number;
  /** Anything the reader needs (a skipped peer, a flagged scaling). */
  note?: string;
  /** Suite-specific extra fields, kept in --json. */
  extra?: Record<string, unknown>;
}

export interface PeerTiming {
  peer: string;
  ms: number;
  ratio: number;
  /** Set by run.ts from the peer's calibration (bench/peer_env.ts); a goal read against a peer that is not 'trusted' cannot be met. */
  trust?: PeerTrust;
}

export interface SuiteOptions {
  quick: boolean;
  threads: number;
  device: 'cpu' | 'cuda';
  /** Run peers (PyTorch, OpenBLAS, TF.js) where installed. */
  peers: boolean;
  log: (line: string) => void;
}

export interface Timing {
  ms: number;
  p10: number;
  p90: number;
  samples: number;
  method: 'benchmark.js' | 'manual' | 'single';
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(samplesMs: number[], method: Timing['method']): Timing {
  const s = [...samplesMs].sort((a, b) => a - b);
  return { ms: quantile(s, 0.5), p10: quantile(s, 0.1), p90: quantile(s, 0.9), samples: s.length, method };
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface MeasureOptions {
  quick?: boolean;
  /** Minimum timed calls (manual) or benchmark.js samples (default 10). */
  minSamples?: number;
  /** Seconds to spend per case, about (default 2). */
  maxTime?: number;
  /** Force the manual timer (long calls, or calls with state the benchmark.js loop would skew). */
  manual?: boolean;
}

/** Times fn; see the file comment for the method. */
export function measure(name: string, fn: () => void, opts: MeasureOptions = {}): Timing {
  if (opts.quick) {
    const t0 = nowMs();
    fn();
    return summarize([nowMs() - t0], 'single');
  }
  const minSamples = opts.minSamples ?? 10;
  const maxTime = opts.maxTime ?? 2;
  const t0 = nowMs();
  fn(); // warm-up: caches, lazily allocated buffers, optimizer state
  const first = nowMs() - t0;
  if (opts.manual || first > 25) {
    const samples: number[] = [];
    const start = nowMs();
    while (samples.length < minSamples || (nowMs() - start < maxTime * 1e3 && samples.length < 200)) {
      const t = nowMs();
      fn();
      samples.push(nowMs() - t);
      if (samples.length >= 3 && nowMs() - start > 4 * maxTime * 1e3) break; // very long calls
    }
    return summarize(samples, 'manual');
  }
  const b = new Benchmark(name, fn, { minSamples, maxTime, initCount: 1 });
  b.run({ async: false });
  if (b.error) throw b.error;
  return summarize(
    b.stats.sample.map((s) => s * 1e3),
    'benchmark.js',
  );
}

/** A row from a timing plus the work done per call. */
export function row(suite: string, op: string, shape: string, t: Timing, work: Partial<BenchRow> = {}): BenchRow {
  return { suite, op, shape, ms: t.ms, p10: t.p10, p90: t.p90, samples: t.samples, ...work, extra: { method: t.method, ...(work.extra ?? {}) } };
}

// ---- machine -------------------------------------------------------------------------------

export interface Peak {
  /** Peak single-precision GFLOP/s for `threads` threads (FMA-bound loop). */
  gflops: number;
  gflops1: number;
  isa: string;
  /** Copy bandwidth, GB/s (bytes read + written), `threads` threads. */
  gbps: number;
  threads: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function probePeak(native: Record<string, any>, threads: number, quick: boolean): Peak {
  const iters = quick ? 2e6 : 2e7;
  const best = (n: number) => {
    let g = 0, isa = '';
    for (let r = 0; r < (quick ? 1 : 3); ++r) {
      const p = native.benchPeakFlops(n, iters);
      if (p.gflops > g) g = p.gflops;
      isa = p.isa;
    }
    return { g, isa };
  };
  const one = best(1);
  const all = threads > 1 ? best(threads) : one;
  const bw = native.benchCopyBandwidth(threads, quick ? 64 << 20 : 256 << 20, quick ? 2 : 5);
  return { gflops: all.g, gflops1: one.g, isa: all.isa, gbps: bw.gbps, threads };
}

export function cpuModel(): string {
  const cpus = os.cpus();
  let fam = '';
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const f = info.match(/^cpu family\s*:\s*(\d+)/m)?.[1], m = info.match(/^model\s*:\s*(\d+)/m)?.[1];
    const cache = info.match(/^cache size\s*:\s*(.+)$/m)?.[1];
    if (f && m) fam = `, family ${f} model ${m}${cache ? `, cache ${cache}` : ''}`;
  } catch {
    // not Linux
  }
  return `${cpus[0]?.model ?? 'unknown'} (${cpus.length} logical cores${fam})`;
}

// ---- table ---------------------------------------------------------------------------------

export function fmtMs(ms: number): string {
  if (!isFinite(ms)) return '-';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

function fmtNum(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (v >= 100) return v.toFixed(0);
  return v.toFixed(1);
}

/** Throughput text and % of the measured peak. */
export function throughput(r: BenchRow, peak?: Peak): { text: string; pct: string } {
  const s = r.ms / 1e3;
  if (r.flops) {
    const g = r.flops / s / 1e9;
    const p = peak ? (r.threads === 1 && peak.threads !== 1 ? peak.gflops1 : peak.gflops) : 0;
    return { text: `${g.toFixed(1)} GFLOP/s`, pct: peak ? `${((100 * g) / p).toFixed(0)}%` : '' };
  }
  if (r.bytes) {
    const g = r.bytes / s / 1e9;
    return { text: `${g.toFixed(1)} GB/s`, pct: peak ? `${((100 * g) / peak.gbps).toFixed(0)}%` : '' };
  }
  if (r.items) return { text: `${fmtNum(r.items / s)} ${r.itemUnit ?? 'items'}/s`, pct: '' };
  return { text: '', pct: '' };
}

export function formatTable(rows: BenchRow[], peak?: Peak): string {
  const lines = [
    '| suite | operation | shape | median ms | p10-p90 ms | throughput | % peak | vs peers (peer ms, speed-up) |',
    '|---|---|---|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const tp = throughput(r, peak);
    const spread = r.p10 !== undefined && r.p90 !== undefined && (r.samples ?? 1) > 1 ? `${fmtMs(r.p10)}-${fmtMs(r.p90)}` : '';
    const peers = (r.peers ?? []).map((p) => `${p.peer} ${fmtMs(p.ms)} → **${p.ratio.toFixed(2)}x**${p.trust === 'handicapped' || p.trust === 'uncalibrated' ? ` *${p.trust}*` : ''}`).join('; ');
    const note = r.note ? ` ${peers ? '; ' : ''}_${r.note}_` : '';
    lines.push(`| ${r.suite} | ${r.op} | ${r.shape} | ${fmtMs(r.ms)} | ${spread} | ${tp.text} | ${tp.pct} | ${peers}${note} |`);
  }
  return lines.join('\n');
}

/** Attach a peer timing to a row (ratio = peer / worldkit). */
export function addPeer(r: BenchRow, peer: string, ms: number): void {
  if (!isFinite(ms) || ms <= 0) return;
  (r.peers ??= []).push({ peer, ms, ratio: ms / r.ms });
}

// ---- peers ---------------------------------------------------------------------------------

/** A peer file (bench/peers/<name>) beside this file or in the repository (bench/peers/; the package ships only the compiled TF.js peers: an installed worldkit skips the PyTorch, OpenBLAS and scikit-learn peers, saying so). */
export function findPeer(name: string): string | null {
  const candidates = [path.join(__dirname, 'peers', name), path.join(packageRoot(), 'bench', 'peers', name)];
  return candidates.find((f) => fs.existsSync(f)) ?? null;
}

let torchVersionCache: string | null | undefined;
/** PyTorch's version for /usr/bin/python3, or null when it cannot import torch. */
export function torchVersion(): string | null {
  if (torchVersionCache !== undefined) return torchVersionCache;
  if (!fs.existsSync(PYTHON)) return (torchVersionCache = null);
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return (torchVersionCache = r.status === 0 ? r.stdout.trim() : null);
}

/** The environment of a PyTorch peer on `threads` threads: bench/peer_env.ts decides it (BLAS build, kernels, tcmalloc). */
export function torchEnv(threads: number): NodeJS.ProcessEnv {
  return peerConfig('torch', threads).env;
}

/** Runs a Python peer with JSON on stdin; returns the JSON lines of its stdout (or [] with a log line). */
export function runPythonPeer(script: string, args: string[], threads: number, input: unknown, log: (s: string) => void): Record<string, unknown>[] {
  if (!torchVersion()) {
    log(`PyTorch peer ${script} skipped: ${PYTHON} cannot import torch (Debian: apt-get install python3-torch)`);
    return [];
  }
  const file = findPeer(script);
  if (!file) {
    log(`PyTorch peer ${script} skipped: bench/peers/${script} not found (the peers live in the worldkit repository, not the package)`);
    return [];
  }
  const r = spawnSync(PYTHON, [file, ...args], { env: torchEnv(threads), input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) {
    log(`PyTorch peer ${script} failed: ${(r.stderr || '').slice(-800)}`);
    return [];
  }
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}
