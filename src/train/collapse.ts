/**
 * VAE collapse detection for trainVAE: notices when the VAE has stopped encoding its inputs and
 * says what to try, through the loop's notes (callbacks.onNote, the CLI's `note:` lines).
 *
 * A collapsed VAE decodes (nearly) the same frame whatever it is given: typically the average
 * frame, or an all-dark one on sparse images such as Moving MNIST, where the MSE's easiest
 * minimum is "predict background" (issue 18). Its signature, on a training batch:
 *   - the reconstruction loss is no better than the loss of predicting the batch's average frame
 *     for every input (the best any input-independent output can do on that batch), and
 *   - the decoded frames hardly differ across the batch (their per-pixel spread is a small
 *     fraction of the inputs'), or the KL is ~0 (the posterior is the prior: z carries nothing).
 * A healthy VAE passes through this state too, at the very start, while it learns the average
 * frame; so checks run every `every` steps from step `warmup` on, and the note is given once,
 * after the signature held on `patience` consecutive checks.
 *
 * It only reads what the training step already computed (the batch, the decoded frames, mu and
 * logvar): no extra forward pass, no random draw, so the trained weights are bit-identical with
 * or without it. Its cost is a pass over the batch on the host at each check (one copy from the
 * device on 'cuda'), every `every` steps.
 */
import { checkInt, checkNumber, typeError } from '../errors';
import type { Tensor } from '../tensor/tensor';

export interface CollapseCheckOptions {
  /** Steps between checks (default 25). */
  every?: number;
  /** First step checked (default 200: a healthy VAE first learns the average frame). */
  warmup?: number;
  /** Consecutive collapsed checks before the note (default 3). */
  patience?: number;
}

/** What one check measured on a training batch. */
export interface CollapseStats {
  /** Reconstruction loss per frame (the VAE's own: MSE or BCE summed over the pixels). */
  recon: number;
  /** The same loss for the batch's average frame given for every input. */
  averageFrameLoss: number;
  /** Per-pixel standard deviation across the batch of the decoded frames / of the input frames. */
  spread: number;
  /** KL(q(z|x) || N(0, I)) per frame in nats, before any freeBits floor. */
  kl: number;
}

const host = (t: Tensor): Float32Array => t.hostF32('collapseCheck');

/**
 * The statistics of one batch: `frames` uint8 NHWC [N,H,W,C], `recon` the decoded images
 * [N,C,H,W] in [0,1], `mu`/`logvar` [N, ...latent]. Float64 sums.
 */
export function collapseStats(frames: Uint8Array, recon: Tensor, mu: Tensor, logvar: Tensor, reconLoss: 'mse' | 'bce'): CollapseStats {
  const [N, C, H, W] = recon.shape;
  const P = C * H * W;
  const r = host(recon);
  const m = host(mu), lv = host(logvar);
  const mean = new Float64Array(P), rMean = new Float64Array(P);
  // pixel p = c*H*W + y*W + x of NCHW; the frame byte of NHWC is (y*W + x)*C + c
  const xAt = (n: number, p: number): number => {
    const c = Math.floor(p / (H * W)), yx = p % (H * W);
    return frames[n * P + yx * C + c] / 255;
  };
  for (let n = 0; n < N; ++n)
    for (let p = 0; p < P; ++p) {
      mean[p] += xAt(n, p);
      rMean[p] += r[n * P + p];
    }
  for (let p = 0; p < P; ++p) {
    mean[p] /= N;
    rMean[p] /= N;
  }
  let recon0 = 0, avg = 0, varIn = 0, varOut = 0;
  const eps = 1e-6;
  for (let n = 0; n < N; ++n)
    for (let p = 0; p < P; ++p) {
      const x = xAt(n, p), y = r[n * P + p];
      varIn += (x - mean[p]) ** 2;
      varOut += (y - rMean[p]) ** 2;
      if (reconLoss === 'mse') {
        recon0 += (y - x) ** 2;
        avg += (mean[p] - x) ** 2;
      } else {
        const yc = Math.min(1 - eps, Math.max(eps, y)), mc = Math.min(1 - eps, Math.max(eps, mean[p]));
        recon0 -= x * Math.log(yc) + (1 - x) * Math.log(1 - yc);
        avg -= x * Math.log(mc) + (1 - x) * Math.log(1 - mc);
      }
    }
  let kl = 0;
  for (let i = 0; i < m.length; ++i) kl += 0.5 * (m[i] * m[i] + Math.exp(lv[i]) - 1 - lv[i]);
  return { recon: recon0 / N, averageFrameLoss: avg / N, spread: varIn > 0 ? Math.sqrt(varOut / varIn) : 1, kl: kl / N };
}

