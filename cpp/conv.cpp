// Convolution kernels (see conv.h): im2col / col2im over wk::gemm on chunks of samples, chunks
// spread over the thread pool, per-thread grow-only workspaces, and the uint8 <-> float frame
// conversions.
//
// Layout of the column buffer for a chunk of nb samples: col[(c*kh + i)*kw + j][n*P + p], with
// P = Ho*Wo output pixels per sample; its row stride is nb*P. The GEMM output is then
// [K, nb*P] (channel-major over the whole chunk) and is scattered back to NCHW (adding the bias
// on the way), or gathered from NCHW for the backward passes.
//
// Chunks: a chunk holds enough samples for about kChunkCols GEMM columns (1 sample for the
// 32x32 and 16x16 layers of the VAE, 4 or 16 for the 8x8 and 4x4 ones), so its column buffer
// stays in L2 between im2col and the GEMM; each chunk is the work of one thread (the GEMM and
// helpers called inside run inline), which removes the pool round trips between phases. A
// one-sample chunk writes the GEMM output straight into NCHW. Weight gradients: one partial per
// chunk, summed in chunk order (the chunking depends on the sizes only, so results never depend
// on the thread count).
//
// Forward (v3): the direct kernel and its row variant (conv_direct.h, conv_direct_*.cpp) where
// conv2dUsesRows / conv2dUsesDirect pick them: no column buffer, weights packed once per call,
// zero-padding taps skipped (direct) or read as zeros of a phase-split copy (rows), bias and an
// optional ReLU fused into the output pass; work items claimed by the threads from a counter.
//
// Versions: 1 (im2col + batched GEMM over the whole batch); 2 (chunk-parallel im2col, still the
// backward's, the transposed convs' and the short forwards' method); 3 (direct / row forward).
#include "conv.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "conv_direct.h"
#include "cpu_features.h"
#include "gemm.h"
#include "target_clones.h"
#include "thread_pool.h"

