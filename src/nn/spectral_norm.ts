/**
 * Spectral normalization (Miyato et al., 2018): a layer uses W / sigma(W) instead of W, where
 * sigma(W) is the largest singular value of W viewed as a matrix [out, in * kh * kw]. Every layer
 * of a discriminator built this way is 1-Lipschitz, which keeps its gradients bounded and the
 * adversarial game stable without a gradient penalty.
 *
 * sigma is estimated by power iteration with persistent vectors u [out] and v [in*kh*kw]
 * (buffers weight_u and weight_v, saved in the state dict so a resumed run continues from the
 * same estimate, bit for bit):
 *
 *   training mode, each forward:  v = normalize(W^T u), u = normalize(W v)   (`powerIterations` times)
 *   always:                       sigma = u . (W v),   W_sn = W / sigma
 *
 * u and v are constants of the gradient (as in PyTorch's torch.nn.utils.spectral_norm): the
 * gradient flows through W / sigma and through sigma's dependence on W. In eval mode u and v stay
 * as they are, so evaluation changes nothing. Names follow PyTorch's: the raw weight is the
 * parameter `weight_orig`, the vectors the buffers `weight_u` and `weight_v`.
 *
 * Use SpectralNormConv2d / SpectralNormLinear as drop-in layers, or spectralNormalize() over a
 * weight and two vectors of your own.
 */
import { checkInt, checkNumber, fmtShape, rangeError } from '../errors';
import { Tensor, checkTensor } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { Generator } from '../random/generator';
import { clamp, div, mul, sqrt, square } from '../ops/elementwise';
import { sum } from '../ops/reduce';
import { linear, matmul } from '../ops/matmul';
import { Pair, conv2d, toPair } from '../ops/conv';
import { Parameter } from './module';
import { Layer } from './layer';
import { InitOptions, initGenerator, uniformInit } from './conv';

export interface SpectralNormOptions {
  /** Power-iteration steps per training-mode forward (default 1, as Miyato et al. and PyTorch). */
  powerIterations?: number;
  /** Floor on a vector's norm before dividing by it (default 1e-12). */
  eps?: number;
  /** Power-iteration steps at construction, so sigma is already accurate on the first step (default 15). */
  initIterations?: number;
}

/** x / max(||x||, eps). */
function normalize(x: Tensor, eps: number): Tensor {
  return div(x, clamp(sqrt(sum(square(x))), eps, Infinity));
}

/**
 * W / sigma(W) for a weight of any rank (viewed as [shape[0], rest]), with u [shape[0]] and
 * v [rest] the power-iteration vectors. With `update`, runs `iterations` power-iteration steps
 * first and writes the new u and v into those tensors in place (without gradient).
 */
export function spectralNormalize(weight: Tensor, u: Tensor, v: Tensor, opts: { update: boolean; iterations?: number; eps?: number }): Tensor {
  const fn = 'spectralNormalize';
  checkTensor(fn, 'weight', weight);
  checkTensor(fn, 'u', u);
  checkTensor(fn, 'v', v);
  if (weight.ndim < 2) throw rangeError(fn, `weight must have at least 2 dimensions, got ${fmtShape(weight.shape)}`);
  const rows = weight.shape[0];
  const cols = weight.size / rows;
  if (u.ndim !== 1 || u.shape[0] !== rows) throw rangeError(fn, `u must be [${rows}] for weight ${fmtShape(weight.shape)}, got ${fmtShape(u.shape)}`);
  if (v.ndim !== 1 || v.shape[0] !== cols) throw rangeError(fn, `v must be [${cols}] for weight ${fmtShape(weight.shape)}, got ${fmtShape(v.shape)}`);
  const iterations = checkInt(fn, 'iterations', opts.iterations ?? 1, 0, 1000);
  const eps = checkNumber(fn, 'eps', opts.eps ?? 1e-12, 0);
  if (opts.update && iterations > 0)
    noGrad(() =>
      tidy(() => {
        const Wm = weight.reshape([rows, cols]);
        let uu = u.reshape([1, rows]);
        let vv = v.reshape([1, cols]);
        for (let i = 0; i < iterations; ++i) {
          vv = normalize(matmul(uu, Wm), eps); // W^T u, as a row
          uu = normalize(linear(vv, Wm), eps); // W v, as a row
        }
        // In place, so the buffers stay the module's registered (and device-placed) tensors.
        u._backend.copy(u.buf(fn, 'u'), uu.buf(fn, 'u'), rows, 'float32', fn);
        v._backend.copy(v.buf(fn, 'v'), vv.buf(fn, 'v'), cols, 'float32', fn);
      }),
    );
  // sigma = u . (W v): differentiable in W, u and v held constant. Copies of u and v, since the
  // backward reads them and a later forward (the fake batch after the real one) updates the
  // buffers in place before this one's backward runs.
  const vc = noGrad(() => v.clone()).reshape([1, cols]);
  const uc = noGrad(() => u.clone()).reshape([1, rows]);
  const sigma = sum(mul(linear(vc, weight.reshape([rows, cols])), uc));
  return div(weight, sigma);
}

/**
 * Base of the spectrally normalized layers: owns `weight_orig` and the buffers `weight_u`,
 * `weight_v` (drawn from N(0, 1) by the layer's generator and normalized, then refined by
 * `initIterations` power-iteration steps).
 */
abstract class SpectralNormLayer extends Layer {
  readonly weightOrig: Parameter;
  readonly weightU: Tensor;
  readonly weightV: Tensor;
  readonly powerIterations: number;
  readonly eps: number;

