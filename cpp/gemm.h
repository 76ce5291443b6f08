// Single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or X^T.
//
//   M, N, K      op(A) is M x K, op(B) is K x N, C is M x N
//   lda/ldb/ldc  row strides (elements) of A, B, C as stored
//   beta = 0     C is overwritten (never read, so it may hold garbage or NaN)
//   beta = 1     accumulate into C (gradient accumulation)
//
// The result does not depend on the thread count: every C element is produced by one thread,
// summing over K in a fixed order.
#pragma once
#include <cstddef>

namespace wk {

void gemm(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
          const float* B, size_t ldb, float beta, float* C, size_t ldc);

// The plain triple loop (double accumulation): the reference the fast paths are tested against.
void gemmReference(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
                   const float* B, size_t ldb, float beta, float* C, size_t ldc);

}  // namespace wk
