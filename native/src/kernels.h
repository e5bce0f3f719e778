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

// C = act(op(A)·op(B) + bias): gemm with beta 0, then bias_activation on each thread's block
// while it is in that thread's cache.
void gemm_bias_activation(bool transA, bool transB, int m, int n, int k, const float* A, const float* B, float* C,
                          const float* bias, int act);

// out[i,j] = act(out[i,j] + bias[j])
void bias_activation(float* out, int rows, int cols, const float* bias, int act);

// grad[i] *= act'(y[i]), the derivative written through the activation's output.
void activation_backward(float* grad, const float* y, size_t n, int act);

// grad *= act'(y), then out[j] = Σ_i grad[i,j] (+ out[j] when accumulate), in one pass.
void activation_backward_sum_rows(float* grad, const float* y, int rows, int cols, int act, float* out, bool accumulate);

// The output layer's backward for MSE: grad = scale·2(y − t)·act'(y), biasGrad[j] = Σ_i grad[i,j]
// (+ biasGrad[j] when accumulate); returns Σ (y − t)². Equal to loss, activation_backward and
// sum_rows in turn, up to the order of the float sums.
double mse_backward(const float* y, const float* t, int rows, int cols, float* grad, double scale, int act, float* biasGrad,
                    bool accumulate);

// The output layer whole, forward and backward, for MSE: ŷ = act(A·op(B) + bias) with A [m,k],
// then as mse_backward with ŷ never stored: grad = scale·2(ŷ − t)·act'(ŷ) [m,n], biasGrad = Σ_i
// grad (+ biasGrad when accumulate); returns Σ (ŷ − t)².
double dense_mse_backward(bool transB, int m, int n, int k, const float* A, const float* B, const float* bias, int act,
                          const float* t, float* grad, double scale, float* biasGrad, bool accumulate);

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
