// LSTM on the GPU, the twins of cpp/lstm.{h,cpp} (same math, layout and argument conventions):
// PyTorch layout weight_ih [4H,I], weight_hh [4H,H], bias_ih/bias_hh [4H], gates i, f, g, o.
//
//   gates = x·W_ihᵀ + h·W_hhᵀ + b_ih + b_hh            (gemm.cu, beta = 1 onto the bias rows)
//   i,f,o = σ(.), g = tanh(.), c' = f⊙c + i⊙g, h' = o⊙tanh(c')   (one pointwise kernel)
//
// Entry points (kernels.h): the fused cell forward/backward, the teacher-forced sequence op
// forward/backward through time, the predictor's residual head (out = z + h·Wᵀ + b), and the
// gates' pointwise pass alone (lstmGates*, for the ConvLSTM: pre-activations from its conv).
// Sequence forward: ONE GEMM for x·W_ihᵀ over all T*B rows, then per step one B x 4H recurrent
// GEMM and one pointwise launch (rows of a step are strided in place: row(b,t) = batchFirst ?
// b*T + t : t*B + b, the GEMM takes the row stride). Backward through time: per step one
// pointwise-backward launch (which also adds dy of that step to the carried dh, so no separate
// add) and dh_{t-1} = dG_t·W_hh; after the loop dx, dW_ih, dW_hh are one GEMM each over all
// rows and the bias gradients one column-sum launch. No hidden allocations: backward passes take
// a caller-owned device workspace of lstm*BackwardWorkspace(...) floats.
//
// Launch shapes: pointwise kernels are 1-D grid-stride over rows*H, 256 threads; thread k owns
// (r = k / H, j = k % H) and touches the four gate columns j, H+j, 2H+j, 3H+j of row r: within a
// warp the 32 consecutive j are coalesced 128 B segments per gate. Column sums: one thread per
// column, rows summed in order (fixed order like the CPU: bit-stable run to run, no atomics),
// consecutive threads read consecutive columns of a row (coalesced). Bias fill, residual fill and
// the H_prev gather are grid-stride copies.
//
// Roofline: the GEMMs dominate for H >= 64 (see gemm.cu; the recurrent step GEMM is B x 4H x H,
// small, latency-bound at small B). The pointwise forward moves 4+1 floats in and 4+3 out per
// element (48 B) for ~40 flops including 5 transcendentals: bandwidth-bound, expect ~80% of DRAM
// bandwidth for large B*H, but for a typical step (B*H ~ 16K) it is launch-latency bound (~5 us).
// The column sum reads rows*G floats with only G threads: enough parallelism for G >= 2048,
// latency-bound below (a two-pass split would fix that; not needed at predictor sizes).
#include "lstm.h"
#include "wk_cuda.cuh"

