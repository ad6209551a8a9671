// Node-API addon: a table of at::Tensor (id -> tensor) and the ATen calls behind the tfjs kernels.
// The JS side (src/backend.ts) owns shapes and dtypes; every function here takes table ids and small
// integer/double parameters and returns new ids, so a kernel is one cheap native call.
#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace {

using at::Tensor;

// ---- tensor table ---------------------------------------------------------------------------------
// One table per JS thread (worker_threads load the addon once per isolate).
struct Table {
  std::vector<Tensor> slots;
  std::vector<int32_t> freeIds;
  int64_t live = 0;
};
thread_local Table table;
thread_local at::Device device(at::kCPU);

int32_t put(Tensor t) {
  int32_t id;
  if (!table.freeIds.empty()) {
    id = table.freeIds.back();
    table.freeIds.pop_back();
    table.slots[id] = std::move(t);
  } else {
    id = static_cast<int32_t>(table.slots.size());
    table.slots.push_back(std::move(t));
  }
  table.live++;
  return id;
}

const Tensor& get(int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= table.slots.size() || !table.slots[id].defined()) {
    throw std::runtime_error("tfjs-backend-torch: unknown tensor id " + std::to_string(id));
  }
  return table.slots[id];
}

enum DType { F32 = 0, I32 = 1, BOOL = 2 };

at::ScalarType scalarType(int code) {
  switch (code) {
    case F32: return at::kFloat;
    case I32: return at::kInt;
    case BOOL: return at::kBool;
  }
  throw std::runtime_error("tfjs-backend-torch: unsupported dtype code " + std::to_string(code));
}

// tfjs has no int64/float64: results ATen widens are narrowed back to what tfjs expects.
Tensor as(const Tensor& t, int dtype) {
  auto st = scalarType(dtype);
  return t.scalar_type() == st ? t : t.to(st);
}

// ---- argument helpers -----------------------------------------------------------------------------
int32_t I(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
double D(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
bool B(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }
const Tensor& T(const Napi::CallbackInfo& info, size_t i) { return get(I(info, i)); }
// Optional tensor argument: an id >= 0 or -1 for none.
c10::optional<Tensor> OT(const Napi::CallbackInfo& info, size_t i) {
  int32_t id = I(info, i);
  if (id < 0) return c10::nullopt;
  return get(id);
}
std::vector<int64_t> V(const Napi::CallbackInfo& info, size_t i) {
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) out[k] = arr.Get(k).As<Napi::Number>().Int64Value();
  return out;
}
std::vector<Tensor> TV(const Napi::CallbackInfo& info, size_t i) {
  auto arr = info[i].As<Napi::Array>();
  std::vector<Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) out.push_back(get(arr.Get(k).As<Napi::Number>().Int32Value()));
  return out;
}
Napi::Value Id(const Napi::CallbackInfo& info, Tensor t) { return Napi::Number::New(info.Env(), put(std::move(t))); }
Napi::Value Ids(const Napi::CallbackInfo& info, const std::vector<Tensor>& ts) {
  auto arr = Napi::Array::New(info.Env(), ts.size());
  for (size_t k = 0; k < ts.size(); k++) arr.Set(k, Napi::Number::New(info.Env(), put(ts[k])));
  return arr;
}

// ---- data in / out --------------------------------------------------------------------------------
Napi::Value FromData(const Napi::CallbackInfo& info) {
  auto ta = info[0].As<Napi::TypedArray>();
  auto shape = V(info, 1);
  int dtype = I(info, 2);
  auto st = scalarType(dtype);
  Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
  size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
  if (ta.ByteLength() != bytes) {
    throw std::runtime_error("tfjs-backend-torch: data has " + std::to_string(ta.ByteLength()) + " bytes, shape needs " +
                             std::to_string(bytes));
  }
  auto ab = ta.ArrayBuffer();
  if (bytes) std::memcpy(t.data_ptr(), static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset(), bytes);
  if (device.type() != at::kCPU) t = t.to(device);
  return Id(info, t);
}

Napi::Value ToTypedArray(Napi::Env env, const Tensor& cpu) {
  size_t n = cpu.numel();
  switch (cpu.scalar_type()) {
    case at::kFloat: {
      auto out = Napi::Float32Array::New(env, n);
      if (n) std::memcpy(out.Data(), cpu.data_ptr(), n * 4);
      return out;
    }
    case at::kInt: {
      auto out = Napi::Int32Array::New(env, n);
      if (n) std::memcpy(out.Data(), cpu.data_ptr(), n * 4);
      return out;
    }
    case at::kBool: {
      auto out = Napi::Uint8Array::New(env, n);
      if (n) std::memcpy(out.Data(), cpu.data_ptr(), n);
      return out;
    }
    default:
      throw std::runtime_error(std::string("tfjs-backend-torch: cannot read dtype ") + c10::toString(cpu.scalar_type()));
  }
}

Tensor hostCopy(const Tensor& t) { return t.to(at::kCPU).contiguous(); }

Napi::Value Read(const Napi::CallbackInfo& info) { return ToTypedArray(info.Env(), hostCopy(T(info, 0))); }