/** Thresholds of the signature (see the file header). */
const NO_BETTER_THAN_AVERAGE = 0.95; // recon >= 95% of the average frame's loss
const CONSTANT_OUTPUT = 0.1; // decoded spread below 10% of the inputs'
const ZERO_KL = 0.5; // nats per frame, over the whole latent

export class CollapseMonitor {
  private readonly every: number;
  private readonly warmup: number;
  private readonly patience: number;
  private streak = 0;
  private reported = false;

  constructor(
    private readonly fn: string,
    private readonly vae: { reconLoss: 'mse' | 'bce'; beta: number; freeBits: number },
    opts: CollapseCheckOptions = {},
  ) {
    if (opts === null || typeof opts !== 'object') throw typeError(fn, 'options.collapseCheck', 'an object { every, warmup, patience } or false', opts);
    this.every = checkInt(fn, 'options.collapseCheck.every', opts.every ?? 25, 1);
    this.warmup = checkInt(fn, 'options.collapseCheck.warmup', opts.warmup ?? 200, 0);
    this.patience = checkInt(fn, 'options.collapseCheck.patience', opts.patience ?? 3, 1);
  }

  /** Whether step `step` (1-based) is checked: collapseStats is computed only then. */
  due(step: number): boolean {
    return !this.reported && step >= this.warmup && step % this.every === 0;
  }

  /** Feeds one check; returns the note to give (once per run), else null. */
  observe(step: number, epoch: number, s: CollapseStats): string | null {
    checkNumber(this.fn, 'collapse statistics', s.recon);
    const stuck = s.recon >= NO_BETTER_THAN_AVERAGE * s.averageFrameLoss;
    const constant = s.spread < CONSTANT_OUTPUT;
    const zeroKl = s.kl < ZERO_KL;
    this.streak = stuck && (constant || zeroKl) ? this.streak + 1 : 0;
    if (this.streak < this.patience || this.reported) return null;
    this.reported = true;
    const f = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3));
    const why = [
      `its reconstruction loss (${f(s.recon)} per frame) is no better than giving the batch's average frame for every input (${f(s.averageFrameLoss)})`,
      constant ? `the decoded frames are nearly identical across the batch (their spread is ${(100 * s.spread).toFixed(1)}% of the inputs')` : null,
      zeroKl ? `the KL is ~0 (${f(s.kl)} nats per frame: z carries no information)` : `KL ${f(s.kl)} nats per frame`,
    ].filter((x) => x !== null);
    const tries: string[] = [];
    if (this.vae.reconLoss === 'mse') tries.push("reconLoss: 'bce' (on sparse images such as Moving MNIST an all-dark frame is MSE's easy minimum; BCE learns the strokes)");
    if (this.vae.beta > 0.01) tries.push(`a lower beta (now ${this.vae.beta}; --beta)`);
    if (this.vae.freeBits === 0) tries.push('freeBits (a floor in nats per frame on the KL, e.g. half the latent size: the KL is not pushed below it)');
    tries.push('a lower lr');
    return `${this.fn}: the VAE looks collapsed at step ${step} (epoch ${epoch + 1}, ${this.patience} checks in a row): ${why.join('; ')}. Try ${tries.join(', ')}. See docs/vae_collapse.md.`;
  }
}
