/**
 * SemanticProbe: a small CNN classifier of a dataset's per-frame labels, trained on *real* frames
 * and then used as a fixed judge of meaning: does a decoded prediction still show the car in the
 * right lane, the road curving the right way, the right speed, the right digit?
 *
 *   input   [N, 2C, H, W]: the frame and (frame - predecessor), so labels that need motion (speed:
 *           how far the dashed centre line moved) are decidable; with pairs: false only [N, C, H, W]
 *   trunk   4 x (Conv2d k4 s2 p1 + ReLU): H/16 x W/16 maps, then Linear -> hidden + ReLU
 *   heads   one Linear per label column -> logits over its classes (softmax cross-entropy)
 *
 * The probe measures the world model only if it is itself reliable on real frames: its held-out
 * accuracy per head is reported (src/diagnostics/semantic_probe.ts) and a head below 95% is
 * flagged, since then its mistakes, not the model's, would be counted.
 */
import { Module } from '../nn/module';
import { Conv2d } from '../nn/conv';
import { Linear } from '../nn/linear';
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { Generator } from '../random/generator';
import { checkInt, fmtShape, rangeError, typeError } from '../errors';
import type { LabelHead } from '../data/episode';

export interface SemanticProbeOptions {
  /** One softmax head per label column. */
  heads: LabelHead[];
  /** [C, H, W] of the frames (default [3, 64, 64]); H and W must be multiples of 16. */
  inputShape?: [number, number, number];
  /** See the frame and its predecessor (default true). */
  pairs?: boolean;
  /** Output channels of the four stride-2 convolutions (default [32, 64, 64, 128]). */
  channels?: [number, number, number, number];
  /** Width of the hidden layer (default 128). */
  hidden?: number;
  /** Seed of the initial weights (default 1). */
  seed?: number;
}

/** The arg-max class of each row of logits [m, K] into out[(first + r) * heads + head] (class ids per sample, head-minor). */
export function writeArgmax(logits: Tensor, out: Int32Array, first: number, heads: number, head: number): void {
  const d = logits.toFloat32Array();
  const [m, K] = logits.shape;
  for (let r = 0; r < m; ++r) {
    let best = 0;
    for (let k = 1; k < K; ++k) if (d[r * K + k] > d[r * K + best]) best = k;
    out[(first + r) * heads + head] = best;
  }
}

export class SemanticProbe extends Module {
  readonly heads: LabelHead[];
  readonly inputShape: [number, number, number];
  readonly pairs: boolean;
  readonly options: Required<Omit<SemanticProbeOptions, 'heads'>> & { heads: LabelHead[] };
  private readonly convs: Conv2d[];
  private readonly fc: Linear;
  private readonly headLayers: Linear[];

  constructor(opts: SemanticProbeOptions) {
    super();
    const fn = 'SemanticProbe';
    if (!opts || !Array.isArray(opts.heads) || opts.heads.length === 0)
      throw typeError(fn, 'heads', 'a non-empty array of { name, classes }', opts?.heads);
    opts.heads.forEach((h, i) => {
      if (!h || typeof h.name !== 'string' || !Array.isArray(h.classes) || h.classes.length < 2)
        throw typeError(fn, `heads[${i}]`, '{ name: string, classes: string[] } with at least 2 classes', h);
    });
    const shape = opts.inputShape ?? [3, 64, 64];
    if (!Array.isArray(shape) || shape.length !== 3) throw typeError(fn, 'inputShape', '[C, H, W]', shape);
    const [C, H, W] = shape.map((v, i) => checkInt(fn, `inputShape[${i}]`, v, 1, 4096));
    if (H % 16 || W % 16) throw rangeError(fn, `inputShape must have H and W divisible by 16, got [${shape}]`);
    const channels = opts.channels ?? [32, 64, 64, 128];
    if (!Array.isArray(channels) || channels.length !== 4) throw typeError(fn, 'channels', 'four channel counts', channels);
    channels.forEach((c, i) => checkInt(fn, `channels[${i}]`, c, 1, 4096));
    const hidden = checkInt(fn, 'hidden', opts.hidden ?? 128, 1, 1 << 16);
    const seed = checkInt(fn, 'seed', opts.seed ?? 1, 0, 2 ** 53);
    this.heads = opts.heads.map((h) => ({ name: h.name, classes: [...h.classes] }));
    this.inputShape = [C, H, W];
    this.pairs = opts.pairs ?? true;
    this.options = { heads: this.heads, inputShape: this.inputShape, pairs: this.pairs, channels, hidden, seed };
    const gen = new Generator(seed);
    let inC = this.pairs ? 2 * C : C;
    this.convs = channels.map((c, i) => {
      const conv = this.registerModule(`conv${i}`, new Conv2d(inC, c, 4, { stride: 2, padding: 1, generator: gen }));
      inC = c;
      return conv;
    });
    this.fc = this.registerModule('fc', new Linear(inC * (H / 16) * (W / 16), hidden, { generator: gen }));
    this.headLayers = this.heads.map((h, i) => this.registerModule(`head${i}`, new Linear(hidden, h.classes.length, { generator: gen })));
    // He-uniform weights and zero biases for the ReLU trunk: the layers' default (PyTorch's
    // 1/sqrt(fanIn) bound) shrinks the signal ~2.4x per layer, which made this five-layer stack
    // start so flat that it needed several times the steps to learn.
    for (const layer of [...this.convs, this.fc]) {
      const w = layer.weight;
      const fanIn = w.shape.slice(1).reduce((a, b) => a * b, 1);
      const bound = Math.sqrt(6 / fanIn);
      gen.fillUniform(w.f32(), -bound, bound);
      layer.bias?.f32().fill(0);
    }
  }

