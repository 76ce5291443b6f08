// The device-tensor API shared by the real addon (binding/cuda_device_binding.cc, exported as
// `cudaDevice`) and the emulation addon (cuda/emulation/emu_device.cc, exported as
// `cuda.device`): the same N-API functions over cuda/memory.cu and the launchers of
// cuda/kernels.h. Include from exactly one file per addon.
//
// Buffers: alloc(bytes) returns a handle (a type-tagged External) owning one block of the caching
// allocator, zero-filled; view(h, byteOffset, bytes) returns a handle onto part of it (tensor
// views). free(h) returns the block to the cache at once and makes every handle onto it dead
// (using a dead handle throws); a block whose handles are all garbage collected is released too.
// Every op checks each handle's byte size against the sizes it is given before launching, so no
// JS input makes a kernel read or write out of bounds; launch errors throw "<op>: CUDA error ...".
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "device_memory.h"
#include "elementwise.h"
#include "kernels.h"

namespace wk_dev {

// wk::Args plus access to the raw arguments (handles and shape arrays).
struct DArgs : wk::Args {
  const Napi::CallbackInfo& raw;
  DArgs(const Napi::CallbackInfo& info, const char* fn, size_t n) : wk::Args(info, fn, n), raw(info) {}
  const Napi::CallbackInfo& info() const { return raw; }
};

struct Block {
  void* ptr = nullptr;
  size_t bytes = 0;
  bool live = false;
  ~Block() {
    if (live) wk::cuda::deviceRelease(ptr);
  }
};
struct Ref {
  std::shared_ptr<Block> block;
  size_t offset = 0, bytes = 0;
  bool root = false;
};

inline const napi_type_tag& tag() {
  static const napi_type_tag t = {0x77c0d3b1a2e54f10ULL, 0x9b6e3c1d2a4f5e87ULL};
  return t;
}

inline Napi::Value wrap(Napi::Env env, Ref* r) {
  auto ext = Napi::External<Ref>::New(env, r, [](Napi::Env, Ref* p) { delete p; });
  napi_status s = napi_type_tag_object(env, ext, &tag());
  if (s != napi_ok) throw Napi::Error::New(env, "cudaDevice: cannot tag a device handle");
  return ext;
}

inline Ref* refOf(const DArgs& a, const Napi::Value& v, const char* name) {
  bool ok = false;
  if (v.IsExternal()) napi_check_object_type_tag(a.env(), v, &tag(), &ok);
  if (!ok) throw a.type(name, "a device buffer handle", wk::Args::describe(v));
  Ref* r = v.As<Napi::External<Ref>>().Data();
  if (!r->block || !r->block->live)
    throw Napi::Error::New(a.env(), std::string(a.fn()) + ": " + name + " is a freed device buffer");
  return r;
}

// The device pointer of argument i (null/undefined -> nullptr when optional), holding at least
// `floats` floats.
inline float* P(const DArgs& a, size_t i, const char* name, size_t floats, bool optional = false) {
  if (a.isUndefined(i)) {
    if (optional) return nullptr;
    throw a.type(name, "a device buffer handle", "null");
  }
  Ref* r = refOf(a, a.info()[i], name);
  if (r->bytes < floats * sizeof(float))
    throw a.range(name, "a device buffer of at least " + std::to_string(floats * sizeof(float)) + " bytes",
                  std::to_string(r->bytes) + " bytes");
  return reinterpret_cast<float*>(static_cast<char*>(r->block->ptr) + r->offset);
}
inline float* Popt(const DArgs& a, size_t i, const char* name, size_t floats) { return P(a, i, name, floats, true); }

inline void check(const DArgs& a, int code) {
  if (code != 0)
    throw Napi::Error::New(a.env(), std::string(a.fn()) + ": CUDA error " + wk::cuda::errorText(code));
}

inline size_t Z(const DArgs& a, size_t i, const char* name) { return static_cast<size_t>(a.integer(i, name)); }

inline std::vector<int64_t> shapeArg(const DArgs& a, size_t i, const char* name) {
  Napi::Value v = a.info()[i];
  if (!v.IsArray()) throw a.type(name, "an array of sizes", wk::Args::describe(v));
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<int64_t> s;
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value d = arr.Get(k);
    if (!d.IsNumber() || d.As<Napi::Number>().DoubleValue() < 0)
      throw a.type(name, "an array of non-negative sizes", wk::Args::describe(v));
    s.push_back(d.As<Napi::Number>().Int64Value());
  }
  if (s.size() > 6) throw a.range(name, "at most 6 dimensions", std::to_string(s.size()));
  return s;
}
inline size_t prod(const std::vector<int64_t>& s) {
  size_t n = 1;
  for (auto d : s) n *= static_cast<size_t>(d);
  return n;
}
inline std::vector<int64_t> padTo(const std::vector<int64_t>& s, size_t nd) {
  std::vector<int64_t> out(nd - s.size(), 1);
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

// A temporary device buffer from the cache (released when it goes out of scope; stream order
// keeps the release safe while a launched kernel still uses it).
struct Scratch {
  void* p = nullptr;
  Scratch(const DArgs& a, size_t bytes) {
    if (bytes) check(a, wk::cuda::deviceAlloc(bytes, &p));
  }
  ~Scratch() { wk::cuda::deviceRelease(p); }
  float* f() const { return static_cast<float*>(p); }
};

// ---- buffers ----------------------------------------------------------------------------------
inline Napi::Value Alloc(const Napi::CallbackInfo& info) {
  DArgs a(info, "cudaDevice.alloc", 1);
  size_t bytes = static_cast<size_t>(a.integer(0, "bytes"));
  void* p = nullptr;
  check(a, wk::cuda::deviceAlloc(bytes, &p));
  int z = wk::cuda::memsetZero(p, bytes);
  if (z != 0) {
    wk::cuda::deviceRelease(p);
    check(a, z);
  }
  auto b = std::make_shared<Block>();
  b->ptr = p;
  b->bytes = bytes;
  b->live = true;
  return wrap(info.Env(), new Ref{b, 0, bytes, true});
}
inline Napi::Value Free(const Napi::CallbackInfo& info) {
  DArgs a(info, "cudaDevice.free", 1);
  bool ok = false;
  if (info[0].IsExternal()) napi_check_object_type_tag(a.env(), info[0], &tag(), &ok);
  if (!ok) throw a.type("handle", "a device buffer handle", wk::Args::describe(info[0]));
  Ref* r = info[0].As<Napi::External<Ref>>().Data();
  if (r->block && r->block->live) {
    r->block->live = false;
    wk::cuda::deviceRelease(r->block->ptr);
  }
  return info.Env().Undefined();
}
inline Napi::Value View(const Napi::CallbackInfo& info) {
  DArgs a(info, "cudaDevice.view", 3);
  Ref* r = refOf(a, info[0], "handle");
  size_t off = static_cast<size_t>(a.integer(1, "byteOffset")), bytes = static_cast<size_t>(a.integer(2, "bytes"));
  if (off > r->bytes || bytes > r->bytes - off)
    throw a.range("bytes", "a range inside the " + std::to_string(r->bytes) + "-byte buffer",
                  "[" + std::to_string(off) + ", " + std::to_string(off + bytes) + ")");
  return wrap(info.Env(), new Ref{r->block, r->offset + off, bytes, false});
}
inline Napi::Value ByteSize(const Napi::CallbackInfo& info) {
  DArgs a(info, "cudaDevice.byteSize", 1);
  return Napi::Number::New(info.Env(), static_cast<double>(refOf(a, info[0], "handle")->bytes));
}
inline char* bytesOf(Ref* r) { return static_cast<char*>(r->block->ptr) + r->offset; }
inline void hostSpan(const DArgs& a, size_t i, void** data, size_t* bytes) {
  Napi::Value v = a.info()[i];
  if (!v.IsTypedArray()) throw a.type("host", "a typed array", wk::Args::describe(v));
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  *data = static_cast<char*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  *bytes = t.ByteLength();
}
// upload(handle, typedArray) / download(handle, typedArray): byte sizes must match.
template <bool Up>
Napi::Value Transfer(const Napi::CallbackInfo& info) {
  DArgs a(info, Up ? "cudaDevice.upload" : "cudaDevice.download", 2);
  Ref* r = refOf(a, info[0], "handle");
  void* h = nullptr;
  size_t n = 0;
  hostSpan(a, 1, &h, &n);
  if (n != r->bytes) throw a.range("host", std::to_string(r->bytes) + " bytes", std::to_string(n) + " bytes");
  check(a, Up ? wk::cuda::copyHostToDevice(bytesOf(r), h, n) : wk::cuda::copyDeviceToHost(h, bytesOf(r), n));
  return info.Env().Undefined();
}
// copy(dst, src): same byte sizes, device to device.
inline Napi::Value Copy(const Napi::CallbackInfo& info) {
  DArgs a(info, "cudaDevice.copy", 2);
  Ref* d = refOf(a, info[0], "dst");
  Ref* s = refOf(a, info[1], "src");
  if (d->bytes != s->bytes) throw a.range("src", std::to_string(d->bytes) + " bytes", std::to_string(s->bytes) + " bytes");
  check(a, wk::cuda::copyDeviceToDevice(bytesOf(d), bytesOf(s), d->bytes));
  return info.Env().Undefined();
}
// copy2d(dst, dstOffset, dstPitch, src, srcOffset, srcPitch, width, height): in floats.
inline Napi::Value Copy2d(const Napi::CallbackInfo& info) {
  DArgs a(info, "cudaDevice.copy2d", 8);
  size_t dOff = Z(a, 1, "dstOffset"), dPitch = Z(a, 2, "dstPitch"), sOff = Z(a, 4, "srcOffset"),
         sPitch = Z(a, 5, "srcPitch"), w = Z(a, 6, "width"), h = Z(a, 7, "height");
  if (w == 0 || h == 0) return info.Env().Undefined();
  a.require(w <= dPitch && w <= sPitch, "cudaDevice.copy2d: width must not exceed either pitch");
  float* d = P(a, 0, "dst", dOff + (h - 1) * dPitch + w);
  float* s = P(a, 3, "src", sOff + (h - 1) * sPitch + w);
  check(a, wk::cuda::copy2d(d + dOff, dPitch * 4, s + sOff, sPitch * 4, w * 4, h));
  return info.Env().Undefined();
}
inline Napi::Value Stats(const Napi::CallbackInfo& info) {
  auto s = wk::cuda::memStats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("bytesInUse", static_cast<double>(s.bytesInUse));
  o.Set("bytesCached", static_cast<double>(s.bytesCached));
  o.Set("blocksInUse", static_cast<double>(s.blocksInUse));
  o.Set("blocksCached", static_cast<double>(s.blocksCached));
  o.Set("mallocs", static_cast<double>(s.mallocs));
  o.Set("reuses", static_cast<double>(s.reuses));
  return o;
}
inline Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  wk::cuda::emptyCache();
  return info.Env().Undefined();
}
inline Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  DArgs a(info, "cudaDevice.synchronize", 0);
  check(a, wk::cuda::synchronize());
  return info.Env().Undefined();
}

