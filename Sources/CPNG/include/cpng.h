/* A small C shim over libpng (Debian libpng-dev). libpng reports errors with longjmp, which Swift
 * cannot catch, so the setjmp handlers live here and Swift sees plain return codes and messages. */
#ifndef CPNG_SHIM_H
#define CPNG_SHIM_H

#include <stddef.h>
#include <stdint.h>

/* Reads a PNG as 8-bit grey (channels = 1) or 8-bit RGB (channels = 3): palette images become RGB,
 * 1/2/4-bit grey is expanded, 16-bit samples are scaled to 8 bits, alpha is dropped, interlacing is
 * handled by libpng. On success returns 0 and *data is a malloc'ed width*height*channels buffer
 * (row-major, top row first) to be freed with cpng_free. Otherwise returns 1 (cannot open), 2 (not a
 * PNG), 3 (corrupt or truncated), 5 (out of memory) with a message in `err`. */
int cpng_read(const char *path, uint64_t max_pixels, uint32_t *width, uint32_t *height, int *channels, uint8_t **data,
              char *err, size_t errlen);

/* Writes an 8-bit grey (channels 1), grey+alpha (2), RGB (3) or RGBA (4) PNG to `path` (the caller
 * handles atomic replacement). Returns 0, or non-zero with a message in `err`. */
int cpng_write(const char *path, uint32_t width, uint32_t height, int channels, const uint8_t *data,
               char *err, size_t errlen);

void cpng_free(uint8_t *data);

#endif
