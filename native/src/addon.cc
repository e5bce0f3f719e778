// N-API glue: each function takes the Float32Arrays JavaScript owns and runs a kernel on
// their memory directly. Shapes are checked against buffer lengths here, once per call,
// so a wrong call throws a TypeError instead of reading out of bounds.
#include <napi.h>

#include <string>

#if defined(__linux__)
#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#endif

#include "kernels.h"
#include "pool.h"

namespace {

struct Span {
  float* data = nullptr;
  size_t length = 0;
};

bool fail(const Napi::Env& env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

bool floats(const Napi::CallbackInfo& info, size_t i, const char* name, Span& out, bool nullable = false) {
  const Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) {
    out = Span{};
    return true;
  }
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    return fail(info.Env(), std::string(name) + ": expected a Float32Array");
  }
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  out = Span{a.Data(), a.ElementLength()};
  return true;
}

bool integer(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t& out) {
  if (!info[i].IsNumber()) return fail(info.Env(), std::string(name) + ": expected a number");
  const double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 2147483647.0) || d != (double)(int64_t)d) {
    return fail(info.Env(), std::string(name) + ": expected a non-negative int32");
  }
  out = (int64_t)d;
  return true;
}

double number(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
bool boolean(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

bool fits(const Napi::Env& env, const char* name, const Span& s, int64_t need) {
  if ((int64_t)s.length < need) {
    return fail(env, std::string(name) + ": expected at least " + std::to_string(need) + " values, received " +
                         std::to_string(s.length));
  }
  return true;
}

// matmul(A, transA, B, transB, C, m, n, k, beta)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Span A, B, C;
  int64_t m, n, k;
  if (!floats(info, 0, "a", A) || !floats(info, 2, "b", B) || !floats(info, 4, "out", C) || !integer(info, 5, "m", m) ||
      !integer(info, 6, "n", n) || !integer(info, 7, "k", k))
    return info.Env().Undefined();
  const Napi::Env env = info.Env();
  if (!fits(env, "a", A, m * k) || !fits(env, "b", B, k * n) || !fits(env, "out", C, m * n)) return env.Undefined();
  aek::gemm(boolean(info, 1), boolean(info, 3), (int)m, (int)n, (int)k, A.data, B.data, C.data, (float)number(info, 8));
  return env.Undefined();
}

// matmulBiasActivation(A, transA, B, transB, C, m, n, k, bias, act)
Napi::Value MatmulBiasActivation(const Napi::CallbackInfo& info) {
  Span A, B, C, bias;
  int64_t m, n, k, act;
  if (!floats(info, 0, "a", A) || !floats(info, 2, "b", B) || !floats(info, 4, "out", C) || !integer(info, 5, "m", m) ||
      !integer(info, 6, "n", n) || !integer(info, 7, "k", k) || !floats(info, 8, "bias", bias) || !integer(info, 9, "act", act))
    return info.Env().Undefined();
  const Napi::Env env = info.Env();
  if (!fits(env, "a", A, m * k) || !fits(env, "b", B, k * n) || !fits(env, "out", C, m * n) || !fits(env, "bias", bias, n))
    return env.Undefined();
  aek::gemm_bias_activation(boolean(info, 1), boolean(info, 3), (int)m, (int)n, (int)k, A.data, B.data, C.data, bias.data, (int)act);
  return env.Undefined();
}

// activationBackwardSumRows(grad, y, rows, cols, act, out, accumulate)
Napi::Value ActivationBackwardSumRows(const Napi::CallbackInfo& info) {
  Span grad, y, out;
  int64_t rows, cols, act;
  if (!floats(info, 0, "grad", grad) || !floats(info, 1, "y", y) || !integer(info, 2, "rows", rows) ||
      !integer(info, 3, "cols", cols) || !integer(info, 4, "act", act) || !floats(info, 5, "out", out))
    return info.Env().Undefined();
  const Napi::Env env = info.Env();
  if (!fits(env, "grad", grad, rows * cols) || !fits(env, "y", y, rows * cols) || !fits(env, "out", out, cols)) return env.Undefined();
  aek::activation_backward_sum_rows(grad.data, y.data, (int)rows, (int)cols, (int)act, out.data, boolean(info, 6));
  return env.Undefined();
}

// biasActivation(out, rows, cols, bias, act)
Napi::Value BiasActivation(const Napi::CallbackInfo& info) {
  Span out, bias;
  int64_t rows, cols, act;
  if (!floats(info, 0, "out", out) || !integer(info, 1, "rows", rows) || !integer(info, 2, "cols", cols) ||
      !floats(info, 3, "bias", bias) || !integer(info, 4, "act", act))
    return info.Env().Undefined();
  if (!fits(info.Env(), "out", out, rows * cols) || !fits(info.Env(), "bias", bias, cols)) return info.Env().Undefined();
  aek::bias_activation(out.data, (int)rows, (int)cols, bias.data, (int)act);
  return info.Env().Undefined();
}

// activationBackward(grad, y, n, act)
Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  Span grad, y;
  int64_t n, act;
  if (!floats(info, 0, "grad", grad) || !floats(info, 1, "y", y) || !integer(info, 2, "n", n) ||
      !integer(info, 3, "act", act))
    return info.Env().Undefined();
  if (!fits(info.Env(), "grad", grad, n) || !fits(info.Env(), "y", y, n)) return info.Env().Undefined();
  aek::activation_backward(grad.data, y.data, (size_t)n, (int)act);
  return info.Env().Undefined();
}

