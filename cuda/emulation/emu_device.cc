// The device-tensor API of cuda/device_api.h in the emulation addon, as `cuda.device`: buffers
// are host memory from the same caching allocator (cuda/memory.cu against simt.h) and the ops run
// the unchanged CUDA kernels through the SIMT emulation. With WORLDKIT_CUDA_EMULATE=1 (or
// wk.useCudaEmulation()) worldkit uses this as its 'cuda' device.
#include "device_api.h"
#include "emulation/emu_registry.h"

namespace {
void Register(Napi::Env env, Napi::Object cuda, Napi::Object) {
  Napi::Object o = Napi::Object::New(env);
  wk_dev::registerDeviceApi(env, o);
  o.Set("deviceName", Napi::String::New(env, "emulated (CPU SIMT)"));
  cuda.Set("device", o);
}
}  // namespace

WK_EMU_REGISTER(device, Register);
