// GEMM building blocks shared by every instruction set, written once over a small vector type V
// and instantiated in gemm_portable.cpp (plain C++), gemm_avx2.cpp (8 lanes, FMA) and
// gemm_avx512.cpp (16 lanes), each compiled with its own flags. Everything here sits in an
// anonymous namespace so each translation unit keeps its own copy (no ODR mixing of code built
// for different instruction sets).
//
// V provides: W (lanes), T (register type), zero(), set1(x), load(p), loadN(p, n) (first n lanes,
// rest 0), store(p, v), storeN(p, v, n), fma(a, b, c) = a*b+c, mul(a, b), reduce(v) (sum of the
// lanes in a fixed tree), sfma(a, b, c) (scalar a*b+c, fused exactly where V's fma is).
// transpose(src, lds, dst, ldd) (a W x W block, for packing a transposed B).
//
// Four paths (chosen in gemm.cpp from the shape and instruction set, never from the thread count):
//   packed  GotoBLAS-style: B panels (kc x nc) and A blocks (mc x kc) packed into reusable
//           thread-local buffers; an MR x NR register-blocked microkernel.
//   rows    small M, B not transposed: B is streamed from where it lies (no packing, which would
//           cost as much as the whole product); an R x (NV*W) register tile walks B's rows.
//   dots    small M, B transposed (x . W^T, the Linear forward): C[i][j] is a dot product of two
//           contiguous rows; an R x C tile of vector accumulators, reduced at the end.
//   panels  mid-size M, B transposed: op(B) transposed into column panels of NT ([K][NT], the
//           rows path's tile width), then the rows path over each panel. The panels can be
//           packed once and reused (gemmPackedB in gemm.h: a recurrence's weights), with the
//           same bits as packing them per call.
// In every path an element of C is one FMA chain over k = 0..K-1 in order (the packed path
// restarts the chain per kc block, kc fixed by K), then C = alpha*acc + beta*C, whatever the
// tile or thread it falls in, so results are bit-identical for any thread count.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace wk {
namespace gemm_detail {

// A grow-only 64-byte-aligned scratch buffer (one per thread and purpose): no malloc once warm.
struct Scratch {
  float* p = nullptr;
  size_t cap = 0;
  float* get(size_t n) {
    if (n > cap) {
      std::free(p);
      size_t bytes = ((n * sizeof(float) + 4095) / 4096) * 4096;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      cap = bytes / sizeof(float);
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};

}  // namespace gemm_detail
}  // namespace wk

namespace {

using std::size_t;

template <class V>
inline typename V::T finish(typename V::T acc, const float* c, float alpha, float beta, int n) {
  // beta == 0: C is never read.
  if (beta == 0.0f) return V::mul(V::set1(alpha), acc);
  typename V::T cv = n == V::W ? V::load(c) : V::loadN(c, n);
  if (beta != 1.0f) cv = V::mul(V::set1(beta), cv);
  return V::fma(V::set1(alpha), acc, cv);
}

// ---------------------------------------------------------------------------------------------
// Packing. A block: mc x kc of op(A) into micro-panels of MR rows, [panel][k][MR], rows past mc
// zero. B panel: kc x nc of op(B) into micro-panels of NR columns, [panel][k][NR], zero padded.
template <int MR>
void packA(bool transA, const float* A, size_t lda, size_t i0, size_t mc, size_t k0, size_t kc, float* out) {
  for (size_t ip = 0; ip < mc; ip += MR) {
    const int rows = static_cast<int>(std::min<size_t>(MR, mc - ip));
    float* dst = out + ip * kc;
    if (transA) {
      // op(A)[i][k] = A[k][i]: rows of A hold MR consecutive i.
      for (size_t k = 0; k < kc; ++k) {
        const float* src = A + (k0 + k) * lda + i0 + ip;
        float* d = dst + k * MR;
        int r = 0;
        for (; r < rows; ++r) d[r] = src[r];
        for (; r < MR; ++r) d[r] = 0.0f;
      }
    } else {
      for (int r = 0; r < rows; ++r) {
        const float* src = A + (i0 + ip + r) * lda + k0;
        // The next panel's row r, one cache line per 16 floats: its loads then hit L1/L2 instead of
        // waiting on short per-row streams the hardware prefetcher barely ramps up on.
        if (ip + MR + r < mc) {
          const float* nxt = src + MR * lda;
          for (size_t k = 0; k < kc; k += 16) __builtin_prefetch(nxt + k, 0, 3);
        }
        for (size_t k = 0; k < kc; ++k) dst[k * MR + r] = src[k];
      }
      for (int r = rows; r < MR; ++r)
        for (size_t k = 0; k < kc; ++k) dst[k * MR + r] = 0.0f;
    }
  }
}

template <class V, int NR>
void packB(bool transB, const float* B, size_t ldb, size_t k0, size_t kc, size_t j0, size_t nc, float* out) {
  if (!transB) {
    // Row by row of B (nc contiguous floats each), scattering NR-wide pieces to the micro-panels:
    // the reads are one long stream per row, not kc short ones ldb apart per panel.
    const size_t full = nc / NR * NR;
    for (size_t k = 0; k < kc; ++k) {
      const float* src = B + (k0 + k) * ldb + j0;
      if (k + 4 < kc) {
        const float* ahead = src + 4 * ldb;
        for (size_t j = 0; j < nc; j += 16) __builtin_prefetch(ahead + j, 0, 3);
      }
      for (size_t jp = 0; jp < full; jp += NR) std::memcpy(out + jp * kc + k * NR, src + jp, sizeof(float) * NR);
      if (full < nc) {
        float* d = out + full * kc + k * NR;
        const int cols = static_cast<int>(nc - full);
        int c = 0;
        for (; c < cols; ++c) d[c] = src[full + c];
        for (; c < NR; ++c) d[c] = 0.0f;
      }
    }
    return;
  }
  // op(B)[k][j] = B[j][k]: W rows of B (contiguous along k) at a time, transposed W x W block by
  // block in registers into the panel's columns; ragged edges element by element.
  constexpr int W = V::W;
  for (size_t jp = 0; jp < nc; jp += NR) {
    const int cols = static_cast<int>(std::min<size_t>(NR, nc - jp));
    float* dst = out + jp * kc;
    const size_t kFull = kc / W * W;
    const int colsFull = cols / W * W;
    for (int c0 = 0; c0 < colsFull; c0 += W) {
      const float* src = B + (j0 + jp + c0) * ldb + k0;
      for (size_t k = 0; k < kFull; k += W) V::transpose(src + k, ldb, dst + k * NR + c0, NR);
      for (int c = c0; c < c0 + W; ++c)
        for (size_t k = kFull; k < kc; ++k) dst[k * NR + c] = src[(c - c0) * ldb + k];
    }
    for (int c = colsFull; c < cols; ++c) {
      const float* src = B + (j0 + jp + c) * ldb + k0;
      for (size_t k = 0; k < kc; ++k) dst[k * NR + c] = src[k];
    }
    for (int c = cols; c < NR; ++c)
      for (size_t k = 0; k < kc; ++k) dst[k * NR + c] = 0.0f;
  }
}

// ---------------------------------------------------------------------------------------------
// Packed microkernel: C[0:m, 0:n] (m <= MR, n <= NR) from packed panels a (kc x MR) and b (kc x NR).
template <class V, int MR, int NV>
void microKernel(size_t kc, const float* __restrict a, const float* __restrict b, float* c, size_t ldc, float alpha,
                 float beta, int m, int n) {
  constexpr int W = V::W;
  constexpr int NR = NV * W;
  typename V::T acc[MR][NV];
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  // The C tile is read (beta != 0) and written once, after kc steps: fetch its lines now so the
  // misses overlap the arithmetic instead of stalling the stores (C rarely fits in L2).
  for (int r = 0; r < m; ++r) {
    __builtin_prefetch(c + r * ldc, 1, 3);
    __builtin_prefetch(c + r * ldc + n - 1, 1, 3);
  }
  for (size_t k = 0; k < kc; ++k) {
    typename V::T bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = V::load(b + v * W);
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      typename V::T av = V::set1(a[r]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(av, bv[v], acc[r][v]);
    }
    a += MR;
    b += NR;
  }
  if (m == MR && n == NR) {
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) V::store(c + r * ldc + v * W, finish<V>(acc[r][v], c + r * ldc + v * W, alpha, beta, W));
  } else {
    for (int r = 0; r < m; ++r)
      for (int v = 0; v < NV; ++v) {
        int cnt = std::min(W, n - v * W);
        if (cnt <= 0) break;
        float* p = c + r * ldc + v * W;
        typename V::T out = finish<V>(acc[r][v], p, alpha, beta, cnt);
        if (cnt == W) V::store(p, out);
        else V::storeN(p, out, cnt);
      }
  }
}

struct PackedConfig {
  size_t kcMax, mc, nc;
};

// C[0:M, 0:N] = alpha op(A) op(B) + beta C on one thread; A/B/C point at the region's origin
// (for op(A) row i0 etc. the caller offsets the pointers).
template <class V, int MR, int NV>
void gemmPacked(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
                const float* B, size_t ldb, float beta, float* C, size_t ldc, const PackedConfig& cfg) {
  constexpr int NR = NV * V::W;
  static thread_local wk::gemm_detail::Scratch bufA, bufB;
  // kc depends on K only: the same blocks (and so the same bits) on any thread count.
  const size_t kBlocks = (K + cfg.kcMax - 1) / cfg.kcMax;
  const size_t kcStep = (K + kBlocks - 1) / kBlocks;
  const size_t mcMax = std::min(cfg.mc, (M + MR - 1) / MR * MR);
  const size_t ncMax = std::min(cfg.nc, (N + NR - 1) / NR * NR);
  float* pa = bufA.get(mcMax * kcStep);
  float* pb = bufB.get(ncMax * kcStep);
  for (size_t jc = 0; jc < N; jc += cfg.nc) {
    const size_t nc = std::min(cfg.nc, N - jc);
    for (size_t pc = 0; pc < K; pc += kcStep) {
      const size_t kc = std::min(kcStep, K - pc);
      const float betaEff = pc == 0 ? beta : 1.0f;
      packB<V, NR>(transB, B, ldb, pc, kc, jc, nc, pb);
      for (size_t ic = 0; ic < M; ic += cfg.mc) {
        const size_t mc = std::min(cfg.mc, M - ic);
        packA<MR>(transA, A, lda, ic, mc, pc, kc, pa);
        for (size_t ir = 0; ir < mc; ir += MR) {
          const int m = static_cast<int>(std::min<size_t>(MR, mc - ir));
          for (size_t jr = 0; jr < nc; jr += NR) {
            const int n = static_cast<int>(std::min<size_t>(NR, nc - jr));
            microKernel<V, MR, NV>(kc, pa + ir * kc, pb + jr * kc, C + (ic + ir) * ldc + jc + jr, ldc, alpha, betaEff,
                                   m, n);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Rows path (B not transposed, small M): R rows of C x NV vectors of columns per tile; B's rows are
// read in place. A is addressed through (transA, lda). The k loop runs in blocks of kb rows so a
// block of B stays in L2 while every row tile passes over it; partial sums live in a thread-local
// scratch (M x N) between blocks, so each element is still one unbroken FMA chain.
template <class V, int R, int NV>
void rowsTile(bool transA, const float* A, size_t lda, const float* B, size_t ldb, size_t k0, size_t k1, float* s,
              size_t lds, float* c, size_t ldc, float alpha, float beta, bool first, bool last, int n) {
  constexpr int W = V::W;
  typename V::T acc[R][NV];
  const int full = n / W;
  const int rem = n - full * W;
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      if (first) acc[r][v] = V::zero();
      else acc[r][v] = v < full ? V::load(s + r * lds + v * W) : v == full && rem ? V::loadN(s + r * lds + v * W, rem) : V::zero();
    }
  const size_t sa = transA ? lda : 1, ra = transA ? 1 : lda;
  if (n == NV * W) {
    for (size_t k = k0; k < k1; ++k) {
      const float* brow = B + k * ldb;
      typename V::T bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) bv[v] = V::load(brow + v * W);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        typename V::T av = V::set1(A[r * ra + k * sa]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(av, bv[v], acc[r][v]);
      }
    }
  } else {
    for (size_t k = k0; k < k1; ++k) {
      const float* brow = B + k * ldb;
      typename V::T bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        bv[v] = v < full ? V::load(brow + v * W) : v == full && rem ? V::loadN(brow + v * W, rem) : V::zero();
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        typename V::T av = V::set1(A[r * ra + k * sa]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(av, bv[v], acc[r][v]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      const int cnt = std::min(W, n - v * W);
      if (cnt <= 0) break;
      if (last) {
        float* p = c + r * ldc + v * W;
        typename V::T out = finish<V>(acc[r][v], p, alpha, beta, cnt);
        if (cnt == W) V::store(p, out);
        else V::storeN(p, out, cnt);
      } else {
        float* p = s + r * lds + v * W;
        if (cnt == W) V::store(p, acc[r][v]);
        else V::storeN(p, acc[r][v], cnt);
      }
    }
}

template <class V, int R, int NV>
void rowsBand(bool transA, const float* A, size_t lda, const float* B, size_t ldb, size_t k0, size_t k1, float* s,
              size_t lds, float* c, size_t ldc, float alpha, float beta, bool first, bool last, size_t N) {
  constexpr size_t NT = NV * V::W;
  for (size_t j = 0; j < N; j += NT) {
    const int n = static_cast<int>(std::min(NT, N - j));
    rowsTile<V, R, NV>(transA, A, lda, B + j, ldb, k0, k1, s + j, lds, c + j, ldc, alpha, beta, first, last, n);
  }
}

template <class V, int R, int NV>
void gemmRows(bool transA, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B,
              size_t ldb, float beta, float* C, size_t ldc, size_t kb) {
  static_assert(R <= 8, "remainder tiles are instantiated for 1..7 rows");
  static thread_local wk::gemm_detail::Scratch scratch;
  const size_t blocks = (K + kb - 1) / kb;
  float* s = blocks > 1 ? scratch.get(M * N) : nullptr;
  const size_t ra = transA ? 1 : lda;
  for (size_t k0 = 0; k0 < K; k0 += kb) {
    const size_t k1 = std::min(K, k0 + kb);
    const bool first = k0 == 0, last = k1 == K;
    // Row tiles of R, but a remainder of 1 to 3 rows past the last full tile is shared with it
    // (M = 32, R = 6: 6,6,6,6,4,4 rather than 6,6,6,6,6,2, whose 2-row tile runs at a third of the
    // rate). Each element's arithmetic does not depend on its tile, so neither do the bits.
    for (size_t i = 0; i < M;) {
      const size_t left = M - i;
      const size_t take = left == R || left >= R + 4 ? R : left > R ? (left + 1) / 2 : left;
      if (take == R) {
        rowsBand<V, R, NV>(transA, A + i * ra, lda, B, ldb, k0, k1, s + i * N, N, C + i * ldc, ldc, alpha, beta,
                           first, last, N);
      }
#define WK_ROWS_TAIL(RR)                                                                                              \
  else if (take == RR) rowsBand<V, RR, NV>(transA, A + i * ra, lda, B, ldb, k0, k1, s + i * N, N, C + i * ldc, ldc, \
                                          alpha, beta, first, last, N);
      WK_ROWS_TAIL(1)
      WK_ROWS_TAIL(2)
      WK_ROWS_TAIL(3)
      WK_ROWS_TAIL(4)
      WK_ROWS_TAIL(5)
      WK_ROWS_TAIL(6)
      WK_ROWS_TAIL(7)
#undef WK_ROWS_TAIL
      i += take;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Panels path. op(B) = B^T with B [N][ldb] (rows of length K): columns j0..j0+n-1 of op(B) into
// one panel, panel[k * NT + c] = B[c][k], columns n..NT-1 zero; W x W blocks transposed in
// registers, ragged edges element by element.
template <class V, int NT>
void packPanel(const float* B, size_t ldb, size_t K, size_t n, float* out) {
  constexpr int W = V::W;
  const size_t kFull = K / W * W;
  size_t c0 = 0;
  for (; c0 + W <= n; c0 += W) {
    const float* src = B + c0 * ldb;
    for (size_t k = 0; k < kFull; k += W) V::transpose(src + k, ldb, out + k * NT + c0, NT);
    for (size_t c = 0; c < static_cast<size_t>(W); ++c)
      for (size_t k = kFull; k < K; ++k) out[k * NT + c0 + c] = src[c * ldb + k];
  }
  for (size_t c = c0; c < n; ++c)
    for (size_t k = 0; k < K; ++k) out[k * NT + c] = B[c * ldb + k];
  for (size_t c = n; c < static_cast<size_t>(NT); ++c)
    for (size_t k = 0; k < K; ++k) out[k * NT + c] = 0.0f;
}

// The panels path's k blocks: equal blocks of at most 512 (K alone decides, so the bits do too).
// A panel block (512 x 64 floats, 128 KiB) stays in L2 and an R-row strip of A in L1.
inline size_t panelKb(size_t K) {
  const size_t blocks = (K + 511) / 512;
  return std::max<size_t>(1, (K + blocks - 1) / blocks);
}

// ---------------------------------------------------------------------------------------------
// Dots path (B transposed, small M): C[i][j] = sum_k A[i][k] * B[j][k], A rows contiguous (the
// caller packs A when it is transposed). R rows of A x CB rows of B per tile.
template <class V, int R, int CB>
void dotsTile(const float* A, size_t lda, const float* B, size_t ldb, size_t K, float* c, size_t ldc, float alpha,
              float beta) {
  constexpr int W = V::W;
  typename V::T acc[R][CB];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int q = 0; q < CB; ++q) acc[r][q] = V::zero();
  size_t k = 0;
  for (; k + W <= K; k += W) {
    typename V::T av[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) av[r] = V::load(A + r * lda + k);
#pragma GCC unroll 16
    for (int q = 0; q < CB; ++q) {
      typename V::T bv = V::load(B + q * ldb + k);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) acc[r][q] = V::fma(av[r], bv, acc[r][q]);
    }
  }
  if (k < K) {
    const int rem = static_cast<int>(K - k);
    typename V::T av[R];
    for (int r = 0; r < R; ++r) av[r] = V::loadN(A + r * lda + k, rem);
    for (int q = 0; q < CB; ++q) {
      typename V::T bv = V::loadN(B + q * ldb + k, rem);
      for (int r = 0; r < R; ++r) acc[r][q] = V::fma(av[r], bv, acc[r][q]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < CB; ++q) {
      float s = V::reduce(acc[r][q]);
      float* p = c + r * ldc + q;
      *p = beta == 0.0f ? alpha * s : V::sfma(alpha, s, beta == 1.0f ? *p : beta * *p);
    }
}

template <class V, int R, int CB>
void dotsRowBand(const float* A, size_t lda, const float* B, size_t ldb, size_t N, size_t K, float* c, size_t ldc,
                 float alpha, float beta) {
  size_t j = 0;
  for (; j + CB <= N; j += CB) dotsTile<V, R, CB>(A, lda, B + j * ldb, ldb, K, c + j, ldc, alpha, beta);
  for (; j < N; ++j) dotsTile<V, R, 1>(A, lda, B + j * ldb, ldb, K, c + j, ldc, alpha, beta);
}

template <class V, int R, int CB>
void gemmDots(size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda, const float* B, size_t ldb,
              float beta, float* C, size_t ldc) {
  // Column blocks of B rows small enough to stay in L1/L2 while every row tile of A passes.
  const size_t jb = std::max<size_t>(CB, (16384 / std::max<size_t>(K, 1)) / CB * CB);
  for (size_t j0 = 0; j0 < N; j0 += jb) {
    const size_t nb = std::min(jb, N - j0);
    size_t i = 0;
    for (; i + R <= M; i += R) dotsRowBand<V, R, CB>(A + i * lda, lda, B + j0 * ldb, ldb, nb, K, C + i * ldc + j0, ldc, alpha, beta);
    for (; i < M; ++i) dotsRowBand<V, 1, CB>(A + i * lda, lda, B + j0 * ldb, ldb, nb, K, C + i * ldc + j0, ldc, alpha, beta);
  }
}

}  // namespace