namespace wk {
namespace cuda {
namespace {

constexpr unsigned kThreads = 256;

__device__ __forceinline__ float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

// gates[r*G + j] = bih[j] + bhh[j] (either may be null) for r < rows.
__global__ void __launch_bounds__(kThreads) biasRowsKernel(float* __restrict__ out, unsigned long long rows,
                                                           unsigned G, const float* __restrict__ b1,
                                                           const float* __restrict__ b2, const float* __restrict__ z,
                                                           unsigned long long ldz) {
  const unsigned long long n = rows * G, stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < n; k += stride) {
    const unsigned long long r = k / G;
    const unsigned j = (unsigned)(k - r * G);
    // same association as the CPU: (z + (b1 + b2)); the residual head passes b2 = null
    const float b = (b1 ? b1[j] : 0.0f) + (b2 ? b2[j] : 0.0f);
    out[k] = z ? z[r * ldz + j] + b : b;
  }
}

__global__ void __launch_bounds__(kThreads)
    pointwiseForwardKernel(unsigned long long rows, unsigned H, float* __restrict__ gates, unsigned long long ldg,
                           const float* __restrict__ c, unsigned long long ldc, float* __restrict__ cNew,
                           unsigned long long ldcn, float* __restrict__ hNew, unsigned long long ldh,
                           float* __restrict__ tanhC, unsigned long long ldt) {
  const unsigned long long n = rows * H, stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < n; k += stride) {
    const unsigned long long r = k / H;
    const unsigned j = (unsigned)(k - r * H);
    float* g = gates + r * ldg + j;
    const float i = sigm(g[0]);
    const float f = sigm(g[H]);
    const float gg = tanhf(g[2 * H]);
    const float o = sigm(g[3 * H]);
    g[0] = i;
    g[H] = f;
    g[2 * H] = gg;
    g[3 * H] = o;
    const float cv = i * gg + (c ? f * c[r * ldc + j] : 0.0f);
    const float t = tanhf(cv);
    cNew[r * ldcn + j] = cv;
    tanhC[r * ldt + j] = t;
    hNew[r * ldh + j] = o * t;
  }
}

// dh of row r is dh[r*lddh + j] (+ dy[r*lddy + j] when dy is given: the step's output gradient
// added to the carried one, as the CPU does before its pointwise pass). dcIn and dcOut may alias.
__global__ void __launch_bounds__(kThreads)
    pointwiseBackwardKernel(unsigned long long rows, unsigned H, const float* __restrict__ gates,
                            unsigned long long ldg, const float* __restrict__ c, unsigned long long ldc,
                            const float* __restrict__ tanhC, unsigned long long ldt, const float* __restrict__ dh,
                            unsigned long long lddh, const float* __restrict__ dy, unsigned long long lddy,
                            const float* dcIn, unsigned long long lddci, float* dcOut, unsigned long long lddco,
                            float* __restrict__ dG, unsigned long long lddg) {
  const unsigned long long n = rows * H, stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < n; k += stride) {
    const unsigned long long r = k / H;
    const unsigned j = (unsigned)(k - r * H);
    const float* g = gates + r * ldg + j;
    const float i = g[0], f = g[H], gg = g[2 * H], o = g[3 * H], t = tanhC[r * ldt + j];
    float dhv = dh ? dh[r * lddh + j] : 0.0f;
    if (dy) dhv = dhv + dy[r * lddy + j];
    const float dc = (dcIn ? dcIn[r * lddci + j] : 0.0f) + dhv * o * (1.0f - t * t);
    const float cprev = c ? c[r * ldc + j] : 0.0f;
    float* d = dG + r * lddg + j;
    d[0] = dc * gg * i * (1.0f - i);
    d[H] = dc * cprev * f * (1.0f - f);
    d[2 * H] = dc * i * (1.0f - gg * gg);
    d[3 * H] = dhv * t * o * (1.0f - o);
    if (dcOut) dcOut[r * lddco + j] = dc * f;
  }
}

// out[j] (and out2[j]) = sum over rows r, in order, of x[r*ld + j].
__global__ void __launch_bounds__(kThreads) columnSumKernel(const float* __restrict__ x, unsigned long long rows,
                                                            unsigned cols, unsigned long long ld,
                                                            float* __restrict__ out, float* __restrict__ out2) {
  for (unsigned j = blockIdx.x * blockDim.x + threadIdx.x; j < cols; j += gridDim.x * blockDim.x) {
    float s = 0.0f;
    for (unsigned long long r = 0; r < rows; ++r) s += x[r * ld + j];
    if (out) out[j] = s;
    if (out2) out2[j] = s;
  }
}

