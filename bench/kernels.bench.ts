/**
 * Single native kernels of the predictor's training step (bench/lstm.bench.ts times whole steps):
 *
 *   lstm-kernels  lstmCellForward/Backward (B=4, 32), lstmSequenceForward/Backward (T=15),
 *                 residualHeadForward/Backward (the head Linear fused with z + dz), at latent
 *                 1024, action 3 (I = 1027), H = 256
 *   losses        rowLoss MSE forward/backward at the predictor's [B·15, 1024] and the VAE's
 *                 [32, 3·64·64]; KL(N(mu, exp(logvar)) || N(0, I)) forward/backward at [32, 1024]
 *   adam          the fused Adam step over 1M and 4M parameters
 *
 * Called directly on Float32Arrays. GEMM-bound kernels report GFLOP/s; memory-bound ones GB/s
 * (bytes each call must read and write once). PyTorch runs the same cases where installed
 * (bench/peers/torch_kernels.py): nn.LSTMCell, nn.LSTM, Linear + add, F.mse_loss, optim.Adam.
 */
import { native } from '../src/backend/native';
import { BenchRow, SuiteOptions, addPeer, measure, row, runPythonPeer } from './harness';

function rand(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; ++i) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = (s / 4294967296 - 0.5) * scale;
  }
  return a;
}

type PeerCase = Record<string, unknown> & { id: string; kind: string };

function withPeers(opts: SuiteOptions, rows: BenchRow[], cases: [BenchRow, PeerCase][]): BenchRow[] {
  if (!opts.peers || cases.length === 0) return rows;
  const args = ['--threads', String(opts.threads), ...(opts.quick ? ['--quick'] : [])];
  const byId = new Map(cases.map(([r, c]) => [c.id, r]));
  for (const res of runPythonPeer('torch_kernels.py', args, opts.threads, cases.map(([, c]) => c), opts.log)) {
    const r = byId.get(String(res.id));
    if (r && typeof res.ms === 'number') addPeer(r, 'PyTorch', res.ms);
    else if (r && res.error) r.note = `PyTorch: ${String(res.error).slice(0, 80)}`;
  }
  return rows;
}

export function lstmKernelsBench(opts: SuiteOptions): BenchRow[] {
  const I = 1027, H = 256, D = 1024, T = 15;
  const rows: BenchRow[] = [];
  const cases: [BenchRow, PeerCase][] = [];
  const q = { quick: opts.quick };
  const wih = rand(4 * H * I, 1, 0.05), whh = rand(4 * H * H, 2, 0.05), bih = rand(4 * H, 3), bhh = rand(4 * H, 4);
  const dwih = new Float32Array(wih.length), dwhh = new Float32Array(whh.length);
  const dbih = new Float32Array(4 * H), dbhh = new Float32Array(4 * H);
  for (const B of [4, 32]) {
    const shape = `B=${B} I=${I} H=${H}`;
    const x = rand(B * I, 5), h = rand(B * H, 6), c = rand(B * H, 7);
    const gates = new Float32Array(B * 4 * H), cNew = new Float32Array(B * H), hNew = new Float32Array(B * H), tanhC = new Float32Array(B * H);
    const dh2 = rand(B * H, 8), dc2 = rand(B * H, 9);
    const dx = new Float32Array(B * I), dh = new Float32Array(B * H), dc = new Float32Array(B * H);
    const flops = 2 * B * 4 * H * (I + H);
    const fwd = () => native.lstmCellForward(x, h, c, wih, whh, bih, bhh, B, I, H, gates, cNew, hNew, tanhC);
    fwd();
    const rf = row('lstm-kernels', 'lstmCellForward', shape, measure('cell fwd', fwd, q), { flops });
    const rb = row(
      'lstm-kernels',
      'lstmCellBackward',
      shape,
      measure('cell bwd', () => native.lstmCellBackward(x, h, c, wih, whh, gates, tanhC, dh2, dc2, B, I, H, dx, dh, dc, dwih, dwhh, dbih, dbhh, null), q),
      { flops: 2 * flops },
    );
    rows.push(rf, rb);
    cases.push([rf, { id: `cell-fwd-${B}`, kind: 'lstm_cell_fwd', B, I, H }], [rb, { id: `cell-bwd-${B}`, kind: 'lstm_cell_bwd', B, I, H }]);
  }
  for (const B of [4, 32]) {
    const shape = `T=${T} B=${B} I=${I} H=${H}`;
    const rowsN = T * B;
    const x = rand(rowsN * I, 10), y = new Float32Array(rowsN * H), gates = new Float32Array(rowsN * 4 * H);
    const tanhC = new Float32Array(rowsN * H), cs = new Float32Array((T + 1) * B * H), hN = new Float32Array(B * H), cN = new Float32Array(B * H);
    const dy = rand(rowsN * H, 11), dx = new Float32Array(rowsN * I);
    const flops = 2 * rowsN * 4 * H * (I + H);
    const fwd = () => native.lstmSequenceForward(x, null, null, wih, whh, bih, bhh, T, B, I, H, true, y, gates, tanhC, cs, hN, cN);
    fwd();
    const rf = row('lstm-kernels', 'lstmSequenceForward', shape, measure('seq fwd', fwd, q), { flops });
    const bwd = () =>
      native.lstmSequenceBackward(x, null, y, gates, tanhC, cs, wih, whh, dy, null, null, T, B, I, H, true, dx, null, null, dwih, dwhh, dbih, dbhh);
    const rb = row('lstm-kernels', 'lstmSequenceBackward (BPTT)', shape, measure('seq bwd', bwd, q), { flops: 2 * flops });
    rows.push(rf, rb);
    cases.push([rf, { id: `seq-fwd-${B}`, kind: 'lstm_seq_fwd', T, B, I, H }], [rb, { id: `seq-bwd-${B}`, kind: 'lstm_seq_bwd', T, B, I, H }]);
  }
  for (const B of [4, 32]) {
    const R = B * T;
    const shape = `R=${R} D=${D} K=${H}`;
    const z = rand(R * D, 12), h = rand(R * H, 13), W = rand(D * H, 14, 0.05), b = rand(D, 15), out = new Float32Array(R * D);
    const dout = rand(R * D, 16), dh = new Float32Array(R * H), dW = new Float32Array(D * H), db = new Float32Array(D);
    const flops = 2 * R * D * H;
    const rf = row('lstm-kernels', 'residualHeadForward (z + h·Wᵀ + b)', shape, measure('head fwd', () => native.residualHeadForward(z, h, W, b, R, D, H, out), q), { flops });
    const rb = row('lstm-kernels', 'residualHeadBackward', shape, measure('head bwd', () => native.residualHeadBackward(h, W, dout, R, D, H, dh, dW, db), q), {
      flops: 2 * flops,
    });
    rows.push(rf, rb);
    cases.push([rf, { id: `head-fwd-${B}`, kind: 'head_fwd', R, D, K: H }], [rb, { id: `head-bwd-${B}`, kind: 'head_bwd', R, D, K: H }]);
  }
  return withPeers(opts, rows, cases);
}

