#include "kernels.h"
#include "pool.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#ifdef AEKIT_ACCELERATE
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
extern "C" {
// OpenBLAS extensions (declared in its cblas.h too; repeated so a plain CBLAS header also works).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}
#endif

// glibc 2.35+ ships vector variants of tanhf, expf and logf (libmvec). Declaring them as SIMD
// functions lets the compiler call 8 lanes at a time without -ffast-math, which would also
// remove the NaN/Inf checks training relies on.
#if defined(__x86_64__) && defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
extern "C" {
__attribute__((__simd__("notinbranch"))) float tanhf(float);
__attribute__((__simd__("notinbranch"))) float expf(float);
__attribute__((__simd__("notinbranch"))) float logf(float);
}
#define AEK_SIMD _Pragma("omp simd")
#else
#define AEK_SIMD
#endif
// Lets the compiler keep several partial sums for one reduction (a reassociation it may not do on its own).
#define AEK_PRAGMA(x) _Pragma(#x)
#define AEK_SIMD_REDUCE(var) AEK_PRAGMA(omp simd reduction(+ : var))

namespace aek {

// Below this many elements a kernel runs on one thread: a second thread costs more than it saves.
static constexpr size_t GRAIN = 1 << 15;

static void bias_activation_rows(float* __restrict out, size_t r0, size_t r1, int cols, const float* __restrict bias,
                                 int act);
static void bias_activation_block(float* out, int m0, int m1, int n0, int n1, int n, const float* bias, int act);
static bool narrow_product_fits(bool transA, int m, int n, int k);
static void narrow_product(bool transB, int m, int n, int k, const float* A, const float* B, float* C, float beta,
                           const float* bias, int act);

static void gemm_epilogue(bool transA, bool transB, int m, int n, int k, const float* A, const float* B, float* C, float beta,
                          const float* bias, int act) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    // BLAS leaves C·beta; make the k = 0 case explicit for every implementation.
    for (size_t i = 0; i < (size_t)m * n; i++) C[i] = beta == 0.0f ? 0.0f : C[i];
    if (bias) bias_activation_rows(C, 0, (size_t)m, n, bias, act);
    return;
  }
  if (narrow_product_fits(transA, m, n, k)) {
    narrow_product(transB, m, n, k, A, B, C, beta, bias, act);
    return;
  }
  const int lda = transA ? m : k;
  const int ldb = transB ? k : n;
  const auto part = [=](int m0, int m1, int n0, int n1, bool epilogue) {
    // The block C[m0:m1, n0:n1] needs rows m0..m1 of op(A) and columns n0..n1 of op(B).
    const float* a = transA ? A + m0 : A + (size_t)m0 * k;
    const float* b = transB ? B + (size_t)n0 * k : B + n0;
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m1 - m0, n1 - n0,
                k, 1.0f, a, lda, b, ldb, beta, C + (size_t)m0 * n + n0, n);
    if (epilogue && bias) {
      if (n0 == 0 && n1 == n) bias_activation_rows(C, (size_t)m0, (size_t)m1, n, bias, act);
      else bias_activation_block(C, m0, m1, n0, n1, n, bias, act);
    }
  };
  // Each thread multiplies one block of C, split along its longer side; a product too small
  // to be worth a second thread runs whole.
  const size_t never = (size_t)-1;
  const bool split = (size_t)m * n * k >= ((size_t)1 << 20);
  if (m >= n) {
    // Split by rows: each thread's block is whole rows, so the epilogue runs on it while it is in cache.
    parallel_for((size_t)m, split ? 0 : never, [&](size_t r0, size_t r1) { part((int)r0, (int)r1, 0, n, true); }, 8);
  } else {
    // Split by columns, the epilogue runs after, split by rows: on a block a few columns wide
    // (784 -> 30) it would run mostly in its scalar tail.
    parallel_for((size_t)n, split ? 0 : never, [&](size_t c0, size_t c1) { part(0, m, (int)c0, (int)c1, true); }, 16);
  }
}

void gemm(bool transA, bool transB, int m, int n, int k, const float* A, const float* B, float* C, float beta) {
  gemm_epilogue(transA, transB, m, n, k, A, B, C, beta, nullptr, 0);
}

void gemm_bias_activation(bool transA, bool transB, int m, int n, int k, const float* A, const float* B, float* C,
                          const float* bias, int act) {
  gemm_epilogue(transA, transB, m, n, k, A, B, C, 0.0f, bias, act);
}

