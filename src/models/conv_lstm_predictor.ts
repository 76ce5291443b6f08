/**
 * ConvLSTMPredictor: next-frame prediction in pixel space (Shi et al. 2015's ConvLSTM, with
 * PredRNN's patch trick), no VAE in the loop, so it shows what the latent bottleneck costs.
 *
 *   frames [B, T, C, H, W] in [0, 1] (C = 1 native, Moving MNIST; or 3)
 *     -> space-to-depth by `patchSize` p: [B, T, C*p*p, H/p, W/p]  (64x64x1, p 4: 16x16x16)
 *     -> per step t, layer l:  pre = conv2d(concat([x, h_l], 1), W_l, b_l)   ONE conv over [x, h]
 *                              [h_l, c_l] = lstmGates(pre, c_l)               the fused gates kernel
 *        (x = the step's input planes, plus the actions as constant planes, for layer 0; h_{l-1} above)
 *     -> a 1x1 output conv on the top h to C*p*p logit planes -> depth-to-space -> [B, C, H, W]
 *
 * The output is logits; a predicted frame is sigmoid(logits) in [0, 1]. loss: 'bce' (default)
 * is binary cross-entropy of the logits against the true next frames, averaged over pixels and
 * steps (the usual choice for Moving MNIST's mostly-black frames, and a clamp-free output); 'mse'
 * is the mean squared error of sigmoid(logits), the metric the video-prediction tables report.
 * The space-to-depth is a reshape/permute (ops on the tape), so the patch size costs no kernel.
 *
 * Parameters: cell{l}.conv.weight [4*Ch, in_l + Ch, k, k], cell{l}.conv.bias [4*Ch] (gate order
 * i, f, g, o along the output channels: the layout lstmGates takes), head.weight [C*p*p, Ch, 1, 1],
 * head.bias [C*p*p]. PyTorch's default conv init, drawn from the seeded generator.
 *
 * Training paths, as LatentPredictor's (method names and semantics mirror it):
 *   forwardTeacherForced(frames, a)   every input is the true frame.
 *   forwardScheduled(frames, a, p)    each sample's input at each step t >= 1 is the true frame with
 *                                     probability p, else its own previous prediction
 *                                     (sigmoid(logits)), with the gradient flowing through it.
 *   rollout(context, a, n)            open loop, no gradients.
 * All return predicted frames [B, T', C, H, W] in [0, 1].
 */
import { checkInt, fmtShape, rangeError, typeError, checkNumber } from '../errors';
import { Tensor, checkTensor } from '../tensor/tensor';
import type { Device } from '../tensor/memory';
import { zeros, ones } from '../tensor/creation';
import { concat, permute, reshape, slice, stack } from '../ops/shape';
import { conv2d } from '../ops/conv';
import { sigmoid } from '../ops/elementwise';
import { lstmGates } from '../ops/lstm';
import { pickRows } from '../ops/predictor_unroll';
import { noGrad } from '../autograd/grad_mode';
import { Generator } from '../random/generator';
import { Module } from '../nn/module';
import { Conv2d } from '../nn/conv';
import { bceWithLogits, mseLoss } from '../losses/index';

export type PixelLoss = 'bce' | 'mse';

export interface ConvLSTMPredictorOptions {
  /** One frame [C, H, W] (default [1, 64, 64]: Moving MNIST); H and W multiples of patchSize. */
  frameShape?: number[];
  /** Space-to-depth factor p (default 4): the cells run on [C*p*p, H/p, W/p] maps. 1: on pixels. */
  patchSize?: number;
  /** Hidden channels of every ConvLSTM cell (default 64). */
  hiddenChannels?: number;
  /** Stacked cells (default 2). */
  numLayers?: number;
  /** Odd kernel size of the gate convolutions (default 3; 'same' padding). */
  kernelSize?: number;
  /** Action values per step, fed as constant input planes (default 0: none). */
  actionSize?: number;
  /** Training loss on the predicted frames: 'bce' (default, on logits) or 'mse' (on sigmoid(logits)). */
  loss?: PixelLoss;
  /** Seed of the initial weights and (forked) of the model's generator. */
  seed?: number;
}

