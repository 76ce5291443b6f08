// Convolution family: conv2d / convTranspose2d forward and backward, frame conversions.
// Every buffer is checked against the sizes before a kernel runs.
#include <string>

#include "args.h"
#include "conv.h"
#include "registry.h"

namespace {

using wk::Args;
using wk::ConvGeom;

constexpr int64_t kMaxDim = int64_t(1) << 31;

std::string dims(std::initializer_list<size_t> d) {
  std::string s = "[";
  bool first = true;
  for (size_t v : d) {
    if (!first) s += ",";
    s += std::to_string(v);
    first = false;
  }
  return s + "]";
}

// Reads N, C, H, W, K, kh, kw, sh, sw, ph, pw starting at argument i.
struct RawGeom {
  size_t N, C, H, W, K, kh, kw, sh, sw, ph, pw;
};
RawGeom readGeom(const Args& a, size_t i) {
  RawGeom r;
  r.N = a.integer(i, "N", 0, kMaxDim);
  r.C = a.integer(i + 1, "C", 0, kMaxDim);
  r.H = a.integer(i + 2, "H", 0, kMaxDim);
  r.W = a.integer(i + 3, "W", 0, kMaxDim);
  r.K = a.integer(i + 4, "K", 0, kMaxDim);
  r.kh = a.integer(i + 5, "kh", 1, 4096);
  r.kw = a.integer(i + 6, "kw", 1, 4096);
  r.sh = a.integer(i + 7, "strideH", 1, 4096);
  r.sw = a.integer(i + 8, "strideW", 1, 4096);
  r.ph = a.integer(i + 9, "padH", 0, 4096);
  r.pw = a.integer(i + 10, "padW", 0, 4096);
  // Sizes are multiplied below; keep every product far from overflow.
  const double lim = 1e15;
  a.require(double(r.N) * r.C * r.H * r.W < lim && double(r.N) * r.K * r.H * r.W * r.sh * r.sw < lim &&
                double(r.K) * r.C * r.kh * r.kw < lim,
            "sizes are too large");
  return r;
}

// conv2d: x [N,C,H,W], w [K,C,kh,kw] -> y [N,K,Ho,Wo].
ConvGeom convGeom(const Args& a, const RawGeom& r) {
  ConvGeom g;
  g.N = r.N, g.C = r.C, g.H = r.H, g.W = r.W, g.K = r.K, g.kh = r.kh, g.kw = r.kw, g.sh = r.sh, g.sw = r.sw,
  g.ph = r.ph, g.pw = r.pw;
  a.require(r.H + 2 * r.ph >= r.kh && r.W + 2 * r.pw >= r.kw,
            "kernel " + dims({r.kh, r.kw}) + " is larger than the padded input " +
                dims({r.H + 2 * r.ph, r.W + 2 * r.pw}));
  g.Ho = wk::convOutSize(r.H, r.kh, r.sh, r.ph);
  g.Wo = wk::convOutSize(r.W, r.kw, r.sw, r.pw);
  return g;
}

// convTranspose2d: x [N,Cin,Hi,Wi], w [Cin,Cout,kh,kw] -> y [N,Cout,Ho,Wo] with
// Ho = (Hi-1)*s - 2p + kh + outputPadding. The conv view has input y and output x.
ConvGeom convTGeom(const Args& a, const RawGeom& r, size_t oph, size_t opw) {
  a.require(oph < r.sh && opw < r.sw, "outputPadding " + dims({oph, opw}) + " must be smaller than the stride " +
                                          dims({r.sh, r.sw}));
  a.require(r.H >= 1 && r.W >= 1, "input spatial size must be at least 1, got " + dims({r.H, r.W}));
  long long hoL = (static_cast<long long>(r.H) - 1) * r.sh - 2 * static_cast<long long>(r.ph) + r.kh + oph;
  long long woL = (static_cast<long long>(r.W) - 1) * r.sw - 2 * static_cast<long long>(r.pw) + r.kw + opw;
  a.require(hoL >= 1 && woL >= 1, "output size " + std::to_string(hoL) + "x" + std::to_string(woL) +
                                      " is not positive (padding too large for the input)");
  ConvGeom g;
  g.N = r.N, g.C = r.K, g.K = r.C, g.kh = r.kh, g.kw = r.kw, g.sh = r.sh, g.sw = r.sw, g.ph = r.ph, g.pw = r.pw;
  g.H = static_cast<size_t>(hoL), g.W = static_cast<size_t>(woL);
  g.Ho = r.H, g.Wo = r.W;
  return g;
}

// An optional buffer (undefined/null: not wanted) of exactly `size` elements.
float* optF32(const Args& a, size_t i, const char* name, size_t size) {
  if (a.isUndefined(i)) return nullptr;
  auto v = a.f32(i, name);
  a.require(v.size == size, std::string(name) + " must have " + std::to_string(size) + " elements, got " +
                                std::to_string(v.size));
  static float dummy = 0;
  return v.data ? v.data : &dummy;
}

float* exact(const Args& a, wk::View<float> v, const char* name, size_t size) {
  a.require(v.size == size, std::string(name) + " must have " + std::to_string(size) + " elements, got " +
                                std::to_string(v.size));
  return v.data;
}

// conv2dForward(x, w, b|null, y, N, C, H, W, K, kh, kw, sh, sw, ph, pw, relu?) -> [Ho, Wo]
// (relu: y = max(conv + b, 0), fused into the kernel's output pass).
Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dForward", 15);
  RawGeom r = readGeom(a, 4);
  ConvGeom g = convGeom(a, r);
  float* x = exact(a, a.f32(0, "x"), "x", g.N * g.C * g.H * g.W);
  float* w = exact(a, a.f32(1, "weight"), "weight", g.K * g.C * g.kh * g.kw);
  float* b = optF32(a, 2, "bias", g.K);
  float* y = exact(a, a.f32(3, "y"), "y", g.N * g.K * g.Ho * g.Wo);
  const bool relu = info.Length() > 15 && !info[15].IsUndefined() && a.boolean(15, "relu");
  wk::conv2dForward(g, x, w, b, y, relu);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), double(g.Ho)));
  out.Set(1u, Napi::Number::New(info.Env(), double(g.Wo)));
  return out;
}