namespace wk {
namespace {

// Floats per workspace buffer a chunk may use (32 MiB); a single sample may exceed it.
constexpr size_t kChunkFloats = size_t(1) << 23;

struct Workspace {
  std::vector<float> col, mat, part, pack, phase;
  float* colBuf(size_t n) {
    if (col.size() < n) col.resize(n);
    return col.data();
  }
  float* matBuf(size_t n) {
    if (mat.size() < n) mat.resize(n);
    return mat.data();
  }
  float* partBuf(size_t n) {
    if (part.size() < n) part.resize(n);
    return part.data();
  }
  float* packBuf(size_t n) {
    if (pack.size() < n) pack.resize(n);
    return pack.data();
  }
  float* phaseBuf(size_t n) {
    if (phase.size() < n) phase.resize(n);
    return phase.data();
  }
};

Workspace& workspace() {
  static thread_local Workspace ws;
  return ws;
}

// Range of output positions o in [0, out) whose input index o*s - p + k lies in [0, in).
inline void validRange(size_t out, size_t in, size_t s, size_t p, size_t k, size_t& lo, size_t& hi) {
  // o*s + k >= p  and  o*s + k < p + in
  lo = k >= p ? 0 : (p - k + s - 1) / s;
  if (p + in <= k) {
    lo = hi = 0;
    return;
  }
  size_t lim = p + in - k;  // o*s < lim
  hi = std::min(out, (lim + s - 1) / s);
  if (lo > hi) lo = hi;
}

// col rows for input channel c of one sample xc [H, W]; dst points at row (c*kh*kw) column n*P.
// Built for AVX2 too (WK_CLONES; copies and plain adds, the same bits): the VAE's rows are short
// (4 to 32 pixels), so wider vectors finish them in fewer iterations.
WK_CLONES void im2colChannel(const ConvGeom& g, const float* xc, float* dst, size_t ld) {
  for (size_t i = 0; i < g.kh; ++i) {
    size_t ohLo, ohHi;
    validRange(g.Ho, g.H, g.sh, g.ph, i, ohLo, ohHi);
    for (size_t j = 0; j < g.kw; ++j) {
      size_t owLo, owHi;
      validRange(g.Wo, g.W, g.sw, g.pw, j, owLo, owHi);
      float* row = dst + (i * g.kw + j) * ld;
      if (ohLo > 0) std::memset(row, 0, ohLo * g.Wo * sizeof(float));
      for (size_t oh = ohLo; oh < ohHi; ++oh) {
        float* r = row + oh * g.Wo;
        const float* src = xc + (oh * g.sh + i - g.ph) * g.W;
        if (owLo > 0) std::memset(r, 0, owLo * sizeof(float));
        if (g.sw == 1) {
          if (owHi > owLo) std::memcpy(r + owLo, src + owLo + j - g.pw, (owHi - owLo) * sizeof(float));
        } else if (g.sw == 2) {
          // Constant stride: the compiler turns this into deinterleaving vector loads.
          const float* __restrict s = src + owLo * 2 + j - g.pw;
          float* __restrict rr = r + owLo;
          const size_t n = owHi - owLo;
          for (size_t t = 0; t < n; ++t) rr[t] = s[2 * t];
        } else {
          const float* s = src + owLo * g.sw + j - g.pw;
          for (size_t ow = owLo; ow < owHi; ++ow, s += g.sw) r[ow] = *s;
        }
        if (owHi < g.Wo) std::memset(r + owHi, 0, (g.Wo - owHi) * sizeof(float));
      }
      if (ohHi < g.Ho) std::memset(row + ohHi * g.Wo, 0, (g.Ho - ohHi) * g.Wo * sizeof(float));
    }
  }
}

// d[ow * s] += r[ow] for ow in [lo, hi): one tap's scatter-add into one row.
inline void scatterAddTap(float* __restrict d, const float* __restrict r, size_t lo, size_t hi, size_t s) {
  if (s == 1) {
    for (size_t ow = lo; ow < hi; ++ow) d[ow] += r[ow];
  } else {
    for (size_t ow = lo; ow < hi; ++ow) d[ow * s] += r[ow];
  }
}

// xc [H, W] = sum over the col rows of channel c (scatter-add in a fixed order: for each element,
// its taps in (i, j) order).
WK_CLONES void col2imChannel(const ConvGeom& g, const float* src, size_t ld, float* xc) {
  std::memset(xc, 0, g.H * g.W * sizeof(float));
  for (size_t i = 0; i < g.kh; ++i) {
    size_t ohLo, ohHi;
    validRange(g.Ho, g.H, g.sh, g.ph, i, ohLo, ohHi);
    size_t j = 0;
    if (g.sw == 2) {
      // Stride 2: taps j and j+1 fill the even and odd elements of the same span, so one pass
      // adds them interleaved (contiguous, vectorizable) instead of two strided scalar passes.
      // Each element still receives its taps in ascending j (j and j+2 are in successive pairs),
      // so the sums are the same bits.
      for (; j + 1 < g.kw; j += 2) {
        size_t lo0, hi0, lo1, hi1;
        validRange(g.Wo, g.W, 2, g.pw, j, lo0, hi0);
        validRange(g.Wo, g.W, 2, g.pw, j + 1, lo1, hi1);
        const size_t lo = std::max(lo0, lo1), hi = std::max(lo, std::min(hi0, hi1));
        const float* row0 = src + (i * g.kw + j) * ld;
        const float* row1 = row0 + ld;
        for (size_t oh = ohLo; oh < ohHi; ++oh) {
          const float* r0 = row0 + oh * g.Wo;
          const float* r1 = row1 + oh * g.Wo;
          // Element 2*ow + j - pw (tap j) and the next one (tap j+1); pw <= j + ow*2 on [lo, hi).
          float* d = xc + (oh * g.sh + i - g.ph) * g.W + j;
          scatterAddTap(d - g.pw, r0, lo0, std::min(lo, hi0), 2);
          scatterAddTap(d + 1 - g.pw, r1, lo1, std::min(lo, hi1), 2);
          float* __restrict dd = d - g.pw + 2 * lo;
          const float* __restrict a = r0 + lo;
          const float* __restrict b = r1 + lo;
          for (size_t t = 0, n = hi - lo; t < n; ++t) {
            dd[2 * t] += a[t];
            dd[2 * t + 1] += b[t];
          }
          scatterAddTap(d - g.pw, r0, std::max(hi, lo0), hi0, 2);
          scatterAddTap(d + 1 - g.pw, r1, std::max(hi, lo1), hi1, 2);
        }
      }
    }
    for (; j < g.kw; ++j) {
      size_t owLo, owHi;
      validRange(g.Wo, g.W, g.sw, g.pw, j, owLo, owHi);
      const float* row = src + (i * g.kw + j) * ld;
      for (size_t oh = ohLo; oh < ohHi; ++oh) {
        const float* r = row + oh * g.Wo;
        float* d = xc + (oh * g.sh + i - g.ph) * g.W + j;
        scatterAddTap(d - g.pw, r, owLo, owHi, g.sw);
      }
    }
  }
}

// col[C*kh*kw, nb*P] from x samples [n0, n0+nb).
void im2col(const ConvGeom& g, const float* x, size_t n0, size_t nb, float* col) {
  const size_t P = g.Ho * g.Wo, kk = g.kh * g.kw, ld = nb * P, HW = g.H * g.W;
  parallelFor(nb * g.C, 4, [&](size_t b, size_t e, int) {
    for (size_t t = b; t < e; ++t) {
      size_t n = t / g.C, c = t % g.C;
      im2colChannel(g, x + ((n0 + n) * g.C + c) * HW, col + c * kk * ld + n * P, ld);
    }
  });
}

void col2im(const ConvGeom& g, const float* col, size_t n0, size_t nb, float* x) {
  const size_t P = g.Ho * g.Wo, kk = g.kh * g.kw, ld = nb * P, HW = g.H * g.W;
  parallelFor(nb * g.C, 4, [&](size_t b, size_t e, int) {
    for (size_t t = b; t < e; ++t) {
      size_t n = t / g.C, c = t % g.C;
      col2imChannel(g, col + c * kk * ld + n * P, ld, x + ((n0 + n) * g.C + c) * HW);
    }
  });
}

// m[K, nb*P] <- y[n0.., K, P]
void gatherChannels(const float* y, size_t K, size_t P, size_t n0, size_t nb, float* m) {
  const size_t ld = nb * P;
  parallelFor(nb * K, 16, [&](size_t b, size_t e, int) {
    for (size_t t = b; t < e; ++t) {
      size_t k = t / nb, n = t % nb;
      std::memcpy(m + k * ld + n * P, y + ((n0 + n) * K + k) * P, P * sizeof(float));
    }
  });
}

// y[n0.., K, P] <- m[K, nb*P] + b[K]
void scatterChannels(const float* m, const float* bias, size_t K, size_t P, size_t n0, size_t nb, float* y) {
  const size_t ld = nb * P;
  parallelFor(nb * K, 16, [&](size_t b, size_t e, int) {
    for (size_t t = b; t < e; ++t) {
      size_t k = t / nb, n = t % nb;
      const float* s = m + k * ld + n * P;
      float* d = y + ((n0 + n) * K + k) * P;
      if (bias) {
        const float bk = bias[k];
        for (size_t p = 0; p < P; ++p) d[p] = s[p] + bk;
      } else {
        std::memcpy(d, s, P * sizeof(float));
      }
    }
  });
}

// Adds b[c] to every element of channel c of y[N, C, HW].
void addBias(float* y, const float* b, size_t N, size_t C, size_t HW) {
  parallelFor(N * C, 16, [&](size_t s, size_t e, int) {
    for (size_t t = s; t < e; ++t) {
      const float bc = b[t % C];
      float* d = y + t * HW;
      for (size_t p = 0; p < HW; ++p) d[p] += bc;
    }
  });
}

// gb[c] = sum over n and pixels of y[n, c, :], in a fixed order.
void biasGrad(const float* gy, size_t N, size_t C, size_t HW, float* gb) {
  parallelFor(C, 1, [&](size_t s, size_t e, int) {
    for (size_t c = s; c < e; ++c) {
      double acc = 0;
      for (size_t n = 0; n < N; ++n) {
        const float* d = gy + (n * C + c) * HW;
        float part = 0;
        for (size_t p = 0; p < HW; ++p) part += d[p];
        acc += part;
      }
      gb[c] = static_cast<float>(acc);
    }
  });
}

// GEMM columns a chunk aims for: enough for the GEMM to run at speed, small enough that the
// chunk's column buffer stays in the core's L2 between im2col and the GEMM.
constexpr size_t kChunkCols = 256;

// Samples per chunk: about kChunkCols GEMM columns, within the workspace bound. Depends on the
// sizes only (never on the thread count).
size_t chunkSize(const ConvGeom& g) {
  const size_t P = g.Ho * g.Wo;
  const size_t per = std::max<size_t>(1, std::max(g.C * g.kh * g.kw, g.K) * P);
  size_t nb = std::max<size_t>(1, (kChunkCols + P - 1) / std::max<size_t>(P, 1));
  nb = std::min(nb, std::max<size_t>(1, kChunkFloats / per));
  return std::max<size_t>(1, std::min(g.N, nb));
}

// Runs fn(n0, nb, chunkIndex) for every chunk of samples, chunks spread over the pool. Inside a
// chunk the helpers' own parallelFor calls run inline (nested regions run on the caller), so a
// chunk is the work of one thread; with a single chunk they use the pool themselves.
template <class F>
void forEachChunk(size_t N, size_t nb, F&& fn) {
  const size_t chunks = (N + nb - 1) / nb;
  parallelFor(chunks, 1, [&](size_t b, size_t e, int) {
    for (size_t c = b; c < e; ++c) fn(c * nb, std::min(nb, N - c * nb), c);
  });
}

// dst[i] = sum over chunks c (in order) of parts[c * len + i].
void reduceParts(const float* parts, size_t chunks, size_t len, float* dst) {
  parallelFor(len, 4096, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) dst[i] = parts[i];
    for (size_t c = 1; c < chunks; ++c) {
      const float* p = parts + c * len;
      for (size_t i = b; i < e; ++i) dst[i] += p[i];
    }
  });
}