// ---- elementwise, broadcasting, reductions -----------------------------------------------------
// unaryForward(op, x, y, n, p0, p1)
inline Napi::Value UnaryForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "unaryForward", 6);
  size_t n = Z(a, 3, "n");
  check(a, wk::cuda::unaryForward((int)a.integer(0, "op", 0, static_cast<int>(wk::UnaryOp::kCount) - 1), P(a, 1, "x", n), P(a, 2, "y", n), n,
                                  a.number(4, "p0"), a.number(5, "p1")));
  return info.Env().Undefined();
}
// unaryBackward(op, x|null, y|null, g, gx, n, p0, p1)
inline Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "unaryBackward", 8);
  size_t n = Z(a, 5, "n");
  check(a, wk::cuda::unaryBackward((int)a.integer(0, "op", 0, static_cast<int>(wk::UnaryOp::kCount) - 1), Popt(a, 1, "x", n), Popt(a, 2, "y", n),
                                   P(a, 3, "g", n), P(a, 4, "gx", n), n, a.number(6, "p0"), a.number(7, "p1")));
  return info.Env().Undefined();
}
// binary(op, a, aShape, b, bShape, out, outShape): shapes aligned at the last dimension.
inline Napi::Value Binary(const Napi::CallbackInfo& info) {
  DArgs a(info, "binaryForward", 7);
  int op = (int)a.integer(0, "op", 0, 3);
  auto as = shapeArg(a, 2, "aShape"), bs = shapeArg(a, 4, "bShape"), os = shapeArg(a, 6, "outShape");
  size_t nd = os.size();
  a.require(as.size() <= nd && bs.size() <= nd, "binaryForward: operand ranks exceed the output's");
  float* pa = P(a, 1, "a", prod(as));
  float* pb = P(a, 3, "b", prod(bs));
  float* po = P(a, 5, "out", prod(os));
  if (prod(os) == 0) return info.Env().Undefined();
  if (as == os && bs == os) {
    check(a, wk::cuda::binarySame(op, pa, pb, po, prod(os)));
  } else {
    auto ap = padTo(as, nd), bp = padTo(bs, nd);
    for (size_t i = 0; i < nd; ++i)
      a.require((ap[i] == os[i] || ap[i] == 1) && (bp[i] == os[i] || bp[i] == 1),
                "binaryForward: operand shapes do not broadcast to the output shape");
    if (nd == 0) {
      check(a, wk::cuda::binarySame(op, pa, pb, po, 1));
    } else {
      check(a, wk::cuda::binaryBroadcast(op, pa, ap.data(), pb, bp.data(), po, os.data(), (int)nd));
    }
  }
  return info.Env().Undefined();
}
// binaryBackward(op, a, aShape, b, bShape, g, outShape, ga|null, gb|null)
inline Napi::Value BinaryBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "binaryBackward", 9);
  int op = (int)a.integer(0, "op", 0, 3);
  auto as = shapeArg(a, 2, "aShape"), bs = shapeArg(a, 4, "bShape"), os = shapeArg(a, 6, "outShape");
  size_t nd = os.size() == 0 ? 1 : os.size();
  a.require(as.size() <= nd && bs.size() <= nd, "binaryBackward: operand ranks exceed the output's");
  auto ap = padTo(as, nd), bp = padTo(bs, nd), op_ = padTo(os, nd);
  for (size_t i = 0; i < nd; ++i)
    a.require((ap[i] == op_[i] || ap[i] == 1) && (bp[i] == op_[i] || bp[i] == 1),
              "binaryBackward: operand shapes do not broadcast to the output shape");
  float* pa = P(a, 1, "a", prod(as));
  float* pb = P(a, 3, "b", prod(bs));
  float* pg = P(a, 5, "g", prod(os));
  float* ga = Popt(a, 7, "ga", prod(as));
  float* gb = Popt(a, 8, "gb", prod(bs));
  if (prod(os) == 0) return info.Env().Undefined();
  Scratch ws(a, wk::cuda::binaryBackwardWorkspace(op_.data(), (int)nd) * sizeof(float));
  check(a, wk::cuda::binaryBroadcastBackward(op, pa, ap.data(), pb, bp.data(), pg, op_.data(), (int)nd, ga, gb, ws.f()));
  return info.Env().Undefined();
}
// sumTo(full, fullShape, target, dst, scale): dst = scale * full summed over the axes where the
// target (same rank) is 1.
inline Napi::Value SumTo(const Napi::CallbackInfo& info) {
  DArgs a(info, "sumTo", 5);
  auto fs = shapeArg(a, 1, "fullShape"), ts = shapeArg(a, 2, "target");
  a.require(fs.size() == ts.size(), "sumTo: fullShape and target must have the same rank");
  for (size_t i = 0; i < fs.size(); ++i) a.require(ts[i] == fs[i] || ts[i] == 1, "sumTo: target must be 1 or the full size on every axis");
  float* pf = P(a, 0, "full", prod(fs));
  float* pd = P(a, 3, "dst", prod(ts));
  double scale = a.number(4, "scale");
  if (prod(ts) == 0) return info.Env().Undefined();
  if (fs.empty()) {
    fs.push_back(1);
    ts.push_back(1);
  }
  check(a, wk::cuda::sumTo(pf, fs.data(), ts.data(), (int)fs.size(), pd, scale));
  return info.Env().Undefined();
}
// broadcastTo(g, gShape, out, outShape, scale): out = scale * g broadcast (same rank).
inline Napi::Value BroadcastTo(const Napi::CallbackInfo& info) {
  DArgs a(info, "broadcastTo", 5);
  auto gs = shapeArg(a, 1, "gShape"), os = shapeArg(a, 3, "outShape");
  a.require(gs.size() == os.size(), "broadcastTo: shapes must have the same rank");
  for (size_t i = 0; i < gs.size(); ++i) a.require(gs[i] == os[i] || gs[i] == 1, "broadcastTo: g does not broadcast to outShape");
  float* pg = P(a, 0, "g", prod(gs));
  float* po = P(a, 2, "out", prod(os));
  float scale = (float)a.number(4, "scale");
  if (prod(os) == 0) return info.Env().Undefined();
  Scratch s(a, sizeof(float));
  check(a, wk::cuda::copyHostToDevice(s.p, &scale, sizeof(float)));
  if (gs.empty()) {
    gs.push_back(1);
    os.push_back(1);
  }
  std::vector<int64_t> ones(gs.size(), 1);
  check(a, wk::cuda::binaryBroadcast(2, pg, gs.data(), s.f(), ones.data(), po, os.data(), (int)os.size()));
  return info.Env().Undefined();
}
// axpy(y, x, n, alpha): y += alpha x
inline Napi::Value Axpy(const Napi::CallbackInfo& info) {
  DArgs a(info, "axpy", 4);
  size_t n = Z(a, 2, "n");
  check(a, wk::cuda::axpy(P(a, 0, "y", n), P(a, 1, "x", n), n, (float)a.number(3, "alpha")));
  return info.Env().Undefined();
}

