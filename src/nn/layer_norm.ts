/**
 * LayerNorm(C): normalizes the last dimension (size C) of its input, PyTorch's nn.LayerNorm
 * with normalized_shape = [C]: parameters `weight` (ones) and `bias` (zeros) of shape [C], the
 * names and initialization of torch.nn.LayerNorm, so checkpoints map one to one.
 */
import { checkInt, checkNumber, typeError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { layerNorm } from '../ops/layer_norm';
import { Parameter } from './module';
import { Layer } from './layer';

export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Learn a per-element weight and bias (default true; false: neither). */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, also learn the bias (default true). */
  bias?: boolean;
}

export class LayerNorm extends Layer {
  readonly normalizedShape: number;
  readonly eps: number;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;

  constructor(normalizedShape: number, options: LayerNormOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') throw typeError('LayerNorm', 'options', 'an object', options);
    this.normalizedShape = checkInt('LayerNorm', 'normalizedShape', normalizedShape, 1);
    this.eps = checkNumber('LayerNorm', 'eps', options.eps ?? 1e-5, 0);
    const affine = options.elementwiseAffine ?? true;
    if (affine) {
      const w = Tensor.empty([normalizedShape]);
      w.f32().fill(1);
      this.weight = this.registerParameter('weight', w);
      this.bias = (options.bias ?? true) ? this.registerParameter('bias', Tensor.empty([normalizedShape])) : null;
    } else {
      this.weight = null;
      this.bias = null;
    }
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
