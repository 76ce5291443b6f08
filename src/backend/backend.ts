/**
 * The Backend interface: where a tensor's elements live and the kernels that compute on them.
 *
 * Every op (src/ops) is written once over this interface: it checks its arguments, asks the
 * tensors' backend for output buffers, calls the backend's kernel, and records one backward made
 * of backend kernels. A backend is a registry entry (src/backend/registry.ts) named by its device
 * string ('cpu', 'cuda'); adding one means implementing this interface, not touching the ops.
 *
 * Buffers are opaque to the ops: a host typed array for 'cpu', a device handle for 'cuda'. Element
 * offsets and counts are in elements of the buffer's dtype. Kernels write every element of their
 * outputs unless a comment says they accumulate. This module imports nothing from the tensor
 * layer: the layers depend one way (backend <- tensor <- autograd <- ops <- nn <- models).
 */

export type DType = 'float32' | 'int32' | 'uint8';
export type AnyTypedArray = Float32Array | Int32Array | Uint8Array;

/** A backend's buffer: opaque outside its backend. */
export type Buffer = unknown;

/** Whether a backend can run here, and why not. */
export interface BackendStatus {
  available: boolean;
  reason: string;
}

/** The dimensions of a conv2d: [N, C, H, W, K, kh, kw, sh, sw, ph, pw]. */
export type Conv2dDims = readonly number[];
/** The dimensions of a convTranspose2d: [N, Cin, H, W, Cout, kh, kw, sh, sw, ph, pw, oph, opw]. */
export type ConvTranspose2dDims = readonly number[];

/** LSTM weights as buffers (null bias: none). PyTorch layout, gate order i, f, g, o. */
export interface LstmWeightBuffers {
  wih: Buffer;
  whh: Buffer;
  bih: Buffer | null;
  bhh: Buffer | null;
}

/** LSTM weight gradients to write (null: not wanted). */
export interface LstmWeightGrads {
  wih: Buffer | null;
  whh: Buffer | null;
  bih: Buffer | null;
  bhh: Buffer | null;
}

/** The shapes of the predictor's scheduled-sampling unroll and rollout. */
export interface UnrollDims {
  /** Batch, window length (T inputs give S = T-1 predictions), latent size, action size (0: none), hidden size, layers. */
  B: number;
  T: number;
  D: number;
  A: number;
  H: number;
  L: number;
  /** Predict z_{t+1} = z_t + head(h) (true) or head(h). */
  residual: boolean;
}

/** The predictor's weights: L LSTM layers (layer 0 input D+A, then H) and the head [D,H], [D]. */
export interface UnrollWeights {
  layers: LstmWeightBuffers[];
  headW: Buffer;
  headB: Buffer;
}

/**
 * What the unroll saves for backward, time-major (row t*B + b), each written by the forward:
 * X0 [S*B, D+A] the layer-0 inputs, and per layer gates [S*B, 4H], cs, tcs (tanh c), hs [S*B, H];
 * preds [S*B, D].
 */
export interface UnrollSaved {
  X0: Buffer;
  gates: Buffer[];
  cs: Buffer[];
  tcs: Buffer[];
  hs: Buffer[];
  preds: Buffer;
}

/** The unroll's weight gradients to write: per layer W_ih, W_hh and the bias gradient (both biases get it). */
export interface UnrollGrads {
  layers: { wih: Buffer; whh: Buffer; b: Buffer }[];
  headW: Buffer;
  headB: Buffer;
}

/**
 * The dimensions of a block-causal attention (cpp/attention.h): q [BH, Tq, dh], k/v [BH, Tk, dh]
 * with BH = batch * heads and Tq <= Tk; query i sits at position i + Tk - Tq and sees key j iff
 * floor(j / tokensPerFrame) <= floor(position / tokensPerFrame); scores are scale * q . k.
 */
export interface AttentionDims {
  BH: number;
  Tq: number;
  Tk: number;
  dh: number;
  tokensPerFrame: number;
  scale: number;
  /** attentionForward only: rows per head of the k and v buffers when they are a cache of that capacity filled to Tk (default Tk). */
  kvRows?: number;
}

export interface Backend {
  /** The device string tensors on this backend report ('cpu', 'cuda'). */
  readonly name: string;
  /** Buffers are host typed arrays that tensor.data()/f32() may hand out without a copy. */
  readonly hostAddressable: boolean;
  /** The dtypes tensors may have here. */
  readonly dtypes: readonly DType[];
  /** Whether it can run here (never throws). */
  status(): BackendStatus;
  /** What a user can do when it is not available (appended to the errors), if anything. */
  readonly unavailableHint?: string;

