// CUDA status: cudaStatus() -> {compiled, available, reason, deviceName, computeCapability,
// memoryBytes, deviceCount, runtimeVersion, driverVersion}. Never throws. Without WK_WITH_CUDA
// (built without nvcc or with WORLDKIT_CUDA=0) it reports compiled = false; with it, the device
// probe of cuda/device.cu decides, and a machine without a GPU or driver gets available = false
// with the runtime's reason.
#include <cstdio>
#include <string>

#include "registry.h"
#if defined(WK_WITH_CUDA)
#include "kernels.h"
#endif

namespace {

Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#if defined(WK_WITH_CUDA)
  wk::cuda::DeviceInfo d;
  try {
    d = wk::cuda::probeDevice();
  } catch (...) {
    std::snprintf(d.reason, sizeof d.reason, "the CUDA device probe failed");
  }
  o.Set("compiled", true);
  o.Set("available", d.available);
  o.Set("reason", d.available ? std::string() : std::string(d.reason));
  o.Set("deviceName", d.available ? Napi::Value(Napi::String::New(env, d.name)) : env.Null());
  o.Set("computeCapability", d.available ? Napi::Value(Napi::String::New(env, std::to_string(d.major) + "." +
                                                                              std::to_string(d.minor)))
                                         : env.Null());
  o.Set("memoryBytes", d.available ? Napi::Value(Napi::Number::New(env, static_cast<double>(d.memoryBytes))) : env.Null());
  o.Set("deviceCount", d.deviceCount);
  o.Set("runtimeVersion", d.runtimeVersion);
  o.Set("driverVersion", d.driverVersion);
#else
  o.Set("compiled", false);
  o.Set("available", false);
  o.Set("reason", "this build of worldkit has no CUDA backend (built without nvcc, or WORLDKIT_CUDA=0)");
  o.Set("deviceName", env.Null());
  o.Set("computeCapability", env.Null());
  o.Set("memoryBytes", env.Null());
#endif
  return o;
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaStatus", Napi::Function::New(env, CudaStatus, "cudaStatus"));
}

}  // namespace

WK_REGISTER(cuda, Register);
