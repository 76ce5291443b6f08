// Direct convolution tiles in plain C++ (see conv_direct.h): 4 rows x 8 output channels of 4-lane
// arrays the compiler vectorizes with the baseline ISA (row variant 4 x 8 or 8 x 4); the fallback
// for CPUs without AVX2.
#include "conv_direct_kernels.h"

namespace {
struct VP {
  static constexpr int W = 4;
  struct T {
    float v[4];
  };
  static T zero() { return T{{0, 0, 0, 0}}; }
  static T set1(float x) { return T{{x, x, x, x}}; }
  static T load(const float* p) { return T{{p[0], p[1], p[2], p[3]}}; }
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
};
constexpr int MR = 4, NV = 2;
void tile(const wk::conv_detail::DirectTile& t) { directTile<VP, MR, NV>(t); }
void rowWide(const wk::conv_detail::RowTile& t) { rowTile<VP, 4, 2>(t); }
void rowNarrow(const wk::conv_detail::RowTile& t) { rowTile<VP, 8, 1>(t); }
}  // namespace

namespace wk {
namespace conv_detail {
const DirectKernels& directPortable() {
  static const DirectKernels k{MR, NV * 4, tile, {4, 8, rowWide}, {8, 4, rowNarrow}};
  return k;
}
}  // namespace conv_detail
}  // namespace wk
