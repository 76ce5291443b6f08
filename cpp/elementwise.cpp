// Elementwise kernels (issue 2): broadcasting add/sub/mul/div and their gradients, and unary
// activations (neg, square, sqrt, relu, leaky relu, sigmoid, tanh, exp, log, softplus, abs,
// affine, reciprocal, pow, clamp, gelu) with fused backwards.
//
// Broadcasting: shapes are collapsed first (size-1 output dims dropped, adjacent dims merged
// where every operand is contiguous or broadcast across both), leaving a short list of dims; the
// innermost is a contiguous run in which each operand has stride 1 or 0. The inner loops are
// specialised on those strides so they auto-vectorize, and compiled for AVX2 and the portable
// baseline (target_clones, picked at load time). Work is split over whole rows (or chunks of a
// single run) with parallelFor; each element is produced by one thread, so results never depend
// on the thread count. Gradients of broadcast operands are summed with reduce.cpp's fixed-order
// reduction.
#include "elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "reduce.h"
#include "target_clones.h"
#include "thread_pool.h"

#if defined(__GNUC__) && !defined(__clang__)
// Floating-point traps are never enabled here; without this GCC will not if-convert the float
// compares in relu/sigmoid/clamp/exp loops, and those loops stay scalar. Results are unchanged.
#pragma GCC optimize("no-trapping-math")
#endif

