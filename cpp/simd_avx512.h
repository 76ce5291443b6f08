// The AVX-512 float vector (16 lanes; include only from files built with
// -mavx512f/vl/bw/dq), shared by the templated kernels of gemm_kernels.h and conv_direct_kernels.h:
// W lanes, register type T, zero, set1, load/loadN, store/storeN (first n lanes), fma, add,
// max0 = max(v, 0), mul, reduce (a fixed order), sfma (scalar fused multiply-add where the
// vector fma fuses). Anonymous namespace: each translation unit keeps its own copy.
#pragma once
#include <immintrin.h>

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
};
}  // namespace
