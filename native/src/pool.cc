#include "pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

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

  // Hands the job over; the caller goes on with its own part, then calls wait().
  void post(const std::function<void()>* job) {
    job_.store(job, std::memory_order_relaxed);
    const uint64_t gen = posted_.load(std::memory_order_relaxed) + 1;
    posted_.store(gen, std::memory_order_release);
    // Checked under the mutex the helper holds while it decides to sleep: with two bare
    // atomics (post, then read "sleeping"; set "sleeping", then read the post) both threads
    // can read the old value — a store-load reordering x86 allows — and the helper would
    // sleep through the job while this thread waits for it forever.
    std::lock_guard<std::mutex> lock(mutex_);
    if (sleeping_) wake_.notify_one();
  }

  void wait() {
    const uint64_t gen = posted_.load(std::memory_order_relaxed);
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
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

int default_threads() { return (int)std::min<unsigned>(MAX_THREADS, std::max(1u, std::thread::hardware_concurrency())); }

std::atomic<int> g_threads{default_threads()};
// One job at a time: callers on other threads (Node worker threads) queue here.
std::mutex g_callers;
// Helpers are created on first use and never destroyed: joining a thread from a static
// destructor while an addon unloads can deadlock, and the process is ending anyway.
std::vector<Helper*> g_helpers;  // guarded by g_callers

}  // namespace

int set_threads(int n) {
  g_threads = std::max(1, std::min(MAX_THREADS, n));
  return g_threads;
}
int threads() { return g_threads; }

size_t parts_for(size_t n, size_t grain, size_t align) {
  const size_t t = (size_t)g_threads.load();
  if (t < 2 || n < grain) return 1;
  size_t parts = grain == 0 ? t : std::min(t, std::max<size_t>(1, 2 * n / grain));
  if (align > 0) parts = std::min(parts, n / align);
  return std::max<size_t>(1, parts);
}

void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn, size_t align) {
  const size_t parts = parts_for(n, grain, align);
  if (parts < 2) {
    fn(0, n);
    return;
  }
  if (align == 0) align = 1;
  // Part p is [bound(p), bound(p+1)): equal in units of `align`, the remainder spread over the first parts.
  const size_t units = n / align, base = units / parts, extra = units % parts;
  const auto bound = [&](size_t p) { return p == parts ? n : (p * base + std::min(p, extra)) * align; };
  std::lock_guard<std::mutex> caller(g_callers);
  while (g_helpers.size() < parts - 1) g_helpers.push_back(new Helper());
  std::vector<std::function<void()>> jobs;
  jobs.reserve(parts - 1);
  for (size_t p = 1; p < parts; p++) {
    const size_t b = bound(p), e = bound(p + 1);
    jobs.emplace_back([&fn, b, e] { fn(b, e); });
  }
  for (size_t p = 1; p < parts; p++) g_helpers[p - 1]->post(&jobs[p - 1]);
  fn(0, bound(1));
  for (size_t p = 1; p < parts; p++) g_helpers[p - 1]->wait();
}

}  // namespace aek
