// The portable float vector (4-lane arrays the compiler vectorizes with the
// baseline ISA), shared by the templated kernels of gemm_kernels.h and conv_direct_kernels.h:
// W lanes, register type T, zero, set1, load/loadN, store/storeN (first n lanes), fma, add,
// max0 = max(v, 0), mul, reduce (a fixed order), sfma (scalar fused multiply-add where the
// vector fma fuses), transpose (a W x W block). Anonymous namespace: each translation unit keeps its own copy.
#pragma once
#include <cstddef>

namespace {
struct VP {
  static constexpr int W = 4;
  struct T {
    float v[4];
  };
  static T zero() { return T{{0, 0, 0, 0}}; }
  static T set1(float x) { return T{{x, x, x, x}}; }
  static T load(const float* p) { return T{{p[0], p[1], p[2], p[3]}}; }
  static T loadN(const float* p, int n) {
    T t = zero();
    for (int i = 0; i < n; ++i) t.v[i] = p[i];
    return t;
  }
  static void store(float* p, T v) {
    for (int i = 0; i < 4; ++i) p[i] = v.v[i];
  }
  static void storeN(float* p, T v, int n) {
    for (int i = 0; i < n; ++i) p[i] = v.v[i];
  }
  static T fma(T a, T b, T c) {
    T r;
    for (int i = 0; i < 4; ++i) r.v[i] = a.v[i] * b.v[i] + c.v[i];
    return r;
  }
  static T add(T a, T b) {
    T r;
    for (int i = 0; i < 4; ++i) r.v[i] = a.v[i] + b.v[i];
    return r;
  }
  static T max0(T a) {
    T r;
    for (int i = 0; i < 4; ++i) r.v[i] = a.v[i] > 0.0f ? a.v[i] : 0.0f;
    return r;
  }
  static T mul(T a, T b) {
    T r;
    for (int i = 0; i < 4; ++i) r.v[i] = a.v[i] * b.v[i];
    return r;
  }
  static float reduce(T v) { return (v.v[0] + v.v[2]) + (v.v[1] + v.v[3]); }
  static float sfma(float a, float b, float c) { return a * b + c; }
  // dst[k * ldd + r] = src[r * lds + k] for r, k < 4.
  static void transpose(const float* src, std::size_t lds, float* dst, std::size_t ldd) {
    for (int r = 0; r < 4; ++r)
      for (int k = 0; k < 4; ++k) dst[k * ldd + r] = src[r * lds + k];
  }
};
}  // namespace
