// Bindings for cpp/tsne.h: argument checks and the options object -> wk::TsneOptions, no math.
//
//   tsne(points Float32Array[n*d], n, d, options, embedding Float32Array[n*outputDims])
//        -> { dims, method 'exact'|'barnes-hut', klDivergence, learningRate }
//     options (each optional, defaults as in cpp/tsne.h): outputDims 2|3, perplexity (0, n),
//     iterations, seed, method 'auto'|'exact'|'barnes-hut', exactThreshold, theta,
//     learningRate number|'auto', earlyExaggeration, init 'pca'|'random'; native only:
//     exaggerationIterations (250; the JS wrapper does not expose it)
//   tsneConditionalAffinities(points, n, d, perplexity, k, out Float32Array[n*n]) -> max |perp error|
//   tsneObjective(P Float32Array[n*n], y Float32Array[n*dims], n, dims, exaggeration,
//                 method 0 exact | 1 barnes-hut, theta, grad Float32Array[n*dims]) -> KL
//   trustworthiness(high Float32Array[n*dh], n, dh, low Float32Array[n*dl], dl, k) -> T(k)
#include <cmath>
#include <string>

#include "args.h"
#include "registry.h"
#include "shape_args.h"
#include "tsne.h"

namespace {
using wk::Args;

// Forced exact t-SNE stores P as n^2 floats: 10000 points are 400 MB.
constexpr int64_t kMaxExactN = 10000;
// Points up to 2^31 - 1 (indices are 32-bit inside the kernel).
constexpr int64_t kMaxN = (1LL << 31) - 1;

// One property of the options object, checked with the Args messages ("tsne: options.x must be ...").
class Options {
 public:
  Options(const Args& a, Napi::Value v) : a_(a) {
    if (v.IsUndefined() || v.IsNull()) return;
    if (!v.IsObject() || v.IsArray() || v.IsTypedArray()) throw a.type("options", "an object", Args::describe(v));
    obj_ = v.As<Napi::Object>();
    has_ = true;
  }
  bool present(const char* key) const {
    if (!has_) return false;
    Napi::Value v = obj_.Get(key);
    return !v.IsUndefined() && !v.IsNull();
  }
  Napi::Value get(const char* key) const { return obj_.Get(key); }
  std::string name(const char* key) const { return std::string("options.") + key; }

  double number(const char* key, double def, double lo, double hi, bool openLo = false) const {
    if (!present(key)) return def;
    Napi::Value v = get(key);
    std::string nm = name(key);
    if (!v.IsNumber()) throw a_.type(nm.c_str(), "a number", Args::describe(v));
    double d = v.As<Napi::Number>().DoubleValue();
    bool ok = std::isfinite(d) && (openLo ? d > lo : d >= lo) && d <= hi;
    if (!ok)
      throw a_.range(nm.c_str(), "a number in " + std::string(openLo ? "(" : "[") + fmt(lo) + ", " + fmt(hi) + "]",
                     Args::describe(v));
    return d;
  }
  int64_t integer(const char* key, int64_t def, int64_t lo, int64_t hi) const {
    if (!present(key)) return def;
    Napi::Value v = get(key);
    std::string nm = name(key);
    if (!v.IsNumber()) throw a_.type(nm.c_str(), "an integer", Args::describe(v));
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::floor(d) != d) throw a_.type(nm.c_str(), "an integer", Args::describe(v));
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
      throw a_.range(nm.c_str(), "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
                     Args::describe(v));
    return static_cast<int64_t>(d);
  }
  // One of `choices` (a string), or the default.
  std::string choice(const char* key, const std::string& def, std::initializer_list<const char*> choices) const {
    if (!present(key)) return def;
    Napi::Value v = get(key);
    std::string list;
    for (const char* c : choices) list += std::string(list.empty() ? "" : " | ") + "'" + c + "'";
    std::string nm = name(key);
    if (!v.IsString()) throw a_.type(nm.c_str(), list, Args::describe(v));
    std::string s = v.As<Napi::String>().Utf8Value();
    for (const char* c : choices)
      if (s == c) return s;
    throw a_.range(nm.c_str(), list, Args::describe(v));
  }

