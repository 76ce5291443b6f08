// Bindings for cpp/layer_norm.h: argument and size checks only, then the kernel.
//   layerNormForward(x, w|null, b|null, R, C, eps, y, mean, rstd)
//   layerNormBackward(x, w|null, mean, rstd, gy, R, C, gx|null, gw|null, gb|null)
// and the same two with the Reference suffix (the plain double versions, for tests).
#include <cmath>

#include "args.h"
#include "layer_norm.h"
#include "registry.h"
#include "shape_args.h"

namespace {
using wk::Args;

size_t dim(const Args& a, size_t i, const char* name, int64_t lo = 0) {
  return static_cast<size_t>(a.integer(i, name, lo, 1LL << 40));
}

template <bool Reference>
Napi::Value Forward(const Napi::CallbackInfo& info) {
  Args a(info, Reference ? "layerNormForwardReference" : "layerNormForward", 9);
  size_t R = dim(a, 3, "R"), C = dim(a, 4, "C", 1);
  double eps = a.number(5, "eps");
  a.require(eps >= 0 && std::isfinite(eps), "eps must be a finite number >= 0");
  auto x = wk::exactF32(a, 0, "x", R * C);
  const float* w = wk::optionalF32(a, 1, "weight", C);
  const float* b = wk::optionalF32(a, 2, "bias", C);
  auto y = wk::exactF32(a, 6, "y", R * C);
  auto mean = wk::exactF32(a, 7, "mean", R);
  auto rstd = wk::exactF32(a, 8, "rstd", R);
  if (Reference)
    wk::layerNormForwardReference(x.data, w, b, R, C, static_cast<float>(eps), y.data, mean.data, rstd.data);
  else
    wk::layerNormForward(x.data, w, b, R, C, static_cast<float>(eps), y.data, mean.data, rstd.data);
  return info.Env().Undefined();
}

template <bool Reference>
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Args a(info, Reference ? "layerNormBackwardReference" : "layerNormBackward", 10);
  size_t R = dim(a, 5, "R"), C = dim(a, 6, "C", 1);
  auto x = wk::exactF32(a, 0, "x", R * C);
  const float* w = wk::optionalF32(a, 1, "weight", C);
  auto mean = wk::exactF32(a, 2, "mean", R);
  auto rstd = wk::exactF32(a, 3, "rstd", R);
  auto gy = wk::exactF32(a, 4, "gy", R * C);
  float* gx = wk::optionalF32(a, 7, "gx", R * C);
  float* gw = wk::optionalF32(a, 8, "gw", C);
  float* gb = wk::optionalF32(a, 9, "gb", C);
  if (Reference)
    wk::layerNormBackwardReference(x.data, w, mean.data, rstd.data, gy.data, R, C, gx, gw, gb);
  else
    wk::layerNormBackward(x.data, w, mean.data, rstd.data, gy.data, R, C, gx, gw, gb);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("layerNormForward", Napi::Function::New(env, Forward<false>, "layerNormForward"));
  exports.Set("layerNormBackward", Napi::Function::New(env, Backward<false>, "layerNormBackward"));
  exports.Set("layerNormForwardReference", Napi::Function::New(env, Forward<true>, "layerNormForwardReference"));
  exports.Set("layerNormBackwardReference", Napi::Function::New(env, Backward<true>, "layerNormBackwardReference"));
}

}  // namespace

WK_REGISTER(layer_norm, Register);
