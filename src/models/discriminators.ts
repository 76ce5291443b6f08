/**
 * Discriminators of issue 12's adversarial remedies, every weight spectrally normalized
 * (src/nn/spectral_norm.ts) so each layer is 1-Lipschitz and the adversarial game stays stable
 * without a gradient penalty; LeakyReLU(0.2) between layers, as in DCGAN/SN-GAN discriminators.
 *
 * LatentDiscriminator: is z_{t+1} the real successor of z_t under action a_t, or a predicted one?
 *   spatial latents [C,h,w]:  concat over channels [z_t, z_{t+1}, a_t broadcast over h x w]
 *                             -> SNConv3x3(2C+A -> hidden) LReLU -> SNConv3x3(hidden -> hidden) LReLU
 *                             -> SNConv3x3 stride 2 (hidden -> hidden) LReLU -> flatten -> SNLinear -> 1
 *   flat latents [D]:         concat [z_t, z_{t+1}, a_t] -> SNLinear(2D+A -> hidden) LReLU
 *                             -> SNLinear(hidden -> hidden) LReLU -> SNLinear(hidden -> 1)
 *   Conditioning on z_t and a_t makes it judge the transition, not only whether z_{t+1} looks like
 *   some latent: a predictor copying z_t produces plausible latents but wrong transitions.
 *
 * PatchDiscriminator: images [N,C,H,W] in [0,1] (shifted to [-1,1]) -> SNConv4x4 stride 2 + LReLU
 *   per entry of `channels` -> SNConv3x3(-> 1): one logit per patch, [N,1,H/2^k,W/2^k] (PatchGAN):
 *   it judges local texture and sharpness, which is what per-pixel losses blur.
 */
import { checkInt, fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor } from '../tensor/tensor';
import { ones } from '../tensor/creation';
import { Module } from '../nn/module';
import { Generator } from '../random/generator';
import { leakyRelu, mul, scale } from '../ops/elementwise';
import { concat } from '../ops/shape';
import { SpectralNormConv2d, SpectralNormLinear } from '../nn/spectral_norm';

const SLOPE = 0.2;

export interface LatentDiscriminatorOptions {
  /** Latent shape per sample: [C, h, w] (spatial) or [D] (flat). */
  latentShape: number[];
  /** Action size A (0: unconditioned on actions; forward then takes a = null). */
  actionSize: number;
  /** Channels (spatial) or width (flat) of the hidden layers (default 64 spatial, 256 flat). */
  hidden?: number;
  /** Seed of the initial weights and power-iteration vectors (default 1). */
  seed?: number;
}

export class LatentDiscriminator extends Module {
  readonly latentShape: number[];
  readonly actionSize: number;
  readonly hidden: number;
  private readonly convs: SpectralNormConv2d[] = [];
  private readonly fcs: SpectralNormLinear[] = [];

  constructor(opts: LatentDiscriminatorOptions) {
    super();
    const fn = 'LatentDiscriminator';
    if (!opts || typeof opts !== 'object') throw typeError(fn, 'options', 'an object { latentShape, actionSize }', opts);
    const ls = opts.latentShape;
    if (!Array.isArray(ls) || (ls.length !== 1 && ls.length !== 3)) throw typeError(fn, 'latentShape', '[C, h, w] or [D]', ls);
    ls.forEach((d, i) => checkInt(fn, `latentShape[${i}]`, d, 1, 1 << 16));
    this.latentShape = ls.slice();
    this.actionSize = checkInt(fn, 'actionSize', opts.actionSize, 0, 1 << 16);
    const spatial = ls.length === 3;
    this.hidden = checkInt(fn, 'hidden', opts.hidden ?? (spatial ? 64 : 256), 1, 1 << 16);
    const gen = new Generator(checkInt(fn, 'seed', opts.seed ?? 1, 0, 2 ** 53));
    const A = this.actionSize;
    const H = this.hidden;
    if (spatial) {
      const [C, h, w] = ls;
      const specs: [number, number, number][] = [
        [2 * C + A, H, 1],
        [H, H, 1],
        [H, H, 2],
      ];
      let [oh, ow] = [h, w];
      specs.forEach(([i, o, s], k) => {
        const conv = this.registerModule(`conv${k}`, new SpectralNormConv2d(i, o, 3, { stride: s, padding: 1, generator: gen }));
        this.convs.push(conv);
        [oh, ow] = conv.outputSize(oh, ow);
      });
      this.fcs.push(this.registerModule('fc', new SpectralNormLinear(H * oh * ow, 1, { generator: gen })));
    } else {
      const D = ls[0];
      const widths = [2 * D + A, H, H, 1];
      for (let k = 0; k < 3; ++k) this.fcs.push(this.registerModule(`fc${k}`, new SpectralNormLinear(widths[k], widths[k + 1], { generator: gen })));
    }
  }

  private checkLatent(fn: string, arg: string, z: Tensor, N?: number): void {
    checkTensor(fn, arg, z);
    const ls = this.latentShape;
    if (z.ndim !== ls.length + 1 || ls.some((d, i) => z.shape[i + 1] !== d) || (N !== undefined && z.shape[0] !== N))
      throw rangeError(fn, `${arg} must be [${N ?? 'N'},${ls.join(',')}], got ${fmtShape(z.shape)}`);
  }

