/**
 * The 'cuda' paths of the ops: the same math and the same tape records as the CPU ops, run by the
 * CUDA kernels through the device API (cuda/device_api.h). Each CPU op checks its arguments
 * (shapes, devices: `deviceOf`), then calls here when they are on 'cuda'. Outputs and gradients
 * are 'cuda' tensors from the caching allocator; what a backward needs (LSTM gates, cell states)
 * stays on the device, tied to the output's storage so it is freed with it.
 *
 * Ops with a 'cuda' path (here): slice/index/concat/clone/permute, elementwise (+ broadcasting, scalars)
 * and activations, sum/mean, matmul/linear, mseLoss/bceWithLogits (rowLoss), klDivergenceNormal,
 * crossEntropy (labels copied from the host per call), conv2d (+ fused ReLU) and convTranspose2d
 * with all gradients, lstmCell, lstmSequence, residualHead, backward's accumulation, the SGD step
 * (Adam/AdamW call the device API from src/optim/adam.ts), and the LatentPredictor helpers
 * pickRows/addNoise (noise drawn on the host, uploaded), gradient clipping (sumSquares,
 * scaleInPlace), and uint8 frame conversion (framesToFloat from host bytes, floatToFrames to a CPU
 * uint8 tensor: uint8 tensors live on the host).
 *
 * Code without a 'cuda' path that reads a 'cuda' tensor's elements throws "<op>: 'cuda' tensors
 * are not supported yet" (Tensor.f32/data refuse 'cuda' tensors), never copying silently.
 */
import { Tensor, record, shapeSize } from '../tensor/tensor';
import { cudaEmpty, cudaFull, dev, handle } from '../tensor/device';
import { isGradEnabled } from '../autograd/grad_mode';

type H = object;
const h = (t: Tensor, fn: string, arg: string): H => handle(t, fn, arg);
const hOpt = (t: Tensor | null | undefined, fn: string, arg: string): H | null => (t ? handle(t, fn, arg) : null);

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let k = 1;
  for (let d = shape.length - 1; d >= 0; --d) {
    s[d] = k;
    k *= shape[d];
  }
  return s;
}

/**
 * Copies the box `size` at `begin` of src (srcShape) to `dstBegin` of dst (dstShape) as 2-D
 * device copies: the trailing axes that are whole in both form one contiguous run, the axis
 * before them is the copy's rows, and any axes before that are looped over on the host.
 */
function copyBox(fn: string, src: H, srcShape: number[], begin: number[], size: number[], dst: H, dstShape: number[], dstBegin: number[]): void {
  const nd = size.length;
  if (shapeSize(size) === 0) return;
  const api = dev(fn);
  if (nd === 0) {
    api.copy2d(dst, 0, 1, src, 0, 1, 1, 1);
    return;
  }
  let j = nd - 1; // the last axis not whole in both
  while (j > 0 && size[j] === srcShape[j] && size[j] === dstShape[j]) j--;
  const ss = strides(srcShape), ds = strides(dstShape);
  const run = size[j] * ss[j];
  if (j === 0) {
    api.copy2d(dst, dstBegin[0] * ds[0], run, src, begin[0] * ss[0], run, run, 1);
    return;
  }
  const rows = size[j - 1];
  const outerDims = size.slice(0, j - 1);
  const outer = shapeSize(outerDims);
  const idx = new Array<number>(j - 1).fill(0);
  for (let o = 0; o < outer; ++o) {
    let so = begin[j] * ss[j] + begin[j - 1] * ss[j - 1];
    let dof = dstBegin[j] * ds[j] + dstBegin[j - 1] * ds[j - 1];
    for (let d = 0; d < j - 1; ++d) {
      so += (begin[d] + idx[d]) * ss[d];
      dof += (dstBegin[d] + idx[d]) * ds[d];
    }
    api.copy2d(dst, dof, ds[j - 1], src, so, ss[j - 1], run, rows);
    for (let d = j - 2; d >= 0; --d) {
      if (++idx[d] < outerDims[d]) break;
      idx[d] = 0;
    }
  }
}

// ---- shape ops ----------------------------------------------------------------------------------

export function indexRow(x: Tensor, k: number, rowShape: number[]): Tensor {
  const rowSize = shapeSize(rowShape);
  const v = dev('index').view(h(x, 'index', 'x'), k * rowSize * 4, rowSize * 4);
  const out = new Tensor(rowShape, x.dtype, x._data, x._storage, 'cuda', v);
  return record(out, 'index', [x], (g) => {
    const gx = cudaEmpty(x.shape.slice(), 'index backward');
    dev('index backward').copy2d(gx._dev!, k * rowSize, rowSize, h(g, 'index backward', 'gradient'), 0, rowSize, rowSize, rowSize ? 1 : 0);
    return [gx];
  });
}

