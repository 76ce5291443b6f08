// Host entry points of the CUDA kernels (cuda/*.cu), callable from plain C++ (the bindings): every
// pointer is a device pointer (under the CPU emulation, a host pointer), sizes are element counts,
// `stream` is a cudaStream_t (nullptr = default stream). Each returns a cudaError_t code (0 = ok)
// from the launch; kernels run asynchronously on the stream.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wk {
namespace cuda {

using Stream = void*;

// ---- rng.cu: Philox fills, bit-identical to cpp/rng.cpp for the same (seed, offset) ----
int rngUniform(float* out, size_t n, uint64_t seed, uint64_t offset, float low, float high, Stream stream = nullptr);
int rngNormal(float* out, size_t n, uint64_t seed, uint64_t offset, float mean, float stddev, Stream stream = nullptr);
int rngBernoulli(float* out, size_t n, uint64_t seed, uint64_t offset, float p, Stream stream = nullptr);

}  // namespace cuda
}  // namespace wk

namespace wk {
namespace cuda {

// ---- device.cu: what the CUDA runtime sees (never throws) ----
struct DeviceInfo {
  bool available = false;
  char reason[256] = {0};  // why not available (the runtime's error), empty when available
  char name[256] = {0};
  int major = 0, minor = 0;
  size_t memoryBytes = 0;
  int deviceCount = 0;
  int runtimeVersion = 0, driverVersion = 0;
};
DeviceInfo probeDevice();

}  // namespace cuda
}  // namespace wk

namespace wk {
namespace cuda {

// ---- elementwise.cu: unary activations (op codes of cpp/elementwise.h UnaryOp) ----
int unaryForward(int op, const float* x, float* y, size_t n, float p0, float p1, Stream stream = nullptr);
int unaryBackward(int op, const float* x, const float* y, const float* g, float* gx, size_t n, float p0, float p1,
                  Stream stream = nullptr);
// out = a (op) b, same-size operands (op codes of BinaryOp: 0 add, 1 sub, 2 mul, 3 div)
int binarySame(int op, const float* a, const float* b, float* out, size_t n, Stream stream = nullptr);
// y += alpha * x (the residual update)
int axpy(float* y, const float* x, size_t n, float alpha, Stream stream = nullptr);

// ---- reduce.cu: sums in double with warp shuffles (deterministic: no atomics) ----
// out[o, i] = scale * sum_r x[o, r, i]
int reduceSum3(const float* x, size_t outer, size_t red, size_t inner, float* out, double scale, Stream stream = nullptr);
// *out = sum of x (double); scratch holds kSumAllScratch doubles
constexpr size_t kSumAllScratch = 1024;
int sumAll(const float* x, size_t n, double* out, double* scratch, Stream stream = nullptr);

// ---- losses.cu: fused losses (formulas of cpp/losses.h) ----
int rowLossForward(int kind, const float* a, const float* t, size_t B, size_t D, double scale, float* out,
                   Stream stream = nullptr);
int rowLossBackward(int kind, const float* a, const float* t, size_t B, size_t D, const float* gRow, double scale,
                    float* ga, float* gt, Stream stream = nullptr);
int klNormalForward(const float* mu, const float* logvar, size_t B, size_t D, float* kl, Stream stream = nullptr);
int klNormalBackward(const float* mu, const float* logvar, size_t B, size_t D, const float* kl, float freeBits,
                     const float* gRow, double scale, float* gmu, float* glogvar, Stream stream = nullptr);
int crossEntropyForward(const float* logits, const int32_t* labels, size_t B, size_t C, float* loss,
                        Stream stream = nullptr);
int crossEntropyBackward(const float* logits, const int32_t* labels, size_t B, size_t C, const float* gRow,
                         double scale, float* glogits, Stream stream = nullptr);

// ---- optim.cu: fused optimizer steps (formulas of cpp/optim.h) ----
int sgdStep(float* p, const float* g, float* buf, size_t n, float lr, float momentum, float dampening,
            float weightDecay, bool nesterov, bool firstStep, Stream stream = nullptr);
int adamStep(float* p, const float* g, float* m, float* v, size_t n, float lr, float beta1, float beta2, float eps,
             float weightDecay, bool decoupled, double bc1, double bc2, Stream stream = nullptr);

// ---- frames.cu: uint8 frames <-> float NCHW (cpp/conv.h framesToFloat / floatToFrames) ----
int framesToFloat(const unsigned char* src, float* dst, size_t N, size_t C, size_t H, size_t W, bool channelsLast,
                  Stream stream = nullptr);
int floatToFrames(const float* src, unsigned char* dst, size_t N, size_t C, size_t H, size_t W, bool channelsLast,
                  Stream stream = nullptr);

// ---- gemm.cu: C = alpha op(A) op(B) + beta C, row-major (cpp/gemm.h conventions) ----
int gemm(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
         const float* B, size_t ldb, float beta, float* C, size_t ldc, Stream stream = nullptr);

}  // namespace cuda
}  // namespace wk