// hp[row(b,t)] = h_{t-1} of sample b: h0 (or zeros) at t = 0, else y[row(b,t-1)].
__global__ void __launch_bounds__(kThreads) hPrevKernel(unsigned T, unsigned B, unsigned H, int batchFirst,
                                                        const float* __restrict__ h0, const float* __restrict__ y,
                                                        float* __restrict__ hp) {
  const unsigned long long n = (unsigned long long)T * B * H, stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < n; k += stride) {
    const unsigned long long r = k / H;
    const unsigned j = (unsigned)(k - r * H);
    const unsigned t = batchFirst ? (unsigned)(r % T) : (unsigned)(r / B);
    const unsigned b = batchFirst ? (unsigned)(r / T) : (unsigned)(r % B);
    float v;
    if (t == 0) v = h0 ? h0[(unsigned long long)b * H + j] : 0.0f;
    else v = y[(batchFirst ? r - 1 : r - B) * H + j];
    hp[k] = v;
  }
}

// dst[b*H + j] = src[(r0 + b*rs)*H + j] for b < B (the last step's h out of a strided sequence).
__global__ void __launch_bounds__(kThreads) gatherRowsKernel(float* __restrict__ dst, const float* __restrict__ src,
                                                             unsigned B, unsigned H, unsigned long long r0,
                                                             unsigned long long rs) {
  const unsigned long long n = (unsigned long long)B * H, stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < n; k += stride) {
    const unsigned long long b = k / H, j = k - b * H;
    dst[k] = src[(r0 + b * rs) * H + j];
  }
}

#define WK_TRY(call)                 \
  do {                               \
    const int wkErr_ = (call);       \
    if (wkErr_ != 0) return wkErr_; \
  } while (0)

int biasRows(float* out, size_t rows, size_t G, const float* b1, const float* b2, const float* z, size_t ldz,
             cudaStream_t s) {
  if (rows * G == 0) return 0;
  WK_LAUNCH(biasRowsKernel, gridFor(rows * G, kThreads), kThreads, 0, s, out, (unsigned long long)rows, (unsigned)G,
            b1, b2, z, (unsigned long long)ldz);
  return lastError();
}

int pointwiseForward(size_t rows, size_t H, float* gates, size_t ldg, const float* c, size_t ldc, float* cNew,
                     size_t ldcn, float* hNew, size_t ldh, float* tanhC, size_t ldt, cudaStream_t s) {
  if (rows * H == 0) return 0;
  WK_LAUNCH(pointwiseForwardKernel, gridFor(rows * H, kThreads), kThreads, 0, s, (unsigned long long)rows,
            (unsigned)H, gates, (unsigned long long)ldg, c, (unsigned long long)ldc, cNew, (unsigned long long)ldcn,
            hNew, (unsigned long long)ldh, tanhC, (unsigned long long)ldt);
  return lastError();
}

int pointwiseBackward(size_t rows, size_t H, const float* gates, size_t ldg, const float* c, size_t ldc,
                      const float* tanhC, size_t ldt, const float* dh, size_t lddh, const float* dy, size_t lddy,
                      const float* dcIn, size_t lddci, float* dcOut, size_t lddco, float* dG, size_t lddg,
                      cudaStream_t s) {
  if (rows * H == 0) return 0;
  WK_LAUNCH(pointwiseBackwardKernel, gridFor(rows * H, kThreads), kThreads, 0, s, (unsigned long long)rows,
            (unsigned)H, gates, (unsigned long long)ldg, c, (unsigned long long)ldc, tanhC, (unsigned long long)ldt,
            dh, (unsigned long long)lddh, dy, (unsigned long long)lddy, dcIn, (unsigned long long)lddci, dcOut,
            (unsigned long long)lddco, dG, (unsigned long long)lddg);
  return lastError();
}

int columnSums(size_t rows, size_t cols, const float* x, size_t ld, float* out, float* out2, cudaStream_t s) {
  if (!out && !out2) return 0;
  if (cols == 0) return 0;
  WK_LAUNCH(columnSumKernel, gridFor(cols, kThreads), kThreads, 0, s, x, (unsigned long long)rows, (unsigned)cols,
            (unsigned long long)ld, out, out2);
  return lastError();
}

