// opCodes: the op codes of the elementwise and loss kernels, from the lists in cpp/elementwise.h
// and cpp/losses.h, so TypeScript never declares a code number of its own.
#include "elementwise.h"
#include "losses.h"
#include "registry.h"

namespace {

#define WK_SET_CODE(name, js, value) table.Set(#js, Napi::Number::New(env, value));

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object codes = Napi::Object::New(env);
  {
    Napi::Object table = Napi::Object::New(env);
    WK_UNARY_OPS(WK_SET_CODE)
    codes.Set("unary", table);
  }
  {
    Napi::Object table = Napi::Object::New(env);
    WK_BINARY_OPS(WK_SET_CODE)
    codes.Set("binary", table);
  }
  {
    Napi::Object table = Napi::Object::New(env);
    WK_ROW_LOSSES(WK_SET_CODE)
    codes.Set("rowLoss", table);
  }
  exports.Set("opCodes", codes);
}

}  // namespace

WK_REGISTER(op_codes, Register);
