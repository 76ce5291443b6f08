/**
 * ConvVAE benchmark (issue 4): a full training step (forward, backward, Adam) of the default
 * ConvVAE (64x64x3, latent 64x4x4) at B=32, and the encoder-only forward at B=32 (images/s),
 * with the ratio to the PyTorch peer (bench/peers/torch_vae.py) run in the same run when
 * /usr/bin/python3 has torch (configured by bench/peer_env.ts: OpenMP OpenBLAS, kernels from the
 * CPU flags, tcmalloc).
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/wk-bench
 *   NODE_PATH=$PWD/node_modules node /tmp/wk-bench/bench/vae.bench.js [--quick] [--no-torch]   (from the repo root)
 *
 * `vaeBench(options)` returns the rows (BenchRow, bench/harness.ts) for `worldkit bench`.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as wk from '../src';
import { ConvVAE } from '../src/models/conv_vae';
import { Adam } from '../src/optim';
import { BenchRow, PeerTiming, formatTable, measure, row, torchEnv } from './harness';

export interface VaeBenchOptions {
  quick?: boolean;
  torch?: boolean;
  B?: number;
  log?: (line: string) => void;
}

interface TorchRow {
  name: string;
  B: number;
  ms: number;
}

function torchRows(B: number, quick: boolean, log: (s: string) => void): TorchRow[] {
  const py = '/usr/bin/python3';
  if (!fs.existsSync(py) || spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    log('PyTorch peer skipped: /usr/bin/python3 cannot import torch (Debian: apt-get install python3-torch)');
    return [];
  }
  const script = [path.join(__dirname, 'peers', 'torch_vae.py'), path.join(process.cwd(), 'bench', 'peers', 'torch_vae.py')].find((f) =>
    fs.existsSync(f),
  );
  if (!script) {
    log('PyTorch peer skipped: bench/peers/torch_vae.py not found');
    return [];
  }
  const env = torchEnv(wk.getNumThreads()); // bench/peer_env.ts: OpenMP OpenBLAS, kernels from the CPU flags, tcmalloc
  const r = spawnSync(py, [script, '--threads', String(wk.getNumThreads()), '--B', String(B), ...(quick ? ['--quick'] : [])], {
    env,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) {
    log(`PyTorch peer failed: ${(r.stderr || '').slice(-400)}`);
    return [];
  }
  return r.stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as TorchRow);
}

/** Forward FLOPs per image of the default ConvVAE (convs and transposed convs, 2 per MAC). */
function vaeForwardFlops(): { encoder: number; total: number } {
  const conv = (cin: number, cout: number, k: number, outHW: number) => 2 * cin * cout * k * k * outHW;
  const encoder = conv(3, 32, 4, 32 * 32) + conv(32, 64, 4, 16 * 16) + conv(64, 128, 4, 8 * 8) + conv(128, 256, 4, 4 * 4) + 2 * conv(256, 64, 3, 16);
  // transposed conv MACs = the mirror conv's
  const decoder = conv(64, 256, 3, 16) + conv(128, 256, 4, 4 * 4) + conv(64, 128, 4, 8 * 8) + conv(32, 64, 4, 16 * 16) + conv(3, 32, 4, 32 * 32);
  return { encoder, total: encoder + decoder };
}

export function vaeBench(options: VaeBenchOptions = {}): BenchRow[] {
  const quick = options.quick ?? false;
  const B = options.B ?? 32;
  const log = options.log ?? ((s: string) => console.log(s));
  const peers = options.torch === false ? [] : torchRows(B, quick, log);
  const peerFor = (name: string, ms: number): PeerTiming[] =>
    peers.filter((p) => p.name === name).map((p) => ({ peer: 'PyTorch', ms: p.ms, ratio: p.ms / ms }));
  const flops = vaeForwardFlops();
  const rows: BenchRow[] = [];

  const vae = new ConvVAE({ seed: 1 });
  const opt = new Adam(vae.parameters(), { lr: 1e-3 });
  const x = wk.rand([B, 3, 64, 64], { seed: 2 });
  const gen = new wk.Generator(3);
  const step = () =>
    wk.tidy(() => {
      opt.zeroGrad();
      vae.loss(x, { generator: gen }).total.backward();
      opt.step();
    });
  const tStep = measure('vae train step', step, { quick, manual: true, minSamples: 5, maxTime: 5 });
  rows.push(
    row('vae', 'train step (fwd+bwd+Adam)', `B=${B} 64x64x3 z=64x4x4`, tStep, {
      flops: 3 * flops.total * B,
      items: B,
      itemUnit: 'images',
      peers: peerFor('train step', tStep.ms),
    }),
  );
  const enc = () => wk.tidy(() => wk.noGrad(() => vae.encode(x)));
  const tEnc = measure('vae encode', enc, { quick, minSamples: 10, maxTime: 3 });
  rows.push(
    row('vae', 'encode (forward)', `B=${B} 64x64x3`, tEnc, {
      flops: flops.encoder * B,
      items: B,
      itemUnit: 'images',
      peers: peerFor('encode', tEnc.ms),
    }),
  );
  x.dispose();
  vae.dispose();
  return rows;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const rows = vaeBench({ quick: argv.includes('--quick'), torch: !argv.includes('--no-torch') });
  console.log(formatTable(rows));
}
