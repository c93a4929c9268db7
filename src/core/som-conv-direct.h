/* som-conv-direct.h: direct 2-D convolutions for few channels on small planes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-ops-private.h"

G_BEGIN_DECLS

/* The geometry of one 2-D convolution (dilation 1): x is N × C × H × W,
 * the weights M × C/G × KH × KW, y is N × M × OH × OW; output (oy, ox)
 * reads input (oy·sy − pt + ky, ox·sx − pl + kx).  @groups G: 0 or 1 for
 * an ordinary convolution; otherwise output channel m reads the C/G input
 * channels of its group m / (M/G). */
typedef struct
{
  gint64 N, C, H, W, M, KH, KW, sy, sx, pt, pl, OH, OW;
  gint64 groups;
} SomConvGeom;

/* Whether the direct kernels suit @g (few channels per group, small
 * planes, stride 1 or 2, small kernels; grouped convolutions on larger
 * planes too, whose per-group products are too small for sgemm); the
 * callers fall back to im2col/Winograd.  The input gradient takes
 * ungrouped convolutions only. */
gboolean _som_direct_conv_fits       (const SomConvGeom *g);
/* y = conv (x, wt) + bias (@bias may be NULL).  @cache: NULL, or where
 * the weights prepared for the kernel are kept when they are constant (a
 * node's direct_cache; they depend on the weights and their shape only).
 * FALSE when out of memory. */
gboolean _som_direct_conv            (const SomConvGeom *g,
                                      const float       *x,
                                      const float       *wt,
                                      const float       *bias,
                                      float             *y,
                                      gpointer          *cache);
/* dx (=, or += when @add) the input gradient of the convolution for the
 * output gradient @dy; @cache as above (a node's direct_grad_cache; the
 * prepared weights depend on the strides too).  FALSE (nothing written)
 * when the end padding is larger than the window or out of memory. */
gboolean _som_direct_conv_grad_input (const SomConvGeom *g,
                                      const float       *dy,
                                      const float       *wt,
                                      float             *dx,
                                      gboolean           add,
                                      gpointer          *cache);

/* The kernels in use ("avx512f", "avx2" or "generic"): the widest this CPU
 * runs, or those _som_direct_conv_use() chose (tests and benchmarks: NULL
 * goes back to the widest; FALSE when this CPU cannot run them). */
const char *_som_direct_conv_kernels    (void);
gboolean    _som_direct_conv_use        (const char        *name);

G_END_DECLS