export interface PixelLossOptions {
  /** Probability of feeding the true frame (scheduled sampling); 1 (default) is teacher forcing. */
  pTrue?: number;
  /** Generator for the scheduled-sampling coins (default: the model's own). */
  rng?: Generator;
  /** The first burnIn inputs are always the true frames (default 0; as LatentPredictor's). */
  burnIn?: number;
}

/** One ConvLSTM cell: the gate convolution over concat([x, h]) (its output is lstmGates' pre). */
class ConvLSTMCell extends Module {
  readonly conv: Conv2d;
  constructor(readonly inChannels: number, readonly hiddenChannels: number, readonly kernelSize: number, gen: Generator) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inChannels + hiddenChannels, 4 * hiddenChannels, kernelSize, { padding: kernelSize >> 1, generator: gen }));
  }
  forward(x: Tensor): Tensor {
    return this.step(x, null, null)[0];
  }
  /** x [B, in, h, w], state (null at the first step: zeros) -> the new [h, c], each [B, Ch, h, w]. */
  step(x: Tensor, h: Tensor | null, c: Tensor | null): [Tensor, Tensor] {
    const [B, , hh, ww] = x.shape;
    const hPrev = h ?? zeros([B, this.hiddenChannels, hh, ww], { device: x.device });
    const pre = conv2d(concat([x, hPrev], 1), this.conv.weight, this.conv.bias, { padding: this.kernelSize >> 1 });
    return lstmGates(pre, c);
  }
}

/** The cells' state between steps. */
type State = { h: Tensor | null; c: Tensor | null }[];

export class ConvLSTMPredictor extends Module {
  readonly frameShape: number[];
  readonly patchSize: number;
  readonly hiddenChannels: number;
  readonly numLayers: number;
  readonly kernelSize: number;
  readonly actionSize: number;
  readonly useActions: boolean;
  readonly lossKind: PixelLoss;
  readonly seed: number;
  readonly cells: ConvLSTMCell[];
  readonly head: Conv2d;
  /** Draws the scheduled-sampling coins by default. */
  readonly generator: Generator;
  /** Channels of a patch map (C*p*p) and its height and width. */
  private readonly pc: number;
  private readonly ph: number;
  private readonly pw: number;

  constructor(opts: ConvLSTMPredictorOptions = {}) {
    super();
    const fn = 'ConvLSTMPredictor';
    if (typeof opts !== 'object' || opts === null) throw typeError(fn, 'options', 'an object', opts);
    const fs = opts.frameShape ?? [1, 64, 64];
    if (!Array.isArray(fs) || fs.length !== 3 || fs.some((d) => !Number.isInteger(d) || d < 1))
      throw typeError(fn, 'frameShape', 'an array [C, H, W] of positive integers', opts.frameShape);
    this.frameShape = fs.slice();
    this.patchSize = checkInt(fn, 'patchSize', opts.patchSize ?? 4, 1, 64);
    const [C, H, W] = this.frameShape;
    if (H % this.patchSize !== 0 || W % this.patchSize !== 0)
      throw rangeError(fn, `patchSize ${this.patchSize} must divide the frame's height and width, got frameShape ${fmtShape(this.frameShape)}`);
    this.hiddenChannels = checkInt(fn, 'hiddenChannels', opts.hiddenChannels ?? 64, 1, 4096);
    this.numLayers = checkInt(fn, 'numLayers', opts.numLayers ?? 2, 1, 64);
    this.kernelSize = checkInt(fn, 'kernelSize', opts.kernelSize ?? 3, 1, 31);
    if (this.kernelSize % 2 !== 1) throw rangeError(fn, `kernelSize must be odd (same padding), got ${this.kernelSize}`);
    this.actionSize = checkInt(fn, 'actionSize', opts.actionSize ?? 0, 0, 1 << 16);
    this.useActions = this.actionSize > 0;
    const loss = opts.loss ?? 'bce';
    if (loss !== 'bce' && loss !== 'mse') throw typeError(fn, 'loss', "'bce' or 'mse'", opts.loss);
    this.lossKind = loss;
    this.seed = checkInt(fn, 'seed', opts.seed ?? 0, 0);
    this.pc = C * this.patchSize * this.patchSize;
    this.ph = H / this.patchSize;
    this.pw = W / this.patchSize;
    const init = new Generator(this.seed);
    this.generator = init.fork(1);
    this.cells = [];
    for (let l = 0; l < this.numLayers; ++l) {
      const inC = l === 0 ? this.pc + this.actionSize : this.hiddenChannels;
      this.cells.push(this.registerModule(`cell${l}`, new ConvLSTMCell(inC, this.hiddenChannels, this.kernelSize, init)));
    }
    this.head = this.registerModule('head', new Conv2d(this.hiddenChannels, this.pc, 1, { generator: init }));
  }

