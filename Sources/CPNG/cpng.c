#include "cpng.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

typedef struct { char *err; size_t errlen; } err_sink;

static void on_error(png_structp png, png_const_charp msg) {
    err_sink *sink = (err_sink *)png_get_error_ptr(png);
    if (sink && sink->err) snprintf(sink->err, sink->errlen, "libpng: %s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

int cpng_read(const char *path, uint64_t max_pixels, uint32_t *width, uint32_t *height, int *channels, uint8_t **data,
              char *err, size_t errlen) {
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "cannot open: %s", strerror(errno)); return 1; }
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        fclose(f);
        snprintf(err, errlen, "not a PNG file (missing PNG signature)");
        return 2;
    }
    err_sink sink = { err, errlen };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        if (png) png_destroy_read_struct(&png, NULL, NULL);
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return 5;
    }
    /* volatile: modified between setjmp and a possible longjmp. */
    uint8_t *volatile buffer = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(buffer);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return 3;
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((uint64_t)w * (uint64_t)h > max_pixels) {
        /* Refused from the header, before any allocation: the caller names the limit. */
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        *width = w; *height = h;
        snprintf(err, errlen, "too large");
        return 6;
    }
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_scale_16(png);
    if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    if (ch != 1 && ch != 3) png_error(png, "unexpected channel count after conversion");
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)w * (size_t)ch) png_error(png, "unexpected row size after conversion");
    buffer = (uint8_t *)malloc(rowbytes * h > 0 ? rowbytes * h : 1);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (h > 0 ? h : 1));
    if (!buffer || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = buffer + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    *width = w; *height = h; *channels = ch; *data = buffer;
    return 0;
}

int cpng_write(const char *path, uint32_t width, uint32_t height, int channels, const uint8_t *data,
               char *err, size_t errlen) {
    static const int types[5] = { -1, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                  PNG_COLOR_TYPE_RGB_ALPHA };
    if (channels < 1 || channels > 4) { snprintf(err, errlen, "unsupported channel count %d", channels); return 4; }
    FILE *f = fopen(path, "wb");
    if (!f) { snprintf(err, errlen, "cannot create: %s", strerror(errno)); return 1; }
    err_sink sink = { err, errlen };
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        if (png) png_destroy_write_struct(&png, NULL);
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return 5;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return 3;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, width, height, 8, types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t rowbytes = (size_t)width * (size_t)channels;
    for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(data + (size_t)y * rowbytes));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) { snprintf(err, errlen, "cannot finish writing: %s", strerror(errno)); return 1; }
    return 0;
}

void cpng_free(uint8_t *data) { free(data); }
