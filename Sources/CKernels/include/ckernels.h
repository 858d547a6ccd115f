// Hot inner loops that Swift's SIMD types do not compile to tight vector code: softmax rows with a
// vectorised exp, and the relative-position add of SAM's attention and its backward. AVX-512 or AVX2/FMA, chosen
// at run time by cpuid, with a scalar fallback.
#ifndef SSMSAM_CKERNELS_H
#define SSMSAM_CKERNELS_H

/// row[i] = softmax(row)[i] for `n` contiguous floats, max-subtracted.
void ssm_softmax_row(float *row, long n);

/// ssm_softmax_row that also returns the row's log-sum-exp, log(sum_j exp(row[j])) of the input.
float ssm_softmax_row_lse(float *row, long n);

/// ssm_add_relative_position(row, rh, rw, h, w) then ssm_softmax_row(_lse) of the h * w values, with the add
/// done in the maximum's pass on AVX-512 (the same sums, one pass fewer); *lse set when lse is not NULL.
void ssm_relative_softmax_row(float *row, const float *rh, const float *rw, long h, long w, float *lse);

/// The softmax of ssm_relative_softmax_row without its last pass: row[i] = exp(row[i] + rh[ky] + rw[kx] - max),
/// *max set to the maximum, returning the sum of the row. Multiplying by 1 / sum gives ssm_relative_softmax_row's
/// values bit for bit, and max + log(sum) its log-sum-exp; attention applies the 1 / sum to its output rows instead
/// (d values per row, not N).
float ssm_relative_exp_row(float *row, const float *rh, const float *rw, long h, long w, float *max);

/// One key tile of an online softmax: the relative terms added as ssm_relative_exp_row does, then
/// row[i] = exp(row[i] - m) with m = the larger of *max (in: the running maximum of earlier tiles, -INFINITY
/// for the first) and the tile's maximum; *max set to m; returns the tile's sum. With *max = -INFINITY it is
/// ssm_relative_exp_row bit for bit.
float ssm_relative_exp_tile(float *row, const float *rh, const float *rw, long h, long w, float *max);

/// row[i] = exp(row[i] - shift): probabilities recomputed from logits and their log-sum-exp.
void ssm_exp_shifted(float *row, long n, float shift);

/// dp[i] = p[i] * (dp[i] - dot): softmax's backward on one row, dot = sum_j p[j] * dp[j].
void ssm_softmax_grad_row(const float *p, float *dp, long n, float dot);

/// sum_j a[j] * b[j] (8-wide partial sums on AVX2: the order differs from a sequential loop).
float ssm_dot(const float *a, const float *b, long n);

/// line[ky * w + kx] += rh[ky] + rw[kx] for ky < h, kx < w.
void ssm_add_relative_position(float *line, const float *rh, const float *rw, long h, long w);

/// The transpose of ssm_add_relative_position: rh[ky] = sum_kx line[ky * w + kx] and
/// rw[kx] = sum_ky line[ky * w + kx] (both overwritten).
void ssm_relative_position_sums(const float *line, float *rh, float *rw, long h, long w);

/// x[i] = gelu(x[i]) = 0.5 x (1 + erf(x / sqrt 2)), erf to within 2e-7 (Abramowitz-Stegun 7.1.26 refined).
void ssm_gelu(float *x, long n);

/// y[r, :] = (x[r, :] - mean) / sqrt(var + eps) * w + b for each of `rows` rows of length n (biased
/// variance, accumulated in double); w and b may be NULL.
void ssm_layer_norm_rows(const float *x, float *y, long rows, long n, const float *w, const float *b, float eps);

/// Whether the vector paths are in use on this CPU (AVX2 + FMA), and whether the AVX-512 ones are.
int ssm_kernels_vectorized(void);
int ssm_kernels_avx512(void);

/// For tests: run the kernels at most at `level` (2 AVX-512, 1 AVX2 + FMA, 0 scalar; -1 lifts the cap), so
/// the paths below the CPU's best are checked on it too; never above what the CPU supports. Returns the
/// previous cap. Not thread-safe: set it while no kernel runs.
int ssm_kernels_limit(int level);

#endif
