// GEMM kernels for AVX2+FMA (8 lanes, 16 ymm registers): packed 6x16 microkernel (12
// accumulators), rows path 6x16, dots path 3x4. Built with -mavx2 -mfma; chosen at run time.
#include <immintrin.h>

#include "gemm_isa.h"
#include "gemm_kernels.h"

namespace {
alignas(32) const int kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

struct V256 {
  static constexpr int W = 8;
  using T = __m256;
  static __m256i mask(int n) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + 8 - n)); }
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static T loadN(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static void storeN(float* p, T v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static float reduce(T v) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static float sfma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
};

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
}  // namespace

namespace wk {
namespace gemm_detail {
const IsaKernels& avx2Kernels() {
  static const IsaKernels k{MR, NV * 8, 6, 16, packed, rows, dots};
  return k;
}
}  // namespace gemm_detail
}  // namespace wk
