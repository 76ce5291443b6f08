// Fused losses on the GPU (cpp/losses.h): MSE and BCE-with-logits row losses, the KL of a
// diagonal Gaussian to N(0, I) and softmax cross-entropy, forward and backward, each one pass.
// Terms and row sums are in double like the CPU kernels, so results agree to 1e-5 relative.
//
// Launch shapes:
//   forwards (row sums) and cross-entropy backward: one 256-thread block per row (grid-stride over
//     rows), threads stride over the row (coalesced), blockSum/blockMax with warp shuffles.
//   forwards of short rows (D <= kShortRow, e.g. reduction 'none', D = 1): one thread per row
//     (grid-stride over rows), so a launch is not B blocks of mostly idle threads.
//   MSE/BCE/KL backward: 1-D grid-stride over B*D elements, the row coefficient recomputed per
//     element from gRow (cached, broadcast loads).
//
// Roofline: bandwidth-bound (8 B read per element forward, 8 read + 4-8 written backward); the
// double exp/log1p of BCE/KL/CE make those compute-bound on consumer GPUs (1/64 FP64).
#include "block_reduce.cuh"

namespace wk {
namespace cuda {
namespace {

// kind: 0 mse, 1 bce logits, 2 kl (a = mu, t = logvar; the -0.5 is folded into scale)
template <int Kind>
__device__ __forceinline__ double term(float a, float t) {
  if (Kind == 0) {
    const double d = static_cast<double>(a) - static_cast<double>(t);
    return d * d;
  }
  if (Kind == 1) {
    const double x = a;
    return fmax(x, 0.0) - x * static_cast<double>(t) + log1p(exp(-fabs(x)));
  }
  const double l = t;
  return 1.0 + l - static_cast<double>(a) * a - exp(l);
}

template <int Kind>
__global__ void __launch_bounds__(256) rowLossKernel(const float* __restrict__ a, const float* __restrict__ t,
                                                     unsigned long long B, unsigned long long D, double scale,
                                                     float* __restrict__ out) {
  __shared__ double scratch[33];
  for (unsigned long long b = blockIdx.x; b < B; b += gridDim.x) {
    double s = 0.0;
    for (unsigned long long d = threadIdx.x; d < D; d += blockDim.x) s += term<Kind>(a[b * D + d], t[b * D + d]);
    s = blockSum(s, scratch);
    if (threadIdx.x == 0) out[b] = static_cast<float>(s * scale);
  }
}

constexpr unsigned long long kShortRow = 32;

template <int Kind>
__global__ void __launch_bounds__(256) rowLossShortKernel(const float* __restrict__ a, const float* __restrict__ t,
                                                          unsigned long long B, unsigned long long D, double scale,
                                                          float* __restrict__ out) {
  for (unsigned long long b = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; b < B;
       b += (unsigned long long)gridDim.x * blockDim.x) {
    double s = 0.0;
    for (unsigned long long d = 0; d < D; ++d) s += term<Kind>(a[b * D + d], t[b * D + d]);
    out[b] = static_cast<float>(s * scale);
  }
}

__device__ __forceinline__ float sigmoidf(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

// Kind 0 mse, 1 bce, 2 kl (a = mu, t = logvar, aux = kl rows, p = freeBits)
template <int Kind>
__global__ void __launch_bounds__(256) rowLossBackwardKernel(const float* __restrict__ a, const float* __restrict__ t,
                                                             unsigned long long B, unsigned long long D,
                                                             const float* __restrict__ gRow, double scale,
                                                             const float* __restrict__ aux, float p,
                                                             float* __restrict__ ga, float* __restrict__ gt) {
  const unsigned long long n = B * D;
  for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n;
       i += (unsigned long long)gridDim.x * blockDim.x) {
    const unsigned long long b = i / D;
    float coef = static_cast<float>(scale * gRow[b]);
    if (Kind == 0) {
      const float v = 2.0f * coef * (a[i] - t[i]);
      if (ga) ga[i] = v;
      if (gt) gt[i] = -v;
    } else if (Kind == 1) {
      if (ga) ga[i] = coef * (sigmoidf(a[i]) - t[i]);
      if (gt) gt[i] = -coef * a[i];
    } else {
      if (aux[b] < p) coef = 0.0f;
      if (ga) ga[i] = coef * a[i];
      if (gt) gt[i] = coef * 0.5f * (expf(t[i]) - 1.0f);
    }
  }
}

template <bool Backward>
__global__ void __launch_bounds__(256) crossEntropyKernel(const float* __restrict__ x, const int* __restrict__ labels,
                                                          unsigned long long B, unsigned long long C,
                                                          const float* __restrict__ gRow, double scale,
                                                          float* __restrict__ out) {
  __shared__ double scratch[33];
  __shared__ float fscratch[33];
  for (unsigned long long b = blockIdx.x; b < B; b += gridDim.x) {
    const float* row = x + b * C;
    float mx = row[0];
    for (unsigned long long c = threadIdx.x; c < C; c += blockDim.x) mx = fmaxf(mx, row[c]);
    mx = blockMax(mx, fscratch);
    double s = 0.0;
    for (unsigned long long c = threadIdx.x; c < C; c += blockDim.x) s += exp(static_cast<double>(row[c]) - mx);
    s = blockSum(s, scratch);
    const int label = labels[b];
    if (!Backward) {
      if (threadIdx.x == 0) out[b] = static_cast<float>(log(s) + mx - row[label]);
    } else {
      const double coef = scale * gRow[b], inv = 1.0 / s;
      for (unsigned long long c = threadIdx.x; c < C; c += blockDim.x) {
        const double pc = exp(static_cast<double>(row[c]) - mx) * inv;
        out[b * C + c] = static_cast<float>(coef * (pc - (static_cast<long long>(c) == label ? 1.0 : 0.0)));
      }
    }
  }
}

unsigned rowGrid(size_t B) { return static_cast<unsigned>(B < 65535 * 8 ? B : 65535 * 8); }

}  // namespace

int rowLossForward(int kind, const float* a, const float* t, size_t B, size_t D, double scale, float* out,
                   Stream stream) {
  if (B == 0) return 0;
  const unsigned long long b = B, d = D;
  if (D <= kShortRow) {
    if (kind == 0)
      WK_LAUNCH(rowLossShortKernel<0>, gridFor(B, 256), 256, 0, asStream(stream), a, t, b, d, scale, out);
    else
      WK_LAUNCH(rowLossShortKernel<1>, gridFor(B, 256), 256, 0, asStream(stream), a, t, b, d, scale, out);
  } else if (kind == 0)
    WK_LAUNCH(rowLossKernel<0>, rowGrid(B), 256, 0, asStream(stream), a, t, b, d, scale, out);
  else
    WK_LAUNCH(rowLossKernel<1>, rowGrid(B), 256, 0, asStream(stream), a, t, b, d, scale, out);
  return lastError();
}

int rowLossBackward(int kind, const float* a, const float* t, size_t B, size_t D, const float* gRow, double scale,
                    float* ga, float* gt, Stream stream) {
  if (B * D == 0) return 0;
  if (kind == 0)
    WK_LAUNCH(rowLossBackwardKernel<0>, gridFor(B * D, 256), 256, 0, asStream(stream), a, t, (unsigned long long)B,
              (unsigned long long)D, gRow, scale, (const float*)nullptr, 0.0f, ga, gt);
  else
    WK_LAUNCH(rowLossBackwardKernel<1>, gridFor(B * D, 256), 256, 0, asStream(stream), a, t, (unsigned long long)B,
              (unsigned long long)D, gRow, scale, (const float*)nullptr, 0.0f, ga, gt);
  return lastError();
}

int klNormalForward(const float* mu, const float* logvar, size_t B, size_t D, float* kl, Stream stream) {
  if (B == 0) return 0;
  if (D <= kShortRow)
    WK_LAUNCH(rowLossShortKernel<2>, gridFor(B, 256), 256, 0, asStream(stream), mu, logvar, (unsigned long long)B,
              (unsigned long long)D, -0.5, kl);
  else
    WK_LAUNCH(rowLossKernel<2>, rowGrid(B), 256, 0, asStream(stream), mu, logvar, (unsigned long long)B,
              (unsigned long long)D, -0.5, kl);
  return lastError();
}

int klNormalBackward(const float* mu, const float* logvar, size_t B, size_t D, const float* kl, float freeBits,
                     const float* gRow, double scale, float* gmu, float* glogvar, Stream stream) {
  if (B * D == 0) return 0;
  WK_LAUNCH(rowLossBackwardKernel<2>, gridFor(B * D, 256), 256, 0, asStream(stream), mu, logvar,
            (unsigned long long)B, (unsigned long long)D, gRow, scale, kl, freeBits, gmu, glogvar);
  return lastError();
}

int crossEntropyForward(const float* logits, const int32_t* labels, size_t B, size_t C, float* loss, Stream stream) {
  if (B == 0 || C == 0) return 0;
  WK_LAUNCH(crossEntropyKernel<false>, rowGrid(B), 256, 0, asStream(stream), logits, (const int*)labels,
            (unsigned long long)B, (unsigned long long)C, (const float*)nullptr, 0.0, loss);
  return lastError();
}

int crossEntropyBackward(const float* logits, const int32_t* labels, size_t B, size_t C, const float* gRow,
                         double scale, float* glogits, Stream stream) {
  if (B == 0 || C == 0) return 0;
  WK_LAUNCH(crossEntropyKernel<true>, rowGrid(B), 256, 0, asStream(stream), logits, (const int*)labels,
            (unsigned long long)B, (unsigned long long)C, gRow, scale, glogits);
  return lastError();
}

}  // namespace cuda
}  // namespace wk
