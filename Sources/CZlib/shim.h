#ifndef SCEPOPS_CZLIB_SHIM_H
#define SCEPOPS_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit is a macro, which does not import into Swift.
static inline int scepops_inflate_init(z_stream *stream) {
    return inflateInit(stream);
}

#endif