// Each elementwise kernel is a range function over restrict pointers, so its loops vectorise;
// the public kernel hands the two halves of the range to the two threads.

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

// tanh as a rational function, p(x)/q(x) with p odd of degree 13 and q even of degree 6, on
// x clamped to ±7.9053 (where tanh rounds to ±1 in float); the coefficients are Eigen's
// (generic_fast_tanh_float). Checked here over every float against tanh in double: within
// 5 ulp, relative error below 3e-7; |x| < 4e-4 returns x (exact there in float); NaN stays
// NaN, ±inf gives ±1. Inline arithmetic vectorises on any x86 or ARM, unlike a call to libm:
// glibc's tanhf has no vector form before 2.35, and its vector form leaves the scalar tail of
// a short row (a 30-unit code) to the scalar tanhf.
static inline float tanh_fast(float a) {
  const float c = 7.90531110763549805f;
  const float x = std::min(std::max(a, -c), c);  // this order keeps NaN
  const float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = x * p;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  const float r = std::min(std::max(p / q, -1.0f), 1.0f);
  return std::fabs(a) < 0.0004f ? a : r;
}

static void bias_activation_rows(float* __restrict out, size_t r0, size_t r1, int cols, const float* __restrict bias,
                                 int act) {
  // The bias row by row, then the activation over the rows as one flat range, so a short row
  // (30 columns) is not left to a scalar tail each time.
  for (size_t i = r0; i < r1; i++) {
    float* __restrict row = out + i * cols;
    for (int j = 0; j < cols; j++) row[j] += bias[j];
  }
  float* __restrict v = out + r0 * cols;
  const size_t n = (r1 - r0) * (size_t)cols;
  switch (act) {
    case ACT_TANH:
      AEK_SIMD for (size_t i = 0; i < n; i++) v[i] = tanh_fast(v[i]);
      break;
    case ACT_SIGMOID:
      AEK_SIMD for (size_t i = 0; i < n; i++) v[i] = sigmoidf(v[i]);
      break;
    case ACT_RELU:
      for (size_t i = 0; i < n; i++) v[i] = std::max(v[i], 0.0f);
      break;
    default:
      break;
  }
}

static void bias_activation_block(float* out, int m0, int m1, int n0, int n1, int n, const float* bias, int act) {
  for (int i = m0; i < m1; i++) bias_activation_rows(out + (size_t)i * n + n0, 0, 1, n1 - n0, bias + n0, act);
}

void bias_activation(float* out, int rows, int cols, const float* bias, int act) {
  const size_t grainRows = cols > 0 ? (GRAIN + cols - 1) / cols : GRAIN;
  parallel_for((size_t)rows, grainRows, [=](size_t r0, size_t r1) { bias_activation_rows(out, r0, r1, cols, bias, act); }, 1);
}

static void activation_backward_range(float* __restrict g, const float* __restrict y, size_t i0, size_t i1, int act) {
  switch (act) {
    case ACT_TANH:
      for (size_t i = i0; i < i1; i++) g[i] *= 1.0f - y[i] * y[i];
      break;
    case ACT_SIGMOID:
      for (size_t i = i0; i < i1; i++) g[i] *= y[i] * (1.0f - y[i]);
      break;
    case ACT_RELU:
      for (size_t i = i0; i < i1; i++) g[i] = y[i] > 0.0f ? g[i] : 0.0f;
      break;
  }
}

void activation_backward(float* grad, const float* y, size_t n, int act) {
  if (act == ACT_LINEAR) return;
  parallel_for(n, GRAIN, [=](size_t i0, size_t i1) { activation_backward_range(grad, y, i0, i1, act); });
}

static void sum_rows_cols(const float* __restrict m, int rows, int cols, size_t j0, size_t j1, float* __restrict out,
                          bool accumulate) {
  // Double accumulators, as the reference backend uses, so a long column sum stays accurate.
  std::vector<double> acc(j1 - j0, 0.0);
  for (int i = 0; i < rows; i++) {
    const float* __restrict row = m + (size_t)i * cols + j0;
    for (size_t j = 0; j < j1 - j0; j++) acc[j] += row[j];
  }
  for (size_t j = j0; j < j1; j++) out[j] = (float)((accumulate ? (double)out[j] : 0.0) + acc[j - j0]);
}

