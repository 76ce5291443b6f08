// GEMM kernels for AVX-512 (16 lanes, FMA): packed 14x32 microkernel (28 zmm accumulators),
// rows path 6x64, dots path 4x4, panels of 64 columns from M = 16. Built with -mavx512f/vl/bw/dq; chosen at run time.
#include <immintrin.h>

#include "gemm_isa.h"
#include "gemm_kernels.h"
#include "simd_avx512.h"

namespace {
constexpr int MR = 14, NV = 2;
const PackedConfig kPacked{256, 14 * 12, 1024};

void packed(bool tA, bool tB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B,
            size_t ldb, float beta, float* C, size_t ldc) {
  gemmPacked<V512, MR, NV>(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, kPacked);
}
void rows(bool tA, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B, size_t ldb,
          float beta, float* C, size_t ldc) {
  gemmRows<V512, 6, 4>(tA, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 128);
}
void dots(size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B, size_t ldb, float beta,
          float* C, size_t ldc) {
  gemmDots<V512, 4, 4>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void packOnePanel(const float* B, size_t ldb, size_t K, size_t n, float* panel) {
  packPanel<V512, 64>(B, ldb, K, n, panel);
}
void panelRows(bool tA, size_t M, size_t n, size_t K, float alpha, const float* A, size_t lda, const float* panel,
               float beta, float* C, size_t ldc) {
  gemmRows<V512, 6, 4>(tA, M, n, K, alpha, A, lda, panel, 64, beta, C, ldc, panelKb(K));
}
}  // namespace

namespace wk {
namespace gemm_detail {
const IsaKernels& avx512Kernels() {
  static const IsaKernels k{MR, NV * 16, 6, 64, packed, rows, dots, 64, 16, packOnePanel, panelRows};
  return k;
}
}  // namespace gemm_detail
}  // namespace wk
