// The LSTM gates' pointwise pass as a kernel of its own (cpp/lstm_gates.h), over the pointwise
// passes of lstm.cpp (lstm_pointwise.inl: one copy of the math for the LSTM cell, the sequence
// op, the rollout and this).
//
// Roofline: forward reads pre (4 floats) and c (1) and writes gates (4), c', h', tanh(c') (3) per
// element: 48 B for ~40 flops including 5 transcendentals, so memory-bound at large B*H; the
// copy of pre into gates (the pointwise pass activates in place) adds 32 B read+write per element
// and stays in cache at the sizes a ConvLSTM step has (B*4H ~ 16 x 256 x 256 floats = 4 MiB for
// Moving MNIST at patch 4; next to its gate convolution, ~1% of the step). Backward reads gates,
// c, tanh(c'), dh, dc' (8 floats) and writes dPre, dc (5): 52 B per element.
// Versions: 1 (this): copy + lstmPointwiseForward / lstmPointwiseBackward (threads over rows,
// ISA dispatch inside).
#include "lstm_gates.h"

#include <cstring>

#include "lstm.h"
#include "thread_pool.h"

namespace wk {

void lstmGatesForward(size_t B, size_t H, const float* pre, const float* c, float* gates, float* cNew, float* hNew,
                      float* tanhC) {
  if (B == 0 || H == 0) return;
  const size_t G = 4 * H;
  if (gates != pre) {
    parallelFor(B, 1, [&](size_t r0, size_t r1, int) {
      std::memcpy(gates + r0 * G, pre + r0 * G, (r1 - r0) * G * sizeof(float));
    });
  }
  lstmPointwiseForward(B, H, gates, G, c, H, cNew, H, hNew, H, tanhC, H);
}

void lstmGatesBackward(size_t B, size_t H, const float* gates, const float* c, const float* tanhC, const float* dh,
                       const float* dcNew, float* dPre, float* dc) {
  if (B == 0 || H == 0) return;
  lstmPointwiseBackward(B, H, gates, 4 * H, c, H, tanhC, H, dh, H, dcNew, H, dc, H, dPre, 4 * H);
}

}  // namespace wk