  // ---- buffers -------------------------------------------------------------------------------
  /** n elements of dtype; zero-filled when `zero`, else contents undefined (the kernel writes all). */
  alloc(dtype: DType, n: number, zero: boolean, fn: string): Buffer;
  /** Returns a buffer made by alloc (views are not freed). Host buffers need nothing. */
  free(buf: Buffer): void;
  /** Whether buffers must be freed explicitly (device memory), so storages track them. */
  readonly needsFree: boolean;
  /**
   * Host backends: takes back a buffer alloc made whose storage was released and never handed
   * out as a typed array, for a later alloc of the same size (src/backend/host_arrays.ts).
   */
  recycle?(buf: Buffer): void;
  /** A buffer over elements [offset, offset + n) of buf (no copy). */
  view(buf: Buffer, dtype: DType, offset: number, n: number, fn: string): Buffer;
  /** Copies host elements into buf (host.length elements). */
  upload(buf: Buffer, host: AnyTypedArray, fn: string): void;
  /** Copies buf's first host.length elements to host. */
  download(buf: Buffer, host: AnyTypedArray, fn: string): void;
  /** The host array of a buffer of a host-addressable backend (throws elsewhere). */
  hostArray(buf: Buffer, fn: string): AnyTypedArray;
  /** dst[0..n) = src[0..n). */
  copy(dst: Buffer, src: Buffer, n: number, dtype: DType, fn: string): void;
  /** Copies the box `size` at `begin` of src (srcShape) to `dstBegin` of dst (dstShape). */
  copyBox(src: Buffer, srcShape: readonly number[], begin: readonly number[], size: readonly number[], dst: Buffer, dstShape: readonly number[], dstBegin: readonly number[], dtype: DType, fn: string): void;
  /** buf[0..n) = value (float32). */
  fill(buf: Buffer, n: number, value: number, fn: string): void;
  /** out = x permuted: out's axis i is x's axis perm[i]. */
  permute(x: Buffer, shape: readonly number[], perm: readonly number[], out: Buffer, dtype: DType, fn: string): void;

  // ---- elementwise ---------------------------------------------------------------------------
  unaryForward(op: number, x: Buffer, y: Buffer, n: number, p0: number, p1: number): void;
  /** gx = g * d op / dx, from x or y (whichever the op's derivative reads; the other may be null). */
  unaryBackward(op: number, x: Buffer | null, y: Buffer | null, g: Buffer, gx: Buffer, n: number, p0: number, p1: number): void;
  /** out = a (op) b with numpy broadcasting. */
  binaryForward(op: number, a: Buffer, aShape: readonly number[], b: Buffer, bShape: readonly number[], out: Buffer, outShape: readonly number[]): void;
  /** The gradients of a (op) b, summed over broadcast axes (null: not wanted). */
  binaryBackward(op: number, a: Buffer, aShape: readonly number[], b: Buffer, bShape: readonly number[], g: Buffer, outShape: readonly number[], ga: Buffer | null, gb: Buffer | null): void;
  /** out = a (op) s for a number s. */
  binaryScalarForward(op: number, a: Buffer, aShape: readonly number[], s: number, out: Buffer): void;
  /** ga = the gradient of a (op) s for op mul or div (add/sub pass the gradient through). */
  binaryScalarBackward(op: number, a: Buffer, aShape: readonly number[], s: number, g: Buffer, ga: Buffer): void;
  /** y += alpha * x (n elements). */
  axpy(y: Buffer, x: Buffer, n: number, alpha: number): void;

  // ---- reductions ----------------------------------------------------------------------------
  /** out (keptShape) = scale * the sum of x over `axes` (keptShape: x's shape with those axes 1). */
  sumTo(x: Buffer, xShape: readonly number[], axes: readonly number[], keptShape: readonly number[], out: Buffer, scale: number): void;
  /** gx (xShape) = scale * g (keptShape) broadcast. */
  broadcastTo(g: Buffer, keptShape: readonly number[], gx: Buffer, xShape: readonly number[], scale: number): void;
  /** out = reduction over B rows of max(rows[b], floor): 'none' keeps [B], 'sum' sums, 'mean' divides by B (NaN for B = 0). */
  reduceRows(rows: Buffer, B: number, floor: number, reduction: 'mean' | 'sum' | 'none', out: Buffer): void;
  /** The sum of squares of every element of every buffer, accumulated in double (NaN/Inf propagate). */
  sumSquares(bufs: Buffer[], ns: number[], fn: string): number;
  /** x *= s in place. */
  scaleInPlace(x: Buffer, n: number, s: number): void;

