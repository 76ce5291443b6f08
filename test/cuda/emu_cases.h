// The representative runs of the emulated CUDA kernels shared by the sanitizer programs
// test/cuda/tsan_emu.cc (ThreadSanitizer) and test/cuda/asan_emu.cc (AddressSanitizer): GEMM
// shared-memory tiles with tails, warp-shuffle reductions, the fused losses, LSTM cell/sequence
// forward and backward, conv2d / convTranspose2d with all gradients, broadcast, optim, permute,
// elementwise, frames and RNG, each on std::vector buffers of exactly the sizes the launchers are
// given (so AddressSanitizer's heap redzones sit right after every operand), with spot checks
// against plain loops. Include from exactly one file per program.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "emulation/simt.h"
#include "kernels.h"

namespace wk {
namespace cuda {
// test/cuda/broken_barrier.cu
int testShiftBroken(const float* in, float* out, size_t n, Stream stream);
int testShiftFixed(const float* in, float* out, size_t n, Stream stream);
}  // namespace cuda
}  // namespace wk

namespace {

int gFailures = 0;

std::vector<float> rnd(size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  uint32_t s = seed * 2654435761u + 1;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * static_cast<float>(s >> 8) / 16777216.0f;
  }
  return v;
}

void expectOk(int rc, const char* what) {
  if (rc != 0) {
    std::printf("  %s: CUDA error %d (%s)\n", what, rc, wk_emu::lastFailure().c_str());
    ++gFailures;
  }
}

void expectNear(double a, double e, double tol, const char* what) {
  if (!(std::fabs(a - e) <= tol * std::max(1.0, std::fabs(e)))) {
    std::printf("  %s: %.9g, expected %.9g\n", what, a, e);
    ++gFailures;
  }
}

void gemmCases() {
  // 64x64 tiles with 4x4 register blocks: one shape with tails on every axis, both transposes.
  const size_t M = 67, N = 70, K = 37;
  for (int t = 0; t < 4; ++t) {
    const bool ta = t & 1, tb = t & 2;
    auto A = rnd(M * K, 1 + t), B = rnd(K * N, 2 + t), C = rnd(M * N, 3 + t);
    auto C0 = C;
    const size_t lda = ta ? M : K, ldb = tb ? K : N;
    expectOk(wk::cuda::gemm(ta, tb, M, N, K, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, C.data(), N), "gemm");
    for (size_t i = 0; i < M; i += 11)
      for (size_t j = 0; j < N; j += 13) {
        double s = 0;
        for (size_t k = 0; k < K; ++k)
          s += double(ta ? A[k * lda + i] : A[i * lda + k]) * double(tb ? B[j * ldb + k] : B[k * ldb + j]);
        expectNear(C[i * N + j], 0.5 * s + 0.25 * C0[i * N + j], 1e-4, "gemm element");
      }
  }
}

void reduceCases() {
  const size_t n = 5000;
  auto x = rnd(n, 11);
  std::vector<double> scratch(wk::cuda::kSumAllScratch), out(1);
  expectOk(wk::cuda::sumAll(x.data(), n, out.data(), scratch.data()), "sumAll");
  double s = 0;
  for (float v : x) s += v;
  expectNear(out[0], s, 1e-9, "sumAll");
  const size_t O = 3, R = 67, I = 5;
  auto y = rnd(O * R * I, 12);
  std::vector<float> r(O * I);
  expectOk(wk::cuda::reduceSum3(y.data(), O, R, I, r.data(), 1.0), "reduceSum3");
  double r0 = 0;
  for (size_t k = 0; k < R; ++k) r0 += y[k * I];
  expectNear(r[0], r0, 1e-5, "reduceSum3");
  // contiguous rows (inner 1: the warp-per-row shape)
  std::vector<float> r2(O * R);
  expectOk(wk::cuda::reduceSum3(y.data(), O * R, I, 1, r2.data(), 1.0), "reduceSum3 rows");
  expectNear(r2[1], double(y[5]) + y[6] + y[7] + y[8] + y[9], 1e-5, "reduceSum3 rows");
}

void lossCases() {
  const size_t B = 7, D = 129, C = 67;
  auto a = rnd(B * D, 21), t = rnd(B * D, 22, 0.0f, 1.0f), g = rnd(B, 23);
  std::vector<float> out(B), ga(B * D), gt(B * D);
  for (int kind = 0; kind < 3; ++kind) {
    expectOk(wk::cuda::rowLossForward(kind, a.data(), t.data(), B, D, 1.0, out.data()), "rowLossForward");
    expectOk(wk::cuda::rowLossBackward(kind, a.data(), t.data(), B, D, g.data(), 1.0, ga.data(), gt.data()),
             "rowLossBackward");
  }
  std::vector<float> kl(B), gmu(B * D), glv(B * D);
  expectOk(wk::cuda::klNormalForward(a.data(), t.data(), B, D, kl.data()), "klNormalForward");
  expectOk(wk::cuda::klNormalBackward(a.data(), t.data(), B, D, kl.data(), 0.1f, g.data(), 1.0, gmu.data(),
                                      glv.data()),
           "klNormalBackward");
  auto logits = rnd(B * C, 24);
  std::vector<int32_t> labels(B);
  for (size_t i = 0; i < B; ++i) labels[i] = static_cast<int32_t>((i * 13) % C);
  std::vector<float> loss(B), gl(B * C);
  expectOk(wk::cuda::crossEntropyForward(logits.data(), labels.data(), B, C, loss.data()), "crossEntropyForward");
  expectOk(wk::cuda::crossEntropyBackward(logits.data(), labels.data(), B, C, g.data(), 1.0, gl.data()),
           "crossEntropyBackward");
}

