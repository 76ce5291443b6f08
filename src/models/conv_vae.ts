/**
 * ConvVAE: the convolutional variational autoencoder the world model sees through.
 *
 * Default layout (64x64x3 frames, spatial latent [64,4,4] = 1,024 values):
 *   encoder   Conv2d(3,32,4,s2,p1) ReLU Conv2d(32,64,..) ReLU Conv2d(64,128,..) ReLU Conv2d(128,256,..) ReLU
 *             -> [256,4,4] (+ optional residual blocks)
 *   heads     mu, logvar: Conv2d(256,64,3,p1)              (flat latent: Linear(256*4*4, latentDim))
 *   decoder   decoder_in: Conv2d(64,256,3,p1) ReLU          (flat latent: Linear(latentDim, 256*4*4), unflatten)
 *             (+ optional residual blocks)
 *             ConvT(256,128,4,s2,p1) ReLU ConvT(128,64) ReLU ConvT(64,32) ReLU ConvT(32,3) -> logits -> sigmoid
 * blocksPerStage N (default 0) adds N pre-activation residual blocks after every encoder
 * conv + ReLU and before every transposed conv (encoder.2 is then the first block after
 * encoder.0/1, and so on); the model stays skip-free: the decoder sees only z.
 *
 * `worldModelsVAE()` reproduces Ha & Schmidhuber (2018): encoder 4x4 stride-2 convs without
 * padding (64 -> 31 -> 14 -> 6 -> 2, 256x2x2 = 1024), z = 32 via dense heads, decoder dense to
 * 1024 = [1024,1,1] and transposed convs with kernels 5, 5, 6, 6, stride 2 (1 -> 5 -> 13 -> 30 -> 64).
 *
 * Losses (per sample, then mean over the batch, as World Models does):
 *   recon  'mse': sum over pixels of (x̂ - x)^2;  'bce': sum of BCE(logits, x)
 *   kl     max(KL(N(mu, exp(logvar)) || N(0, I)), freeBits)   (freeBits in nats per sample)
 *   total  recon + beta * kl
 * Parameter names (encoder.0.weight, mu.weight, decoder_in.weight, decoder.0.weight, ...) are
 * those of the PyTorch twin in test/fixtures/make_torch_fixtures_conv.py.
 */
import { checkInt, checkNumber, fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, isTensor, shapeSize } from '../tensor/tensor';
import { Generator, getDefaultGenerator } from '../random/generator';
import { Module } from '../nn/module';
import { Layer } from '../nn/layer';
import { Conv2d, ConvTranspose2d, InitOptions, initGenerator } from '../nn/conv';
import { Sequential, ReLU } from '../nn/layers';
import { Linear } from '../nn/linear';
import { framesToFloat } from '../ops/conv';
import { add, mul, exp, sigmoid, relu } from '../ops/elementwise';
import { mseLoss, bceWithLogits, klDivergenceNormal } from '../losses';

export interface ConvVAEDecoderOptions {
  /** Transposed-conv output channels before the last (image) layer, e.g. [128, 64, 32]. */
  channels: number[];
  /** Kernel size of each transposed conv (channels.length + 1 entries). */
  kernels: number[];
  /** Padding of each transposed conv (default all 1 for even kernels of 4, else 0). */
  paddings?: number[];
  /** Output padding of each transposed conv (default 0). */
  outputPaddings?: number[];
  /** Feature shape the flat latent is mapped to before the transposed convs (flat latent only). */
  denseShape?: [number, number, number];
}