void sum_rows(const float* m, int rows, int cols, float* out, bool accumulate) {
  // Each thread sums its own columns, all rows: no shared partial sums, the same result on any thread count.
  const size_t grainCols = rows > 0 ? (GRAIN + rows - 1) / rows : GRAIN;
  parallel_for((size_t)cols, grainCols, [=](size_t j0, size_t j1) { sum_rows_cols(m, rows, cols, j0, j1, out, accumulate); });
}

static void activation_backward_sum_cols(float* __restrict g, const float* __restrict y, int rows, int cols, size_t j0,
                                         size_t j1, int act, float* __restrict out, bool accumulate) {
  std::vector<double> acc(j1 - j0, 0.0);
  const size_t w = j1 - j0;
  for (int i = 0; i < rows; i++) {
    float* __restrict gr = g + (size_t)i * cols + j0;
    const float* __restrict yr = y + (size_t)i * cols + j0;
    activation_backward_range(gr, yr, 0, w, act);
    for (size_t j = 0; j < w; j++) acc[j] += gr[j];
  }
  for (size_t j = j0; j < j1; j++) out[j] = (float)((accumulate ? (double)out[j] : 0.0) + acc[j - j0]);
}

void activation_backward_sum_rows(float* grad, const float* y, int rows, int cols, int act, float* out, bool accumulate) {
  // As activation_backward then sum_rows, in one pass: each thread takes its own columns, all rows.
  const size_t grainCols = rows > 0 ? (GRAIN + rows - 1) / rows : GRAIN;
  parallel_for((size_t)cols, grainCols, [=](size_t j0, size_t j1) {
    activation_backward_sum_cols(grad, y, rows, cols, j0, j1, act, out, accumulate);
  });
}

// The output layer's backward pass for MSE in one sweep: the loss, its gradient through the
// activation, and the gradient's column sums for the bias. Rows go in fixed blocks of 16; each
// (block, column) sum of the gradient and of the squared error is kept in float (vector adds,
// no horizontal reductions), then all are added in order in double. Thread splits fall on
// multiples of 16 rows or columns, so no two threads share a sum, and the result is the same on
// any number of threads.
static constexpr int LB = 16;

static inline float activate(int act, float z) {
  switch (act) {
    case ACT_TANH: return tanh_fast(z);
    case ACT_SIGMOID: return sigmoidf(z);
    case ACT_RELU: return std::max(z, 0.0f);
    default: return z;
  }
}

// Rows [r0, r1) of one row block, columns [c0, c1), row stride n. Fused:
// `in` holds the product op(A)·op(B), ŷ = act(in + bias) is formed here and the gradient
// overwrites `in` (ŷ is not kept). Unfused: `in` is ŷ and the gradient goes to `out`.
template <int act, bool fused>
static void mse_backward_rows(const float* in, float* out, const float* __restrict t, const float* __restrict bias, int r0,
                              int r1, int c0, int c1, int n, float s2, float* __restrict colPart, float* __restrict lossPart) {
  for (int i = r0; i < r1; i++) {
    const float* zr = in + (size_t)i * n;
    float* gr = out + (size_t)i * n;
    const float* __restrict tr = t + (size_t)i * n;
    AEK_SIMD for (int j = c0; j < c1; j++) {
      const float y = fused ? activate(act, zr[j] + bias[j]) : zr[j];
      const float d = y - tr[j];
      // s·2·d as loss computes it, then the derivative written through the output, as
      // activation_backward does.
      float g = s2 * d;
      if (act == ACT_TANH) g *= 1.0f - y * y;
      else if (act == ACT_SIGMOID) g *= y * (1.0f - y);
      else if (act == ACT_RELU) g = y > 0.0f ? g : 0.0f;
      gr[j] = g;
      colPart[j] += g;
      lossPart[j] += d * d;
    }
  }
}

template <bool fused>
static void mse_backward_block(int act, const float* in, float* out, const float* t, const float* bias, int r0, int r1, int c0,
                               int c1, int n, float s2, float* colPart, float* lossPart) {
  switch (act) {
    case ACT_TANH: mse_backward_rows<ACT_TANH, fused>(in, out, t, bias, r0, r1, c0, c1, n, s2, colPart, lossPart); break;
    case ACT_SIGMOID: mse_backward_rows<ACT_SIGMOID, fused>(in, out, t, bias, r0, r1, c0, c1, n, s2, colPart, lossPart); break;
    case ACT_RELU: mse_backward_rows<ACT_RELU, fused>(in, out, t, bias, r0, r1, c0, c1, n, s2, colPart, lossPart); break;
    default: mse_backward_rows<ACT_LINEAR, fused>(in, out, t, bias, r0, r1, c0, c1, n, s2, colPart, lossPart);
  }
}

