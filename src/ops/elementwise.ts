/** Elementwise arithmetic with broadcasting, and activations. (Being implemented: see issue 2.) */
import type { Tensor } from '../tensor/tensor';

function pending(name: string): never {
  throw new Error(`${name}: not implemented yet`);
}
export function add(a: Tensor, b: Tensor | number): Tensor { return pending('add'); }
export function sub(a: Tensor, b: Tensor | number): Tensor { return pending('sub'); }
export function mul(a: Tensor, b: Tensor | number): Tensor { return pending('mul'); }
export function div(a: Tensor, b: Tensor | number): Tensor { return pending('div'); }
export function neg(x: Tensor): Tensor { return pending('neg'); }
export function square(x: Tensor): Tensor { return pending('square'); }
export function sqrt(x: Tensor): Tensor { return pending('sqrt'); }
export function relu(x: Tensor): Tensor { return pending('relu'); }
export function leakyRelu(x: Tensor, slope = 0.01): Tensor { return pending('leakyRelu'); }
export function sigmoid(x: Tensor): Tensor { return pending('sigmoid'); }
export function tanh(x: Tensor): Tensor { return pending('tanh'); }
export function exp(x: Tensor): Tensor { return pending('exp'); }
export function log(x: Tensor): Tensor { return pending('log'); }
export function softplus(x: Tensor): Tensor { return pending('softplus'); }