// Reads off an accelerator on a libuv thread so the event loop keeps running while the copy waits
// for queued kernels. On CPU the copy is immediate and done inline.
class ReadWorker : public Napi::AsyncWorker {
 public:
  ReadWorker(Napi::Env env, Tensor t) : Napi::AsyncWorker(env), t_(std::move(t)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      c10::InferenceMode guard;
      host_ = hostCopy(t_);
    } catch (const c10::Error& e) {
      SetError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(ToTypedArray(Env(), host_)); t_ = Tensor(); host_ = Tensor(); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Tensor t_, host_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value ReadAsync(const Napi::CallbackInfo& info) {
  const Tensor& t = T(info, 0);
  if (t.device().is_cpu()) {
    auto d = Napi::Promise::Deferred::New(info.Env());
    d.Resolve(ToTypedArray(info.Env(), hostCopy(t)));
    return d.Promise();
  }
  auto* w = new ReadWorker(info.Env(), t);
  auto p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  int32_t id = I(info, 0);
  get(id);
  table.slots[id] = Tensor();
  table.freeIds.push_back(id);
  table.live--;
  return info.Env().Undefined();
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  const Tensor& t = T(info, 0);
  auto arr = Napi::Array::New(info.Env(), t.dim());
  for (int64_t k = 0; k < t.dim(); k++) arr.Set(static_cast<uint32_t>(k), Napi::Number::New(info.Env(), t.size(k)));
  return arr;
}

Napi::Value DTypeOf(const Napi::CallbackInfo& info) {
  switch (T(info, 0).scalar_type()) {
    case at::kFloat: return Napi::Number::New(info.Env(), F32);
    case at::kInt: return Napi::Number::New(info.Env(), I32);
    case at::kBool: return Napi::Number::New(info.Env(), BOOL);
    default: return Napi::Number::New(info.Env(), -1);
  }
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  int64_t bytes = 0;
  for (auto& t : table.slots) {
    if (t.defined()) bytes += t.numel() * t.element_size();
  }
  o.Set("live", Napi::Number::New(info.Env(), static_cast<double>(table.live)));
  o.Set("slots", Napi::Number::New(info.Env(), static_cast<double>(table.slots.size())));
  o.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(bytes)));
  return o;
}

// ---- elementwise ----------------------------------------------------------------------------------
enum Unary {
  U_ABS, U_NEG, U_EXP, U_LOG, U_LOG1P, U_SQRT, U_RSQRT, U_SQUARE, U_TANH, U_SIGMOID, U_SOFTPLUS, U_RELU, U_RELU6,
  U_ELU, U_SELU, U_FLOOR, U_CEIL, U_ROUND, U_SIGN, U_STEP, U_LEAKYRELU, U_RECIPROCAL, U_SIN, U_COS, U_EXPM1, U_ERF,
  U_ISNAN, U_ISINF, U_ISFINITE, U_LOGICALNOT, U_ZEROSLIKE, U_ONESLIKE, U_IDENTITY, U_CLIP, U_TAN, U_ASIN, U_ACOS,
  U_ATAN, U_SINH, U_COSH, U_ASINH, U_ACOSH, U_ATANH
};

Tensor unaryOp(int op, const Tensor& x, double p1, double p2) {
  switch (op) {
    case U_ABS: return at::abs(x);
    case U_NEG: return at::neg(x);
    case U_EXP: return at::exp(x);
    case U_LOG: return at::log(x);
    case U_LOG1P: return at::log1p(x);
    case U_SQRT: return at::sqrt(x);
    case U_RSQRT: return at::rsqrt(x);
    case U_SQUARE: return at::mul(x, x);
    case U_TANH: return at::tanh(x);
    case U_SIGMOID: return at::sigmoid(x);
    case U_SOFTPLUS: return at::softplus(x, 1, 20);
    case U_RELU: return at::relu(x);
    case U_RELU6: return at::clamp(x, 0, 6);
    case U_ELU: return at::elu(x);
    case U_SELU: return at::selu(x);
    case U_FLOOR: return at::floor(x);
    case U_CEIL: return at::ceil(x);
    case U_ROUND: return at::round(x);
    case U_SIGN: return at::sign(x);
    case U_STEP: {
      // tfjs: x > 0 ? 1 : alpha, NaN stays NaN.
      auto one = at::where(at::gt(x, 0), at::ones({}, x.options()), at::full({}, p1, x.options()));
      return x.is_floating_point() ? at::where(at::isnan(x), x, one) : one;
    }
    case U_LEAKYRELU: return x.is_floating_point() ? at::leaky_relu(x, p1) : at::where(at::gt(x, 0), x, at::mul(x, p1)).to(x.scalar_type());
    case U_RECIPROCAL: return at::reciprocal(x);
    case U_SIN: return at::sin(x);
    case U_COS: return at::cos(x);
    case U_EXPM1: return at::expm1(x);
    case U_ERF: return at::erf(x);
    case U_ISNAN: return at::isnan(x);
    case U_ISINF: return at::isinf(x);
    case U_ISFINITE: return at::isfinite(x);
    case U_LOGICALNOT: return at::logical_not(x);
    case U_ZEROSLIKE: return at::zeros_like(x, at::MemoryFormat::Contiguous);
    case U_ONESLIKE: return at::ones_like(x, at::MemoryFormat::Contiguous);
    case U_IDENTITY: return x;
    case U_CLIP: return at::clamp(x, p1, p2);
    case U_TAN: return at::tan(x);
    case U_ASIN: return at::asin(x);
    case U_ACOS: return at::acos(x);
    case U_ATAN: return at::atan(x);
    case U_SINH: return at::sinh(x);
    case U_COSH: return at::cosh(x);
    case U_ASINH: return at::asinh(x);
    case U_ACOSH: return at::acosh(x);
    case U_ATANH: return at::atanh(x);
  }
  throw std::runtime_error("tfjs-backend-torch: unknown unary op " + std::to_string(op));
}