// ---- gemm, losses, optim -------------------------------------------------------------------------
// gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
inline Napi::Value Gemm(const Napi::CallbackInfo& info) {
  DArgs a(info, "gemm", 13);
  bool tA = a.boolean(0, "transA"), tB = a.boolean(1, "transB");
  size_t M = Z(a, 2, "M"), N = Z(a, 3, "N"), K = Z(a, 4, "K"), lda = Z(a, 7, "lda"), ldb = Z(a, 9, "ldb"),
         ldc = Z(a, 12, "ldc");
  size_t aRows = tA ? K : M, aCols = tA ? M : K, bRows = tB ? N : K, bCols = tB ? K : N;
  a.require(lda >= aCols && ldb >= bCols && ldc >= N, "gemm: leading dimensions are smaller than the rows");
  auto need = [](size_t rows, size_t cols, size_t ld) { return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols; };
  float* A = P(a, 6, "A", need(aRows, aCols, lda));
  float* B = P(a, 8, "B", need(bRows, bCols, ldb));
  float* C = P(a, 11, "C", need(M, N, ldc));
  if (M == 0 || N == 0) return info.Env().Undefined();
  check(a, wk::cuda::gemm(tA, tB, M, N, K, (float)a.number(5, "alpha"), A, lda, B, ldb, (float)a.number(10, "beta"), C, ldc));
  return info.Env().Undefined();
}
// rowLossForward(kind, a, t, B, D, scale, out)
inline Napi::Value RowLossForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "rowLossForward", 7);
  size_t B = Z(a, 3, "B"), D = Z(a, 4, "D");
  check(a, wk::cuda::rowLossForward((int)a.integer(0, "kind", 0, 1), P(a, 1, "a", B * D), P(a, 2, "t", B * D), B, D,
                                    a.number(5, "scale"), P(a, 6, "out", B)));
  return info.Env().Undefined();
}
// rowLossBackward(kind, a, t, B, D, gRow, scale, ga|null, gt|null)
inline Napi::Value RowLossBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "rowLossBackward", 9);
  size_t B = Z(a, 3, "B"), D = Z(a, 4, "D");
  check(a, wk::cuda::rowLossBackward((int)a.integer(0, "kind", 0, 1), P(a, 1, "a", B * D), P(a, 2, "t", B * D), B, D,
                                     P(a, 5, "gRow", B), a.number(6, "scale"), Popt(a, 7, "ga", B * D),
                                     Popt(a, 8, "gt", B * D)));
  return info.Env().Undefined();
}
// adamStep(p, g, m, v, n, lr, b1, b2, eps, wd, decoupled, bc1, bc2)
inline Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  DArgs a(info, "adamStep", 13);
  size_t n = Z(a, 4, "n");
  check(a, wk::cuda::adamStep(P(a, 0, "p", n), P(a, 1, "g", n), P(a, 2, "m", n), P(a, 3, "v", n), n,
                              (float)a.number(5, "lr"), (float)a.number(6, "beta1"), (float)a.number(7, "beta2"),
                              (float)a.number(8, "eps"), (float)a.number(9, "weightDecay"), a.boolean(10, "decoupled"),
                              a.number(11, "bc1"), a.number(12, "bc2")));
  return info.Env().Undefined();
}