// conv2dForwardDirect(x, w, b|null, y, dims..., relu) (the direct kernel on any sizes, for tests)
Napi::Value Conv2dForwardDirect(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dForwardDirect", 16);
  RawGeom r = readGeom(a, 4);
  ConvGeom g = convGeom(a, r);
  float* x = exact(a, a.f32(0, "x"), "x", g.N * g.C * g.H * g.W);
  float* w = exact(a, a.f32(1, "weight"), "weight", g.K * g.C * g.kh * g.kw);
  float* b = optF32(a, 2, "bias", g.K);
  float* y = exact(a, a.f32(3, "y"), "y", g.N * g.K * g.Ho * g.Wo);
  wk::conv2dForwardDirect(g, x, w, b, y, a.boolean(15, "relu"));
  return info.Env().Undefined();
}

// conv2dForwardRows(x, w, b|null, y, dims..., relu) (the row variant on any sizes, for tests)
Napi::Value Conv2dForwardRows(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dForwardRows", 16);
  RawGeom r = readGeom(a, 4);
  ConvGeom g = convGeom(a, r);
  float* x = exact(a, a.f32(0, "x"), "x", g.N * g.C * g.H * g.W);
  float* w = exact(a, a.f32(1, "weight"), "weight", g.K * g.C * g.kh * g.kw);
  float* b = optF32(a, 2, "bias", g.K);
  float* y = exact(a, a.f32(3, "y"), "y", g.N * g.K * g.Ho * g.Wo);
  wk::conv2dForwardRows(g, x, w, b, y, a.boolean(15, "relu"));
  return info.Env().Undefined();
}

