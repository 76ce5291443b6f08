// Device probe for cudaStatus(): how many GPUs the runtime sees and what device 0 is. Compiled
// with the kernels so it uses the same (static) runtime; with no driver or no GPU it returns
// available = false and the runtime's own error text. No kernels here.
#include <cstdio>
#include <cstring>

#include "wk_cuda.cuh"

namespace wk {
namespace cuda {

DeviceInfo probeDevice() {
  DeviceInfo info;
  cudaRuntimeGetVersion(&info.runtimeVersion);
  cudaDriverGetVersion(&info.driverVersion);
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    std::snprintf(info.reason, sizeof info.reason, "%s (%s)", e == cudaSuccess ? "no CUDA device found" : cudaGetErrorString(e),
                  e == cudaSuccess ? "cudaGetDeviceCount returned 0" : cudaGetErrorName(e));
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return info;
  }
  info.deviceCount = count;
  cudaDeviceProp p;
  e = cudaGetDeviceProperties(&p, 0);
  if (e != cudaSuccess) {
    std::snprintf(info.reason, sizeof info.reason, "%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    cudaGetLastError();
    return info;
  }
  std::snprintf(info.name, sizeof info.name, "%s", p.name);
  info.major = p.major;
  info.minor = p.minor;
  info.memoryBytes = p.totalGlobalMem;
  info.available = true;
  return info;
}

}  // namespace cuda
}  // namespace wk
