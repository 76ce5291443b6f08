// Emulation-addon ops for cuda/conv.cu next to cpp/conv.cpp (test only). Geometry first, then
// arrays (null/undefined = not given / not wanted); the CUDA side gets a NaN-filled workspace of
// the size it asks for, so a read of an unwritten workspace element shows.
//   conv2dForward(N, C, H, W, K, kh, kw, sh, sw, ph, pw, x, w, b, y)
//   conv2dBackward(N, C, H, W, K, kh, kw, sh, sw, ph, pw, x, w, gy, gx, gw, gb)
//   convTranspose2dForward / convTranspose2dBackward: same, in the conv view (C, H, W = the
//   transposed conv's output channels and size including output padding; K = its input channels)
#include <vector>

#include "conv.h"
#include "emulation/emu_registry.h"
#include "kernels.h"

namespace {
using namespace wk_emu_reg;

wk::ConvGeom geom(const wk::Args& a) {
  wk::ConvGeom g;
  g.N = Z(a, 0);
  g.C = Z(a, 1);
  g.H = Z(a, 2);
  g.W = Z(a, 3);
  g.K = Z(a, 4);
  g.kh = Z(a, 5);
  g.kw = Z(a, 6);
  g.sh = Z(a, 7);
  g.sw = Z(a, 8);
  g.ph = Z(a, 9);
  g.pw = Z(a, 10);
  g.Ho = wk::convOutSize(g.H, g.kh, g.sh, g.ph);
  g.Wo = wk::convOutSize(g.W, g.kw, g.sw, g.pw);
  return g;
}

template <bool Cuda, bool Transposed>
Napi::Value Forward(const Napi::CallbackInfo& info) {
  wk::Args a(info, Transposed ? "convTranspose2dForward" : "conv2dForward", 15);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  const wk::ConvGeom g = geom(a);
  if (Cuda) {
    std::vector<float> ws(wk::cuda::convWorkspace(g) + 1, __builtin_nanf(""));
    check(a, Transposed ? wk::cuda::convTranspose2dForward(g, F(a, 11), F(a, 12), F(a, 13), F(a, 14), S(ws))
                        : wk::cuda::conv2dForward(g, F(a, 11), F(a, 12), F(a, 13), F(a, 14), S(ws)));
  } else if (Transposed) {
    wk::convTranspose2dForward(g, F(a, 11), F(a, 12), F(a, 13), F(a, 14));
  } else {
    wk::conv2dForward(g, F(a, 11), F(a, 12), F(a, 13), F(a, 14));
  }
  return info.Env().Undefined();
}

template <bool Cuda, bool Transposed>
Napi::Value Backward(const Napi::CallbackInfo& info) {
  wk::Args a(info, Transposed ? "convTranspose2dBackward" : "conv2dBackward", 17);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  const wk::ConvGeom g = geom(a);
  if (Cuda) {
    std::vector<float> ws(wk::cuda::convWorkspace(g) + 1, __builtin_nanf(""));
    check(a, Transposed ? wk::cuda::convTranspose2dBackward(g, F(a, 11), F(a, 12), F(a, 13), F(a, 14), F(a, 15),
                                                            F(a, 16), S(ws))
                        : wk::cuda::conv2dBackward(g, F(a, 11), F(a, 12), F(a, 13), F(a, 14), F(a, 15), F(a, 16),
                                                   S(ws)));
  } else if (Transposed) {
    wk::convTranspose2dBackward(g, F(a, 11), F(a, 12), F(a, 13), F(a, 14), F(a, 15), F(a, 16));
  } else {
    wk::conv2dBackward(g, F(a, 11), F(a, 12), F(a, 13), F(a, 14), F(a, 15), F(a, 16));
  }
  return info.Env().Undefined();
}

void registerConv(Napi::Env env, Napi::Object cuda, Napi::Object cpu) {
  set(env, cuda, "conv2dForward", Forward<true, false>);
  set(env, cpu, "conv2dForward", Forward<false, false>);
  set(env, cuda, "conv2dBackward", Backward<true, false>);
  set(env, cpu, "conv2dBackward", Backward<false, false>);
  set(env, cuda, "convTranspose2dForward", Forward<true, true>);
  set(env, cpu, "convTranspose2dForward", Forward<false, true>);
  set(env, cuda, "convTranspose2dBackward", Backward<true, true>);
  set(env, cpu, "convTranspose2dBackward", Backward<false, true>);
}

}  // namespace

WK_EMU_REGISTER(conv, registerConv);
