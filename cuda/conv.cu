// 2-D convolution and transposed convolution on the GPU, NCHW, the twins of cpp/conv.{h,cpp}:
// same ConvGeom ("conv view": input [N,C,H,W], output [N,K,Ho,Wo], weight [K,C,kh,kw]; a
// transposed convolution is the adjoint map with the roles of the two tensors swapped, weight
// [in=K, out=C, kh, kw] as PyTorch's ConvTranspose2d), same results up to float rounding.
//
// Method: im2col / col2im + the CUDA GEMM of gemm.cu, with the batch folded into the GEMM's
// column dimension like the CPU (col[(c*kh + i)*kw + j][n*P + p], P = Ho*Wo, row stride nb*P;
// GEMM output [K, nb*P] channel-major, scattered to NCHW with the bias on the way). Chunks of
// nb samples follow the CPU's rule (about 32 MiB per buffer); the caller owns the device
// workspace: convWorkspace(g) floats = (C*kh*kw + K) * nb * P.
//
// Kernels (1-D grid-stride, 256 threads):
//   im2col   one thread per col element; consecutive threads write consecutive columns
//            (coalesced stores), read x rows with stride sw (coalesced for sw = 1).
//   col2im   a GATHER, one thread per x element summing its (i, j) taps in the CPU's order, so
//            no atomics, deterministic, and bit-identical to the CPU's scatter-add sum order.
//   gather/scatter channels [N,K,P] <-> [K, nb*P] (+ bias), plain coalesced copies.
//   bias gradient: one block per channel, double accumulation, block reduction with shuffles
//            (fixed order for the fixed block size).
//
// Roofline: for the VAE's layers the GEMMs dominate (K x nb*P x C*kh*kw, see gemm.cu); im2col
// inflates memory traffic by kh*kw/(sh*sw) (4x for 4x4 stride 2) and is bandwidth-bound (~80%
// of DRAM bandwidth expected); col2im reads kh*kw/(sh*sw) taps per output on average. An implicit
// GEMM would save the col buffer's round trip (about 2 x CKK x nb*P x 4 B per pass); not done.
#include <algorithm>

#include "block_reduce.cuh"
#include "conv.h"

