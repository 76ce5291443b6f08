// CPU SIMT emulation: makes the unchanged kernel sources in cuda/*.cu compile with a plain C++17
// compiler (g++/clang++) and run on the CPU, for tests on machines without a GPU.
//
// What it provides (only when __CUDACC__ is not defined; cuda/wk_cuda.cuh includes it):
//   - __global__/__device__/__host__/__forceinline__/__launch_bounds__/__align__ qualifiers
//   - threadIdx/blockIdx/blockDim/gridDim/warpSize, dim3, uint3, float2/float4/int4/uchar4, make_*
//   - static __shared__ (one copy per worker OS thread = per running block) and dynamic shared
//     memory through WK_DYNAMIC_SHARED(T, name) (filled with 0xFF = NaN before every block)
//   - __syncthreads, __syncwarp, __shfl_sync/_up/_down/_xor, __ballot_sync/__all_sync/__any_sync
//   - atomicAdd/Sub/Max/Min/Exch/CAS (real atomics: blocks run on several OS threads)
//   - fast-math intrinsics (__expf, __logf, __fdividef, rsqrtf, __saturatef, ...), __ldg
//   - a small fake of the runtime calls launchers make: cudaGetLastError, cudaMalloc/Free/Memcpy/
//     Memset, streams and synchronisation as no-ops, cudaFuncSetAttribute
//   - WK_LAUNCH(kernel, grid, block, smem, stream, args...) (under nvcc: kernel<<<...>>>(args...))
//
// How a launch runs: the grid's blocks are taken from a shared counter by `workers()` OS threads
// (default 2). A block's threads are fibers (one stack each) run by a scheduler on the
// worker: every runnable fiber runs until it reaches a barrier or ends. __syncthreads is a block
// barrier (threads that have returned count as arrived, as on sm_70+); every warp-level
// operation (shuffle, vote, __syncwarp) is a warp barrier over the lanes in its mask that have
// not returned, resolved when all of them arrive, after which each lane reads its result. A
// state where nothing can run (e.g. __syncthreads inside a branch some threads skip, or a
// shuffle whose mask names a lane waiting at __syncthreads) fails the launch: cudaGetLastError
// returns cudaErrorLaunchFailure and wk_emu::lastFailure() says why.
//
// Fiber switch: on x86-64 a hand-written stack switch (wk_emu_switch below: saves the six
// callee-saved registers on the old stack, swaps rsp, pops them from the new one: about 20
// instructions); elsewhere, under AddressSanitizer, or with env WK_EMU_FIBERS=ucontext, ucontext's
// swapcontext, which also saves/restores the signal mask with a sigprocmask syscall per switch
// (about 10x slower per switch).
//
// Scheduling switch (setSchedule or env WK_EMU_SCHEDULE=forward|reverse|random[:seed]): the
// order in which the runnable fibers of a block run between barriers. Forward runs thread 0 to
// its next barrier, then thread 1, ...; reverse the other way round; random a seeded
// permutation per round (seed mixed with the launch number and block index, so a run is
// reproducible for any worker count). A kernel that reads another thread's shared-memory write
// without a barrier in between gives different results under different orders.
//
// ThreadSanitizer (compiled with -fsanitize=thread; WK_EMU_TSAN): every CUDA thread is a TSan
// fiber (contexts from __tsan_create_fiber, pooled; __tsan_switch_to_fiber before every stack
// switch, always with no_sync, so running fibers one after the other on one OS thread orders
// nothing). A block's threads start after its set-up (a release by the worker, acquired when
// each thread starts), and the block ends before the worker's next block (each returned thread
// releases, the worker acquires). Inside a block the happens-before edges are exactly the ones
// CUDA guarantees: __syncthreads releases into a per-block sync object and acquires it when the
// barrier opens (two objects alternating by barrier count, so a thread that resumes late from
// barrier k never acquires what another thread wrote after k); __syncwarp does the same over the
// lanes of its group; a thread that returns releases into the next barrier's object. Shuffles and votes move values, not memory ordering.
// Atomics are real relaxed atomics (TSan sees them as atomic and derives no ordering from them).
// The scheduler's mailboxes (Fiber::wait, val, result, ... and tFiber) are relaxed atomics in
// this build so the emulation's own bookkeeping is never reported. Blocks are ordered with each
// other only on the same worker (block end -> next block). A shared-memory read of another
// thread's write with no barrier between them is then reported as a data race whatever the
// schedule; test/cuda/tsan_emu.cc runs the kernels this way.
//
// Guard zones (out-of-bounds accesses; env WK_EMU_GUARDS=0 turns them off): every emulated
// allocation (cudaMalloc here, hence every block of cuda/memory.cu's caching allocator, and the JS
// arrays the emulation addon stages through guardedAlloc) sits between two kGuardBytes zones
// filled with a 32-bit word that is a signalling NaN (0x7FA00000 | 20 bits that differ per block,
// so copying one block's guard into another's still shows). The caching allocator rounds requests
// up to a size class; it calls guardSetSize with the bytes actually asked for, so the slack between
// the request and the class is guard too and a write one element past a tensor is seen. After
// every launch (launch() below) the zones of every live block the kernel can reach (pointed into by
// a pointer argument or by a pointer inside a by-value struct argument) are compared with the
// pattern; a corrupted zone fails the launch with cudaErrorIllegalAddress (what a GPU reports for a bad
// address) and lastFailure() names the kernel, the buffer (its label, size, the kernel argument
// that pointed into it) and the byte offsets written, relative to the buffer's start; the zone is
// then re-armed so the next launch starts clean. Freeing a block checks it too (a corruption found
// there is reported by the next launch). A read past the end is not detected as such, but it reads
// the NaN pattern, which then shows in the result. Host code writing past a buffer between
// launches is caught at the next launch that uses the buffer, or when it is freed. Cost per
// launch: a map lookup per argument word and one pass over 2 x kGuardBytes (+ the class slack)
// per buffer the kernel reaches (not per live buffer: training keeps thousands alive).
#pragma once
#if defined(__CUDACC__)
#error "simt.h is the CPU emulation; nvcc builds use the real CUDA runtime"
#endif

