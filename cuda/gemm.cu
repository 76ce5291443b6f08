// Single-precision GEMM on the GPU, no cuBLAS: C = alpha * op(A) * op(B) + beta * C, row-major,
// op(X) = X or X^T, any M, N, K and leading dimensions (cpp/gemm.h conventions; beta = 0 never
// reads C).
//
// Launch: 2-D grid of 64 x 64 output tiles (blockIdx.x over N, blockIdx.y over M), 256 threads.
// Per k-step of 16 each thread loads 4 elements of the A tile and 4 of the B tile: one 16-byte
// float4 load each when the tile is fully inside the matrix and the row stride and base pointer
// are 16-byte aligned (any transpose), otherwise guarded scalar loads (the tails: M, N or K not
// multiples of 64/64/16). Tiles are stored k-major in shared memory (As[16][64+4], Bs[16][64]),
// A transposed on the way in, so the inner loop reads a float4 of A and a float4 of B per k and
// does 16 FMAs into a 4 x 4 register block per thread. Double buffering in registers: the next
// k-tile's global loads are issued before the current tile's FMAs.
//
// Resources (ptxas report): ~64 registers, 8.5 KB static shared memory, no spills, so about
// 4 blocks/SM on sm_80 (register-limited).
// Roofline: arithmetic intensity of a 64x64x16 tile is 2*64*64*16 / ((64+64)*16*4) = 16 FLOP/B
// from global/L2 and 4 FLOP per shared-memory load: with 4x4 register blocking the inner loop is
// about 16 FMAs per 2 LDS.128, so expect 40-60% of FP32 peak for large M, N, K (tensor cores are
// not used: FP32 in, FP32 accumulate); small or skinny shapes are latency- or bandwidth-bound.
#include "wk_cuda.cuh"

