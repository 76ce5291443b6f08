// 2-D convolution and transposed convolution, NCHW, float32, any kernel size, stride and padding.
//
// Everything is phrased in terms of one "conv view" geometry: a convolution from an input
// [N, C, H, W] to an output [N, K, Ho, Wo] with a weight [K, C, kh, kw]. A transposed
// convolution is the adjoint of that map, so it reuses the same geometry with the roles of the
// two tensors swapped (see convTranspose2d* below).
//
// Forward: a direct convolution (conv_direct.h: register tiles of (image, pixel) rows by output
// channels, inputs broadcast from NCHW, zero-padding taps skipped) or its row variant (output
// pixels of a row in the vector lanes) for all but short reductions on narrow outputs.
// Backward, transposed convs and the remaining forwards: im2col / col2im over wk::gemm on chunks
// of samples, the batch folded into the GEMM's N dimension within a chunk (a chunk holds about 256 output pixels: one sample for the large
// layers, 4 or 16 for the deep layers of a VAE, which have 16 or 64 pixels per sample, far too
// few for a GEMM alone). Chunks run in parallel, one thread each. Workspaces are per-thread and
// grow-only, so the hot path does not allocate once warmed up. Results do not depend on the
// thread count: every output element is produced by one chunk in a fixed order, weight gradients
// are per-chunk partials summed in chunk order, and the chunking depends only on the sizes.
#pragma once
#include <cstddef>

namespace wk {

struct ConvGeom {
  size_t N = 0;           // batch
  size_t C = 0;           // conv input channels
  size_t H = 0, W = 0;    // conv input spatial size
  size_t K = 0;           // conv output channels
  size_t kh = 1, kw = 1;  // kernel
  size_t sh = 1, sw = 1;  // stride
  size_t ph = 0, pw = 0;  // zero padding
  size_t Ho = 0, Wo = 0;  // conv output spatial size (floor((H + 2ph - kh) / sh) + 1)
};

// Output size of a convolution along one axis (0 when the kernel does not fit).
size_t convOutSize(size_t in, size_t k, size_t stride, size_t pad);

// y[N,K,Ho,Wo] = conv(x[N,C,H,W], w[K,C,kh,kw]) + b[K] (b may be null), then max(y, 0) when
// relu (NaN -> 0). y is overwritten. Method, from the sizes only (and WORLDKIT_CONV_FORWARD=im2col,
// which keeps im2col + GEMM for A/B measurements): the row variant where conv2dUsesRows(g), else
// the direct kernel (conv_direct.h) where conv2dUsesDirect(g), else im2col + GEMM.
void conv2dForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y, bool relu = false);

// The forward's choice of method.
bool conv2dUsesDirect(const ConvGeom& g);
// The direct forward itself, for any sizes (tests call it on shapes the dispatch would not send).
void conv2dForwardDirect(const ConvGeom& g, const float* x, const float* w, const float* b, float* y, bool relu);
// The row variant of the direct forward (conv_direct.h RowTile: output pixels of a row in the
// vector lanes), for short reductions over wide outputs; any sizes.
bool conv2dUsesRows(const ConvGeom& g);
void conv2dForwardRows(const ConvGeom& g, const float* x, const float* w, const float* b, float* y, bool relu);

// Gradients of conv2dForward from gy[N,K,Ho,Wo]. Each output may be null (not wanted); all
// wanted ones are overwritten: gx[N,C,H,W], gw[K,C,kh,kw], gb[K].
void conv2dBackward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx, float* gw,
                    float* gb);

// Transposed convolution with the conv view g: its input is x[N,K,Ho,Wo] (g.K = in channels,
// g.Ho/g.Wo = input size), its output y[N,C,H,W] (g.C = out channels, g.H/g.W = output size,
// which includes any output padding), weight w[K,C,kh,kw] (PyTorch's ConvTranspose2d layout
// [in, out, kh, kw]), bias b[C] (may be null). y is overwritten.
void convTranspose2dForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y);

// Gradients of convTranspose2dForward from gy[N,C,H,W]: gx[N,K,Ho,Wo], gw[K,C,kh,kw], gb[C];
// null = not wanted, the others overwritten.
void convTranspose2dBackward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx,
                             float* gw, float* gb);

// Plain direct loops in double (the reference the fast paths are tested against).
void conv2dForwardReference(const ConvGeom& g, const float* x, const float* w, const float* b, float* y);

// Frames: uint8 [N,H,W,C] (channelsLast) or [N,C,H,W] -> float NCHW in [0,1] (v / 255).
void framesToFloat(const unsigned char* src, float* dst, size_t N, size_t C, size_t H, size_t W, bool channelsLast);
// Float NCHW -> uint8 [N,H,W,C] (channelsLast) or [N,C,H,W]: round(clamp(v, 0, 1) * 255); NaN -> 0.
void floatToFrames(const float* src, unsigned char* dst, size_t N, size_t C, size_t H, size_t W, bool channelsLast);

}  // namespace wk