#include <ucontext.h>

#if defined(__SANITIZE_THREAD__)
#define WK_EMU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WK_EMU_TSAN 1
#endif
#endif
#ifndef WK_EMU_TSAN
#define WK_EMU_TSAN 0
#endif
#if WK_EMU_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

// ---- qualifiers ---------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static thread_local
#define WK_DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(::wk_emu::dynamicShared())

// ---- vector types -------------------------------------------------------------------------
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) int2 {
  int x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
struct alignas(4) uchar4 {
  unsigned char x, y, z, w;
};
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline uchar4 make_uchar4(unsigned char x, unsigned char y, unsigned char z, unsigned char w) { return {x, y, z, w}; }

// ---- fake runtime types -------------------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoDevice = 100,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
struct CUstream_st;
typedef CUstream_st* cudaStream_t;

namespace wk_emu {

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(WK_EMU_UCONTEXT_ONLY)
#define WK_EMU_ASM_SWITCH 1
// wk_emu_switch(&saveSp, newSp): pushes rbp, rbx, r12-r15 on the current stack, stores rsp in
// *saveSp, loads newSp into rsp, pops the same registers and returns on the new stack. A weak
// hidden symbol, so every translation unit including this header may emit it.
extern "C" void wk_emu_switch(void** saveSp, void* newSp);
__asm__(
    ".pushsection .text\n"
    ".weak wk_emu_switch\n"
    ".hidden wk_emu_switch\n"
    ".type wk_emu_switch,@function\n"
    "wk_emu_switch:\n"
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n"
    ".size wk_emu_switch, .-wk_emu_switch\n"
    ".popsection\n");
#else
#define WK_EMU_ASM_SWITCH 0
#endif

// Scheduler <-> fiber mailbox accesses: plain in normal builds, relaxed atomics under TSan (they
// are the emulation's bookkeeping, not the kernel's memory, and must not create ordering).
template <class T>
inline T ld(const T& x) {
#if WK_EMU_TSAN
  T r;
  __atomic_load(&x, &r, __ATOMIC_RELAXED);
  return r;
#else
  return x;
#endif
}
template <class T>
inline void st(T& x, T v) {
#if WK_EMU_TSAN
  __atomic_store(&x, &v, __ATOMIC_RELAXED);
#else
  x = v;
#endif
}

enum class Schedule { Forward, Reverse, Random };
enum class Wait : uint8_t { Run, Block, Warp, Done };

struct Fiber {
  ucontext_t ctx;
  void* sp = nullptr;  // saved stack pointer (asm switch)
  uint3 tid;
  unsigned warp, lane;
  Wait wait;
  // warp-operation mailbox: what the lane brought, what it takes away
  unsigned mask;
  int src;
  uint64_t val, result;
  unsigned ballot, group;
  // ThreadSanitizer build only: the fiber's TSan context, its barrier and __syncwarp counts,
  // the parities of its group's __syncwarp objects (set by the scheduler), its sync objects.
  void* tsan = nullptr;
  unsigned epoch = 0, wcount = 0, wpars = 0;
  char wsync[2] = {0, 0};
};

struct Block {
  uint3 bid;
  dim3 bdim, gdim;
  std::vector<Fiber> fibers;
  ucontext_t sched;
  void* schedSp = nullptr;
  bool asmSwitch = false;
  unsigned char* dynSmem = nullptr;
  const std::function<void()>* body = nullptr;
  // ThreadSanitizer build only: the worker's own TSan context and the sync objects of
  // __syncthreads (alternating by barrier count) and of the block's start and end.
  void* schedTsan = nullptr;
  void* const* tsanFibers = nullptr;  // one TSan fiber per thread, lent by the worker
  char barrierSync[2] = {0, 0};
  char startSync = 0, endSync = 0;
};

inline thread_local Block* tBlock = nullptr;
inline thread_local Fiber* tFiber = nullptr;
inline Fiber* cur() { return ld(tFiber); }

struct Config {
  std::atomic<int> schedule{static_cast<int>(Schedule::Forward)};
  std::atomic<uint64_t> seed{1};
  std::atomic<int> workers{2};
  std::atomic<uint64_t> launches{0};
  std::mutex failureMutex;
  std::string failure;
  size_t stackBytes = 64 * 1024;
  bool asmSwitch = WK_EMU_ASM_SWITCH;
  Config() {
    if (const char* s = std::getenv("WK_EMU_SCHEDULE")) {
      std::string v(s);
      if (v.rfind("reverse", 0) == 0) schedule = static_cast<int>(Schedule::Reverse);
      if (v.rfind("random", 0) == 0) {
        schedule = static_cast<int>(Schedule::Random);
        auto c = v.find(':');
        if (c != std::string::npos) seed = std::strtoull(v.c_str() + c + 1, nullptr, 10);
      }
    }
    if (const char* w = std::getenv("WK_EMU_WORKERS")) workers = std::max(1, std::atoi(w));
    if (const char* f = std::getenv("WK_EMU_FIBERS"))
      if (std::string(f) == "ucontext") asmSwitch = false;
#if defined(__SANITIZE_ADDRESS__) || WK_EMU_TSAN
    stackBytes = 512 * 1024;
#endif
  }
};
inline Config& config() {
  static Config c;
  return c;
}
inline void setSchedule(Schedule s, uint64_t seed = 1) {
  config().schedule = static_cast<int>(s);
  config().seed = seed;
}
inline Schedule schedule() { return static_cast<Schedule>(config().schedule.load()); }
inline void setWorkers(int n) { config().workers = std::max(1, n); }
inline std::string lastFailure() {
  std::lock_guard<std::mutex> l(config().failureMutex);
  return config().failure;
}

inline thread_local cudaError_t tLastError = cudaSuccess;
inline void setError(cudaError_t e) {
  if (tLastError == cudaSuccess) tLastError = e;
}
inline void fail(const std::string& why) {
  {
    std::lock_guard<std::mutex> l(config().failureMutex);
    config().failure = why;
  }
}

inline unsigned char* dynamicShared() { return tBlock->dynSmem; }

// Whether fibers switch with the asm stack switch (else ucontext).
inline bool asmSwitch() { return config().asmSwitch; }

inline void yieldToScheduler() {
  Fiber* f = cur();
  Block* b = tBlock;
#if WK_EMU_ASM_SWITCH
  const bool asmSw = b->asmSwitch;
  void* const schedSp = b->schedSp;
#endif
#if WK_EMU_TSAN
  // (everything read above: after this call TSan counts accesses as the worker's)
  __tsan_switch_to_fiber(b->schedTsan, __tsan_switch_to_fiber_no_sync);
#endif
#if WK_EMU_ASM_SWITCH
  if (asmSw) {
    wk_emu_switch(&f->sp, schedSp);
    return;
  }
#endif
  swapcontext(&f->ctx, &b->sched);
}

inline void syncthreads() {
  Fiber* f = cur();
#if WK_EMU_TSAN
  void* obj = &tBlock->barrierSync[f->epoch & 1];
  __tsan_release(obj);
#endif
  st(f->wait, Wait::Block);
  yieldToScheduler();
#if WK_EMU_TSAN
  __tsan_acquire(obj);
  ++f->epoch;
#endif
}

// A warp-level operation: deposit `val`, wait for every lane of `mask` that has not returned,
// take the value of lane `src` (own value if src is outside the group or out of range).
// memorySync (__syncwarp): under TSan, the lanes of the group are ordered with each other.
inline uint64_t warpOp(unsigned mask, uint64_t val, int src, bool memorySync = false) {
  Fiber* f = cur();
#if WK_EMU_TSAN
  if (memorySync) __tsan_release(&f->wsync[ld(f->wcount) & 1]);
#endif
  st(f->mask, mask);
  st(f->val, val);
  st(f->src, src);
  st(f->wait, Wait::Warp);
  yieldToScheduler();
#if WK_EMU_TSAN
  if (memorySync) {
    const unsigned group = ld(f->group), pars = ld(f->wpars);
    const unsigned first = f->warp * 32;
    for (unsigned l = 0; l < 32; ++l)
      if ((group >> l) & 1u) __tsan_acquire(&tBlock->fibers[first + l].wsync[(pars >> l) & 1u]);
    st(f->wcount, ld(f->wcount) + 1);
  }
#endif
  return ld(f->result);
}

// ---- fiber stacks: reused across blocks and launches ----------------------------------------
class StackPool {
 public:
  char* acquire(size_t bytes) {
    std::lock_guard<std::mutex> l(m_);
    for (size_t i = 0; i < free_.size(); ++i)
      if (free_[i].second >= bytes) {
        char* p = free_[i].first;
        free_.erase(free_.begin() + static_cast<long>(i));
        return p;
      }
    char* p = static_cast<char*>(std::malloc(bytes));
    if (!p) std::abort();
    sizes_.emplace_back(p, bytes);
    return p;
  }
  void release(char* p) {
    std::lock_guard<std::mutex> l(m_);
    for (auto& s : sizes_)
      if (s.first == p) free_.push_back(s);
  }

 private:
  std::mutex m_;
  std::vector<std::pair<char*, size_t>> free_, sizes_;
};
inline StackPool& stacks() {
  static StackPool* p = new StackPool();  // never destroyed: workers may outlive static teardown
  return *p;
}

#if WK_EMU_TSAN
// fiberMain never returns (its fiber is abandoned at its last switch): not instrumented, so it
// leaves nothing on the TSan fiber's shadow stack and the fiber can be reused.
__attribute__((no_sanitize("thread")))
#endif
inline void fiberMain() {
#if WK_EMU_TSAN
  __tsan_acquire(&tBlock->startSync);
#endif
  (*tBlock->body)();
  Fiber* f = cur();
  Block* b = tBlock;
#if WK_EMU_TSAN
  // A returned thread counts as arrived at every later barrier: its writes are ordered before
  // whatever follows the next one, and before the end of the block. Then TSan is switched to
  // the worker before the last bookkeeping, which is the worker's from here on.
  __tsan_release(&b->barrierSync[f->epoch & 1]);
  __tsan_release(&b->endSync);
  __tsan_switch_to_fiber(b->schedTsan, __tsan_switch_to_fiber_no_sync);
#endif
  st(f->wait, Wait::Done);
  // never resumed
#if WK_EMU_ASM_SWITCH
  if (b->asmSwitch) wk_emu_switch(&f->sp, b->schedSp);
#endif
  swapcontext(&f->ctx, &b->sched);
}

#if WK_EMU_TSAN
// TSan fiber contexts, reused across blocks and launches (creating one maps its shadow stack).
struct TsanFiberPool {
  std::mutex m;
  std::vector<void*> free;
};
inline TsanFiberPool& tsanFiberPool() {
  static TsanFiberPool* p = new TsanFiberPool();
  return *p;
}
inline std::vector<void*> takeTsanFibers(size_t n) {
  std::vector<void*> v;
  {
    std::lock_guard<std::mutex> l(tsanFiberPool().m);
    auto& f = tsanFiberPool().free;
    while (v.size() < n && !f.empty()) {
      v.push_back(f.back());
      f.pop_back();
    }
  }
  while (v.size() < n) v.push_back(__tsan_create_fiber(0));
  return v;
}
// Fibers stuck in a deadlocked block still hold kernel frames: those are destroyed, not reused.
inline void giveTsanFibers(std::vector<void*>& v, bool reusable) {
  if (!reusable) {
    for (void* f : v) __tsan_destroy_fiber(f);
  } else {
    std::lock_guard<std::mutex> l(tsanFiberPool().m);
    tsanFiberPool().free.insert(tsanFiberPool().free.end(), v.begin(), v.end());
  }
  v.clear();
}
#endif

// Runs one block to completion on the calling OS thread. Returns false (with fail()) on a
// barrier deadlock.
inline bool runBlock(Block& b, char* stack, size_t stackBytes, uint64_t orderSeed) {
  const unsigned n = b.bdim.x * b.bdim.y * b.bdim.z;
  const unsigned nWarps = (n + 31) / 32;
  b.fibers.resize(n);
  tBlock = &b;
  b.asmSwitch = asmSwitch();
  for (unsigned i = 0; i < n; ++i) {
    Fiber& f = b.fibers[i];
    f.tid = uint3{i % b.bdim.x, (i / b.bdim.x) % b.bdim.y, i / (b.bdim.x * b.bdim.y)};
    f.warp = i / 32;
    f.lane = i % 32;
    st(f.wait, Wait::Run);
#if WK_EMU_TSAN
    f.epoch = 0;
    st(f.wcount, 0u);
    f.tsan = b.tsanFibers[i];
#endif
    char* lo = stack + static_cast<size_t>(i) * stackBytes;
#if WK_EMU_ASM_SWITCH
    if (b.asmSwitch) {
      // Initial frame, from the 16-byte aligned top down: a dummy return address (so fiberMain
      // starts with rsp = 8 mod 16, as after a call), fiberMain's address for the `ret`, six
      // zeroed callee-saved registers for the pops.
      uintptr_t top = (reinterpret_cast<uintptr_t>(lo) + stackBytes) & ~uintptr_t(15);
      void** p = reinterpret_cast<void**>(top);
      *--p = nullptr;
      *--p = reinterpret_cast<void*>(&fiberMain);
      for (int r = 0; r < 6; ++r) *--p = nullptr;
      f.sp = p;
      continue;
    }
#endif
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = lo;
    f.ctx.uc_stack.ss_size = stackBytes;
    f.ctx.uc_link = nullptr;
    makecontext(&f.ctx, fiberMain, 0);
  }
#if WK_EMU_TSAN
  b.schedTsan = __tsan_get_current_fiber();
  // The block's set-up (and every earlier block on this worker) comes before its threads: each
  // acquires this when it starts. The worker has taken no edge from this block's fibers yet.
  __tsan_release(&b.startSync);
#endif
  const Schedule sch = schedule();
  const bool asmSw = b.asmSwitch;
  (void)asmSw;
  std::mt19937_64 rng(orderSeed);
  std::vector<unsigned> run;
  run.reserve(n);
  for (;;) {
    run.clear();
    for (unsigned i = 0; i < n; ++i)
      if (ld(b.fibers[i].wait) == Wait::Run) run.push_back(i);
    if (!run.empty()) {
      if (sch == Schedule::Reverse) std::reverse(run.begin(), run.end());
      if (sch == Schedule::Random) std::shuffle(run.begin(), run.end(), rng);
      for (unsigned i : run) {
        Fiber* f = &b.fibers[i];
        st(tFiber, f);
#if WK_EMU_ASM_SWITCH
        void* const sp = f->sp;
#endif
#if WK_EMU_TSAN
        // (everything read above: after this call TSan counts accesses as the fiber's)
        __tsan_switch_to_fiber(f->tsan, __tsan_switch_to_fiber_no_sync);
#endif
#if WK_EMU_ASM_SWITCH
        if (asmSw) {
          wk_emu_switch(&b.schedSp, sp);
          continue;
        }
#endif
        swapcontext(&b.sched, &f->ctx);
      }
      continue;
    }
    // Nothing runnable: resolve warp operations whose groups are complete.
    bool released = false;
    unsigned done = 0, atBlock = 0;
    for (unsigned w = 0; w < nWarps; ++w) {
      unsigned live = 0;
      const unsigned first = w * 32, last = std::min(n, first + 32);
      for (unsigned i = first; i < last; ++i)
        if (ld(b.fibers[i].wait) != Wait::Done) live |= 1u << (i - first);
      for (unsigned i = first; i < last; ++i) {
        Fiber& f = b.fibers[i];
        if (ld(f.wait) != Wait::Warp) continue;
        const unsigned fmask = ld(f.mask);
        const unsigned group = fmask & live;
        bool complete = (group >> f.lane) & 1u;
        for (unsigned l = 0; l < 32 && complete; ++l)
          if ((group >> l) & 1u) {
            const Fiber& g = b.fibers[first + l];
            if (ld(g.wait) != Wait::Warp || ld(g.mask) != fmask) complete = false;
          }
        if (!complete) continue;
        unsigned ballot = 0, pars = 0;
        for (unsigned l = 0; l < 32; ++l)
          if ((group >> l) & 1u) {
            if (ld(b.fibers[first + l].val) != 0) ballot |= 1u << l;
            if (ld(b.fibers[first + l].wcount) & 1u) pars |= 1u << l;
          }
        for (unsigned l = 0; l < 32; ++l)
          if ((group >> l) & 1u) {
            Fiber& g = b.fibers[first + l];
            const int s = ld(g.src);
            const bool ok = s >= 0 && s < 32 && ((group >> s) & 1u);
            st(g.result, ok ? ld(b.fibers[first + static_cast<unsigned>(s)].val) : ld(g.val));
            st(g.ballot, ballot);
            st(g.group, group);
            st(g.wpars, pars);
          }
        for (unsigned l = 0; l < 32; ++l)
          if ((group >> l) & 1u) st(b.fibers[first + l].wait, Wait::Run);
        released = true;
      }
    }
    if (released) continue;
    for (unsigned i = 0; i < n; ++i) {
      const Wait w = ld(b.fibers[i].wait);
      if (w == Wait::Done) ++done;
      if (w == Wait::Block) ++atBlock;
    }
    if (done == n) break;
    if (atBlock + done == n) {
      for (auto& f : b.fibers)
        if (ld(f.wait) == Wait::Block) st(f.wait, Wait::Run);
      continue;
    }
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "barrier deadlock in block (%u,%u,%u): %u threads at __syncthreads, %u at a warp operation, %u "
                  "returned",
                  b.bid.x, b.bid.y, b.bid.z, atBlock, n - atBlock - done, done);
    fail(msg);
#if WK_EMU_TSAN
    __tsan_acquire(&b.endSync);
#endif
    tBlock = nullptr;
    st(tFiber, static_cast<Fiber*>(nullptr));
    return false;
  }
#if WK_EMU_TSAN
  // The worker takes the block-end edge from every returned thread: the next block on this
  // worker comes after this one.
  __tsan_acquire(&b.endSync);
#endif
  tBlock = nullptr;
  st(tFiber, static_cast<Fiber*>(nullptr));
  return true;
}


// ---- guard zones around emulated allocations (see the header) ------------------------------------
constexpr size_t kGuardBytes = 256;  // before and after every block; keeps 256-byte alignment

// A block's guard word: a signalling NaN as float (exponent all ones, quiet bit 22 clear, bit 21
// set) whose low 20 bits differ from block to block, so a kernel copying one buffer's guard into
// another's (out[n] = in[n]) still changes it.
inline uint32_t guardWord(uint64_t seed) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull;
  z ^= z >> 29;
  return 0x7FA00000u | static_cast<uint32_t>(z & 0xFFFFFu);
}
// The pattern byte at an address (so any aligned float inside a zone reads the word).
inline unsigned char guardByte(uint32_t w, uintptr_t a) { return static_cast<unsigned char>(w >> (8 * (a & 3))); }
inline void guardFill(uint32_t w, unsigned char* from, unsigned char* to) {
  const uint64_t w64 = (uint64_t(w) << 32) | w;
  while (from < to && (reinterpret_cast<uintptr_t>(from) & 7)) {
    *from = guardByte(w, reinterpret_cast<uintptr_t>(from));
    ++from;
  }
  for (; from + 8 <= to; from += 8) std::memcpy(from, &w64, 8);
  for (; from < to; ++from) *from = guardByte(w, reinterpret_cast<uintptr_t>(from));
}
// [first, last] corrupted bytes of [from, to), or false when the range holds the pattern.
inline bool guardScan(uint32_t w, const unsigned char* from, const unsigned char* to, const unsigned char** first,
                      const unsigned char** last) {
  const uint64_t w64 = (uint64_t(w) << 32) | w;
  const unsigned char* p = from;
  *first = *last = nullptr;
  auto bad = [&](const unsigned char* q) {
    if (!*first) *first = q;
    *last = q;
  };
  while (p < to && (reinterpret_cast<uintptr_t>(p) & 7)) {
    if (*p != guardByte(w, reinterpret_cast<uintptr_t>(p))) bad(p);
    ++p;
  }
  for (; p + 8 <= to; p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    if (v != w64)
      for (int k = 0; k < 8; ++k)
        if (p[k] != guardByte(w, reinterpret_cast<uintptr_t>(p + k))) bad(p + k);
  }
  for (; p < to; ++p)
    if (*p != guardByte(w, reinterpret_cast<uintptr_t>(p))) bad(p);
  return *first != nullptr;
}

