#include "cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace wk {
namespace {
Isa detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Portable;
}
Isa envCap() {
  const char* e = std::getenv("WORLDKIT_ISA");
  if (!e) return Isa::Avx512;
  if (!std::strcmp(e, "portable")) return Isa::Portable;
  if (!std::strcmp(e, "avx2")) return Isa::Avx2;
  return Isa::Avx512;
}
std::atomic<int> cap{-1};
}  // namespace

Isa bestIsa() {
  static const Isa hw = detect();
  int c = cap.load(std::memory_order_relaxed);
  if (c < 0) {
    c = static_cast<int>(envCap());
    cap.store(c, std::memory_order_relaxed);
  }
  return static_cast<Isa>(static_cast<int>(hw) < c ? static_cast<int>(hw) : c);
}
void setIsaCap(Isa c) { cap.store(static_cast<int>(c), std::memory_order_relaxed); }
const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "portable";
  }
}
}  // namespace wk