// ---- LSTM sequence and residual head ---------------------------------------------------------------
// lstmSequenceForward(x, h0, c0, wih, whh, bih, bhh, T, B, I, H, batchFirst, y, gates, tanhC, cs, hN, cN)
inline Napi::Value LstmSequenceForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "lstmSequenceForward", 18);
  size_t T = Z(a, 7, "T"), B = Z(a, 8, "B"), I = Z(a, 9, "I"), H = Z(a, 10, "H");
  bool bf = a.boolean(11, "batchFirst");
  wk::LstmParams p;
  p.I = I;
  p.H = H;
  p.wih = P(a, 3, "weight_ih", 4 * H * I);
  p.whh = P(a, 4, "weight_hh", 4 * H * H);
  p.bih = Popt(a, 5, "bias_ih", 4 * H);
  p.bhh = Popt(a, 6, "bias_hh", 4 * H);
  check(a, wk::cuda::lstmSequenceForward(T, B, bf, p, P(a, 0, "x", T * B * I), Popt(a, 1, "h0", B * H),
                                         Popt(a, 2, "c0", B * H), P(a, 12, "y", T * B * H),
                                         P(a, 13, "gates", T * B * 4 * H), P(a, 14, "tanhC", T * B * H),
                                         P(a, 15, "cs", (T + 1) * B * H), P(a, 16, "hN", B * H), P(a, 17, "cN", B * H)));
  return info.Env().Undefined();
}
// lstmSequenceBackward(x, h0, y, gates, tanhC, cs, wih, whh, dy, dhN, dcN, T, B, I, H, batchFirst,
//                      dx, dh0, dc0, gwih, gwhh, gbih, gbhh)
inline Napi::Value LstmSequenceBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "lstmSequenceBackward", 23);
  size_t T = Z(a, 11, "T"), B = Z(a, 12, "B"), I = Z(a, 13, "I"), H = Z(a, 14, "H");
  bool bf = a.boolean(15, "batchFirst");
  wk::LstmParams p;
  p.I = I;
  p.H = H;
  p.wih = P(a, 6, "weight_ih", 4 * H * I);
  p.whh = P(a, 7, "weight_hh", 4 * H * H);
  wk::LstmParamGrads g;
  g.wih = Popt(a, 19, "grad weight_ih", 4 * H * I);
  g.whh = Popt(a, 20, "grad weight_hh", 4 * H * H);
  g.bih = Popt(a, 21, "grad bias_ih", 4 * H);
  g.bhh = Popt(a, 22, "grad bias_hh", 4 * H);
  Scratch ws(a, wk::cuda::lstmSequenceBackwardWorkspace(T, B, H) * sizeof(float));
  check(a, wk::cuda::lstmSequenceBackward(T, B, bf, p, P(a, 0, "x", T * B * I), Popt(a, 1, "h0", B * H),
                                          P(a, 2, "y", T * B * H), P(a, 3, "gates", T * B * 4 * H),
                                          P(a, 4, "tanhC", T * B * H), P(a, 5, "cs", (T + 1) * B * H),
                                          Popt(a, 8, "dy", T * B * H), Popt(a, 9, "dhN", B * H), Popt(a, 10, "dcN", B * H),
                                          Popt(a, 16, "dx", T * B * I), Popt(a, 17, "dh0", B * H),
                                          Popt(a, 18, "dc0", B * H), g, ws.f()));
  return info.Env().Undefined();
}
// residualHeadForward(z|null, h, W, b|null, R, D, K, out)
inline Napi::Value ResidualHeadForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "residualHeadForward", 8);
  size_t R = Z(a, 4, "R"), D = Z(a, 5, "D"), K = Z(a, 6, "K");
  check(a, wk::cuda::residualHeadForward(R, D, K, Popt(a, 0, "z", R * D), P(a, 1, "h", R * K), P(a, 2, "W", D * K),
                                         Popt(a, 3, "b", D), P(a, 7, "out", R * D)));
  return info.Env().Undefined();
}
// residualHeadBackward(h, W, dout, R, D, K, dh|null, dW|null, db|null)
inline Napi::Value ResidualHeadBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "residualHeadBackward", 9);
  size_t R = Z(a, 3, "R"), D = Z(a, 4, "D"), K = Z(a, 5, "K");
  check(a, wk::cuda::residualHeadBackward(R, D, K, P(a, 0, "h", R * K), P(a, 1, "W", D * K), P(a, 2, "dout", R * D),
                                          Popt(a, 6, "dh", R * K), Popt(a, 7, "dW", D * K), Popt(a, 8, "db", D)));
  return info.Env().Undefined();
}

