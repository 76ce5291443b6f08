// Emulation-addon ops for cuda/lstm.cu next to cpp/lstm.cpp (test only). Positional arguments,
// null/undefined for optional arrays; the CUDA side gets a workspace of the size it asks for.
//   lstmCellForward(B, I, H, x, h, c, wih, whh, bih, bhh, gates, cNew, hNew, tanhC)
//   lstmCellBackward(B, I, H, x, h, c, wih, whh, gates, tanhC, dhNew, dcNew,
//                    dx, dh, dc, dwih, dwhh, dbih, dbhh, dGates)
//   lstmSequenceForward(T, B, batchFirst, I, H, x, h0, c0, wih, whh, bih, bhh, y, gates, tanhC, cs, hN, cN)
//   lstmSequenceBackward(T, B, batchFirst, I, H, x, h0, wih, whh, y, gates, tanhC, cs, dy, dhN, dcN,
//                        dx, dh0, dc0, dwih, dwhh, dbih, dbhh)
//   residualHeadForward(R, D, K, z, h, W, b, out)     residualHeadBackward(R, D, K, h, W, dout, dh, dW, db)
#include <vector>

#include "emulation/emu_registry.h"
#include "kernels.h"
#include "lstm.h"

namespace {
using namespace wk_emu_reg;

wk::LstmParams params(const wk::Args& a, size_t iI, size_t iH, size_t iw, size_t ib) {
  wk::LstmParams p;
  p.I = Z(a, iI);
  p.H = Z(a, iH);
  p.wih = F(a, iw);
  p.whh = F(a, iw + 1);
  if (ib) {
    p.bih = F(a, ib);
    p.bhh = F(a, ib + 1);
  }
  return p;
}
wk::LstmParamGrads grads(const wk::Args& a, size_t i) {
  wk::LstmParamGrads g;
  g.wih = F(a, i);
  g.whh = F(a, i + 1);
  g.bih = F(a, i + 2);
  g.bhh = F(a, i + 3);
  return g;
}

template <bool Cuda>
Napi::Value CellForward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "lstmCellForward", 14);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  wk::LstmParams p = params(a, 1, 2, 6, 8);
  const size_t B = Z(a, 0);
  if (Cuda) check(a, wk::cuda::lstmCellForward(B, p, F(a, 3), F(a, 4), F(a, 5), F(a, 10), F(a, 11), F(a, 12), F(a, 13)));
  else wk::lstmCellForward(B, p, F(a, 3), F(a, 4), F(a, 5), F(a, 10), F(a, 11), F(a, 12), F(a, 13));
  return info.Env().Undefined();
}

template <bool Cuda>
Napi::Value CellBackward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "lstmCellBackward", 20);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  wk::LstmParams p = params(a, 1, 2, 6, 0);
  const size_t B = Z(a, 0);
  wk::LstmParamGrads g = grads(a, 15);
  if (Cuda) {
    std::vector<float> ws(wk::cuda::lstmCellBackwardWorkspace(B, p.H) + 1);
    check(a, wk::cuda::lstmCellBackward(B, p, F(a, 3), F(a, 4), F(a, 5), F(a, 8), F(a, 9), F(a, 10), F(a, 11),
                                        F(a, 12), F(a, 13), F(a, 14), g, F(a, 19), S(ws)));
  } else {
    wk::lstmCellBackward(B, p, F(a, 3), F(a, 4), F(a, 5), F(a, 8), F(a, 9), F(a, 10), F(a, 11), F(a, 12), F(a, 13),
                         F(a, 14), g, F(a, 19));
  }
  return info.Env().Undefined();
}

