// t-SNE (issue 11): an embedding of float32 points [N, D] in 2 (or 3) dimensions whose
// neighbourhoods match the input's, for the real-vs-predicted latent scatter of the report.
//
// What it computes (van der Maaten & Hinton, "Visualizing Data using t-SNE", JMLR 2008; van der
// Maaten, "Accelerating t-SNE using Tree-Based Algorithms", JMLR 2014):
//  1. Input affinities. For each point i, p_{j|i} = exp(-beta_i |x_i - x_j|^2) / sum_k (...), the
//     squared Euclidean distance, beta_i found by bisection so that exp(H(P_i)) equals the
//     perplexity (H in nats). Exact method: over all j != i; Barnes-Hut method: over the
//     k = min(N - 1, floor(3 * perplexity) + 1) nearest neighbours only (exact kNN, brute force).
//     P = (C + C^T) / sum, so P is symmetric and sums to 1.
//  2. Output similarities q_ij = w_ij / Z, w_ij = 1 / (1 + |y_i - y_j|^2), Z = sum_{k != l} w_kl.
//  3. Gradient of KL(P || Q): dC/dy_i = 4 sum_j (a p_ij - q_ij) w_ij (y_i - y_j), with the early
//     exaggeration a (12) for the first 250 steps, then 1. Attraction over P's non-zeros,
//     repulsion sum_j w_ij^2 (y_i - y_j) / Z: over all pairs (exact) or, Barnes-Hut, over the cells
//     of a quadtree (octree for 3-D) whose side / distance to the point is below theta, each cell
//     standing for its points at their centre of mass (Z estimated the same way).
//  4. Gradient descent with momentum (0.5 during the exaggeration, then 0.8) and per-parameter
//     gains (delta-bar-delta, Jacobs 1988, as used in the 2008 paper: +0.2 when the gradient's sign
//     differs from the last update's, x0.8 otherwise, at least minGain), learning rate 'auto' =
//     max(N / exaggeration / 4, 50) (Belkina et al. 2019; Kobak & Berens 2019).
//     Init 'pca': the top principal components (subspace iteration + Rayleigh-Ritz), scaled so the
//     first has standard deviation 1e-4; 'random': 1e-4 * N(0, 1) from Philox(seed).
//
// Determinism: every per-point quantity (a row of affinities, a point's attraction, repulsion
// and Z share, its tree walk) is computed by one thread in a fixed order; the N per-point partial
// sums are then added serially in point order. The tree is built serially. GEMMs (distances,
// PCA) are thread-count independent (gemm.h). So the result is the same bits on any thread count.
// Nothing but the random init uses the seed.
//
// Cost (N points, D input dims, k = 3 * perplexity neighbours, T iterations):
//   distances  2 N^2 D flops through wk::gemm (in row blocks of at most 4M floats): compute-bound;
//              exact P also stores N^2 floats (N = 5000: 100 MB), so exact is capped at N = 10000.
//   bandwidth  ~20-60 bisection steps per row over N (exact) or k (Barnes-Hut) terms.
//   exact      T * N^2 pair terms (~15 flops and one division each) and P streamed from memory
//              each step (4 N^2 bytes): bound by the vector divisions; measured 0.5-0.6 ns per
//              pair on one core with AVX2/AVX-512 (1.5-2 portable), so 1000 steps at N = 1000
//              (1e9 pair terms) take ~0.6 s of CPU.
//   Barnes-Hut T * (N k attraction terms + N * O(log N) cells visited per walk at theta 0.5):
//              ~1-1.5 us per point per step at N = 5000 on one core (scalar tree walks).
// Versions: v1 scalar double-precision loops; v2 (this) the exact pair loop in 8 fixed lanes,
// compiled per ISA (portable / AVX2+FMA / AVX-512, picked by wk::bestIsa()): 3.4 -> 0.57 ns per
// pair. kNN by brute force in both.
#include "tsne.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "cpu_features.h"
#include "gemm.h"
#include "philox.h"
#include "thread_pool.h"

namespace wk {
namespace {

// ---- distances -------------------------------------------------------------------------------

// Points with the column means removed (smaller norms: less cancellation in |a|^2+|b|^2-2a.b).
std::vector<float> centered(const float* x, size_t n, size_t d) {
  std::vector<double> mean(d, 0.0);
  // Column sums: one thread per column block, rows in order.
  parallelFor(d, 64, [&](size_t b, size_t e, int) {
    for (size_t i = 0; i < n; ++i)
      for (size_t c = b; c < e; ++c) mean[c] += static_cast<double>(x[i * d + c]);
  });
  for (double& m : mean) m /= static_cast<double>(n);
  std::vector<float> xc(n * d);
  parallelFor(n, 16, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i)
      for (size_t c = 0; c < d; ++c) xc[i * d + c] = static_cast<float>(static_cast<double>(x[i * d + c]) - mean[c]);
  });
  return xc;
}

