/**
 * LSTMCell and LSTM with PyTorch's parameter names, shapes and initialization, so weights move
 * between the two through safetensors:
 *   LSTMCell: weight_ih [4H,I], weight_hh [4H,H], bias_ih [4H], bias_hh [4H]
 *   LSTM:     weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} for each layer k
 * gates in the order i, f, g, o; every weight drawn from U(-1/√H, 1/√H) (seeded Generator).
 * LSTM runs each layer with the fused sequence op (one native call forward, one backward).
 */
import { checkInt, checkNumel, fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor } from '../tensor/tensor';
import { stack } from '../ops/shape';
import { Generator, getDefaultGenerator } from '../random/generator';
import { Module, Parameter } from './module';
import { lstmCell, lstmSequence } from '../ops/lstm';

export interface LSTMInitOptions {
  /** Include bias_ih / bias_hh (default true). */
  bias?: boolean;
  /** Seed for the initial weights (default: the global generator). */
  seed?: number;
  generator?: Generator;
}

export interface LSTMOptions extends LSTMInitOptions {
  numLayers?: number;
  /** Input and output are [B,T,·] instead of [T,B,·]. */
  batchFirst?: boolean;
}

function generatorOf(fn: string, opts: LSTMInitOptions): Generator {
  if (opts.generator !== undefined) {
    if (!(opts.generator instanceof Generator)) throw typeError(fn, 'generator', 'a Generator', opts.generator);
    return opts.generator;
  }
  if (opts.seed !== undefined) return new Generator(opts.seed);
  return getDefaultGenerator();
}

function uniform(shape: number[], bound: number, gen: Generator): Tensor {
  const t = Tensor.empty(shape);
  gen.fillUniform(t._data as Float32Array, -bound, bound);
  return t;
}

export class LSTMCell extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly weight_ih: Parameter;
  readonly weight_hh: Parameter;
  readonly bias_ih: Parameter | null;
  readonly bias_hh: Parameter | null;

  constructor(inputSize: number, hiddenSize: number, opts: LSTMInitOptions = {}) {
    super();
    this.inputSize = checkInt('LSTMCell', 'inputSize', inputSize, 0);
    this.hiddenSize = checkInt('LSTMCell', 'hiddenSize', hiddenSize, 1);
    const gen = generatorOf('LSTMCell', opts);
    const k = 1 / Math.sqrt(hiddenSize);
    const H = hiddenSize;
    checkNumel('LSTMCell', 'weight_hh (4 x hiddenSize x hiddenSize)', [4 * H, H]);
    checkNumel('LSTMCell', 'weight_ih (4 x hiddenSize x inputSize)', [4 * H, inputSize]);
    this.weight_ih = this.registerParameter('weight_ih', uniform([4 * H, inputSize], k, gen));
    this.weight_hh = this.registerParameter('weight_hh', uniform([4 * H, H], k, gen));
    const bias = opts.bias ?? true;
    this.bias_ih = bias ? this.registerParameter('bias_ih', uniform([4 * H], k, gen)) : null;
    this.bias_hh = bias ? this.registerParameter('bias_hh', uniform([4 * H], k, gen)) : null;
  }

  /** x [B,I], state [h, c] each [B,H] (default zeros) -> [h', c']. */
  forward(x: Tensor, state?: [Tensor, Tensor] | null): [Tensor, Tensor] {
    checkTensor('LSTMCell.forward', 'x', x);
    if (x.ndim !== 2 || x.shape[1] !== this.inputSize)
      throw rangeError('LSTMCell.forward', `x must be [B,${this.inputSize}], got ${fmtShape(x.shape)}`);
    if (state !== undefined && state !== null && (!Array.isArray(state) || state.length !== 2))
      throw typeError('LSTMCell.forward', 'state', 'an array [h, c]', state);
    const [h, c] = state ?? [null, null];
    return lstmCell(x, h, c, this.weight_ih, this.weight_hh, this.bias_ih, this.bias_hh);
  }
}

