// GEMM kernels in plain C++ (4-lane arrays the compiler vectorizes with the baseline ISA): the
// fallback for CPUs without AVX2. Same paths and tiling logic as the SIMD versions, but the panels
// path is off (panelMinM 33): no measurement here says it pays.
#include "gemm_isa.h"
#include "gemm_kernels.h"
#include "simd_portable.h"

namespace {
constexpr int MR = 4, NV = 2;
const PackedConfig kPacked{256, 4 * 32, 512};

void packed(bool tA, bool tB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B,
            size_t ldb, float beta, float* C, size_t ldc) {
  gemmPacked<VP, MR, NV>(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, kPacked);
}
void rows(bool tA, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B, size_t ldb,
          float beta, float* C, size_t ldc) {
  gemmRows<VP, 4, 2>(tA, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 128);
}
void dots(size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B, size_t ldb, float beta,
          float* C, size_t ldc) {
  gemmDots<VP, 2, 4>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void packOnePanel(const float* B, size_t ldb, size_t K, size_t n, float* panel) {
  packPanel<VP, 8>(B, ldb, K, n, panel);
}
void panelRows(bool tA, size_t M, size_t n, size_t K, float alpha, const float* A, size_t lda, const float* panel,
               float beta, float* C, size_t ldc) {
  gemmRows<VP, 4, 2>(tA, M, n, K, alpha, A, lda, panel, 8, beta, C, ldc, panelKb(K));
}
}  // namespace

namespace wk {
namespace gemm_detail {
const IsaKernels& portableKernels() {
  static const IsaKernels k{MR, NV * 4, 4, 8, packed, rows, dots, 8, 33, packOnePanel, panelRows};
  return k;
}
}  // namespace gemm_detail
}  // namespace wk