  /** The options that rebuild this model (saved in checkpoints as config.predictor). */
  config(): ConvLSTMPredictorOptions & { kind: 'convlstm' } {
    return {
      kind: 'convlstm',
      frameShape: this.frameShape.slice(),
      patchSize: this.patchSize,
      hiddenChannels: this.hiddenChannels,
      numLayers: this.numLayers,
      kernelSize: this.kernelSize,
      actionSize: this.actionSize,
      loss: this.lossKind,
      seed: this.seed,
    };
  }

  forward(frames: Tensor, a?: Tensor | null): Tensor {
    return this.forwardTeacherForced(frames, a);
  }

  // ---- layout ----------------------------------------------------------------------------------

  /** frames [N, C, H, W] -> patch maps [N, C*p*p, H/p, W/p] (channel order c, dy, dx). */
  private toPatches(x: Tensor): Tensor {
    const p = this.patchSize;
    if (p === 1) return x;
    const [C] = this.frameShape;
    const N = x.shape[0];
    return reshape(permute(reshape(x, [N, C, this.ph, p, this.pw, p]), [0, 1, 3, 5, 2, 4]), [N, this.pc, this.ph, this.pw]);
  }

  /** The inverse of toPatches: [N, C*p*p, H/p, W/p] -> [N, C, H, W]. */
  private fromPatches(y: Tensor): Tensor {
    const p = this.patchSize;
    const [C, H, W] = this.frameShape;
    const N = y.shape[0];
    if (p === 1) return reshape(y, [N, C, H, W]);
    return reshape(permute(reshape(y, [N, C, p, p, this.ph, this.pw]), [0, 1, 4, 2, 5, 3]), [N, C, H, W]);
  }

  /** frames [B, T, C, H, W] checked (T >= minT) -> patch maps [B, T, C*p*p, h, w]. */
  private patchesOf(fn: string, frames: Tensor, minT: number, arg = 'frames'): Tensor {
    checkTensor(fn, arg, frames);
    const [C, H, W] = this.frameShape;
    if (frames.ndim !== 5 || frames.shape[2] !== C || frames.shape[3] !== H || frames.shape[4] !== W)
      throw rangeError(fn, `${arg} must be [B,T,${C},${H},${W}] (frameShape ${fmtShape(this.frameShape)}), got ${fmtShape(frames.shape)}`);
    if (frames.dtype !== 'float32') throw typeError(fn, arg, 'a float32 Tensor of frames in [0, 1]', frames.dtype);
    const [B, T] = frames.shape;
    if (T < minT) throw rangeError(fn, `${arg} needs at least ${minT} time steps (T >= ${minT}), got T=${T} in ${fmtShape(frames.shape)}`);
    return reshape(this.toPatches(reshape(frames, [B * T, C, H, W])), [B, T, this.pc, this.ph, this.pw]);
  }

  /** a [B, >= steps, A] -> action planes [B, steps, A, h, w], or null without actions. */
  private actionPlanes(fn: string, a: Tensor | null | undefined, B: number, steps: number, device: Device): Tensor | null {
    if (!this.useActions) return null;
    if (a === undefined || a === null) throw typeError(fn, 'a', `a Tensor [B,T,${this.actionSize}] of actions (actionSize ${this.actionSize})`, a);
    checkTensor(fn, 'a', a);
    const A = this.actionSize;
    if (a.ndim !== 3 || a.shape[2] !== A) throw rangeError(fn, `a must be [B,T,${A}] (actionSize ${A}), got ${fmtShape(a.shape)}`);
    if (a.shape[0] !== B) throw rangeError(fn, `batch sizes differ: the frames have B=${B} but a has B=${a.shape[0]}`);
    if (a.shape[1] < steps) throw rangeError(fn, `a needs at least ${steps} time steps, got ${a.shape[1]} in ${fmtShape(a.shape)}`);
    if (a.device !== device) throw rangeError(fn, `a is on '${a.device}' but the frames are on '${device}'`);
    const at = a.shape[1] === steps ? a : slice(a, [0, 0, 0], [B, steps, A]);
    return reshape(at, [B, steps, A, 1, 1]).mul(ones([1, 1, 1, this.ph, this.pw], { device }));
  }

