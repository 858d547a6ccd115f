#include "ckernels.h"
#include <math.h>
#include <immintrin.h>

static int has_avx2 = -1, has_avx512 = -1;
// The highest dispatch level tests allow (ssm_kernels_limit); the CPU's own support always bounds it.
static int level_cap = 2;

int ssm_kernels_vectorized(void) {
    if (has_avx2 < 0) has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return has_avx2 && level_cap >= 1;
}

int ssm_kernels_avx512(void) {
    if (has_avx512 < 0) has_avx512 = __builtin_cpu_supports("avx512f");
    return has_avx512 && level_cap >= 2;
}

int ssm_kernels_limit(int level) {
    int previous = level_cap;
    level_cap = level < 0 || level > 2 ? 2 : level;
    return previous;
}

// Cephes expf on a vector type P (_mm256, _mm512): range reduction by ln 2, degree-6 polynomial, 2^n through
// the exponent. One definition for both widths, so every lane of exp16 gives exp8's bits.
#define SSM_EXP_BODY(P, ROUND, SI, CAST_SI)                                                                   \
    x = P##_min_ps(P##_max_ps(x, P##_set1_ps(-87.3f)), P##_set1_ps(88.7f));                                  \
    SI##_ps n = ROUND(P##_mul_ps(x, P##_set1_ps(1.44269504088896341f)));                                      \
    SI##_ps r = P##_fnmadd_ps(n, P##_set1_ps(0.693359375f), x);                                               \
    r = P##_fnmadd_ps(n, P##_set1_ps(-2.12194440e-4f), r);                                                    \
    SI##_ps p = P##_set1_ps(1.9875691500e-4f);                                                                \
    p = P##_fmadd_ps(p, r, P##_set1_ps(1.3981999507e-3f));                                                    \
    p = P##_fmadd_ps(p, r, P##_set1_ps(8.3334519073e-3f));                                                    \
    p = P##_fmadd_ps(p, r, P##_set1_ps(4.1665795894e-2f));                                                    \
    p = P##_fmadd_ps(p, r, P##_set1_ps(1.6666665459e-1f));                                                    \
    p = P##_fmadd_ps(p, r, P##_set1_ps(5.0000001201e-1f));                                                    \
    p = P##_fmadd_ps(P##_mul_ps(p, r), r, P##_add_ps(r, P##_set1_ps(1.0f)));                                  \
    SI##_i e = P##_slli_epi32(P##_add_epi32(P##_cvtps_epi32(n), P##_set1_epi32(127)), 23);                   \
    return P##_mul_ps(p, CAST_SI(e));

#define SSM_ROUND8(v) _mm256_round_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define SSM_ROUND16(v) _mm512_roundscale_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
typedef __m256 m256_ps; typedef __m256i m256_i; typedef __m512 m512_ps; typedef __m512i m512_i;

__attribute__((target("avx2,fma")))
static inline __m256 exp8(__m256 x) { SSM_EXP_BODY(_mm256, SSM_ROUND8, m256, _mm256_castsi256_ps) }

__attribute__((target("avx512f")))
static inline __m512 exp16(__m512 x) { SSM_EXP_BODY(_mm512, SSM_ROUND16, m512, _mm512_castsi512_ps) }


// row[j] = exp(row[j] - m) in place, returning their sum (AVX-512).
__attribute__((target("avx512f")))
static float exp_sum_avx512(float *row, long n, float m) {
    long j = 0;
    __m512 vmax = _mm512_set1_ps(m), vs = _mm512_setzero_ps();
    float s = 0;
    for (; j + 16 <= n; j += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(row + j), vmax));
        _mm512_storeu_ps(row + j, e);
        vs = _mm512_add_ps(vs, e);
    }
    for (; j < n; j++) { row[j] = expf(row[j] - m); s += row[j]; }
    return s + _mm512_reduce_add_ps(vs);
}

// A softmax's last pass over exponentials of maximum m and sum total: row[j] *= 1 / total, and
// *lse = m + log(total) when lse is not NULL (AVX-512).
__attribute__((target("avx512f")))
static void normalise_avx512(float *row, long n, float m, float total, float *lse) {
    __m512 inv = _mm512_set1_ps(1.0f / total);
    long j = 0;
    for (; j + 16 <= n; j += 16) _mm512_storeu_ps(row + j, _mm512_mul_ps(_mm512_loadu_ps(row + j), inv));
    float invs = 1.0f / total;
    for (; j < n; j++) row[j] *= invs;
    if (lse) *lse = m + logf(total);
}

