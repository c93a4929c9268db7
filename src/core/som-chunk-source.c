/* som-chunk-source.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "som-chunk-source.h"
#include "som-types.h"

struct _SomChunkSource
{
  gatomicrefcount   ref_count;
  gsize             n_rows;
  guint             dim;
  const float      *data;
  SomChunkReadFunc  read;
  gpointer          user_data;
  GDestroyNotify    destroy;
};

G_DEFINE_BOXED_TYPE (SomChunkSource, som_chunk_source, som_chunk_source_ref, som_chunk_source_unref)

SomChunkSource *
som_chunk_source_new (gsize n_rows, guint dim, SomChunkReadFunc read, gpointer user_data, GDestroyNotify destroy)
{
  SomChunkSource *s = g_new0 (SomChunkSource, 1);

  g_return_val_if_fail (read != NULL, NULL);
  g_atomic_ref_count_init (&s->ref_count);
  s->n_rows = n_rows;
  s->dim = dim;
  s->read = read;
  s->user_data = user_data;
  s->destroy = destroy;
  return s;
}

SomChunkSource *
som_chunk_source_new_for_data (const float *data, gsize n_rows, guint dim, gpointer owner, GDestroyNotify destroy)
{
  SomChunkSource *s = g_new0 (SomChunkSource, 1);

  g_atomic_ref_count_init (&s->ref_count);
  s->n_rows = n_rows;
  s->dim = dim;
  s->data = data;
  s->user_data = owner;
  s->destroy = destroy;
  return s;
}

SomChunkSource *
som_chunk_source_new_for_array (SomArray *array)
{
  g_return_val_if_fail (array->dtype == SOM_DTYPE_F32 && array->ndim == 2, NULL);
  return som_chunk_source_new_for_data (array->data, array->shape[0], (guint) array->shape[1],
                                        array, (GDestroyNotify) som_array_free);
}

SomChunkSource *
som_chunk_source_ref (SomChunkSource *source)
{
  g_atomic_ref_count_inc (&source->ref_count);
  return source;
}

void
som_chunk_source_unref (SomChunkSource *source)
{
  if (g_atomic_ref_count_dec (&source->ref_count))
    {
      if (source->destroy != NULL)
        source->destroy (source->user_data);
      g_free (source);
    }
}

gsize
som_chunk_source_get_n_rows (SomChunkSource *source)
{
  return source->n_rows;
}

guint
som_chunk_source_get_dim (SomChunkSource *source)
{
  return source->dim;
}

const float *
som_chunk_source_peek (SomChunkSource *source)
{
  return source->data;
}

const float *
som_chunk_source_read (SomChunkSource *source,
                       gsize           first,
                       gsize           n,
                       float          *buffer,
                       GCancellable   *cancellable,
                       GError        **error)
{
  if (first > source->n_rows || n > source->n_rows - first)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "chunk source: rows %zu–%zu beyond its %zu rows",
                   first, first + n, source->n_rows);
      return NULL;
    }
  if (source->data != NULL)
    return source->data + first * source->dim;
  if (!source->read (source->user_data, first, n, buffer, cancellable, error))
    return NULL;
  return buffer;
}
