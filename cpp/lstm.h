// LSTM kernels (PyTorch layout): weight_ih [4H,I], weight_hh [4H,H], bias_ih/bias_hh [4H],
// gates in the order i, f, g, o.
//
//   gates = x·W_ihᵀ + h·W_hhᵀ + b_ih + b_hh      (wk::gemm)
//   i,f,o = σ(.), g = tanh(.), c' = f⊙c + i⊙g, h' = o⊙tanh(c')   (one pointwise pass)
//
// Forward passes keep what backward needs: the activated gates and tanh(c'). Gradients are
// written (not accumulated); every null output pointer is skipped; a null h/c means zeros.
// Row layout of sequences: row(b, t) = batchFirst ? b*T + t : t*B + b, so batch-first
// [B,T,·] and time-major [T,B,·] tensors are used in place (GEMMs take row strides).
#pragma once
#include <cstddef>

namespace wk {

struct LstmParams {
  size_t I = 0, H = 0;
  const float* wih = nullptr;  // [4H, I]
  const float* whh = nullptr;  // [4H, H]
  const float* bih = nullptr;  // [4H] or null
  const float* bhh = nullptr;  // [4H] or null
};

struct LstmParamGrads {
  float* wih = nullptr;
  float* whh = nullptr;
  float* bih = nullptr;
  float* bhh = nullptr;
};

// One step for B rows. gates [B,4H] (out, activated), tanhC/cNew/hNew [B,H] (out).
void lstmCellForward(size_t B, const LstmParams& p, const float* x, const float* h, const float* c, float* gates,
                     float* cNew, float* hNew, float* tanhC);

// Backward of one step. dhNew/dcNew: gradients of hNew/cNew (null = zero).
// Outputs dx [B,I], dh [B,H], dc [B,H], parameter gradients, and the pre-activation gate
// gradients dGatesOut [B,4H] (for callers that defer the weight GEMMs): all optional.
void lstmCellBackward(size_t B, const LstmParams& p, const float* x, const float* h, const float* c,
                      const float* gates, const float* tanhC, const float* dhNew, const float* dcNew, float* dx,
                      float* dh, float* dc, const LstmParamGrads& g, float* dGatesOut = nullptr);

// Teacher-forced sequence: x [rows, I] -> y [rows, H] (h of every step), hN, cN [B,H].
// Saved for backward: gates [rows, 4H] (activated), tanhC [rows, H], cs [(T+1), B, H]
// (time-major cell states, cs[0] = c0).
void lstmSequenceForward(size_t T, size_t B, bool batchFirst, const LstmParams& p, const float* x, const float* h0,
                         const float* c0, float* y, float* gates, float* tanhC, float* cs, float* hN, float* cN);

// Backward through time of lstmSequenceForward. dy [rows,H], dhN, dcN: output gradients
// (null = zero). Outputs dx [rows,I], dh0, dc0 [B,H], parameter gradients: all optional.
void lstmSequenceBackward(size_t T, size_t B, bool batchFirst, const LstmParams& p, const float* x, const float* h0,
                          const float* y, const float* gates, const float* tanhC, const float* cs, const float* dy,
                          const float* dhN, const float* dcN, float* dx, float* dh0, float* dc0,
                          const LstmParamGrads& g);

// The predictor's head fused with the residual update: out = z + h·Wᵀ + b over R rows
// (z null: no residual; b null: no bias). h [R,K], W [D,K], z/out [R,D].
void residualHeadForward(size_t R, size_t D, size_t K, const float* z, const float* h, const float* W,
                         const float* b, float* out);
// Its backward: dh = dout·W, dW = doutᵀ·h, db = column sums of dout (dz = dout: no kernel).
void residualHeadBackward(size_t R, size_t D, size_t K, const float* h, const float* W, const float* dout, float* dh,
                          float* dW, float* db);

// Open-loop rollout of the predictor (LSTM stack + residual head), S steps in one call, no
// gradients. Step k: x = [prev_b, actions(b, k)] (prev = z0 at k = 0, else step k-1's
// prediction), each layer l runs lstmCellForward on its state h[l], c[l] ([L,B,H], updated in
// place to the final state), then pred = (residual ? prev : 0) + h_top·Wᵀ + b -> out[b, k, :].
// The same kernels, in the same order, as the step-by-step path, so the bits are the same.
// actions: row b of step k at actions + b*actionRowStride + k*A (null or A = 0: none).
// layers[0].I must be D + A, later layers' I = H. headB may be null.
void lstmRolloutForward(size_t L, const LstmParams* layers, size_t B, size_t D, size_t A, const float* headW,
                        const float* headB, bool residual, float* h, float* c, const float* z0,
                        const float* actions, size_t actionRowStride, size_t S, float* out);

// Pointwise passes (exposed for tests and the CUDA twins' comparisons).
void lstmPointwiseForward(size_t rows, size_t H, float* gates, size_t ldg, const float* c, size_t ldc, float* cNew,
                          size_t ldcn, float* hNew, size_t ldh, float* tanhC, size_t ldt);
void lstmPointwiseBackward(size_t rows, size_t H, const float* gates, size_t ldg, const float* c, size_t ldc,
                           const float* tanhC, size_t ldt, const float* dh, size_t lddh, const float* dcIn,
                           size_t lddci, float* dcOut, size_t lddco, float* dG, size_t lddg);

}  // namespace wk
