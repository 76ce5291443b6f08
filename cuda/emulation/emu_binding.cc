// Test-only addon `worldkit_emu`: the CUDA kernels of cuda/*.cu compiled as C++ against the SIMT
// emulation (simt.h), run on host arrays (under the emulation device memory is host memory),
// next to the CPU kernels of cpp/ they must match. Exports:
//   setSchedule('forward'|'reverse'|'random', seed), setWorkers(n), lastFailure()
//   cuda.<op>(...)  the emulated CUDA launchers      cpu.<op>(...)  the cpp/ kernels
// Every op throws when the launcher reports a CUDA error (message: name + lastFailure()).
// The CUDA half of every op runs on guarded copies of its JS arrays (wk_emu_reg::Staging,
// emu_registry.h), so a kernel writing past an array fails with cudaErrorIllegalAddress.
// Test-only entries: testShiftBroken/Fixed (test/cuda/broken_barrier.cu), testOobWrite/Read/Fixed
// (test/cuda/out_of_bounds.cu).
#include <napi.h>

#include <string>

#include "args.h"
#include "emulation/emu_registry.h"
#include "emulation/simt.h"
#include "kernels.h"
#include "rng.h"
#include "conv.h"
#include "elementwise.h"
#include "gemm.h"
#include "losses.h"
#include "optim.h"
#include "reduce.h"

namespace wk {
namespace cuda {
// test/cuda/broken_barrier.cu
int testShiftBroken(const float* in, float* out, size_t n, Stream stream);
int testShiftFixed(const float* in, float* out, size_t n, Stream stream);
// test/cuda/out_of_bounds.cu
int testOobWrite(const float* in, float* out, size_t n, Stream stream);
int testOobRead(const float* in, float* out, size_t n, Stream stream);
int testOobFixed(const float* in, float* out, size_t n, Stream stream);
}  // namespace cuda
}  // namespace wk

namespace {

using Fn = Napi::Value (*)(const Napi::CallbackInfo&);
using wk_emu_reg::F;  // staged into guarded emulated allocations under a Staging (emu_registry.h)
using wk_emu_reg::I32;
using wk_emu_reg::Staging;
using wk_emu_reg::U8;

void check(const wk::Args& a, int code) {
  if (code != 0)
    throw Napi::Error::New(a.env(), std::string(a.fn()) + ": CUDA error " +
                                        cudaGetErrorName(static_cast<cudaError_t>(code)) + ": " +
                                        wk_emu::lastFailure());
}

uint64_t u64(const wk::Args& a, size_t i, const char* name) {
  return static_cast<uint64_t>(a.integer(i, name, 0, (1LL << 53)));
}
float f(const wk::Args& a, size_t i, const char* name) { return static_cast<float>(a.number(i, name)); }

// ---- schedule -------------------------------------------------------------------------------
Napi::Value SetSchedule(const Napi::CallbackInfo& info) {
  wk::Args a(info, "setSchedule", 1);
  std::string s = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  uint64_t seed = a.isUndefined(1) ? 1 : u64(a, 1, "seed");
  if (s == "forward") wk_emu::setSchedule(wk_emu::Schedule::Forward, seed);
  else if (s == "reverse") wk_emu::setSchedule(wk_emu::Schedule::Reverse, seed);
  else if (s == "random") wk_emu::setSchedule(wk_emu::Schedule::Random, seed);
  else throw a.type("mode", "'forward', 'reverse' or 'random'", wk::Args::describe(info[0]));
  return info.Env().Undefined();
}
Napi::Value SetWorkers(const Napi::CallbackInfo& info) {
  wk::Args a(info, "setWorkers", 1);
  wk_emu::setWorkers(static_cast<int>(a.integer(0, "n", 1, 64)));
  return info.Env().Undefined();
}
Napi::Value LastFailure(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), wk_emu::lastFailure());
}

