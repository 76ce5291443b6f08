/**
 * Latent predictor benchmark (issue 3): a full training step (forward, backward, Adam) at T=16,
 * latent 1024, action 3 for (B=4,H=256), (B=32,H=256), (B=32,H=512), with teacher forcing and
 * with scheduled sampling (pTrue 0.5), and a 16-step rollout at B=32, H=256. Reports steps/s and
 * latent-steps/s (predicted latents per second), and the ratio to the PyTorch peer
 * (bench/peers/torch_predictor.py) run in the same process tree when /usr/bin/python3 has torch.
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/wk-bench
 *   NODE_PATH=$PWD/node_modules node /tmp/wk-bench/bench/lstm.bench.js [--quick] [--no-torch]   (from the repo root)
 *
 * `lstmBench(options)` returns the rows so `worldkit bench` can collect them.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as wk from '../src';
import { LatentPredictor } from '../src/models/latent_predictor';
import { Adam } from '../src/optim';
import { Timing, measure, torchEnv } from './harness';

export interface LstmBenchRow {
  name: string;
  B: number;
  H: number;
  /** Median time per call, and the 10th and 90th percentiles of the timed calls. */
  ms: number;
  p10: number;
  p90: number;
  stepsPerSec: number;
  latentStepsPerSec: number;
  /** PyTorch's time for the matching variant, and worldkit's speed-up over it. */
  torch?: { variant: string; ms: number; ratio: number }[];
  /** The GEMMs' floating-point operations per call (lstmWork), and the bytes Adam streams. */
  flops: number;
  bytes: number;
}

/**
 * The work of one call, the floor a goal is read against (bench/run.ts goals()): the products'
 * flops and the bytes of the memory-bound optimizer step. A training step over R = B(T-1) rows
 * multiplies forward x.W_ih^T (I = D + A inputs), h.W_hh^T and the head h.W^T, and backward
 * their weight gradients plus the recurrent and head input gradients (teacher forcing needs no
 * gradient for the data: scheduled sampling adds one for the fed-back latents, so it is a lower
 * bound there). Adam reads p, g, m, v and writes p, m, v: 28 bytes per parameter. A rollout of
 * n steps runs the forward products once per step, no optimizer.
 */
export function lstmWork(kind: 'train' | 'rollout', B: number, T: number, H: number, D = 1024, A = 3): { flops: number; bytes: number } {
  const I = D + A, G = 4 * H;
  const perRow = I * G + H * G + H * D;
  if (kind === 'rollout') return { flops: 2 * B * T * perRow, bytes: 0 };
  const R = B * (T - 1);
  const params = G * I + G * H + 2 * G + D * H + D;
  return { flops: 2 * R * (perRow + I * G + 2 * H * G + 2 * H * D), bytes: 28 * params };
}

export interface LstmBenchOptions {
  quick?: boolean;
  torch?: boolean;
  T?: number;
  log?: (line: string) => void;
}

interface TorchRow {
  name: string;
  B: number;
  H: number;
  ms: number;
}

function torchRows(quick: boolean, log: (s: string) => void): TorchRow[] {
  const py = '/usr/bin/python3';
  if (!fs.existsSync(py) || spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    log('PyTorch peer skipped: /usr/bin/python3 cannot import torch (Debian: apt-get install python3-torch)');
    return [];
  }
  const env = torchEnv(wk.getNumThreads()); // bench/peer_env.ts: OpenMP OpenBLAS, kernels from the CPU flags, tcmalloc
  const script = [path.join(__dirname, 'peers', 'torch_predictor.py'), path.join(process.cwd(), 'bench', 'peers', 'torch_predictor.py')].find((f) =>
    fs.existsSync(f),
  );
  if (!script) {
    log('PyTorch peer skipped: bench/peers/torch_predictor.py not found (run from the repository root)');
    return [];
  }
  const r = spawnSync(py, [script, '--threads', String(wk.getNumThreads()), ...(quick ? ['--quick'] : [])], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) {
    log(`PyTorch peer failed: ${(r.stderr || '').slice(-500)}`);
    return [];
  }
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as TorchRow);
}