// Calls fn(r0, r1, block) for consecutive row blocks, block[(i - r0) * n + j] = |x_i - x_j|^2
// (>= 0, exactly 0 on the diagonal). fn runs on the calling thread (it may use parallelFor).
template <class F>
void forEachDistanceBlock(const std::vector<float>& xc, size_t n, size_t d, F&& fn) {
  std::vector<double> norm(n);
  parallelFor(n, 64, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) {
      double s = 0;
      for (size_t c = 0; c < d; ++c) s += static_cast<double>(xc[i * d + c]) * xc[i * d + c];
      norm[i] = s;
    }
  });
  size_t rows = std::max<size_t>(1, std::min<size_t>(n, (size_t(1) << 22) / std::max<size_t>(n, 1)));
  std::vector<float> block(rows * n);
  for (size_t r0 = 0; r0 < n; r0 += rows) {
    size_t r1 = std::min(n, r0 + rows);
    gemm(false, true, r1 - r0, n, d, 1.0f, xc.data() + r0 * d, d, xc.data(), d, 0.0f, block.data(), n);
    parallelFor(r1 - r0, 4, [&](size_t b, size_t e, int) {
      for (size_t t = b; t < e; ++t) {
        float* row = block.data() + t * n;
        double ni = norm[r0 + t];
        for (size_t j = 0; j < n; ++j) {
          double v = ni + norm[j] - 2.0 * static_cast<double>(row[j]);
          row[j] = v > 0 ? static_cast<float>(v) : 0.0f;
        }
        row[r0 + t] = 0.0f;
      }
    });
    fn(r0, r1, static_cast<const float*>(block.data()));
  }
}

// (distance, index) order: ties broken by index, so neighbour lists are deterministic.
template <class T>
struct ByDist {
  const T* d;
  bool operator()(uint32_t a, uint32_t b) const { return d[a] < d[b] || (d[a] == d[b] && a < b); }
};

// The k nearest neighbours of i (row = its squared distances), nearest first, into nb.
template <class T>
void nearest(const T* row, size_t n, size_t i, size_t k, std::vector<uint32_t>& scratch, uint32_t* nb) {
  scratch.clear();
  for (size_t j = 0; j < n; ++j)
    if (j != i) scratch.push_back(static_cast<uint32_t>(j));
  ByDist<T> cmp{row};
  if (k < scratch.size()) std::nth_element(scratch.begin(), scratch.begin() + k, scratch.end(), cmp);
  std::sort(scratch.begin(), scratch.begin() + k, cmp);
  std::copy(scratch.begin(), scratch.begin() + k, nb);
}

// ---- perplexity calibration --------------------------------------------------------------------

// p[t] = exp(-beta dist[t]) / sum, beta by bisection so that exp(H) = perplexity (H in nats).
// Distances are shifted by their minimum first (P is unchanged; exp never underflows to all 0).
// Returns |exp(H) - perplexity| at the end.
double calibrateRow(const double* dist, size_t m, double perplexity, double* p) {
  if (m == 0) return 0.0;
  double dmin = *std::min_element(dist, dist + m);
  const double target = std::log(perplexity);
  double beta = 1.0, lo = 0.0, hi = std::numeric_limits<double>::infinity();
  double H = 0.0;
  for (int step = 0; step < 200; ++step) {
    double S = 0.0, SD = 0.0;
    for (size_t t = 0; t < m; ++t) {
      double ds = dist[t] - dmin;
      double e = std::exp(-beta * ds);
      p[t] = e;
      S += e;
      SD += e * ds;
    }
    // S >= 1 (the nearest point contributes exp(0)).
    H = std::log(S) + beta * SD / S;
    for (size_t t = 0; t < m; ++t) p[t] /= S;
    double diff = H - target;
    if (std::fabs(diff) < 1e-5) break;
    if (diff > 0) {  // too flat: sharpen
      lo = beta;
      beta = std::isinf(hi) ? beta * 2.0 : 0.5 * (beta + hi);
    } else {
      hi = beta;
      beta = lo == 0.0 ? beta * 0.5 : 0.5 * (beta + lo);
    }
  }
  return std::fabs(std::exp(H) - perplexity);
}

size_t neighbourCount(size_t n, double perplexity) {
  return std::min(n - 1, static_cast<size_t>(std::floor(3.0 * perplexity)) + 1);
}

// Dense symmetric P [n, n] (float): conditional rows, then (C + C^T) / sum.
std::vector<float> exactP(const float* x, size_t n, size_t d, double perplexity) {
  std::vector<float> xc = centered(x, n, d);
  std::vector<float> P(n * n);
  forEachDistanceBlock(xc, n, d, [&](size_t r0, size_t r1, const float* block) {
    parallelFor(r1 - r0, 1, [&](size_t b, size_t e, int) {
      std::vector<double> dist(n), p(n);
      for (size_t t = b; t < e; ++t) {
        size_t i = r0 + t;
        const float* row = block + t * n;
        size_t m = 0;
        for (size_t j = 0; j < n; ++j)
          if (j != i) dist[m++] = row[j];
        calibrateRow(dist.data(), m, perplexity, p.data());
        float* out = P.data() + i * n;
        m = 0;
        for (size_t j = 0; j < n; ++j) out[j] = j == i ? 0.0f : static_cast<float>(p[m++]);
      }
    });
  });
  // Pair (i, j), i < j, belongs to row i's range: the only reader and writer of both entries.
  std::vector<double> rowSum(n);
  parallelFor(n, 8, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) {
      double s = 0;
      for (size_t j = i + 1; j < n; ++j) {
        float v = P[i * n + j] + P[j * n + i];
        P[i * n + j] = v;
        P[j * n + i] = v;
        s += 2.0 * v;
      }
      rowSum[i] = s;
    }
  });
  double total = 0;
  for (double s : rowSum) total += s;
  const float scale = static_cast<float>(1.0 / total);
  parallelFor(n, 8, [&](size_t b, size_t e, int) {
    for (size_t i = b * n; i < e * n; ++i) P[i] *= scale;
  });
  return P;
}