__attribute__((target("avx512f")))
static void softmax_avx512(float *row, long n, float *lse) {
    long j = 0;
    __m512 vm = _mm512_set1_ps(-INFINITY);
    for (; j + 16 <= n; j += 16) vm = _mm512_max_ps(vm, _mm512_loadu_ps(row + j));
    float m = _mm512_reduce_max_ps(vm);
    for (; j < n; j++) m = row[j] > m ? row[j] : m;
    normalise_avx512(row, n, m, exp_sum_avx512(row, n, m), lse);
}

// SAM's relative-position terms added (row[ky * w + kx] += rh[ky] + rw[kx], the bits of
// ssm_add_relative_position) in the pass that finds the maximum, then the softmax: one pass fewer over the row.
__attribute__((target("avx512f")))
static float relative_max_avx512(float *row, const float *rh, const float *rw, long h, long w) {
    __m512 vm = _mm512_set1_ps(-INFINITY);
    float m = -INFINITY;
    for (long ky = 0; ky < h; ky++) {
        float *seg = row + ky * w;
        __m512 a = _mm512_set1_ps(rh[ky]);
        long kx = 0;
        for (; kx + 16 <= w; kx += 16) {
            __m512 v = _mm512_add_ps(_mm512_loadu_ps(seg + kx), _mm512_add_ps(a, _mm512_loadu_ps(rw + kx)));
            _mm512_storeu_ps(seg + kx, v);
            vm = _mm512_max_ps(vm, v);
        }
        for (; kx < w; kx++) { seg[kx] += rh[ky] + rw[kx]; m = seg[kx] > m ? seg[kx] : m; }
    }
    float vmax = _mm512_reduce_max_ps(vm);
    return vmax > m ? vmax : m;
}

__attribute__((target("avx2,fma")))
static float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

__attribute__((target("avx2,fma")))
static float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

// Softmax in place; when `lse` is not NULL also stores log(sum(exp(row))) = max + log(sum), which
// attention's backward needs to recompute probabilities. The row values do not depend on `lse`.
__attribute__((target("avx2,fma")))
static float max_avx2(const float *row, long n) {
    long j = 0;
    __m256 vm = _mm256_set1_ps(-INFINITY);
    for (; j + 8 <= n; j += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(row + j));
    float m = hmax8(vm);
    for (; j < n; j++) m = row[j] > m ? row[j] : m;
    return m;
}

// row[j] = exp(row[j] - m) in place, returning their sum (AVX2).
__attribute__((target("avx2,fma")))
static float exp_sum_avx2(float *row, long n, float m) {
    long j = 0;
    __m256 vmax = _mm256_set1_ps(m), vs = _mm256_setzero_ps();
    float s = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + j), vmax));
        _mm256_storeu_ps(row + j, e);
        vs = _mm256_add_ps(vs, e);
    }
    for (; j < n; j++) { row[j] = expf(row[j] - m); s += row[j]; }
    return s + hsum8(vs);
}

// normalise_avx512 on 8 lanes.
__attribute__((target("avx2,fma")))
static void normalise_avx2(float *row, long n, float m, float total, float *lse) {
    long j;
    __m256 inv = _mm256_set1_ps(1.0f / total);
    for (j = 0; j + 8 <= n; j += 8) _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), inv));
    float invs = _mm256_cvtss_f32(inv);
    for (; j < n; j++) row[j] *= invs;
    if (lse) *lse = m + logf(total);
}

__attribute__((target("avx2,fma")))
static void softmax_avx2(float *row, long n, float *lse) {
    float m = max_avx2(row, n);
    normalise_avx2(row, n, m, exp_sum_avx2(row, n, m), lse);
}

static float max_scalar(const float *row, long n) {
    float m = -INFINITY;
    for (long j = 0; j < n; j++) m = row[j] > m ? row[j] : m;
    return m;
}

// The sum in double: one float accumulator over 4096 terms drifts by ~n ulps (the vector paths spread it over
// 8 or 16 lanes and stay within float rounding; the scalar path is the fallback, so accuracy over speed).
static float exp_sum_scalar(float *row, long n, float m) {
    double s = 0;
    for (long j = 0; j < n; j++) { row[j] = expf(row[j] - m); s += row[j]; }
    return (float)s;
}

static void normalise_scalar(float *row, long n, float m, float total, float *lse) {
    float inv = 1.0f / total;
    for (long j = 0; j < n; j++) row[j] *= inv;
    if (lse) *lse = m + logf(total);
}

