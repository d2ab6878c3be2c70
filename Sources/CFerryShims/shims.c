/* All shims are static inline in ferry_shims.h; this file gives the C target a translation unit. */
#include "ferry_shims.h"