namespace {
// The per-(block, column) float sums, and their reduction in order.
struct MseParts {
  int rows, cols, blocks;
  std::vector<float> col, loss;
  MseParts(int r, int c) : rows(r), cols(c), blocks((r + LB - 1) / LB), col((size_t)blocks * c, 0.0f), loss((size_t)blocks * c, 0.0f) {}
  float* colOf(int i) { return col.data() + (size_t)(i / LB) * cols; }
  float* lossOf(int i) { return loss.data() + (size_t)(i / LB) * cols; }
  double finish(float* biasGrad, bool accumulate) {
    // Block by block, each column's running sum in double: the inner loop runs along the
    // columns (vector adds), and the order of the sums is fixed by the shape alone.
    std::vector<double> g((size_t)cols), l((size_t)cols, 0.0);
    for (int j = 0; j < cols; j++) g[j] = accumulate ? (double)biasGrad[j] : 0.0;
    for (int b = 0; b < blocks; b++) {
      const float* __restrict cb = col.data() + (size_t)b * cols;
      const float* __restrict lb = loss.data() + (size_t)b * cols;
      double* __restrict gg = g.data();
      double* __restrict ll = l.data();
      for (int j = 0; j < cols; j++) {
        gg[j] += cb[j];
        ll[j] += lb[j];
      }
    }
    double sum = 0.0;
    for (int j = 0; j < cols; j++) {
      biasGrad[j] = (float)g[j];
      sum += l[j];
    }
    return sum;
  }
};
}  // namespace

// Runs `rows_fn(r0, r1)` for each row block's share of [m0, m1).
template <typename F>
static void for_row_blocks(int m0, int m1, F rows_fn) {
  for (int r = m0; r < m1;) {
    const int e = std::min(m1, (r / LB + 1) * LB);
    rows_fn(r, e);
    r = e;
  }
}

double mse_backward(const float* y, const float* t, int rows, int cols, float* grad, double scale, int act, float* biasGrad,
                    bool accumulate) {
  MseParts parts(rows, cols);
  const float s2 = (float)scale * 2.0f;
  const size_t grainRows = std::max<size_t>(LB, GRAIN / std::max(cols, 1));
  parallel_for((size_t)rows, grainRows, [&](size_t m0, size_t m1) {
    for_row_blocks((int)m0, (int)m1, [&](int r0, int r1) {
      mse_backward_block<false>(act, y, grad, t, nullptr, r0, r1, 0, cols, cols, s2, parts.colOf(r0), parts.lossOf(r0));
    });
  }, LB);
  return parts.finish(biasGrad, accumulate);
}

// C rows [r0, r1) = A·Bt for a product with a short inner dimension (a decoder from a small
// code: 256x30 · 30x784): A [m,k] row-major, Bt [k,n] row-major. For such a k a BLAS spends
// about as long packing its operands as multiplying; this walks each output tile once, four
// rows by two vectors, with the sums over k held in registers. Each element is summed in
// the order of k whatever the split, so the result does not depend on the thread count.
// Written with the compiler's vector types, so it is AVX-512, AVX2 or NEON code as -march
// says.
#if defined(__AVX512F__)
static constexpr int SKV = 16;
#else
static constexpr int SKV = 8;
#endif
typedef float skvec __attribute__((vector_size(SKV * sizeof(float))));