// ---- conv2d / convTranspose2d (conv.cu) ---------------------------------------------------------
// Geometry arguments at index i: N, C, H, W, K, kh, kw, sh, sw, ph, pw (conv2d: C in, K out).
inline wk::ConvGeom convGeomArgs(const DArgs& a, size_t i) {
  wk::ConvGeom g;
  g.N = Z(a, i, "N"), g.C = Z(a, i + 1, "C"), g.H = Z(a, i + 2, "H"), g.W = Z(a, i + 3, "W"), g.K = Z(a, i + 4, "K");
  g.kh = Z(a, i + 5, "kh"), g.kw = Z(a, i + 6, "kw"), g.sh = Z(a, i + 7, "strideH"), g.sw = Z(a, i + 8, "strideW");
  g.ph = Z(a, i + 9, "padH"), g.pw = Z(a, i + 10, "padW");
  a.require(g.kh >= 1 && g.kw >= 1 && g.sh >= 1 && g.sw >= 1, std::string(a.fn()) + ": kernel and stride must be at least 1");
  a.require(g.H + 2 * g.ph >= g.kh && g.W + 2 * g.pw >= g.kw, std::string(a.fn()) + ": the kernel is larger than the padded input");
  g.Ho = (g.H + 2 * g.ph - g.kh) / g.sh + 1;
  g.Wo = (g.W + 2 * g.pw - g.kw) / g.sw + 1;
  return g;
}
// Transposed: N, Cin, Hi, Wi, Cout, kh, kw, sh, sw, ph, pw, oph, opw -> the conv view (input = the
// transposed conv's output [N,Cout,Ho,Wo], output = its input [N,Cin,Hi,Wi]).
inline wk::ConvGeom convTGeomArgs(const DArgs& a, size_t i) {
  size_t N = Z(a, i, "N"), Cin = Z(a, i + 1, "Cin"), Hi = Z(a, i + 2, "Hi"), Wi = Z(a, i + 3, "Wi"),
         Cout = Z(a, i + 4, "Cout"), kh = Z(a, i + 5, "kh"), kw = Z(a, i + 6, "kw"), sh = Z(a, i + 7, "strideH"),
         sw = Z(a, i + 8, "strideW"), ph = Z(a, i + 9, "padH"), pw = Z(a, i + 10, "padW"),
         oph = Z(a, i + 11, "outputPaddingH"), opw = Z(a, i + 12, "outputPaddingW");
  a.require(kh >= 1 && kw >= 1 && sh >= 1 && sw >= 1 && oph < sh && opw < sw && Hi >= 1 && Wi >= 1,
            std::string(a.fn()) + ": invalid transposed-convolution geometry");
  long long ho = (static_cast<long long>(Hi) - 1) * sh - 2 * static_cast<long long>(ph) + kh + oph;
  long long wo = (static_cast<long long>(Wi) - 1) * sw - 2 * static_cast<long long>(pw) + kw + opw;
  a.require(ho >= 1 && wo >= 1, std::string(a.fn()) + ": the output size is not positive");
  wk::ConvGeom g;
  g.N = N, g.C = Cout, g.K = Cin, g.kh = kh, g.kw = kw, g.sh = sh, g.sw = sw, g.ph = ph, g.pw = pw;
  g.H = static_cast<size_t>(ho), g.W = static_cast<size_t>(wo), g.Ho = Hi, g.Wo = Wi;
  return g;
}
// conv2dForward(x, w, b|null, y, N, C, H, W, K, kh, kw, sh, sw, ph, pw)
inline Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "conv2dForward", 15);
  wk::ConvGeom g = convGeomArgs(a, 4);
  float* x = P(a, 0, "x", g.N * g.C * g.H * g.W);
  float* w = P(a, 1, "weight", g.K * g.C * g.kh * g.kw);
  float* b = Popt(a, 2, "bias", g.K);
  float* y = P(a, 3, "y", g.N * g.K * g.Ho * g.Wo);
  if (g.N * g.K * g.Ho * g.Wo == 0) return info.Env().Undefined();
  Scratch ws(a, wk::cuda::convWorkspace(g) * sizeof(float));
  check(a, wk::cuda::conv2dForward(g, x, w, b, y, ws.f()));
  return info.Env().Undefined();
}
// conv2dBackward(x, w, gy, gx|null, gw|null, gb|null, N, C, H, W, K, kh, kw, sh, sw, ph, pw)
inline Napi::Value Conv2dBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "conv2dBackward", 17);
  wk::ConvGeom g = convGeomArgs(a, 6);
  float* x = P(a, 0, "x", g.N * g.C * g.H * g.W);
  float* w = P(a, 1, "weight", g.K * g.C * g.kh * g.kw);
  float* gy = P(a, 2, "gy", g.N * g.K * g.Ho * g.Wo);
  float* gx = Popt(a, 3, "gx", g.N * g.C * g.H * g.W);
  float* gw = Popt(a, 4, "gw", g.K * g.C * g.kh * g.kw);
  float* gb = Popt(a, 5, "gb", g.K);
  Scratch ws(a, wk::cuda::convWorkspace(g) * sizeof(float));
  check(a, wk::cuda::conv2dBackward(g, x, w, gy, gx, gw, gb, ws.f()));
  return info.Env().Undefined();
}
// convTranspose2dForward(x, w, b|null, y, N, Cin, Hi, Wi, Cout, kh, kw, sh, sw, ph, pw, oph, opw)
inline Napi::Value ConvTranspose2dForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "convTranspose2dForward", 17);
  wk::ConvGeom g = convTGeomArgs(a, 4);
  float* x = P(a, 0, "x", g.N * g.K * g.Ho * g.Wo);
  float* w = P(a, 1, "weight", g.K * g.C * g.kh * g.kw);
  float* b = Popt(a, 2, "bias", g.C);
  float* y = P(a, 3, "y", g.N * g.C * g.H * g.W);
  if (g.N * g.C * g.H * g.W == 0) return info.Env().Undefined();
  Scratch ws(a, wk::cuda::convWorkspace(g) * sizeof(float));
  check(a, wk::cuda::convTranspose2dForward(g, x, w, b, y, ws.f()));
  return info.Env().Undefined();
}
// convTranspose2dBackward(x, w, gy, gx|null, gw|null, gb|null, N, Cin, Hi, Wi, Cout, kh, kw, sh, sw, ph, pw, oph, opw)
inline Napi::Value ConvTranspose2dBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "convTranspose2dBackward", 19);
  wk::ConvGeom g = convTGeomArgs(a, 6);
  float* x = P(a, 0, "x", g.N * g.K * g.Ho * g.Wo);
  float* w = P(a, 1, "weight", g.K * g.C * g.kh * g.kw);
  float* gy = P(a, 2, "gy", g.N * g.C * g.H * g.W);
  float* gx = Popt(a, 3, "gx", g.N * g.K * g.Ho * g.Wo);
  float* gw = Popt(a, 4, "gw", g.K * g.C * g.kh * g.kw);
  float* gb = Popt(a, 5, "gb", g.C);
  Scratch ws(a, wk::cuda::convWorkspace(g) * sizeof(float));
  check(a, wk::cuda::convTranspose2dBackward(g, x, w, gy, gx, gw, gb, ws.f()));
  return info.Env().Undefined();
}