// ---- rng.cu ----------------------------------------------------------------------------------
// (out, seed, offset, p0, p1)
template <int Mode, bool Cuda>
Napi::Value Rng(const Napi::CallbackInfo& info) {
  wk::Args a(info, "rng", Mode == 1 ? 4 : 5);
  Staging stage("rng", Cuda);
  auto out = a.f32(0, "out");
  uint64_t seed = u64(a, 1, "seed"), offset = u64(a, 2, "offset");
  float p0 = f(a, 3, "p0"), p1 = Mode == 1 ? 0.0f : f(a, 4, "p1");
  if (Cuda) {
    float* o = wk_emu_reg::staged(out.data, out.size, 0);
    int rc = Mode == 0   ? wk::cuda::rngUniform(o, out.size, seed, offset, p0, p1)
             : Mode == 1 ? wk::cuda::rngBernoulli(o, out.size, seed, offset, p0)
                         : wk::cuda::rngNormal(o, out.size, seed, offset, p0, p1);
    check(a, rc);
  } else {
    if (Mode == 0) wk::rngUniformFill(out.data, out.size, seed, offset, p0, p1);
    if (Mode == 1) wk::rngBernoulliFill(out.data, out.size, seed, offset, p0);
    if (Mode == 2) wk::rngNormalFill(out.data, out.size, seed, offset, p0, p1);
  }
  return info.Env().Undefined();
}

// ---- test/cuda/broken_barrier.cu ---------------------------------------------------------------
template <bool Broken>
Napi::Value Shift(const Napi::CallbackInfo& info) {
  wk::Args a(info, "shift", 2);
  Staging stage("shift");
  auto in = a.f32(0, "in");
  auto out = a.f32(1, "out", in.size);
  float *i = wk_emu_reg::staged(in.data, in.size, 0), *o = wk_emu_reg::staged(out.data, out.size, 1);
  check(a, Broken ? wk::cuda::testShiftBroken(i, o, in.size, nullptr) : wk::cuda::testShiftFixed(i, o, in.size, nullptr));
  return info.Env().Undefined();
}

// ---- test/cuda/out_of_bounds.cu ----------------------------------------------------------------
// testOobWrite/testOobRead/testOobFixed(in, out): same sizes; the arrays are staged into guarded
// emulated allocations like every other CUDA op of this addon.
template <int Mode>
Napi::Value Oob(const Napi::CallbackInfo& info) {
  static const char* const names[] = {"testOobWrite", "testOobRead", "testOobFixed"};
  wk::Args a(info, names[Mode], 2);
  Staging stage(names[Mode]);
  auto in = a.f32(0, "in");
  auto out = a.f32(1, "out", in.size);
  a.require(out.size == in.size, std::string(names[Mode]) + ": in and out must have the same length");
  float *i = wk_emu_reg::staged(in.data, in.size, 0), *o = wk_emu_reg::staged(out.data, out.size, 1);
  check(a, Mode == 0   ? wk::cuda::testOobWrite(i, o, in.size, nullptr)
           : Mode == 1 ? wk::cuda::testOobRead(i, o, in.size, nullptr)
                       : wk::cuda::testOobFixed(i, o, in.size, nullptr));
  return info.Env().Undefined();
}

// ---- device.cu -----------------------------------------------------------------------------
Napi::Value Probe(const Napi::CallbackInfo& info) {
  wk::cuda::DeviceInfo d = wk::cuda::probeDevice();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("available", d.available);
  o.Set("reason", std::string(d.reason));
  return o;
}

// ---- the other families: positional arguments mirroring the cpp/ signatures -------------------
size_t Z(const wk::Args& a, size_t i) { return static_cast<size_t>(a.integer(i, "size")); }
double D(const wk::Args& a, size_t i) { return a.number(i, "number"); }

