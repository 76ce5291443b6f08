// Losses (issue 2): MSE, BCE with logits, KL of a diagonal Gaussian to N(0, I) with a free-bits
// floor, softmax cross-entropy. Each forward and backward is a single fused pass.
//
// Determinism: a loss row with many terms is summed in fixed chunks (fixed_sum.h) combined in
// order; many rows are spread over threads, one row per thread, each summed in a fixed order.
// MSE chunks are summed by a vectorized kernel (8 double accumulators, mseChunk); sums under
// kSerialSumBelow terms stay on the calling thread with the same chunks (same bits).
#include "losses.h"

#include <algorithm>
#include <cmath>

#include "fixed_sum.h"
#include "target_clones.h"
#include "thread_pool.h"

namespace wk {
namespace {

inline double mseTerm(float a, float t) {
  double d = static_cast<double>(a) - static_cast<double>(t);
  return d * d;
}
inline double bceTerm(float x, float t) {
  double xd = x;
  return std::max(xd, 0.0) - xd * static_cast<double>(t) + std::log1p(std::exp(-std::fabs(xd)));
}
inline float sigmoidf(float x) {
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  float e = std::exp(x);
  return e / (1.0f + e);
}

// The sum of (a[i]-t[i])^2 over [0, n) in double with 8 interleaved accumulators, combined as
// ((0+1)+(2+3))+((4+5)+(6+7)): a fixed order, the same bits on every ISA (no -ffast-math), and
// written so that the compiler vectorizes it (4 doubles per AVX2 register).
WK_CLONES double mseChunk(const float* __restrict a, const float* __restrict t, size_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) {
      double d = static_cast<double>(a[i + k]) - static_cast<double>(t[i + k]);
      acc[k] += d * d;
    }
  for (int k = 0; i < n; ++i, ++k) {
    double d = static_cast<double>(a[i]) - static_cast<double>(t[i]);
    acc[k] += d * d;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Terms as function objects (inlined into the chunk loop, not called through a pointer).
struct MseTerm {
  static constexpr bool kFastChunk = true;
  double operator()(float a, float t) const { return mseTerm(a, t); }
  double chunk(const float* a, const float* t, size_t n) const { return mseChunk(a, t, n); }
};
struct BceTerm {
  static constexpr bool kFastChunk = false;
  double operator()(float x, float t) const { return bceTerm(x, t); }
  double chunk(const float*, const float*, size_t) const { return 0; }
};

struct KlTerm {
  static constexpr bool kFastChunk = false;
  double operator()(float m, float lv) const {
    double l = lv;
    return 1.0 + l - static_cast<double>(m) * m - std::exp(l);
  }
  double chunk(const float*, const float*, size_t) const { return 0; }
};

// Below this many terms a sum runs on the calling thread: the same chunks, added in the same
// order, so the bits do not change, only the dispatch cost is saved.
constexpr size_t kSerialSumBelow = size_t(1) << 17;

template <class Term>
double rowSum(const float* a, const float* t, size_t D, Term term, bool parallel) {
  auto chunk = [&](size_t b, size_t e) {
    if constexpr (Term::kFastChunk) {
      return term.chunk(a + b, t + b, e - b);
    } else {
      double acc[4] = {0, 0, 0, 0};
      size_t i = b;
      for (; i + 4 <= e; i += 4)
        for (int k = 0; k < 4; ++k) acc[k] += term(a[i + k], t[i + k]);
      for (int k = 0; i < e; ++i, ++k) acc[k] += term(a[i], t[i]);
      return (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
  };
  if (!parallel || D < kSerialSumBelow) {
    // The same chunking as fixedOrderSum, serially.
    double s = 0;
    for (size_t b = 0; b < D; b += kSumChunk) s += chunk(b, std::min(D, b + kSumChunk));
    return s;
  }
  return fixedOrderSum(D, chunk);
}

template <class Term>
void rowsForward(const float* a, const float* t, size_t B, size_t D, double scale, float* out, Term term) {
  if (B == 1) {
    out[0] = static_cast<float>(rowSum(a, t, D, term, true) * scale);
    return;
  }
  size_t grain = std::max<size_t>(1, 16384 / std::max<size_t>(D, 1));
  parallelFor(B, grain, [&](size_t b0, size_t b1, int) {
    for (size_t b = b0; b < b1; ++b) out[b] = static_cast<float>(rowSum(a + b * D, t + b * D, D, term, false) * scale);
  });
}

// Runs fn(b, dBegin, dEnd) over all [B, D] elements in parallel, in row-aligned pieces.
template <class Fn>
void forRows(size_t B, size_t D, Fn fn) {
  size_t n = B * D;
  parallelFor(n, 1 << 14, [&](size_t b, size_t e, int) {
    size_t i = b;
    while (i < e) {
      size_t row = i / D, d0 = i % D;
      size_t d1 = std::min(D, d0 + (e - i));
      fn(row, d0, d1);
      i += d1 - d0;
    }
  });
}

}  // namespace

void rowLossForward(RowLoss kind, const float* a, const float* t, size_t B, size_t D, double scale, float* out) {
  if (B == 0) return;
  if (kind == RowLoss::Mse) rowsForward(a, t, B, D, scale, out, MseTerm{});
  else rowsForward(a, t, B, D, scale, out, BceTerm{});
}

namespace {
// d/da of coef*(a-t)^2 (and d/dt = its negation), on restrict pointers so it vectorizes.
WK_CLONES void mseGrad(const float* __restrict a, const float* __restrict t, float* __restrict out, size_t n, float c) {
  for (size_t i = 0; i < n; ++i) out[i] = c * (a[i] - t[i]);
}
WK_CLONES void bceGradLogits(const float* __restrict x, const float* __restrict t, float* __restrict out, size_t n,
                             float c) {
  for (size_t i = 0; i < n; ++i) out[i] = c * (sigmoidf(x[i]) - t[i]);
}
WK_CLONES void scaled(const float* __restrict x, float* __restrict out, size_t n, float c) {
  for (size_t i = 0; i < n; ++i) out[i] = c * x[i];
}
}  // namespace

void rowLossBackward(RowLoss kind, const float* a, const float* t, size_t B, size_t D, const float* gRow,
                     double scale, float* ga, float* gt) {
  if (B == 0 || D == 0) return;
  forRows(B, D, [&](size_t b, size_t d0, size_t d1) {
    float coef = static_cast<float>(scale * gRow[b]);
    size_t off = b * D + d0, n = d1 - d0;
    if (kind == RowLoss::Mse) {
      if (ga) mseGrad(a + off, t + off, ga + off, n, 2.0f * coef);
      if (gt) mseGrad(a + off, t + off, gt + off, n, -2.0f * coef);
    } else {
      if (ga) bceGradLogits(a + off, t + off, ga + off, n, coef);
      if (gt) scaled(a + off, gt + off, n, -coef);
    }
  });
}

void klNormalForward(const float* mu, const float* logvar, size_t B, size_t D, float* kl) {
  rowsForward(mu, logvar, B, D, -0.5, kl, KlTerm{});
}

void klNormalBackward(const float* mu, const float* logvar, size_t B, size_t D, const float* kl, float freeBits,
                      const float* gRow, double scale, float* gmu, float* glogvar) {
  if (B == 0 || D == 0) return;
  forRows(B, D, [&](size_t b, size_t d0, size_t d1) {
    bool active = !(kl[b] < freeBits);
    float coef = active ? static_cast<float>(scale * gRow[b]) : 0.0f;
    for (size_t d = d0; d < d1; ++d) {
      size_t i = b * D + d;
      if (gmu) gmu[i] = coef * mu[i];
      if (glogvar) glogvar[i] = coef * 0.5f * (std::exp(logvar[i]) - 1.0f);
    }
  });
}

void crossEntropyForward(const float* logits, const int32_t* labels, size_t B, size_t C, float* loss) {
  size_t grain = std::max<size_t>(1, 8192 / std::max<size_t>(C, 1));
  parallelFor(B, grain, [&](size_t b0, size_t b1, int) {
    for (size_t b = b0; b < b1; ++b) {
      const float* x = logits + b * C;
      float mx = x[0];
      for (size_t c = 1; c < C; ++c) mx = std::max(mx, x[c]);
      double s = 0;
      for (size_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(x[c]) - mx);
      loss[b] = static_cast<float>(std::log(s) + mx - x[labels[b]]);
    }
  });
}

void crossEntropyBackward(const float* logits, const int32_t* labels, size_t B, size_t C, const float* gRow,
                          double scale, float* glogits) {
  size_t grain = std::max<size_t>(1, 8192 / std::max<size_t>(C, 1));
  parallelFor(B, grain, [&](size_t b0, size_t b1, int) {
    for (size_t b = b0; b < b1; ++b) {
      const float* x = logits + b * C;
      float* gx = glogits + b * C;
      float mx = x[0];
      for (size_t c = 1; c < C; ++c) mx = std::max(mx, x[c]);
      double s = 0;
      for (size_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(x[c]) - mx);
      double coef = scale * gRow[b];
      double inv = 1.0 / s;
      for (size_t c = 0; c < C; ++c) {
        double p = std::exp(static_cast<double>(x[c]) - mx) * inv;
        gx[c] = static_cast<float>(coef * (p - (static_cast<int32_t>(c) == labels[b] ? 1.0 : 0.0)));
      }
    }
  });
}

}  // namespace wk
