// Broadcasting binary arithmetic on the GPU and its backward reductions, the twins of
// cpp/elementwise.h binaryForward / binaryBackward (numpy rules: every shape has the same rank
// nd <= 6, each dim of a or b is 1 or the output's) and of the "sum a gradient down to an
// operand's shape" step (cpp/reduce.h reduceSum over the broadcast axes, in double).
//
// Host side: the shapes are collapsed as the CPU does (size-1 output dims dropped, adjacent dims
// merged where every operand is contiguous or broadcast across both), so a row vector [1,D] over
// [R,D] is 2 dims and a per-channel vector [1,C,1,1] over [N,C,H,W] is 3 dims; the collapsed
// shape and per-operand strides (0 = broadcast) go to the kernel by value.
//
// Kernels:
//   broadcastKernel  1-D grid-stride over the contiguous output, 256 threads; each thread
//                    decomposes its index over the collapsed dims (<= 6 divisions) into operand
//                    offsets. Ops 0-3 add/sub/mul/div of (a, b); op 4 is the division's gradient
//                    for b, -g*a/(b*b), on (g, a, b). Output stores are coalesced; a broadcast
//                    operand is re-read through L1/L2 (rows or channels: a few KB).
//   sumToKernel      the gradient of a broadcast operand: one output element of the target
//                    shape per thread when each sums fewer than 64 elements, otherwise one warp
//                    per output element (lanes stride over the reduced elements, double
//                    accumulation, butterfly shuffle): a fixed order for fixed sizes, no atomics,
//                    deterministic. For a per-channel vector the innermost reduced run (H*W) is
//                    contiguous, so warp loads are coalesced; for a row vector the lanes stride
//                    over rows (one 4 B load per 32 B sector: a known inefficiency, acceptable for
//                    bias-sized gradients).
// Roofline: the forward is bandwidth-bound (8-12 B per element, index math ~20 integer ops:
// expect ~60-80% of DRAM bandwidth; the index math is the limit on GPUs with low INT throughput).
// The mul/div backwards write a full-size product to the caller's workspace and reduce it:
// about 3x the traffic of a fused version.
#include "block_reduce.cuh"

