// Data movement kernels (see data_movement.h for the what, the roofline and the versions).
#include "data_movement.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "thread_pool.h"

namespace wk {
namespace {

// Work items below this many bytes stay on the calling thread.
constexpr size_t kGrainBytes = 1 << 16;

struct Axis {
  int64_t size;
  int64_t srcStride;  // in elements
  int64_t dstStride;  // in elements
};

// Copies the runs of `run` elements at the output positions [o0, o1) of an index space `axes`
// (outer axes only; each item is one run).
void copyRuns(const uint8_t* src, uint8_t* dst, const std::vector<Axis>& axes, size_t runBytes, size_t elemSize,
              size_t o0, size_t o1) {
  const size_t nd = axes.size();
  std::vector<int64_t> idx(nd, 0);
  size_t rem = o0;
  int64_t so = 0, dof = 0;
  for (size_t d = nd; d-- > 0;) {
    idx[d] = static_cast<int64_t>(rem % static_cast<size_t>(axes[d].size));
    rem /= static_cast<size_t>(axes[d].size);
    so += idx[d] * axes[d].srcStride;
    dof += idx[d] * axes[d].dstStride;
  }
  for (size_t o = o0; o < o1; ++o) {
    std::memcpy(dst + static_cast<size_t>(dof) * elemSize, src + static_cast<size_t>(so) * elemSize, runBytes);
    for (size_t d = nd; d-- > 0;) {
      so += axes[d].srcStride;
      dof += axes[d].dstStride;
      if (++idx[d] < axes[d].size) break;
      so -= axes[d].size * axes[d].srcStride;
      dof -= axes[d].size * axes[d].dstStride;
      idx[d] = 0;
    }
  }
}

// One contiguous-run copy over outer axes, split across threads.
void parallelRuns(const uint8_t* src, uint8_t* dst, const std::vector<Axis>& outer, size_t run, size_t elemSize) {
  size_t count = 1;
  for (const Axis& a : outer) count *= static_cast<size_t>(a.size);
  const size_t runBytes = run * elemSize;
  const size_t grain = std::max<size_t>(1, kGrainBytes / std::max<size_t>(1, runBytes));
  parallelFor(count, grain, [&](size_t o0, size_t o1, int) { copyRuns(src, dst, outer, runBytes, elemSize, o0, o1); });
}

// 2-d tiled transpose: for every index of `rest`, dst[i * dA + j] = src[i + j * sB] over i < A, j < Bn
// (A: the output axis that is the source's innermost, Bn: the output's innermost axis).
template <typename T>
void transposeTiles(const T* src, T* dst, const std::vector<Axis>& rest, int64_t A, int64_t dA, int64_t Bn,
                    int64_t sB) {
  constexpr int64_t kTile = 32;
  size_t restCount = 1;
  for (const Axis& a : rest) restCount *= static_cast<size_t>(a.size);
  const size_t tilesA = static_cast<size_t>((A + kTile - 1) / kTile);
  const size_t items = restCount * tilesA;
  const size_t itemBytes = static_cast<size_t>(std::min(A, kTile) * Bn) * sizeof(T);
  const size_t grain = std::max<size_t>(1, kGrainBytes / std::max<size_t>(1, itemBytes));
  parallelFor(items, grain, [&](size_t i0, size_t i1, int) {
    for (size_t it = i0; it < i1; ++it) {
      size_t r = it / tilesA;
      const int64_t a0 = static_cast<int64_t>(it % tilesA) * kTile, a1 = std::min(A, a0 + kTile);
      int64_t so = 0, dof = 0;
      for (size_t d = rest.size(); d-- > 0;) {
        int64_t k = static_cast<int64_t>(r % static_cast<size_t>(rest[d].size));
        r /= static_cast<size_t>(rest[d].size);
        so += k * rest[d].srcStride;
        dof += k * rest[d].dstStride;
      }
      const T* s = src + so;
      T* o = dst + dof;
      for (int64_t b0 = 0; b0 < Bn; b0 += kTile) {
        const int64_t b1 = std::min(Bn, b0 + kTile);
        for (int64_t i = a0; i < a1; ++i) {
          T* orow = o + i * dA;
          const T* scol = s + i;
          for (int64_t j = b0; j < b1; ++j) orow[j] = scol[j * sB];
        }
      }
    }
  });
}

}  // namespace

void permute(const void* x, void* out, size_t elemSize, const int64_t* shape, const int* perm, int nd) {
  std::vector<int64_t> inStride(static_cast<size_t>(nd));
  int64_t total = 1;
  for (int d = nd; d-- > 0;) {
    inStride[static_cast<size_t>(d)] = total;
    total *= shape[d];
  }
  if (total == 0) return;
  // Output axes in output order with their source strides; size-1 axes dropped; neighbours merged
  // when they are also neighbours (in the same order) in the source.
  std::vector<Axis> axes;
  for (int i = 0; i < nd; ++i) {
    const int64_t n = shape[perm[i]];
    if (n == 1) continue;
    const int64_t st = inStride[static_cast<size_t>(perm[i])];
    if (!axes.empty() && axes.back().srcStride == st * n) {
      axes.back().size *= n;
      axes.back().srcStride = st;
    } else {
      axes.push_back({n, st, 0});
    }
  }
  const auto* s = static_cast<const uint8_t*>(x);
  auto* o = static_cast<uint8_t*>(out);
  if (axes.empty()) {
    std::memcpy(o, s, elemSize);
    return;
  }
  int64_t ds = 1;
  for (size_t d = axes.size(); d-- > 0;) {
    axes[d].dstStride = ds;
    ds *= axes[d].size;
  }
  if (axes.back().srcStride == 1) {  // (a) contiguous trailing run
    const size_t run = static_cast<size_t>(axes.back().size);
    axes.pop_back();
    parallelRuns(s, o, axes, run, elemSize);
    return;
  }
  // (b) the source's innermost axis (stride 1) moved to output position q.
  size_t q = 0;
  while (axes[q].srcStride != 1) ++q;
  const Axis a = axes[q], b = axes.back();
  std::vector<Axis> rest;
  for (size_t d = 0; d + 1 < axes.size(); ++d)
    if (d != q) rest.push_back(axes[d]);
  if (elemSize == 4)
    transposeTiles(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(out), rest, a.size, a.dstStride, b.size,
                   b.srcStride);
  else
    transposeTiles(s, o, rest, a.size, a.dstStride, b.size, b.srcStride);
}

void permuteReference(const void* x, void* out, size_t elemSize, const int64_t* shape, const int* perm, int nd) {
  std::vector<int64_t> inStride(static_cast<size_t>(nd)), idx(static_cast<size_t>(nd), 0);
  int64_t total = 1;
  for (int d = nd; d-- > 0;) {
    inStride[static_cast<size_t>(d)] = total;
    total *= shape[d];
  }
  const auto* s = static_cast<const uint8_t*>(x);
  auto* o = static_cast<uint8_t*>(out);
  for (int64_t k = 0; k < total; ++k) {
    int64_t so = 0;
    for (int d = 0; d < nd; ++d) so += idx[static_cast<size_t>(d)] * inStride[static_cast<size_t>(perm[d])];
    std::memcpy(o + static_cast<size_t>(k) * elemSize, s + static_cast<size_t>(so) * elemSize, elemSize);
    for (int d = nd; d-- > 0;) {
      if (++idx[static_cast<size_t>(d)] < shape[perm[d]]) break;
      idx[static_cast<size_t>(d)] = 0;
    }
  }
}

void copyBox(const void* src, const int64_t* srcShape, const int64_t* begin, const int64_t* size, void* dst,
             const int64_t* dstShape, const int64_t* dstBegin, int nd, size_t elemSize) {
  for (int d = 0; d < nd; ++d)
    if (size[d] == 0) return;
  const auto* s = static_cast<const uint8_t*>(src);
  auto* o = static_cast<uint8_t*>(dst);
  if (nd == 0) {
    std::memcpy(o, s, elemSize);
    return;
  }
  // Axes innermost first while the box spans them fully on both sides: one merged axis.
  std::vector<Axis> axes(static_cast<size_t>(nd));
  int64_t so = 0, dof = 0, ss = 1, dss = 1;
  for (int d = nd; d-- > 0;) {
    axes[static_cast<size_t>(d)] = {size[d], ss, dss};
    so += begin[d] * ss;
    dof += dstBegin[d] * dss;
    ss *= srcShape[d];
    dss *= dstShape[d];
  }
  while (axes.size() > 1) {
    const Axis& last = axes.back();
    Axis& prev = axes[axes.size() - 2];
    // The last axis is spanned fully on both sides iff the previous axis' strides are its size.
    if (prev.srcStride != last.size * last.srcStride || prev.dstStride != last.size * last.dstStride) break;
    prev = {prev.size * last.size, last.srcStride, last.dstStride};
    axes.pop_back();
  }
  const size_t run = static_cast<size_t>(axes.back().size);
  axes.pop_back();
  parallelRuns(s + static_cast<size_t>(so) * elemSize, o + static_cast<size_t>(dof) * elemSize, axes, run, elemSize);
}

void biasGrad(const float* g, size_t R, size_t O, float* out) {
  constexpr size_t kBlock = 256;  // columns per accumulator block (2 KiB of doubles)
  const size_t blocks = (O + kBlock - 1) / kBlock;
  const size_t grain = std::max<size_t>(1, (kGrainBytes / sizeof(float)) / std::max<size_t>(1, R * kBlock));
  parallelFor(blocks, grain, [&](size_t b0, size_t b1, int) {
    double acc[kBlock];
    for (size_t blk = b0; blk < b1; ++blk) {
      const size_t c0 = blk * kBlock, n = std::min(kBlock, O - c0);
      std::fill(acc, acc + n, 0.0);
      for (size_t r = 0; r < R; ++r) {
        const float* row = g + r * O + c0;
        for (size_t c = 0; c < n; ++c) acc[c] += static_cast<double>(row[c]);
      }
      for (size_t c = 0; c < n; ++c) out[c0 + c] = static_cast<float>(acc[c]);
    }
  });
}

}  // namespace wk
