// Warp and block sums with shuffles, shared by reduce.cu and losses.cu. Fixed order for a given
// block size (butterfly within warps, then warp 0 over the per-warp partials), so results are
// deterministic run to run.
#pragma once
#include "wk_cuda.cuh"

namespace wk {
namespace cuda {

template <class T>
__device__ __forceinline__ T warpSum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <class T>
__device__ __forceinline__ T warpMax(T v) {
  for (int o = 16; o > 0; o >>= 1) {
    const T w = __shfl_xor_sync(0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `scratch` holds 33 values of shared memory; the call contains barriers, so every thread of the
// block must reach it.
template <class T>
__device__ __forceinline__ T blockSum(T v, T* scratch) {
  const unsigned lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nWarps = blockDim.x >> 5;
  v = warpSum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T w = lane < nWarps ? scratch[lane] : T(0);
    w = warpSum(w);
    if (lane == 0) scratch[32] = w;
  }
  __syncthreads();
  const T r = scratch[32];
  __syncthreads();  // scratch may be reused right after
  return r;
}
template <class T>
__device__ __forceinline__ T blockMax(T v, T* scratch) {
  const unsigned lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nWarps = blockDim.x >> 5;
  v = warpMax(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T w = lane < nWarps ? scratch[lane] : scratch[0];
    w = warpMax(w);
    if (lane == 0) scratch[32] = w;
  }
  __syncthreads();
  const T r = scratch[32];
  __syncthreads();
  return r;
}

}  // namespace cuda
}  // namespace wk