  /** Logits per head, each [N, classes], of a probe input x [N, inputChannels, H, W] (see `input`). */
  forward(x: Tensor): Tensor[] {
    let h = x;
    for (const c of this.convs) h = c.forwardRelu(h);
    h = this.fc.forward(h.reshape([h.shape[0], -1])).relu();
    return this.headLayers.map((l) => l.forward(h));
  }

  /**
   * The trunk's activations after each conv + ReLU ([N, channels[i], H/2^(i+1), W/2^(i+1)]), of
   * a probe input x as forward() takes it, differentiable w.r.t. x: the feature network of a
   * perceptual loss (issue 12), a judge trained on real frames' meaning.
   */
  features(x: Tensor): Tensor[] {
    const fn = 'SemanticProbe.features';
    checkTensor(fn, 'x', x);
    const [, H, W] = this.inputShape;
    if (x.ndim !== 4 || x.shape[1] !== this.inputChannels || x.shape[2] !== H || x.shape[3] !== W)
      throw rangeError(fn, `x must be [N,${this.inputChannels},${H},${W}] (see SemanticProbe.input), got ${fmtShape(x.shape)}`);
    const out: Tensor[] = [];
    let h = x;
    for (const c of this.convs) out.push((h = c.forwardRelu(h)));
    return out;
  }

  /** Channels the probe reads per frame: C, or 2C with pairs. */
  get inputChannels(): number {
    return this.pairs ? 2 * this.inputShape[0] : this.inputShape[0];
  }

  /**
   * The probe input for n frames given as float NCHW images in [0, 1] ([n, C, H, W]) and, with
   * pairs, their predecessors in the same layout: [frame, frame - predecessor] per sample.
   */
  input(images: Float32Array, previous: Float32Array | null, n: number): Tensor {
    const fn = 'SemanticProbe.input';
    const per = shapeSize(this.inputShape);
    if (!(images instanceof Float32Array) || images.length < n * per)
      throw typeError(fn, 'images', `a Float32Array of ${n} x [${this.inputShape}] images`, images);
    if (!this.pairs) return new Tensor([n, ...this.inputShape], 'float32', images.slice(0, n * per));
    if (!(previous instanceof Float32Array) || previous.length < n * per)
      throw typeError(fn, 'previous', `a Float32Array of ${n} x [${this.inputShape}] predecessor images`, previous);
    const out = new Float32Array(n * 2 * per);
    for (let i = 0; i < n; ++i) {
      const a = i * per;
      const o = 2 * a;
      out.set(images.subarray(a, a + per), o);
      for (let j = 0; j < per; ++j) out[o + per + j] = images[a + j] - previous[a + j];
    }
    return new Tensor([n, this.inputChannels, this.inputShape[1], this.inputShape[2]], 'float32', out);
  }

  /** Predicted class per head, [n, heads] row-major, of n images (and predecessors with pairs). */
  classify(images: Float32Array, previous: Float32Array | null, n: number, batch = 128): Int32Array {
    const nh = this.heads.length;
    const out = new Int32Array(n * nh);
    const per = shapeSize(this.inputShape);
    const was = this.training;
    this.eval();
    noGrad(() => {
      for (let i = 0; i < n; i += batch) {
        const m = Math.min(batch, n - i);
        tidy(() => {
          const x = this.input(images.subarray(i * per, (i + m) * per), previous ? previous.subarray(i * per, (i + m) * per) : null, m);
          const logits = this.forward(x);
          logits.forEach((l, h) => writeArgmax(l, out, i, nh, h));
        });
      }
    });
    this.train(was);
    return out;
  }
}