// sumRows(m, rows, cols, out, accumulate)
Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Span m, out;
  int64_t rows, cols;
  if (!floats(info, 0, "m", m) || !integer(info, 1, "rows", rows) || !integer(info, 2, "cols", cols) ||
      !floats(info, 3, "out", out))
    return info.Env().Undefined();
  if (!fits(info.Env(), "m", m, rows * cols) || !fits(info.Env(), "out", out, cols)) return info.Env().Undefined();
  aek::sum_rows(m.data, (int)rows, (int)cols, out.data, boolean(info, 4));
  return info.Env().Undefined();
}

// loss(kind, y, t, n, grad|null, scale, wrtLogit) -> sum
Napi::Value Loss(const Napi::CallbackInfo& info) {
  Span y, t, grad;
  int64_t kind, n;
  if (!integer(info, 0, "kind", kind) || !floats(info, 1, "yhat", y) || !floats(info, 2, "target", t) ||
      !integer(info, 3, "n", n) || !floats(info, 4, "grad", grad, true))
    return info.Env().Undefined();
  if (!fits(info.Env(), "yhat", y, n) || !fits(info.Env(), "target", t, n)) return info.Env().Undefined();
  if (grad.data && !fits(info.Env(), "grad", grad, n)) return info.Env().Undefined();
  const double sum = aek::loss((int)kind, y.data, t.data, (size_t)n, grad.data, number(info, 5), boolean(info, 6));
  return Napi::Number::New(info.Env(), sum);
}

// mseBackward(yhat, target, rows, cols, grad, scale, act, biasGrad, accumulate) -> Σ (ŷ − x)²
Napi::Value MseBackward(const Napi::CallbackInfo& info) {
  Span y, t, grad, bias;
  int64_t rows, cols, act;
  if (!floats(info, 0, "yhat", y) || !floats(info, 1, "target", t) || !integer(info, 2, "rows", rows) ||
      !integer(info, 3, "cols", cols) || !floats(info, 4, "grad", grad) || !integer(info, 6, "act", act) ||
      !floats(info, 7, "biasGrad", bias))
    return info.Env().Undefined();
  const Napi::Env env = info.Env();
  if (!fits(env, "yhat", y, rows * cols) || !fits(env, "target", t, rows * cols) || !fits(env, "grad", grad, rows * cols) ||
      !fits(env, "biasGrad", bias, cols))
    return env.Undefined();
  const double sum = aek::mse_backward(y.data, t.data, (int)rows, (int)cols, grad.data, number(info, 5), (int)act, bias.data,
                                       boolean(info, 8));
  return Napi::Number::New(env, sum);
}

