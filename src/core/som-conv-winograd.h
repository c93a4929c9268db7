/* som-conv-winograd.h: 3×3 stride-1 convolutions by Winograd F(4×4, 3×3)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-ops-private.h"

G_BEGIN_DECLS

/* The transformed kernels (36 × M × C floats) of M × C × 3 × 3 weights;
 * NULL when out of memory.  Free with g_free(). */
float   *_som_winograd_kernel (const float *wt,
                               gint64       M,
                               gint64       C);
/* y (N × M × OH × OW) = conv (x (N × C × H × W), the kernels @u) + bias,
 * stride 1, top/left padding @pt/@pl (the rest follows from OH/OW).
 * FALSE when out of memory. */
gboolean _som_winograd_conv   (const float *x,
                               const float *u,
                               const float *bias,
                               float       *y,
                               gint64       N,
                               gint64       C,
                               gint64       H,
                               gint64       W,
                               gint64       M,
                               gint64       OH,
                               gint64       OW,
                               gint64       pt,
                               gint64       pl);

G_END_DECLS
