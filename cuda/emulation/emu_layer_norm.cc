// Emulation-addon ops for cuda/layer_norm.cu next to cpp/layer_norm.cpp (test only). Positional
// arguments, null/undefined for optional arrays; the CUDA side gets the workspace it asks for.
//   layerNormForward(x, w, b, R, C, eps, y, mean, rstd)
//   layerNormBackward(x, w, mean, rstd, gy, R, C, gx, gw, gb)
#include <vector>

#include "emulation/emu_registry.h"
#include "kernels.h"
#include "layer_norm.h"

namespace {
using namespace wk_emu_reg;

template <bool Cuda>
Napi::Value Forward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "layerNormForward", 9);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  const size_t R = Z(a, 3), C = Z(a, 4);
  const float eps = static_cast<float>(D(a, 5));
  if (Cuda)
    check(a, wk::cuda::layerNormForward(F(a, 0), F(a, 1), F(a, 2), R, C, eps, F(a, 6), F(a, 7), F(a, 8)));
  else
    wk::layerNormForward(F(a, 0), F(a, 1), F(a, 2), R, C, eps, F(a, 6), F(a, 7), F(a, 8));
  return info.Env().Undefined();
}

template <bool Cuda>
Napi::Value Backward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "layerNormBackward", 10);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  const size_t R = Z(a, 5), C = Z(a, 6);
  if (Cuda) {
    std::vector<float> ws(wk::cuda::layerNormBackwardWorkspace(R, C) + 1);
    check(a, wk::cuda::layerNormBackward(F(a, 0), F(a, 1), F(a, 2), F(a, 3), F(a, 4), R, C, F(a, 7), F(a, 8), F(a, 9),
                                         S(ws)));
  } else {
    wk::layerNormBackward(F(a, 0), F(a, 1), F(a, 2), F(a, 3), F(a, 4), R, C, F(a, 7), F(a, 8), F(a, 9));
  }
  return info.Env().Undefined();
}

void registerLayerNorm(Napi::Env env, Napi::Object cuda, Napi::Object cpu) {
  set(env, cuda, "layerNormForward", Forward<true>);
  set(env, cpu, "layerNormForward", Forward<false>);
  set(env, cuda, "layerNormBackward", Backward<true>);
  set(env, cpu, "layerNormBackward", Backward<false>);
}

}  // namespace

WK_EMU_REGISTER(layer_norm, registerLayerNorm);
