// GEMM kernels in plain C++ (4-lane arrays the compiler vectorizes with the baseline ISA): the
// fallback for CPUs without AVX2. Same three paths and tiling logic as the SIMD versions.
#include "gemm_isa.h"
#include "gemm_kernels.h"

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
  static T mul(T a, T b) {
    T r;
    for (int i = 0; i < 4; ++i) r.v[i] = a.v[i] * b.v[i];
    return r;
  }
  static float reduce(T v) { return (v.v[0] + v.v[2]) + (v.v[1] + v.v[3]); }
  static float sfma(float a, float b, float c) { return a * b + c; }
};

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
}  // namespace

namespace wk {
namespace gemm_detail {
const IsaKernels& portableKernels() {
  static const IsaKernels k{MR, NV * 4, 4, 8, packed, rows, dots};
  return k;
}
}  // namespace gemm_detail
}  // namespace wk
