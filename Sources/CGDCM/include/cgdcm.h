/* A small C shim over GDCM (Debian libgdcm-dev; C++), so that Swift sees a plain C API and no C++.
 * It reads one DICOM file holding one single-frame grey-scale image, decodes its pixel data (GDCM
 * decodes JPEG, JPEG-LS, JPEG 2000 and RLE transfer syntaxes) and hands back the stored values as
 * Float32 (rescaling NOT applied) with the geometry tags the series reader needs. GDCM's own
 * warnings on stderr are silenced; errors come back as a one-line message. */
#ifndef CGDCM_SHIM_H
#define CGDCM_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int width;                  /* Columns (0028,0011) */
    int height;                 /* Rows (0028,0010) */
    int has_position;           /* 1 when ImagePositionPatient (0020,0032) is present */
    double position[3];         /* ImagePositionPatient, LPS mm: the centre of the first transmitted voxel */
    int has_orientation;        /* 1 when ImageOrientationPatient (0020,0037) is present */
    double orientation[6];      /* ImageOrientationPatient: row cosines (direction of increasing column) then column cosines */
    int has_spacing;            /* 1 when PixelSpacing (0028,0030) is present */
    double pixel_spacing[2];    /* PixelSpacing: between rows (mm), then between columns (mm) */
    double slice_thickness;     /* SliceThickness (0018,0050), 0 when absent */
    double slope, intercept;    /* RescaleSlope (0028,1053) / RescaleIntercept (0028,1052); 1 and 0 when absent */
    float *data;                /* width * height stored values, row by row (column index fastest); free with cgdcm_free */
} cgdcm_slice;

/* Reads `path`. Returns 0 on success; otherwise a non-zero code and a NUL-terminated message in `err`:
 *  1: missing or unreadable file, 2: not a DICOM file with an image, 3: pixel data could not be decoded,
 *  4: unsupported image (colour, multi-frame, pixel type), 5: out of memory. */
int cgdcm_read(const char *path, cgdcm_slice *out, char *err, size_t errlen);

/* Frees out->data (safe on a zeroed struct). */
void cgdcm_free(cgdcm_slice *s);

#ifdef __cplusplus
}
#endif

#endif
