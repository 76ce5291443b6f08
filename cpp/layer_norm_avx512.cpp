// AVX-512 build of LayerNorm's per-row passes (layer_norm_rows.inl); chosen at run time in
// layer_norm.cpp.
#define WK_LN_SUFFIX Avx512
#include "layer_norm_rows.inl"
