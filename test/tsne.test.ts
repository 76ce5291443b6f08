/**
 * t-SNE (cpp/tsne.cpp, src/diagnostics/tsne.ts): determinism per seed and across thread counts,
 * cluster structure kept by both methods, the perplexity calibration and the KL gradient against
 * plain references, trustworthiness against a brute-force reference, scikit-learn's
 * trustworthiness on a committed fixture (test/fixtures/tsne/make_tsne_fixture.py), and errors.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as wk from '../src';
import { native } from '../src/backend/native';

const { tsne, trustworthiness } = wk.diagnostics;

/** A small seeded generator (mulberry32) and Box-Muller normals, for fresh test data. */
function rng(seed: number): { uniform: () => number; normal: () => number } {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

/** `k` Gaussian clusters of `per` points in `d` dims, centres N(0, sep^2), unit spread. */
function clusters(k: number, per: number, d: number, sep: number, seed: number): { x: Float32Array; labels: number[] } {
  const r = rng(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => sep * r.normal()));
  const x = new Float32Array(k * per * d);
  const labels: number[] = [];
  for (let c = 0; c < k; ++c)
    for (let p = 0; p < per; ++p) {
      const i = c * per + p;
      labels.push(c);
      for (let j = 0; j < d; ++j) x[i * d + j] = centres[c][j] + r.normal();
    }
  return { x, labels };
}

/** Fraction of (point, neighbour) pairs among each point's `k` nearest in y that share its label. */
function neighbourPurity(y: Float32Array, dims: number, labels: number[], k: number): number {
  const n = labels.length;
  let same = 0;
  for (let i = 0; i < n; ++i) {
    const d: [number, number][] = [];
    for (let j = 0; j < n; ++j) {
      if (j === i) continue;
      let s = 0;
      for (let c = 0; c < dims; ++c) s += (y[i * dims + c] - y[j * dims + c]) ** 2;
      d.push([s, j]);
    }
    d.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let t = 0; t < k; ++t) same += labels[d[t][1]] === labels[i] ? 1 : 0;
  }
  return same / (n * k);
}

function sqDist(x: Float32Array, d: number, i: number, j: number): number {
  let s = 0;
  for (let c = 0; c < d; ++c) s += (x[i * d + c] - x[j * d + c]) ** 2;
  return s;
}