 private:
  static std::string fmt(double x) {
    if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
    if (std::floor(x) == x && std::fabs(x) < 1e15) return std::to_string(static_cast<long long>(x));
    std::string s = std::to_string(x);
    while (!s.empty() && s.back() == '0') s.pop_back();
    return s;
  }
  const Args& a_;
  Napi::Object obj_;
  bool has_ = false;
};

// The options object into the kernel's struct (method 'auto' resolved by exactThreshold).
wk::TsneOptions parseOptions(const Args& a, Napi::Value v, size_t n, size_t d) {
  Options opt(a, v);
  wk::TsneOptions o;
  o.outDims = static_cast<int>(opt.integer("outputDims", 2, 2, 3));
  o.perplexity = opt.number("perplexity", 30.0, 0.0, 1e9, true);
  if (!(o.perplexity < static_cast<double>(n)))
    throw a.range("options.perplexity", "below the number of points (" + std::to_string(n) + ")",
                  opt.present("perplexity") ? Args::describe(opt.get("perplexity")) : "the default 30");
  o.iterations = static_cast<int>(opt.integer("iterations", 1000, 0, 1000000));
  o.seed = static_cast<uint64_t>(opt.integer("seed", 0, 0, 1LL << 53));
  int64_t threshold = opt.integer("exactThreshold", 5000, 0, kMaxExactN);
  std::string method = opt.choice("method", "auto", {"auto", "exact", "barnes-hut"});
  if (method == "auto") method = static_cast<int64_t>(n) <= threshold ? "exact" : "barnes-hut";
  o.method = method == "exact" ? wk::TsneMethod::Exact : wk::TsneMethod::BarnesHut;
  if (o.method == wk::TsneMethod::Exact && static_cast<int64_t>(n) > kMaxExactN)
    throw a.range("options.method", "'barnes-hut' or 'auto' for more than " + std::to_string(kMaxExactN) +
                                        " points (exact stores n^2 affinities)",
                  "'exact' with " + std::to_string(n) + " points");
  o.theta = opt.number("theta", 0.5, 0.0, 2.0);
  o.learningRate = -1.0;  // 'auto'
  if (opt.present("learningRate")) {
    if (opt.get("learningRate").IsString()) opt.choice("learningRate", "auto", {"auto"});
    else o.learningRate = opt.number("learningRate", -1.0, 0.0, 1e9, true);
  }
  o.earlyExaggeration = opt.number("earlyExaggeration", 12.0, 1.0, 1000.0);
  o.exaggerationIterations = static_cast<int>(opt.integer("exaggerationIterations", 250, 0, 1000000));
  std::string init = opt.choice("init", "pca", {"pca", "random"});
  o.init = init == "pca" ? wk::TsneInit::Pca : wk::TsneInit::Random;
  if (o.init == wk::TsneInit::Pca)
    a.require(d >= static_cast<size_t>(o.outDims),
              "options.init 'pca' needs at least outputDims (" + std::to_string(o.outDims) +
                  ") input dimensions, got D=" + std::to_string(d) + ": use init 'random'");
  return o;
}

Napi::Value Tsne(const Napi::CallbackInfo& info) {
  Args a(info, "tsne", 5);
  const size_t n = static_cast<size_t>(a.integer(1, "n", 2, kMaxN));
  const size_t d = static_cast<size_t>(a.integer(2, "d", 1, 1LL << 24));
  auto x = wk::exactF32(a, 0, "points", n * d);
  for (size_t i = 0; i < n * d; ++i)
    if (!std::isfinite(x.data[i]))
      throw a.range("points", "finite values", "a non-finite value at index " + std::to_string(i));
  wk::TsneOptions o = parseOptions(a, info[3], n, d);
  auto emb = wk::exactF32(a, 4, "embedding", n * o.outDims);
  wk::TsneResult r = wk::tsne(x.data, n, d, o, emb.data);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("dims", Napi::Number::New(info.Env(), o.outDims));
  out.Set("method", Napi::String::New(info.Env(), r.method == wk::TsneMethod::Exact ? "exact" : "barnes-hut"));
  out.Set("klDivergence", Napi::Number::New(info.Env(), r.klDivergence));
  out.Set("learningRate", Napi::Number::New(info.Env(), r.learningRate));
  return out;
}

