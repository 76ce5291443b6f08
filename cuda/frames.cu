// uint8 frames <-> float NCHW on the GPU (cpp/conv.h framesToFloat / floatToFrames): v / 255 in,
// round(clamp(v, 0, 1) * 255) out (NaN -> 0), from/to [N,H,W,C] (channelsLast) or [N,C,H,W].
//
// Launch: 1-D grid-stride over the N*C*H*W float elements, 256 threads; consecutive threads own
// consecutive float outputs (coalesced 4 B stores); for channelsLast the byte reads are strided
// by C (C <= 4 in practice, so a warp still touches few 32 B sectors).
//
// Roofline: 1 B + 4 B per element, bandwidth-bound: expect ~80% of DRAM bandwidth.
#include "wk_cuda.cuh"

namespace wk {
namespace cuda {
namespace {

template <bool ToFloat>
__global__ void __launch_bounds__(256) framesKernel(const unsigned char* __restrict__ src8,
                                                    const float* __restrict__ srcF, unsigned char* __restrict__ dst8,
                                                    float* __restrict__ dstF, unsigned long long N,
                                                    unsigned long long C, unsigned long long HW, int channelsLast) {
  const unsigned long long total = N * C * HW;
  for (unsigned long long k = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; k < total;
       k += (unsigned long long)gridDim.x * blockDim.x) {
    // k indexes NCHW
    const unsigned long long p = k % HW, c = (k / HW) % C, n = k / (HW * C);
    const unsigned long long j = channelsLast ? (n * HW + p) * C + c : k;
    if (ToFloat) {
      dstF[k] = __fmul_rn(static_cast<float>(src8[j]), 1.0f / 255.0f);
    } else {
      float v = srcF[k];
      v = v != v ? 0.0f : fminf(fmaxf(v, 0.0f), 1.0f);
      dst8[j] = static_cast<unsigned char>(roundf(__fmul_rn(v, 255.0f)));  // half away from zero, as lround
    }
  }
}

}  // namespace

int framesToFloat(const unsigned char* src, float* dst, size_t N, size_t C, size_t H, size_t W, bool channelsLast,
                  Stream stream) {
  const size_t total = N * C * H * W;
  if (total == 0) return 0;
  WK_LAUNCH(framesKernel<true>, gridFor(total, 256), 256, 0, asStream(stream), src, (const float*)nullptr,
            (unsigned char*)nullptr, dst, (unsigned long long)N, (unsigned long long)C, (unsigned long long)(H * W),
            (int)channelsLast);
  return lastError();
}

int floatToFrames(const float* src, unsigned char* dst, size_t N, size_t C, size_t H, size_t W, bool channelsLast,
                  Stream stream) {
  const size_t total = N * C * H * W;
  if (total == 0) return 0;
  WK_LAUNCH(framesKernel<false>, gridFor(total, 256), 256, 0, asStream(stream), (const unsigned char*)nullptr, src,
            dst, (float*)nullptr, (unsigned long long)N, (unsigned long long)C, (unsigned long long)(H * W),
            (int)channelsLast);
  return lastError();
}

}  // namespace cuda
}  // namespace wk