/** Trustworthiness straight from the definition (Venna & Kaski; sklearn's), double distances. */
function trustworthinessRef(high: Float32Array, low: Float32Array, n: number, k: number): number {
  const dh = high.length / n, dl = low.length / n;
  let total = 0;
  for (let i = 0; i < n; ++i) {
    const order = (x: Float32Array, d: number) =>
      [...Array(n).keys()].filter((j) => j !== i).map((j) => [sqDist(x, d, i, j), j]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((e) => e[1]);
    const hi = order(high, dh);
    const lo = order(low, dl).slice(0, k);
    for (const j of lo) {
      const rank = hi.indexOf(j) + 1;
      if (rank > k) total += rank - k;
    }
  }
  return 1 - (2 / (n * k * (2 * n - 3 * k - 1))) * total;
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

describe('tsne', () => {
  const savedThreads = wk.getNumThreads();
  afterAll(() => wk.setNumThreads(savedThreads));

  test('same seed, same bits: twice, and on 1 vs 2 threads (both methods, both inits)', () => {
    const { x } = clusters(3, 41, 12, 4, 7); // 123 points: odd sizes
    for (const method of ['exact', 'barnes-hut'] as const)
      for (const init of ['pca', 'random'] as const) {
        const run = (threads: number) => {
          wk.setNumThreads(threads);
          return tsne(x, { dim: 12, perplexity: 10, iterations: 300, seed: 5, method, init });
        };
        const a = run(2), b = run(2), c = run(1);
        expect(a.method).toBe(method);
        expect(bits(a.embedding)).toBe(bits(b.embedding));
        expect(bits(a.embedding)).toBe(bits(c.embedding));
        expect(a.klDivergence).toBe(c.klDivergence);
        expect(a.embedding.every(Number.isFinite)).toBe(true);
      }
    wk.setNumThreads(savedThreads);
  });

  test('different seeds differ with random init; with PCA init the seed is not used', () => {
    const { x } = clusters(3, 30, 10, 4, 8);
    const opts = { dim: 10, perplexity: 10, iterations: 150 };
    const r1 = tsne(x, { ...opts, seed: 1, init: 'random' });
    const r2 = tsne(x, { ...opts, seed: 2, init: 'random' });
    expect(bits(r1.embedding)).not.toBe(bits(r2.embedding));
    const p1 = tsne(x, { ...opts, seed: 1 });
    const p2 = tsne(x, { ...opts, seed: 2 });
    expect(bits(p1.embedding)).toBe(bits(p2.embedding));
  });

  test('well-separated clusters (5 x 60 points in 50-D): trustworthiness >= 0.95, clusters do not mix, exact and Barnes-Hut agree', () => {
    const { x, labels } = clusters(5, 60, 50, 3, 11);
    const n = labels.length;
    const res: Record<string, number> = {};
    for (const method of ['exact', 'barnes-hut'] as const) {
      const r = tsne(x, { dim: 50, method, seed: 3 });
      expect(r.method).toBe(method);
      expect(r.n).toBe(n);
      expect(r.dims).toBe(2);
      expect(r.embedding.length).toBe(n * 2);
      expect(r.learningRate).toBe(50); // auto: max(300 / 12 / 4, 50)
      const t = trustworthiness(x, r.embedding, n, 5);
      expect(t).toBeGreaterThanOrEqual(0.95);
      expect(neighbourPurity(r.embedding, 2, labels, 10)).toBeGreaterThanOrEqual(0.99);
      expect(r.klDivergence).toBeGreaterThan(0);
      expect(r.klDivergence).toBeLessThan(2);
      res[method] = t;
    }
    expect(Math.abs(res['exact'] - res['barnes-hut'])).toBeLessThan(0.02);
  });

  test("method 'auto' is exact up to exactThreshold points and Barnes-Hut above", () => {
    const { x } = clusters(3, 41, 6, 4, 9); // 123 points
    const opts = { dim: 6, perplexity: 10, iterations: 20 };
    expect(tsne(x, opts).method).toBe('exact');
    expect(tsne(x, { ...opts, exactThreshold: 123 }).method).toBe('exact');
    const bh = tsne(x, { ...opts, exactThreshold: 122 });
    expect(bh.method).toBe('barnes-hut');
    expect(bits(bh.embedding)).toBe(bits(tsne(x, { ...opts, method: 'barnes-hut' }).embedding));
    expect(tsne(x, { ...opts, method: 'exact', exactThreshold: 10 }).method).toBe('exact');
  });

  test('the scale of the input does not matter (bandwidths found from 1e-4 to 1e4 times the distances)', () => {
    const { x, labels } = clusters(3, 50, 20, 3, 13);
    for (const scale of [1e-4, 1e4])
      for (const method of ['exact', 'barnes-hut'] as const) {
        const xs = x.map((v) => v * scale);
        const P = new Float32Array(150 * 150);
        expect(native.tsneConditionalAffinities(xs, 150, 20, 20, 0, P) as number).toBeLessThan(1e-3);
        const r = tsne(xs, { dim: 20, perplexity: 20, iterations: 400, method });
        expect(neighbourPurity(r.embedding, 2, labels, 10)).toBeGreaterThanOrEqual(0.99);
      }
  });

  test('3-D output and number[][] input; tiny odd cases stay finite', () => {
    const { x, labels } = clusters(3, 25, 7, 5, 12);
    const rows = labels.map((_, i) => Array.from(x.subarray(i * 7, i * 7 + 7)));
    for (const method of ['exact', 'barnes-hut'] as const) {
      const r = tsne(rows, { outputDims: 3, perplexity: 8, iterations: 400, method });
      expect(r.dims).toBe(3);
      expect(r.embedding.length).toBe(75 * 3);
      expect(neighbourPurity(r.embedding, 3, labels, 5)).toBeGreaterThanOrEqual(0.95);
      // The same points as a flat array give the same bits.
      expect(bits(tsne(x, { dim: 7, outputDims: 3, perplexity: 8, iterations: 400, method }).embedding)).toBe(bits(r.embedding));
    }
    for (const n of [2, 3, 7]) {
      const r = rng(n);
      const pts = new Float32Array(n * 3).map(() => r.normal());
      for (const method of ['exact', 'barnes-hut'] as const) {
        const out = tsne(pts, { dim: 3, perplexity: Math.min(2, n - 1) * 0.9, iterations: 50, method });
        expect(out.embedding.every(Number.isFinite)).toBe(true);
        expect(Number.isFinite(out.klDivergence)).toBe(true);
      }
    }
    // Identical points: no structure, but no NaN either.
    const same = new Float32Array(20 * 4).fill(1.5);
    for (const method of ['exact', 'barnes-hut'] as const)
      expect(tsne(same, { dim: 4, perplexity: 5, iterations: 60, method }).embedding.every(Number.isFinite)).toBe(true);
  });

  test('affinities: every row reaches the perplexity and matches a plain bisection in double precision', () => {
    const n = 37, d = 5, perp = 7;
    const r = rng(21);
    const x = new Float32Array(n * d).map(() => 3 * r.normal());
    for (const k of [0, 22]) {
      const P = new Float32Array(n * n);
      const worst = native.tsneConditionalAffinities(x, n, d, perp, k, P) as number;
      expect(worst).toBeLessThan(1e-3);
      for (let i = 0; i < n; ++i) {
        // Neighbours: all others (k = 0) or the k nearest, by exact distance.
        const others = [...Array(n).keys()].filter((j) => j !== i).sort((a, b) => sqDist(x, d, i, a) - sqDist(x, d, i, b) || a - b);
        const nb = k ? others.slice(0, k) : others;
        const dist = nb.map((j) => sqDist(x, d, i, j));
        // Reference: bisection on beta for exp(H) = perp (H in nats).
        let lo = 0, hi = Infinity, beta = 1, p: number[] = [];
        for (let step = 0; step < 200; ++step) {
          const m = Math.min(...dist);
          const e = dist.map((v) => Math.exp(-beta * (v - m)));
          const s = e.reduce((a, b) => a + b, 0);
          p = e.map((v) => v / s);
          const H = -p.reduce((a, v) => a + (v > 0 ? v * Math.log(v) : 0), 0);
          if (Math.abs(H - Math.log(perp)) < 1e-10) break;
          if (H > Math.log(perp)) { lo = beta; beta = hi === Infinity ? beta * 2 : (beta + hi) / 2; }
          else { hi = beta; beta = (beta + lo) / 2; }
        }
        let rowSum = 0;
        for (let j = 0; j < n; ++j) rowSum += P[i * n + j];
        expect(Math.abs(rowSum - 1)).toBeLessThan(1e-5);
        expect(P[i * n + i]).toBe(0);
        nb.forEach((j, t) => expect(Math.abs(P[i * n + j] - p[t])).toBeLessThan(1e-4));
        if (k) for (const j of others.slice(k)) expect(P[i * n + j]).toBe(0);
      }
    }
  });

  /** A random symmetric P (zero diagonal, sum 1) and a random y. */
  function objectiveCase(n: number, dims: number, seed: number, density = 1): { P: Float32Array; y: Float32Array } {
    const r = rng(seed);
    const P = new Float32Array(n * n);
    let s = 0;
    for (let i = 0; i < n; ++i)
      for (let j = i + 1; j < n; ++j) {
        const v = r.uniform() < density ? r.uniform() + 0.01 : 0;
        P[i * n + j] = P[j * n + i] = v;
        s += 2 * v;
      }
    for (let t = 0; t < n * n; ++t) P[t] = P[t] / s;
    const y = new Float32Array(n * dims).map(() => 2 * r.normal());
    return { P, y };
  }

  test('KL gradient (exact) matches central finite differences of the KL, 2-D and 3-D', () => {
    for (const dims of [2, 3]) {
      const n = 9;
      const { P, y } = objectiveCase(n, dims, 30 + dims);
      const g = new Float32Array(n * dims);
      const kl = native.tsneObjective(P, y, n, dims, 1, 0, 0, g) as number;
      // KL from its definition, in double.
      let Z = 0;
      const w = (i: number, j: number) => 1 / (1 + sqDist(y, dims, i, j));
      for (let i = 0; i < n; ++i) for (let j = 0; j < n; ++j) if (i !== j) Z += w(i, j);
      let ref = 0;
      for (let i = 0; i < n; ++i) for (let j = 0; j < n; ++j) if (i !== j && P[i * n + j] > 0) ref += P[i * n + j] * Math.log(P[i * n + j] / (w(i, j) / Z));
      expect(Math.abs(kl - ref)).toBeLessThan(1e-9);
      const scratch = new Float32Array(n * dims);
      for (let t = 0; t < n * dims; ++t) {
        const yp = Float32Array.from(y), ym = Float32Array.from(y);
        yp[t] = y[t] + 1e-3;
        ym[t] = y[t] - 1e-3;
        const fd =
          ((native.tsneObjective(P, yp, n, dims, 1, 0, 0, scratch) as number) - (native.tsneObjective(P, ym, n, dims, 1, 0, 0, scratch) as number)) /
          (yp[t] - ym[t]);
        expect(Math.abs(fd - g[t])).toBeLessThan(1e-4 + 1e-3 * Math.abs(g[t]));
      }
    }
  });

  test('Barnes-Hut objective: theta 0 equals exact; theta 0.5 is close; sparse P handled', () => {
    for (const dims of [2, 3]) {
      const n = 203;
      const { P, y } = objectiveCase(n, dims, 40 + dims, 0.1);
      const ge = new Float32Array(n * dims), g0 = new Float32Array(n * dims), g5 = new Float32Array(n * dims);
      const kle = native.tsneObjective(P, y, n, dims, 4, 0, 0, ge) as number;
      const kl0 = native.tsneObjective(P, y, n, dims, 4, 1, 0, g0) as number;
      const kl5 = native.tsneObjective(P, y, n, dims, 4, 1, 0.5, g5) as number;
      let norm = 0, err0 = 0, err5 = 0;
      for (let t = 0; t < n * dims; ++t) {
        norm += ge[t] ** 2;
        err0 += (g0[t] - ge[t]) ** 2;
        err5 += (g5[t] - ge[t]) ** 2;
      }
      expect(Math.abs(kl0 - kle)).toBeLessThan(1e-9);
      expect(Math.sqrt(err0 / norm)).toBeLessThan(1e-6);
      expect(Math.sqrt(err5 / norm)).toBeLessThan(0.05);
      expect(Math.abs(kl5 - kle)).toBeLessThan(0.05 * kle);
    }
  });

  test('exact gradient: every ISA path of the CPU agrees with the portable one, each the same bits on 1 and 2 threads', () => {
    for (const dims of [2, 3]) {
      const n = 203;
      const { P, y } = objectiveCase(n, dims, 60 + dims, 0.3);
      let ref: Float32Array | null = null;
      try {
        for (const isa of ['portable', 'avx2', 'avx512']) {
          native.setIsaCap(isa);
          const g1 = new Float32Array(n * dims), g2 = new Float32Array(n * dims);
          wk.setNumThreads(1);
          const kl1 = native.tsneObjective(P, y, n, dims, 12, 0, 0, g1) as number;
          wk.setNumThreads(2);
          const kl2 = native.tsneObjective(P, y, n, dims, 12, 0, 0, g2) as number;
          expect(bits(g1)).toBe(bits(g2));
          expect(kl1).toBe(kl2);
          ref ??= g1;
          let err = 0, norm = 0;
          for (let t = 0; t < n * dims; ++t) {
            err += (g1[t] - ref[t]) ** 2;
            norm += ref[t] ** 2;
          }
          expect([isa, Math.sqrt(err / norm) < 1e-6]).toEqual([isa, true]);
        }
      } finally {
        native.setIsaCap('avx512');
        wk.setNumThreads(savedThreads);
      }
    }
  });

  test('trustworthiness matches the brute-force definition; 1 for the identity', () => {
    for (const [n, dh, k, seed] of [[61, 8, 5, 1], [40, 3, 3, 2], [101, 17, 10, 3]]) {
      const r = rng(seed);
      const high = new Float32Array(n * dh).map(() => r.normal());
      const low = new Float32Array(n * 2);
      for (let i = 0; i < n; ++i) {
        low[2 * i] = high[i * dh] + 0.5 * r.normal();
        low[2 * i + 1] = high[i * dh + 1] + 0.5 * r.normal();
      }
      expect(Math.abs(trustworthiness(high, low, n, k) - trustworthinessRef(high, low, n, k))).toBeLessThan(1e-12);
      expect(trustworthiness(high, high, n, k)).toBe(1);
    }
  });

  test('quality against scikit-learn on the committed fixture (trustworthiness within 0.02 of sklearn or higher)', () => {
    const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'tsne', 'sklearn_fixture.json'), 'utf8'));
    const x = Float32Array.from(fx.points as number[]);
    expect(x.length).toBe(fx.n * fx.d);
    for (const [method, sk] of [['exact', 'exact'], ['barnes-hut', 'barnes_hut']] as const) {
      const runs = (fx.runs as { method: string; trustworthiness5: number }[]).filter((r) => r.method === sk);
      const skBest = Math.max(...runs.map((r) => r.trustworthiness5));
      const r = tsne(x, { dim: fx.d, perplexity: fx.perplexity, iterations: fx.iterations, method, seed: 0 });
      const t = trustworthiness(x, r.embedding, fx.n, 5);
      expect(t).toBeGreaterThanOrEqual(skBest - 0.02);
      // The clusters (labels 0-4) do not mix with each other or with the roll (label 5).
      expect(neighbourPurity(r.embedding, 2, fx.labels, 10)).toBeGreaterThanOrEqual(0.99);
    }
  });

  test('bad inputs give errors naming tsne, the argument, what was expected and what came', () => {
    const { x } = clusters(2, 10, 4, 3, 5); // 20 points, D=4
    expect(() => tsne(x, {})).toThrow(/tsne: opts\.dim must be an integer \(the point size D\).*got undefined/);
    expect(() => tsne(x, { dim: 3 })).toThrow(/tsne: points must have a multiple of opts\.dim \(3\) values, got 80/);
    expect(() => tsne(x, { dim: 4 })).toThrow(/tsne: opts\.perplexity must be below the number of points \(20\), got 30 \(the default\)/);
    expect(() => tsne(x, { dim: 4, perplexity: 20 })).toThrow(RangeError);
    expect(() => tsne(x, { dim: 4, perplexity: -1 })).toThrow(/tsne: opts\.perplexity must be a number in \(0, Infinity\], got -1/);
    expect(() => tsne(x, { dim: 4, perplexity: 5, method: 'fast' as never })).toThrow(/tsne: opts\.method must be 'auto' \| 'exact' \| 'barnes-hut', got string "fast"/);
    expect(() => tsne(x, { dim: 4, perplexity: 5, theta: 3 })).toThrow(/tsne: opts\.theta must be a number in \[0, 2\], got 3/);
    expect(() => tsne(x, { dim: 4, perplexity: 5, iterations: 1.5 })).toThrow(TypeError);
    expect(() => tsne(x, { dim: 4, perplexity: 5, outputDims: 4 })).toThrow(/tsne: opts\.outputDims must be an integer in \[2, 3\], got 4/);
    expect(() => tsne(x, { dim: 4, perplexity: 5, learningRate: 'fast' as never })).toThrow(/tsne: opts\.learningRate must be a positive number or 'auto'/);
    expect(() => tsne(x, { dim: 4, perplexity: 5, init: 'spectral' as never })).toThrow(/tsne: opts\.init must be 'pca' \| 'random'/);
    expect(() => tsne(x, { dim: 4, perplexity: 5, perplexityy: 3 } as never)).toThrow(/tsne: opts\.perplexityy is not an option/);
    expect(() => tsne([[1, 2], [3]], { perplexity: 0.5 })).toThrow(/tsne: points\[1\] must have 2 values \(as points\[0\]\), got 1/);
    expect(() => tsne([[1, 2], [3, NaN]], { perplexity: 0.5 })).toThrow(/tsne: points\[1\]\[1\] must be a finite number, got NaN/);
    expect(() => tsne('abc' as never)).toThrow(/tsne: points must be a Float32Array \[N\*D\] or an array of N number arrays, got string "abc"/);
    expect(() => tsne([[1], [2], [3]], { perplexity: 1 })).toThrow(/tsne: opts\.init 'pca' needs at least outputDims \(2\) input dimensions, got D=1/);
    expect(() => trustworthiness(x, x, 20, 10)).toThrow(/trustworthiness: k must be an integer in \[1, n\/2\) = \[1, 10\), got 10/);
    expect(() => trustworthiness(x, new Float32Array(3), 20)).toThrow(/trustworthiness: low must have a positive multiple of n \(20\) values, got 3/);
    expect(() => trustworthiness([1, 2] as never, x, 20)).toThrow(/trustworthiness: high must be a Float32Array \[n\*dh\], got an Array\(2\)/);
    // The binding checks too (for callers of the native function).
    expect(() => native.tsne(x, 20, 4, { perplexity: 25 }, new Float32Array(40))).toThrow(/tsne: options\.perplexity must be below the number of points \(20\), got 25/);
    expect(() => native.tsne(x, 20, 4, { perplexity: 5, method: 'exact', theta: -1 }, new Float32Array(40))).toThrow(/tsne: options\.theta must be a number in \[0, 2\], got -1/);
    expect(() => native.tsne(x, 20, 4, { perplexity: 5, init: 7 }, new Float32Array(40))).toThrow(/tsne: options\.init must be 'pca' \| 'random', got 7/);
    expect(() => native.tsne(x, 21, 4, { perplexity: 5 }, new Float32Array(42))).toThrow(/tsne: points must have 84 elements, got 80/);
    expect(() => native.tsne(x, 20, 4, { perplexity: 5, outputDims: 3 }, new Float32Array(40))).toThrow(/tsne: embedding must have 60 elements, got 40/);
  });
});
