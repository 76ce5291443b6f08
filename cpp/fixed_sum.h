// Fixed-order parallel sums: [0, n) is cut into chunks of a fixed size (independent of the
// thread count), each chunk is summed in double by one thread, and the chunk partials are added
// in chunk order. Same input, same bits, for any number of threads.
#pragma once
#include <cstddef>
#include <vector>

#include "thread_pool.h"

namespace wk {

constexpr size_t kSumChunk = 4096;

// chunkFn(begin, end) -> double: the sum of the terms in [begin, end), in a fixed order.
template <class F>
double fixedOrderSum(size_t n, F&& chunkFn) {
  if (n == 0) return 0.0;
  size_t chunks = (n + kSumChunk - 1) / kSumChunk;
  if (chunks == 1) return chunkFn(size_t(0), n);
  std::vector<double> partial(chunks);
  parallelFor(chunks, 4, [&](size_t cb, size_t ce, int) {
    for (size_t c = cb; c < ce; ++c) {
      size_t b = c * kSumChunk;
      size_t e = b + kSumChunk < n ? b + kSumChunk : n;
      partial[c] = chunkFn(b, e);
    }
  });
  double s = 0.0;
  for (double p : partial) s += p;
  return s;
}

// Sum of x[b..e) in double with 8 interleaved accumulators (a fixed order).
inline double sumRangeD(const float* x, size_t b, size_t e) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = b;
  for (; i + 8 <= e; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += static_cast<double>(x[i + k]);
  for (int k = 0; i < e; ++i, ++k) acc[k] += static_cast<double>(x[i]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace wk
