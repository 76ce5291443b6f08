/**
 * The op codes the kernels understand, read from the addon (binding/op_codes_binding.cc exports
 * the lists in cpp/elementwise.h and cpp/losses.h): no code number is declared in TypeScript.
 */
import { native } from './native';

export interface OpCodes {
  unary: Readonly<Record<'neg' | 'square' | 'sqrt' | 'relu' | 'leakyRelu' | 'sigmoid' | 'tanh' | 'exp' | 'log' | 'softplus' | 'abs' | 'affine' | 'rdiv' | 'pow' | 'clamp' | 'gelu', number>>;
  binary: Readonly<Record<'add' | 'sub' | 'mul' | 'div', number>>;
  rowLoss: Readonly<Record<'mse' | 'bce', number>>;
}

let codes: OpCodes | null = null;

export function opCodes(): OpCodes {
  if (codes) return codes;
  const c = native.opCodes as unknown as OpCodes | undefined;
  if (!c || typeof c !== 'object' || !c.unary || !c.binary || !c.rowLoss)
    throw new Error('worldkit: this build of the addon does not export opCodes (rebuild it: npm rebuild worldkit)');
  codes = c;
  return codes;
}