export function lossesBench(opts: SuiteOptions): BenchRow[] {
  const rows: BenchRow[] = [];
  const cases: [BenchRow, PeerCase][] = [];
  const q = { quick: opts.quick };
  for (const [what, B, D] of [['predictor latents', 32 * 15, 1024], ['VAE reconstruction', 32, 3 * 64 * 64]] as const) {
    const n = B * D;
    const a = rand(n, 1), t = rand(n, 2), out = new Float32Array(B), gRow = new Float32Array(B).fill(1), ga = new Float32Array(n);
    const shape = `[${B},${D}] (${what})`;
    const rf = row('losses', 'mse forward', shape, measure('mse fwd', () => native.rowLossForward(0, a, t, B, D, 1 / D, out), q), { bytes: 8 * n });
    const rb = row('losses', 'mse backward', shape, measure('mse bwd', () => native.rowLossBackward(0, a, t, B, D, gRow, 1 / D, ga, null), q), {
      bytes: 12 * n,
    });
    rows.push(rf, rb);
    cases.push([rf, { id: `mse-fwd-${B}`, kind: 'mse_fwd', B, D }], [rb, { id: `mse-bwd-${B}`, kind: 'mse_bwd', B, D }]);
  }
  {
    const B = 32, D = 1024, n = B * D;
    const mu = rand(n, 3), lv = rand(n, 4), kl = new Float32Array(B), gRow = new Float32Array(B).fill(1);
    const gmu = new Float32Array(n), glv = new Float32Array(n);
    const shape = `[${B},${D}] (VAE latent)`;
    rows.push(
      row('losses', 'KL normal forward', shape, measure('kl fwd', () => native.klNormalForward(mu, lv, B, D, kl), q), { bytes: 8 * n }),
      row('losses', 'KL normal backward', shape, measure('kl bwd', () => native.klNormalBackward(mu, lv, B, D, kl, 0, gRow, 1 / B, gmu, glv), q), {
        bytes: 16 * n,
      }),
    );
  }
  return withPeers(opts, rows, cases);
}

export function adamBench(opts: SuiteOptions): BenchRow[] {
  const rows: BenchRow[] = [];
  const cases: [BenchRow, PeerCase][] = [];
  for (const n of [1 << 20, 4 << 20]) {
    const p = rand(n, 1), g = rand(n, 2), m = new Float32Array(n), v = new Float32Array(n);
    let step = 0;
    const t = measure(
      'adam',
      () => {
        step++;
        native.adamStep(p, g, m, v, 1e-4, 0.9, 0.999, 1e-8, 0, false, 1 - 0.9 ** step, 1 - 0.999 ** step);
      },
      { quick: opts.quick },
    );
    const r = row('adam', 'adamStep (fused)', `${n >> 20}M params`, t, { bytes: 7 * 4 * n, items: n, itemUnit: 'params' });
    rows.push(r);
    cases.push([r, { id: `adam-${n}`, kind: 'adam', n }]);
  }
  return withPeers(opts, rows, cases);
}
