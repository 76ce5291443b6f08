// Emulation-addon ops for cuda/broadcast.cu next to cpp/elementwise.cpp (test only). Shapes are
// JS number arrays of the same rank (padded with leading 1s by the caller).
//   binaryBroadcast(op, a, aShape, b, bShape, out, outShape)
//   binaryBroadcastBackward(op, a, aShape, b, bShape, g, outShape, ga, gb)
#include <vector>

#include "elementwise.h"
#include "emulation/emu_registry.h"
#include "kernels.h"

namespace {
using namespace wk_emu_reg;

std::vector<int64_t> shape(const wk::Args& a, const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsArray()) throw a.type("shape", "an array of sizes", wk::Args::describe(v));
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<int64_t> s(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) s[k] = arr.Get(k).As<Napi::Number>().Int64Value();
  return s;
}

template <bool Cuda>
Napi::Value Forward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "binaryBroadcast", 7);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  auto as = shape(a, info, 2), bs = shape(a, info, 4), os = shape(a, info, 6);
  const int nd = (int)os.size();
  if (Cuda) check(a, wk::cuda::binaryBroadcast((int)Z(a, 0), F(a, 1), as.data(), F(a, 3), bs.data(), F(a, 5), os.data(), nd));
  else wk::binaryForward((wk::BinaryOp)Z(a, 0), F(a, 1), as.data(), F(a, 3), bs.data(), F(a, 5), os.data(), nd);
  return info.Env().Undefined();
}

template <bool Cuda>
Napi::Value Backward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "binaryBroadcastBackward", 9);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  auto as = shape(a, info, 2), bs = shape(a, info, 4), os = shape(a, info, 6);
  const int nd = (int)os.size();
  if (Cuda) {
    std::vector<float> ws(wk::cuda::binaryBackwardWorkspace(os.data(), nd) + 1, __builtin_nanf(""));
    check(a, wk::cuda::binaryBroadcastBackward((int)Z(a, 0), F(a, 1), as.data(), F(a, 3), bs.data(), F(a, 5),
                                               os.data(), nd, F(a, 7), F(a, 8), S(ws)));
  } else {
    wk::binaryBackward((wk::BinaryOp)Z(a, 0), F(a, 1), as.data(), F(a, 3), bs.data(), F(a, 5), os.data(), nd, F(a, 7),
                       F(a, 8));
  }
  return info.Env().Undefined();
}

void registerBroadcast(Napi::Env env, Napi::Object cuda, Napi::Object cpu) {
  set(env, cuda, "binaryBroadcast", Forward<true>);
  set(env, cpu, "binaryBroadcast", Forward<false>);
  set(env, cuda, "binaryBroadcastBackward", Backward<true>);
  set(env, cpu, "binaryBroadcastBackward", Backward<false>);
}

}  // namespace

WK_EMU_REGISTER(broadcast, registerBroadcast);