// denseMseBackward(a, b, transB, m, n, k, bias, act, target, grad, scale, biasGrad, accumulate) -> Σ (ŷ − x)²
Napi::Value DenseMseBackward(const Napi::CallbackInfo& info) {
  Span A, B, bias, t, grad, bg;
  int64_t m, n, k, act;
  if (!floats(info, 0, "a", A) || !floats(info, 1, "b", B) || !integer(info, 3, "m", m) || !integer(info, 4, "n", n) ||
      !integer(info, 5, "k", k) || !floats(info, 6, "bias", bias) || !integer(info, 7, "act", act) ||
      !floats(info, 8, "target", t) || !floats(info, 9, "grad", grad) || !floats(info, 11, "biasGrad", bg))
    return info.Env().Undefined();
  const Napi::Env env = info.Env();
  if (!fits(env, "a", A, m * k) || !fits(env, "b", B, k * n) || !fits(env, "bias", bias, n) || !fits(env, "target", t, m * n) ||
      !fits(env, "grad", grad, m * n) || !fits(env, "biasGrad", bg, n))
    return env.Undefined();
  const double sum = aek::dense_mse_backward(boolean(info, 2), (int)m, (int)n, (int)k, A.data, B.data, bias.data, (int)act,
                                             t.data, grad.data, number(info, 10), bg.data, boolean(info, 12));
  return Napi::Number::New(env, sum);
}

// gatherRows(src, cols, indices, start, count, out)
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Span src, out;
  int64_t cols, start, count;
  if (!floats(info, 0, "src", src) || !integer(info, 1, "cols", cols) || !integer(info, 3, "start", start) ||
      !integer(info, 4, "count", count) || !floats(info, 5, "out", out))
    return info.Env().Undefined();
  const Napi::Env env = info.Env();
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    fail(env, "indices: expected a Uint32Array");
    return env.Undefined();
  }
  Napi::Uint32Array idx = info[2].As<Napi::Uint32Array>();
  if (!fits(env, "out", out, count * cols)) return env.Undefined();
  if ((int64_t)idx.ElementLength() < start + count) {
    fail(env, "indices: expected at least start + count values");
    return env.Undefined();
  }
  const int64_t rows = cols > 0 ? (int64_t)src.length / cols : 0;
  for (int64_t r = 0; r < count; r++) {
    if ((int64_t)idx.Data()[start + r] >= rows) {
      fail(env, "indices: expected row numbers below " + std::to_string(rows));
      return env.Undefined();
    }
  }
  aek::gather_rows(src.data, (int)cols, idx.Data(), (size_t)start, (size_t)count, out.data);
  return env.Undefined();
}

// dropout(x, out, n, p, scale, seed)
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  Span x, out;
  int64_t n;
  if (!floats(info, 0, "x", x) || !floats(info, 1, "out", out) || !integer(info, 2, "n", n)) return info.Env().Undefined();
  if (!fits(info.Env(), "x", x, n) || !fits(info.Env(), "out", out, n)) return info.Env().Undefined();
  const double seed = number(info, 5);
  aek::dropout(x.data, out.data, (size_t)n, number(info, 3), number(info, 4), (uint32_t)seed);
  return info.Env().Undefined();
}

// adam(p, g, m, v, lr, beta1, beta2, eps, weightDecay, step) -> finite
Napi::Value Adam(const Napi::CallbackInfo& info) {
  Span p, g, m, v;
  if (!floats(info, 0, "param", p) || !floats(info, 1, "grad", g) || !floats(info, 2, "m", m) ||
      !floats(info, 3, "v", v))
    return info.Env().Undefined();
  const int64_t n = (int64_t)p.length;
  if (!fits(info.Env(), "grad", g, n) || !fits(info.Env(), "m", m, n) || !fits(info.Env(), "v", v, n))
    return info.Env().Undefined();
  const bool ok = aek::adam(p.data, g.data, m.data, v.data, (size_t)n, number(info, 4), number(info, 5),
                            number(info, 6), number(info, 7), number(info, 8), number(info, 9));
  return Napi::Boolean::New(info.Env(), ok);
}

