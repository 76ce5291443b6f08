/**
 * Block-causal scaled dot-product attention as one fused op (cpp/attention.h, cuda/attention.cu),
 * recorded on the autograd tape with one backward:
 *
 *   causalAttention(q [B,nH,Tq,dh], k [B,nH,Tk,dh], v [B,nH,Tk,dh], { tokensPerFrame, scale })
 *     -> o [B,nH,Tq,dh],  o_i = sum_j softmax_j(scale * q_i . k_j) v_j over the keys query i sees.
 *
 * Query i sits at absolute position p = i + (Tk - Tq) and sees key j iff
 * floor(j / tokensPerFrame) <= floor(p / tokensPerFrame): tokensPerFrame = 1 is ordinary causal
 * attention; with a frame's tokens grouped, each token sees its whole frame and every earlier
 * frame. Tq = Tk is training (one parallel pass); Tq < Tk is KV-cache decoding (the newest
 * frame's queries against every cached key), so an imagined step costs one token block.
 *
 * The kernels never store the [Tq, Tk] score matrix: the forward keeps the per-row logsumexp
 * (tied to the output's storage, freed with it) and the backward recomputes the scores from it
 * tile by tile (FlashAttention-2). The default scale is 1 / sqrt(dh), as PyTorch's.
 */
import { checkInt, checkNumber, fmtShape, rangeError, typeError } from '../errors';
import type { AttentionDims } from '../backend/backend';
import { Tensor, checkTensor } from '../tensor/tensor';
import { record } from '../autograd/tape';
import { isGradEnabled } from '../autograd/grad_mode';
import { backendOf } from '../tensor/placement';
import { checkFloat32 } from './elementwise';

export interface CausalAttentionOptions {
  /** Tokens per frame: keys are visible frame by frame (default 1: ordinary causal attention). */
  tokensPerFrame?: number;
  /** Score scale (default 1 / sqrt(dh)). */
  scale?: number;
  /**
   * Decoding from a preallocated KV cache: k and v are [B,nH,capacity,dh] buffers of which only
   * the first keyLength positions hold keys (default: all of them). No backward: without
   * gradients only (noGrad), as in a rollout.
   */
  keyLength?: number;
}

function check4d(fn: string, arg: string, t: Tensor, layout: string): void {
  checkTensor(fn, arg, t);
  if (t.ndim !== 4) throw rangeError(fn, `${arg} must be ${layout}, got ${fmtShape(t.shape)}`);
  checkFloat32(fn, arg, t);
}

/** Fused block-causal attention; see the module comment. */
export function causalAttention(q: Tensor, k: Tensor, v: Tensor, opts: CausalAttentionOptions = {}): Tensor {
  const fn = 'causalAttention';
  check4d(fn, 'q', q, '[B,nH,Tq,dh]');
  check4d(fn, 'k', k, '[B,nH,Tk,dh]');
  check4d(fn, 'v', v, '[B,nH,Tk,dh]');
  if (opts === null || typeof opts !== 'object') throw typeError(fn, 'opts', 'an object', opts);
  const [B, nH, Tq, dh] = q.shape;
  const capacity = k.shape[2];
  const Tk = opts.keyLength === undefined ? capacity : checkInt(fn, 'keyLength', opts.keyLength, 1, capacity);
  if (k.shape[0] !== B || k.shape[1] !== nH || k.shape[3] !== dh)
    throw rangeError(fn, `k must be [${B},${nH},Tk,${dh}] (q is ${fmtShape(q.shape)}), got ${fmtShape(k.shape)}`);
  if (v.shape.some((d, i) => d !== k.shape[i])) throw rangeError(fn, `v must have k's shape ${fmtShape(k.shape)}, got ${fmtShape(v.shape)}`);
  if (Tq > Tk) throw rangeError(fn, `q has more positions than k (Tq = ${Tq} > Tk = ${Tk}): the queries must be the last Tq of the keys' positions`);
  if (dh < 1) throw rangeError(fn, `the head size dh must be at least 1, got ${fmtShape(q.shape)}`);
  const tokensPerFrame = checkInt(fn, 'tokensPerFrame', opts.tokensPerFrame ?? 1, 1);
  const scale = checkNumber(fn, 'scale', opts.scale ?? 1 / Math.sqrt(dh));
  const be = backendOf(fn, [['q', q], ['k', k], ['v', v]]);
  if (Tk < capacity && isGradEnabled() && (q.requiresGrad || k.requiresGrad || v.requiresGrad))
    throw rangeError(fn, `keyLength ${Tk} < the ${capacity} positions of k (a KV cache) has no backward: decode under noGrad, or pass k and v of exactly the keys`);
  const d: AttentionDims = { BH: B * nH, Tq, Tk, dh, tokensPerFrame, scale, ...(Tk < capacity ? { kvRows: capacity } : {}) };
  const out = Tensor.on(be, [B, nH, Tq, dh], 'float32', false, fn);
  // The per-row logsumexp, saved for backward with the output's storage.
  const lse = be.alloc('float32', d.BH * Tq, false, fn);
  out._storage.attach(lse, d.BH * Tq * 4);
  try {
    be.attentionForward(q.buf(fn, 'q'), k.buf(fn, 'k'), v.buf(fn, 'v'), out._buf, lse, d);
  } catch (e) {
    out.dispose(); // a kernel's refusal (e.g. a head size the device kernels do not take) leaks nothing
    throw e;
  }
  return record(out, fn, [q, k, v], (g) => {
    const bf = `${fn} backward`;
    const grad = (t: Tensor) => (t.requiresGrad ? Tensor.on(be, t.shape.slice(), 'float32', false, bf) : null);
    const gq = grad(q), gk = grad(k), gv = grad(v);
    be.attentionBackward(q.buf(bf, 'q'), k.buf(bf, 'k'), v.buf(bf, 'v'), out.buf(bf, 'output'), lse, g.buf(bf, 'gradient'), d,
      gq?._buf ?? null, gk?._buf ?? null, gv?._buf ?? null);
    return [gq, gk, gv];
  });
}
