// Test-only addon `worldkit_emu`: the CUDA kernels of cuda/*.cu compiled as C++ against the SIMT
// emulation (simt.h), run on host arrays (under the emulation device memory is host memory),
// next to the CPU kernels of cpp/ they must match. Exports:
//   setSchedule('forward'|'reverse'|'random', seed), setWorkers(n), lastFailure()
//   cuda.<op>(...)  the emulated CUDA launchers      cpu.<op>(...)  the cpp/ kernels
// Every op throws when the launcher reports a CUDA error (message: name + lastFailure()).
#include <napi.h>

#include <string>

#include "args.h"
#include "emulation/simt.h"
#include "kernels.h"
#include "rng.h"

namespace wk {
namespace cuda {
// test/cuda/broken_barrier.cu
int testShiftBroken(const float* in, float* out, size_t n, Stream stream);
int testShiftFixed(const float* in, float* out, size_t n, Stream stream);
}  // namespace cuda
}  // namespace wk

namespace {

using Fn = Napi::Value (*)(const Napi::CallbackInfo&);

void check(const wk::Args& a, int code) {
  if (code != 0)
    throw Napi::Error::New(a.env(), std::string(a.fn()) + ": CUDA error " +
                                        cudaGetErrorName(static_cast<cudaError_t>(code)) + ": " +
                                        wk_emu::lastFailure());
}

uint64_t u64(const wk::Args& a, size_t i, const char* name) {
  return static_cast<uint64_t>(a.integer(i, name, 0, (1LL << 53)));
}
float f(const wk::Args& a, size_t i, const char* name) { return static_cast<float>(a.number(i, name)); }

// ---- schedule -------------------------------------------------------------------------------
Napi::Value SetSchedule(const Napi::CallbackInfo& info) {
  wk::Args a(info, "setSchedule", 1);
  std::string s = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  uint64_t seed = a.isUndefined(1) ? 1 : u64(a, 1, "seed");
  if (s == "forward") wk_emu::setSchedule(wk_emu::Schedule::Forward, seed);
  else if (s == "reverse") wk_emu::setSchedule(wk_emu::Schedule::Reverse, seed);
  else if (s == "random") wk_emu::setSchedule(wk_emu::Schedule::Random, seed);
  else throw a.type("mode", "'forward', 'reverse' or 'random'", wk::Args::describe(info[0]));
  return info.Env().Undefined();
}
Napi::Value SetWorkers(const Napi::CallbackInfo& info) {
  wk::Args a(info, "setWorkers", 1);
  wk_emu::setWorkers(static_cast<int>(a.integer(0, "n", 1, 64)));
  return info.Env().Undefined();
}
Napi::Value LastFailure(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), wk_emu::lastFailure());
}

// ---- rng.cu ----------------------------------------------------------------------------------
// (out, seed, offset, p0, p1)
template <int Mode, bool Cuda>
Napi::Value Rng(const Napi::CallbackInfo& info) {
  wk::Args a(info, "rng", Mode == 1 ? 4 : 5);
  auto out = a.f32(0, "out");
  uint64_t seed = u64(a, 1, "seed"), offset = u64(a, 2, "offset");
  float p0 = f(a, 3, "p0"), p1 = Mode == 1 ? 0.0f : f(a, 4, "p1");
  if (Cuda) {
    int rc = Mode == 0   ? wk::cuda::rngUniform(out.data, out.size, seed, offset, p0, p1)
             : Mode == 1 ? wk::cuda::rngBernoulli(out.data, out.size, seed, offset, p0)
                         : wk::cuda::rngNormal(out.data, out.size, seed, offset, p0, p1);
    check(a, rc);
  } else {
    if (Mode == 0) wk::rngUniformFill(out.data, out.size, seed, offset, p0, p1);
    if (Mode == 1) wk::rngBernoulliFill(out.data, out.size, seed, offset, p0);
    if (Mode == 2) wk::rngNormalFill(out.data, out.size, seed, offset, p0, p1);
  }
  return info.Env().Undefined();
}

// ---- test/cuda/broken_barrier.cu ---------------------------------------------------------------
template <bool Broken>
Napi::Value Shift(const Napi::CallbackInfo& info) {
  wk::Args a(info, "shift", 2);
  auto in = a.f32(0, "in");
  auto out = a.f32(1, "out", in.size);
  check(a, Broken ? wk::cuda::testShiftBroken(in.data, out.data, in.size, nullptr)
                  : wk::cuda::testShiftFixed(in.data, out.data, in.size, nullptr));
  return info.Env().Undefined();
}

// ---- device.cu -----------------------------------------------------------------------------
Napi::Value Probe(const Napi::CallbackInfo& info) {
  wk::cuda::DeviceInfo d = wk::cuda::probeDevice();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("available", d.available);
  o.Set("reason", std::string(d.reason));
  return o;
}

void set(Napi::Env env, Napi::Object o, const char* name, Fn fn) { o.Set(name, Napi::Function::New(env, fn, name)); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = Napi::Object::New(env), cpu = Napi::Object::New(env);
  set(env, exports, "setSchedule", SetSchedule);
  set(env, exports, "setWorkers", SetWorkers);
  set(env, exports, "lastFailure", LastFailure);
  set(env, cuda, "rngUniform", Rng<0, true>);
  set(env, cuda, "rngBernoulli", Rng<1, true>);
  set(env, cuda, "rngNormal", Rng<2, true>);
  set(env, cpu, "rngUniform", Rng<0, false>);
  set(env, cpu, "rngBernoulli", Rng<1, false>);
  set(env, cpu, "rngNormal", Rng<2, false>);
  set(env, cuda, "testShiftBroken", Shift<true>);
  set(env, cuda, "testShiftFixed", Shift<false>);
  set(env, cuda, "probeDevice", Probe);
  exports.Set("cuda", cuda);
  exports.Set("cpu", cpu);
  return exports;
}

}  // namespace

NODE_API_MODULE(worldkit_emu, Init)
