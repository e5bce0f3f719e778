// The native backend's kernels: plain C++ over float buffers owned by JavaScript.
// Matrix products go to CBLAS; the elementwise work is fused so each buffer is walked once.
#pragma once
#include <cstddef>
#include <cstdint>

namespace aek {

enum Act { ACT_TANH = 0, ACT_SIGMOID = 1, ACT_RELU = 2, ACT_LINEAR = 3 };
enum Loss { LOSS_MSE = 0, LOSS_BCE = 1 };

// C[m,n] = op(A)·op(B) + beta·C, row-major; A is [m,k] (or [k,m] when transA), B is [k,n] (or [n,k]).
void gemm(bool transA, bool transB, int m, int n, int k, const float* A, const float* B, float* C, float beta);

// out[i,j] = act(out[i,j] + bias[j])
void bias_activation(float* out, int rows, int cols, const float* bias, int act);

// grad[i] *= act'(y[i]), the derivative written through the activation's output.
void activation_backward(float* grad, const float* y, size_t n, int act);

// out[j] = Σ_i m[i,j] (+ out[j] when accumulate)
void sum_rows(const float* m, int rows, int cols, float* out, bool accumulate);

// Σ of the per-element loss; when grad is not null, grad = scale·∂loss/∂y (or ∂/∂logit for BCE after sigmoid).
double loss(int kind, const float* y, const float* t, size_t n, float* grad, double scale, bool wrtLogit);

// out row r = src row indices[start + r], for r < count.
void gather_rows(const float* src, int cols, const uint32_t* indices, size_t start, size_t count, float* out);

// out[i] = u_i < p ? 0 : x[i]·scale, u_i drawn from lane i mod 8 of eight xoshiro128** generators,
// lane k seeded as the library's Rng(seed + k).
void dropout(const float* x, float* out, size_t n, double p, double scale, uint32_t seed);

// torch.optim.Adam and torch.optim.SGD updates, in place. Return false when a parameter became NaN or Inf.
bool adam(float* p, const float* g, float* m, float* v, size_t n, double lr, double beta1, double beta2, double eps,
          double weightDecay, double step);
bool sgd(float* p, const float* g, float* buf, size_t n, double lr, double momentum, double dampening, bool nesterov,
         double weightDecay, bool first);

// Threads for every kernel (see pool.h), BLAS's own thread count (1: it runs inside our
// split), the BLAS build, and the core type (kernels) it picked at load.
void set_blas_threads(int n);
int blas_threads();
const char* blas_name();
const char* blas_core();

}  // namespace aek
