/**
 * LatentTransformer: a causal Transformer over latent tokens, the residual next-latent predictor
 * of token world models (IRIS-style), as an alternative to LatentPredictor's LSTM:
 *
 *   tokens of frame t:  [ action a_t ] + [ z_t at spatial position s, s = 1..S ]   (S = h*w, e.g. 16)
 *   x = tokenProj(token) + spaceEmbedding[s] + timeEmbedding[t]                     (width d)
 *   L pre-norm blocks:  x += Wo · attention(LN1(x))   x += W2 · GELU(W1 · LN2(x))
 *   z_{t+1}[:, s] = z_t[:, s] + head(LN(x_s))                                       (residual, default)
 *
 * A latent [C,h,w] enters as S = h*w tokens of C values (a flat latent [D] as one token of D).
 * Attention is causal over time: every token of frame t sees every token of frames <= t and none
 * of later frames (causalAttention with tokensPerFrame = S (+1 with actions)), so the prediction
 * of z_{t+1} reads z_0..z_t and a_0..a_t, as the LSTM's does.
 *
 * Training paths (the LatentSequenceModel contract):
 *   forwardTeacherForced  one parallel pass over the T-1 input frames (one attention call per block)
 *   forwardScheduled      frame by frame with a key/value cache, each input the true latent or the
 *                         model's own previous prediction (pickRows), the gradient flowing through
 *                         both the fed-back predictions and the cached keys and values; the
 *                         leading frames whose inputs are all true (the burn-in) in one pass
 *   rollout               no gradients; the context in one pass that fills the cache, then one
 *                         token block per imagined frame (queries: the new frame's tokens; keys and
 *                         values: the cache), so a step costs O(context), not a whole re-run. The
 *                         cache is preallocated per block and written in place (attention's
 *                         keyLength), where training's grows by concatenation for its gradient.
 * Positions are learned per frame up to maxFrames; a rollout longer than that slides: it re-encodes
 * the last maxFrames - 1 frames at positions 0.. and goes on (the model has only seen windows of
 * at most maxFrames frames).
 *
 * Parameters: tokenProj, actionProj, spaceEmbedding [S(+1), d], timeEmbedding [maxFrames, d],
 * blocks.{i}.{ln1,q,k,v,proj,ln2,fc1,fc2}, norm, head. Linear layers take PyTorch's default
 * initialisation, embeddings N(0, 0.02), LayerNorms ones and zeros; all drawn from the seed.
 */
import { checkInt, rangeError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { concat, permute, slice, writeInto } from '../ops/shape';
import { backendOf } from '../tensor/placement';
import { add, gelu } from '../ops/elementwise';
import { layerNorm } from '../ops/layer_norm';
import { causalAttention } from '../ops/attention';
import { addNoise as addNoiseOp, pickRows } from '../ops/predictor_unroll';
import { Generator } from '../random/generator';
import { Module, Parameter } from '../nn/module';
import { Linear } from '../nn/linear';
import { LatentSequenceModel, LatentSequenceModelOptions } from './latent_sequence_model';

export interface LatentTransformerOptions extends LatentSequenceModelOptions {
  /** Token width d (default 128); also read as `hiddenSize`. */
  hiddenSize?: number;
  /** Transformer blocks (default 2). */
  numLayers?: number;
  /** Attention heads (default 4); must divide hiddenSize. */
  numHeads?: number;
  /** Width of the blocks' MLP as a multiple of d (default 4). */
  mlpRatio?: number;
  /** Frames with a learned position (default 32): training windows and rollouts up to this length run in one context. */
  maxFrames?: number;
}

/** A LayerNorm's weight and bias (ones and zeros, PyTorch's names). */
class Norm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  constructor(d: number) {
    super();
    const w = Tensor.empty([d]);
    w.f32().fill(1);
    this.weight = this.registerParameter('weight', w);
    this.bias = this.registerParameter('bias', Tensor.empty([d]));
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, 1e-5);
  }
}

/**
 * Per block, the keys and values of the frames so far, [B, heads, N, dh]: appending block i's new
 * keys and values returns what the new queries attend to (keyLength: how many positions of k and
 * v hold keys, when they are a larger buffer).
 */
interface KvCache {
  append(i: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor; keyLength?: number };
}

/**
 * Training (forwardScheduled): the cache grows by concatenation, a recorded op, so the gradient
 * reaches the cached keys and values (and through them the earlier frames).
 */
class GrowingCache implements KvCache {
  private readonly k: Tensor[] = [];
  private readonly v: Tensor[] = [];
  append(i: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    if (this.k[i]) {
      k = concat([this.k[i], k], 2);
      v = concat([this.v[i], v], 2);
    }
    this.k[i] = k;
    this.v[i] = v;
    return { k, v };
  }
}

