/**
 * CUDA kernel benchmarks (issue 6): the hand-written kernels of cuda/ timed on the device with
 * CUDA events (cuda/bench.cu through the native cudaBenchKernel), reported as GFLOP/s or GB/s and
 * as a percentage of the device's peak (FP32 FMA rate and DRAM bandwidth from its attributes).
 * Without a GPU (cudaStatus().available false) it prints that it skipped and returns no rows.
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/wk-bench
 *   NODE_PATH=$PWD/node_modules node /tmp/wk-bench/bench/cuda.bench.js [--quick]   (from the repo root)
 *
 * `cudaBench(options)` returns the rows so `worldkit bench` (bench/run.ts, suite 'cuda') collects
 * them.
 */
import { cudaStatus } from '../src/backend/cuda';
import { native } from '../src/backend/native';
import { BenchRow, SuiteOptions } from './harness';

interface Case {
  kernel: number;
  op: string;
  size: number;
  shape: string;
  /** Which peak the kernel is bound by. */
  bound: 'flops' | 'bytes';
}

const CASES: Case[] = [
  { kernel: 0, op: 'gemm', size: 4096, shape: '4096x4096x4096', bound: 'flops' },
  { kernel: 0, op: 'gemm', size: 1024, shape: '1024x1024x1024', bound: 'flops' },
  { kernel: 1, op: 'sigmoid forward', size: 1 << 26, shape: 'n=64M', bound: 'bytes' },
  { kernel: 2, op: 'axpy (residual update)', size: 1 << 26, shape: 'n=64M', bound: 'bytes' },
  { kernel: 3, op: 'sumAll', size: 1 << 26, shape: 'n=64M', bound: 'bytes' },
  { kernel: 4, op: 'Adam step', size: 1 << 24, shape: 'n=16M', bound: 'bytes' },
  { kernel: 5, op: 'LSTM sequence forward', size: 256, shape: 'T=16 B=32 I=1027 H=256', bound: 'flops' },
  { kernel: 5, op: 'LSTM sequence forward', size: 512, shape: 'T=16 B=32 I=1027 H=512', bound: 'flops' },
  { kernel: 6, op: 'conv2d forward', size: 32, shape: 'N=32 32->64 32x32 k4 s2', bound: 'flops' },
  { kernel: 7, op: 'broadcast add (row)', size: 1 << 16, shape: '[65536,1024] + [1,1024]', bound: 'bytes' },
];

export function cudaBench(opts: Partial<SuiteOptions> = {}): BenchRow[] {
  const log = opts.log ?? ((s: string) => console.log(s));
  const status = cudaStatus();
  if (!status.available) {
    log(`cuda: skipped (${status.reason || 'no CUDA device'})`);
    return [];
  }
  const peak = native.cudaPeak() as { gflops: number; gbps: number };
  log(`cuda: ${status.deviceName} (sm ${status.computeCapability}), peak ${peak.gflops.toFixed(0)} GFLOP/s FP32, ${peak.gbps.toFixed(0)} GB/s`);
  const rows: BenchRow[] = [];
  for (const c of opts.quick ? CASES.filter((_, i) => i % 2 === 1) : CASES) {
    const iters = c.kernel === 0 && c.size >= 4096 ? 5 : 20;
    const r = native.cudaBenchKernel(c.kernel, c.size, iters) as { ms: number; bytes: number; flops: number };
    const rate = c.bound === 'flops' ? r.flops / (r.ms * 1e6) : r.bytes / (r.ms * 1e6);
    const pct = (100 * rate) / (c.bound === 'flops' ? peak.gflops : peak.gbps);
    const text = `${rate.toFixed(1)} ${c.bound === 'flops' ? 'GFLOP/s' : 'GB/s'} (${pct.toFixed(0)}% of peak)`;
    log(`cuda: ${c.op.padEnd(24)} ${c.shape.padEnd(26)} ${r.ms.toFixed(3)} ms  ${text}`);
    rows.push({
      suite: 'cuda',
      op: c.op,
      shape: c.shape,
      ms: r.ms,
      samples: iters,
      flops: c.bound === 'flops' ? r.flops : undefined,
      bytes: c.bound === 'bytes' ? r.bytes : undefined,
      note: text,
      extra: { device: status.deviceName, peakGflops: peak.gflops, peakGBps: peak.gbps, percentOfPeak: pct },
    });
  }
  return rows;
}

if (require.main === module) cudaBench({ quick: process.argv.includes('--quick') });
