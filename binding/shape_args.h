// Shape arguments for the elementwise / reduce / loss bindings: a JS array of non-negative
// integers (rank <= kMaxDims), and broadcast checks between shapes.
#pragma once
#include <string>
#include <vector>

#include "args.h"
#include "elementwise.h"

namespace wk {

struct ShapeArg {
  std::vector<int64_t> dims;
  size_t size() const {
    size_t n = 1;
    for (int64_t d : dims) n *= static_cast<size_t>(d);
    return n;
  }
  std::string str() const {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
    return s + "]";
  }
};

inline ShapeArg shapeArg(const Napi::CallbackInfo& info, const Args& a, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsArray()) throw a.type(name, "an array of non-negative integers", Args::describe(v));
  Napi::Array arr = v.As<Napi::Array>();
  if (arr.Length() > static_cast<uint32_t>(kMaxDims))
    throw a.range(name, "at most " + std::to_string(kMaxDims) + " dimensions", std::to_string(arr.Length()));
  ShapeArg s;
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value d = arr.Get(k);
    if (!d.IsNumber()) throw a.type(name, "an array of non-negative integers", "an entry " + Args::describe(d));
    double x = d.As<Napi::Number>().DoubleValue();
    if (!(x >= 0) || x != static_cast<double>(static_cast<int64_t>(x)) || x > 1e12)
      throw a.type(name, "an array of non-negative integers", "an entry " + Args::describe(d));
    s.dims.push_back(static_cast<int64_t>(x));
  }
  return s;
}

// Pads to rank nd with leading 1s.
inline std::vector<int64_t> padShape(const ShapeArg& s, size_t nd) {
  std::vector<int64_t> out(nd - s.dims.size(), 1);
  out.insert(out.end(), s.dims.begin(), s.dims.end());
  return out;
}

// Nullable Float32Array argument with exactly n elements.
inline float* optionalF32(const Args& a, size_t i, const char* name, size_t n) {
  if (a.isUndefined(i)) return nullptr;
  auto v = a.f32(i, name, n);
  a.require(v.size == n, std::string(name) + " must have " + std::to_string(n) + " elements, got " + std::to_string(v.size));
  return v.data;
}

inline View<float> exactF32(const Args& a, size_t i, const char* name, size_t n) {
  auto v = a.f32(i, name);
  a.require(v.size == n, std::string(name) + " must have " + std::to_string(n) + " elements, got " + std::to_string(v.size));
  return v;
}

}  // namespace wk