/**
 * The median call time and its p10-p90 spread (harness measure(), as every suite and the
 * PyTorch peer report medians; this suite once reported benchmark.js's mean, which GC pauses
 * pull up, under the table's "median" heading).
 */
function time(name: string, fn: () => void, quick: boolean): Timing {
  return measure(name, fn, { quick, minSamples: 10, maxTime: 4 });
}

export function lstmBench(opts: LstmBenchOptions = {}): LstmBenchRow[] {
  const quick = opts.quick ?? false;
  const T = opts.T ?? 16;
  const log = opts.log ?? ((s: string) => console.log(s));
  const D = 1024, A = 3;
  const rows: LstmBenchRow[] = [];
  const gen = new wk.Generator(1);
  for (const [B, H] of [[4, 256], [32, 256], [32, 512]]) {
    const model = new LatentPredictor({ latentShape: [64, 4, 4], actionSize: A, hiddenSize: H, seed: 1 });
    const opt = new Adam(model, { lr: 1e-4 });
    const z = wk.randn([B, T, 64, 4, 4], { seed: 2 });
    const a = wk.randn([B, T, A], { seed: 3 });
    const step = (pTrue: number) => () =>
      wk.tidy(() => {
        opt.zeroGrad();
        model.loss(z, a, { pTrue, rng: gen }).backward();
        opt.step();
      });
    for (const [name, pTrue] of [['train step, teacher forcing', 1], ['train step, scheduled sampling p=0.5', 0.5]] as const) {
      const { ms, p10, p90 } = time(`${name} B=${B} H=${H}`, step(pTrue), quick);
      rows.push({ name, B, H, ms, p10, p90, stepsPerSec: 1e3 / ms, latentStepsPerSec: (1e3 / ms) * B * (T - 1), ...lstmWork('train', B, T, H, D, A) });
    }
    if (B === 32 && H === 256) {
      const { ms, p10, p90 } = time('rollout', () => wk.tidy(() => model.rollout(z.slice([0, 0, 0, 0, 0], [B, 1, 64, 4, 4]), a, 16)), quick);
      rows.push({ name: 'rollout 16 steps', B, H, ms, p10, p90, stepsPerSec: 1e3 / ms, latentStepsPerSec: (1e3 / ms) * B * 16, ...lstmWork('rollout', B, 16, H, D, A) });
    }
    model.dispose();
    z.dispose();
    a.dispose();
  }
  if (opts.torch ?? true) {
    const peers = torchRows(quick, log);
    const match: Record<string, string[]> = {
      'train step, teacher forcing': ['teacher nn.LSTM', 'teacher LSTMCell loop'],
      'train step, scheduled sampling p=0.5': ['scheduled LSTMCell loop p=0.5'],
      'rollout 16 steps': ['rollout 16 steps'],
    };
    for (const r of rows) {
      const t = peers.filter((p) => p.B === r.B && p.H === r.H && match[r.name].includes(p.name));
      if (t.length) r.torch = t.map((p) => ({ variant: p.name, ms: p.ms, ratio: p.ms / r.ms }));
    }
  }
  return rows;
}

export function formatRows(rows: LstmBenchRow[]): string {
  const lines = ['| case | B | H | ms | steps/s | latent-steps/s | PyTorch ms (variant) | speed-up |', '|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const t = r.torch ?? [];
    lines.push(
      `| ${r.name} | ${r.B} | ${r.H} | ${r.ms.toFixed(2)} | ${r.stepsPerSec.toFixed(1)} | ${r.latentStepsPerSec.toFixed(0)} | ` +
        `${t.map((p) => `${p.ms.toFixed(1)} (${p.variant})`).join('; ') || '-'} | ${t.map((p) => `${p.ratio.toFixed(2)}x`).join('; ') || '-'} |`,
    );
  }
  return lines.join('\n');
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  console.log(`worldkit ${wk.cpuIsa()}, ${wk.getNumThreads()} threads`);
  const rows = lstmBench({ quick: argv.includes('--quick'), torch: !argv.includes('--no-torch') });
  console.log(formatRows(rows));
}
