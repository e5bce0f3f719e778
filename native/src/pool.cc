#include "pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpu_relax() { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpu_relax() { asm volatile("yield"); }
#else
static inline void cpu_relax() {}
#endif

namespace aek {
namespace {

// How long the helper keeps spinning for the next job before it sleeps.
constexpr auto SPIN_FOR = std::chrono::microseconds(2000);

// Waiting: a short busy spin first (the other thread is usually microseconds away), then
// yielding the core on every turn, so that on a machine shared with other processes a
// waiting thread hands its time slice over instead of burning it.
inline void backoff(int i) {
  if (i < 4096) cpu_relax();
  else std::this_thread::yield();
}

class Helper {
 public:
  Helper() : thread_([this] { loop(); }) {}

  void run(const std::function<void()>& job, const std::function<void()>& mine) {
    // One job at a time: callers on other threads (Node worker threads) queue here.
    std::lock_guard<std::mutex> caller(callers_);
    job_.store(&job, std::memory_order_relaxed);
    const uint64_t gen = posted_.load(std::memory_order_relaxed) + 1;
    posted_.store(gen, std::memory_order_release);
    {
      // Checked under the mutex the helper holds while it decides to sleep: with two bare
      // atomics (post, then read "sleeping"; set "sleeping", then read the post) both threads
      // can read the old value — a store-load reordering x86 allows — and the helper would
      // sleep through the job while this thread waits for it forever.
      std::lock_guard<std::mutex> lock(mutex_);
      if (sleeping_) wake_.notify_one();
    }
    mine();
    for (int i = 0; finished_.load(std::memory_order_acquire) != gen; i++) backoff(i);
  }

 private:
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      uint64_t gen = posted_.load(std::memory_order_acquire);
      if (gen == seen) {
        const auto until = std::chrono::steady_clock::now() + SPIN_FOR;
        for (int i = 0; (gen = posted_.load(std::memory_order_acquire)) == seen; i++) {
          backoff(i);
          if ((i & 1023) == 1023 && std::chrono::steady_clock::now() > until) {
            std::unique_lock<std::mutex> lock(mutex_);
            sleeping_ = true;
            wake_.wait(lock, [&] { return posted_.load(std::memory_order_acquire) != seen; });
            sleeping_ = false;
          }
        }
      }
      (*job_.load(std::memory_order_relaxed))();
      seen = gen;
      finished_.store(gen, std::memory_order_release);
    }
  }

  std::atomic<const std::function<void()>*> job_{nullptr};
  std::atomic<uint64_t> posted_{0}, finished_{0};
  bool sleeping_ = false;  // guarded by mutex_
  std::mutex mutex_, callers_;
  std::condition_variable wake_;
  std::thread thread_;
};

std::atomic<int> g_threads{(int)std::min(2u, std::max(1u, std::thread::hardware_concurrency()))};

Helper& helper() {
  // Created on first use and never destroyed: joining a thread from a static destructor while
  // an addon unloads can deadlock, and the process is ending anyway.
  static Helper* h = new Helper();
  return *h;
}

}  // namespace

void set_threads(int n) { g_threads = std::max(1, std::min(2, n)); }
int threads() { return g_threads; }

void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn, size_t align) {
  if (g_threads < 2 || n < grain || n < 2 * align) {
    fn(0, n);
    return;
  }
  size_t mid = n / 2;
  mid -= mid % align;
  const std::function<void()> second = [&] { fn(mid, n); };
  helper().run(second, [&] { fn(0, mid); });
}

}  // namespace aek