// Sparse symmetric P in CSR form.
struct SparseP {
  std::vector<size_t> rowStart;  // n + 1
  std::vector<uint32_t> col;
  std::vector<double> val;
};

SparseP sparseP(const float* x, size_t n, size_t d, double perplexity) {
  const size_t k = neighbourCount(n, perplexity);
  std::vector<float> xc = centered(x, n, d);
  std::vector<uint32_t> nb(n * k);
  std::vector<double> cond(n * k);
  forEachDistanceBlock(xc, n, d, [&](size_t r0, size_t r1, const float* block) {
    parallelFor(r1 - r0, 1, [&](size_t b, size_t e, int) {
      std::vector<uint32_t> scratch;
      scratch.reserve(n);
      std::vector<double> dist(k);
      for (size_t t = b; t < e; ++t) {
        size_t i = r0 + t;
        const float* row = block + t * n;
        uint32_t* mine = nb.data() + i * k;
        nearest(row, n, i, k, scratch, mine);
        for (size_t s = 0; s < k; ++s) dist[s] = row[mine[s]];
        calibrateRow(dist.data(), k, perplexity, cond.data() + i * k);
      }
    });
  });
  // C + C^T: entry (i, j) gets c_{j|i} from row i's list and c_{i|j} from row j's list. Bucket
  // both directions by row, then sort each row by column and merge (at most two terms per key,
  // and a + b == b + a, so the sort's order among equal keys does not matter).
  std::vector<size_t> count(n + 1, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t s = 0; s < k; ++s) {
      ++count[i + 1];
      ++count[nb[i * k + s] + 1];
    }
  for (size_t i = 0; i < n; ++i) count[i + 1] += count[i];
  std::vector<std::pair<uint32_t, double>> ent(count[n]);
  std::vector<size_t> fill(count.begin(), count.end() - 1);
  for (size_t i = 0; i < n; ++i)
    for (size_t s = 0; s < k; ++s) {
      uint32_t j = nb[i * k + s];
      double c = cond[i * k + s];
      ent[fill[i]++] = {j, c};
      ent[fill[j]++] = {static_cast<uint32_t>(i), c};
    }
  SparseP P;
  P.rowStart.assign(n + 1, 0);
  std::vector<size_t> merged(n);
  parallelFor(n, 64, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) {
      auto first = ent.begin() + count[i], last = ent.begin() + count[i + 1];
      std::sort(first, last, [](const std::pair<uint32_t, double>& a, const std::pair<uint32_t, double>& c) {
        return a.first < c.first;
      });
      size_t w = count[i];
      for (size_t r = count[i]; r < count[i + 1]; ++r) {
        if (w > count[i] && ent[w - 1].first == ent[r].first) ent[w - 1].second += ent[r].second;
        else ent[w++] = ent[r];
      }
      merged[i] = w - count[i];
    }
  });
  for (size_t i = 0; i < n; ++i) P.rowStart[i + 1] = P.rowStart[i] + merged[i];
  P.col.resize(P.rowStart[n]);
  P.val.resize(P.rowStart[n]);
  double total = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t t = 0; t < merged[i]; ++t) {
      const auto& en = ent[count[i] + t];
      P.col[P.rowStart[i] + t] = en.first;
      P.val[P.rowStart[i] + t] = en.second;
      total += en.second;
    }
  for (double& v : P.val) v /= total;
  return P;
}

// ---- gradients ---------------------------------------------------------------------------------

// Per-point results of one gradient evaluation, combined by combine().
struct Parts {
  std::vector<double> attr, rep, z, kl, psum;  // attr/rep [n * dims], z/kl/psum [n]
  void resize(size_t n, int dims) {
    attr.assign(n * dims, 0.0);
    rep.assign(n * dims, 0.0);
    z.assign(n, 0.0);
    kl.assign(n, 0.0);
    psum.assign(n, 0.0);
  }
};

// grad = 4 (a attr - rep / Z); returns KL = sum_i kl_i + (sum P) log Z when wantKl (sum P is 1
// up to the rounding of the stored P: summed rather than assumed).
double combine(const Parts& s, size_t n, int dims, double exaggeration, bool wantKl, double* grad) {
  double Z = 0;
  for (size_t i = 0; i < n; ++i) Z += s.z[i];
  Z = std::max(Z, std::numeric_limits<double>::min());
  const double invZ = 1.0 / Z;
  parallelFor(n, 256, [&](size_t b, size_t e, int) {
    for (size_t t = b * dims; t < e * dims; ++t) grad[t] = 4.0 * (exaggeration * s.attr[t] - s.rep[t] * invZ);
  });
  if (!wantKl) return 0.0;
  double kl = 0, psum = 0;
  for (size_t i = 0; i < n; ++i) {
    kl += s.kl[i];
    psum += s.psum[i];
  }
  return kl + psum * std::log(Z);
}

// Exact: every pair, row i by one thread. The pair loop runs in 8 lanes (lane l takes the j with
// j % 8 == l, then the lanes are added in a fixed tree): independent chains the compiler turns
// into vector code (the divisions above all), and an order that depends on n and i only.
// yt holds the coordinates transposed ([DIM][n]) for unit-stride loads. The point itself has
// dy = 0, so it adds nothing to the forces; its w = 1 is taken back out of z.
// The same body is compiled three times (portable SSE2, AVX2+FMA, AVX-512) and picked by
// wk::bestIsa(): the ISA variants contract multiply-adds, so their bits differ from each other,
// never between thread counts.
constexpr int kLanes = 8;

