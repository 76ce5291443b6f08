// The AVX2+FMA float vector (8 lanes; include only from files built with
// -mavx2 -mfma), shared by the templated kernels of gemm_kernels.h and conv_direct_kernels.h:
// W lanes, register type T, zero, set1, load/loadN, store/storeN (first n lanes), fma, add,
// max0 = max(v, 0), mul, reduce (a fixed order), sfma (scalar fused multiply-add where the
// vector fma fuses), transpose (a W x W block). Anonymous namespace: each translation unit keeps its own copy.
#pragma once
#include <immintrin.h>

#include <cstddef>

namespace {
using std::size_t;
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
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T max0(T a) { return _mm256_max_ps(a, _mm256_setzero_ps()); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static float reduce(T v) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static float sfma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
  // dst[k * ldd + r] = src[r * lds + k] for r, k < 8: 32-bit, then 64-bit interleaves within
  // 128-bit lanes, then one 128-bit lane permute.
  static void transpose(const float* src, size_t lds, float* dst, size_t ldd) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 8; g += 4) {
      const __m256d a = _mm256_castps_pd(t[g]), b = _mm256_castps_pd(t[g + 1]);
      const __m256d c = _mm256_castps_pd(t[g + 2]), d = _mm256_castps_pd(t[g + 3]);
      r[g] = _mm256_castpd_ps(_mm256_unpacklo_pd(a, c));      // column 4L + 0 of rows g..g+3, lane L
      r[g + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a, c));  // column 4L + 1
      r[g + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(b, d));  // column 4L + 2
      r[g + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(b, d));  // column 4L + 3
    }
    for (int j = 0; j < 4; ++j) {
      _mm256_storeu_ps(dst + j * ldd, _mm256_permute2f128_ps(r[j], r[4 + j], 0x20));
      _mm256_storeu_ps(dst + (j + 4) * ldd, _mm256_permute2f128_ps(r[j], r[4 + j], 0x31));
    }
  }
};
}  // namespace
