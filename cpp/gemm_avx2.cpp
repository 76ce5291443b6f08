// GEMM kernels for AVX2+FMA (8 lanes, 16 ymm registers): packed 6x16 microkernel (12
// accumulators), rows path 6x16, dots path 3x4, panels of 16 columns from M = 24 (below it the
// per-call transposition costs more than it saves). Built with -mavx2 -mfma; chosen at run time.
#include <immintrin.h>

#include "gemm_isa.h"
#include "gemm_kernels.h"
#include "simd_avx2.h"

namespace {
constexpr int MR = 6, NV = 2;
const PackedConfig kPacked{256, 6 * 24, 1024};

void packed(bool tA, bool tB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B,
            size_t ldb, float beta, float* C, size_t ldc) {
  gemmPacked<V256, MR, NV>(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, kPacked);
}
void rows(bool tA, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B, size_t ldb,
          float beta, float* C, size_t ldc) {
  gemmRows<V256, 6, 2>(tA, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 128);
}
void dots(size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B, size_t ldb, float beta,
          float* C, size_t ldc) {
  gemmDots<V256, 3, 4>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void packOnePanel(const float* B, size_t ldb, size_t K, size_t n, float* panel) {
  packPanel<V256, 16>(B, ldb, K, n, panel);
}
void panelRows(bool tA, size_t M, size_t n, size_t K, float alpha, const float* A, size_t lda, const float* panel,
               float beta, float* C, size_t ldc) {
  gemmRows<V256, 6, 2>(tA, M, n, K, alpha, A, lda, panel, 16, beta, C, ldc, panelKb(K));
}
}  // namespace

namespace wk {
namespace gemm_detail {
const IsaKernels& avx2Kernels() {
  static const IsaKernels k{MR, NV * 8, 6, 16, packed, rows, dots, 16, 24, packOnePanel, panelRows};
  return k;
}
}  // namespace gemm_detail
}  // namespace wk
