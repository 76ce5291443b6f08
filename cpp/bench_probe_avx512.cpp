// Benchmark probe (bench_probe.h): 16 independent AVX-512 FMA chains (16 floats each), enough to
// cover the FMA latency times the number of FMA pipes on current x86 cores.
#include <immintrin.h>

#include "bench_probe.h"

namespace wk {
double fmaChainsAvx512(long long iters, float seed) {
  __m512 acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_set1_ps(seed + 0.001f * j);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long long i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_fmadd_ps(acc[j], m, c);
  }
  __m512 s = acc[0];
  for (int j = 1; j < 16; ++j) s = _mm512_add_ps(s, acc[j]);
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return 2.0 * 16 * 16 * static_cast<double>(iters);
}
}  // namespace wk
