// Seeded random fills from the counter-based Philox generator (philox.h). A fill of n values at
// `offset` consumes indices [offset, offset + n) of the stream `seed`; callers advance the
// offset to draw fresh numbers, which also makes a generator's state two integers.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wk {
void rngUniformFill(float* out, size_t n, uint64_t seed, uint64_t offset, float low, float high);
void rngNormalFill(float* out, size_t n, uint64_t seed, uint64_t offset, float mean, float stddev);
// out[i] = 1 with probability p else 0 (dropout masks, scheduled-sampling coins).
void rngBernoulliFill(float* out, size_t n, uint64_t seed, uint64_t offset, float p);
}  // namespace wk
