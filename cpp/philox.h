// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator. Output block k of stream (seed) is a pure function of (seed, k), so
// the CPU kernels and the CUDA kernels (which include this header) produce the same numbers
// for the same seed and offset, in any order and on any number of threads.
//
// Element i of a fill at `offset` uses block (offset + i) / 4, lane (offset + i) % 4:
//   uniform:  (u >> 8) * 2^-24, in [0, 1)
//   normal:   Box-Muller on lanes (0,1) and (2,3) of a block.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define WK_HD __host__ __device__ __forceinline__
#else
#define WK_HD inline
#endif

namespace wk {

struct PhiloxBlock {
  uint32_t v[4];
};

WK_HD uint32_t philoxMulHi(uint32_t a, uint32_t b, uint32_t* lo) {
  uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *lo = static_cast<uint32_t>(p);
  return static_cast<uint32_t>(p >> 32);
}

// The 10-round Philox4x32 bijection of counter `block` under key `seed`.
WK_HD PhiloxBlock philox4x32(uint64_t seed, uint64_t block) {
  uint32_t c0 = static_cast<uint32_t>(block), c1 = static_cast<uint32_t>(block >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t lo0, lo1;
    uint32_t hi0 = philoxMulHi(0xD2511F53u, c0, &lo0);
    uint32_t hi1 = philoxMulHi(0xCD9E8D57u, c2, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  PhiloxBlock out;
  out.v[0] = c0; out.v[1] = c1; out.v[2] = c2; out.v[3] = c3;
  return out;
}

// Uniform in [0, 1) with 24 random bits: exactly representable in float32.
WK_HD float philoxUniform(uint32_t u) { return static_cast<float>(u >> 8) * (1.0f / 16777216.0f); }

// Standard normal for element `index` (absolute: offset already added). Computed in double so
// CPU and GPU agree to the last bit regardless of their float transcendental implementations,
// then rounded once to float.
WK_HD float philoxNormal(uint64_t seed, uint64_t index) {
  PhiloxBlock b = philox4x32(seed, index >> 2);
  unsigned lane = static_cast<unsigned>(index & 3);
  unsigned pair = lane >> 1;
  // u1 in (0, 1] so log(u1) is finite.
  double u1 = (static_cast<double>(b.v[2 * pair] >> 8) + 1.0) * (1.0 / 16777216.0);
  double u2 = static_cast<double>(b.v[2 * pair + 1] >> 8) * (1.0 / 16777216.0);
  double r = sqrt(-2.0 * log(u1));
  double theta = 6.283185307179586 * u2;
  return static_cast<float>((lane & 1) ? r * sin(theta) : r * cos(theta));
}

WK_HD float philoxUniformAt(uint64_t seed, uint64_t index) {
  PhiloxBlock b = philox4x32(seed, index >> 2);
  return philoxUniform(b.v[index & 3]);
}

}  // namespace wk
