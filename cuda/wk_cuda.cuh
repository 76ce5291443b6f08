// Shared prelude of every cuda/*.cu file. Under nvcc it pulls in the CUDA runtime; under a plain
// C++ compiler (the test build, WORLDKIT_EMULATION) it pulls in the CPU SIMT emulation instead,
// so the same kernel and launcher source runs in both. Kernels launch only through WK_LAUNCH and
// take dynamic shared memory only through WK_DYNAMIC_SHARED, the two places where the sources
// would otherwise differ.
#pragma once
#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#include <cuda_runtime.h>
#define WK_LAUNCH(kernel, grid, block, smem, stream, ...) kernel<<<(grid), (block), (smem), (stream)>>>(__VA_ARGS__)
#define WK_DYNAMIC_SHARED(T, name)                                   \
  extern __shared__ __align__(16) unsigned char wk_dynamic_smem[]; \
  T* name = reinterpret_cast<T*>(wk_dynamic_smem)
#else
#include "emulation/simt.h"
#endif

#include "kernels.h"

namespace wk {
namespace cuda {

inline cudaStream_t asStream(Stream s) { return reinterpret_cast<cudaStream_t>(s); }

// Blocks for a grid-stride loop over n items with `threads` per block and `perThread` items
// per thread, capped so huge tensors reuse blocks instead of overflowing the grid.
inline unsigned gridFor(size_t n, unsigned threads, unsigned perThread = 1, unsigned cap = 65535u * 8u) {
  size_t per = static_cast<size_t>(threads) * perThread;
  size_t b = (n + per - 1) / per;
  if (b < 1) b = 1;
  if (b > cap) b = cap;
  return static_cast<unsigned>(b);
}

inline int lastError() { return static_cast<int>(cudaGetLastError()); }

}  // namespace cuda
}  // namespace wk
