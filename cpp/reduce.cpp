// Sum reductions (issue 2): over all elements or any set of axes, in a fixed order.
//
// Every reduction is a sequence of [outer, red, inner] sums (adjacent reduced axes merged, one
// group of reduced axes per pass). Sums are taken in double:
//  - inner == 1 (a contiguous run): the run is cut into fixed chunks of kSumChunk elements, each
//    summed with 8 interleaved accumulators, and the chunk partials added in chunk order;
//  - inner > 1: blocks of up to 512 columns accumulate over r = 0..red-1 in order.
// The chunking never depends on the thread count, so the bits are the same on 1 or N threads.
#include "reduce.h"

#include <algorithm>
#include <vector>

#include "fixed_sum.h"
#include "thread_pool.h"

namespace wk {

void reduceSum3(const float* x, size_t outer, size_t red, size_t inner, float* out, double scale) {
  if (outer == 0 || inner == 0) return;
  if (red == 0) {
    std::fill(out, out + outer * inner, 0.0f);
    return;
  }
  if (inner == 1) {
    size_t nch = (red + kSumChunk - 1) / kSumChunk;
    if (nch == 1) {
      size_t grain = std::max<size_t>(1, (1 << 15) / red);
      parallelFor(outer, grain, [&](size_t b, size_t e, int) {
        for (size_t o = b; o < e; ++o) out[o] = static_cast<float>(sumRangeD(x + o * red, 0, red) * scale);
      });
      return;
    }
    std::vector<double> partial(outer * nch);
    parallelFor(outer * nch, 4, [&](size_t b, size_t e, int) {
      for (size_t t = b; t < e; ++t) {
        size_t o = t / nch, c = t % nch;
        size_t cb = c * kSumChunk, ce = std::min(red, cb + kSumChunk);
        partial[t] = sumRangeD(x + o * red, cb, ce);
      }
    });
    for (size_t o = 0; o < outer; ++o) {
      double s = 0;
      for (size_t c = 0; c < nch; ++c) s += partial[o * nch + c];
      out[o] = static_cast<float>(s * scale);
    }
    return;
  }
  constexpr size_t kBlock = 512;
  size_t nb = (inner + kBlock - 1) / kBlock;
  size_t work = red * std::min(inner, kBlock);
  size_t grain = std::max<size_t>(1, (1 << 15) / std::max<size_t>(work, 1));
  parallelFor(outer * nb, grain, [&](size_t b, size_t e, int) {
    double acc[kBlock];
    for (size_t t = b; t < e; ++t) {
      size_t o = t / nb, blk = t % nb;
      size_t i0 = blk * kBlock, len = std::min(kBlock, inner - i0);
      std::fill(acc, acc + len, 0.0);
      const float* base = x + o * red * inner + i0;
      for (size_t r = 0; r < red; ++r) {
        const float* row = base + r * inner;
        for (size_t i = 0; i < len; ++i) acc[i] += static_cast<double>(row[i]);
      }
      float* dst = out + o * inner + i0;
      for (size_t i = 0; i < len; ++i) dst[i] = static_cast<float>(acc[i] * scale);
    }
  });
}

void reduceSum(const float* x, const int64_t* shape, int nd, unsigned axisMask, float* out, double scale) {
  // Collapse: drop size-1 dims, merge neighbours of the same kind (kept / reduced).
  std::vector<size_t> dims;
  std::vector<bool> reduced;
  size_t total = 1;
  for (int d = 0; d < nd; ++d) {
    total *= static_cast<size_t>(shape[d]);
    if (shape[d] == 1) continue;
    bool r = (axisMask >> d) & 1u;
    if (!dims.empty() && reduced.back() == r) dims.back() *= static_cast<size_t>(shape[d]);
    else {
      dims.push_back(static_cast<size_t>(shape[d]));
      reduced.push_back(r);
    }
  }
  if (total == 0) {
    // Output elements are sums over nothing (or there are none).
    size_t outN = 1;
    for (int d = 0; d < nd; ++d)
      if (!((axisMask >> d) & 1u)) outN *= static_cast<size_t>(shape[d]);
    std::fill(out, out + outN, 0.0f);
    return;
  }
  int groups = 0;
  for (bool r : reduced) groups += r;
  if (groups == 0) {
    for (size_t i = 0; i < total; ++i) out[i] = static_cast<float>(x[i] * scale);
    return;
  }
  // Reduce the innermost reduced group first, then the next, ... into temporaries.
  std::vector<float> bufA, bufB;
  const float* src = x;
  int done = 0;
  for (int g = static_cast<int>(dims.size()) - 1; g >= 0; --g) {
    if (!reduced[g]) continue;
    size_t outer = 1, inner = 1;
    for (int k = 0; k < g; ++k) outer *= dims[k];
    for (size_t k = g + 1; k < dims.size(); ++k) inner *= dims[k];
    size_t red = dims[g];
    bool last = ++done == groups;
    float* dst;
    if (last) dst = out;
    else {
      std::vector<float>& buf = (src == bufA.data() && !bufA.empty()) ? bufB : bufA;
      buf.assign(outer * inner, 0.0f);
      dst = buf.data();
    }
    reduceSum3(src, outer, red, inner, dst, last ? scale : 1.0);
    src = dst;
    dims[g] = 1;
  }
}

double sumAll(const float* x, size_t n) {
  return fixedOrderSum(n, [&](size_t b, size_t e) { return sumRangeD(x, b, e); });
}

}  // namespace wk
