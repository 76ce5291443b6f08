/**
 * Linear(inFeatures, outFeatures): y = x . weight^T + bias, PyTorch's layout (weight [out, in],
 * bias [out]) and default initialization (kaiming_uniform with a = sqrt(5), which is
 * U(-1/sqrt(in), 1/sqrt(in)), for the weight and the bias alike), drawn from a seeded Philox
 * generator so a seed gives the same weights everywhere.
 */
import { checkInt, checkNumel } from '../errors';
import { Generator, getDefaultGenerator } from '../random/generator';
import { Tensor } from '../tensor/tensor';
import { linear } from '../ops/matmul';
import { Parameter } from './module';
import { Layer } from './layer';

export interface LinearOptions {
  /** Add a learned bias (default true). */
  bias?: boolean;
  /** Generator to draw the initial weights from (default: a new one from `seed`, else the global one). */
  generator?: Generator;
  seed?: number;
}

export class Linear extends Layer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    this.inFeatures = checkInt('Linear', 'inFeatures', inFeatures, 1);
    this.outFeatures = checkInt('Linear', 'outFeatures', outFeatures, 1);
    checkNumel('Linear', 'weight (outFeatures x inFeatures)', [outFeatures, inFeatures]);
    const gen = options.generator ?? (options.seed !== undefined ? new Generator(options.seed) : getDefaultGenerator());
    const bound = 1 / Math.sqrt(inFeatures);
    const w = Tensor.empty([outFeatures, inFeatures]);
    gen.fillUniform(w.f32(), -bound, bound);
    this.weight = this.registerParameter('weight', w);
    if (options.bias ?? true) {
      const b = Tensor.empty([outFeatures]);
      gen.fillUniform(b.f32(), -bound, bound);
      this.bias = this.registerParameter('bias', b);
    } else {
      this.bias = null;
    }
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
