// The direct-convolution register tile (see conv_direct.h), written once over a small vector type
// V (W lanes, register type T, zero, set1, load, store, storeN (first n lanes), fma, add,
// max0 = max(v, 0)) and instantiated per instruction set
// in conv_direct_portable.cpp / _avx2.cpp / _avx512.cpp. Anonymous namespace: each translation
// unit keeps its own copy.
#pragma once
#include <algorithm>
#include <cstddef>

#include "conv_direct.h"

namespace {

using wk::conv_detail::DirectTile;
using wk::conv_detail::RowTile;

// NKX > 0: compile-time count of valid taps along x; 0: run-time t.nkx.
template <class V, int MR, int NV, int NKX>
inline void directTileLoop(const DirectTile& t, typename V::T (&acc)[MR][NV]) {
  constexpr int W = V::W, NR = NV * W;
  const float* xr[MR];
  for (int r = 0; r < MR; ++r) xr[r] = t.x[r];
  const int nkx = NKX > 0 ? NKX : t.nkx;
  const float* wc = t.wp;
  for (size_t c = 0; c < t.C; ++c, wc += t.wc) {
    const float* wrow = wc;
    size_t off = c * t.HW;
    for (int dy = 0; dy < t.nky; ++dy, wrow += t.wky, off += t.W) {
#pragma GCC unroll 4
      for (int dx = 0; dx < nkx; ++dx) {
        typename V::T b[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) b[v] = V::load(wrow + dx * NR + v * W);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          const typename V::T a = V::set1(xr[r][off + dx]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(a, b[v], acc[r][v]);
        }
      }
    }
  }
}

template <class V, int MR, int NV>
void directTile(const DirectTile& t) {
  constexpr int W = V::W, NR = NV * W;
  typename V::T acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  switch (t.nkx) {
    case 4: directTileLoop<V, MR, NV, 4>(t, acc); break;
    case 3: directTileLoop<V, MR, NV, 3>(t, acc); break;
    case 2: directTileLoop<V, MR, NV, 2>(t, acc); break;
    case 1: directTileLoop<V, MR, NV, 1>(t, acc); break;
    case 0: break;
    default: directTileLoop<V, MR, NV, 0>(t, acc); break;
  }
  alignas(64) float buf[NR];
  for (int r = 0; r < t.m; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      typename V::T o = V::add(acc[r][v], V::load(t.bias + v * W));
      if (t.relu) o = V::max0(o);
      V::store(buf + v * W, o);
    }
    float* y = t.y[r];
    const size_t P = t.P;
    for (int l = 0; l < t.noc; ++l) y[l * P] = buf[l];
  }
}

template <class V, int MR, int NV, int KW>
inline void rowTileLoop(const RowTile& t, typename V::T (&acc)[MR][NV]) {
  constexpr int W = V::W;
  const int kw = KW > 0 ? KW : t.kw;
  const float* wc = t.wp;
  const float* xc = t.x;
  for (size_t c = 0; c < t.C; ++c, wc += t.wc, xc += t.xc) {
    const float* wrow = wc;
    const float* xrow = xc;
    for (int dy = 0; dy < t.nky; ++dy, wrow += t.wky, xrow += t.xrow) {
#pragma GCC unroll 4
      for (int kx = 0; kx < kw; ++kx) {
        const float* src = xrow + t.koff[kx];
        typename V::T xv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) xv[v] = V::load(src + v * W);
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r) {
          const typename V::T a = V::set1(wrow[kx * MR + r]);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(a, xv[v], acc[r][v]);
        }
      }
    }
  }
}

template <class V, int MR, int NV>
void rowTile(const RowTile& t) {
  constexpr int W = V::W;
  typename V::T acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  switch (t.kw) {
    case 4: rowTileLoop<V, MR, NV, 4>(t, acc); break;
    case 3: rowTileLoop<V, MR, NV, 3>(t, acc); break;
    default: rowTileLoop<V, MR, NV, 0>(t, acc); break;
  }
  for (int r = 0; r < t.m; ++r) {
    const typename V::T bv = V::set1(t.bias[r]);
    float* y = t.y + r * t.P;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      typename V::T o = V::add(acc[r][v], bv);
      if (t.relu) o = V::max0(o);
      const int cnt = std::min(W, t.npx - v * W);
      if (cnt >= W) V::store(y + v * W, o);
      else if (cnt > 0) V::storeN(y + v * W, o, cnt);
    }
  }
}

}  // namespace
