/**
 * The op table: one entry per op case, run by test/op_table.test.ts on every backend column
 * present (test-backend-ops style): the CPU with all threads and with one, the CPU capped to each
 * SIMD path below its best (native.setIsaCap), and 'cuda' (the CPU emulation of the CUDA kernels,
 * or a real GPU where there is one).
 *
 * A case names its input configurations (shapes and value domains), the forward in worldkit, a
 * plain float64 JS reference, and which inputs get a finite-difference gradient check. An op with
 * several outputs returns them flattened and concatenated (the reference likewise). Slow columns
 * (the emulated device) run `slowConfigs` where a case gives them. The float64 references here are
 * the only copies: other suites import them.
 */
import * as wk from '../src';
import { native } from '../src/backend/native';
import { addNoise, pickRows, scheduledUnroll } from '../src/ops/predictor_unroll';

export interface Arr {
  data: Float64Array;
  shape: number[];
}

export interface InputSpec {
  shape: number[];
  /** 'float' (default): seeded randn mapped through `map`; 'labels': int32 class ids in [0, classes). */
  kind?: 'float' | 'labels';
  classes?: number;
  /** Maps each N(0,1) draw into the op's domain (e.g. positive for log). */
  map?: (v: number) => number;
  /** Stays on the CPU in every column (an input the op moves itself, e.g. to()). */
  host?: boolean;
}

export interface OpCase {
  name: string;
  configs: InputSpec[][];
  /** The configurations slow columns (the emulated device) run instead of `configs`. */
  slowConfigs?: InputSpec[][];
  forward: (xs: wk.Tensor[]) => wk.Tensor;
  reference: (xs: Arr[]) => Arr;
  /** Indices of inputs whose gradient is checked against central finite differences ([]: forward only). */
  gradInputs: number[];
  /** Relative tolerances (default fwd 2e-5, grad 1e-2) and finite-difference step (default 1e-3). */
  tol?: { fwd?: number; grad?: number; eps?: number };
}

// ---- reference helpers (float64) --------------------------------------------------------------
export const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function stridesOf(shape: number[]): number[] {
  const st = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; --i) st[i] = st[i + 1] * shape[i + 1];
  return st;
}

export function bshape(a: number[], b: number[]): number[] {
  const nd = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < nd; ++i) {
    const da = a[i - (nd - a.length)] ?? 1;
    const db = b[i - (nd - b.length)] ?? 1;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Index of the element of `shape` that output index `i` (of outShape) reads under broadcasting. */
function bindex(i: number, outShape: number[], shape: number[]): number {
  const nd = outShape.length;
  const pad = nd - shape.length;
  const ost = stridesOf(outShape);
  const st = stridesOf(shape);
  let off = 0;
  for (let d = 0; d < nd; ++d) {
    const idx = Math.floor(i / ost[d]) % outShape[d];
    if (d >= pad && shape[d - pad] !== 1) off += idx * st[d - pad];
  }
  return off;
}

export function refBinary(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  const shape = bshape(a.shape, b.shape);
  const n = size(shape);
  const data = new Float64Array(n);
  for (let i = 0; i < n; ++i) data[i] = f(a.data[bindex(i, shape, a.shape)], b.data[bindex(i, shape, b.shape)]);
  return { data, shape };
}

export function refUnary(a: Arr, f: (x: number) => number): Arr {
  return { data: a.data.map(f), shape: a.shape.slice() };
}

export function refReduce(x: Arr, axes: number[] | undefined, keep: boolean, mean: boolean): Arr {
  const nd = x.shape.length;
  const ax = (axes ?? x.shape.map((_, i) => i)).map((a) => (a < 0 ? a + nd : a));
  const kept = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const out = new Float64Array(size(kept));
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  const st = stridesOf(x.shape);
  const kst = stridesOf(kept);
  for (let i = 0; i < x.data.length; ++i) {
    let o = 0;
    for (let d = 0; d < nd; ++d) if (!ax.includes(d)) o += (Math.floor(i / st[d]) % x.shape[d]) * kst[d];
    out[o] += x.data[i];
  }
  if (mean) for (let i = 0; i < out.length; ++i) out[i] /= count;
  return { data: out, shape: keep ? kept : x.shape.filter((_, i) => !ax.includes(i)) };
}

const scalar = (v: number): Arr => ({ data: Float64Array.of(v), shape: [] });
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
/** Away from a kink at k: shifts draws out of (k-0.1, k+0.1). */
const awayFrom = (k: number) => (v: number) => (v >= 0 ? k + 0.1 + v : k - 0.1 + v);
const positive = (v: number) => Math.abs(v) + 0.2;
const unit = (v: number) => sigmoid(v);

/**
 * erfc in float64 (JS has no erf): the Maclaurin series of erf below 2.5 (cancellation costs
 * ~1e-13), the continued fraction erfc(x) = e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
 * above (80 levels: ~1e-15 relative at x = 2.5); erfc(-x) = 2 - erfc(x).
 */
export function erfc64(x: number): number {
  if (x < 0) return 2 - erfc64(-x);
  if (x < 2.5) {
    let term = x, sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); ++n) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = x;
  for (let k = 80; k >= 1; --k) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}
/** The standard normal CDF in float64 (through erfc, accurate in the lower tail). */
export const normalCdf64 = (x: number) => 0.5 * erfc64(-x / Math.SQRT2);
/** GELU, the exact (erf) form: x * Phi(x). */
export const gelu64 = (x: number) => x * normalCdf64(x);

function rows(x: Arr): [number, number] {
  const B = x.shape.length >= 2 ? x.shape[0] : 1;
  return [B, B ? x.data.length / B : 0];
}

// ---- the table ----------------------------------------------------------------------------
const BROADCAST_CONFIGS: InputSpec[][] = [
  [{ shape: [7, 67] }, { shape: [7, 67] }], // same shape
  [{ shape: [67, 7] }, { shape: [] }], // scalar tensor
  [{ shape: [7, 129] }, { shape: [129] }], // row vector over rows
  [{ shape: [2, 7, 3, 5] }, { shape: [1, 7, 1, 1] }], // per channel, NCHW
  [{ shape: [7] }, { shape: [2, 3, 7] }], // a broadcast up
  [{ shape: [3, 1, 5] }, { shape: [1, 4, 1] }], // both broadcast
  [{ shape: [1] }, { shape: [1] }],
  [{ shape: [2, 1, 3, 1, 2, 3] }, { shape: [2, 3, 1, 2, 1] }], // 6 dims
];

const binaryCases: OpCase[] = (
  [
    ['add', (a: number, b: number) => a + b, wk.add],
    ['sub', (a: number, b: number) => a - b, wk.sub],
    ['mul', (a: number, b: number) => a * b, wk.mul],
    ['div', (a: number, b: number) => a / b, wk.div],
  ] as const
).map(([name, f, op]) => ({
  name,
  configs: BROADCAST_CONFIGS.map((c) => (name === 'div' ? [c[0], { ...c[1], map: awayFrom(0) }] : c)),
  forward: (xs: wk.Tensor[]) => op(xs[0], xs[1]),
  reference: (xs: Arr[]) => refBinary(xs[0], xs[1], f),
  gradInputs: [0, 1],
}));

const scalarCases: OpCase[] = [
  { name: 'add number', configs: [[{ shape: [7, 67] }]], forward: (x) => wk.add(x[0], 2.5), reference: (x) => refUnary(x[0], (v) => v + 2.5), gradInputs: [0] },
  { name: 'sub number', configs: [[{ shape: [129] }]], forward: (x) => x[0].sub(0.75), reference: (x) => refUnary(x[0], (v) => v - 0.75), gradInputs: [0] },
  { name: 'mul number', configs: [[{ shape: [1] }], [{ shape: [67] }]], forward: (x) => x[0].mul(-3), reference: (x) => refUnary(x[0], (v) => v * -3), gradInputs: [0] },
  { name: 'div number', configs: [[{ shape: [7, 7] }]], forward: (x) => x[0].div(4), reference: (x) => refUnary(x[0], (v) => v / 4), gradInputs: [0] },
];

const UNARY_SHAPES: InputSpec[][] = [[{ shape: [1] }], [{ shape: [7] }], [{ shape: [67, 129] }]];
const withMap = (map: (v: number) => number) => UNARY_SHAPES.map((c) => c.map((s) => ({ ...s, map })));

