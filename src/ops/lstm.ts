/**
 * LSTM ops over the fused native kernels (cpp/lstm.h), recorded on the autograd tape:
 *
 *   lstmCell(x, h, c, W_ih, W_hh, b_ih, b_hh)          -> [h', c']        (one native call each way)
 *   lstmSequence(x, h0, c0, W_ih, W_hh, b_ih, b_hh, bf) -> [y, hN, cN]    (teacher forcing: the whole
 *                                                          sequence forward, and backward through time,
 *                                                          are one native call each)
 *   residualHead(z, h, W, b)                            -> z + h·Wᵀ + b   (the predictor's head fused
 *                                                          with the residual update)
 *   lstmGates(pre, c)                                   -> [h', c']        (the gates' pointwise pass
 *                                                          alone, on pre-activations formed by the
 *                                                          caller: a ConvLSTM's gate convolution)
 *
 * PyTorch layout: W_ih [4H,I], W_hh [4H,H], b_ih/b_hh [4H], gate order i, f, g, o. A null h/c
 * (or h0/c0) means zeros; a null bias means none.
 *
 * Ops with several outputs record one packed tensor and hand out views of it (each view's
 * backward places its gradient in the packed gradient), so the engine sums the gradients of
 * the outputs that are used and the fused backward runs once. What backward needs (activated
 * gates, tanh(c), cell states) is kept in buffers of the backend tied to the packed output's
 * storage, so they are freed with it.
 */
import { fmtShape, rangeError } from '../errors';
import type { Backend, Buffer, LstmWeightBuffers, LstmWeightGrads } from '../backend/backend';
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { isGradEnabled } from '../autograd/grad_mode';
import { record } from '../autograd/tape';
import { backendOf } from '../tensor/placement';
import { checkFloat32 } from './elementwise';

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function expectShape(fn: string, arg: string, t: Tensor, shape: number[]): void {
  if (!sameShape(t.shape, shape)) throw rangeError(fn, `${arg} must have shape ${fmtShape(shape)}, got ${fmtShape(t.shape)}`);
}

/** Views of a packed output, each recorded so its gradient lands at its offset. */
function unpack(be: Backend, packed: Tensor, parts: { shape: number[]; offset: number }[]): Tensor[] {
  return parts.map(({ shape, offset }) => {
    const n = shapeSize(shape);
    const v = packed._viewAt(shape, offset, 'unpack');
    return record(v, 'unpack', [packed], (g) => {
      const bf = 'unpack backward';
      const gp = Tensor.on(be, packed.shape.slice(), 'float32', true, bf);
      be.copy(be.view(gp._buf, 'float32', offset, n, bf), g.buf(bf, 'gradient'), n, 'float32', bf);
      return [gp];
    });
  });
}

/** A buffer saved for backward, tied to `owner`'s storage (freed with it). */
function saved(be: Backend, owner: Tensor, n: number, fn: string): Buffer {
  const b = be.alloc('float32', n, false, fn);
  owner._storage.attach(b, n * 4);
  return b;
}

interface LstmWeights {
  wih: Tensor;
  whh: Tensor;
  bih: Tensor | null;
  bhh: Tensor | null;
}

function checkWeights(fn: string, I: number, w: LstmWeights): number {
  checkTensor(fn, 'weight_ih', w.wih);
  checkTensor(fn, 'weight_hh', w.whh);
  if (w.whh.ndim !== 2 || w.whh.shape[0] !== 4 * w.whh.shape[1] || w.whh.shape[1] < 1)
    throw rangeError(fn, `weight_hh must be [4H,H], got ${fmtShape(w.whh.shape)}`);
  const H = w.whh.shape[1];
  expectShape(fn, 'weight_ih', w.wih, [4 * H, I]);
  if (w.bih) expectShape(fn, 'bias_ih', checkTensor(fn, 'bias_ih', w.bih), [4 * H]);
  if (w.bhh) expectShape(fn, 'bias_hh', checkTensor(fn, 'bias_hh', w.bhh), [4 * H]);
  return H;
}

/** The weights' gradient tensors wanted by backward (null where an input needs none). */
function weightGrads(be: Backend, w: LstmWeights, H: number, I: number, fn: string) {
  const t = (shape: number[]) => Tensor.on(be, shape, 'float32', false, fn);
  return {
    wih: w.wih.requiresGrad ? t([4 * H, I]) : null,
    whh: w.whh.requiresGrad ? t([4 * H, H]) : null,
    bih: w.bih && w.bih.requiresGrad ? t([4 * H]) : null,
    bhh: w.bhh && w.bhh.requiresGrad ? t([4 * H]) : null,
  };
}

function gradBuffers(gw: ReturnType<typeof weightGrads>): LstmWeightGrads {
  return { wih: gw.wih?._buf ?? null, whh: gw.whh?._buf ?? null, bih: gw.bih?._buf ?? null, bhh: gw.bhh?._buf ?? null };
}

