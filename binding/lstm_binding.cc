// Node-API glue for the LSTM family (cpp/lstm.h): argument checks only, no math.
// Optional arrays are passed as null/undefined. Every array must have exactly the size the
// dimensions imply, so no JS input can make a kernel read or write out of bounds.
#include <string>
#include <vector>

#include "args.h"
#include "lstm.h"
#include "registry.h"

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 31;

float* need(const wk::Args& a, size_t i, const char* name, size_t n) {
  auto v = a.f32(i, name);
  if (v.size != n)
    throw a.range(name, std::to_string(n) + " elements", std::to_string(v.size) + " elements");
  return v.data;
}

float* opt(const wk::Args& a, size_t i, const char* name, size_t n) {
  if (a.isUndefined(i)) return nullptr;
  return need(a, i, name, n);
}

size_t dim(const wk::Args& a, size_t i, const char* name, int64_t lo = 0) {
  return static_cast<size_t>(a.integer(i, name, lo, kMaxDim));
}

void checkTotal(const wk::Args& a, double elements) {
  a.require(elements < 4.0e12, "sizes are too large");
}

// lstmCellForward(x, h?, c?, wih, whh, bih?, bhh?, B, I, H, gates, cNew, hNew, tanhC)
Napi::Value CellForward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "lstmCellForward", 14);
  size_t B = dim(a, 7, "B"), I = dim(a, 8, "I"), H = dim(a, 9, "H", 1);
  checkTotal(a, double(B) * 4 * H * (I + H + 1));
  wk::LstmParams p;
  p.I = I;
  p.H = H;
  const float* x = need(a, 0, "x", B * I);
  const float* h = opt(a, 1, "h", B * H);
  const float* c = opt(a, 2, "c", B * H);
  p.wih = need(a, 3, "weight_ih", 4 * H * I);
  p.whh = need(a, 4, "weight_hh", 4 * H * H);
  p.bih = opt(a, 5, "bias_ih", 4 * H);
  p.bhh = opt(a, 6, "bias_hh", 4 * H);
  float* gates = need(a, 10, "gates", B * 4 * H);
  float* cNew = need(a, 11, "cNew", B * H);
  float* hNew = need(a, 12, "hNew", B * H);
  float* tanhC = need(a, 13, "tanhC", B * H);
  wk::lstmCellForward(B, p, x, h, c, gates, cNew, hNew, tanhC);
  return info.Env().Undefined();
}

// lstmCellBackward(x, h?, c?, wih, whh, gates, tanhC, dhNew?, dcNew?, B, I, H,
//                  dx?, dh?, dc?, dwih?, dwhh?, dbih?, dbhh?, dGates?)
Napi::Value CellBackward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "lstmCellBackward", 12);
  size_t B = dim(a, 9, "B"), I = dim(a, 10, "I"), H = dim(a, 11, "H", 1);
  checkTotal(a, double(B) * 4 * H * (I + H + 1));
  wk::LstmParams p;
  p.I = I;
  p.H = H;
  const float* x = need(a, 0, "x", B * I);
  const float* h = opt(a, 1, "h", B * H);
  const float* c = opt(a, 2, "c", B * H);
  p.wih = need(a, 3, "weight_ih", 4 * H * I);
  p.whh = need(a, 4, "weight_hh", 4 * H * H);
  const float* gates = need(a, 5, "gates", B * 4 * H);
  const float* tanhC = need(a, 6, "tanhC", B * H);
  const float* dhNew = opt(a, 7, "dhNew", B * H);
  const float* dcNew = opt(a, 8, "dcNew", B * H);
  float* dx = opt(a, 12, "dx", B * I);
  float* dh = opt(a, 13, "dh", B * H);
  float* dc = opt(a, 14, "dc", B * H);
  wk::LstmParamGrads g;
  g.wih = opt(a, 15, "dweight_ih", 4 * H * I);
  g.whh = opt(a, 16, "dweight_hh", 4 * H * H);
  g.bih = opt(a, 17, "dbias_ih", 4 * H);
  g.bhh = opt(a, 18, "dbias_hh", 4 * H);
  float* dGates = opt(a, 19, "dGates", B * 4 * H);
  wk::lstmCellBackward(B, p, x, h, c, gates, tanhC, dhNew, dcNew, dx, dh, dc, g, dGates);
  return info.Env().Undefined();
}

