// Node-API glue for the CUDA kernel benchmarks (cuda/bench.cu), used by bench/cuda.bench.ts:
//   cudaBenchKernel(kernel: int 0-7, size: int, iters: int) -> {ms, bytes, flops}
//   cudaPeak() -> {gflops, gbps}
// Both throw a clear Error when CUDA is not compiled in or no device is available.
#include <string>

#include "args.h"
#include "registry.h"
#if defined(WK_WITH_CUDA)
#include "kernels.h"
#endif

namespace {

#if defined(WK_WITH_CUDA)
void requireDevice(const wk::Args& a) {
  wk::cuda::DeviceInfo d = wk::cuda::probeDevice();
  if (!d.available)
    throw Napi::Error::New(a.env(), std::string(a.fn()) + ": CUDA is not available: " + d.reason);
}
#endif

Napi::Value BenchKernel(const Napi::CallbackInfo& info) {
  wk::Args a(info, "cudaBenchKernel", 3);
  const int kernel = static_cast<int>(a.integer(0, "kernel", 0, 7));
  const size_t size = static_cast<size_t>(a.integer(1, "size", 1, int64_t(1) << 31));
  const int iters = static_cast<int>(a.integer(2, "iters", 1, 1000000));
#if defined(WK_WITH_CUDA)
  requireDevice(a);
  wk::cuda::BenchResult r;
  const int e = wk::cuda::benchKernel(kernel, size, iters, &r);
  if (e) throw Napi::Error::New(a.env(), "cudaBenchKernel: CUDA error " + std::to_string(e));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("ms", r.ms);
  o.Set("bytes", r.bytes);
  o.Set("flops", r.flops);
  return o;
#else
  (void)kernel, (void)size, (void)iters;
  throw Napi::Error::New(a.env(), "cudaBenchKernel: CUDA is not available: this build has no CUDA backend");
#endif
}

Napi::Value Peak(const Napi::CallbackInfo& info) {
  wk::Args a(info, "cudaPeak", 0);
#if defined(WK_WITH_CUDA)
  requireDevice(a);
  wk::cuda::DevicePeak p;
  const int e = wk::cuda::devicePeak(&p);
  if (e) throw Napi::Error::New(a.env(), "cudaPeak: CUDA error " + std::to_string(e));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("gflops", p.gflops);
  o.Set("gbps", p.gbps);
  return o;
#else
  throw Napi::Error::New(a.env(), "cudaPeak: CUDA is not available: this build has no CUDA backend");
#endif
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaBenchKernel", Napi::Function::New(env, BenchKernel, "cudaBenchKernel"));
  exports.Set("cudaPeak", Napi::Function::New(env, Peak, "cudaPeak"));
}

}  // namespace

WK_REGISTER(cuda_bench, Register);
