// Device-side kernel benchmarks for bench/cuda.bench.ts (through binding/cuda_bench_binding.cc):
// allocates device buffers, runs one kernel family's launcher `iters` times after a warm-up and
// times the loop with CUDA events; reports ms per call and the bytes and FLOPs each call must
// move / do (to turn into GB/s and GFLOP/s), and the device's peaks from its attributes.
//
// Cases (benchKernel's `kernel`): 0 gemm size^3; 1 unary sigmoid over size floats; 2 axpy; 3
// sumAll; 4 Adam step over size parameters; 5 LSTM sequence forward T=16 B=32 I=1027 H=size;
// 6 conv2d forward of the VAE's second layer (N=size, 32->64 channels, 32x32, 4x4, stride 2);
// 7 broadcast add of a row vector over [size, 1024].
// Buffers are zero-filled (cudaMemset): the timed kernels have no data-dependent paths that zeros
// would shortcut. Under the CPU emulation (tests) the same code runs with a steady_clock stand-in
// for the events, on tiny sizes, so the launcher logic is exercised.
#include <vector>

#include "wk_cuda.cuh"

#if !defined(__CUDACC__)
#include <chrono>
namespace {
using cudaEvent_t = std::chrono::steady_clock::time_point*;
inline cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = new std::chrono::steady_clock::time_point();
  return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t = nullptr) {
  *e = std::chrono::steady_clock::now();
  return cudaSuccess;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
  *ms = std::chrono::duration<float, std::milli>(*b - *a).count();
  return cudaSuccess;
}
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
}  // namespace
#endif