  // ---- GEMM ----------------------------------------------------------------------------------
  /** C = alpha op(A) op(B) + beta C, row-major with leading dimensions. */
  gemm(tA: boolean, tB: boolean, M: number, N: number, K: number, alpha: number, A: Buffer, lda: number, B: Buffer, ldb: number, beta: number, C: Buffer, ldc: number): void;
  /** out [R, O] = x [R, I] . w [O, I]^T (+ bias [O]). */
  linearForward(x: Buffer, w: Buffer, bias: Buffer | null, out: Buffer, R: number, O: number, I: number): void;
  /** out [O] = the column sums of g [R, O] (a bias gradient). */
  biasGrad(g: Buffer, R: number, O: number, out: Buffer): void;

  // ---- losses --------------------------------------------------------------------------------
  /** out [B] (or [1]) = scale * per-row loss of (a, t) over D columns; kind 0 MSE, 1 BCE-with-logits. */
  rowLossForward(kind: number, a: Buffer, t: Buffer, B: number, D: number, scale: number, out: Buffer): void;
  rowLossBackward(kind: number, a: Buffer, t: Buffer, B: number, D: number, g: Buffer, scale: number, ga: Buffer | null, gt: Buffer | null): void;
  /** kl [B] = KL(N(mu, e^logvar) || N(0, I)) per row. */
  klNormalForward(mu: Buffer, logvar: Buffer, B: number, D: number, kl: Buffer): void;
  klNormalBackward(mu: Buffer, logvar: Buffer, B: number, D: number, kl: Buffer, freeBits: number, gRow: Buffer, scale: number, gmu: Buffer | null, glv: Buffer | null): void;
  /** rows [B] = softmax cross-entropy of logits [B, C] against host labels. */
  crossEntropyForward(logits: Buffer, labels: Int32Array, B: number, C: number, rows: Buffer): void;
  crossEntropyBackward(logits: Buffer, labels: Int32Array, B: number, C: number, gRow: Buffer, scale: number, gx: Buffer): void;

  // ---- convolution ---------------------------------------------------------------------------
  /** out = conv2d(x, w) + bias, relu(...) when `relu`. */
  conv2dForward(x: Buffer, w: Buffer, bias: Buffer | null, out: Buffer, dims: Conv2dDims, relu: boolean): void;
  conv2dBackward(x: Buffer, w: Buffer, gy: Buffer, gx: Buffer | null, gw: Buffer | null, gb: Buffer | null, dims: Conv2dDims): void;
  convTranspose2dForward(x: Buffer, w: Buffer, bias: Buffer | null, out: Buffer, dims: ConvTranspose2dDims): void;
  convTranspose2dBackward(x: Buffer, w: Buffer, gy: Buffer, gx: Buffer | null, gw: Buffer | null, gb: Buffer | null, dims: ConvTranspose2dDims): void;

  // ---- LSTM ----------------------------------------------------------------------------------
  /** One step: gates [B,4H] and tanh(c') [B,H] saved for backward. */
  lstmCellForward(x: Buffer, h: Buffer | null, c: Buffer | null, w: LstmWeightBuffers, B: number, I: number, H: number, gates: Buffer, cNew: Buffer, hNew: Buffer, tanhC: Buffer): void;
  /** dGates [B,4H] (optional) receives the pre-activation gate gradients. */
  lstmCellBackward(x: Buffer, h: Buffer | null, c: Buffer | null, w: LstmWeightBuffers, gates: Buffer, tanhC: Buffer, gh: Buffer, gc: Buffer, B: number, I: number, H: number, dx: Buffer | null, dh: Buffer | null, dc: Buffer | null, gw: LstmWeightGrads, dGates?: Buffer | null): void;
  /** A whole sequence (teacher forcing); gates, tanhC and the cell states cs [(T+1)B H] saved. */
  lstmSequenceForward(x: Buffer, h0: Buffer | null, c0: Buffer | null, w: LstmWeightBuffers, T: number, B: number, I: number, H: number, batchFirst: boolean, y: Buffer, gates: Buffer, tanhC: Buffer, cs: Buffer, hN: Buffer, cN: Buffer): void;
  lstmSequenceBackward(x: Buffer, h0: Buffer | null, y: Buffer, gates: Buffer, tanhC: Buffer, cs: Buffer, w: LstmWeightBuffers, gy: Buffer, ghN: Buffer, gcN: Buffer, T: number, B: number, I: number, H: number, batchFirst: boolean, dx: Buffer | null, dh0: Buffer | null, dc0: Buffer | null, gw: LstmWeightGrads): void;
  /** out [R,D] = z + h [R,K] . W [D,K]^T + b (z null: no residual). */
  residualHeadForward(z: Buffer | null, h: Buffer, w: Buffer, b: Buffer | null, R: number, D: number, K: number, out: Buffer): void;
  residualHeadBackward(h: Buffer, w: Buffer, g: Buffer, R: number, D: number, K: number, dh: Buffer | null, dW: Buffer | null, db: Buffer | null): void;
  /** The gates' pointwise pass alone: pre [B,4H] (i,f,g,o), c [B,H] | null -> gates (activated), c', h', tanh(c'). */
  lstmGatesForward(pre: Buffer, c: Buffer | null, B: number, H: number, gates: Buffer, cNew: Buffer, hNew: Buffer, tanhC: Buffer): void;
  /** dPre [B,4H] and dc [B,H] (null: skipped) from the gradients gh, gc of h', c' (written, not accumulated). */
  lstmGatesBackward(gates: Buffer, c: Buffer | null, tanhC: Buffer, gh: Buffer, gc: Buffer, B: number, H: number, dPre: Buffer, dc: Buffer | null): void;

