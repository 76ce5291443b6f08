/**
 * LSTM ops over the fused native kernels (cpp/lstm.h), recorded on the autograd tape:
 *
 *   lstmCell(x, h, c, W_ih, W_hh, b_ih, b_hh)          -> [h', c']        (one native call each way)
 *   lstmSequence(x, h0, c0, W_ih, W_hh, b_ih, b_hh, bf) -> [y, hN, cN]    (teacher forcing: the whole
 *                                                          sequence forward, and backward through time,
 *                                                          are one native call each)
 *   residualHead(z, h, W, b)                            -> z + h·Wᵀ + b   (the predictor's head fused
 *                                                          with the residual update)
 *
 * PyTorch layout: W_ih [4H,I], W_hh [4H,H], b_ih/b_hh [4H], gate order i, f, g, o. A null h/c
 * (or h0/c0) means zeros; a null bias means none.
 *
 * Ops with several outputs record one packed tensor and hand out views of it (each view's
 * backward places its gradient in the packed gradient), so the engine sums the gradients of
 * the outputs that are used and the fused backward runs once. What backward needs (activated
 * gates, tanh(c), cell states) is kept in plain Float32Arrays owned by the tape closure.
 */
import { fmtShape, rangeError } from '../errors';
import { Tensor, checkTensor, record, shapeSize } from '../tensor/tensor';
import { isGradEnabled } from '../autograd/grad_mode';
import { requireNative } from '../backend/native';
import { deviceOf } from '../tensor/device';
import { allocateUninit } from '../tensor/memory';
import * as cudaOps from './cuda_ops';

const cellForward = () => requireNative('lstmCellForward');
const cellBackward = () => requireNative('lstmCellBackward');
const seqForward = () => requireNative('lstmSequenceForward');
const seqBackward = () => requireNative('lstmSequenceBackward');
const headForward = () => requireNative('residualHeadForward');
const headBackward = () => requireNative('residualHeadBackward');

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function expectShape(fn: string, arg: string, t: Tensor, shape: number[]): void {
  if (!sameShape(t.shape, shape)) throw rangeError(fn, `${arg} must have shape ${fmtShape(shape)}, got ${fmtShape(t.shape)}`);
}

