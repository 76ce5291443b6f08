// Bindings for cpp/elementwise.h and cpp/reduce.h: argument and shape checks only.
#include "args.h"
#include "elementwise.h"
#include "reduce.h"
#include "registry.h"
#include "shape_args.h"

namespace {
using wk::Args;
using wk::ShapeArg;

// Checks that a and b broadcast to out; returns the three shapes padded to out's rank.
struct Broadcast {
  std::vector<int64_t> a, b, out;
};
Broadcast checkBroadcast(const Args& args, const ShapeArg& a, const ShapeArg& b, const ShapeArg& out, bool cover = true) {
  size_t nd = out.dims.size();
  args.require(a.dims.size() <= nd && b.dims.size() <= nd,
               "shapes " + a.str() + " and " + b.str() + " have more dimensions than the output " + out.str());
  Broadcast r{wk::padShape(a, nd), wk::padShape(b, nd), out.dims};
  for (size_t d = 0; d < nd; ++d) {
    int64_t o = out.dims[d];
    bool ok = (r.a[d] == o || r.a[d] == 1) && (r.b[d] == o || r.b[d] == 1) && (!cover || r.a[d] == o || r.b[d] == o);
    args.require(ok, "shapes " + a.str() + " and " + b.str() + " do not broadcast to " + out.str());
  }
  return r;
}

wk::BinaryOp binaryOp(const Args& a, size_t i) { return static_cast<wk::BinaryOp>(a.integer(i, "op", 0, 3)); }

// binaryForward(op, a, aShape, b, bShape, out, outShape)
Napi::Value BinaryForward(const Napi::CallbackInfo& info) {
  Args a(info, "binaryForward", 7);
  auto op = binaryOp(a, 0);
  ShapeArg as = wk::shapeArg(info, a, 2, "aShape"), bs = wk::shapeArg(info, a, 4, "bShape"),
           os = wk::shapeArg(info, a, 6, "outShape");
  auto x = wk::exactF32(a, 1, "a", as.size());
  auto y = wk::exactF32(a, 3, "b", bs.size());
  auto out = wk::exactF32(a, 5, "out", os.size());
  Broadcast s = checkBroadcast(a, as, bs, os);
  if (os.size() == 0) return info.Env().Undefined();
  wk::binaryForward(op, x.data, s.a.data(), y.data, s.b.data(), out.data, s.out.data(), static_cast<int>(s.out.size()));
  return info.Env().Undefined();
}

// binaryBackward(op, a, aShape, b, bShape, g, outShape, ga|null, gb|null)
Napi::Value BinaryBackward(const Napi::CallbackInfo& info) {
  Args a(info, "binaryBackward", 9);
  auto op = binaryOp(a, 0);
  ShapeArg as = wk::shapeArg(info, a, 2, "aShape"), bs = wk::shapeArg(info, a, 4, "bShape"),
           os = wk::shapeArg(info, a, 6, "outShape");
  auto x = wk::exactF32(a, 1, "a", as.size());
  auto y = wk::exactF32(a, 3, "b", bs.size());
  auto g = wk::exactF32(a, 5, "g", os.size());
  float* ga = wk::optionalF32(a, 7, "ga", as.size());
  float* gb = wk::optionalF32(a, 8, "gb", bs.size());
  Broadcast s = checkBroadcast(a, as, bs, os);
  if (os.size() == 0) {
    if (ga) std::fill(ga, ga + as.size(), 0.0f);
    if (gb) std::fill(gb, gb + bs.size(), 0.0f);
    return info.Env().Undefined();
  }
  wk::binaryBackward(op, x.data, s.a.data(), y.data, s.b.data(), g.data, s.out.data(), static_cast<int>(s.out.size()),
                     ga, gb);
  return info.Env().Undefined();
}

// broadcastTo(x, xShape, out, outShape, scale)
Napi::Value BroadcastTo(const Napi::CallbackInfo& info) {
  Args a(info, "broadcastTo", 5);
  ShapeArg xs = wk::shapeArg(info, a, 1, "xShape"), os = wk::shapeArg(info, a, 3, "outShape");
  auto x = wk::exactF32(a, 0, "x", xs.size());
  auto out = wk::exactF32(a, 2, "out", os.size());
  Broadcast s = checkBroadcast(a, xs, xs, os, false);
  float scale = static_cast<float>(a.number(4, "scale"));
  if (os.size() == 0) return info.Env().Undefined();
  wk::broadcastTo(x.data, s.a.data(), out.data, s.out.data(), static_cast<int>(s.out.size()), scale);
  return info.Env().Undefined();
}

wk::UnaryOp unaryOp(const Args& a, size_t i) {
  return static_cast<wk::UnaryOp>(a.integer(i, "op", 0, static_cast<int>(wk::UnaryOp::kCount) - 1));
}

// unaryForward(op, x, y, p0, p1)
Napi::Value UnaryForward(const Napi::CallbackInfo& info) {
  Args a(info, "unaryForward", 5);
  auto op = unaryOp(a, 0);
  auto x = a.f32(1, "x");
  auto y = wk::exactF32(a, 2, "y", x.size);
  wk::unaryForward(op, x.data, y.data, x.size, static_cast<float>(a.number(3, "p0")), static_cast<float>(a.number(4, "p1")));
  return info.Env().Undefined();
}

// unaryBackward(op, x|null, y|null, g, gx, p0, p1)
Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  Args a(info, "unaryBackward", 7);
  auto op = unaryOp(a, 0);
  auto g = a.f32(3, "g");
  auto gx = wk::exactF32(a, 4, "gx", g.size);
  const float* x = wk::optionalF32(a, 1, "x", g.size);
  const float* y = wk::optionalF32(a, 2, "y", g.size);
  a.require(x || !wk::unaryBackwardNeedsX(op), "x is needed for this op's gradient");
  a.require(y || !wk::unaryBackwardNeedsY(op), "y is needed for this op's gradient");
  wk::unaryBackward(op, x, y, g.data, gx.data, g.size, static_cast<float>(a.number(5, "p0")),
                    static_cast<float>(a.number(6, "p1")));
  return info.Env().Undefined();
}