function weightBuffers(w: LstmWeights, fn: string): LstmWeightBuffers {
  return {
    wih: w.wih.buf(fn, 'weight_ih'),
    whh: w.whh.buf(fn, 'weight_hh'),
    bih: w.bih ? w.bih.buf(fn, 'bias_ih') : null,
    bhh: w.bhh ? w.bhh.buf(fn, 'bias_hh') : null,
  };
}

const bufOf = (t: Tensor | null | undefined, fn: string, arg: string): Buffer | null => (t ? t.buf(fn, arg) : null);

/**
 * One LSTM step: x [B,I], h/c [B,H] (null: zeros) -> [h', c'], each [B,H].
 */
export function lstmCell(
  x: Tensor,
  h: Tensor | null,
  c: Tensor | null,
  wih: Tensor,
  whh: Tensor,
  bih: Tensor | null = null,
  bhh: Tensor | null = null,
): [Tensor, Tensor] {
  const fn = 'lstmCell';
  checkTensor(fn, 'x', x);
  if (x.ndim !== 2) throw rangeError(fn, `x must be [B,I], got ${fmtShape(x.shape)}`);
  const [B, I] = x.shape;
  const w = { wih, whh, bih, bhh };
  const H = checkWeights(fn, I, w);
  if (h) expectShape(fn, 'h', checkTensor(fn, 'h', h), [B, H]);
  if (c) expectShape(fn, 'c', checkTensor(fn, 'c', c), [B, H]);
  checkFloat32(fn, 'x', x);
  const be = backendOf(fn, [['x', x], ['h', h], ['c', c], ['weight_ih', wih], ['weight_hh', whh], ['bias_ih', bih], ['bias_hh', bhh]]);
  const xd = x.buf(fn, 'x');
  const hd = bufOf(h, fn, 'h');
  const cd = bufOf(c, fn, 'c');
  const wb = weightBuffers(w, fn);
  const packed = Tensor.on(be, [2 * B * H], 'float32', false, fn);
  const gates = saved(be, packed, B * 4 * H, fn);
  const tanhC = saved(be, packed, B * H, fn);
  const hNew = be.view(packed._buf, 'float32', 0, B * H, fn);
  const cNew = be.view(packed._buf, 'float32', B * H, B * H, fn);
  be.lstmCellForward(xd, hd, cd, wb, B, I, H, gates, cNew, hNew, tanhC);
  if (isGradEnabled()) {
    const inputs: Tensor[] = [x, wih, whh];
    if (h) inputs.push(h);
    if (c) inputs.push(c);
    if (bih) inputs.push(bih);
    if (bhh) inputs.push(bhh);
    record(packed, fn, inputs, (g) => {
      const bf = 'lstmCell backward';
      const gd = g.buf(bf, 'gradient');
      const dx = x.requiresGrad ? Tensor.on(be, [B, I], 'float32', false, bf) : null;
      const dh = h && h.requiresGrad ? Tensor.on(be, [B, H], 'float32', false, bf) : null;
      const dc = c && c.requiresGrad ? Tensor.on(be, [B, H], 'float32', false, bf) : null;
      const gw = weightGrads(be, w, H, I, bf);
      be.lstmCellBackward(xd, hd, cd, weightBuffers(w, bf), gates, tanhC, be.view(gd, 'float32', 0, B * H, bf), be.view(gd, 'float32', B * H, B * H, bf), B, I, H,
        dx?._buf ?? null, dh?._buf ?? null, dc?._buf ?? null, gradBuffers(gw));
      const out: (Tensor | null)[] = [dx, gw.wih, gw.whh];
      if (h) out.push(dh);
      if (c) out.push(dc);
      if (bih) out.push(gw.bih);
      if (bhh) out.push(gw.bhh);
      return out;
    });
  }
  const [ho, co] = unpack(be, packed, [
    { shape: [B, H], offset: 0 },
    { shape: [B, H], offset: B * H },
  ]);
  return [ho, co];
}

/**
 * A whole LSTM layer over a sequence (teacher forcing): x [T,B,I] (or [B,T,I] with batchFirst),
 * h0/c0 [B,H] (null: zeros) -> [y [T,B,H] (or [B,T,H]), hN [B,H], cN [B,H]].
 */
