// Runtime settings and random fills: thread count, instruction set, Philox fills.
#include "args.h"
#include "blas1.h"
#include "cpu_features.h"
#include "registry.h"
#include "rng.h"
#include "thread_pool.h"

namespace {

Napi::Value NumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), wk::numThreads()); }

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  wk::Args a(info, "setNumThreads", 1);
  wk::setNumThreads(static_cast<int>(a.integer(0, "n", 1, 256)));
  return info.Env().Undefined();
}

Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), wk::isaName(wk::bestIsa())); }

Napi::Value SetIsaCap(const Napi::CallbackInfo& info) {
  wk::Args a(info, "setIsaCap", 1);
  std::string s = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (s == "portable") wk::setIsaCap(wk::Isa::Portable);
  else if (s == "avx2") wk::setIsaCap(wk::Isa::Avx2);
  else if (s == "avx512") wk::setIsaCap(wk::Isa::Avx512);
  else throw a.type("isa", "one of 'portable', 'avx2', 'avx512'", wk::Args::describe(info[0]));
  return Napi::String::New(info.Env(), wk::isaName(wk::bestIsa()));
}

// seed and offset arrive as numbers below 2^53 (the JS generator keeps them there).
Napi::Value RngUniform(const Napi::CallbackInfo& info) {
  wk::Args a(info, "rngUniform", 5);
  auto out = a.f32(0, "out");
  uint64_t seed = static_cast<uint64_t>(a.integer(1, "seed", 0, (1LL << 53)));
  uint64_t offset = static_cast<uint64_t>(a.integer(2, "offset", 0, (1LL << 53)));
  wk::rngUniformFill(out.data, out.size, seed, offset, static_cast<float>(a.number(3, "low")),
                     static_cast<float>(a.number(4, "high")));
  return info.Env().Undefined();
}

Napi::Value RngNormal(const Napi::CallbackInfo& info) {
  wk::Args a(info, "rngNormal", 5);
  auto out = a.f32(0, "out");
  uint64_t seed = static_cast<uint64_t>(a.integer(1, "seed", 0, (1LL << 53)));
  uint64_t offset = static_cast<uint64_t>(a.integer(2, "offset", 0, (1LL << 53)));
  wk::rngNormalFill(out.data, out.size, seed, offset, static_cast<float>(a.number(3, "mean")),
                    static_cast<float>(a.number(4, "std")));
  return info.Env().Undefined();
}

Napi::Value RngBernoulli(const Napi::CallbackInfo& info) {
  wk::Args a(info, "rngBernoulli", 4);
  auto out = a.f32(0, "out");
  uint64_t seed = static_cast<uint64_t>(a.integer(1, "seed", 0, (1LL << 53)));
  uint64_t offset = static_cast<uint64_t>(a.integer(2, "offset", 0, (1LL << 53)));
  double p = a.number(3, "p");
  if (p < 0 || p > 1) throw a.range("p", "a probability in [0, 1]", wk::Args::describe(info[3]));
  wk::rngBernoulliFill(out.data, out.size, seed, offset, static_cast<float>(p));
  return info.Env().Undefined();
}

// axpy(y, x, alpha): y += alpha * x, lengths equal.
Napi::Value Axpy(const Napi::CallbackInfo& info) {
  wk::Args a(info, "axpy", 3);
  auto y = a.f32(0, "y");
  auto x = a.f32(1, "x");
  a.require(x.size == y.size, "x has " + std::to_string(x.size) + " elements but y has " + std::to_string(y.size));
  wk::axpy(y.data, x.data, y.size, static_cast<float>(a.number(2, "alpha")));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("axpy", Napi::Function::New(env, Axpy, "axpy"));
  exports.Set("numThreads", Napi::Function::New(env, NumThreads, "numThreads"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("isa", Napi::Function::New(env, Isa, "isa"));
  exports.Set("setIsaCap", Napi::Function::New(env, SetIsaCap, "setIsaCap"));
  exports.Set("rngUniform", Napi::Function::New(env, RngUniform, "rngUniform"));
  exports.Set("rngNormal", Napi::Function::New(env, RngNormal, "rngNormal"));
  exports.Set("rngBernoulli", Napi::Function::New(env, RngBernoulli, "rngBernoulli"));
}

}  // namespace

WK_REGISTER(core, Register);