  /** Step t's slice [B, ...] of a [B, T, ...] tensor. */
  private at(x: Tensor, t: number): Tensor {
    const [B, , ...rest] = x.shape;
    return reshape(slice(x, [0, t, ...rest.map(() => 0)], [B, 1, ...rest]), [B, ...rest]);
  }

  /** One step of the stack on input planes x [B, C*p*p, h, w] (+ action planes): the next frame's logits in patch space. */
  private step(x: Tensor, planes: Tensor | null, state: State): Tensor {
    let inp = planes ? concat([x, planes], 1) : x;
    this.cells.forEach((cell, l) => {
      const [h, c] = cell.step(inp, state[l].h, state[l].c);
      state[l] = { h, c };
      inp = h;
    });
    return conv2d(inp, this.head.weight, this.head.bias);
  }

  /**
   * The unroll over the inputs 0..T-2 of xp [B, T, pc, h, w]; input t >= 1 is the true frame where
   * coins[(t-1)*B + b] is 1 (always, without coins), else sample b's own previous prediction.
   * Returns the logits of frames 1..T-1 in patch space: [B, T-1, pc, h, w].
   */
  private unroll(xp: Tensor, planes: Tensor | null, coins: Float32Array | null): Tensor {
    const [B, T] = xp.shape;
    const state: State = this.cells.map(() => ({ h: null, c: null }));
    const out: Tensor[] = [];
    let prev: Tensor | null = null;
    for (let t = 0; t < T - 1; ++t) {
      let x = this.at(xp, t);
      if (t > 0 && coins) x = pickRows(x, sigmoid(prev!), coins.subarray((t - 1) * B, t * B));
      prev = this.step(x, planes ? this.at(planes, t) : null, state);
      out.push(prev);
    }
    return stack(out, 1);
  }

  /** Patch-space logits [B, T', pc, h, w] -> frames [B, T', C, H, W] in [0, 1]. */
  private framesOf(logits: Tensor): Tensor {
    const [B, T] = logits.shape;
    const [C, H, W] = this.frameShape;
    return reshape(this.fromPatches(sigmoid(reshape(logits, [B * T, this.pc, this.ph, this.pw]))), [B, T, C, H, W]);
  }

  // ---- forward paths -------------------------------------------------------------------------

  /** Predictions of frames 1..T-1 from the true frames 0..T-2 (and a[:, 0..T-2]): [B, T-1, C, H, W] in [0, 1]. */
  forwardTeacherForced(frames: Tensor, a?: Tensor | null): Tensor {
    return this.framesOf(this.logitsTeacherForced('ConvLSTMPredictor.forwardTeacherForced', frames, a));
  }

  private logitsTeacherForced(fn: string, frames: Tensor, a?: Tensor | null): Tensor {
    const xp = this.patchesOf(fn, frames, 2);
    const [B, T] = xp.shape;
    return this.unroll(xp, this.actionPlanes(fn, a, B, T - 1, frames.device), null);
  }

  /**
   * Scheduled sampling: at step t >= 1 each sample's input is the true frame t with probability
   * pTrue (a Bernoulli coin from rng, default the model's generator), else its own prediction of
   * frame t (sigmoid of its logits), through which the gradient flows. The first burnIn inputs are
   * always true. Returns predictions [B, T-1, C, H, W] in [0, 1]. The coins are drawn as
   * LatentPredictor draws them (B*(T-2), every one whatever the burn-in), and the mixing path runs
   * even at pTrue 1, where it gives teacher forcing's values.
   */
  forwardScheduled(frames: Tensor, a: Tensor | null | undefined, pTrue: number, rng?: Generator, burnIn = 0): Tensor {
    return this.framesOf(this.logitsScheduled('ConvLSTMPredictor.forwardScheduled', frames, a, pTrue, rng, burnIn));
  }

