import * as wk from '../src';

describe('tensor core', () => {
  test('creation, shape and data', () => {
    const t = wk.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(Array.from(t.toFloat32Array())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(wk.tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(wk.zeros([2, 2]).toArray()).toEqual([[0, 0], [0, 0]]);
    expect(wk.full([3], 7).toArray()).toEqual([7, 7, 7]);
    t.dispose();
  });

  test('seeded random draws repeat and differ across seeds', () => {
    const a = wk.randn([67], { seed: 3 }).toFloat32Array();
    const b = wk.randn([67], { seed: 3 }).toFloat32Array();
    const c = wk.randn([67], { seed: 4 }).toFloat32Array();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const g = new wk.Generator(5);
    const x = wk.rand([1000], { generator: g }).toFloat32Array();
    expect(Math.min(...x)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...x)).toBeLessThan(1);
    const m = x.reduce((s, v) => s + v, 0) / x.length;
    expect(Math.abs(m - 0.5)).toBeLessThan(0.05);
    const n = wk.randn([20000], { seed: 9 }).toFloat32Array();
    const mean = n.reduce((s, v) => s + v, 0) / n.length;
    const v = n.reduce((s, x) => s + (x - mean) ** 2, 0) / n.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.05);
  });

  test('reshape, permute, slice, concat, stack', () => {
    const x = wk.tensor(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
    expect(x.reshape(6, -1).shape).toEqual([6, 4]);
    const p = x.permute(1, 0, 2);
    expect(p.shape).toEqual([3, 2, 4]);
    expect((p.toArray() as number[][][])[1][1]).toEqual([16, 17, 18, 19]);
    const s = x.slice([1, 1, 1], [1, 2, 2]);
    expect(s.toArray()).toEqual([[[17, 18], [21, 22]]]);
    const c = wk.concat([x, x], 2);
    expect(c.shape).toEqual([2, 3, 8]);
    expect(Array.from(c.index(0).index(0).toFloat32Array())).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect(wk.stack([x, x], 1).shape).toEqual([2, 2, 3, 4]);
    expect(() => x.reshape(5, 5)).toThrow(/reshape: cannot reshape \[2,3,4\]/);
  });

  test('writeInto writes a box in place at random offsets, checks its arguments, refuses under grad', () => {
    for (let trial = 0; trial < 5; ++trial) {
      const seed = 40 + trial;
      const dims = [2 + (trial % 3), 3, 5 + trial];
      const dst = wk.randn(dims, { seed });
      const before = dst.toFloat32Array().slice();
      const size = [1 + (trial % 2), 2, 1 + ((trial * 3) % dims[2])];
      const begin = size.map((n, i) => (trial * (i + 1)) % (dims[i] - n + 1));
      const src = wk.randn(size, { seed: seed + 100 });
      wk.writeInto(dst, src, begin);
      const got = dst.toFloat32Array(), s = src.toFloat32Array();
      const expected = before.slice();
      for (let a = 0; a < size[0]; ++a)
        for (let b = 0; b < size[1]; ++b)
          for (let c = 0; c < size[2]; ++c)
            expected[((begin[0] + a) * dims[1] + begin[1] + b) * dims[2] + begin[2] + c] = s[(a * size[1] + b) * size[2] + c];
      expect(Array.from(got)).toEqual(Array.from(expected));
    }
    const dst = wk.zeros([2, 3]);
    expect(() => wk.writeInto(dst, wk.ones([2, 2]), [0, 2])).toThrow(/writeInto: src \[2,2\] at \[0,2\] does not fit dst \[2,3\] \(axis 1\)/);
    expect(() => wk.writeInto(dst, wk.ones([2]), [0])).toThrow(/writeInto: .*must have dst's 2 dimensions/);
    expect(() => wk.writeInto(dst, wk.ones([1, 1]), [0, -1])).toThrow(/writeInto: .*does not fit/);
    const g = wk.ones([1, 1]).requireGrad();
    expect(() => wk.writeInto(dst, g, [0, 0])).toThrow(/writeInto: an in-place write has no backward/);
    wk.noGrad(() => wk.writeInto(dst, g, [1, 2]));
    expect(Array.from(dst.toFloat32Array())).toEqual([0, 0, 0, 0, 0, 1]);
  });

  test('gradients through shape ops', () => {
    const x = wk.randn([2, 3, 4], { seed: 1 }).requireGrad();
    const y = wk.concat([x.permute(2, 0, 1).slice([1, 0, 0], [2, 2, 3]), x.reshape(4, 2, 3)], 0);
    const seed = wk.randn(y.shape, { seed: 2 });
    y.backward(seed);
    const g = x.grad!.toFloat32Array();
    const sd = seed.toFloat32Array();
    // Expected: the reshape part adds seed[2*6 ...] in order; the permute-slice part adds by position.
    const expected = new Float32Array(24);
    for (let i = 0; i < 24; ++i) expected[i] += sd[12 + i];
    for (let k = 0; k < 2; ++k)
      for (let a = 0; a < 2; ++a)
        for (let b = 0; b < 3; ++b) expected[a * 12 + b * 4 + (k + 1)] += sd[k * 6 + a * 3 + b];
    expect(Array.from(g)).toEqual(Array.from(expected));
  });

  test('tidy disposes intermediates and keeps results; memory() counts', () => {
    const before = wk.memory().numTensors;
    const kept = wk.tidy(() => {
      const a = wk.ones([10]);
      const b = a.reshape(2, 5);
      b.index(1);
      return { b };
    });
    expect(wk.memory().numTensors).toBe(before + 1);
    expect(kept.b.toArray()).toEqual([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]]);
    kept.b.dispose();
    expect(wk.memory().numTensors).toBe(before);
    const d = wk.ones([3]);
    d.dispose();
    expect(() => d.toFloat32Array()).toThrow(/was disposed/);
  });

  test('bad input gives clear errors', () => {
    expect(() => wk.tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => wk.tensor([1, 2, 3], [2, 2])).toThrow(/tensor: shape \[2,2\] needs 4 values, got 3/);
    expect(() => wk.zeros([2, -1])).toThrow(TypeError);
    expect(() => wk.randn([2], { seed: 1.5 })).toThrow(/seed must be an integer/);
    expect(() => wk.native.axpy(new Float32Array(2), new Float32Array(3), 1)).toThrow(/axpy: x has 3 elements but y has 2/);
    expect(() => wk.native.rngNormal([1, 2], 1, 0, 0, 1)).toThrow(/rngNormal: out must be a Float32Array, got an Array/);
  });
});