// unary(op, id, outDtype, p1, p2)
Napi::Value UnaryFn(const Napi::CallbackInfo& info) {
  return Id(info, as(unaryOp(I(info, 0), T(info, 1), D(info, 3), D(info, 4)), I(info, 2)));
}

enum Binary {
  B_ADD, B_SUB, B_MUL, B_DIV, B_FLOORDIV, B_MOD, B_MAX, B_MIN, B_POW, B_SQDIFF, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE,
  B_AND, B_OR, B_XOR, B_ATAN2, B_PRELU, B_DIVNONAN, B_ELUGRAD, B_LEAKYRELUGRAD, B_RELUGRAD
};

Tensor binaryOp(int op, const Tensor& a, const Tensor& b, double p) {
  switch (op) {
    case B_ADD: return at::add(a, b);
    case B_SUB: return at::sub(a, b);
    case B_MUL: return at::mul(a, b);
    case B_DIV: return at::div(a, b);
    case B_FLOORDIV:
      // Integer floor division by zero would trap; go through float like tfjs does.
      if (!a.is_floating_point()) return at::floor(at::div(a.to(at::kFloat), b.to(at::kFloat)));
      return at::div(a, b, "floor");
    case B_MOD: return at::remainder(a, b);
    case B_MAX: return at::maximum(a, b);
    case B_MIN: return at::minimum(a, b);
    case B_POW: return at::pow(a, b);
    case B_SQDIFF: {
      auto d = at::sub(a, b);
      return d.mul_(d);
    }
    case B_EQ: return at::eq(a, b);
    case B_NE: return at::ne(a, b);
    case B_LT: return at::lt(a, b);
    case B_LE: return at::le(a, b);
    case B_GT: return at::gt(a, b);
    case B_GE: return at::ge(a, b);
    case B_AND: return at::logical_and(a, b);
    case B_OR: return at::logical_or(a, b);
    case B_XOR: return at::logical_xor(a, b);
    case B_ATAN2: return at::atan2(a, b);
    case B_PRELU: return at::where(at::gt(a, 0), a, at::mul(a, b));
    case B_DIVNONAN: return at::where(at::eq(b, 0), at::zeros({}, a.options()), at::div(a, b));
    case B_ELUGRAD: return at::where(at::lt(b, 0), at::mul(a, at::add(b, 1)), a);  // (dy, y)
    case B_LEAKYRELUGRAD: return at::leaky_relu_backward(a, b, p, false);             // (dy, x), fused grad
    case B_RELUGRAD: return at::threshold_backward(a, b, 0);                            // (dy, x), fused grad
  }
  throw std::runtime_error("tfjs-backend-torch: unknown binary op " + std::to_string(op));
}

// binary(op, a, b, outDtype, p)
Napi::Value BinaryFn(const Napi::CallbackInfo& info) {
  double p = info.Length() > 4 ? D(info, 4) : 0;
  return Id(info, as(binaryOp(I(info, 0), T(info, 1), T(info, 2), p), I(info, 3)));
}

// select(cond, a, b)
Napi::Value Select(const Napi::CallbackInfo& info) { return Id(info, at::where(T(info, 0), T(info, 1), T(info, 2))); }

// addN(ids)
Napi::Value AddN(const Napi::CallbackInfo& info) {
  auto ts = TV(info, 0);
  Tensor acc = ts[0].clone();
  for (size_t k = 1; k < ts.size(); k++) acc.add_(ts[k]);
  return Id(info, acc);
}

// ---- reductions -----------------------------------------------------------------------------------
enum Reduce { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_ALL, R_ANY, R_ARGMAX, R_ARGMIN };

// reduce(op, id, axes, keepDims, outDtype)
Napi::Value ReduceFn(const Napi::CallbackInfo& info) {
  int op = I(info, 0);
  const Tensor& x = T(info, 1);
  auto axes = V(info, 2);
  bool keep = B(info, 3);
  int dtype = I(info, 4);
  Tensor r;
  if (x.dim() == 0) {
    r = op == R_ARGMAX || op == R_ARGMIN ? at::zeros({}, x.options().dtype(at::kInt)) : x;
    return Id(info, as(r, dtype));
  }
  switch (op) {
    case R_SUM: r = at::sum(x, axes, keep); break;
    case R_MEAN: r = at::mean(x.is_floating_point() ? x : x.to(at::kFloat), axes, keep); break;
    case R_MAX: r = axes.empty() ? x : at::amax(x, axes, keep); break;
    case R_MIN: r = axes.empty() ? x : at::amin(x, axes, keep); break;
    case R_PROD: {
      r = x;
      std::vector<int64_t> sorted(axes);
      std::sort(sorted.rbegin(), sorted.rend());
      for (auto a : sorted) r = at::prod(r, a, keep);
      break;
    }
    case R_ALL:
    case R_ANY: {
      r = x.to(at::kBool);
      std::vector<int64_t> sorted(axes);
      std::sort(sorted.rbegin(), sorted.rend());
      for (auto a : sorted) r = op == R_ALL ? at::all(r, a, keep) : at::any(r, a, keep);
      break;
    }
    case R_ARGMAX: r = at::argmax(x, axes[0], keep); break;
    case R_ARGMIN: r = at::argmin(x, axes[0], keep); break;
    default: throw std::runtime_error("tfjs-backend-torch: unknown reduction " + std::to_string(op));
  }
  return Id(info, as(r, dtype));
}