export interface ConvVAEOptions extends InitOptions {
  /** [C, H, W] of the images (default [3, 64, 64]). */
  inputShape?: [number, number, number];
  /** Output channels of the encoder's stride-2 convs (default [32, 64, 128, 256]). */
  encoderChannels?: number[];
  /** Encoder kernel size (default 4) and padding (default 1). */
  encoderKernel?: number;
  encoderPadding?: number;
  /** Spatial latent [C, h, w] (default [64, 4, 4]); ignored when latentDim is set. */
  latentShape?: [number, number, number];
  /** Flat latent size (32 to 256): dense heads instead of conv heads. */
  latentDim?: number;
  /** Decoder layout (default: the mirror of the encoder). */
  decoder?: ConvVAEDecoderOptions;
  /** Weight of the KL term (default 1). */
  beta?: number;
  /** Floor on the per-sample KL in nats (default 0), as World Models' kl_tolerance * z. */
  freeBits?: number;
  /** Reconstruction loss (default 'mse'). */
  reconLoss?: 'mse' | 'bce';
  /** Residual blocks after the encoder and before the decoder's transposed convs (default 0). */
  residualBlocks?: number;
  /**
   * Residual blocks per stage (default 0): this many after every encoder conv (+ ReLU) and before
   * every decoder transposed conv, at that stage's channels and resolution (CLI --vae_blocks).
   * Capacity at every scale, not only at 4x4; there are no skips from encoder to decoder, so
   * the latent still has to carry everything the decoder draws.
   */
  blocksPerStage?: number;
  /**
   * Initial weights of the plain model's convs (encoder stride-2 convs, decoder_in when it is a
   * conv, the decoder's transposed convs; not the mu/logvar heads, a flat latent's dense layers
   * nor residual blocks): 'uniform' (default)
   * U(±1/sqrt(fan_in)), PyTorch's default, which keeps 1/6 of the variance a ReLU layer needs
   * to pass its input's scale on; 'he' U(±sqrt(6/fan_in)), variance 2/fan_in (He et al. 2015),
   * fan_in counted as PyTorch does. The same draws, scaled by sqrt(6): the generator's sequence
   * is unchanged. Measured on the driving data (docs/remedies.md), 'he' brings the VAE's second
   * stage (dashes, curbs, the speed cue) about a third sooner.
   */
  init?: 'uniform' | 'he';
}

/** x + conv1x1(relu(conv3x3(relu(x)))): a pre-activation residual block keeping the shape. */
export class ResidualBlock extends Layer {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  constructor(channels: number, opts: InitOptions = {}) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(channels, channels, 3, { padding: 1, ...opts }));
    this.conv2 = this.registerModule('conv2', new Conv2d(channels, channels, 1, opts));
  }
  forward(x: Tensor): Tensor {
    return add(x, this.conv2.forward(relu(this.conv1.forward(relu(x)))));
  }
}

/**
 * A residual block of blocksPerStage: drawn like any ResidualBlock, then its last conv zeroed so
 * the block starts as the identity (the network begins as the plain model and grows into the
 * extra depth; 8N blocks of random residuals would otherwise swamp the signal at the start).
 */
function stageBlock(channels: number, opts: InitOptions): ResidualBlock {
  const b = new ResidualBlock(channels, opts);
  b.conv2.weight.f32().fill(0);
  b.conv2.bias?.f32().fill(0);
  return b;
}

export interface VAEOutput {
  recon: Tensor;
  mu: Tensor;
  logvar: Tensor;
  z: Tensor;
}

export interface VAELoss {
  total: Tensor;
  recon: Tensor;
  kl: Tensor;
}

export interface VAEForwardOptions {
  /** Noise for the reparameterization (same shape as mu), e.g. for reproducible tests. */
  noise?: Tensor;
  /** Generator for the noise (default: the global generator). */
  generator?: Generator;
  /** Sample z (default: true in training mode, z = mu in eval mode). */
  sample?: boolean;
}

function isFrames(x: Tensor): boolean {
  return x.dtype === 'uint8';
}

export class ConvVAE extends Module {
  readonly inputShape: [number, number, number];
  /** Latent shape per sample: [C,h,w] (spatial) or [latentDim] (flat). */
  readonly latentShape: number[];
  readonly beta: number;
  readonly freeBits: number;
  readonly reconLoss: 'mse' | 'bce';
  readonly encoder: Sequential;
  readonly muHead: Layer;
  readonly logvarHead: Layer;
  readonly decoderIn: Layer;
  readonly decoder: Sequential;
  /** Shape of the encoder's output feature map [C,h,w]. */
  readonly featureShape: [number, number, number];

