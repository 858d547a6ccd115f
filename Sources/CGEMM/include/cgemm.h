// The GEMM engines' C side: what the CPU supports (cpuid and XGETBV), re-selecting OpenBLAS's
// DYNAMIC_ARCH kernel after load, and oneDNN's dnnl_sgemm loaded at run time (dlopen, optional).
#ifndef SSMSAM_CGEMM_H
#define SSMSAM_CGEMM_H

/// Feature bits of the processor and of the operating system's saved register state.
typedef struct {
    char vendor[13];  ///< "GenuineIntel", "AuthenticAMD", ...; empty off x86-64
    char brand[49];   ///< the processor brand string
    int family, model, stepping;  ///< display family and model (extended fields folded in)
    int sse3, ssse3, sse41, sse42, avx, fma, avx2;
    int avx512f, avx512bw, avx512dq, avx512vl, avx512bf16, avx512fp16;
    int amx_tile, amx_bf16, amx_int8;
    int os_ymm;  ///< XCR0 says the OS saves SSE and AVX state (bits 1, 2)
    int os_zmm;  ///< and the AVX-512 opmask and ZMM state (bits 5, 6, 7)
} ssm_cpu_features;

/// Fills `out` from cpuid (leaves 0, 1, 7, 0x80000002-4) and XGETBV. All zero off x86-64.
void ssm_cpu_detect(ssm_cpu_features *out);

/// 1 when this OpenBLAS exports gotoblas_dynamic_init/_quit (a DYNAMIC_ARCH build), else 0.
int ssm_openblas_can_reselect(void);

/// Re-runs OpenBLAS's kernel selection with OPENBLAS_CORETYPE set to `core` for the duration, then
/// puts the variable back as it was (NULL: with the environment as it is, i.e. as at load). Must not run while another thread is inside OpenBLAS. Returns 0, or -1 when this OpenBLAS
/// cannot re-select. The caller checks openblas_get_corename() afterwards.
int ssm_openblas_reselect(const char *core);

/// Loads oneDNN (libdnnl.so.2) once; 1 when it and dnnl_sgemm were found, else 0. Thread-safe.
int ssm_dnnl_available(void);
/// oneDNN's version ("2.6.3"), or "" when it is not available.
const char *ssm_dnnl_version(void);
/// dnnl_get_effective_cpu_isa(): the ISA of the kernels oneDNN dispatches to (dnnl_cpu_isa_t), or -1.
int ssm_dnnl_isa(void);

/// Row-major C = alpha op(A) op(B) + beta C on oneDNN, on `threads` OpenMP threads for the calling
/// thread (OpenMP's thread count is per calling thread). Returns dnnl_status_t (0 = success), or -1
/// when oneDNN is not available.
int ssm_dnnl_sgemm(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                   const float *b, long ldb, float beta, float *c, long ldc, int threads);

/// A symbol of the loaded oneDNN (dlsym), or NULL when oneDNN or the symbol is missing.
void *ssm_dnnl_symbol(const char *name);
/// Sets oneDNN's OpenMP thread count for the calling thread (no-op when it is already `threads`).
void ssm_dnnl_set_threads(int threads);

/// 1 when oneDNN's matmul primitive can run bf16 products here (its API was found and a bf16 x bf16 -> f32
/// matmul primitive could be created on the CPU engine), else 0. Thread-safe, decided once.
int ssm_dnnl_bf16_available(void);

/// Row-major C (f32) = alpha op(A) op(B) + beta C with A and B in bfloat16 (fp32 accumulation), on oneDNN's
/// matmul primitive on `threads` threads. Returns dnnl_status_t (0 = success), or -1 when unavailable.
int ssm_dnnl_gemm_bf16(int transA, int transB, long m, long n, long k, float alpha, const unsigned short *a, long lda,
                       const unsigned short *b, long ldb, float beta, float *c, long ldc, int threads);

/// bfloat16 of each float, rounded to nearest even (NaN stays NaN).
void ssm_f32_to_bf16(const float *src, unsigned short *dst, long count);
/// The float of each bfloat16 (exact).
void ssm_bf16_to_f32(const unsigned short *src, float *dst, long count);

#endif