// ---- KL and cross-entropy (losses.cu) -----------------------------------------------------------
// klNormalForward(mu, logvar, B, D, kl)
inline Napi::Value KlNormalForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "klNormalForward", 5);
  size_t B = Z(a, 2, "B"), D = Z(a, 3, "D");
  check(a, wk::cuda::klNormalForward(P(a, 0, "mu", B * D), P(a, 1, "logvar", B * D), B, D, P(a, 4, "kl", B)));
  return info.Env().Undefined();
}
// klNormalBackward(mu, logvar, B, D, kl, freeBits, gRow, scale, gmu|null, glogvar|null)
inline Napi::Value KlNormalBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "klNormalBackward", 10);
  size_t B = Z(a, 2, "B"), D = Z(a, 3, "D");
  check(a, wk::cuda::klNormalBackward(P(a, 0, "mu", B * D), P(a, 1, "logvar", B * D), B, D, P(a, 4, "kl", B),
                                      (float)a.number(5, "freeBits"), P(a, 6, "gRow", B), a.number(7, "scale"),
                                      Popt(a, 8, "gmu", B * D), Popt(a, 9, "glogvar", B * D)));
  return info.Env().Undefined();
}
// The labels (a host Int32Array of B classes in [0, C)) copied to a device scratch buffer.
struct DeviceLabels {
  Scratch s;
  DeviceLabels(const DArgs& a, size_t i, size_t B, size_t C) : s(a, B * sizeof(int32_t)) {
    Napi::Value v = a.info()[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw a.type("labels", "an Int32Array", wk::Args::describe(v));
    Napi::Int32Array l = v.As<Napi::Int32Array>();
    if (l.ElementLength() != B) throw a.range("labels", std::to_string(B) + " entries", std::to_string(l.ElementLength()));
    for (size_t b = 0; b < B; ++b)
      if (l[b] < 0 || static_cast<size_t>(l[b]) >= C)
        throw a.range("labels", "classes in [0, " + std::to_string(C) + ")", std::to_string(l[b]));
    if (B) check(a, wk::cuda::copyHostToDevice(s.p, l.Data(), B * sizeof(int32_t)));
  }
  const int32_t* p() const { return static_cast<const int32_t*>(s.p); }
};
// crossEntropyForward(logits, labels(Int32Array), B, C, loss)
inline Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "crossEntropyForward", 5);
  size_t B = Z(a, 2, "B"), C = Z(a, 3, "C");
  float* x = P(a, 0, "logits", B * C);
  float* loss = P(a, 4, "loss", B);
  DeviceLabels l(a, 1, B, C);
  if (B == 0) return info.Env().Undefined();
  check(a, wk::cuda::crossEntropyForward(x, l.p(), B, C, loss));
  return info.Env().Undefined();
}
// crossEntropyBackward(logits, labels(Int32Array), B, C, gRow, scale, glogits)
inline Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "crossEntropyBackward", 7);
  size_t B = Z(a, 2, "B"), C = Z(a, 3, "C");
  float* x = P(a, 0, "logits", B * C);
  float* gRow = P(a, 4, "gRow", B);
  float* gx = P(a, 6, "glogits", B * C);
  DeviceLabels l(a, 1, B, C);
  if (B == 0) return info.Env().Undefined();
  check(a, wk::cuda::crossEntropyBackward(x, l.p(), B, C, gRow, a.number(5, "scale"), gx));
  return info.Env().Undefined();
}

// ---- LSTM cell (lstm.cu) ------------------------------------------------------------------------
// lstmCellForward(x, h|null, c|null, wih, whh, bih|null, bhh|null, B, I, H, gates, cNew, hNew, tanhC)
inline Napi::Value LstmCellForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "lstmCellForward", 14);
  size_t B = Z(a, 7, "B"), I = Z(a, 8, "I"), H = Z(a, 9, "H");
  wk::LstmParams p;
  p.I = I;
  p.H = H;
  p.wih = P(a, 3, "weight_ih", 4 * H * I);
  p.whh = P(a, 4, "weight_hh", 4 * H * H);
  p.bih = Popt(a, 5, "bias_ih", 4 * H);
  p.bhh = Popt(a, 6, "bias_hh", 4 * H);
  if (B * H == 0) return info.Env().Undefined();
  check(a, wk::cuda::lstmCellForward(B, p, P(a, 0, "x", B * I), Popt(a, 1, "h", B * H), Popt(a, 2, "c", B * H),
                                     P(a, 10, "gates", B * 4 * H), P(a, 11, "cNew", B * H), P(a, 12, "hNew", B * H),
                                     P(a, 13, "tanhC", B * H)));
  return info.Env().Undefined();
}
// lstmCellBackward(x, h|null, c|null, wih, whh, gates, tanhC, dhNew|null, dcNew|null, B, I, H,
//                  dx|null, dh|null, dc|null, gwih|null, gwhh|null, gbih|null, gbhh|null[, dGates|null])
// dGates [B,4H], when given, receives the pre-activation gate gradients (for callers that form
// the weight gradients of many steps as one GEMM).
inline Napi::Value LstmCellBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "lstmCellBackward", 19);
  size_t B = Z(a, 9, "B"), I = Z(a, 10, "I"), H = Z(a, 11, "H");
  wk::LstmParams p;
  p.I = I;
  p.H = H;
  p.wih = P(a, 3, "weight_ih", 4 * H * I);
  p.whh = P(a, 4, "weight_hh", 4 * H * H);
  wk::LstmParamGrads g;
  g.wih = Popt(a, 15, "grad weight_ih", 4 * H * I);
  g.whh = Popt(a, 16, "grad weight_hh", 4 * H * H);
  g.bih = Popt(a, 17, "grad bias_ih", 4 * H);
  g.bhh = Popt(a, 18, "grad bias_hh", 4 * H);
  float* x = P(a, 0, "x", B * I);
  float* h = Popt(a, 1, "h", B * H);
  float* c = Popt(a, 2, "c", B * H);
  float* gates = P(a, 5, "gates", B * 4 * H);
  float* tanhC = P(a, 6, "tanhC", B * H);
  float* dhNew = Popt(a, 7, "dhNew", B * H);
  float* dcNew = Popt(a, 8, "dcNew", B * H);
  float* dx = Popt(a, 12, "dx", B * I);
  float* dh = Popt(a, 13, "dh", B * H);
  float* dc = Popt(a, 14, "dc", B * H);
  Scratch ws(a, wk::cuda::lstmCellBackwardWorkspace(B, H) * sizeof(float));
  float* dGates = info.Length() > 19 ? Popt(a, 19, "dGates", B * 4 * H) : nullptr;
  check(a, wk::cuda::lstmCellBackward(B, p, x, h, c, gates, tanhC, dhNew, dcNew, dx, dh, dc, g, dGates, ws.f()));
  return info.Env().Undefined();
}

