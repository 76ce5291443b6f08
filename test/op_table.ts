/**
 * The op table: one entry per op case, run by test/op_table.test.ts on every backend present.
 *
 * A case names its input configurations (shapes and value domains), the forward in worldkit, a
 * plain float64 JS reference, and which inputs get a finite-difference gradient check. Other
 * op families add their cases by appending to `opCases` (or exporting their own table and
 * running it with `runOpTable` from op_table.test.ts).
 */
import * as wk from '../src';

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
}

export interface OpCase {
  name: string;
  configs: InputSpec[][];
  forward: (xs: wk.Tensor[]) => wk.Tensor;
  reference: (xs: Arr[]) => Arr;
  /** Indices of inputs whose gradient is checked against central finite differences. */
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
    forward: (x: wk.Tensor[]) => wk.losses.mseLoss(x[0], x[1], { reduction }),
    reference: (x: Arr[]) => refRowLoss(x[0], x[1], mseTerm, reduction),
    gradInputs: [0, 1],
  })),
  ...(['mean', 'sum', 'none'] as const).map((reduction) => ({
    name: `bceWithLogits ${reduction}`,
    configs: LOSS_CONFIGS.map(([a, t]) => [{ ...a, map: (v: number) => 3 * v }, { ...t, map: unit }]),
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

const compositeCases: OpCase[] = [
  {
    name: 'composite: mean(sigmoid(a * b + c))',
    configs: [[{ shape: [7, 67] }, { shape: [67] }, { shape: [7, 1] }]],
    forward: (x) => x[0].mul(x[1]).add(x[2]).sigmoid().mean(0),
    reference: (x) => refReduce(refUnary(refBinary(refBinary(x[0], x[1], (a, b) => a * b), x[2], (a, b) => a + b), sigmoid), [0], false, true),
    gradInputs: [0, 1, 2],
  },
];

export const opCases: OpCase[] = [...binaryCases, ...scalarCases, ...unaryCases, ...reduceCases, ...lossCases, ...compositeCases];

/** A backend column: today the CPU (all threads, and one thread); a CUDA-emulation column can be added. */
export interface Backend {
  name: string;
  available(): boolean;
  setup(): void;
  teardown(): void;
  /** Moves a freshly made input to this backend's device (default: stays on the CPU). */
  toDevice?(t: wk.Tensor): wk.Tensor;
}

export function setThreads(n: number): void {
  wk.setNumThreads(n);
}

let savedThreads = 0;
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
];
