// Block-causal scaled dot-product attention (the Transformer predictor's attention), forward and
// backward, on q [BH, Tq, dh], k/v [BH, Tk, dh] (BH = batch * heads, rows contiguous), Tq <= Tk:
//
//   query i sits at absolute position p = i + (Tk - Tq); key j is visible to it iff
//   floor(j / bs) <= floor(p / bs), bs = tokensPerFrame (1: ordinary causal attention; a frame's
//   tokens see each other and every earlier frame). Tq = Tk is training; Tq < Tk is KV-cache
//   decoding (the newest frame's queries against the whole cache).
//   o_i = sum_j softmax_j(scale * q_i . k_j) v_j over the visible j,  lse_i = log sum_j exp(scale q_i . k_j)
//
// Two versions of each pass:
//   attentionForward / attentionBackward: the fused FlashAttention form (cpp/attention.cpp,
//     attention_kernels.inl): tiles of queries x keys with an online softmax, never the [Tq, Tk]
//     score matrix; backward recomputes the scores tile by tile from lse (FlashAttention-2:
//     D_i = rowsum(dO_i * O_i)), dK/dV per key tile and dQ per query tile (deterministic: every
//     output element is summed by one task in a fixed order, whatever the thread count).
//   attentionForwardReference / attentionBackwardReference: the plain form that materialises the
//     scores of one (batch, head) at a time (tests and the bench's baseline).
// Gradients are written (not accumulated); a null gradient pointer is skipped.
#pragma once
#include <cstddef>

namespace wk {

struct AttentionDims {
  size_t BH = 0, Tq = 0, Tk = 0, dh = 0;
  size_t tokensPerFrame = 1;
  float scale = 1.0f;
  // Rows of each head's k and v buffers when they hold more than the Tk keys used (a
  // preallocated KV cache of that capacity, filled to Tk); 0 means Tk. Forward only: the
  // backward takes k and v of exactly Tk rows.
  size_t kvRows = 0;
};

// Rows between one head's keys (and values) and the next's.
inline size_t attentionKvRows(const AttentionDims& d) { return d.kvRows ? d.kvRows : d.Tk; }

// One past the last key visible to query i (keys [0, end) are visible).
inline size_t attentionVisibleEnd(const AttentionDims& d, size_t i) {
  const size_t p = i + (d.Tk - d.Tq);
  const size_t end = (p / d.tokensPerFrame + 1) * d.tokensPerFrame;
  return end < d.Tk ? end : d.Tk;
}

// o [BH, Tq, dh], lse [BH, Tq]; k and v [BH, attentionKvRows(d), dh], their first Tk rows read.
void attentionForward(const AttentionDims& d, const float* q, const float* k, const float* v, float* o, float* lse);
// From the forward's o and lse and the output gradient go: gq [BH,Tq,dh], gk/gv [BH,Tk,dh] (each may be null).
void attentionBackward(const AttentionDims& d, const float* q, const float* k, const float* v, const float* o,
                       const float* lse, const float* go, float* gq, float* gk, float* gv);

void attentionForwardReference(const AttentionDims& d, const float* q, const float* k, const float* v, float* o,
                               float* lse);
void attentionBackwardReference(const AttentionDims& d, const float* q, const float* k, const float* v,
                                const float* o, const float* lse, const float* go, float* gq, float* gk, float* gv);

}  // namespace wk
