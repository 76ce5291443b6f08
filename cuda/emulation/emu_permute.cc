// Emulation-addon op for cuda/permute.cu next to a plain host loop (test only; the CPU permute is
// TypeScript, src/tensor/shape_ops.ts permuteData):
//   permute(x, shape, perm, y)   shape/perm: JS number arrays of the input's rank (<= 6)
#include <vector>

#include "emulation/emu_registry.h"
#include "kernels.h"

namespace {
using namespace wk_emu_reg;

std::vector<int64_t> ints(const wk::Args& a, const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsArray()) throw a.type(name, "an array of integers", wk::Args::describe(v));
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<int64_t> s(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) s[k] = arr.Get(k).As<Napi::Number>().Int64Value();
  return s;
}

template <bool Cuda>
Napi::Value Permute(const Napi::CallbackInfo& info) {
  wk::Args a(info, "permute", 4);
  Staging stage(a.fn(), Cuda);  // guarded copies of the arrays for the CUDA half
  auto shape = ints(a, info, 1, "shape"), p64 = ints(a, info, 2, "perm");
  const int nd = (int)shape.size();
  a.require(p64.size() == shape.size() && nd <= 6, "permute: perm must list every axis (rank <= 6)");
  std::vector<int> perm(p64.begin(), p64.end());
  size_t n = 1;
  for (auto d : shape) n *= (size_t)d;
  auto x = a.f32(0, "x", n);
  auto y = a.f32(3, "y", n);
  if (Cuda) {
    check(a, wk::cuda::permute(staged(x.data, n, 0), shape.data(), nd, perm.data(), staged(y.data, n, 3)));
  } else {
    std::vector<size_t> inStride(nd), idx(nd, 0);
    for (int d = nd - 1, k = 1; d >= 0; --d) inStride[d] = k, k *= (int)shape[d];
    for (size_t i = 0; i < n; ++i) {
      size_t r = i, src = 0;
      for (int d = nd - 1; d >= 0; --d) {
        const size_t s = (size_t)shape[perm[d]];
        src += (r % s) * inStride[perm[d]];
        r /= s;
      }
      y.data[i] = x.data[src];
    }
  }
  return info.Env().Undefined();
}

void registerPermute(Napi::Env env, Napi::Object cuda, Napi::Object cpu) {
  set(env, cuda, "permute", Permute<true>);
  set(env, cpu, "permute", Permute<false>);
}

}  // namespace

WK_EMU_REGISTER(permute, registerPermute);
