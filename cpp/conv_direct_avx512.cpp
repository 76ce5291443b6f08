// Direct convolution tiles for AVX-512 (see conv_direct.h): 8 rows x 32 output channels (16 zmm
// accumulators, the inputs broadcast from memory); row variant 8 channels x 32 pixels, or 16
// channels x 16 pixels for outputs up to 16 wide. Built with -mavx512f/vl/bw/dq; chosen at run time.
#include <immintrin.h>

#include "conv_direct_kernels.h"

namespace {
struct V512 {
  static constexpr int W = 16;
  using T = __m512;
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static void storeN(float* p, T v, int n) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), v); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T max0(T a) { return _mm512_max_ps(a, _mm512_setzero_ps()); }
};
constexpr int MR = 8, NV = 2;
void tile(const wk::conv_detail::DirectTile& t) { directTile<V512, MR, NV>(t); }
void rowWide(const wk::conv_detail::RowTile& t) { rowTile<V512, 8, 2>(t); }
void rowNarrow(const wk::conv_detail::RowTile& t) { rowTile<V512, 16, 1>(t); }
}  // namespace

namespace wk {
namespace conv_detail {
const DirectKernels& directAvx512() {
  static const DirectKernels k{MR, NV * 16, tile, {8, 32, rowWide}, {16, 16, rowNarrow}};
  return k;
}
}  // namespace conv_detail
}  // namespace wk
