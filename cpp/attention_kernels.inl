// The tile kernels of the fused attention (cpp/attention.h), included by attention.cpp (portable:
// the 4-lane VP of simd_portable.h), attention_avx2.cpp (V256) and attention_avx512.cpp (V512),
// built with those flags, under different names (WK_ATTN_SUFFIX); attention.cpp picks one per call
// (cpu_features.h). Define WK_ATTN_SUFFIX and WK_ATTN_V (the vector struct) before including.
//
// Two register-blocked micro-kernels do the matrix work, the rest is row-wise softmax:
//   scores<R>: S[r][c] = alpha * x_r . t[:, c] for R rows and a key tile of KC = 4W columns, from the
//     tile transposed to [dh][KC] (zero-padded): R x 4 vector accumulators, one broadcast of x_r[d]
//     and 4 loads of t per d (QKᵀ, and dP = dO Vᵀ in the backward);
//   accumulate<R, DV>: acc_r = acc_r * scale_r + sum_c coef(r, c) m_c over rows m_c of [n][dhp]
//     (dhp = dh rounded up to W, DV = dhp / W vectors per row): R x DV accumulators (P V, dS K,
//     Pᵀ dO, dSᵀ Q; coef is read with strides, so the transposed products need no transpose).
// Masking is by bounds: query row i sees the first n_i columns of a key tile (its visible keys are
// a prefix), its probabilities beyond n_i are written as 0, so no -inf enters the arithmetic. exp
// is a Cephes-style polynomial (about 1 ulp) in plain loops the compiler vectorizes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "attention.h"

#if !defined(WK_ATTN_SUFFIX) || !defined(WK_ATTN_V)
#error define WK_ATTN_SUFFIX and WK_ATTN_V before including attention_kernels.inl
#endif
#define WK_ATTN_CAT2(a, b) a##b
#define WK_ATTN_CAT(a, b) WK_ATTN_CAT2(a, b)
#define WK_ATTN_FN(name) WK_ATTN_CAT(name, WK_ATTN_SUFFIX)

