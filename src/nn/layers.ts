/** Containers, reshaping layers and activation modules (PyTorch names and defaults). */
import { checkInt, fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { Layer } from './layer';

/**
 * Runs its children in order; they are registered as '0', '1', ... as in torch.nn.Sequential. A
 * layer followed by a ReLU runs as its forwardRelu (one fused op where the layer has one).
 */
export class Sequential extends Layer {
  private readonly layers: Layer[];
  constructor(...layers: Layer[]) {
    super();
    this.layers = layers.flat() as Layer[];
    this.layers.forEach((m, i) => {
      if (!(m instanceof Layer)) throw typeError('Sequential', `layers[${i}]`, 'a Layer (a Module mapping one tensor to one tensor)', m);
      this.registerModule(String(i), m);
    });
  }
  get length(): number {
    return this.layers.length;
  }
  at(i: number): Layer {
    return this.layers[i];
  }
  forward(x: Tensor): Tensor {
    let h = x;
    const n = this.layers.length;
    for (let i = 0; i < n; ++i) {
      const m = this.layers[i];
      if (i + 1 < n && this.layers[i + 1].activation === 'relu') {
        h = m.forwardRelu(h);
        ++i;
      } else h = m.forward(h);
    }
    return h;
  }
}

/** Flattens dims startDim..endDim (default 1..-1, keeping the batch). */
export class Flatten extends Layer {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    checkTensor('Flatten', 'input', x);
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Splits dim `dim` into `sizes` (torch.nn.Unflatten). */
export class Unflatten extends Layer {
  readonly sizes: number[];
  constructor(readonly dim: number, sizes: number[]) {
    super();
    if (!Array.isArray(sizes) || sizes.length === 0) throw typeError('Unflatten', 'sizes', 'a non-empty array of integers', sizes);
    this.sizes = sizes.map((s, i) => checkInt('Unflatten', `sizes[${i}]`, s, 1));
  }
  forward(x: Tensor): Tensor {
    checkTensor('Unflatten', 'input', x);
    const d = this.dim < 0 ? this.dim + x.ndim : this.dim;
    if (d < 0 || d >= x.ndim) throw rangeError('Unflatten', `dim ${this.dim} is out of range for input ${fmtShape(x.shape)}`);
    if (x.shape[d] !== shapeSize(this.sizes))
      throw rangeError('Unflatten', `input dim ${d} has size ${x.shape[d]}, which cannot be unflattened to ${fmtShape(this.sizes)} (input ${fmtShape(x.shape)})`);
    return x.reshape([...x.shape.slice(0, d), ...this.sizes, ...x.shape.slice(d + 1)]);
  }
}

export class ReLU extends Layer {
  override readonly activation = 'relu' as const;
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class LeakyReLU extends Layer {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
}

export class Sigmoid extends Layer {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Tanh extends Layer {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** GELU, the exact (erf) form: PyTorch's nn.GELU() default. */
export class GELU extends Layer {
  forward(x: Tensor): Tensor {
    return x.gelu();
  }
}

/** Passes its input through (a placeholder layer). */
export class Identity extends Layer {
  forward(x: Tensor): Tensor {
    return x;
  }
}
