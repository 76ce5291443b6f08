// Bindings for cpp/attention.h: argument and size checks only. Every function takes the
// dimensions in one order, parsed into wk::AttentionDims:
//   attentionForward(q, k, v, o, lse, BH, Tq, Tk, dh, tokensPerFrame, scale[, kvRows])
//     (kvRows: rows per head of k and v when they are a cache of that capacity; default Tk)
//   attentionBackward(q, k, v, o, lse, go, BH, Tq, Tk, dh, tokensPerFrame, scale, gq|null, gk|null, gv|null)
//   attentionForwardReference / attentionBackwardReference: the same, on the plain kernels.
#include "args.h"
#include "attention.h"
#include "registry.h"
#include "shape_args.h"

namespace {
using wk::Args;

wk::AttentionDims dimsAt(const Args& a, size_t i) {
  wk::AttentionDims d;
  d.BH = static_cast<size_t>(a.integer(i, "BH", 0, 1LL << 40));
  d.Tq = static_cast<size_t>(a.integer(i + 1, "Tq", 0, 1LL << 40));
  d.Tk = static_cast<size_t>(a.integer(i + 2, "Tk", 0, 1LL << 40));
  d.dh = static_cast<size_t>(a.integer(i + 3, "dh", 0, 1LL << 40));
  d.tokensPerFrame = static_cast<size_t>(a.integer(i + 4, "tokensPerFrame", 1, 1LL << 40));
  d.scale = static_cast<float>(a.number(i + 5, "scale"));
  a.require(d.Tq <= d.Tk, "Tq must not exceed Tk, got Tq = " + std::to_string(d.Tq) + ", Tk = " + std::to_string(d.Tk));
  return d;
}

template <bool Reference>
Napi::Value Forward(const Napi::CallbackInfo& info) {
  Args a(info, Reference ? "attentionForwardReference" : "attentionForward", 11);
  wk::AttentionDims d = dimsAt(a, 5);
  if (!a.isUndefined(11)) {
    d.kvRows = static_cast<size_t>(a.integer(11, "kvRows", 0, 1LL << 40));
    a.require(d.kvRows == 0 || d.kvRows >= d.Tk, "kvRows must be 0 or at least Tk, got kvRows = " + std::to_string(d.kvRows) + ", Tk = " + std::to_string(d.Tk));
  }
  const size_t nq = d.BH * d.Tq * d.dh, nk = d.BH * wk::attentionKvRows(d) * d.dh;
  auto q = wk::exactF32(a, 0, "q", nq);
  auto k = wk::exactF32(a, 1, "k", nk);
  auto v = wk::exactF32(a, 2, "v", nk);
  auto o = wk::exactF32(a, 3, "o", nq);
  auto lse = wk::exactF32(a, 4, "lse", d.BH * d.Tq);
  if (Reference) wk::attentionForwardReference(d, q.data, k.data, v.data, o.data, lse.data);
  else wk::attentionForward(d, q.data, k.data, v.data, o.data, lse.data);
  return info.Env().Undefined();
}

template <bool Reference>
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Args a(info, Reference ? "attentionBackwardReference" : "attentionBackward", 15);
  const wk::AttentionDims d = dimsAt(a, 6);
  const size_t nq = d.BH * d.Tq * d.dh, nk = d.BH * d.Tk * d.dh;
  auto q = wk::exactF32(a, 0, "q", nq);
  auto k = wk::exactF32(a, 1, "k", nk);
  auto v = wk::exactF32(a, 2, "v", nk);
  auto o = wk::exactF32(a, 3, "o", nq);
  auto lse = wk::exactF32(a, 4, "lse", d.BH * d.Tq);
  auto go = wk::exactF32(a, 5, "go", nq);
  float* gq = wk::optionalF32(a, 12, "gq", nq);
  float* gk = wk::optionalF32(a, 13, "gk", nk);
  float* gv = wk::optionalF32(a, 14, "gv", nk);
  if (Reference) wk::attentionBackwardReference(d, q.data, k.data, v.data, o.data, lse.data, go.data, gq, gk, gv);
  else wk::attentionBackward(d, q.data, k.data, v.data, o.data, lse.data, go.data, gq, gk, gv);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, Forward<false>, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New(env, Backward<false>, "attentionBackward"));
  exports.Set("attentionForwardReference", Napi::Function::New(env, Forward<true>, "attentionForwardReference"));
  exports.Set("attentionBackwardReference", Napi::Function::New(env, Backward<true>, "attentionBackwardReference"));
}

}  // namespace

WK_REGISTER(attention, Register);
