/**
 * 2-D convolution and transposed convolution (NCHW, PyTorch semantics) over the native conv
 * family (cpp/conv.cpp), recorded on the autograd tape; and the uint8 frame <-> float image
 * conversions.
 *
 *   conv2d(x [N,C,H,W], weight [K,C,kh,kw], bias [K]?) -> [N,K,Ho,Wo],
 *     Ho = floor((H + 2*padH - kh) / strideH) + 1
 *   convTranspose2d(x [N,Cin,H,W], weight [Cin,Cout,kh,kw], bias [Cout]?) -> [N,Cout,Ho,Wo],
 *     Ho = (H - 1)*strideH - 2*padH + kh + outputPaddingH
 */
import { fmtShape, rangeError, typeError } from '../errors';
import { Tensor, checkTensor } from '../tensor/tensor';
import { record } from '../autograd/tape';
import { backendOf, backendFor } from '../tensor/placement';
import { opCodes } from '../backend/op_codes';
import { checkFloat32 } from './elementwise';

export type Pair = number | [number, number];

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  /**
   * conv2d only: return relu(conv(x) + bias), the ReLU fused into the kernel's output pass
   * (one op on the tape; its backward masks the gradient with output > 0). Same values as
   * relu(conv2d(...)).
   */
  relu?: boolean;
  /** Name used in error messages (e.g. a layer's `Conv2d(encoder.0)`). */
  name?: string;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

/** Reads a number-or-pair argument as [h, w] integers >= min. */
export function toPair(fn: string, arg: string, v: unknown, min: number): [number, number] {
  const pair = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(pair) || pair.length !== 2 || pair.some((d) => typeof d !== 'number' || !Number.isInteger(d)))
    throw typeError(fn, arg, 'an integer or a pair of integers', v);
  if (pair[0] < min || pair[1] < min)
    throw rangeError(fn, `${arg} must be at least ${min}, got ${Array.isArray(v) ? fmtShape(v as number[]) : v}`);
  return [pair[0], pair[1]];
}

function check4d(fn: string, arg: string, t: Tensor): void {
  if (t.ndim !== 4) throw rangeError(fn, `${arg} must be [N,C,H,W], got ${fmtShape(t.shape)}`);
  checkFloat32(fn, arg, t);
}