// lstmSequenceForward(x, h0?, c0?, wih, whh, bih?, bhh?, T, B, I, H, batchFirst,
//                     y, gates, tanhC, cs, hN?, cN?)
Napi::Value SeqForward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "lstmSequenceForward", 16);
  size_t T = dim(a, 7, "T"), B = dim(a, 8, "B"), I = dim(a, 9, "I"), H = dim(a, 10, "H", 1);
  bool bf = a.boolean(11, "batchFirst");
  checkTotal(a, double(T + 1) * B * 4 * H * (I + H + 1));
  wk::LstmParams p;
  p.I = I;
  p.H = H;
  const float* x = need(a, 0, "x", T * B * I);
  const float* h0 = opt(a, 1, "h0", B * H);
  const float* c0 = opt(a, 2, "c0", B * H);
  p.wih = need(a, 3, "weight_ih", 4 * H * I);
  p.whh = need(a, 4, "weight_hh", 4 * H * H);
  p.bih = opt(a, 5, "bias_ih", 4 * H);
  p.bhh = opt(a, 6, "bias_hh", 4 * H);
  float* y = need(a, 12, "y", T * B * H);
  float* gates = need(a, 13, "gates", T * B * 4 * H);
  float* tanhC = need(a, 14, "tanhC", T * B * H);
  float* cs = need(a, 15, "cs", (T + 1) * B * H);
  float* hN = opt(a, 16, "hN", B * H);
  float* cN = opt(a, 17, "cN", B * H);
  wk::lstmSequenceForward(T, B, bf, p, x, h0, c0, y, gates, tanhC, cs, hN, cN);
  return info.Env().Undefined();
}

// lstmSequenceBackward(x, h0?, y, gates, tanhC, cs, wih, whh, dy?, dhN?, dcN?, T, B, I, H,
//                      batchFirst, dx?, dh0?, dc0?, dwih?, dwhh?, dbih?, dbhh?)
Napi::Value SeqBackward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "lstmSequenceBackward", 16);
  size_t T = dim(a, 11, "T"), B = dim(a, 12, "B"), I = dim(a, 13, "I"), H = dim(a, 14, "H", 1);
  bool bf = a.boolean(15, "batchFirst");
  checkTotal(a, double(T + 1) * B * 4 * H * (I + H + 1));
  wk::LstmParams p;
  p.I = I;
  p.H = H;
  const float* x = need(a, 0, "x", T * B * I);
  const float* h0 = opt(a, 1, "h0", B * H);
  const float* y = need(a, 2, "y", T * B * H);
  const float* gates = need(a, 3, "gates", T * B * 4 * H);
  const float* tanhC = need(a, 4, "tanhC", T * B * H);
  const float* cs = need(a, 5, "cs", (T + 1) * B * H);
  p.wih = need(a, 6, "weight_ih", 4 * H * I);
  p.whh = need(a, 7, "weight_hh", 4 * H * H);
  const float* dy = opt(a, 8, "dy", T * B * H);
  const float* dhN = opt(a, 9, "dhN", B * H);
  const float* dcN = opt(a, 10, "dcN", B * H);
  float* dx = opt(a, 16, "dx", T * B * I);
  float* dh0 = opt(a, 17, "dh0", B * H);
  float* dc0 = opt(a, 18, "dc0", B * H);
  wk::LstmParamGrads g;
  g.wih = opt(a, 19, "dweight_ih", 4 * H * I);
  g.whh = opt(a, 20, "dweight_hh", 4 * H * H);
  g.bih = opt(a, 21, "dbias_ih", 4 * H);
  g.bhh = opt(a, 22, "dbias_hh", 4 * H);
  wk::lstmSequenceBackward(T, B, bf, p, x, h0, y, gates, tanhC, cs, dy, dhN, dcN, dx, dh0, dc0, g);
  return info.Env().Undefined();
}

// residualHeadForward(z?, h, W, b?, R, D, K, out)
Napi::Value HeadForward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "residualHeadForward", 8);
  size_t R = dim(a, 4, "R"), D = dim(a, 5, "D"), K = dim(a, 6, "K");
  checkTotal(a, double(R + D) * (K + 1) + double(R) * D);
  const float* z = opt(a, 0, "z", R * D);
  const float* h = need(a, 1, "h", R * K);
  const float* W = need(a, 2, "weight", D * K);
  const float* b = opt(a, 3, "bias", D);
  float* out = need(a, 7, "out", R * D);
  wk::residualHeadForward(R, D, K, z, h, W, b, out);
  return info.Env().Undefined();
}

// residualHeadBackward(h, W, dout, R, D, K, dh?, dW?, db?)
Napi::Value HeadBackward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "residualHeadBackward", 6);
  size_t R = dim(a, 3, "R"), D = dim(a, 4, "D"), K = dim(a, 5, "K");
  checkTotal(a, double(R + D) * (K + 1) + double(R) * D);
  const float* h = need(a, 0, "h", R * K);
  const float* W = need(a, 1, "weight", D * K);
  const float* dout = need(a, 2, "dout", R * D);
  float* dh = opt(a, 6, "dh", R * K);
  float* dW = opt(a, 7, "dweight", D * K);
  float* db = opt(a, 8, "dbias", D);
  wk::residualHeadBackward(R, D, K, h, W, dout, dh, dW, db);
  return info.Env().Undefined();
}

