// Bindings for cpp/optim.h: argument and size checks only.
#include "args.h"
#include "optim.h"
#include "registry.h"
#include "shape_args.h"

namespace {
using wk::Args;

// sgdStep(p, g, buf|null, lr, momentum, dampening, weightDecay, nesterov, firstStep)
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Args a(info, "sgdStep", 9);
  auto p = a.f32(0, "param");
  auto g = wk::exactF32(a, 1, "grad", p.size);
  float* buf = wk::optionalF32(a, 2, "momentumBuffer", p.size);
  wk::sgdStep(p.data, g.data, buf, p.size, static_cast<float>(a.number(3, "lr")), static_cast<float>(a.number(4, "momentum")),
              static_cast<float>(a.number(5, "dampening")), static_cast<float>(a.number(6, "weightDecay")),
              a.boolean(7, "nesterov"), a.boolean(8, "firstStep"));
  return info.Env().Undefined();
}

// adamStep(p, g, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, bc1, bc2)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Args a(info, "adamStep", 12);
  auto p = a.f32(0, "param");
  auto g = wk::exactF32(a, 1, "grad", p.size);
  auto m = wk::exactF32(a, 2, "expAvg", p.size);
  auto v = wk::exactF32(a, 3, "expAvgSq", p.size);
  double bc1 = a.number(10, "bc1"), bc2 = a.number(11, "bc2");
  a.require(bc1 > 0 && bc2 > 0, "bias corrections must be positive, got " + std::to_string(bc1) + " and " + std::to_string(bc2));
  wk::adamStep(p.data, g.data, m.data, v.data, p.size, static_cast<float>(a.number(4, "lr")),
               static_cast<float>(a.number(5, "beta1")), static_cast<float>(a.number(6, "beta2")),
               static_cast<float>(a.number(7, "eps")), static_cast<float>(a.number(8, "weightDecay")),
               a.boolean(9, "decoupled"), bc1, bc2);
  return info.Env().Undefined();
}

// sumSquares(arrays: Float32Array[]) -> sum over all elements of all arrays of x^2, in double,
// array by array in the given order.
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a(info, "sumSquares", 1);
  if (!info[0].IsArray()) throw a.type("arrays", "an array of Float32Arrays", Args::describe(info[0]));
  Napi::Array arr = info[0].As<Napi::Array>();
  double total = 0;
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw a.type("arrays", "an array of Float32Arrays", "an entry " + Args::describe(v));
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    const float* d = reinterpret_cast<const float*>(static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
    total += wk::sumSquares(d, ta.ElementLength());
  }
  return Napi::Number::New(info.Env(), total);
}

// scaleInPlace(x, s)
Napi::Value ScaleInPlace(const Napi::CallbackInfo& info) {
  Args a(info, "scaleInPlace", 2);
  auto x = a.f32(0, "x");
  wk::scaleInPlace(x.data, x.size, static_cast<float>(a.number(1, "s")));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdStep", Napi::Function::New(env, SgdStep, "sgdStep"));
  exports.Set("adamStep", Napi::Function::New(env, AdamStep, "adamStep"));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares, "sumSquares"));
  exports.Set("scaleInPlace", Napi::Function::New(env, ScaleInPlace, "scaleInPlace"));
}

}  // namespace

WK_REGISTER(optim, Register);
