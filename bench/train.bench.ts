/**
 * Wall time of each phase of `worldkit demo` (data, VAE training, latent encoding, predictor
 * training, rollout, evaluation), so later changes can be compared. The rows report the phase's
 * total ms and, for the training phases, ms per epoch (VAE epoch, predictor epoch).
 * --quick runs the ~1-minute demo configuration; the full one takes up to 15 minutes on 2 cores.
 *
 *   node -r ./test/helpers/ts_register.js bench/train.bench.ts [--quick]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runDemo, DEMO_FULL, DEMO_QUICK } from '../src/train/demo';
import { BenchRow, SuiteOptions, formatTable } from './harness';

export async function trainBench(opts: Partial<SuiteOptions> = {}): Promise<BenchRow[]> {
  const quick = !!opts.quick;
  const cfg = quick ? DEMO_QUICK : DEMO_FULL;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-train-bench-'));
  const phases: [string, number][] = [];
  const r = await runDemo({ quick, outDir: out, cacheDir: false, log: opts.log, onPhase: (n, ms) => phases.push([n, ms]) });
  fs.rmSync(out, { recursive: true, force: true });
  const shape = quick ? 'demo --quick' : 'demo';
  const per: Record<string, number> = { vae: cfg.vaeEpochs, predictor: cfg.predEpochs };
  const rows: BenchRow[] = phases.map(([name, ms]) => ({ suite: 'train', op: `demo phase: ${name}`, shape, ms, samples: 1 }));
  for (const [name, ms] of phases)
    if (per[name]) rows.push({ suite: 'train', op: `${name === 'vae' ? 'VAE' : 'predictor'} epoch`, shape, ms: ms / per[name], samples: per[name] });
  rows.push({ suite: 'train', op: 'demo total', shape, ms: r.seconds * 1000, samples: 1 });
  return rows;
}

if (require.main === module) {
  trainBench({ quick: process.argv.includes('--quick'), log: (l) => console.error(l) }).then((rows) => console.log(formatTable(rows)));
}