export class LSTM extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly batchFirst: boolean;
  readonly bias: boolean;
  /** Per layer: [weight_ih, weight_hh, bias_ih | null, bias_hh | null]. */
  readonly layers: { wih: Parameter; whh: Parameter; bih: Parameter | null; bhh: Parameter | null }[] = [];

  constructor(inputSize: number, hiddenSize: number, opts: LSTMOptions = {}) {
    super();
    this.inputSize = checkInt('LSTM', 'inputSize', inputSize, 0);
    this.hiddenSize = checkInt('LSTM', 'hiddenSize', hiddenSize, 1);
    this.numLayers = checkInt('LSTM', 'numLayers', opts.numLayers ?? 1, 1);
    this.batchFirst = opts.batchFirst ?? false;
    this.bias = opts.bias ?? true;
    const gen = generatorOf('LSTM', opts);
    const k = 1 / Math.sqrt(hiddenSize);
    const H = hiddenSize;
    // All layers' sizes before the first allocation: a huge hiddenSize used to fill weight_ih for seconds before weight_hh failed.
    checkNumel('LSTM', 'weight_hh (4 x hiddenSize x hiddenSize)', [4 * H, H]);
    checkNumel('LSTM', 'weight_ih_l0 (4 x hiddenSize x inputSize)', [4 * H, inputSize]);
    for (let l = 0; l < this.numLayers; ++l) {
      const I = l === 0 ? inputSize : H;
      const wih = this.registerParameter(`weight_ih_l${l}`, uniform([4 * H, I], k, gen));
      const whh = this.registerParameter(`weight_hh_l${l}`, uniform([4 * H, H], k, gen));
      const bih = this.bias ? this.registerParameter(`bias_ih_l${l}`, uniform([4 * H], k, gen)) : null;
      const bhh = this.bias ? this.registerParameter(`bias_hh_l${l}`, uniform([4 * H], k, gen)) : null;
      this.layers.push({ wih, whh, bih, bhh });
    }
  }

  /**
   * x [T,B,I] ([B,T,I] with batchFirst), state [h0, c0] each [numLayers,B,H] (default zeros)
   * -> [output [T,B,H] ([B,T,H]), [hN, cN] each [numLayers,B,H]].
   */
  forward(x: Tensor, state?: [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]] {
    const fn = 'LSTM.forward';
    checkTensor(fn, 'x', x);
    const layout = this.batchFirst ? 'B,T' : 'T,B';
    if (x.ndim !== 3 || x.shape[2] !== this.inputSize)
      throw rangeError(fn, `x must be [${layout},${this.inputSize}], got ${fmtShape(x.shape)}`);
    const B = this.batchFirst ? x.shape[0] : x.shape[1];
    const L = this.numLayers;
    const H = this.hiddenSize;
    let h0: Tensor | null = null;
    let c0: Tensor | null = null;
    if (state !== undefined && state !== null) {
      if (!Array.isArray(state) || state.length !== 2) throw typeError(fn, 'state', 'an array [h0, c0]', state);
      h0 = checkTensor(fn, 'h0', state[0]);
      c0 = checkTensor(fn, 'c0', state[1]);
      for (const [name, t] of [['h0', h0], ['c0', c0]] as const)
        if (t.shape.join(',') !== [L, B, H].join(','))
          throw rangeError(fn, `${name} must be ${fmtShape([L, B, H])} (numLayers, batch, hidden), got ${fmtShape(t.shape)}`);
    }
    let input = x;
    const hs: Tensor[] = [];
    const cs: Tensor[] = [];
    for (let l = 0; l < L; ++l) {
      const p = this.layers[l];
      const [y, hN, cN] = lstmSequence(input, h0 ? h0.index(l) : null, c0 ? c0.index(l) : null, p.wih, p.whh, p.bih, p.bhh, this.batchFirst);
      hs.push(hN);
      cs.push(cN);
      input = y;
    }
    return [input, [stack(hs, 0), stack(cs, 0)]];
  }
}
