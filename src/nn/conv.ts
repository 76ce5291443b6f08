/**
 * Conv2d and ConvTranspose2d modules with PyTorch's parameter names, layouts and default
 * initialization: weight and bias ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (kaiming_uniform with
 * a=sqrt(5)), where fanIn = weight.shape[1] * kh * kw, i.e. inC*kh*kw for Conv2d and
 * outC*kh*kw for ConvTranspose2d (PyTorch computes fan-in from weight dim 1 for both).
 * Draws come from the seeded Philox generator (`generator` / `seed` option, else the default).
 */
import { checkInt, checkNumel, rangeError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { Generator, getDefaultGenerator } from '../random/generator';
import { Parameter } from './module';
import { Layer } from './layer';
import { Pair, conv2d, convTranspose2d, toPair } from '../ops/conv';

export interface InitOptions {
  /** Seed for a fresh generator for this layer's initialization. */
  seed?: number;
  /** Generator to draw the initial weights from (default: the global generator). */
  generator?: Generator;
}

export interface Conv2dModuleOptions extends InitOptions {
  stride?: Pair;
  padding?: Pair;
  bias?: boolean;
}

export interface ConvTranspose2dModuleOptions extends Conv2dModuleOptions {
  outputPadding?: Pair;
}

export function initGenerator(opts: InitOptions): Generator {
  if (opts.generator) return opts.generator;
  if (opts.seed !== undefined) return new Generator(opts.seed);
  return getDefaultGenerator();
}

/** A tensor of `shape` drawn from U(-bound, bound). */
export function uniformInit(shape: number[], bound: number, gen: Generator): Tensor {
  const t = Tensor.empty(shape);
  gen.fillUniform(t._data as Float32Array, -bound, bound);
  return t;
}

abstract class ConvBase extends Layer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  /** Shown in error messages, e.g. `Conv2d(encoder.0)`; set by containers and models. */
  label?: string;

  constructor(kind: string, inC: number, outC: number, kernelSize: Pair, opts: Conv2dModuleOptions, transposed: boolean) {
    super();
    const fn = kind;
    this.inChannels = checkInt(fn, 'inChannels', inC, 1);
    this.outChannels = checkInt(fn, 'outChannels', outC, 1);
    this.kernelSize = toPair(fn, 'kernelSize', kernelSize, 1);
    this.stride = toPair(fn, 'stride', opts.stride ?? 1, 1);
    this.padding = toPair(fn, 'padding', opts.padding ?? 0, 0);
    const [kh, kw] = this.kernelSize;
    const wShape = transposed ? [inC, outC, kh, kw] : [outC, inC, kh, kw];
    checkNumel(fn, 'weight (channels x kernel)', wShape);
    const fanIn = wShape[1] * kh * kw;
    const bound = 1 / Math.sqrt(fanIn);
    const gen = initGenerator(opts);
    this.weight = this.registerParameter('weight', uniformInit(wShape, bound, gen));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', uniformInit([outC], bound, gen));
  }

  protected errName(kind: string): string {
    return `${kind}(${this.label ?? `${this.inChannels}->${this.outChannels}`})`;
  }
}

/** 2-D convolution: x [N,inC,H,W] -> [N,outC,Ho,Wo]; weight [outC,inC,kh,kw], bias [outC]. */
export class Conv2d extends ConvBase {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dModuleOptions = {}) {
    super('Conv2d', inChannels, outChannels, kernelSize, opts, false);
  }

  /** Output spatial size for an input of h x w (0 or less: does not fit). */
  outputSize(h: number, w: number): [number, number] {
    return [
      Math.floor((h + 2 * this.padding[0] - this.kernelSize[0]) / this.stride[0]) + 1,
      Math.floor((w + 2 * this.padding[1] - this.kernelSize[1]) / this.stride[1]) + 1,
    ];
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, name: this.errName('Conv2d') });
  }

  /** relu(forward(x)) as one fused op (see conv2d's `relu` option): what a Conv2d + ReLU pair runs. */
  override forwardRelu(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, name: this.errName('Conv2d'), relu: true });
  }
}

/** Transposed 2-D convolution: x [N,inC,H,W] -> [N,outC,Ho,Wo]; weight [inC,outC,kh,kw], bias [outC]. */
export class ConvTranspose2d extends ConvBase {
  readonly outputPadding: [number, number];

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvTranspose2dModuleOptions = {}) {
    super('ConvTranspose2d', inChannels, outChannels, kernelSize, opts, true);
    this.outputPadding = toPair('ConvTranspose2d', 'outputPadding', opts.outputPadding ?? 0, 0);
    if (this.outputPadding[0] >= this.stride[0] || this.outputPadding[1] >= this.stride[1])
      throw rangeError(
        'ConvTranspose2d',
        `outputPadding [${this.outputPadding}] must be smaller than the stride [${this.stride}]`,
      );
  }

  outputSize(h: number, w: number): [number, number] {
    return [
      (h - 1) * this.stride[0] - 2 * this.padding[0] + this.kernelSize[0] + this.outputPadding[0],
      (w - 1) * this.stride[1] - 2 * this.padding[1] + this.kernelSize[1] + this.outputPadding[1],
    ];
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      name: this.errName('ConvTranspose2d'),
    });
  }
}
