// Benchmark probes (see bench_probe.h): the peak FMA rate of this machine, for N threads, with
// the widest instruction set available (AVX-512, AVX2+FMA, else a portable scalar-FMA loop),
// and the copy bandwidth (memcpy over a buffer far larger than the caches).
// v1: independent accumulator chains per thread, std::thread per probe run.
#include "bench_probe.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "cpu_features.h"

namespace wk {
namespace {
volatile float g_sink = 0;

double portableChains(long long iters, float seed) {
  float acc[8];
  for (int j = 0; j < 8; ++j) acc[j] = seed + 0.001f * j;
  const float m = 0.999999f, c = 1e-7f;
  for (long long i = 0; i < iters; ++i)
    for (int j = 0; j < 8; ++j) acc[j] = std::fma(acc[j], m, c);
  float s = 0;
  for (int j = 0; j < 8; ++j) s += acc[j];
  g_sink = s;
  return 2.0 * 8 * static_cast<double>(iters);
}

template <typename Fn>
double runThreads(int threads, Fn fn) {
  if (threads < 1) threads = 1;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(fn, t);
  fn(0);
  for (auto& th : pool) th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

ProbeResult probePeakFlops(int threads, long long iters) {
  Isa isa = bestIsa();
  auto loop = [isa](long long n, float seed) {
    if (isa == Isa::Avx512) return fmaChainsAvx512(n, seed);
    if (isa == Isa::Avx2) return fmaChainsAvx2(n, seed);
    return portableChains(n, seed);
  };
  loop(iters / 20 + 1, 1.0f);  // wake the cores up (frequency ramp)
  std::vector<double> flops(static_cast<size_t>(threads < 1 ? 1 : threads), 0.0);
  double sec = runThreads(threads, [&](int t) { flops[t] = loop(iters, 1.0f + 0.01f * t); });
  double total = 0;
  for (double f : flops) total += f;
  return {total / sec / 1e9, 0, sec, isaName(isa)};
}

ProbeResult probeCopyBandwidth(int threads, size_t bytes, int reps) {
  if (threads < 1) threads = 1;
  std::vector<char> src(bytes), dst(bytes);
  for (size_t i = 0; i < bytes; i += 64) src[i] = static_cast<char>(i);
  std::memset(dst.data(), 0, bytes);  // fault the pages in before timing
  double best = 1e30;
  for (int r = 0; r < (reps < 1 ? 1 : reps); ++r) {
    double sec = runThreads(threads, [&](int t) {
      size_t chunk = (bytes / threads + 63) / 64 * 64;
      size_t b = chunk * t, e = b + chunk < bytes ? b + chunk : bytes;
      if (b < e) std::memcpy(dst.data() + b, src.data() + b, e - b);
    });
    if (sec < best) best = sec;
  }
  g_sink = dst[bytes / 2];
  return {0, 2.0 * static_cast<double>(bytes) / best / 1e9, best, "memcpy"};
}
}  // namespace wk
