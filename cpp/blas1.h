// Level-1 vector kernels used by the autograd engine and optimizers.
#pragma once
#include <cstddef>

namespace wk {
// y += alpha * x
void axpy(float* y, const float* x, size_t n, float alpha);
}  // namespace wk
