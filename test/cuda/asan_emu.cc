// AddressSanitizer run of the emulated CUDA kernels (issue 13: "an AddressSanitizer build of the
// emulated kernels beside the ThreadSanitizer one; a planted out-of-bounds kernel is caught"): a
// standalone program (no Node: an ASan addon inside node needs the runtime preloaded) built with
// -fsanitize=address from the unchanged cuda/*.cu sources through the SIMT emulation
// (cuda/emulation/simt.h switches fibers with ucontext under ASan, which ASan follows), plus
// test/cuda/broken_barrier.cu and test/cuda/out_of_bounds.cu. test/cuda_asan.test.ts builds and
// runs it.
//
// Every operand is a std::vector of exactly the size its launcher is given, so ASan's heap redzone
// starts right after its last element: any kernel read or write past an operand is a
// heap-buffer-overflow report with the kernel's frame and source line. (The emulation's guard
// zones catch writes only, and only for emulated allocations; ASan catches reads too, and
// overflows of dynamic shared memory.)
//
//   asan_emu good    the kernel runs of test/cuda/emu_cases.h (GEMM tiles with tails, shuffle
//                    reductions, losses, LSTM, conv, broadcast, optim, permute, elementwise,
//                    frames, RNG) and the correct kernels of broken_barrier.cu / out_of_bounds.cu,
//                    under the forward and the random schedule; exits 0 only when ASan reported
//                    nothing (it aborts the run at its first report) and the spot checks hold.
//   asan_emu write   out_of_bounds.cu's i <= n loop with `in` one element longer, so its first bad
//                    access is the write out[n]: ASan must abort with a WRITE heap-buffer-overflow.
//   asan_emu read    out_of_bounds.cu's out[i] = in[i + 1]: a READ heap-buffer-overflow of in[n].
// The test expects a non-zero exit and the report for the last two, exit 0 for the first.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "emu_cases.h"

#if !defined(__SANITIZE_ADDRESS__)
#error "asan_emu.cc is meant to be built with -fsanitize=address"
#endif

namespace wk {
namespace cuda {
// test/cuda/out_of_bounds.cu
int testOobWrite(const float* in, float* out, size_t n, Stream stream);
int testOobRead(const float* in, float* out, size_t n, Stream stream);
int testOobFixed(const float* in, float* out, size_t n, Stream stream);
}  // namespace cuda
}  // namespace wk

namespace {

template <class F>
void section(const char* name, F&& body) {
  const int failBefore = gFailures;
  body();
  std::printf("[asan_emu] %-28s %s\n", name, gFailures == failBefore ? "ok" : "FAILED");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "good";
  if (!std::getenv("WK_EMU_WORKERS")) wk_emu::setWorkers(2);
  const size_t n = 300;
  if (mode == "good") {
    const struct {
      wk_emu::Schedule s;
      const char* name;
    } schedules[] = {{wk_emu::Schedule::Forward, "forward"}, {wk_emu::Schedule::Random, "random:7"}};
    for (const auto& sc : schedules) {
      wk_emu::setSchedule(sc.s, 7);
      std::printf("[asan_emu] schedule %s\n", sc.name);
      section("gemm.cu", gemmCases);
      section("reduce.cu", reduceCases);
      section("losses.cu", lossCases);
      section("lstm.cu", lstmCases);
      section("conv.cu", convCases);
      section("elementwise/broadcast/...", otherCases);
      section("broken_barrier.cu (fixed)", [] {
        auto x = rnd(300, 71);
        std::vector<float> out(300);
        expectOk(wk::cuda::testShiftFixed(x.data(), out.data(), x.size(), nullptr), "testShiftFixed");
        if (out != shiftExpected(x)) {
          std::printf("  testShiftFixed: wrong result\n");
          ++gFailures;
        }
      });
      section("out_of_bounds.cu (fixed)", [n] {
        auto x = rnd(n, 72);
        std::vector<float> out(n);
        expectOk(wk::cuda::testOobFixed(x.data(), out.data(), n, nullptr), "testOobFixed");
        if (out != x) {
          std::printf("  testOobFixed: wrong result\n");
          ++gFailures;
        }
      });
    }
    std::printf("[asan_emu] good kernels: 0 ASan reports, %d check failure%s\n", gFailures, gFailures == 1 ? "" : "s");
    return gFailures == 0 ? 0 : 1;
  }
  if (mode == "write" || mode == "read") {
    wk_emu::setSchedule(wk_emu::Schedule::Forward, 1);
    auto x = rnd(mode == "write" ? n + 1 : n, 73);  // write: in[n] exists, so the first bad access is out[n]
    std::vector<float> out(n);
    std::printf("[asan_emu] launching the planted out-of-bounds %s (n = %zu)\n", mode.c_str(), n);
    std::fflush(stdout);
    const int rc = mode == "write" ? wk::cuda::testOobWrite(x.data(), out.data(), n, nullptr)
                                   : wk::cuda::testOobRead(x.data(), out.data(), n, nullptr);
    std::printf("[asan_emu] planted out-of-bounds %s NOT caught (rc %d)\n", mode.c_str(), rc);
    return 0;
  }
  std::fprintf(stderr, "usage: asan_emu good|write|read\n");
  return 2;
}