struct GuardedBlock {
  size_t capacity = 0;  // usable bytes between the zones (the tail zone starts at `bytes`)
  size_t bytes = 0;     // bytes the owner asked for
  uint64_t id = 0;      // allocation number
  uint32_t word = 0;    // guard word (fixed for the block's life)
  bool live = true;     // false while parked in a cache (not checked at launches)
  std::string label;    // who owns it ("" -> "device buffer #id")
};
struct Guards {
  std::mutex m;
  std::map<uintptr_t, GuardedBlock> blocks;  // keyed by the user pointer
  uint64_t next = 1;
  std::string pending;  // a corruption found outside a launch (at free), reported by the next one
  bool enabled = true;
  Guards() {
    if (const char* g = std::getenv("WK_EMU_GUARDS")) enabled = std::string(g) != "0";
  }
};
inline Guards& guards() {
  static Guards* g = new Guards();  // never destroyed: finalizers may free blocks at exit
  return *g;
}
inline bool guardsEnabled() { return guards().enabled; }

inline std::string guardName(const GuardedBlock& b) {
  return b.label.empty() ? "device buffer #" + std::to_string(b.id) : b.label;
}

// Checks one block's zones (lock held); appends what it found to `out` and re-arms the zones.
// A word of a kernel's arguments that may point into a guarded block: a pointer argument, or an
// 8-byte word inside a by-value struct argument (LstmParams, ...).
struct ArgWord {
  uintptr_t value;
  int arg;      // kernel argument index
  bool direct;  // the argument itself is the pointer
};