  private logitsScheduled(fn: string, frames: Tensor, a: Tensor | null | undefined, pTrue: number, rng?: Generator, burnIn = 0): Tensor {
    checkNumber(fn, 'pTrue', pTrue, 0, 1);
    if (rng !== undefined && !(rng instanceof Generator)) throw typeError(fn, 'rng', 'a Generator', rng);
    checkInt(fn, 'burnIn', burnIn, 0);
    const xp = this.patchesOf(fn, frames, 2);
    const [B, T] = xp.shape;
    const planes = this.actionPlanes(fn, a, B, T - 1, frames.device);
    const coins = new Float32Array(B * Math.max(T - 2, 0));
    if (coins.length) (rng ?? this.generator).fillBernoulli(coins, pTrue);
    coins.fill(1, 0, Math.min(Math.max(burnIn - 1, 0), T - 2) * B); // coins[(t-1)*B + b] decides input t
    return this.unroll(xp, planes, coins);
  }

  /**
   * Open-loop rollout without gradients: warms up on contextFrames [B, Cn, C, H, W] (Cn >= 1) with
   * actions[:, 0..Cn-1], then feeds its own predictions. actions [B, >= Cn+horizon-1, A] (none
   * without actionSize). Returns the predictions of frames Cn..Cn+horizon-1: [B, horizon, C, H, W].
   */
  rollout(contextFrames: Tensor, actions: Tensor | null | undefined, horizon: number): Tensor {
    const fn = 'ConvLSTMPredictor.rollout';
    checkInt(fn, 'horizon', horizon, 1);
    return noGrad(() => {
      const xp = this.patchesOf(fn, contextFrames, 1, 'contextFrames');
      const [B, Cn] = xp.shape;
      const planes = this.actionPlanes(fn, actions, B, Cn + horizon - 1, contextFrames.device);
      const state: State = this.cells.map(() => ({ h: null, c: null }));
      let logits: Tensor | null = null;
      for (let t = 0; t < Cn; ++t) logits = this.step(this.at(xp, t), planes ? this.at(planes, t) : null, state);
      const out: Tensor[] = [logits!];
      for (let k = 1; k < horizon; ++k) {
        logits = this.step(sigmoid(logits!), planes ? this.at(planes, Cn - 1 + k) : null, state);
        out.push(logits);
      }
      return this.framesOf(stack(out, 1));
    });
  }

  /**
   * The pixel loss of the predictions of frames 1..T-1 (config loss: 'bce' on the logits, or
   * 'mse' on sigmoid(logits)), teacher forcing (pTrue = 1, default) or scheduled sampling.
   */
  loss(frames: Tensor, a?: Tensor | null, opts: PixelLossOptions = {}): Tensor {
    return this.lossOf('ConvLSTMPredictor.loss', frames, a, opts).loss;
  }

  /** loss() and the predicted frames [B, T-1, C, H, W] in [0, 1] it was computed from (carrying the gradient). */
  lossAndPredictions(frames: Tensor, a?: Tensor | null, opts: PixelLossOptions = {}): { loss: Tensor; pred: Tensor } {
    const { loss, logits } = this.lossOf('ConvLSTMPredictor.lossAndPredictions', frames, a, opts);
    return { loss, pred: this.framesOf(logits) };
  }

  private lossOf(fn: string, frames: Tensor, a: Tensor | null | undefined, opts: PixelLossOptions): { loss: Tensor; logits: Tensor } {
    if (opts === null || typeof opts !== 'object') throw typeError(fn, 'opts', 'an object', opts);
    const pTrue = checkNumber(fn, 'opts.pTrue', opts.pTrue ?? 1, 0, 1);
    const burnIn = checkInt(fn, 'opts.burnIn', opts.burnIn ?? 0, 0);
    // pTrue 1 is teacher forcing, with no coins drawn (as LatentPredictor.loss).
    const logits = pTrue === 1 ? this.logitsTeacherForced(fn, frames, a) : this.logitsScheduled(fn, frames, a, pTrue, opts.rng, burnIn);
    const [B, T1] = logits.shape;
    // The loss is a mean over pixels: patch space holds the same pixels in another order.
    const target = noGrad(() => slice(this.patchesOf(fn, frames, 2), [0, 1, 0, 0, 0], [B, T1, this.pc, this.ph, this.pw]));
    const loss = this.lossKind === 'bce' ? bceWithLogits(logits, target) : mseLoss(sigmoid(logits), target);
    return { loss, logits };
  }
}
