// ThreadSanitizer run of the emulated CUDA kernels: a standalone program (no Node: a TSan addon
// inside node needs the runtime preloaded) built with -fsanitize=thread from the unchanged
// cuda/*.cu sources through the SIMT emulation (cuda/emulation/simt.h annotates fibers, barriers
// and warp syncs for TSan, see its header). test/cuda_tsan.test.ts builds and runs it. The kernel
// runs themselves are shared with the AddressSanitizer program (test/cuda/emu_cases.h).
//
//   tsan_emu good     runs a representative set of kernels (GEMM shared-memory tiles with tails,
//                     warp-shuffle reductions, the fused losses, LSTM cell/sequence forward and
//                     backward, conv2d / convTranspose2d with all gradients, broadcast, optim, permute,
//                     elementwise, frames, RNG, and broken_barrier's fixed kernel) under the
//                     forward and the random schedule; exit 0 only when TSan reported nothing
//                     and the spot checks against plain loops hold.
//   tsan_emu broken   runs test/cuda/broken_barrier.cu's kernel without its __syncthreads under
//                     the FORWARD schedule (where the scheduling switch cannot see the bug) and
//                     exits 0 only when TSan reported the race.
//
// Every report is counted through TSan's __tsan_on_report hook and printed per section. The
// process ends with the exit_group system call, so TSan's own exit code (66 after any report,
// which it also forces on exit and _exit) does not replace ours.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "emu_cases.h"

#if !WK_EMU_TSAN
#error "tsan_emu.cc is meant to be built with -fsanitize=thread"
#endif

static std::atomic<int> gReports{0};
extern "C" void __tsan_on_report(const void*) { gReports.fetch_add(1); }

namespace {

template <class F>
void section(const char* name, F&& body) {
  const int before = gReports.load(), failBefore = gFailures;
  body();
  const int reports = gReports.load() - before;
  std::printf("[tsan_emu] %-28s %s (%d TSan report%s)\n", name,
              reports == 0 && gFailures == failBefore ? "ok" : "FAILED", reports, reports == 1 ? "" : "s");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "good";
  if (!std::getenv("WK_EMU_WORKERS")) wk_emu::setWorkers(2);
  int code = 0;
  if (mode == "good") {
    const struct {
      wk_emu::Schedule s;
      const char* name;
    } schedules[] = {{wk_emu::Schedule::Forward, "forward"}, {wk_emu::Schedule::Random, "random:7"}};
    for (const auto& sc : schedules) {
      wk_emu::setSchedule(sc.s, 7);
      std::printf("[tsan_emu] schedule %s\n", sc.name);
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
    }
    const int reports = gReports.load();
    std::printf("[tsan_emu] good kernels: %d TSan report%s, %d check failure%s\n", reports, reports == 1 ? "" : "s",
                gFailures, gFailures == 1 ? "" : "s");
    code = reports == 0 && gFailures == 0 ? 0 : 1;
  } else if (mode == "broken") {
    wk_emu::setSchedule(wk_emu::Schedule::Forward, 1);
    auto x = rnd(300, 71);
    std::vector<float> out(300);
    expectOk(wk::cuda::testShiftBroken(x.data(), out.data(), x.size(), nullptr), "testShiftBroken");
    const bool sameAsFixed = out == shiftExpected(x);
    const int reports = gReports.load();
    std::printf("[tsan_emu] broken kernel under the forward schedule: result %s, %d TSan report%s -> %s\n",
                sameAsFixed ? "looks right" : "wrong", reports, reports == 1 ? "" : "s",
                reports > 0 ? "missing barrier caught" : "NOT caught");
    code = reports > 0 ? 0 : 1;
  } else {
    std::fprintf(stderr, "usage: tsan_emu good|broken\n");
    code = 2;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  syscall(SYS_exit_group, code);
  return code;
}