// ---- LSTM gates alone (lstm.cu) ------------------------------------------------------------------
// lstmGatesForward(pre, c|null, B, H, gates, cNew, hNew, tanhC)
inline Napi::Value LstmGatesForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "lstmGatesForward", 8);
  size_t B = Z(a, 2, "B"), H = Z(a, 3, "H");
  float* pre = P(a, 0, "pre", B * 4 * H);
  float* c = Popt(a, 1, "c", B * H);
  float* gates = P(a, 4, "gates", B * 4 * H);
  float* cNew = P(a, 5, "cNew", B * H);
  float* hNew = P(a, 6, "hNew", B * H);
  float* tanhC = P(a, 7, "tanhC", B * H);
  check(a, wk::cuda::lstmGatesForward(B, H, pre, c, gates, cNew, hNew, tanhC));
  return info.Env().Undefined();
}
// lstmGatesBackward(gates, c|null, tanhC, dh|null, dcNew|null, B, H, dPre, dc|null)
inline Napi::Value LstmGatesBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "lstmGatesBackward", 9);
  size_t B = Z(a, 5, "B"), H = Z(a, 6, "H");
  float* gates = P(a, 0, "gates", B * 4 * H);
  float* c = Popt(a, 1, "c", B * H);
  float* tanhC = P(a, 2, "tanhC", B * H);
  float* dh = Popt(a, 3, "dh", B * H);
  float* dcNew = Popt(a, 4, "dcNew", B * H);
  float* dPre = P(a, 7, "dPre", B * 4 * H);
  float* dc = Popt(a, 8, "dc", B * H);
  check(a, wk::cuda::lstmGatesBackward(B, H, gates, c, tanhC, dh, dcNew, dPre, dc));
  return info.Env().Undefined();
}

// ---- SGD (optim.cu) -----------------------------------------------------------------------------
// sgdStep(p, g, buf|null, n, lr, momentum, dampening, weightDecay, nesterov, firstStep)
inline Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  DArgs a(info, "sgdStep", 10);
  size_t n = Z(a, 3, "n");
  check(a, wk::cuda::sgdStep(P(a, 0, "p", n), P(a, 1, "g", n), Popt(a, 2, "buf", n), n, (float)a.number(4, "lr"),
                             (float)a.number(5, "momentum"), (float)a.number(6, "dampening"),
                             (float)a.number(7, "weightDecay"), a.boolean(8, "nesterov"), a.boolean(9, "firstStep")));
  return info.Env().Undefined();
}

// ---- permute (permute.cu) ------------------------------------------------------------------------
// permute(x, xShape, perm, y): y = x.permute(perm), rank <= 6
inline Napi::Value Permute(const Napi::CallbackInfo& info) {
  DArgs a(info, "permute", 4);
  auto s = shapeArg(a, 1, "xShape"), p = shapeArg(a, 2, "perm");
  a.require(p.size() == s.size(), "permute: perm must list every axis of xShape");
  std::vector<int> perm(p.size());
  std::vector<bool> seen(p.size(), false);
  for (size_t i = 0; i < p.size(); ++i) {
    a.require(p[i] < (int64_t)p.size() && !seen[p[i]], "permute: perm must be a permutation of the axes");
    seen[p[i]] = true;
    perm[i] = (int)p[i];
  }
  float* x = P(a, 0, "x", prod(s));
  float* y = P(a, 3, "y", prod(s));
  check(a, wk::cuda::permute(x, s.data(), (int)s.size(), perm.data(), y));
  return info.Env().Undefined();
}

// ---- uint8 frames (frames.cu): the bytes live on the host (uint8 tensors stay on the CPU) ----------
inline uint8_t* hostBytes(const DArgs& a, size_t i, size_t n) {
  Napi::Value v = a.info()[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw a.type("frames", "a Uint8Array", wk::Args::describe(v));
  Napi::Uint8Array u = v.As<Napi::Uint8Array>();
  if (u.ElementLength() != n) throw a.range("frames", std::to_string(n) + " bytes", std::to_string(u.ElementLength()));
  return u.Data();
}
// framesToFloat(hostFrames(Uint8Array), N, C, H, W, channelsLast, out): bytes uploaded, converted on the device.
inline Napi::Value FramesToFloat(const Napi::CallbackInfo& info) {
  DArgs a(info, "framesToFloat", 7);
  size_t N = Z(a, 1, "N"), C = Z(a, 2, "C"), H = Z(a, 3, "H"), W = Z(a, 4, "W"), n = N * C * H * W;
  uint8_t* src = hostBytes(a, 0, n);
  float* out = P(a, 6, "out", n);
  if (n == 0) return info.Env().Undefined();
  Scratch s(a, n);
  check(a, wk::cuda::copyHostToDevice(s.p, src, n));
  check(a, wk::cuda::framesToFloat(static_cast<unsigned char*>(s.p), out, N, C, H, W, a.boolean(5, "channelsLast")));
  return info.Env().Undefined();
}
// floatToFrames(x, N, C, H, W, channelsLast, hostFrames(Uint8Array)): converted on the device, bytes downloaded.
inline Napi::Value FloatToFrames(const Napi::CallbackInfo& info) {
  DArgs a(info, "floatToFrames", 7);
  size_t N = Z(a, 1, "N"), C = Z(a, 2, "C"), H = Z(a, 3, "H"), W = Z(a, 4, "W"), n = N * C * H * W;
  float* x = P(a, 0, "x", n);
  uint8_t* dst = hostBytes(a, 6, n);
  if (n == 0) return info.Env().Undefined();
  Scratch s(a, n);
  check(a, wk::cuda::floatToFrames(x, static_cast<unsigned char*>(s.p), N, C, H, W, a.boolean(5, "channelsLast")));
  check(a, wk::cuda::copyDeviceToHost(dst, s.p, n));
  return info.Env().Undefined();
}

// ---- fused block-causal attention (attention.cu) ---------------------------------------------------
// Dimensions at index i: BH, Tq, Tk, dh, tokensPerFrame, scale (cpp/attention.h AttentionDims).
inline wk::AttentionDims attentionDimsArgs(const DArgs& a, size_t i) {
  wk::AttentionDims d;
  d.BH = Z(a, i, "BH"), d.Tq = Z(a, i + 1, "Tq"), d.Tk = Z(a, i + 2, "Tk"), d.dh = Z(a, i + 3, "dh");
  d.tokensPerFrame = static_cast<size_t>(a.integer(i + 4, "tokensPerFrame", 1));
  d.scale = static_cast<float>(a.number(i + 5, "scale"));
  a.require(d.Tq <= d.Tk, "Tq must not exceed Tk, got Tq = " + std::to_string(d.Tq) + ", Tk = " + std::to_string(d.Tk));
  a.require(d.dh <= wk::cuda::kAttentionMaxHeadDim, "the head size dh must be at most " +
                                                        std::to_string(wk::cuda::kAttentionMaxHeadDim) +
                                                        " on 'cuda', got " + std::to_string(d.dh));
  return d;
}
// attentionForward(q, k, v, o, lse, BH, Tq, Tk, dh, tokensPerFrame, scale[, kvRows])
inline Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "attentionForward", 11);
  wk::AttentionDims d = attentionDimsArgs(a, 5);
  if (!a.isUndefined(11)) {
    d.kvRows = Z(a, 11, "kvRows");
    a.require(d.kvRows == 0 || d.kvRows >= d.Tk, "kvRows must be 0 or at least Tk, got kvRows = " + std::to_string(d.kvRows) + ", Tk = " + std::to_string(d.Tk));
  }
  size_t nq = d.BH * d.Tq * d.dh, nk = d.BH * wk::attentionKvRows(d) * d.dh;
  check(a, wk::cuda::attentionForward(d, P(a, 0, "q", nq), P(a, 1, "k", nk), P(a, 2, "v", nk), P(a, 3, "o", nq),
                                      P(a, 4, "lse", d.BH * d.Tq)));
  return info.Env().Undefined();
}
// attentionBackward(q, k, v, o, lse, go, BH, Tq, Tk, dh, tokensPerFrame, scale, gq|null, gk|null, gv|null)
inline Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "attentionBackward", 15);
  wk::AttentionDims d = attentionDimsArgs(a, 6);
  size_t nq = d.BH * d.Tq * d.dh, nk = d.BH * d.Tk * d.dh;
  float* q = P(a, 0, "q", nq);
  float* k = P(a, 1, "k", nk);
  float* v = P(a, 2, "v", nk);
  float* o = P(a, 3, "o", nq);
  float* lse = P(a, 4, "lse", d.BH * d.Tq);
  float* go = P(a, 5, "go", nq);
  float* gq = Popt(a, 12, "gq", nq);
  float* gk = Popt(a, 13, "gk", nk);
  float* gv = Popt(a, 14, "gv", nk);
  Scratch ws(a, wk::cuda::attentionBackwardWorkspace(d) * sizeof(float));
  check(a, wk::cuda::attentionBackward(d, q, k, v, o, lse, go, gq, gk, gv, ws.f()));
  return info.Env().Undefined();
}

