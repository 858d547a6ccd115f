#include "cnifti.h"
#include <nifti/nifti2_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

static void copy_mat(double *dst, nifti_dmat44 m) {
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) dst[r * 4 + c] = m.m[r][c];
}

/* Converts nvox stored values of `datatype` to Float32. Returns 0 or 4 (unsupported type). */
static int to_float(const void *src, int datatype, int64_t n, float *dst) {
#define CONVERT(T) do { const T *s = (const T *)src; for (int64_t i = 0; i < n; i++) dst[i] = (float)s[i]; } while (0)
    switch (datatype) {
    case NIFTI_TYPE_UINT8:   CONVERT(uint8_t); return 0;
    case NIFTI_TYPE_INT8:    CONVERT(int8_t); return 0;
    case NIFTI_TYPE_UINT16:  CONVERT(uint16_t); return 0;
    case NIFTI_TYPE_INT16:   CONVERT(int16_t); return 0;
    case NIFTI_TYPE_UINT32:  CONVERT(uint32_t); return 0;
    case NIFTI_TYPE_INT32:   CONVERT(int32_t); return 0;
    case NIFTI_TYPE_UINT64:  CONVERT(uint64_t); return 0;
    case NIFTI_TYPE_INT64:   CONVERT(int64_t); return 0;
    case NIFTI_TYPE_FLOAT32: CONVERT(float); return 0;
    case NIFTI_TYPE_FLOAT64: CONVERT(double); return 0;
    case NIFTI_TYPE_FLOAT128: CONVERT(long double); return 0;
    default: return 4;
    }
#undef CONVERT
}

static int read_impl(const char *path, cnifti_volume *out, int with_data, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    /* niftilib prints "** ERROR" lines at debug level >= 1; the caller reports errors itself. */
    nifti_set_debug_level(0);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return 1;
    }
    fclose(probe);
    /* (is_nifti_file() would be the obvious probe, but it rejects NIfTI-2 files: let the reader decide.) */
    nifti_image *nim = nifti_image_read(path, 0);
    if (!nim) {
        snprintf(err, errlen, "not a NIfTI file (no valid NIfTI-1/NIfTI-2 header; a .nii.gz must be gzip-compressed)");
        return 2;
    }
    /* nim->nifti_type reports NIfTI-1 for NIfTI-2 files in this niftilib, so ask the header reader. */
    int nver = 0;
    void *hdr = nifti_read_header(path, &nver, 0);
    free(hdr);
    out->nifti_version = nim->nifti_type == NIFTI_FTYPE_ANALYZE ? 0 : (nver == 2 ? 2 : 1);
    out->ndim = (int)nim->ndim;
    for (int i = 0; i < 8; i++) { out->dim[i] = nim->dim[i]; out->pixdim[i] = nim->pixdim[i]; }
    out->datatype = nim->datatype;
    out->qform_code = nim->qform_code;
    out->sform_code = nim->sform_code;
    copy_mat(out->qto_xyz, nim->qto_xyz);
    copy_mat(out->sto_xyz, nim->sto_xyz);
    out->scl_slope = nim->scl_slope;
    out->scl_inter = nim->scl_inter;
    out->nvox = nim->nvox;
    if (!with_data) { nifti_image_free(nim); return 0; }

    if (nifti_image_load(nim) != 0 || !nim->data) {
        snprintf(err, errlen, "could not read the voxel data (%lld voxels of %d bytes): the file is truncated or corrupt",
                 (long long)nim->nvox, nim->nbyper);
        nifti_image_free(nim);
        return 3;
    }
    float *data = (float *)malloc((size_t)(nim->nvox > 0 ? nim->nvox : 1) * sizeof(float));
    if (!data) {
        snprintf(err, errlen, "out of memory for %lld voxels", (long long)nim->nvox);
        nifti_image_free(nim);
        return 5;
    }
    if (to_float(nim->data, nim->datatype, nim->nvox, data) != 0) {
        snprintf(err, errlen, "datatype %s (%d) cannot be converted to Float32",
                 nifti_datatype_string(nim->datatype), nim->datatype);
        free(data);
        nifti_image_free(nim);
        return 4;
    }
    out->data = data;
    nifti_image_free(nim);
    return 0;
}

int cnifti_read(const char *path, cnifti_volume *out, char *err, size_t errlen) {
    return read_impl(path, out, 1, err, errlen);
}

int cnifti_read_header(const char *path, cnifti_volume *out, char *err, size_t errlen) {
    return read_impl(path, out, 0, err, errlen);
}

void cnifti_free(cnifti_volume *v) {
    if (v && v->data) { free(v->data); v->data = NULL; }
}

int cnifti_write_like(const char *reference, const char *path, const uint8_t *data, int64_t nvox,
                      const char *description, char *err, size_t errlen) {
    nifti_set_debug_level(0);
    nifti_image *nim = nifti_image_read(reference, 0);
    if (!nim) {
        snprintf(err, errlen, "cannot read the reference header %s", reference);
        return 1;
    }
    int64_t n = nim->dim[1] * nim->dim[2] * nim->dim[3];
    if (n != nvox) {
        snprintf(err, errlen, "%lld voxels for a reference grid of %lld x %lld x %lld", (long long)nvox,
                 (long long)nim->dim[1], (long long)nim->dim[2], (long long)nim->dim[3]);
        nifti_image_free(nim);
        return 2;
    }
    /* A 3-D uint8 label map on the reference's grid: dims, pixdim, qform and sform as they are. */
    nim->ndim = nim->dim[0] = 3;
    for (int i = 4; i < 8; i++) { nim->dim[i] = 1; }
    nim->nt = nim->nu = nim->nv = nim->nw = 1;
    nim->nvox = nvox;
    nim->datatype = NIFTI_TYPE_UINT8;
    nim->nbyper = 1;
    nim->swapsize = 0;
    nim->scl_slope = 0;  /* no scaling: stored values are the labels */
    nim->scl_inter = 0;
    nim->cal_min = 0;
    nim->cal_max = 0;
    nim->intent_code = NIFTI_INTENT_LABEL;
    memset(nim->descrip, 0, sizeof nim->descrip);
    snprintf(nim->descrip, sizeof nim->descrip, "%s", description ? description : "");
    nim->byteorder = nifti_short_order();
    if (nifti_set_filenames(nim, path, 0, 1) != 0) {
        snprintf(err, errlen, "niftilib refused the output name %s (expected .nii or .nii.gz)", path);
        nifti_image_free(nim);
        return 3;
    }
    nim->data = (void *)data;
    nifti_image_write(nim);
    nim->data = NULL;  /* the caller owns it */
    nifti_image_free(nim);
    return 0;
}