Napi::Value TsneConditionalAffinities(const Napi::CallbackInfo& info) {
  Args a(info, "tsneConditionalAffinities", 6);
  const size_t n = static_cast<size_t>(a.integer(1, "n", 2, kMaxExactN));
  const size_t d = static_cast<size_t>(a.integer(2, "d", 1, 1LL << 24));
  auto x = wk::exactF32(a, 0, "points", n * d);
  const double perp = a.number(3, "perplexity");
  a.require(perp > 0 && perp < static_cast<double>(n),
            "perplexity must be in (0, " + std::to_string(n) + "), got " + Args::describe(info[3]));
  const size_t k = static_cast<size_t>(a.integer(4, "k", 0, static_cast<int64_t>(n) - 1));
  auto out = wk::exactF32(a, 5, "out", n * n);
  return Napi::Number::New(info.Env(), wk::tsneConditionalAffinities(x.data, n, d, perp, k, out.data));
}

Napi::Value TsneObjective(const Napi::CallbackInfo& info) {
  Args a(info, "tsneObjective", 8);
  const size_t n = static_cast<size_t>(a.integer(2, "n", 2, kMaxExactN));
  const int dims = static_cast<int>(a.integer(3, "dims", 2, 3));
  auto P = wk::exactF32(a, 0, "P", n * n);
  auto y = wk::exactF32(a, 1, "y", n * dims);
  const double exaggeration = a.number(4, "exaggeration");
  const auto method = static_cast<wk::TsneMethod>(a.integer(5, "method", 0, 1));
  const double theta = a.number(6, "theta");
  a.require(theta >= 0, "theta must be >= 0, got " + Args::describe(info[6]));
  auto grad = wk::exactF32(a, 7, "grad", n * dims);
  return Napi::Number::New(info.Env(), wk::tsneObjective(P.data, y.data, n, dims, exaggeration, method, theta, grad.data));
}

Napi::Value Trustworthiness(const Napi::CallbackInfo& info) {
  Args a(info, "trustworthiness", 6);
  const size_t n = static_cast<size_t>(a.integer(1, "n", 3, kMaxN));
  const size_t dh = static_cast<size_t>(a.integer(2, "dh", 1, 1LL << 24));
  const size_t dl = static_cast<size_t>(a.integer(4, "dl", 1, 1LL << 24));
  auto high = wk::exactF32(a, 0, "high", n * dh);
  auto low = wk::exactF32(a, 3, "low", n * dl);
  // k < n / 2 keeps the normaliser 2n - 3k - 1 positive.
  const int64_t kMax = (static_cast<int64_t>(n) - 1) / 2;
  const size_t k = static_cast<size_t>(a.integer(5, "k", 1, kMax));
  return Napi::Number::New(info.Env(), wk::trustworthiness(high.data, n, dh, low.data, dl, k));
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("tsne", Napi::Function::New(env, Tsne, "tsne"));
  exports.Set("tsneConditionalAffinities", Napi::Function::New(env, TsneConditionalAffinities, "tsneConditionalAffinities"));
  exports.Set("tsneObjective", Napi::Function::New(env, TsneObjective, "tsneObjective"));
  exports.Set("trustworthiness", Napi::Function::New(env, Trustworthiness, "trustworthiness"));
}

}  // namespace

WK_REGISTER(tsne, Register);
