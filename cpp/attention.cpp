// Block-causal attention (cpp/attention.h): the fused FlashAttention-form passes, dispatched to
// the tile kernels of attention_kernels.inl for the best instruction set, and the plain
// reference that materialises the scores.
//
// Roofline, per head, full (non-causal) attention over T queries and keys of size dh: forward
// 4 T^2 dh flops (QK^T and PV, 2 each), backward 10 T^2 dh here (the recomputed QK^T once in each
// of the two passes, dP = dO V^T once in each, dV, dK, dQ: 7 matrix products, so 14 T^2 dh
// counting the recomputation; 10 T^2 dh is the useful work: 2.5x forward); block-causal attention
// does about half of each (frame blocks make it slightly more than half). Memory traffic of the
// fused forward: q, k, v read and o written once per query tile's pass over the keys: about
// (Tq dh + (Tq/kQ) Tk dh * 2 + Tq dh) floats; the reference also writes and reads the [Tq, Tk]
// scores and probabilities (4 Tq Tk floats), which dominates at dh <= 64. With T = 272 and
// dh = 32 the kernel is compute-bound on the inner axpy loops (the exp per score is the next cost).
//
// Parallel split (wk::parallelFor over tasks, every output element written by one task, summed in
// a fixed order, so results do not depend on the thread count):
//   forward: tasks (bh, query tile of kQ rows);
//   backward: D = rowsum(dO * O) per row; then tasks (bh, key tile of kK keys) for dK and dV,
//     each summing over the query rows that see its keys; then tasks (bh, query tile) for dQ.
//
// Versions: 1: row-at-a-time online softmax over transposed key/value tiles (plain loops the
// compiler vectorized). 2 (this): the matrix work in two register-blocked micro-kernels
// (attention_kernels.inl: scores R rows x 4 vectors of keys, accumulate R rows x dh/W vectors) on
// the portable, AVX2 and AVX-512 vector structs (simd_*.h); on one AVX-512 core at BH=64, T=272,
// dh=32, frames of 17 (min of 15 calls, a loaded machine) forward 40 -> 7.4 ms and backward
// 140 -> 28 ms.
#include "attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu_features.h"
#include "thread_pool.h"

#include "simd_portable.h"
#define WK_ATTN_SUFFIX Portable
#define WK_ATTN_V VP
#include "attention_kernels.inl"
#undef WK_ATTN_SUFFIX
#undef WK_ATTN_V

namespace wk {

#define WK_ATTN_DECLARE(S)                                                                                        \
  void attentionForwardTile##S(const AttentionDims&, const float*, const float*, const float*, float*, float*,   \
                               size_t, size_t, size_t);                                                           \
  void attentionKeyTileBackward##S(const AttentionDims&, const float*, const float*, const float*, const float*, \
                                   const float*, const float*, float*, float*, size_t, size_t, size_t);          \
  void attentionQueryTileBackward##S(const AttentionDims&, const float*, const float*, const float*, const float*, \
                                     const float*, const float*, float*, size_t, size_t, size_t);
WK_ATTN_DECLARE(Avx2)
WK_ATTN_DECLARE(Avx512)
#undef WK_ATTN_DECLARE

namespace {

using attention_detail::kK;
using attention_detail::kQ;

struct TileKernels {
  decltype(&attentionForwardTilePortable) forward;
  decltype(&attentionKeyTileBackwardPortable) keyTile;
  decltype(&attentionQueryTileBackwardPortable) queryTile;
};

TileKernels tileKernels() {
  switch (bestIsa()) {
    case Isa::Avx512:
      return {attentionForwardTileAvx512, attentionKeyTileBackwardAvx512, attentionQueryTileBackwardAvx512};
    case Isa::Avx2:
      return {attentionForwardTileAvx2, attentionKeyTileBackwardAvx2, attentionQueryTileBackwardAvx2};
    default:
      return {attentionForwardTilePortable, attentionKeyTileBackwardPortable, attentionQueryTileBackwardPortable};
  }
}

size_t tiles(size_t n, size_t t) { return (n + t - 1) / t; }

}  // namespace

void attentionForward(const AttentionDims& d, const float* q, const float* k, const float* v, float* o, float* lse) {
  if (d.BH == 0 || d.Tq == 0) return;
  const TileKernels kern = tileKernels();
  const size_t nt = tiles(d.Tq, kQ);
  parallelFor(d.BH * nt, 1, [&](size_t t0, size_t t1, int) {
    for (size_t t = t0; t < t1; ++t) {
      const size_t bh = t / nt, i0 = (t % nt) * kQ;
      kern.forward(d, q, k, v, o, lse, bh, i0, std::min(d.Tq, i0 + kQ));
    }
  });
}

void attentionBackward(const AttentionDims& d, const float* q, const float* k, const float* v, const float* o,
                       const float* lse, const float* go, float* gq, float* gk, float* gv) {
  if (d.BH == 0 || d.Tk == 0) return;
  const size_t rows = d.BH * d.Tq, dh = d.dh;
  if (d.Tq == 0) {  // no query sees any key
    if (gk) std::fill(gk, gk + d.BH * d.Tk * dh, 0.0f);
    if (gv) std::fill(gv, gv + d.BH * d.Tk * dh, 0.0f);
    return;
  }
  const TileKernels kern = tileKernels();
  thread_local std::vector<float> Dbuf;
  if (Dbuf.size() < rows) Dbuf.resize(rows);
  float* D = Dbuf.data();
  parallelFor(rows, 256, [&](size_t r0, size_t r1, int) {
    for (size_t r = r0; r < r1; ++r) {
      float s = 0.0f;
      for (size_t dd = 0; dd < dh; ++dd) s += go[r * dh + dd] * o[r * dh + dd];
      D[r] = s;
    }
  });
  if (gk || gv) {
    const size_t nt = tiles(d.Tk, kK);
    parallelFor(d.BH * nt, 1, [&](size_t t0, size_t t1, int) {
      for (size_t t = t0; t < t1; ++t) {
        const size_t bh = t / nt, j0 = (t % nt) * kK;
        kern.keyTile(d, q, k, v, lse, go, D, gk, gv, bh, j0, std::min(d.Tk, j0 + kK));
      }
    });
  }
  if (gq) {
    const size_t nt = tiles(d.Tq, kQ);
    parallelFor(d.BH * nt, 1, [&](size_t t0, size_t t1, int) {
      for (size_t t = t0; t < t1; ++t) {
        const size_t bh = t / nt, i0 = (t % nt) * kQ;
        kern.queryTile(d, q, k, v, lse, go, D, gq, bh, i0, std::min(d.Tq, i0 + kQ));
      }
    });
  }
}