static void softmax_scalar(float *row, long n, float *lse) {
    float m = max_scalar(row, n);
    normalise_scalar(row, n, m, exp_sum_scalar(row, n, m), lse);
}

void ssm_softmax_row(float *row, long n) {
    if (ssm_kernels_avx512()) softmax_avx512(row, n, NULL);
    else if (ssm_kernels_vectorized()) softmax_avx2(row, n, NULL); else softmax_scalar(row, n, NULL);
}

float ssm_softmax_row_lse(float *row, long n) {
    float lse;
    if (ssm_kernels_avx512()) softmax_avx512(row, n, &lse);
    else if (ssm_kernels_vectorized()) softmax_avx2(row, n, &lse); else softmax_scalar(row, n, &lse);
    return lse;
}

// ssm_relative_exp_row (the one place that picks the exp kernels), then the last pass.
void ssm_relative_softmax_row(float *row, const float *rh, const float *rw, long h, long w, float *lse) {
    float m, total = ssm_relative_exp_row(row, rh, rw, h, w, &m);
    if (ssm_kernels_avx512()) normalise_avx512(row, h * w, m, total, lse);
    else if (ssm_kernels_vectorized()) normalise_avx2(row, h * w, m, total, lse); else normalise_scalar(row, h * w, m, total, lse);
}

float ssm_relative_exp_row(float *row, const float *rh, const float *rw, long h, long w, float *max) {
    *max = -INFINITY;
    return ssm_relative_exp_tile(row, rh, rw, h, w, max);
}

float ssm_relative_exp_tile(float *row, const float *rh, const float *rw, long h, long w, float *max) {
    long n = h * w;
    float m;
    if (ssm_kernels_avx512()) m = relative_max_avx512(row, rh, rw, h, w);
    else {
        ssm_add_relative_position(row, rh, rw, h, w);
        m = ssm_kernels_vectorized() ? max_avx2(row, n) : max_scalar(row, n);
    }
    if (m > *max) *max = m;
    if (ssm_kernels_avx512()) return exp_sum_avx512(row, n, *max);
    return ssm_kernels_vectorized() ? exp_sum_avx2(row, n, *max) : exp_sum_scalar(row, n, *max);
}

__attribute__((target("avx2,fma")))
static void exp_shifted_avx2(float *row, long n, float shift) {
    long j = 0;
    __m256 vs = _mm256_set1_ps(shift);
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(row + j, exp8(_mm256_sub_ps(_mm256_loadu_ps(row + j), vs)));
    for (; j < n; j++) row[j] = expf(row[j] - shift);
}

__attribute__((target("avx512f")))
static void exp_shifted_avx512(float *row, long n, float shift) {
    long j = 0;
    __m512 vs = _mm512_set1_ps(shift);
    for (; j + 16 <= n; j += 16) _mm512_storeu_ps(row + j, exp16(_mm512_sub_ps(_mm512_loadu_ps(row + j), vs)));
    for (; j < n; j++) row[j] = expf(row[j] - shift);
}

void ssm_exp_shifted(float *row, long n, float shift) {
    if (ssm_kernels_avx512()) { exp_shifted_avx512(row, n, shift); return; }
    if (ssm_kernels_vectorized()) { exp_shifted_avx2(row, n, shift); return; }
    for (long j = 0; j < n; j++) row[j] = expf(row[j] - shift);
}

__attribute__((target("avx2,fma")))
static float dot_avx2(const float *a, const float *b, long n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), s1);
    }
    s0 = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    float s = _mm_cvtss_f32(h);
    for (; j < n; j++) s += a[j] * b[j];
    return s;
}

float ssm_dot(const float *a, const float *b, long n) {
    if (ssm_kernels_vectorized()) return dot_avx2(a, b, n);
    float s = 0;
    for (long j = 0; j < n; j++) s += a[j] * b[j];
    return s;
}

void ssm_softmax_grad_row(const float *p, float *dp, long n, float dot) {
    // Plain loop: clang vectorises it at -O3.
    for (long j = 0; j < n; j++) dp[j] = p[j] * (dp[j] - dot);
}

void ssm_add_relative_position(float *line, const float *rh, const float *rw, long h, long w) {
    // Plain loops: clang vectorises them at -O3.
    for (long ky = 0; ky < h; ky++) {
        float a = rh[ky];
        float *seg = line + ky * w;
        for (long kx = 0; kx < w; kx++) seg[kx] += a + rw[kx];
    }
}

