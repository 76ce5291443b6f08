/**
 * Losses over fused native kernels (cpp/losses.cpp): one pass forward, one pass backward, sums in
 * double in a fixed order. Each is recorded on the autograd tape.
 *
 *   mseLoss(pred, target, {reduction})          mean (default) | sum | none | perSample ([B])
 *   bceWithLogits(logits, target, {reduction})  stable: max(x,0) - x*t + log1p(exp(-|x|))
 *   klDivergenceNormal(mu, logvar, {freeBits})  KL(N(mu, e^logvar) || N(0, I)): sum over latent
 *                                               dims, floored per sample at freeBits (nats, as
 *                                               World Models' kl_tolerance * z_size), mean over B
 *   crossEntropy(logits [B,C], labels int32 [B]) softmax cross-entropy, mean over B
 */
import { fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, isTensor, record, shapeSize } from '../tensor/tensor';
import { native } from '../backend/native';
import { deviceOf } from '../tensor/device';
import * as cudaOps from '../ops/cuda_ops';

export type Reduction = 'mean' | 'sum' | 'none';

export interface LossOptions {
  reduction?: Reduction;
}

/** Options may be given as the reduction alone: mseLoss(a, b, 'sum'). */
function optsOf<O extends object>(opts: O | string | undefined): O {
  if (typeof opts === 'string') return { reduction: opts } as unknown as O;
  return (opts ?? {}) as O;
}

function checkReduction<R extends string>(fn: string, r: unknown, allowed: readonly R[]): R {
  if (r === undefined) return allowed[0];
  if (typeof r !== 'string' || !allowed.includes(r as R))
    throw typeError(fn, 'reduction', allowed.map((a) => `'${a}'`).join(' | '), r);
  return r as R;
}

function sameShape(fn: string, aName: string, a: Tensor, bName: string, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
    throw rangeError(fn, `${aName} is ${fmtShape(a.shape)} and ${bName} is ${fmtShape(b.shape)}; shapes must match`);
}

const ROW = { mse: 0, bce: 1 } as const;

function rowLoss(
  fn: string,
  kind: number,
  aName: string,
  a: Tensor,
  bName: string,
  t: Tensor,
  reduction: 'mean' | 'sum' | 'none' | 'perSample',
): Tensor {
  const onCuda = (a.device !== 'cpu' || t.device !== 'cpu') && deviceOf(fn, [[aName, a], [bName, t]]) === 'cuda';
  const ad = onCuda ? new Float32Array(0) : a.f32(fn, aName);
  const td = onCuda ? new Float32Array(0) : t.f32(fn, bName);
  sameShape(fn, aName, a, bName, t);
  const n = a.size;
  let B: number, D: number, scale: number, outShape: number[];
  switch (reduction) {
    case 'mean':
      [B, D, scale, outShape] = [1, n, n > 0 ? 1 / n : NaN, []];
      break;
    case 'sum':
      [B, D, scale, outShape] = [1, n, 1, []];
      break;
    case 'none':
      [B, D, scale, outShape] = [n, 1, 1, a.shape.slice()];
      break;
    default:
      if (a.ndim < 1) throw rangeError(fn, `reduction 'perSample' needs ${aName} with a batch dimension, got ${fmtShape(a.shape)}`);
      B = a.shape[0];
      D = B > 0 ? n / B : 0;
      scale = D > 0 ? 1 / D : NaN;
      outShape = [B];
  }
  if (onCuda) return cudaOps.rowLoss(fn, kind, aName, a, bName, t, B, D, scale, outShape);
  const out = Tensor.empty(outShape);
  if (Number.isNaN(scale)) (out._data as Float32Array).fill(NaN);
  else native.rowLossForward(kind, ad, td, B, D, scale, out._data);
  return record(out, fn, [a, t], (g) => {
    const ga = a.requiresGrad ? Tensor.empty(a.shape.slice()) : null;
    const gt = t.requiresGrad ? Tensor.empty(t.shape.slice()) : null;
    if (!Number.isNaN(scale))
      native.rowLossBackward(
        kind,
        a.f32(`${fn} backward`, aName),
        t.f32(`${fn} backward`, bName),
        B,
        D,
        g.f32(`${fn} backward`, 'gradient'),
        scale,
        ga ? ga._data : null,
        gt ? gt._data : null,
      );
    return [ga, gt];
  });
}

