/**
 * Layer: a Module that maps one tensor to one tensor (convs, linear maps, activations, reshapes,
 * containers of layers). Typed so that containers and models call forward() without casts.
 *
 * Fusion is explicit: an activation layer names its kind (`activation`), and a layer followed by
 * a ReLU runs `forwardRelu`, which a layer with a fused kernel overrides (Conv2d: the ReLU in the
 * convolution's output pass). The default is relu(forward(x)): the same values either way.
 */
import { Tensor } from '../tensor/tensor';
import { relu } from '../ops/elementwise';
import { Module } from './module';

export abstract class Layer extends Module {
  abstract override forward(x: Tensor): Tensor;
  /** The activation this layer applies, when it is one (the layer before it may fuse it). */
  readonly activation?: 'relu';
  /** relu(forward(x)); layers with a fused kernel override it (same values). */
  forwardRelu(x: Tensor): Tensor {
    return relu(this.forward(x));
  }
}
