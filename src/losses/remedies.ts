/**
 * Losses of issue 12's remedies, composed from the fused losses of ./fused (so they run on every
 * backend, and their gradients are those ops' gradients):
 *
 *   perceptualLoss(pred, real)            mean over layers of each layer's MSE between a feature
 *                                         network's activations on a prediction and on the real
 *                                         frame; the real side is detached (a fixed target)
 *   discriminatorLoss(real, fake)         BCE(real, 1) + BCE(fake, 0), each a mean: the
 *                                         discriminator's side of a GAN
 *   generatorLoss(fake)                   BCE(fake, 1): the non-saturating generator loss, whose
 *                                         gradient stays large while the discriminator wins
 *   multiHeadCrossEntropy(logits, labels) mean over heads of each head's softmax cross-entropy
 *   discriminatorAccuracy(real, fake)     fraction of logits on the right side of 0 (a number)
 *
 * The logits may have any shape ([N] per sample, [N,1,h,w] per patch): every element is one
 * decision.
 */
import { fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, isTensor } from '../tensor/tensor';
import { full } from '../tensor/creation';
import { add, mul } from '../ops/elementwise';
import { bceWithLogits, crossEntropy, mseLoss } from './fused';

function tensorList(fn: string, arg: string, v: unknown): Tensor[] {
  if (!Array.isArray(v) || v.length === 0) throw typeError(fn, arg, 'a non-empty array of Tensors', v);
  v.forEach((t, i) => checkTensor(fn, `${arg}[${i}]`, t));
  return v as Tensor[];
}

/** A constant target like `logits`, on its device. */
function target(logits: Tensor, value: number): Tensor {
  return full(logits.shape.slice(), value, { device: logits.device });
}

/**
 * Mean over layers of mse(predFeatures[i], realFeatures[i]) (each a mean over its elements). The
 * real features are detached: the loss moves the prediction toward the real frame's features and
 * never the other way.
 */
export function perceptualLoss(predFeatures: Tensor[], realFeatures: Tensor[]): Tensor {
  const fn = 'perceptualLoss';
  const pred = tensorList(fn, 'predFeatures', predFeatures);
  const real = tensorList(fn, 'realFeatures', realFeatures);
  if (pred.length !== real.length)
    throw rangeError(fn, `predFeatures has ${pred.length} layers but realFeatures has ${real.length}; they must come from the same network`);
  let total: Tensor | null = null;
  pred.forEach((p, i) => {
    const r = real[i];
    if (p.shape.length !== r.shape.length || p.shape.some((d, j) => d !== r.shape[j]))
      throw rangeError(fn, `layer ${i}: predFeatures is ${fmtShape(p.shape)} and realFeatures is ${fmtShape(r.shape)}; shapes must match`);
    const term = mseLoss(p, r.detach());
    total = total === null ? term : add(total, term);
  });
  return mul(total as unknown as Tensor, 1 / pred.length);
}

/** BCE(realLogits, 1) + BCE(fakeLogits, 0), each the mean over its elements. */
export function discriminatorLoss(realLogits: Tensor, fakeLogits: Tensor): Tensor {
  const fn = 'discriminatorLoss';
  checkTensor(fn, 'realLogits', realLogits);
  checkTensor(fn, 'fakeLogits', fakeLogits);
  return add(bceWithLogits(realLogits, target(realLogits, 1)), bceWithLogits(fakeLogits, target(fakeLogits, 0)));
}

/** The non-saturating generator loss BCE(fakeLogits, 1) = mean softplus(-fakeLogits). */
export function generatorLoss(fakeLogits: Tensor): Tensor {
  checkTensor('generatorLoss', 'fakeLogits', fakeLogits);
  return bceWithLogits(fakeLogits, target(fakeLogits, 1));
}

/**
 * Mean over heads of crossEntropy(logits[h], labels[:, h]) (each a mean over the batch). labels:
 * an Int32Array of N * heads values, row-major [N, heads], or an int32 Tensor [N, heads].
 */
export function multiHeadCrossEntropy(logits: Tensor[], labels: Int32Array | Tensor): Tensor {
  const fn = 'multiHeadCrossEntropy';
  const heads = tensorList(fn, 'logits', logits);
  const H = heads.length;
  heads.forEach((l, h) => {
    if (l.ndim !== 2) throw rangeError(fn, `logits[${h}] must be [N, classes], got ${fmtShape(l.shape)}`);
  });
  const N = heads[0].shape[0];
  heads.forEach((l, h) => {
    if (l.shape[0] !== N) throw rangeError(fn, `logits[${h}] has ${l.shape[0]} rows but logits[0] has ${N}; every head scores the same batch`);
  });
  let lab: Int32Array;
  if (isTensor(labels)) {
    checkTensor(fn, 'labels', labels);
    if (labels.dtype !== 'int32') throw typeError(fn, 'labels', 'an int32 Tensor [N, heads] or an Int32Array', labels.dtype);
    if (labels.ndim !== 2 || labels.shape[0] !== N || labels.shape[1] !== H)
      throw rangeError(fn, `labels must be [${N},${H}] (N rows, one column per head), got ${fmtShape(labels.shape)}`);
    lab = labels.hostData(fn) as Int32Array;
  } else if (labels instanceof Int32Array) {
    if (labels.length !== N * H)
      throw rangeError(fn, `labels must hold N * heads = ${N} * ${H} = ${N * H} values (row-major [N, heads]), got ${labels.length}`);
    lab = labels;
  } else throw typeError(fn, 'labels', 'an Int32Array [N * heads] or an int32 Tensor [N, heads]', labels);
  let total: Tensor | null = null;
  for (let h = 0; h < H; ++h) {
    const col = new Int32Array(N);
    for (let r = 0; r < N; ++r) col[r] = lab[r * H + h];
    const term = crossEntropy(heads[h], col);
    total = total === null ? term : add(total, term);
  }
  return mul(total as unknown as Tensor, 1 / H);
}

/**
 * The discriminator's accuracy: the fraction of all logits on the right side of 0 (real > 0,
 * fake < 0; a logit of exactly 0 counts as wrong). Near 0.5: it cannot tell them apart; near 1:
 * it wins (and a generator learning from it may stall).
 */
export function discriminatorAccuracy(realLogits: Tensor, fakeLogits: Tensor): number {
  const fn = 'discriminatorAccuracy';
  checkTensor(fn, 'realLogits', realLogits);
  checkTensor(fn, 'fakeLogits', fakeLogits);
  const r = realLogits.hostF32(fn, 'realLogits');
  const f = fakeLogits.hostF32(fn, 'fakeLogits');
  const n = r.length + f.length;
  if (n === 0) throw rangeError(fn, 'realLogits and fakeLogits are both empty');
  let right = 0;
  for (let i = 0; i < r.length; ++i) if (r[i] > 0) ++right;
  for (let i = 0; i < f.length; ++i) if (f[i] < 0) ++right;
  return right / n;
}