const unaryCases: OpCase[] = [
  ['neg', (v: number) => -v, (x: wk.Tensor) => x.neg(), UNARY_SHAPES],
  ['square', (v: number) => v * v, (x: wk.Tensor) => x.square(), UNARY_SHAPES],
  ['sqrt', Math.sqrt, (x: wk.Tensor) => x.sqrt(), withMap(positive)],
  ['relu', (v: number) => Math.max(v, 0), (x: wk.Tensor) => x.relu(), withMap(awayFrom(0))],
  ['leakyRelu', (v: number) => (v > 0 ? v : 0.1 * v), (x: wk.Tensor) => x.leakyRelu(0.1), withMap(awayFrom(0))],
  ['sigmoid', sigmoid, (x: wk.Tensor) => x.sigmoid(), withMap((v) => 4 * v)],
  ['tanh', Math.tanh, (x: wk.Tensor) => x.tanh(), withMap((v) => 2 * v)],
  ['exp', Math.exp, (x: wk.Tensor) => x.exp(), UNARY_SHAPES],
  ['exp (wide range)', Math.exp, (x: wk.Tensor) => x.exp(), withMap((v) => 20 * v)],
  ['sigmoid (saturating)', sigmoid, (x: wk.Tensor) => x.sigmoid(), withMap((v) => 30 * v)],
  ['softplus (saturating)', softplus, (x: wk.Tensor) => x.softplus(), withMap((v) => 40 * v)],
  ['log', Math.log, (x: wk.Tensor) => x.log(), withMap(positive)],
  ['softplus', softplus, (x: wk.Tensor) => x.softplus(), withMap((v) => 5 * v)],
  ['abs', Math.abs, (x: wk.Tensor) => wk.abs(x), withMap(awayFrom(0))],
  ['clamp', (v: number) => Math.min(Math.max(v, -0.5), 0.5), (x: wk.Tensor) => wk.clamp(x, -0.5, 0.5), withMap((v) => (Math.abs(Math.abs(v) - 0.5) < 0.1 ? v + 0.25 : v))],
  ['pow', (v: number) => Math.pow(v, 2.5), (x: wk.Tensor) => wk.pow(x, 2.5), withMap(positive)],
  ['scale', (v: number) => 1.5 * v - 2, (x: wk.Tensor) => wk.scale(x, 1.5, -2), UNARY_SHAPES],
  ['reciprocal', (v: number) => 2 / v, (x: wk.Tensor) => wk.reciprocal(x, 2), withMap(positive)],
  ['gelu', gelu64, (x: wk.Tensor) => x.gelu(), withMap((v) => 3 * v)],
  // the lower tail (where 1 + erf cancels; the value is x * Phi(x), tiny) and the linear upper part
  ['gelu (wide range)', gelu64, (x: wk.Tensor) => wk.gelu(x), withMap((v) => 9 * v)],
].map(([name, f, op, configs]) => ({
  name: name as string,
  configs: configs as InputSpec[][],
  forward: (xs: wk.Tensor[]) => (op as (x: wk.Tensor) => wk.Tensor)(xs[0]),
  reference: (xs: Arr[]) => refUnary(xs[0], f as (v: number) => number),
  gradInputs: [0],
}));

const reduceCases: OpCase[] = [
  { name: 'sum all', configs: [[{ shape: [1] }], [{ shape: [7, 67] }], [{ shape: [129, 67] }]], forward: (x) => x[0].sum(), reference: (x) => refReduce(x[0], undefined, false, false), gradInputs: [0], tol: { fwd: 1e-5 } },
  { name: 'sum axis 0', configs: [[{ shape: [67, 7] }], [{ shape: [1, 129] }]], forward: (x) => x[0].sum(0), reference: (x) => refReduce(x[0], [0], false, false), gradInputs: [0] },
  { name: 'sum axis -1 keepDims', configs: [[{ shape: [7, 129] }], [{ shape: [3, 67] }]], forward: (x) => x[0].sum(-1, true), reference: (x) => refReduce(x[0], [-1], true, false), gradInputs: [0] },
  { name: 'sum axes [0,2]', configs: [[{ shape: [7, 3, 67] }], [{ shape: [2, 5, 3, 4] }]], forward: (x) => x[0].sum([0, 2]), reference: (x) => refReduce(x[0], [0, 2], false, false), gradInputs: [0] },
  { name: 'mean all', configs: [[{ shape: [7] }], [{ shape: [67, 129] }]], forward: (x) => x[0].mean(), reference: (x) => refReduce(x[0], undefined, false, true), gradInputs: [0] },
  { name: 'mean axis 1 keepDims', configs: [[{ shape: [7, 67, 3] }]], forward: (x) => x[0].mean(1, true), reference: (x) => refReduce(x[0], [1], true, true), gradInputs: [0] },
  { name: 'mean axes [1,3] (per channel of NCHW... kept)', configs: [[{ shape: [2, 7, 3, 5] }]], forward: (x) => x[0].mean([0, 2, 3]), reference: (x) => refReduce(x[0], [0, 2, 3], false, true), gradInputs: [0] },
];

function refRowLoss(a: Arr, t: Arr, term: (x: number, y: number) => number, reduction: string): Arr {
  const n = a.data.length;
  const terms = a.data.map((v, i) => term(v, t.data[i]));
  if (reduction === 'none') return { data: terms, shape: a.shape.slice() };
  if (reduction === 'perSample') {
    const B = a.shape[0];
    const D = n / B;
    const out = new Float64Array(B);
    for (let b = 0; b < B; ++b) for (let d = 0; d < D; ++d) out[b] += terms[b * D + d] / D;
    return { data: out, shape: [B] };
  }
  const s = terms.reduce((x, y) => x + y, 0);
  return scalar(reduction === 'mean' ? s / n : s);
}

const mseTerm = (x: number, y: number) => (x - y) * (x - y);
const bceTerm = (x: number, t: number) => Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));

const LOSS_CONFIGS: InputSpec[][] = [
  [{ shape: [1, 1] }, { shape: [1, 1] }],
  [{ shape: [7, 67] }, { shape: [7, 67] }],
  [{ shape: [129, 3, 2] }, { shape: [129, 3, 2] }],
];

const lossCases: OpCase[] = [
  ...(['mean', 'sum', 'none', 'perSample'] as const).map((reduction) => ({
    name: `mseLoss ${reduction}`,
    configs: LOSS_CONFIGS,
    slowConfigs: LOSS_CONFIGS.slice(0, 2),
    forward: (x: wk.Tensor[]) => wk.losses.mseLoss(x[0], x[1], { reduction }),
    reference: (x: Arr[]) => refRowLoss(x[0], x[1], mseTerm, reduction),
    gradInputs: [0, 1],
  })),
  ...(['mean', 'sum', 'none'] as const).map((reduction) => ({
    name: `bceWithLogits ${reduction}`,
    configs: LOSS_CONFIGS.map(([a, t]) => [{ ...a, map: (v: number) => 3 * v }, { ...t, map: unit }]),
    slowConfigs: LOSS_CONFIGS.slice(0, 2).map(([a, t]) => [{ ...a, map: (v: number) => 3 * v }, { ...t, map: unit }]),
    forward: (x: wk.Tensor[]) => wk.losses.bceWithLogits(x[0], x[1], { reduction }),
    reference: (x: Arr[]) => refRowLoss(x[0], x[1], bceTerm, reduction),
    gradInputs: [0, 1],
  })),
  ...([
    [0, 'mean'],
    [0, 'none'],
    [0, 'sum'],
    [3, 'mean'],
  ] as const).map(([freeBits, reduction]) => ({
    name: `klDivergenceNormal freeBits=${freeBits} ${reduction}`,
    configs: [
      [{ shape: [1, 7] }, { shape: [1, 7] }],
      [{ shape: [7, 67] }, { shape: [7, 67] }],
      [{ shape: [67, 5] }, { shape: [67, 5], map: (v: number) => 0.5 * v }],
    ],
    forward: (x: wk.Tensor[]) => wk.losses.klDivergenceNormal(x[0], x[1], { freeBits, reduction }),
    reference: (x: Arr[]) => {
      const [B, D] = rows(x[0]);
      const per = new Float64Array(B);
      for (let b = 0; b < B; ++b) {
        let s = 0;
        for (let d = 0; d < D; ++d) {
          const m = x[0].data[b * D + d];
          const lv = x[1].data[b * D + d];
          s += 1 + lv - m * m - Math.exp(lv);
        }
        per[b] = Math.max(-0.5 * s, freeBits);
      }
      if (reduction === 'none') return { data: per, shape: [B] };
      const s = per.reduce((a, b) => a + b, 0);
      return scalar(reduction === 'mean' ? s / B : s);
    },
    gradInputs: [0, 1],
  })),
  ...(['mean', 'none'] as const).map((reduction) => ({
    name: `crossEntropy ${reduction}`,
    configs: [
      [{ shape: [1, 1] }, { shape: [1], kind: 'labels' as const, classes: 1 }],
      [{ shape: [7, 67] }, { shape: [7], kind: 'labels' as const, classes: 67 }],
      [{ shape: [129, 7] }, { shape: [129], kind: 'labels' as const, classes: 7 }],
    ],
    forward: (x: wk.Tensor[]) => wk.losses.crossEntropy(x[0], x[1], { reduction }),
    reference: (x: Arr[]) => {
      const [B, C] = x[0].shape;
      const per = new Float64Array(B);
      for (let b = 0; b < B; ++b) {
        const row = x[0].data.subarray(b * C, (b + 1) * C);
        const mx = Math.max(...row);
        const lse = Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)) + mx;
        per[b] = lse - row[x[1].data[b]];
      }
      if (reduction === 'none') return { data: per, shape: [B] };
      return scalar(per.reduce((a, b) => a + b, 0) / B);
    },
    gradInputs: [0],
  })),
];

// The CUDA loss kernels run a block per row (reduction 'none' is a row per element), which the
// emulation runs slowly: slow columns take the smaller configurations.
for (const c of lossCases) if (/^(klDivergenceNormal|crossEntropy)/.test(c.name)) c.slowConfigs = c.configs.slice(0, 2);