// Checks one block's zones (lock held); appends what it found to `out` and re-arms the zones.
// `via`: the argument word that led to the block (nullptr at free).
inline bool guardCheckLocked(uintptr_t user, GuardedBlock& b, const ArgWord* via, std::string& out) {
  unsigned char* u = reinterpret_cast<unsigned char*>(user);
  const unsigned char *f1, *l1, *f2, *l2;
  const bool front = guardScan(b.word, u - kGuardBytes, u, &f1, &l1);
  const bool tail = guardScan(b.word, u + b.bytes, u + b.capacity + kGuardBytes, &f2, &l2);
  if (!front && !tail) return false;
  const char* first = reinterpret_cast<const char*>(front ? f1 : f2);
  const char* last = reinterpret_cast<const char*>(tail ? l2 : l1);
  const long long o1 = first - reinterpret_cast<const char*>(u), o2 = last - reinterpret_cast<const char*>(u);
  std::string arg;
  if (via)
    arg = std::string(via->direct ? ", kernel argument " : ", a pointer in kernel argument ") +
          std::to_string(via->arg) + " (counting from 0) points into it";
  if (!out.empty()) out += "; ";
  out += guardName(b) + " (" + std::to_string(b.bytes) + " bytes" + arg + ") was written at byte offset" +
         (o1 == o2 ? " " + std::to_string(o1) : "s " + std::to_string(o1) + ".." + std::to_string(o2)) + " (" +
         (front && tail ? "before its start and past its end"
          : front      ? "starting " + std::to_string(-o1) + " bytes before its start"
          : o1 == static_cast<long long>(b.bytes)
              ? std::string("right past its end")
              : "starting " + std::to_string(o1 - static_cast<long long>(b.bytes)) + " bytes past its end") +
         ")";
  guardFill(b.word, u - kGuardBytes, u);
  guardFill(b.word, u + b.bytes, u + b.capacity + kGuardBytes);
  return true;
}