namespace wk {
namespace attention_detail {
// Query rows per forward / dQ task, and keys per dK/dV task (attention.cpp splits the work so).
constexpr size_t kQ = 32, kK = 64;
}  // namespace attention_detail

namespace {

using WK_ATTN_CAT(AttnV, WK_ATTN_SUFFIX) = WK_ATTN_V;
#define WK_V WK_ATTN_CAT(AttnV, WK_ATTN_SUFFIX)

constexpr int WK_ATTN_FN(kW) = WK_V::W;
constexpr size_t WK_ATTN_FN(KC) = 4 * WK_V::W;        // keys per inner tile
constexpr int WK_ATTN_FN(kR) = WK_V::W >= 16 ? 4 : 2;  // rows per micro-kernel (registers: R x 4 + 4)

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
  thread_local std::vector<float> bufs[10];
  std::vector<float>& v = bufs[slot];
  if (v.size() < n) v.resize(n);
  return v.data();
}

// dst[dd * KC + c] = src[c * dh + dd] for c < n, zero for n <= c < KC.
inline void WK_ATTN_FN(transposeTile)(const float* src, size_t n, size_t dh, float* dst) {
  constexpr size_t KC = WK_ATTN_FN(KC);
  for (size_t dd = 0; dd < dh; ++dd) {
    float* row = dst + dd * KC;
    for (size_t c = 0; c < n; ++c) row[c] = src[c * dh + dd];
    for (size_t c = n; c < KC; ++c) row[c] = 0.0f;
  }
}

// dst[c * dhp + dd] = src[c * dh + dd] for c < n, dd < dh; zero elsewhere in [rows][dhp].
inline void WK_ATTN_FN(padRows)(const float* src, size_t n, size_t rows, size_t dh, size_t dhp, float* dst) {
  for (size_t c = 0; c < rows; ++c) {
    float* d = dst + c * dhp;
    if (c < n) {
      std::memcpy(d, src + c * dh, dh * sizeof(float));
      for (size_t dd = dh; dd < dhp; ++dd) d[dd] = 0.0f;
    } else {
      for (size_t dd = 0; dd < dhp; ++dd) d[dd] = 0.0f;
    }
  }
}

template <int R>
inline void WK_ATTN_FN(scoresR)(const float* x, size_t ldx, float alpha, const float* t, size_t dh, float* S) {
  using V = WK_V;
  using T = typename V::T;
  constexpr size_t KC = WK_ATTN_FN(KC);
  T acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < 4; ++j) acc[r][j] = V::zero();
  for (size_t dd = 0; dd < dh; ++dd) {
    const float* tr = t + dd * KC;
    const T k0 = V::load(tr), k1 = V::load(tr + V::W), k2 = V::load(tr + 2 * V::W), k3 = V::load(tr + 3 * V::W);
    for (int r = 0; r < R; ++r) {
      const T b = V::set1(alpha * x[r * ldx + dd]);
      acc[r][0] = V::fma(b, k0, acc[r][0]);
      acc[r][1] = V::fma(b, k1, acc[r][1]);
      acc[r][2] = V::fma(b, k2, acc[r][2]);
      acc[r][3] = V::fma(b, k3, acc[r][3]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < 4; ++j) V::store(S + r * KC + j * V::W, acc[r][j]);
}

// S [rows][KC] = alpha * x [rows, ldx] . t [dh][KC].
inline void WK_ATTN_FN(scores)(const float* x, size_t ldx, size_t rows, float alpha, const float* t, size_t dh,
                               float* S) {
  constexpr int R = WK_ATTN_FN(kR);
  constexpr size_t KC = WK_ATTN_FN(KC);
  size_t r = 0;
  for (; r + R <= rows; r += R) WK_ATTN_FN(scoresR)<R>(x + r * ldx, ldx, alpha, t, dh, S + r * KC);
  for (; r < rows; ++r) WK_ATTN_FN(scoresR)<1>(x + r * ldx, ldx, alpha, t, dh, S + r * KC);
}

template <int R, int DV>
inline void WK_ATTN_FN(accumulateR)(float* acc, size_t lda, const float* scale, const float* coef, size_t crs,
                                    size_t ccs, size_t n, const float* M, size_t ldm) {
  using V = WK_V;
  using T = typename V::T;
  T a[R][DV];
  for (int r = 0; r < R; ++r) {
    const T s = V::set1(scale ? scale[r] : 1.0f);
    for (int v = 0; v < DV; ++v) a[r][v] = V::mul(V::load(acc + r * lda + v * V::W), s);
  }
  for (size_t c = 0; c < n; ++c) {
    T m[DV];
    for (int v = 0; v < DV; ++v) m[v] = V::load(M + c * ldm + v * V::W);
    for (int r = 0; r < R; ++r) {
      const T b = V::set1(coef[r * crs + c * ccs]);
      for (int v = 0; v < DV; ++v) a[r][v] = V::fma(b, m[v], a[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < DV; ++v) V::store(acc + r * lda + v * V::W, a[r][v]);
}

// Any number of vectors per row: one row and one vector at a time.
inline void WK_ATTN_FN(accumulateAny)(float* acc, const float* scale, const float* coef, size_t ccs, size_t n,
                                      const float* M, size_t ldm, size_t dhp) {
  using V = WK_V;
  using T = typename V::T;
  const T s = V::set1(scale ? *scale : 1.0f);
  for (size_t v = 0; v < dhp; v += V::W) {
    T a = V::mul(V::load(acc + v), s);
    for (size_t c = 0; c < n; ++c) a = V::fma(V::set1(coef[c * ccs]), V::load(M + c * ldm + v), a);
    V::store(acc + v, a);
  }
}

template <int DV>
inline void WK_ATTN_FN(accumulateDV)(float* acc, size_t lda, size_t rows, const float* scale, const float* coef,
                                     size_t crs, size_t ccs, size_t n, const float* M, size_t ldm) {
  constexpr int R = WK_ATTN_FN(kR);
  size_t r = 0;
  for (; r + R <= rows; r += R)
    WK_ATTN_FN(accumulateR)<R, DV>(acc + r * lda, lda, scale ? scale + r : nullptr, coef + r * crs, crs, ccs, n, M, ldm);
  for (; r < rows; ++r)
    WK_ATTN_FN(accumulateR)<1, DV>(acc + r * lda, lda, scale ? scale + r : nullptr, coef + r * crs, crs, ccs, n, M, ldm);
}

// acc [rows][dhp] (row stride lda) = acc * scale[r] (scale null: 1) + sum_{c < n} coef[r*crs + c*ccs] M[c] (rows of dhp).
inline void WK_ATTN_FN(accumulate)(float* acc, size_t lda, size_t rows, const float* scale, const float* coef,
                                   size_t crs, size_t ccs, size_t n, const float* M, size_t ldm, size_t dhp) {
  switch (dhp / WK_ATTN_FN(kW)) {
    case 1: return WK_ATTN_FN(accumulateDV)<1>(acc, lda, rows, scale, coef, crs, ccs, n, M, ldm);
    case 2: return WK_ATTN_FN(accumulateDV)<2>(acc, lda, rows, scale, coef, crs, ccs, n, M, ldm);
    case 3: return WK_ATTN_FN(accumulateDV)<3>(acc, lda, rows, scale, coef, crs, ccs, n, M, ldm);
    case 4: return WK_ATTN_FN(accumulateDV)<4>(acc, lda, rows, scale, coef, crs, ccs, n, M, ldm);
    default:
      for (size_t r = 0; r < rows; ++r)
        WK_ATTN_FN(accumulateAny)(acc + r * lda, scale ? scale + r : nullptr, coef + r * crs, ccs, n, M, ldm, dhp);
  }
}

// Sum of s[0..n) with 16 interleaved partial sums; max likewise (both vectorize without reassociation flags).
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
inline float WK_ATTN_FN(max16)(const float* s, size_t n) {
  float part[16];
  for (int k = 0; k < 16; ++k) part[k] = s[0];
  size_t c = 0;
  for (; c + 16 <= n; c += 16)
    for (int k = 0; k < 16; ++k) part[k] = s[c + k] > part[k] ? s[c + k] : part[k];
  for (int k = 0; c < n; ++c, ++k) part[k] = s[c] > part[k] ? s[c] : part[k];
  float t = part[0];
  for (int k = 1; k < 16; ++k) t = part[k] > t ? part[k] : t;
  return t;
}

// Visible columns of key tile [j0, j0 + jn) for query i.
inline size_t WK_ATTN_FN(visibleCols)(const AttentionDims& d, size_t i, size_t j0, size_t jn) {
  const size_t end = attentionVisibleEnd(d, i);
  return end <= j0 ? 0 : std::min(jn, end - j0);
}

inline size_t WK_ATTN_FN(padded)(size_t dh) {
  const size_t w = static_cast<size_t>(WK_ATTN_FN(kW));
  return (dh + w - 1) / w * w;
}

}  // namespace

// Forward of query rows [i0, i1) of head bh: o and lse of those rows.
void WK_ATTN_FN(attentionForwardTile)(const AttentionDims& d, const float* q, const float* k, const float* v,
                                      float* o, float* lse, size_t bh, size_t i0, size_t i1) {
  constexpr size_t KC = WK_ATTN_FN(KC);
  const size_t dh = d.dh, dhp = WK_ATTN_FN(padded)(dh), rows = i1 - i0;
  const float* Q = q + (bh * d.Tq + i0) * dh;
  const float* K = k + bh * attentionKvRows(d) * dh;
  const float* V = v + bh * attentionKvRows(d) * dh;
  float* kt = WK_ATTN_FN(scratch)(0, dh * KC);
  float* vs = WK_ATTN_FN(scratch)(1, KC * dhp);
  float* acc = WK_ATTN_FN(scratch)(2, rows * dhp);
  float* S = WK_ATTN_FN(scratch)(3, rows * KC);
  float* m = WK_ATTN_FN(scratch)(4, rows);
  float* l = WK_ATTN_FN(scratch)(5, rows);
  float* corr = WK_ATTN_FN(scratch)(6, rows);
  std::fill(acc, acc + rows * dhp, 0.0f);
  std::fill(m, m + rows, -INFINITY);
  std::fill(l, l + rows, 0.0f);
  const size_t kEnd = attentionVisibleEnd(d, i1 - 1);
  for (size_t j0 = 0; j0 < kEnd; j0 += KC) {
    const size_t jn = std::min(KC, kEnd - j0);
    WK_ATTN_FN(transposeTile)(K + j0 * dh, jn, dh, kt);
    WK_ATTN_FN(padRows)(V + j0 * dh, jn, jn, dh, dhp, vs);
    WK_ATTN_FN(scores)(Q, dh, rows, d.scale, kt, dh, S);
    for (size_t r = 0; r < rows; ++r) {
      float* p = S + r * KC;
      const size_t n = WK_ATTN_FN(visibleCols)(d, i0 + r, j0, jn);
      if (n == 0) {
        corr[r] = 1.0f;
        std::fill(p, p + KC, 0.0f);
        continue;
      }
      const float mNew = std::max(m[r], WK_ATTN_FN(max16)(p, n));
      corr[r] = WK_ATTN_FN(expf)(m[r] - mNew);  // 0 on the first tile (m = -inf, clamped: ~1e-38 * 0)
      for (size_t c = 0; c < n; ++c) p[c] = WK_ATTN_FN(expf)(p[c] - mNew);
      for (size_t c = n; c < KC; ++c) p[c] = 0.0f;
      l[r] = l[r] * corr[r] + WK_ATTN_FN(sum16)(p, n);
      m[r] = mNew;
    }
    WK_ATTN_FN(accumulate)(acc, dhp, rows, corr, S, KC, 1, jn, vs, dhp, dhp);
  }
  for (size_t r = 0; r < rows; ++r) {
    const float inv = 1.0f / l[r];
    float* out = o + (bh * d.Tq + i0 + r) * dh;
    const float* a = acc + r * dhp;
    for (size_t dd = 0; dd < dh; ++dd) out[dd] = a[dd] * inv;
    lse[bh * d.Tq + i0 + r] = m[r] + std::log(l[r]);
  }
}

// dK and dV of keys [j0, j1) of head bh, summed over every query row that sees them, in row order.
// D [BH, Tq] = rowsum(go * o). gk/gv may be null.
void WK_ATTN_FN(attentionKeyTileBackward)(const AttentionDims& d, const float* q, const float* k, const float* v,
                                          const float* lse, const float* go, const float* D, float* gk, float* gv,
                                          size_t bh, size_t j0, size_t j1) {
  using attention_detail::kQ;
  constexpr size_t KC = WK_ATTN_FN(KC);
  const size_t dh = d.dh, dhp = WK_ATTN_FN(padded)(dh);
  const float* Q = q + bh * d.Tq * dh;
  const float* G = go + bh * d.Tq * dh;
  float* kt = WK_ATTN_FN(scratch)(0, dh * KC);
  float* vt = WK_ATTN_FN(scratch)(1, dh * KC);
  float* qs = WK_ATTN_FN(scratch)(2, kQ * dhp);
  float* gs = WK_ATTN_FN(scratch)(3, kQ * dhp);
  float* S = WK_ATTN_FN(scratch)(4, kQ * KC);
  float* dP = WK_ATTN_FN(scratch)(5, kQ * KC);
  float* dka = WK_ATTN_FN(scratch)(6, KC * dhp);
  float* dva = WK_ATTN_FN(scratch)(7, KC * dhp);
  const size_t off = d.Tk - d.Tq;
  for (size_t s0 = j0; s0 < j1; s0 += KC) {
    const size_t sn = std::min(KC, j1 - s0);
    WK_ATTN_FN(transposeTile)(k + (bh * d.Tk + s0) * dh, sn, dh, kt);
    WK_ATTN_FN(transposeTile)(v + (bh * d.Tk + s0) * dh, sn, dh, vt);
    std::fill(dka, dka + KC * dhp, 0.0f);
    std::fill(dva, dva + KC * dhp, 0.0f);
    // The first query that sees key s0 sits at position floor(s0 / bs) * bs.
    const size_t firstPos = s0 / d.tokensPerFrame * d.tokensPerFrame;
    for (size_t i0 = firstPos > off ? firstPos - off : 0; i0 < d.Tq; i0 += kQ) {
      const size_t rows = std::min(kQ, d.Tq - i0);
      WK_ATTN_FN(padRows)(Q + i0 * dh, rows, rows, dh, dhp, qs);
      WK_ATTN_FN(padRows)(G + i0 * dh, rows, rows, dh, dhp, gs);
      WK_ATTN_FN(scores)(qs, dhp, rows, d.scale, kt, dh, S);
      WK_ATTN_FN(scores)(gs, dhp, rows, 1.0f, vt, dh, dP);
      for (size_t r = 0; r < rows; ++r) {
        const size_t i = i0 + r;
        const size_t n = WK_ATTN_FN(visibleCols)(d, i, s0, sn);
        const float li = lse[bh * d.Tq + i], Di = D[bh * d.Tq + i];
        float* p = S + r * KC;
        float* dp = dP + r * KC;
        for (size_t c = 0; c < n; ++c) {
          const float pc = WK_ATTN_FN(expf)(p[c] - li);
          p[c] = pc;
          dp[c] = pc * (dp[c] - Di);
        }
        for (size_t c = n; c < KC; ++c) p[c] = dp[c] = 0.0f;
      }
      // dV[c] += sum_r P[r][c] gs[r], dK[c] += sum_r dS[r][c] qs[r]: accumulator rows are keys.
      WK_ATTN_FN(accumulate)(dva, dhp, sn, nullptr, S, 1, KC, rows, gs, dhp, dhp);
      WK_ATTN_FN(accumulate)(dka, dhp, sn, nullptr, dP, 1, KC, rows, qs, dhp, dhp);
    }
    for (size_t c = 0; c < sn; ++c) {
      const size_t row = (bh * d.Tk + s0 + c) * dh;
      if (gk)
        for (size_t dd = 0; dd < dh; ++dd) gk[row + dd] = d.scale * dka[c * dhp + dd];
      if (gv) std::memcpy(gv + row, dva + c * dhp, dh * sizeof(float));
    }
  }
}

// dQ of query rows [i0, i1) of head bh, summed over the key tiles in order.
void WK_ATTN_FN(attentionQueryTileBackward)(const AttentionDims& d, const float* q, const float* k, const float* v,
                                            const float* lse, const float* go, const float* D, float* gq, size_t bh,
                                            size_t i0, size_t i1) {
  constexpr size_t KC = WK_ATTN_FN(KC);
  const size_t dh = d.dh, dhp = WK_ATTN_FN(padded)(dh), rows = i1 - i0;
  const float* Q = q + (bh * d.Tq + i0) * dh;
  const float* G = go + (bh * d.Tq + i0) * dh;
  const float* K = k + bh * d.Tk * dh;
  const float* V = v + bh * d.Tk * dh;
  float* kt = WK_ATTN_FN(scratch)(0, dh * KC);
  float* vt = WK_ATTN_FN(scratch)(1, dh * KC);
  float* ks = WK_ATTN_FN(scratch)(2, KC * dhp);
  float* dqa = WK_ATTN_FN(scratch)(3, rows * dhp);
  float* S = WK_ATTN_FN(scratch)(4, rows * KC);
  float* dP = WK_ATTN_FN(scratch)(5, rows * KC);
  std::fill(dqa, dqa + rows * dhp, 0.0f);
  const size_t kEnd = attentionVisibleEnd(d, i1 - 1);
  for (size_t j0 = 0; j0 < kEnd; j0 += KC) {
    const size_t jn = std::min(KC, kEnd - j0);
    WK_ATTN_FN(transposeTile)(K + j0 * dh, jn, dh, kt);
    WK_ATTN_FN(transposeTile)(V + j0 * dh, jn, dh, vt);
    WK_ATTN_FN(padRows)(K + j0 * dh, jn, jn, dh, dhp, ks);
    WK_ATTN_FN(scores)(Q, dh, rows, d.scale, kt, dh, S);
    WK_ATTN_FN(scores)(G, dh, rows, 1.0f, vt, dh, dP);
    for (size_t r = 0; r < rows; ++r) {
      const size_t i = i0 + r;
      const size_t n = WK_ATTN_FN(visibleCols)(d, i, j0, jn);
      const float li = lse[bh * d.Tq + i], Di = D[bh * d.Tq + i];
      float* ds = S + r * KC;
      const float* dp = dP + r * KC;
      for (size_t c = 0; c < n; ++c) ds[c] = WK_ATTN_FN(expf)(ds[c] - li) * (dp[c] - Di);
      for (size_t c = n; c < KC; ++c) ds[c] = 0.0f;
    }
    WK_ATTN_FN(accumulate)(dqa, dhp, rows, nullptr, S, KC, 1, jn, ks, dhp, dhp);
  }
  for (size_t r = 0; r < rows; ++r) {
    float* out = gq + (bh * d.Tq + i0 + r) * dh;
    for (size_t dd = 0; dd < dh; ++dd) out[dd] = d.scale * dqa[r * dhp + dd];
  }
}

}  // namespace wk

#undef WK_V
#undef WK_ATTN_FN
#undef WK_ATTN_CAT
#undef WK_ATTN_CAT2
