/** Shared formatting for error messages: `fn: what must be expected, got actual`. */

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return `string "${v.length > 40 ? v.slice(0, 40) + '...' : v}"`;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `an Array(${v.length})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
  if (typeof v === 'function') return 'a function';
  const shape = (v as { shape?: unknown }).shape;
  if (Array.isArray(shape)) return `a Tensor of shape ${fmtShape(shape as number[])}`;
  return 'an object';
}

export function typeError(fn: string, arg: string, expected: string, got: unknown): TypeError {
  return new TypeError(`${fn}: ${arg} must be ${expected}, got ${describeValue(got)}`);
}

export function rangeError(fn: string, message: string): RangeError {
  return new RangeError(`${fn}: ${message}`);
}

/** Checks an integer argument in [min, max]. */
export function checkInt(fn: string, arg: string, v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(fn, arg, 'an integer', v);
  if (v < min || v > max) throw new RangeError(`${fn}: ${arg} must be an integer in [${min}, ${max}], got ${v}`);
  return v;
}

/** Checks a finite number argument, optionally within [min, max]. */
export function checkNumber(fn: string, arg: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(fn, arg, 'a finite number', v);
  if (v < min || v > max) throw new RangeError(`${fn}: ${arg} must be in [${min}, ${max}], got ${v}`);
  return v;
}

/**
 * The most elements one tensor may have: 2^31 - 1 (8 GiB of float32). Sizes are checked against
 * it before allocating, so an absurd size is an error naming the function and the argument
 * instead of V8's "Invalid typed array length" or minutes of allocation.
 */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** Throws a RangeError when a tensor of `shape` would hold more than MAX_ELEMENTS elements. */
export function checkNumel(fn: string, arg: string, shape: readonly number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_ELEMENTS)
    throw new RangeError(`${fn}: ${arg} must have at most ${MAX_ELEMENTS} elements (2^31 - 1), got ${fmtShape(shape)} = ${n.toExponential(3)} elements`);
  return n;
}

/** Checks a shape: an array of non-negative integers. */
export function checkShape(fn: string, arg: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw typeError(fn, arg, 'an array of non-negative integers', shape);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      throw new TypeError(`${fn}: ${arg} must be an array of non-negative integers, got [${shape.map(describeValue).join(',')}]`);
  }
  return shape.slice() as number[];
}