// After a launch: the live blocks the kernel's argument words point into (or just before or past:
// a pointer one past its buffer), each once, and any corruption found at a free since the last
// launch. Returns the report ("" when every zone is intact). Cost: a map lookup per argument word
// and one scan of 2 x kGuardBytes + the class slack per block reached.
inline std::string guardCheckReachable(const std::vector<ArgWord>& words) {
  Guards& g = guards();
  std::lock_guard<std::mutex> l(g.m);
  std::string out;
  if (!g.pending.empty()) {
    out = g.pending;
    g.pending.clear();
  }
  if (g.blocks.empty()) return out;
  uintptr_t done[32];
  size_t nDone = 0;
  for (const ArgWord& w : words) {
    if (w.value < kGuardBytes) continue;
    // the block whose [user - guard, user + capacity + guard) holds the word
    auto it = g.blocks.upper_bound(w.value + kGuardBytes);
    if (it == g.blocks.begin()) continue;
    --it;
    GuardedBlock& b = it->second;
    if (!b.live || w.value >= it->first + b.capacity + kGuardBytes) continue;
    bool seen = false;
    for (size_t k = 0; k < nDone; ++k) seen = seen || done[k] == it->first;
    if (seen) continue;
    if (nDone < 32) done[nDone++] = it->first;
    guardCheckLocked(it->first, b, &w, out);
  }
  return out;
}

