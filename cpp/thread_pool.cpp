// Persistent worker threads woken per parallel region. Workers spin briefly before sleeping on
// a condition variable: kernels run back to back from the training loop, and a futex wake costs
// more than many small kernels.
#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace wk {
namespace {

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
    // Workers start from the current generation, read here rather than in the new thread: a
    // region launched before a worker first runs must still count as new to it.
    uint64_t start = generation_.load(std::memory_order_acquire);
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i, start] { workerLoop(i, start); });
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
    // One region at a time: a kernel called from inside a worker runs serially instead.
    std::unique_lock<std::mutex> run(runMutex_, std::try_to_lock);
    if (!run.owns_lock() || insideRegion_) {
      fn(0, n, 0);
      return;
    }
    fn_ = &fn;
    n_ = n;
    parts_ = parts;
    // Every worker acknowledges every region (idle ones too), so none can lag into the next.
    pending_.store(size_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    insideRegion_ = true;
    runPart(0);
    insideRegion_ = false;
    // Wait for the others; they finish at about the same time, so spin.
    for (unsigned spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
      if (spin > 4096) std::this_thread::yield();  // oversubscribed machine: let the worker run
#if defined(__x86_64__)
      else __builtin_ia32_pause();
#endif
    }
    fn_ = nullptr;
  }

 private:
  void runPart(int part) {
    size_t begin = n_ * static_cast<size_t>(part) / static_cast<size_t>(parts_);
    size_t end = n_ * static_cast<size_t>(part + 1) / static_cast<size_t>(parts_);
    if (begin < end) (*fn_)(begin, end, part);
  }

  void workerLoop(int index, uint64_t seen) {
    for (;;) {
      uint64_t gen = 0;
      for (int spin = 0; spin < 20000; ++spin) {
        gen = generation_.load(std::memory_order_acquire);
        if (gen != seen || stop_.load(std::memory_order_acquire)) break;
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
      }
      if (gen == seen) {
        std::unique_lock<std::mutex> lk(mutex_);
        cv_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(); });
        gen = generation_.load(std::memory_order_acquire);
      }
      if (stop_.load(std::memory_order_acquire)) return;
      seen = gen;
      if (index < parts_) runPart(index);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
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
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> pending_{0};
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