const compositeCases: OpCase[] = [
  {
    name: 'composite: mean(sigmoid(a * b + c))',
    configs: [[{ shape: [7, 67] }, { shape: [67] }, { shape: [7, 1] }]],
    forward: (x) => x[0].mul(x[1]).add(x[2]).sigmoid().mean(0),
    reference: (x) => refReduce(refUnary(refBinary(refBinary(x[0], x[1], (a, b) => a * b), x[2], (a, b) => a + b), sigmoid), [0], false, true),
    gradInputs: [0, 1, 2],
  },
];

// ---- matmul / linear -------------------------------------------------------------------------
/** a [..., M, K] . b [..., K, N]: batch dims equal, or one operand 2-D (broadcast over the other's batch). */
export function refMatmul(a: Arr, b: Arr): Arr {
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.shape.length - 1];
  const aB = a.shape.slice(0, -2), bB = b.shape.slice(0, -2);
  const batch = aB.length ? aB : bB;
  const nb = size(batch);
  const out = new Float64Array(nb * M * N);
  for (let q = 0; q < nb; ++q) {
    const ao = aB.length ? q * M * K : 0, bo = bB.length ? q * K * N : 0;
    for (let i = 0; i < M; ++i)
      for (let j = 0; j < N; ++j) {
        let s = 0;
        for (let k = 0; k < K; ++k) s += a.data[ao + i * K + k] * b.data[bo + k * N + j];
        out[(q * M + i) * N + j] = s;
      }
  }
  return { data: out, shape: [...batch, M, N] };
}

/** x [..., I] . w [O, I]^T (+ bias [O]) (+ z [..., O]): linear, and the residual head with z. */
export function refLinear(x: Arr, w: Arr, bias: Arr | null, z: Arr | null = null): Arr {
  const [O, I] = w.shape;
  const R = x.data.length / I;
  const out = new Float64Array(R * O);
  for (let r = 0; r < R; ++r)
    for (let o = 0; o < O; ++o) {
      let s = (bias ? bias.data[o] : 0) + (z ? z.data[r * O + o] : 0);
      for (let i = 0; i < I; ++i) s += x.data[r * I + i] * w.data[o * I + i];
      out[r * O + o] = s;
    }
  return { data: out, shape: [...x.shape.slice(0, -1), O] };
}

const matmulCases: OpCase[] = [
  {
    name: 'matmul 2-D',
    configs: [
      [{ shape: [1, 1] }, { shape: [1, 1] }],
      [{ shape: [7, 67] }, { shape: [67, 5] }],
      [{ shape: [67, 129] }, { shape: [129, 7] }],
      [{ shape: [4, 7] }, { shape: [7, 67] }],
    ],
    forward: (x) => wk.matmul(x[0], x[1]),
    reference: (x) => refMatmul(x[0], x[1]),
    gradInputs: [0, 1],
  },
  {
    name: 'matmul batched',
    configs: [[{ shape: [3, 5, 7] }, { shape: [3, 7, 4] }], [{ shape: [2, 3, 1, 9] }, { shape: [2, 3, 9, 5] }]],
    forward: (x) => wk.matmul(x[0], x[1]),
    reference: (x) => refMatmul(x[0], x[1]),
    gradInputs: [0, 1],
  },
  {
    name: 'matmul one operand broadcast',
    configs: [
      [{ shape: [3, 5, 7] }, { shape: [7, 4] }],
      [{ shape: [5, 7] }, { shape: [3, 7, 4] }],
      [{ shape: [2, 3, 5, 7] }, { shape: [7, 67] }],
    ],
    forward: (x) => wk.matmul(x[0], x[1]),
    reference: (x) => refMatmul(x[0], x[1]),
    gradInputs: [0, 1],
  },
  {
    name: 'linear with bias',
    configs: [
      [{ shape: [1, 1] }, { shape: [1, 1] }, { shape: [1] }],
      [{ shape: [4, 67] }, { shape: [7, 67] }, { shape: [7] }],
      [{ shape: [33, 7] }, { shape: [67, 7] }, { shape: [67] }],
      [{ shape: [2, 3, 5] }, { shape: [4, 5] }, { shape: [4] }], // leading batch dims
      [{ shape: [5] }, { shape: [4, 5] }, { shape: [4] }], // 1-D input
    ],
    forward: (x) => wk.linear(x[0], x[1], x[2]),
    reference: (x) => refLinear(x[0], x[1], x[2]),
    gradInputs: [0, 1, 2],
  },
  {
    name: 'linear without bias',
    configs: [[{ shape: [7, 129] }, { shape: [33, 129] }], [{ shape: [2, 3, 4] }, { shape: [3, 4] }]],
    forward: (x) => wk.linear(x[0], x[1]),
    reference: (x) => refLinear(x[0], x[1], null),
    gradInputs: [0, 1],
  },
];

// ---- conv2d / convTranspose2d -----------------------------------------------------------------
/** A convolution's geometry: x [N,C,H,W]; K output channels; kernel kh x kw; stride s, padding p, output padding op. */
export interface ConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  K: number;
  kh: number;
  kw: number;
  s: [number, number];
  p: [number, number];
  op?: [number, number];
}

/** conv2d (cross-correlation, PyTorch semantics), w [K,C,kh,kw]; relu(...) when `relu`. */
export function convRef(g: ConvGeometry, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, relu = false): { y: Float64Array; Ho: number; Wo: number } {
  const Ho = Math.floor((g.H + 2 * g.p[0] - g.kh) / g.s[0]) + 1;
  const Wo = Math.floor((g.W + 2 * g.p[1] - g.kw) / g.s[1]) + 1;
  const y = new Float64Array(g.N * g.K * Ho * Wo);
  for (let n = 0; n < g.N; ++n)
    for (let k = 0; k < g.K; ++k)
      for (let oh = 0; oh < Ho; ++oh)
        for (let ow = 0; ow < Wo; ++ow) {
          let acc = b ? b[k] : 0;
          for (let c = 0; c < g.C; ++c)
            for (let i = 0; i < g.kh; ++i)
              for (let j = 0; j < g.kw; ++j) {
                const ih = oh * g.s[0] - g.p[0] + i;
                const iw = ow * g.s[1] - g.p[1] + j;
                if (ih < 0 || iw < 0 || ih >= g.H || iw >= g.W) continue;
                acc += x[((n * g.C + c) * g.H + ih) * g.W + iw] * w[((k * g.C + c) * g.kh + i) * g.kw + j];
              }
          y[((n * g.K + k) * Ho + oh) * Wo + ow] = relu ? Math.max(acc, 0) : acc;
        }
  return { y, Ho, Wo };
}

/** convTranspose2d: x [N,C(in),H,W], w [C,K(out),kh,kw] -> y [N,K,Ho,Wo]. */
export function convTRef(g: ConvGeometry, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null): { y: Float64Array; Ho: number; Wo: number } {
  const op = g.op ?? [0, 0];
  const Ho = (g.H - 1) * g.s[0] - 2 * g.p[0] + g.kh + op[0];
  const Wo = (g.W - 1) * g.s[1] - 2 * g.p[1] + g.kw + op[1];
  const y = new Float64Array(g.N * g.K * Ho * Wo);
  for (let n = 0; n < g.N; ++n) {
    for (let k = 0; k < g.K; ++k) for (let q = 0; q < Ho * Wo; ++q) y[(n * g.K + k) * Ho * Wo + q] = b ? b[k] : 0;
    for (let c = 0; c < g.C; ++c)
      for (let ih = 0; ih < g.H; ++ih)
        for (let iw = 0; iw < g.W; ++iw) {
          const xv = x[((n * g.C + c) * g.H + ih) * g.W + iw];
          for (let k = 0; k < g.K; ++k)
            for (let i = 0; i < g.kh; ++i)
              for (let j = 0; j < g.kw; ++j) {
                const oh = ih * g.s[0] - g.p[0] + i;
                const ow = iw * g.s[1] - g.p[1] + j;
                if (oh < 0 || ow < 0 || oh >= Ho || ow >= Wo) continue;
                y[((n * g.K + k) * Ho + oh) * Wo + ow] += xv * w[((c * g.K + k) * g.kh + i) * g.kw + j];
              }
        }
  }
  return { y, Ho, Wo };
}

const geo = (g: ConvGeometry) => `N${g.N} C${g.C} ${g.H}x${g.W} K${g.K} k${g.kh}x${g.kw} s${g.s} p${g.p}${g.op ? ` op${g.op}` : ''}`;

function convCase(g: ConvGeometry, opts: { transposed?: boolean; bias?: boolean; relu?: boolean }): OpCase {
  const { transposed = false, bias = true, relu = false } = opts;
  const specs: InputSpec[] = [{ shape: [g.N, g.C, g.H, g.W] }, { shape: transposed ? [g.C, g.K, g.kh, g.kw] : [g.K, g.C, g.kh, g.kw] }];
  if (bias) specs.push({ shape: [g.K] });
  const o = { stride: g.s, padding: g.p, outputPadding: g.op };
  return {
    name: `${transposed ? 'convTranspose2d' : 'conv2d'}${relu ? ' relu' : ''}${bias ? '' : ' no bias'} ${geo(g)}`,
    configs: [specs],
    forward: (x) =>
      transposed ? wk.convTranspose2d(x[0], x[1], x[2] ?? null, o) : wk.conv2d(x[0], x[1], x[2] ?? null, { stride: g.s, padding: g.p, relu }),
    reference: (x) => {
      const r = transposed ? convTRef(g, x[0].data, x[1].data, x[2]?.data ?? null) : convRef(g, x[0].data, x[1].data, x[2]?.data ?? null, relu);
      return { data: r.y, shape: [g.N, g.K, r.Ho, r.Wo] };
    },
    gradInputs: bias ? [0, 1, 2] : [0, 1],
    tol: { fwd: 1e-5 },
  };
}