int zero(float* p, size_t n, cudaStream_t s) {
  if (!p || n == 0) return 0;
  return static_cast<int>(cudaMemsetAsync(p, 0, n * sizeof(float), s));
}
int copy(float* d, const float* src, size_t n, cudaStream_t s) {
  if (n == 0) return 0;
  return static_cast<int>(cudaMemcpyAsync(d, src, n * sizeof(float), cudaMemcpyDeviceToDevice, s));
}

bool tooBig(size_t v) { return v > 0xffffffffull; }

}  // namespace

size_t lstmCellBackwardWorkspace(size_t B, size_t H) { return B * 4 * H; }

size_t lstmSequenceBackwardWorkspace(size_t T, size_t B, size_t H) {
  const size_t rows = T * B;
  // dG [rows, 4H] | dh, dhStep [2, B, H] (dhStep unused: dy is fused) | dc [B, H] | H_prev [rows, H]
  return rows * 4 * H + 3 * B * H + rows * H;
}

int lstmCellForward(size_t B, const LstmParams& p, const float* x, const float* h, const float* c, float* gates,
                    float* cNew, float* hNew, float* tanhC, Stream stream) {
  const size_t H = p.H, G = 4 * H;
  if (tooBig(G) || tooBig(p.I) || tooBig(B)) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  WK_TRY(biasRows(gates, B, G, p.bih, p.bhh, nullptr, 0, s));
  if (p.I) WK_TRY(gemm(false, true, B, G, p.I, 1.0f, x, p.I, p.wih, p.I, 1.0f, gates, G, stream));
  if (h) WK_TRY(gemm(false, true, B, G, H, 1.0f, h, H, p.whh, H, 1.0f, gates, G, stream));
  return pointwiseForward(B, H, gates, G, c, H, cNew, H, hNew, H, tanhC, H, s);
}

int lstmCellBackward(size_t B, const LstmParams& p, const float* x, const float* h, const float* c,
                     const float* gates, const float* tanhC, const float* dhNew, const float* dcNew, float* dx,
                     float* dh, float* dc, const LstmParamGrads& g, float* dGatesOut, float* workspace,
                     Stream stream) {
  const size_t H = p.H, G = 4 * H, I = p.I;
  if (tooBig(G) || tooBig(I) || tooBig(B)) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  float* dG = dGatesOut ? dGatesOut : workspace;
  if (!dG) return static_cast<int>(cudaErrorInvalidValue);
  WK_TRY(pointwiseBackward(B, H, gates, G, c, H, tanhC, H, dhNew, H, nullptr, 0, dcNew, H, dc, H, dG, G, s));
  if (dx && I) WK_TRY(gemm(false, false, B, I, G, 1.0f, dG, G, p.wih, I, 0.0f, dx, I, stream));
  if (dh) WK_TRY(gemm(false, false, B, H, G, 1.0f, dG, G, p.whh, H, 0.0f, dh, H, stream));
  if (g.wih && I) WK_TRY(gemm(true, false, G, I, B, 1.0f, dG, G, x, I, 0.0f, g.wih, I, stream));
  if (g.whh) {
    if (h) WK_TRY(gemm(true, false, G, H, B, 1.0f, dG, G, h, H, 0.0f, g.whh, H, stream));
    else WK_TRY(zero(g.whh, G * H, s));
  }
  return columnSums(B, G, dG, G, g.bih, g.bhh, s);
}