void lstmCases() {
  const size_t B = 3, I = 7, H = 33, T = 4;
  auto wih = rnd(4 * H * I, 31), whh = rnd(4 * H * H, 32), bih = rnd(4 * H, 33), bhh = rnd(4 * H, 34);
  wk::LstmParams p;
  p.I = I;
  p.H = H;
  p.wih = wih.data();
  p.whh = whh.data();
  p.bih = bih.data();
  p.bhh = bhh.data();
  auto x = rnd(T * B * I, 35), h = rnd(B * H, 36), c = rnd(B * H, 37);
  std::vector<float> gates(T * B * 4 * H), cNew(B * H), hNew(B * H), tanhC(T * B * H);
  expectOk(wk::cuda::lstmCellForward(B, p, x.data(), h.data(), c.data(), gates.data(), cNew.data(), hNew.data(),
                                     tanhC.data()),
           "lstmCellForward");
  std::vector<float> gwih(wih.size()), gwhh(whh.size()), gbih(bih.size()), gbhh(bhh.size());
  wk::LstmParamGrads pg;
  pg.wih = gwih.data();
  pg.whh = gwhh.data();
  pg.bih = gbih.data();
  pg.bhh = gbhh.data();
  auto dh = rnd(B * H, 38), dc = rnd(B * H, 39);
  std::vector<float> dx(T * B * I), dhOut(B * H), dcOut(B * H),
      ws(std::max(wk::cuda::lstmCellBackwardWorkspace(B, H), wk::cuda::lstmSequenceBackwardWorkspace(T, B, H)));
  expectOk(wk::cuda::lstmCellBackward(B, p, x.data(), h.data(), c.data(), gates.data(), tanhC.data(), dh.data(),
                                      dc.data(), dx.data(), dhOut.data(), dcOut.data(), pg, nullptr, ws.data()),
           "lstmCellBackward");
  std::vector<float> y(T * B * H), cs((T + 1) * B * H), hN(B * H), cN(B * H);
  expectOk(wk::cuda::lstmSequenceForward(T, B, false, p, x.data(), h.data(), c.data(), y.data(), gates.data(),
                                         tanhC.data(), cs.data(), hN.data(), cN.data()),
           "lstmSequenceForward");
  auto dy = rnd(T * B * H, 40);
  std::vector<float> dh0(B * H), dc0(B * H);
  expectOk(wk::cuda::lstmSequenceBackward(T, B, false, p, x.data(), h.data(), y.data(), gates.data(), tanhC.data(),
                                          cs.data(), dy.data(), dh.data(), dc.data(), dx.data(), dh0.data(),
                                          dc0.data(), pg, ws.data()),
           "lstmSequenceBackward");
  // residual head: out = z + h W^T + b
  const size_t R = 5, D = 9;
  auto z = rnd(R * D, 41), hh = rnd(R * H, 42), W = rnd(D * H, 43), b = rnd(D, 44);
  std::vector<float> out(R * D), dhh(R * H), dW(D * H), db(D);
  expectOk(wk::cuda::residualHeadForward(R, D, H, z.data(), hh.data(), W.data(), b.data(), out.data()),
           "residualHeadForward");
  auto dout = rnd(R * D, 45);
  expectOk(wk::cuda::residualHeadBackward(R, D, H, hh.data(), W.data(), dout.data(), dhh.data(), dW.data(), db.data()),
           "residualHeadBackward");
}