// ---- the plain reference: scores of one head materialised, then softmax, then P V --------------
void attentionForwardReference(const AttentionDims& d, const float* q, const float* k, const float* v, float* o,
                               float* lse) {
  const size_t Tq = d.Tq, Tk = d.Tk, dh = d.dh;
  parallelFor(d.BH, 1, [&](size_t b0, size_t b1, int) {
    std::vector<float> P(Tq * Tk);
    for (size_t bh = b0; bh < b1; ++bh) {
      const float* Q = q + bh * Tq * dh;
      const float* K = k + bh * attentionKvRows(d) * dh;
      const float* V = v + bh * attentionKvRows(d) * dh;
      for (size_t i = 0; i < Tq; ++i) {
        const size_t end = attentionVisibleEnd(d, i);
        float* p = P.data() + i * Tk;
        float mx = -INFINITY;
        for (size_t j = 0; j < end; ++j) {
          float s = 0.0f;
          for (size_t dd = 0; dd < dh; ++dd) s += Q[i * dh + dd] * K[j * dh + dd];
          p[j] = s * d.scale;
          mx = std::max(mx, p[j]);
        }
        float sum = 0.0f;
        for (size_t j = 0; j < end; ++j) sum += (p[j] = std::exp(p[j] - mx));
        for (size_t j = 0; j < end; ++j) p[j] /= sum;
        for (size_t j = end; j < Tk; ++j) p[j] = 0.0f;
        lse[bh * Tq + i] = mx + std::log(sum);
      }
      for (size_t i = 0; i < Tq; ++i) {
        float* out = o + (bh * Tq + i) * dh;
        std::fill(out, out + dh, 0.0f);
        for (size_t j = 0; j < Tk; ++j) {
          const float pij = P[i * Tk + j];
          for (size_t dd = 0; dd < dh; ++dd) out[dd] += pij * V[j * dh + dd];
        }
      }
    }
  });
}

void attentionBackwardReference(const AttentionDims& d, const float* q, const float* k, const float* v,
                                const float* o, const float* lse, const float* go, float* gq, float* gk, float* gv) {
  const size_t Tq = d.Tq, Tk = d.Tk, dh = d.dh;
  parallelFor(d.BH, 1, [&](size_t b0, size_t b1, int) {
    std::vector<float> P(Tq * Tk), dS(Tq * Tk), dqa(Tq * dh), dka(Tk * dh), dva(Tk * dh);
    for (size_t bh = b0; bh < b1; ++bh) {
      const float* Q = q + bh * Tq * dh;
      const float* K = k + bh * Tk * dh;
      const float* V = v + bh * Tk * dh;
      const float* G = go + bh * Tq * dh;
      // P from the saved lse; dP = dO V^T; dS = P (dP - rowsum(dP P)).
      for (size_t i = 0; i < Tq; ++i) {
        const size_t end = attentionVisibleEnd(d, i);
        float rowDot = 0.0f;
        for (size_t j = 0; j < Tk; ++j) {
          float pij = 0.0f, dpij = 0.0f;
          if (j < end) {
            float s = 0.0f;
            for (size_t dd = 0; dd < dh; ++dd) s += Q[i * dh + dd] * K[j * dh + dd];
            pij = std::exp(s * d.scale - lse[bh * Tq + i]);
            for (size_t dd = 0; dd < dh; ++dd) dpij += G[i * dh + dd] * V[j * dh + dd];
          }
          P[i * Tk + j] = pij;
          dS[i * Tk + j] = dpij;
          rowDot += pij * dpij;
        }
        for (size_t j = 0; j < Tk; ++j) dS[i * Tk + j] = P[i * Tk + j] * (dS[i * Tk + j] - rowDot);
      }
      std::fill(dqa.begin(), dqa.end(), 0.0f);
      std::fill(dka.begin(), dka.end(), 0.0f);
      std::fill(dva.begin(), dva.end(), 0.0f);
      for (size_t i = 0; i < Tq; ++i)
        for (size_t j = 0; j < Tk; ++j) {
          const float pij = P[i * Tk + j], ds = dS[i * Tk + j] * d.scale;
          for (size_t dd = 0; dd < dh; ++dd) {
            dqa[i * dh + dd] += ds * K[j * dh + dd];
            dka[j * dh + dd] += ds * Q[i * dh + dd];
            dva[j * dh + dd] += pij * G[i * dh + dd];
          }
        }
      if (gq) std::copy(dqa.begin(), dqa.end(), gq + bh * Tq * dh);
      if (gk) std::copy(dka.begin(), dka.end(), gk + bh * Tk * dh);
      if (gv) std::copy(dva.begin(), dva.end(), gv + bh * Tk * dh);
    }
  });
}

}  // namespace wk
