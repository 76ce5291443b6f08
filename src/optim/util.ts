import { typeError } from '../errors';

/** A finite number in [min, max], or a TypeError/RangeError naming fn and arg. */
export function num(fn: string, arg: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(fn, arg, 'a finite number', v);
  if (v < min || v > max) throw new RangeError(`${fn}: ${arg} must be in [${min}, ${max}], got ${v}`);
  return v;
}
