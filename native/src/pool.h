// N-way parallelism for every kernel, GEMM included. The calling thread does the first part of
// a job while helper threads do the others. BLAS itself runs single-threaded inside each part,
// so no other threads compete for the cores.
//
// Between jobs the helpers spin for a short while (a training step issues jobs microseconds
// apart, and waking a sleeping thread costs more than most jobs), then sleep, so an idle
// process uses no CPU.
#pragma once
#include <cstddef>
#include <functional>

namespace aek {

// The most threads the pool will run (a bound on helpers, not a default).
constexpr int MAX_THREADS = 256;

// Runs fn(begin, end) over [0, n) in parts. With one thread, or when n < grain, serially.
// Otherwise in up to threads() parts, each at least grain/2 long and split at fixed points
// (multiples of `align`), so the result never depends on timing. grain 0 means "always split".
void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn, size_t align = 16);

// How many parts parallel_for would use for this n, grain and align (1 = serial).
size_t parts_for(size_t n, size_t grain, size_t align);

// Threads used, 1..MAX_THREADS; set_threads clamps and returns the value in use.
int set_threads(int n);
int threads();

}  // namespace aek