export const CONV_GEOMETRIES: ConvGeometry[] = [
  { N: 2, C: 3, H: 7, W: 7, K: 4, kh: 3, kw: 3, s: [1, 1], p: [0, 0] },
  { N: 1, C: 1, H: 1, W: 1, K: 1, kh: 1, kw: 1, s: [1, 1], p: [0, 0] },
  { N: 3, C: 2, H: 9, W: 7, K: 5, kh: 4, kw: 4, s: [2, 2], p: [1, 1] },
  { N: 2, C: 3, H: 8, W: 11, K: 3, kh: 5, kw: 3, s: [2, 1], p: [2, 1] },
  { N: 1, C: 4, H: 5, W: 6, K: 2, kh: 3, kw: 2, s: [1, 2], p: [2, 0] },
  { N: 2, C: 2, H: 6, W: 6, K: 3, kh: 1, kw: 1, s: [2, 2], p: [0, 0] },
  { N: 1, C: 1, H: 3, W: 3, K: 2, kh: 5, kw: 5, s: [1, 1], p: [1, 1] },
];
export const CONV_TRANSPOSE_GEOMETRIES: ConvGeometry[] = [
  { N: 2, C: 3, H: 3, W: 3, K: 2, kh: 3, kw: 3, s: [1, 1], p: [0, 0] },
  { N: 2, C: 3, H: 4, W: 5, K: 2, kh: 4, kw: 4, s: [2, 2], p: [1, 1] },
  { N: 1, C: 2, H: 3, W: 2, K: 3, kh: 5, kw: 6, s: [2, 2], p: [0, 0], op: [1, 1] },
  { N: 3, C: 2, H: 3, W: 4, K: 2, kh: 3, kw: 2, s: [2, 1], p: [2, 0], op: [1, 0] },
  { N: 1, C: 1, H: 1, W: 1, K: 1, kh: 1, kw: 1, s: [1, 1], p: [0, 0] },
  { N: 2, C: 2, H: 5, W: 3, K: 3, kh: 3, kw: 3, s: [3, 2], p: [1, 2], op: [2, 1] },
];

const convCases: OpCase[] = [
  ...CONV_GEOMETRIES.map((g) => convCase(g, {})),
  convCase({ N: 1, C: 2, H: 9, W: 9, K: 5, kh: 4, kw: 4, s: [2, 2], p: [0, 0] }, { bias: false }),
  // The fused ReLU: a direct-kernel shape (reduction 8*3*3) and a row-variant shape (33 wide).
  convCase({ N: 2, C: 8, H: 5, W: 6, K: 3, kh: 3, kw: 3, s: [1, 1], p: [1, 1] }, { relu: true }),
  convCase({ N: 1, C: 2, H: 5, W: 33, K: 3, kh: 3, kw: 3, s: [2, 2], p: [1, 1] }, { relu: true }),
  convCase({ N: 2, C: 3, H: 6, W: 5, K: 4, kh: 3, kw: 3, s: [2, 2], p: [1, 1] }, { relu: true }),
  ...CONV_TRANSPOSE_GEOMETRIES.map((g) => convCase(g, { transposed: true })),
  convCase({ N: 1, C: 2, H: 3, W: 3, K: 3, kh: 3, kw: 3, s: [2, 2], p: [0, 0], op: [1, 1] }, { transposed: true, bias: false }),
];

// ---- LSTM ------------------------------------------------------------------------------------
const sig = (v: number) => 1 / (1 + Math.exp(-v));
type F = Float64Array;

/** LSTM weights in PyTorch layout (gate order i, f, g, o), float64. */
export interface LstmRefWeights {
  wih: ArrayLike<number>;
  whh: ArrayLike<number>;
  bih: ArrayLike<number> | null;
  bhh: ArrayLike<number> | null;
  I: number;
  H: number;
}

/** One LSTM step: x [B,I], h/c [B,H] (null: zeros) -> h', c'. */
export function lstmCellRef(x: ArrayLike<number>, h: ArrayLike<number> | null, c: ArrayLike<number> | null, w: LstmRefWeights, B: number): { h: F; c: F } {
  const { I, H } = w;
  const ho = new Float64Array(B * H);
  const co = new Float64Array(B * H);
  const gates = new Float64Array(4 * H);
  for (let b = 0; b < B; ++b) {
    for (let g = 0; g < 4 * H; ++g) {
      let s = (w.bih ? w.bih[g] : 0) + (w.bhh ? w.bhh[g] : 0);
      for (let k = 0; k < I; ++k) s += x[b * I + k] * w.wih[g * I + k];
      if (h) for (let k = 0; k < H; ++k) s += h[b * H + k] * w.whh[g * H + k];
      gates[g] = s;
    }
    for (let j = 0; j < H; ++j) {
      const i = sig(gates[j]), f = sig(gates[H + j]), gg = Math.tanh(gates[2 * H + j]), o = sig(gates[3 * H + j]);
      const cv = f * (c ? c[b * H + j] : 0) + i * gg;
      co[b * H + j] = cv;
      ho[b * H + j] = o * Math.tanh(cv);
    }
  }
  return { h: ho, c: co };
}

/** A batch-first sequence: x [B,T,I] -> y [B,T,H], hN, cN (h0/c0 null: zeros). */
export function lstmSequenceRef(x: ArrayLike<number>, h0: ArrayLike<number> | null, c0: ArrayLike<number> | null, w: LstmRefWeights, B: number, T: number): { y: F; h: F; c: F } {
  const { I, H } = w;
  const y = new Float64Array(B * T * H);
  let h: ArrayLike<number> | null = h0, c: ArrayLike<number> | null = c0;
  for (let t = 0; t < T; ++t) {
    const xt = new Float64Array(B * I);
    for (let b = 0; b < B; ++b) for (let k = 0; k < I; ++k) xt[b * I + k] = x[(b * T + t) * I + k];
    const r = lstmCellRef(xt, h, c, w, B);
    h = r.h;
    c = r.c;
    for (let b = 0; b < B; ++b) for (let j = 0; j < H; ++j) y[(b * T + t) * H + j] = r.h[b * H + j];
  }
  return { y, h: h ? Float64Array.from(h) : new Float64Array(B * H), c: c ? Float64Array.from(c) : new Float64Array(B * H) };
}

/** [A, B, ...] -> [B, A, ...]: swaps the two leading axes of an n-element array. */
export function swapLeading(v: ArrayLike<number>, A: number, B: number): Float64Array {
  const n = v.length / (A * B);
  const o = new Float64Array(v.length);
  for (let a = 0; a < A; ++a) for (let b = 0; b < B; ++b) for (let k = 0; k < n; ++k) o[(b * A + a) * n + k] = v[(a * B + b) * n + k];
  return o;
}

const flat = (ts: wk.Tensor[]) => wk.concat(ts.map((t) => t.reshape(-1)), 0);
const flatArr = (parts: ArrayLike<number>[]): Arr => {
  const data = Float64Array.from(parts.flatMap((p) => Array.from(p)));
  return { data, shape: [data.length] };
};
const wScale = (s: number) => (v: number) => s * v;

/** lstmCell inputs: x, W_ih, W_hh, then h, c (state), then b_ih, b_hh (bias). */
function lstmCellCase(dims: [number, number, number][], state: boolean, bias: boolean, slowDims: [number, number, number][]): OpCase {
  const specs = ([B, I, H]: [number, number, number]): InputSpec[] => [
    { shape: [B, I] },
    { shape: [4 * H, I], map: wScale(0.5) },
    { shape: [4 * H, H], map: wScale(0.5) },
    ...(state ? [{ shape: [B, H], map: wScale(0.5) }, { shape: [B, H], map: wScale(0.5) }] : []),
    ...(bias ? [{ shape: [4 * H], map: wScale(0.3) }, { shape: [4 * H], map: wScale(0.3) }] : []),
  ];
  const n = 3 + (state ? 2 : 0) + (bias ? 2 : 0);
  const parts = (x: unknown[]) => {
    const [xx, wih, whh] = x;
    const h = state ? x[3] : null, c = state ? x[4] : null;
    const bih = bias ? x[n - 2] : null, bhh = bias ? x[n - 1] : null;
    return { xx, wih, whh, h, c, bih, bhh };
  };
  return {
    name: `lstmCell${state ? '' : ' no h/c'}${bias ? '' : ' no biases'}`,
    configs: dims.map(specs),
    slowConfigs: slowDims.map(specs),
    forward: (x) => {
      const p = parts(x) as Record<string, wk.Tensor | null>;
      return flat(wk.lstmCell(p.xx!, p.h, p.c, p.wih!, p.whh!, p.bih, p.bhh));
    },
    reference: (x) => {
      const p = parts(x) as Record<string, Arr | null>;
      const [B, I] = p.xx!.shape;
      const H = p.whh!.shape[1];
      const r = lstmCellRef(p.xx!.data, p.h?.data ?? null, p.c?.data ?? null, { wih: p.wih!.data, whh: p.whh!.data, bih: p.bih?.data ?? null, bhh: p.bhh?.data ?? null, I, H }, B);
      return flatArr([r.h, r.c]);
    },
    gradInputs: Array.from({ length: n }, (_, i) => i),
  };
}