// Every live block (guardCheckReachable is what launches use).
inline std::string guardCheckAll() {
  Guards& g = guards();
  std::lock_guard<std::mutex> l(g.m);
  std::string out;
  for (auto& kv : g.blocks)
    if (kv.second.live) guardCheckLocked(kv.first, kv.second, nullptr, out);
  return out;
}

// A block of `bytes` usable bytes between two guard zones (user pointer 256-byte aligned).
inline void* guardedAlloc(size_t bytes, std::string label = std::string()) {
  const size_t cap = (bytes + 255) / 256 * 256;
  unsigned char* raw = static_cast<unsigned char*>(std::aligned_alloc(256, cap + 2 * kGuardBytes));
  if (!raw) return nullptr;
  unsigned char* u = raw + kGuardBytes;
  if (!guardsEnabled()) return u;
  Guards& g = guards();
  std::lock_guard<std::mutex> l(g.m);
  GuardedBlock& b = g.blocks[reinterpret_cast<uintptr_t>(u)];
  b.capacity = cap;
  b.bytes = bytes;
  b.id = g.next++;
  b.word = guardWord(b.id ^ reinterpret_cast<uintptr_t>(u));
  guardFill(b.word, raw, u);
  guardFill(b.word, u + bytes, u + cap + kGuardBytes);
  b.live = true;
  b.label = std::move(label);
  return u;
}
// Checks the zones (a corruption is kept for the next launch's report) and frees the block.
inline void guardedFree(void* p) {
  if (!p) return;
  if (guardsEnabled()) {
    Guards& g = guards();
    std::lock_guard<std::mutex> l(g.m);
    auto it = g.blocks.find(reinterpret_cast<uintptr_t>(p));
    if (it != g.blocks.end()) {
      std::string found;
      if (guardCheckLocked(it->first, it->second, nullptr, found))
        g.pending += (g.pending.empty() ? "" : "; ") + found + " (found when it was freed)";
      g.blocks.erase(it);
    }
  }
  std::free(static_cast<unsigned char*>(p) - kGuardBytes);
}
// The owner of a guarded block now uses `bytes` of it (<= its capacity): the rest is guard.
// bytes == SIZE_MAX parks the block (a cache holds it; checked again when it is handed out).
inline void guardSetSize(void* p, size_t bytes, bool live = true) {
  if (!p || !guardsEnabled()) return;
  Guards& g = guards();
  std::lock_guard<std::mutex> l(g.m);
  auto it = g.blocks.find(reinterpret_cast<uintptr_t>(p));
  if (it == g.blocks.end()) return;
  GuardedBlock& b = it->second;
  unsigned char* u = static_cast<unsigned char*>(p);
  if (!live) {
    std::string found;
    if (b.live && guardCheckLocked(it->first, b, nullptr, found))
      g.pending += (g.pending.empty() ? "" : "; ") + found + " (found when it was freed)";
    b.live = false;
    return;
  }
  bytes = std::min(bytes, b.capacity);
  b.bytes = bytes;
  b.live = true;
  b.id = g.next++;
  guardFill(b.word, u + bytes, u + b.capacity + kGuardBytes);
}

// The words of kernel argument k that may be device pointers: the argument if it is a pointer,
// every aligned 8-byte word of a by-value struct argument.
template <class T>
inline void collectArgWords(std::vector<ArgWord>& v, const T& x, int k) {
  if constexpr (std::is_pointer<T>::value) {
    v.push_back({reinterpret_cast<uintptr_t>(x), k, true});
  } else if constexpr (std::is_class<T>::value && std::is_trivially_copyable<T>::value &&
                       sizeof(T) >= sizeof(uintptr_t) && alignof(T) >= alignof(uintptr_t)) {
    for (size_t off = 0; off + sizeof(uintptr_t) <= sizeof(T); off += sizeof(uintptr_t)) {
      uintptr_t w;
      std::memcpy(&w, reinterpret_cast<const char*>(&x) + off, sizeof w);
      v.push_back({w, k, false});
    }
  }
}

inline bool validLaunch(dim3 g, dim3 b, size_t smem, const char* name) {
  const unsigned long long threads = 1ull * b.x * b.y * b.z;
  char msg[256];
  if (g.x == 0 || g.y == 0 || g.z == 0 || b.x == 0 || b.y == 0 || b.z == 0 || threads > 1024 || b.z > 64 ||
      g.y > 65535 || g.z > 65535 || g.x > 0x7fffffffu || smem > 227 * 1024) {
    std::snprintf(msg, sizeof msg, "%s: invalid launch configuration grid (%u,%u,%u) block (%u,%u,%u) smem %zu", name,
                  g.x, g.y, g.z, b.x, b.y, b.z, smem);
    fail(msg);
    return false;
  }
  return true;
}