namespace wk {
namespace cuda {
namespace {

constexpr unsigned kThreads = 256;
constexpr int kDims = 6;

struct Space {
  int nd;
  long long shape[kDims];
  long long st[3][kDims];
};

__global__ void __launch_bounds__(kThreads) broadcastKernel(int op, Space sp, const float* __restrict__ a,
                                                            const float* __restrict__ b, const float* __restrict__ c,
                                                            float* __restrict__ out, unsigned long long n) {
  const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < n; k += stride) {
    long long oa = 0, ob = 0, oc = 0;
    unsigned long long r = k;
    for (int d = sp.nd - 1; d >= 0; --d) {
      const unsigned long long s = (unsigned long long)sp.shape[d];
      const long long i = (long long)(r % s);
      r /= s;
      oa += i * sp.st[0][d];
      ob += i * sp.st[1][d];
      oc += i * sp.st[2][d];
    }
    const float x = a[oa], y = b[ob];
    float v;
    switch (op) {
      case 0: v = x + y; break;
      case 1: v = x - y; break;
      case 2: v = x * y; break;
      case 3: v = x / y; break;
      default: {
        const float z = c[oc];
        v = -x * y / (z * z);
      }
    }
    out[k] = v;
  }
}

// dst[o] = scale * sum over the reduced index space of full[base(o) + off(r)]; the kept dims
// (index o, contiguous dst) and reduced dims each have a shape and strides into full.
struct SumSpace {
  int nk, nr;
  long long kShape[kDims], kSt[kDims], rShape[kDims], rSt[kDims];
  unsigned long long outN, redN;
};

__device__ __forceinline__ long long offsetOf(unsigned long long i, int n, const long long* shape,
                                              const long long* st) {
  long long off = 0;
  for (int d = n - 1; d >= 0; --d) {
    const unsigned long long s = (unsigned long long)shape[d];
    off += (long long)(i % s) * st[d];
    i /= s;
  }
  return off;
}

template <bool WarpPerOutput>
__global__ void __launch_bounds__(kThreads) sumToKernel(SumSpace sp, const float* __restrict__ full,
                                                        float* __restrict__ dst, double scale) {
  if (!WarpPerOutput) {
    const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long o = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; o < sp.outN; o += stride) {
      const float* base = full + offsetOf(o, sp.nk, sp.kShape, sp.kSt);
      double s = 0.0;
      for (unsigned long long r = 0; r < sp.redN; ++r) s += base[offsetOf(r, sp.nr, sp.rShape, sp.rSt)];
      dst[o] = static_cast<float>(s * scale);
    }
  } else {
    const unsigned lane = threadIdx.x & 31;
    const unsigned long long warps = (unsigned long long)gridDim.x * (blockDim.x >> 5);
    for (unsigned long long o = blockIdx.x * (unsigned long long)(blockDim.x >> 5) + (threadIdx.x >> 5); o < sp.outN;
         o += warps) {
      const float* base = full + offsetOf(o, sp.nk, sp.kShape, sp.kSt);
      double s = 0.0;
      for (unsigned long long r = lane; r < sp.redN; r += 32) s += base[offsetOf(r, sp.nr, sp.rShape, sp.rSt)];
      s = warpSum(s);
      if (lane == 0) dst[o] = static_cast<float>(s * scale);
    }
  }
}

// The CPU's collapse (cpp/elementwise.cpp makeIter) over up to 3 operand shapes.
Space collapse(const int64_t* outShape, int nd, const int64_t* const* shapes, int nops) {
  Space sp{};
  long long stride[3][kDims];
  for (int k = 0; k < nops; ++k) {
    long long s = 1;
    for (int d = nd - 1; d >= 0; --d) {
      stride[k][d] = shapes[k][d] == 1 ? 0 : s;
      s *= shapes[k][d];
    }
  }
  for (int d = 0; d < nd; ++d) {
    if (outShape[d] == 1) continue;
    if (sp.nd > 0) {
      const int p = sp.nd - 1;
      bool merge = true;
      for (int k = 0; k < nops; ++k)
        if (sp.st[k][p] != stride[k][d] * outShape[d]) merge = false;
      if (merge) {
        sp.shape[p] *= outShape[d];
        for (int k = 0; k < nops; ++k) sp.st[k][p] = stride[k][d];
        continue;
      }
    }
    sp.shape[sp.nd] = outShape[d];
    for (int k = 0; k < nops; ++k) sp.st[k][sp.nd] = stride[k][d];
    sp.nd++;
  }
  return sp;
}

size_t prod(const int64_t* s, int nd) {
  size_t n = 1;
  for (int d = 0; d < nd; ++d) n *= static_cast<size_t>(s[d]);
  return n;
}
bool same(const int64_t* x, const int64_t* y, int nd) {
  for (int d = 0; d < nd; ++d)
    if (x[d] != y[d]) return false;
  return true;
}
bool validShapes(const int64_t* a, const int64_t* b, const int64_t* out, int nd) {
  if (nd < 0 || nd > kDims) return false;
  for (int d = 0; d < nd; ++d) {
    if (out[d] < 0 || (a && a[d] != 1 && a[d] != out[d]) || (b && b[d] != 1 && b[d] != out[d])) return false;
  }
  return true;
}

int launchBroadcast(int op, const Space& sp, const float* a, const float* b, const float* c, float* out, size_t n,
                    cudaStream_t s) {
  if (n == 0) return 0;
  WK_LAUNCH(broadcastKernel, gridFor(n, kThreads), kThreads, 0, s, op, sp, a, b, c ? c : a, out,
            (unsigned long long)n);
  return lastError();
}

}  // namespace