namespace wk {
namespace cuda {
namespace {

struct Buffers {
  std::vector<float*> ptrs;
  int err = 0;
  float* get(size_t n) {
    void* p = nullptr;
    if (!err) err = static_cast<int>(cudaMalloc(&p, (n ? n : 1) * sizeof(float)));
    if (!err) err = static_cast<int>(cudaMemset(p, 0, (n ? n : 1) * sizeof(float)));
    ptrs.push_back(static_cast<float*>(p));
    return static_cast<float*>(p);
  }
  ~Buffers() {
    for (float* p : ptrs)
      if (p) cudaFree(p);
  }
};

}  // namespace

int devicePeak(DevicePeak* out) {
#if defined(__CUDACC__)
  int dev = 0, sms = 0, clockKHz = 0, memKHz = 0, busBits = 0, major = 0, minor = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (!e) e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  if (!e) e = cudaDeviceGetAttribute(&clockKHz, cudaDevAttrClockRate, dev);
  if (!e) e = cudaDeviceGetAttribute(&memKHz, cudaDevAttrMemoryClockRate, dev);
  if (!e) e = cudaDeviceGetAttribute(&busBits, cudaDevAttrGlobalMemoryBusWidth, dev);
  if (!e) e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
  if (!e) e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev);
  if (e) return static_cast<int>(e);
  // FP32 lanes per SM: 64 on sm_75 and sm_80 (A100), 128 on sm_86, sm_89, sm_90.
  const int lanes = (major == 7 || (major == 8 && minor == 0)) ? 64 : 128;
  out->gflops = 2.0 * lanes * sms * (clockKHz * 1e3) / 1e9;
  out->gbps = 2.0 * (memKHz * 1e3) * (busBits / 8.0) / 1e9;  // double data rate
  return 0;
#else
  out->gflops = 0;
  out->gbps = 0;
  return static_cast<int>(cudaErrorNoDevice);
#endif
}

int benchKernel(int kernel, size_t size, int iters, BenchResult* out) {
  if (iters < 1 || size == 0 || kernel < 0 || kernel > 7) return static_cast<int>(cudaErrorInvalidValue);
  Buffers buf;
  double bytes = 0, flops = 0;
  const size_t n = size;
  float *a = nullptr, *b = nullptr, *c = nullptr, *d = nullptr, *e = nullptr, *f = nullptr, *g = nullptr, *h = nullptr;
  LstmParams lp;
  ConvGeom cg;
  int64_t rowShape[2] = {1, 1024}, fullShape[2] = {(int64_t)size, 1024};
  switch (kernel) {
    case 0:
      a = buf.get(n * n), b = buf.get(n * n), c = buf.get(n * n);
      bytes = 3.0 * n * n * 4, flops = 2.0 * n * n * n;
      break;
    case 1:
    case 2:
      a = buf.get(n), b = buf.get(n);
      bytes = (kernel == 1 ? 2.0 : 3.0) * n * 4, flops = kernel == 1 ? 4.0 * n : 2.0 * n;
      break;
    case 3:
      a = buf.get(n), b = buf.get(2 + kSumAllScratch * 2);
      bytes = 4.0 * n, flops = 1.0 * n;
      break;
    case 4:
      a = buf.get(n), b = buf.get(n), c = buf.get(n), d = buf.get(n);
      bytes = 7.0 * n * 4, flops = 14.0 * n;
      break;
    case 5: {
      const size_t T = 16, B = 32, I = 1027, H = n, G = 4 * H, rows = T * B;
      lp.I = I, lp.H = H;
      a = buf.get(rows * I), b = buf.get(G * I), c = buf.get(G * H), d = buf.get(rows * H), e = buf.get(rows * G);
      f = buf.get(rows * H), g = buf.get((T + 1) * B * H), h = buf.get(G);
      lp.wih = b, lp.whh = c, lp.bih = h, lp.bhh = h;
      flops = 2.0 * rows * G * (I + H);
      bytes = 4.0 * (rows * I + G * (I + H) + rows * (G + 3.0 * H));
      break;
    }
    case 6: {
      cg.N = n, cg.C = 32, cg.H = 32, cg.W = 32, cg.K = 64, cg.kh = cg.kw = 4, cg.sh = cg.sw = 2, cg.ph = cg.pw = 1;
      cg.Ho = cg.Wo = 16;
      a = buf.get(cg.N * cg.C * cg.H * cg.W), b = buf.get(cg.K * cg.C * 16), c = buf.get(cg.K);
      d = buf.get(cg.N * cg.K * cg.Ho * cg.Wo), e = buf.get(cuda::convWorkspace(cg));
      flops = 2.0 * cg.N * cg.K * cg.Ho * cg.Wo * cg.C * 16;
      bytes = 4.0 * (cg.N * cg.C * cg.H * cg.W + cg.N * cg.K * cg.Ho * cg.Wo);
      break;
    }
    case 7:
      a = buf.get(n * 1024), b = buf.get(1024), c = buf.get(n * 1024);
      bytes = 2.0 * n * 1024 * 4, flops = 1.0 * n * 1024;
      break;
  }
  if (buf.err) return buf.err;
  auto once = [&]() -> int {
    switch (kernel) {
      case 0: return gemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
      case 1: return unaryForward(5, a, b, n, 0.0f, 0.0f);
      case 2: return axpy(b, a, n, 0.5f);
      case 3: return sumAll(a, n, reinterpret_cast<double*>(b), reinterpret_cast<double*>(b) + 2);
      case 4: return adamStep(a, b, c, d, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, false, 0.1, 0.001);
      case 5: return cuda::lstmSequenceForward(16, 32, true, lp, a, nullptr, nullptr, d, e, f, g, nullptr, nullptr);
      case 6: return cuda::conv2dForward(cg, a, b, c, d, e);
      default: return binaryBroadcast(0, a, fullShape, b, rowShape, c, fullShape, 2);
    }
  };
  int err = once();  // warm-up
  if (err) return err;
  cudaEvent_t t0, t1;
  cudaEventCreate(&t0);
  cudaEventCreate(&t1);
  cudaEventRecord(t0, nullptr);
  for (int i = 0; i < iters && !err; ++i) err = once();
  cudaEventRecord(t1, nullptr);
  cudaEventSynchronize(t1);
  float ms = 0;
  cudaEventElapsedTime(&ms, t0, t1);
  cudaEventDestroy(t0);
  cudaEventDestroy(t1);
  if (!err) err = static_cast<int>(cudaDeviceSynchronize());
  if (!err) err = lastError();
  out->ms = ms / iters;
  out->bytes = bytes;
  out->flops = flops;
  return err;
}

}  // namespace cuda
}  // namespace wk
