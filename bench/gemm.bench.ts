/**
 * GEMM benchmark: GFLOP/s of the native wk GEMM on square sizes and the latent predictor's shapes
 * (forward x . W^T and both backward products), with the ratio to OpenBLAS's cblas_sgemm measured
 * in the same run when Debian's OpenBLAS is installed (a benchmark-only peer, compiled here from
 * bench/peers/openblas_sgemm.c, run with the OpenBLAS build and kernels bench/peer_env.ts picks).
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/wk-bench && \
 *     WORLDKIT_ADDON=$PWD/build/Release/worldkit.node node /tmp/wk-bench/bench/gemm.bench.js [--threads 1,2]
 *
 * `run()` returns the rows for `worldkit bench`.
 */
import Benchmark from 'benchmark';
import * as os from 'os';
import * as path from 'path';
import { native, packageRoot } from '../src/backend/native';
import { cblasPeerExe, judge, machineFacts, runCblasPeer } from './peer_env';

export interface BenchRow {
  op: string;
  shape: string;
  threads: number;
  medianMs: number;
  gflops: number;
  peerGflops?: number;
  ratioToPeer?: number;
  /** The peer's name where it is not the calibrated OpenBLAS (the forced-AVX2 rows: with its trust against the AVX2 peak). */
  peerLabel?: string;
  /** Forced-AVX2 rows: the FMA peak under the AVX2 cap, the peer's calibration. */
  avx2PeakGflops?: number;
  note?: string;
}

interface Shape {
  name: string;
  tA: boolean;
  tB: boolean;
  M: number;
  N: number;
  K: number;
}

const sq = (n: number): Shape => ({ name: `${n}^2 NN`, tA: false, tB: false, M: n, N: n, K: n });
// Linear(1024 -> 1283) at batch b: forward y = x W^T (NT), dX = dY W (NN), dW = dY^T X (TN).
const pred = (b: number, out: number, inp: number): Shape[] => [
  { name: `fwd ${b}x${out}x${inp} NT`, tA: false, tB: true, M: b, N: out, K: inp },
  { name: `dX ${b}x${inp}x${out} NN`, tA: false, tB: false, M: b, N: inp, K: out },
  { name: `dW ${out}x${inp}x${b} TN`, tA: true, tB: false, M: out, N: inp, K: b },
];
export const SHAPES: Shape[] = [sq(256), sq(512), sq(1024), ...pred(4, 1283, 1024), ...pred(32, 1283, 1024), ...pred(32, 256, 1024)];

function fill(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; ++i) a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  return a;
}

function setThreads(n: number): void {
  native.setNumThreads(n);
}

/** The compiled C peer (once per process), or null without cc, cblas.h or libopenblas. */
export function openblasExe(): string | null {
  // Next to this file when run from sources, else in the repository (compiled copies lack the .c).
  return cblasPeerExe([path.join(__dirname, 'peers', 'openblas_sgemm.c'), path.join(packageRoot(), 'bench', 'peers', 'openblas_sgemm.c'),
    path.join(process.cwd(), 'bench', 'peers', 'openblas_sgemm.c')]);
}

/**
 * OpenBLAS GFLOP/s per shape (same order), or null when OpenBLAS or a C compiler is missing.
 * `avx2` runs it as on a machine without AVX-512 (bench/peer_env.ts then picks the Haswell kernels).
 */
export function openblasPeer(shapes: Shape[], threads: number, avx2 = false): number[] | null {
  const exe = openblasExe();
  if (!exe) return null;
  try {
    // peer_env.ts picks the OpenBLAS build and kernels (the same as the calibration's).
    const facts = machineFacts();
    if (avx2) facts.cpuFlags = facts.cpuFlags.filter((f) => !f.startsWith('avx512'));
    return runCblasPeer(exe, shapes.map((s) => [s.tA, s.tB, s.M, s.N, s.K]), threads, 300, facts).gflops;
  } catch {
    return null;
  }
}

