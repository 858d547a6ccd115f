#include "cjpeg.h"
#include <stdio.h>      /* jpeglib.h needs FILE and size_t first */
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    int warnings;
} error_mgr;

static void on_error(j_common_ptr cinfo) {
    error_mgr *mgr = (error_mgr *)cinfo->err;
    longjmp(mgr->jump, 1);
}

/* Corrupt-data warnings (e.g. premature end of data) are counted and turned into errors. */
static void on_message(j_common_ptr cinfo, int level) {
    if (level < 0) ((error_mgr *)cinfo->err)->warnings++;
}

int cjpeg_read(const char *path, uint64_t max_pixels, uint32_t *width, uint32_t *height, int *channels, uint8_t **data,
               char *err, size_t errlen) {
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "cannot open: %s", strerror(errno)); return 1; }
    unsigned char soi[2];
    if (fread(soi, 1, 2, f) != 2 || soi[0] != 0xFF || soi[1] != 0xD8) {
        fclose(f);
        snprintf(err, errlen, "not a JPEG file (missing SOI marker FF D8)");
        return 2;
    }
    rewind(f);
    struct jpeg_decompress_struct cinfo;
    error_mgr mgr;
    cinfo.err = jpeg_std_error(&mgr.base);
    mgr.base.error_exit = on_error;
    mgr.base.emit_message = on_message;
    mgr.warnings = 0;
    uint8_t *volatile buffer = NULL;
    if (setjmp(mgr.jump)) {
        char msg[JMSG_LENGTH_MAX];
        (*cinfo.err->format_message)((j_common_ptr)&cinfo, msg);
        snprintf(err, errlen, "libjpeg: %s", msg);
        free(buffer);
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        return 3;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    if ((uint64_t)cinfo.image_width * (uint64_t)cinfo.image_height > max_pixels) {
        *width = cinfo.image_width; *height = cinfo.image_height;
        snprintf(err, errlen, "too large");
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        return 6;
    }
    int ch;
    if (cinfo.jpeg_color_space == JCS_GRAYSCALE) { cinfo.out_color_space = JCS_GRAYSCALE; ch = 1; }
    else if (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB) { cinfo.out_color_space = JCS_RGB; ch = 3; }
    else {
        snprintf(err, errlen, "unsupported JPEG colour space %d (CMYK/YCCK are not supported)", (int)cinfo.jpeg_color_space);
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        return 4;
    }
    jpeg_start_decompress(&cinfo);
    size_t rowbytes = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    buffer = (uint8_t *)malloc(rowbytes * cinfo.output_height > 0 ? rowbytes * cinfo.output_height : 1);
    if (!buffer) {
        snprintf(err, errlen, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        return 5;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = buffer + (size_t)cinfo.output_scanline * rowbytes;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    int warnings = mgr.warnings;
    *width = cinfo.output_width; *height = cinfo.output_height; *channels = cinfo.output_components;
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    if (warnings > 0) {
        free(buffer);
        snprintf(err, errlen, "libjpeg: corrupt or truncated data (%d warnings)", warnings);
        return 3;
    }
    (void)ch;
    *data = buffer;
    return 0;
}

void cjpeg_free(uint8_t *data) { free(data); }
