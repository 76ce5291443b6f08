// Device memory for 'cuda' tensors (cuda/memory.cu): a caching allocator over cudaMalloc and the
// host<->device copies, callable from plain C++ (binding/cuda_device_binding.cc, and the
// emulation addon, where "device" memory is host memory and the same code runs unchanged).
#pragma once
#include <cstddef>
#include <string>

namespace wk {
namespace cuda {

struct MemStats {
  size_t bytesInUse = 0;    // bytes of blocks handed out (rounded to their size class)
  size_t bytesCached = 0;   // bytes of freed blocks kept for reuse
  size_t blocksInUse = 0, blocksCached = 0;
  size_t mallocs = 0;       // cudaMalloc calls so far
  size_t reuses = 0;        // allocations served from the cache
};

// Rounds a request up to its size class (512 B granules below 1 MiB, then 4/5/6/7 x 2^k).
size_t sizeClass(size_t bytes);
// 0 or the CUDA error; on out-of-memory the cache is emptied and the allocation retried once.
int deviceAlloc(size_t bytes, void** out);
void deviceRelease(void* p);  // back to the cache (never cudaFree)
void emptyCache();            // cudaFree every cached block
MemStats memStats();

int copyHostToDevice(void* dst, const void* src, size_t bytes);
int copyDeviceToHost(void* dst, const void* src, size_t bytes);  // synchronizes
int copyDeviceToDevice(void* dst, const void* src, size_t bytes);
int memsetZero(void* dst, size_t bytes);
// height rows of widthBytes from src (row pitch srcPitch) to dst (row pitch dstPitch), on device.
int copy2d(void* dst, size_t dstPitch, const void* src, size_t srcPitch, size_t widthBytes, size_t height);
int synchronize();
std::string errorText(int code);  // "cudaErrorX: message" (under emulation: the launch failure)

}  // namespace cuda
}  // namespace wk