/**
 * Rollouts (no gradients): per block, buffers of `capacity` positions allocated once and written
 * in place, so a step copies only its own keys and values (a growing concatenation copies the
 * whole cache every frame, which dominated the rollout's time); attention reads the first
 * keyLength positions. reset() starts again at position 0 (the rollout's slide).
 */
class BufferCache implements KvCache {
  private readonly k: Tensor[] = [];
  private readonly v: Tensor[] = [];
  private readonly length: number[] = [];
  constructor(readonly capacity: number) {}
  append(i: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor; keyLength: number } {
    const [B, H, N, dh] = k.shape;
    if (!this.k[i]) {
      const be = backendOf('LatentTransformer.rollout', [['k', k]]);
      // Uninitialised: attention reads only the positions written (keyLength).
      this.k[i] = Tensor.on(be, [B, H, this.capacity, dh], 'float32', false, 'LatentTransformer.rollout');
      this.v[i] = Tensor.on(be, [B, H, this.capacity, dh], 'float32', false, 'LatentTransformer.rollout');
    }
    const at = this.length[i] ?? 0;
    if (at + N > this.capacity) throw new Error(`LatentTransformer.rollout: internal error, ${at + N} cached positions exceed the cache's ${this.capacity}`);
    writeInto(this.k[i], k, [0, 0, at, 0]);
    writeInto(this.v[i], v, [0, 0, at, 0]);
    this.length[i] = at + N;
    return { k: this.k[i], v: this.v[i], keyLength: at + N };
  }
  reset(): void {
    this.length.fill(0);
  }
  dispose(): void {
    for (const t of [...this.k, ...this.v]) t.dispose();
  }
}

/** One pre-norm block: x += proj(attention(LN1 x)); x += fc2(GELU(fc1(LN2 x))). */
class Block extends Module {
  readonly ln1: Norm;
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly proj: Linear;
  readonly ln2: Norm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(readonly d: number, readonly heads: number, mlp: number, gen: Generator) {
    super();
    this.ln1 = this.registerModule('ln1', new Norm(d));
    this.q = this.registerModule('q', new Linear(d, d, { generator: gen }));
    this.k = this.registerModule('k', new Linear(d, d, { generator: gen }));
    this.v = this.registerModule('v', new Linear(d, d, { generator: gen }));
    this.proj = this.registerModule('proj', new Linear(d, d, { generator: gen }));
    this.ln2 = this.registerModule('ln2', new Norm(d));
    this.fc1 = this.registerModule('fc1', new Linear(d, mlp, { generator: gen }));
    this.fc2 = this.registerModule('fc2', new Linear(mlp, d, { generator: gen }));
  }

  /** [B, N, d] -> [B, heads, N, dh]. */
  private split(x: Tensor): Tensor {
    const [B, N] = x.shape;
    return permute(x.reshape(B, N, this.heads, this.d / this.heads), [0, 2, 1, 3]);
  }

  /**
   * x [B, N, d]: the new tokens (a whole window, or the newest frames after the cache's).
   * With a cache (block index `i`), their keys and values are appended to it and the queries
   * attend to all of it.
   */
  forward(x: Tensor, tokensPerFrame: number, cache: KvCache | null = null, i = 0): Tensor {
    const [B, N, d] = x.shape;
    const h = this.ln1.forward(x);
    const q = this.split(this.q.forward(h));
    let k = this.split(this.k.forward(h));
    let v = this.split(this.v.forward(h));
    let keyLength: number | undefined;
    if (cache) ({ k, v, keyLength } = cache.append(i, k, v));
    const o = causalAttention(q, k, v, { tokensPerFrame, ...(keyLength !== undefined ? { keyLength } : {}) });
    const attended = this.proj.forward(permute(o, [0, 2, 1, 3]).reshape(B, N, d));
    const x1 = add(x, attended);
    return add(x1, this.fc2.forward(gelu(this.fc1.forward(this.ln2.forward(x1)))));
  }
}

/** The first F steps of step-major noise [steps, B, D] as the batch-major [B, F, D] of an F-frame input. */
function batchMajor(noise: Float32Array, F: number, B: number, D: number): Float32Array {
  const out = new Float32Array(B * F * D);
  for (let t = 0; t < F; ++t) for (let b = 0; b < B; ++b) out.set(noise.subarray((t * B + b) * D, (t * B + b + 1) * D), (b * F + t) * D);
  return out;
}