export function slice(x: Tensor, begin: number[], sz: number[]): Tensor {
  const out = cudaEmpty(sz, 'slice');
  const zero = new Array<number>(x.ndim).fill(0);
  copyBox('slice', h(x, 'slice', 'x'), x.shape, begin, sz, out._dev!, sz, zero);
  return record(out, 'slice', [x], (g) => {
    const gx = cudaEmpty(x.shape.slice(), 'slice backward');
    copyBox('slice backward', h(g, 'slice backward', 'gradient'), sz, zero, sz, gx._dev!, x.shape, begin);
    return [gx];
  });
}

export function clone(x: Tensor): Tensor {
  const out = cudaEmpty(x.shape.slice(), 'clone');
  if (x.size) dev('clone').copy(out._dev!, h(x, 'clone', 'x'));
  return record(out, 'clone', [x], (g) => [g]);
}

export function concat(tensors: Tensor[], ax: number, outShape: number[]): Tensor {
  tensors.forEach((t, i) => {
    if (t.device !== tensors[0].device) throw new Error(`concat: tensors[0] is on '${tensors[0].device}' but tensors[${i}] is on '${t.device}'`);
  });
  const out = cudaEmpty(outShape, 'concat');
  const zero = new Array<number>(outShape.length).fill(0);
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    const dstBegin = zero.slice();
    dstBegin[ax] = at;
    offsets.push(at);
    copyBox('concat', h(t, 'concat', 'tensors'), t.shape, zero, t.shape, out._dev!, outShape, dstBegin);
    at += t.shape[ax];
  }
  return record(out, 'concat', tensors, (g) =>
    tensors.map((t, i) => {
      if (!t.requiresGrad) return null;
      const begin = zero.slice();
      begin[ax] = offsets[i];
      const gi = cudaEmpty(t.shape.slice(), 'concat backward');
      copyBox('concat backward', h(g, 'concat backward', 'gradient'), outShape, begin, t.shape, gi._dev!, t.shape, zero);
      return gi;
    }),
  );
}

/** x.permute(perm) on 'cuda' (permute.cu); its gradient is the inverse permutation of g. */
export function permute(x: Tensor, perm: number[], outShape: number[]): Tensor {
  const fn = 'permute';
  const out = cudaEmpty(outShape, fn);
  if (x.size) dev(fn).permute(h(x, fn, 'x'), x.shape.slice(), perm, out._dev);
  return record(out, fn, [x], (g) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [permute(g, inv, x.shape.slice())];
  });
}

// ---- elementwise ----------------------------------------------------------------------------------
const AFFINE = 11;

/** a (op) b with broadcasting; a number b runs as one affine pass (division by the reciprocal). */
export function binary(name: string, op: number, a: Tensor, b: Tensor | number, outShape: number[], bShapeIn: number[]): Tensor {
  if (typeof b === 'number') {
    const [alpha, beta] = op === 0 ? [1, b] : op === 1 ? [1, -b] : op === 2 ? [b, 0] : [1 / b, 0];
    const out = cudaEmpty(a.shape.slice(), name);
    dev(name).unaryForward(AFFINE, h(a, name, 'a'), out._dev, a.size, alpha, beta);
    return record(out, name, [a], (g) => {
      if (op <= 1) return [g];
      const ga = cudaEmpty(a.shape.slice(), `${name} backward`);
      dev(name).unaryForward(AFFINE, h(g, `${name} backward`, 'gradient'), ga._dev, a.size, alpha, 0);
      return [ga];
    });
  }
  const out = cudaEmpty(outShape, name);
  const aShape = a.shape.slice(), bShape = bShapeIn.slice();
  dev(name).binaryForward(op, h(a, name, 'a'), aShape, h(b, name, 'b'), bShape, out._dev, outShape);
  return record(out, name, [a, b], (g) => {
    const fn = `${name} backward`;
    const wantA = a.requiresGrad, wantB = b.requiresGrad;
    const same = (s: number[]) => s.length === outShape.length && s.every((d, i) => d === outShape[i]);
    const passA = wantA && (op === 0 || op === 1) && same(aShape);
    const passB = wantB && op === 0 && same(bShape);
    const ga = wantA && !passA ? cudaEmpty(aShape.slice(), fn) : null;
    const gb = wantB && !passB ? cudaEmpty(bShape.slice(), fn) : null;
    if (ga || gb)
      dev(fn).binaryBackward(op, h(a, fn, 'a'), aShape, h(b, fn, 'b'), bShape, h(g, fn, 'gradient'), outShape, ga?._dev ?? null, gb?._dev ?? null);
    return [passA ? g : ga, passB ? g : gb];
  });
}