  constructor(opts: ConvVAEOptions = {}) {
    super();
    const fn = 'ConvVAE';
    if (opts === null || typeof opts !== 'object') throw typeError(fn, 'options', 'an object', opts);
    const inputShape = opts.inputShape ?? [3, 64, 64];
    if (!Array.isArray(inputShape) || inputShape.length !== 3)
      throw typeError(fn, 'inputShape', '[C, H, W]', inputShape);
    inputShape.forEach((d, i) => checkInt(fn, `inputShape[${i}]`, d, 1));
    this.inputShape = [inputShape[0], inputShape[1], inputShape[2]];
    const encCh = opts.encoderChannels ?? [32, 64, 128, 256];
    if (!Array.isArray(encCh) || encCh.length === 0) throw typeError(fn, 'encoderChannels', 'a non-empty array of integers', encCh);
    encCh.forEach((c, i) => checkInt(fn, `encoderChannels[${i}]`, c, 1));
    const ek = checkInt(fn, 'encoderKernel', opts.encoderKernel ?? 4, 1);
    const ep = checkInt(fn, 'encoderPadding', opts.encoderPadding ?? 1, 0);
    this.beta = checkNumber(fn, 'beta', opts.beta ?? 1, 0);
    this.freeBits = checkNumber(fn, 'freeBits', opts.freeBits ?? 0, 0);
    const rl = opts.reconLoss ?? 'mse';
    if (rl !== 'mse' && rl !== 'bce') throw typeError(fn, 'reconLoss', "'mse' or 'bce'", rl);
    this.reconLoss = rl;
    const initKind = opts.init ?? 'uniform';
    if (initKind !== 'uniform' && initKind !== 'he') throw typeError(fn, 'init', "'uniform' or 'he'", opts.init);
    const nRes = checkInt(fn, 'residualBlocks', opts.residualBlocks ?? 0, 0, 16);
    // With 0 (the default) nothing is added: names and the Generator's draw order stay as before.
    const nStage = checkInt(fn, 'blocksPerStage', opts.blocksPerStage ?? 0, 0, 16);
    const gen = initGenerator(opts);
    const init = { generator: gen };

    // ---- encoder ------------------------------------------------------------------------------
    const enc: Layer[] = [];
    let [c, h, w] = this.inputShape;
    encCh.forEach((oc, i) => {
      const conv = new Conv2d(c, oc, ek, { stride: 2, padding: ep, ...init });
      conv.label = `encoder.${enc.length}`;
      const [nh, nw] = conv.outputSize(h, w);
      if (nh < 1 || nw < 1)
        throw rangeError(fn, `encoder.${enc.length} (conv ${ek}x${ek} stride 2 padding ${ep}) gets a ${h}x${w} input, too small for inputShape ${fmtShape(this.inputShape)} with ${encCh.length} encoder layers`);
      enc.push(conv, new ReLU());
      [c, h, w] = [oc, nh, nw];
      for (let b = 0; b < nStage; ++b) enc.push(stageBlock(c, init));
    });
    for (let i = 0; i < nRes; ++i) enc.push(new ResidualBlock(c, init));
    this.encoder = this.registerModule('encoder', new Sequential(...enc));
    this.featureShape = [c, h, w];

    // ---- latent heads -------------------------------------------------------------------------
    const flat = opts.latentDim !== undefined;
    const feat = c * h * w;
    if (flat) {
      const d = checkInt(fn, 'latentDim', opts.latentDim, 1, 4096);
      this.latentShape = [d];
      this.muHead = this.registerModule('mu', new Linear(feat, d, init));
      this.logvarHead = this.registerModule('logvar', new Linear(feat, d, init));
    } else {
      const ls = opts.latentShape ?? [64, 4, 4];
      if (!Array.isArray(ls) || ls.length !== 3) throw typeError(fn, 'latentShape', '[C, h, w]', ls);
      ls.forEach((d, i) => checkInt(fn, `latentShape[${i}]`, d, 1));
      if (ls[1] !== h || ls[2] !== w)
        throw rangeError(
          fn,
          `latentShape ${fmtShape(ls)} cannot be produced: the encoder turns ${fmtShape(this.inputShape)} into ${fmtShape(this.featureShape)}, so a spatial latent must be [C,${h},${w}] (or use latentDim for a flat latent)`,
        );
      this.latentShape = ls.slice();
      this.muHead = this.registerModule('mu', new Conv2d(c, ls[0], 3, { padding: 1, ...init }));
      this.logvarHead = this.registerModule('logvar', new Conv2d(c, ls[0], 3, { padding: 1, ...init }));
      (this.muHead as Conv2d).label = 'mu';
      (this.logvarHead as Conv2d).label = 'logvar';
    }

    // ---- decoder ------------------------------------------------------------------------------
    const dopt: ConvVAEDecoderOptions = opts.decoder ?? {
      channels: encCh.slice(0, -1).reverse(),
      kernels: encCh.map(() => ek),
      paddings: encCh.map(() => ep),
    };
    const nT = dopt.channels.length + 1;
    if (!Array.isArray(dopt.kernels) || dopt.kernels.length !== nT)
      throw rangeError(fn, `decoder.kernels must have ${nT} entries (decoder.channels has ${dopt.channels.length}), got ${JSON.stringify(dopt.kernels)}`);
    let start: [number, number, number];
    if (flat) {
      start = dopt.denseShape ?? [c, h, w];
      const lin = new Linear(this.latentShape[0], shapeSize(start), init);
      this.decoderIn = this.registerModule('decoder_in', lin);
    } else {
      start = [dopt.denseShape?.[0] ?? c, this.latentShape[1], this.latentShape[2]];
      const conv = new Conv2d(this.latentShape[0], start[0], 3, { padding: 1, ...init });
      conv.label = 'decoder_in';
      this.decoderIn = this.registerModule('decoder_in', conv);
    }
    const dec: Layer[] = [];
    for (let i = 0; i < nRes; ++i) dec.push(new ResidualBlock(start[0], init));
    let [dc, dh, dw] = start;
    const outCh = [...dopt.channels, this.inputShape[0]];
    for (let i = 0; i < nT; ++i) {
      const k = checkInt(fn, `decoder.kernels[${i}]`, dopt.kernels[i], 1);
      const p = dopt.paddings ? checkInt(fn, `decoder.paddings[${i}]`, dopt.paddings[i], 0) : 0;
      const op = dopt.outputPaddings ? checkInt(fn, `decoder.outputPaddings[${i}]`, dopt.outputPaddings[i], 0) : 0;
      for (let b = 0; b < nStage; ++b) dec.push(stageBlock(dc, init));
      const t = new ConvTranspose2d(dc, outCh[i], k, { stride: 2, padding: p, outputPadding: op, ...init });
      t.label = `decoder.${dec.length}`;
      const [nh, nw] = t.outputSize(dh, dw);
      if (nh < 1 || nw < 1)
        throw rangeError(fn, `decoder.${dec.length} (transposed conv ${k}x${k} stride 2 padding ${p}) gives no output for a ${dh}x${dw} input`);
      dec.push(t);
      if (i < nT - 1) dec.push(new ReLU());
      [dc, dh, dw] = [outCh[i], nh, nw];
    }
    if (dh !== this.inputShape[1] || dw !== this.inputShape[2])
      throw rangeError(
        fn,
        `the decoder cannot produce inputShape ${fmtShape(this.inputShape)} from latent ${fmtShape(this.latentShape)}: its ${nT} transposed convs turn ${fmtShape(start)} into ${fmtShape([dc, dh, dw])}`,
      );
    this.decoder = this.registerModule('decoder', new Sequential(...dec));
    this.startShape = start;
    if (initKind === 'he') {
      const plain = [...enc, ...dec, this.decoderIn].filter((l): l is Conv2d | ConvTranspose2d => l instanceof Conv2d || l instanceof ConvTranspose2d);
      const gain = Math.sqrt(6);
      for (const l of plain) {
        const w = l.weight.f32();
        for (let i = 0; i < w.length; ++i) w[i] *= gain;
      }
    }
  }

