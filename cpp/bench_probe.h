// Machine probes for the benchmark (bench/run.ts): the peak single-precision FMA rate and the
// copy bandwidth, measured with N plain std::threads (not the kernel pool, so the probe measures
// the machine, not worldkit's scheduling).
#pragma once
#include <cstddef>

namespace wk {
struct ProbeResult {
  double gflops;     // peakFlops: FLOP/s / 1e9 (an FMA counts 2 FLOP)
  double gbps;       // copyBandwidth: (bytes read + bytes written) / s / 1e9
  double seconds;    // wall time of the timed run
  const char* isa;   // the instruction set the loop used
};
// FMA-bound loop: every thread runs `iters` rounds of independent FMA chains in registers.
ProbeResult probePeakFlops(int threads, long long iters);
// memcpy of `bytes` (split across threads), `reps` times; the best rep is reported.
ProbeResult probeCopyBandwidth(int threads, size_t bytes, int reps);

// ISA-specific loops (bench_probe_avx512.cpp / bench_probe_avx2.cpp): FLOP done.
double fmaChainsAvx512(long long iters, float seed);
double fmaChainsAvx2(long long iters, float seed);
}  // namespace wk