int lstmSequenceForward(size_t T, size_t B, bool batchFirst, const LstmParams& p, const float* x, const float* h0,
                        const float* c0, float* y, float* gates, float* tanhC, float* cs, float* hN, float* cN,
                        Stream stream) {
  const size_t H = p.H, G = 4 * H, I = p.I, rows = T * B;
  if (tooBig(G) || tooBig(I) || tooBig(B) || tooBig(T) || tooBig(rows)) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  const size_t rs = batchFirst ? T : 1;
  WK_TRY(biasRows(gates, rows, G, p.bih, p.bhh, nullptr, 0, s));
  if (I) WK_TRY(gemm(false, true, rows, G, I, 1.0f, x, I, p.wih, I, 1.0f, gates, G, stream));
  if (c0) WK_TRY(copy(cs, c0, B * H, s));
  else WK_TRY(zero(cs, B * H, s));
  for (size_t t = 0; t < T; ++t) {
    const size_t r0 = batchFirst ? t : t * B;
    float* gt = gates + r0 * G;
    if (t == 0) {
      if (h0) WK_TRY(gemm(false, true, B, G, H, 1.0f, h0, H, p.whh, H, 1.0f, gt, rs * G, stream));
    } else {
      const size_t rp = batchFirst ? t - 1 : (t - 1) * B;
      WK_TRY(gemm(false, true, B, G, H, 1.0f, y + rp * H, rs * H, p.whh, H, 1.0f, gt, rs * G, stream));
    }
    WK_TRY(pointwiseForward(B, H, gt, rs * G, cs + t * B * H, H, cs + (t + 1) * B * H, H, y + r0 * H, rs * H,
                            tanhC + r0 * H, rs * H, s));
  }
  if (hN) {
    if (T > 0) {
      if (B * H != 0) {
        const size_t rl = batchFirst ? T - 1 : (T - 1) * B;
        WK_LAUNCH(gatherRowsKernel, gridFor(B * H, kThreads), kThreads, 0, s, hN, (const float*)y, (unsigned)B,
                  (unsigned)H, (unsigned long long)rl, (unsigned long long)rs);
        WK_TRY(lastError());
      }
    } else if (h0) {
      WK_TRY(copy(hN, h0, B * H, s));
    } else {
      WK_TRY(zero(hN, B * H, s));
    }
  }
  if (cN) WK_TRY(copy(cN, cs + T * B * H, B * H, s));
  return 0;
}

int lstmSequenceBackward(size_t T, size_t B, bool batchFirst, const LstmParams& p, const float* x, const float* h0,
                         const float* y, const float* gates, const float* tanhC, const float* cs, const float* dy,
                         const float* dhN, const float* dcN, float* dx, float* dh0, float* dc0,
                         const LstmParamGrads& g, float* workspace, Stream stream) {
  const size_t H = p.H, G = 4 * H, I = p.I, rows = T * B;
  if (tooBig(G) || tooBig(I) || tooBig(B) || tooBig(T) || tooBig(rows)) return static_cast<int>(cudaErrorInvalidValue);
  if (!workspace && lstmSequenceBackwardWorkspace(T, B, H) > 0) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  const size_t rs = batchFirst ? T : 1;
  float* dG = workspace;
  float* dh = dG + rows * G;
  float* dc = dh + 2 * B * H;
  float* hp = dc + B * H;
  if (dhN) WK_TRY(copy(dh, dhN, B * H, s));
  else WK_TRY(zero(dh, B * H, s));
  if (dcN) WK_TRY(copy(dc, dcN, B * H, s));
  else WK_TRY(zero(dc, B * H, s));
  for (size_t tt = T; tt-- > 0;) {
    const size_t r0 = batchFirst ? tt : tt * B;
    float* dGt = dG + r0 * G;
    WK_TRY(pointwiseBackward(B, H, gates + r0 * G, rs * G, cs + tt * B * H, H, tanhC + r0 * H, rs * H, dh, H,
                             dy ? dy + r0 * H : nullptr, rs * H, dc, H, dc, H, dGt, rs * G, s));
    if (tt > 0 || dh0) WK_TRY(gemm(false, false, B, H, G, 1.0f, dGt, rs * G, p.whh, H, 0.0f, dh, H, stream));
  }
  if (dh0) {
    if (T > 0) WK_TRY(copy(dh0, dh, B * H, s));
    else if (dhN) WK_TRY(copy(dh0, dhN, B * H, s));
    else WK_TRY(zero(dh0, B * H, s));
  }
  if (dc0) WK_TRY(copy(dc0, dc, B * H, s));
  if (dx && I) WK_TRY(gemm(false, false, rows, I, G, 1.0f, dG, G, p.wih, I, 0.0f, dx, I, stream));
  if (g.wih && I) {
    if (rows) WK_TRY(gemm(true, false, G, I, rows, 1.0f, dG, G, x, I, 0.0f, g.wih, I, stream));
    else WK_TRY(zero(g.wih, G * I, s));
  }
  if (g.whh) {
    if (rows) {
      if (H) {
        WK_LAUNCH(hPrevKernel, gridFor(rows * H, kThreads), kThreads, 0, s, (unsigned)T, (unsigned)B, (unsigned)H,
                  (int)batchFirst, h0, y, hp);
        WK_TRY(lastError());
      }
      WK_TRY(gemm(true, false, G, H, rows, 1.0f, dG, G, hp, H, 0.0f, g.whh, H, stream));
    } else {
      WK_TRY(zero(g.whh, G * H, s));
    }
  }
  if (rows) return columnSums(rows, G, dG, G, g.bih, g.bhh, s);
  WK_TRY(zero(g.bih, G, s));
  return zero(g.bhh, G, s);
}

