// Self-registration for the test-only emulation addon (worldkit_emu.node): a family file
// cuda/emulation/emu_<family>.cc adds its cuda.<op> / cpu.<op> pairs with
// WK_EMU_REGISTER(name, fn), where fn(env, cuda, cpu) sets the functions; emu_binding.cc's Init
// runs every registered fn. Also the small argument helpers those files share.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "args.h"
#include "emulation/simt.h"

namespace wk_emu_reg {

using RegisterFn = void (*)(Napi::Env env, Napi::Object cuda, Napi::Object cpu);

inline std::vector<RegisterFn>& registry() {
  static std::vector<RegisterFn> r;
  return r;
}
struct Registrar {
  explicit Registrar(RegisterFn fn) { registry().push_back(fn); }
};

// Throws the launcher's CUDA error (name + the emulation's failure text).
inline void check(const wk::Args& a, int code) {
  if (code != 0)
    throw Napi::Error::New(a.env(), std::string(a.fn()) + ": CUDA error " +
                                        cudaGetErrorName(static_cast<cudaError_t>(code)) + ": " +
                                        wk_emu::lastFailure());
}
// Optional Float32Array (null/undefined -> nullptr), size, number, flag.
inline float* F(const wk::Args& a, size_t i) { return a.isUndefined(i) ? nullptr : a.f32(i, "array").data; }
inline size_t Z(const wk::Args& a, size_t i) { return static_cast<size_t>(a.integer(i, "size")); }
inline double D(const wk::Args& a, size_t i) { return a.number(i, "number"); }
inline bool B(const wk::Args& a, size_t i) { return a.boolean(i, "flag"); }

inline void set(Napi::Env env, Napi::Object o, const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
  o.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace wk_emu_reg

#define WK_EMU_REGISTER(name, fn) static ::wk_emu_reg::Registrar wk_emu_registrar_##name(fn)
