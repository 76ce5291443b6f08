// Direct convolution tiles for AVX2+FMA (see conv_direct.h): 4 rows x 16 output channels (8 ymm
// accumulators); row variant 4 channels x 16 pixels, or 8 channels x 8 pixels for outputs up to
// 8 wide. Built with -mavx2 -mfma; chosen at run time.
#include <immintrin.h>

#include "conv_direct_kernels.h"
#include "simd_avx2.h"

namespace {
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
