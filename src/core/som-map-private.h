/* som-map-private.h: BMU search shared by the map and the trainer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <string.h>

#include "som-map.h"

G_BEGIN_DECLS

/* The build is -O2, where GCC vectorises only the cheapest loops; the few
 * loops that stream over whole chunks ask for the vectoriser. */
#if defined(__GNUC__) && !defined(__clang__)
# define SOM_VECTORIZE __attribute__ ((optimize ("tree-vectorize")))
#else
# define SOM_VECTORIZE
#endif

/* GCC/clang vector extensions: four floats (SSE2 on any x86-64, NEON on
 * arm64), for the loops -O2 does not vectorise by itself (reductions with
 * several accumulators, loops that store as they reduce). */
typedef float som_v4f __attribute__ ((vector_size (16)));

static inline som_v4f
som_load4 (const float *p)
{
  som_v4f v;

  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
som_store4 (float *p, som_v4f v)
{
  memcpy (p, &v, sizeof v);
}

/* The eight lanes of two vectors, summed in double in a fixed order. */
static inline double
som_sum8 (som_v4f a, som_v4f b)
{
  float l[8];

  memcpy (l, &a, sizeof a);
  memcpy (l + 4, &b, sizeof b);
  return (((double) l[0] + l[4]) + ((double) l[1] + l[5])) + (((double) l[2] + l[6]) + ((double) l[3] + l[7]));
}

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