template <int DIM>
struct RowSums {
  double z[kLanes], a[DIM][kLanes], r[DIM][kLanes];
};

template <int DIM>
inline __attribute__((always_inline)) void exactRowBody(const float* Pi, const double* yt, size_t n, const double* yi,
                                                        RowSums<DIM>& S) {
  constexpr int L = kLanes;
  double z[L] = {}, a[DIM][L] = {}, r[DIM][L] = {};
  const size_t full = n - n % L;
  for (size_t j0 = 0; j0 < full; j0 += L) {
    for (int l = 0; l < L; ++l) {
      double dy[DIM], d2 = 0;
      for (int c = 0; c < DIM; ++c) {
        dy[c] = yi[c] - yt[c * n + j0 + l];
        d2 += dy[c] * dy[c];
      }
      const double w = 1.0 / (1.0 + d2);
      const double pw = static_cast<double>(Pi[j0 + l]) * w, ww = w * w;
      z[l] += w;
      for (int c = 0; c < DIM; ++c) {
        a[c][l] += pw * dy[c];
        r[c][l] += ww * dy[c];
      }
    }
  }
  for (size_t j = full; j < n; ++j) {
    const int l = static_cast<int>(j - full);
    double dy[DIM], d2 = 0;
    for (int c = 0; c < DIM; ++c) {
      dy[c] = yi[c] - yt[c * n + j];
      d2 += dy[c] * dy[c];
    }
    const double w = 1.0 / (1.0 + d2);
    const double pw = static_cast<double>(Pi[j]) * w, ww = w * w;
    z[l] += w;
    for (int c = 0; c < DIM; ++c) {
      a[c][l] += pw * dy[c];
      r[c][l] += ww * dy[c];
    }
  }
  for (int l = 0; l < L; ++l) {
    S.z[l] = z[l];
    for (int c = 0; c < DIM; ++c) {
      S.a[c][l] = a[c][l];
      S.r[c][l] = r[c][l];
    }
  }
}

template <int DIM>
void exactRowPortable(const float* Pi, const double* yt, size_t n, const double* yi, RowSums<DIM>& S) {
  exactRowBody<DIM>(Pi, yt, n, yi, S);
}
template <int DIM>
__attribute__((target("avx2,fma"))) void exactRowAvx2(const float* Pi, const double* yt, size_t n, const double* yi,
                                                       RowSums<DIM>& S) {
  exactRowBody<DIM>(Pi, yt, n, yi, S);
}
template <int DIM>
__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))) void exactRowAvx512(const float* Pi, const double* yt,
                                                                                   size_t n, const double* yi,
                                                                                   RowSums<DIM>& S) {
  exactRowBody<DIM>(Pi, yt, n, yi, S);
}

// kl_i = sum_j p_ij log(p_ij / w_ij), only when asked (once per run).
template <int DIM>
void exactParts(const float* P, const double* y, size_t n, bool wantKl, Parts& s) {
  std::vector<double> yt(DIM * n);
  for (size_t j = 0; j < n; ++j)
    for (int c = 0; c < DIM; ++c) yt[c * n + j] = y[j * DIM + c];
  const Isa isa = bestIsa();
  auto row = isa == Isa::Avx512 ? exactRowAvx512<DIM> : isa == Isa::Avx2 ? exactRowAvx2<DIM> : exactRowPortable<DIM>;
  parallelFor(n, 4, [&](size_t b, size_t e, int) {
    RowSums<DIM> S;
    for (size_t i = b; i < e; ++i) {
      double yi[DIM];
      for (int c = 0; c < DIM; ++c) yi[c] = y[i * DIM + c];
      const float* Pi = P + i * n;
      row(Pi, yt.data(), n, yi, S);
      auto tree = [](const double* v) { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); };
      for (int c = 0; c < DIM; ++c) {
        s.attr[i * DIM + c] = tree(S.a[c]);
        s.rep[i * DIM + c] = tree(S.r[c]);
      }
      s.z[i] = tree(S.z) - 1.0;  // the point's own w = 1/(1 + 0)
      double kl = 0, ps = 0;
      if (wantKl) {
        for (size_t j = 0; j < n; ++j) {
          const double p = Pi[j];
          if (j == i || !(p > 0)) continue;
          double d2 = 0;
          for (int c = 0; c < DIM; ++c) d2 += (yi[c] - yt[c * n + j]) * (yi[c] - yt[c * n + j]);
          kl += p * std::log(p * (1.0 + d2));
          ps += p;
        }
      }
      s.kl[i] = kl;
      s.psum[i] = ps;
    }
  });
}

// Sparse attraction over P's non-zeros (Barnes-Hut path). kl_i = sum_j p_ij log(p_ij / w_ij).
template <int DIM>
void attractionParts(const SparseP& P, const double* y, size_t n, bool wantKl, Parts& s) {
  parallelFor(n, 64, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) {
      double a[DIM] = {}, kl = 0, ps = 0;
      for (size_t t = P.rowStart[i]; t < P.rowStart[i + 1]; ++t) {
        size_t j = P.col[t];
        double dy[DIM], d2 = 0;
        for (int c = 0; c < DIM; ++c) {
          dy[c] = y[i * DIM + c] - y[j * DIM + c];
          d2 += dy[c] * dy[c];
        }
        const double w = 1.0 / (1.0 + d2), p = P.val[t];
        for (int c = 0; c < DIM; ++c) a[c] += p * w * dy[c];
        if (wantKl && p > 0) {
          kl += p * std::log(p / w);
          ps += p;
        }
      }
      for (int c = 0; c < DIM; ++c) s.attr[i * DIM + c] = a[c];
      s.kl[i] = kl;
      s.psum[i] = ps;
    }
  });
}

