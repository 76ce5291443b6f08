// Fused loss kernels: each forward and each backward is one pass over its inputs.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wk {

// Row losses over a [B, D] view: out[b] = scale * sum_d term(a[b,d], t[b,d]).
//   Mse: (a - t)^2;  BceLogits: max(a,0) - a*t + log1p(exp(-|a|))  (a are logits, stable).
// Reductions map onto (B, D, scale): mean = (1, n, 1/n), sum = (1, n, 1), per sample mean =
// (B, n/B, B/n), none = (n, 1, 1). Sums are in double in a fixed order.
// Row losses, declared once (exported to TypeScript as opCodes.rowLoss). X(Enumerator, jsName, value).
#define WK_ROW_LOSSES(X) X(Mse, mse, 0) X(BceLogits, bce, 1)
#define WK_ROW_LOSS_ENUMERATOR(name, js, value) name = value,
enum class RowLoss : int { WK_ROW_LOSSES(WK_ROW_LOSS_ENUMERATOR) };
void rowLossForward(RowLoss kind, const float* a, const float* t, size_t B, size_t D, double scale, float* out);
// ga[b,d] = coef_b * dterm/da, gt likewise (either may be null), coef_b = scale * gRow[b].
void rowLossBackward(RowLoss kind, const float* a, const float* t, size_t B, size_t D, const float* gRow,
                     double scale, float* ga, float* gt);

// KL( N(mu, exp(logvar)) || N(0, I) ) per sample: kl[b] = -0.5 * sum_d (1 + lv - mu^2 - exp(lv)).
void klNormalForward(const float* mu, const float* logvar, size_t B, size_t D, float* kl);
// Gradient of sum_b coef_b * max(kl[b], freeBits), coef_b = scale * gRow[b]; rows with
// kl[b] < freeBits get zero gradient (the free-bits floor is active).
void klNormalBackward(const float* mu, const float* logvar, size_t B, size_t D, const float* kl, float freeBits,
                      const float* gRow, double scale, float* gmu, float* glogvar);

// Softmax cross-entropy with integer labels in [0, C): loss[b] = logsumexp(x[b]) - x[b, label[b]].
void crossEntropyForward(const float* logits, const int32_t* labels, size_t B, size_t C, float* loss);
// glogits[b, c] = coef_b * (softmax(x[b])_c - [c == label[b]]), coef_b = scale * gRow[b].
void crossEntropyBackward(const float* logits, const int32_t* labels, size_t B, size_t C, const float* gRow,
                          double scale, float* glogits);

}  // namespace wk