namespace wk {
namespace {

constexpr size_t kGrain = 1 << 14;

// A collapsed iteration space over up to 3 operands (strides in elements; 0 = broadcast).
struct Iter {
  int nd = 0;
  int64_t shape[kMaxDims];
  int64_t st[3][kMaxDims];
  int nops = 0;
  size_t inner() const { return nd ? static_cast<size_t>(shape[nd - 1]) : 1; }
  size_t rows() const {
    size_t r = 1;
    for (int d = 0; d + 1 < nd; ++d) r *= static_cast<size_t>(shape[d]);
    return r;
  }
  int64_t innerStride(int op) const { return nd ? st[op][nd - 1] : 0; }
  // Offsets of row r for every operand.
  void rowOffsets(size_t r, int64_t* off) const {
    for (int k = 0; k < nops; ++k) off[k] = 0;
    for (int d = nd - 2; d >= 0; --d) {
      int64_t i = static_cast<int64_t>(r % static_cast<size_t>(shape[d]));
      r /= static_cast<size_t>(shape[d]);
      for (int k = 0; k < nops; ++k) off[k] += i * st[k][d];
    }
  }
};

Iter makeIter(const int64_t* outShape, int nd, const int64_t* const* opShapes, int nops) {
  Iter it;
  it.nops = nops;
  int64_t stride[3][kMaxDims];
  for (int k = 0; k < nops; ++k) {
    int64_t s = 1;
    for (int d = nd - 1; d >= 0; --d) {
      stride[k][d] = opShapes[k][d] == 1 ? 0 : s;
      s *= opShapes[k][d];
    }
  }
  for (int d = 0; d < nd; ++d) {
    if (outShape[d] == 1) continue;
    if (it.nd > 0) {
      int p = it.nd - 1;
      bool merge = true;
      for (int k = 0; k < nops; ++k)
        if (it.st[k][p] != stride[k][d] * outShape[d]) merge = false;
      if (merge) {
        it.shape[p] *= outShape[d];
        for (int k = 0; k < nops; ++k) it.st[k][p] = stride[k][d];
        continue;
      }
    }
    it.shape[it.nd] = outShape[d];
    for (int k = 0; k < nops; ++k) it.st[k][it.nd] = stride[k][d];
    it.nd++;
  }
  return it;
}

// Runs body(rowOffsets[], innerBegin, innerEnd, outOffset) over the iteration space in parallel.
// outOffset is the position in the contiguous output.
template <class Body>
void runIter(const Iter& it, Body&& body) {
  size_t inner = it.inner(), rows = it.rows();
  if (rows == 1) {
    parallelFor(inner, kGrain, [&](size_t b, size_t e, int) {
      int64_t off[3] = {0, 0, 0};
      body(off, b, e, b);
    });
    return;
  }
  size_t grain = std::max<size_t>(1, kGrain / std::max<size_t>(inner, 1));
  parallelFor(rows, grain, [&](size_t rb, size_t re, int) {
    int64_t off[3];
    for (size_t r = rb; r < re; ++r) {
      it.rowOffsets(r, off);
      body(off, size_t(0), inner, r * inner);
    }
  });
}

template <BinaryOp op>
inline float apply(float a, float b) {
  if (op == BinaryOp::Add) return a + b;
  if (op == BinaryOp::Sub) return a - b;
  if (op == BinaryOp::Mul) return a * b;
  return a / b;
}

template <BinaryOp op>
WK_CLONES void runVV(const float* __restrict a, const float* __restrict b, float* __restrict o, size_t n) {
  for (size_t i = 0; i < n; ++i) o[i] = apply<op>(a[i], b[i]);
}
template <BinaryOp op>
WK_CLONES void runVS(const float* __restrict a, float b, float* __restrict o, size_t n) {
  for (size_t i = 0; i < n; ++i) o[i] = apply<op>(a[i], b);
}
template <BinaryOp op>
WK_CLONES void runSV(float a, const float* __restrict b, float* __restrict o, size_t n) {
  for (size_t i = 0; i < n; ++i) o[i] = apply<op>(a, b[i]);
}

template <BinaryOp op>
void binaryImpl(const Iter& it, const float* a, const float* b, float* out) {
  int64_t sa = it.innerStride(0), sb = it.innerStride(1);
  runIter(it, [&](const int64_t* off, size_t ib, size_t ie, size_t o) {
    const float* pa = a + off[0];
    const float* pb = b + off[1];
    size_t n = ie - ib;
    if (sa && sb) runVV<op>(pa + ib, pb + ib, out + o, n);
    else if (sa) runVS<op>(pa + ib, *pb, out + o, n);
    else if (sb) runSV<op>(*pa, pb + ib, out + o, n);
    else out[o] = apply<op>(*pa, *pb);  // a single element
  });
}

bool sameShape(const int64_t* x, const int64_t* y, int nd) {
  for (int d = 0; d < nd; ++d)
    if (x[d] != y[d]) return false;
  return true;
}

size_t shapeSize(const int64_t* s, int nd) {
  size_t n = 1;
  for (int d = 0; d < nd; ++d) n *= static_cast<size_t>(s[d]);
  return n;
}

// Sums full (outShape) down to target's shape (dims 1 or equal), times scale.
void sumTo(const float* full, const int64_t* outShape, const int64_t* target, int nd, float* dst, double scale) {
  unsigned mask = 0;
  for (int d = 0; d < nd; ++d)
    if (target[d] == 1 && outShape[d] != 1) mask |= 1u << d;
  reduceSum(full, outShape, nd, mask, dst, scale);
}

// Writes f(gi, ai, bi) over the broadcast space into out (outShape, contiguous).
template <class F>
void ternary(const float* g, const float* a, const int64_t* aShape, const float* b, const int64_t* bShape,
             const int64_t* outShape, int nd, float* out, F f) {
  const int64_t* shapes[3] = {outShape, aShape, bShape};
  Iter it = makeIter(outShape, nd, shapes, 3);
  int64_t sa = it.innerStride(1), sb = it.innerStride(2);
  runIter(it, [&](const int64_t* off, size_t ib, size_t ie, size_t o) {
    const float* pa = a + off[1];
    const float* pb = b + off[2];
    for (size_t i = ib; i < ie; ++i) out[o + i - ib] = f(g[o + i - ib], pa[i * sa], pb[i * sb]);
  });
}

}  // namespace

void binaryForward(BinaryOp op, const float* a, const int64_t* aShape, const float* b, const int64_t* bShape,
                   float* out, const int64_t* outShape, int nd) {
  const int64_t* shapes[2] = {aShape, bShape};
  Iter it = makeIter(outShape, nd, shapes, 2);
  switch (op) {
    case BinaryOp::Add: binaryImpl<BinaryOp::Add>(it, a, b, out); break;
    case BinaryOp::Sub: binaryImpl<BinaryOp::Sub>(it, a, b, out); break;
    case BinaryOp::Mul: binaryImpl<BinaryOp::Mul>(it, a, b, out); break;
    case BinaryOp::Div: binaryImpl<BinaryOp::Div>(it, a, b, out); break;
  }
}

void broadcastTo(const float* x, const int64_t* xShape, float* out, const int64_t* outShape, int nd, float scale) {
  const int64_t* shapes[1] = {xShape};
  Iter it = makeIter(outShape, nd, shapes, 1);
  int64_t sx = it.innerStride(0);
  runIter(it, [&](const int64_t* off, size_t ib, size_t ie, size_t o) {
    const float* px = x + off[0];
    float* po = out + o;
    size_t n = ie - ib;
    if (sx) {
      if (scale == 1.0f) std::copy(px + ib, px + ie, po);
      else
        for (size_t i = 0; i < n; ++i) po[i] = scale * px[ib + i];
    } else {
      std::fill(po, po + n, scale * px[0]);
    }
  });
}

void binaryBackward(BinaryOp op, const float* a, const int64_t* aShape, const float* b, const int64_t* bShape,
                    const float* g, const int64_t* outShape, int nd, float* ga, float* gb) {
  size_t n = shapeSize(outShape, nd);
  std::vector<float> tmp;
  auto target = [&](float* dst, const int64_t* shape) -> float* {
    if (sameShape(shape, outShape, nd)) return dst;
    tmp.resize(n);
    return tmp.data();
  };
  auto finish = [&](float* dst, float* full, const int64_t* shape) {
    if (full != dst) sumTo(full, outShape, shape, nd, dst, 1.0);
  };
  const int64_t* gShapes[2] = {outShape, bShape};
  if (ga) {
    if (op == BinaryOp::Add || op == BinaryOp::Sub) {
      sumTo(g, outShape, aShape, nd, ga, 1.0);
    } else {
      float* full = target(ga, aShape);
      // ga = g * b  or  g / b  over the output space.
      Iter it = makeIter(outShape, nd, gShapes, 2);
      if (op == BinaryOp::Mul) binaryImpl<BinaryOp::Mul>(it, g, b, full);
      else binaryImpl<BinaryOp::Div>(it, g, b, full);
      finish(ga, full, aShape);
    }
  }
  if (gb) {
    if (op == BinaryOp::Add || op == BinaryOp::Sub) {
      sumTo(g, outShape, bShape, nd, gb, op == BinaryOp::Add ? 1.0 : -1.0);
    } else {
      float* full = target(gb, bShape);
      if (op == BinaryOp::Mul) {
        const int64_t* s2[2] = {outShape, aShape};
        Iter it = makeIter(outShape, nd, s2, 2);
        binaryImpl<BinaryOp::Mul>(it, g, a, full);
      } else {
        ternary(g, a, aShape, b, bShape, outShape, nd, full, [](float gi, float ai, float bi) { return -gi * ai / (bi * bi); });
      }
      finish(gb, full, bShape);
    }
  }
}

// ---- unary --------------------------------------------------------------------------------
namespace {

// exp without a library call, so loops over it vectorize: Cody-Waite range reduction
// x = n ln2 + r, a degree-6 polynomial for e^r on |r| <= ln2/2 (Cephes' expf coefficients,
// about 1 ulp), and 2^n applied in two halves so results underflow to denormals/0 and overflow to
// inf like std::exp. Branch-free; NaN propagates.
inline float expVec(float x) {
  x = x < -104.0f ? -104.0f : x;
  x = x > 89.0f ? 89.0f : x;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float n = (x * 1.44269504088896341f + magic) - magic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  int32_t ni = static_cast<int32_t>(n);
  int32_t n1 = ni / 2, n2 = ni - n1;
  int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  return y * s1 * s2;
}

// 1 / (1 + e^-x): no cancellation anywhere (e^-x > 0); e^-x = inf gives 0.
inline float sigmoidf(float x) { return 1.0f / (1.0f + expVec(-x)); }
inline float softplusf(float x) { return std::max(x, 0.0f) + std::log1p(expVec(-std::fabs(x))); }

// The lower tail of the standard normal, Phi(-|x|) = erfc(|x|/sqrt(2))/2, given e = exp(-x^2/2):
// erfc(z) = exp(-z^2) * g(z) with g(z) = erfc(z) e^(z^2) smooth and positive, fitted as a degree-9
// polynomial in t = 1/(1 + 0.47047 z) (least squares in relative error on [0, 10], against
// scipy's erfcx). Relative error of the tail about 4e-7 in float, so gelu keeps ~1e-6 relative
// accuracy for large negative x too, where 1 + erf(x/sqrt(2)) would cancel. No libm call: the
// loops over it vectorize.
inline float normalTail(float ax, float e) {
  const float t = 1.0f / (1.0f + (0.47047f * 0.70710678118654752f) * ax);
  float g = -5.443599385e-02f;
  g = g * t + 3.052563161e-01f;
  g = g * t + -6.458457549e-01f;
  g = g * t + 5.672298930e-01f;
  g = g * t + -2.030530153e-01f;
  g = g * t + 2.860356795e-01f;
  g = g * t + 2.104546753e-01f;
  g = g * t + 2.692340528e-01f;
  g = g * t + 2.651122974e-01f;
  g = g * t + 1.185156310e-05f;
  return 0.5f * e * g;
}
// gelu(x) = x Phi(x) (exact form, PyTorch's default), and its derivative Phi(x) + x phi(x).
// (|x| spelled out: std::fabs is not inlined under this file's `#pragma GCC optimize`, and a
// call in the loop would keep it scalar.)
inline float normalCdf(float x, float e) {
  const float q = normalTail(x < 0.0f ? -x : x, e);
  return x < 0 ? q : 1.0f - q;
}
inline float geluf(float x) { return x * normalCdf(x, expVec(-0.5f * x * x)); }
inline float geluGrad(float x) {
  const float e = expVec(-0.5f * x * x);
  return normalCdf(x, e) + x * (e * 0.398942280401432678f);
}

template <UnaryOp op>
inline float fwd(float x, float p0, float p1) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Square: return x * x;
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Relu: return x > 0 ? x : 0.0f;
    case UnaryOp::LeakyRelu: return x > 0 ? x : p0 * x;
    case UnaryOp::Sigmoid: return sigmoidf(x);
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Exp: return expVec(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Softplus: return softplusf(x);
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Affine: return p0 * x + p1;
    case UnaryOp::RDiv: return p0 / x;
    case UnaryOp::Pow: return std::pow(x, p0);
    case UnaryOp::Clamp: return std::min(std::max(x, p0), p1);
    case UnaryOp::Gelu: return geluf(x);
    default: return x;
  }
}

template <UnaryOp op>
inline float bwd(float x, float y, float g, float p0, float p1) {
  switch (op) {
    case UnaryOp::Neg: return -g;
    case UnaryOp::Square: return 2.0f * x * g;
    case UnaryOp::Sqrt: return g * 0.5f / y;
    case UnaryOp::Relu: return x > 0 ? g : 0.0f;
    case UnaryOp::LeakyRelu: return x > 0 ? g : p0 * g;
    case UnaryOp::Sigmoid: return g * y * (1.0f - y);
    case UnaryOp::Tanh: return g * (1.0f - y * y);
    case UnaryOp::Exp: return g * y;
    case UnaryOp::Log: return g / x;
    case UnaryOp::Softplus: return g * sigmoidf(x);
    case UnaryOp::Abs: return x > 0 ? g : (x < 0 ? -g : 0.0f);
    case UnaryOp::Affine: return p0 * g;
    case UnaryOp::RDiv: return -p0 * g / (x * x);
    case UnaryOp::Pow: return p0 == 0.0f ? 0.0f : g * p0 * std::pow(x, p0 - 1.0f);
    case UnaryOp::Clamp: return (x >= p0 && x <= p1) ? g : 0.0f;
    case UnaryOp::Gelu: return g * geluGrad(x);
    default: return g;
  }
}

template <UnaryOp op>
WK_CLONES void fwdLoop(const float* __restrict x, float* __restrict y, size_t n, float p0, float p1) {
  for (size_t i = 0; i < n; ++i) y[i] = fwd<op>(x[i], p0, p1);
}
// The null tests are hoisted out of the loops (a test per element keeps a loop scalar); each
// element gets the same formula either way.
template <UnaryOp op>
WK_CLONES void bwdLoop(const float* __restrict x, const float* __restrict y, const float* __restrict g,
                       float* __restrict gx, size_t n, float p0, float p1) {
  if (x && y)
    for (size_t i = 0; i < n; ++i) gx[i] = bwd<op>(x[i], y[i], g[i], p0, p1);
  else if (x)
    for (size_t i = 0; i < n; ++i) gx[i] = bwd<op>(x[i], 0.0f, g[i], p0, p1);
  else if (y)
    for (size_t i = 0; i < n; ++i) gx[i] = bwd<op>(0.0f, y[i], g[i], p0, p1);
  else
    for (size_t i = 0; i < n; ++i) gx[i] = bwd<op>(0.0f, 0.0f, g[i], p0, p1);
}

template <UnaryOp op>
void unaryF(const float* x, float* y, size_t n, float p0, float p1) {
  parallelFor(n, kGrain, [&](size_t b, size_t e, int) { fwdLoop<op>(x + b, y + b, e - b, p0, p1); });
}
template <UnaryOp op>
void unaryB(const float* x, const float* y, const float* g, float* gx, size_t n, float p0, float p1) {
  parallelFor(n, kGrain, [&](size_t b, size_t e, int) {
    bwdLoop<op>(x ? x + b : nullptr, y ? y + b : nullptr, g + b, gx + b, e - b, p0, p1);
  });
}

#define WK_UNARY_CASES(M)   \
  M(Neg) M(Square) M(Sqrt) M(Relu) M(LeakyRelu) M(Sigmoid) M(Tanh) M(Exp) M(Log) M(Softplus) M(Abs) M(Affine) \
  M(RDiv) M(Pow) M(Clamp) M(Gelu)

}  // namespace

void unaryForward(UnaryOp op, const float* x, float* y, size_t n, float p0, float p1) {
  switch (op) {
#define M(name) \
  case UnaryOp::name: unaryF<UnaryOp::name>(x, y, n, p0, p1); break;
    WK_UNARY_CASES(M)
#undef M
    default: break;
  }
}

void unaryBackward(UnaryOp op, const float* x, const float* y, const float* g, float* gx, size_t n, float p0,
                   float p1) {
  switch (op) {
#define M(name) \
  case UnaryOp::name: unaryB<UnaryOp::name>(x, y, g, gx, n, p0, p1); break;
    WK_UNARY_CASES(M)
#undef M
    default: break;
  }
}

bool unaryBackwardNeedsY(UnaryOp op) {
  return op == UnaryOp::Sqrt || op == UnaryOp::Sigmoid || op == UnaryOp::Tanh || op == UnaryOp::Exp;
}
bool unaryBackwardNeedsX(UnaryOp op) {
  return !(unaryBackwardNeedsY(op) || op == UnaryOp::Neg || op == UnaryOp::Affine);
}

}  // namespace wk