/** conv2d: cross-correlation as in torch.nn.functional.conv2d. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const fn = opts.name ?? 'conv2d';
  checkTensor(fn, 'input', x);
  checkTensor(fn, 'weight', weight);
  check4d(fn, 'input', x);
  if (weight.ndim !== 4) throw rangeError(fn, `weight must be [outC,inC,kh,kw], got ${fmtShape(weight.shape)}`);
  const [N, C, H, W] = x.shape;
  const [K, Cw, kh, kw] = weight.shape;
  if (Cw !== C)
    throw rangeError(fn, `input must be [N,C,H,W] with C=${Cw}, got ${fmtShape(x.shape)}`);
  if (bias) {
    checkTensor(fn, 'bias', bias);
    if (bias.ndim !== 1 || bias.shape[0] !== K) throw rangeError(fn, `bias must be [${K}], got ${fmtShape(bias.shape)}`);
  }
  const [sh, sw] = toPair(fn, 'stride', opts.stride ?? 1, 1);
  const [ph, pw] = toPair(fn, 'padding', opts.padding ?? 0, 0);
  if (H + 2 * ph < kh || W + 2 * pw < kw)
    throw rangeError(
      fn,
      `input spatial size ${H}x${W} (padded ${H + 2 * ph}x${W + 2 * pw}) is smaller than the kernel ${kh}x${kw} (input ${fmtShape(x.shape)})`,
    );
  const Ho = Math.floor((H + 2 * ph - kh) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - kw) / sw) + 1;
  const be = backendOf(fn, [['input', x], ['weight', weight], ['bias', bias]]);
  // Every forward path writes every output element (cpp/conv.cpp conv2dForward): no zero fill needed.
  const out = Tensor.on(be, [N, K, Ho, Wo], 'float32', false, fn);
  const dims = [N, C, H, W, K, kh, kw, sh, sw, ph, pw];
  const relu = opts.relu === true;
  if (opts.relu !== undefined && typeof opts.relu !== 'boolean') throw typeError(fn, 'relu', 'a boolean', opts.relu);
  be.conv2dForward(x.buf(fn, 'input'), weight.buf(fn, 'weight'), bias ? bias.buf(fn, 'bias') : null, out._buf, dims, relu);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const y = out._buf;
  return record(out, relu ? 'conv2dRelu' : 'conv2d', inputs, (g) => {
    const bf = `${fn} backward`;
    const gx = x.requiresGrad ? Tensor.on(be, x.shape.slice(), 'float32', true, bf) : null;
    const gw = weight.requiresGrad ? Tensor.on(be, weight.shape.slice(), 'float32', true, bf) : null;
    const gb = bias && bias.requiresGrad ? Tensor.on(be, bias.shape.slice(), 'float32', true, bf) : null;
    let gy = g.buf(bf, 'gradOutput');
    let masked: Tensor | null = null;
    if (relu) {
      // d relu: the gradient where the output is positive (relu(z) > 0 exactly where z > 0).
      masked = Tensor.on(be, g.shape.slice(), 'float32', true, bf);
      be.unaryBackward(opCodes().unary.relu, y, null, gy, masked._buf, masked.size, 0, 0);
      gy = masked._buf;
    }
    be.conv2dBackward(x.buf(bf, 'input'), weight.buf(bf, 'weight'), gy, gx ? gx._buf : null, gw ? gw._buf : null, gb ? gb._buf : null, dims);
    masked?.dispose();
    return bias ? [gx, gw, gb] : [gx, gw];
  });
}

/** Output size of convTranspose2d along one axis. */
export function convTransposeOutSize(input: number, k: number, stride: number, pad: number, outPad: number): number {
  return (input - 1) * stride - 2 * pad + k + outPad;
}

/** convTranspose2d as in torch.nn.functional.conv_transpose2d (weight [inC, outC, kh, kw]). */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  const fn = opts.name ?? 'convTranspose2d';
  checkTensor(fn, 'input', x);
  checkTensor(fn, 'weight', weight);
  check4d(fn, 'input', x);
  if (weight.ndim !== 4) throw rangeError(fn, `weight must be [inC,outC,kh,kw], got ${fmtShape(weight.shape)}`);
  const [N, Cin, H, W] = x.shape;
  const [Cw, Cout, kh, kw] = weight.shape;
  if (Cw !== Cin) throw rangeError(fn, `input must be [N,C,H,W] with C=${Cw}, got ${fmtShape(x.shape)}`);
  if (bias) {
    checkTensor(fn, 'bias', bias);
    if (bias.ndim !== 1 || bias.shape[0] !== Cout) throw rangeError(fn, `bias must be [${Cout}], got ${fmtShape(bias.shape)}`);
  }
  const [sh, sw] = toPair(fn, 'stride', opts.stride ?? 1, 1);
  const [ph, pw] = toPair(fn, 'padding', opts.padding ?? 0, 0);
  const [oph, opw] = toPair(fn, 'outputPadding', opts.outputPadding ?? 0, 0);
  if (oph >= sh || opw >= sw)
    throw rangeError(fn, `outputPadding [${oph},${opw}] must be smaller than the stride [${sh},${sw}]`);
  if (H < 1 || W < 1) throw rangeError(fn, `input spatial size must be at least 1x1, got ${fmtShape(x.shape)}`);
  const Ho = convTransposeOutSize(H, kh, sh, ph, oph);
  const Wo = convTransposeOutSize(W, kw, sw, pw, opw);
  if (Ho < 1 || Wo < 1)
    throw rangeError(fn, `output size ${Ho}x${Wo} is not positive for input ${fmtShape(x.shape)} (padding [${ph},${pw}] too large)`);
  const be = backendOf(fn, [['input', x], ['weight', weight], ['bias', bias]]);
  const out = Tensor.on(be, [N, Cout, Ho, Wo], 'float32', true, fn);
  const dims = [N, Cin, H, W, Cout, kh, kw, sh, sw, ph, pw, oph, opw];
  be.convTranspose2dForward(x.buf(fn, 'input'), weight.buf(fn, 'weight'), bias ? bias.buf(fn, 'bias') : null, out._buf, dims);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(out, 'convTranspose2d', inputs, (g) => {
    const bf = `${fn} backward`;
    const gx = x.requiresGrad ? Tensor.on(be, x.shape.slice(), 'float32', true, bf) : null;
    const gw = weight.requiresGrad ? Tensor.on(be, weight.shape.slice(), 'float32', true, bf) : null;
    const gb = bias && bias.requiresGrad ? Tensor.on(be, bias.shape.slice(), 'float32', true, bf) : null;
    be.convTranspose2dBackward(x.buf(bf, 'input'), weight.buf(bf, 'weight'), g.buf(bf, 'gradOutput'), gx ? gx._buf : null, gw ? gw._buf : null, gb ? gb._buf : null, dims);
    return bias ? [gx, gw, gb] : [gx, gw];
  });
}