export function lstmSequence(
  x: Tensor,
  h0: Tensor | null,
  c0: Tensor | null,
  wih: Tensor,
  whh: Tensor,
  bih: Tensor | null = null,
  bhh: Tensor | null = null,
  batchFirst = false,
): [Tensor, Tensor, Tensor] {
  const fn = 'lstmSequence';
  checkTensor(fn, 'x', x);
  if (x.ndim !== 3) throw rangeError(fn, `x must be ${batchFirst ? '[B,T,I]' : '[T,B,I]'}, got ${fmtShape(x.shape)}`);
  const T = batchFirst ? x.shape[1] : x.shape[0];
  const B = batchFirst ? x.shape[0] : x.shape[1];
  const I = x.shape[2];
  const w = { wih, whh, bih, bhh };
  const H = checkWeights(fn, I, w);
  if (h0) expectShape(fn, 'h0', checkTensor(fn, 'h0', h0), [B, H]);
  if (c0) expectShape(fn, 'c0', checkTensor(fn, 'c0', c0), [B, H]);
  checkFloat32(fn, 'x', x);
  const be = backendOf(fn, [['x', x], ['h0', h0], ['c0', c0], ['weight_ih', wih], ['weight_hh', whh], ['bias_ih', bih], ['bias_hh', bhh]]);
  const xd = x.buf(fn, 'x');
  const h0d = bufOf(h0, fn, 'h0');
  const c0d = bufOf(c0, fn, 'c0');
  const rows = T * B;
  const packed = Tensor.on(be, [rows * H + 2 * B * H], 'float32', false, fn);
  const gates = saved(be, packed, rows * 4 * H, fn);
  const tanhC = saved(be, packed, rows * H, fn);
  const cs = saved(be, packed, (T + 1) * B * H, fn);
  const pd = packed._buf;
  const y = be.view(pd, 'float32', 0, rows * H, fn);
  const hN = be.view(pd, 'float32', rows * H, B * H, fn);
  const cN = be.view(pd, 'float32', rows * H + B * H, B * H, fn);
  be.lstmSequenceForward(xd, h0d, c0d, weightBuffers(w, fn), T, B, I, H, batchFirst, y, gates, tanhC, cs, hN, cN);
  if (isGradEnabled()) {
    const inputs: Tensor[] = [x, wih, whh];
    if (h0) inputs.push(h0);
    if (c0) inputs.push(c0);
    if (bih) inputs.push(bih);
    if (bhh) inputs.push(bhh);
    record(packed, fn, inputs, (g) => {
      const bf = 'lstmSequence backward';
      const gd = g.buf(bf, 'gradient');
      const dx = x.requiresGrad ? Tensor.on(be, x.shape.slice(), 'float32', false, bf) : null;
      const dh0 = h0 && h0.requiresGrad ? Tensor.on(be, [B, H], 'float32', false, bf) : null;
      const dc0 = c0 && c0.requiresGrad ? Tensor.on(be, [B, H], 'float32', false, bf) : null;
      const gw = weightGrads(be, w, H, I, bf);
      be.lstmSequenceBackward(xd, h0d, y, gates, tanhC, cs, weightBuffers(w, bf), be.view(gd, 'float32', 0, rows * H, bf),
        be.view(gd, 'float32', rows * H, B * H, bf), be.view(gd, 'float32', rows * H + B * H, B * H, bf), T, B, I, H, batchFirst,
        dx?._buf ?? null, dh0?._buf ?? null, dc0?._buf ?? null, gradBuffers(gw));
      const out: (Tensor | null)[] = [dx, gw.wih, gw.whh];
      if (h0) out.push(dh0);
      if (c0) out.push(dc0);
      if (bih) out.push(gw.bih);
      if (bhh) out.push(gw.bhh);
      return out;
    });
  }
  const [yo, ho, co] = unpack(be, packed, [
    { shape: batchFirst ? [B, T, H] : [T, B, H], offset: 0 },
    { shape: [B, H], offset: rows * H },
    { shape: [B, H], offset: rows * H + B * H },
  ]);
  return [yo, ho, co];
}

/**
 * The predictor's head fused with the residual update: out = z + h·Wᵀ + b, h [...,K],
 * W [D,K], b [D], z [...,D] (null: no residual, out = h·Wᵀ + b).
 */
