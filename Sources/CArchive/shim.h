// libarchive (Debian: libarchive-dev): zip containers of .pth and .npz.
#include <archive.h>
#include <archive_entry.h>
