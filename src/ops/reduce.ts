/** Reductions. (Being implemented: see issue 2.) */
import type { Tensor } from '../tensor/tensor';

export function sum(x: Tensor, axis?: number | number[], keepDims = false): Tensor { throw new Error('sum: not implemented yet'); }
export function mean(x: Tensor, axis?: number | number[], keepDims = false): Tensor { throw new Error('mean: not implemented yet'); }