// reduceSum(x, shape, axes, out, scale): out holds x summed over axes (any order, no repeats).
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  Args a(info, "reduceSum", 5);
  ShapeArg xs = wk::shapeArg(info, a, 1, "shape");
  auto x = wk::exactF32(a, 0, "x", xs.size());
  if (!info[2].IsArray()) throw a.type("axes", "an array of axis indices", Args::describe(info[2]));
  Napi::Array axes = info[2].As<Napi::Array>();
  unsigned mask = 0;
  int nd = static_cast<int>(xs.dims.size());
  for (uint32_t k = 0; k < axes.Length(); ++k) {
    Napi::Value v = axes.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d < nd && d == static_cast<int>(d)))
      throw a.range("axes", "distinct integers in [0, " + std::to_string(nd - 1) + "]", Args::describe(v));
    unsigned bit = 1u << static_cast<int>(d);
    if (mask & bit) throw a.range("axes", "distinct integers", "a repeated axis " + Args::describe(v));
    mask |= bit;
  }
  size_t outN = 1;
  for (int d = 0; d < nd; ++d)
    if (!((mask >> d) & 1u)) outN *= static_cast<size_t>(xs.dims[d]);
  auto out = wk::exactF32(a, 3, "out", outN);
  double scale = a.number(4, "scale");
  wk::reduceSum(x.data, xs.dims.data(), nd, mask, out.data, scale);
  return info.Env().Undefined();
}

// sumAll(x) -> number (double, fixed order)
Napi::Value SumAll(const Napi::CallbackInfo& info) {
  Args a(info, "sumAll", 1);
  auto x = a.f32(0, "x");
  return Napi::Number::New(info.Env(), wk::sumAll(x.data, x.size));
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("binaryForward", Napi::Function::New(env, BinaryForward, "binaryForward"));
  exports.Set("binaryBackward", Napi::Function::New(env, BinaryBackward, "binaryBackward"));
  exports.Set("broadcastTo", Napi::Function::New(env, BroadcastTo, "broadcastTo"));
  exports.Set("unaryForward", Napi::Function::New(env, UnaryForward, "unaryForward"));
  exports.Set("unaryBackward", Napi::Function::New(env, UnaryBackward, "unaryBackward"));
  exports.Set("reduceSum", Napi::Function::New(env, ReduceSum, "reduceSum"));
  exports.Set("sumAll", Napi::Function::New(env, SumAll, "sumAll"));
}

}  // namespace

WK_REGISTER(elementwise, Register);