// ---- lstm.cu: fused LSTM cell, teacher-forced sequence (BPTT) and residual head; the math,
// layout and null conventions of cpp/lstm.h, on device pointers (LstmParams/LstmParamGrads hold
// device pointers). Backward passes take a caller-owned device workspace of the given size.
#include "lstm.h"

namespace wk {
namespace cuda {

size_t lstmCellBackwardWorkspace(size_t B, size_t H);  // floats (unused when dGatesOut is given)
size_t lstmSequenceBackwardWorkspace(size_t T, size_t B, size_t H);  // floats
int lstmCellForward(size_t B, const LstmParams& p, const float* x, const float* h, const float* c, float* gates,
                    float* cNew, float* hNew, float* tanhC, Stream stream = nullptr);
int lstmCellBackward(size_t B, const LstmParams& p, const float* x, const float* h, const float* c,
                     const float* gates, const float* tanhC, const float* dhNew, const float* dcNew, float* dx,
                     float* dh, float* dc, const LstmParamGrads& g, float* dGatesOut, float* workspace,
                     Stream stream = nullptr);
int lstmSequenceForward(size_t T, size_t B, bool batchFirst, const LstmParams& p, const float* x, const float* h0,
                        const float* c0, float* y, float* gates, float* tanhC, float* cs, float* hN, float* cN,
                        Stream stream = nullptr);
int lstmSequenceBackward(size_t T, size_t B, bool batchFirst, const LstmParams& p, const float* x, const float* h0,
                         const float* y, const float* gates, const float* tanhC, const float* cs, const float* dy,
                         const float* dhN, const float* dcN, float* dx, float* dh0, float* dc0,
                         const LstmParamGrads& g, float* workspace, Stream stream = nullptr);
int residualHeadForward(size_t R, size_t D, size_t K, const float* z, const float* h, const float* W, const float* b,
                        float* out, Stream stream = nullptr);
int residualHeadBackward(size_t R, size_t D, size_t K, const float* h, const float* W, const float* dout, float* dh,
                         float* dW, float* db, Stream stream = nullptr);
// The gates' pointwise pass alone (cpp/lstm_gates.h): pre [B,4H] -> gates (activated), c', h',
// tanh(c'); backward -> dPre [B,4H], dc [B,H] (null: skipped). c, dh, dcNew null = zeros.
int lstmGatesForward(size_t B, size_t H, const float* pre, const float* c, float* gates, float* cNew, float* hNew,
                     float* tanhC, Stream stream = nullptr);
int lstmGatesBackward(size_t B, size_t H, const float* gates, const float* c, const float* tanhC, const float* dh,
                      const float* dcNew, float* dPre, float* dc, Stream stream = nullptr);

}  // namespace cuda
}  // namespace wk

// ---- conv.cu: conv2d / convTranspose2d and their gradients (cpp/conv.h ConvGeom, layouts and
// null conventions) on device pointers, im2col/col2im + gemm.cu. Each call takes a caller-owned
// device workspace of convWorkspace(g) floats.
#include "conv.h"

namespace wk {
namespace cuda {

size_t convWorkspace(const ConvGeom& g);  // floats
int conv2dForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y, float* workspace,
                  Stream stream = nullptr);
int conv2dBackward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx, float* gw, float* gb,
                   float* workspace, Stream stream = nullptr);
