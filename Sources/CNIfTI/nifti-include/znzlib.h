/* Debian installs niftilib's headers under /usr/include/nifti, but nifti2_io.h includes
 * <znzlib.h> without the folder. This one-line redirect (on this target's private header
 * search path) lets the shim build without compiler flags that name system paths. */
#include <nifti/znzlib.h>
