// CPU fills of the Philox stream; see philox.h for the index-to-number mapping shared with CUDA.
#include "rng.h"

#include "philox.h"
#include "thread_pool.h"

namespace wk {

void rngUniformFill(float* out, size_t n, uint64_t seed, uint64_t offset, float low, float high) {
  parallelFor(n, 4096, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) out[i] = low + (high - low) * philoxUniformAt(seed, offset + i);
  });
}

void rngNormalFill(float* out, size_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
  parallelFor(n, 2048, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) out[i] = mean + stddev * philoxNormal(seed, offset + i);
  });
}

void rngBernoulliFill(float* out, size_t n, uint64_t seed, uint64_t offset, float p) {
  parallelFor(n, 4096, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) out[i] = philoxUniformAt(seed, offset + i) < p ? 1.0f : 0.0f;
  });
}

}  // namespace wk