static inline skvec skload(const float* p) {
  skvec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
static inline void skstore(float* p, skvec v) { std::memcpy(p, &v, sizeof v); }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define sk_in_register(v) __asm__("" : "+v"(v))
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define sk_in_register(v) __asm__("" : "+w"(v))
#else
#define sk_in_register(v) (void)0
#endif

// A buffer of the calling thread's, kept between calls, so a batch's transposed operand costs
// no allocation; helper threads only read it during the call.
static float* scratch(size_t n) {
  static thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// One tile: rows i..i+3 of C, V vectors wide from column j; the sums over k in registers.
template <int V>
static inline void small_k_tile(const float* __restrict A, const float* __restrict Bt, int k, int ldb, float* __restrict C,
                                int ldc, int i, int j) {
  const float* a[4] = {A + (size_t)i * k, A + (size_t)(i + 1) * k, A + (size_t)(i + 2) * k, A + (size_t)(i + 3) * k};
  skvec c[4][V] = {};
  for (int p = 0; p < k; p++) {
    skvec b[V];
    for (int v = 0; v < V; v++) {
      b[v] = skload(Bt + (size_t)p * ldb + j + v * SKV);
      // Keeps b in registers: folded into each multiply as a memory operand it is loaded
      // four times over, and the loads, not the multiplies, set the pace.
      sk_in_register(b[v]);
    }
    for (int r = 0; r < 4; r++)
      for (int v = 0; v < V; v++) c[r][v] += a[r][p] * b[v];
  }
  for (int r = 0; r < 4; r++)
    for (int v = 0; v < V; v++) skstore(C + (size_t)(i + r) * ldc + j + v * SKV, c[r][v]);
}

static void small_k_product(const float* __restrict A, const float* __restrict Bt, int k, int n, float* __restrict C,
                            int r0, int r1, int ldb = -1, int ldc = -1) {
  if (ldb < 0) ldb = n;
  if (ldc < 0) ldc = n;
  int i = r0;
  for (; i + 4 <= r1; i += 4) {
    int j = 0;
    for (; j + 2 * SKV <= n; j += 2 * SKV) small_k_tile<2>(A, Bt, k, ldb, C, ldc, i, j);
    for (; j + SKV <= n; j += SKV) small_k_tile<1>(A, Bt, k, ldb, C, ldc, i, j);
    for (; j < n; j++) {
      for (int r = 0; r < 4; r++) {
        float s = 0.0f;
        for (int p = 0; p < k; p++) s += A[(size_t)(i + r) * k + p] * Bt[(size_t)p * ldb + j];
        C[(size_t)(i + r) * ldc + j] = s;
      }
    }
  }
  for (; i < r1; i++) {
    const float* a = A + (size_t)i * k;
    int j = 0;
    for (; j + SKV <= n; j += SKV) {
      skvec c0 = {};
      for (int p = 0; p < k; p++) c0 += a[p] * skload(Bt + (size_t)p * ldb + j);
      skstore(C + (size_t)i * ldc + j, c0);
    }
    for (; j < n; j++) {
      float s = 0.0f;
      for (int p = 0; p < k; p++) s += a[p] * Bt[(size_t)p * ldb + j];
      C[(size_t)i * ldc + j] = s;
    }
  }
}

// A product with few output columns and a long inner dimension (an encoder to a small code,
// 256x784 · (30x784)ᵀ, or the gradient into it, 256x784 · 784x30). A BLAS packs A, the large
// operand, for the sake of n columns; here op(B) is laid out once as [k, n rounded up to a
// vector] and each thread runs small_k_product over its rows, four at a time, writing C and
// its bias and activation while the rows are in cache. Measured on one Zen 4 core for
// 256x784 · (30x784)ᵀ: 120 µs against OpenBLAS's 185 µs.
static bool narrow_product_fits(bool transA, int m, int n, int k) { return !transA && n <= 64 && k >= 128 && m >= 32; }

static void narrow_product(bool transB, int m, int n, int k, const float* A, const float* B, float* C, float beta,
                           const float* bias, int act) {
  const int np = (n + SKV - 1) / SKV * SKV;
  float* bt = scratch((size_t)k * np);
  if (transB) {
    // B is [n, k]: transposed in strips of 64 rows of bt, which stay in L1 while the n rows of B are read.
    for (int p0 = 0; p0 < k; p0 += 64) {
      const int p1 = std::min(k, p0 + 64);
      for (int j = 0; j < n; j++)
        for (int p = p0; p < p1; p++) bt[(size_t)p * np + j] = B[(size_t)j * k + p];
    }
  } else {
    for (int p = 0; p < k; p++) std::memcpy(bt + (size_t)p * np, B + (size_t)p * n, sizeof(float) * n);
  }
  for (int p = 0; p < k; p++) std::fill(bt + (size_t)p * np + n, bt + (size_t)p * np + np, 0.0f);
  const size_t never = (size_t)-1;
  const bool split = (size_t)m * n * k >= ((size_t)1 << 20);
  parallel_for((size_t)m, split ? 0 : never, [&](size_t r0, size_t r1) {
    float tmp[4 * 64];
    for (size_t i = r0; i < r1; i += 4) {
      const int rows = (int)std::min<size_t>(4, r1 - i);
      small_k_product(A + i * k, bt, k, np, tmp, 0, rows, np, np);
      for (int r = 0; r < rows; r++) {
        float* __restrict c = C + (i + r) * n;
        const float* __restrict t = tmp + r * np;
        if (beta == 0.0f) {
          for (int j = 0; j < n; j++) c[j] = t[j];
        } else {
          for (int j = 0; j < n; j++) c[j] = t[j] + beta * c[j];
        }
      }
    }
    if (bias) bias_activation_rows(C, r0, r1, n, bias, act);
  }, 8);
}

// Below this inner dimension the output layer's product is small_k_product's, above it the BLAS's.
static constexpr int SMALL_K = 64;

double dense_mse_backward(bool transB, int m, int n, int k, const float* A, const float* B, const float* bias, int act,
                          const float* t, float* grad, double scale, float* biasGrad, bool accumulate) {
  MseParts parts(m, n);
  const float s2 = (float)scale * 2.0f;
  if (k > 0 && k <= SMALL_K) {
    // op(B) as [k, n], then each thread takes whole 16-row blocks: four rows' product, then
    // their loss and gradient while the rows are in L1.
    const float* Bt = B;
    if (transB) {
      float* bt = scratch((size_t)k * n);
      for (int j = 0; j < n; j++)
        for (int p = 0; p < k; p++) bt[(size_t)p * n + j] = B[(size_t)j * k + p];
      Bt = bt;
    }
    const size_t grainRows = std::max<size_t>(LB, ((size_t)1 << 20) / ((size_t)n * k + 1));
    parallel_for((size_t)m, grainRows, [&](size_t m0, size_t m1) {
      for_row_blocks((int)m0, (int)m1, [&](int r0, int r1) {
        for (int i = r0; i < r1; i += 4) {
          const int e = std::min(r1, i + 4);
          small_k_product(A, Bt, k, n, grad, i, e);
          mse_backward_block<true>(act, grad, grad, t, bias, i, e, 0, n, n, s2, parts.colOf(r0), parts.lossOf(r0));
        }
      });
    }, LB);
    return parts.finish(biasGrad, accumulate);
  }
  const int lda = k;
  const int ldb = transB ? k : n;
  const auto part = [&](int m0, int m1, int n0, int n1) {
    if (k > 0) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m1 - m0, n1 - n0, k, 1.0f,
                  A + (size_t)m0 * k, lda, transB ? B + (size_t)n0 * k : B + n0, ldb, 0.0f, grad + (size_t)m0 * n + n0, n);
    } else {
      for (int i = m0; i < m1; i++) std::fill(grad + (size_t)i * n + n0, grad + (size_t)i * n + n1, 0.0f);
    }
    for_row_blocks(m0, m1, [&](int r0, int r1) {
      mse_backward_block<true>(act, grad, grad, t, bias, r0, r1, n0, n1, n, s2, parts.colOf(r0), parts.lossOf(r0));
    });
  };
  // Split as gemm splits, on multiples of 16 so the sums above stay with one thread each.
  const size_t never = (size_t)-1;
  const bool split = (size_t)m * n * std::max(k, 1) >= ((size_t)1 << 20);
  if (m >= n) {
    parallel_for((size_t)m, split ? 0 : never, [&](size_t r0, size_t r1) { part((int)r0, (int)r1, 0, n); }, LB);
  } else {
    parallel_for((size_t)n, split ? 0 : never, [&](size_t c0, size_t c1) { part(0, m, (int)c0, (int)c1); }, LB);
  }
  return parts.finish(biasGrad, accumulate);
}