export function residualHead(z: Tensor | null, h: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const fn = 'residualHead';
  checkTensor(fn, 'h', h);
  checkTensor(fn, 'weight', weight);
  if (h.ndim < 1) throw rangeError(fn, `h must have at least one dimension, got ${fmtShape(h.shape)}`);
  const K = h.shape[h.ndim - 1];
  if (weight.ndim !== 2 || weight.shape[1] !== K)
    throw rangeError(fn, `weight must be [D,${K}] for h ${fmtShape(h.shape)}, got ${fmtShape(weight.shape)}`);
  const D = weight.shape[0];
  const outShape = [...h.shape.slice(0, -1), D];
  if (z) expectShape(fn, 'z', checkTensor(fn, 'z', z), outShape);
  if (bias) expectShape(fn, 'bias', checkTensor(fn, 'bias', bias), [D]);
  const R = shapeSize(h.shape.slice(0, -1));
  checkFloat32(fn, 'h', h);
  const be = backendOf(fn, [['h', h], ['weight', weight], ['bias', bias], ['z', z]]);
  const out = Tensor.on(be, outShape, 'float32', false, fn);
  const hd = h.buf(fn, 'h');
  be.residualHeadForward(bufOf(z, fn, 'z'), hd, weight.buf(fn, 'weight'), bufOf(bias, fn, 'bias'), R, D, K, out._buf);
  const inputs: Tensor[] = [h, weight];
  if (bias) inputs.push(bias);
  if (z) inputs.push(z);
  return record(out, fn, inputs, (g) => {
    const bf = 'residualHead backward';
    const dh = h.requiresGrad ? Tensor.on(be, h.shape.slice(), 'float32', false, bf) : null;
    const dW = weight.requiresGrad ? Tensor.on(be, [D, K], 'float32', false, bf) : null;
    const db = bias && bias.requiresGrad ? Tensor.on(be, [D], 'float32', false, bf) : null;
    be.residualHeadBackward(hd, weight.buf(bf, 'weight'), g.buf(bf, 'gradient'), R, D, K, dh?._buf ?? null, dW?._buf ?? null, db?._buf ?? null);
    const res: (Tensor | null)[] = [dh, dW];
    if (bias) res.push(db);
    if (z) res.push(z.requiresGrad ? g : null);
    return res;
  });
}

/**
 * The LSTM gates' pointwise pass on pre-activations: pre [B, 4H, ...] (gate order i, f, g, o
 * along axis 1; a ConvLSTM's gate conv output [B, 4*Ch, h, w] is exactly this with H = Ch*h*w),
 * c [B, H, ...] (the cell state, the shape of one gate block; null: zeros) -> [h', c'], each
 * shaped like c (pre's shape with axis 1 divided by 4):
 *
 *   i, f, o = σ(.), g = tanh(.), c' = f⊙c + i⊙g, h' = o⊙tanh(c')
 *
 * One native call each way (cpp/lstm_gates.h, cuda/lstm.cu), the same math as lstmCell's.
 */
export function lstmGates(pre: Tensor, c: Tensor | null = null): [Tensor, Tensor] {
  const fn = 'lstmGates';
  checkTensor(fn, 'pre', pre);
  if (pre.ndim < 2 || pre.shape[1] % 4 !== 0 || pre.shape[1] === 0)
    throw rangeError(fn, `pre must be [B, 4H, ...] (gates i, f, g, o along axis 1, a positive multiple of 4), got ${fmtShape(pre.shape)}`);
  const B = pre.shape[0];
  const stateShape = [B, pre.shape[1] / 4, ...pre.shape.slice(2)];
  const H = shapeSize(stateShape.slice(1));
  if (H < 1) throw rangeError(fn, `pre must have a non-empty gate block, got ${fmtShape(pre.shape)}`);
  if (c) expectShape(fn, 'c', checkTensor(fn, 'c', c), stateShape);
  checkFloat32(fn, 'pre', pre);
  if (c) checkFloat32(fn, 'c', c);
  const be = backendOf(fn, [['pre', pre], ['c', c]]);
  const cd = bufOf(c, fn, 'c');
  const packed = Tensor.on(be, [2 * B * H], 'float32', false, fn);
  const gates = saved(be, packed, B * 4 * H, fn);
  const tanhC = saved(be, packed, B * H, fn);
  const hNew = be.view(packed._buf, 'float32', 0, B * H, fn);
  const cNew = be.view(packed._buf, 'float32', B * H, B * H, fn);
  be.lstmGatesForward(pre.buf(fn, 'pre'), cd, B, H, gates, cNew, hNew, tanhC);
  if (isGradEnabled()) {
    const inputs: Tensor[] = [pre];
    if (c) inputs.push(c);
    record(packed, fn, inputs, (g) => {
      const bf = 'lstmGates backward';
      const gd = g.buf(bf, 'gradient');
      // dPre is always written (pre is the op's main input); dc only when c wants a gradient.
      const dPre = Tensor.on(be, pre.shape.slice(), 'float32', false, bf);
      const dc = c && c.requiresGrad ? Tensor.on(be, stateShape, 'float32', false, bf) : null;
      be.lstmGatesBackward(gates, cd, tanhC, be.view(gd, 'float32', 0, B * H, bf), be.view(gd, 'float32', B * H, B * H, bf), B, H, dPre._buf, dc?._buf ?? null);
      const out: (Tensor | null)[] = [pre.requiresGrad ? dPre : null];
      if (c) out.push(dc);
      if (!pre.requiresGrad) dPre.dispose();
      return out;
    });
  }
  const [ho, co] = unpack(be, packed, [
    { shape: stateShape, offset: 0 },
    { shape: stateShape, offset: B * H },
  ]);
  return [ho, co];
}
