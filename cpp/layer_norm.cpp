// LayerNorm forward and backward over the last dimension (cpp/layer_norm.h), for the
// Transformer predictor's pre-norm blocks (issue 14).
//
// Roofline, per row of C floats: forward reads x twice (mean, then centred squares; the second
// read hits L1/L2 for rows up to ~64K floats) and writes y: ~8C bytes of DRAM traffic for ~7C
// flops, and backward reads x, gy (and w) and writes gx: ~12C bytes for ~12C flops. Both are
// memory bound (arithmetic intensity < 1 flop/byte against a machine balance of ~10 on a
// desktop core), so the goal is one streaming pass in registers per read, vectorized.
//
// Versions:
//   reference (layerNormForwardReference / layerNormBackwardReference): direct formulas in
//     double, one thread; the fast paths are tested against it (test/layer_norm.test.ts).
//   fast (layerNormForward / layerNormBackward): the per-row passes of layer_norm_rows.inl,
//     compiled portable, AVX2 and AVX-512 and picked by bestIsa(); rows spread over threads
//     (one row per thread, fixed order inside it). Backward's gw/gb are sums over rows: rows are
//     cut into chunks of kChunkRows (a fixed size, not the thread count), each chunk sums its
//     rows into its own partial [C] in float, and the partials are added in chunk order in
//     double, so the bits do not depend on the number of threads.
#include "layer_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu_features.h"
#include "thread_pool.h"

#define WK_LN_SUFFIX Portable
#include "layer_norm_rows.inl"
#undef WK_LN_SUFFIX

