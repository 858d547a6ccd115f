/* A small C shim over libjpeg-turbo (Debian libjpeg62-turbo-dev). libjpeg's default error handler
 * calls exit(); the handler here longjmps back instead, so Swift gets a return code and a message. */
#ifndef CJPEG_SHIM_H
#define CJPEG_SHIM_H

#include <stddef.h>
#include <stdint.h>

/* Decodes a JPEG as 8-bit grey (channels = 1, for greyscale JPEGs) or 8-bit RGB (channels = 3; YCbCr
 * is converted by libjpeg). On success returns 0 and *data is a malloc'ed width*height*channels
 * buffer (row-major, top row first) to free with cjpeg_free. Otherwise returns 1 (cannot open),
 * 2 (not a JPEG), 3 (corrupt or truncated), 4 (unsupported colour space, e.g. CMYK), 5 (memory). */
int cjpeg_read(const char *path, uint64_t max_pixels, uint32_t *width, uint32_t *height, int *channels, uint8_t **data,
               char *err, size_t errlen);

void cjpeg_free(uint8_t *data);

#endif