export class LatentTransformer extends LatentSequenceModel {
  readonly kind = 'transformer' as const;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly mlpRatio: number;
  readonly maxFrames: number;
  /** Values per token (the latent's channels) and latent tokens per frame. */
  readonly tokenSize: number;
  readonly spatialTokens: number;
  /** Tokens per frame: the spatial tokens and, with actions, one action token. */
  readonly tokensPerFrame: number;
  readonly tokenProj: Linear;
  readonly actionProj: Linear | null;
  readonly spaceEmbedding: Parameter;
  readonly timeEmbedding: Parameter;
  readonly blocks: Block[];
  readonly norm: Norm;
  readonly head: Linear;

  constructor(opts: LatentTransformerOptions) {
    super('LatentTransformer', opts);
    const fn = 'LatentTransformer';
    const d = (this.hiddenSize = checkInt(fn, 'hiddenSize', opts.hiddenSize ?? 128, 1, 1 << 14));
    this.numLayers = checkInt(fn, 'numLayers', opts.numLayers ?? 2, 1, 64);
    this.numHeads = checkInt(fn, 'numHeads', opts.numHeads ?? 4, 1, d);
    if (d % this.numHeads !== 0) throw rangeError(fn, `numHeads (${this.numHeads}) must divide hiddenSize (${d})`);
    this.mlpRatio = checkInt(fn, 'mlpRatio', opts.mlpRatio ?? 4, 1, 16);
    this.maxFrames = checkInt(fn, 'maxFrames', opts.maxFrames ?? 32, 2, 4096);
    this.tokenSize = this.latentShape[0];
    this.spatialTokens = this.latentSize / this.tokenSize;
    this.tokensPerFrame = this.spatialTokens + (this.useActions ? 1 : 0);
    const gen = this.init;
    this.tokenProj = this.registerModule('tokenProj', new Linear(this.tokenSize, d, { generator: gen }));
    this.actionProj = this.useActions ? this.registerModule('actionProj', new Linear(this.actionSize, d, { generator: gen })) : null;
    const emb = (rows: number) => {
      const t = Tensor.empty([rows, d]);
      gen.fillNormal(t.f32(), 0, 0.02);
      return t;
    };
    this.spaceEmbedding = this.registerParameter('spaceEmbedding', emb(this.tokensPerFrame));
    this.timeEmbedding = this.registerParameter('timeEmbedding', emb(this.maxFrames));
    this.blocks = [];
    for (let i = 0; i < this.numLayers; ++i) this.blocks.push(this.registerModule(`blocks.${i}`, new Block(d, this.numHeads, d * this.mlpRatio, gen)));
    this.norm = this.registerModule('norm', new Norm(d));
    this.head = this.registerModule('head', new Linear(d, this.tokenSize, { generator: gen }));
  }

  describe(): string {
    return `Transformer width ${this.hiddenSize}, ${this.numLayers} block${this.numLayers === 1 ? '' : 's'}, ${this.numHeads} heads, ${this.tokensPerFrame} tokens a frame`;
  }

  /**
   * The predictions for F input frames z [B,F,D] (actions a [B,F,A] | null) sitting at frame
   * positions t0..t0+F-1: [B,F,D]. With a cache, the frames follow the cached ones (t0 = the
   * number of frames cached) and their keys and values are added to it.
   */
  private frames(z: Tensor, a: Tensor | null, t0: number, cache: KvCache | null): Tensor {
    const [B, F, D] = z.shape;
    const C = this.tokenSize, S = this.spatialTokens, P = this.tokensPerFrame, d = this.hiddenSize;
    // [B,F,C,S] -> [B,F,S,C]: token s holds the C channels at spatial position s.
    let tokens = this.tokenProj.forward(permute(z.reshape(B, F, C, S), [0, 1, 3, 2]));
    if (a && this.actionProj) tokens = concat([this.actionProj.forward(a).reshape(B, F, 1, d), tokens], 2);
    const time = slice(this.timeEmbedding, [t0, 0], [F, d]).reshape(1, F, 1, d);
    let x = add(add(tokens, this.spaceEmbedding.reshape(1, 1, P, d)), time).reshape(B, F * P, d);
    this.blocks.forEach((blk, i) => (x = blk.forward(x, P, cache, i)));
    // The spatial tokens' outputs -> per-position increments [B,F,S,C] -> [B,F,C,S] = [B,F,D].
    let out = this.norm.forward(x).reshape(B, F, P, d);
    if (P !== S) out = slice(out, [0, 0, P - S, 0], [B, F, S, d]);
    const dz = permute(this.head.forward(out), [0, 1, 3, 2]).reshape(B, F, D);
    return this.residual ? add(z, dz) : dz;
  }

  private checkFrames(fn: string, F: number): void {
    if (F > this.maxFrames) throw rangeError(fn, `the model has positions for ${this.maxFrames} frames (maxFrames) but was given ${F} input frames; use windows of at most ${this.maxFrames + 1} latents`);
  }

