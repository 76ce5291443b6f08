// Sum reductions over axes, in a fixed order independent of the thread count.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wk {

// out[o, i] = scale * sum_r x[o, r, i]  (x viewed as [outer, red, inner]); sums in double.
void reduceSum3(const float* x, size_t outer, size_t red, size_t inner, float* out, double scale);

// Sums x (shape, rank nd <= 6) over the axes whose bit is set in axisMask; out holds the result
// with those axes removed (or kept as 1: same layout), times scale.
void reduceSum(const float* x, const int64_t* shape, int nd, unsigned axisMask, float* out, double scale);

// Sum of all elements in double (fixed order).
double sumAll(const float* x, size_t n);

}  // namespace wk
