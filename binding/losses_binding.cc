// Bindings for cpp/losses.h: argument and size checks only (labels are range-checked here).
#include "args.h"
#include "losses.h"
#include "registry.h"
#include "shape_args.h"

namespace {
using wk::Args;

size_t dim(const Args& a, size_t i, const char* name) { return static_cast<size_t>(a.integer(i, name, 0, 1LL << 40)); }

// rowLossForward(kind, a, t, B, D, scale, out[B])
Napi::Value RowLossForward(const Napi::CallbackInfo& info) {
  Args a(info, "rowLossForward", 7);
  auto kind = static_cast<wk::RowLoss>(a.integer(0, "kind", 0, 1));
  size_t B = dim(a, 3, "B"), D = dim(a, 4, "D");
  auto x = wk::exactF32(a, 1, "a", B * D);
  auto t = wk::exactF32(a, 2, "t", B * D);
  double scale = a.number(5, "scale");
  auto out = wk::exactF32(a, 6, "out", B);
  wk::rowLossForward(kind, x.data, t.data, B, D, scale, out.data);
  return info.Env().Undefined();
}

// rowLossBackward(kind, a, t, B, D, gRow[B], scale, ga|null, gt|null)
Napi::Value RowLossBackward(const Napi::CallbackInfo& info) {
  Args a(info, "rowLossBackward", 9);
  auto kind = static_cast<wk::RowLoss>(a.integer(0, "kind", 0, 1));
  size_t B = dim(a, 3, "B"), D = dim(a, 4, "D");
  auto x = wk::exactF32(a, 1, "a", B * D);
  auto t = wk::exactF32(a, 2, "t", B * D);
  auto g = wk::exactF32(a, 5, "gRow", B);
  double scale = a.number(6, "scale");
  float* ga = wk::optionalF32(a, 7, "ga", B * D);
  float* gt = wk::optionalF32(a, 8, "gt", B * D);
  wk::rowLossBackward(kind, x.data, t.data, B, D, g.data, scale, ga, gt);
  return info.Env().Undefined();
}

// klNormalForward(mu, logvar, B, D, kl[B])
Napi::Value KlNormalForward(const Napi::CallbackInfo& info) {
  Args a(info, "klNormalForward", 5);
  size_t B = dim(a, 2, "B"), D = dim(a, 3, "D");
  auto mu = wk::exactF32(a, 0, "mu", B * D);
  auto lv = wk::exactF32(a, 1, "logvar", B * D);
  auto kl = wk::exactF32(a, 4, "kl", B);
  wk::klNormalForward(mu.data, lv.data, B, D, kl.data);
  return info.Env().Undefined();
}

// klNormalBackward(mu, logvar, B, D, kl[B], freeBits, gRow[B], scale, gmu|null, glogvar|null)
Napi::Value KlNormalBackward(const Napi::CallbackInfo& info) {
  Args a(info, "klNormalBackward", 10);
  size_t B = dim(a, 2, "B"), D = dim(a, 3, "D");
  auto mu = wk::exactF32(a, 0, "mu", B * D);
  auto lv = wk::exactF32(a, 1, "logvar", B * D);
  auto kl = wk::exactF32(a, 4, "kl", B);
  float freeBits = static_cast<float>(a.number(5, "freeBits"));
  auto g = wk::exactF32(a, 6, "gRow", B);
  double scale = a.number(7, "scale");
  float* gmu = wk::optionalF32(a, 8, "gmu", B * D);
  float* glv = wk::optionalF32(a, 9, "glogvar", B * D);
  wk::klNormalBackward(mu.data, lv.data, B, D, kl.data, freeBits, g.data, scale, gmu, glv);
  return info.Env().Undefined();
}

wk::View<int32_t> labelsArg(const Args& a, size_t i, size_t B, size_t C) {
  auto labels = a.i32(i, "labels");
  a.require(labels.size == B, "labels must have " + std::to_string(B) + " elements, got " + std::to_string(labels.size));
  for (size_t b = 0; b < B; ++b)
    if (labels.data[b] < 0 || static_cast<size_t>(labels.data[b]) >= C)
      throw Napi::RangeError::New(a.env(), std::string(a.fn()) + ": labels[" + std::to_string(b) + "] must be in [0, " +
                                               std::to_string(C - 1) + "], got " + std::to_string(labels.data[b]));
  return labels;
}

// crossEntropyForward(logits, labels, B, C, loss[B])
Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyForward", 5);
  size_t B = dim(a, 2, "B"), C = static_cast<size_t>(a.integer(3, "C", 1, 1LL << 40));
  auto x = wk::exactF32(a, 0, "logits", B * C);
  auto labels = labelsArg(a, 1, B, C);
  auto loss = wk::exactF32(a, 4, "loss", B);
  wk::crossEntropyForward(x.data, labels.data, B, C, loss.data);
  return info.Env().Undefined();
}

// crossEntropyBackward(logits, labels, B, C, gRow[B], scale, glogits)
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyBackward", 7);
  size_t B = dim(a, 2, "B"), C = static_cast<size_t>(a.integer(3, "C", 1, 1LL << 40));
  auto x = wk::exactF32(a, 0, "logits", B * C);
  auto labels = labelsArg(a, 1, B, C);
  auto g = wk::exactF32(a, 4, "gRow", B);
  double scale = a.number(5, "scale");
  auto gx = wk::exactF32(a, 6, "glogits", B * C);
  wk::crossEntropyBackward(x.data, labels.data, B, C, g.data, scale, gx.data);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("rowLossForward", Napi::Function::New(env, RowLossForward, "rowLossForward"));
  exports.Set("rowLossBackward", Napi::Function::New(env, RowLossBackward, "rowLossBackward"));
  exports.Set("klNormalForward", Napi::Function::New(env, KlNormalForward, "klNormalForward"));
  exports.Set("klNormalBackward", Napi::Function::New(env, KlNormalBackward, "klNormalBackward"));
  exports.Set("crossEntropyForward", Napi::Function::New(env, CrossEntropyForward, "crossEntropyForward"));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward, "crossEntropyBackward"));
}

}  // namespace

WK_REGISTER(losses, Register);