  forwardTeacherForced(z: Tensor, a?: Tensor | null): Tensor {
    const fn = 'LatentTransformer.forwardTeacherForced';
    const zf = this.flatZ(fn, z, 2);
    const [B, T, D] = zf.shape;
    this.checkFrames(fn, T - 1);
    const at = this.actionsFor(fn, a, B, T - 1);
    const zIn = this.noisy(slice(zf, [0, 0, 0], [B, T - 1, D]));
    return this.frames(zIn, at, 0, null).reshape(this.outShape(B, T - 1, z));
  }

  forwardScheduled(z: Tensor, a: Tensor | null | undefined, pTrue: number, rng?: Generator, burnIn = 0): Tensor {
    const fn = 'LatentTransformer.forwardScheduled';
    const zf = this.flatZ(fn, z, 2);
    const [B, T, D] = zf.shape;
    this.checkFrames(fn, T - 1);
    const at = this.actionsFor(fn, a, B, T - 1);
    const { coins, teacherForced } = this.drawCoins(fn, B, T, pTrue, rng, burnIn);
    if (teacherForced) return this.forwardTeacherForced(z, a);
    const noise = this.drawInputNoise(B, T);
    const cache = new GrowingCache();
    // Inputs 0..first-1 are the true latents in every row (the burn-in, and any further frames
    // whose coins all came up true): one parallel pass over them fills the cache, as a rollout's
    // context does, instead of `first` frame-by-frame passes (the burn-in is half of bench-model's
    // Moving MNIST window; the step took 1.4x as long frame by frame).
    let first = 1;
    while (first < T - 1 && coins.subarray((first - 1) * B, first * B).every((c) => c !== 0)) ++first;
    let prefix = slice(zf, [0, 0, 0], [B, first, D]);
    if (noise) prefix = addNoiseOp(prefix, batchMajor(noise, first, B, D));
    const preds = [this.frames(prefix, at ? slice(at, [0, 0, 0], [B, first, this.actionSize]) : null, 0, cache)];
    let last = first === 1 ? preds[0] : slice(preds[0], [0, first - 1, 0], [B, 1, D]);
    for (let t = first; t < T - 1; ++t) {
      const real = slice(zf, [0, t, 0], [B, 1, D]);
      let input = pickRows(real, last, coins.subarray((t - 1) * B, t * B));
      if (noise) input = addNoiseOp(input, noise.subarray(t * B * D, (t + 1) * B * D));
      const act = at ? slice(at, [0, t, 0], [B, 1, this.actionSize]) : null;
      preds.push((last = this.frames(input, act, t, cache)));
    }
    return (preds.length === 1 ? preds[0] : concat(preds, 1)).reshape(this.outShape(B, T - 1, z));
  }

  /** The rollout after the checks (LatentSequenceModel.rollout): the context fills the cache in one pass, then one token block per frame. */
  protected rolloutFrom(zf: Tensor, at: Tensor | null, horizon: number): Tensor {
    const [B, C, D] = zf.shape;
    const A = this.actionSize;
    const act = (t0: number, n: number) => (at ? slice(at, [0, t0, 0], [B, n, A]) : null);
    // Inputs so far (context, then predictions), kept to re-encode a sliding window.
    const inputs: Tensor[] = [];
    const preds: Tensor[] = [];
    const cache = new BufferCache(this.maxFrames * this.tokensPerFrame);
    try {
      // The context's last maxFrames frames (all the positions there are) in one pass, filling the cache.
      const first = Math.max(0, C - this.maxFrames);
      const ctx = slice(zf, [0, first, 0], [B, C - first, D]);
      inputs.push(ctx);
      let cached = C - first;
      let pred = slice(this.frames(ctx, act(first, cached), 0, cache), [0, cached - 1, 0], [B, 1, D]);
      preds.push(pred);
      for (let k = 1; k < horizon; ++k) {
        const t = C + k - 1; // the absolute frame index of the input (the previous prediction)
        if (cached === this.maxFrames) {
          // Slide: re-encode the last maxFrames - 1 frames at positions 0.., then go on.
          const all = concat(inputs, 1);
          const keep = this.maxFrames - 1;
          const window = slice(all, [0, all.shape[1] - keep, 0], [B, keep, D]);
          inputs.length = 0;
          inputs.push(window);
          cache.reset();
          this.frames(window, act(t - keep, keep), 0, cache);
          cached = keep;
        }
        inputs.push(pred);
        pred = this.frames(pred, act(t, 1), cached, cache);
        cached += 1;
        preds.push(pred);
      }
    } finally {
      cache.dispose();
    }
    return concat(preds, 1);
  }
}
