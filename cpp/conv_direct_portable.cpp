// Direct convolution tiles in plain C++ (see conv_direct.h): 4 rows x 8 output channels of 4-lane
// arrays the compiler vectorizes with the baseline ISA (row variant 4 x 8 or 8 x 4); the fallback
// for CPUs without AVX2.
#include "conv_direct_kernels.h"
#include "simd_portable.h"

namespace {
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
