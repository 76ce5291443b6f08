// A small persistent thread pool for the CPU kernels.
//
// parallelFor(n, fn) splits [0, n) into one contiguous range per thread (the caller runs the
// first); kernels make every output element the work of exactly one range, with a fixed
// reduction order inside it, so results do not depend on the thread count.
#pragma once
#include <cstddef>
#include <functional>

namespace wk {

// Number of threads kernels use (the caller included). Defaults to the hardware concurrency,
// or WORLDKIT_NUM_THREADS when set.
int numThreads();
void setNumThreads(int n);

// Calls fn(begin, end, threadIndex) on disjoint ranges covering [0, n); ranges are at least
// `grain` long so tiny loops stay on the caller. Returns when all ranges are done.
void parallelFor(size_t n, size_t grain, const std::function<void(size_t, size_t, int)>& fn);

}  // namespace wk
