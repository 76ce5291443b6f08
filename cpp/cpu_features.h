// Run-time instruction-set detection for kernel dispatch (AVX-512 > AVX2+FMA > portable).
// WORLDKIT_ISA=portable|avx2|avx512 caps the choice (tests use it to cover every path).
#pragma once

namespace wk {
enum class Isa { Portable = 0, Avx2 = 1, Avx512 = 2 };
Isa bestIsa();          // what this CPU supports, capped by WORLDKIT_ISA and setIsaCap
void setIsaCap(Isa cap);
const char* isaName(Isa isa);
}  // namespace wk