// conv2dForwardMethod(dims...) -> 'rows' | 'direct' | 'im2col': the forward's choice for these sizes
Napi::Value Conv2dForwardMethod(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dForwardMethod", 11);
  RawGeom r = readGeom(a, 0);
  ConvGeom g = convGeom(a, r);
  const char* m = wk::conv2dUsesRows(g) ? "rows" : wk::conv2dUsesDirect(g) ? "direct" : "im2col";
  return Napi::String::New(info.Env(), m);
}

// conv2dForwardReference(x, w, b|null, y, dims...) (double-accumulating direct loops, for tests)
Napi::Value Conv2dForwardReference(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dForwardReference", 15);
  RawGeom r = readGeom(a, 4);
  ConvGeom g = convGeom(a, r);
  float* x = exact(a, a.f32(0, "x"), "x", g.N * g.C * g.H * g.W);
  float* w = exact(a, a.f32(1, "weight"), "weight", g.K * g.C * g.kh * g.kw);
  float* b = optF32(a, 2, "bias", g.K);
  float* y = exact(a, a.f32(3, "y"), "y", g.N * g.K * g.Ho * g.Wo);
  wk::conv2dForwardReference(g, x, w, b, y);
  return info.Env().Undefined();
}

// conv2dBackward(x, w, gy, gx|null, gw|null, gb|null, N, C, H, W, K, kh, kw, sh, sw, ph, pw)
Napi::Value Conv2dBackward(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dBackward", 17);
  RawGeom r = readGeom(a, 6);
  ConvGeom g = convGeom(a, r);
  float* x = exact(a, a.f32(0, "x"), "x", g.N * g.C * g.H * g.W);
  float* w = exact(a, a.f32(1, "weight"), "weight", g.K * g.C * g.kh * g.kw);
  float* gy = exact(a, a.f32(2, "gradOutput"), "gradOutput", g.N * g.K * g.Ho * g.Wo);
  float* gx = optF32(a, 3, "gradInput", g.N * g.C * g.H * g.W);
  float* gw = optF32(a, 4, "gradWeight", g.K * g.C * g.kh * g.kw);
  float* gb = optF32(a, 5, "gradBias", g.K);
  wk::conv2dBackward(g, x, w, gy, gx, gw, gb);
  return info.Env().Undefined();
}

// convTranspose2dForward(x, w, b|null, y, N, Cin, Hi, Wi, Cout, kh, kw, sh, sw, ph, pw, oph, opw) -> [Ho, Wo]
Napi::Value ConvTranspose2dForward(const Napi::CallbackInfo& info) {
  Args a(info, "convTranspose2dForward", 17);
  RawGeom r = readGeom(a, 4);
  size_t oph = a.integer(15, "outputPaddingH", 0, 4096), opw = a.integer(16, "outputPaddingW", 0, 4096);
  ConvGeom g = convTGeom(a, r, oph, opw);
  float* x = exact(a, a.f32(0, "x"), "x", g.N * g.K * g.Ho * g.Wo);
  float* w = exact(a, a.f32(1, "weight"), "weight", g.K * g.C * g.kh * g.kw);
  float* b = optF32(a, 2, "bias", g.C);
  float* y = exact(a, a.f32(3, "y"), "y", g.N * g.C * g.H * g.W);
  wk::convTranspose2dForward(g, x, w, b, y);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), double(g.H)));
  out.Set(1u, Napi::Number::New(info.Env(), double(g.W)));
  return out;
}

