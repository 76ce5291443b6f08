// LayerNorm over the last dimension: R rows of C elements, y = (x - mean) * rstd * w + b per row,
// rstd = 1 / sqrt(var + eps) with the biased variance (PyTorch's nn.LayerNorm). The forward
// saves mean[R] and rstd[R] for the backward. w / b null: no affine weight / bias.
#pragma once
#include <cstddef>

namespace wk {

// y [R, C]; mean, rstd [R] (written).
void layerNormForward(const float* x, const float* w, const float* b, size_t R, size_t C, float eps, float* y,
                      float* mean, float* rstd);
// From the saved mean/rstd and the output gradient gy [R, C]: gx [R, C], gw [C], gb [C], each
// optional (null: not wanted), written (not accumulated). gw/gb are the sums over rows of
// gy * xhat and gy in a fixed order (the same bits for any thread count).
void layerNormBackward(const float* x, const float* w, const float* mean, const float* rstd, const float* gy, size_t R,
                       size_t C, float* gx, float* gw, float* gb);

// The plain versions (double accumulation, one thread, direct formulas): what the fast paths are
// tested against.
void layerNormForwardReference(const float* x, const float* w, const float* b, size_t R, size_t C, float eps, float* y,
                               float* mean, float* rstd);
void layerNormBackwardReference(const float* x, const float* w, const float* mean, const float* rstd, const float* gy,
                                size_t R, size_t C, float* gx, float* gw, float* gb);

}  // namespace wk