namespace wk {

void layerNormForwardRowsAvx2(const float*, const float*, const float*, size_t, size_t, float, float*, float*, float*);
void layerNormForwardRowsAvx512(const float*, const float*, const float*, size_t, size_t, float, float*, float*,
                                float*);
void layerNormBackwardRowsAvx2(const float*, const float*, const float*, const float*, const float*, size_t, size_t,
                               float*, float*, float*);
void layerNormBackwardRowsAvx512(const float*, const float*, const float*, const float*, const float*, size_t, size_t,
                                 float*, float*, float*);

namespace {

constexpr size_t kChunkRows = 32;

// Rows per parallel part: enough elements to pay for a wake-up.
size_t rowGrain(size_t C) { return std::max<size_t>(1, 16384 / std::max<size_t>(C, 1)); }

void forwardRows(Isa isa, const float* x, const float* w, const float* b, size_t rows, size_t C, float eps, float* y,
                 float* mean, float* rstd) {
  if (isa == Isa::Avx512) layerNormForwardRowsAvx512(x, w, b, rows, C, eps, y, mean, rstd);
  else if (isa == Isa::Avx2) layerNormForwardRowsAvx2(x, w, b, rows, C, eps, y, mean, rstd);
  else layerNormForwardRowsPortable(x, w, b, rows, C, eps, y, mean, rstd);
}

void backwardRows(Isa isa, const float* x, const float* w, const float* mean, const float* rstd, const float* gy,
                  size_t rows, size_t C, float* gx, float* gwPart, float* gbPart) {
  if (isa == Isa::Avx512) layerNormBackwardRowsAvx512(x, w, mean, rstd, gy, rows, C, gx, gwPart, gbPart);
  else if (isa == Isa::Avx2) layerNormBackwardRowsAvx2(x, w, mean, rstd, gy, rows, C, gx, gwPart, gbPart);
  else layerNormBackwardRowsPortable(x, w, mean, rstd, gy, rows, C, gx, gwPart, gbPart);
}

}  // namespace

void layerNormForward(const float* x, const float* w, const float* b, size_t R, size_t C, float eps, float* y,
                      float* mean, float* rstd) {
  if (R == 0 || C == 0) return;
  const Isa isa = bestIsa();
  parallelFor(R, rowGrain(C), [&](size_t r0, size_t r1, int) {
    forwardRows(isa, x + r0 * C, w, b, r1 - r0, C, eps, y + r0 * C, mean + r0, rstd + r0);
  });
}

void layerNormBackward(const float* x, const float* w, const float* mean, const float* rstd, const float* gy, size_t R,
                       size_t C, float* gx, float* gw, float* gb) {
  if (C == 0) return;
  if (R == 0) {
    if (gw) std::fill(gw, gw + C, 0.0f);
    if (gb) std::fill(gb, gb + C, 0.0f);
    return;
  }
  const Isa isa = bestIsa();
  const size_t chunks = (R + kChunkRows - 1) / kChunkRows;
  // Chunk partials: gw's then gb's, [chunks, C] each (zero-filled).
  std::vector<float> part((gw ? chunks * C : 0) + (gb ? chunks * C : 0), 0.0f);
  float* gwPart = gw ? part.data() : nullptr;
  float* gbPart = gb ? part.data() + (gw ? chunks * C : 0) : nullptr;
  const size_t grain = std::max<size_t>(1, rowGrain(C) / kChunkRows);
  parallelFor(chunks, grain, [&](size_t c0, size_t c1, int) {
    for (size_t c = c0; c < c1; ++c) {
      const size_t r0 = c * kChunkRows, r1 = std::min(R, r0 + kChunkRows);
      backwardRows(isa, x + r0 * C, w, mean + r0, rstd + r0, gy + r0 * C, r1 - r0, C, gx ? gx + r0 * C : nullptr,
                   gwPart ? gwPart + c * C : nullptr, gbPart ? gbPart + c * C : nullptr);
    }
  });
  // The partials added in chunk order, in double; columns split over threads.
  auto combine = [&](const float* p, float* out) {
    parallelFor(C, 1024, [&](size_t j0, size_t j1, int) {
      for (size_t j = j0; j < j1; ++j) {
        double s = 0;
        for (size_t c = 0; c < chunks; ++c) s += p[c * C + j];
        out[j] = static_cast<float>(s);
      }
    });
  };
  if (gw) combine(gwPart, gw);
  if (gb) combine(gbPart, gb);
}

void layerNormForwardReference(const float* x, const float* w, const float* b, size_t R, size_t C, float eps, float* y,
                               float* mean, float* rstd) {
  for (size_t r = 0; r < R; ++r) {
    const float* xr = x + r * C;
    double m = 0;
    for (size_t i = 0; i < C; ++i) m += xr[i];
    m /= static_cast<double>(C);
    double v = 0;
    for (size_t i = 0; i < C; ++i) v += (xr[i] - m) * (xr[i] - m);
    v /= static_cast<double>(C);
    const double rs = 1.0 / std::sqrt(v + static_cast<double>(eps));
    mean[r] = static_cast<float>(m);
    rstd[r] = static_cast<float>(rs);
    for (size_t i = 0; i < C; ++i)
      y[r * C + i] = static_cast<float>((xr[i] - m) * rs * (w ? w[i] : 1.0) + (b ? b[i] : 0.0));
  }
}

void layerNormBackwardReference(const float* x, const float* w, const float* mean, const float* rstd, const float* gy,
                                size_t R, size_t C, float* gx, float* gw, float* gb) {
  std::vector<double> sw(C, 0.0), sb(C, 0.0);
  for (size_t r = 0; r < R; ++r) {
    const float* xr = x + r * C;
    const float* gr = gy + r * C;
    const double m = mean[r], rs = rstd[r];
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < C; ++i) {
      const double xh = (xr[i] - m) * rs, dxh = gr[i] * (w ? static_cast<double>(w[i]) : 1.0);
      s1 += dxh;
      s2 += dxh * xh;
      sw[i] += gr[i] * xh;
      sb[i] += gr[i];
    }
    s1 /= static_cast<double>(C);
    s2 /= static_cast<double>(C);
    if (gx)
      for (size_t i = 0; i < C; ++i) {
        const double xh = (xr[i] - m) * rs, dxh = gr[i] * (w ? static_cast<double>(w[i]) : 1.0);
        gx[r * C + i] = static_cast<float>(rs * (dxh - s1 - xh * s2));
      }
  }
  for (size_t i = 0; i < C; ++i) {
    if (gw) gw[i] = static_cast<float>(sw[i]);
    if (gb) gb[i] = static_cast<float>(sb[i]);
  }
}

}  // namespace wk