const conv_detail::DirectKernels& directKernels() {
  switch (bestIsa()) {
    case Isa::Avx512: return conv_detail::directAvx512();
    case Isa::Avx2: return conv_detail::directAvx2();
    default: return conv_detail::directPortable();
  }
}

// Range [lo, hi) of kernel taps k with 0 <= o*s + k - p < in.
inline void tapRange(size_t o, size_t s, size_t p, size_t k, size_t in, int& lo, int& hi) {
  const long base = static_cast<long>(o * s) - static_cast<long>(p);
  const long a = std::max<long>(0, -base), b = std::min<long>(static_cast<long>(k), static_cast<long>(in) - base);
  lo = static_cast<int>(a);
  hi = static_cast<int>(std::max(a, b));
}

// Runs fn(i) for i in [0, n): one part per thread, each claiming items from a shared counter, so
// a thread that starts late (another process on its core) leaves its items to the others.
// Which thread runs an item never changes what it computes.
template <class F>
void dynamicFor(size_t n, F&& fn) {
  std::atomic<size_t> next{0};
  const size_t parts = std::max<size_t>(1, std::min<size_t>(n, static_cast<size_t>(numThreads())));
  parallelFor(parts, 1, [&](size_t, size_t, int) {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i);
  });
}

// WORLDKIT_CONV_FORWARD=im2col keeps every forward on im2col + GEMM (for A/B measurements).
bool im2colOnly() {
  static const bool v = [] {
    const char* e = std::getenv("WORLDKIT_CONV_FORWARD");
    return e && std::strcmp(e, "im2col") == 0;
  }();
  return v;
}

