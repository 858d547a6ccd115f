// KISS FFT, float build (Debian: libkissfft-dev, libkissfft-float; BSD-3-Clause).
// Only the complex N-d transform is used (kiss_fftnd_alloc / kiss_fftnd); a cfg holds a scratch buffer
// (tmpbuf), so one cfg must not be used by two threads at once. Free a cfg with free().
// The library's pkg-config file (kissfft-float) only adds -I/usr/include/kissfft and two -D flags, which
// SwiftPM refuses from pkg-config; the include is spelled out here and the scalar type pinned to the
// float build's (KISS_FFT_SHARED only adds a visibility attribute).
#define kiss_fft_scalar float
#include <kissfft/kiss_fftnd.h>