// ---- LayerNorm (layer_norm.cu) ------------------------------------------------------------------
// layerNormForward(x, w|null, b|null, R, C, eps, y, mean, rstd)
inline Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  DArgs a(info, "layerNormForward", 9);
  size_t R = Z(a, 3, "R"), C = static_cast<size_t>(a.integer(4, "C", 1));
  float* x = P(a, 0, "x", R * C);
  float* w = Popt(a, 1, "weight", C);
  float* b = Popt(a, 2, "bias", C);
  float eps = static_cast<float>(a.number(5, "eps"));
  float* y = P(a, 6, "y", R * C);
  float* mean = P(a, 7, "mean", R);
  float* rstd = P(a, 8, "rstd", R);
  check(a, wk::cuda::layerNormForward(x, w, b, R, C, eps, y, mean, rstd));
  return info.Env().Undefined();
}
// layerNormBackward(x, w|null, mean, rstd, gy, R, C, gx|null, gw|null, gb|null)
inline Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  DArgs a(info, "layerNormBackward", 10);
  size_t R = Z(a, 5, "R"), C = static_cast<size_t>(a.integer(6, "C", 1));
  float* x = P(a, 0, "x", R * C);
  float* w = Popt(a, 1, "weight", C);
  float* mean = P(a, 2, "mean", R);
  float* rstd = P(a, 3, "rstd", R);
  float* gy = P(a, 4, "gy", R * C);
  float* gx = Popt(a, 7, "gx", R * C);
  float* gw = Popt(a, 8, "gw", C);
  float* gb = Popt(a, 9, "gb", C);
  Scratch ws(a, (gw || gb) ? wk::cuda::layerNormBackwardWorkspace(R, C) * sizeof(float) : 0);
  check(a, wk::cuda::layerNormBackward(x, w, mean, rstd, gy, R, C, gx, gw, gb, ws.f()));
  return info.Env().Undefined();
}

inline void registerDeviceApi(Napi::Env env, Napi::Object o) {
  auto set = [&](const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
    o.Set(name, Napi::Function::New(env, fn, name));
  };
  set("alloc", Alloc);
  set("free", Free);
  set("view", View);
  set("byteSize", ByteSize);
  set("upload", Transfer<true>);
  set("download", Transfer<false>);
  set("copy", Copy);
  set("copy2d", Copy2d);
  set("stats", Stats);
  set("emptyCache", EmptyCache);
  set("synchronize", Synchronize);
  set("unaryForward", UnaryForward);
  set("unaryBackward", UnaryBackward);
  set("binaryForward", Binary);
  set("binaryBackward", BinaryBackward);
  set("sumTo", SumTo);
  set("broadcastTo", BroadcastTo);
  set("axpy", Axpy);
  set("gemm", Gemm);
  set("rowLossForward", RowLossForward);
  set("rowLossBackward", RowLossBackward);
  set("adamStep", AdamStep);
  set("lstmSequenceForward", LstmSequenceForward);
  set("lstmSequenceBackward", LstmSequenceBackward);
  set("residualHeadForward", ResidualHeadForward);
  set("residualHeadBackward", ResidualHeadBackward);
  set("conv2dForward", Conv2dForward);
  set("conv2dBackward", Conv2dBackward);
  set("convTranspose2dForward", ConvTranspose2dForward);
  set("convTranspose2dBackward", ConvTranspose2dBackward);
  set("klNormalForward", KlNormalForward);
  set("klNormalBackward", KlNormalBackward);
  set("crossEntropyForward", CrossEntropyForward);
  set("crossEntropyBackward", CrossEntropyBackward);
  set("lstmCellForward", LstmCellForward);
  set("lstmCellBackward", LstmCellBackward);
  set("lstmGatesForward", LstmGatesForward);
  set("lstmGatesBackward", LstmGatesBackward);
  set("sgdStep", SgdStep);
  set("permute", Permute);
  set("framesToFloat", FramesToFloat);
  set("floatToFrames", FloatToFrames);
  set("attentionForward", AttentionForward);
  set("attentionBackward", AttentionBackward);
  set("layerNormForward", LayerNormForward);
  set("layerNormBackward", LayerNormBackward);
}

}  // namespace wk_dev