void applyRelu(float* y, size_t n) {
  parallelFor(n, 1 << 14, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
  });
}

}  // namespace

bool conv2dUsesRows(const ConvGeom& g) {
  if (im2colOnly()) return false;
  // Whole vectors of output pixels per row (the VAE's 64x64 -> 32 and 32 -> 16 layers).
  return g.Wo >= static_cast<size_t>(directKernels().narrow.nr) && g.kw <= 64;
}

bool conv2dUsesDirect(const ConvGeom& g) {
  // The direct tile wins wherever the reduction over taps is long enough to hide the scattered
  // output stores (measured on an AVX2 Zen 3 at the ConvVAE's shapes, bench/README.md "Forward
  // v3"; the AVX-512 thresholds are untuned: no AVX-512 CPU has run these kernels yet).
  if (im2colOnly()) return false;
  return g.C * g.kh * g.kw >= 64 && g.K >= 8;
}

void conv2dForwardDirect(const ConvGeom& g, const float* x, const float* w, const float* b, float* y, bool relu) {
  const size_t P = g.Ho * g.Wo, HW = g.H * g.W, KK = g.kh * g.kw, CKK = g.C * KK;
  if (g.N == 0 || g.K == 0 || P == 0) return;
  const conv_detail::DirectKernels& ks = directKernels();
  const size_t MR = static_cast<size_t>(ks.mr), NR = static_cast<size_t>(ks.nr);
  const size_t ocBlocks = (g.K + NR - 1) / NR;
  // Packed weights [ocb][c][ky][kx][NR] and bias [ocb][NR], zero padded past K.
  const size_t blockLen = CKK * NR;
  float* wp = workspace().packBuf(ocBlocks * blockLen + ocBlocks * NR);
  float* bp = wp + ocBlocks * blockLen;
  parallelFor(ocBlocks * g.C, 8, [&](size_t s, size_t e, int) {
    for (size_t t = s; t < e; ++t) {
      const size_t ocb = t / g.C, c = t % g.C;
      float* d = wp + ocb * blockLen + c * KK * NR;
      for (size_t l = 0; l < NR; ++l) {
        const size_t oc = ocb * NR + l;
        if (oc < g.K) {
          const float* src = w + (oc * g.C + c) * KK;
          for (size_t q = 0; q < KK; ++q) d[q * NR + l] = src[q];
        } else {
          for (size_t q = 0; q < KK; ++q) d[q * NR + l] = 0.0f;
        }
      }
    }
  });
  for (size_t i = 0; i < ocBlocks * NR; ++i) bp[i] = b && i < g.K ? b[i] : 0.0f;

  // Output pixels grouped by validity class (the taps inside the input), pixel order kept
  // within a class. Depends on the sizes only.
  struct Pix {
    int ky0, nky, kx0, nkx;
    long xoff;  // offset of the first valid tap within one input channel
    size_t p;
  };
  std::vector<Pix> pix(P);
  for (size_t oh = 0; oh < g.Ho; ++oh)
    for (size_t ow = 0; ow < g.Wo; ++ow) {
      int y0, y1, x0, x1;
      tapRange(oh, g.sh, g.ph, g.kh, g.H, y0, y1);
      tapRange(ow, g.sw, g.pw, g.kw, g.W, x0, x1);
      const long ih = static_cast<long>(oh * g.sh) - static_cast<long>(g.ph) + y0;
      const long iw = static_cast<long>(ow * g.sw) - static_cast<long>(g.pw) + x0;
      pix[oh * g.Wo + ow] = Pix{y0, y1 - y0, x0, x1 - x0, y1 > y0 && x1 > x0 ? ih * static_cast<long>(g.W) + iw : 0,
                                oh * g.Wo + ow};
    }
  std::stable_sort(pix.begin(), pix.end(), [](const Pix& a, const Pix& b2) {
    if (a.ky0 != b2.ky0) return a.ky0 < b2.ky0;
    if (a.nky != b2.nky) return a.nky < b2.nky;
    if (a.kx0 != b2.kx0) return a.kx0 < b2.kx0;
    return a.nkx < b2.nkx;
  });
  std::vector<size_t> segs{0};  // class boundaries in pix
  for (size_t i = 1; i < P; ++i) {
    const Pix &u = pix[i - 1], &v = pix[i];
    if (u.ky0 != v.ky0 || u.nky != v.nky || u.kx0 != v.kx0 || u.nkx != v.nkx) segs.push_back(i);
  }
  segs.push_back(P);

  // Work items: (oc block, chunk of images). Within an item, class by class, the rows are the
  // (image, pixel) pairs image-major, pixel-minor, cut into tiles of MR: a tile's inputs lie
  // close together (neighbouring pixels of one image) wherever the class has MR pixels.
  const size_t nb = std::min(g.N, MR), chunks = (g.N + nb - 1) / nb;
  const size_t CHW = g.C * HW;
  dynamicFor(ocBlocks * chunks, [&](size_t item) {
    conv_detail::DirectTile t;
    t.C = g.C, t.HW = HW, t.W = g.W, t.wc = KK * NR, t.wky = g.kw * NR, t.P = P, t.relu = relu;
    {
      const size_t ocb = item / chunks, ch = item % chunks;
      const size_t n0 = ch * nb, cn = std::min(nb, g.N - n0);
      t.noc = static_cast<int>(std::min(NR, g.K - ocb * NR));
      t.bias = bp + ocb * NR;
      const float* wblock = wp + ocb * blockLen;
      for (size_t sg = 0; sg + 1 < segs.size(); ++sg) {
        const Pix& cls = pix[segs[sg]];
        t.nky = cls.nky, t.nkx = cls.nkx;
        t.wp = wblock + (static_cast<size_t>(cls.ky0) * g.kw + cls.kx0) * NR;
        const size_t cnt = segs[sg + 1] - segs[sg], rows = cnt * cn;
        for (size_t r0 = 0; r0 < rows; r0 += MR) {
          const size_t m = std::min(MR, rows - r0);
          t.m = static_cast<int>(m);
          for (size_t r = 0; r < MR; ++r) {
            const size_t row = r0 + (r < m ? r : 0);
            const Pix& px = pix[segs[sg] + row % cnt];
            const size_t n = n0 + row / cnt;
            t.x[r] = x + n * CHW + px.xoff;
            t.y[r] = y + (n * g.K + ocb * NR) * P + px.p;
          }
          ks.tile(t);
        }
      }
    }
  });
}