namespace wk {
namespace cuda {
namespace {

constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4, kThreads = 256;

struct TileLoad {
  float a[4], b[4];
};

template <bool TA, bool TB>
__device__ __forceinline__ void loadTiles(TileLoad& r, const float* __restrict__ A, unsigned lda,
                                          const float* __restrict__ B, unsigned ldb, int M, int N, int K, int m0,
                                          int n0, int k0, bool vecA, bool vecB) {
  const int t = threadIdx.x;
  // A tile: op(A)[m0..m0+64, k0..k0+16]
  if (!TA) {  // stored M x K: thread -> row m0 + t/4, k k0 + (t%4)*4 .. +3
    const int m = m0 + t / 4, k = k0 + (t % 4) * 4;
    if (vecA && m < M && k + 3 < K) {
      const float4 v = *reinterpret_cast<const float4*>(A + (size_t)m * lda + k);
      r.a[0] = v.x; r.a[1] = v.y; r.a[2] = v.z; r.a[3] = v.w;
    } else {
      for (int j = 0; j < 4; ++j) r.a[j] = (m < M && k + j < K) ? A[(size_t)m * lda + k + j] : 0.0f;
    }
  } else {  // stored K x M: thread -> k k0 + t/16, m m0 + (t%16)*4 .. +3
    const int k = k0 + t / 16, m = m0 + (t % 16) * 4;
    if (vecA && k < K && m + 3 < M) {
      const float4 v = *reinterpret_cast<const float4*>(A + (size_t)k * lda + m);
      r.a[0] = v.x; r.a[1] = v.y; r.a[2] = v.z; r.a[3] = v.w;
    } else {
      for (int j = 0; j < 4; ++j) r.a[j] = (k < K && m + j < M) ? A[(size_t)k * lda + m + j] : 0.0f;
    }
  }
  // B tile: op(B)[k0..k0+16, n0..n0+64]
  if (!TB) {  // stored K x N: thread -> k k0 + t/16, n n0 + (t%16)*4 .. +3
    const int k = k0 + t / 16, n = n0 + (t % 16) * 4;
    if (vecB && k < K && n + 3 < N) {
      const float4 v = *reinterpret_cast<const float4*>(B + (size_t)k * ldb + n);
      r.b[0] = v.x; r.b[1] = v.y; r.b[2] = v.z; r.b[3] = v.w;
    } else {
      for (int j = 0; j < 4; ++j) r.b[j] = (k < K && n + j < N) ? B[(size_t)k * ldb + n + j] : 0.0f;
    }
  } else {  // stored N x K: thread -> n n0 + t/4, k k0 + (t%4)*4 .. +3
    const int n = n0 + t / 4, k = k0 + (t % 4) * 4;
    if (vecB && n < N && k + 3 < K) {
      const float4 v = *reinterpret_cast<const float4*>(B + (size_t)n * ldb + k);
      r.b[0] = v.x; r.b[1] = v.y; r.b[2] = v.z; r.b[3] = v.w;
    } else {
      for (int j = 0; j < 4; ++j) r.b[j] = (n < N && k + j < K) ? B[(size_t)n * ldb + k + j] : 0.0f;
    }
  }
}

template <bool TA, bool TB>
__device__ __forceinline__ void storeTiles(const TileLoad& r, float (*As)[BM + 4], float (*Bs)[BN]) {
  const int t = threadIdx.x;
  if (!TA) {
    const int m = t / 4, k = (t % 4) * 4;
    for (int j = 0; j < 4; ++j) As[k + j][m] = r.a[j];
  } else {
    const int k = t / 16, m = (t % 16) * 4;
    for (int j = 0; j < 4; ++j) As[k][m + j] = r.a[j];
  }
  if (!TB) {
    const int k = t / 16, n = (t % 16) * 4;
    for (int j = 0; j < 4; ++j) Bs[k][n + j] = r.b[j];
  } else {
    const int n = t / 4, k = (t % 4) * 4;
    for (int j = 0; j < 4; ++j) Bs[k + j][n] = r.b[j];
  }
}

template <bool TA, bool TB>
__global__ void __launch_bounds__(kThreads) gemmKernel(int M, int N, int K, float alpha, const float* __restrict__ A,
                                                       unsigned lda, const float* __restrict__ B, unsigned ldb,
                                                       float beta, float* __restrict__ C, unsigned ldc, int vecA,
                                                       int vecB) {
  __shared__ __align__(16) float As[BK][BM + 4];
  __shared__ __align__(16) float Bs[BK][BN];
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  float acc[TM][TN];
  for (int i = 0; i < TM; ++i)
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

  TileLoad next;
  loadTiles<TA, TB>(next, A, lda, B, ldb, M, N, K, m0, n0, 0, vecA, vecB);
  for (int k0 = 0; k0 < K; k0 += BK) {
    storeTiles<TA, TB>(next, As, Bs);
    __syncthreads();
    if (k0 + BK < K) loadTiles<TA, TB>(next, A, lda, B, ldb, M, N, K, m0, n0, k0 + BK, vecA, vecB);
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      const float4 a = *reinterpret_cast<const float4*>(&As[k][ty * TM]);
      const float4 b = *reinterpret_cast<const float4*>(&Bs[k][tx * TN]);
      const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += av[i] * bv[j];
    }
    __syncthreads();
  }
  for (int i = 0; i < TM; ++i) {
    const int m = m0 + ty * TM + i;
    if (m >= M) continue;
    for (int j = 0; j < TN; ++j) {
      const int n = n0 + tx * TN + j;
      if (n >= N) continue;
      float* c = C + (size_t)m * ldc + n;
      *c = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *c;
    }
  }
}

bool vecOk(const float* p, size_t ld) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0 && ld % 4 == 0; }

}  // namespace

int gemm(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
         const float* B, size_t ldb, float beta, float* C, size_t ldc, Stream stream) {
  if (M == 0 || N == 0) return 0;
  if (M > 0x7fffffff || N > 0x7fffffff || K > 0x7fffffff || lda > 0xffffffffu || ldb > 0xffffffffu ||
      ldc > 0xffffffffu)
    return static_cast<int>(cudaErrorInvalidValue);
  const dim3 grid(static_cast<unsigned>((N + BN - 1) / BN), static_cast<unsigned>((M + BM - 1) / BM));
  const int vA = vecOk(A, lda), vB = vecOk(B, ldb);
  const int m = (int)M, n = (int)N, k = (int)K;
  const unsigned la = (unsigned)lda, lb = (unsigned)ldb, lc = (unsigned)ldc;
  cudaStream_t s = asStream(stream);
  // (a template name with two arguments would split the macro's arguments: pick a pointer first)
  void (*kernel)(int, int, int, float, const float*, unsigned, const float*, unsigned, float, float*, unsigned, int,
                 int) = transA ? (transB ? gemmKernel<true, true> : gemmKernel<true, false>)
                               : (transB ? gemmKernel<false, true> : gemmKernel<false, false>);
  WK_LAUNCH(kernel, grid, kThreads, 0, s, m, n, k, alpha, A, la, B, lb, beta, C, lc, vA, vB);
  return lastError();
}

}  // namespace cuda
}  // namespace wk
