// Bindings for cpp/bench_probe.h (the machine probes `worldkit bench` runs first).
#include "args.h"
#include "bench_probe.h"
#include "registry.h"

namespace {
// benchPeakFlops(threads, iters) -> { gflops, seconds, isa }
Napi::Value PeakFlops(const Napi::CallbackInfo& info) {
  wk::Args a(info, "benchPeakFlops", 2);
  int threads = static_cast<int>(a.integer(0, "threads", 1, 1024));
  long long iters = a.integer(1, "iters", 1, 1LL << 40);
  wk::ProbeResult r = wk::probePeakFlops(threads, iters);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("gflops", r.gflops);
  o.Set("seconds", r.seconds);
  o.Set("isa", r.isa);
  return o;
}

// benchCopyBandwidth(threads, bytes, reps) -> { gbps, seconds }
Napi::Value CopyBandwidth(const Napi::CallbackInfo& info) {
  wk::Args a(info, "benchCopyBandwidth", 3);
  int threads = static_cast<int>(a.integer(0, "threads", 1, 1024));
  size_t bytes = static_cast<size_t>(a.integer(1, "bytes", 64, 1LL << 34));
  int reps = static_cast<int>(a.integer(2, "reps", 1, 1000));
  wk::ProbeResult r = wk::probeCopyBandwidth(threads, bytes, reps);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("gbps", r.gbps);
  o.Set("seconds", r.seconds);
  return o;
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("benchPeakFlops", Napi::Function::New(env, PeakFlops, "benchPeakFlops"));
  exports.Set("benchCopyBandwidth", Napi::Function::New(env, CopyBandwidth, "benchCopyBandwidth"));
}
}  // namespace

WK_REGISTER(bench, Register);
