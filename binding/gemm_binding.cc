// GEMM family: gemm / gemmReference (same signature)
//   (transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) -> undefined, C updated.
// gemmPreparedB (prepareM, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): op(B) = B^T prepared
//   for prepareM rows (wk::PreparedTransposedB), then C = alpha A op(B) + beta C through it; for
//   tests, which check it against gemm(false, true, ...) bit for bit. Returns whether panels were
//   prepared.
// Every buffer is checked against its sizes and leading dimension before the kernel runs, and C
// may not overlap A or B.
#include <string>

#include "args.h"
#include "gemm.h"
#include "registry.h"

namespace {

constexpr int64_t kMaxDim = (int64_t{1} << 31) - 1;


// Checks a stored rows x cols matrix with row stride ld in the typed array at argument i.
wk::View<float> checked(const wk::Args& a, size_t i, const char* name, const char* ldName, size_t rows, size_t cols,
                        size_t ld, const std::string& what) {
  if (ld < cols || ld < 1)
    throw a.range(ldName, "at least " + std::to_string(std::max<size_t>(cols, 1)) + " (the columns of " + what + ")",
                  std::to_string(ld));
  size_t need = rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
  auto v = a.f32(i, name);
  if (v.size < need)
    throw a.range(name, "at least " + std::to_string(need) + " elements (" + what + " with " + ldName + "=" +
                            std::to_string(ld) + ")",
                  std::to_string(v.size) + " elements");
  return v;
}

bool overlaps(const void* a, size_t na, const void* b, size_t nb) {
  if (na == 0 || nb == 0) return false;
  auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return pa < pb + nb * sizeof(float) && pb < pa + na * sizeof(float);
}

template <bool Reference>
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* fn = Reference ? "gemmReference" : "gemm";
  wk::Args a(info, fn, 13);
  const bool tA = a.boolean(0, "transA"), tB = a.boolean(1, "transB");
  const size_t M = static_cast<size_t>(a.integer(2, "M", 0, kMaxDim));
  const size_t N = static_cast<size_t>(a.integer(3, "N", 0, kMaxDim));
  const size_t K = static_cast<size_t>(a.integer(4, "K", 0, kMaxDim));
  const float alpha = static_cast<float>(a.number(5, "alpha"));
  const size_t lda = static_cast<size_t>(a.integer(7, "lda", 0, kMaxDim));
  const size_t ldb = static_cast<size_t>(a.integer(9, "ldb", 0, kMaxDim));
  const float beta = static_cast<float>(a.number(10, "beta"));
  const size_t ldc = static_cast<size_t>(a.integer(12, "ldc", 0, kMaxDim));
  auto dims = [](size_t r, size_t c) { return std::to_string(r) + "x" + std::to_string(c); };
  auto A = checked(a, 6, "A", "lda", tA ? K : M, tA ? M : K, lda,
                   std::string(tA ? "A^T, stored " : "A, stored ") + dims(tA ? K : M, tA ? M : K));
  auto B = checked(a, 8, "B", "ldb", tB ? N : K, tB ? K : N, ldb,
                   std::string(tB ? "B^T, stored " : "B, stored ") + dims(tB ? N : K, tB ? K : N));
  auto C = checked(a, 11, "C", "ldc", M, N, ldc, "C, " + dims(M, N));
  const size_t cUsed = M == 0 || N == 0 ? 0 : (M - 1) * ldc + N;
  a.require(!overlaps(C.data, cUsed, A.data, A.size), "C must not overlap A");
  a.require(!overlaps(C.data, cUsed, B.data, B.size), "C must not overlap B");
  if (Reference)
    wk::gemmReference(tA, tB, M, N, K, alpha, A.data, lda, B.data, ldb, beta, C.data, ldc);
  else
    wk::gemm(tA, tB, M, N, K, alpha, A.data, lda, B.data, ldb, beta, C.data, ldc);
  return info.Env().Undefined();
}

Napi::Value GemmPreparedB(const Napi::CallbackInfo& info) {
  wk::Args a(info, "gemmPreparedB", 12);
  const size_t prepareM = static_cast<size_t>(a.integer(0, "prepareM", 0, kMaxDim));
  const size_t M = static_cast<size_t>(a.integer(1, "M", 0, kMaxDim));
  const size_t N = static_cast<size_t>(a.integer(2, "N", 0, kMaxDim));
  const size_t K = static_cast<size_t>(a.integer(3, "K", 0, kMaxDim));
  const float alpha = static_cast<float>(a.number(4, "alpha"));
  const size_t lda = static_cast<size_t>(a.integer(6, "lda", 0, kMaxDim));
  const size_t ldb = static_cast<size_t>(a.integer(8, "ldb", 0, kMaxDim));
  const float beta = static_cast<float>(a.number(9, "beta"));
  const size_t ldc = static_cast<size_t>(a.integer(11, "ldc", 0, kMaxDim));
  auto dims = [](size_t r, size_t c) { return std::to_string(r) + "x" + std::to_string(c); };
  auto A = checked(a, 5, "A", "lda", M, K, lda, "A, stored " + dims(M, K));
  auto B = checked(a, 7, "B", "ldb", N, K, ldb, "B^T, stored " + dims(N, K));
  auto C = checked(a, 10, "C", "ldc", M, N, ldc, "C, " + dims(M, N));
  const size_t cUsed = M == 0 || N == 0 ? 0 : (M - 1) * ldc + N;
  a.require(!overlaps(C.data, cUsed, A.data, A.size), "C must not overlap A");
  a.require(!overlaps(C.data, cUsed, B.data, B.size), "C must not overlap B");
  wk::PreparedTransposedB prepared;
  prepared.prepare(prepareM, N, K, B.data, ldb);
  wk::gemmPackedB(M, alpha, A.data, lda, prepared, beta, C.data, ldc);
  return Napi::Boolean::New(info.Env(), prepared.hasPanels());
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("gemmPreparedB", Napi::Function::New(env, GemmPreparedB, "gemmPreparedB"));
  exports.Set("gemm", Napi::Function::New(env, Gemm<false>, "gemm"));
  exports.Set("gemmReference", Napi::Function::New(env, Gemm<true>, "gemmReference"));
}

}  // namespace

WK_REGISTER(gemm, Register);