// MSE in blocks of 512: each block summed in float, 8 lanes wide, the block sums then added
// in double in order. As accurate as a double loop, as fast as a float one, and the same on
// any number of threads.
static constexpr size_t MSE_BLOCK = 512;

static void mse_blocks(const float* __restrict y, const float* __restrict t, size_t n, float* __restrict grad, float s,
                       size_t b0, size_t b1, double* parts) {
  for (size_t b = b0; b < b1; b++) {
    const size_t start = b * MSE_BLOCK, end = std::min(n, start + MSE_BLOCK);
    float part = 0.0f;
    if (grad) {
      AEK_SIMD_REDUCE(part) for (size_t i = start; i < end; i++) {
        const float d = y[i] - t[i];
        grad[i] = s * 2.0f * d;
        part += d * d;
      }
    } else {
      AEK_SIMD_REDUCE(part) for (size_t i = start; i < end; i++) {
        const float d = y[i] - t[i];
        part += d * d;
      }
    }
    parts[b] = part;
  }
}

double loss(int kind, const float* y, const float* t, size_t n, float* grad, double scale, bool wrtLogit) {
  double sum = 0.0;
  const float s = (float)scale;
  if (kind == LOSS_MSE) {
    const size_t blocks = (n + MSE_BLOCK - 1) / MSE_BLOCK;
    std::vector<double> parts(blocks);
    parallel_for(blocks, GRAIN / MSE_BLOCK, [&](size_t b0, size_t b1) { mse_blocks(y, t, n, grad, s, b0, b1, parts.data()); }, 1);
    for (double p : parts) sum += p;
    return sum;
  }
  // BCE as nn.BCELoss: logs floored at -100, the gradient's denominator at 1e-12.
  for (size_t i = 0; i < n; i++) {
    const double a = std::max((double)logf(y[i]), -100.0);
    const double b = std::max((double)logf(1.0f - y[i]), -100.0);
    sum -= (double)t[i] * a + (1.0 - (double)t[i]) * b;
  }
  if (grad) {
    if (wrtLogit) {
      for (size_t i = 0; i < n; i++) grad[i] = s * (y[i] - t[i]);
    } else {
      for (size_t i = 0; i < n; i++) grad[i] = (float)(scale * ((double)y[i] - t[i]) / std::max((double)y[i] * (1.0 - y[i]), 1e-12));
    }
  }
  return sum;
}