void convCases() {
  wk::ConvGeom g;
  g.N = 2;
  g.C = 3;
  g.H = 9;
  g.W = 7;
  g.K = 5;
  g.kh = g.kw = 3;
  g.sh = g.sw = 2;
  g.ph = g.pw = 1;
  g.Ho = (g.H + 2 * g.ph - g.kh) / g.sh + 1;
  g.Wo = (g.W + 2 * g.pw - g.kw) / g.sw + 1;
  auto x = rnd(g.N * g.C * g.H * g.W, 51), w = rnd(g.K * g.C * g.kh * g.kw, 52), b = rnd(g.K, 53);
  std::vector<float> y(g.N * g.K * g.Ho * g.Wo), ws(wk::cuda::convWorkspace(g));
  expectOk(wk::cuda::conv2dForward(g, x.data(), w.data(), b.data(), y.data(), ws.data()), "conv2dForward");
  auto gy = rnd(y.size(), 54);
  std::vector<float> gx(x.size()), gw(w.size()), gb(b.size());
  expectOk(wk::cuda::conv2dBackward(g, x.data(), w.data(), gy.data(), gx.data(), gw.data(), gb.data(), ws.data()),
           "conv2dBackward");
  // transposed: input [N,K,Ho,Wo], output [N,C,H,W]
  auto xt = rnd(g.N * g.K * g.Ho * g.Wo, 55), bt = rnd(g.C, 56);
  std::vector<float> yt(g.N * g.C * g.H * g.W);
  expectOk(wk::cuda::convTranspose2dForward(g, xt.data(), w.data(), bt.data(), yt.data(), ws.data()),
           "convTranspose2dForward");
  auto gyt = rnd(yt.size(), 57);
  std::vector<float> gxt(xt.size()), gbt(g.C);
  expectOk(wk::cuda::convTranspose2dBackward(g, xt.data(), w.data(), gyt.data(), gxt.data(), gw.data(), gbt.data(),
                                             ws.data()),
           "convTranspose2dBackward");
}

void otherCases() {
  const size_t n = 1000;
  auto a = rnd(n, 61), b = rnd(n, 62, 0.5f, 1.5f);
  std::vector<float> out(n), gx(n);
  for (int op = 0; op < 4; ++op) expectOk(wk::cuda::binarySame(op, a.data(), b.data(), out.data(), n), "binarySame");
  expectOk(wk::cuda::unaryForward(0, a.data(), out.data(), n, 0.0f, 0.0f), "unaryForward");
  expectOk(wk::cuda::unaryBackward(0, a.data(), out.data(), b.data(), gx.data(), n, 0.0f, 0.0f), "unaryBackward");
  expectOk(wk::cuda::axpy(out.data(), a.data(), n, 0.5f), "axpy");
  // broadcast [7,1,5] (+) [1,6,5] -> [7,6,5] and its gradients (the sums over broadcast axes)
  const int64_t as[3] = {7, 1, 5}, bs[3] = {1, 6, 5}, os[3] = {7, 6, 5};
  auto A = rnd(35, 63), Bv = rnd(30, 64, 0.5f, 1.5f), G = rnd(210, 65);
  std::vector<float> O(210), gA(35), gB(30), ws(wk::cuda::binaryBackwardWorkspace(os, 3) + 1);
  for (int op = 0; op < 4; ++op) {
    expectOk(wk::cuda::binaryBroadcast(op, A.data(), as, Bv.data(), bs, O.data(), os, 3), "binaryBroadcast");
    expectOk(wk::cuda::binaryBroadcastBackward(op, A.data(), as, Bv.data(), bs, G.data(), os, 3, gA.data(), gB.data(),
                                               ws.data()),
             "binaryBroadcastBackward");
  }
  // optimizers
  auto p = rnd(n, 66), g = rnd(n, 67);
  std::vector<float> buf(n), m(n), v(n);
  expectOk(wk::cuda::sgdStep(p.data(), g.data(), buf.data(), n, 0.1f, 0.9f, 0.0f, 1e-4f, true, true), "sgdStep");
  expectOk(wk::cuda::adamStep(p.data(), g.data(), m.data(), v.data(), n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true,
                              0.1, 0.001),
           "adamStep");
  // frames
  const size_t N = 2, C = 3, H = 5, W = 7;
  std::vector<unsigned char> fr(N * C * H * W), fr2(fr.size());
  for (size_t i = 0; i < fr.size(); ++i) fr[i] = static_cast<unsigned char>(i * 37);
  std::vector<float> ff(fr.size());
  expectOk(wk::cuda::framesToFloat(fr.data(), ff.data(), N, C, H, W, true), "framesToFloat");
  expectOk(wk::cuda::floatToFrames(ff.data(), fr2.data(), N, C, H, W, true), "floatToFrames");
  if (fr != fr2) {
    std::printf("  frames: round trip differs\n");
    ++gFailures;
  }
  // permute: NCHW -> NHWC
  const int64_t ps[4] = {2, 3, 5, 7};
  const int perm[4] = {0, 2, 3, 1};
  auto px = rnd(210, 68);
  std::vector<float> py(210);
  expectOk(wk::cuda::permute(px.data(), ps, 4, perm, py.data()), "permute");
  if (py[1] != px[35]) {  // y[0,0,0,1] = x[0,1,0,0]
    std::printf("  permute: wrong element\n");
    ++gFailures;
  }
  // rng
  std::vector<float> r(n);
  expectOk(wk::cuda::rngUniform(r.data(), n, 5, 0, 0.0f, 1.0f), "rngUniform");
  expectOk(wk::cuda::rngNormal(r.data(), n, 5, 7, 0.0f, 1.0f), "rngNormal");
}

std::vector<float> shiftExpected(const std::vector<float>& x) {
  std::vector<float> e(x.size());
  for (size_t i = 0; i < x.size(); ++i) e[i] = i % 128 == 0 ? 0.0f : x[i - 1];
  return e;
}

}  // namespace
