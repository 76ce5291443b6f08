// Self-registration of binding families: each binding/*.cc file declares
//   WK_REGISTER(gemm, [](Napi::Env env, Napi::Object exports) { ... });
// and addon.cc calls every registrar at load time, so adding an op family never edits a
// shared file.
#pragma once
#include <napi.h>

namespace wk {
using Registrar = void (*)(Napi::Env, Napi::Object);
struct Registration {
  Registration(const char* family, Registrar fn);
};
}  // namespace wk

#define WK_REGISTER(family, fn) static ::wk::Registration wk_registration_##family(#family, fn)
