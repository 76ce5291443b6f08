// Profiling tool, not a suite: wk::gemm and OpenBLAS's cblas_sgemm on the same buffers in one
// process, alternated call by call, so the ratio of each pair is taken under the same load. On a
// shared machine the bench's ratios (worldkit and the peer timed minutes apart, in two processes)
// move by 10% between runs; the median of these pairs moves by about 2%.
//
// One thread only: with two, OpenBLAS's OpenMP pool and worldkit's pool spin against each other in
// one process and both slow down (use `worldkit bench` for two threads).
//
// Build from the repository root after `npx cmake-js compile --out build` (the static CPU library):
//   g++ -O2 -std=c++17 -Icpp bench/peers/gemm_same_process.cpp build/libworldkit_cpu.a \
//     -L/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -lpthread \
//     -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -o /tmp/gemm_same_process
// Run with OpenBLAS's kernels chosen as the bench chooses them (SkylakeX where AVX-512 F/BW/VL/DQ
// exist, else Haswell), overriding the machine's pin:
//   OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=1 /tmp/gemm_same_process TA TB M N K [pairs]
// TA/TB are 0 or 1. Prints both GFLOP/s (medians) and the median of the pairs' ratios
// (> 1: worldkit is faster).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "gemm.h"
#include "thread_pool.h"

extern "C" void openblas_set_num_threads(int);

namespace {

double seconds(const std::chrono::steady_clock::time_point& t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s TA TB M N K [pairs]\n", argv[0]);
    return 2;
  }
  const bool tA = std::atoi(argv[1]) != 0, tB = std::atoi(argv[2]) != 0;
  const size_t M = std::strtoul(argv[3], nullptr, 10), N = std::strtoul(argv[4], nullptr, 10),
               K = std::strtoul(argv[5], nullptr, 10);
  const int pairs = argc > 6 ? std::atoi(argv[6]) : 40;
  if (M == 0 || N == 0 || K == 0 || pairs < 1) {
    std::fprintf(stderr, "M, N, K and pairs must be positive\n");
    return 2;
  }
  wk::setNumThreads(1);
  openblas_set_num_threads(1);
  std::vector<float> A(M * K), B(K * N), C(M * N);
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& x : A) x = u(gen);
  for (float& x : B) x = u(gen);
  const size_t lda = tA ? M : K, ldb = tB ? K : N;
  const double flop = 2.0 * M * N * K;
  // Enough calls per timing for about 0.2 GFLOP, so small shapes are not timer noise.
  const int calls = std::max(1, static_cast<int>(2e8 / flop));
  std::vector<double> mine, theirs, ratio;
  for (int p = 0; p < pairs; ++p) {
    auto t0 = std::chrono::steady_clock::now();
    for (int c = 0; c < calls; ++c) wk::gemm(tA, tB, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), N);
    const double a = seconds(t0) / calls;
    t0 = std::chrono::steady_clock::now();
    for (int c = 0; c < calls; ++c)
      cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, static_cast<int>(M),
                  static_cast<int>(N), static_cast<int>(K), 1.0f, A.data(), static_cast<int>(lda), B.data(),
                  static_cast<int>(ldb), 0.0f, C.data(), static_cast<int>(N));
    const double b = seconds(t0) / calls;
    mine.push_back(a);
    theirs.push_back(b);
    ratio.push_back(b / a);
  }
  std::printf("%s%s %zux%zux%zu, 1 thread: worldkit %.1f GFLOP/s, OpenBLAS %.1f GFLOP/s, median ratio of %d pairs %.3f\n",
              tA ? "T" : "N", tB ? "T" : "N", M, N, K, flop / median(mine) / 1e9, flop / median(theirs) / 1e9, pairs,
              median(ratio));
  return 0;
}
