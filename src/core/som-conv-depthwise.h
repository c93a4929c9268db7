/* som-conv-depthwise.h: depthwise convolution (one input channel per output channel)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-ops-private.h"

G_BEGIN_DECLS

/* One plane: @dst (out[0] × out[1] × out[2]) = the window @w of @src
 * (in[0] × in[1] × in[2]) correlated with the kernel @k (k[0] × k[1] × k[2]),
 * plus @bias. */
void _som_depthwise_plane (const float     *src,
                           const float     *k,
                           float            bias,
                           float           *dst,
                           const SomWindow *w);

G_END_DECLS
