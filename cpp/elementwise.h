// Elementwise kernels: broadcasting binary arithmetic and unary activations, with backwards.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wk {

constexpr int kMaxDims = 6;

// Op codes, declared once: the enums below and the addon's `opCodes` export (the codes the
// TypeScript ops pass) are generated from these lists. X(Enumerator, jsName, value).
#define WK_BINARY_OPS(X) X(Add, add, 0) X(Sub, sub, 1) X(Mul, mul, 2) X(Div, div, 3)

// Unary ops; p0/p1 are op parameters (noted per op).
#define WK_UNARY_OPS(X)                                                           \
  X(Neg, neg, 0)                                                                  \
  X(Square, square, 1)                                                            \
  X(Sqrt, sqrt, 2)                                                                \
  X(Relu, relu, 3)                                                                \
  X(LeakyRelu, leakyRelu, 4) /* p0 = negative slope */                            \
  X(Sigmoid, sigmoid, 5)                                                          \
  X(Tanh, tanh, 6)                                                                \
  X(Exp, exp, 7)                                                                  \
  X(Log, log, 8)                                                                  \
  X(Softplus, softplus, 9)                                                        \
  X(Abs, abs, 10)                                                                 \
  X(Affine, affine, 11) /* y = p0 * x + p1 */                                     \
  X(RDiv, rdiv, 12)     /* y = p0 / x */                                          \
  X(Pow, pow, 13)       /* y = x ^ p0 */                                          \
  X(Clamp, clamp, 14)   /* y = min(max(x, p0), p1) */                         \
  X(Gelu, gelu, 15)     /* y = x * Phi(x), Phi the standard normal CDF (erf form) */

#define WK_OP_ENUMERATOR(name, js, value) name = value,
enum class BinaryOp : int { WK_BINARY_OPS(WK_OP_ENUMERATOR) };
enum class UnaryOp : int { WK_UNARY_OPS(WK_OP_ENUMERATOR) kCount = 16 };


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