// A 2^DIM-tree over the embedding, built serially by recursive partition of an index array.
// Node [begin, end) is its points' range in `perm`; children are contiguous (empty ones omitted).
template <int DIM>
class SpaceTree {
 public:
  static constexpr int kChildren = 1 << DIM;
  static constexpr uint32_t kLeafSize = 16;  // pairwise below this (fewer, cheaper nodes: 4 -> 16 cut a step ~30%)
  static constexpr int kMaxDepth = 48;      // duplicates (or near) stop splitting here

  struct Node {
    double com[DIM];  // centre of mass
    double side2;     // squared cell side (cells are cubes)
    uint32_t begin, end;
    int32_t child;  // first child, -1 for a leaf
    int32_t nchild;
  };

  void build(const double* y, size_t n) {
    y_ = y;
    perm_.resize(n);
    std::iota(perm_.begin(), perm_.end(), 0u);
    tmp_.resize(n);
    pos_.resize(n);
    nodes_.clear();
    double lo[DIM], hi[DIM];
    for (int c = 0; c < DIM; ++c) lo[c] = hi[c] = y[c];
    for (size_t i = 1; i < n; ++i)
      for (int c = 0; c < DIM; ++c) {
        lo[c] = std::min(lo[c], y[i * DIM + c]);
        hi[c] = std::max(hi[c], y[i * DIM + c]);
      }
    double side = 0, center[DIM];
    for (int c = 0; c < DIM; ++c) {
      side = std::max(side, hi[c] - lo[c]);
      center[c] = 0.5 * (lo[c] + hi[c]);
    }
    side = side * (1.0 + 1e-9) + 1e-300;  // every point strictly inside
    nodes_.push_back(Node{});
    fill(0, 0, static_cast<uint32_t>(n), center, side, 0);
    for (size_t t = 0; t < n; ++t) pos_[perm_[t]] = static_cast<uint32_t>(t);
  }

  // Repulsion sum_j w_ij^2 (y_i - y_j) into rep and its Z share sum_j w_ij into *z, for point i.
  void repulsion(size_t i, double theta2, double* rep, double* z) const {
    double yi[DIM], r[DIM] = {}, zi = 0;
    for (int c = 0; c < DIM; ++c) yi[c] = y_[i * DIM + c];
    const uint32_t pi = pos_[i];
    int32_t stack[kMaxDepth * kChildren + 8];
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const Node& nd = nodes_[stack[--top]];
      const bool mine = nd.begin <= pi && pi < nd.end;
      if (!mine) {
        double dy[DIM], d2 = 0;
        for (int c = 0; c < DIM; ++c) {
          dy[c] = yi[c] - nd.com[c];
          d2 += dy[c] * dy[c];
        }
        // Far enough: the cell stands for its points at their centre of mass.
        if (nd.side2 < theta2 * d2) {
          const double cnt = static_cast<double>(nd.end - nd.begin);
          const double w = 1.0 / (1.0 + d2);
          zi += cnt * w;
          for (int c = 0; c < DIM; ++c) r[c] += cnt * w * w * dy[c];
          continue;
        }
      }
      if (nd.child < 0) {
        for (uint32_t t = nd.begin; t < nd.end; ++t) {
          const uint32_t j = perm_[t];
          if (j == i) continue;
          double dy[DIM], d2 = 0;
          for (int c = 0; c < DIM; ++c) {
            dy[c] = yi[c] - y_[j * DIM + c];
            d2 += dy[c] * dy[c];
          }
          const double w = 1.0 / (1.0 + d2);
          zi += w;
          for (int c = 0; c < DIM; ++c) r[c] += w * w * dy[c];
        }
        continue;
      }
      // Last child pushed first: children are visited in order.
      for (int32_t ch = nd.nchild - 1; ch >= 0; --ch) stack[top++] = nd.child + ch;
    }
    for (int c = 0; c < DIM; ++c) rep[c] = r[c];
    *z = zi;
  }

 private:
  void fill(size_t idx, uint32_t begin, uint32_t end, const double* center, double side, int depth) {
    Node nd;
    for (int c = 0; c < DIM; ++c) nd.com[c] = 0;
    nd.side2 = side * side;
    nd.begin = begin;
    nd.end = end;
    nd.child = -1;
    nd.nchild = 0;
    for (uint32_t t = begin; t < end; ++t)
      for (int c = 0; c < DIM; ++c) nd.com[c] += y_[perm_[t] * DIM + c];
    for (int c = 0; c < DIM; ++c) nd.com[c] /= static_cast<double>(end - begin);
    const bool split = end - begin > kLeafSize && depth < kMaxDepth;
    if (!split) {
      nodes_[idx] = nd;
      return;
    }
    // Stable counting partition by orthant (bit c set: coordinate c >= the centre).
    uint32_t cnt[kChildren] = {};
    auto orthant = [&](uint32_t p) {
      int o = 0;
      for (int c = 0; c < DIM; ++c) o |= (y_[p * DIM + c] >= center[c] ? 1 : 0) << c;
      return o;
    };
    for (uint32_t t = begin; t < end; ++t) ++cnt[orthant(perm_[t])];
    uint32_t start[kChildren], at[kChildren];
    uint32_t acc = begin;
    int nonEmpty = 0;
    for (int o = 0; o < kChildren; ++o) {
      start[o] = at[o] = acc;
      acc += cnt[o];
      nonEmpty += cnt[o] > 0;
    }
    if (nonEmpty == 1 && side < 1e-12) {  // identical points: no split separates them
      nodes_[idx] = nd;
      return;
    }
    for (uint32_t t = begin; t < end; ++t) tmp_[at[orthant(perm_[t])]++] = perm_[t];
    std::copy(tmp_.begin() + begin, tmp_.begin() + end, perm_.begin() + begin);
    nd.child = static_cast<int32_t>(nodes_.size());
    nd.nchild = nonEmpty;
    nodes_[idx] = nd;
    nodes_.resize(nodes_.size() + nonEmpty);
    int slot = 0;
    for (int o = 0; o < kChildren; ++o) {
      if (!cnt[o]) continue;
      double cc[DIM];
      for (int c = 0; c < DIM; ++c) cc[c] = center[c] + ((o >> c) & 1 ? 0.25 : -0.25) * side;
      fill(static_cast<size_t>(nd.child + slot++), start[o], start[o] + cnt[o], cc, 0.5 * side, depth + 1);
    }
  }

  const double* y_ = nullptr;
  std::vector<uint32_t> perm_, tmp_, pos_;
  std::vector<Node> nodes_;
};

