/* A small C shim over niftilib (Debian libnifti2-dev / libniftiio-dev, library nifti2).
 * It reads NIfTI-1 and NIfTI-2 files (.nii, .nii.gz, .hdr/.img) through nifti_image_read and hands
 * Swift a plain struct: no niftilib types leak into Swift, and niftilib's own stderr chatter is
 * silenced (the Swift side reports errors that name the file). */
#ifndef CNIFTI_SHIM_H
#define CNIFTI_SHIM_H

#include <stdint.h>
#include <stddef.h>

typedef struct {
    int nifti_version;     /* 1 or 2 (0: ANALYZE 7.5) */
    int ndim;              /* dim[0] */
    int64_t dim[8];        /* dim[1..7] as in the header; dim[0] = ndim */
    double pixdim[8];      /* pixdim[1..7] */
    int datatype;          /* NIFTI_TYPE_* code of the stored data */
    int qform_code, sform_code;
    double qto_xyz[16];    /* row-major 4x4, computed by niftilib from the quaternion */
    double sto_xyz[16];    /* row-major 4x4 from srow_x/y/z */
    double scl_slope, scl_inter;
    int64_t nvox;
    float *data;           /* nvox Float32 values, x fastest, scaling NOT applied; free with cnifti_free */
} cnifti_volume;

/* Reads the header and data of `path` and converts the voxels to Float32.
 * Returns 0 on success; otherwise a non-zero code and a message in `err` (NUL-terminated):
 *  1: file missing or unreadable, 2: not a NIfTI/ANALYZE header, 3: data could not be read
 *  (truncated or corrupt), 4: datatype not convertible (complex, RGB), 5: out of memory. */
int cnifti_read(const char *path, cnifti_volume *out, char *err, size_t errlen);

/* Reads only the header (no voxel data): out->data stays NULL. Same return codes. */
int cnifti_read_header(const char *path, cnifti_volume *out, char *err, size_t errlen);

/* Writes `nvox` uint8 labels (x fastest, in the reference file's own voxel order) as a 3-D NIfTI label map
 * at `path` (.nii or .nii.gz, compressed by niftilib) with the header of `reference`: its dims, pixdim, qform
 * and sform unchanged, datatype uint8, no scaling, intent LABEL, `description` in descrip. niftilib does not
 * report write errors: the caller reads the file back. Returns 0, or 1 (reference unreadable), 2 (voxel count
 * differs from the reference's grid), 3 (output name refused), with a message in `err`. */
int cnifti_write_like(const char *reference, const char *path, const uint8_t *data, int64_t nvox,
                      const char *description, char *err, size_t errlen);

/* Frees out->data (safe on a zeroed struct). */
void cnifti_free(cnifti_volume *v);

#endif
