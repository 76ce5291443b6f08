// Block-causal attention on the GPU, the FlashAttention form of cpp/attention.h (same masks,
// layouts and null conventions): q [BH,Tq,dh], k/v [BH,Tk,dh]; query i (position i + Tk - Tq)
// sees key j iff floor(j / bs) <= floor(pos / bs).
//
// Launch shapes (no atomics, so results are deterministic). A row (a query or a key) belongs to
// DH / 32 adjacent threads of one warp, each holding 32 of its head-size elements in registers
// (DH = 32, 64, 128: the template bound dh is zero-padded to); their dot products are summed with
// shuffles among the row's lanes. So a thread's registers do not grow with dh (no spills: the
// build fails on any, cuda/cuda.cmake).
//   forward: one block per (bh, tile of kRows = 64 queries); K and V tiles of kCols = 32 keys staged
//     in shared memory (every row reads the same key: a broadcast), the tile's scores, running max
//     and sum, and the output chunk in registers (online softmax); writes o and lse = max + log(sum).
//   backward: D_i = rowsum(dO_i * O_i) (a thread per row, into the workspace); dK/dV: one block
//     per (bh, tile of 64 keys), the query rows that see the tile staged in shared memory 32 at a
//     time with their dO, lse, D and visible ends; dQ: one block per (bh, query tile), K/V tiles in
//     shared memory as in the forward. Scores and probabilities are recomputed from lse tile by
//     tile; nothing of size Tq x Tk is stored. dh > 128 is refused (cudaErrorInvalidValue).
//
// Roofline (per head, T queries = keys): forward 4 T^2 dh flops for full attention, about half
// for block-causal; backward 2.5x forward useful work (3.5x with the recomputed scores). Memory:
// q, o, dO rows once per block, K/V once per query tile (T/kRows passes over K and V): for
// T = 272, dh = 32 about 5 passes over 35 KB per head, so compute- and latency-bound, not DRAM.
//
// Versions: 1: a thread per row with the whole row in registers (spilled at dh 64 and 128).
// 2 (this): 32-element chunks per thread, rows split over DH / 32 lanes. fp32 FMAs, no tensor
// cores: an mma version with warp tiles is the next step. Tested through the CPU emulation; not
// yet timed on a GPU.
#include "wk_cuda.cuh"

