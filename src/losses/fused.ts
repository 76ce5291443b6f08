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
import { Tensor, checkTensor, isTensor, shapeSize } from '../tensor/tensor';
import { record } from '../autograd/tape';
import { backendOf } from '../tensor/placement';
import { opCodes } from '../backend/op_codes';
import { checkFloat32 } from '../ops/elementwise';

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


function rowLoss(
  fn: string,
  kind: number,
  aName: string,
  a: Tensor,
  bName: string,
  t: Tensor,
  reduction: 'mean' | 'sum' | 'none' | 'perSample',
): Tensor {
  const be = backendOf(fn, [[aName, a], [bName, t]]);
  checkFloat32(fn, aName, a);
  checkFloat32(fn, bName, t);
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
  const out = Tensor.on(be, outShape, 'float32', true, fn);
  if (Number.isNaN(scale)) be.fill(out._buf, out.size, NaN, fn);
  else be.rowLossForward(kind, a.buf(fn, aName), t.buf(fn, bName), B, D, scale, out._buf);
  return record(out, fn, [a, t], (g) => {
    const bf = `${fn} backward`;
    const ga = a.requiresGrad ? Tensor.on(be, a.shape.slice(), 'float32', true, bf) : null;
    const gt = t.requiresGrad ? Tensor.on(be, t.shape.slice(), 'float32', true, bf) : null;
    if (!Number.isNaN(scale))
      be.rowLossBackward(kind, a.buf(bf, aName), t.buf(bf, bName), B, D, g.buf(bf, 'gradient'), scale, ga ? ga._buf : null, gt ? gt._buf : null);
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
  return rowLoss('mseLoss', opCodes().rowLoss.mse, 'pred', pred, 'target', target, r);
}

/** Binary cross-entropy on logits (targets in [0, 1]); numerically stable for any logit. */
export function bceWithLogits(logits: Tensor, target: Tensor, options: LossOptions | Reduction = {}): Tensor {
  const opts = optsOf<LossOptions>(options);
  checkTensor('bceWithLogits', 'logits', logits);
  checkTensor('bceWithLogits', 'target', target);
  const r = checkReduction('bceWithLogits', opts?.reduction, ['mean', 'sum', 'none'] as const);
  return rowLoss('bceWithLogits', opCodes().rowLoss.bce, 'logits', logits, 'target', target, r);
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
  const be = backendOf(fn, [['mu', mu], ['logvar', logvar]]);
  checkFloat32(fn, 'mu', mu);
  checkFloat32(fn, 'logvar', logvar);
  sameShape(fn, 'mu', mu, 'logvar', logvar);
  const r = checkReduction(fn, opts?.reduction, ['mean', 'sum', 'none'] as const);
  const freeBits = opts?.freeBits ?? 0;
  if (typeof freeBits !== 'number' || !Number.isFinite(freeBits) || freeBits < 0)
    throw typeError(fn, 'freeBits', 'a finite number >= 0', freeBits);
  const B = mu.ndim >= 2 ? mu.shape[0] : 1;
  const D = B > 0 ? mu.size / B : 0;
  const klBuf = be.alloc('float32', B, true, fn); // the per-row KL, kept for backward
  be.klNormalForward(mu.buf(fn, 'mu'), logvar.buf(fn, 'logvar'), B, D, klBuf);
  const out = Tensor.on(be, r === 'none' ? [B] : [], 'float32', true, fn);
  out._storage.attach(klBuf, B * 4);
  be.reduceRows(klBuf, B, freeBits, r, out._buf);
  return record(out, fn, [mu, logvar], (g) => {
    const bf = `${fn} backward`;
    const gmu = mu.requiresGrad ? Tensor.on(be, mu.shape.slice(), 'float32', true, bf) : null;
    const glv = logvar.requiresGrad ? Tensor.on(be, logvar.shape.slice(), 'float32', true, bf) : null;
    const gRow = rowGradient(be, g, B, r, bf);
    const scale = r === 'mean' ? 1 / Math.max(B, 1) : 1;
    be.klNormalBackward(mu.buf(bf, 'mu'), logvar.buf(bf, 'logvar'), B, D, klBuf, freeBits, gRow.buf(bf, 'gradient'), scale, gmu ? gmu._buf : null, glv ? glv._buf : null);
    if (gRow !== g) gRow.dispose();
    return [gmu, glv];
  });
}

/** The per-row gradient [B] of a reduced loss: g itself for 'none', else g broadcast to [B]. */
function rowGradient(be: ReturnType<typeof backendOf>, g: Tensor, B: number, r: Reduction, fn: string): Tensor {
  if (r === 'none') return g;
  const t = Tensor.on(be, [B], 'float32', true, fn);
  if (B) be.broadcastTo(g.buf(fn, 'gradient'), [1], t._buf, [B], 1);
  return t;
}

/** Softmax cross-entropy of logits [B, C] against int32 class labels [B] (a tensor, Int32Array or number[]). */
export function crossEntropy(logits: Tensor, labels: Tensor | Int32Array | number[], options: LossOptions | Reduction = {}): Tensor {
  const opts = optsOf<LossOptions>(options);
  const fn = 'crossEntropy';
  checkTensor(fn, 'logits', logits);
  const be = backendOf(fn, [['logits', logits]]);
  checkFloat32(fn, 'logits', logits);
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
  const rows = Tensor.on(be, [B], 'float32', true, fn);
  be.crossEntropyForward(logits.buf(fn, 'logits'), labelsCopy, B, C, rows._buf);
  const out = Tensor.on(be, r === 'none' ? [B] : [], 'float32', true, fn);
  be.reduceRows(rows._buf, B, -Infinity, r, out._buf);
  rows.dispose();
  return record(out, fn, [logits], (g) => {
    const bf = `${fn} backward`;
    const gx = Tensor.on(be, [B, C], 'float32', true, bf);
    const gRow = rowGradient(be, g, B, r, bf);
    be.crossEntropyBackward(logits.buf(bf, 'logits'), labelsCopy, B, C, gRow.buf(bf, 'gradient'), r === 'mean' ? 1 / Math.max(B, 1) : 1, gx._buf);
    if (gRow !== g) gRow.dispose();
    return [gx];
  });
}

export { shapeSize };
