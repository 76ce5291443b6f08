// Single-precision GEMM (gemm.h): dispatch by instruction set and shape, threading over C.
//
// Versions: v1 placeholder row loop; v2 (this) three paths from gemm_kernels.h, instantiated per
// ISA (gemm_avx512.cpp 14x32, gemm_avx2.cpp 6x16, gemm_portable.cpp 4x8) and picked at run time
// by wk::bestIsa():
//   dots    op(B) = B^T and M small (x . W^T of a Linear at small batch): row-by-row dot products,
//           nothing packed but op(A) when A is transposed;
//   rows    op(B) = B and M small (the Linear backward dX = dY . W): B streamed in place;
//   packed  everything else: GotoBLAS-style packing into thread-local buffers.
// v2.1: packing B row by row (one long read per row of B instead of short reads ldb apart),
// prefetching the next A panel's rows while packing and the C tile before each microkernel, and
// AVX-512 B panels 1024 columns wide (A packed once per 1024 columns): 1024^2 on one thread went
// from ~0.85x to ~0.97x OpenBLAS 0.3.21 (SkylakeX kernels) measured in one process, interleaved.
// The microkernel's loop itself runs at the FMA peak (perf: every sample inside it is spread over
// the FMAs); what is left is packing (~6% of a 1024^2 product) and the C tile's edges.
// v2.2: the panels path for op(B) = B^T at mid-size M (16..32 rows on AVX-512, 24..32 on AVX2):
// op(B) transposed per call into panels of the rows path's width (64 columns), then the rows
// path over each: contiguous B loads instead of the dots path's L2-bound row pairs and its
// horizontal sums. One thread, 32 x 1024 x 1027: dots 123-155 GFLOP/s, panels packed per call
// 149-181, panels prepared once (PreparedTransposedB, a recurrence's weights) 199-234.
// Threads split C into disjoint column or row blocks (one writer per element) aligned to the
// tiles, and the per-element arithmetic never depends on the block it lands in, so 1 and N
// threads give the same bits. The path depends on the shape only.
#include "gemm.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "cpu_features.h"
#include "gemm_isa.h"
#include "gemm_kernels.h"
#include "thread_pool.h"

namespace wk {
namespace {

using gemm_detail::IsaKernels;

// M at or below which the unpacked paths win (measured on Zen 4; see bench/README.md).
constexpr size_t kDotsMaxM = 32;
constexpr size_t kRowsMaxM = 32;
// Below this many multiply-adds a call stays on the calling thread.
constexpr double kMinParallelFlops = 1 << 17;

const IsaKernels& kernelsFor(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return gemm_detail::avx512Kernels();
    case Isa::Avx2: return gemm_detail::avx2Kernels();
    default: return gemm_detail::portableKernels();
  }
}

// Splits `blocks` units of work over the pool unless the call is small.
void splitOver(size_t blocks, double flops, const std::function<void(size_t, size_t, int)>& fn) {
  const size_t grain = flops < kMinParallelFlops ? blocks : 1;
  parallelFor(blocks, std::max<size_t>(grain, 1), fn);
}

// The panels path decides from M and the instruction set's table alone.
bool takesPanels(const IsaKernels& ks, size_t M) { return M >= ks.panelMinM && M <= kDotsMaxM; }

// C[:, panels b0..b1) from panels that hold op(B) (prepared, or packed here one at a time when
// `prepared` is null), on the calling thread.
void panelsRange(const IsaKernels& ks, bool transA, size_t M, size_t N, size_t K, float alpha, const float* A,
                 size_t lda, const float* B, size_t ldb, const float* prepared, float beta, float* C, size_t ldc,
                 size_t b0, size_t b1) {
  const size_t nt = static_cast<size_t>(ks.panelNT);
  static thread_local gemm_detail::Scratch own;
  float* panel = prepared ? nullptr : own.get(nt * K);
  for (size_t b = b0; b < b1; ++b) {
    const size_t j0 = b * nt, n = std::min(nt, N - j0);
    const float* p = prepared ? prepared + b * nt * K : panel;
    if (!prepared) ks.packPanel(B + j0 * ldb, ldb, K, n, panel);
    ks.panelRows(transA, M, n, K, alpha, A, lda, p, beta, C + j0, ldc);
  }
}

void scaleC(size_t M, size_t N, float beta, float* C, size_t ldc) {
  for (size_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f) std::fill(c, c + N, 0.0f);
    else if (beta != 1.0f)
      for (size_t j = 0; j < N; ++j) c[j] *= beta;
  }
}

}  // namespace