/** Mean squared error. reduction: 'mean' (default), 'sum', 'none' (per element), 'perSample' (mean over all but dim 0: [B]). */
export function mseLoss(
  pred: Tensor,
  target: Tensor,
  options: { reduction?: Reduction | 'perSample' } | Reduction | 'perSample' = {},
): Tensor {
  const opts = optsOf<{ reduction?: string }>(options);
  checkTensor('mseLoss', 'pred', pred);
  checkTensor('mseLoss', 'target', target);
  const r = checkReduction('mseLoss', opts?.reduction, ['mean', 'sum', 'none', 'perSample'] as const);
  return rowLoss('mseLoss', ROW.mse, 'pred', pred, 'target', target, r);
}

/** Binary cross-entropy on logits (targets in [0, 1]); numerically stable for any logit. */
export function bceWithLogits(logits: Tensor, target: Tensor, options: LossOptions | Reduction = {}): Tensor {
  const opts = optsOf<LossOptions>(options);
  checkTensor('bceWithLogits', 'logits', logits);
  checkTensor('bceWithLogits', 'target', target);
  const r = checkReduction('bceWithLogits', opts?.reduction, ['mean', 'sum', 'none'] as const);
  return rowLoss('bceWithLogits', ROW.bce, 'logits', logits, 'target', target, r);
}

export interface KlOptions {
  /** Floor on each sample's KL in nats (World Models: kl_tolerance * z_size); 0 = none. */
  freeBits?: number;
  /** 'mean' over the batch (default), 'sum', or 'none' (per sample [B]). */
  reduction?: Reduction;
}

/**
 * KL divergence of N(mu, exp(logvar)) from N(0, I), summed over the latent dimensions (all but
 * dim 0), floored at freeBits per sample, reduced over the batch. Rows below the floor get no
 * gradient.
 */
export function klDivergenceNormal(mu: Tensor, logvar: Tensor, options: KlOptions | Reduction = {}): Tensor {
  const opts = optsOf<KlOptions>(options);
  const fn = 'klDivergenceNormal';
  checkTensor(fn, 'mu', mu);
  checkTensor(fn, 'logvar', logvar);
  const onCuda = (mu.device !== 'cpu' || logvar.device !== 'cpu') && deviceOf(fn, [['mu', mu], ['logvar', logvar]]) === 'cuda';
  const md = onCuda ? new Float32Array(0) : mu.f32(fn, 'mu');
  const ld = onCuda ? new Float32Array(0) : logvar.f32(fn, 'logvar');
  sameShape(fn, 'mu', mu, 'logvar', logvar);
  const r = checkReduction(fn, opts?.reduction, ['mean', 'sum', 'none'] as const);
  const freeBits = opts?.freeBits ?? 0;
  if (typeof freeBits !== 'number' || !Number.isFinite(freeBits) || freeBits < 0)
    throw typeError(fn, 'freeBits', 'a finite number >= 0', freeBits);
  const B = mu.ndim >= 2 ? mu.shape[0] : 1;
  const D = B > 0 ? mu.size / B : 0;
  if (onCuda) return cudaOps.klNormal(mu, logvar, B, D, freeBits, r);
  const kl = new Float32Array(B);
  native.klNormalForward(md, ld, B, D, kl);
  const out = Tensor.empty(r === 'none' ? [B] : []);
  const o = out._data as Float32Array;
  if (r === 'none') for (let b = 0; b < B; ++b) o[b] = Math.max(kl[b], freeBits);
  else {
    let s = 0;
    for (let b = 0; b < B; ++b) s += Math.max(kl[b], freeBits);
    o[0] = r === 'mean' ? (B > 0 ? s / B : NaN) : s;
  }
  return record(out, fn, [mu, logvar], (g) => {
    const gmu = mu.requiresGrad ? Tensor.empty(mu.shape.slice()) : null;
    const glv = logvar.requiresGrad ? Tensor.empty(logvar.shape.slice()) : null;
    const gd = g.f32(`${fn} backward`, 'gradient');
    const gRow = r === 'none' ? gd : new Float32Array(B).fill(gd[0]);
    const scale = r === 'mean' ? 1 / Math.max(B, 1) : 1;
    native.klNormalBackward(
      mu.f32(`${fn} backward`, 'mu'),
      logvar.f32(`${fn} backward`, 'logvar'),
      B,
      D,
      kl,
      freeBits,
      gRow,
      scale,
      gmu ? gmu._data : null,
      glv ? glv._data : null,
    );
    return [gmu, glv];
  });
}

