// Self-registration for the test-only emulation addon (worldkit_emu.node): a family file
// cuda/emulation/emu_<family>.cc adds its cuda.<op> / cpu.<op> pairs with
// WK_EMU_REGISTER(name, fn), where fn(env, cuda, cpu) sets the functions; emu_binding.cc's Init
// runs every registered fn. Also the small argument helpers those files share.
#pragma once
#include <napi.h>

#include <cstring>
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
// Staging of JS arrays into guarded emulated allocations, for the CUDA half of each op: a JS
// typed array has no guard zones around it (a kernel writing past it would silently hit the V8
// heap), so while a Staging is in scope F/I32/U8/S copy each array into a block of
// wk_emu::guardedAlloc (labelled "<op> argument <i>", counting from 0) and hand the kernel that; the destructor
// copies every block back into its array and frees it. The same array passed twice gets the
// same block (in-place ops keep their aliasing); an array overlapping a staged one otherwise is
// passed as is. The emulation checks the zones after each launch (simt.h, "Guard zones"), so an
// out-of-bounds write fails the op with "CUDA error cudaErrorIllegalAddress: <kernel>: ...".
// The CPU half of an op runs without a Staging and gets the arrays themselves.
class Staging {
 public:
  // on: false makes it a no-op (the CPU instantiation of an op template)
  explicit Staging(const char* op, bool on = true) : op_(op), prev_(current()), on_(on) {
    if (on_) current() = this;
  }
  ~Staging() {
    if (on_) current() = prev_;
    for (auto& it : items_) {
      if (it.bytes) std::memcpy(it.host, it.dev, it.bytes);
      wk_emu::guardedFree(it.dev);
    }
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  static Staging* active() { return current(); }

  template <class T>
  T* stage(T* host, size_t count, const std::string& what, bool copyBack = true) {
    if (!host || !wk_emu::guardsEnabled()) return host;
    const size_t bytes = count * sizeof(T);
    char* h = reinterpret_cast<char*>(host);
    for (auto& it : items_) {
      if (it.host == h && it.size == bytes) return reinterpret_cast<T*>(it.dev);
      if (h < it.host + it.size && it.host < h + bytes) return host;  // overlaps another staged array
    }
    void* dev = wk_emu::guardedAlloc(bytes, std::string(op_) + " " + what);
    if (!dev) return host;
    if (bytes) std::memcpy(dev, host, bytes);
    items_.push_back({h, static_cast<char*>(dev), bytes, copyBack ? bytes : 0});
    return static_cast<T*>(dev);
  }

 private:
  struct Item {
    char* host;
    char* dev;
    size_t size;
    size_t bytes;  // copied back (0 for a workspace)
  };
  static Staging*& current() {
    static thread_local Staging* c = nullptr;
    return c;
  }
  const char* op_;
  Staging* prev_;
  bool on_;
  std::vector<Item> items_;
};

template <class T>
inline T* staged(T* host, size_t count, size_t argIndex) {
  Staging* s = Staging::active();
  return s ? s->stage(host, count, "argument " + std::to_string(argIndex)) : host;
}

// Optional Float32Array (null/undefined -> nullptr; staged under a Staging), size, number, flag.
inline float* F(const wk::Args& a, size_t i) {
  if (a.isUndefined(i)) return nullptr;
  auto v = a.f32(i, "array");
  return staged(v.data, v.size, i);
}
inline int32_t* I32(const wk::Args& a, size_t i) {
  auto v = a.i32(i, "array");
  return staged(v.data, v.size, i);
}
inline uint8_t* U8(const wk::Args& a, size_t i) {
  auto v = a.u8(i, "array");
  return staged(v.data, v.size, i);
}
// A host scratch array (a workspace vector) staged like an argument, labelled "<op> workspace";
// its contents go to the kernel but are not copied back (the vector may be gone by then).
template <class T>
inline T* S(std::vector<T>& v) {
  Staging* s = Staging::active();
  return s ? s->stage(v.data(), v.size(), "workspace", false) : v.data();
}
inline size_t Z(const wk::Args& a, size_t i) { return static_cast<size_t>(a.integer(i, "size")); }
inline double D(const wk::Args& a, size_t i) { return a.number(i, "number"); }
inline bool B(const wk::Args& a, size_t i) { return a.boolean(i, "flag"); }

inline void set(Napi::Env env, Napi::Object o, const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
  o.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace wk_emu_reg

#define WK_EMU_REGISTER(name, fn) static ::wk_emu_reg::Registrar wk_emu_registrar_##name(fn)