  private readonly startShape: [number, number, number];

  /**
   * Images as float NCHW in [0,1]: float tensors pass through (checked), uint8 frames are converted
   * natively, on the model's device (on 'cuda' the bytes are uploaded and converted there).
   */
  toImages(x: Tensor, fn = 'ConvVAE'): Tensor {
    checkTensor(fn, 'x', x);
    const [C, H, W] = this.inputShape;
    if (isFrames(x)) {
      const s = x.ndim === 3 ? [1, ...x.shape] : x.shape;
      const device = this.parameters()[0]?.device ?? 'cpu';
      if (s.length === 4 && s[1] === C && s[2] === H && s[3] === W) return framesToFloat(x, 'NCHW', { device });
      if (s.length === 4 && s[1] === H && s[2] === W && s[3] === C) return framesToFloat(x, 'NHWC', { device });
      throw rangeError(fn, `frames must be uint8 [N,${H},${W},${C}] or [N,${C},${H},${W}], got ${fmtShape(x.shape)}`);
    }
    if (x.dtype !== 'float32') throw new TypeError(`${fn}: x must be float32 images or uint8 frames, got ${x.dtype}`);
    if (x.ndim !== 4 || x.shape[1] !== C || x.shape[2] !== H || x.shape[3] !== W)
      throw rangeError(fn, `x must be [N,${C},${H},${W}] (float NCHW) or uint8 frames, got ${fmtShape(x.shape)}`);
    return x;
  }