// cumulative(id, axis, exclusive, reverse, prod)
Napi::Value Cumulative(const Napi::CallbackInfo& info) {
  Tensor x = T(info, 0);
  int64_t axis = I(info, 1);
  bool exclusive = B(info, 2), reverse = B(info, 3), prod = B(info, 4);
  auto dtype = x.scalar_type();
  if (reverse) x = at::flip(x, {axis});
  Tensor r = prod ? at::cumprod(x, axis) : at::cumsum(x, axis);
  if (exclusive) {
    auto n = x.size(axis);
    Tensor first = prod ? at::ones_like(at::narrow(x, axis, 0, 1)) : at::zeros_like(at::narrow(x, axis, 0, 1));
    r = at::cat({first.to(r.scalar_type()), at::narrow(r, axis, 0, n - 1)}, axis);
  }
  if (reverse) r = at::flip(r, {axis});
  return Id(info, r.to(dtype));
}

// ---- shape ops ------------------------------------------------------------------------------------
Napi::Value Cast(const Napi::CallbackInfo& info) { return Id(info, as(T(info, 0), I(info, 1))); }
Napi::Value Reshape(const Napi::CallbackInfo& info) { return Id(info, T(info, 0).reshape(V(info, 1))); }
Napi::Value Transpose(const Napi::CallbackInfo& info) { return Id(info, T(info, 0).permute(V(info, 1)).contiguous()); }
Napi::Value BroadcastTo(const Napi::CallbackInfo& info) { return Id(info, T(info, 0).expand(V(info, 1)).contiguous()); }
Napi::Value Tile(const Napi::CallbackInfo& info) { return Id(info, T(info, 0).repeat(V(info, 1))); }
Napi::Value Reverse(const Napi::CallbackInfo& info) { return Id(info, at::flip(T(info, 0), V(info, 1))); }

// slice(id, begin, size): a view (tfjs tensors are immutable, so sharing storage is safe).
Napi::Value Slice(const Napi::CallbackInfo& info) {
  Tensor t = T(info, 0);
  auto begin = V(info, 1), size = V(info, 2);
  for (size_t d = 0; d < begin.size(); d++) t = t.narrow(d, begin[d], size[d]);
  return Id(info, t);
}

// stridedSlice(id, begin, counts, strides, outShape): element k of dim d is begin[d] + k * strides[d].
Napi::Value StridedSlice(const Napi::CallbackInfo& info) {
  Tensor t = T(info, 0);
  auto begin = V(info, 1), counts = V(info, 2), strides = V(info, 3), outShape = V(info, 4);
  for (size_t d = 0; d < begin.size(); d++) {
    int64_t b = begin[d], n = counts[d], s = strides[d];
    if (s > 0) {
      t = t.slice(d, b, b + n * s, s);
      if (t.size(d) > n) t = t.narrow(d, 0, n);
    } else {
      std::vector<int64_t> idx(n);
      for (int64_t k = 0; k < n; k++) idx[k] = b + k * s;
      t = t.index_select(d, at::tensor(idx, at::TensorOptions().dtype(at::kLong)).to(t.device()));
    }
  }
  return Id(info, t.reshape(outShape));
}

Napi::Value Concat(const Napi::CallbackInfo& info) { return Id(info, at::cat(TV(info, 0), I(info, 1))); }
Napi::Value Stack(const Napi::CallbackInfo& info) { return Id(info, at::stack(TV(info, 0), I(info, 1))); }
Napi::Value Unstack(const Napi::CallbackInfo& info) { return Ids(info, at::unbind(T(info, 0), I(info, 1))); }
Napi::Value Split(const Napi::CallbackInfo& info) { return Ids(info, at::split_with_sizes(T(info, 0), V(info, 1), I(info, 2))); }

// pad(id, flatPaddings [before0, after0, before1, ...], value)
Napi::Value Pad(const Napi::CallbackInfo& info) {
  const Tensor& x = T(info, 0);
  auto p = V(info, 1);
  std::vector<int64_t> atPad;
  for (int64_t d = static_cast<int64_t>(p.size() / 2) - 1; d >= 0; d--) {
    atPad.push_back(p[2 * d]);
    atPad.push_back(p[2 * d + 1]);
  }
  return Id(info, at::constant_pad_nd(x, atPad, D(info, 2)));
}

// indexPerDim(id, [Int32Array | null per dim]): gathers along each dim (mirror padding and friends).
Napi::Value IndexPerDim(const Napi::CallbackInfo& info) {
  Tensor t = T(info, 0);
  auto arr = info[1].As<Napi::Array>();
  for (uint32_t d = 0; d < arr.Length(); d++) {
    auto v = arr.Get(d);
    if (v.IsNull() || v.IsUndefined()) continue;
    auto ia = v.As<Napi::Int32Array>();
    auto idx = at::from_blob(ia.Data(), {static_cast<int64_t>(ia.ElementLength())}, at::kInt).to(at::kLong).to(t.device());
    t = t.index_select(d, idx);
  }
  return Id(info, t);
}