  // ---- the predictor's unrolls ------------------------------------------------------------------
  /**
   * Scheduled sampling as one op: input t of sample b is z[b,t] when t = 0 or coins[(t-1)B+b] is
   * 1, else the prediction of step t-1; noise [S*B*D] (or null) is added to the latent inputs;
   * z [B,T,D], a [B,S,A] | null, out [B,S,D].
   */
  scheduledUnrollForward(d: UnrollDims, z: Buffer, a: Buffer | null, coins: Float32Array, noise: Float32Array | null, w: UnrollWeights, saved: UnrollSaved, out: Buffer): void;
  /** Backward through time of scheduledUnrollForward: g [B,S,D]; dZ [B,T,D] (zero-filled, accumulated) | null. */
  scheduledUnrollBackward(d: UnrollDims, coins: Float32Array, w: UnrollWeights, saved: UnrollSaved, g: Buffer, dZ: Buffer | null, grads: UnrollGrads): void;
  /**
   * The open-loop rollout after the context: from state h, c [L,B,H] (updated in place) and the
   * first prediction z0 [B,D], S more steps feeding each prediction back; the actions of step k
   * of sample b are a[b*actionRowStride + k*A ...]; out [B,S,D].
   */
  lstmRollout(d: UnrollDims, S: number, w: UnrollWeights, h: Buffer, c: Buffer, z0: Buffer, a: Buffer | null, actionRowStride: number, out: Buffer): void;

  // ---- optimizers ----------------------------------------------------------------------------
  sgdStep(p: Buffer, g: Buffer, momentum: Buffer | null, n: number, lr: number, mu: number, dampening: number, weightDecay: number, nesterov: boolean, first: boolean): void;
  adamStep(p: Buffer, g: Buffer, m: Buffer, v: Buffer, n: number, lr: number, b1: number, b2: number, eps: number, weightDecay: number, decoupled: boolean, bc1: number, bc2: number): void;

  // ---- frames --------------------------------------------------------------------------------
  /** Host uint8 frames (NHWC when channelsLast, else NCHW) -> float32 NCHW in [0,1]. */
  framesToFloat(frames: Uint8Array, N: number, C: number, H: number, W: number, channelsLast: boolean, out: Buffer): void;
  /** float32 NCHW -> host uint8 frames round(clamp(v,0,1)*255). */
  floatToFrames(images: Buffer, N: number, C: number, H: number, W: number, channelsLast: boolean, out: Uint8Array): void;

  // ---- attention -----------------------------------------------------------------------------
  /** o [BH,Tq,dh] and the per-row logsumexp lse [BH*Tq] of the fused (online-softmax) attention. */
  attentionForward(q: Buffer, k: Buffer, v: Buffer, o: Buffer, lse: Buffer, d: AttentionDims): void;
  /** From the forward's o and lse and the output gradient go: gq [BH,Tq,dh], gk/gv [BH,Tk,dh] (null: not wanted). */
  attentionBackward(q: Buffer, k: Buffer, v: Buffer, o: Buffer, lse: Buffer, go: Buffer, d: AttentionDims, gq: Buffer | null, gk: Buffer | null, gv: Buffer | null): void;

  // ---- layer norm ----------------------------------------------------------------------------
  /** y [R,C] = (x - mean) * rstd * w + b per row (w/b null: none); mean, rstd [R] saved for backward. */
  layerNormForward(x: Buffer, w: Buffer | null, b: Buffer | null, R: number, C: number, eps: number, y: Buffer, mean: Buffer, rstd: Buffer): void;
  /** From the saved mean/rstd and gy [R,C]: gx [R,C], gw [C], gb [C] (null: not wanted; written, not accumulated). */
  layerNormBackward(x: Buffer, w: Buffer | null, mean: Buffer, rstd: Buffer, gy: Buffer, R: number, C: number, gx: Buffer | null, gw: Buffer | null, gb: Buffer | null): void;
}
