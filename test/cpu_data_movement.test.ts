// The native data-movement kernels of the 'cpu' backend (cpp/data_movement.*): permute, copyBox and
// biasGrad against plain JS references on fresh random data, every dtype, ranks 1-6, odd and
// zero-size shapes; results independent of the thread count; argument errors from the binding.
import * as wk from '../src';
import { native } from '../src/backend/native';

type Arr = Float32Array | Int32Array | Uint8Array;
const dtypes = [
  { name: 'float32', make: (n: number) => new Float32Array(n) },
  { name: 'int32', make: (n: number) => new Int32Array(n) },
  { name: 'uint8', make: (n: number) => new Uint8Array(n) },
] as const;

let state = (Date.now() ^ 0x9e3779b9) >>> 0;
const rand = (): number => {
  state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
  return state / 4294967296;
};
const randInt = (n: number): number => Math.floor(rand() * n);
const fill = (a: Arr): Arr => {
  for (let i = 0; i < a.length; ++i) a[i] = a instanceof Float32Array ? rand() * 2 - 1 : randInt(a instanceof Uint8Array ? 256 : 1 << 30) - (a instanceof Int32Array ? 1 << 29 : 0);
  return a;
};
const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const stridesOf = (s: readonly number[]): number[] => {
  const st = new Array<number>(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
};
const shuffle = (n: number): number[] => {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; --i) {
    const j = randInt(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
};

function permuteRef(x: Arr, shape: number[], perm: number[], out: Arr): void {
  const outShape = perm.map((p) => shape[p]);
  const st = stridesOf(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < prod(outShape); ++k) {
    let so = 0;
    for (let d = 0; d < shape.length; ++d) so += idx[d] * st[perm[d]];
    out[k] = x[so];
    for (let d = shape.length - 1; d >= 0; --d) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
}

function copyBoxRef(src: Arr, srcShape: number[], begin: number[], size: number[], dst: Arr, dstShape: number[], dstBegin: number[]): void {
  const ss = stridesOf(srcShape), ds = stridesOf(dstShape);
  const idx = new Array<number>(size.length).fill(0);
  for (let k = 0; k < prod(size); ++k) {
    let so = 0, dof = 0;
    for (let d = 0; d < size.length; ++d) {
      so += (begin[d] + idx[d]) * ss[d];
      dof += (dstBegin[d] + idx[d]) * ds[d];
    }
    dst[dof] = src[so];
    for (let d = size.length - 1; d >= 0; --d) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
}

const randShape = (nd: number, zero: boolean): number[] =>
  Array.from({ length: nd }, () => (zero && rand() < 0.15 ? 0 : rand() < 0.2 ? 1 : 1 + randInt(nd <= 2 ? 70 : nd <= 4 ? 9 : 5)));

describe('native permute', () => {
  for (const dt of dtypes) {
    test(`${dt.name}: random shapes and permutations, ranks 1-6, against the JS reference`, () => {
      for (let trial = 0; trial < 120; ++trial) {
        const nd = 1 + (trial % 6);
        const shape = randShape(nd, trial % 10 === 9);
        const perm = shuffle(nd);
        const x = fill(dt.make(prod(shape)));
        const want = fill(dt.make(prod(shape))), got = want.slice();
        permuteRef(x, shape, perm, want);
        native.permute(x, shape, perm, got);
        expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
      }
    });
  }

  test('the common transformer cases (last axis kept, last axis moved, 2-d transpose) and rank 0', () => {
    const cases: [number[], number[]][] = [
      [[16, 17, 4, 33], [0, 2, 1, 3]],
      [[16, 4, 17, 33], [0, 2, 1, 3]],
      [[16, 64, 4, 4], [0, 2, 3, 1]],
      [[16, 4, 4, 64], [0, 3, 1, 2]],
      [[129, 67], [1, 0]],
      [[3, 1, 5, 1, 7], [4, 3, 2, 1, 0]],
      [[], []],
    ];
    for (const [shape, perm] of cases) {
      const x = fill(new Float32Array(prod(shape)));
      const want = new Float32Array(prod(shape)), got = new Float32Array(prod(shape));
      permuteRef(x, shape, perm, want);
      native.permute(x, shape, perm, got);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });
});

describe('native copyBox', () => {
  for (const dt of dtypes) {
    test(`${dt.name}: random boxes, ranks 0-6 (zero-size boxes too), against the JS reference`, () => {
      for (let trial = 0; trial < 140; ++trial) {
        const nd = trial % 7;
        const size = randShape(nd, trial % 8 === 7);
        const srcShape = size.map((s) => s + (rand() < 0.5 ? 0 : randInt(4)));
        const dstShape = size.map((s) => s + (rand() < 0.5 ? 0 : randInt(4)));
        const begin = size.map((s, d) => randInt(srcShape[d] - s + 1));
        const dstBegin = size.map((s, d) => randInt(dstShape[d] - s + 1));
        const src = fill(dt.make(prod(srcShape)));
        const want = fill(dt.make(prod(dstShape))), got = want.slice();
        copyBoxRef(src, srcShape, begin, size, want, dstShape, dstBegin);
        native.copyBox(src, srcShape, begin, size, got, dstShape, dstBegin);
        expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
      }
    });
  }
});

describe('native biasGrad', () => {
  test('column sums in double in row order, odd shapes, R or O zero', () => {
    for (const [R, O] of [[1, 1], [7, 3], [33, 257], [300, 1000], [0, 5], [5, 0]]) {
      const g = fill(new Float32Array(R * O)) as Float32Array;
      const want = new Float32Array(O);
      for (let o = 0; o < O; ++o) {
        let s = 0;
        for (let r = 0; r < R; ++r) s += g[r * O + o];
        want[o] = s;
      }
      const got = fill(new Float32Array(O));
      native.biasGrad(g, R, O, got);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });
});

test('results do not depend on the thread count', () => {
  const threads = wk.getNumThreads();
  const shape = [8, 33, 17, 65], perm = [0, 3, 2, 1], permKeep = [2, 0, 1, 3];
  const x = fill(new Float32Array(prod(shape))) as Float32Array;
  const g = fill(new Float32Array(400 * 1500)) as Float32Array;
  const run = (): Float32Array[] => {
    const a = new Float32Array(x.length), b = new Float32Array(x.length), c = new Float32Array(20 * 40 * 17 * 70), d = new Float32Array(1500);
    native.permute(x, shape, perm, a);
    native.permute(x, shape, permKeep, b);
    native.copyBox(x, shape, [1, 2, 0, 3], [5, 20, 17, 60], c, [20, 40, 17, 70], [4, 1, 0, 2]);
    native.biasGrad(g, 400, 1500, d);
    return [a, b, c, d];
  };
  try {
    wk.setNumThreads(4);
    const many = run();
    wk.setNumThreads(1);
    const one = run();
    for (let i = 0; i < many.length; ++i) expect(Buffer.from(many[i].buffer).equals(Buffer.from(one[i].buffer))).toBe(true);
  } finally {
    wk.setNumThreads(threads);
  }
});

describe('binding argument errors name the function and the argument', () => {
  const x = new Float32Array(24);
  test('permute', () => {
    expect(() => native.permute(x, [2, 3, 4], [0, 1], new Float32Array(24))).toThrow(/^permute: perm must have 3 entries/);
    expect(() => native.permute(x, [2, 3, 4], [0, 1, 1], new Float32Array(24))).toThrow(/^permute: perm must be a permutation/);
    expect(() => native.permute(x, [2, 3, 4], [0, 1, 2], new Float32Array(23))).toThrow(/^permute: out must have at least 24 elements/);
    expect(() => native.permute(x, [2, 3, 5], [0, 1, 2], new Float32Array(30))).toThrow(/^permute: x must have at least 30 elements/);
    expect(() => native.permute(x, [2, 3, 4], [0, 1, 2], new Int32Array(24))).toThrow(/^permute: out must be the same typed array type as x/);
    expect(() => native.permute(new Float64Array(24), [2, 3, 4], [0, 1, 2], x)).toThrow(/^permute: x must be a Float32Array, Int32Array or Uint8Array/);
    expect(() => native.permute(x, [2, -3, 4], [0, 1, 2], x)).toThrow(/^permute: shape must be an array of non-negative integers/);
    expect(() => native.permute(x, [2, 3, 4])).toThrow(/^permute: expected 4 arguments/);
  });
  test('copyBox', () => {
    const d = new Float32Array(24);
    expect(() => native.copyBox(x, [2, 3, 4], [0, 0, 1], [2, 3, 4], d, [2, 3, 4], [0, 0, 0])).toThrow(/^copyBox: the box begin .* must lie inside srcShape/);
    expect(() => native.copyBox(x, [2, 3, 4], [0, 0, 0], [2, 3, 4], d, [2, 3, 4], [0, 1, 0])).toThrow(/^copyBox: the box dstBegin .* must lie inside dstShape/);
    expect(() => native.copyBox(x, [2, 3, 4], [0, 0], [2, 3, 4], d, [2, 3, 4], [0, 0, 0])).toThrow(/^copyBox: srcShape, begin, dstShape and dstBegin must all have the rank/);
    expect(() => native.copyBox(x, [2, 3, 5], [0, 0, 0], [2, 3, 4], d, [2, 3, 4], [0, 0, 0])).toThrow(/^copyBox: src must have at least 30 elements/);
    expect(() => native.copyBox(x, [2, 3, 4], [0, 0, 0], [2, 3, 4], new Uint8Array(24), [2, 3, 4], [0, 0, 0])).toThrow(/^copyBox: dst must be the same typed array type as src/);
  });
  test('biasGrad', () => {
    expect(() => native.biasGrad(new Float32Array(11), 3, 4, new Float32Array(4))).toThrow(/^biasGrad: g must be at least 12 elements/);
    expect(() => native.biasGrad(new Float32Array(12), 3, 4, new Float32Array(3))).toThrow(/^biasGrad: out must be at least 4 elements/);
    expect(() => native.biasGrad(new Int32Array(12), 3, 4, new Float32Array(4))).toThrow(/^biasGrad: g must be a Float32Array/);
  });
});