// gather(x, indices, axis, outShape)
Napi::Value Gather(const Napi::CallbackInfo& info) {
  const Tensor& x = T(info, 0);
  Tensor idx = T(info, 1).reshape({-1}).to(at::kLong);
  return Id(info, x.index_select(I(info, 2), idx).reshape(V(info, 3)));
}

// nonzero(cond) -> int32 [n, rank]
Napi::Value NonZero(const Napi::CallbackInfo& info) { return Id(info, at::nonzero(T(info, 0)).to(at::kInt)); }

// topk(id, k, sorted) -> [values, int32 indices]
Napi::Value TopK(const Napi::CallbackInfo& info) {
  auto r = at::topk(T(info, 0), I(info, 1), -1, true, true);
  return Ids(info, {std::get<0>(r), std::get<1>(r).to(at::kInt)});
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  return Id(info, at::full(V(info, 0), D(info, 1), at::TensorOptions().dtype(scalarType(I(info, 2))).device(device)));
}

// range(start, step, count, dtype): count computed by tfjs's rules on the JS side.
Napi::Value Range(const Napi::CallbackInfo& info) {
  double start = D(info, 0), step = D(info, 1);
  int64_t n = I(info, 2);
  auto r = at::arange(n, at::TensorOptions().dtype(at::kDouble).device(device)).mul_(step).add_(start);
  return Id(info, r.to(scalarType(I(info, 3))));
}

Napi::Value OneHot(const Napi::CallbackInfo& info) {
  Tensor idx = T(info, 0).to(at::kLong);
  int64_t depth = I(info, 1);
  double on = D(info, 2), off = D(info, 3);
  // Out-of-range indices give an all-`off` row, as in tfjs.
  auto valid = at::logical_and(at::ge(idx, 0), at::lt(idx, depth));
  auto hot = at::one_hot(at::where(valid, idx, at::zeros_like(idx)), depth).mul_(valid.unsqueeze(-1));
  auto out = at::add(at::mul(hot.to(at::kFloat), on - off), off);
  return Id(info, as(out, I(info, 4)));
}

Napi::Value Softmax(const Napi::CallbackInfo& info) { return Id(info, at::softmax(T(info, 0), I(info, 1))); }

// ---- activations shared by fused kernels ----------------------------------------------------------
enum Act { A_LINEAR, A_RELU, A_RELU6, A_PRELU, A_LEAKYRELU, A_SIGMOID, A_ELU };
Tensor activate(Tensor x, int act, double alpha, const c10::optional<Tensor>& prelu) {
  switch (act) {
    case A_LINEAR: return x;
    case A_RELU: return at::relu_(x);
    case A_RELU6: return at::clamp_(x, 0, 6);
    case A_PRELU: return at::where(at::gt(x, 0), x, at::mul(x, *prelu));
    case A_LEAKYRELU: return at::leaky_relu_(x, alpha);
    case A_SIGMOID: return at::sigmoid_(x);
    case A_ELU: return at::elu(x);
  }
  throw std::runtime_error("tfjs-backend-torch: unknown activation " + std::to_string(act));
}

// matmul(a, b, transA, transB, bias|-1, act, alpha, prelu|-1)
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  Tensor a = T(info, 0), b = T(info, 1);
  if (B(info, 2)) a = a.transpose(-1, -2);
  if (B(info, 3)) b = b.transpose(-1, -2);
  Tensor out = at::matmul(a, b);
  auto bias = OT(info, 4);
  if (bias) out.add_(*bias);
  return Id(info, activate(out, I(info, 5), D(info, 6), OT(info, 7)));
}

// ---- convolution (NHWC / HWIO on the JS side, NCHW channels_last views here) ------------------
Tensor nchw(const Tensor& nhwc) {
  Tensor v = nhwc.permute({0, 3, 1, 2});
  return v.is_contiguous(at::MemoryFormat::ChannelsLast) ? v : v.contiguous(at::MemoryFormat::ChannelsLast);
}
Tensor nhwc(const Tensor& nchwT) { return nchwT.permute({0, 2, 3, 1}).contiguous(); }

// HWIO -> OIHW (or depthwise [kh, kw, in, mult] -> [in*mult, 1, kh, kw]).
Tensor weightOIHW(const Tensor& w, bool depthwise) {
  Tensor x = depthwise ? w.reshape({w.size(0), w.size(1), 1, w.size(2) * w.size(3)}) : w;
  return x.permute({3, 2, 0, 1}).contiguous(at::MemoryFormat::ChannelsLast);
}
Tensor weightHWIO(const Tensor& oihw, bool depthwise, int64_t inC) {
  Tensor w = oihw.permute({2, 3, 1, 0}).contiguous();
  return depthwise ? w.reshape({w.size(0), w.size(1), inC, w.size(3) / inC}) : w;
}

struct ConvGeom {
  int64_t sh, sw, pt, pb, pl, pr, dh, dw;
  int64_t symH() const { return std::min(pt, pb); }
  int64_t symW() const { return std::min(pl, pr); }
  // ATen takes symmetric padding; tfjs SAME can be one larger at the bottom/right. The excess is padded in.
  bool asymmetric() const { return pt != pb || pl != pr; }
  std::vector<int64_t> extra() const { return {pl - symW(), pr - symW(), pt - symH(), pb - symH()}; }
};
ConvGeom geom(const Napi::CallbackInfo& info, size_t i) {
  return {I(info, i), I(info, i + 1), I(info, i + 2), I(info, i + 3), I(info, i + 4), I(info, i + 5), I(info, i + 6), I(info, i + 7)};
}
Tensor padIn(const Tensor& x, const ConvGeom& g, double value = 0) {
  if (!g.asymmetric()) return x;
  return at::constant_pad_nd(x, g.extra(), value).contiguous(at::MemoryFormat::ChannelsLast);
}

