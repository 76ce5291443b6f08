// Elementwise kernels: broadcasting binary arithmetic and unary activations, with backwards.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wk {

constexpr int kMaxDims = 6;

enum class BinaryOp : int { Add = 0, Sub = 1, Mul = 2, Div = 3 };

// Unary ops; p0/p1 are op parameters (noted per op).
enum class UnaryOp : int {
  Neg = 0,
  Square = 1,
  Sqrt = 2,
  Relu = 3,
  LeakyRelu = 4,  // p0 = negative slope
  Sigmoid = 5,
  Tanh = 6,
  Exp = 7,
  Log = 8,
  Softplus = 9,
  Abs = 10,
  Affine = 11,    // y = p0 * x + p1
  RDiv = 12,      // y = p0 / x
  Pow = 13,       // y = x ^ p0
  Clamp = 14,     // y = min(max(x, p0), p1)
  kCount = 15,
};

// Broadcasting (numpy rules): all shapes are given with the same rank nd <= kMaxDims (padded with
// leading 1s); a dim of a or b is either 1 or equal to outShape's. out has prod(outShape) elements.
void binaryForward(BinaryOp op, const float* a, const int64_t* aShape, const float* b, const int64_t* bShape,
                   float* out, const int64_t* outShape, int nd);

// Gradients of binaryForward given the output gradient g (outShape). ga / gb (each may be null)
// receive the gradient summed down to aShape / bShape (overwritten, not accumulated).
void binaryBackward(BinaryOp op, const float* a, const int64_t* aShape, const float* b, const int64_t* bShape,
                    const float* g, const int64_t* outShape, int nd, float* ga, float* gb);

// out (outShape) = scale * x broadcast from xShape (same rank, dims 1 or equal).
void broadcastTo(const float* x, const int64_t* xShape, float* out, const int64_t* outShape, int nd, float scale);

void unaryForward(UnaryOp op, const float* x, float* y, size_t n, float p0, float p1);
// gx = g * dy/dx, from x and/or the forward output y (sigmoid, tanh, exp, sqrt use y).
void unaryBackward(UnaryOp op, const float* x, const float* y, const float* g, float* gx, size_t n, float p0,
                   float p1);
// Whether unaryBackward for op reads x / y.
bool unaryBackwardNeedsX(UnaryOp op);
bool unaryBackwardNeedsY(UnaryOp op);

}  // namespace wk