  protected constructor(fn: string, weight: Tensor, gen: Generator, opts: SpectralNormOptions) {
    super();
    this.powerIterations = checkInt(fn, 'powerIterations', opts.powerIterations ?? 1, 0, 1000);
    this.eps = checkNumber(fn, 'eps', opts.eps ?? 1e-12, 0);
    const initIterations = checkInt(fn, 'initIterations', opts.initIterations ?? 15, 0, 1000);
    this.weightOrig = this.registerParameter('weight_orig', weight);
    const rows = weight.shape[0];
    const cols = weight.size / rows;
    const unit = (n: number) => {
      const t = Tensor.empty([n]);
      const d = gen.fillNormal(t.f32());
      let s = 0;
      for (let i = 0; i < n; ++i) s += d[i] * d[i];
      const inv = 1 / Math.max(Math.sqrt(s), this.eps);
      for (let i = 0; i < n; ++i) d[i] *= inv;
      return t;
    };
    this.weightU = this.registerBuffer('weight_u', unit(rows));
    this.weightV = this.registerBuffer('weight_v', unit(cols));
    // In a tidy scope: the reshaped views of weight_orig it makes must not outlive it (a live view
    // would pin the parameter's storage, and Module.to could not move it to another device).
    if (initIterations > 0) tidy(() => { spectralNormalize(this.weightOrig, this.weightU, this.weightV, { update: true, iterations: initIterations, eps: this.eps }); });
  }

  /** W / sigma(W); in training mode after `powerIterations` steps that update u and v. */
  normalizedWeight(): Tensor {
    return spectralNormalize(this.weightOrig, this.weightU, this.weightV, { update: this.training, iterations: this.powerIterations, eps: this.eps });
  }

  /** The current estimate u . (W v) of the raw weight's largest singular value (no update, no gradient). */
  sigma(): number {
    return noGrad(() =>
      tidy(() => {
        const rows = this.weightOrig.shape[0];
        const cols = this.weightOrig.size / rows;
        const Wv = linear(this.weightV.reshape([1, cols]), this.weightOrig.reshape([rows, cols]));
        return sum(mul(Wv, this.weightU.reshape([1, rows]))).item();
      }),
    );
  }
}

export interface SpectralNormConv2dOptions extends InitOptions, SpectralNormOptions {
  stride?: Pair;
  padding?: Pair;
  bias?: boolean;
}

/** Conv2d with a spectrally normalized weight: x [N,inC,H,W] -> [N,outC,Ho,Wo]; Conv2d's initialization. */
export class SpectralNormConv2d extends SpectralNormLayer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: SpectralNormConv2dOptions = {}) {
    const fn = 'SpectralNormConv2d';
    checkInt(fn, 'inChannels', inChannels, 1);
    checkInt(fn, 'outChannels', outChannels, 1);
    const k = toPair(fn, 'kernelSize', kernelSize, 1);
    const gen = initGenerator(opts);
    const bound = 1 / Math.sqrt(inChannels * k[0] * k[1]);
    const w = uniformInit([outChannels, inChannels, k[0], k[1]], bound, gen);
    const b = opts.bias === false ? null : uniformInit([outChannels], bound, gen);
    super(fn, w, gen, opts);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = k;
    this.stride = toPair(fn, 'stride', opts.stride ?? 1, 1);
    this.padding = toPair(fn, 'padding', opts.padding ?? 0, 0);
    this.bias = b ? this.registerParameter('bias', b) : null;
  }

  outputSize(h: number, w: number): [number, number] {
    return [
      Math.floor((h + 2 * this.padding[0] - this.kernelSize[0]) / this.stride[0]) + 1,
      Math.floor((w + 2 * this.padding[1] - this.kernelSize[1]) / this.stride[1]) + 1,
    ];
  }

  private run(x: Tensor, relu: boolean): Tensor {
    const name = `SpectralNormConv2d(${this.inChannels}->${this.outChannels})`;
    return conv2d(x, this.normalizedWeight(), this.bias, { stride: this.stride, padding: this.padding, name, relu });
  }

  forward(x: Tensor): Tensor {
    return this.run(x, false);
  }

  override forwardRelu(x: Tensor): Tensor {
    return this.run(x, true);
  }
}

export interface SpectralNormLinearOptions extends InitOptions, SpectralNormOptions {
  bias?: boolean;
}

/** Linear with a spectrally normalized weight: x [..., in] -> [..., out]; Linear's initialization. */
export class SpectralNormLinear extends SpectralNormLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, opts: SpectralNormLinearOptions = {}) {
    const fn = 'SpectralNormLinear';
    checkInt(fn, 'inFeatures', inFeatures, 1);
    checkInt(fn, 'outFeatures', outFeatures, 1);
    const gen = initGenerator(opts);
    const bound = 1 / Math.sqrt(inFeatures);
    const w = uniformInit([outFeatures, inFeatures], bound, gen);
    const b = opts.bias === false ? null : uniformInit([outFeatures], bound, gen);
    super(fn, w, gen, opts);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.bias = b ? this.registerParameter('bias', b) : null;
  }

  forward(x: Tensor): Tensor {
    checkTensor('SpectralNormLinear', 'x', x);
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.inFeatures)
      throw rangeError('SpectralNormLinear', `x must be [..., ${this.inFeatures}], got ${fmtShape(x.shape)}`);
    return linear(x, this.normalizedWeight(), this.bias);
  }
}
