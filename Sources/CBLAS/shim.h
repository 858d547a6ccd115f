// OpenBLAS through its CBLAS interface (Debian: libopenblas-dev).
#include <cblas.h>
// Declared by OpenBLAS (openblas_config.h via cblas.h), repeated for clarity:
// openblas_get_config, openblas_get_corename, openblas_get_num_threads, openblas_set_num_threads.
