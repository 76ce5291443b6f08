// Direct convolution tiles for AVX-512 (see conv_direct.h): 8 rows x 32 output channels (16 zmm
// accumulators, the inputs broadcast from memory); row variant 8 channels x 32 pixels, or 16
// channels x 16 pixels for outputs up to 16 wide. Built with -mavx512f/vl/bw/dq; chosen at run time.
#include <immintrin.h>

#include "conv_direct_kernels.h"
#include "simd_avx512.h"

namespace {
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