export function unary(name: string, op: number, x: Tensor, p0: number, p1: number, needX: boolean, needY: boolean): Tensor {
  const out = cudaEmpty(x.shape.slice(), name);
  const n = x.size;
  dev(name).unaryForward(op, h(x, name, 'x'), out._dev, n, p0, p1);
  const y = out._dev;
  return record(out, name, [x], (g) => {
    const fn = `${name} backward`;
    const gx = cudaEmpty(x.shape.slice(), fn);
    dev(fn).unaryBackward(op, needX ? h(x, fn, 'x') : null, needY ? y : null, h(g, fn, 'gradient'), gx._dev, n, p0, p1);
    return [gx];
  });
}

// ---- reductions ---------------------------------------------------------------------------------
export function reduce(fn: string, x: Tensor, kept: number[], outShape: number[], scale: number): Tensor {
  const out = Number.isNaN(scale) ? cudaFull(outShape, NaN, fn) : cudaEmpty(outShape, fn);
  if (!Number.isNaN(scale)) dev(fn).sumTo(h(x, fn, 'x'), x.shape, kept, out._dev, scale);
  const xShape = x.shape.slice();
  return record(out, fn, [x], (g) => {
    const gx = cudaEmpty(xShape.slice(), `${fn} backward`);
    if (!Number.isNaN(scale)) dev(fn).broadcastTo(h(g, `${fn} backward`, 'gradient'), kept, gx._dev, xShape, scale);
    return [gx];
  });
}

// ---- GEMM ---------------------------------------------------------------------------------------
function sub(fn: string, x: H, index: number, size: number): H {
  return dev(fn).view(x, index * size * 4, size * 4);
}
function gemm(fn: string, tA: boolean, tB: boolean, M: number, N: number, K: number, A: H, B: H, C: H, accumulate = false): void {
  dev(fn).gemm(tA, tB, M, N, K, 1, A, tA ? M : K, B, tB ? K : N, accumulate ? 1 : 0, C, N);
}

export function matmul(a: Tensor, b: Tensor, batch: number[], M: number, N: number, K: number): Tensor {
  const fn = 'matmul';
  const aB = a.ndim > 2, bB = b.ndim > 2;
  const nb = shapeSize(batch);
  const out = cudaEmpty([...batch, M, N], fn);
  const ad = h(a, fn, 'a'), bd = h(b, fn, 'b'), od = out._dev!;
  if (!bB) gemm(fn, false, false, nb * M, N, K, ad, bd, od);
  else for (let i = 0; i < nb; ++i) gemm(fn, false, false, M, N, K, aB ? sub(fn, ad, i, M * K) : ad, sub(fn, bd, i, K * N), sub(fn, od, i, M * N));
  return record(out, fn, [a, b], (g) => {
    const bf = 'matmul backward';
    const gd = h(g, bf, 'gradient');
    let ga: Tensor | null = null, gb: Tensor | null = null;
    if (a.requiresGrad) {
      ga = cudaEmpty(a.shape.slice(), bf);
      const gad = ga._dev!, B = h(b, bf, 'b');
      if (!bB) gemm(bf, false, true, nb * M, K, N, gd, B, gad);
      else for (let i = 0; i < nb; ++i) gemm(bf, false, true, M, K, N, sub(bf, gd, i, M * N), sub(bf, B, i, K * N), aB ? sub(bf, gad, i, M * K) : gad, !aB && i > 0);
    }
    if (b.requiresGrad) {
      gb = cudaEmpty(b.shape.slice(), bf);
      const gbd = gb._dev!, A = h(a, bf, 'a');
      if (!bB) gemm(bf, true, false, K, N, nb * M, A, gd, gbd);
      else for (let i = 0; i < nb; ++i) gemm(bf, true, false, K, N, M, aB ? sub(bf, A, i, M * K) : A, sub(bf, gd, i, M * N), sub(bf, gbd, i, K * N));
    }
    return [ga, gb];
  });
}

