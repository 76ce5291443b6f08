// GEMM entry point. PLACEHOLDER until the blocked SIMD kernels land: a row-parallel loop in the
// fixed k order. Callers (LSTM, conv, linear) depend only on gemm.h.
#include "gemm.h"

#include "thread_pool.h"

namespace wk {

void gemm(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
          const float* B, size_t ldb, float beta, float* C, size_t ldc) {
  parallelFor(M, 1, [&](size_t i0, size_t i1, int) {
    for (size_t i = i0; i < i1; ++i) {
      float* c = C + i * ldc;
      for (size_t j = 0; j < N; ++j) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
      for (size_t k = 0; k < K; ++k) {
        float a = alpha * (transA ? A[k * lda + i] : A[i * lda + k]);
        if (transB) {
          for (size_t j = 0; j < N; ++j) c[j] += a * B[j * ldb + k];
        } else {
          const float* b = B + k * ldb;
          for (size_t j = 0; j < N; ++j) c[j] += a * b[j];
        }
      }
    }
  });
}

}  // namespace wk