/** lstmSequence inputs: x, W_ih, W_hh, then h0, c0 (state), then b_ih, b_hh. */
function lstmSequenceCase(dims: [number, number, number, number][], batchFirst: boolean, state: boolean, slowDims: [number, number, number, number][]): OpCase {
  const specs = ([B, T, I, H]: [number, number, number, number]): InputSpec[] => [
    { shape: batchFirst ? [B, T, I] : [T, B, I], map: wScale(1.5) },
    { shape: [4 * H, I], map: wScale(0.6) },
    { shape: [4 * H, H], map: wScale(0.6 / Math.sqrt(H)) },
    ...(state ? [{ shape: [B, H], map: wScale(0.8) }, { shape: [B, H], map: wScale(0.8) }] : []),
    { shape: [4 * H], map: wScale(0.5) },
    { shape: [4 * H], map: wScale(0.5) },
  ];
  const n = state ? 7 : 5;
  return {
    name: `lstmSequence batchFirst=${batchFirst}${state ? ' h0/c0' : ''}`,
    configs: dims.map(specs),
    slowConfigs: slowDims.map(specs),
    forward: (x) => flat(wk.lstmSequence(x[0], state ? x[3] : null, state ? x[4] : null, x[1], x[2], x[n - 2], x[n - 1], batchFirst)),
    reference: (x) => {
      const [d0, d1, I] = x[0].shape;
      const [B, T] = batchFirst ? [d0, d1] : [d1, d0];
      const H = x[2].shape[1];
      const xb = batchFirst ? x[0].data : swapLeading(x[0].data, T, B);
      const r = lstmSequenceRef(xb, state ? x[3].data : null, state ? x[4].data : null, { wih: x[1].data, whh: x[2].data, bih: x[n - 2].data, bhh: x[n - 1].data, I, H }, B, T);
      return flatArr([batchFirst ? r.y : swapLeading(r.y, B, T), r.h, r.c]);
    },
    gradInputs: Array.from({ length: n }, (_, i) => i),
  };
}

const lstmCases: OpCase[] = [
  lstmCellCase([[3, 7, 5], [1, 1, 1], [2, 67, 13], [3, 4, 67]], true, true, [[3, 7, 5], [1, 1, 1], [3, 4, 67]]),
  lstmCellCase([[3, 5, 7], [1, 1, 1]], false, true, [[2, 3, 5]]),
  lstmCellCase([[2, 4, 3]], true, false, [[2, 4, 3]]),
  lstmCellCase([[2, 3, 4], [1, 1, 1]], false, false, [[1, 1, 1]]),
  lstmSequenceCase([[2, 5, 3, 4], [1, 4, 6, 3], [1, 3, 1, 1], [2, 3, 5, 67]], true, true, [[2, 3, 3, 4], [1, 3, 1, 1], [2, 3, 5, 67]]),
  lstmSequenceCase([[3, 1, 1, 2], [3, 4, 7, 7]], false, true, [[3, 1, 1, 2], [3, 4, 7, 7]]),
  lstmSequenceCase([[3, 4, 5, 7]], true, false, [[2, 3, 2, 3]]),
  lstmSequenceCase([[2, 3, 4, 5]], false, false, [[1, 2, 3, 2]]),
  {
    name: 'residualHead with z',
    // inputs: h [...,K], W [D,K], b [D], z [...,D]
    configs: [
      [{ shape: [5, 3] }, { shape: [7, 3] }, { shape: [7] }, { shape: [5, 7] }],
      [{ shape: [2, 3, 67] }, { shape: [13, 67] }, { shape: [13] }, { shape: [2, 3, 13] }],
      [{ shape: [1, 1] }, { shape: [1, 1] }, { shape: [1] }, { shape: [1, 1] }],
    ],
    forward: (x) => wk.residualHead(x[3], x[0], x[1], x[2]),
    reference: (x) => refLinear(x[0], x[1], x[2], x[3]),
    gradInputs: [0, 1, 2, 3],
  },
  {
    name: 'residualHead without z',
    configs: [[{ shape: [5, 3] }, { shape: [7, 3] }, { shape: [7] }], [{ shape: [9, 33] }, { shape: [5, 33] }, { shape: [5] }]],
    forward: (x) => wk.residualHead(null, x[0], x[1], x[2]),
    reference: (x) => refLinear(x[0], x[1], x[2]),
    gradInputs: [0, 1, 2],
  },
];

/** The LSTM gates alone: pre [B, 4H, ...] (i, f, g, o along axis 1), c like one gate block (null: zeros) -> h', c'. */
export function lstmGatesRef(pre: ArrayLike<number>, c: ArrayLike<number> | null, B: number, H: number): { h: F; c: F } {
  const ho = new Float64Array(B * H);
  const co = new Float64Array(B * H);
  for (let b = 0; b < B; ++b)
    for (let j = 0; j < H; ++j) {
      const g = (k: number) => pre[b * 4 * H + k * H + j];
      const i = sig(g(0)), f = sig(g(1)), gg = Math.tanh(g(2)), o = sig(g(3));
      const cv = f * (c ? c[b * H + j] : 0) + i * gg;
      co[b * H + j] = cv;
      ho[b * H + j] = o * Math.tanh(cv);
    }
  return { h: ho, c: co };
}

/** lstmGates inputs: pre [B, 4*Ch, ...spatial], then c [B, Ch, ...spatial] when `withC`. */
function lstmGatesCase(shapes: number[][], withC: boolean, slowShapes: number[][]): OpCase {
  const specs = (s: number[]): InputSpec[] => {
    const st = [s[0], s[1], ...s.slice(2)];
    return [{ shape: [s[0], 4 * s[1], ...s.slice(2)], map: wScale(1.5) }, ...(withC ? [{ shape: st, map: wScale(1.2) }] : [])];
  };
  return {
    name: `lstmGates${withC ? '' : ' null c'}`,
    configs: shapes.map(specs),
    slowConfigs: slowShapes.map(specs),
    forward: (x) => flat(wk.lstmGates(x[0], withC ? x[1] : null)),
    reference: (x) => {
      const B = x[0].shape[0];
      const H = x[0].data.length / (4 * Math.max(B, 1));
      const r = lstmGatesRef(x[0].data, withC ? x[1].data : null, B, H);
      return flatArr([r.h, r.c]);
    },
    gradInputs: withC ? [0, 1] : [0],
  };
}

// [B, Ch, ...spatial]: flat rows, a ConvLSTM's [B, 4Ch, h, w], odd sizes, one element.
lstmCases.push(
  lstmGatesCase([[3, 5], [2, 3, 5, 7], [1, 1], [2, 67], [3, 2, 1, 3]], true, [[3, 5], [2, 3, 5, 7], [1, 1]]),
  lstmGatesCase([[3, 5], [2, 3, 3, 5], [1, 1], [1, 67]], false, [[2, 3, 3, 5], [1, 1]]),
);

// ---- shape ops -------------------------------------------------------------------------------
/** out axis i is x's axis perm[i]. */
export function refPermute(x: Arr, perm: number[]): Arr {
  const shape = perm.map((p) => x.shape[p]);
  const st = stridesOf(x.shape);
  const ost = stridesOf(shape);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; ++i) {
    let src = 0;
    for (let d = 0; d < shape.length; ++d) src += (Math.floor(i / ost[d]) % shape[d]) * st[perm[d]];
    out[i] = x.data[src];
  }
  return { data: out, shape };
}

/** The box of `sz` at `begin`. */
export function refSlice(x: Arr, begin: number[], sz: number[]): Arr {
  const st = stridesOf(x.shape);
  const ost = stridesOf(sz);
  const out = new Float64Array(size(sz));
  for (let i = 0; i < out.length; ++i) {
    let src = 0;
    for (let d = 0; d < sz.length; ++d) src += (begin[d] + (Math.floor(i / ost[d]) % sz[d])) * st[d];
    out[i] = x.data[src];
  }
  return { data: out, shape: sz.slice() };
}

export function refConcat(xs: Arr[], axis: number): Arr {
  const shape = xs[0].shape.slice();
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis], 0);
  const outer = size(shape.slice(0, axis));
  const out: number[] = [];
  for (let o = 0; o < outer; ++o)
    for (const x of xs) {
      const run = size(x.shape.slice(axis));
      for (let k = 0; k < run; ++k) out.push(x.data[o * run + k]);
    }
  return { data: Float64Array.from(out), shape };
}

const transposePerm = (nd: number, a: number, b: number) => {
  const p = Array.from({ length: nd }, (_, i) => i);
  const [x, y] = [a < 0 ? a + nd : a, b < 0 ? b + nd : b];
  [p[x], p[y]] = [p[y], p[x]];
  return p;
};