void conv2dForwardRows(const ConvGeom& g, const float* x, const float* w, const float* b, float* y, bool relu) {
  const size_t P = g.Ho * g.Wo, HW = g.H * g.W, KK = g.kh * g.kw, CKK = g.C * KK;
  if (g.N == 0 || g.K == 0 || P == 0) return;
  const conv_detail::DirectKernels& dk = directKernels();
  const conv_detail::RowKernel& ks = g.Wo <= static_cast<size_t>(dk.narrow.nr) ? dk.narrow : dk.wide;
  const size_t MR = static_cast<size_t>(ks.mr), NR = static_cast<size_t>(ks.nr);
  const size_t ocBlocks = (g.K + MR - 1) / MR;
  const size_t blockLen = CKK * MR;
  float* wp = workspace().packBuf(ocBlocks * blockLen + ocBlocks * MR);
  float* bp = wp + ocBlocks * blockLen;
  parallelFor(ocBlocks * g.C, 16, [&](size_t s, size_t e, int) {
    for (size_t t = s; t < e; ++t) {
      const size_t ocb = t / g.C, c = t % g.C;
      float* d = wp + ocb * blockLen + c * KK * MR;
      for (size_t l = 0; l < MR; ++l) {
        const size_t oc = ocb * MR + l;
        for (size_t q = 0; q < KK; ++q) d[q * MR + l] = oc < g.K ? w[(oc * g.C + c) * KK + q] : 0.0f;
      }
    }
  });
  for (size_t i = 0; i < ocBlocks * MR; ++i) bp[i] = b && i < g.K ? b[i] : 0.0f;
  // Phase-split rows: Lp elements per phase, enough for whole-vector loads past the last pixel.
  const size_t sw = g.sw, Lp = (g.Wo + NR - 1) / NR * NR + (g.kw - 1) / sw + 1;
  const size_t rowLen = sw * Lp, imgLen = g.C * g.H * rowLen;
  std::vector<size_t> koff(g.kw);
  for (size_t kx = 0; kx < g.kw; ++kx) koff[kx] = (kx % sw) * Lp + kx / sw;
  // One image per work item: its phase-split copy stays in the thread's L2.
  dynamicFor(g.N, [&](size_t n) {
    float* xs = workspace().phaseBuf(imgLen);
    conv_detail::RowTile t;
    t.xc = g.H * rowLen, t.xrow = rowLen, t.koff = koff.data(), t.kw = static_cast<int>(g.kw), t.C = g.C;
    t.wc = KK * MR, t.wky = g.kw * MR, t.P = P, t.relu = relu;
    {
      for (size_t cr = 0; cr < g.C * g.H; ++cr) {
        const float* src = x + n * g.C * HW + cr * g.W;
        for (size_t f = 0; f < sw; ++f) {
          float* d = xs + cr * rowLen + f * Lp;
          // d[j] = src[j*sw + f - pw] where that lies in [0, W), else 0.
          const long off = static_cast<long>(f) - static_cast<long>(g.pw);
          size_t j0 = off >= 0 ? 0 : (static_cast<size_t>(-off) + sw - 1) / sw;
          size_t j1 = static_cast<long>(g.W) - off <= 0 ? 0 : (static_cast<size_t>(static_cast<long>(g.W) - off) + sw - 1) / sw;
          j1 = std::min(j1, Lp);
          j0 = std::min(j0, j1);
          for (size_t j = 0; j < j0; ++j) d[j] = 0.0f;
          const float* sp = src + off;
          if (sw == 2) {
            for (size_t j = j0; j < j1; ++j) d[j] = sp[2 * j];
          } else {
            for (size_t j = j0; j < j1; ++j) d[j] = sp[j * sw];
          }
          for (size_t j = j1; j < Lp; ++j) d[j] = 0.0f;
        }
      }
      for (size_t oh = 0; oh < g.Ho; ++oh) {
        int ky0, ky1;
        tapRange(oh, g.sh, g.ph, g.kh, g.H, ky0, ky1);
        t.nky = ky1 - ky0;
        const size_t ih0 = oh * g.sh + ky0 - g.ph;  // valid when nky > 0
        const float* xrows = xs + (t.nky > 0 ? ih0 : 0) * rowLen;
        for (size_t ow0 = 0; ow0 < g.Wo; ow0 += NR) {
          t.npx = static_cast<int>(std::min(NR, g.Wo - ow0));
          t.x = xrows + ow0;
          for (size_t ocb = 0; ocb < ocBlocks; ++ocb) {
            t.m = static_cast<int>(std::min(MR, g.K - ocb * MR));
            t.wp = wp + ocb * blockLen + static_cast<size_t>(ky0) * g.kw * MR;
            t.bias = bp + ocb * MR;
            t.y = y + (n * g.K + ocb * MR) * P + oh * g.Wo + ow0;
            ks.tile(t);
          }
        }
      }
    }
  });
}

