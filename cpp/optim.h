// Fused optimizer updates: one pass over each parameter tensor.
#pragma once
#include <cstddef>

namespace wk {

// PyTorch SGD: g' = g + wd*p; buf = first ? g' : momentum*buf + (1-dampening)*g';
// d = nesterov ? g' + momentum*buf : buf (d = g' when momentum == 0, buf may be null); p -= lr*d.
void sgdStep(float* p, const float* g, float* buf, size_t n, float lr, float momentum, float dampening,
             float weightDecay, bool nesterov, bool firstStep);

// Adam / AdamW (decoupled): with bc1 = 1-beta1^t, bc2 = 1-beta2^t,
//   AdamW: p *= 1 - lr*wd;  Adam: g += wd*p
//   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;  p -= (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps)
void adamStep(float* p, const float* g, float* m, float* v, size_t n, float lr, float beta1, float beta2, float eps,
              float weightDecay, bool decoupled, double bc1, double bc2);

// sum x^2 in double, fixed order.
double sumSquares(const float* x, size_t n);
// x *= s
void scaleInPlace(float* x, size_t n, float s);

}  // namespace wk