  /** One logit per sample [N]: > 0 says (zPrev, a) -> zNext is a real transition. */
  forward(zPrev: Tensor, zNext: Tensor, a: Tensor | null): Tensor {
    const fn = 'LatentDiscriminator.forward';
    this.checkLatent(fn, 'zPrev', zPrev);
    const N = zPrev.shape[0];
    this.checkLatent(fn, 'zNext', zNext, N);
    const A = this.actionSize;
    if (A > 0) {
      if (a === null || a === undefined) throw typeError(fn, 'a', `an action Tensor [${N},${A}] (actionSize is ${A})`, a);
      checkTensor(fn, 'a', a);
      if (a.ndim !== 2 || a.shape[0] !== N || a.shape[1] !== A) throw rangeError(fn, `a must be [${N},${A}], got ${fmtShape(a.shape)}`);
    } else if (a !== null && a !== undefined && !(a.ndim === 2 && a.shape[1] === 0))
      throw rangeError(fn, `a must be null: the discriminator was built with actionSize 0, got ${fmtShape(a.shape)}`);
    let h: Tensor;
    if (this.convs.length) {
      const [, hh, ww] = this.latentShape;
      const parts = [zPrev, zNext];
      // a_t as constant maps: every position of the latent sees the action.
      if (A > 0) parts.push(mul(a!.reshape([N, A, 1, 1]), ones([1, 1, hh, ww], { device: a!.device })));
      h = concat(parts, 1);
      for (const c of this.convs) h = leakyRelu(c.forward(h), SLOPE);
      h = h.reshape([N, -1]);
      h = this.fcs[0].forward(h);
    } else {
      h = concat(A > 0 ? [zPrev, zNext, a!] : [zPrev, zNext], 1);
      for (let k = 0; k < this.fcs.length; ++k) {
        h = this.fcs[k].forward(h);
        if (k + 1 < this.fcs.length) h = leakyRelu(h, SLOPE);
      }
    }
    return h.reshape([N]);
  }
}

export interface PatchDiscriminatorOptions {
  /** [C, H, W] of the images. */
  inputShape: [number, number, number];
  /** Output channels of the stride-2 4x4 convs (default [32, 64, 128]: 8x8 patches of 64x64 images). */
  channels?: number[];
  /** Seed of the initial weights and power-iteration vectors (default 1). */
  seed?: number;
}

export class PatchDiscriminator extends Module {
  readonly inputShape: [number, number, number];
  readonly channels: number[];
  /** [1, h, w] of the patch logits per image. */
  readonly outputShape: [number, number, number];
  private readonly convs: SpectralNormConv2d[] = [];
  private readonly out: SpectralNormConv2d;

  constructor(opts: PatchDiscriminatorOptions) {
    super();
    const fn = 'PatchDiscriminator';
    if (!opts || typeof opts !== 'object') throw typeError(fn, 'options', 'an object { inputShape }', opts);
    const s = opts.inputShape;
    if (!Array.isArray(s) || s.length !== 3) throw typeError(fn, 'inputShape', '[C, H, W]', s);
    const [C, H, W] = s.map((d, i) => checkInt(fn, `inputShape[${i}]`, d, 1, 1 << 16));
    this.inputShape = [C, H, W];
    const ch = opts.channels ?? [32, 64, 128];
    if (!Array.isArray(ch) || ch.length === 0) throw typeError(fn, 'channels', 'a non-empty array of channel counts', ch);
    ch.forEach((c, i) => checkInt(fn, `channels[${i}]`, c, 1, 1 << 16));
    this.channels = ch.slice();
    const gen = new Generator(checkInt(fn, 'seed', opts.seed ?? 1, 0, 2 ** 53));
    let [c, h, w] = [C, H, W];
    ch.forEach((oc, k) => {
      const conv = this.registerModule(`conv${k}`, new SpectralNormConv2d(c, oc, 4, { stride: 2, padding: 1, generator: gen }));
      const [nh, nw] = conv.outputSize(h, w);
      if (nh < 1 || nw < 1)
        throw rangeError(fn, `inputShape ${fmtShape(this.inputShape)} is too small for ${ch.length} stride-2 convs (conv${k} gets ${h}x${w}); use fewer channels entries`);
      this.convs.push(conv);
      [c, h, w] = [oc, nh, nw];
    });
    this.out = this.registerModule('out', new SpectralNormConv2d(c, 1, 3, { padding: 1, generator: gen }));
    this.outputShape = [1, h, w];
  }

  /** Patch logits [N, 1, h, w] of images [N, C, H, W] in [0, 1]: > 0 says the patch looks real. */
  forward(images: Tensor): Tensor {
    const fn = 'PatchDiscriminator.forward';
    checkTensor(fn, 'images', images);
    const [C, H, W] = this.inputShape;
    if (images.ndim !== 4 || images.shape[1] !== C || images.shape[2] !== H || images.shape[3] !== W)
      throw rangeError(fn, `images must be [N,${C},${H},${W}] floats in [0,1], got ${fmtShape(images.shape)}`);
    let h = scale(images, 2, -1); // centred input, as the discriminator's first layer expects
    for (const c of this.convs) h = leakyRelu(c.forward(h), SLOPE);
    return this.out.forward(h);
  }
}
