// Bindings for cpp/data_movement.h: argument, dtype and size checks only. permute and copyBox take
// Float32Array, Int32Array or Uint8Array buffers (source and destination of the same type) and move
// their elements as bytes; biasGrad takes Float32Arrays.
#include <string>
#include <vector>

#include "args.h"
#include "data_movement.h"
#include "registry.h"
#include "shape_args.h"

namespace {
using wk::Args;

constexpr uint32_t kMaxRank = 16;

struct RawArray {
  void* data = nullptr;
  size_t size = 0;      // elements
  size_t elemSize = 0;  // bytes
  napi_typedarray_type type = napi_float32_array;
};

RawArray rawArray(const Napi::CallbackInfo& info, const Args& a, size_t i, const char* name) {
  Napi::Value v = info[i];
  const char* expected = "a Float32Array, Int32Array or Uint8Array";
  if (!v.IsTypedArray()) throw a.type(name, expected, Args::describe(v));
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  RawArray r;
  r.type = ta.TypedArrayType();
  if (r.type == napi_float32_array || r.type == napi_int32_array)
    r.elemSize = 4;
  else if (r.type == napi_uint8_array)
    r.elemSize = 1;
  else
    throw a.type(name, expected, Args::describe(v));
  r.data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  r.size = ta.ElementLength();
  return r;
}

// A JS array of non-negative integers of any rank up to kMaxRank.
std::vector<int64_t> intList(const Napi::CallbackInfo& info, const Args& a, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsArray()) throw a.type(name, "an array of non-negative integers", Args::describe(v));
  Napi::Array arr = v.As<Napi::Array>();
  if (arr.Length() > kMaxRank)
    throw a.range(name, "at most " + std::to_string(kMaxRank) + " entries", std::to_string(arr.Length()));
  std::vector<int64_t> out;
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value d = arr.Get(k);
    if (!d.IsNumber()) throw a.type(name, "an array of non-negative integers", "an entry " + Args::describe(d));
    double x = d.As<Napi::Number>().DoubleValue();
    if (!(x >= 0) || x > 1e12 || x != static_cast<double>(static_cast<int64_t>(x)))
      throw a.type(name, "an array of non-negative integers", "an entry " + Args::describe(d));
    out.push_back(static_cast<int64_t>(x));
  }
  return out;
}

std::string listStr(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

size_t product(const std::vector<int64_t>& v) {
  size_t n = 1;
  for (int64_t d : v) n *= static_cast<size_t>(d);
  return n;
}

void requireSize(const Args& a, const RawArray& r, const char* name, size_t n, const std::vector<int64_t>& shape) {
  a.require(r.size >= n, std::string(name) + " must have at least " + std::to_string(n) + " elements (shape " +
                             listStr(shape) + "), got " + std::to_string(r.size));
}

void requireSameType(const Args& a, const RawArray& x, const RawArray& y, const char* xn, const char* yn) {
  a.require(x.type == y.type, std::string(yn) + " must be the same typed array type as " + xn);
}

// permute(x, shape, perm, out)
Napi::Value Permute(const Napi::CallbackInfo& info) {
  Args a(info, "permute", 4);
  RawArray x = rawArray(info, a, 0, "x");
  std::vector<int64_t> shape = intList(info, a, 1, "shape");
  std::vector<int64_t> perm = intList(info, a, 2, "perm");
  RawArray out = rawArray(info, a, 3, "out");
  requireSameType(a, x, out, "x", "out");
  const size_t nd = shape.size();
  a.require(perm.size() == nd, "perm must have " + std::to_string(nd) + " entries (the rank of shape " +
                                   listStr(shape) + "), got " + listStr(perm));
  std::vector<bool> seen(nd, false);
  std::vector<int> p(nd);
  for (size_t i = 0; i < nd; ++i) {
    a.require(perm[i] < static_cast<int64_t>(nd) && !seen[static_cast<size_t>(perm[i])],
              "perm must be a permutation of [0, " + std::to_string(nd) + "), got " + listStr(perm));
    seen[static_cast<size_t>(perm[i])] = true;
    p[i] = static_cast<int>(perm[i]);
  }
  const size_t n = product(shape);
  requireSize(a, x, "x", n, shape);
  requireSize(a, out, "out", n, shape);
  if (n > 0) wk::permute(x.data, out.data, x.elemSize, shape.data(), p.data(), static_cast<int>(nd));
  return info.Env().Undefined();
}

// copyBox(src, srcShape, begin, size, dst, dstShape, dstBegin)
Napi::Value CopyBox(const Napi::CallbackInfo& info) {
  Args a(info, "copyBox", 7);
  RawArray src = rawArray(info, a, 0, "src");
  std::vector<int64_t> srcShape = intList(info, a, 1, "srcShape");
  std::vector<int64_t> begin = intList(info, a, 2, "begin");
  std::vector<int64_t> size = intList(info, a, 3, "size");
  RawArray dst = rawArray(info, a, 4, "dst");
  std::vector<int64_t> dstShape = intList(info, a, 5, "dstShape");
  std::vector<int64_t> dstBegin = intList(info, a, 6, "dstBegin");
  requireSameType(a, src, dst, "src", "dst");
  const size_t nd = size.size();
  a.require(srcShape.size() == nd && begin.size() == nd && dstShape.size() == nd && dstBegin.size() == nd,
            "srcShape, begin, dstShape and dstBegin must all have the rank of size " + listStr(size) + ", got " +
                listStr(srcShape) + ", " + listStr(begin) + ", " + listStr(dstShape) + ", " + listStr(dstBegin));
  for (size_t d = 0; d < nd; ++d) {
    a.require(begin[d] + size[d] <= srcShape[d], "the box begin " + listStr(begin) + " + size " + listStr(size) +
                                                     " must lie inside srcShape " + listStr(srcShape));
    a.require(dstBegin[d] + size[d] <= dstShape[d], "the box dstBegin " + listStr(dstBegin) + " + size " +
                                                        listStr(size) + " must lie inside dstShape " + listStr(dstShape));
  }
  if (product(size) == 0) return info.Env().Undefined();
  requireSize(a, src, "src", product(srcShape), srcShape);
  requireSize(a, dst, "dst", product(dstShape), dstShape);
  wk::copyBox(src.data, srcShape.data(), begin.data(), size.data(), dst.data, dstShape.data(), dstBegin.data(),
              static_cast<int>(nd), src.elemSize);
  return info.Env().Undefined();
}

// biasGrad(g [R, O], R, O, out [O])
Napi::Value BiasGrad(const Napi::CallbackInfo& info) {
  Args a(info, "biasGrad", 4);
  size_t R = static_cast<size_t>(a.integer(1, "R", 0, 1LL << 40));
  size_t O = static_cast<size_t>(a.integer(2, "O", 0, 1LL << 40));
  auto g = a.f32(0, "g", R * O);
  auto out = a.f32(3, "out", O);
  wk::biasGrad(g.data, R, O, out.data);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("permute", Napi::Function::New(env, Permute, "permute"));
  exports.Set("copyBox", Napi::Function::New(env, CopyBox, "copyBox"));
  exports.Set("biasGrad", Napi::Function::New(env, BiasGrad, "biasGrad"));
}

}  // namespace

WK_REGISTER(data_movement, Register);