// conv2d(x, w, sh, sw, pt, pb, pl, pr, dh, dw, depthwise, bias|-1, act, alpha, prelu|-1)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  const Tensor& x = T(info, 0);
  const Tensor& w = T(info, 1);
  ConvGeom g = geom(info, 2);
  bool depthwise = B(info, 10);
  auto bias = OT(info, 11);
  Tensor xin = padIn(nchw(x), g);
  Tensor wt = weightOIHW(w, depthwise);
  int64_t groups = depthwise ? x.size(3) : 1;
  c10::optional<Tensor> atBias;
  if (bias && bias->dim() == 1 && bias->size(0) == wt.size(0)) atBias = bias;
  Tensor out = at::convolution(xin, wt, atBias, {g.sh, g.sw}, {g.symH(), g.symW()}, {g.dh, g.dw}, false, {0, 0}, groups);
  Tensor o = nhwc(out);
  if (bias && !atBias) o.add_(*bias);
  return Id(info, activate(o, I(info, 12), D(info, 13), OT(info, 14)));
}

// conv2dBackpropInput(dy, w, inShape[NHWC], sh, sw, pt, pb, pl, pr, dh, dw, depthwise)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  const Tensor& dy = T(info, 0);
  const Tensor& w = T(info, 1);
  auto s = V(info, 2);
  ConvGeom g = geom(info, 3);
  bool depthwise = B(info, 11);
  auto e = g.extra();
  int64_t H = s[1] + e[2] + e[3], W = s[2] + e[0] + e[1];
  // Only the input's shape and layout matter for grad_input: an uninitialised channels_last stand-in.
  Tensor dummy = at::empty({s[0], s[3], H, W}, dy.options().memory_format(at::MemoryFormat::ChannelsLast));
  Tensor wt = weightOIHW(w, depthwise);
  auto r = at::convolution_backward(nchw(dy), dummy, wt, c10::nullopt, {g.sh, g.sw}, {g.symH(), g.symW()}, {g.dh, g.dw},
                                    false, {0, 0}, depthwise ? s[3] : 1, {true, false, false});
  Tensor gi = std::get<0>(r);
  if (g.asymmetric()) gi = gi.narrow(2, e[2], s[1]).narrow(3, e[0], s[2]);
  return Id(info, nhwc(gi));
}

// conv2dBackpropFilter(x, dy, filterShape[HWIO], sh, sw, pt, pb, pl, pr, dh, dw, depthwise)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  const Tensor& x = T(info, 0);
  const Tensor& dy = T(info, 1);
  auto fs = V(info, 2);
  ConvGeom g = geom(info, 3);
  bool depthwise = B(info, 11);
  int64_t outC = depthwise ? fs[2] * fs[3] : fs[3];
  int64_t inPerGroup = depthwise ? 1 : fs[2];
  Tensor dummyW = at::empty({outC, inPerGroup, fs[0], fs[1]}, dy.options().memory_format(at::MemoryFormat::ChannelsLast));
  auto r = at::convolution_backward(nchw(dy), padIn(nchw(x), g), dummyW, c10::nullopt, {g.sh, g.sw}, {g.symH(), g.symW()},
                                    {g.dh, g.dw}, false, {0, 0}, depthwise ? x.size(3) : 1, {false, true, false});
  return Id(info, weightHWIO(std::get<1>(r), depthwise, x.size(3)));
}

// ---- pooling --------------------------------------------------------------------------------------
struct PoolGeom {
  int64_t kh, kw;
  ConvGeom g;
};
PoolGeom poolGeom(const Napi::CallbackInfo& info, size_t i) {
  return {I(info, i), I(info, i + 1), {I(info, i + 2), I(info, i + 3), I(info, i + 4), I(info, i + 5), I(info, i + 6), I(info, i + 7), 1, 1}};
}
std::vector<int64_t> fullPad(const ConvGeom& g) { return {g.pl, g.pr, g.pt, g.pb}; }
bool anyPad(const ConvGeom& g) { return g.pt || g.pb || g.pl || g.pr; }

// tfjs averages over the window's cells that lie inside the input: pool sums, divide by in-bounds counts.
Tensor avgCounts(const PoolGeom& p, int64_t H, int64_t W, const at::TensorOptions& opts) {
  Tensor ones = at::constant_pad_nd(at::ones({1, 1, H, W}, opts), fullPad(p.g), 0);
  return at::avg_pool2d(ones, {p.kh, p.kw}, {p.g.sh, p.g.sw}, {0, 0}, false, true, 1);
}

