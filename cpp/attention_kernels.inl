// The tile kernels of the fused attention (cpp/attention.h), included by attention.cpp (portable,
// SSE2), attention_avx2.cpp and attention_avx512.cpp (built with those flags) under different
// names (WK_ATTN_SUFFIX); attention.cpp picks one per call (cpu_features.h). Plain loops that the
// compiler vectorizes: every inner loop runs over a key tile's columns (K and V tiles are
// transposed once per tile so the scores of a query row are a row of axpys) or over the head
// dimension; exp is a Cephes-style polynomial (about 1 ulp) so it vectorizes without libm.
// Masking is by loop bounds: query row i uses the first n_i columns of a key tile (the visible
// keys of a row are a prefix), so no select and no -inf enters the arithmetic.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "attention.h"

#ifndef WK_ATTN_SUFFIX
#error define WK_ATTN_SUFFIX before including attention_kernels.inl
#endif
#define WK_ATTN_CAT2(a, b) a##b
#define WK_ATTN_CAT(a, b) WK_ATTN_CAT2(a, b)
#define WK_ATTN_FN(name) WK_ATTN_CAT(name, WK_ATTN_SUFFIX)

namespace wk {
namespace attention_detail {
// Tile sizes: kQ query rows share one transposed key/value tile of kK keys (dh x kK floats each:
// 8 KB for dh = 32, in L1 with the rows it serves).
constexpr size_t kQ = 32, kK = 64;
}  // namespace attention_detail

namespace {

inline float WK_ATTN_FN(expf)(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // n = round(x / ln2) (the 1.5 * 2^23 trick), r = x - n ln2 in two parts, exp(r) by a degree-6 polynomial.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t e = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, sizeof scale);
  return p * scale;
}

float* WK_ATTN_FN(scratch)(int slot, size_t n) {
  thread_local std::vector<float> bufs[6];
  std::vector<float>& v = bufs[slot];
  if (v.size() < n) v.resize(n);
  return v.data();
}

// dst[dd * kK + c] = src[c * dh + dd] for c < n (a key or value tile, transposed).
inline void WK_ATTN_FN(transposeTile)(const float* src, size_t n, size_t dh, float* dst) {
  using attention_detail::kK;
  for (size_t c = 0; c < n; ++c)
    for (size_t dd = 0; dd < dh; ++dd) dst[dd * kK + c] = src[c * dh + dd];
}

// s[c] = alpha * x . t[:, c] for c < n (t transposed, row stride kK).
inline void WK_ATTN_FN(rowTimesTile)(const float* x, float alpha, const float* t, size_t n, size_t dh, float* s) {
  using attention_detail::kK;
  for (size_t c = 0; c < n; ++c) s[c] = 0.0f;
  for (size_t dd = 0; dd < dh; ++dd) {
    const float a = alpha * x[dd];
    const float* tr = t + dd * kK;
#pragma GCC ivdep
    for (size_t c = 0; c < n; ++c) s[c] += a * tr[c];
  }
}

// Sum of s[0..n) with 16 interleaved partial sums (vectorizes without reassociation flags).
inline float WK_ATTN_FN(sum16)(const float* s, size_t n) {
  float part[16] = {0};
  size_t c = 0;
  for (; c + 16 <= n; c += 16)
    for (int k = 0; k < 16; ++k) part[k] += s[c + k];
  for (int k = 0; c < n; ++c, ++k) part[k] += s[c];
  float t = 0.0f;
  for (int k = 0; k < 16; ++k) t += part[k];
  return t;
}

}  // namespace

// Forward of query rows [i0, i1) of head bh: o and lse of those rows.
void WK_ATTN_FN(attentionForwardTile)(const AttentionDims& d, const float* q, const float* k, const float* v,
                                      float* o, float* lse, size_t bh, size_t i0, size_t i1) {
  using attention_detail::kK;
  const size_t dh = d.dh, rows = i1 - i0;
  const float* Q = q + bh * d.Tq * dh;
  const float* K = k + bh * d.Tk * dh;
  const float* V = v + bh * d.Tk * dh;
  float* kt = WK_ATTN_FN(scratch)(0, dh * kK);
  float* acc = WK_ATTN_FN(scratch)(1, rows * dh);
  float* m = WK_ATTN_FN(scratch)(2, rows);
  float* l = WK_ATTN_FN(scratch)(3, rows);
  float* s = WK_ATTN_FN(scratch)(4, kK);
  std::fill(acc, acc + rows * dh, 0.0f);
  std::fill(m, m + rows, -INFINITY);
  std::fill(l, l + rows, 0.0f);
  const size_t kEnd = attentionVisibleEnd(d, i1 - 1);
  for (size_t j0 = 0; j0 < kEnd; j0 += kK) {
    const size_t jn = std::min(kK, kEnd - j0);
    WK_ATTN_FN(transposeTile)(K + j0 * dh, jn, dh, kt);
    for (size_t r = 0; r < rows; ++r) {
      const size_t end = attentionVisibleEnd(d, i0 + r);
      if (end <= j0) continue;
      const size_t n = std::min(jn, end - j0);
      WK_ATTN_FN(rowTimesTile)(Q + (i0 + r) * dh, d.scale, kt, n, dh, s);
      float mt = s[0];
      for (size_t c = 1; c < n; ++c) mt = s[c] > mt ? s[c] : mt;
      const float mNew = std::max(m[r], mt);
      const float corr = WK_ATTN_FN(expf)(m[r] - mNew);  // 0 on the first tile (m = -inf, clamped: ~1e-38 * 0)
      for (size_t c = 0; c < n; ++c) s[c] = WK_ATTN_FN(expf)(s[c] - mNew);
      l[r] = l[r] * corr + WK_ATTN_FN(sum16)(s, n);
      m[r] = mNew;
      float* a = acc + r * dh;
      for (size_t dd = 0; dd < dh; ++dd) a[dd] *= corr;
      for (size_t c = 0; c < n; ++c) {
        const float p = s[c];
        const float* vr = V + (j0 + c) * dh;
#pragma GCC ivdep
        for (size_t dd = 0; dd < dh; ++dd) a[dd] += p * vr[dd];
      }
    }
  }
  for (size_t r = 0; r < rows; ++r) {
    const float inv = 1.0f / l[r];
    float* out = o + (bh * d.Tq + i0 + r) * dh;
    const float* a = acc + r * dh;
    for (size_t dd = 0; dd < dh; ++dd) out[dd] = a[dd] * inv;
    lse[bh * d.Tq + i0 + r] = m[r] + std::log(l[r]);
  }
}

// dK and dV of keys [j0, j1) of head bh, summed over every query row that sees them, in row order.
// D [BH, Tq] = rowsum(go * o). gk/gv may be null.
void WK_ATTN_FN(attentionKeyTileBackward)(const AttentionDims& d, const float* q, const float* k, const float* v,
                                          const float* lse, const float* go, const float* D, float* gk, float* gv,
                                          size_t bh, size_t j0, size_t j1) {
  using attention_detail::kK;
  const size_t dh = d.dh, jn = j1 - j0;
  const float* Q = q + bh * d.Tq * dh;
  const float* G = go + bh * d.Tq * dh;
  float* kt = WK_ATTN_FN(scratch)(0, dh * kK);
  float* vt = WK_ATTN_FN(scratch)(1, dh * kK);
  float* dka = WK_ATTN_FN(scratch)(2, kK * dh);
  float* dva = WK_ATTN_FN(scratch)(3, kK * dh);
  float* s = WK_ATTN_FN(scratch)(4, kK);
  float* dp = WK_ATTN_FN(scratch)(5, kK);
  std::fill(dka, dka + jn * dh, 0.0f);
  std::fill(dva, dva + jn * dh, 0.0f);
  WK_ATTN_FN(transposeTile)(k + (bh * d.Tk + j0) * dh, jn, dh, kt);
  WK_ATTN_FN(transposeTile)(v + (bh * d.Tk + j0) * dh, jn, dh, vt);
  // The first query that sees key j0: position floor(j0 / bs) * bs.
  const size_t off = d.Tk - d.Tq;
  const size_t firstPos = j0 / d.tokensPerFrame * d.tokensPerFrame;
  const size_t iStart = firstPos > off ? firstPos - off : 0;
  for (size_t i = iStart; i < d.Tq; ++i) {
    const size_t end = attentionVisibleEnd(d, i);
    if (end <= j0) continue;
    const size_t n = std::min(jn, end - j0);
    const float* qi = Q + i * dh;
    const float* gi = G + i * dh;
    const float li = lse[bh * d.Tq + i], Di = D[bh * d.Tq + i];
    WK_ATTN_FN(rowTimesTile)(qi, d.scale, kt, n, dh, s);
    WK_ATTN_FN(rowTimesTile)(gi, 1.0f, vt, n, dh, dp);
    for (size_t c = 0; c < n; ++c) {
      const float p = WK_ATTN_FN(expf)(s[c] - li);
      s[c] = p;
      dp[c] = p * (dp[c] - Di);
    }
    for (size_t c = 0; c < n; ++c) {
      const float p = s[c], ds = dp[c];
      float* dvr = dva + c * dh;
      float* dkr = dka + c * dh;
#pragma GCC ivdep
      for (size_t dd = 0; dd < dh; ++dd) {
        dvr[dd] += p * gi[dd];
        dkr[dd] += ds * qi[dd];
      }
    }
  }
  for (size_t c = 0; c < jn; ++c) {
    const size_t row = (bh * d.Tk + j0 + c) * dh;
    if (gk)
      for (size_t dd = 0; dd < dh; ++dd) gk[row + dd] = d.scale * dka[c * dh + dd];
    if (gv)
      for (size_t dd = 0; dd < dh; ++dd) gv[row + dd] = dva[c * dh + dd];
  }
}

// dQ of query rows [i0, i1) of head bh, summed over the key tiles in order.
void WK_ATTN_FN(attentionQueryTileBackward)(const AttentionDims& d, const float* q, const float* k, const float* v,
                                            const float* lse, const float* go, const float* D, float* gq, size_t bh,
                                            size_t i0, size_t i1) {
  using attention_detail::kK;
  const size_t dh = d.dh, rows = i1 - i0;
  const float* Q = q + bh * d.Tq * dh;
  const float* G = go + bh * d.Tq * dh;
  const float* K = k + bh * d.Tk * dh;
  const float* V = v + bh * d.Tk * dh;
  float* kt = WK_ATTN_FN(scratch)(0, dh * kK);
  float* vt = WK_ATTN_FN(scratch)(1, dh * kK);
  float* dqa = WK_ATTN_FN(scratch)(2, rows * dh);
  float* s = WK_ATTN_FN(scratch)(4, kK);
  float* dp = WK_ATTN_FN(scratch)(5, kK);
  std::fill(dqa, dqa + rows * dh, 0.0f);
  const size_t kEnd = attentionVisibleEnd(d, i1 - 1);
  for (size_t j0 = 0; j0 < kEnd; j0 += kK) {
    const size_t jn = std::min(kK, kEnd - j0);
    WK_ATTN_FN(transposeTile)(K + j0 * dh, jn, dh, kt);
    WK_ATTN_FN(transposeTile)(V + j0 * dh, jn, dh, vt);
    for (size_t r = 0; r < rows; ++r) {
      const size_t i = i0 + r;
      const size_t end = attentionVisibleEnd(d, i);
      if (end <= j0) continue;
      const size_t n = std::min(jn, end - j0);
      const float li = lse[bh * d.Tq + i], Di = D[bh * d.Tq + i];
      WK_ATTN_FN(rowTimesTile)(Q + i * dh, d.scale, kt, n, dh, s);
      WK_ATTN_FN(rowTimesTile)(G + i * dh, 1.0f, vt, n, dh, dp);
      for (size_t c = 0; c < n; ++c) dp[c] = WK_ATTN_FN(expf)(s[c] - li) * (dp[c] - Di);
      float* a = dqa + r * dh;
      for (size_t c = 0; c < n; ++c) {
        const float ds = dp[c];
        const float* kr = K + (j0 + c) * dh;
#pragma GCC ivdep
        for (size_t dd = 0; dd < dh; ++dd) a[dd] += ds * kr[dd];
      }
    }
  }
  for (size_t r = 0; r < rows; ++r) {
    float* out = gq + (bh * d.Tq + i0 + r) * dh;
    for (size_t dd = 0; dd < dh; ++dd) out[dd] = d.scale * dqa[r * dh + dd];
  }
}

}  // namespace wk

#undef WK_ATTN_FN
#undef WK_ATTN_CAT
#undef WK_ATTN_CAT2
