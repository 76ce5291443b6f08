// The AVX-512 float vector (16 lanes; include only from files built with
// -mavx512f/vl/bw/dq), shared by the templated kernels of gemm_kernels.h and conv_direct_kernels.h:
// W lanes, register type T, zero, set1, load/loadN, store/storeN (first n lanes), fma, add,
// max0 = max(v, 0), mul, reduce (a fixed order), sfma (scalar fused multiply-add where the
// vector fma fuses), transpose (a W x W block). Anonymous namespace: each translation unit keeps its own copy.
#pragma once
#include <immintrin.h>

#include <cstddef>

namespace {
using std::size_t;
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
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T max0(T a) { return _mm512_max_ps(a, _mm512_setzero_ps()); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static float reduce(T v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static float sfma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
  // GCC 12's shuffle/unpack intrinsics start from _mm512_undefined_ps(), a self-initialized
  // variable it then warns about (GCC bug 105593); nothing here reads an undefined lane.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  // dst[k * ldd + r] = src[r * lds + k] for r, k < 16: 32-bit, then 64-bit interleaves within
  // 128-bit lanes (each lane then holds one column of four rows), then two 128-bit lane shuffles.
  static void transpose(const float* src, size_t lds, float* dst, size_t ldd) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * lds);
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 16; g += 4) {
      const __m512d a = _mm512_castps_pd(t[g]), b = _mm512_castps_pd(t[g + 1]);
      const __m512d c = _mm512_castps_pd(t[g + 2]), d = _mm512_castps_pd(t[g + 3]);
      r[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));      // column 4L + 0 of rows g..g+3, lane L
      r[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));  // column 4L + 1
      r[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));  // column 4L + 2
      r[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));  // column 4L + 3
    }
    for (int j = 0; j < 4; ++j) {
      const __m512 v0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), v1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd);
      const __m512 w0 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88), w1 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
      _mm512_storeu_ps(dst + j * ldd, _mm512_shuffle_f32x4(v0, w0, 0x88));
      _mm512_storeu_ps(dst + (j + 4) * ldd, _mm512_shuffle_f32x4(v1, w1, 0x88));
      _mm512_storeu_ps(dst + (j + 8) * ldd, _mm512_shuffle_f32x4(v0, w0, 0xdd));
      _mm512_storeu_ps(dst + (j + 12) * ldd, _mm512_shuffle_f32x4(v1, w1, 0xdd));
    }
  }
#pragma GCC diagnostic pop
};
}  // namespace
