// Benchmark probe (bench_probe.h): 12 independent AVX2 FMA chains (8 floats each).
#include <immintrin.h>

#include "bench_probe.h"

namespace wk {
double fmaChainsAvx2(long long iters, float seed) {
  __m256 acc[12];
  for (int j = 0; j < 12; ++j) acc[j] = _mm256_set1_ps(seed + 0.001f * j);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) acc[j] = _mm256_fmadd_ps(acc[j], m, c);
  }
  __m256 s = acc[0];
  for (int j = 1; j < 12; ++j) s = _mm256_add_ps(s, acc[j]);
  float out[8];
  _mm256_storeu_ps(out, s);
  volatile float sink = out[0] + out[7];
  (void)sink;
  return 2.0 * 12 * 8 * static_cast<double>(iters);
}
}  // namespace wk