void gather_rows(const float* src, int cols, const uint32_t* indices, size_t start, size_t count, float* out) {
  // Rows are scattered over the data set, so each copy waits on memory: two threads wait in parallel.
  const size_t grainRows = cols > 0 ? (GRAIN + cols - 1) / cols : GRAIN;
  parallel_for(count, grainRows, [=](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
      std::memcpy(out + r * cols, src + (size_t)indices[start + r] * cols, sizeof(float) * cols);
    }
  }, 1);
}

namespace {
// The library's Rng (src/core/rng.ts): xoshiro128** seeded through splitmix32. Kept
// bit-identical so a seed gives the same corruption on every backend.
struct Xoshiro128 {
  uint32_t s0, s1, s2, s3;
  explicit Xoshiro128(uint32_t seed) {
    uint32_t x = seed;
    auto next = [&x]() {
      x += 0x9e3779b9u;
      uint32_t z = x;
      z = (z ^ (z >> 16)) * 0x85ebca6bu;
      z = (z ^ (z >> 13)) * 0xc2b2ae35u;
      return z ^ (z >> 16);
    };
    s0 = next();
    s1 = next();
    s2 = next();
    s3 = next();
  }
  static uint32_t rotl(uint32_t v, int k) { return (v << k) | (v >> (32 - k)); }
  uint32_t operator()() {
    const uint32_t result = rotl(s1 * 5u, 7) * 9u;
    const uint32_t t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  }
};
}  // namespace

void dropout(const float* __restrict x, float* __restrict out, size_t n, double p, double scale, uint32_t seed) {
  // Eight independent generators, element i drawing from lane i mod 8 (lane k seeded with
  // seed + k), so the lanes advance side by side in one vector register instead of one long
  // dependency chain. The reference backend draws the same lanes in the same order.
  typedef uint32_t v8u __attribute__((vector_size(32)));
  v8u s0, s1, s2, s3;
  for (int k = 0; k < 8; k++) {
    Xoshiro128 g(seed + (uint32_t)k);
    s0[k] = g.s0, s1[k] = g.s1, s2[k] = g.s2, s3[k] = g.s3;
  }
  // u < p·2^32 for an integer u is u < ceil(p·2^32), kept in 64 bits (it may be 2^32).
  const uint64_t threshold = (uint64_t)std::ceil(p * 4294967296.0);
  // The reference multiplies in double and rounds once to float. When scale is itself a
  // float (2 for p = 0.5, 1 for a mask), a float multiply rounds the same exact product.
  const float scaleF = (float)scale;
  const bool exactInFloat = (double)scaleF == scale;
  // A random keep/drop is a branch no predictor can learn: compare and mask in vectors instead.
  typedef float v8f __attribute__((vector_size(32)));
  const bool dropAll = threshold > 0xffffffffull;
  const uint32_t thr = dropAll ? 0xffffffffu : (uint32_t)threshold;
  for (size_t i = 0; i < n; i += 8) {
    const v8u a = s1 * 5u;
    const v8u r = ((a << 7) | (a >> 25)) * 9u;
    const v8u t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >> 21);
    const size_t m = std::min<size_t>(8, n - i);
    if (exactInFloat && m == 8 && !dropAll) {
      v8f xv;
      std::memcpy(&xv, x + i, sizeof xv);
      const v8u keep = (v8u)(r >= thr);
      const v8f y = xv * scaleF;
      const v8u bits = (v8u)y & keep;
      std::memcpy(out + i, &bits, sizeof bits);
    } else {
      for (size_t k = 0; k < m; k++) {
        out[i + k] = dropAll || (uint64_t)r[k] < threshold ? 0.0f : (float)((double)x[i + k] * scale);
      }
    }
  }
}

