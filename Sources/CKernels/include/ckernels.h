// Hot inner loops that Swift's SIMD types do not compile to tight vector code: softmax rows with a
// vectorised exp, and the relative-position add of SAM's attention. AVX2/FMA with a scalar fallback.
#ifndef SSMSAM_CKERNELS_H
#define SSMSAM_CKERNELS_H

/// row[i] = softmax(row)[i] for `n` contiguous floats, max-subtracted.
void ssm_softmax_row(float *row, long n);

/// line[ky * w + kx] += rh[ky] + rw[kx] for ky < h, kx < w.
void ssm_add_relative_position(float *line, const float *rh, const float *rw, long h, long w);

/// Whether the vector paths are in use on this CPU.
int ssm_kernels_vectorized(void);

#endif