namespace wk {
namespace cuda {
namespace {

constexpr unsigned kThreads = 256;
constexpr size_t kChunkFloats = size_t(1) << 23;  // as cpp/conv.cpp

struct Geo {
  int C, H, W, K, kh, kw, sh, sw, ph, pw, Ho, Wo;
};

Geo geo(const ConvGeom& g) {
  return Geo{(int)g.C, (int)g.H, (int)g.W, (int)g.K, (int)g.kh, (int)g.kw, (int)g.sh, (int)g.sw,
             (int)g.ph, (int)g.pw, (int)g.Ho, (int)g.Wo};
}

// col[CKK, nb*P] from samples n0 .. n0+nb of x [N, C, H, W].
__global__ void __launch_bounds__(kThreads) im2colKernel(Geo g, const float* __restrict__ x, unsigned long long n0,
                                                         unsigned nb, float* __restrict__ col) {
  const unsigned P = (unsigned)(g.Ho * g.Wo);
  const unsigned long long ld = (unsigned long long)nb * P;
  const unsigned long long total = (unsigned long long)g.C * g.kh * g.kw * ld;
  const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < total; k += stride) {
    const unsigned long long row = k / ld, q = k - row * ld;
    const unsigned n = (unsigned)(q / P), p = (unsigned)(q - (unsigned long long)n * P);
    const int oh = (int)(p / g.Wo), ow = (int)(p - oh * g.Wo);
    const int j = (int)(row % g.kw), i = (int)((row / g.kw) % g.kh), c = (int)(row / ((unsigned)g.kh * g.kw));
    const int ih = oh * g.sh + i - g.ph, iw = ow * g.sw + j - g.pw;
    float v = 0.0f;
    if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
      v = x[(((n0 + n) * g.C + c) * g.H + ih) * (unsigned long long)g.W + iw];
    col[k] = v;
  }
}

// x samples n0 .. n0+nb [C, H, W] = sum of their taps in col [CKK, nb*P] (i, then j, ascending).
__global__ void __launch_bounds__(kThreads) col2imKernel(Geo g, const float* __restrict__ col, unsigned long long n0,
                                                         unsigned nb, float* __restrict__ x) {
  const unsigned P = (unsigned)(g.Ho * g.Wo);
  const unsigned long long ld = (unsigned long long)nb * P;
  const unsigned long long total = (unsigned long long)nb * g.C * g.H * g.W;
  const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < total; k += stride) {
    const int w = (int)(k % g.W);
    const int h = (int)((k / g.W) % g.H);
    const int c = (int)((k / ((unsigned long long)g.W * g.H)) % g.C);
    const unsigned n = (unsigned)(k / ((unsigned long long)g.W * g.H * g.C));
    float s = 0.0f;
    for (int i = 0; i < g.kh; ++i) {
      const int t = h + g.ph - i;
      if (t < 0 || t % g.sh != 0) continue;
      const int oh = t / g.sh;
      if (oh >= g.Ho) continue;
      for (int j = 0; j < g.kw; ++j) {
        const int u = w + g.pw - j;
        if (u < 0 || u % g.sw != 0) continue;
        const int ow = u / g.sw;
        if (ow >= g.Wo) continue;
        s += col[((unsigned long long)(c * g.kh + i) * g.kw + j) * ld + (unsigned long long)n * P +
                 (unsigned)(oh * g.Wo + ow)];
      }
    }
    x[(n0 + n) * ((unsigned long long)g.C * g.H * g.W) + (k - (unsigned long long)n * g.C * g.H * g.W)] = s;
  }
}

// Dir 0: m[K, nb*P] <- y[n0.., K, P].  Dir 1: y[n0.., K, P] <- m[K, nb*P] + bias[K] (bias may be
// null).
template <int Dir>
__global__ void __launch_bounds__(kThreads) channelsKernel(float* __restrict__ y, float* __restrict__ m,
                                                           const float* __restrict__ bias, unsigned K, unsigned P,
                                                           unsigned long long n0, unsigned nb) {
  const unsigned long long ld = (unsigned long long)nb * P, total = (unsigned long long)K * ld;
  const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < total; k += stride) {
    const unsigned kk = (unsigned)(k / ld);
    const unsigned long long q = k - kk * ld;
    const unsigned n = (unsigned)(q / P), p = (unsigned)(q - (unsigned long long)n * P);
    const unsigned long long yi = ((n0 + n) * K + kk) * (unsigned long long)P + p;
    if (Dir == 0) m[k] = y[yi];
    else y[yi] = bias ? m[k] + bias[kk] : m[k];
  }
}

// y[n, c, :] = b[c] (or += b[c] when Add) over N*C*HW elements.
template <bool Add>
__global__ void __launch_bounds__(kThreads) biasKernel(float* __restrict__ y, const float* __restrict__ b,
                                                       unsigned C, unsigned long long HW, unsigned long long total) {
  const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < total; k += stride) {
    const float v = b ? b[(k / HW) % C] : 0.0f;
    y[k] = Add ? y[k] + v : v;
  }
}

// gb[c] = sum over n, p of gy[n, c, p]: block c, double accumulation.
__global__ void __launch_bounds__(kThreads) biasGradKernel(const float* __restrict__ gy, unsigned N, unsigned C,
                                                           unsigned long long HW, float* __restrict__ gb) {
  __shared__ double scratch[33];
  const unsigned c = blockIdx.x;
  const unsigned long long total = (unsigned long long)N * HW;
  double s = 0.0;
  for (unsigned long long k = threadIdx.x; k < total; k += blockDim.x) {
    const unsigned long long n = k / HW, p = k - n * HW;
    s += gy[(n * C + c) * HW + p];
  }
  s = blockSum(s, scratch);
  if (threadIdx.x == 0) gb[c] = static_cast<float>(s);
}

#define WK_TRY(call)                 \
  do {                               \
    const int wkErr_ = (call);       \
    if (wkErr_ != 0) return wkErr_; \
  } while (0)

size_t chunkSize(const ConvGeom& g) {
  const size_t P = g.Ho * g.Wo;
  const size_t per = std::max<size_t>(1, std::max(g.C * g.kh * g.kw, g.K) * P);
  return std::max<size_t>(1, std::min(g.N, kChunkFloats / per));
}

bool invalid(const ConvGeom& g) {
  const size_t lim = 0x7fffffff;
  return g.N > lim || g.C > lim || g.H > lim || g.W > lim || g.K > lim || g.kh > lim || g.kw > lim || g.sh == 0 ||
         g.sw == 0 || g.sh > lim || g.sw > lim || g.ph > lim || g.pw > lim || g.Ho > lim || g.Wo > lim ||
         g.Ho * g.Wo > 0xffffffffull || g.H * g.W * g.C > (1ull << 40);
}

