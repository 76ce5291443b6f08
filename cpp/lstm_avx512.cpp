// AVX-512 build of the LSTM pointwise passes (lstm_pointwise.inl); chosen at run time in lstm.cpp.
#define WK_LSTM_SUFFIX Avx512
#include "lstm_pointwise.inl"