template <int DIM>
void barnesHutRepulsion(SpaceTree<DIM>& tree, const double* y, size_t n, double theta, Parts& s) {
  tree.build(y, n);
  const double theta2 = theta * theta;
  parallelFor(n, 32, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) tree.repulsion(i, theta2, s.rep.data() + i * DIM, s.z.data() + i);
  });
}

// ---- initialisation ----------------------------------------------------------------------------

// Symmetric eigen-decomposition of a small m x m matrix by cyclic Jacobi rotations: A is
// destroyed, V gets the eigenvectors as columns, ev the eigenvalues.
void jacobiEigen(std::vector<double>& A, size_t m, std::vector<double>& V, std::vector<double>& ev) {
  V.assign(m * m, 0.0);
  for (size_t i = 0; i < m; ++i) V[i * m + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, all = 0;
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < m; ++j) {
        all += A[i * m + j] * A[i * m + j];
        if (i != j) off += A[i * m + j] * A[i * m + j];
      }
    if (off <= 1e-30 * all || off == 0) break;
    for (size_t p = 0; p < m; ++p)
      for (size_t q = p + 1; q < m; ++q) {
        double apq = A[p * m + q];
        if (apq == 0) continue;
        double tau = (A[q * m + q] - A[p * m + p]) / (2 * apq);
        double t = (tau >= 0 ? 1.0 : -1.0) / (std::fabs(tau) + std::sqrt(1 + tau * tau));
        double c = 1 / std::sqrt(1 + t * t), sn = t * c;
        for (size_t k = 0; k < m; ++k) {  // A <- A J (columns p, q)
          double akp = A[k * m + p], akq = A[k * m + q];
          A[k * m + p] = c * akp - sn * akq;
          A[k * m + q] = sn * akp + c * akq;
        }
        for (size_t k = 0; k < m; ++k) {  // A <- J^T A (rows p, q)
          double apk = A[p * m + k], aqk = A[q * m + k];
          A[p * m + k] = c * apk - sn * aqk;
          A[q * m + k] = sn * apk + c * aqk;
        }
        for (size_t k = 0; k < m; ++k) {
          double vkp = V[k * m + p], vkq = V[k * m + q];
          V[k * m + p] = c * vkp - sn * vkq;
          V[k * m + q] = sn * vkp + c * vkq;
        }
      }
  }
  ev.resize(m);
  for (size_t i = 0; i < m; ++i) ev[i] = A[i * m + i];
}

// Columns of Q [rows, m] made orthonormal (modified Gram-Schmidt; a column that vanishes, as in
// rank-deficient data, becomes 0).
void orthonormalize(std::vector<double>& Q, size_t rows, size_t m) {
  for (size_t c = 0; c < m; ++c) {
    for (size_t p = 0; p < c; ++p) {
      double r = 0;
      for (size_t i = 0; i < rows; ++i) r += Q[i * m + p] * Q[i * m + c];
      for (size_t i = 0; i < rows; ++i) Q[i * m + c] -= r * Q[i * m + p];
    }
    double nrm = 0;
    for (size_t i = 0; i < rows; ++i) nrm += Q[i * m + c] * Q[i * m + c];
    nrm = std::sqrt(nrm);
    const double inv = nrm > 1e-150 ? 1.0 / nrm : 0.0;
    for (size_t i = 0; i < rows; ++i) Q[i * m + c] *= inv;
  }
}

