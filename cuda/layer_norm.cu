// LayerNorm over the last dimension on the GPU (formulas and null conventions of
// cpp/layer_norm.h): y = (x - mean) * rstd * w + b per row of C, mean/rstd saved; backward gx,
// gw, gb.
//
// Launch shapes:
//   forward and backward gx, C <= kWarpRowMax: one warp per row (8 rows per 256-thread block,
//     grid-stride over rows); lanes stride over the row (coalesced) and reduce with warp
//     shuffles, so no barrier and no idle block for the short rows of a Transformer (C = 32-512).
//   C > kWarpRowMax: one 256-thread block per row with blockSum (block_reduce.cuh).
//   Both take two passes over the row: the mean, then the centred squares (no cancellation);
//   the second read of the row hits L1/L2.
//   gw/gb (sums over rows): stage 1, a 2-D grid of (32 columns) x (chunks of kChunkRows rows),
//     block 32 x 8: each thread sums gy*xhat and gy over every 8th row of its chunk for its
//     column (coalesced along the row), the 8 partials are added in a fixed order in shared
//     memory and written to a workspace [chunks, C]; stage 2 adds the chunk partials of each
//     column in chunk order (double). No atomics: the result does not depend on scheduling.
//
// Roofline per row of C floats: forward ~8C bytes (x read, y written; the re-read is cached) for
// ~7C flops; backward gx ~12C bytes for ~12C flops, gw/gb stage 1 another 8C bytes. Memory bound
// (well under the ~10-60 flop/byte balance of GPUs): expect 70-85% of DRAM bandwidth for large
// R*C; at the predictor's sizes (R ~ 4-5K rows of C = 64-256) the launches are latency bound.
//
// Versions: 1 (this).
#include "block_reduce.cuh"

