/**
 * Convolution kernels at the ConvVAE's shapes (default layout, 64x64x3 frames, B=32): every
 * encoder Conv2d(4x4, stride 2, pad 1), the 3x3 latent head, and every decoder ConvTranspose2d,
 * forward and backward (the backward computes input, weight and bias gradients, except the first
 * layer's input gradient, which the VAE never needs). The native kernels are called directly on
 * Float32Arrays (no tensor or tape overhead), and PyTorch's F.conv2d / conv_transpose2d /
 * aten.convolution_backward run the same cases (bench/peers/torch_kernels.py).
 *
 * FLOPs: forward 2·N·Cout·Ho·Wo·Cin·k² (conv) or 2·N·Cin·H·W·Cout·k² (transposed); backward twice
 * that (input and weight gradients), once where the input gradient is skipped.
 */
import { native } from '../src/backend/native';
import { BenchRow, SuiteOptions, addPeer, measure, row, runPythonPeer } from './harness';

interface ConvCase {
  name: string;
  transposed: boolean;
  Cin: number;
  Cout: number;
  H: number;
  k: number;
  s: number;
  p: number;
  gx: boolean;
}

const LAYERS: ConvCase[] = [
  { name: 'encoder.0', transposed: false, Cin: 3, Cout: 32, H: 64, k: 4, s: 2, p: 1, gx: false },
  { name: 'encoder.1', transposed: false, Cin: 32, Cout: 64, H: 32, k: 4, s: 2, p: 1, gx: true },
  { name: 'encoder.2', transposed: false, Cin: 64, Cout: 128, H: 16, k: 4, s: 2, p: 1, gx: true },
  { name: 'encoder.3', transposed: false, Cin: 128, Cout: 256, H: 8, k: 4, s: 2, p: 1, gx: true },
  { name: 'mu head', transposed: false, Cin: 256, Cout: 64, H: 4, k: 3, s: 1, p: 1, gx: true },
  { name: 'decoder.0', transposed: true, Cin: 256, Cout: 128, H: 4, k: 4, s: 2, p: 1, gx: true },
  { name: 'decoder.1', transposed: true, Cin: 128, Cout: 64, H: 8, k: 4, s: 2, p: 1, gx: true },
  { name: 'decoder.2', transposed: true, Cin: 64, Cout: 32, H: 16, k: 4, s: 2, p: 1, gx: true },
  { name: 'decoder.3', transposed: true, Cin: 32, Cout: 3, H: 32, k: 4, s: 2, p: 1, gx: true },
];

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; ++i) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

export function convBench(opts: SuiteOptions, N = 32): BenchRow[] {
  const rows: BenchRow[] = [];
  const peerCases: Record<string, unknown>[] = [];
  const rowById = new Map<string, BenchRow>();
  for (const L of LAYERS) {
    const { Cin, Cout, H, k, s, p } = L;
    const Ho = L.transposed ? (H - 1) * s - 2 * p + k : Math.floor((H + 2 * p - k) / s) + 1;
    const x = rand(N * Cin * H * H, 1);
    const w = rand(Cin * Cout * k * k, 2).map((v) => v * 0.1);
    const b = rand(Cout, 3);
    const y = new Float32Array(N * Cout * Ho * Ho);
    const gy = rand(y.length, 4);
    const gx = L.gx ? new Float32Array(x.length) : null;
    const gw = new Float32Array(w.length);
    const gb = new Float32Array(Cout);
    const macs = L.transposed ? N * Cin * H * H * Cout * k * k : N * Cout * Ho * Ho * Cin * k * k;
    const shape = `N=${N} ${Cin}→${Cout} ${H}→${Ho} k${k}s${s}`;
    const op = L.transposed ? 'convTranspose2d' : 'conv2d';
    const dims = L.transposed ? [N, Cin, H, H, Cout, k, k, s, s, p, p, 0, 0] : [N, Cin, H, H, Cout, k, k, s, s, p, p];
    const fwd = native[`${op}Forward`], bwd = native[`${op}Backward`];
    const tf = measure(`${op} fwd ${L.name}`, () => fwd(x, w, b, y, ...dims), { quick: opts.quick });
    const tb = measure(`${op} bwd ${L.name}`, () => bwd(x, w, gy, gx, gw, gb, ...dims), { quick: opts.quick });
    const rf = row('conv', `${op} forward (${L.name})`, shape, tf, { flops: 2 * macs });
    const rb = row('conv', `${op} backward (${L.name})${L.gx ? '' : ', no dx'}`, shape, tb, { flops: (L.gx ? 4 : 2) * macs });
    rows.push(rf, rb);
    const kind = L.transposed ? 'convT' : 'conv2d';
    const params = L.transposed ? { N, Cin, H, W: H, Cout, k, s, p } : { N, C: Cin, H, W: H, K: Cout, k, s, p, gx: L.gx };
    for (const [suffix, r] of [['fwd', rf], ['bwd', rb]] as const) {
      const id = `${L.name}-${suffix}`;
      peerCases.push({ id, kind: `${kind}_${suffix}`, ...params });
      rowById.set(id, r);
    }
  }
  if (opts.peers) {
    const args = ['--threads', String(opts.threads), ...(opts.quick ? ['--quick'] : [])];
    for (const res of runPythonPeer('torch_kernels.py', args, opts.threads, peerCases, opts.log)) {
      const r = rowById.get(String(res.id));
      if (r && typeof res.ms === 'number') addPeer(r, 'PyTorch', res.ms);
      else if (r && res.error) r.note = `PyTorch: ${String(res.error).slice(0, 80)}`;
    }
  }
  return rows;
}
