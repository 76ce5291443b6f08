// Node-API glue for the LSTM gates' pointwise kernel (cpp/lstm_gates.h): argument checks only.
// Optional arrays are null/undefined; every array must have exactly the size B and H imply.
#include <string>

#include "args.h"
#include "lstm_gates.h"
#include "registry.h"

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 31;

float* need(const wk::Args& a, size_t i, const char* name, size_t n) {
  auto v = a.f32(i, name);
  if (v.size != n) throw a.range(name, std::to_string(n) + " elements", std::to_string(v.size) + " elements");
  return v.data;
}

float* opt(const wk::Args& a, size_t i, const char* name, size_t n) {
  if (a.isUndefined(i)) return nullptr;
  return need(a, i, name, n);
}

// lstmGatesForward(pre, c?, B, H, gates, cNew, hNew, tanhC)
Napi::Value GatesForward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "lstmGatesForward", 8);
  size_t B = static_cast<size_t>(a.integer(2, "B", 0, kMaxDim)), H = static_cast<size_t>(a.integer(3, "H", 1, kMaxDim));
  a.require(double(B) * 4 * H < 4.0e12, "sizes are too large");
  const float* pre = need(a, 0, "pre", B * 4 * H);
  const float* c = opt(a, 1, "c", B * H);
  float* gates = need(a, 4, "gates", B * 4 * H);
  float* cNew = need(a, 5, "cNew", B * H);
  float* hNew = need(a, 6, "hNew", B * H);
  float* tanhC = need(a, 7, "tanhC", B * H);
  wk::lstmGatesForward(B, H, pre, c, gates, cNew, hNew, tanhC);
  return info.Env().Undefined();
}

// lstmGatesBackward(gates, c?, tanhC, dh?, dcNew?, B, H, dPre, dc?)
Napi::Value GatesBackward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "lstmGatesBackward", 8);
  size_t B = static_cast<size_t>(a.integer(5, "B", 0, kMaxDim)), H = static_cast<size_t>(a.integer(6, "H", 1, kMaxDim));
  a.require(double(B) * 4 * H < 4.0e12, "sizes are too large");
  const float* gates = need(a, 0, "gates", B * 4 * H);
  const float* c = opt(a, 1, "c", B * H);
  const float* tanhC = need(a, 2, "tanhC", B * H);
  const float* dh = opt(a, 3, "dh", B * H);
  const float* dcNew = opt(a, 4, "dcNew", B * H);
  float* dPre = need(a, 7, "dPre", B * 4 * H);
  float* dc = opt(a, 8, "dc", B * H);
  wk::lstmGatesBackward(B, H, gates, c, tanhC, dh, dcNew, dPre, dc);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("lstmGatesForward", Napi::Function::New(env, GatesForward, "lstmGatesForward"));
  exports.Set("lstmGatesBackward", Napi::Function::New(env, GatesBackward, "lstmGatesBackward"));
}

}  // namespace

WK_REGISTER(lstm_gates, Register);
