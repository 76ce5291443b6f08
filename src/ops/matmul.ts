/** Matrix products over the native GEMM. (Being implemented: see issue 2.) */
import type { Tensor } from '../tensor/tensor';

export function matmul(a: Tensor, b: Tensor): Tensor { throw new Error('matmul: not implemented yet'); }
