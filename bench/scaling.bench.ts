/**
 * Scaling: the predictor's teacher-forced training step (latent 1024, action 3, H=256, Adam) over
 * B in {1, 4, 16, 64} x T in {8, 16, 32, 64}, and the ConvVAE training step over B in
 * {1, 4, 16, 32, 64}. The work is linear in B·(T-1) (predictor) and in B (VAE), so the time per
 * latent-step (per image) should fall or stay flat as B and T grow; a cell whose time per item is
 * more than 25% above its smaller neighbour's (B/4 or T/2) is flagged as superlinear.
 * Manual timer (steps last up to seconds): one warm-up, then >= 3 timed steps.
 */
import * as wk from '../src';
import { ConvVAE } from '../src/models/conv_vae';
import { LatentPredictor } from '../src/models/latent_predictor';
import { Adam } from '../src/optim';
import { BenchRow, SuiteOptions, fmtMs, measure, row } from './harness';

export const SCALE_B = [1, 4, 16, 64];
export const SCALE_T = [8, 16, 32, 64];
export const VAE_B = [1, 4, 16, 32, 64];
const FLAG = 1.25;

export function predictorScalingBench(opts: SuiteOptions, Bs = SCALE_B, Ts = SCALE_T): BenchRow[] {
  const rows: BenchRow[] = [];
  const A = 3, H = 256;
  for (const B of Bs) {
    for (const T of Ts) {
      const model = new LatentPredictor({ latentShape: [64, 4, 4], actionSize: A, hiddenSize: H, seed: 1 });
      const opt = new Adam(model, { lr: 1e-4 });
      const z = wk.randn([B, T, 64, 4, 4], { seed: 2 });
      const a = wk.randn([B, T, A], { seed: 3 });
      const t = measure(
        `scale ${B}x${T}`,
        () => wk.tidy(() => { opt.zeroGrad(); model.loss(z, a, { pTrue: 1 }).backward(); opt.step(); }),
        { quick: opts.quick, manual: true, minSamples: 3, maxTime: 0.6 },
      );
      rows.push(row('scaling', 'predictor train step, teacher forcing', `B=${B} T=${T} H=${H}`, t, {
        items: B * (T - 1), itemUnit: 'latent-steps', extra: { grid: 'predictor', B, T },
      }));
      model.dispose(); z.dispose(); a.dispose();
    }
  }
  flag(rows);
  return rows;
}

export function vaeScalingBench(opts: SuiteOptions, Bs = VAE_B): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const B of Bs) {
    const vae = new ConvVAE({ seed: 1 });
    const opt = new Adam(vae, { lr: 1e-4 });
    const x = wk.rand([B, 3, 64, 64], { seed: 4 });
    const t = measure(`vae ${B}`, () => wk.tidy(() => { opt.zeroGrad(); vae.loss(x).total.backward(); opt.step(); }), {
      quick: opts.quick, manual: true, minSamples: 3, maxTime: 0.6,
    });
    rows.push(row('scaling', 'VAE train step', `B=${B}`, t, { items: B, itemUnit: 'images', flops: B * 360e6, extra: { grid: 'vae', B, T: 1 } }));
    vae.dispose(); x.dispose();
  }
  flag(rows);
  return rows;
}

function per(r: BenchRow): number {
  return r.ms / (r.items ?? 1);
}

/** Marks cells whose time per item grew by more than FLAG over the previous B or T. */
function flag(rows: BenchRow[]): void {
  const at = (B: number, T: number) => rows.find((r) => r.extra?.B === B && r.extra?.T === T);
  for (const r of rows) {
    const B = r.extra?.B as number, T = r.extra?.T as number;
    const notes: string[] = [];
    const Bs = [...new Set(rows.map((x) => x.extra?.B as number))].sort((a, b) => a - b);
    const Ts = [...new Set(rows.map((x) => x.extra?.T as number))].sort((a, b) => a - b);
    const pb = Bs[Bs.indexOf(B) - 1], pt = Ts[Ts.indexOf(T) - 1];
    const nb = pb !== undefined ? at(pb, T) : undefined, nt = pt !== undefined ? at(B, pt) : undefined;
    if (nb && per(r) > FLAG * per(nb)) notes.push(`superlinear in B: ${(per(r) / per(nb)).toFixed(2)}x the per-item time at B=${pb}`);
    if (nt && per(r) > FLAG * per(nt)) notes.push(`superlinear in T: ${(per(r) / per(nt)).toFixed(2)}x the per-item time at T=${pt}`);
    if (notes.length) r.note = `FLAG ${notes.join('; ')}`;
  }
}

/** The scaling rows as small tables: ms per step and µs per latent-step (image), flags marked *. */
export function formatScaling(rows: BenchRow[]): string {
  const out: string[] = [];
  const pred = rows.filter((r) => r.extra?.grid === 'predictor');
  if (pred.length) {
    const Bs = [...new Set(pred.map((r) => r.extra?.B as number))];
    const Ts = [...new Set(pred.map((r) => r.extra?.T as number))];
    out.push('Predictor train step (teacher forcing, H=256): ms per step / µs per latent-step (B·(T-1)); * = superlinear (> 1.25x the smaller neighbour per item)', '');
    out.push(`| B \\ T | ${Ts.join(' | ')} |`, `|---|${Ts.map(() => '---:').join('|')}|`);
    for (const B of Bs) {
      const cells = Ts.map((T) => {
        const r = pred.find((x) => x.extra?.B === B && x.extra?.T === T);
        return r ? `${fmtMs(r.ms)} / ${((1e3 * r.ms) / (r.items ?? 1)).toFixed(1)}${r.note ? ' *' : ''}` : '';
      });
      out.push(`| ${B} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  const vae = rows.filter((r) => r.extra?.grid === 'vae');
  if (vae.length) {
    out.push('VAE train step: ms per step / ms per image; * = superlinear', '');
    out.push(`| B | ${vae.map((r) => r.extra?.B).join(' | ')} |`, `|---|${vae.map(() => '---:').join('|')}|`);
    out.push(`| ms | ${vae.map((r) => `${fmtMs(r.ms)} / ${(r.ms / (r.items ?? 1)).toFixed(2)}${r.note ? ' *' : ''}`).join(' | ')} |`, '');
  }
  return out.join('\n');
}
