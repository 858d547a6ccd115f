// libarchive (Debian: libarchive-dev): zip containers of .pth and .npz.
#include <archive.h>
#include <archive_entry.h>
// zlib (Debian: zlib1g-dev, a dependency of libarchive-dev): crc32 for the zip entries we write.
#include <zlib.h>
