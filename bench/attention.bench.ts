/**
 * Fused block-causal attention (cpp/attention.h) at the Transformer predictor's shapes: B=16
 * sequences, 4 heads, 16 frames of 17 tokens (16 latent tokens + an action token: T = 272), head
 * size 32, keys visible frame by frame (tokensPerFrame 17). Forward, and forward + backward (the
 * gradients of q, k and v), of worldkit's fused kernel (online softmax, the scores never stored)
 * and of the plain reference that materialises them (cpp/attention.cpp), both called directly on
 * Float32Arrays; plus the KV-cache decoding step (the newest frame's 17 queries against the 272
 * cached keys). The PyTorch peer (bench/peers/torch_attention.py) computes softmax(QKᵀ·scale +
 * mask)V with matmuls and autograd, the reference formulation without scaled_dot_product_attention.
 *
 * FLOPs count the useful work of the visible (query, key) pairs only, the same for every
 * implementation: forward 4·dh per pair (QKᵀ and PV), forward + backward 3.5x that (the backward's
 * dV, dP, dS·K and dSᵀ·Q are 2.5x the forward; the fused backward's recomputed scores are not counted).
 */
import { native } from '../src/backend/native';
import { BenchRow, SuiteOptions, addPeer, measure, row, runPythonPeer, torchVersion } from './harness';

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; ++i) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

/** Visible (query, key) pairs of one head: query i at position i + Tk - Tq sees keys [0, end(i)). */
export function visiblePairs(Tq: number, Tk: number, tokensPerFrame: number): number {
  let n = 0;
  for (let i = 0; i < Tq; ++i) n += Math.min(Tk, (Math.floor((i + Tk - Tq) / tokensPerFrame) + 1) * tokensPerFrame);
  return n;
}

interface AttentionCase {
  id: string;
  B: number;
  nH: number;
  Tq: number;
  Tk: number;
  dh: number;
  bs: number;
  backward: boolean;
}

export function attentionBench(opts: SuiteOptions): BenchRow[] {
  const rows: BenchRow[] = [];
  const B = 16, nH = 4, bs = 17, T = 16 * bs, dh = 32;
  const cases: AttentionCase[] = [
    { id: 'train-fwd', B, nH, Tq: T, Tk: T, dh, bs, backward: false },
    { id: 'train-fwdbwd', B, nH, Tq: T, Tk: T, dh, bs, backward: true },
    { id: 'decode-fwd', B, nH, Tq: bs, Tk: T, dh, bs, backward: false },
  ];
  const peerCases: Record<string, unknown>[] = [];
  const rowsById = new Map<string, BenchRow[]>();
  for (const c of cases) {
    const BH = c.B * c.nH, scale = 1 / Math.sqrt(c.dh);
    const q = rand(BH * c.Tq * c.dh, 1), k = rand(BH * c.Tk * c.dh, 2), v = rand(BH * c.Tk * c.dh, 3), go = rand(BH * c.Tq * c.dh, 4);
    const o = new Float32Array(q.length), lse = new Float32Array(BH * c.Tq);
    const gq = new Float32Array(q.length), gk = new Float32Array(k.length), gv = new Float32Array(v.length);
    const dims = [BH, c.Tq, c.Tk, c.dh, c.bs, scale];
    const fwdFlops = 4 * c.dh * BH * visiblePairs(c.Tq, c.Tk, c.bs);
    const flops = c.backward ? 3.5 * fwdFlops : fwdFlops;
    const shape = `B=${c.B} nH=${c.nH} Tq=${c.Tq} Tk=${c.Tk} dh=${c.dh} frame=${c.bs}`;
    const what = c.backward ? 'forward+backward' : 'forward';
    const mine: BenchRow[] = [];
    for (const [impl, fwdName, bwdName] of [
      ['fused', 'attentionForward', 'attentionBackward'],
      ['plain reference', 'attentionForwardReference', 'attentionBackwardReference'],
    ] as const) {
      if (impl === 'plain reference' && c.id === 'decode-fwd') continue;
      const fwd = native[fwdName], bwd = native[bwdName];
      const call = c.backward
        ? () => {
            fwd(q, k, v, o, lse, ...dims);
            bwd(q, k, v, o, lse, go, ...dims, gq, gk, gv);
          }
        : () => fwd(q, k, v, o, lse, ...dims);
      const t = measure(`attention ${impl} ${what} ${c.id}`, call, { quick: opts.quick });
      const op = `causalAttention ${what}${c.id.startsWith('decode') ? ' (KV-cache decode step)' : ''}, ${impl}`;
      const r = row('attention', op, shape, t, { flops });
      rows.push(r);
      mine.push(r);
    }
    rowsById.set(c.id, mine);
    peerCases.push({ id: c.id, B: c.B, nH: c.nH, Tq: c.Tq, Tk: c.Tk, dh: c.dh, tokensPerFrame: c.bs, backward: c.backward });
  }
  if (opts.peers) {
    if (!torchVersion()) {
      opts.log('PyTorch peer torch_attention.py skipped: torch not installed');
      for (const r of rows) r.note = 'PyTorch peer skipped: torch not installed';
    } else {
      const args = ['--threads', String(opts.threads), ...(opts.quick ? ['--quick'] : [])];
      for (const res of runPythonPeer('torch_attention.py', args, opts.threads, peerCases, opts.log)) {
        for (const r of rowsById.get(String(res.id)) ?? []) {
          if (typeof res.ms === 'number') addPeer(r, 'PyTorch softmax(QKᵀ)V', res.ms);
          else if (res.error) r.note = `PyTorch: ${String(res.error).slice(0, 80)}`;
        }
      }
    }
  }
  return rows;
}

if (require.main === module) {
  const threads = Number(process.env.WORLDKIT_NUM_THREADS) || require('os').cpus().length;
  const rows = attentionBench({ quick: process.argv.includes('--quick'), threads, device: 'cpu', peers: !process.argv.includes('--no-peers'), log: console.log });
  for (const r of rows) {
    const gf = r.flops ? (r.flops / (r.ms * 1e6)).toFixed(1) : '-';
    const peer = (r.peers ?? []).map((p) => `${p.peer} ${p.ms.toFixed(2)} ms (${p.ratio.toFixed(2)}x)`).join('; ');
    console.log(`${r.op} | ${r.shape} | ${r.ms.toFixed(2)} ms | ${gf} GFLOP/s${peer ? ' | ' + peer : ''}${r.note ? ' | ' + r.note : ''}`);
  }
}