export type FrameLayout = 'NHWC' | 'NCHW';

/**
 * uint8 frames [N,H,W,C] ('NHWC') or [N,C,H,W] ('NCHW') -> float32 NCHW in [0,1], one native pass.
 * A 3-D input is one frame ([H,W,C] or [C,H,W]). With `{ device: 'cuda' }` the result is a
 * 'cuda' tensor: the bytes (uint8 tensors stay on the CPU) are uploaded and converted on the device.
 */
export function framesToFloat(frames: Tensor, layout: FrameLayout = 'NHWC', opts: { device?: string } = {}): Tensor {
  const fn = 'framesToFloat';
  checkTensor(fn, 'frames', frames);
  if (frames.dtype !== 'uint8') throw new TypeError(`${fn}: frames must be uint8, got ${frames.dtype}`);
  if (layout !== 'NHWC' && layout !== 'NCHW') throw typeError(fn, 'layout', "'NHWC' or 'NCHW'", layout);
  const shape = frames.ndim === 3 ? [1, ...frames.shape] : frames.shape;
  if (shape.length !== 4) throw rangeError(fn, `frames must be [N,H,W,C] or [N,C,H,W], got ${fmtShape(frames.shape)}`);
  const [N, C, H, W] = layout === 'NHWC' ? [shape[0], shape[3], shape[1], shape[2]] : shape;
  const be = backendFor(fn, opts?.device ?? 'cpu');
  const out = Tensor.on(be, [N, C, H, W], 'float32', true, fn);
  be.framesToFloat(frames.data(fn) as Uint8Array, N, C, H, W, layout === 'NHWC', out._buf);
  return out;
}

/**
 * float32 NCHW images in [0,1] -> uint8 frames (round(clamp(v,0,1)*255)) in `layout`. 'cuda' images
 * are converted on the device and the frames returned on the CPU (uint8 tensors live on the host).
 */
export function floatToFrames(images: Tensor, layout: FrameLayout = 'NHWC'): Tensor {
  const fn = 'floatToFrames';
  checkTensor(fn, 'images', images);
  check4d(fn, 'images', images);
  if (layout !== 'NHWC' && layout !== 'NCHW') throw typeError(fn, 'layout', "'NHWC' or 'NCHW'", layout);
  const [N, C, H, W] = images.shape;
  const out = Tensor.empty(layout === 'NHWC' ? [N, H, W, C] : [N, C, H, W], 'uint8');
  images._backend.floatToFrames(images.buf(fn, 'images'), N, C, H, W, layout === 'NHWC', out._data as Uint8Array);
  return out;
}
