// Per-instruction-set GEMM entry points (gemm_portable.cpp, gemm_avx2.cpp, gemm_avx512.cpp),
// dispatched from gemm.cpp. Each computes one region of C on the calling thread; see
// gemm_kernels.h for the four paths.
#pragma once
#include <cstddef>

namespace wk {
namespace gemm_detail {

struct IsaKernels {
  // Packed path tile sizes (the threaded split of C follows them).
  int mr, nr;
  // Rows path (B not transposed): R x NT tiles.
  int rowsR, rowsNT;
  void (*packed)(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
                 const float* B, size_t ldb, float beta, float* C, size_t ldc);
  void (*rows)(bool transA, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B,
               size_t ldb, float beta, float* C, size_t ldc);
  // A holds op(A) rows contiguously (lda >= K); B is op(B)^T, rows of length K.
  void (*dots)(size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B, size_t ldb,
               float beta, float* C, size_t ldc);
  // Panels path (op(B) = B^T): taken for panelMinM <= M <= 32 (above 32 on no ISA: off). A panel
  // holds panelNT columns of op(B), [K][panelNT]; packPanel fills one from n <= panelNT rows of B.
  int panelNT;
  size_t panelMinM;
  void (*packPanel)(const float* B, size_t ldb, size_t K, size_t n, float* panel);
  void (*panelRows)(bool transA, size_t M, size_t n, size_t K, float alpha, const float* A, size_t lda,
                    const float* panel, float beta, float* C, size_t ldc);
};

const IsaKernels& portableKernels();
const IsaKernels& avx2Kernels();
const IsaKernels& avx512Kernels();

}  // namespace gemm_detail
}  // namespace wk
