// 'cuda' tensors on a real GPU: exports `cudaDevice`, the device-buffer and device-op API of
// cuda/device_api.h over the nvcc-built kernels (only in builds with CUDA; src/backend/cuda.ts
// uses it when cudaStatus().available). The emulation addon exports the same API as
// `cuda.device` (cuda/emulation/emu_device.cc).
#include "registry.h"

#if defined(WK_WITH_CUDA)
#include "device_api.h"

namespace {
void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object o = Napi::Object::New(env);
  wk_dev::registerDeviceApi(env, o);
  exports.Set("cudaDevice", o);
}
}  // namespace

WK_REGISTER(cuda_device, Register);
#endif
