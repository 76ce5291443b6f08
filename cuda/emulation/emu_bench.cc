// Emulation-addon op for cuda/bench.cu (test only): cuda.benchKernel(kernel, size, iters) ->
// {ms, bytes, flops}, and cuda.devicePeak() (reports no device under the emulation).
#include "emulation/emu_registry.h"
#include "kernels.h"

namespace {
using namespace wk_emu_reg;

Napi::Value Bench(const Napi::CallbackInfo& info) {
  wk::Args a(info, "benchKernel", 3);
  wk::cuda::BenchResult r;
  check(a, wk::cuda::benchKernel((int)Z(a, 0), Z(a, 1), (int)Z(a, 2), &r));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("ms", r.ms);
  o.Set("bytes", r.bytes);
  o.Set("flops", r.flops);
  return o;
}
Napi::Value Peak(const Napi::CallbackInfo& info) {
  wk::cuda::DevicePeak p;
  return Napi::Number::New(info.Env(), wk::cuda::devicePeak(&p));
}

void registerBench(Napi::Env env, Napi::Object cuda, Napi::Object) {
  set(env, cuda, "benchKernel", Bench);
  set(env, cuda, "devicePeak", Peak);
}

}  // namespace

WK_EMU_REGISTER(bench, registerBench);