const shapeCases: OpCase[] = [
  {
    name: 'reshape (then an op reading it)',
    configs: [[{ shape: [6, 35] }], [{ shape: [1] }]],
    forward: (x) => x[0].reshape(-1, x[0].shape[0] === 6 ? 7 : 1).mul(x[0].reshape(-1, x[0].shape[0] === 6 ? 7 : 1)),
    reference: (x) => {
      const c = x[0].shape[0] === 6 ? 7 : 1;
      return { data: x[0].data.map((v) => v * v), shape: [x[0].data.length / c, c] };
    },
    gradInputs: [0],
  },
  ...(
    [
      [[3, 5, 4], [1, 1, 0], [2, 3, 4]],
      [[3, 5, 4], [0, 1, 1], [3, 3, 2]],
      [[7, 67], [2, 5], [4, 61]],
      [[2, 3, 4, 5, 3], [1, 0, 2, 1, 0], [1, 3, 1, 3, 2]],
      [[9], [8], [1]],
    ] as [number[], number[], number[]][]
  ).map(([shape, begin, sz]): OpCase => ({
    name: `slice [${shape}] at [${begin}] size [${sz}]`,
    configs: [[{ shape }]],
    forward: (x) => wk.slice(x[0], begin, sz),
    reference: (x) => refSlice(x[0], begin, sz),
    gradInputs: [0],
  })),
  {
    name: 'index (a row view, then an op reading it)',
    configs: [[{ shape: [5, 3, 7] }], [{ shape: [1, 67] }]],
    forward: (x) => wk.index(x[0], -1).square(),
    reference: (x) => {
      const n = x[0].data.length / x[0].shape[0];
      return { data: x[0].data.slice(x[0].data.length - n).map((v) => v * v), shape: x[0].shape.slice(1) };
    },
    gradInputs: [0],
  },
  ...(
    [
      [[7, 5], [1, 0]],
      [[2, 3, 5, 4], [0, 2, 3, 1]],
      [[2, 1, 3, 4, 2], [4, 2, 0, 3, 1]],
      [[3, 67], [0, 1]],
      [[2, 3, 1, 5, 2, 3], [5, 0, 3, 1, 4, 2]],
    ] as [number[], number[]][]
  ).map(([shape, perm]): OpCase => ({
    name: `permute [${shape}] by [${perm}]`,
    configs: [[{ shape }]],
    forward: (x) => wk.permute(x[0], perm),
    reference: (x) => refPermute(x[0], perm),
    gradInputs: [0],
  })),
  ...(
    [
      [[7, 5], 0, 1],
      [[3, 4, 6], -1, -2],
      [[2, 3, 5], 0, 2],
    ] as [number[], number, number][]
  ).map(([shape, a, b]): OpCase => ({
    name: `transpose [${shape}] (${a}, ${b})`,
    configs: [[{ shape }]],
    forward: (x) => wk.transpose(x[0], a, b),
    reference: (x) => refPermute(x[0], transposePerm(shape.length, a, b)),
    gradInputs: [0],
  })),
  ...(
    [
      [[[2, 3, 4], [2, 3, 2]], 2],
      [[[2, 3, 4], [2, 1, 4], [2, 5, 4]], 1],
      [[[3, 7], [1, 7]], 0],
      [[[5], [67], [1]], -1],
    ] as [number[][], number][]
  ).map(([shapes, axis]): OpCase => ({
    name: `concat ${shapes.map((s) => `[${s}]`).join(' ')} axis ${axis}`,
    configs: [shapes.map((shape) => ({ shape }))],
    forward: (x) => wk.concat(x, axis),
    reference: (x) => refConcat(x, axis < 0 ? axis + x[0].shape.length : axis),
    gradInputs: shapes.map((_, i) => i),
  })),
  ...(
    [
      [[3, 5], 3, 0],
      [[3, 5], 2, 1],
      [[2, 3, 4], 3, 3],
      [[7], 1, -1],
    ] as [number[], number, number][]
  ).map(([shape, n, axis]): OpCase => ({
    name: `stack ${n} x [${shape}] axis ${axis}`,
    configs: [Array.from({ length: n }, () => ({ shape }))],
    forward: (x) => wk.stack(x, axis),
    reference: (x) => {
      const nd = shape.length + 1;
      const ax = axis < 0 ? axis + nd : axis;
      const un = x.map((a) => ({ data: a.data, shape: [...shape.slice(0, ax), 1, ...shape.slice(ax)] }));
      return refConcat(un, ax);
    },
    gradInputs: Array.from({ length: n }, (_, i) => i),
  })),
  {
    name: 'clone',
    configs: [[{ shape: [7, 67] }], [{ shape: [1] }]],
    forward: (x) => wk.clone(x[0]),
    reference: (x) => ({ data: x[0].data.slice(), shape: x[0].shape.slice() }),
    gradInputs: [0],
  },
];

// ---- the predictor's ops: pickRows, addNoise, scheduledUnroll ----------------------------------
/** Deterministic coins in {0, 1} (both present for n >= 3). */
export function fixedCoins(n: number, salt = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (((i + salt) * 5 + 1) % 3 === 0 ? 1 : 0));
}
/** Deterministic noise values (a fixed function of the index). */
export function fixedNoise(n: number, scale = 0.1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => scale * Math.sin(1.7 * i + 0.3));
}

/** The shapes of a scheduledUnroll case (noise: input noise on every latent input). */
interface UnrollLayout {
  B: number;
  T: number;
  D: number;
  A: number;
  H: number;
  L: number;
  residual: boolean;
  noise: boolean;
}

function unrollSpecs(u: UnrollLayout): InputSpec[] {
  const specs: InputSpec[] = [{ shape: [u.B, u.T, u.D] }];
  if (u.A) specs.push({ shape: [u.B, u.T - 1, u.A] });
  for (let l = 0; l < u.L; ++l) {
    const I = l === 0 ? u.D + u.A : u.H;
    specs.push({ shape: [4 * u.H, I], map: wScale(0.5) }, { shape: [4 * u.H, u.H], map: wScale(0.5) }, { shape: [4 * u.H], map: wScale(0.3) }, { shape: [4 * u.H], map: wScale(0.3) });
  }
  specs.push({ shape: [u.D, u.H], map: wScale(0.5) }, { shape: [u.D], map: wScale(0.3) });
  return specs;
}

/** The scheduled-sampling unroll written with plain float64 loops (the op's definition). */
export function scheduledUnrollRef(
  z: ArrayLike<number>,
  a: ArrayLike<number> | null,
  coins: ArrayLike<number>,
  noise: ArrayLike<number> | null,
  layers: LstmRefWeights[],
  headW: ArrayLike<number>,
  headB: ArrayLike<number>,
  d: { B: number; T: number; D: number; A: number; H: number; residual: boolean },
): Float64Array {
  const { B, T, D, A, H, residual } = d;
  const S = T - 1;
  const out = new Float64Array(B * S * D);
  const hs: (Float64Array | null)[] = layers.map(() => null);
  const cs: (Float64Array | null)[] = layers.map(() => null);
  let prev: Float64Array | null = null; // [B, D]
  for (let t = 0; t < S; ++t) {
    const zin = new Float64Array(B * D);
    const x0 = new Float64Array(B * (D + A));
    for (let b = 0; b < B; ++b) {
      const useTrue = t === 0 || coins[(t - 1) * B + b] === 1;
      for (let j = 0; j < D; ++j) {
        const v = (useTrue ? z[(b * T + t) * D + j] : prev![b * D + j]) + (noise ? noise[(t * B + b) * D + j] : 0);
        zin[b * D + j] = v;
        x0[b * (D + A) + j] = v;
      }
      for (let k = 0; k < A; ++k) x0[b * (D + A) + D + k] = a![(b * S + t) * A + k];
    }
    let x: Float64Array = x0;
    layers.forEach((w, l) => {
      const r = lstmCellRef(x, hs[l], cs[l], w, B);
      hs[l] = r.h;
      cs[l] = r.c;
      x = r.h;
    });
    const pred = new Float64Array(B * D);
    for (let b = 0; b < B; ++b)
      for (let j = 0; j < D; ++j) {
        let s = headB[j] + (residual ? zin[b * D + j] : 0);
        for (let k = 0; k < H; ++k) s += x[b * H + k] * headW[j * H + k];
        pred[b * D + j] = s;
        out[(b * S + t) * D + j] = s;
      }
    prev = pred;
  }
  return out;
}

