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

#include "cpu_features.h"

namespace wk {

void gemm(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
          const float* B, size_t ldb, float beta, float* C, size_t ldc);

// op(B) = B^T (B is N x K, row stride ldb: a layer's weight W in x·Wᵀ) prepared once for many
// products with M rows, e.g. every step of a recurrence at batch M. Where gemm() itself would
// transpose B into panels for that M (the panels path, gemm_kernels.h), prepare() does it once;
// otherwise it only records B. gemmPackedB then gives exactly the bits of
// gemm(false, true, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc), for any M and thread count.
// B must not change while the prepared copy is in use (it is read again where no panels exist).
class PreparedTransposedB {
 public:
  PreparedTransposedB() = default;
  PreparedTransposedB(const PreparedTransposedB&) = delete;
  PreparedTransposedB& operator=(const PreparedTransposedB&) = delete;
  ~PreparedTransposedB();
  void prepare(size_t M, size_t N, size_t K, const float* B, size_t ldb);
  bool hasPanels() const { return panels_ != nullptr; }
  // Whether products with M rows read the panels (else gemmPackedB falls back to gemm()).
  bool panelsFor(size_t M) const;
  // Columns per panel, and panels (the last one ragged when N is not a multiple).
  size_t panelWidth() const { return nt_; }
  size_t panelCount() const { return nt_ ? (N_ + nt_ - 1) / nt_ : 0; }

 private:
  friend void gemmPackedB(size_t M, float alpha, const float* A, size_t lda, const PreparedTransposedB& b, float beta,
                          float* C, size_t ldc);
  friend void gemmPackedBPanels(size_t M, float alpha, const float* A, size_t lda, const PreparedTransposedB& b,
                                size_t p0, size_t p1, float beta, float* C, size_t ldc);
  const float* B_ = nullptr;
  size_t N_ = 0, K_ = 0, ldb_ = 0, nt_ = 0, cap_ = 0;
  Isa isa_ = Isa::Portable;
  float* panels_ = nullptr;  // ceil(N / nt) panels of [K][nt], or null
};

void gemmPackedB(size_t M, float alpha, const float* A, size_t lda, const PreparedTransposedB& b, float beta, float* C,
                 size_t ldc);

// The columns of panels [p0, p1) of that product, on the calling thread (C points at column 0):
// for fusing work per column block into one parallel region (the LSTM rollout's steps). Each
// element gets the same bits as from gemmPackedB. Requires b.panelsFor(M) (checked: throws).
void gemmPackedBPanels(size_t M, float alpha, const float* A, size_t lda, const PreparedTransposedB& b, size_t p0,
                       size_t p1, float beta, float* C, size_t ldc);

// The plain triple loop (double accumulation): the reference the fast paths are tested against.
void gemmReference(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
                   const float* B, size_t ldb, float beta, float* C, size_t ldc);

}  // namespace wk
