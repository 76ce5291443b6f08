// Emulation-addon ops for cuda/attention.cu next to cpp/attention.cpp (test only). Positional
// arguments as the addon's (binding/attention_binding.cc), null/undefined for optional gradients;
// the CUDA side gets the workspace it asks for, NaN-filled (a read before write shows).
//   attentionForward(q, k, v, o, lse, BH, Tq, Tk, dh, tokensPerFrame, scale[, kvRows])
//   attentionBackward(q, k, v, o, lse, go, BH, Tq, Tk, dh, tokensPerFrame, scale, gq, gk, gv)
#include <vector>

#include "attention.h"
#include "emulation/emu_registry.h"
#include "kernels.h"

namespace {
using namespace wk_emu_reg;

wk::AttentionDims dims(const wk::Args& a, size_t i) {
  wk::AttentionDims d;
  d.BH = Z(a, i), d.Tq = Z(a, i + 1), d.Tk = Z(a, i + 2), d.dh = Z(a, i + 3), d.tokensPerFrame = Z(a, i + 4);
  d.scale = static_cast<float>(D(a, i + 5));
  a.require(d.tokensPerFrame >= 1 && d.Tq <= d.Tk, "tokensPerFrame >= 1 and Tq <= Tk");
  return d;
}

template <bool Cuda>
Napi::Value Forward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "attentionForward", 11);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  wk::AttentionDims d = dims(a, 5);
  if (!a.isUndefined(11)) d.kvRows = Z(a, 11);
  if (Cuda) check(a, wk::cuda::attentionForward(d, F(a, 0), F(a, 1), F(a, 2), F(a, 3), F(a, 4)));
  else wk::attentionForward(d, F(a, 0), F(a, 1), F(a, 2), F(a, 3), F(a, 4));
  return info.Env().Undefined();
}

template <bool Cuda>
Napi::Value Backward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "attentionBackward", 15);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  const wk::AttentionDims d = dims(a, 6);
  if (Cuda) {
    std::vector<float> ws(wk::cuda::attentionBackwardWorkspace(d) + 1, __builtin_nanf(""));
    check(a, wk::cuda::attentionBackward(d, F(a, 0), F(a, 1), F(a, 2), F(a, 3), F(a, 4), F(a, 5), F(a, 12), F(a, 13),
                                         F(a, 14), S(ws)));
  } else {
    wk::attentionBackward(d, F(a, 0), F(a, 1), F(a, 2), F(a, 3), F(a, 4), F(a, 5), F(a, 12), F(a, 13), F(a, 14));
  }
  return info.Env().Undefined();
}

void registerAttention(Napi::Env env, Napi::Object cuda, Napi::Object cpu) {
  set(env, cuda, "attentionForward", Forward<true>);
  set(env, cpu, "attentionForward", Forward<false>);
  set(env, cuda, "attentionBackward", Backward<true>);
  set(env, cpu, "attentionBackward", Backward<false>);
}

}  // namespace

WK_EMU_REGISTER(attention, registerAttention);
