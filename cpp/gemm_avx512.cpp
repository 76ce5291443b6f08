// GEMM kernels for AVX-512 (16 lanes, FMA): packed 14x32 microkernel (28 zmm accumulators),
// rows path 6x64, dots path 4x4. Built with -mavx512f/vl/bw/dq; chosen at run time.
#include <immintrin.h>

#include "gemm_isa.h"
#include "gemm_kernels.h"

namespace {
struct V512 {
  static constexpr int W = 16;
  using T = __m512;
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static T loadN(const float* p, int n) { return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static void storeN(float* p, T v, int n) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), v); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static float reduce(T v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static float sfma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
};

constexpr int MR = 14, NV = 2;
const PackedConfig kPacked{256, 14 * 12, 512};

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
}  // namespace

namespace wk {
namespace gemm_detail {
const IsaKernels& avx512Kernels() {
  static const IsaKernels k{MR, NV * 16, 6, 64, packed, rows, dots};
  return k;
}
}  // namespace gemm_detail
}  // namespace wk
