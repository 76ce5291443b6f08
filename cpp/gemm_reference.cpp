// Plain GEMM reference: one output at a time, accumulated in double. Slow on purpose; it is the
// yardstick for the blocked SIMD kernels in gemm.cpp.
#include "gemm.h"

namespace wk {

void gemmReference(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
                   const float* B, size_t ldb, float beta, float* C, size_t ldc) {
  for (size_t i = 0; i < M; ++i) {
    for (size_t j = 0; j < N; ++j) {
      double acc = 0;
      for (size_t k = 0; k < K; ++k) {
        double a = transA ? A[k * lda + i] : A[i * lda + k];
        double b = transB ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
      }
      float prev = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
      C[i * ldc + j] = static_cast<float>(alpha * acc) + prev;
    }
  }
}

}  // namespace wk