int im2col(const ConvGeom& g, const float* x, size_t n0, size_t nb, float* col, cudaStream_t s) {
  const size_t total = g.C * g.kh * g.kw * nb * g.Ho * g.Wo;
  if (total == 0) return 0;
  WK_LAUNCH(im2colKernel, gridFor(total, kThreads), kThreads, 0, s, geo(g), x, (unsigned long long)n0, (unsigned)nb,
            col);
  return lastError();
}
int col2im(const ConvGeom& g, const float* col, size_t n0, size_t nb, float* x, cudaStream_t s) {
  const size_t total = nb * g.C * g.H * g.W;
  if (total == 0) return 0;
  WK_LAUNCH(col2imKernel, gridFor(total, kThreads), kThreads, 0, s, geo(g), col, (unsigned long long)n0, (unsigned)nb,
            x);
  return lastError();
}
int gatherChannels(const float* y, size_t K, size_t P, size_t n0, size_t nb, float* m, cudaStream_t s) {
  if (K * P * nb == 0) return 0;
  WK_LAUNCH(channelsKernel<0>, gridFor(K * P * nb, kThreads), kThreads, 0, s, const_cast<float*>(y), m,
            (const float*)nullptr, (unsigned)K, (unsigned)P, (unsigned long long)n0, (unsigned)nb);
  return lastError();
}
int scatterChannels(const float* m, const float* bias, size_t K, size_t P, size_t n0, size_t nb, float* y,
                    cudaStream_t s) {
  if (K * P * nb == 0) return 0;
  WK_LAUNCH(channelsKernel<1>, gridFor(K * P * nb, kThreads), kThreads, 0, s, y, const_cast<float*>(m), bias,
            (unsigned)K, (unsigned)P, (unsigned long long)n0, (unsigned)nb);
  return lastError();
}
template <bool Add>
int bias(float* y, const float* b, size_t N, size_t C, size_t HW, cudaStream_t s) {
  const size_t total = N * C * HW;
  if (total == 0) return 0;
  WK_LAUNCH(biasKernel<Add>, gridFor(total, kThreads), kThreads, 0, s, y, b, (unsigned)C, (unsigned long long)HW,
            (unsigned long long)total);
  return lastError();
}
int biasGrad(const float* gy, size_t N, size_t C, size_t HW, float* gb, cudaStream_t s) {
  if (C == 0) return 0;
  if (N * HW == 0) return static_cast<int>(cudaMemsetAsync(gb, 0, C * sizeof(float), s));
  WK_LAUNCH(biasGradKernel, (unsigned)C, kThreads, 0, s, gy, (unsigned)N, (unsigned)C, (unsigned long long)HW, gb);
  return lastError();
}
int zero(float* p, size_t n, cudaStream_t s) {
  if (!p || n == 0) return 0;
  return static_cast<int>(cudaMemsetAsync(p, 0, n * sizeof(float), s));
}

}  // namespace

size_t convWorkspace(const ConvGeom& g) {
  const size_t nb = chunkSize(g);
  return (g.C * g.kh * g.kw + g.K) * nb * g.Ho * g.Wo;
}

int conv2dForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y, float* workspace,
                  Stream stream) {
  if (invalid(g)) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  const size_t P = g.Ho * g.Wo, CKK = g.C * g.kh * g.kw;
  if (g.N == 0 || g.K == 0 || P == 0) return 0;
  if (CKK == 0) return bias<false>(y, b, g.N, g.K, P, s);
  const size_t nbMax = chunkSize(g);
  float* col = workspace;
  float* mat = workspace + CKK * nbMax * P;
  for (size_t n0 = 0; n0 < g.N; n0 += nbMax) {
    const size_t nb = std::min(nbMax, g.N - n0), ld = nb * P;
    WK_TRY(im2col(g, x, n0, nb, col, s));
    WK_TRY(gemm(false, false, g.K, ld, CKK, 1.0f, w, CKK, col, ld, 0.0f, mat, ld, stream));
    WK_TRY(scatterChannels(mat, b, g.K, P, n0, nb, y, s));
  }
  return 0;
}