/** y = x . W^T (+ bias broadcast over the rows): one GEMM and one broadcast add. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null, R: number, O: number, I: number): Tensor {
  const fn = 'linear';
  const outShape = [...x.shape.slice(0, -1), O];
  const out = cudaEmpty(outShape, fn);
  gemm(fn, false, true, R, O, I, h(x, fn, 'x'), h(weight, fn, 'weight'), out._dev!);
  if (bias) dev(fn).binaryForward(0, out._dev, [R, O], h(bias, fn, 'bias'), [O], out._dev, [R, O]);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(out, fn, inputs, (g) => {
    const bf = 'linear backward';
    const gd = h(g, bf, 'gradient');
    const grads: (Tensor | null)[] = [null, null, null];
    if (x.requiresGrad) {
      grads[0] = cudaEmpty(x.shape.slice(), bf);
      gemm(bf, false, false, R, I, O, gd, h(weight, bf, 'weight'), grads[0]._dev!);
    }
    if (weight.requiresGrad) {
      grads[1] = cudaEmpty([O, I], bf);
      gemm(bf, true, false, O, I, R, gd, h(x, bf, 'x'), grads[1]._dev!);
    }
    if (bias && bias.requiresGrad) {
      grads[2] = cudaEmpty([O], bf);
      dev(bf).sumTo(gd, [R, O], [1, O], grads[2]._dev, 1);
    }
    return grads.slice(0, inputs.length);
  });
}

// ---- losses -------------------------------------------------------------------------------------
export function rowLoss(fn: string, kind: number, aName: string, a: Tensor, bName: string, t: Tensor, B: number, D: number, scale: number, outShape: number[]): Tensor {
  const out = Number.isNaN(scale) ? cudaFull(outShape, NaN, fn) : cudaEmpty(outShape, fn);
  if (!Number.isNaN(scale)) dev(fn).rowLossForward(kind, h(a, fn, aName), h(t, fn, bName), B, D, scale, out._dev);
  return record(out, fn, [a, t], (g) => {
    const bf = `${fn} backward`;
    const ga = a.requiresGrad ? cudaEmpty(a.shape.slice(), bf) : null;
    const gt = t.requiresGrad ? cudaEmpty(t.shape.slice(), bf) : null;
    if (!Number.isNaN(scale))
      dev(bf).rowLossBackward(kind, h(a, bf, aName), h(t, bf, bName), B, D, h(g, bf, 'gradient'), scale, ga?._dev ?? null, gt?._dev ?? null);
    return [ga, gt];
  });
}

// ---- LSTM ---------------------------------------------------------------------------------------
interface LstmWeights {
  wih: Tensor;
  whh: Tensor;
  bih: Tensor | null;
  bhh: Tensor | null;
}

/** Views of a packed 'cuda' output, each recorded so its gradient lands at its offset. */
function unpack(packed: Tensor, parts: { shape: number[]; offset: number }[]): Tensor[] {
  const ph = h(packed, 'unpack', 'packed');
  return parts.map(({ shape, offset }) => {
    const n = shapeSize(shape);
    const v = new Tensor(shape, 'float32', packed._data, packed._storage, 'cuda', dev('unpack').view(ph, offset * 4, n * 4));
    return record(v, 'unpack', [packed], (g) => {
      const gp = cudaEmpty(packed.shape.slice(), 'unpack backward');
      if (n) dev('unpack backward').copy2d(gp._dev!, offset, n, h(g, 'unpack backward', 'gradient'), 0, n, n, 1);
      return [gp];
    });
  });
}