// pool(kind 0=avg 1=max, x, kh, kw, sh, sw, pt, pb, pl, pr)
Napi::Value Pool(const Napi::CallbackInfo& info) {
  int kind = I(info, 0);
  const Tensor& x = T(info, 1);
  PoolGeom p = poolGeom(info, 2);
  Tensor xs = nchw(x);
  if (kind == 1) {
    Tensor xp = anyPad(p.g) ? at::constant_pad_nd(xs, fullPad(p.g), -std::numeric_limits<double>::infinity()) : xs;
    return Id(info, nhwc(at::max_pool2d(xp, {p.kh, p.kw}, {p.g.sh, p.g.sw}, {0, 0}, {1, 1}, false)));
  }
  if (!anyPad(p.g)) return Id(info, nhwc(at::avg_pool2d(xs, {p.kh, p.kw}, {p.g.sh, p.g.sw}, {0, 0}, false, true)));
  Tensor sums = at::avg_pool2d(at::constant_pad_nd(xs, fullPad(p.g), 0), {p.kh, p.kw}, {p.g.sh, p.g.sw}, {0, 0}, false, true, 1);
  return Id(info, nhwc(sums.div_(avgCounts(p, x.size(1), x.size(2), x.options()))));
}

// avgPoolGrad(dy, xShape[NHWC], kh, kw, sh, sw, pt, pb, pl, pr)
Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  Tensor dy = nchw(T(info, 0));
  auto s = V(info, 1);
  PoolGeom p = poolGeom(info, 2);
  int64_t H = s[1] + p.g.pt + p.g.pb, W = s[2] + p.g.pl + p.g.pr;
  Tensor scaled = anyPad(p.g) ? dy.div(avgCounts(p, s[1], s[2], dy.options())) : dy.div(static_cast<double>(p.kh * p.kw));
  Tensor dummy = at::empty({s[0], s[3], H, W}, dy.options().memory_format(at::MemoryFormat::ChannelsLast));
  Tensor gi = at::avg_pool2d_backward(scaled.contiguous(at::MemoryFormat::ChannelsLast), dummy, {p.kh, p.kw}, {p.g.sh, p.g.sw},
                                      {0, 0}, false, true, 1);
  if (anyPad(p.g)) gi = gi.narrow(2, p.g.pt, s[1]).narrow(3, p.g.pl, s[2]);
  return Id(info, nhwc(gi));
}

// maxPoolGrad(dy, x, kh, kw, sh, sw, pt, pb, pl, pr)
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  Tensor dy = nchw(T(info, 0));
  const Tensor& x = T(info, 1);
  PoolGeom p = poolGeom(info, 2);
  Tensor xs = nchw(x);
  Tensor xp = anyPad(p.g) ? at::constant_pad_nd(xs, fullPad(p.g), -std::numeric_limits<double>::infinity()) : xs;
  auto r = at::max_pool2d_with_indices(xp, {p.kh, p.kw}, {p.g.sh, p.g.sw}, {0, 0}, {1, 1}, false);
  Tensor gi = at::max_pool2d_with_indices_backward(dy, xp, {p.kh, p.kw}, {p.g.sh, p.g.sw}, {0, 0}, {1, 1}, false, std::get<1>(r));
  if (anyPad(p.g)) gi = gi.narrow(2, p.g.pt, x.size(1)).narrow(3, p.g.pl, x.size(2));
  return Id(info, nhwc(gi));
}

// ---- normalisation --------------------------------------------------------------------------------
// batchNorm(x, mean, variance, offset|-1, scale|-1, eps): one pass over x as x*inv + (offset - mean*inv).
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  const Tensor& x = T(info, 0);
  const Tensor& mean = T(info, 1);
  const Tensor& var = T(info, 2);
  auto offset = OT(info, 3);
  auto scale = OT(info, 4);
  double eps = D(info, 5);
  Tensor inv = at::rsqrt(at::add(var, eps));
  if (scale) inv = at::mul(inv, *scale);
  Tensor shift = at::neg(at::mul(mean, inv));
  if (offset) shift = at::add(shift, *offset);
  return Id(info, at::addcmul(shift, x, inv));
}

// batchNormTrain(x[NHWC], gamma, beta, eps) -> [y, mean, variance (biased)]: training-mode batch norm as
// PyTorch runs it (one ATen kernel over the channels_last view) instead of tfjs's ~10 small ops.
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  Tensor xs = nchw(T(info, 0));
  const Tensor& gamma = T(info, 1);
  const Tensor& beta = T(info, 2);
  double eps = D(info, 3);
  auto r = at::native_batch_norm(xs, gamma, beta, {}, {}, true, 0.0, eps);
  Tensor invstd = std::get<2>(r);
  // ATen keeps 1/sqrt(var + eps); tfjs callers want the biased variance itself (running statistics).
  Tensor var = at::sub(at::reciprocal(at::mul(invstd, invstd)), eps);
  return Ids(info, {nhwc(std::get<0>(r)), std::get<1>(r), var});
}

// batchNormTrainGrad(dy, x, gamma, mean, variance, eps, dmean|-1, dvar|-1) -> [dx, dgamma, dbeta], the exact
// gradient of BatchNormTrain (batch statistics depend on x), plus the paths through the mean/variance outputs
// when a caller differentiates those too.
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  Tensor dy = nchw(T(info, 0));
  Tensor xs = nchw(T(info, 1));
  const Tensor& gamma = T(info, 2);
  const Tensor& mean = T(info, 3);
  const Tensor& var = T(info, 4);
  double eps = D(info, 5);
  auto dmean = OT(info, 6);
  auto dvar = OT(info, 7);
  Tensor invstd = at::rsqrt(at::add(var, eps));
  auto r = at::native_batch_norm_backward(dy, xs, gamma, {}, {}, mean, invstd, true, eps, {true, true, true});
  Tensor dx = nhwc(std::get<0>(r));
  if (dmean || dvar) {
    const Tensor& x = T(info, 1);  // NHWC: per-channel vectors broadcast over the last dimension
    double n = static_cast<double>(x.numel() / x.size(3));
    if (dmean) dx = at::add(dx, at::div(*dmean, n));
    if (dvar) dx = at::addcmul(dx, at::sub(x, mean), at::mul(*dvar, 2.0 / n));
  }
  return Ids(info, {dx, std::get<1>(r), std::get<2>(r)});
}

