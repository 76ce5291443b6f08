// Device memory for 'cuda' tensors: a caching allocator and the copies. No kernels here.
//
// Allocator: requests are rounded up to a size class (512-byte granules below 1 MiB; above it
// the classes 4/5/6/7 x 2^k, at most 25% waste) and freed blocks go to a free list per class
// instead of cudaFree, so a training loop that allocates the same shapes every step calls
// cudaMalloc only in its first step. On cudaErrorMemoryAllocation the cache is released and the
// request retried once. All work is on the default stream, so a block freed by the host while a
// kernel still reads it is only reused by later work on the same stream (stream order keeps it
// safe). Thread-safe (one mutex); the cache lives for the process.
//
// Under the emulation (WK_CUDA_EMULATION, cuda/emulation/simt.h) cudaMalloc is aligned host
// memory between guard zones and the copies are memmove, so the same allocator is exercised on
// CI; deviceAlloc tells the emulation the size asked for, so the class's slack is guard too and a
// kernel writing one element past a tensor fails its launch (see simt.h, "Guard zones").
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "wk_cuda.cuh"
#include "device_memory.h"

namespace wk {
namespace cuda {
namespace {

struct Cache {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> freeLists;  // size class -> cached blocks
  std::unordered_map<void*, size_t> live;           // block -> its size class
  MemStats stats;
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: finalizers may release blocks at exit
  return *c;
}

void releaseCachedLocked(Cache& c) {
  for (auto& kv : c.freeLists)
    for (void* p : kv.second) cudaFree(p);
  c.freeLists.clear();
  c.stats.bytesCached = 0;
  c.stats.blocksCached = 0;
}

}  // namespace

size_t sizeClass(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t MiB = size_t(1) << 20;
  if (bytes < MiB) return (bytes + 511) / 512 * 512;
  size_t p = MiB;
  while (p * 2 <= bytes) p *= 2;  // p <= bytes < 2p: classes p, 5p/4, 6p/4, 7p/4, 2p
  for (size_t k = 4; k <= 8; ++k)
    if (bytes <= p / 4 * k) return p / 4 * k;
  return 2 * p;
}

int deviceAlloc(size_t bytes, void** out) {
  Cache& c = cache();
  const size_t cls = sizeClass(bytes);
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.freeLists.find(cls);
  if (it != c.freeLists.end() && !it->second.empty()) {
    *out = it->second.back();
    it->second.pop_back();
    c.stats.bytesCached -= cls;
    c.stats.blocksCached--;
    c.stats.reuses++;
  } else {
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, cls);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear the sticky-free error before retrying
      releaseCachedLocked(c);
      e = cudaMalloc(&p, cls);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      *out = nullptr;
      return static_cast<int>(e);
    }
    c.stats.mallocs++;
    *out = p;
  }
  c.live[*out] = cls;
#if !defined(__CUDACC__)
  ::wk_emu::guardSetSize(*out, bytes);  // the emulation's guard zone starts right after the request
#endif
  c.stats.bytesInUse += cls;
  c.stats.blocksInUse++;
  return 0;
}

void deviceRelease(void* p) {
  if (!p) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.live.find(p);
  if (it == c.live.end()) return;  // not ours (or released twice): ignore
  const size_t cls = it->second;
  c.live.erase(it);
#if !defined(__CUDACC__)
  ::wk_emu::guardSetSize(p, 0, false);  // checks the zones, then parks the block until reuse
#endif
  c.freeLists[cls].push_back(p);
  c.stats.bytesInUse -= cls;
  c.stats.blocksInUse--;
  c.stats.bytesCached += cls;
  c.stats.blocksCached++;
}

void emptyCache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  releaseCachedLocked(c);
}

MemStats memStats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

int copyHostToDevice(void* dst, const void* src, size_t bytes) {
  return bytes ? static_cast<int>(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice)) : 0;
}
int copyDeviceToHost(void* dst, const void* src, size_t bytes) {
  return bytes ? static_cast<int>(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost)) : 0;
}
int copyDeviceToDevice(void* dst, const void* src, size_t bytes) {
  return bytes ? static_cast<int>(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, nullptr)) : 0;
}
int memsetZero(void* dst, size_t bytes) {
  return bytes ? static_cast<int>(cudaMemsetAsync(dst, 0, bytes, nullptr)) : 0;
}
int copy2d(void* dst, size_t dstPitch, const void* src, size_t srcPitch, size_t widthBytes, size_t height) {
  if (widthBytes == 0 || height == 0) return 0;
#if defined(__CUDACC__)
  return static_cast<int>(
      cudaMemcpy2DAsync(dst, dstPitch, src, srcPitch, widthBytes, height, cudaMemcpyDeviceToDevice, nullptr));
#else
  for (size_t r = 0; r < height; ++r)
    std::memmove(static_cast<char*>(dst) + r * dstPitch, static_cast<const char*>(src) + r * srcPitch, widthBytes);
  return 0;
#endif
}
int synchronize() { return static_cast<int>(cudaDeviceSynchronize()); }

std::string errorText(int code) {
  cudaError_t e = static_cast<cudaError_t>(code);
#if defined(__CUDACC__)
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
#else
  return std::string(cudaGetErrorName(e)) + ": " + ::wk_emu::lastFailure();
#endif
}

}  // namespace cuda
}  // namespace wk
