// Data movement on the CPU: N-d permute (transpose), box copy (slice / concat / pad), and the
// bias gradient (column sums of a row-major [R, O] matrix).
//
// Roofline: all three are memory bound (no arithmetic to speak of: biasGrad does one add per
// element read), so the target is memory bandwidth: read each input byte once, write each output
// byte once, in long contiguous runs.
//
// Versions:
//   - permute: the axes are first simplified (size-1 axes dropped, output axes that stay adjacent
//     in the input merged), then either (a) the innermost output axis is the innermost input axis:
//     contiguous runs copied with memcpy, or (b) the innermost input axis moved: a 2-d transpose
//     between that axis and the innermost output axis, in 32x32 tiles so both sides stay in cache.
//   - copyBox: trailing axes the box spans fully (in source and destination) are merged, then one
//     memcpy per contiguous run.
//   - biasGrad: per-thread blocks of columns, each column summed in row order in double, so the
//     result is independent of the thread count and of the blocking (and equal to a plain double loop).
// Elements are 1 or 4 bytes (uint8, int32/float32): the copies move bytes and never look at values.
// Work is split with parallelFor when large enough; every output element is written by one range.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wk {

// out = x permuted: out's axis i is x's axis perm[i]. shape has nd entries; perm is a permutation of [0, nd).
void permute(const void* x, void* out, size_t elemSize, const int64_t* shape, const int* perm, int nd);

// dst[dstBegin + i] = src[begin + i] for every index i in the box `size` (all shapes of rank nd;
// nd = 0 copies one element).
void copyBox(const void* src, const int64_t* srcShape, const int64_t* begin, const int64_t* size, void* dst,
             const int64_t* dstShape, const int64_t* dstBegin, int nd, size_t elemSize);

// out[o] = sum_r g[r * O + o], accumulated in double in row order.
void biasGrad(const float* g, size_t R, size_t O, float* out);

// Plain references for tests and benchmarks: one element at a time, no simplification, one thread.
void permuteReference(const void* x, void* out, size_t elemSize, const int64_t* shape, const int* perm, int nd);

}  // namespace wk
