/**
 * LatentClassifier: reads a dataset's per-frame labels (lane, curve, speed; digits) straight from
 * a latent. Fitted on *real* latents, then frozen, it is the judge of issue 12's classification
 * auxiliary loss: a predicted latent must still let it recover the target frame's labels, and the
 * cross-entropy flows back through the predictor.
 *
 *   spatial latents [C,h,w]:  Conv2d 3x3 p1 (C -> 32) + ReLU -> flatten -> Linear(32*h*w -> hidden) + ReLU
 *   flat latents [D]:         Linear(D -> hidden) + ReLU -> Linear(hidden -> hidden) + ReLU
 *   heads:                    one Linear(hidden -> classes) per label column
 *
 * Small on purpose: it must fit in seconds on CPU (a few hundred Adam steps on 1024-d latents),
 * and a weak judge that still reads the labels from real latents is enough to tell whether a
 * prediction kept them.
 *
 * fitLatentClassifier trains it by seeded minibatch Adam (reshuffled every pass over the data):
 * the same inputs and seed give the same weights.
 */
import { checkInt, checkNumber, fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { Generator } from '../random/generator';
import { Module } from '../nn/module';
import { Conv2d } from '../nn/conv';
import { Linear } from '../nn/linear';
import { Adam } from '../optim/adam';
import { writeArgmax } from './semantic_probe';
import { multiHeadCrossEntropy } from '../losses/remedies';
import type { LabelHead } from '../data/episode';

/** Output channels of the spatial trunk's convolution. */
const CONV_CHANNELS = 32;

export interface LatentClassifierOptions {
  /** Latent shape per sample: [C, h, w] (spatial) or [D] (flat). */
  latentShape: number[];
  /** One softmax head per label column. */
  heads: LabelHead[];
  /** Width of the hidden layer (default 128). */
  hidden?: number;
  /** Seed of the initial weights (default 1). */
  seed?: number;
}

export class LatentClassifier extends Module {
  readonly latentShape: number[];
  readonly heads: LabelHead[];
  readonly hidden: number;
  private readonly conv: Conv2d | null;
  private readonly fc0: Linear | null;
  private readonly fc: Linear;
  private readonly headLayers: Linear[];

  constructor(opts: LatentClassifierOptions) {
    super();
    const fn = 'LatentClassifier';
    if (!opts || typeof opts !== 'object') throw typeError(fn, 'options', 'an object { latentShape, heads }', opts);
    const ls = opts.latentShape;
    if (!Array.isArray(ls) || (ls.length !== 1 && ls.length !== 3)) throw typeError(fn, 'latentShape', '[C, h, w] or [D]', ls);
    ls.forEach((d, i) => checkInt(fn, `latentShape[${i}]`, d, 1, 1 << 16));
    if (!Array.isArray(opts.heads) || opts.heads.length === 0) throw typeError(fn, 'heads', 'a non-empty array of { name, classes }', opts.heads);
    opts.heads.forEach((h, i) => {
      if (!h || typeof h.name !== 'string' || !Array.isArray(h.classes) || h.classes.length < 2)
        throw typeError(fn, `heads[${i}]`, '{ name: string, classes: string[] } with at least 2 classes', h);
    });
    this.latentShape = ls.slice();
    this.heads = opts.heads.map((h) => ({ name: h.name, classes: [...h.classes] }));
    this.hidden = checkInt(fn, 'hidden', opts.hidden ?? 128, 1, 1 << 16);
    const gen = new Generator(checkInt(fn, 'seed', opts.seed ?? 1, 0, 2 ** 53));
    if (ls.length === 3) {
      const [C, h, w] = ls;
      this.conv = this.registerModule('conv', new Conv2d(C, CONV_CHANNELS, 3, { padding: 1, generator: gen }));
      this.fc0 = null;
      this.fc = this.registerModule('fc', new Linear(CONV_CHANNELS * h * w, this.hidden, { generator: gen }));
    } else {
      this.conv = null;
      this.fc0 = this.registerModule('fc0', new Linear(ls[0], this.hidden, { generator: gen }));
      this.fc = this.registerModule('fc', new Linear(this.hidden, this.hidden, { generator: gen }));
    }
    this.headLayers = this.heads.map((h, i) => this.registerModule(`head${i}`, new Linear(this.hidden, h.classes.length, { generator: gen })));
  }

  /** Logits per head, each [N, classes], of latents z [N, ...latentShape] (differentiable w.r.t. z). */
  forward(z: Tensor): Tensor[] {
    const fn = 'LatentClassifier.forward';
    checkTensor(fn, 'z', z);
    const ls = this.latentShape;
    if (z.ndim !== ls.length + 1 || ls.some((d, i) => z.shape[i + 1] !== d))
      throw rangeError(fn, `z must be [N,${ls.join(',')}], got ${fmtShape(z.shape)}`);
    const N = z.shape[0];
    let h: Tensor;
    if (this.conv) h = this.fc.forwardRelu(this.conv.forwardRelu(z).reshape([N, -1]));
    else h = this.fc.forwardRelu(this.fc0!.forwardRelu(z));
    return this.headLayers.map((l) => l.forward(h));
  }

  /** Predicted class per head, [n, heads] row-major, of n latents given as a Float32Array [n * D]. */
  predict(z: Float32Array, batch = 256): Int32Array {
    const fn = 'LatentClassifier.predict';
    const D = shapeSize(this.latentShape);
    if (!(z instanceof Float32Array) || z.length % D !== 0)
      throw typeError(fn, 'z', `a Float32Array of n x ${D} latent values ([${this.latentShape}] each)`, z);
    const n = z.length / D;
    const nh = this.heads.length;
    const out = new Int32Array(n * nh);
    const device = this.parameters()[0].device;
    const was = this.training;
    this.eval();
    noGrad(() => {
      for (let i = 0; i < n; i += batch) {
        const m = Math.min(batch, n - i);
        tidy(() => {
          const x = tensor(z.subarray(i * D, (i + m) * D), [m, ...this.latentShape], { device });
          this.forward(x).forEach((l, h) => writeArgmax(l, out, i, nh, h));
        });
      }
    });
    this.train(was);
    return out;
  }

  /** Fraction of correct predictions per head on latents z [n * D] with labels [n * heads]. */
  accuracy(z: Float32Array, labels: Int32Array): number[] {
    const pred = this.predict(z);
    const nh = this.heads.length;
    if (!(labels instanceof Int32Array) || labels.length !== pred.length)
      throw typeError('LatentClassifier.accuracy', 'labels', `an Int32Array of ${pred.length} values (n x ${nh} heads)`, labels);
    const n = pred.length / nh;
    return this.heads.map((_, h) => {
      let right = 0;
      for (let r = 0; r < n; ++r) if (pred[r * nh + h] === labels[r * nh + h]) ++right;
      return n > 0 ? right / n : NaN;
    });
  }
}

export interface FitLatentClassifierOptions {
  /** Adam steps (default 300). */
  steps?: number;
  /** Latents per step (default 64, or all when fewer). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Seed of the minibatch order (default 1). */
  seed?: number;
  /** Latents and labels kept out of training, to report held-out accuracy. */
  heldOut?: { z: Float32Array; labels: Int32Array };
}

export interface FitLatentClassifierResult {
  /** Training accuracy per head after fitting. */
  accuracy: number[];
  /** Accuracy per head on `heldOut`, when given. */
  heldOutAccuracy?: number[];
  /** The last step's mean cross-entropy over heads. */
  finalLoss: number;
}

function checkData(fn: string, arg: string, clf: LatentClassifier, z: Float32Array, labels: Int32Array): number {
  const D = shapeSize(clf.latentShape);
  const nh = clf.heads.length;
  if (!(z instanceof Float32Array) || z.length === 0 || z.length % D !== 0)
    throw typeError(fn, `${arg}z`, `a non-empty Float32Array of n x ${D} latent values ([${clf.latentShape}] each)`, z);
  const n = z.length / D;
  if (!(labels instanceof Int32Array) || labels.length !== n * nh)
    throw typeError(fn, `${arg}labels`, `an Int32Array of n x heads = ${n} x ${nh} = ${n * nh} values (row-major)`, labels);
  for (let i = 0; i < labels.length; ++i) {
    const K = clf.heads[i % nh].classes.length;
    if (!(labels[i] >= 0 && labels[i] < K))
      throw rangeError(fn, `${arg}labels[${i}] (sample ${Math.floor(i / nh)}, head '${clf.heads[i % nh].name}') must be a class in [0, ${K - 1}], got ${labels[i]}`);
  }
  return n;
}

/**
 * Fits `clf` to latents z (Float32Array [n * D]) and labels (Int32Array [n * heads], row-major)
 * by minibatch Adam on the device of clf's parameters; leaves it in training mode. Deterministic
 * for a seed.
 */
export function fitLatentClassifier(
  clf: LatentClassifier,
  z: Float32Array,
  labels: Int32Array,
  opts: FitLatentClassifierOptions = {},
): FitLatentClassifierResult {
  const fn = 'fitLatentClassifier';
  if (!(clf instanceof LatentClassifier)) throw typeError(fn, 'clf', 'a LatentClassifier', clf);
  const n = checkData(fn, '', clf, z, labels);
  const steps = checkInt(fn, 'steps', opts.steps ?? 300, 0, 1e7);
  const B = Math.min(checkInt(fn, 'batchSize', opts.batchSize ?? 64, 1, 1 << 20), n);
  const lr = checkNumber(fn, 'lr', opts.lr ?? 1e-3, 0);
  const gen = new Generator(checkInt(fn, 'seed', opts.seed ?? 1, 0, 2 ** 53));
  if (opts.heldOut !== undefined) {
    if (!opts.heldOut || typeof opts.heldOut !== 'object') throw typeError(fn, 'heldOut', 'an object { z, labels }', opts.heldOut);
    checkData(fn, 'heldOut.', clf, opts.heldOut.z, opts.heldOut.labels);
  }
  const D = shapeSize(clf.latentShape);
  const nh = clf.heads.length;
  const device = clf.parameters()[0].device;
  const opt = new Adam(clf.trainableParameters(), { lr });
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const coins = new Float32Array(n);
  let pos = n; // reshuffle before the first batch
  const zb = new Float32Array(B * D);
  const lb = new Int32Array(B * nh);
  let finalLoss = NaN;
  clf.train();
  for (let s = 0; s < steps; ++s) {
    for (let b = 0; b < B; ++b) {
      if (pos >= n) {
        gen.fillUniform(coins);
        for (let i = n - 1; i > 0; --i) {
          const j = Math.min(i, Math.floor(coins[i] * (i + 1)));
          const t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
        pos = 0;
      }
      const r = order[pos++];
      zb.set(z.subarray(r * D, (r + 1) * D), b * D);
      lb.set(labels.subarray(r * nh, (r + 1) * nh), b * nh);
    }
    tidy(() => {
      const x = tensor(zb, [B, ...clf.latentShape], { device });
      const loss = multiHeadCrossEntropy(clf.forward(x), lb);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      if (s === steps - 1) finalLoss = loss.item();
    });
  }
  opt.zeroGrad();
  const result: FitLatentClassifierResult = { accuracy: clf.accuracy(z, labels), finalLoss };
  if (opts.heldOut) result.heldOutAccuracy = clf.accuracy(opts.heldOut.z, opts.heldOut.labels);
  clf.train();
  return result;
}