size_t convOutSize(size_t in, size_t k, size_t stride, size_t pad) {
  if (stride == 0 || in + 2 * pad < k) return 0;
  return (in + 2 * pad - k) / stride + 1;
}

void conv2dForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y, bool relu) {
  const size_t P = g.Ho * g.Wo, CKK = g.C * g.kh * g.kw;
  if (g.N == 0 || g.K == 0 || P == 0) return;
  if (CKK == 0) {
    for (size_t n = 0; n < g.N; ++n)
      for (size_t k = 0; k < g.K; ++k) {
        const float v = b ? b[k] : 0.0f;
        std::fill(y + (n * g.K + k) * P, y + (n * g.K + k + 1) * P, relu && !(v > 0.0f) ? 0.0f : v);
      }
    return;
  }
  if (conv2dUsesRows(g)) {
    conv2dForwardRows(g, x, w, b, y, relu);
    return;
  }
  if (conv2dUsesDirect(g)) {
    conv2dForwardDirect(g, x, w, b, y, relu);
    return;
  }
  forEachChunk(g.N, chunkSize(g), [&](size_t n0, size_t nb, size_t) {
    Workspace& ws = workspace();
    const size_t ld = nb * P;
    float* col = ws.colBuf(CKK * ld);
    im2col(g, x, n0, nb, col);
    if (nb == 1) {
      // One sample: the GEMM's [K, P] output is already NCHW.
      float* yo = y + n0 * g.K * P;
      gemm(false, false, g.K, P, CKK, 1.0f, w, CKK, col, P, 0.0f, yo, P);
      if (b) addBias(yo, b, 1, g.K, P);
    } else {
      float* mat = ws.matBuf(g.K * ld);
      gemm(false, false, g.K, ld, CKK, 1.0f, w, CKK, col, ld, 0.0f, mat, ld);
      scatterChannels(mat, b, g.K, P, n0, nb, y);
    }
  });
  if (relu) applyRelu(y, g.N * g.K * P);
}

