// Direct convolution tiles for AVX2+FMA (see conv_direct.h): 4 rows x 16 output channels (8 ymm
// accumulators); row variant 4 channels x 16 pixels, or 8 channels x 8 pixels for outputs up to
// 8 wide. Built with -mavx2 -mfma; chosen at run time.
#include <immintrin.h>

#include "conv_direct_kernels.h"

namespace {
struct V256 {
  static constexpr int W = 8;
  using T = __m256;
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static void storeN(float* p, T v, int n) {
    alignas(32) float b[8];
    _mm256_store_ps(b, v);
    for (int i = 0; i < n; ++i) p[i] = b[i];
  }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T max0(T a) { return _mm256_max_ps(a, _mm256_setzero_ps()); }
};
constexpr int MR = 4, NV = 2;
void tile(const wk::conv_detail::DirectTile& t) { directTile<V256, MR, NV>(t); }
void rowWide(const wk::conv_detail::RowTile& t) { rowTile<V256, 4, 2>(t); }
void rowNarrow(const wk::conv_detail::RowTile& t) { rowTile<V256, 8, 1>(t); }
}  // namespace

namespace wk {
namespace conv_detail {
const DirectKernels& directAvx2() {
  static const DirectKernels k{MR, NV * 8, tile, {4, 16, rowWide}, {8, 8, rowNarrow}};
  return k;
}
}  // namespace conv_detail
}  // namespace wk
