// The LSTM cell's pointwise part on its own: pre-activations in, new state out, for callers that
// form the gate pre-activations themselves (a ConvLSTM's gate convolution over [x, h]).
//
//   pre [B, 4H] in gate order i, f, g, o (for a ConvLSTM, [B, 4*Ch, h, w] is exactly this with
//   H = Ch*h*w), c [B, H] (null = zeros):
//   i, f, o = σ(.), g = tanh(.), c' = f⊙c + i⊙g, h' = o⊙tanh(c')
//
// Forward keeps what backward needs: the activated gates [B, 4H] and tanh(c') [B, H]. Backward
// writes (does not accumulate) dPre [B, 4H] and dc [B, H] from the gradients of h' and c' (null
// = zero); a null c reads as zeros, a null dc is skipped. The math is lstm_pointwise.inl's (the
// same code as the fused LSTM cell, portable / AVX2 / AVX-512 chosen at run time), so a ConvLSTM
// step and an LSTM step agree bit for bit on the same pre-activations.
#pragma once
#include <cstddef>

namespace wk {

void lstmGatesForward(size_t B, size_t H, const float* pre, const float* c, float* gates, float* cNew, float* hNew,
                      float* tanhC);

void lstmGatesBackward(size_t B, size_t H, const float* gates, const float* c, const float* tanhC, const float* dh,
                       const float* dcNew, float* dPre, float* dc);

}  // namespace wk