// sgd(p, g, buf, lr, momentum, dampening, nesterov, weightDecay, first) -> finite
Napi::Value Sgd(const Napi::CallbackInfo& info) {
  Span p, g, b;
  if (!floats(info, 0, "param", p) || !floats(info, 1, "grad", g) || !floats(info, 2, "velocity", b))
    return info.Env().Undefined();
  const int64_t n = (int64_t)p.length;
  if (!fits(info.Env(), "grad", g, n) || !fits(info.Env(), "velocity", b, n)) return info.Env().Undefined();
  const bool ok = aek::sgd(p.data, g.data, b.data, (size_t)n, number(info, 3), number(info, 4), number(info, 5),
                           boolean(info, 6), number(info, 7), boolean(info, 8));
  return Napi::Boolean::New(info.Env(), ok);
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int64_t n;
  if (!integer(info, 0, "threads", n)) return info.Env().Undefined();
  aek::set_blas_threads((int)n);
  return Napi::Number::New(info.Env(), aek::threads());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("blas", aek::blas_name());
  o.Set("threads", aek::threads());
  o.Set("blasThreads", aek::blas_threads());
  o.Set("coretype", aek::blas_core());
  o.Set("maxThreads", aek::MAX_THREADS);
  return o;
}

// Unnamed files for atomic saves (io/atomic.ts): a file opened with O_TMPFILE has no name
// until linkat gives it one, so a process killed (SIGKILL) while writing leaves nothing in the
// folder. Each returns a non-negative result or -errno; the caller falls back to a named temp
// file where the kernel or file system lacks O_TMPFILE (EOPNOTSUPP, EISDIR, EINVAL).
Napi::Value OpenUnnamed(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) return fail(info.Env(), "dir: expected a string"), info.Env().Undefined();
#if defined(__linux__) && defined(O_TMPFILE)
  const std::string dir = info[0].As<Napi::String>().Utf8Value();
  const int fd = open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  return Napi::Number::New(info.Env(), fd >= 0 ? fd : -errno);
#else
  return Napi::Number::New(info.Env(), -95);  // EOPNOTSUPP
#endif
}

Napi::Value LinkUnnamed(const Napi::CallbackInfo& info) {
  int64_t fd;
  if (!integer(info, 0, "fd", fd)) return info.Env().Undefined();
  if (!info[1].IsString()) return fail(info.Env(), "path: expected a string"), info.Env().Undefined();
#if defined(__linux__) && defined(O_TMPFILE)
  const std::string path = info[1].As<Napi::String>().Utf8Value();
  char proc[64];
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", (int)fd);
  const int r = linkat(AT_FDCWD, proc, AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW);
  return Napi::Number::New(info.Env(), r == 0 ? 0 : -errno);
#else
  return Napi::Number::New(info.Env(), -95);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("biasActivation", Napi::Function::New(env, BiasActivation));
  exports.Set("matmulBiasActivation", Napi::Function::New(env, MatmulBiasActivation));
  exports.Set("denseMseBackward", Napi::Function::New(env, DenseMseBackward));
  exports.Set("mseBackward", Napi::Function::New(env, MseBackward));
  exports.Set("activationBackwardSumRows", Napi::Function::New(env, ActivationBackwardSumRows));
  exports.Set("activationBackward", Napi::Function::New(env, ActivationBackward));
  exports.Set("sumRows", Napi::Function::New(env, SumRows));
  exports.Set("loss", Napi::Function::New(env, Loss));
  exports.Set("gatherRows", Napi::Function::New(env, GatherRows));
  exports.Set("dropout", Napi::Function::New(env, Dropout));
  exports.Set("adam", Napi::Function::New(env, Adam));
  exports.Set("sgd", Napi::Function::New(env, Sgd));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("openUnnamed", Napi::Function::New(env, OpenUnnamed));
  exports.Set("linkUnnamed", Napi::Function::New(env, LinkUnnamed));
  return exports;
}

}  // namespace

NODE_API_MODULE(aekit_native, Init)
