/* som-map-private.h: BMU search shared by the map and the trainer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "som-map.h"

G_BEGIN_DECLS

/* The build is -O2, where GCC vectorises only the cheapest loops; the few
 * loops that stream over whole chunks ask for the vectoriser. */
#if defined(__GNUC__) && !defined(__clang__)
# define SOM_VECTORIZE __attribute__ ((optimize ("tree-vectorize")))
#else
# define SOM_VECTORIZE
#endif

/* Per-unit terms of the BMU score a[k] + b[k]·(x·w_k): Euclidean a = ‖w‖²,
 * b = −2; cosine a = 0, b = −1/‖w‖. */
void     _som_bmu_prepare_units   (const float *codebook,
                                   guint        n_units,
                                   guint        dim,
                                   SomDistance  distance,
                                   float       *a,
                                   float       *b);

/* One sgemm of @n rows against the codebook into @scratch (n × n_units), then
 * best and second-best unit per row and the Euclidean distance to the best.
 * Rows with valid[i] == 0 get −1 and NaN.  Outputs may be NULL. */
void     _som_bmu_chunk           (const float  *x,
                                   gsize         n,
                                   guint         dim,
                                   const float  *codebook,
                                   guint         n_units,
                                   const float  *a,
                                   const float  *b,
                                   float        *scratch,
                                   const guint8 *valid,
                                   gint32       *bmus,
                                   gint32       *bmus2,
                                   float        *distances);

/* Scales each row to unit length (zero rows stay zero). */
void     _som_normalize_rows      (float *x,
                                   gsize  n,
                                   guint  dim);

/* TRUE when every value of the row is finite. */
gboolean _som_row_is_finite       (const float *row,
                                   guint        dim);

/* Rows per chunk: about 32 MB of chunk plus scores. */
gsize    _som_default_chunk_rows  (guint dim,
                                   guint n_units);

G_END_DECLS