#define WK_EMU_PAIR(NAME, NARGS, CUDA_CALL, CPU_CALL)           \
  Napi::Value Cuda_##NAME(const Napi::CallbackInfo& info) {      \
    wk::Args a(info, #NAME, NARGS);                              \
    Staging stage(#NAME);                                        \
    check(a, CUDA_CALL);                                         \
    return info.Env().Undefined();                               \
  }                                                              \
  Napi::Value Cpu_##NAME(const Napi::CallbackInfo& info) {       \
    wk::Args a(info, #NAME, NARGS);                              \
    CPU_CALL;                                                    \
    return info.Env().Undefined();                               \
  }

// (op, x, y, n, p0, p1)
WK_EMU_PAIR(unaryForward, 6, wk::cuda::unaryForward((int)Z(a, 0), F(a, 1), F(a, 2), Z(a, 3), D(a, 4), D(a, 5)),
            wk::unaryForward((wk::UnaryOp)Z(a, 0), F(a, 1), F(a, 2), Z(a, 3), D(a, 4), D(a, 5)))
// (op, x, y, g, gx, n, p0, p1)
WK_EMU_PAIR(unaryBackward, 8,
            wk::cuda::unaryBackward((int)Z(a, 0), F(a, 1), F(a, 2), F(a, 3), F(a, 4), Z(a, 5), D(a, 6), D(a, 7)),
            wk::unaryBackward((wk::UnaryOp)Z(a, 0), F(a, 1), F(a, 2), F(a, 3), F(a, 4), Z(a, 5), D(a, 6), D(a, 7)))
// (op, a, b, out, n)
WK_EMU_PAIR(binarySame, 5, wk::cuda::binarySame((int)Z(a, 0), F(a, 1), F(a, 2), F(a, 3), Z(a, 4)), {
  int64_t sh[1] = {(int64_t)Z(a, 4)};
  wk::binaryForward((wk::BinaryOp)Z(a, 0), F(a, 1), sh, F(a, 2), sh, F(a, 3), sh, 1);
})
// (y, x, n, alpha)
WK_EMU_PAIR(axpy, 4, wk::cuda::axpy(F(a, 0), F(a, 1), Z(a, 2), D(a, 3)), {
  float* y = F(a, 0);
  const float* x = F(a, 1);
  for (size_t i = 0; i < Z(a, 2); ++i) y[i] += (float)D(a, 3) * x[i];
})
// (x, outer, red, inner, out, scale)
WK_EMU_PAIR(reduceSum3, 6, wk::cuda::reduceSum3(F(a, 0), Z(a, 1), Z(a, 2), Z(a, 3), F(a, 4), D(a, 5)),
            wk::reduceSum3(F(a, 0), Z(a, 1), Z(a, 2), Z(a, 3), F(a, 4), D(a, 5)))
// (x, n, out Float32Array(1)): the double sum rounded to float
WK_EMU_PAIR(sumAll, 3, ([&] {
              double r = 0, scratch[wk::cuda::kSumAllScratch];
              int e = wk::cuda::sumAll(F(a, 0), Z(a, 1), &r, scratch);
              F(a, 2)[0] = (float)r;
              return e;
            }()),
            F(a, 2)[0] = (float)wk::sumAll(F(a, 0), Z(a, 1)))
// (kind, a, t, B, D, scale, out)
WK_EMU_PAIR(rowLossForward, 7,
            wk::cuda::rowLossForward((int)Z(a, 0), F(a, 1), F(a, 2), Z(a, 3), Z(a, 4), D(a, 5), F(a, 6)),
            wk::rowLossForward((wk::RowLoss)Z(a, 0), F(a, 1), F(a, 2), Z(a, 3), Z(a, 4), D(a, 5), F(a, 6)))
// (kind, a, t, B, D, gRow, scale, ga, gt)
WK_EMU_PAIR(rowLossBackward, 9,
            wk::cuda::rowLossBackward((int)Z(a, 0), F(a, 1), F(a, 2), Z(a, 3), Z(a, 4), F(a, 5), D(a, 6), F(a, 7),
                                      F(a, 8)),
            wk::rowLossBackward((wk::RowLoss)Z(a, 0), F(a, 1), F(a, 2), Z(a, 3), Z(a, 4), F(a, 5), D(a, 6), F(a, 7),
                                F(a, 8)))
// (mu, logvar, B, D, kl)
WK_EMU_PAIR(klNormalForward, 5, wk::cuda::klNormalForward(F(a, 0), F(a, 1), Z(a, 2), Z(a, 3), F(a, 4)),
            wk::klNormalForward(F(a, 0), F(a, 1), Z(a, 2), Z(a, 3), F(a, 4)))
// (mu, logvar, B, D, kl, freeBits, gRow, scale, gmu, glogvar)
WK_EMU_PAIR(klNormalBackward, 10,
            wk::cuda::klNormalBackward(F(a, 0), F(a, 1), Z(a, 2), Z(a, 3), F(a, 4), D(a, 5), F(a, 6), D(a, 7), F(a, 8),
                                       F(a, 9)),
            wk::klNormalBackward(F(a, 0), F(a, 1), Z(a, 2), Z(a, 3), F(a, 4), D(a, 5), F(a, 6), D(a, 7), F(a, 8),
                                 F(a, 9)))
// (logits, labels Int32Array, B, C, loss)
WK_EMU_PAIR(crossEntropyForward, 5,
            wk::cuda::crossEntropyForward(F(a, 0), I32(a, 1), Z(a, 2), Z(a, 3), F(a, 4)),
            wk::crossEntropyForward(F(a, 0), I32(a, 1), Z(a, 2), Z(a, 3), F(a, 4)))
// (logits, labels, B, C, gRow, scale, glogits)
WK_EMU_PAIR(crossEntropyBackward, 7,
            wk::cuda::crossEntropyBackward(F(a, 0), I32(a, 1), Z(a, 2), Z(a, 3), F(a, 4), D(a, 5),
                                           F(a, 6)),
            wk::crossEntropyBackward(F(a, 0), I32(a, 1), Z(a, 2), Z(a, 3), F(a, 4), D(a, 5), F(a, 6)))
// (p, g, buf|null, n, lr, momentum, dampening, wd, nesterov, first)
WK_EMU_PAIR(sgdStep, 10,
            wk::cuda::sgdStep(F(a, 0), F(a, 1), F(a, 2), Z(a, 3), D(a, 4), D(a, 5), D(a, 6), D(a, 7), a.boolean(8, "n"),
                              a.boolean(9, "f")),
            wk::sgdStep(F(a, 0), F(a, 1), F(a, 2), Z(a, 3), D(a, 4), D(a, 5), D(a, 6), D(a, 7), a.boolean(8, "n"),
                        a.boolean(9, "f")))
// (p, g, m, v, n, lr, b1, b2, eps, wd, decoupled, bc1, bc2)
WK_EMU_PAIR(adamStep, 13,
            wk::cuda::adamStep(F(a, 0), F(a, 1), F(a, 2), F(a, 3), Z(a, 4), D(a, 5), D(a, 6), D(a, 7), D(a, 8), D(a, 9),
                               a.boolean(10, "d"), D(a, 11), D(a, 12)),
            wk::adamStep(F(a, 0), F(a, 1), F(a, 2), F(a, 3), Z(a, 4), D(a, 5), D(a, 6), D(a, 7), D(a, 8), D(a, 9),
                         a.boolean(10, "d"), D(a, 11), D(a, 12)))
// (src Uint8Array, dst, N, C, H, W, channelsLast)
WK_EMU_PAIR(framesToFloat, 7,
            wk::cuda::framesToFloat(U8(a, 0), F(a, 1), Z(a, 2), Z(a, 3), Z(a, 4), Z(a, 5), a.boolean(6, "c")),
            wk::framesToFloat(U8(a, 0), F(a, 1), Z(a, 2), Z(a, 3), Z(a, 4), Z(a, 5), a.boolean(6, "c")))
WK_EMU_PAIR(floatToFrames, 7,
            wk::cuda::floatToFrames(F(a, 0), U8(a, 1), Z(a, 2), Z(a, 3), Z(a, 4), Z(a, 5), a.boolean(6, "c")),
            wk::floatToFrames(F(a, 0), U8(a, 1), Z(a, 2), Z(a, 3), Z(a, 4), Z(a, 5), a.boolean(6, "c")))
// (transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, aOffset, bOffset): offsets (elements)
// shift A and B off 16-byte alignment to exercise the scalar-load path
WK_EMU_PAIR(gemm, 15,
            wk::cuda::gemm(a.boolean(0, "ta"), a.boolean(1, "tb"), Z(a, 2), Z(a, 3), Z(a, 4), D(a, 5), F(a, 6) + Z(a, 13),
                           Z(a, 7), F(a, 8) + Z(a, 14), Z(a, 9), D(a, 10), F(a, 11), Z(a, 12)),
            wk::gemmReference(a.boolean(0, "ta"), a.boolean(1, "tb"), Z(a, 2), Z(a, 3), Z(a, 4), D(a, 5),
                              F(a, 6) + Z(a, 13), Z(a, 7), F(a, 8) + Z(a, 14), Z(a, 9), D(a, 10), F(a, 11), Z(a, 12)))

void set(Napi::Env env, Napi::Object o, const char* name, Fn fn) { o.Set(name, Napi::Function::New(env, fn, name)); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = Napi::Object::New(env), cpu = Napi::Object::New(env);
  set(env, exports, "setSchedule", SetSchedule);
  set(env, exports, "setWorkers", SetWorkers);
  set(env, exports, "lastFailure", LastFailure);
  set(env, cuda, "rngUniform", Rng<0, true>);
  set(env, cuda, "rngBernoulli", Rng<1, true>);
  set(env, cuda, "rngNormal", Rng<2, true>);
  set(env, cpu, "rngUniform", Rng<0, false>);
  set(env, cpu, "rngBernoulli", Rng<1, false>);
  set(env, cpu, "rngNormal", Rng<2, false>);
  set(env, cuda, "testShiftBroken", Shift<true>);
  set(env, cuda, "testShiftFixed", Shift<false>);
  set(env, cuda, "testOobWrite", Oob<0>);
  set(env, cuda, "testOobRead", Oob<1>);
  set(env, cuda, "testOobFixed", Oob<2>);
  set(env, cuda, "probeDevice", Probe);
  set(env, cuda, "unaryForward", Cuda_unaryForward);
  set(env, cpu, "unaryForward", Cpu_unaryForward);
  set(env, cuda, "unaryBackward", Cuda_unaryBackward);
  set(env, cpu, "unaryBackward", Cpu_unaryBackward);
  set(env, cuda, "binarySame", Cuda_binarySame);
  set(env, cpu, "binarySame", Cpu_binarySame);
  set(env, cuda, "axpy", Cuda_axpy);
  set(env, cpu, "axpy", Cpu_axpy);
  set(env, cuda, "reduceSum3", Cuda_reduceSum3);
  set(env, cpu, "reduceSum3", Cpu_reduceSum3);
  set(env, cuda, "sumAll", Cuda_sumAll);
  set(env, cpu, "sumAll", Cpu_sumAll);
  set(env, cuda, "rowLossForward", Cuda_rowLossForward);
  set(env, cpu, "rowLossForward", Cpu_rowLossForward);
  set(env, cuda, "rowLossBackward", Cuda_rowLossBackward);
  set(env, cpu, "rowLossBackward", Cpu_rowLossBackward);
  set(env, cuda, "klNormalForward", Cuda_klNormalForward);
  set(env, cpu, "klNormalForward", Cpu_klNormalForward);
  set(env, cuda, "klNormalBackward", Cuda_klNormalBackward);
  set(env, cpu, "klNormalBackward", Cpu_klNormalBackward);
  set(env, cuda, "crossEntropyForward", Cuda_crossEntropyForward);
  set(env, cpu, "crossEntropyForward", Cpu_crossEntropyForward);
  set(env, cuda, "crossEntropyBackward", Cuda_crossEntropyBackward);
  set(env, cpu, "crossEntropyBackward", Cpu_crossEntropyBackward);
  set(env, cuda, "sgdStep", Cuda_sgdStep);
  set(env, cpu, "sgdStep", Cpu_sgdStep);
  set(env, cuda, "adamStep", Cuda_adamStep);
  set(env, cpu, "adamStep", Cpu_adamStep);
  set(env, cuda, "framesToFloat", Cuda_framesToFloat);
  set(env, cpu, "framesToFloat", Cpu_framesToFloat);
  set(env, cuda, "floatToFrames", Cuda_floatToFrames);
  set(env, cpu, "floatToFrames", Cpu_floatToFrames);
  set(env, cuda, "gemm", Cuda_gemm);
  set(env, cpu, "gemm", Cpu_gemm);

  for (auto fn : wk_emu_reg::registry()) fn(env, cuda, cpu);  // cuda/emulation/emu_<family>.cc
  exports.Set("cuda", cuda);
  exports.Set("cpu", cpu);
  return exports;
}

}  // namespace

NODE_API_MODULE(worldkit_emu, Init)