/** Views of a packed output, each recorded so its gradient lands at its offset. */
function unpack(packed: Tensor, parts: { shape: number[]; offset: number }[]): Tensor[] {
  const data = packed.f32('unpack');
  return parts.map(({ shape, offset }) => {
    const n = shapeSize(shape);
    const v = packed._view(shape, data.subarray(offset, offset + n));
    return record(v, 'unpack', [packed], (g) => {
      const gp = Tensor.empty(packed.shape.slice());
      (gp._data as Float32Array).set(g.f32('unpack backward'), offset);
      return [gp];
    });
  });
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

/** The weights' gradient buffers wanted by backward (null where an input needs none). */
function weightGrads(w: LstmWeights, H: number, I: number) {
  return {
    wih: w.wih.requiresGrad ? Tensor.uninit([4 * H, I]) : null,
    whh: w.whh.requiresGrad ? Tensor.uninit([4 * H, H]) : null,
    bih: w.bih && w.bih.requiresGrad ? Tensor.uninit([4 * H]) : null,
    bhh: w.bhh && w.bhh.requiresGrad ? Tensor.uninit([4 * H]) : null,
  };
}

const dataOf = (t: Tensor | null | undefined, fn: string, arg: string) => (t ? t.f32(fn, arg) : null);


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
  const d = deviceOf(fn, [['x', x], ['h', h], ['c', c], ['weight_ih', wih], ['weight_hh', whh], ['bias_ih', bih], ['bias_hh', bhh]]);
  if (d === 'cuda') return cudaOps.lstmCell(x, h, c, w, B, I, H);
  const xd = x.f32(fn, 'x');
  const hd = dataOf(h, fn, 'h');
  const cd = dataOf(c, fn, 'c');
  const gates = allocateUninit(B * 4 * H);
  const tanhC = allocateUninit(B * H);
  const packed = Tensor.uninit([2 * B * H]);
  const pd = packed._data as Float32Array;
  const hNew = pd.subarray(0, B * H);
  const cNew = pd.subarray(B * H);
  cellForward()(xd, hd, cd, wih.f32(fn, 'weight_ih'), whh.f32(fn, 'weight_hh'), dataOf(bih, fn, 'bias_ih'), dataOf(bhh, fn, 'bias_hh'),
    B, I, H, gates, cNew, hNew, tanhC);
  const inputs: Tensor[] = [x, wih, whh];
  if (h) inputs.push(h);
  if (c) inputs.push(c);
  if (bih) inputs.push(bih);
  if (bhh) inputs.push(bhh);
  record(packed, fn, inputs, (g) => {
    const gd = g.f32('lstmCell backward');
    const dx = x.requiresGrad ? Tensor.uninit([B, I]) : null;
    const dh = h && h.requiresGrad ? Tensor.uninit([B, H]) : null;
    const dc = c && c.requiresGrad ? Tensor.uninit([B, H]) : null;
    const gw = weightGrads(w, H, I);
    cellBackward()(xd, hd, cd, wih.f32(fn), whh.f32(fn), gates, tanhC, gd.subarray(0, B * H), gd.subarray(B * H), B, I, H,
      dx?._data ?? null, dh?._data ?? null, dc?._data ?? null, gw.wih?._data ?? null, gw.whh?._data ?? null,
      gw.bih?._data ?? null, gw.bhh?._data ?? null);
    const out: (Tensor | null)[] = [dx, gw.wih, gw.whh];
    if (h) out.push(dh);
    if (c) out.push(dc);
    if (bih) out.push(gw.bih);
    if (bhh) out.push(gw.bhh);
    return out;
  });
  const [ho, co] = unpack(packed, [
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
  if (x.device !== 'cpu' || wih.device !== 'cpu') {
    const d = deviceOf(fn, [['x', x], ['h0', h0], ['c0', c0], ['weight_ih', wih], ['weight_hh', whh], ['bias_ih', bih], ['bias_hh', bhh]]);
    if (d === 'cuda') return cudaOps.lstmSequence(x, h0, c0, w, T, B, I, H, batchFirst);
  }
  const xd = x.f32(fn, 'x');
  const h0d = dataOf(h0, fn, 'h0');
  const c0d = dataOf(c0, fn, 'c0');
  const rows = T * B;
  const gates = allocateUninit(rows * 4 * H);
  const tanhC = allocateUninit(rows * H);
  const cs = allocateUninit((T + 1) * B * H);
  const packed = Tensor.uninit([rows * H + 2 * B * H]);
  const pd = packed._data as Float32Array;
  const y = pd.subarray(0, rows * H);
  const hN = pd.subarray(rows * H, rows * H + B * H);
  const cN = pd.subarray(rows * H + B * H);
  seqForward()(xd, h0d, c0d, wih.f32(fn, 'weight_ih'), whh.f32(fn, 'weight_hh'), dataOf(bih, fn, 'bias_ih'), dataOf(bhh, fn, 'bias_hh'),
    T, B, I, H, batchFirst, y, gates, tanhC, cs, hN, cN);
  if (isGradEnabled()) {
    const inputs: Tensor[] = [x, wih, whh];
    if (h0) inputs.push(h0);
    if (c0) inputs.push(c0);
    if (bih) inputs.push(bih);
    if (bhh) inputs.push(bhh);
    record(packed, fn, inputs, (g) => {
      const gd = g.f32('lstmSequence backward');
      const dx = x.requiresGrad ? Tensor.uninit(x.shape.slice()) : null;
      const dh0 = h0 && h0.requiresGrad ? Tensor.uninit([B, H]) : null;
      const dc0 = c0 && c0.requiresGrad ? Tensor.uninit([B, H]) : null;
      const gw = weightGrads(w, H, I);
      seqBackward()(xd, h0d, y, gates, tanhC, cs, wih.f32(fn), whh.f32(fn), gd.subarray(0, rows * H),
        gd.subarray(rows * H, rows * H + B * H), gd.subarray(rows * H + B * H), T, B, I, H, batchFirst,
        dx?._data ?? null, dh0?._data ?? null, dc0?._data ?? null, gw.wih?._data ?? null, gw.whh?._data ?? null,
        gw.bih?._data ?? null, gw.bhh?._data ?? null);
      const out: (Tensor | null)[] = [dx, gw.wih, gw.whh];
      if (h0) out.push(dh0);
      if (c0) out.push(dc0);
      if (bih) out.push(gw.bih);
      if (bhh) out.push(gw.bhh);
      return out;
    });
  }
  const [yo, ho, co] = unpack(packed, [
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
  if (h.device !== 'cpu' || weight.device !== 'cpu') {
    const d = deviceOf(fn, [['h', h], ['weight', weight], ['bias', bias], ['z', z]]);
    if (d === 'cuda') return cudaOps.residualHead(z, h, weight, bias, R, D, K, outShape);
  }
  const out = Tensor.uninit(outShape);
  const hd = h.f32(fn, 'h');
  headForward()(dataOf(z, fn, 'z'), hd, weight.f32(fn, 'weight'), dataOf(bias, fn, 'bias'), R, D, K, out._data);
  const inputs: Tensor[] = [h, weight];
  if (bias) inputs.push(bias);
  if (z) inputs.push(z);
  return record(out, fn, inputs, (g) => {
    const dh = h.requiresGrad ? Tensor.uninit(h.shape.slice()) : null;
    const dW = weight.requiresGrad ? Tensor.uninit([D, K]) : null;
    const db = bias && bias.requiresGrad ? Tensor.uninit([D]) : null;
    headBackward()(hd, weight.f32(fn), g.f32('residualHead backward'), R, D, K, dh?._data ?? null, dW?._data ?? null, db?._data ?? null);
    const res: (Tensor | null)[] = [dh, dW];
    if (bias) res.push(db);
    if (z) res.push(z.requiresGrad ? g : null);
    return res;
  });
}
