// y += alpha * x, split across the pool in fixed ranges (elementwise: thread-count independent).
#include "blas1.h"

#include "thread_pool.h"

namespace wk {
void axpy(float* y, const float* x, size_t n, float alpha) {
  parallelFor(n, 1 << 15, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) y[i] += alpha * x[i];
  });
}
}  // namespace wk