// The top `dims` principal-component scores of x [n, d] into y [n, dims]: subspace iteration on
// Xc^T Xc with `dims + 8` vectors from a fixed Philox start (so it does not depend on the seed),
// then Rayleigh-Ritz. Signs: each column's largest-magnitude entry is positive.
void pcaScores(const float* x, size_t n, size_t d, int dims, double* y) {
  std::vector<float> xc = centered(x, n, d);
  const size_t m = std::min<size_t>(dims + 8, std::min(n, d));
  std::vector<double> Q(d * m);
  for (size_t t = 0; t < d * m; ++t) Q[t] = philoxNormal(0x7453u, t);
  std::vector<float> Qf(d * m), B(n * m), Zf(d * m);
  for (int it = 0; it < 10; ++it) {
    orthonormalize(Q, d, m);
    for (size_t t = 0; t < d * m; ++t) Qf[t] = static_cast<float>(Q[t]);
    gemm(false, false, n, m, d, 1.0f, xc.data(), d, Qf.data(), m, 0.0f, B.data(), m);   // B = Xc Q
    gemm(true, false, d, m, n, 1.0f, xc.data(), d, B.data(), m, 0.0f, Zf.data(), m);    // Xc^T B
    double scale = 0;  // keep the block near unit size (float range)
    for (size_t t = 0; t < d * m; ++t) scale = std::max(scale, std::fabs(static_cast<double>(Zf[t])));
    for (size_t t = 0; t < d * m; ++t) Q[t] = scale > 0 ? Zf[t] / scale : 0.0;
  }
  orthonormalize(Q, d, m);
  for (size_t t = 0; t < d * m; ++t) Qf[t] = static_cast<float>(Q[t]);
  gemm(false, false, n, m, d, 1.0f, xc.data(), d, Qf.data(), m, 0.0f, B.data(), m);
  std::vector<double> S(m * m, 0.0), V, ev;  // S = B^T B: Xc^T Xc restricted to span(Q)
  for (size_t a = 0; a < m; ++a)
    for (size_t b = a; b < m; ++b) {
      double s = 0;
      for (size_t i = 0; i < n; ++i) s += static_cast<double>(B[i * m + a]) * B[i * m + b];
      S[a * m + b] = S[b * m + a] = s;
    }
  jacobiEigen(S, m, V, ev);
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ev[a] > ev[b]; });
  for (int c = 0; c < dims; ++c) {
    if (static_cast<size_t>(c) >= m) {
      for (size_t i = 0; i < n; ++i) y[i * dims + c] = 0.0;
      continue;
    }
    const size_t col = order[c];
    double big = 0;
    for (size_t i = 0; i < n; ++i) {
      double s = 0;
      for (size_t a = 0; a < m; ++a) s += static_cast<double>(B[i * m + a]) * V[a * m + col];
      y[i * dims + c] = s;
      if (std::fabs(s) > std::fabs(big)) big = s;
    }
    if (big < 0)
      for (size_t i = 0; i < n; ++i) y[i * dims + c] = -y[i * dims + c];
  }
}

void initialEmbedding(const float* x, size_t n, size_t d, const TsneOptions& o, double* y) {
  const int dims = o.outDims;
  auto randomInit = [&](int col) {
    for (size_t i = 0; i < n; ++i) y[i * dims + col] = 1e-4 * philoxNormal(o.seed, i * dims + col);
  };
  if (o.init == TsneInit::Random) {
    for (int c = 0; c < dims; ++c) randomInit(c);
    return;
  }
  pcaScores(x, n, d, dims, y);
  auto stdev = [&](int c) {
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; ++i) mean += y[i * dims + c];
    mean /= static_cast<double>(n);
    for (size_t i = 0; i < n; ++i) var += (y[i * dims + c] - mean) * (y[i * dims + c] - mean);
    return std::sqrt(var / static_cast<double>(n));
  };
  const double s0 = stdev(0);
  if (!(s0 > 0)) {  // all points identical: PCA has nothing to show
    for (int c = 0; c < dims; ++c) randomInit(c);
    return;
  }
  for (size_t t = 0; t < n * dims; ++t) y[t] *= 1e-4 / s0;
  for (int c = 1; c < dims; ++c)
    if (!(stdev(c) > 0)) randomInit(c);  // a flat column would never move
}

// ---- the optimisation --------------------------------------------------------------------------

template <int DIM>
TsneResult run(const float* x, size_t n, size_t d, const TsneOptions& o, float* out) {
  const bool exact = o.method == TsneMethod::Exact;
  std::vector<float> Pd;
  SparseP Ps;
  if (exact) Pd = exactP(x, n, d, o.perplexity);
  else Ps = sparseP(x, n, d, o.perplexity);

  std::vector<double> y(n * DIM), grad(n * DIM), update(n * DIM, 0.0), gains(n * DIM, 1.0);
  initialEmbedding(x, n, d, o, y.data());
  const double lr = o.learningRate > 0 ? o.learningRate
                                       : std::max(static_cast<double>(n) / o.earlyExaggeration / 4.0, 50.0);
  Parts parts;
  parts.resize(n, DIM);
  SpaceTree<DIM> tree;
  auto evaluate = [&](double exaggeration, bool wantKl) {
    if (exact) {
      exactParts<DIM>(Pd.data(), y.data(), n, wantKl, parts);
    } else {
      attractionParts<DIM>(Ps, y.data(), n, wantKl, parts);
      barnesHutRepulsion<DIM>(tree, y.data(), n, o.theta, parts);
    }
    return combine(parts, n, DIM, exaggeration, wantKl, grad.data());
  };
  for (int it = 0; it < o.iterations; ++it) {
    const bool early = it < o.exaggerationIterations;
    evaluate(early ? o.earlyExaggeration : 1.0, false);
    const double momentum = early ? o.momentumEarly : o.momentumLate;
    parallelFor(n, 256, [&](size_t b, size_t e, int) {
      for (size_t t = b * DIM; t < e * DIM; ++t) {
        // The gain grows while the gradient keeps pointing the way it did (its sign differs from
        // the last update's, which went against the gradient) and shrinks when it flips.
        double g = gains[t];
        g = grad[t] * update[t] < 0 ? g + 0.2 : g * 0.8;
        g = std::max(g, o.minGain);
        gains[t] = g;
        update[t] = momentum * update[t] - lr * g * grad[t];
        y[t] += update[t];
      }
    });
  }
  TsneResult res;
  res.method = o.method;
  res.learningRate = lr;
  res.klDivergence = evaluate(1.0, true);
  for (size_t t = 0; t < n * DIM; ++t) out[t] = static_cast<float>(y[t]);
  return res;
}

}  // namespace