template <bool Cuda>
Napi::Value SeqForward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "lstmSequenceForward", 18);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  wk::LstmParams p = params(a, 3, 4, 8, 10);
  const size_t T = Z(a, 0), B = Z(a, 1);
  const bool bf = wk_emu_reg::B(a, 2);
  if (Cuda)
    check(a, wk::cuda::lstmSequenceForward(T, B, bf, p, F(a, 5), F(a, 6), F(a, 7), F(a, 12), F(a, 13), F(a, 14),
                                           F(a, 15), F(a, 16), F(a, 17)));
  else
    wk::lstmSequenceForward(T, B, bf, p, F(a, 5), F(a, 6), F(a, 7), F(a, 12), F(a, 13), F(a, 14), F(a, 15), F(a, 16),
                            F(a, 17));
  return info.Env().Undefined();
}

template <bool Cuda>
Napi::Value SeqBackward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "lstmSequenceBackward", 23);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  wk::LstmParams p = params(a, 3, 4, 7, 0);
  const size_t T = Z(a, 0), B = Z(a, 1);
  const bool bf = wk_emu_reg::B(a, 2);
  wk::LstmParamGrads g = grads(a, 19);
  if (Cuda) {
    // NaN-filled workspace: any read before write shows in the results.
    std::vector<float> ws(wk::cuda::lstmSequenceBackwardWorkspace(T, B, p.H) + 1, __builtin_nanf(""));
    check(a, wk::cuda::lstmSequenceBackward(T, B, bf, p, F(a, 5), F(a, 6), F(a, 9), F(a, 10), F(a, 11), F(a, 12),
                                            F(a, 13), F(a, 14), F(a, 15), F(a, 16), F(a, 17), F(a, 18), g,
                                            S(ws)));
  } else {
    wk::lstmSequenceBackward(T, B, bf, p, F(a, 5), F(a, 6), F(a, 9), F(a, 10), F(a, 11), F(a, 12), F(a, 13), F(a, 14),
                             F(a, 15), F(a, 16), F(a, 17), F(a, 18), g);
  }
  return info.Env().Undefined();
}

template <bool Cuda>
Napi::Value HeadForward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "residualHeadForward", 8);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  if (Cuda) check(a, wk::cuda::residualHeadForward(Z(a, 0), Z(a, 1), Z(a, 2), F(a, 3), F(a, 4), F(a, 5), F(a, 6), F(a, 7)));
  else wk::residualHeadForward(Z(a, 0), Z(a, 1), Z(a, 2), F(a, 3), F(a, 4), F(a, 5), F(a, 6), F(a, 7));
  return info.Env().Undefined();
}

template <bool Cuda>
Napi::Value HeadBackward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "residualHeadBackward", 9);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  if (Cuda) check(a, wk::cuda::residualHeadBackward(Z(a, 0), Z(a, 1), Z(a, 2), F(a, 3), F(a, 4), F(a, 5), F(a, 6), F(a, 7), F(a, 8)));
  else wk::residualHeadBackward(Z(a, 0), Z(a, 1), Z(a, 2), F(a, 3), F(a, 4), F(a, 5), F(a, 6), F(a, 7), F(a, 8));
  return info.Env().Undefined();
}

void registerLstm(Napi::Env env, Napi::Object cuda, Napi::Object cpu) {
  set(env, cuda, "lstmCellForward", CellForward<true>);
  set(env, cpu, "lstmCellForward", CellForward<false>);
  set(env, cuda, "lstmCellBackward", CellBackward<true>);
  set(env, cpu, "lstmCellBackward", CellBackward<false>);
  set(env, cuda, "lstmSequenceForward", SeqForward<true>);
  set(env, cpu, "lstmSequenceForward", SeqForward<false>);
  set(env, cuda, "lstmSequenceBackward", SeqBackward<true>);
  set(env, cpu, "lstmSequenceBackward", SeqBackward<false>);
  set(env, cuda, "residualHeadForward", HeadForward<true>);
  set(env, cpu, "residualHeadForward", HeadForward<false>);
  set(env, cuda, "residualHeadBackward", HeadBackward<true>);
  set(env, cpu, "residualHeadBackward", HeadBackward<false>);
}

}  // namespace

WK_EMU_REGISTER(lstm, registerLstm);
