// LSTM cell, teacher-forced sequence (forward and backward through time) and the predictor's
// fused residual head, on wk::gemm plus one pointwise pass per step (lstm_pointwise.inl).
//
// Sequence forward: gates for all T steps start as b_ih + b_hh and receive x·W_ihᵀ as ONE GEMM
// over all B*T rows; then per step only h_{t-1}·W_hhᵀ (a B x 4H GEMM) and the pointwise pass.
// Backward through time: per step the pointwise backward and dh_{t-1} = dG_t·W_hh; after the
// loop dx = dG·W_ih, dW_ih = dGᵀ·x, dW_hh = dGᵀ·H_prev are one GEMM each over all rows, and the
// bias gradient is a column sum in row order (independent of the thread count).
//
// Versions: 1: portable + AVX-512 pointwise passes (AVX2 build added later: lstm_avx2.cpp, for CPUs
// without AVX-512, where the SSE2-only portable pass was most of the rollout); scratch buffers are thread-local
// vectors that only grow, so steady-state calls do not allocate. 2 (this): adds the fused
// open-loop rollout (lstmRolloutForward): all horizon steps (cell GEMMs + pointwise per layer,
// residual head) in one call with workspaces reused across steps. 3: the rollout's weights and
// the sequence's W_hh transposed once per call for gemm's panels path (PreparedTransposedB)
// instead of at every step, bit for bit the same products.
#include "lstm.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "cpu_features.h"
#include "gemm.h"
#include "thread_pool.h"

#define WK_LSTM_SUFFIX Portable
#include "lstm_pointwise.inl"
#undef WK_LSTM_SUFFIX

