// t-SNE (t-distributed stochastic neighbour embedding) of float32 points [N, D] into [N, 2]
// (or 3), and the trustworthiness of an embedding. See tsne.cpp for the method, its cost and
// its versions.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wk {

enum class TsneMethod : int { Exact = 0, BarnesHut = 1 };
enum class TsneInit : int { Pca = 0, Random = 1 };

// Every field has the default of the JS API (src/diagnostics/tsne.ts); the binding fills it.
struct TsneOptions {
  int outDims = 2;                 // 2 or 3
  double perplexity = 30.0;        // effective number of neighbours per point; < N
  int iterations = 1000;           // gradient steps in all (exaggeration phase included)
  uint64_t seed = 0;               // random init only: PCA init and the rest are deterministic
  TsneMethod method = TsneMethod::Exact;
  double theta = 0.5;              // Barnes-Hut summary threshold (cell side / distance)
  double learningRate = -1.0;      // <= 0: 'auto' = max(N / earlyExaggeration / 4, 50)
  double earlyExaggeration = 12.0;
  int exaggerationIterations = 250;  // P is multiplied by earlyExaggeration for these steps
  double momentumEarly = 0.5;      // momentum for the first exaggerationIterations steps
  double momentumLate = 0.8;       // and afterwards
  double minGain = 0.01;
  TsneInit init = TsneInit::Pca;
};

struct TsneResult {
  TsneMethod method;
  double klDivergence;  // KL(P || Q) at the final embedding (Barnes-Hut: with its estimate of Z)
  double learningRate;  // the rate used ('auto' resolved)
};

// Embeds x [n, d] (row-major) into out [n, o.outDims]. Requires n >= 2, perplexity < n.
// The result depends on the inputs and options only (not on the thread count).
TsneResult tsne(const float* x, size_t n, size_t d, const TsneOptions& o, float* out);

// ---- pieces, exposed for the tests ---------------------------------------------------------

// Conditional affinities p_{j|i} [n, n] (row i sums to 1, p_{i|i} = 0) with each row's Gaussian
// bandwidth set by binary search so that exp(entropy) = perplexity. k = 0: all other points;
// k > 0: only the k nearest neighbours of i (others 0). Returns the largest |exp(H) - perp|.
double tsneConditionalAffinities(const float* x, size_t n, size_t d, double perplexity, size_t k, float* out);

// KL(P || Q) of embedding y [n, dims] for a symmetric P [n, n] (sums to 1), and its gradient
// with P scaled by `exaggeration` into grad [n, dims]. method Exact: all pairs; BarnesHut: P's
// non-zeros for the attraction and the space-partitioning tree with theta for the repulsion.
double tsneObjective(const float* P, const float* y, size_t n, int dims, double exaggeration, TsneMethod method,
                     double theta, float* grad);

// Trustworthiness T(k) (Venna & Kaski 2001) of low [n, dl] as an embedding of high [n, dh]:
// 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_i} (r(i, j) - k), U_i the k nearest
// neighbours of i in low that are not among its k nearest in high, r(i, j) the rank of j among
// i's neighbours in high (1 = nearest). Requires 1 <= k < n / 2.
double trustworthiness(const float* high, size_t n, size_t dh, const float* low, size_t dl, size_t k);

}  // namespace wk
