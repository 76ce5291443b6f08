// Single-precision GEMM (gemm.h): dispatch by instruction set and shape, threading over C.
//
// Versions: v1 placeholder row loop; v2 (this) three paths from gemm_kernels.h, instantiated per
// ISA (gemm_avx512.cpp 14x32, gemm_avx2.cpp 6x16, gemm_portable.cpp 4x8) and picked at run time
// by wk::bestIsa():
//   dots    op(B) = B^T and M small (x . W^T of a Linear at small batch): row-by-row dot products,
//           nothing packed but op(A) when A is transposed;
//   rows    op(B) = B and M small (the Linear backward dX = dY . W): B streamed in place;
//   packed  everything else: GotoBLAS-style packing into thread-local buffers.
// v2.1: packing B row by row (one long read per row of B instead of short reads ldb apart),
// prefetching the next A panel's rows while packing and the C tile before each microkernel, and
// AVX-512 B panels 1024 columns wide (A packed once per 1024 columns): 1024^2 on one thread went
// from ~0.85x to ~0.97x OpenBLAS 0.3.21 (SkylakeX kernels) measured in one process, interleaved.
// The microkernel's loop itself runs at the FMA peak (perf: every sample inside it is spread over
// the FMAs); what is left is packing (~6% of a 1024^2 product) and the C tile's edges.
// Threads split C into disjoint column or row blocks (one writer per element) aligned to the
// tiles, and the per-element arithmetic never depends on the block it lands in, so 1 and N
// threads give the same bits. The path depends on the shape only.
#include "gemm.h"

#include <algorithm>

#include "cpu_features.h"
#include "gemm_isa.h"
#include "gemm_kernels.h"
#include "thread_pool.h"

namespace wk {
namespace {

using gemm_detail::IsaKernels;

// M at or below which the unpacked paths win (measured on Zen 4; see bench/README.md).
constexpr size_t kDotsMaxM = 32;
constexpr size_t kRowsMaxM = 32;
// Below this many multiply-adds a call stays on the calling thread.
constexpr double kMinParallelFlops = 1 << 17;

const IsaKernels& kernelsFor(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return gemm_detail::avx512Kernels();
    case Isa::Avx2: return gemm_detail::avx2Kernels();
    default: return gemm_detail::portableKernels();
  }
}

// Splits `blocks` units of work over the pool unless the call is small.
void splitOver(size_t blocks, double flops, const std::function<void(size_t, size_t, int)>& fn) {
  const size_t grain = flops < kMinParallelFlops ? blocks : 1;
  parallelFor(blocks, std::max<size_t>(grain, 1), fn);
}

void scaleC(size_t M, size_t N, float beta, float* C, size_t ldc) {
  for (size_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f) std::fill(c, c + N, 0.0f);
    else if (beta != 1.0f)
      for (size_t j = 0; j < N; ++j) c[j] *= beta;
  }
}

}  // namespace

void gemm(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
          const float* B, size_t ldb, float beta, float* C, size_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {
    scaleC(M, N, beta, C, ldc);
    return;
  }
  const IsaKernels& ks = kernelsFor(bestIsa());
  const double flops = static_cast<double>(M) * N * K;

  if (transB && M <= kDotsMaxM) {
    const float* a = A;
    size_t la = lda;
    if (transA) {
      // op(A) rows gathered once (M x K, small) on the calling thread, read by all.
      static thread_local gemm_detail::Scratch packed;
      float* p = packed.get(M * K);
      for (size_t k = 0; k < K; ++k)
        for (size_t i = 0; i < M; ++i) p[i * K + k] = A[k * lda + i];
      a = p;
      la = K;
    }
    const size_t chunk = 16;
    splitOver((N + chunk - 1) / chunk, flops, [&](size_t b0, size_t b1, int) {
      const size_t j0 = b0 * chunk, j1 = std::min(N, b1 * chunk);
      ks.dots(M, j1 - j0, K, alpha, a, la, B + j0 * ldb, ldb, beta, C + j0, ldc);
    });
    return;
  }
  if (!transB && M <= kRowsMaxM) {
    const size_t chunk = static_cast<size_t>(ks.rowsNT);
    splitOver((N + chunk - 1) / chunk, flops, [&](size_t b0, size_t b1, int) {
      const size_t j0 = b0 * chunk, j1 = std::min(N, b1 * chunk);
      ks.rows(transA, M, j1 - j0, K, alpha, A, lda, B + j0, ldb, beta, C + j0, ldc);
    });
    return;
  }
  if (M >= N) {
    const size_t chunk = static_cast<size_t>(ks.mr);
    splitOver((M + chunk - 1) / chunk, flops, [&](size_t b0, size_t b1, int) {
      const size_t i0 = b0 * chunk, i1 = std::min(M, b1 * chunk);
      const float* a = transA ? A + i0 : A + i0 * lda;
      ks.packed(transA, transB, i1 - i0, N, K, alpha, a, lda, B, ldb, beta, C + i0 * ldc, ldc);
    });
  } else {
    const size_t chunk = static_cast<size_t>(ks.nr);
    splitOver((N + chunk - 1) / chunk, flops, [&](size_t b0, size_t b1, int) {
      const size_t j0 = b0 * chunk, j1 = std::min(N, b1 * chunk);
      const float* b = transB ? B + j0 * ldb : B + j0;
      ks.packed(transA, transB, M, j1 - j0, K, alpha, A, lda, b, ldb, beta, C + j0, ldc);
    });
  }
}

}  // namespace wk