function unrollCase(u: UnrollLayout, slowU: UnrollLayout | null): OpCase {
  const coinsFor = (B: number, T: number) => fixedCoins(B * Math.max(T - 2, 0), T);
  // Both layouts must agree on what the flat input list holds.
  if (slowU && (slowU.L !== u.L || !slowU.A !== !u.A || slowU.residual !== u.residual || slowU.noise !== u.noise))
    throw new Error('unrollCase: the slow layout differs in kind');
  /** The flat input list: z, a (when A > 0), W_ih, W_hh, b_ih, b_hh per layer, head W and b. */
  const splitX = <X>(x: X[]) => {
    let k = 1;
    const aIn = u.A ? x[k++] : null;
    const layers: X[][] = [];
    for (let l = 0; l < u.L; ++l) layers.push(x.slice(k + 4 * l, k + 4 * l + 4));
    k += 4 * u.L;
    return { z: x[0], a: aIn, layers, headW: x[k], headB: x[k + 1] };
  };
  const configs = [unrollSpecs(u)];
  const slowConfigs = slowU ? [unrollSpecs(slowU)] : [];
  const n = 1 + (u.A ? 1 : 0) + 4 * u.L + 2;
  return {
    name: `scheduledUnroll L=${u.L} A=${u.A} residual=${u.residual}${u.noise ? ' noise' : ''}`,
    configs,
    slowConfigs,
    forward: (x) => {
      const p = splitX(x);
      const [B, T, D] = p.z.shape;
      return scheduledUnroll(
        p.z,
        p.a,
        coinsFor(B, T),
        u.noise ? fixedNoise((T - 1) * B * D) : null,
        { layers: p.layers.map(([wih, whh, bih, bhh]) => ({ wih, whh, bih, bhh })), headW: p.headW, headB: p.headB },
        u.residual,
      );
    },
    reference: (x) => {
      const p = splitX(x);
      const [B, T, D] = p.z.shape;
      const H = p.headW.shape[1];
      const A = p.a ? p.a.shape[2] : 0;
      const layers = p.layers.map(([wih, whh, bih, bhh], l) => ({ wih: wih.data, whh: whh.data, bih: bih.data, bhh: bhh.data, I: l === 0 ? D + A : H, H }));
      const data = scheduledUnrollRef(p.z.data, p.a?.data ?? null, coinsFor(B, T), u.noise ? fixedNoise((T - 1) * B * D) : null, layers, p.headW.data, p.headB.data, { B, T, D, A, H, residual: u.residual });
      return { data, shape: [B, T - 1, D] };
    },
    // Every input but the actions (the op gives them no gradient).
    gradInputs: Array.from({ length: n }, (_, i) => i).filter((i) => !(u.A && i === 1)),
  };
}

const predictorCases: OpCase[] = [
  {
    name: 'pickRows',
    configs: [[{ shape: [5, 3, 4] }, { shape: [5, 3, 4] }], [{ shape: [7, 67] }, { shape: [7, 67] }], [{ shape: [1, 1] }, { shape: [1, 1] }]],
    forward: (x) => pickRows(x[0], x[1], fixedCoins(x[0].shape[0], 2)),
    reference: (x) => {
      const B = x[0].shape[0];
      const n = x[0].data.length / B;
      const coins = fixedCoins(B, 2);
      const out = new Float64Array(x[0].data.length);
      for (let r = 0; r < B; ++r) out.set((coins[r] ? x[0] : x[1]).data.subarray(r * n, (r + 1) * n), r * n);
      return { data: out, shape: x[0].shape.slice() };
    },
    gradInputs: [0, 1],
  },
  {
    name: 'addNoise',
    configs: [[{ shape: [5, 7] }], [{ shape: [129] }], [{ shape: [1] }]],
    forward: (x) => addNoise(x[0], fixedNoise(x[0].size, 0.5)),
    reference: (x) => {
      const nz = fixedNoise(x[0].data.length, 0.5);
      return { data: x[0].data.map((v, i) => v + nz[i]), shape: x[0].shape.slice() };
    },
    gradInputs: [0],
  },
  unrollCase({ B: 3, T: 5, D: 4, A: 2, H: 5, L: 2, residual: true, noise: false }, { B: 2, T: 4, D: 3, A: 2, H: 3, L: 2, residual: true, noise: false }),
  unrollCase({ B: 2, T: 6, D: 3, A: 0, H: 7, L: 1, residual: false, noise: true }, { B: 2, T: 4, D: 2, A: 0, H: 3, L: 1, residual: false, noise: true }),
  unrollCase({ B: 1, T: 2, D: 1, A: 1, H: 1, L: 1, residual: true, noise: true }, { B: 1, T: 2, D: 1, A: 1, H: 1, L: 1, residual: true, noise: true }),
];

// ---- optimizer steps (forward only) -----------------------------------------------------------
interface OptConfig {
  kind: 'SGD' | 'Adam' | 'AdamW';
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
  betas?: [number, number];
  eps?: number;
}

/** The parameter after one step per gradient, as PyTorch defines SGD / Adam / AdamW, in float64. */
export function optimizerRef(o: OptConfig, p0: ArrayLike<number>, grads: ArrayLike<number>[]): Float64Array {
  const p = Float64Array.from(p0);
  const n = p.length;
  const wd = o.weightDecay ?? (o.kind === 'AdamW' ? 0.01 : 0);
  const buf = new Float64Array(n), m = new Float64Array(n), v = new Float64Array(n);
  const [b1, b2] = o.betas ?? [0.9, 0.999];
  const eps = o.eps ?? 1e-8;
  grads.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < n; ++i) {
      let gi = g[i];
      if (o.kind === 'SGD') {
        const mu = o.momentum ?? 0;
        gi += wd * p[i];
        if (mu) {
          buf[i] = s === 0 ? gi : mu * buf[i] + (1 - (o.dampening ?? 0)) * gi;
          gi = o.nesterov ? gi + mu * buf[i] : buf[i];
        }
        p[i] -= o.lr * gi;
      } else {
        if (o.kind === 'AdamW') p[i] *= 1 - o.lr * wd;
        else gi += wd * p[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps;
        p[i] -= (o.lr / (1 - b1 ** t)) * (m[i] / denom);
      }
    }
  });
  return p;
}

function optimizerCase(label: string, o: OptConfig, steps: number): OpCase {
  const specs = (shape: number[]): InputSpec[] => Array.from({ length: steps + 1 }, () => ({ shape }));
  return {
    name: `${o.kind} ${label}: ${steps} step${steps > 1 ? 's' : ''}`,
    configs: [specs([67]), specs([3, 5]), specs([1])],
    forward: (x) => {
      const p = wk.clone(x[0]);
      const opt =
        o.kind === 'SGD'
          ? new wk.optim.SGD([p], { lr: o.lr, momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov, weightDecay: o.weightDecay })
          : new (o.kind === 'Adam' ? wk.optim.Adam : wk.optim.AdamW)([p], { lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay });
      for (let s = 0; s < steps; ++s) {
        p.grad = x[1 + s];
        opt.step();
      }
      p.grad = null;
      // The state tensors are kept out of tidy scopes: free them with the optimizer.
      for (const st of (opt as unknown as { state: (Record<string, unknown> | null)[] }).state)
        for (const v of Object.values(st ?? {})) if (wk.isTensor(v)) v.dispose();
      return p;
    },
    reference: (x) => ({ data: optimizerRef(o, x[0].data, x.slice(1).map((g) => g.data)), shape: x[0].shape.slice() }),
    gradInputs: [],
    tol: { fwd: 1e-5 },
  };
}

const optimizerCases: OpCase[] = [
  optimizerCase('plain', { kind: 'SGD', lr: 0.1 }, 2),
  optimizerCase('momentum, dampening, weight decay', { kind: 'SGD', lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }, 3),
  optimizerCase('nesterov, weight decay', { kind: 'SGD', lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 1e-3 }, 3),
  optimizerCase('weight decay', { kind: 'Adam', lr: 0.01, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.05 }, 3),
  optimizerCase('default', { kind: 'Adam', lr: 1e-3 }, 1),
  optimizerCase('decoupled weight decay', { kind: 'AdamW', lr: 0.01, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.05 }, 3),
];

// ---- transfer ---------------------------------------------------------------------------------
let columnDevice = 'cpu';
/** The device of the column running now ('cpu' or 'cuda'). */
export function currentDevice(): string {
  return columnDevice;
}

const transferCases: OpCase[] = [
  {
    name: "to('cpu') and back",
    configs: [[{ shape: [7, 67] }], [{ shape: [1] }]],
    forward: (x) => x[0].to('cpu').mul(3).to(currentDevice()),
    reference: (x) => refUnary(x[0], (v) => 3 * v),
    gradInputs: [0],
  },
  {
    name: 'to(the column device) from a host tensor',
    configs: [[{ shape: [5, 3], host: true }], [{ shape: [129], host: true }]],
    forward: (x) => x[0].to(currentDevice()).square(),
    reference: (x) => refUnary(x[0], (v) => v * v),
    gradInputs: [0],
  },
];

// ---- fused block-causal attention ----------------------------------------------------------------
/**
 * float64 reference of causalAttention: q [B,nH,Tq,dh], k/v [B,nH,Tk,dh]; query i (position
 * i + Tk - Tq) sees key j iff floor(j/bs) <= floor(position/bs); softmax(scale q.k) v.
 */
export function attentionRef(q: Arr, k: Arr, v: Arr, tokensPerFrame: number, scale?: number): Arr {
  const [B, nH, Tq, dh] = q.shape;
  const Tk = k.shape[2];
  const sc = scale ?? 1 / Math.sqrt(dh);
  const out = new Float64Array(B * nH * Tq * dh);
  const s = new Float64Array(Tk);
  for (let bh = 0; bh < B * nH; ++bh)
    for (let i = 0; i < Tq; ++i) {
      const p = i + Tk - Tq;
      const end = Math.min(Tk, (Math.floor(p / tokensPerFrame) + 1) * tokensPerFrame);
      let mx = -Infinity;
      for (let j = 0; j < end; ++j) {
        let dot = 0;
        for (let d = 0; d < dh; ++d) dot += q.data[(bh * Tq + i) * dh + d] * k.data[(bh * Tk + j) * dh + d];
        s[j] = sc * dot;
        mx = Math.max(mx, s[j]);
      }
      let sum = 0;
      for (let j = 0; j < end; ++j) sum += (s[j] = Math.exp(s[j] - mx));
      for (let j = 0; j < end; ++j)
        for (let d = 0; d < dh; ++d) out[(bh * Tq + i) * dh + d] += (s[j] / sum) * v.data[(bh * Tk + j) * dh + d];
    }
  return { data: out, shape: [B, nH, Tq, dh] };
}