  /** Encoder features and the posterior parameters. */
  encode(x: Tensor): { mu: Tensor; logvar: Tensor } {
    const img = this.toImages(x, 'ConvVAE.encode');
    let f = this.encoder.forward(img); // each Conv2d + ReLU pair as one fused op
    if (this.latentShape.length === 1) f = f.flatten(1);
    const mu = this.muHead.forward(f);
    const logvar = this.logvarHead.forward(f);
    return { mu, logvar };
  }

  /**
   * The encoder's activations after each conv + ReLU pair, in order ([N, c_i, h_i, w_i] each),
   * differentiable w.r.t. the images: the feature network of a perceptual loss (issue 12) when
   * the VAE's own encoder is the judge. Layers between pairs (residual blocks) run but are not
   * returned on their own; their effect shows in the next pair's activations.
   */
  encoderFeatures(images: Tensor): Tensor[] {
    let h = this.toImages(images, 'ConvVAE.encoderFeatures');
    const feats: Tensor[] = [];
    const n = this.encoder.length;
    for (let i = 0; i < n; ++i) {
      const layer = this.encoder.at(i);
      if (i + 1 < n && this.encoder.at(i + 1).activation === 'relu') {
        h = layer.forwardRelu(h); // the same fused op encode() runs
        ++i;
        if (layer instanceof Conv2d) feats.push(h);
      } else h = layer.forward(h);
    }
    return feats;
  }

  /** z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) from `rng` (or the given noise tensor). */
  reparameterize(mu: Tensor, logvar: Tensor, rng?: Generator | Tensor): Tensor {
    const fn = 'ConvVAE.reparameterize';
    checkTensor(fn, 'mu', mu);
    checkTensor(fn, 'logvar', logvar);
    if (mu.shape.join(',') !== logvar.shape.join(','))
      throw rangeError(fn, `mu ${fmtShape(mu.shape)} and logvar ${fmtShape(logvar.shape)} differ in shape`);
    let eps: Tensor;
    if (isTensor(rng)) {
      if (rng.shape.join(',') !== mu.shape.join(',')) throw rangeError(fn, `noise must be ${fmtShape(mu.shape)}, got ${fmtShape(rng.shape)}`);
      eps = rng;
    } else {
      eps = Tensor.empty(mu.shape.slice());
      (rng ?? getDefaultGenerator()).fillNormal(eps._data as Float32Array);
      eps = eps.to(mu.device); // the same numbers on every device (uploaded off the CPU)
    }
    return add(mu, mul(exp(mul(logvar, 0.5)), eps));
  }

