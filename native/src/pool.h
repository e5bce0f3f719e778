// Two-way parallelism for every kernel, GEMM included. The calling thread does the first
// part of a job while one helper thread does the second. BLAS itself runs single-threaded
// inside each part, so no other threads compete for the two cores.
//
// Between jobs the helper spins for a short while (a training step issues jobs microseconds
// apart, and waking a sleeping thread costs more than most jobs), then sleeps, so an idle
// process uses no CPU.
#pragma once
#include <cstddef>
#include <functional>

namespace aek {

// Runs fn(begin, end) over [0, n): serially when n < grain or with one thread, otherwise in
// two parts split at a fixed point (a multiple of `align`), so results never depend on timing.
void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn, size_t align = 16);

// Threads used (1 or 2).
void set_threads(int n);
int threads();

}  // namespace aek