/** Softmax cross-entropy of logits [B, C] against int32 class labels [B] (a tensor, Int32Array or number[]). */
export function crossEntropy(logits: Tensor, labels: Tensor | Int32Array | number[], options: LossOptions | Reduction = {}): Tensor {
  const opts = optsOf<LossOptions>(options);
  const fn = 'crossEntropy';
  checkTensor(fn, 'logits', logits);
  const onCuda = logits.device === 'cuda';
  const xd = onCuda ? new Float32Array(0) : logits.f32(fn, 'logits');
  if (logits.ndim !== 2) throw rangeError(fn, `logits must be [B, C], got ${fmtShape(logits.shape)}`);
  const [B, C] = logits.shape;
  if (C < 1) throw rangeError(fn, `logits must have at least one class, got ${fmtShape(logits.shape)}`);
  let ld: Int32Array;
  if (isTensor(labels)) {
    checkTensor(fn, 'labels', labels);
    if (labels.dtype !== 'int32') throw new TypeError(`${fn}: labels must be int32, got ${labels.dtype}`);
    ld = labels.data(fn) as Int32Array;
    if (labels.ndim !== 1) throw rangeError(fn, `labels must be [B], got ${fmtShape(labels.shape)}`);
  } else if (labels instanceof Int32Array) ld = labels;
  else if (Array.isArray(labels)) {
    if (!labels.every((v) => typeof v === 'number' && Number.isInteger(v))) throw typeError(fn, 'labels', 'integers', labels);
    ld = Int32Array.from(labels);
  } else throw typeError(fn, 'labels', 'an int32 Tensor, an Int32Array or an array of integers', labels);
  if (ld.length !== B) throw rangeError(fn, `labels has ${ld.length} entries but logits is ${fmtShape(logits.shape)}`);
  const r = checkReduction(fn, opts?.reduction, ['mean', 'sum', 'none'] as const);
  const labelsCopy = ld.slice();
  for (let b = 0; b < B; ++b)
    if (!(labelsCopy[b] >= 0 && labelsCopy[b] < C)) throw rangeError(fn, `labels[${b}] must be a class in [0, ${C - 1}], got ${labelsCopy[b]}`);
  if (onCuda) return cudaOps.crossEntropy(logits, labelsCopy, B, C, r);
  const rows = new Float32Array(B);
  native.crossEntropyForward(xd, labelsCopy, B, C, rows);
  const out = Tensor.empty(r === 'none' ? [B] : []);
  const o = out._data as Float32Array;
  if (r === 'none') o.set(rows);
  else {
    let s = 0;
    for (let b = 0; b < B; ++b) s += rows[b];
    o[0] = r === 'mean' ? (B > 0 ? s / B : NaN) : s;
  }
  return record(out, fn, [logits], (g) => {
    const gx = Tensor.empty([B, C]);
    const gd = g.f32(`${fn} backward`, 'gradient');
    const gRow = r === 'none' ? gd : new Float32Array(B).fill(gd[0]);
    native.crossEntropyBackward(logits.f32(`${fn} backward`, 'logits'), labelsCopy, B, C, gRow, r === 'mean' ? 1 / Math.max(B, 1) : 1, gx._data);
    return [gx];
  });
}

export { shapeSize };