  /** Decoder logits (before the sigmoid). */
  decodeLogits(z: Tensor): Tensor {
    const fn = 'ConvVAE.decode';
    checkTensor(fn, 'z', z);
    const ls = this.latentShape;
    if (z.ndim !== ls.length + 1 || ls.some((d, i) => z.shape[i + 1] !== d))
      throw rangeError(fn, `z must be [N,${ls.join(',')}], got ${fmtShape(z.shape)}`);
    let h: Tensor;
    if (ls.length === 1) h = this.decoderIn.forward(z).reshape([z.shape[0], ...this.startShape]);
    else h = this.decoderIn.forwardRelu(z);
    return this.decoder.forward(h);
  }

  /** Images in [0,1], [N, C, H, W]. */
  decode(z: Tensor): Tensor {
    return sigmoid(this.decodeLogits(z));
  }

  private run(x: Tensor, opts: VAEForwardOptions): VAEOutput & { logits: Tensor; images: Tensor } {
    const images = this.toImages(x, 'ConvVAE.forward');
    const { mu, logvar } = this.encode(images);
    const sample = opts.sample ?? (this.training || opts.noise !== undefined);
    const z = sample ? this.reparameterize(mu, logvar, opts.noise ?? opts.generator) : mu;
    const logits = this.decodeLogits(z);
    const recon = sigmoid(logits);
    return { recon, mu, logvar, z, logits, images };
  }

  forward(x: Tensor, opts: VAEForwardOptions = {}): VAEOutput {
    const { recon, mu, logvar, z } = this.run(x, opts);
    return { recon, mu, logvar, z };
  }

  /** The VAE objective (see the file header): recon and kl are the loss terms; `output` holds the forward pass. */
  loss(x: Tensor, opts: VAEForwardOptions = {}): VAELoss & { output: VAEOutput } {
    const r = this.run(x, opts);
    const N = r.images.shape[0];
    const rec =
      this.reconLoss === 'mse'
        ? mul(mseLoss(r.recon, r.images, 'sum'), 1 / N)
        : mul(bceWithLogits(r.logits, r.images, 'sum'), 1 / N);
    const kl = klDivergenceNormal(r.mu.flatten(1), r.logvar.flatten(1), { freeBits: this.freeBits, reduction: 'mean' });
    const total = add(rec, mul(kl, this.beta));
    return { total, recon: rec, kl, output: { recon: r.recon, mu: r.mu, logvar: r.logvar, z: r.z } };
  }
}

/** Ha & Schmidhuber's World Models VAE: z = 32, encoder convs 32-64-128-256 (4x4, stride 2), dense 1024, deconvs 5,5,6,6. */
export function worldModelsVAE(opts: Omit<ConvVAEOptions, 'inputShape' | 'encoderChannels' | 'latentDim' | 'latentShape' | 'decoder'> & { latentDim?: number } = {}): ConvVAE {
  return new ConvVAE({
    freeBits: 0.5 * (opts.latentDim ?? 32),
    ...opts,
    inputShape: [3, 64, 64],
    encoderChannels: [32, 64, 128, 256],
    encoderKernel: 4,
    encoderPadding: 0,
    latentDim: opts.latentDim ?? 32,
    decoder: { channels: [128, 64, 32], kernels: [5, 5, 6, 6], paddings: [0, 0, 0, 0], denseShape: [1024, 1, 1] },
  });
}

