// Block-causal attention on the GPU, the FlashAttention form of cpp/attention.h (same masks,
// layouts and null conventions): q [BH,Tq,dh], k/v [BH,Tk,dh]; query i (position i + Tk - Tq)
// sees key j iff floor(j / bs) <= floor(pos / bs).
//
// Launch shapes (no atomics, so results are deterministic):
//   forward: one block of kRows threads per (bh, tile of kRows queries), a thread per query row;
//     K and V tiles of kCols keys staged in shared memory (every thread reads the same key: a
//     broadcast), the tile's scores, running max and sum, and the output row in registers
//     (online softmax); writes o and lse = max + log(sum).
//   backward: D_i = rowsum(dO_i * O_i) (a thread per row, into the workspace); dK/dV: one block
//     per (bh, tile of kRows keys), a thread per key, the query rows that see the tile staged in
//     shared memory kCols at a time with their dO, lse and D; dQ: one block per (bh, query tile),
//     K/V tiles in shared memory as in the forward. Scores and probabilities are recomputed from
//     lse tile by tile; nothing of size Tq x Tk is stored.
// The head size is a template bound (32, 64, 128): rows are zero-padded to it in registers and
// shared memory, so the inner loops unroll; dh > 128 is refused (cudaErrorInvalidValue).
//
// Roofline (per head, T queries = keys): forward 4 T^2 dh flops for full attention, about half
// for block-causal; backward 2.5x forward useful work (3.5x with the recomputed scores). Memory:
// q, o, dO rows once per block, K/V once per query tile (T/kRows passes over K and V): for
// T = 272, dh = 32 about 5 passes over 35 KB per head, so compute- and latency-bound, not DRAM.
//
// Versions: 1 (this): a thread per row, fp32 FMAs (no tensor cores); a tensor-core (mma) version
// with warp tiles is the next step for large dh.
#include "wk_cuda.cuh"

