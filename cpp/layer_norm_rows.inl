// LayerNorm's per-row passes, included by layer_norm.cpp (portable), layer_norm_avx2.cpp and
// layer_norm_avx512.cpp (built with those flags) under different names (WK_LN_SUFFIX). Plain
// loops that the compiler vectorizes: row sums go into 16 float lanes (two AVX2 registers, one
// AVX-512 register) that are added in double at the end of the row.
//
// Numerics: two passes over the row, the mean first, then the centred sum of squares
// sum((x - mean)^2), so a large mean does not cancel against the variance (the one-pass
// E[x^2] - E[x]^2 would). Each row is one thread's work with a fixed order, so results do not
// depend on the thread count (they may differ in the last bits between ISAs).
#include <cmath>
#include <cstddef>

#ifndef WK_LN_SUFFIX
#error define WK_LN_SUFFIX before including layer_norm_rows.inl
#endif
#define WK_LN_CAT2(a, b) a##b
#define WK_LN_CAT(a, b) WK_LN_CAT2(a, b)
#define WK_LN_FN(name) WK_LN_CAT(name, WK_LN_SUFFIX)

#if defined(__GNUC__) && !defined(__clang__)
// No fused multiply-adds: gy * w is rounded the same way in the row sums and in gx, so a row
// whose gradient is exactly zero in real arithmetic (C = 1, or a constant row) gets exactly 0
// (rstd = 1/sqrt(eps) would magnify a one-rounding difference ~300x).
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

namespace wk {
namespace {

constexpr int kLanes = 16;

inline double WK_LN_FN(lanesToDouble)(const float* acc) {
  double s = 0;
  for (int k = 0; k < kLanes; ++k) s += acc[k];
  return s;
}

// sum x[i]
inline double WK_LN_FN(rowSum)(const float* x, size_t C) {
  float acc[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= C; i += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += x[i + k];
  double s = WK_LN_FN(lanesToDouble)(acc);
  for (; i < C; ++i) s += x[i];
  return s;
}

// sum (x[i] - m)^2
inline double WK_LN_FN(rowCentredSquares)(const float* x, float m, size_t C) {
  float acc[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= C; i += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      const float d = x[i + k] - m;
      acc[k] += d * d;
    }
  double s = WK_LN_FN(lanesToDouble)(acc);
  for (; i < C; ++i) {
    const double d = static_cast<double>(x[i]) - m;
    s += d * d;
  }
  return s;
}

template <bool HasW, bool HasB>
void WK_LN_FN(forwardRows)(const float* x, const float* w, const float* b, size_t rows, size_t C, float eps, float* y,
                           float* mean, float* rstd) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    const float m = static_cast<float>(WK_LN_FN(rowSum)(xr, C) / static_cast<double>(C));
    const double var = WK_LN_FN(rowCentredSquares)(xr, m, C) / static_cast<double>(C);
    const float rs = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    mean[r] = m;
    rstd[r] = rs;
    for (size_t i = 0; i < C; ++i) {
      const float v = (xr[i] - m) * rs;
      yr[i] = (HasW ? v * w[i] : v) + (HasB ? b[i] : 0.0f);
    }
  }
}

// gx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = gy * w, xhat =
// (x - mean) * rstd; gwPart += gy * xhat and gbPart += gy over the rows (when given).
template <bool HasW>
void WK_LN_FN(backwardRows)(const float* x, const float* w, const float* mean, const float* rstd, const float* gy,
                            size_t rows, size_t C, float* gx, float* gwPart, float* gbPart) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    const float* gr = gy + r * C;
    const float m = mean[r], rs = rstd[r];
    if (gx) {
      float a1[kLanes] = {}, a2[kLanes] = {};
      size_t i = 0;
      for (; i + kLanes <= C; i += kLanes)
        for (int k = 0; k < kLanes; ++k) {
          const float dxh = HasW ? gr[i + k] * w[i + k] : gr[i + k];
          const float xh = (xr[i + k] - m) * rs;
          a1[k] += dxh;
          a2[k] += dxh * xh;
        }
      double s1 = WK_LN_FN(lanesToDouble)(a1), s2 = WK_LN_FN(lanesToDouble)(a2);
      for (; i < C; ++i) {
        const float dxh = HasW ? gr[i] * w[i] : gr[i];
        const float xh = (xr[i] - m) * rs;
        s1 += dxh;
        s2 += static_cast<double>(dxh) * xh;
      }
      const float c1 = static_cast<float>(s1 / static_cast<double>(C));
      const float c2 = static_cast<float>(s2 / static_cast<double>(C));
      float* gxr = gx + r * C;
      for (size_t j = 0; j < C; ++j) {
        const float dxh = HasW ? gr[j] * w[j] : gr[j];
        const float xh = (xr[j] - m) * rs;
        gxr[j] = rs * (dxh - c1 - xh * c2);
      }
    }
    if (gwPart)
      for (size_t j = 0; j < C; ++j) gwPart[j] += gr[j] * ((xr[j] - m) * rs);
    if (gbPart)
      for (size_t j = 0; j < C; ++j) gbPart[j] += gr[j];
  }
}

}  // namespace

void WK_LN_FN(layerNormForwardRows)(const float* x, const float* w, const float* b, size_t rows, size_t C, float eps,
                                    float* y, float* mean, float* rstd) {
  if (w && b) WK_LN_FN(forwardRows)<true, true>(x, w, b, rows, C, eps, y, mean, rstd);
  else if (w) WK_LN_FN(forwardRows)<true, false>(x, w, b, rows, C, eps, y, mean, rstd);
  else if (b) WK_LN_FN(forwardRows)<false, true>(x, w, b, rows, C, eps, y, mean, rstd);
  else WK_LN_FN(forwardRows)<false, false>(x, w, b, rows, C, eps, y, mean, rstd);
}

void WK_LN_FN(layerNormBackwardRows)(const float* x, const float* w, const float* mean, const float* rstd,
                                     const float* gy, size_t rows, size_t C, float* gx, float* gwPart,
                                     float* gbPart) {
  if (w) WK_LN_FN(backwardRows)<true>(x, w, mean, rstd, gy, rows, C, gx, gwPart, gbPart);
  else WK_LN_FN(backwardRows)<false>(x, w, mean, rstd, gy, rows, C, gx, gwPart, gbPart);
}

}  // namespace wk

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#undef WK_LN_FN
#undef WK_LN_CAT
#undef WK_LN_CAT2