namespace wk {

void lstmPointwiseForwardAvx512(size_t, size_t, size_t, float*, size_t, const float*, size_t, float*, size_t, float*,
                                size_t, float*, size_t);
void lstmPointwiseBackwardAvx512(size_t, size_t, const float*, size_t, const float*, size_t, const float*, size_t,
                                 const float*, size_t, const float*, size_t, float*, size_t, float*, size_t);
void lstmPointwiseForwardAvx2(size_t, size_t, size_t, float*, size_t, const float*, size_t, float*, size_t, float*,
                              size_t, float*, size_t);
void lstmPointwiseBackwardAvx2(size_t, size_t, const float*, size_t, const float*, size_t, const float*, size_t,
                               const float*, size_t, const float*, size_t, float*, size_t, float*, size_t);

namespace {

float* scratch(int slot, size_t n) {
  thread_local std::vector<float> bufs[4];
  std::vector<float>& v = bufs[slot];
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Rows of one parallel part of a pointwise pass: enough work to pay for a wake-up.
size_t pointwiseGrain(size_t H) { return std::max<size_t>(1, 16384 / std::max<size_t>(H, 1)); }

}  // namespace

namespace {

// The forward pass on the calling thread, `width` units from the pointers (pointwise.inl).
void pointwiseForwardHere(Isa isa, size_t rows, size_t H, size_t width, float* gates, size_t ldg, const float* c,
                          size_t ldc, float* cNew, size_t ldcn, float* hNew, size_t ldh, float* tanhC, size_t ldt) {
  if (isa == Isa::Avx512)
    lstmPointwiseForwardAvx512(rows, H, width, gates, ldg, c, ldc, cNew, ldcn, hNew, ldh, tanhC, ldt);
  else if (isa == Isa::Avx2)
    lstmPointwiseForwardAvx2(rows, H, width, gates, ldg, c, ldc, cNew, ldcn, hNew, ldh, tanhC, ldt);
  else
    lstmPointwiseForwardPortable(rows, H, width, gates, ldg, c, ldc, cNew, ldcn, hNew, ldh, tanhC, ldt);
}

}  // namespace

void lstmPointwiseForward(size_t rows, size_t H, float* gates, size_t ldg, const float* c, size_t ldc, float* cNew,
                          size_t ldcn, float* hNew, size_t ldh, float* tanhC, size_t ldt) {
  const Isa isa = bestIsa();
  parallelFor(rows, pointwiseGrain(H), [&](size_t r0, size_t r1, int) {
    const float* cp = c ? c + r0 * ldc : nullptr;
    pointwiseForwardHere(isa, r1 - r0, H, H, gates + r0 * ldg, ldg, cp, ldc, cNew + r0 * ldcn, ldcn, hNew + r0 * ldh,
                         ldh, tanhC + r0 * ldt, ldt);
  });
}

void lstmPointwiseBackward(size_t rows, size_t H, const float* gates, size_t ldg, const float* c, size_t ldc,
                           const float* tanhC, size_t ldt, const float* dh, size_t lddh, const float* dcIn,
                           size_t lddci, float* dcOut, size_t lddco, float* dG, size_t lddg) {
  const Isa isa = bestIsa();
  parallelFor(rows, pointwiseGrain(H), [&](size_t r0, size_t r1, int) {
    size_t n = r1 - r0;
    const float* cp = c ? c + r0 * ldc : nullptr;
    const float* dhp = dh ? dh + r0 * lddh : nullptr;
    const float* dci = dcIn ? dcIn + r0 * lddci : nullptr;
    float* dco = dcOut ? dcOut + r0 * lddco : nullptr;
    if (isa == Isa::Avx512)
      lstmPointwiseBackwardAvx512(n, H, gates + r0 * ldg, ldg, cp, ldc, tanhC + r0 * ldt, ldt, dhp, lddh, dci, lddci,
                                  dco, lddco, dG + r0 * lddg, lddg);
    else if (isa == Isa::Avx2)
      lstmPointwiseBackwardAvx2(n, H, gates + r0 * ldg, ldg, cp, ldc, tanhC + r0 * ldt, ldt, dhp, lddh, dci, lddci, dco,
                                lddco, dG + r0 * lddg, lddg);
    else
      lstmPointwiseBackwardPortable(n, H, gates + r0 * ldg, ldg, cp, ldc, tanhC + r0 * ldt, ldt, dhp, lddh, dci,
                                    lddci, dco, lddco, dG + r0 * lddg, lddg);
  });
}

namespace {

// gates[r] = b_ih + b_hh for `rows` rows of 4H (zeros without biases).
void fillBias(size_t rows, size_t G, const float* bih, const float* bhh, float* gates) {
  float* b = scratch(3, G);
  for (size_t j = 0; j < G; ++j) b[j] = (bih ? bih[j] : 0.0f) + (bhh ? bhh[j] : 0.0f);
  for (size_t r = 0; r < rows; ++r) std::memcpy(gates + r * G, b, G * sizeof(float));
}

// Column sums of dG [rows, G] in row order -> db (written); copied to db2 when given.
void columnSums(size_t rows, size_t G, const float* dG, size_t ld, float* db, float* db2) {
  float* out = db ? db : db2;
  if (!out) return;
  parallelFor(G, 256, [&](size_t j0, size_t j1, int) {
    for (size_t j = j0; j < j1; ++j) out[j] = 0.0f;
    for (size_t r = 0; r < rows; ++r) {
      const float* row = dG + r * ld;
      for (size_t j = j0; j < j1; ++j) out[j] += row[j];
    }
  });
  if (db && db2) std::memcpy(db2, db, G * sizeof(float));
}

}  // namespace

namespace {

// C (+)= A·Wᵀ through W's prepared copy when there is one: the same bits either way (gemm.h).
void productWithWeightT(size_t M, size_t N, size_t K, const float* A, const float* W, const PreparedTransposedB* prepared,
                        float beta, float* C, size_t ldc, size_t lda) {
  if (prepared) gemmPackedB(M, 1.0f, A, lda, *prepared, beta, C, ldc);
  else gemm(false, true, M, N, K, 1.0f, A, lda, W, K, beta, C, ldc);
}

void cellForward(size_t B, const LstmParams& p, const PreparedTransposedB* wih, const PreparedTransposedB* whh,
                 const float* x, const float* h, const float* c, float* gates, float* cNew, float* hNew,
                 float* tanhC) {
  const size_t H = p.H, G = 4 * H;
  fillBias(B, G, p.bih, p.bhh, gates);
  if (p.I) productWithWeightT(B, G, p.I, x, p.wih, wih, 1.0f, gates, G, p.I);
  if (h) productWithWeightT(B, G, H, h, p.whh, whh, 1.0f, gates, G, H);
  lstmPointwiseForward(B, H, gates, G, c, H, cNew, H, hNew, H, tanhC, H);
}

}  // namespace

void lstmCellForward(size_t B, const LstmParams& p, const float* x, const float* h, const float* c, float* gates,
                     float* cNew, float* hNew, float* tanhC) {
  cellForward(B, p, nullptr, nullptr, x, h, c, gates, cNew, hNew, tanhC);
}

void lstmCellBackward(size_t B, const LstmParams& p, const float* x, const float* h, const float* c,
                      const float* gates, const float* tanhC, const float* dhNew, const float* dcNew, float* dx,
                      float* dh, float* dc, const LstmParamGrads& g, float* dGatesOut) {
  const size_t H = p.H, G = 4 * H, I = p.I;
  float* dG = dGatesOut ? dGatesOut : scratch(0, B * G);
  lstmPointwiseBackward(B, H, gates, G, c, H, tanhC, H, dhNew, H, dcNew, H, dc, H, dG, G);
  if (dx) {
    if (I) gemm(false, false, B, I, G, 1.0f, dG, G, p.wih, I, 0.0f, dx, I);
  }
  if (dh) gemm(false, false, B, H, G, 1.0f, dG, G, p.whh, H, 0.0f, dh, H);
  if (g.wih) {
    if (I) gemm(true, false, G, I, B, 1.0f, dG, G, x, I, 0.0f, g.wih, I);
  }
  if (g.whh) {
    if (h) gemm(true, false, G, H, B, 1.0f, dG, G, h, H, 0.0f, g.whh, H);
    else std::memset(g.whh, 0, G * H * sizeof(float));
  }
  columnSums(B, G, dG, G, g.bih, g.bhh);
}

void lstmSequenceForward(size_t T, size_t B, bool batchFirst, const LstmParams& p, const float* x, const float* h0,
                         const float* c0, float* y, float* gates, float* tanhC, float* cs, float* hN, float* cN) {
  const size_t H = p.H, G = 4 * H, I = p.I, rows = T * B;
  // Step t covers rows r0 + b*rs.
  const size_t rs = batchFirst ? T : 1;
  fillBias(rows, G, p.bih, p.bhh, gates);
  if (I) gemm(false, true, rows, G, I, 1.0f, x, I, p.wih, I, 1.0f, gates, G);
  if (c0) std::memcpy(cs, c0, B * H * sizeof(float));
  else std::memset(cs, 0, B * H * sizeof(float));
  // W_hh transposed once for all steps where gemm would transpose it at every step (same bits).
  static thread_local PreparedTransposedB whh;
  if (T > 1) whh.prepare(B, G, H, p.whh, H);
  for (size_t t = 0; t < T; ++t) {
    const size_t r0 = batchFirst ? t : t * B;
    float* gt = gates + r0 * G;
    if (t == 0) {
      if (h0) gemm(false, true, B, G, H, 1.0f, h0, H, p.whh, H, 1.0f, gt, rs * G);
    } else {
      const size_t rp = batchFirst ? t - 1 : (t - 1) * B;
      gemmPackedB(B, 1.0f, y + rp * H, rs * H, whh, 1.0f, gt, rs * G);
    }
    lstmPointwiseForward(B, H, gt, rs * G, cs + t * B * H, H, cs + (t + 1) * B * H, H, y + r0 * H, rs * H,
                         tanhC + r0 * H, rs * H);
  }
  if (T > 0) {
    const size_t rl = batchFirst ? T - 1 : (T - 1) * B;
    if (hN)
      for (size_t b = 0; b < B; ++b) std::memcpy(hN + b * H, y + (rl + b * rs) * H, H * sizeof(float));
  } else if (hN) {
    if (h0) std::memcpy(hN, h0, B * H * sizeof(float));
    else std::memset(hN, 0, B * H * sizeof(float));
  }
  if (cN) std::memcpy(cN, cs + T * B * H, B * H * sizeof(float));
}

void lstmSequenceBackward(size_t T, size_t B, bool batchFirst, const LstmParams& p, const float* x, const float* h0,
                          const float* y, const float* gates, const float* tanhC, const float* cs, const float* dy,
                          const float* dhN, const float* dcN, float* dx, float* dh0, float* dc0,
                          const LstmParamGrads& g) {
  const size_t H = p.H, G = 4 * H, I = p.I, rows = T * B;
  const size_t rs = batchFirst ? T : 1;
  float* dG = scratch(0, rows * G);
  float* dh = scratch(1, 2 * B * H);  // [dh carried | dh + dy of this step]
  float* dhStep = dh + B * H;
  float* dc = scratch(2, B * H);
  if (dhN) std::memcpy(dh, dhN, B * H * sizeof(float));
  else std::memset(dh, 0, B * H * sizeof(float));
  if (dcN) std::memcpy(dc, dcN, B * H * sizeof(float));
  else std::memset(dc, 0, B * H * sizeof(float));
  for (size_t tt = T; tt-- > 0;) {
    const size_t r0 = batchFirst ? tt : tt * B;
    const float* dhUse = dh;
    if (dy) {
      for (size_t b = 0; b < B; ++b) {
        const float* a = dh + b * H;
        const float* d = dy + (r0 + b * rs) * H;
        float* o = dhStep + b * H;
        for (size_t j = 0; j < H; ++j) o[j] = a[j] + d[j];
      }
      dhUse = dhStep;
    }
    float* dGt = dG + r0 * G;
    lstmPointwiseBackward(B, H, gates + r0 * G, rs * G, cs + tt * B * H, H, tanhC + r0 * H, rs * H, dhUse, H, dc, H,
                          dc, H, dGt, rs * G);
    if (tt > 0 || dh0) gemm(false, false, B, H, G, 1.0f, dGt, rs * G, p.whh, H, 0.0f, dh, H);
  }
  if (dh0) {
    if (T > 0) std::memcpy(dh0, dh, B * H * sizeof(float));
    else if (dhN) std::memcpy(dh0, dhN, B * H * sizeof(float));
    else std::memset(dh0, 0, B * H * sizeof(float));
  }
  if (dc0) std::memcpy(dc0, dc, B * H * sizeof(float));
  if (dx && I) gemm(false, false, rows, I, G, 1.0f, dG, G, p.wih, I, 0.0f, dx, I);
  if (g.wih && I) gemm(true, false, G, I, rows, 1.0f, dG, G, x, I, 0.0f, g.wih, I);
  if (g.whh) {
    // H_prev in the row layout of dG: row (b, t) holds h_{t-1} (h0 or zeros at t = 0).
    float* hp = scratch(1, std::max(2 * B * H, rows * H));
    for (size_t t = 0; t < T; ++t)
      for (size_t b = 0; b < B; ++b) {
        size_t r = batchFirst ? b * T + t : t * B + b;
        float* dst = hp + r * H;
        if (t == 0) {
          if (h0) std::memcpy(dst, h0 + b * H, H * sizeof(float));
          else std::memset(dst, 0, H * sizeof(float));
        } else {
          size_t rp = batchFirst ? b * T + t - 1 : (t - 1) * B + b;
          std::memcpy(dst, y + rp * H, H * sizeof(float));
        }
      }
    if (rows) gemm(true, false, G, H, rows, 1.0f, dG, G, hp, H, 0.0f, g.whh, H);
    else std::memset(g.whh, 0, G * H * sizeof(float));
  }
  if (rows) columnSums(rows, G, dG, G, g.bih, g.bhh);
  else {
    if (g.bih) std::memset(g.bih, 0, G * sizeof(float));
    if (g.bhh) std::memset(g.bhh, 0, G * sizeof(float));
  }
}

namespace {

void headForward(size_t R, size_t D, size_t K, const float* z, const float* h, const float* W,
                 const PreparedTransposedB* prepared, const float* b, float* out) {
  parallelFor(R, std::max<size_t>(1, 65536 / std::max<size_t>(D, 1)), [&](size_t r0, size_t r1, int) {
    for (size_t r = r0; r < r1; ++r) {
      float* o = out + r * D;
      const float* zr = z ? z + r * D : nullptr;
      for (size_t j = 0; j < D; ++j) o[j] = (zr ? zr[j] : 0.0f) + (b ? b[j] : 0.0f);
    }
  });
  if (K) productWithWeightT(R, D, K, h, W, prepared, 1.0f, out, D, K);
}

}  // namespace

void residualHeadForward(size_t R, size_t D, size_t K, const float* z, const float* h, const float* W,
                         const float* b, float* out) {
  headForward(R, D, K, z, h, W, nullptr, b, out);
}

namespace {

using PreparedWeights = std::vector<std::unique_ptr<PreparedTransposedB>>;

// The rollout with each step in L + 1 parallel regions instead of three GEMMs per layer and the
// head plus serial passes between them: per layer, a thread owns blocks of hidden units and, for
// each, fills its four gate column panels (bias, x·W_ihᵀ, h·W_hhᵀ) and runs the pointwise pass
// on them; then the head, per column panel: z + b + h·Wᵀ written in place over the next step's
// input and copied out. Each element gets the operations of the step-by-step path in the same
// order (bias, then the x product, then the h product; z + b, then the head product), through
// the same panels, so the bits are the same. Taken where every weight has panels for B rows and
// a panel never straddles two gates (H a multiple of the panel width); returns false otherwise.
bool rolloutFused(size_t L, const LstmParams* layers, size_t B, size_t D, size_t A, const float* headB,
                  bool residual, float* h, float* c, const float* z0, const float* actions, size_t actionRowStride,
                  size_t S, float* out, const PreparedWeights& prepared) {
  const size_t H = layers[0].H, G = 4 * H, I0 = D + A;
  if (H == 0) return false;
  const size_t nt = prepared[2 * L]->panelWidth();
  for (size_t l = 0; l < L; ++l) {
    if (layers[l].H != H || (layers[l].I && !prepared[2 * l]->panelsFor(B)) || !prepared[2 * l + 1]->panelsFor(B))
      return false;
  }
  if (!prepared[2 * L]->panelsFor(B) || nt == 0 || H % nt != 0) return false;
  const Isa isa = bestIsa();
  const size_t unitBlocks = H / nt, headPanels = prepared[2 * L]->panelCount();
  // Workspaces kept per thread between calls (grow-only): fresh ones would be page-faulted in
  // at every rollout.
  static thread_local std::vector<float> xBuf, gatesBuf, tanhBuf, hBuf, cBuf, biasBuf;
  for (auto* v : {&xBuf, &gatesBuf, &tanhBuf, &hBuf, &cBuf, &biasBuf}) v->clear();
  xBuf.resize(B * I0);
  gatesBuf.resize(B * G);
  tanhBuf.resize(B * H);
  hBuf.resize(B * H);
  cBuf.resize(B * H);
  biasBuf.resize(L * G);
  std::vector<float>&x = xBuf, &gates = gatesBuf, &tanhC = tanhBuf, &hNew = hBuf, &cNew = cBuf, &bias = biasBuf;
  for (size_t l = 0; l < L; ++l)
    for (size_t j = 0; j < G; ++j)
      bias[l * G + j] = (layers[l].bih ? layers[l].bih[j] : 0.0f) + (layers[l].bhh ? layers[l].bhh[j] : 0.0f);
  for (size_t b = 0; b < B; ++b) std::memcpy(&x[b * I0], z0 + b * D, D * sizeof(float));
  for (size_t k = 0; k < S; ++k) {
    if (A && actions)
      for (size_t b = 0; b < B; ++b) std::memcpy(&x[b * I0 + D], actions + b * actionRowStride + k * A, A * sizeof(float));
    const float* in = x.data();
    size_t ldIn = I0;
    for (size_t l = 0; l < L; ++l) {
      const LstmParams& p = layers[l];
      float* hl = h + l * B * H;
      float* cl = c + l * B * H;
      const float* bl = &bias[l * G];
      parallelFor(unitBlocks, 1, [&](size_t u0, size_t u1, int) {
        for (size_t u = u0; u < u1; ++u) {
          for (size_t q = 0; q < 4; ++q) {
            const size_t panel = q * unitBlocks + u, j0 = panel * nt;
            for (size_t r = 0; r < B; ++r) std::memcpy(&gates[r * G + j0], bl + j0, nt * sizeof(float));
            if (p.I) gemmPackedBPanels(B, 1.0f, in, ldIn, *prepared[2 * l], panel, panel + 1, 1.0f, gates.data(), G);
            gemmPackedBPanels(B, 1.0f, hl, H, *prepared[2 * l + 1], panel, panel + 1, 1.0f, gates.data(), G);
          }
          const size_t u0c = u * nt;
          pointwiseForwardHere(isa, B, H, nt, &gates[u0c], G, cl + u0c, H, &cNew[u0c], H, &hNew[u0c], H, &tanhC[u0c], H);
        }
      });
      std::memcpy(hl, hNew.data(), B * H * sizeof(float));
      std::memcpy(cl, cNew.data(), B * H * sizeof(float));
      in = hl;
      ldIn = H;
    }
    const float* top = in;
    parallelFor(headPanels, 1, [&](size_t p0, size_t p1, int) {
      for (size_t panel = p0; panel < p1; ++panel) {
        const size_t j0 = panel * nt, n = std::min(nt, D - j0);
        // x's first D columns hold z_k; they become z_{k+1} = (residual ? z_k : 0) + b + h·Wᵀ.
        for (size_t r = 0; r < B; ++r) {
          float* o = &x[r * I0 + j0];
          for (size_t j = 0; j < n; ++j) o[j] = (residual ? o[j] : 0.0f) + (headB ? headB[j0 + j] : 0.0f);
        }
        gemmPackedBPanels(B, 1.0f, top, H, *prepared[2 * L], panel, panel + 1, 1.0f, x.data(), I0);
        for (size_t r = 0; r < B; ++r) std::memcpy(out + (r * S + k) * D + j0, &x[r * I0 + j0], n * sizeof(float));
      }
    });
  }
  return true;
}

}  // namespace

void lstmRolloutForward(size_t L, const LstmParams* layers, size_t B, size_t D, size_t A, const float* headW,
                        const float* headB, bool residual, float* h, float* c, const float* z0,
                        const float* actions, size_t actionRowStride, size_t S, float* out) {
  if (L == 0 || B == 0 || S == 0) return;
  const size_t H = layers[0].H, G = 4 * H, I0 = D + A;
  // Workspaces, allocated once per call and reused by every step.
  std::vector<float> x(B * I0), gates(B * G), tanhC(B * H), pred(B * D), prev(B * D);
  std::vector<float> hNext(L * B * H), cNext(L * B * H);
  // Every weight transposed once for all steps where gemm would transpose it at every step (same
  // bits). Kept per thread between calls, so a steady stream of rollouts does not page-fault
  // fresh copies in (the cost: the weights' size again, held after the first rollout).
  static thread_local std::vector<std::unique_ptr<PreparedTransposedB>> prepared;
  while (prepared.size() < 2 * L + 1) prepared.push_back(std::make_unique<PreparedTransposedB>());
  for (size_t l = 0; l < L; ++l) {
    const LstmParams& p = layers[l];
    if (p.I) prepared[2 * l]->prepare(B, 4 * p.H, p.I, p.wih, p.I);
    prepared[2 * l + 1]->prepare(B, 4 * p.H, p.H, p.whh, p.H);
  }
  if (H) prepared[2 * L]->prepare(B, D, H, headW, H);
  if (rolloutFused(L, layers, B, D, A, headB, residual, h, c, z0, actions, actionRowStride, S, out, prepared)) return;
  std::memcpy(prev.data(), z0, B * D * sizeof(float));
  for (size_t k = 0; k < S; ++k) {
    for (size_t b = 0; b < B; ++b) {
      std::memcpy(&x[b * I0], &prev[b * D], D * sizeof(float));
      if (A && actions) std::memcpy(&x[b * I0 + D], actions + b * actionRowStride + k * A, A * sizeof(float));
    }
    const float* in = x.data();
    for (size_t l = 0; l < L; ++l) {
      float* hl = h + l * B * H;
      float* cl = c + l * B * H;
      float* hn = &hNext[l * B * H];
      float* cn = &cNext[l * B * H];
      cellForward(B, layers[l], prepared[2 * l].get(), prepared[2 * l + 1].get(), in, hl, cl, gates.data(), cn, hn,
                  tanhC.data());
      std::memcpy(hl, hn, B * H * sizeof(float));
      std::memcpy(cl, cn, B * H * sizeof(float));
      in = hl;
    }
    headForward(B, D, H, residual ? prev.data() : nullptr, in, headW, prepared[2 * L].get(), headB, pred.data());
    for (size_t b = 0; b < B; ++b) std::memcpy(out + (b * S + k) * D, &pred[b * D], D * sizeof(float));
    prev.swap(pred);
  }
}

void residualHeadBackward(size_t R, size_t D, size_t K, const float* h, const float* W, const float* dout, float* dh,
                          float* dW, float* db) {
  if (dh && K) gemm(false, false, R, K, D, 1.0f, dout, D, W, K, 0.0f, dh, K);
  if (dW && K) {
    if (R) gemm(true, false, D, K, R, 1.0f, dout, D, h, K, 0.0f, dW, K);
    else std::memset(dW, 0, D * K * sizeof(float));
  }
  if (db) {
    if (R) columnSums(R, D, dout, D, db, nullptr);
    else std::memset(db, 0, D * sizeof(float));
  }
}

}  // namespace wk
