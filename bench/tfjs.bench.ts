/**
 * worldkit vs TensorFlow.js (the Node peer users would otherwise pick), same process, same run:
 * the predictor's teacher-forced training step (T=16, latent 1024, action 3, H=256, Adam) at B=4
 * and B=32, and the ConvVAE training step at B=32, for worldkit and for tfjs' 'wasm' and 'cpu'
 * backends (bench/peers/tfjs_predictor.ts, tfjs_vae.ts). Peers run after worldkit's cases; each
 * tfjs step is timed with the manual timer (one warm-up step, then at least 2 timed ones;
 * --quick: one), since its steps last seconds; the pure-JS VAE step is timed once at B=2 and
 * scaled to B=32 (see below).
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel, so it cannot train the VAE: its
 * VAE cell says so. Rows: worldkit's time, with the tfjs backends as
 * peers (ratio = tfjs ms / worldkit ms).
 */
import * as wk from '../src';
import { ConvVAE } from '../src/models/conv_vae';
import { LatentPredictor } from '../src/models/latent_predictor';
import { Adam } from '../src/optim';
import { BenchRow, SuiteOptions, addPeer, measure, row } from './harness';
import { loadTf, useBackend } from './peers/tfjs_common';
import { tfjsPredictorStep } from './peers/tfjs_predictor';
import { tfjsVaeStep } from './peers/tfjs_vae';

const T = 16, D = 1024, A = 3, H = 256;

/** Times one peer case; a peer that cannot run it (e.g. a kernel its backend lacks) leaves a note. */
function tryPeer(r: BenchRow, name: string, opts: SuiteOptions, fn: () => number): void {
  try {
    addPeer(r, name, fn());
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    const missing = msg.match(/Kernel '(\w+)' not registered/);
    const note = `${name}: ${missing ? `cannot train (no ${missing[1]} kernel)` : msg.slice(0, 100)}`;
    r.note = r.note ? `${r.note}; ${note}` : note;
    opts.log(`${name} on ${r.op} ${r.shape}: ${msg.slice(0, 300)}`);
  }
}

export function tfjsVersion(): string | null {
  const tf = loadTf();
  return tf ? tf.version.tfjs : null;
}

export async function tfjsBench(opts: SuiteOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const q = { quick: opts.quick, manual: true, minSamples: 5, maxTime: 2 };
  const predRows = new Map<number, BenchRow>();
  for (const B of [4, 32]) {
    const model = new LatentPredictor({ latentShape: [64, 4, 4], actionSize: A, hiddenSize: H, seed: 1 });
    const opt = new Adam(model, { lr: 1e-4 });
    const z = wk.randn([B, T, 64, 4, 4], { seed: 2 });
    const a = wk.randn([B, T, A], { seed: 3 });
    const t = measure('wk pred', () => wk.tidy(() => { opt.zeroGrad(); model.loss(z, a, { pTrue: 1 }).backward(); opt.step(); }), q);
    const r = row('tfjs', 'predictor train step, teacher forcing', `B=${B} T=${T} H=${H}`, t, { items: B * (T - 1), itemUnit: 'latent-steps' });
    rows.push(r);
    predRows.set(B, r);
    model.dispose(); z.dispose(); a.dispose();
  }
  const B = 32;
  const vae = new ConvVAE({ seed: 1 });
  const vopt = new Adam(vae, { lr: 1e-4 });
  const x = wk.rand([B, 3, 64, 64], { seed: 4 });
  const tv = measure('wk vae', () => wk.tidy(() => { vopt.zeroGrad(); vae.loss(x).total.backward(); vopt.step(); }), { ...q, minSamples: 3 });
  const vaeRow = row('tfjs', 'VAE train step', `B=${B} 64x64x3`, tv, { items: B, itemUnit: 'images' });
  rows.push(vaeRow);
  vae.dispose(); x.dispose();

  if (!opts.peers) return rows;
  const tf = loadTf();
  if (!tf) {
    vaeRow.note = 'TF.js not installed (npm i -D @tensorflow/tfjs @tensorflow/tfjs-backend-wasm)';
    return rows;
  }
  for (const backend of ['wasm', 'cpu'] as const) {
    if (!(await useBackend(tf, backend))) {
      opts.log(`TF.js ${backend} backend unavailable`);
      continue;
    }
    const name = `TF.js-${backend}`;
    for (const [Bp, r] of predRows) {
      tryPeer(r, name, opts, () => {
        const s = tfjsPredictorStep(tf, Bp, T, D, A, H);
        try {
          return measure(`${name} pred`, s.step, { quick: opts.quick, manual: true, minSamples: 1, maxTime: 3 }).ms;
        } finally {
          s.dispose();
        }
      });
    }
    // Pure JS needs ~20-40 s per VAE step at B=2 on this machine, so B=32 would take minutes:
    // the cpu backend is timed once at B=2 and scaled by 16 (its conv loops are per image, so the
    // cost is linear in B; the fixed per-step overhead scaled with it favours TF.js slightly).
    const vb = backend === 'cpu' ? 2 : B;
    tryPeer(vaeRow, vb === B ? name : `${name} (B=${vb} x${B / vb})`, opts, () => {
      const s = tfjsVaeStep(tf, vb);
      try {
        return (measure(`${name} vae`, s.step, { quick: opts.quick || vb !== B, manual: true, minSamples: 2, maxTime: 1 }).ms * B) / vb;
      } finally {
        s.dispose();
      }
    });
  }
  return rows;
}