inline void runGrid(const char* name, dim3 g, dim3 bdim, size_t smem, const std::function<void()>& body) {
  if (!validLaunch(g, bdim, smem, name)) {
    setError(cudaErrorInvalidConfiguration);
    return;
  }
  Config& c = config();
  const uint64_t launch = c.launches.fetch_add(1);
  const uint64_t seed = c.seed.load();
  const unsigned long long nBlocks = 1ull * g.x * g.y * g.z;
  const unsigned nThreads = bdim.x * bdim.y * bdim.z;
  const size_t stackBytes = c.stackBytes;
  std::atomic<unsigned long long> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&]() {
    char* stack = stacks().acquire(stackBytes * nThreads);
    std::vector<unsigned char> dyn(smem + 16);
    unsigned char* dynAligned =
        reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(dyn.data()) + 15) & ~uintptr_t(15));
    Block b;
    b.bdim = bdim;
    b.gdim = g;
    b.body = &body;
    b.dynSmem = dynAligned;
#if WK_EMU_TSAN
    std::vector<void*> tsanFibers = takeTsanFibers(nThreads);
    b.tsanFibers = tsanFibers.data();
    bool reusable = true;
#endif
    for (;;) {
      if (failed.load()) break;
      const unsigned long long k = next.fetch_add(1);
      if (k >= nBlocks) break;
      b.bid = uint3{static_cast<unsigned>(k % g.x), static_cast<unsigned>((k / g.x) % g.y),
                    static_cast<unsigned>(k / (1ull * g.x * g.y))};
      if (smem) std::memset(dynAligned, 0xFF, smem);
      const uint64_t orderSeed = (seed * 0x9E3779B97F4A7C15ull) ^ (launch * 0xBF58476D1CE4E5B9ull) ^ (k + 1);
      if (!runBlock(b, stack, stackBytes, orderSeed)) {
        failed = true;
#if WK_EMU_TSAN
        reusable = false;
#endif
      }
    }
#if WK_EMU_TSAN
    giveTsanFibers(tsanFibers, reusable);
#endif
    stacks().release(stack);
  };
  const int nWorkers = static_cast<int>(std::min<unsigned long long>(nBlocks, static_cast<unsigned>(c.workers.load())));
  std::vector<std::thread> extra;
  for (int i = 1; i < nWorkers; ++i) extra.emplace_back(worker);
  worker();
  for (auto& t : extra) t.join();
  if (failed) setError(cudaErrorLaunchFailure);
}

template <class... P, class... A>
void launch(const char* name, dim3 g, dim3 b, size_t smem, cudaStream_t, void (*kernel)(P...), A&&... a) {
  static_assert(sizeof...(P) == sizeof...(A), "WK_LAUNCH: wrong number of kernel arguments");
  const std::tuple<std::decay_t<P>...> args(static_cast<std::decay_t<P>>(std::forward<A>(a))...);
  // Each CUDA thread gets its own copy of the parameters (kernels may modify them).
  const std::function<void()> body = [&]() {
    std::tuple<std::decay_t<P>...> mine = args;
    std::apply(kernel, mine);
  };
  runGrid(name, g, b, smem, body);
  if (guardsEnabled()) {
    std::vector<ArgWord> words;
    words.reserve(2 * sizeof...(P));
    int k = 0;
    std::apply([&](const auto&... x) { (collectArgWords(words, x, k++), ...); }, args);
    const std::string bad = guardCheckReachable(words);
    if (!bad.empty()) {
      fail(std::string(name) + ": out-of-bounds write caught by the emulation's guard zones: " + bad);
      tLastError = cudaErrorIllegalAddress;  // replaces a launch failure: this is the first cause to fix
    }
  }
}

template <class T>
uint64_t toBits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of an unsupported type");
  uint64_t u = 0;
  std::memcpy(&u, &v, sizeof(T));
  return u;
}
template <class T>
T fromBits(uint64_t u) {
  T v;
  std::memcpy(&v, &u, sizeof(T));
  return v;
}

}  // namespace wk_emu

#define WK_LAUNCH(kernel, grid, block, smem, stream, ...) \
  ::wk_emu::launch(#kernel, dim3(grid), dim3(block), (smem), (stream), kernel, __VA_ARGS__)

// ---- built-in variables -------------------------------------------------------------------
#define threadIdx (::wk_emu::cur()->tid)
#define blockIdx (::wk_emu::tBlock->bid)
#define blockDim (::wk_emu::tBlock->bdim)
#define gridDim (::wk_emu::tBlock->gdim)
constexpr int warpSize = 32;

// ---- barriers, warp operations --------------------------------------------------------------
inline void __syncthreads() { ::wk_emu::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::wk_emu::warpOp(mask, 0, -1, true); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() {}

template <class T>
inline T __shfl_sync(unsigned mask, T v, int srcLane, int width = 32) {
  const int lane = static_cast<int>(::wk_emu::cur()->lane);
  const int base = lane & ~(width - 1);
  return ::wk_emu::fromBits<T>(::wk_emu::warpOp(mask, ::wk_emu::toBits(v), base + (srcLane & (width - 1))));
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = static_cast<int>(::wk_emu::cur()->lane);
  const int src = (lane & (width - 1)) + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
  return ::wk_emu::fromBits<T>(::wk_emu::warpOp(mask, ::wk_emu::toBits(v), src));
}
template <class T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = static_cast<int>(::wk_emu::cur()->lane);
  const int src = (lane & (width - 1)) >= static_cast<int>(delta) ? lane - static_cast<int>(delta) : lane;
  return ::wk_emu::fromBits<T>(::wk_emu::warpOp(mask, ::wk_emu::toBits(v), src));
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T v, int laneMask, int width = 32) {
  const int lane = static_cast<int>(::wk_emu::cur()->lane);
  int src = lane ^ laneMask;
  if ((src & ~(width - 1)) != (lane & ~(width - 1))) src = lane;
  return ::wk_emu::fromBits<T>(::wk_emu::warpOp(mask, ::wk_emu::toBits(v), src));
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  ::wk_emu::warpOp(mask, pred != 0, -1);
  return ::wk_emu::ld(::wk_emu::cur()->ballot);
}
inline int __any_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) != 0; }
inline int __all_sync(unsigned mask, int pred) {
  const unsigned b = __ballot_sync(mask, pred);
  return b == ::wk_emu::ld(::wk_emu::cur()->group);  // every lane that took part voted true
}
inline unsigned __activemask() {
  unsigned m = 0;
  const ::wk_emu::Block* blk = ::wk_emu::tBlock;
  const unsigned first = ::wk_emu::cur()->warp * 32;
  for (unsigned l = 0; l < 32; ++l)
    if (first + l < blk->fibers.size() && ::wk_emu::ld(blk->fibers[first + l].wait) != ::wk_emu::Wait::Done)
      m |= 1u << l;
  return m;
}