/** [B, nH, Tq, Tk, dh] -> the q, k, v input specs. */
const attentionSpecs = ([B, nH, Tq, Tk, dh]: number[]): InputSpec[] => [{ shape: [B, nH, Tq, dh] }, { shape: [B, nH, Tk, dh] }, { shape: [B, nH, Tk, dh] }];

function attentionCase(tokensPerFrame: number, scale: number | undefined, dims: number[][], slowDims: number[][]): OpCase {
  return {
    name: `causalAttention tokensPerFrame=${tokensPerFrame}${scale === undefined ? '' : ` scale=${scale}`}`,
    configs: dims.map(attentionSpecs),
    slowConfigs: slowDims.map(attentionSpecs),
    forward: (x) => wk.causalAttention(x[0], x[1], x[2], { tokensPerFrame, scale }),
    reference: (x) => attentionRef(x[0], x[1], x[2], tokensPerFrame, scale),
    gradInputs: [0, 1, 2],
  };
}

// Tile sizes crossed: the CPU's 32 queries x 64 keys, the CUDA kernels' 64 rows x 32 columns (and
// their head-size bounds 32, 64, 128: dh 33 and 65).
const attentionCases: OpCase[] = [
  // [B, nH, Tq, Tk, dh]
  attentionCase(1, undefined, [[1, 1, 7, 7, 5], [2, 3, 70, 70, 3], [1, 1, 1, 1, 1], [1, 2, 5, 9, 33]], [[1, 1, 7, 7, 5], [2, 2, 70, 70, 2], [1, 1, 3, 4, 33]]),
  // decoding against a cache: the newest frame's 3 queries, 11 keys
  attentionCase(3, undefined, [[2, 2, 3, 11, 4], [1, 2, 12, 12, 3], [1, 1, 37, 133, 9]], [[2, 2, 3, 11, 4], [1, 1, 37, 100, 3]]),
  attentionCase(17, 0.3, [[2, 1, 40, 68, 6], [1, 1, 5, 5, 65]], [[1, 1, 40, 68, 3], [1, 1, 5, 5, 65]]),
];

// ---- layer norm --------------------------------------------------------------------------------
/** float64 reference of layerNorm over the last dim: (x - mean) / sqrt(var + eps) * w + b. */
export function refLayerNorm(x: Arr, w: Arr | null, b: Arr | null, eps = 1e-5): Arr {
  const C = x.shape[x.shape.length - 1];
  const R = x.data.length / C;
  const out = new Float64Array(x.data.length);
  for (let r = 0; r < R; ++r) {
    const row = x.data.subarray(r * C, (r + 1) * C);
    const m = row.reduce((s, v) => s + v, 0) / C;
    const v = row.reduce((s, u) => s + (u - m) * (u - m), 0) / C;
    const rs = 1 / Math.sqrt(v + eps);
    for (let i = 0; i < C; ++i) out[r * C + i] = (row[i] - m) * rs * (w ? w.data[i] : 1) + (b ? b.data[i] : 0);
  }
  return { data: out, shape: x.shape.slice() };
}

/** x [..., C] (with a mean away from 0), weight and bias [C]. */
const lnSpecs = (xShape: number[], params: number): InputSpec[] => {
  const C = xShape[xShape.length - 1];
  const x: InputSpec = { shape: xShape, map: (v) => 2 + 1.5 * v };
  return [x, ...Array.from({ length: params }, () => ({ shape: [C] }))];
};

// Sizes: odd rows and columns; C = 1 (the gradient of x is exactly 0); 130 rows (several of the
// backward's row chunks for gw/gb: 32 on the CPU, 64 on CUDA); C = 1100 (past the CUDA kernels'
// warp-per-row limit of 1024: a block per row).
const layerNormCases: OpCase[] = [
  {
    name: 'layerNorm weight bias',
    configs: [lnSpecs([7, 33], 2), lnSpecs([2, 3, 1], 2), lnSpecs([2, 65, 5], 2), lnSpecs([3, 1100], 2), lnSpecs([67], 2)],
    slowConfigs: [lnSpecs([7, 33], 2), lnSpecs([2, 3, 1], 2), lnSpecs([130, 3], 2), lnSpecs([2, 1100], 2)],
    forward: (x) => wk.layerNorm(x[0], x[1], x[2]),
    reference: (x) => refLayerNorm(x[0], x[1], x[2]),
    gradInputs: [0, 1, 2],
  },
  {
    name: 'layerNorm no weight no bias',
    configs: [lnSpecs([7, 33], 0), lnSpecs([5, 1], 0), lnSpecs([2, 1100], 0)],
    slowConfigs: [lnSpecs([7, 33], 0), lnSpecs([5, 1], 0)],
    forward: (x) => wk.layerNorm(x[0], null, null),
    reference: (x) => refLayerNorm(x[0], null, null),
    gradInputs: [0],
  },
  {
    name: 'layerNorm weight only eps=0.1',
    configs: [lnSpecs([7, 33], 1), lnSpecs([130, 2], 1)],
    slowConfigs: [lnSpecs([7, 33], 1)],
    forward: (x) => wk.layerNorm(x[0], x[1], null, 0.1),
    reference: (x) => refLayerNorm(x[0], x[1], null, 0.1),
    gradInputs: [0, 1],
  },
  {
    name: 'layerNorm bias only',
    configs: [[{ shape: [3, 4, 9], map: (v) => 2 + 1.5 * v }, { shape: [9] }]],
    forward: (x) => wk.layerNorm(x[0], null, x[1]),
    reference: (x) => refLayerNorm(x[0], null, x[1]),
    gradInputs: [0, 1],
  },
];

export const opCases: OpCase[] = [
  ...binaryCases,
  ...scalarCases,
  ...unaryCases,
  ...reduceCases,
  ...lossCases,
  ...compositeCases,
  ...matmulCases,
  ...convCases,
  ...lstmCases,
  ...shapeCases,
  ...predictorCases,
  ...optimizerCases,
  ...transferCases,
  ...attentionCases,
  ...layerNormCases,
];

// ---- backend columns ----------------------------------------------------------------------------
/** A backend column of the table. */
export interface Backend {
  name: string;
  available(): boolean;
  setup(): void;
  teardown(): void;
  /** The device its inputs live on ('cpu' unless said). */
  device?: string;
  /** Runs `slowConfigs` and fewer finite-difference samples (the emulated device). */
  slow?: boolean;
}

export function setThreads(n: number): void {
  wk.setNumThreads(n);
}

/** The SIMD path the CPU kernels take uncapped (read once, before any column caps it). */
const bestIsa = wk.cpuIsa();
const ISAS = ['portable', 'avx2', 'avx512'];
const defaultCap = process.env.WORLDKIT_ISA && ISAS.includes(process.env.WORLDKIT_ISA) ? process.env.WORLDKIT_ISA : 'avx512';

function isaColumn(isa: string): Backend {
  return {
    name: `cpu (${isa})`,
    // Every path below the best one the CPU has.
    available: () => ISAS.indexOf(isa) < ISAS.indexOf(bestIsa),
    setup: () => {
      native.setIsaCap(isa);
      if (wk.cpuIsa() !== isa) throw new Error(`cpu (${isa}): setIsaCap('${isa}') left the kernels on ${wk.cpuIsa()}`);
    },
    teardown: () => native.setIsaCap(defaultCap),
  };
}

/** Whether the CUDA emulation can run here (the test addon is built). */
function emulationAvailable(): boolean {
  const was = wk.cudaEmulated();
  try {
    wk.useCudaEmulation(true);
    return wk.cudaStatus().available;
  } catch {
    return false;
  } finally {
    wk.useCudaEmulation(was);
  }
}

let savedThreads = 0;
let savedEmulation = false;
export const backends: Backend[] = [
  { name: 'cpu', available: () => true, setup: () => {}, teardown: () => {} },
  {
    name: 'cpu (1 thread)',
    available: () => true,
    setup: () => {
      savedThreads = wk.getNumThreads();
      setThreads(1);
    },
    teardown: () => setThreads(savedThreads),
  },
  isaColumn('avx2'),
  isaColumn('portable'),
  {
    name: 'cuda (emulated)',
    device: 'cuda',
    slow: true,
    available: emulationAvailable,
    setup: () => {
      savedEmulation = wk.cudaEmulated();
      wk.useCudaEmulation(true);
      columnDevice = 'cuda';
    },
    teardown: () => {
      columnDevice = 'cpu';
      wk.useCudaEmulation(savedEmulation);
    },
  },
  {
    name: 'cuda (GPU)',
    device: 'cuda',
    available: () => !wk.cudaEmulated() && wk.cudaStatus().available,
    setup: () => {
      columnDevice = 'cuda';
    },
    teardown: () => {
      columnDevice = 'cpu';
    },
  },
];