// ---- fused optimiser update -----------------------------------------------------------------------
// adamUpdate(w, m, v, g, lr, beta1, beta2, eps, t) -> [w', m', v'], PyTorch's rule as packages/gan/src/adam.ts
// writes it: w - lr/(1-b1^t) * m' / (sqrt(v')/sqrt(1-b2^t) + eps). New tensors, not in-place: tfjs variables
// may share their data with other tensors (assign() shares a dataId).
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  const Tensor& w = T(info, 0);
  const Tensor& m = T(info, 1);
  const Tensor& v = T(info, 2);
  const Tensor& g = T(info, 3);
  double lr = D(info, 4), b1 = D(info, 5), b2 = D(info, 6), eps = D(info, 7), t = D(info, 8);
  Tensor m2 = at::add(at::mul(m, b1), g, 1 - b1);
  Tensor v2 = at::addcmul(at::mul(v, b2), g, g, 1 - b2);
  Tensor denom = at::sqrt(v2).div_(std::sqrt(1 - std::pow(b2, t))).add_(eps);
  Tensor w2 = at::addcdiv(w, m2, denom, -lr / (1 - std::pow(b1, t)));
  return Ids(info, {w2, m2, v2});
}

// ---- runtime --------------------------------------------------------------------------------------
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int n = I(info, 0);
  if (n < 1) throw std::runtime_error("tfjs-backend-torch: thread count must be >= 1, got " + std::to_string(n));
  at::set_num_threads(n);
  return info.Env().Undefined();
}
Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

Napi::Value SetDevice(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  at::Device d(name);
  if (d.is_cuda() && !at::hasCUDA()) throw std::runtime_error("tfjs-backend-torch: CUDA is not available to this libtorch");
  device = d;
  return info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("torchVersion", TORCH_VERSION);
  o.Set("cudaAvailable", at::hasCUDA());
#ifdef GANBOARD_TORCH_CUDA
  o.Set("builtWithCuda", true);
#else
  o.Set("builtWithCuda", false);
#endif
  o.Set("numThreads", at::get_num_threads());
  o.Set("device", device.str());
  o.Set("mkldnn", at::hasMKLDNN());
  return o;
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  // A tiny read forces queued device work to finish (used by timing on CUDA).
  if (!device.is_cpu()) at::zeros({1}, at::TensorOptions().device(device)).to(at::kCPU);
  return info.Env().Undefined();
}

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    c10::InferenceMode mode;
    return F(info);
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string("torch: ") + e.what_without_backtrace());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

}  // namespace

#define EXPORT(name, fn) exports.Set(name, Napi::Function::New(env, guarded<fn>, name))

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  EXPORT("fromData", FromData);
  EXPORT("read", Read);
  EXPORT("readAsync", ReadAsync);
  EXPORT("free", Free);
  EXPORT("shape", Shape);
  EXPORT("dtypeOf", DTypeOf);
  EXPORT("stats", Stats);
  EXPORT("unary", UnaryFn);
  EXPORT("binary", BinaryFn);
  EXPORT("select", Select);
  EXPORT("addN", AddN);
  EXPORT("reduce", ReduceFn);
  EXPORT("cumulative", Cumulative);
  EXPORT("cast", Cast);
  EXPORT("reshape", Reshape);
  EXPORT("transpose", Transpose);
  EXPORT("broadcastTo", BroadcastTo);
  EXPORT("tile", Tile);
  EXPORT("reverse", Reverse);
  EXPORT("slice", Slice);
  EXPORT("stridedSlice", StridedSlice);
  EXPORT("concat", Concat);
  EXPORT("stack", Stack);
  EXPORT("unstack", Unstack);
  EXPORT("split", Split);
  EXPORT("pad", Pad);
  EXPORT("indexPerDim", IndexPerDim);
  EXPORT("gather", Gather);
  EXPORT("nonzero", NonZero);
  EXPORT("topk", TopK);
  EXPORT("fill", Fill);
  EXPORT("range", Range);
  EXPORT("oneHot", OneHot);
  EXPORT("softmax", Softmax);
  EXPORT("matmul", MatMul);
  EXPORT("conv2d", Conv2d);
  EXPORT("conv2dBackpropInput", Conv2dBackpropInput);
  EXPORT("conv2dBackpropFilter", Conv2dBackpropFilter);
  EXPORT("pool", Pool);
  EXPORT("avgPoolGrad", AvgPoolGrad);
  EXPORT("maxPoolGrad", MaxPoolGrad);
  EXPORT("batchNorm", BatchNorm);
  EXPORT("batchNormTrain", BatchNormTrain);
  EXPORT("batchNormTrainGrad", BatchNormTrainGrad);
  EXPORT("adamUpdate", AdamUpdate);
  EXPORT("setNumThreads", SetNumThreads);
  EXPORT("getNumThreads", GetNumThreads);
  EXPORT("setDevice", SetDevice);
  EXPORT("info", Info);
  EXPORT("synchronize", Synchronize);
  return exports;
}

NODE_API_MODULE(torch_backend, Init)
