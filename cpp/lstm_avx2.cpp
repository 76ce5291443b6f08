// AVX2+FMA build of the LSTM pointwise passes (lstm_pointwise.inl); chosen at run time in lstm.cpp
// on CPUs without AVX-512 (the portable build is SSE2-only).
#define WK_LSTM_SUFFIX Avx2
#include "lstm_pointwise.inl"