namespace wk {
namespace cuda {
namespace {

constexpr unsigned kThreads = 256;
constexpr unsigned long long kWarpRowMax = 1024;
constexpr unsigned long long kChunkRows = 64;

// The sum over the group that owns a row: a warp (Block = false) or the whole block.
template <bool Block>
__device__ __forceinline__ float groupSum(float v, float* scratch) {
  if (Block) return blockSum(v, scratch);
  return warpSum(v);
}

template <bool Block>
__global__ void __launch_bounds__(kThreads)
    layerNormForwardKernel(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ b,
                           unsigned long long R, unsigned long long C, float eps, float* __restrict__ y,
                           float* __restrict__ mean, float* __restrict__ rstd) {
  __shared__ float scratch[33];
  const unsigned groups = Block ? 1u : blockDim.x / 32u;
  const unsigned group = Block ? 0u : threadIdx.x / 32u;
  const unsigned lane = Block ? threadIdx.x : (threadIdx.x & 31u);
  const unsigned width = Block ? blockDim.x : 32u;
  for (unsigned long long r = (unsigned long long)blockIdx.x * groups + group; r < R;
       r += (unsigned long long)gridDim.x * groups) {
    const float* xr = x + r * C;
    float s = 0.0f;
    for (unsigned long long i = lane; i < C; i += width) s += xr[i];
    const float m = groupSum<Block>(s, scratch) / static_cast<float>(C);
    float q = 0.0f;
    for (unsigned long long i = lane; i < C; i += width) {
      const float d = xr[i] - m;
      q += d * d;
    }
    const float var = groupSum<Block>(q, scratch) / static_cast<float>(C);
    const float rs = 1.0f / sqrtf(var + eps);
    if (lane == 0) {
      mean[r] = m;
      rstd[r] = rs;
    }
    float* yr = y + r * C;
    for (unsigned long long i = lane; i < C; i += width) {
      const float v = (xr[i] - m) * rs;
      yr[i] = (w ? v * w[i] : v) + (b ? b[i] : 0.0f);
    }
  }
}

// gx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = gy * w.
template <bool Block>
__global__ void __launch_bounds__(kThreads)
    layerNormBackwardKernel(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ mean,
                            const float* __restrict__ rstd, const float* __restrict__ gy, unsigned long long R,
                            unsigned long long C, float* __restrict__ gx) {
  __shared__ float scratch[33];
  const unsigned groups = Block ? 1u : blockDim.x / 32u;
  const unsigned group = Block ? 0u : threadIdx.x / 32u;
  const unsigned lane = Block ? threadIdx.x : (threadIdx.x & 31u);
  const unsigned width = Block ? blockDim.x : 32u;
  for (unsigned long long r = (unsigned long long)blockIdx.x * groups + group; r < R;
       r += (unsigned long long)gridDim.x * groups) {
    const float* xr = x + r * C;
    const float* gr = gy + r * C;
    const float m = mean[r], rs = rstd[r];
    float s1 = 0.0f, s2 = 0.0f;
    for (unsigned long long i = lane; i < C; i += width) {
      const float dxh = w ? gr[i] * w[i] : gr[i];
      s1 += dxh;
      s2 += dxh * ((xr[i] - m) * rs);
    }
    const float c1 = groupSum<Block>(s1, scratch) / static_cast<float>(C);
    const float c2 = groupSum<Block>(s2, scratch) / static_cast<float>(C);
    float* gxr = gx + r * C;
    for (unsigned long long i = lane; i < C; i += width) {
      const float dxh = w ? gr[i] * w[i] : gr[i];
      const float xh = (xr[i] - m) * rs;
      gxr[i] = rs * (dxh - c1 - xh * c2);
    }
  }
}

// Stage 1 of gw/gb: part [chunks, C] each (gw's at pw, gb's at pb; either may be null).
__global__ void __launch_bounds__(kThreads)
    layerNormParamPartialKernel(const float* __restrict__ x, const float* __restrict__ mean,
                                const float* __restrict__ rstd, const float* __restrict__ gy, unsigned long long R,
                                unsigned long long C, unsigned long long chunks, float* __restrict__ pw,
                                float* __restrict__ pb) {
  __shared__ float sw[8][33];
  __shared__ float sb[8][33];
  const unsigned long long j = (unsigned long long)blockIdx.x * 32u + threadIdx.x;
  for (unsigned long long c = blockIdx.y; c < chunks; c += gridDim.y) {
    const unsigned long long r0 = c * kChunkRows;
    const unsigned long long r1 = r0 + kChunkRows < R ? r0 + kChunkRows : R;
    float aw = 0.0f, ab = 0.0f;
    if (j < C)
      for (unsigned long long r = r0 + threadIdx.y; r < r1; r += blockDim.y) {
        const float g = gy[r * C + j];
        aw += g * ((x[r * C + j] - mean[r]) * rstd[r]);
        ab += g;
      }
    sw[threadIdx.y][threadIdx.x] = aw;
    sb[threadIdx.y][threadIdx.x] = ab;
    __syncthreads();
    if (threadIdx.y == 0 && j < C) {
      float tw = 0.0f, tb = 0.0f;
      for (unsigned k = 0; k < blockDim.y; ++k) {
        tw += sw[k][threadIdx.x];
        tb += sb[k][threadIdx.x];
      }
      if (pw) pw[c * C + j] = tw;
      if (pb) pb[c * C + j] = tb;
    }
    __syncthreads();  // sw/sb are rewritten by the next chunk
  }
}

// Stage 2: out[j] = sum over chunks of part[chunk, j], in chunk order.
__global__ void __launch_bounds__(kThreads)
    layerNormParamFinishKernel(const float* __restrict__ part, unsigned long long chunks, unsigned long long C,
                               float* __restrict__ out) {
  for (unsigned long long j = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; j < C;
       j += (unsigned long long)gridDim.x * blockDim.x) {
    double s = 0.0;
    for (unsigned long long c = 0; c < chunks; ++c) s += part[c * C + j];
    out[j] = static_cast<float>(s);
  }
}

unsigned long long chunksOf(size_t R) { return (R + kChunkRows - 1) / kChunkRows; }

}  // namespace

size_t layerNormBackwardWorkspace(size_t R, size_t C) { return 2 * chunksOf(R) * C; }

int layerNormForward(const float* x, const float* w, const float* b, size_t R, size_t C, float eps, float* y,
                     float* mean, float* rstd, Stream stream) {
  if (R == 0 || C == 0) return 0;
  const unsigned long long r = R, c = C;
  if (C <= kWarpRowMax)
    WK_LAUNCH(layerNormForwardKernel<false>, gridFor(R, kThreads / 32), kThreads, 0, asStream(stream), x, w, b, r, c,
              eps, y, mean, rstd);
  else
    WK_LAUNCH(layerNormForwardKernel<true>, gridFor(R, 1), kThreads, 0, asStream(stream), x, w, b, r, c, eps, y, mean,
              rstd);
  return lastError();
}

int layerNormBackward(const float* x, const float* w, const float* mean, const float* rstd, const float* gy, size_t R,
                      size_t C, float* gx, float* gw, float* gb, float* workspace, Stream stream) {
  if (C == 0) return 0;
  const unsigned long long r = R, c = C;
  if (gx && R) {
    if (C <= kWarpRowMax)
      WK_LAUNCH(layerNormBackwardKernel<false>, gridFor(R, kThreads / 32), kThreads, 0, asStream(stream), x, w, mean,
                rstd, gy, r, c, gx);
    else
      WK_LAUNCH(layerNormBackwardKernel<true>, gridFor(R, 1), kThreads, 0, asStream(stream), x, w, mean, rstd, gy, r,
                c, gx);
    const int e = lastError();
    if (e) return e;
  }
  if (!gw && !gb) return 0;
  const unsigned long long chunks = chunksOf(R);
  float* pw = gw ? workspace : nullptr;
  float* pb = gb ? workspace + chunks * C : nullptr;
  if (chunks) {
    const dim3 grid(static_cast<unsigned>((C + 31) / 32), static_cast<unsigned>(chunks < 65535 ? chunks : 65535));
    WK_LAUNCH(layerNormParamPartialKernel, grid, dim3(32, 8), 0, asStream(stream), x, mean, rstd, gy, r, c, chunks, pw,
              pb);
    const int e = lastError();
    if (e) return e;
  }
  // With R = 0 there are no chunks and stage 2 writes zeros.
  if (gw) WK_LAUNCH(layerNormParamFinishKernel, gridFor(C, kThreads), kThreads, 0, asStream(stream), pw, chunks, c, gw);
  if (gb) WK_LAUNCH(layerNormParamFinishKernel, gridFor(C, kThreads), kThreads, 0, asStream(stream), pb, chunks, c, gb);
  return lastError();
}

}  // namespace cuda
}  // namespace wk