namespace wk {
namespace cuda {
namespace {

constexpr unsigned kRows = 64;  // rows (queries or keys) per block
constexpr unsigned kCols = 32;  // keys (forward, dQ) or queries (dK/dV) per shared-memory tile
constexpr int kChunk = 32;      // head-size elements per thread: a row is DH / kChunk threads

struct Dims {
  unsigned long long BH, Tq, Tk, dh, bs;
  float scale;
  unsigned long long kvRows;  // rows per head of k and v (a cache's capacity; Tk in the backward)
};

__device__ __forceinline__ unsigned long long visibleEnd(const Dims& d, unsigned long long i) {
  const unsigned long long p = i + (d.Tk - d.Tq);
  const unsigned long long end = (p / d.bs + 1) * d.bs;
  return end < d.Tk ? end : d.Tk;
}

// The thread's place: row (threadIdx.x / TPR) of the block and chunk (threadIdx.x % TPR) of the
// head dimension; the TPR threads of a row are adjacent lanes of one warp.
template <int DH>
struct Lane {
  static constexpr int TPR = DH / kChunk;
  unsigned row, part;
  unsigned mask;  // the lanes of this row, for the shuffles that sum a dot product over its chunks
  __device__ Lane() : row(threadIdx.x / TPR), part(threadIdx.x % TPR) {
    const unsigned lane = threadIdx.x % 32;
    mask = TPR == 1 ? 1u << lane : ((TPR == 32 ? 0xffffffffu : (1u << TPR) - 1u) << (lane / TPR * TPR));
  }
  // Sum over the row's chunks (every lane of the row gets it).
  __device__ __forceinline__ float rowSum(float v) const {
#pragma unroll
    for (int o = TPR / 2; o > 0; o >>= 1) v += __shfl_xor_sync(mask, v, o);
    return v;
  }
};

// rows [r0, r0 + kCols) of src ([rowsTotal, dh]) into dst [kCols][DH], zero-padded.
template <int DH>
__device__ __forceinline__ void stageTile(float (*dst)[DH], const float* __restrict__ src, unsigned long long r0,
                                          unsigned long long rowsTotal, unsigned long long dh) {
  for (unsigned idx = threadIdx.x; idx < kCols * DH; idx += blockDim.x) {
    const unsigned c = idx / DH, dd = idx % DH;
    const unsigned long long r = r0 + c;
    dst[c][dd] = (r < rowsTotal && dd < dh) ? src[r * dh + dd] : 0.0f;
  }
}

// This thread's chunk of a row (elements [part * kChunk, +kChunk) of dh), zero-padded, times mul.
__device__ __forceinline__ void loadChunk(float* dst, const float* __restrict__ row, unsigned part,
                                          unsigned long long dh, bool ok, float mul = 1.0f) {
#pragma unroll
  for (int e = 0; e < kChunk; ++e) {
    const unsigned long long dd = part * kChunk + e;
    dst[e] = (ok && dd < dh) ? row[dd] * mul : 0.0f;
  }
}
__device__ __forceinline__ void storeChunk(float* row, const float* src, unsigned part, unsigned long long dh,
                                           float mul = 1.0f) {
#pragma unroll
  for (int e = 0; e < kChunk; ++e) {
    const unsigned long long dd = part * kChunk + e;
    if (dd < dh) row[dd] = src[e] * mul;
  }
}

template <int DH>
__global__ void __launch_bounds__(kRows * (DH / kChunk))
    forwardKernel(Dims d, const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                  float* __restrict__ o, float* __restrict__ lse) {
  __shared__ float Ks[kCols][DH];
  __shared__ float Vs[kCols][DH];
  const Lane<DH> L;
  const unsigned long long tilesQ = (d.Tq + kRows - 1) / kRows;
  const unsigned long long bh = blockIdx.x / tilesQ, i0 = (blockIdx.x % tilesQ) * kRows;
  const unsigned long long i = i0 + L.row;
  const bool active = i < d.Tq;
  const float* K = k + bh * d.kvRows * d.dh;
  const float* V = v + bh * d.kvRows * d.dh;
  const unsigned base = L.part * kChunk;
  float qr[kChunk], acc[kChunk];
  loadChunk(qr, q + (bh * d.Tq + i) * d.dh, L.part, d.dh, active, d.scale);
#pragma unroll
  for (int e = 0; e < kChunk; ++e) acc[e] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  const unsigned long long end = active ? visibleEnd(d, i) : 0;
  const unsigned long long last = (i0 + kRows < d.Tq ? i0 + kRows : d.Tq) - 1;
  const unsigned long long kEnd = visibleEnd(d, last);
  for (unsigned long long j0 = 0; j0 < kEnd; j0 += kCols) {
    __syncthreads();  // the previous tile is consumed
    stageTile<DH>(Ks, K, j0, d.Tk, d.dh);
    stageTile<DH>(Vs, V, j0, d.Tk, d.dh);
    __syncthreads();
    if (end <= j0) continue;  // the same for every lane of a row
    const unsigned long long n = end - j0;  // visible columns of this tile (>= kCols: all)
    float s[kCols];
    float mt = -INFINITY;
#pragma unroll
    for (unsigned c = 0; c < kCols; ++c) {
      float dot = 0.0f;
#pragma unroll
      for (int e = 0; e < kChunk; ++e) dot = fmaf(qr[e], Ks[c][base + e], dot);
      dot = L.rowSum(dot);
      s[c] = c < n ? dot : -INFINITY;
      mt = fmaxf(mt, s[c]);
    }
    const float mNew = fmaxf(m, mt);
    const float corr = __expf(m - mNew);  // 0 on the first tile (m = -inf)
    float sum = 0.0f;
#pragma unroll
    for (unsigned c = 0; c < kCols; ++c) {
      s[c] = c < n ? __expf(s[c] - mNew) : 0.0f;
      sum += s[c];
    }
    l = l * corr + sum;
    m = mNew;
#pragma unroll
    for (int e = 0; e < kChunk; ++e) {
      float a = acc[e] * corr;
#pragma unroll
      for (unsigned c = 0; c < kCols; ++c) a = fmaf(s[c], Vs[c][base + e], a);
      acc[e] = a;
    }
  }
  if (!active) return;
  storeChunk(o + (bh * d.Tq + i) * d.dh, acc, L.part, d.dh, 1.0f / l);
  if (L.part == 0) lse[bh * d.Tq + i] = m + logf(l);
}

// D[r] = go[r] . o[r] over BH*Tq rows.
__global__ void __launch_bounds__(256) rowDotKernel(const float* __restrict__ go, const float* __restrict__ o,
                                                    unsigned long long rows, unsigned long long dh,
                                                    float* __restrict__ D) {
  for (unsigned long long r = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; r < rows;
       r += (unsigned long long)gridDim.x * blockDim.x) {
    float s = 0.0f;
    for (unsigned long long dd = 0; dd < dh; ++dd) s = fmaf(go[r * dh + dd], o[r * dh + dd], s);
    D[r] = s;
  }
}

template <int DH>
__global__ void __launch_bounds__(kRows * (DH / kChunk))
    keyTileKernel(Dims d, const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                  const float* __restrict__ lse, const float* __restrict__ go, const float* __restrict__ D,
                  float* __restrict__ gk, float* __restrict__ gv) {
  __shared__ float Qs[kCols][DH];
  __shared__ float Gs[kCols][DH];
  __shared__ float Ls[kCols], Ds[kCols];
  __shared__ unsigned long long Es[kCols];  // the staged rows' visible ends (one 64-bit division per row, not per key)
  const Lane<DH> L;
  const unsigned long long tilesK = (d.Tk + kRows - 1) / kRows;
  const unsigned long long bh = blockIdx.x / tilesK, j0 = (blockIdx.x % tilesK) * kRows;
  const unsigned long long j = j0 + L.row;
  const bool active = j < d.Tk;
  const unsigned base = L.part * kChunk;
  float kr[kChunk], vr[kChunk], dk[kChunk], dv[kChunk];
  loadChunk(kr, k + (bh * d.Tk + j) * d.dh, L.part, d.dh, active, d.scale);
  loadChunk(vr, v + (bh * d.Tk + j) * d.dh, L.part, d.dh, active);
#pragma unroll
  for (int e = 0; e < kChunk; ++e) dk[e] = dv[e] = 0.0f;
  const float* Q = q + bh * d.Tq * d.dh;
  const float* G = go + bh * d.Tq * d.dh;
  // The first query that sees key j0 sits at position floor(j0 / bs) * bs.
  const unsigned long long off = d.Tk - d.Tq, firstPos = j0 / d.bs * d.bs;
  const unsigned long long iStart = firstPos > off ? firstPos - off : 0;
  for (unsigned long long i0 = iStart; i0 < d.Tq; i0 += kCols) {
    __syncthreads();
    stageTile<DH>(Qs, Q, i0, d.Tq, d.dh);
    stageTile<DH>(Gs, G, i0, d.Tq, d.dh);
    if (threadIdx.x < kCols) {
      const unsigned long long i = i0 + threadIdx.x;
      Ls[threadIdx.x] = i < d.Tq ? lse[bh * d.Tq + i] : 0.0f;
      Ds[threadIdx.x] = i < d.Tq ? D[bh * d.Tq + i] : 0.0f;
      Es[threadIdx.x] = i < d.Tq ? visibleEnd(d, i) : 0;
    }
    __syncthreads();
    if (!active) continue;  // the same for every lane of a row
    for (unsigned r = 0; r < kCols && i0 + r < d.Tq; ++r) {
      if (j >= Es[r]) continue;
      float s = 0.0f, dp = 0.0f;
#pragma unroll
      for (int e = 0; e < kChunk; ++e) {
        s = fmaf(Qs[r][base + e], kr[e], s);
        dp = fmaf(Gs[r][base + e], vr[e], dp);
      }
      s = L.rowSum(s);
      dp = L.rowSum(dp);
      const float p = __expf(s - Ls[r]);
      const float ds = p * (dp - Ds[r]);
#pragma unroll
      for (int e = 0; e < kChunk; ++e) {
        dv[e] = fmaf(p, Gs[r][base + e], dv[e]);
        dk[e] = fmaf(ds, Qs[r][base + e], dk[e]);
      }
    }
  }
  if (!active) return;
  if (gk) storeChunk(gk + (bh * d.Tk + j) * d.dh, dk, L.part, d.dh, d.scale);
  if (gv) storeChunk(gv + (bh * d.Tk + j) * d.dh, dv, L.part, d.dh);
}

template <int DH>
__global__ void __launch_bounds__(kRows * (DH / kChunk))
    queryTileKernel(Dims d, const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                    const float* __restrict__ lse, const float* __restrict__ go, const float* __restrict__ D,
                    float* __restrict__ gq) {
  __shared__ float Ks[kCols][DH];
  __shared__ float Vs[kCols][DH];
  const Lane<DH> L;
  const unsigned long long tilesQ = (d.Tq + kRows - 1) / kRows;
  const unsigned long long bh = blockIdx.x / tilesQ, i0 = (blockIdx.x % tilesQ) * kRows;
  const unsigned long long i = i0 + L.row;
  const bool active = i < d.Tq;
  const float* K = k + bh * d.Tk * d.dh;
  const float* V = v + bh * d.Tk * d.dh;
  const unsigned base = L.part * kChunk;
  float qr[kChunk], gr[kChunk], dq[kChunk];
  loadChunk(qr, q + (bh * d.Tq + i) * d.dh, L.part, d.dh, active, d.scale);
  loadChunk(gr, go + (bh * d.Tq + i) * d.dh, L.part, d.dh, active);
#pragma unroll
  for (int e = 0; e < kChunk; ++e) dq[e] = 0.0f;
  const float li = active ? lse[bh * d.Tq + i] : 0.0f, Di = active ? D[bh * d.Tq + i] : 0.0f;
  const unsigned long long end = active ? visibleEnd(d, i) : 0;
  const unsigned long long last = (i0 + kRows < d.Tq ? i0 + kRows : d.Tq) - 1;
  const unsigned long long kEnd = visibleEnd(d, last);
  for (unsigned long long j0 = 0; j0 < kEnd; j0 += kCols) {
    __syncthreads();
    stageTile<DH>(Ks, K, j0, d.Tk, d.dh);
    stageTile<DH>(Vs, V, j0, d.Tk, d.dh);
    __syncthreads();
    if (end <= j0) continue;  // the same for every lane of a row
    const unsigned long long n = end - j0;
    for (unsigned c = 0; c < kCols && c < n; ++c) {
      float s = 0.0f, dp = 0.0f;
#pragma unroll
      for (int e = 0; e < kChunk; ++e) {
        s = fmaf(qr[e], Ks[c][base + e], s);
        dp = fmaf(gr[e], Vs[c][base + e], dp);
      }
      s = L.rowSum(s);
      dp = L.rowSum(dp);
      const float ds = __expf(s - li) * (dp - Di);
#pragma unroll
      for (int e = 0; e < kChunk; ++e) dq[e] = fmaf(ds, Ks[c][base + e], dq[e]);
    }
  }
  if (!active) return;
  storeChunk(gq + (bh * d.Tq + i) * d.dh, dq, L.part, d.dh, d.scale);
}

Dims dimsOf(const AttentionDims& a) {
  return Dims{a.BH, a.Tq, a.Tk, a.dh, a.tokensPerFrame, a.scale, attentionKvRows(a)};
}

unsigned blocksFor(size_t BH, size_t T) { return static_cast<unsigned>(BH * ((T + kRows - 1) / kRows)); }

template <int DH>
int forwardAt(const Dims& d, const float* q, const float* k, const float* v, float* o, float* lse, Stream stream) {
  WK_LAUNCH(forwardKernel<DH>, blocksFor(d.BH, d.Tq), kRows * (DH / kChunk), 0, asStream(stream), d, q, k, v, o, lse);
  return lastError();
}

template <int DH>
int backwardAt(const Dims& d, const float* q, const float* k, const float* v, const float* lse, const float* go,
               const float* D, float* gq, float* gk, float* gv, Stream stream) {
  if (gk || gv) {
    WK_LAUNCH(keyTileKernel<DH>, blocksFor(d.BH, d.Tk), kRows * (DH / kChunk), 0, asStream(stream), d, q, k, v, lse, go, D, gk, gv);
    if (int e = lastError()) return e;
  }
  if (gq && d.Tq) {
    WK_LAUNCH(queryTileKernel<DH>, blocksFor(d.BH, d.Tq), kRows * (DH / kChunk), 0, asStream(stream), d, q, k, v, lse, go, D, gq);
    if (int e = lastError()) return e;
  }
  return 0;
}

}  // namespace

int attentionForward(const AttentionDims& a, const float* q, const float* k, const float* v, float* o, float* lse,
                     Stream stream) {
  if (a.dh > kAttentionMaxHeadDim || a.tokensPerFrame == 0 || a.Tq > a.Tk || (a.kvRows && a.kvRows < a.Tk))
    return static_cast<int>(cudaErrorInvalidValue);
  if (a.BH == 0 || a.Tq == 0) return 0;
  const Dims d = dimsOf(a);
  if (a.dh <= 32) return forwardAt<32>(d, q, k, v, o, lse, stream);
  if (a.dh <= 64) return forwardAt<64>(d, q, k, v, o, lse, stream);
  return forwardAt<128>(d, q, k, v, o, lse, stream);
}

size_t attentionBackwardWorkspace(const AttentionDims& a) { return a.BH * a.Tq; }

int attentionBackward(const AttentionDims& a, const float* q, const float* k, const float* v, const float* o,
                      const float* lse, const float* go, float* gq, float* gk, float* gv, float* workspace,
                      Stream stream) {
  // The backward reads k and v of exactly Tk rows a head (no cache capacity).
  if (a.dh > kAttentionMaxHeadDim || a.tokensPerFrame == 0 || a.Tq > a.Tk || (a.kvRows && a.kvRows != a.Tk))
    return static_cast<int>(cudaErrorInvalidValue);
  if (a.BH == 0 || a.Tk == 0) return 0;
  const Dims d = dimsOf(a);
  const unsigned long long rows = a.BH * a.Tq;
  if (rows) {
    WK_LAUNCH(rowDotKernel, gridFor(rows, 256), 256, 0, asStream(stream), go, o, rows, (unsigned long long)a.dh,
              workspace);
    if (int e = lastError()) return e;
  }
  if (a.dh <= 32) return backwardAt<32>(d, q, k, v, lse, go, workspace, gq, gk, gv, stream);
  if (a.dh <= 64) return backwardAt<64>(d, q, k, v, lse, go, workspace, gq, gk, gv, stream);
  return backwardAt<128>(d, q, k, v, lse, go, workspace, gq, gk, gv, stream);
}

}  // namespace cuda
}  // namespace wk
