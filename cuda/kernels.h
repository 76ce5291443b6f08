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
