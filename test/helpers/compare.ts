/** Numeric helpers shared by the kernel tests. */
import * as wk from '../../src';

/** max |a - b| over max |b| (at least 1e-6): one relative error for a whole output. */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 1e-6;
  for (let i = 0; i < a.length; ++i) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/** A source of fresh standard-normal arrays (times `scale`), each from the next seed after `firstSeed`. */
export function normalArrays(firstSeed: number): (n: number, scale?: number) => Float32Array {
  let seed = firstSeed;
  return (n, scale = 1) => {
    const t = wk.randn([n], { seed: seed++ });
    const d = t.toFloat32Array();
    t.dispose();
    for (let i = 0; i < n; ++i) d[i] *= scale;
    return d;
  };
}