TsneResult tsne(const float* x, size_t n, size_t d, const TsneOptions& o, float* out) {
  return o.outDims == 3 ? run<3>(x, n, d, o, out) : run<2>(x, n, d, o, out);
}

double tsneConditionalAffinities(const float* x, size_t n, size_t d, double perplexity, size_t k, float* out) {
  std::vector<float> xc = centered(x, n, d);
  const size_t kk = k == 0 ? n - 1 : std::min(k, n - 1);
  std::vector<double> worst(n, 0.0);
  forEachDistanceBlock(xc, n, d, [&](size_t r0, size_t r1, const float* block) {
    parallelFor(r1 - r0, 1, [&](size_t b, size_t e, int) {
      std::vector<uint32_t> scratch, nb(kk);
      std::vector<double> dist(kk), p(kk);
      for (size_t t = b; t < e; ++t) {
        const size_t i = r0 + t;
        const float* row = block + t * n;
        nearest(row, n, i, kk, scratch, nb.data());
        for (size_t s = 0; s < kk; ++s) dist[s] = row[nb[s]];
        worst[i] = calibrateRow(dist.data(), kk, perplexity, p.data());
        float* o = out + i * n;
        std::fill(o, o + n, 0.0f);
        for (size_t s = 0; s < kk; ++s) o[nb[s]] = static_cast<float>(p[s]);
      }
    });
  });
  return *std::max_element(worst.begin(), worst.end());
}

namespace {
template <int DIM>
double objective(const float* P, const float* yf, size_t n, double exaggeration, TsneMethod method, double theta,
                 float* gradOut) {
  std::vector<double> y(yf, yf + n * DIM), grad(n * DIM);
  Parts parts;
  parts.resize(n, DIM);
  if (method == TsneMethod::Exact) {
    exactParts<DIM>(P, y.data(), n, true, parts);
  } else {
    SparseP S;
    S.rowStart.assign(n + 1, 0);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j)
        if (P[i * n + j] != 0.0f) {
          S.col.push_back(static_cast<uint32_t>(j));
          S.val.push_back(P[i * n + j]);
        }
      S.rowStart[i + 1] = S.col.size();
    }
    attractionParts<DIM>(S, y.data(), n, true, parts);
    SpaceTree<DIM> tree;
    barnesHutRepulsion<DIM>(tree, y.data(), n, theta, parts);
  }
  double kl = combine(parts, n, DIM, exaggeration, true, grad.data());
  for (size_t t = 0; t < n * DIM; ++t) gradOut[t] = static_cast<float>(grad[t]);
  return kl;
}
}  // namespace

double tsneObjective(const float* P, const float* y, size_t n, int dims, double exaggeration, TsneMethod method,
                     double theta, float* grad) {
  return dims == 3 ? objective<3>(P, y, n, exaggeration, method, theta, grad)
                   : objective<2>(P, y, n, exaggeration, method, theta, grad);
}

double trustworthiness(const float* high, size_t n, size_t dh, const float* low, size_t dl, size_t k) {
  // Per point: its k nearest in low (exact double distances) and, from the high-dimensional
  // distance row, whether each is among the k nearest in high and otherwise its rank there.
  // Penalties are integers, so their sum is exact whatever the order.
  std::vector<float> xc = centered(high, n, dh);
  std::vector<long long> penalty(n, 0);
  forEachDistanceBlock(xc, n, dh, [&](size_t r0, size_t r1, const float* block) {
    parallelFor(r1 - r0, 1, [&](size_t b, size_t e, int) {
      std::vector<uint32_t> scratch, nbLow(k), nbHigh(k);
      std::vector<double> lowRow(n);
      for (size_t t = b; t < e; ++t) {
        const size_t i = r0 + t;
        const float* hrow = block + t * n;
        for (size_t j = 0; j < n; ++j) {
          double s = 0;
          for (size_t c = 0; c < dl; ++c) {
            double v = static_cast<double>(low[i * dl + c]) - low[j * dl + c];
            s += v * v;
          }
          lowRow[j] = s;
        }
        nearest(lowRow.data(), n, i, k, scratch, nbLow.data());
        nearest(hrow, n, i, k, scratch, nbHigh.data());
        std::sort(nbHigh.begin(), nbHigh.end());
        long long pen = 0;
        ByDist<float> before{hrow};
        for (uint32_t j : nbLow) {
          if (std::binary_search(nbHigh.begin(), nbHigh.end(), j)) continue;
          long long rank = 1;  // 1 + points nearer to i than j in high (ties by index)
          for (size_t m = 0; m < n; ++m)
            if (m != i && before(static_cast<uint32_t>(m), j)) ++rank;
          pen += rank - static_cast<long long>(k);
        }
        penalty[i] = pen;
      }
    });
  });
  long long total = 0;
  for (long long p : penalty) total += p;
  const double nn = static_cast<double>(n), kk = static_cast<double>(k);
  return 1.0 - 2.0 / (nn * kk * (2.0 * nn - 3.0 * kk - 1.0)) * static_cast<double>(total);
}

}  // namespace wk