void conv2dBackward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx, float* gw,
                    float* gb) {
  const size_t P = g.Ho * g.Wo, CKK = g.C * g.kh * g.kw;
  if (gb) {
    if (g.N == 0 || P == 0) std::fill(gb, gb + g.K, 0.0f);
    else biasGrad(gy, g.N, g.K, P, gb);
  }
  if (!gx && !gw) return;
  if (g.N == 0 || P == 0 || g.K == 0 || CKK == 0) {
    if (gx) std::fill(gx, gx + g.N * g.C * g.H * g.W, 0.0f);
    if (gw) std::fill(gw, gw + g.K * CKK, 0.0f);
    return;
  }
  const size_t nb = chunkSize(g), chunks = (g.N + nb - 1) / nb, wlen = g.K * CKK;
  // Per-chunk weight gradients, summed in chunk order afterwards (thread-count independent).
  float* parts = gw && chunks > 1 ? workspace().partBuf(chunks * wlen) : nullptr;
  forEachChunk(g.N, nb, [&](size_t n0, size_t m, size_t c) {
    Workspace& ws = workspace();
    const size_t ld = m * P;
    float* col = ws.colBuf(CKK * ld);
    const float* gyc = gy + n0 * g.K * P;
    if (m > 1) {
      float* mat = ws.matBuf(g.K * ld);
      gatherChannels(gy, g.K, P, n0, m, mat);
      gyc = mat;
    }
    if (gw) {
      im2col(g, x, n0, m, col);
      // gw[K, CKK] = gy[K, ld] * col[CKK, ld]^T (this chunk's share)
      gemm(false, true, g.K, CKK, ld, 1.0f, gyc, ld, col, ld, 0.0f, parts ? parts + c * wlen : gw, CKK);
    }
    if (gx) {
      // col[CKK, ld] = w[K, CKK]^T * gy[K, ld]
      gemm(true, false, CKK, ld, g.K, 1.0f, w, CKK, gyc, ld, 0.0f, col, ld);
      col2im(g, col, n0, m, gx);
    }
  });
  if (parts) reduceParts(parts, chunks, wlen, gw);
}

void convTranspose2dForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y) {
  const size_t P = g.Ho * g.Wo, CKK = g.C * g.kh * g.kw, HW = g.H * g.W;
  if (g.N == 0 || g.C == 0 || HW == 0) return;
  if (P == 0 || g.K == 0 || CKK == 0) {
    std::fill(y, y + g.N * g.C * HW, 0.0f);
    if (b) addBias(y, b, g.N, g.C, HW);
    return;
  }
  forEachChunk(g.N, chunkSize(g), [&](size_t n0, size_t nb, size_t) {
    Workspace& ws = workspace();
    const size_t ld = nb * P;
    float* col = ws.colBuf(CKK * ld);
    const float* xc = x + n0 * g.K * P;
    if (nb > 1) {
      float* mat = ws.matBuf(g.K * ld);
      gatherChannels(x, g.K, P, n0, nb, mat);
      xc = mat;
    }
    gemm(true, false, CKK, ld, g.K, 1.0f, w, CKK, xc, ld, 0.0f, col, ld);
    col2im(g, col, n0, nb, y);
    if (b) addBias(y + n0 * g.C * HW, b, nb, g.C, HW);
  });
}