void gemm(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
          const float* B, size_t ldb, float beta, float* C, size_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {
    scaleC(M, N, beta, C, ldc);
    return;
  }
  const IsaKernels& ks = kernelsFor(bestIsa());
  const double flops = static_cast<double>(M) * N * K;

  if (transB && takesPanels(ks, M)) {
    const size_t nt = static_cast<size_t>(ks.panelNT);
    splitOver((N + nt - 1) / nt, flops, [&](size_t b0, size_t b1, int) {
      panelsRange(ks, transA, M, N, K, alpha, A, lda, B, ldb, nullptr, beta, C, ldc, b0, b1);
    });
    return;
  }
  if (transB && M <= kDotsMaxM) {
    const float* a = A;
    size_t la = lda;
    if (transA) {
      // op(A) rows gathered once (M x K, small) on the calling thread, read by all.
      static thread_local gemm_detail::Scratch packed;
      float* p = packed.get(M * K);
      for (size_t k = 0; k < K; ++k)
        for (size_t i = 0; i < M; ++i) p[i * K + k] = A[k * lda + i];
      a = p;
      la = K;
    }
    const size_t chunk = 16;
    splitOver((N + chunk - 1) / chunk, flops, [&](size_t b0, size_t b1, int) {
      const size_t j0 = b0 * chunk, j1 = std::min(N, b1 * chunk);
      ks.dots(M, j1 - j0, K, alpha, a, la, B + j0 * ldb, ldb, beta, C + j0, ldc);
    });
    return;
  }
  if (!transB && M <= kRowsMaxM) {
    const size_t chunk = static_cast<size_t>(ks.rowsNT);
    splitOver((N + chunk - 1) / chunk, flops, [&](size_t b0, size_t b1, int) {
      const size_t j0 = b0 * chunk, j1 = std::min(N, b1 * chunk);
      ks.rows(transA, M, j1 - j0, K, alpha, A, lda, B + j0, ldb, beta, C + j0, ldc);
    });
    return;
  }
  if (M >= N) {
    const size_t chunk = static_cast<size_t>(ks.mr);
    splitOver((M + chunk - 1) / chunk, flops, [&](size_t b0, size_t b1, int) {
      const size_t i0 = b0 * chunk, i1 = std::min(M, b1 * chunk);
      const float* a = transA ? A + i0 : A + i0 * lda;
      ks.packed(transA, transB, i1 - i0, N, K, alpha, a, lda, B, ldb, beta, C + i0 * ldc, ldc);
    });
  } else {
    const size_t chunk = static_cast<size_t>(ks.nr);
    splitOver((N + chunk - 1) / chunk, flops, [&](size_t b0, size_t b1, int) {
      const size_t j0 = b0 * chunk, j1 = std::min(N, b1 * chunk);
      const float* b = transB ? B + j0 * ldb : B + j0;
      ks.packed(transA, transB, M, j1 - j0, K, alpha, A, lda, b, ldb, beta, C + j0, ldc);
    });
  }
}

PreparedTransposedB::~PreparedTransposedB() { std::free(panels_); }

void PreparedTransposedB::prepare(size_t M, size_t N, size_t K, const float* B, size_t ldb) {
  B_ = B;
  N_ = N;
  K_ = K;
  ldb_ = ldb;
  isa_ = bestIsa();
  const IsaKernels& ks = kernelsFor(isa_);
  nt_ = static_cast<size_t>(ks.panelNT);
  if (!takesPanels(ks, M) || N == 0 || K == 0) {
    std::free(panels_);
    panels_ = nullptr;
    cap_ = 0;
    return;
  }
  const size_t count = (N + nt_ - 1) / nt_;
  const size_t need = count * nt_ * K;
  if (need > cap_) {
    std::free(panels_);
    const size_t bytes = ((need * sizeof(float) + 4095) / 4096) * 4096;
    panels_ = static_cast<float*>(std::aligned_alloc(64, bytes));
    cap_ = bytes / sizeof(float);
  }
  float* out = panels_;
  const size_t nt = nt_;
  parallelFor(count, 1, [&](size_t b0, size_t b1, int) {
    for (size_t b = b0; b < b1; ++b) ks.packPanel(B + b * nt * ldb, ldb, K, std::min(nt, N - b * nt), out + b * nt * K);
  });
}

bool PreparedTransposedB::panelsFor(size_t M) const {
  return panels_ && isa_ == bestIsa() && takesPanels(kernelsFor(isa_), M);
}

void gemmPackedBPanels(size_t M, float alpha, const float* A, size_t lda, const PreparedTransposedB& b, size_t p0,
                       size_t p1, float beta, float* C, size_t ldc) {
  if (!b.panelsFor(M) || p1 > b.panelCount() || p0 > p1)
    throw std::logic_error("gemmPackedBPanels: the prepared copy has no panels for " + std::to_string(M) +
                           " rows on this instruction set, or panels [" + std::to_string(p0) + ", " +
                           std::to_string(p1) + ") are out of its " + std::to_string(b.panelCount()));
  if (alpha == 0.0f) {
    // gemm's own rule for alpha = 0: C scaled by beta, B not read.
    for (size_t p = p0; p < p1; ++p) {
      const size_t j0 = p * b.nt_;
      scaleC(M, std::min(b.nt_, b.N_ - j0), beta, C + j0, ldc);
    }
    return;
  }
  panelsRange(kernelsFor(b.isa_), false, M, b.N_, b.K_, alpha, A, lda, nullptr, 0, b.panels_, beta, C, ldc, p0, p1);
}

void gemmPackedB(size_t M, float alpha, const float* A, size_t lda, const PreparedTransposedB& b, float beta, float* C,
                 size_t ldc) {
  const IsaKernels& ks = kernelsFor(bestIsa());
  // Without panels for this M and instruction set, gemm() itself decides (and reads B again).
  if (!b.panels_ || b.isa_ != bestIsa() || !takesPanels(ks, M) || alpha == 0.0f) {
    gemm(false, true, M, b.N_, b.K_, alpha, A, lda, b.B_, b.ldb_, beta, C, ldc);
    return;
  }
  const size_t N = b.N_, K = b.K_, nt = b.nt_;
  const double flops = static_cast<double>(M) * N * K;
  splitOver((N + nt - 1) / nt, flops, [&](size_t b0, size_t b1, int) {
    panelsRange(ks, false, M, N, K, alpha, A, lda, nullptr, 0, b.panels_, beta, C, ldc, b0, b1);
  });
}

}  // namespace wk