// convTranspose2dBackward(x, w, gy, gx|null, gw|null, gb|null, N, Cin, Hi, Wi, Cout, kh, kw, sh, sw, ph, pw, oph, opw)
Napi::Value ConvTranspose2dBackward(const Napi::CallbackInfo& info) {
  Args a(info, "convTranspose2dBackward", 19);
  RawGeom r = readGeom(a, 6);
  size_t oph = a.integer(17, "outputPaddingH", 0, 4096), opw = a.integer(18, "outputPaddingW", 0, 4096);
  ConvGeom g = convTGeom(a, r, oph, opw);
  float* x = exact(a, a.f32(0, "x"), "x", g.N * g.K * g.Ho * g.Wo);
  float* w = exact(a, a.f32(1, "weight"), "weight", g.K * g.C * g.kh * g.kw);
  float* gy = exact(a, a.f32(2, "gradOutput"), "gradOutput", g.N * g.C * g.H * g.W);
  float* gx = optF32(a, 3, "gradInput", g.N * g.K * g.Ho * g.Wo);
  float* gw = optF32(a, 4, "gradWeight", g.K * g.C * g.kh * g.kw);
  float* gb = optF32(a, 5, "gradBias", g.C);
  wk::convTranspose2dBackward(g, x, w, gy, gx, gw, gb);
  return info.Env().Undefined();
}

// framesToFloat(src u8, dst f32, N, C, H, W, channelsLast)
Napi::Value FramesToFloat(const Napi::CallbackInfo& info) {
  Args a(info, "framesToFloat", 7);
  size_t N = a.integer(2, "N", 0, kMaxDim), C = a.integer(3, "C", 0, kMaxDim), H = a.integer(4, "H", 0, kMaxDim),
         W = a.integer(5, "W", 0, kMaxDim);
  bool last = a.boolean(6, "channelsLast");
  auto src = a.u8(0, "frames");
  auto dst = a.f32(1, "out");
  size_t n = N * C * H * W;
  a.require(src.size == n, "frames must have " + std::to_string(n) + " elements, got " + std::to_string(src.size));
  a.require(dst.size == n, "out must have " + std::to_string(n) + " elements, got " + std::to_string(dst.size));
  wk::framesToFloat(src.data, dst.data, N, C, H, W, last);
  return info.Env().Undefined();
}

// floatToFrames(src f32 NCHW, dst u8, N, C, H, W, channelsLast)
Napi::Value FloatToFrames(const Napi::CallbackInfo& info) {
  Args a(info, "floatToFrames", 7);
  size_t N = a.integer(2, "N", 0, kMaxDim), C = a.integer(3, "C", 0, kMaxDim), H = a.integer(4, "H", 0, kMaxDim),
         W = a.integer(5, "W", 0, kMaxDim);
  bool last = a.boolean(6, "channelsLast");
  auto src = a.f32(0, "images");
  auto dst = a.u8(1, "out");
  size_t n = N * C * H * W;
  a.require(src.size == n, "images must have " + std::to_string(n) + " elements, got " + std::to_string(src.size));
  a.require(dst.size == n, "out must have " + std::to_string(n) + " elements, got " + std::to_string(dst.size));
  wk::floatToFrames(src.data, dst.data, N, C, H, W, last);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForward", Napi::Function::New(env, Conv2dForward, "conv2dForward"));
  exports.Set("conv2dForwardDirect", Napi::Function::New(env, Conv2dForwardDirect, "conv2dForwardDirect"));
  exports.Set("conv2dForwardRows", Napi::Function::New(env, Conv2dForwardRows, "conv2dForwardRows"));
  exports.Set("conv2dForwardMethod", Napi::Function::New(env, Conv2dForwardMethod, "conv2dForwardMethod"));
  exports.Set("conv2dForwardReference", Napi::Function::New(env, Conv2dForwardReference, "conv2dForwardReference"));
  exports.Set("conv2dBackward", Napi::Function::New(env, Conv2dBackward, "conv2dBackward"));
  exports.Set("convTranspose2dForward", Napi::Function::New(env, ConvTranspose2dForward, "convTranspose2dForward"));
  exports.Set("convTranspose2dBackward", Napi::Function::New(env, ConvTranspose2dBackward, "convTranspose2dBackward"));
  exports.Set("framesToFloat", Napi::Function::New(env, FramesToFloat, "framesToFloat"));
  exports.Set("floatToFrames", Napi::Function::New(env, FloatToFrames, "floatToFrames"));
}

}  // namespace

WK_REGISTER(conv, Register);