void convTranspose2dBackward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx,
                             float* gw, float* gb) {
  const size_t P = g.Ho * g.Wo, CKK = g.C * g.kh * g.kw, HW = g.H * g.W;
  if (gb) {
    if (g.N == 0 || HW == 0) std::fill(gb, gb + g.C, 0.0f);
    else biasGrad(gy, g.N, g.C, HW, gb);
  }
  if (!gx && !gw) return;
  if (g.N == 0 || P == 0 || g.K == 0 || CKK == 0) {
    if (gx) std::fill(gx, gx + g.N * g.K * P, 0.0f);
    if (gw) std::fill(gw, gw + g.K * CKK, 0.0f);
    return;
  }
  const size_t nb = chunkSize(g), chunks = (g.N + nb - 1) / nb, wlen = g.K * CKK;
  float* parts = gw && chunks > 1 ? workspace().partBuf(chunks * wlen) : nullptr;
  forEachChunk(g.N, nb, [&](size_t n0, size_t m, size_t c) {
    Workspace& ws = workspace();
    const size_t ld = m * P;
    float* col = ws.colBuf(CKK * ld);
    im2col(g, gy, n0, m, col);
    if (gw) {
      const float* xc = x + n0 * g.K * P;
      if (m > 1) {
        float* mat = ws.matBuf(g.K * ld);
        gatherChannels(x, g.K, P, n0, m, mat);
        xc = mat;
      }
      // gw[K, CKK] = x[K, ld] * col(gy)[CKK, ld]^T (this chunk's share)
      gemm(false, true, g.K, CKK, ld, 1.0f, xc, ld, col, ld, 0.0f, parts ? parts + c * wlen : gw, CKK);
    }
    if (gx) {
      // gx[K, ld] = w[K, CKK] * col(gy)[CKK, ld]
      if (m == 1) {
        gemm(false, false, g.K, P, CKK, 1.0f, w, CKK, col, P, 0.0f, gx + n0 * g.K * P, P);
      } else {
        float* mat = ws.matBuf(g.K * ld);
        gemm(false, false, g.K, ld, CKK, 1.0f, w, CKK, col, ld, 0.0f, mat, ld);
        scatterChannels(mat, nullptr, g.K, P, n0, m, gx);
      }
    }
  });
  if (parts) reduceParts(parts, chunks, wlen, gw);
}

void conv2dForwardReference(const ConvGeom& g, const float* x, const float* w, const float* b, float* y) {
  for (size_t n = 0; n < g.N; ++n)
    for (size_t k = 0; k < g.K; ++k)
      for (size_t oh = 0; oh < g.Ho; ++oh)
        for (size_t ow = 0; ow < g.Wo; ++ow) {
          double acc = b ? b[k] : 0.0;
          for (size_t c = 0; c < g.C; ++c)
            for (size_t i = 0; i < g.kh; ++i)
              for (size_t j = 0; j < g.kw; ++j) {
                long ih = static_cast<long>(oh * g.sh + i) - static_cast<long>(g.ph);
                long iw = static_cast<long>(ow * g.sw + j) - static_cast<long>(g.pw);
                if (ih < 0 || iw < 0 || ih >= static_cast<long>(g.H) || iw >= static_cast<long>(g.W)) continue;
                acc += static_cast<double>(x[((n * g.C + c) * g.H + ih) * g.W + iw]) *
                       w[((k * g.C + c) * g.kh + i) * g.kw + j];
              }
          y[((n * g.K + k) * g.Ho + oh) * g.Wo + ow] = static_cast<float>(acc);
        }
}

void framesToFloat(const unsigned char* src, float* dst, size_t N, size_t C, size_t H, size_t W, bool channelsLast) {
  const size_t HW = H * W;
  const float scale = 1.0f / 255.0f;
  parallelFor(N * C, 8, [&](size_t b, size_t e, int) {
    for (size_t t = b; t < e; ++t) {
      const size_t n = t / C, c = t % C;
      float* d = dst + t * HW;
      if (channelsLast) {
        const unsigned char* s = src + n * HW * C + c;
        for (size_t p = 0; p < HW; ++p) d[p] = static_cast<float>(s[p * C]) * scale;
      } else {
        const unsigned char* s = src + t * HW;
        for (size_t p = 0; p < HW; ++p) d[p] = static_cast<float>(s[p]) * scale;
      }
    }
  });
}

void floatToFrames(const float* src, unsigned char* dst, size_t N, size_t C, size_t H, size_t W, bool channelsLast) {
  const size_t HW = H * W;
  auto conv = [](float v) -> unsigned char {
    if (!(v > 0.0f)) return 0;  // also NaN
    if (v >= 1.0f) return 255;
    return static_cast<unsigned char>(std::lround(v * 255.0f));
  };
  parallelFor(N * C, 8, [&](size_t b, size_t e, int) {
    for (size_t t = b; t < e; ++t) {
      const size_t n = t / C, c = t % C;
      const float* s = src + t * HW;
      if (channelsLast) {
        unsigned char* d = dst + n * HW * C + c;
        for (size_t p = 0; p < HW; ++p) d[p * C] = conv(s[p]);
      } else {
        unsigned char* d = dst + t * HW;
        for (size_t p = 0; p < HW; ++p) d[p] = conv(s[p]);
      }
    }
  });
}

}  // namespace wk
