#define _GNU_SOURCE
#include "cgemm.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

void ssm_cpu_detect(ssm_cpu_features *f) {
    memset(f, 0, sizeof *f);
    unsigned int a, b, c, d, maxLeaf;
    if (!__get_cpuid(0, &maxLeaf, &b, &c, &d)) return;
    memcpy(f->vendor, &b, 4); memcpy(f->vendor + 4, &d, 4); memcpy(f->vendor + 8, &c, 4);
    __get_cpuid(1, &a, &b, &c, &d);
    int baseFamily = (a >> 8) & 0xf, baseModel = (a >> 4) & 0xf;
    f->family = baseFamily == 0xf ? baseFamily + ((a >> 20) & 0xff) : baseFamily;
    f->model = (baseFamily == 0x6 || baseFamily == 0xf) ? (((a >> 16) & 0xf) << 4) + baseModel : baseModel;
    f->stepping = a & 0xf;
    f->sse3 = c & 1; f->ssse3 = (c >> 9) & 1; f->sse41 = (c >> 19) & 1; f->sse42 = (c >> 20) & 1;
    f->fma = (c >> 12) & 1; f->avx = (c >> 28) & 1;
    int osxsave = (c >> 27) & 1;
    unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    f->os_ymm = (xcr0 & 0x6) == 0x6;
    f->os_zmm = f->os_ymm && (xcr0 & 0xe0) == 0xe0;
    if (maxLeaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f->avx2 = (b >> 5) & 1;
        f->avx512f = (b >> 16) & 1; f->avx512dq = (b >> 17) & 1;
        f->avx512bw = (b >> 30) & 1; f->avx512vl = (b >> 31) & 1;
        f->avx512fp16 = (d >> 23) & 1;
        f->amx_bf16 = (d >> 22) & 1; f->amx_tile = (d >> 24) & 1; f->amx_int8 = (d >> 25) & 1;
        unsigned int maxSub = a;
        if (maxSub >= 1) { __cpuid_count(7, 1, a, b, c, d); f->avx512bf16 = (a >> 5) & 1; }
    }
    __get_cpuid(0x80000000, &a, &b, &c, &d);
    if (a >= 0x80000004) {
        unsigned int *w = (unsigned int *)f->brand;
        for (unsigned int leaf = 0; leaf < 3; leaf++) __get_cpuid(0x80000002 + leaf, w + 4 * leaf, w + 4 * leaf + 1, w + 4 * leaf + 2, w + 4 * leaf + 3);
        f->brand[48] = 0;
        // trim the leading and trailing blanks some processors pad with
        char *s = f->brand; while (*s == ' ') s++;
        memmove(f->brand, s, strlen(s) + 1);
        for (size_t n = strlen(f->brand); n > 0 && f->brand[n - 1] == ' '; n--) f->brand[n - 1] = 0;
    }
}
#else
void ssm_cpu_detect(ssm_cpu_features *f) { memset(f, 0, sizeof *f); }
#endif

// OpenBLAS DYNAMIC_ARCH exports these (driver/others/dynamic.c); weak, so other builds still link.
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

int ssm_openblas_can_reselect(void) { return gotoblas_dynamic_init && gotoblas_dynamic_quit; }

int ssm_openblas_reselect(const char *core) {
    if (!ssm_openblas_can_reselect()) return -1;
    if (!core) {  // as the environment says
        gotoblas_dynamic_quit();
        gotoblas_dynamic_init();
        return 0;
    }
    const char *was = getenv("OPENBLAS_CORETYPE");
    char *saved = was ? strdup(was) : NULL;
    setenv("OPENBLAS_CORETYPE", core, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    if (saved) { setenv("OPENBLAS_CORETYPE", saved, 1); free(saved); } else unsetenv("OPENBLAS_CORETYPE");
    return 0;
}

// oneDNN, resolved at run time so that the toolkit builds and runs without it.
typedef int (*dnnl_sgemm_fn)(char, char, long, long, long, float, const float *, long, const float *, long,
                             float, float *, long);
typedef int (*dnnl_isa_fn)(void);
typedef struct { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; } dnnl_version_view;
typedef const dnnl_version_view *(*dnnl_version_fn)(void);
typedef void (*omp_set_fn)(int);
typedef int (*omp_get_fn)(void);

static pthread_once_t dnnlOnce = PTHREAD_ONCE_INIT;
static void *dnnlHandle;
static dnnl_sgemm_fn dnnlSgemm;
static dnnl_isa_fn dnnlISA;
static omp_set_fn ompSetThreads;
static omp_get_fn ompMaxThreads;
static char dnnlVersion[32];

static void dnnl_load(void) {
    // oneDNN runs on libgomp, whose threads spin after each parallel region (OMP_WAIT_POLICY=active by
    // default). The toolkit's own element-wise work runs on other threads right after each GEMM, so on
    // small core counts the spinning steals the cores it needs (measured on 2 vCPUs: an SSM-SAM training
    // step 1.3-1.6x slower). Passive waiting, unless the user chose a policy; libgomp reads it when loaded.
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    dnnl_version_fn version = (dnnl_version_fn)dlsym(h, "dnnl_version");
    dnnlISA = (dnnl_isa_fn)dlsym(h, "dnnl_get_effective_cpu_isa");
    ompSetThreads = (omp_set_fn)dlsym(h, "omp_set_num_threads");  // its OpenMP runtime (libgomp)
    ompMaxThreads = (omp_get_fn)dlsym(h, "omp_get_max_threads");
    dnnl_sgemm_fn sgemm = (dnnl_sgemm_fn)dlsym(h, "dnnl_sgemm");
    if (version) {
        const dnnl_version_view *v = version();
        snprintf(dnnlVersion, sizeof dnnlVersion, "%d.%d.%d", v->major, v->minor, v->patch);
    }
    if (sgemm && ompSetThreads && ompMaxThreads) { dnnlSgemm = sgemm; dnnlHandle = h; }
}

void *ssm_dnnl_symbol(const char *name) { return ssm_dnnl_available() ? dlsym(dnnlHandle, name) : NULL; }
void ssm_dnnl_set_threads(int threads) {
    if (ssm_dnnl_available() && threads > 0 && ompMaxThreads() != threads) ompSetThreads(threads);
}

int ssm_dnnl_available(void) { pthread_once(&dnnlOnce, dnnl_load); return dnnlSgemm != NULL; }
const char *ssm_dnnl_version(void) { return ssm_dnnl_available() ? dnnlVersion : ""; }
int ssm_dnnl_isa(void) { return ssm_dnnl_available() && dnnlISA ? dnnlISA() : -1; }

int ssm_dnnl_sgemm(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                   const float *b, long ldb, float beta, float *c, long ldc, int threads) {
    if (!ssm_dnnl_available()) return -1;
    ssm_dnnl_set_threads(threads);
    return dnnlSgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