int conv2dBackward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx, float* gw, float* gb,
                   float* workspace, Stream stream) {
  if (invalid(g)) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  const size_t P = g.Ho * g.Wo, CKK = g.C * g.kh * g.kw;
  if (gb) WK_TRY(biasGrad(gy, g.N, g.K, P, gb, s));
  if (!gx && !gw) return 0;
  if (g.N == 0 || P == 0 || g.K == 0 || CKK == 0) {
    if (gx) WK_TRY(zero(gx, g.N * g.C * g.H * g.W, s));
    if (gw) WK_TRY(zero(gw, g.K * CKK, s));
    return 0;
  }
  const size_t nbMax = chunkSize(g);
  float* col = workspace;
  float* mat = workspace + CKK * nbMax * P;
  for (size_t n0 = 0; n0 < g.N; n0 += nbMax) {
    const size_t nb = std::min(nbMax, g.N - n0), ld = nb * P;
    WK_TRY(gatherChannels(gy, g.K, P, n0, nb, mat, s));
    if (gw) {
      WK_TRY(im2col(g, x, n0, nb, col, s));
      WK_TRY(gemm(false, true, g.K, CKK, ld, 1.0f, mat, ld, col, ld, n0 == 0 ? 0.0f : 1.0f, gw, CKK, stream));
    }
    if (gx) {
      WK_TRY(gemm(true, false, CKK, ld, g.K, 1.0f, w, CKK, mat, ld, 0.0f, col, ld, stream));
      WK_TRY(col2im(g, col, n0, nb, gx, s));
    }
  }
  return 0;
}

int convTranspose2dForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y,
                           float* workspace, Stream stream) {
  if (invalid(g)) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  const size_t P = g.Ho * g.Wo, CKK = g.C * g.kh * g.kw, HW = g.H * g.W;
  if (g.N == 0 || g.C == 0 || HW == 0) return 0;
  if (P == 0 || g.K == 0 || CKK == 0) {
    WK_TRY(zero(y, g.N * g.C * HW, s));
  } else {
    const size_t nbMax = chunkSize(g);
    float* col = workspace;
    float* mat = workspace + CKK * nbMax * P;
    for (size_t n0 = 0; n0 < g.N; n0 += nbMax) {
      const size_t nb = std::min(nbMax, g.N - n0), ld = nb * P;
      WK_TRY(gatherChannels(x, g.K, P, n0, nb, mat, s));
      WK_TRY(gemm(true, false, CKK, ld, g.K, 1.0f, w, CKK, mat, ld, 0.0f, col, ld, stream));
      WK_TRY(col2im(g, col, n0, nb, y, s));
    }
  }
  if (b) WK_TRY(bias<true>(y, b, g.N, g.C, HW, s));
  return 0;
}

int convTranspose2dBackward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx, float* gw,
                            float* gb, float* workspace, Stream stream) {
  if (invalid(g)) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  const size_t P = g.Ho * g.Wo, CKK = g.C * g.kh * g.kw, HW = g.H * g.W;
  if (gb) WK_TRY(biasGrad(gy, g.N, g.C, HW, gb, s));
  if (!gx && !gw) return 0;
  if (g.N == 0 || P == 0 || g.K == 0 || CKK == 0) {
    if (gx) WK_TRY(zero(gx, g.N * g.K * P, s));
    if (gw) WK_TRY(zero(gw, g.K * CKK, s));
    return 0;
  }
  const size_t nbMax = chunkSize(g);
  float* col = workspace;
  float* mat = workspace + CKK * nbMax * P;
  for (size_t n0 = 0; n0 < g.N; n0 += nbMax) {
    const size_t nb = std::min(nbMax, g.N - n0), ld = nb * P;
    WK_TRY(im2col(g, gy, n0, nb, col, s));
    if (gw) {
      WK_TRY(gatherChannels(x, g.K, P, n0, nb, mat, s));
      WK_TRY(gemm(false, true, g.K, CKK, ld, 1.0f, mat, ld, col, ld, n0 == 0 ? 0.0f : 1.0f, gw, CKK, stream));
    }
    if (gx) {
      WK_TRY(gemm(false, false, g.K, ld, CKK, 1.0f, w, CKK, col, ld, 0.0f, mat, ld, stream));
      WK_TRY(scatterChannels(mat, nullptr, g.K, P, n0, nb, gx, s));
    }
  }
  return 0;
}

}  // namespace cuda
}  // namespace wk