namespace wk {
namespace cuda {
namespace {

constexpr unsigned kRows = 64;  // threads per block = rows (queries or keys) per block
constexpr unsigned kCols = 32;  // keys (forward, dQ) or queries (dK/dV) per shared-memory tile

struct Dims {
  unsigned long long BH, Tq, Tk, dh, bs;
  float scale;
};

__device__ __forceinline__ unsigned long long visibleEnd(const Dims& d, unsigned long long i) {
  const unsigned long long p = i + (d.Tk - d.Tq);
  const unsigned long long end = (p / d.bs + 1) * d.bs;
  return end < d.Tk ? end : d.Tk;
}

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

template <int DH>
__device__ __forceinline__ void loadRow(float* dst, const float* __restrict__ src, unsigned long long dh, bool ok,
                                        float mul = 1.0f) {
#pragma unroll
  for (int dd = 0; dd < DH; ++dd) dst[dd] = (ok && dd < (int)dh) ? src[dd] * mul : 0.0f;
}

template <int DH>
__global__ void __launch_bounds__(kRows) forwardKernel(Dims d, const float* __restrict__ q, const float* __restrict__ k,
                                                       const float* __restrict__ v, float* __restrict__ o,
                                                       float* __restrict__ lse) {
  __shared__ float Ks[kCols][DH];
  __shared__ float Vs[kCols][DH];
  const unsigned long long tilesQ = (d.Tq + kRows - 1) / kRows;
  const unsigned long long bh = blockIdx.x / tilesQ, i0 = (blockIdx.x % tilesQ) * kRows;
  const unsigned long long i = i0 + threadIdx.x;
  const bool active = i < d.Tq;
  const float* K = k + bh * d.Tk * d.dh;
  const float* V = v + bh * d.Tk * d.dh;
  float qr[DH], acc[DH];
  loadRow<DH>(qr, q + (bh * d.Tq + i) * d.dh, d.dh, active, d.scale);
#pragma unroll
  for (int dd = 0; dd < DH; ++dd) acc[dd] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  const unsigned long long end = active ? visibleEnd(d, i) : 0;
  const unsigned long long last = (i0 + kRows < d.Tq ? i0 + kRows : d.Tq) - 1;
  const unsigned long long kEnd = visibleEnd(d, last);
  for (unsigned long long j0 = 0; j0 < kEnd; j0 += kCols) {
    __syncthreads();  // the previous tile is consumed
    stageTile<DH>(Ks, K, j0, d.Tk, d.dh);
    stageTile<DH>(Vs, V, j0, d.Tk, d.dh);
    __syncthreads();
    if (end <= j0) continue;
    const unsigned long long n = end - j0;  // visible columns of this tile (>= kCols: all)
    float s[kCols];
    float mt = -INFINITY;
#pragma unroll
    for (unsigned c = 0; c < kCols; ++c) {
      float dot = 0.0f;
#pragma unroll
      for (int dd = 0; dd < DH; ++dd) dot = fmaf(qr[dd], Ks[c][dd], dot);
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
    for (int dd = 0; dd < DH; ++dd) {
      float a = acc[dd] * corr;
#pragma unroll
      for (unsigned c = 0; c < kCols; ++c) a = fmaf(s[c], Vs[c][dd], a);
      acc[dd] = a;
    }
  }
  if (!active) return;
  const float inv = 1.0f / l;
  float* out = o + (bh * d.Tq + i) * d.dh;
#pragma unroll
  for (int dd = 0; dd < DH; ++dd)
    if (dd < (int)d.dh) out[dd] = acc[dd] * inv;
  lse[bh * d.Tq + i] = m + logf(l);
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
__global__ void __launch_bounds__(kRows) keyTileKernel(Dims d, const float* __restrict__ q, const float* __restrict__ k,
                                                       const float* __restrict__ v, const float* __restrict__ lse,
                                                       const float* __restrict__ go, const float* __restrict__ D,
                                                       float* __restrict__ gk, float* __restrict__ gv) {
  __shared__ float Qs[kCols][DH];
  __shared__ float Gs[kCols][DH];
  __shared__ float Ls[kCols], Ds[kCols];
  __shared__ unsigned long long Es[kCols];  // the staged rows' visible ends (one 64-bit division per row, not per key)
  const unsigned long long tilesK = (d.Tk + kRows - 1) / kRows;
  const unsigned long long bh = blockIdx.x / tilesK, j0 = (blockIdx.x % tilesK) * kRows;
  const unsigned long long j = j0 + threadIdx.x;
  const bool active = j < d.Tk;
  float kr[DH], vr[DH], dk[DH], dv[DH];
  loadRow<DH>(kr, k + (bh * d.Tk + j) * d.dh, d.dh, active, d.scale);
  loadRow<DH>(vr, v + (bh * d.Tk + j) * d.dh, d.dh, active);
#pragma unroll
  for (int dd = 0; dd < DH; ++dd) dk[dd] = dv[dd] = 0.0f;
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
    if (!active) continue;
    for (unsigned r = 0; r < kCols && i0 + r < d.Tq; ++r) {
      if (j >= Es[r]) continue;
      float s = 0.0f, dp = 0.0f;
#pragma unroll
      for (int dd = 0; dd < DH; ++dd) {
        s = fmaf(Qs[r][dd], kr[dd], s);
        dp = fmaf(Gs[r][dd], vr[dd], dp);
      }
      const float p = __expf(s - Ls[r]);
      const float ds = p * (dp - Ds[r]);
#pragma unroll
      for (int dd = 0; dd < DH; ++dd) {
        dv[dd] = fmaf(p, Gs[r][dd], dv[dd]);
        dk[dd] = fmaf(ds, Qs[r][dd], dk[dd]);
      }
    }
  }
  if (!active) return;
  const unsigned long long row = (bh * d.Tk + j) * d.dh;
#pragma unroll
  for (int dd = 0; dd < DH; ++dd)
    if (dd < (int)d.dh) {
      if (gk) gk[row + dd] = d.scale * dk[dd];
      if (gv) gv[row + dd] = dv[dd];
    }
}

template <int DH>
__global__ void __launch_bounds__(kRows) queryTileKernel(Dims d, const float* __restrict__ q,
                                                         const float* __restrict__ k, const float* __restrict__ v,
                                                         const float* __restrict__ lse, const float* __restrict__ go,
                                                         const float* __restrict__ D, float* __restrict__ gq) {
  __shared__ float Ks[kCols][DH];
  __shared__ float Vs[kCols][DH];
  const unsigned long long tilesQ = (d.Tq + kRows - 1) / kRows;
  const unsigned long long bh = blockIdx.x / tilesQ, i0 = (blockIdx.x % tilesQ) * kRows;
  const unsigned long long i = i0 + threadIdx.x;
  const bool active = i < d.Tq;
  const float* K = k + bh * d.Tk * d.dh;
  const float* V = v + bh * d.Tk * d.dh;
  float qr[DH], gr[DH], dq[DH];
  loadRow<DH>(qr, q + (bh * d.Tq + i) * d.dh, d.dh, active, d.scale);
  loadRow<DH>(gr, go + (bh * d.Tq + i) * d.dh, d.dh, active);
#pragma unroll
  for (int dd = 0; dd < DH; ++dd) dq[dd] = 0.0f;
  const float li = active ? lse[bh * d.Tq + i] : 0.0f, Di = active ? D[bh * d.Tq + i] : 0.0f;
  const unsigned long long end = active ? visibleEnd(d, i) : 0;
  const unsigned long long last = (i0 + kRows < d.Tq ? i0 + kRows : d.Tq) - 1;
  const unsigned long long kEnd = visibleEnd(d, last);
  for (unsigned long long j0 = 0; j0 < kEnd; j0 += kCols) {
    __syncthreads();
    stageTile<DH>(Ks, K, j0, d.Tk, d.dh);
    stageTile<DH>(Vs, V, j0, d.Tk, d.dh);
    __syncthreads();
    if (end <= j0) continue;
    const unsigned long long n = end - j0;
    for (unsigned c = 0; c < kCols && c < n; ++c) {
      float s = 0.0f, dp = 0.0f;
#pragma unroll
      for (int dd = 0; dd < DH; ++dd) {
        s = fmaf(qr[dd], Ks[c][dd], s);
        dp = fmaf(gr[dd], Vs[c][dd], dp);
      }
      const float ds = __expf(s - li) * (dp - Di);
#pragma unroll
      for (int dd = 0; dd < DH; ++dd) dq[dd] = fmaf(ds, Ks[c][dd], dq[dd]);
    }
  }
  if (!active) return;
  float* out = gq + (bh * d.Tq + i) * d.dh;
#pragma unroll
  for (int dd = 0; dd < DH; ++dd)
    if (dd < (int)d.dh) out[dd] = d.scale * dq[dd];
}

Dims dimsOf(const AttentionDims& a) {
  return Dims{a.BH, a.Tq, a.Tk, a.dh, a.tokensPerFrame, a.scale};
}

unsigned blocksFor(size_t BH, size_t T) { return static_cast<unsigned>(BH * ((T + kRows - 1) / kRows)); }

template <int DH>
int forwardAt(const Dims& d, const float* q, const float* k, const float* v, float* o, float* lse, Stream stream) {
  WK_LAUNCH(forwardKernel<DH>, blocksFor(d.BH, d.Tq), kRows, 0, asStream(stream), d, q, k, v, o, lse);
  return lastError();
}

template <int DH>
int backwardAt(const Dims& d, const float* q, const float* k, const float* v, const float* lse, const float* go,
               const float* D, float* gq, float* gk, float* gv, Stream stream) {
  if (gk || gv) {
    WK_LAUNCH(keyTileKernel<DH>, blocksFor(d.BH, d.Tk), kRows, 0, asStream(stream), d, q, k, v, lse, go, D, gk, gv);
    if (int e = lastError()) return e;
  }
  if (gq && d.Tq) {
    WK_LAUNCH(queryTileKernel<DH>, blocksFor(d.BH, d.Tq), kRows, 0, asStream(stream), d, q, k, v, lse, go, D, gq);
    if (int e = lastError()) return e;
  }
  return 0;
}

}  // namespace

int attentionForward(const AttentionDims& a, const float* q, const float* k, const float* v, float* o, float* lse,
                     Stream stream) {
  if (a.dh > kAttentionMaxHeadDim || a.tokensPerFrame == 0 || a.Tq > a.Tk) return static_cast<int>(cudaErrorInvalidValue);
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
  if (a.dh > kAttentionMaxHeadDim || a.tokensPerFrame == 0 || a.Tq > a.Tk) return static_cast<int>(cudaErrorInvalidValue);
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
