// Profiling tool, not a suite: where the fused LSTM rollout's time goes, in one process, at the
// lstm suite's rollout shape (B=32, H=256, latent 1024, 3 actions, 15 steps after the first
// prediction). Times wk::lstmRolloutForward, then its three products alone (x.W_ih^T with K =
// 1027, h.W_hh^T and the head h.W^T with K = 256, each 15 times, through weights prepared once
// as the rollout prepares them), then the three interleaved as the rollout runs them, so what is
// not a GEMM (pointwise gates, copies, pool wake-ups, the one-off preparation) and what
// interleaving costs (the small weights no longer stay in L2) can be read off; then the three
// preparations alone, and the same products through gemm() (transposing the weights at every
// call). Medians of 60.
//
// Build from the repository root after `npx cmake-js compile --out build` (the static CPU library):
//   g++ -O2 -std=c++17 -Icpp bench/peers/lstm_rollout_breakdown.cpp build/libworldkit_cpu.a -lpthread \
//     -o /tmp/lstm_rollout_breakdown
//   /tmp/lstm_rollout_breakdown                        (all cores; WORLDKIT_NUM_THREADS=1 for one)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "gemm.h"
#include "lstm.h"

namespace {

double medianMs(const std::function<void()>& f, int reps = 60) {
  for (int i = 0; i < 5; ++i) f();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main() {
  const size_t B = 32, H = 256, A = 3, D = 1024, G = 4 * H, I0 = D + A, S = 15;
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-0.03f, 0.03f);
  auto vec = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = u(gen);
    return v;
  };
  auto wih = vec(G * I0), whh = vec(G * H), bih = vec(G), bhh = vec(G), hw = vec(D * H), hb = vec(D);
  auto h0 = vec(B * H), c0 = vec(B * H), z0 = vec(B * D), act = vec(B * 16 * A);
  std::vector<float> out(B * S * D), h(B * H), c(B * H);
  wk::LstmParams p;
  p.I = I0;
  p.H = H;
  p.wih = wih.data();
  p.whh = whh.data();
  p.bih = bih.data();
  p.bhh = bhh.data();
  const double rollout = medianMs([&] {
    h = h0;
    c = c0;
    wk::lstmRolloutForward(1, &p, B, D, A, hw.data(), hb.data(), true, h.data(), c.data(), z0.data(), act.data(),
                           16 * A, S, out.data());
  });
  std::vector<float> x = vec(B * I0), gates(B * G), hh = vec(B * H), o(B * D);
  wk::PreparedTransposedB px, ph, pd;
  auto prepare = [&] {
    px.prepare(B, G, I0, wih.data(), I0);
    ph.prepare(B, G, H, whh.data(), H);
    pd.prepare(B, D, H, hw.data(), H);
  };
  prepare();
  auto gx = [&] { wk::gemmPackedB(B, 1, x.data(), I0, px, 1, gates.data(), G); };
  auto gh = [&] { wk::gemmPackedB(B, 1, hh.data(), H, ph, 1, gates.data(), G); };
  auto gd = [&] { wk::gemmPackedB(B, 1, hh.data(), H, pd, 1, o.data(), D); };
  auto times = [&](const std::function<void()>& f) { return [&, f] { for (size_t i = 0; i < S; ++i) f(); }; };
  const double tx = medianMs(times(gx)), th = medianMs(times(gh)), td = medianMs(times(gd));
  const double tPrepare = medianMs(prepare);
  const double perCall = medianMs([&] {
    for (size_t i = 0; i < S; ++i) {
      wk::gemm(false, true, B, G, I0, 1, x.data(), I0, wih.data(), I0, 1, gates.data(), G);
      wk::gemm(false, true, B, G, H, 1, hh.data(), H, whh.data(), H, 1, gates.data(), G);
      wk::gemm(false, true, B, D, H, 1, hh.data(), H, hw.data(), H, 1, o.data(), D);
    }
  });
  const double inter = medianMs([&] {
    for (size_t i = 0; i < S; ++i) {
      gx();
      gh();
      gd();
    }
  });
  const double flops = 2.0 * S * B * (G * (I0 + H) + D * H);
  std::printf("rollout (15 steps) %.3f ms, %.1f GFLOP/s\n", rollout, flops / rollout / 1e6);
  std::printf("alone: x.W_ih^T %.3f ms, h.W_hh^T %.3f ms, head %.3f ms (sum %.3f ms)\n", tx, th, td, tx + th + td);
  std::printf("interleaved as in the rollout: %.3f ms, %.1f GFLOP/s\n", inter, flops / inter / 1e6);
  std::printf("preparing the three weights once: %.3f ms; the products through gemm() instead: %.3f ms\n", tPrepare,
              perCall);
}
