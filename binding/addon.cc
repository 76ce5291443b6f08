// Entry point of the worldkit addon: runs every WK_REGISTER'ed family's registrar.
#include <vector>
#include "registry.h"

namespace wk {
namespace {
struct Entry {
  const char* family;
  Registrar fn;
};
std::vector<Entry>& registrations() {
  static std::vector<Entry> list;  // function-local: safe from static-init order
  return list;
}
}  // namespace

Registration::Registration(const char* family, Registrar fn) { registrations().push_back({family, fn}); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Array families = Napi::Array::New(env);
  uint32_t i = 0;
  for (const Entry& e : registrations()) {
    e.fn(env, exports);
    families.Set(i++, Napi::String::New(env, e.family));
  }
  exports.Set("families", families);
  return exports;
}
}  // namespace wk

static Napi::Object InitWorldkit(Napi::Env env, Napi::Object exports) { return wk::Init(env, exports); }
NODE_API_MODULE(worldkit, InitWorldkit)