__attribute__((target("avx2,fma")))
static void relative_position_sums_avx2(const float *line, float *rh, float *rw, long h, long w) {
    for (long kx = 0; kx < w; kx++) rw[kx] = 0;
    for (long ky = 0; ky < h; ky++) {
        const float *seg = line + ky * w;
        __m256 acc = _mm256_setzero_ps();
        long kx = 0;
        for (; kx + 8 <= w; kx += 8) {
            __m256 v = _mm256_loadu_ps(seg + kx);
            acc = _mm256_add_ps(acc, v);
            _mm256_storeu_ps(rw + kx, _mm256_add_ps(_mm256_loadu_ps(rw + kx), v));
        }
        float s = hsum8(acc);
        for (; kx < w; kx++) { s += seg[kx]; rw[kx] += seg[kx]; }
        rh[ky] = s;
    }
}

void ssm_relative_position_sums(const float *line, float *rh, float *rw, long h, long w) {
    if (ssm_kernels_vectorized()) { relative_position_sums_avx2(line, rh, rw, h, w); return; }
    for (long kx = 0; kx < w; kx++) rw[kx] = 0;
    for (long ky = 0; ky < h; ky++) {
        float s = 0;
        for (long kx = 0; kx < w; kx++) { s += line[ky * w + kx]; rw[kx] += line[ky * w + kx]; }
        rh[ky] = s;
    }
}

// Abramowitz & Stegun 7.1.26: erf(x) = 1 - (a5 t^5 + ... + a1 t) e^(-x^2), t = 1 / (1 + 0.3275911 x); highest first.
static const float erf_coefficients[5] = {1.061405429f, -1.453152027f, 1.421413741f, -0.284496736f, 0.254829592f};

// erf(x) for x >= 0 with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26), odd extension for x < 0.
__attribute__((target("avx2,fma")))
static inline __m256 erf8(__m256 x) {
    const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(a, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(erf_coefficients[0]);
    for (int k = 1; k < 5; k++) p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(erf_coefficients[k]));
    p = _mm256_mul_ps(p, t);
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a)));
    __m256 r = _mm256_fnmadd_ps(p, e, _mm256_set1_ps(1.0f));
    return _mm256_or_ps(r, sign);
}

__attribute__((target("avx2,fma")))
static void gelu_avx2(float *x, long n) {
    long i = 0;
    const __m256 half = _mm256_set1_ps(0.5f), rs2 = _mm256_set1_ps(0.70710678118654752f), one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 g = _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf8(_mm256_mul_ps(v, rs2))));
        _mm256_storeu_ps(x + i, g);
    }
    for (; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

// erf8's operations on 16 lanes (the sign through integer ops, which AVX-512F has for floats only in DQ):
// every lane gives erf8's bits.
__attribute__((target("avx512f")))
static inline __m512 erf16(__m512 x) {
    const __m512i signMask = _mm512_set1_epi32((int)0x80000000);
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), signMask);
    __m512 a = _mm512_castsi512_ps(_mm512_andnot_si512(signMask, _mm512_castps_si512(x)));
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(a, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(erf_coefficients[0]);
    for (int k = 1; k < 5; k++) p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(erf_coefficients[k]));
    p = _mm512_mul_ps(p, t);
    __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(a, a)));
    __m512 r = _mm512_fnmadd_ps(p, e, _mm512_set1_ps(1.0f));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r), sign));
}

__attribute__((target("avx512f")))
static void gelu_avx512(float *x, long n) {
    long i = 0;
    const __m512 half = _mm512_set1_ps(0.5f), rs2 = _mm512_set1_ps(0.70710678118654752f), one = _mm512_set1_ps(1.0f);
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, erf16(_mm512_mul_ps(v, rs2)))));
    }
    gelu_avx2(x + i, n - i);  // the tail through the 8-lane path, whose bits these are
}

void ssm_gelu(float *x, long n) {
    if (ssm_kernels_avx512()) { gelu_avx512(x, n); return; }
    if (ssm_kernels_vectorized()) { gelu_avx2(x, n); return; }
    for (long i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void ssm_layer_norm_rows(const float *x, float *y, long rows, long n, const float *w, const float *b, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        double s = 0, ss = 0;
        for (long j = 0; j < n; j++) s += xr[j];
        double mean = s / n;
        for (long j = 0; j < n; j++) { double d = xr[j] - mean; ss += d * d; }
        float inv = (float)(1.0 / sqrt(ss / n + eps)), m = (float)mean;
        if (w && b) for (long j = 0; j < n; j++) yr[j] = (xr[j] - m) * inv * w[j] + b[j];
        else for (long j = 0; j < n; j++) yr[j] = (xr[j] - m) * inv;
    }
}
