/**
 * The data pipeline: driving-simulator frames/s (the scripted driver stepping and rendering
 * 64x64 frames inside one native call, one thread; and generateEpisodes across all threads),
 * batch assembly (SequenceDataset: window gather + HWC→CHW uint8 for B=32, T=16), Moving MNIST
 * generation and .npz loading.
 *
 * The simulator rows also note frames per CPU-second of this process, which stays meaningful on
 * a shared machine where wall-clock frames/s drop with the load. The training loop's share of
 * step time spent in data is batch-assembly ms / train-step ms; bench/train.bench.ts times the
 * step, so compare the two rows (batch assembly is ~1 ms against predictor steps of 70+ ms).
 *
 *   node -r ./test/helpers/ts_register.js bench/data.bench.ts [--quick]
 */
import * as fs from 'fs';
import * as path from 'path';
import { native, packageRoot } from '../src/backend/native';
import { DrivingSim, generateEpisodes } from '../src/data/driving_sim';
import { SequenceDataset } from '../src/data/sequence_dataset';
import { movingMnist } from '../src/data/moving_mnist';
import { loadNpzEpisode } from '../src/data/loaders';
import { BenchRow, SuiteOptions, formatTable, measure, row } from './harness';

function cpuMsOf(fn: () => void): { wallMs: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1e3 };
}

export function dataBench(opts: Partial<SuiteOptions> = {}): BenchRow[] {
  const quick = !!opts.quick;
  const log = opts.log ?? (() => undefined);
  const rows: BenchRow[] = [];
  const prevThreads = native.numThreads() as number;

  // 1. One simulator on one thread: driver + dynamics + render + labels, 200 frames per call.
  native.setNumThreads(1);
  const steps = 200;
  const sim = new DrivingSim(1);
  let seed = 1;
  const t = measure('sim drive', () => {
    sim.reset(seed++);
    sim.drive(steps, { mistakeRate: 0 });
  }, { quick, manual: true, minSamples: quick ? 1 : 10, maxTime: quick ? 0.5 : 2 });
  const cpu = cpuMsOf(() => {
    for (let i = 0; i < (quick ? 2 : 10); ++i) {
      sim.reset(seed++);
      sim.drive(steps, { mistakeRate: 0 });
    }
  });
  const cpuFps = ((quick ? 2 : 10) * steps) / (cpu.cpuMs / 1e3);
  rows.push(row('data', 'driving sim: drive+render, 1 thread', `${steps} frames 64x64`, t, {
    items: steps,
    itemUnit: 'frames',
    note: `${Math.round((steps * 1e3) / t.ms)} frames/s wall, ${Math.round(cpuFps)} frames/CPU-s`,
    extra: { framesPerSec: (steps * 1e3) / t.ms, framesPerCpuSec: cpuFps },
  }));
  log(`sim: ${Math.round((steps * 1e3) / t.ms)} frames/s wall, ${Math.round(cpuFps)} per CPU-second`);

  // 2. Episode generation across all threads (no cache).
  native.setNumThreads(opts.threads ?? prevThreads);
  const eps = 8, epSteps = quick ? 50 : 200;
  const g = measure('generateEpisodes', () => {
    generateEpisodes({ episodes: eps, steps: epSteps, seed: 3, cacheDir: false });
  }, { quick, manual: true, minSamples: quick ? 1 : 3, maxTime: quick ? 0.5 : 3 });
  rows.push(row('data', `generateEpisodes, ${opts.threads ?? prevThreads} threads`, `${eps}x${epSteps} frames`, g, {
    items: eps * epSteps,
    itemUnit: 'frames',
  }));

  // 3. Batch assembly: B=32 windows of T=16 from the generated episodes, CHW uint8.
  const data = generateEpisodes({ episodes: 8, steps: 200, seed: 5, cacheDir: false });
  const ds = new SequenceDataset(data, { seqLen: 16, stride: 4, batchSize: 32, seed: 1, valFraction: 0 });
  const order = ds.train.order(0);
  let k = 0;
  const b = measure('batch assembly', () => {
    const w = order.slice(k, k + 32);
    k = (k + 32) % Math.max(1, order.length - 32);
    ds.assemble(w);
  }, { quick });
  rows.push(row('data', 'SequenceDataset batch (uint8 CHW)', 'B=32 T=16 64x64x3', b, { items: 32 * 16, itemUnit: 'frames', bytes: 2 * 32 * 16 * 12288 }));

  // 4. Moving MNIST (digits loaded once before timing).
  movingMnist({ count: 1 });
  const m = measure('moving mnist', () => {
    movingMnist({ count: 16, seed: k++ });
  }, { quick, manual: true, minSamples: quick ? 1 : 5, maxTime: quick ? 0.3 : 2 });
  rows.push(row('data', 'Moving MNIST sequences', '16 x 20 frames', m, { items: 16 * 20, itemUnit: 'frames' }));

  // 5. Loading a compressed World Models episode.
  // (the repository's fixture: found from dist/bench/ too; an installed package has no test/)
  const file = path.join(packageRoot(), 'test', 'fixtures', 'npz', 'ctallec.npz');
  if (fs.existsSync(file)) {
    const n = measure('npz load', () => {
      loadNpzEpisode(file);
    }, { quick });
    rows.push(row('data', '.npz episode load (deflated)', '6 frames', n, { items: 6, itemUnit: 'frames' }));
  }

  native.setNumThreads(prevThreads);
  return rows;
}

if (require.main === module) {
  const rows = dataBench({ quick: process.argv.includes('--quick'), log: (s) => console.log(s) });
  console.log(formatTable(rows));
}
