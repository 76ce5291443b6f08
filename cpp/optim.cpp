// Optimizers (issues 2 and 7): SGD (momentum, dampening, nesterov, weight decay), Adam and AdamW
// with bias correction, as single fused passes; sum of squares for the global gradient norm in
// double over fixed chunks; in-place scaling for clipping. Elementwise updates are independent
// of the thread count; the norm's chunking is fixed (fixed_sum.h).
#include "optim.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")  // lets the selects below vectorize; results unchanged
#endif

#include <cmath>

#include "fixed_sum.h"
#include "target_clones.h"
#include "thread_pool.h"

namespace wk {

namespace {
constexpr size_t kGrain = 1 << 14;

// Range kernels on restrict pointers so the compiler vectorizes them (no aliasing, no branches).
WK_CLONES void sgdPlain(float* __restrict p, const float* __restrict g, size_t n, float lr, float wd) {
  for (size_t i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
}
WK_CLONES void sgdMomentum(float* __restrict p, const float* __restrict g, float* __restrict buf, size_t n, float lr,
                           float momentum, float damp1, float wd, float nesterov, float first) {
  for (size_t i = 0; i < n; ++i) {
    float gi = g[i] + wd * p[i];
    float bi = first != 0.0f ? gi : momentum * buf[i] + damp1 * gi;
    buf[i] = bi;
    float d = nesterov != 0.0f ? gi + momentum * bi : bi;
    p[i] -= lr * d;
  }
}
WK_CLONES void adamRange(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                         size_t n, float stepSize, float beta1, float beta2, float eps, float decay, float l2,
                         float invSqrtBc2) {
  for (size_t i = 0; i < n; ++i) {
    float pi = p[i] * decay;
    float gi = g[i] + l2 * pi;
    float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - stepSize * mi / (std::sqrt(vi) * invSqrtBc2 + eps);
  }
}
}  // namespace

void sgdStep(float* p, const float* g, float* buf, size_t n, float lr, float momentum, float dampening,
             float weightDecay, bool nesterov, bool firstStep) {
  bool useMomentum = momentum != 0.0f && buf;
  parallelFor(n, kGrain, [&](size_t b, size_t e, int) {
    if (useMomentum)
      sgdMomentum(p + b, g + b, buf + b, e - b, lr, momentum, 1.0f - dampening, weightDecay, nesterov ? 1.0f : 0.0f,
                  firstStep ? 1.0f : 0.0f);
    else
      sgdPlain(p + b, g + b, e - b, lr, weightDecay);
  });
}

void adamStep(float* p, const float* g, float* m, float* v, size_t n, float lr, float beta1, float beta2, float eps,
              float weightDecay, bool decoupled, double bc1, double bc2) {
  const float stepSize = static_cast<float>(lr / bc1);
  const float invSqrtBc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float decay = decoupled ? 1.0f - lr * weightDecay : 1.0f;
  const float l2 = decoupled ? 0.0f : weightDecay;
  parallelFor(n, kGrain, [&](size_t b, size_t e, int) {
    adamRange(p + b, g + b, m + b, v + b, e - b, stepSize, beta1, beta2, eps, decay, l2, invSqrtBc2);
  });
}

double sumSquares(const float* x, size_t n) {
  return fixedOrderSum(n, [&](size_t b, size_t e) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = b;
    for (; i + 8 <= e; i += 8)
      for (int k = 0; k < 8; ++k) acc[k] += static_cast<double>(x[i + k]) * x[i + k];
    for (int k = 0; i < e; ++i, ++k) acc[k] += static_cast<double>(x[i]) * x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  });
}

void scaleInPlace(float* x, size_t n, float s) {
  parallelFor(n, kGrain, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) x[i] *= s;
  });
}

}  // namespace wk
