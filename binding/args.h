// Argument parsing for native ops: every JS value is checked and turned into a plain C++ value
// (pointer + length, integer, number, flag) before any kernel runs, so kernels never touch JS
// and bad input becomes a TypeError/RangeError naming the function and the argument.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

namespace wk {

template <typename T>
struct View {
  T* data = nullptr;
  size_t size = 0;
};

template <typename T>
struct TypedArrayTraits;
template <>
struct TypedArrayTraits<float> {
  static constexpr napi_typedarray_type type = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct TypedArrayTraits<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};
template <>
struct TypedArrayTraits<uint8_t> {
  static constexpr napi_typedarray_type type = napi_uint8_array;
  static constexpr const char* name = "Uint8Array";
};
template <>
struct TypedArrayTraits<uint32_t> {
  static constexpr napi_typedarray_type type = napi_uint32_array;
  static constexpr const char* name = "Uint32Array";
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t expected) : info_(info), fn_(fn) {
    if (info.Length() < expected)
      throw Napi::TypeError::New(info.Env(), std::string(fn) + ": expected " + std::to_string(expected) +
                                                 " arguments, got " + std::to_string(info.Length()));
  }
  Napi::Env env() const { return info_.Env(); }
  const char* fn() const { return fn_; }

  // A typed array of element type T with at least `minSize` elements.
  template <typename T>
  View<T> array(size_t i, const char* name, size_t minSize = 0) const {
    Napi::Value v = info_[i];
    if (!v.IsTypedArray()) throw type(name, std::string("a ") + TypedArrayTraits<T>::name, describe(v));
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (ta.TypedArrayType() != TypedArrayTraits<T>::type)
      throw type(name, std::string("a ") + TypedArrayTraits<T>::name, describe(v));
    View<T> out;
    out.data = reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
    out.size = ta.ElementLength();
    if (out.size < minSize)
      throw range(name, "at least " + std::to_string(minSize) + " elements", std::to_string(out.size) + " elements");
    return out;
  }
  View<float> f32(size_t i, const char* name, size_t minSize = 0) const { return array<float>(i, name, minSize); }
  View<int32_t> i32(size_t i, const char* name, size_t minSize = 0) const { return array<int32_t>(i, name, minSize); }
  View<uint8_t> u8(size_t i, const char* name, size_t minSize = 0) const { return array<uint8_t>(i, name, minSize); }

  // An integer in [lo, hi].
  int64_t integer(size_t i, const char* name, int64_t lo = 0, int64_t hi = INT64_MAX / 4) const {
    Napi::Value v = info_[i];
    if (!v.IsNumber()) throw type(name, "an integer", describe(v));
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::floor(d) != d) throw type(name, "an integer", describe(v));
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
      throw range(name, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", describe(v));
    return static_cast<int64_t>(d);
  }
  double number(size_t i, const char* name, bool allowNonFinite = false) const {
    Napi::Value v = info_[i];
    if (!v.IsNumber()) throw type(name, "a number", describe(v));
    double d = v.As<Napi::Number>().DoubleValue();
    if (!allowNonFinite && !std::isfinite(d)) throw range(name, "a finite number", describe(v));
    return d;
  }
  bool boolean(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsBoolean()) throw type(name, "a boolean", describe(v));
    return v.As<Napi::Boolean>().Value();
  }
  bool isUndefined(size_t i) const { return i >= info_.Length() || info_[i].IsUndefined() || info_[i].IsNull(); }

  Napi::Error type(const char* name, const std::string& expected, const std::string& got) const {
    return Napi::TypeError::New(env(), std::string(fn_) + ": " + name + " must be " + expected + ", got " + got);
  }
  Napi::Error range(const char* name, const std::string& expected, const std::string& got) const {
    return Napi::RangeError::New(env(), std::string(fn_) + ": " + name + " must be " + expected + ", got " + got);
  }
  // A check between arguments: `fn: message`.
  void require(bool ok, const std::string& message) const {
    if (!ok) throw Napi::RangeError::New(env(), std::string(fn_) + ": " + message);
  }

  static std::string describe(const Napi::Value& v) {
    if (v.IsUndefined()) return "undefined";
    if (v.IsNull()) return "null";
    if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
    if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (std::isnan(d)) return "NaN";
      std::string s = std::to_string(d);
      if (std::floor(d) == d && std::fabs(d) < 1e15) s = std::to_string(static_cast<long long>(d));
      return s;
    }
    if (v.IsString()) return "string \"" + v.As<Napi::String>().Utf8Value().substr(0, 40) + "\"";
    if (v.IsTypedArray()) {
      auto t = v.As<Napi::TypedArray>().TypedArrayType();
      const char* n = t == napi_float32_array ? "Float32Array"
                      : t == napi_float64_array ? "Float64Array"
                      : t == napi_int32_array   ? "Int32Array"
                      : t == napi_uint8_array   ? "Uint8Array"
                                                : "another typed array";
      return std::string(n) + "(" + std::to_string(v.As<Napi::TypedArray>().ElementLength()) + ")";
    }
    if (v.IsArray()) return "an Array";
    if (v.IsFunction()) return "a function";
    return "an object";
  }

 private:
  const Napi::CallbackInfo& info_;
  const char* fn_;
};

}  // namespace wk