int convTranspose2dForward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y,
                           float* workspace, Stream stream = nullptr);
int convTranspose2dBackward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx, float* gw,
                            float* gb, float* workspace, Stream stream = nullptr);

}  // namespace cuda
}  // namespace wk

namespace wk {
namespace cuda {

// ---- broadcast.cu: broadcasting add/sub/mul/div (op codes of BinaryOp) and their gradients
// (cpp/elementwise.h binaryForward/binaryBackward: same rank nd <= 6, dims 1 or the output's).
// The mul/div backwards need a workspace of binaryBackwardWorkspace(outShape, nd) floats when an
// operand is broadcast (null otherwise is fine). Shapes are host arrays.
size_t binaryBackwardWorkspace(const int64_t* outShape, int nd);
int binaryBroadcast(int op, const float* a, const int64_t* aShape, const float* b, const int64_t* bShape, float* out,
                    const int64_t* outShape, int nd, Stream stream = nullptr);
int binaryBroadcastBackward(int op, const float* a, const int64_t* aShape, const float* b, const int64_t* bShape,
                            const float* g, const int64_t* outShape, int nd, float* ga, float* gb, float* workspace,
                            Stream stream = nullptr);
// dst (target shape) = scale * full (fullShape) summed over the axes where target is 1 (double).
int sumTo(const float* full, const int64_t* fullShape, const int64_t* target, int nd, float* dst, double scale,
          Stream stream = nullptr);

}  // namespace cuda
}  // namespace wk

namespace wk {
namespace cuda {

// ---- permute.cu: y = x.permute(perm), rank <= 6 (shape and perm are host arrays), a pure copy ----
int permute(const float* x, const int64_t* shape, int nd, const int* perm, float* y, Stream stream = nullptr);

}  // namespace cuda
}  // namespace wk

namespace wk {
namespace cuda {

// ---- bench.cu: device-side timing for bench/cuda.bench.ts (cases listed in bench.cu) ----
struct BenchResult {
  double ms = 0, bytes = 0, flops = 0;  // per call
};
struct DevicePeak {
  double gflops = 0, gbps = 0;  // FP32 FMA peak and DRAM bandwidth from the device attributes
};
int benchKernel(int kernel, size_t size, int iters, BenchResult* out);
int devicePeak(DevicePeak* out);

}  // namespace cuda
}  // namespace wk

// ---- attention.cu: fused block-causal attention, the FlashAttention form of cpp/attention.h
// (AttentionDims, layouts, masks and null conventions) on device pointers. The backward takes a
// caller-owned device workspace of attentionBackwardWorkspace(d) floats. Head sizes up to
// kAttentionMaxHeadDim (larger: cudaErrorInvalidValue).
#include "attention.h"

namespace wk {
namespace cuda {

constexpr size_t kAttentionMaxHeadDim = 128;
int attentionForward(const AttentionDims& d, const float* q, const float* k, const float* v, float* o, float* lse,
                     Stream stream = nullptr);
size_t attentionBackwardWorkspace(const AttentionDims& d);  // floats
int attentionBackward(const AttentionDims& d, const float* q, const float* k, const float* v, const float* o,
                      const float* lse, const float* go, float* gq, float* gk, float* gv, float* workspace,
                      Stream stream = nullptr);

}  // namespace cuda
}  // namespace wk

// ---- layer_norm.cu: LayerNorm over the last dimension (formulas and null conventions of
// cpp/layer_norm.h) on device pointers. Backward takes a caller-owned device workspace of
// layerNormBackwardWorkspace(R, C) floats (used when gw or gb is wanted).
namespace wk {
namespace cuda {

size_t layerNormBackwardWorkspace(size_t R, size_t C);  // floats
int layerNormForward(const float* x, const float* w, const float* b, size_t R, size_t C, float eps, float* y,
                     float* mean, float* rstd, Stream stream = nullptr);
int layerNormBackward(const float* x, const float* w, const float* mean, const float* rstd, const float* gy, size_t R,
                      size_t C, float* gx, float* gw, float* gb, float* workspace, Stream stream = nullptr);

}  // namespace cuda
}  // namespace wk