export function lstmSequence(x: Tensor, h0: Tensor | null, c0: Tensor | null, w: LstmWeights, T: number, B: number, I: number, H: number, batchFirst: boolean): [Tensor, Tensor, Tensor] {
  const fn = 'lstmSequence';
  const api = dev(fn);
  const rows = T * B;
  const packed = cudaEmpty([rows * H + 2 * B * H], fn);
  const pd = packed._dev!;
  const y = api.view(pd, 0, rows * H * 4);
  const hN = api.view(pd, rows * H * 4, B * H * 4);
  const cN = api.view(pd, (rows + B) * H * 4, B * H * 4);
  // Saved for backward, freed with the output's storage.
  const gates = api.alloc(rows * 4 * H * 4);
  const tanhC = api.alloc(rows * H * 4);
  const cs = api.alloc((T + 1) * B * H * 4);
  packed._storage.attach(gates, rows * 4 * H * 4);
  packed._storage.attach(tanhC, rows * H * 4);
  packed._storage.attach(cs, (T + 1) * B * H * 4);
  const xd = h(x, fn, 'x'), h0d = hOpt(h0, fn, 'h0'), c0d = hOpt(c0, fn, 'c0');
  api.lstmSequenceForward(xd, h0d, c0d, h(w.wih, fn, 'weight_ih'), h(w.whh, fn, 'weight_hh'), hOpt(w.bih, fn, 'bias_ih'), hOpt(w.bhh, fn, 'bias_hh'),
    T, B, I, H, batchFirst, y, gates, tanhC, cs, hN, cN);
  if (isGradEnabled()) {
    const inputs: Tensor[] = [x, w.wih, w.whh];
    if (h0) inputs.push(h0);
    if (c0) inputs.push(c0);
    if (w.bih) inputs.push(w.bih);
    if (w.bhh) inputs.push(w.bhh);
    record(packed, fn, inputs, (g) => {
      const bf = 'lstmSequence backward';
      const a = dev(bf);
      const gd = h(g, bf, 'gradient');
      const dx = x.requiresGrad ? cudaEmpty(x.shape.slice(), bf) : null;
      const dh0 = h0 && h0.requiresGrad ? cudaEmpty([B, H], bf) : null;
      const dc0 = c0 && c0.requiresGrad ? cudaEmpty([B, H], bf) : null;
      const gw = {
        wih: w.wih.requiresGrad ? cudaEmpty([4 * H, I], bf) : null,
        whh: w.whh.requiresGrad ? cudaEmpty([4 * H, H], bf) : null,
        bih: w.bih && w.bih.requiresGrad ? cudaEmpty([4 * H], bf) : null,
        bhh: w.bhh && w.bhh.requiresGrad ? cudaEmpty([4 * H], bf) : null,
      };
      a.lstmSequenceBackward(xd, h0d, y, gates, tanhC, cs, h(w.wih, bf, 'weight_ih'), h(w.whh, bf, 'weight_hh'),
        a.view(gd, 0, rows * H * 4), a.view(gd, rows * H * 4, B * H * 4), a.view(gd, (rows + B) * H * 4, B * H * 4),
        T, B, I, H, batchFirst, dx?._dev ?? null, dh0?._dev ?? null, dc0?._dev ?? null,
        gw.wih?._dev ?? null, gw.whh?._dev ?? null, gw.bih?._dev ?? null, gw.bhh?._dev ?? null);
      const out: (Tensor | null)[] = [dx, gw.wih, gw.whh];
      if (h0) out.push(dh0);
      if (c0) out.push(dc0);
      if (w.bih) out.push(gw.bih);
      if (w.bhh) out.push(gw.bhh);
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

export function residualHead(z: Tensor | null, hT: Tensor, weight: Tensor, bias: Tensor | null, R: number, D: number, K: number, outShape: number[]): Tensor {
  const fn = 'residualHead';
  const out = cudaEmpty(outShape, fn);
  dev(fn).residualHeadForward(hOpt(z, fn, 'z'), h(hT, fn, 'h'), h(weight, fn, 'weight'), hOpt(bias, fn, 'bias'), R, D, K, out._dev);
  const inputs: Tensor[] = [hT, weight];
  if (bias) inputs.push(bias);
  if (z) inputs.push(z);
  return record(out, fn, inputs, (g) => {
    const bf = 'residualHead backward';
    const dh = hT.requiresGrad ? cudaEmpty(hT.shape.slice(), bf) : null;
    const dW = weight.requiresGrad ? cudaEmpty([D, K], bf) : null;
    const db = bias && bias.requiresGrad ? cudaEmpty([D], bf) : null;
    dev(bf).residualHeadBackward(h(hT, bf, 'h'), h(weight, bf, 'weight'), h(g, bf, 'gradient'), R, D, K, dh?._dev ?? null, dW?._dev ?? null, db?._dev ?? null);
    const res: (Tensor | null)[] = [dh, dW];
    if (bias) res.push(db);
    if (z) res.push(z.requiresGrad ? g : null);
    return res;
  });
}

// ---- autograd and optimizers ----------------------------------------------------------------------
/** target += g (both 'cuda', same size). */
export function addInto(target: Tensor, g: Tensor): void {
  dev('backward').axpy(h(target, 'backward', 'gradient'), h(g, 'backward', 'gradient'), target.size, 1);
}

export function ones(shape: number[]): Tensor {
  return cudaFull(shape, 1, 'backward');
}

// ---- conv2d / convTranspose2d (conv.cu) -------------------------------------------------------------
const RELU = 3;

/**
 * conv2d on 'cuda': dims = [N, C, H, W, K, kh, kw, sh, sw, ph, pw]; relu fuses a ReLU on the
 * output (its backward masks the gradient where the output is 0), as the CPU op.
 */
export function conv2d(fn: string, x: Tensor, weight: Tensor, bias: Tensor | null, dims: number[], outShape: number[], relu: boolean): Tensor {
  const api = dev(fn);
  const out = cudaEmpty(outShape, fn);
  if (relu) {
    const tmp = api.alloc(shapeSize(outShape) * 4);
    api.conv2dForward(h(x, fn, 'input'), h(weight, fn, 'weight'), hOpt(bias, fn, 'bias'), tmp, ...dims);
    api.unaryForward(RELU, tmp, out._dev, out.size, 0, 0);
    api.free(tmp);
  } else api.conv2dForward(h(x, fn, 'input'), h(weight, fn, 'weight'), hOpt(bias, fn, 'bias'), out._dev, ...dims);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const y = out._dev;
  return record(out, relu ? 'conv2dRelu' : 'conv2d', inputs, (g) => {
    const bf = `${fn} backward`;
    const a = dev(bf);
    const gx = x.requiresGrad ? cudaEmpty(x.shape.slice(), bf) : null;
    const gw = weight.requiresGrad ? cudaEmpty(weight.shape.slice(), bf) : null;
    const gb = bias && bias.requiresGrad ? cudaEmpty(bias.shape.slice(), bf) : null;
    let gy: H = h(g, bf, 'gradOutput');
    let masked: H | null = null;
    if (relu) {
      masked = a.alloc(shapeSize(outShape) * 4);
      a.unaryBackward(RELU, y, null, gy, masked, shapeSize(outShape), 0, 0);
      gy = masked;
    }
    if (gx || gw || gb) a.conv2dBackward(h(x, bf, 'input'), h(weight, bf, 'weight'), gy, gx?._dev ?? null, gw?._dev ?? null, gb?._dev ?? null, ...dims);
    if (masked) a.free(masked);
    return bias ? [gx, gw, gb] : [gx, gw];
  });
}

/** convTranspose2d on 'cuda': dims = [N, Cin, Hi, Wi, Cout, kh, kw, sh, sw, ph, pw, oph, opw]. */
export function convTranspose2d(fn: string, x: Tensor, weight: Tensor, bias: Tensor | null, dims: number[], outShape: number[]): Tensor {
  const out = cudaEmpty(outShape, fn);
  dev(fn).convTranspose2dForward(h(x, fn, 'input'), h(weight, fn, 'weight'), hOpt(bias, fn, 'bias'), out._dev, ...dims);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(out, 'convTranspose2d', inputs, (g) => {
    const bf = `${fn} backward`;
    const gx = x.requiresGrad ? cudaEmpty(x.shape.slice(), bf) : null;
    const gw = weight.requiresGrad ? cudaEmpty(weight.shape.slice(), bf) : null;
    const gb = bias && bias.requiresGrad ? cudaEmpty(bias.shape.slice(), bf) : null;
    if (gx || gw || gb)
      dev(bf).convTranspose2dBackward(h(x, bf, 'input'), h(weight, bf, 'weight'), h(g, bf, 'gradOutput'), gx?._dev ?? null, gw?._dev ?? null, gb?._dev ?? null, ...dims);
    return bias ? [gx, gw, gb] : [gx, gw];
  });
}

// ---- KL and cross-entropy (losses.cu) -------------------------------------------------------------
const CLAMP = 14;

/** The per-row values `rows` [B] reduced as the CPU losses do: 'none' keeps them, else sum (* 1/B for 'mean'). */
function reduceRows(fn: string, rows: H, B: number, r: 'mean' | 'sum' | 'none'): Tensor {
  if (r === 'none') {
    const out = cudaEmpty([B], fn);
    if (B) dev(fn).copy(out._dev!, rows);
    return out;
  }
  if (r === 'mean' && B === 0) return cudaFull([], NaN, fn);
  const out = cudaEmpty([], fn);
  if (B) dev(fn).sumTo(rows, [B], [1], out._dev, r === 'mean' ? 1 / B : 1);
  return out;
}

/** The per-row gradient [B] of a reduced loss: g itself for 'none', else g broadcast. */
function rowGradient(fn: string, g: Tensor, B: number, r: 'mean' | 'sum' | 'none'): { gRow: H; temp: H | null } {
  if (r === 'none') return { gRow: h(g, fn, 'gradient'), temp: null };
  const t = dev(fn).alloc(B * 4);
  if (B) dev(fn).broadcastTo(h(g, fn, 'gradient'), [1], t, [B], 1);
  return { gRow: t, temp: t };
}

/** klDivergenceNormal on 'cuda' (mu/logvar [B, D]); the per-row KL stays on the device for backward. */
export function klNormal(mu: Tensor, logvar: Tensor, B: number, D: number, freeBits: number, r: 'mean' | 'sum' | 'none'): Tensor {
  const fn = 'klDivergenceNormal';
  const api = dev(fn);
  const kl = api.alloc(B * 4);
  const floored = api.alloc(B * 4);
  if (B) {
    api.klNormalForward(h(mu, fn, 'mu'), h(logvar, fn, 'logvar'), B, D, kl);
    api.unaryForward(CLAMP, kl, floored, B, freeBits, 3.4028234663852886e38);
  }
  const out = reduceRows(fn, floored, B, r);
  api.free(floored);
  out._storage.attach(kl, B * 4);
  return record(out, fn, [mu, logvar], (g) => {
    const bf = `${fn} backward`;
    const gmu = mu.requiresGrad ? cudaEmpty(mu.shape.slice(), bf) : null;
    const glv = logvar.requiresGrad ? cudaEmpty(logvar.shape.slice(), bf) : null;
    const { gRow, temp } = rowGradient(bf, g, B, r);
    if (B && (gmu || glv))
      dev(bf).klNormalBackward(h(mu, bf, 'mu'), h(logvar, bf, 'logvar'), B, D, kl, freeBits, gRow, r === 'mean' ? 1 / Math.max(B, 1) : 1, gmu?._dev ?? null, glv?._dev ?? null);
    if (temp) dev(bf).free(temp);
    return [gmu, glv];
  });
}

/** crossEntropy on 'cuda': logits [B, C], labels (checked, on the host) copied to the device per call. */
export function crossEntropy(logits: Tensor, labels: Int32Array, B: number, C: number, r: 'mean' | 'sum' | 'none'): Tensor {
  const fn = 'crossEntropy';
  const api = dev(fn);
  const rows = api.alloc(B * 4);
  if (B) api.crossEntropyForward(h(logits, fn, 'logits'), labels, B, C, rows);
  const out = reduceRows(fn, rows, B, r);
  api.free(rows);
  return record(out, fn, [logits], (g) => {
    const bf = `${fn} backward`;
    const gx = cudaEmpty([B, C], bf);
    const { gRow, temp } = rowGradient(bf, g, B, r);
    if (B) dev(bf).crossEntropyBackward(h(logits, bf, 'logits'), labels, B, C, gRow, r === 'mean' ? 1 / Math.max(B, 1) : 1, gx._dev);
    if (temp) dev(bf).free(temp);
    return [gx];
  });
}

// ---- LSTM cell (lstm.cu) ----------------------------------------------------------------------------
/** lstmCell on 'cuda': one step, [h', c'] as views of one packed output (gates and tanh(c') kept on the device). */
export function lstmCell(x: Tensor, hPrev: Tensor | null, c: Tensor | null, w: LstmWeights, B: number, I: number, H: number): [Tensor, Tensor] {
  const fn = 'lstmCell';
  const api = dev(fn);
  const packed = cudaEmpty([2 * B * H], fn);
  const pd = packed._dev!;
  const hNew = api.view(pd, 0, B * H * 4);
  const cNew = api.view(pd, B * H * 4, B * H * 4);
  const gates = api.alloc(B * 4 * H * 4);
  const tanhC = api.alloc(B * H * 4);
  packed._storage.attach(gates, B * 4 * H * 4);
  packed._storage.attach(tanhC, B * H * 4);
  const xd = h(x, fn, 'x'), hd = hOpt(hPrev, fn, 'h'), cd = hOpt(c, fn, 'c');
  api.lstmCellForward(xd, hd, cd, h(w.wih, fn, 'weight_ih'), h(w.whh, fn, 'weight_hh'), hOpt(w.bih, fn, 'bias_ih'), hOpt(w.bhh, fn, 'bias_hh'),
    B, I, H, gates, cNew, hNew, tanhC);
  if (isGradEnabled()) {
    const inputs: Tensor[] = [x, w.wih, w.whh];
    if (hPrev) inputs.push(hPrev);
    if (c) inputs.push(c);
    if (w.bih) inputs.push(w.bih);
    if (w.bhh) inputs.push(w.bhh);
    record(packed, fn, inputs, (g) => {
      const bf = 'lstmCell backward';
      const a = dev(bf);
      const gd = h(g, bf, 'gradient');
      const dx = x.requiresGrad ? cudaEmpty([B, I], bf) : null;
      const dh = hPrev && hPrev.requiresGrad ? cudaEmpty([B, H], bf) : null;
      const dc = c && c.requiresGrad ? cudaEmpty([B, H], bf) : null;
      const gw = {
        wih: w.wih.requiresGrad ? cudaEmpty([4 * H, I], bf) : null,
        whh: w.whh.requiresGrad ? cudaEmpty([4 * H, H], bf) : null,
        bih: w.bih && w.bih.requiresGrad ? cudaEmpty([4 * H], bf) : null,
        bhh: w.bhh && w.bhh.requiresGrad ? cudaEmpty([4 * H], bf) : null,
      };
      a.lstmCellBackward(xd, hd, cd, h(w.wih, bf, 'weight_ih'), h(w.whh, bf, 'weight_hh'), gates, tanhC,
        a.view(gd, 0, B * H * 4), a.view(gd, B * H * 4, B * H * 4), B, I, H,
        dx?._dev ?? null, dh?._dev ?? null, dc?._dev ?? null, gw.wih?._dev ?? null, gw.whh?._dev ?? null, gw.bih?._dev ?? null, gw.bhh?._dev ?? null);
      const out: (Tensor | null)[] = [dx, gw.wih, gw.whh];
      if (hPrev) out.push(dh);
      if (c) out.push(dc);
      if (w.bih) out.push(gw.bih);
      if (w.bhh) out.push(gw.bhh);
      return out;
    });
  }
  const [ho, co] = unpack(packed, [
    { shape: [B, H], offset: 0 },
    { shape: [B, H], offset: B * H },
  ]);
  return [ho, co];
}

// ---- SGD (optim.cu) ---------------------------------------------------------------------------------
/** One fused SGD step on 'cuda' (buf: the momentum buffer, null without momentum). */
export function sgdStep(fn: string, p: Tensor, g: Tensor, buf: Tensor | null, lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, first: boolean): void {
  dev(fn).sgdStep(h(p, fn, 'param'), h(g, fn, 'grad'), hOpt(buf, fn, 'momentum_buffer'), p.size, lr, momentum, dampening, weightDecay, nesterov, first);
}

// ---- scheduled sampling helpers (LatentPredictor on 'cuda') -------------------------------------------
/** Row r of the output is row r of a where coins[r] is 1, else of b (a, b [B, ...], same shape); gradients routed the same way. */
export function pickRows(a: Tensor, b: Tensor, coins: Float32Array): Tensor {
  const fn = 'pickRows';
  const B = a.shape[0];
  const n = B ? a.size / B : 0;
  const out = cudaEmpty(a.shape.slice(), fn);
  const api = dev(fn);
  const ad = h(a, fn, 'a'), bd = h(b, fn, 'b');
  for (let r = 0; r < B; ++r) api.copy2d(out._dev!, r * n, n, coins[r] ? ad : bd, r * n, n, n, 1);
  return record(out, fn, [a, b], (g) => {
    const bf = 'pickRows backward';
    const gd = h(g, bf, 'gradient');
    const ga = a.requiresGrad ? cudaEmpty(a.shape.slice(), bf) : null;
    const gb = b.requiresGrad ? cudaEmpty(b.shape.slice(), bf) : null;
    for (let r = 0; r < B; ++r) {
      const dst = coins[r] ? ga : gb;
      if (dst) dev(bf).copy2d(dst._dev!, r * n, n, gd, r * n, n, n, 1);
    }
    return [ga, gb];
  });
}

/** x + noise, the noise drawn on the host (the same numbers as on the CPU) and uploaded; gradient passes through. */
export function addNoise(x: Tensor, noise: Float32Array): Tensor {
  const fn = 'addNoise';
  const out = cudaEmpty(x.shape.slice(), fn);
  const nd = dev(fn).alloc(noise.length * 4);
  if (noise.length) {
    dev(fn).upload(nd, noise);
    dev(fn).binaryForward(0, h(x, fn, 'x'), x.shape.slice(), nd, x.shape.slice(), out._dev, x.shape.slice());
  }
  dev(fn).free(nd);
  return record(out, fn, [x], (g) => [g]);
}

// ---- gradient clipping (optim/clip.ts) ---------------------------------------------------------------
/** The sum of squares of a 'cuda' tensor (square, then the double-accumulating sumTo), as a number. */
export function sumSquares(fn: string, x: Tensor): number {
  if (x.size === 0) return 0;
  const api = dev(fn);
  const sq = api.alloc(x.size * 4), s = api.alloc(4);
  api.unaryForward(1 /* square */, h(x, fn, 'grad'), sq, x.size, 0, 0);
  api.sumTo(sq, [x.size], [1], s, 1);
  const out = new Float32Array(1);
  api.download(s, out);
  api.free(sq);
  api.free(s);
  return out[0];
}

/** x *= scale in place on 'cuda'. */
export function scaleInPlace(fn: string, x: Tensor, scale: number): void {
  if (x.size === 0) return;
  const api = dev(fn);
  const tmp = api.alloc(x.size * 4);
  api.unaryForward(AFFINE, h(x, fn, 'grad'), tmp, x.size, scale, 0);
  api.copy(h(x, fn, 'grad'), tmp);
  api.free(tmp);
}

// ---- uint8 frames (frames.cu) -------------------------------------------------------------------------
/** uint8 frames (host bytes, NHWC or NCHW) -> a float32 NCHW 'cuda' tensor in [0,1]: the bytes are uploaded (1/4 of the floats' size) and converted on the device. */
export function framesToFloat(frames: Uint8Array, N: number, C: number, H: number, W: number, channelsLast: boolean): Tensor {
  const fn = 'framesToFloat';
  const out = cudaEmpty([N, C, H, W], fn);
  dev(fn).framesToFloat(frames, N, C, H, W, channelsLast, out._dev);
  return out;
}

/** float32 NCHW 'cuda' images -> uint8 frames on the CPU (uint8 tensors live on the host): converted on the device, the bytes downloaded. */
export function floatToFrames(images: Tensor, channelsLast: boolean): Tensor {
  const fn = 'floatToFrames';
  const [N, C, H, W] = images.shape;
  const out = Tensor.empty(channelsLast ? [N, H, W, C] : [N, C, H, W], 'uint8');
  dev(fn).floatToFrames(h(images, fn, 'images'), N, C, H, W, channelsLast, out._data);
  return out;
}
