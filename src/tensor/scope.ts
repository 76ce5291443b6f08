/**
 * tidy(fn): tensors created while fn runs are disposed when it returns, except those it returns
 * (found in arrays and plain objects) and those passed to keep(). Scopes nest.
 */
import type { Tensor } from './tensor';

const scopes: Set<Tensor>[] = [];

export function trackTensor(t: Tensor): void {
  if (scopes.length) scopes[scopes.length - 1].add(t);
}

/** Removes `t` from every open scope so tidy() leaves it alive. Returns t. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collect(value: unknown, out: Set<Tensor>, depth = 0): void {
  if (value === null || value === undefined || depth > 8) return;
  if (typeof value !== 'object') return;
  const maybe = value as { _isTensor?: boolean };
  if (maybe._isTensor) {
    out.add(value as Tensor);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, depth + 1);
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, depth + 1);
  }
}

export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`tidy: fn must be a function, got ${typeof fn}`);
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TypeError('tidy: fn must be synchronous (it returned a Promise); await outside tidy');
  }
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  for (const t of scope) {
    if (survivors.has(t)) {
      // Returned tensors belong to the enclosing scope now.
      trackTensor(t);
    } else {
      t.dispose();
    }
  }
  return result;
}

/** Disposes every tensor found in `value` (a tensor, array or plain object of them). */
export function dispose(value: unknown): void {
  const found = new Set<Tensor>();
  collect(value, found);
  for (const t of found) t.dispose();
}