static bool adam_range(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, size_t i0,
                       size_t i1, float b1, float b2, float c1, float c2, float wd, float e, float stepSize,
                       float invBc2Sqrt) {
  int bad = 0;
  for (size_t i = i0; i < i1; i++) {
    const float gi = g[i] + wd * p[i];
    const float mi = m[i] = b1 * m[i] + c1 * gi;
    const float vi = v[i] = b2 * v[i] + c2 * gi * gi;
    const float pi = p[i] = p[i] - stepSize * mi / (std::sqrt(vi) * invBc2Sqrt + e);
    bad |= !std::isfinite(pi);
  }
  return !bad;
}

bool adam(float* p, const float* g, float* m, float* v, size_t n, double lr, double beta1, double beta2, double eps,
          double weightDecay, double step) {
  // 1 - beta in double first: (1.0f - 0.999f) is off by 1e-5 relative, which a float32 update would keep.
  const float b1 = (float)beta1, b2 = (float)beta2, wd = (float)weightDecay, e = (float)eps;
  const float c1 = (float)(1.0 - beta1), c2 = (float)(1.0 - beta2);
  const float stepSize = (float)(lr / (1.0 - std::pow(beta1, step)));
  const float invBc2Sqrt = (float)(1.0 / std::sqrt(1.0 - std::pow(beta2, step)));
  std::atomic<bool> ok{true};
  // A dozen flops, a square root and a division per element: worth a second thread sooner.
  parallel_for(n, GRAIN / 8, [&](size_t i0, size_t i1) {
    if (!adam_range(p, g, m, v, i0, i1, b1, b2, c1, c2, wd, e, stepSize, invBc2Sqrt)) ok = false;
  });
  return ok;
}

static bool sgd_range(float* __restrict p, const float* __restrict g, float* __restrict buf, size_t i0, size_t i1, float mu,
                      float keep, bool nesterov, float wd, float l, bool first) {
  int bad = 0;
  for (size_t i = i0; i < i1; i++) {
    float gi = g[i] + wd * p[i];
    if (mu != 0.0f) {
      const float b = buf[i] = first ? gi : mu * buf[i] + keep * gi;
      gi = nesterov ? gi + mu * b : b;
    }
    const float pi = p[i] = p[i] - l * gi;
    bad |= !std::isfinite(pi);
  }
  return !bad;
}

bool sgd(float* p, const float* g, float* buf, size_t n, double lr, double momentum, double dampening, bool nesterov,
         double weightDecay, bool first) {
  const float mu = (float)momentum, keep = (float)(1.0 - dampening), wd = (float)weightDecay, l = (float)lr;
  std::atomic<bool> ok{true};
  parallel_for(n, GRAIN / 4, [&](size_t i0, size_t i1) {
    if (!sgd_range(p, g, buf, i0, i1, mu, keep, nesterov, wd, l, first)) ok = false;
  });
  return ok;
}

// Our pool's threads are the parallelism: BLAS runs single-threaded inside each part of a
// product, so no BLAS worker threads compete with them for the cores.
#ifdef AEKIT_ACCELERATE
void set_blas_threads(int n) {
  if (n > 0) set_threads(n);
}
int blas_threads() { return 1; }
const char* blas_name() { return "Accelerate"; }
const char* blas_core() { return "Accelerate"; }
#else
static const bool g_blas_single_threaded = [] {
  openblas_set_num_threads(1);
  return true;
}();
void set_blas_threads(int n) {
  if (n > 0) set_threads(n);
}
int blas_threads() { return g_blas_single_threaded ? openblas_get_num_threads() : 0; }
const char* blas_name() { return openblas_get_config(); }
const char* blas_core() { return openblas_get_corename(); }
#endif

}  // namespace aek
