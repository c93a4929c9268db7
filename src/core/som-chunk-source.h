/* som-chunk-source.h: rows of a data matrix, a chunk at a time
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "som-array.h"

G_BEGIN_DECLS

/* Fills @out with rows [first, first + n) (n × dim floats, C order).  The
 * trainer asks for the rows in order, from row 0 on each pass over the data;
 * a source must give the same rows each pass. */
typedef gboolean (*SomChunkReadFunc) (gpointer      user_data,
                                      gsize         first,
                                      gsize         n,
                                      float        *out,
                                      GCancellable *cancellable,
                                      GError      **error);

#define SOM_TYPE_CHUNK_SOURCE (som_chunk_source_get_type ())

typedef struct _SomChunkSource SomChunkSource;

GType           som_chunk_source_get_type      (void) G_GNUC_CONST;

/* A source of @n_rows × @dim that calls @read for each chunk, so the data
 * never need to be in memory at once. */
SomChunkSource *som_chunk_source_new           (gsize             n_rows,
                                                guint             dim,
                                                SomChunkReadFunc  read,
                                                gpointer          user_data,
                                                GDestroyNotify    destroy);
/* A source over rows in memory (@data is borrowed unless @destroy frees it). */
SomChunkSource *som_chunk_source_new_for_data  (const float      *data,
                                                gsize             n_rows,
                                                guint             dim,
                                                gpointer          owner,
                                                GDestroyNotify    destroy);
/* A source over a 2-D float32 array (takes ownership). */
SomChunkSource *som_chunk_source_new_for_array (SomArray         *array);

SomChunkSource *som_chunk_source_ref           (SomChunkSource   *source);
void            som_chunk_source_unref         (SomChunkSource   *source);
gsize           som_chunk_source_get_n_rows    (SomChunkSource   *source);
guint           som_chunk_source_get_dim       (SomChunkSource   *source);
/* The rows themselves when the source is in memory, else NULL. */
const float    *som_chunk_source_peek          (SomChunkSource   *source);

/* Rows [first, first + n): a pointer into memory for an in-memory source,
 * else @buffer (n × dim floats) filled by the read function. */
const float    *som_chunk_source_read          (SomChunkSource   *source,
                                                gsize             first,
                                                gsize             n,
                                                float            *buffer,
                                                GCancellable     *cancellable,
                                                GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SomChunkSource, som_chunk_source_unref)

G_END_DECLS