int sumTo(const float* full, const int64_t* fullShape, const int64_t* target, int nd, float* dst, double scale,
          Stream stream) {
  if (!validShapes(target, nullptr, fullShape, nd)) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  SumSpace sp{};
  // kept dims: target's (in order, size > 1); reduced dims: broadcast ones; each merged with its
  // neighbour when contiguous in `full`.
  long long st[kDims];
  long long run = 1;
  for (int d = nd - 1; d >= 0; --d) {
    st[d] = run;
    run *= fullShape[d];
  }
  for (int d = 0; d < nd; ++d) {
    if (fullShape[d] == 1) continue;
    const bool reduced = target[d] == 1;
    int& n = reduced ? sp.nr : sp.nk;
    long long* shp = reduced ? sp.rShape : sp.kShape;
    long long* str = reduced ? sp.rSt : sp.kSt;
    if (n > 0 && str[n - 1] == st[d] * fullShape[d]) {
      shp[n - 1] *= fullShape[d];
      str[n - 1] = st[d];
    } else {
      shp[n] = fullShape[d];
      str[n] = st[d];
      ++n;
    }
  }
  sp.outN = prod(target, nd);
  sp.redN = 1;
  for (int d = 0; d < sp.nr; ++d) sp.redN *= (unsigned long long)sp.rShape[d];
  if (sp.outN == 0) return 0;
  if (sp.redN >= 64) {
    WK_LAUNCH(sumToKernel<true>, gridFor(sp.outN, kThreads / 32), kThreads, 0, s, sp, full, dst, scale);
  } else {
    WK_LAUNCH(sumToKernel<false>, gridFor(sp.outN, kThreads), kThreads, 0, s, sp, full, dst, scale);
  }
  return lastError();
}

size_t binaryBackwardWorkspace(const int64_t* outShape, int nd) { return prod(outShape, nd); }

int binaryBroadcast(int op, const float* a, const int64_t* aShape, const float* b, const int64_t* bShape, float* out,
                    const int64_t* outShape, int nd, Stream stream) {
  if (op < 0 || op > 3 || !validShapes(aShape, bShape, outShape, nd)) return static_cast<int>(cudaErrorInvalidValue);
  const int64_t* shapes[2] = {aShape, bShape};
  return launchBroadcast(op, collapse(outShape, nd, shapes, 2), a, b, nullptr, out, prod(outShape, nd),
                         asStream(stream));
}

int binaryBroadcastBackward(int op, const float* a, const int64_t* aShape, const float* b, const int64_t* bShape,
                            const float* g, const int64_t* outShape, int nd, float* ga, float* gb, float* workspace,
                            Stream stream) {
  if (op < 0 || op > 3 || !validShapes(aShape, bShape, outShape, nd)) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = asStream(stream);
  const size_t n = prod(outShape, nd);
  // g*b / g/b (ga) or g*a (gb) at full size, into dst directly when the operand is not
  // broadcast, else into the workspace and summed down to the operand's shape
  auto viaFull = [&](float* dst, const int64_t* shape, int kop, const float* x, const int64_t* xs) -> int {
    const bool direct = same(shape, outShape, nd);
    float* full = direct ? dst : workspace;
    if (!full) return static_cast<int>(cudaErrorInvalidValue);
    const int64_t* shapes[2] = {outShape, xs};
    const int e = launchBroadcast(kop, collapse(outShape, nd, shapes, 2), g, x, nullptr, full, n, s);
    if (e || direct) return e;
    return sumTo(full, outShape, shape, nd, dst, 1.0, stream);
  };
  if (ga) {
    int e = 0;
    if (op == 0 || op == 1) e = sumTo(g, outShape, aShape, nd, ga, 1.0, stream);
    else e = viaFull(ga, aShape, op, b, bShape);  // g*b or g/b
    if (e) return e;
  }
  if (gb) {
    if (op == 0 || op == 1) return sumTo(g, outShape, bShape, nd, gb, op == 0 ? 1.0 : -1.0, stream);
    if (op == 2) return viaFull(gb, bShape, 2, a, aShape);  // g*a
    // -g*a/(b*b) on (g, a, b)
    const bool direct = same(bShape, outShape, nd);
    float* full = direct ? gb : workspace;
    if (!full) return static_cast<int>(cudaErrorInvalidValue);
    const int64_t* shapes[3] = {outShape, aShape, bShape};
    const int e = launchBroadcast(4, collapse(outShape, nd, shapes, 3), g, a, b, full, n, s);
    if (e || direct) return e;
    return sumTo(full, outShape, bShape, nd, gb, 1.0, stream);
  }
  return 0;
}

}  // namespace cuda
}  // namespace wk
