// The LSTM cell's pointwise passes, included by lstm.cpp (portable), lstm_avx2.cpp and
// lstm_avx512.cpp (built with those flags) under different names (WK_LSTM_SUFFIX). Plain loops
// that the compiler vectorizes: exp is a Cephes-style polynomial (about 1 ulp), tanh uses a short
// odd series near zero and (1-e)/(1+e), e = exp(-2|x|), elsewhere, so both vectorize without libm.
//
// For the loops to vectorize: no __restrict on the row pointers (GCC gives up on data refs of
// restrict pointers derived from one base) but `#pragma GCC ivdep` (rows never overlap, except
// dcIn == dcOut exactly, element by element, which is safe); the optional rows (null c, dh, dc)
// replaced by a row of zeros before the loop instead of a test per element. lstm_avx2.cpp and
// lstm_avx512.cpp are built with -fno-trapping-math (the selects become blends; no result
// changes) and -ffp-contract=off (no fused multiply-adds, so a loop's vector body and its scalar
// remainder give the same bits wherever a row starts: the rollout and the step-by-step path
// must agree bit for bit); see CMakeLists.txt. The portable build stays scalar.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#ifndef WK_LSTM_SUFFIX
#error define WK_LSTM_SUFFIX before including lstm_pointwise.inl
#endif
#define WK_CAT2(a, b) a##b
#define WK_CAT(a, b) WK_CAT2(a, b)
#define WK_FN(name) WK_CAT(name, WK_LSTM_SUFFIX)

namespace wk {
namespace {

inline float WK_FN(fexp)(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // round(x / ln2) by the 1.5*2^23 trick (exact for |v| < 2^22).
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

inline float WK_FN(fsigmoid)(float x) { return 1.0f / (1.0f + WK_FN(fexp)(-x)); }

inline float WK_FN(ftanh)(float x) {
  float ax = x < 0 ? -x : x;
  float e = WK_FN(fexp)(-2.0f * ax);
  float big = (1.0f - e) / (1.0f + e);
  float x2 = ax * ax;
  float small = ax * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
  float t = ax < 0.0625f ? small : big;
  return x < 0 ? -t : t;
}


// A row of H zeros standing in for an absent (null) input row; a scratch row for an absent output.
inline const float* WK_FN(zeroRow)(size_t H) {
  thread_local std::vector<float> z;
  if (z.size() < H) z.assign(H, 0.0f);
  return z.data();
}
inline float* WK_FN(dummyRow)(size_t H) {
  thread_local std::vector<float> d;
  if (d.size() < H) d.resize(H);
  return d.data();
}

}  // namespace

// Forward over `rows` rows and `width` hidden units (all H, or a block of them with every pointer
// offset to its first unit): gates (row stride ldg, [i|f|g|o] blocks H apart) hold
// pre-activations and receive activations; c (ldc) -> cNew (ldcn), hNew (ldh), tanhC (ldt).
void WK_FN(lstmPointwiseForward)(size_t rows, size_t H, size_t width, float* gates, size_t ldg, const float* c,
                                 size_t ldc, float* cNew, size_t ldcn, float* hNew, size_t ldh, float* tanhC,
                                 size_t ldt) {
  for (size_t r = 0; r < rows; ++r) {
    float* gi = gates + r * ldg;
    float* gf = gi + H;
    float* gg = gi + 2 * H;
    float* go = gi + 3 * H;
    const float* cp = c ? c + r * ldc : WK_FN(zeroRow)(width);
    float* cn = cNew + r * ldcn;
    float* hn = hNew + r * ldh;
    float* tc = tanhC + r * ldt;
#pragma GCC ivdep
    for (size_t j = 0; j < width; ++j) {
      float i = WK_FN(fsigmoid)(gi[j]);
      float f = WK_FN(fsigmoid)(gf[j]);
      float g = WK_FN(ftanh)(gg[j]);
      float o = WK_FN(fsigmoid)(go[j]);
      gi[j] = i;
      gf[j] = f;
      gg[j] = g;
      go[j] = o;
      float cv = i * g + f * cp[j];  // f * 0 = +0 for a null c: the same bits as i * g + 0
      float t = WK_FN(ftanh)(cv);
      cn[j] = cv;
      tc[j] = t;
      hn[j] = o * t;
    }
  }
}

// Backward: from activated gates, c (previous cell, nullable = zeros), tanhC, dh (nullable) and
// dcIO (in: gradient of cNew, nullable; out: gradient of c) to pre-activation gradients dG.
// dcIO may be null on input only when dcOut is given separately.
void WK_FN(lstmPointwiseBackward)(size_t rows, size_t H, const float* gates, size_t ldg, const float* c, size_t ldc,
                                  const float* tanhC, size_t ldt, const float* dh, size_t lddh, const float* dcIn,
                                  size_t lddci, float* dcOut, size_t lddco, float* dG, size_t lddg) {
  for (size_t r = 0; r < rows; ++r) {
    const float* gi = gates + r * ldg;
    const float* gf = gi + H;
    const float* gg = gi + 2 * H;
    const float* go = gi + 3 * H;
    const float* cp = c ? c + r * ldc : WK_FN(zeroRow)(H);
    const float* tc = tanhC + r * ldt;
    const float* dhr = dh ? dh + r * lddh : WK_FN(zeroRow)(H);
    // dcIn and dcOut may be the same row (updated in place): not restrict.
    const float* dci = dcIn ? dcIn + r * lddci : WK_FN(zeroRow)(H);
    float* dco = dcOut ? dcOut + r * lddco : WK_FN(dummyRow)(H);
    float* di = dG + r * lddg;
    float* df = di + H;
    float* dg = di + 2 * H;
    float* dov = di + 3 * H;
#pragma GCC ivdep
    for (size_t j = 0; j < H; ++j) {
      float i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tc[j];
      float dhv = dhr[j];
      float dc = dci[j] + dhv * o * (1.0f - t * t);
      float cprev = cp[j];
      di[j] = dc * g * i * (1.0f - i);
      df[j] = dc * cprev * f * (1.0f - f);
      dg[j] = dc * i * (1.0f - g * g);
      dov[j] = dhv * t * o * (1.0f - o);
      dco[j] = dc * f;
    }
  }
}

}  // namespace wk

#undef WK_FN
#undef WK_CAT
#undef WK_CAT2