// lstmRolloutForward(layers, headW, headB?, h, c, z0, actions?, B, D, A, H, S, residual,
//                    actionRowStride, out)
// layers: an Array of L entries [weight_ih, weight_hh, bias_ih?, bias_hh?]; h, c [L,B,H] (the
// state after the context, updated in place); z0 [B,D]; actions rows b*actionRowStride + k*A
// for k < S; out [B,S,D].
Napi::Value RolloutForward(const Napi::CallbackInfo& info) {
  wk::Args a(info, "lstmRolloutForward", 15);
  size_t B = dim(a, 7, "B"), D = dim(a, 8, "D", 1), A = dim(a, 9, "A"), H = dim(a, 10, "H", 1), S = dim(a, 11, "S");
  bool residual = a.boolean(12, "residual");
  size_t stride = dim(a, 13, "actionRowStride");
  if (!info[0].IsArray()) throw a.type("layers", "an Array of [weight_ih, weight_hh, bias_ih, bias_hh]", "another value");
  Napi::Array arr = info[0].As<Napi::Array>();
  size_t L = arr.Length();
  a.require(L >= 1 && L <= 1024, "layers must hold 1 to 1024 layers");
  checkTotal(a, double(B) * 4 * H * (D + A + H + 1) * double(L) + double(B) * S * D + double(D) * H);
  checkTotal(a, double(stride) * B);
  std::vector<wk::LstmParams> ps(L);
  auto f32Of = [&](Napi::Value v, const std::string& name, size_t n, bool optional) -> const float* {
    if (optional && (v.IsUndefined() || v.IsNull())) return nullptr;
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw a.type(name.c_str(), "a Float32Array", "another value");
    Napi::Float32Array f = v.As<Napi::Float32Array>();
    if (f.ElementLength() != n)
      throw a.range(name.c_str(), std::to_string(n) + " elements", std::to_string(f.ElementLength()) + " elements");
    return f.Data();
  };
  for (size_t l = 0; l < L; ++l) {
    Napi::Value e = arr.Get(static_cast<uint32_t>(l));
    std::string nm = "layers[" + std::to_string(l) + "]";
    if (!e.IsArray() || e.As<Napi::Array>().Length() != 4)
      throw a.type(nm.c_str(), "an Array [weight_ih, weight_hh, bias_ih, bias_hh]", "another value");
    Napi::Array le = e.As<Napi::Array>();
    size_t I = l == 0 ? D + A : H;
    ps[l].I = I;
    ps[l].H = H;
    ps[l].wih = f32Of(le.Get(0u), nm + ".weight_ih", 4 * H * I, false);
    ps[l].whh = f32Of(le.Get(1u), nm + ".weight_hh", 4 * H * H, false);
    ps[l].bih = f32Of(le.Get(2u), nm + ".bias_ih", 4 * H, true);
    ps[l].bhh = f32Of(le.Get(3u), nm + ".bias_hh", 4 * H, true);
  }
  const float* W = need(a, 1, "headW", D * H);
  const float* hb = opt(a, 2, "headB", D);
  float* h = need(a, 3, "h", L * B * H);
  float* c = need(a, 4, "c", L * B * H);
  const float* z0 = need(a, 5, "z0", B * D);
  const float* act = nullptr;
  if (!a.isUndefined(6)) {
    auto v = a.f32(6, "actions");
    if (A && B && S) {
      a.require(stride >= S * A, "actionRowStride must be >= S*A");
      size_t needN = (B - 1) * stride + S * A;
      if (v.size < needN)
        throw a.range("actions", "at least " + std::to_string(needN) + " elements", std::to_string(v.size) + " elements");
    }
    act = v.data;
  } else {
    a.require(A == 0, "actions are required when A > 0");
  }
  float* out = need(a, 14, "out", B * S * D);
  wk::lstmRolloutForward(L, ps.data(), B, D, A, W, hb, residual, h, c, z0, act, stride, S, out);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("lstmRolloutForward", Napi::Function::New(env, RolloutForward, "lstmRolloutForward"));
  exports.Set("lstmCellForward", Napi::Function::New(env, CellForward, "lstmCellForward"));
  exports.Set("lstmCellBackward", Napi::Function::New(env, CellBackward, "lstmCellBackward"));
  exports.Set("lstmSequenceForward", Napi::Function::New(env, SeqForward, "lstmSequenceForward"));
  exports.Set("lstmSequenceBackward", Napi::Function::New(env, SeqBackward, "lstmSequenceBackward"));
  exports.Set("residualHeadForward", Napi::Function::New(env, HeadForward, "residualHeadForward"));
  exports.Set("residualHeadBackward", Napi::Function::New(env, HeadBackward, "residualHeadBackward"));
}

}  // namespace

WK_REGISTER(lstm, Register);
