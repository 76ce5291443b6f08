/** Containers, reshaping layers and activation modules (PyTorch names and defaults). */
import { checkInt, fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { Module } from './module';

/** Runs its children in order; they are registered as '0', '1', ... as in torch.nn.Sequential. */
export class Sequential extends Module {
  private readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.flat() as Module[];
    this.layers.forEach((m, i) => {
      if (!(m instanceof Module)) throw typeError('Sequential', `layers[${i}]`, 'a Module', m);
      this.registerModule(String(i), m);
    });
  }
  get length(): number {
    return this.layers.length;
  }
  at(i: number): Module {
    return this.layers[i];
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this.layers) h = (m as unknown as { forward(t: Tensor): Tensor }).forward(h);
    return h;
  }
}

/** Flattens dims startDim..endDim (default 1..-1, keeping the batch). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    checkTensor('Flatten', 'input', x);
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Splits dim `dim` into `sizes` (torch.nn.Unflatten). */
export class Unflatten extends Module {
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

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** Passes its input through (a placeholder layer). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
