// Axis permutation on the GPU: y = x.permute(perm) for float32 tensors of rank <= 6 (NCHW <-> NHWC,
// transposes), the twin of permuteData in src/tensor/shape_ops.ts. A pure copy, so bit-identical.
//
// Launch shape: 1-D grid-stride loop, 256 threads per block, one thread per output element
// (gridFor caps the grid; large tensors reuse blocks).
// Design: the output index is decomposed by the output shape (last axis fastest) and the source
// offset accumulated from the input strides of the permuted axes, both passed by value in one
// small struct (no device-side shape arrays, no shared memory). Writes are coalesced; reads are
// coalesced when the last axis stays last and strided otherwise (a plain 2-D transpose reads one
// float per 32-byte sector). A tiled shared-memory transpose would make both sides coalesced for
// that case; not done: permutes are off the training hot path (the models never call them).
// Roofline: memory-bound at 8 bytes moved per element: about DRAM bandwidth when the last axis is
// kept, down to about 1/8 of it for a transpose of the last axis (sector waste on the reads).
#include "wk_cuda.cuh"

namespace wk {
namespace cuda {
namespace {

// Rank padded to 6 at the front (size 1, stride 0), so the kernel's loop has a fixed trip count
// and unrolls with constant indices: the struct stays in registers/constant parameter space
// (a runtime index would put it in local memory, which the build refuses).
struct PermDims {
  unsigned long long size[6];    // output shape
  unsigned long long stride[6];  // input stride of the axis each output axis comes from
};

__global__ void __launch_bounds__(256)
    permuteKernel(const float* __restrict__ x, float* __restrict__ y, unsigned long long n, PermDims d) {
  const unsigned long long step = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n; i += step) {
    unsigned long long r = i, src = 0;
#pragma unroll
    for (int k = 5; k >= 0; --k) {
      const unsigned long long s = d.size[k];
      src += (r % s) * d.stride[k];
      r /= s;
    }
    y[i] = __ldg(x + src);
  }
}

}  // namespace

int permute(const float* x, const int64_t* shape, int nd, const int* perm, float* y, Stream stream) {
  if (nd < 0 || nd > 6) return static_cast<int>(cudaErrorInvalidValue);
  unsigned long long inStride[6] = {0, 0, 0, 0, 0, 0};
  unsigned long long k = 1;
  for (int d = nd - 1; d >= 0; --d) {
    inStride[d] = k;
    k *= static_cast<unsigned long long>(shape[d]);
  }
  PermDims pd;
  unsigned long long n = 1;
  for (int d = 0; d < 6; ++d) {
    pd.size[d] = 1;
    pd.stride[d] = 0;
  }
  const int pad = 6 - nd;
  for (int d = 0; d < nd; ++d) {
    if (perm[d] < 0 || perm[d] >= nd) return static_cast<int>(cudaErrorInvalidValue);
    pd.size[pad + d] = static_cast<unsigned long long>(shape[perm[d]]);
    pd.stride[pad + d] = inStride[perm[d]];
    n *= pd.size[pad + d];
  }
  if (n == 0) return 0;
  WK_LAUNCH(permuteKernel, gridFor(n, 256), 256, 0, asStream(stream), x, y, n, pd);
  return lastError();
}

}  // namespace cuda
}  // namespace wk