// ---- atomics (real ones: blocks run concurrently on worker threads) -------------------------
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
template <class F, class U>
inline F wkEmuAtomicFloatOp(F* p, F v, F (*op)(F, F)) {
  U* q = reinterpret_cast<U*>(p);
  U old = __atomic_load_n(q, __ATOMIC_RELAXED), want;
  do {
    F o;
    std::memcpy(&o, &old, sizeof(F));
    F n = op(o, v);
    std::memcpy(&want, &n, sizeof(F));
  } while (!__atomic_compare_exchange_n(q, &old, want, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  F o;
  std::memcpy(&o, &old, sizeof(F));
  return o;
}
inline float atomicAdd(float* p, float v) {
  return wkEmuAtomicFloatOp<float, uint32_t>(p, v, [](float a, float b) { return a + b; });
}
inline double atomicAdd(double* p, double v) {
  return wkEmuAtomicFloatOp<double, uint64_t>(p, v, [](double a, double b) { return a + b; });
}
inline int atomicSub(int* p, int v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicSub(unsigned* p, unsigned v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
template <class T>
inline T wkEmuAtomicMax(T* p, T v) {
  T old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (old < v && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
template <class T>
inline T wkEmuAtomicMin(T* p, T v) {
  T old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (old > v && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
inline int atomicMax(int* p, int v) { return wkEmuAtomicMax(p, v); }
inline unsigned atomicMax(unsigned* p, unsigned v) { return wkEmuAtomicMax(p, v); }
inline int atomicMin(int* p, int v) { return wkEmuAtomicMin(p, v); }
inline unsigned atomicMin(unsigned* p, unsigned v) { return wkEmuAtomicMin(p, v); }
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicExch(unsigned* p, unsigned v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline float atomicExch(float* p, float v) {
  return wkEmuAtomicFloatOp<float, uint32_t>(p, v, [](float, float b) { return b; });
}
template <class T>
inline T wkEmuAtomicCAS(T* p, T compare, T val) {
  __atomic_compare_exchange_n(p, &compare, val, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
inline int atomicCAS(int* p, int c, int v) { return wkEmuAtomicCAS(p, c, v); }
inline unsigned atomicCAS(unsigned* p, unsigned c, unsigned v) { return wkEmuAtomicCAS(p, c, v); }
inline unsigned long long atomicCAS(unsigned long long* p, unsigned long long c, unsigned long long v) {
  return wkEmuAtomicCAS(p, c, v);
}

// ---- intrinsics ---------------------------------------------------------------------------
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline void sincospi(double x, double* s, double* c) {
  *s = std::sin(x * 3.141592653589793);
  *c = std::cos(x * 3.141592653589793);
}
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline unsigned __float_as_uint(float f) { return ::wk_emu::fromBits<unsigned>(::wk_emu::toBits(f)); }
inline float __uint_as_float(unsigned u) { return ::wk_emu::fromBits<float>(::wk_emu::toBits(u)); }
inline int __float_as_int(float f) { return ::wk_emu::fromBits<int>(::wk_emu::toBits(f)); }
inline float __int_as_float(int u) { return ::wk_emu::fromBits<float>(::wk_emu::toBits(u)); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
template <class T>
inline T __ldg(const T* p) {
  return *p;
}

// ---- runtime fake -------------------------------------------------------------------------
inline cudaError_t cudaGetLastError() {
  cudaError_t e = ::wk_emu::tLastError;
  ::wk_emu::tLastError = cudaSuccess;
  return e;
}
inline cudaError_t cudaPeekAtLastError() { return ::wk_emu::tLastError; }
inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}
inline const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = ::wk_emu::guardedAlloc(bytes);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
template <class T>
inline cudaError_t cudaMalloc(T** p, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
inline cudaError_t cudaFree(void* p) {
  ::wk_emu::guardedFree(p);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) {
  if (n) std::memmove(d, s, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind k, cudaStream_t = nullptr) {
  return cudaMemcpy(d, s, n, k);
}
inline cudaError_t cudaMemset(void* d, int v, size_t n) {
  if (n) std::memset(d, v, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* d, int v, size_t n, cudaStream_t = nullptr) { return cudaMemset(d, v, n); }
inline cudaError_t cudaStreamCreate(cudaStream_t* s) {
  *s = nullptr;
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* n) {
  *n = 0;
  return cudaErrorNoDevice;
}
struct cudaDeviceProp {
  char name[256];
  int major, minor;
  size_t totalGlobalMem;
};
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp*, int) { return cudaErrorNoDevice; }
inline cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 0;
  return cudaSuccess;
}
inline cudaError_t cudaDriverGetVersion(int* v) {
  *v = 0;
  return cudaSuccess;
}
template <class K>
inline cudaError_t cudaFuncSetAttribute(K, cudaFuncAttribute, int) {
  return cudaSuccess;
}