int residualHeadForward(size_t R, size_t D, size_t K, const float* z, const float* h, const float* W, const float* b,
                        float* out, Stream stream) {
  if (tooBig(D) || tooBig(K) || tooBig(R)) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  WK_TRY(biasRows(out, R, D, b, nullptr, z, D, s));
  if (K) WK_TRY(gemm(false, true, R, D, K, 1.0f, h, K, W, K, 1.0f, out, D, stream));
  return 0;
}

int residualHeadBackward(size_t R, size_t D, size_t K, const float* h, const float* W, const float* dout, float* dh,
                         float* dW, float* db, Stream stream) {
  if (tooBig(D) || tooBig(K) || tooBig(R)) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  if (dh && K) WK_TRY(gemm(false, false, R, K, D, 1.0f, dout, D, W, K, 0.0f, dh, K, stream));
  if (dW && K) {
    if (R) WK_TRY(gemm(true, false, D, K, R, 1.0f, dout, D, h, K, 0.0f, dW, K, stream));
    else WK_TRY(zero(dW, D * K, s));
  }
  if (db) {
    if (R) WK_TRY(columnSums(R, D, dout, D, db, nullptr, s));
    else WK_TRY(zero(db, D, s));
  }
  return 0;
}


// The gates' pointwise pass on its own (cpp/lstm_gates.h): pre [B,4H] copied into gates, then the
// same pointwise kernel as the cell and the sequence op (one device copy of the math).
int lstmGatesForward(size_t B, size_t H, const float* pre, const float* c, float* gates, float* cNew, float* hNew,
                     float* tanhC, Stream stream) {
  const size_t G = 4 * H;
  if (tooBig(G) || tooBig(B)) return static_cast<int>(cudaErrorInvalidValue);
  if (B * H == 0) return 0;
  cudaStream_t s = asStream(stream);
  if (gates != pre) WK_TRY(copy(gates, pre, B * G, s));
  return pointwiseForward(B, H, gates, G, c, H, cNew, H, hNew, H, tanhC, H, s);
}

int lstmGatesBackward(size_t B, size_t H, const float* gates, const float* c, const float* tanhC, const float* dh,
                      const float* dcNew, float* dPre, float* dc, Stream stream) {
  const size_t G = 4 * H;
  if (tooBig(G) || tooBig(B)) return static_cast<int>(cudaErrorInvalidValue);
  if (B * H == 0) return 0;
  return pointwiseBackward(B, H, gates, G, c, H, tanhC, H, dh, H, nullptr, 0, dcNew, H, dc, H, dPre, G,
                           asStream(stream));
}

}  // namespace cuda
}  // namespace wk
