// Direct convolution forward (internal to cpp/conv*.cpp; drivers in conv.cpp): no im2col buffer. The GEMM view is
// y[(n,p), oc] = sum over taps t of x[n, t(p)] * w[oc, t]: a register tile holds MR "rows" (an
// (image, output pixel) pair each) by NR = NV*W output channels (vector lanes). Each row's input
// value for a tap is broadcast straight from the NCHW input; the weights are packed once per call
// into [oc block][c][ky][kx][NR] panels. Rows of a tile share their pixel's validity class (the
// taps that fall inside the input), so zero-padding taps are skipped exactly rather than
// multiplied. Output: acc + bias (optionally ReLU) scattered to NCHW (channel stride Ho*Wo).
// Every output element is one FMA chain over its valid taps in (c, ky, kx) order, whatever the
// tile or thread it falls in, so results do not depend on the thread count.
#pragma once
#include <cstddef>

namespace wk {
namespace conv_detail {

constexpr int kMaxRows = 8;

struct DirectTile {
  const float* x[kMaxRows];  // per row: input at (c=0, first valid ky, first valid kx); rows >= m repeat row 0
  float* y[kMaxRows];        // per row: output at (oc block's first channel, pixel)
  int m;                     // valid rows
  int nky, nkx;              // valid taps along y and x (0 allowed: output = bias)
  size_t C, HW, W;           // input channels, channel stride, row stride
  const float* wp;           // packed weights at [c=0][ky0][kx0] of this oc block
  size_t wc, wky;            // packed strides per channel (kh*kw*NR) and per ky (kw*NR)
  size_t P;                  // output channel stride (Ho*Wo)
  int noc;                   // valid output channels in this block (<= NR)
  const float* bias;         // NR values at the block's first channel (zero padded; zeros when no bias)
  bool relu;
};

// Row variant, for short reductions over wide outputs (the first layer of an encoder: 3 input
// channels): the vector lanes are NR consecutive output pixels of one output row, the MR
// register rows are output channels (weights broadcast from [c][ky][kx][MR] panels). The input
// comes phase-split and zero padded (xs below): phase f of an input row holds the padded row's
// elements f, f+sw, f+2sw, ..., so tap kx of NR consecutive outputs is one contiguous load at
// phase kx % sw, offset kx / sw. Padding rows (ky) are skipped; padding columns are zeros in xs.
struct RowTile {
  const float* x;      // xs at (c=0, first valid input row, phase 0, first output pixel)
  size_t xc, xrow;     // xs strides per channel and per input row
  const size_t* koff;  // per kx: phase * phase stride + kx / sw
  int nky, kw;         // valid ky count, kernel width
  size_t C;
  const float* wp;     // packed weights at [c=0][ky0][kx=0] of this oc block
  size_t wc, wky;      // packed strides per channel (kh*kw*MR) and per ky (kw*MR)
  float* y;            // output at (image, first channel of the block, output row, first pixel)
  size_t P;            // output channel stride
  int m;               // valid channels (<= MR)
  int npx;             // valid pixels (<= NR)
  const float* bias;   // MR values (zero padded; zeros when no bias)
  bool relu;
};

struct RowKernel {
  int mr, nr;
  void (*tile)(const RowTile& t);
};

struct DirectKernels {
  int mr, nr;
  void (*tile)(const DirectTile& t);
  RowKernel wide, narrow;  // row variant: two vectors of pixels, or one (outputs up to W wide)
};

const DirectKernels& directPortable();
const DirectKernels& directAvx2();
const DirectKernels& directAvx512();

}  // namespace conv_detail
}  // namespace wk
