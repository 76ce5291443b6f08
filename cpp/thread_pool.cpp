// Persistent worker threads woken per parallel region. Workers spin briefly before sleeping on
// a condition variable: kernels run back to back from the training loop, and a futex wake costs
// more than many small kernels.
//
// v2: the parts of a region are claimed, not assigned. The caller and the workers take part
// indices from one atomic word (region number | parts | next part) until none is left, and the
// caller waits only for parts that a thread has actually started. On an oversubscribed machine
// (more runnable threads than cores) a worker that is not scheduled no longer stalls every
// region: the caller runs its parts itself. Which thread runs a part never changes what the part
// computes (fixed ranges, fn(begin, end, part) as before), so results stay independent of the
// thread count and of the scheduling. A part is still run by exactly one thread, and a thread may
// now run several parts of a region one after the other.
#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace wk {
namespace {

// The claim word: region number (upper 32 bits), parts (16), next unclaimed part (16).
constexpr uint64_t kPartBits = 16;
constexpr uint64_t kPartMask = (uint64_t(1) << kPartBits) - 1;
inline uint64_t regionOf(uint64_t w) { return w >> 32; }
inline int partsOf(uint64_t w) { return static_cast<int>((w >> kPartBits) & kPartMask); }
inline int nextOf(uint64_t w) { return static_cast<int>(w & kPartMask); }

class ThreadPool {
 public:
  ThreadPool() {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("WORLDKIT_NUM_THREADS")) {
      int v = std::atoi(env);
      if (v > 0) n = v;
    }
    resize(std::max(1, n));
  }
  ~ThreadPool() { stopWorkers(); }

  int size() const { return size_; }

  void resize(int n) {
    n = std::max(1, std::min(n, 256));
    std::lock_guard<std::mutex> run(runMutex_);
    stopWorkers();
    size_ = n;
    stop_ = false;
    // Workers start from the current region number, read here rather than in the new thread: a
    // region launched before a worker first runs must still count as new to it.
    uint64_t start = regionOf(claim_.load(std::memory_order_acquire));
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, start] { workerLoop(start); });
  }

  void run(size_t n, size_t grain, const std::function<void(size_t, size_t, int)>& fn) {
    if (n == 0) return;
    grain = std::max<size_t>(grain, 1);
    size_t maxParts = (n + grain - 1) / grain;
    int parts = static_cast<int>(std::min<size_t>(maxParts, static_cast<size_t>(size_)));
    if (parts <= 1) {
      fn(0, n, 0);
      return;
    }
    // One region at a time: a kernel called from inside a region runs serially instead.
    std::unique_lock<std::mutex> run(runMutex_, std::try_to_lock);
    if (!run.owns_lock() || insideRegion_) {
      fn(0, n, 0);
      return;
    }
    // The region's description is written before the claim word that publishes it (release) and
    // read by a thread only after it claimed a part of this region (acquire); it stays valid until
    // every claimed part is done, which this call waits for.
    fn_ = &fn;
    n_ = n;
    parts_ = parts;
    done_.store(0, std::memory_order_relaxed);
    uint64_t region;
    {
      std::lock_guard<std::mutex> lk(mutex_);
      region = (regionOf(claim_.load(std::memory_order_relaxed)) + 1) & 0xffffffffu;
      claim_.store((region << 32) | (static_cast<uint64_t>(parts) << kPartBits), std::memory_order_release);
    }
    cv_.notify_all();
    insideRegion_ = true;
    int mine = 0;
    for (int part; (part = claimPart(region)) >= 0; ++mine) runPart(part);
    insideRegion_ = false;
    // Wait only for the parts other threads started; they are running, so spin.
    const int others = parts - mine;
    for (unsigned spin = 0; done_.load(std::memory_order_acquire) != others; ++spin) {
      if (spin > 4096) std::this_thread::yield();  // oversubscribed machine: let the worker run
#if defined(__x86_64__)
      else __builtin_ia32_pause();
#endif
    }
    fn_ = nullptr;
  }

 private:
  // Takes the next part of `region` and returns it, or -1 when the region has no part left (or is
  // no longer the current one).
  int claimPart(uint64_t region) {
    uint64_t w = claim_.load(std::memory_order_acquire);
    for (;;) {
      if (regionOf(w) != region || nextOf(w) >= partsOf(w)) return -1;
      if (claim_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return nextOf(w);
    }
  }

  void runPart(int part) {
    size_t begin = n_ * static_cast<size_t>(part) / static_cast<size_t>(parts_);
    size_t end = n_ * static_cast<size_t>(part + 1) / static_cast<size_t>(parts_);
    if (begin < end) (*fn_)(begin, end, part);
  }

  void workerLoop(uint64_t seen) {
    for (;;) {
      uint64_t region = seen;
      for (int spin = 0; spin < 20000; ++spin) {
        region = regionOf(claim_.load(std::memory_order_acquire));
        if (region != seen || stop_.load(std::memory_order_acquire)) break;
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
      }
      if (region == seen) {
        std::unique_lock<std::mutex> lk(mutex_);
        cv_.wait(lk, [&] { return regionOf(claim_.load(std::memory_order_acquire)) != seen || stop_.load(); });
        region = regionOf(claim_.load(std::memory_order_acquire));
      }
      if (stop_.load(std::memory_order_acquire)) return;
      seen = region;
      // Parts of this region while any is left; a region that ended meanwhile yields none.
      for (int part; (part = claimPart(region)) >= 0;) {
        runPart(part);
        done_.fetch_add(1, std::memory_order_acq_rel);
      }
    }
  }

  void stopWorkers() {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  int size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex runMutex_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<uint64_t> claim_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> done_{0};
  const std::function<void(size_t, size_t, int)>* fn_ = nullptr;
  size_t n_ = 0;
  int parts_ = 0;
  bool insideRegion_ = false;
};

ThreadPool& pool() {
  static ThreadPool p;
  return p;
}

}  // namespace

int numThreads() { return pool().size(); }
void setNumThreads(int n) { pool().resize(n); }
void parallelFor(size_t n, size_t grain, const std::function<void(size_t, size_t, int)>& fn) { pool().run(n, grain, fn); }

}  // namespace wk