function timeGemm(s: Shape, maxTime: number): number {
  const A = fill(s.M * s.K), B = fill(s.K * s.N), C = new Float32Array(s.M * s.N);
  const lda = s.tA ? s.M : s.K, ldb = s.tB ? s.K : s.N;
  const bench = new Benchmark(s.name, () => native.gemm(s.tA, s.tB, s.M, s.N, s.K, 1, A, lda, B, ldb, 0, C, s.N), { maxTime, minSamples: 10 });
  bench.run();
  return median(bench.stats.sample) * 1e3;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function run(options: { threads?: number[]; maxTime?: number; peer?: boolean } = {}): BenchRow[] {
  const rows: BenchRow[] = [];
  const before = native.numThreads() as number;
  for (const threads of options.threads ?? [1, 2]) {
    setThreads(threads);
    const peer = options.peer === false ? null : openblasPeer(SHAPES, threads);
    SHAPES.forEach((s, idx) => {
      const ms = timeGemm(s, options.maxTime ?? 1);
      const gflops = (2 * s.M * s.N * s.K) / (ms * 1e6);
      const row: BenchRow = { op: 'gemm', shape: s.name, threads, medianMs: ms, gflops };
      if (peer) {
        row.peerGflops = peer[idx];
        row.ratioToPeer = gflops / peer[idx];
      }
      rows.push(row);
    });
    // On an AVX-512 machine, the AVX2 path too (what an AVX2-only CPU runs), against OpenBLAS's
    // Haswell kernels. Its shape name starts with 'avx2' so the 1024^2 goals never read it.
    // The peer is calibrated against the AVX2 FMA peak (the probe under the same ISA cap): its
    // 1024² figure is this row's.
    if (native.isa() === 'avx512') {
      const s = { ...sq(1024), name: 'avx2: 1024^2 NN' };
      native.setIsaCap('avx2');
      let ms: number, avx2Peak = 0;
      try {
        ms = timeGemm(s, options.maxTime ?? 1);
        for (let r = 0; r < 3; ++r) avx2Peak = Math.max(avx2Peak, native.benchPeakFlops(threads, 2e7).gflops);
      } finally {
        native.setIsaCap('avx512');
      }
      const gflops = (2 * s.M * s.N * s.K) / (ms * 1e6);
      const row: BenchRow = { op: 'gemm', shape: s.name, threads, medianMs: ms, gflops, avx2PeakGflops: avx2Peak };
      const p = options.peer === false ? null : openblasPeer([s], threads, true);
      const peer = p ? judge(p[0], avx2Peak) : null;
      row.note =
        `worldkit forced to its AVX2 kernels (${((100 * gflops) / avx2Peak).toFixed(0)}% of the AVX2 peak, ${avx2Peak.toFixed(0)} GFLOP/s), OpenBLAS to Haswell` +
        (p && peer ? ` (${(100 * (peer.fraction ?? 0)).toFixed(0)}% of it: ${peer.trust}); the % peak column is of the AVX-512 peak` : '');
      if (p && peer) {
        row.peerGflops = p[0];
        row.ratioToPeer = gflops / p[0];
        row.peerLabel = `AVX2 OpenBLAS (Haswell kernels, ${peer.trust})`;
      }
      rows.push(row);
    }
  }
  setThreads(before);
  return rows;
}

if (require.main === module) {
  const arg = process.argv.indexOf('--threads');
  const threads = arg > 0 ? process.argv[arg + 1].split(',').map(Number) : [1, 2];
  console.log(`worldkit gemm (isa ${native.isa()}) vs OpenBLAS sgemm, ${os.cpus()[0]?.model ?? 'cpu'}`);
  console.log('threads | shape                  |  median ms |  GFLOP/s | OpenBLAS | ratio');
  for (const r of run({ threads })) {
    console.log(
      `${String(r.threads).padStart(7)} | ${r.shape.padEnd(22)} | ${r.medianMs.toFixed(3).padStart(10)} | ${r.gflops.toFixed(1).padStart(8)} | ` +
        `${r.peerGflops !== undefined ? r.peerGflops.toFixed(1).padStart(8) : '       -'} | ${r.ratioToPeer !== undefined ? r.ratioToPeer.toFixed(2) : '-'}`,
    );
  }
}

/** Entry for `bench/run.ts` (`worldkit bench`): `openblas: false` skips the peer. */
export function gemmBench(opts: { openblas?: boolean; threads?: number[]; quick?: boolean } = {}): BenchRow[] {
  return run({ threads: opts.threads, peer: opts.openblas !== false, maxTime: opts.quick ? 0.1 : 1 });
}
