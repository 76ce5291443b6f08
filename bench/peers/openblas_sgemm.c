/* Benchmark-only peer: OpenBLAS cblas_sgemm GFLOP/s on the shapes given on the command line.
 *
 *   openblas_sgemm [--threads N] [--min-ms MS] [--report] TA TB M N K [TA TB M N K ...]
 *
 * TA/TB are 0 or 1 (transposed operand). For each shape it runs enough repetitions to fill
 * --min-ms (default 300), several times, and prints one JSON array of
 * {"ta","tb","m","n","k","medianMs","gflops","bestGflops"} on stdout (gflops from the median
 * batch, bestGflops from the fastest: the calibration's figure, as the peak probe keeps its best). Compiled by bench/gemm.bench.ts at run
 * time with `cc -O2 openblas_sgemm.c -lopenblas`; never a dependency of worldkit.
 * --report also prints, on stderr, one JSON object saying which OpenBLAS the process really
 * loaded: {"parallel" (0 sequential, 1 pthread, 2 OpenMP build), "corename" (the kernels in
 * use), "lib" (the mapped file)}, so the bench header shows what ran rather than what was asked
 * for (bench/peer_env.ts chooses the build and kernels through the environment). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern void openblas_set_num_threads(int);
extern char* openblas_get_corename(void);
extern int openblas_get_parallel(void);

/* The mapped file of the library that defines cblas_sgemm's OpenBLAS (libopenblas or libblas). */
static void reportLibrary(void) {
  char line[4096], lib[4096] = "";
  FILE* maps = fopen("/proc/self/maps", "r");
  while (maps && fgets(line, sizeof line, maps)) {
    char* file = strchr(line, '/');
    if (!file) continue;
    file[strcspn(file, "\n")] = 0;
    const char* base = strrchr(file, '/') + 1;
    if (strstr(base, "openblas") || strstr(base, "libblas")) {
      strncpy(lib, file, sizeof lib - 1);
      if (strstr(base, "openblas")) break;
    }
  }
  if (maps) fclose(maps);
  fprintf(stderr, "{\"parallel\":%d,\"corename\":\"%s\",\"lib\":\"%s\"}\n", openblas_get_parallel(), openblas_get_corename(), lib);
}

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  int threads = 1, i = 1, first = 1, report = 0;
  double minMs = 300;
  while (i < argc && argv[i][0] == '-') {
    if (!strcmp(argv[i], "--report")) {
      report = 1;
      ++i;
      continue;
    }
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) minMs = atof(argv[i + 1]);
    i += 2;
  }
  openblas_set_num_threads(threads);
  printf("[");
  for (; i + 4 < argc; i += 5) {
    int ta = atoi(argv[i]), tb = atoi(argv[i + 1]);
    int m = atoi(argv[i + 2]), n = atoi(argv[i + 3]), k = atoi(argv[i + 4]);
    float* a = malloc(sizeof(float) * (size_t)m * k + 64);
    float* b = malloc(sizeof(float) * (size_t)k * n + 64);
    float* c = malloc(sizeof(float) * (size_t)m * n + 64);
    for (size_t j = 0; j < (size_t)m * k; ++j) a[j] = (float)((j * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t j = 0; j < (size_t)k * n; ++j) b[j] = (float)((j * 104729) % 1000) / 1000.0f - 0.5f;
    for (size_t j = 0; j < (size_t)m * n; ++j) c[j] = 0;
    int lda = ta ? m : k, ldb = tb ? k : n;
    enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
    /* warm up and size the batch */
    double t0 = nowMs();
    int reps = 0;
    do {
      cblas_sgemm(CblasRowMajor, TA, TB, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
      ++reps;
    } while (nowMs() - t0 < minMs / 5);
    double per = (nowMs() - t0) / reps;
    int batch = (int)(minMs / 5 / (per > 1e-6 ? per : 1e-6));
    if (batch < 1) batch = 1;
    double samples[7];
    for (int s = 0; s < 7; ++s) {
      double s0 = nowMs();
      for (int r = 0; r < batch; ++r)
        cblas_sgemm(CblasRowMajor, TA, TB, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
      samples[s] = (nowMs() - s0) / batch;
    }
    qsort(samples, 7, sizeof(double), cmp);
    double med = samples[3];
    printf("%s{\"ta\":%d,\"tb\":%d,\"m\":%d,\"n\":%d,\"k\":%d,\"medianMs\":%.6f,\"gflops\":%.3f,\"bestGflops\":%.3f}", first ? "" : ",",
           ta, tb, m, n, k, med, 2.0 * m * n * k / (med * 1e6), 2.0 * m * n * k / (samples[0] * 1e6));
    first = 0;
    free(a);
    free(b);
    free(c);
  }
  printf("]\n");
  if (report) reportLibrary();
  return 0;
}
