/* som-tensor.c: the executor's tensors (float32, int64, bool)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "som-model-private.h"

/* ---- buffer cache ----------------------------------------------------------------
 * The executor allocates the same large buffers for every batch (activations,
 * gradients, im2col columns).  Fresh pages from the kernel cost a page fault
 * each, so freed buffers of 32 KiB or more wait here, keyed by their exact
 * size, for the next batch; at most 256 MiB stay cached (least recently freed
 * go first).  The sanitizer builds bypass the cache so that use-after-free
 * stays visible. */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SOM_BUFFER_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SOM_BUFFER_CACHE 0
#endif
#endif
#ifndef SOM_BUFFER_CACHE
#define SOM_BUFFER_CACHE 1
#endif

#define BUFFER_ALIGN     64
#define BUFFER_CACHE_MIN (32u << 10)
#define BUFFER_CACHE_MAX ((gsize) 256 << 20)

static GMutex  buffer_lock;
static GQueue  buffer_cache = G_QUEUE_INIT;  /* newest first */
static gsize   buffer_cached;

/* Bytes handed out and not yet freed (the cache not counted), and their
 * peak: what a pass holds at once, for tests and benchmarks. */
static gsize   buffer_live;
static gsize   buffer_peak;

static inline gsize *
buffer_header (gpointer p)
{
  return (gsize *) ((guint8 *) p - BUFFER_ALIGN);
}

static void
count_alloc (gsize bytes)
{
  gsize live = (gsize) g_atomic_pointer_add (&buffer_live, (gssize) bytes) + bytes;
  gsize peak = (gsize) g_atomic_pointer_get (&buffer_peak);

  while (live > peak && !g_atomic_pointer_compare_and_exchange (&buffer_peak, peak, live))
    peak = (gsize) g_atomic_pointer_get (&buffer_peak);
}

static void
count_free (gsize bytes)
{
  g_atomic_pointer_add (&buffer_live, -(gssize) bytes);
}

gsize
_som_buffer_live_bytes (void)
{
  return (gsize) g_atomic_pointer_get (&buffer_live);
}

gsize
_som_buffer_peak_bytes (void)
{
  return (gsize) g_atomic_pointer_get (&buffer_peak);
}

void
_som_buffer_peak_reset (void)
{
  g_atomic_pointer_set (&buffer_peak, g_atomic_pointer_get (&buffer_live));
}

gpointer
_som_buffer_alloc (gsize bytes)
{
  guint8 *raw;

  bytes = MAX (bytes, 1);
#if SOM_BUFFER_CACHE
  if (bytes >= BUFFER_CACHE_MIN)
    {
      gpointer found = NULL;
      g_mutex_lock (&buffer_lock);
      for (GList *l = buffer_cache.head; l != NULL; l = l->next)
        if (*buffer_header (l->data) == bytes)
          {
            found = l->data;
            g_queue_delete_link (&buffer_cache, l);
            buffer_cached -= bytes;
            break;
          }
      g_mutex_unlock (&buffer_lock);
      if (found != NULL)
        {
          count_alloc (bytes);
          return found;
        }
    }
#endif
  if (bytes > G_MAXSIZE - BUFFER_ALIGN)
    return NULL;
  raw = g_aligned_alloc (bytes + BUFFER_ALIGN, 1, BUFFER_ALIGN);
  *(gsize *) raw = bytes;
  count_alloc (bytes);
  return raw + BUFFER_ALIGN;
}

void
_som_buffer_free (gpointer p)
{
  gsize bytes;
  GList *evict = NULL;

  if (p == NULL)
    return;
  bytes = *buffer_header (p);
  count_free (bytes);
#if SOM_BUFFER_CACHE
  if (bytes >= BUFFER_CACHE_MIN && bytes <= BUFFER_CACHE_MAX / 4)
    {
      g_mutex_lock (&buffer_lock);
      while (buffer_cached + bytes > BUFFER_CACHE_MAX && buffer_cache.tail != NULL)
        {
          gpointer old = g_queue_pop_tail (&buffer_cache);
          buffer_cached -= *buffer_header (old);
          evict = g_list_prepend (evict, old);
        }
      g_queue_push_head (&buffer_cache, p);
      buffer_cached += bytes;
      g_mutex_unlock (&buffer_lock);
      for (GList *l = evict; l != NULL; l = l->next)
        g_aligned_free (buffer_header (l->data));
      g_list_free (evict);
      return;
    }
#endif
  g_aligned_free (buffer_header (p));
}

void
_som_buffer_cache_clear (void)
{
  g_mutex_lock (&buffer_lock);
  while (buffer_cache.head != NULL)
    g_aligned_free (buffer_header (g_queue_pop_head (&buffer_cache)));
  buffer_cached = 0;
  g_mutex_unlock (&buffer_lock);
}

gsize
_som_dtype_size (SomDType dtype)
{
  switch (dtype)
    {
    case SOM_DTYPE_F32: return 4;
    case SOM_DTYPE_I64: return 8;
    case SOM_DTYPE_BOOL: return 1;
    default: return som_dtype_size (dtype);
    }
}

SomTensor *
_som_tensor_new_shape (SomDType dtype, guint ndim, const gint64 *shape)
{
  SomTensor *t = g_new0 (SomTensor, 1);

  g_atomic_ref_count_init (&t->ref);
  t->dtype = dtype;
  t->ndim = MIN (ndim, SOM_ARRAY_MAX_DIMS);
  t->n = 1;
  for (guint i = 0; i < t->ndim; i++)
    {
      t->shape[i] = shape[i];
      t->n *= (gsize) MAX (shape[i], 0);
    }
  return t;
}

gboolean
_som_tensor_alloc (SomTensor *t, GError **error)
{
  gsize bytes;

  if (t->data != NULL)
    return TRUE;
  bytes = 1;
  for (guint i = 0; i < t->ndim; i++)
    {
      if (t->shape[i] < 0 || (t->shape[i] > 0 && bytes > G_MAXSIZE / (gsize) t->shape[i]))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "invalid tensor shape");
          return FALSE;
        }
      bytes *= (gsize) t->shape[i];
    }
  if (bytes > G_MAXSIZE / 8 || bytes * _som_dtype_size (t->dtype) > som_memory_budget ())
    {
      g_autofree char *s = _som_shape_string (t->ndim, t->shape);
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                   "a tensor of shape %s is larger than the memory budget (%" G_GUINT64_FORMAT " bytes)",
                   s, som_memory_budget ());
      return FALSE;
    }
  t->data = _som_buffer_alloc (bytes * _som_dtype_size (t->dtype));
  return TRUE;
}

SomTensor *
_som_tensor_new (SomDType dtype, guint ndim, const gint64 *shape, GError **error)
{
  SomTensor *t = _som_tensor_new_shape (dtype, ndim, shape);

  if (!_som_tensor_alloc (t, error))
    {
      _som_tensor_unref (t);
      return NULL;
    }
  return t;
}

SomTensor *
_som_tensor_ref (SomTensor *t)
{
  g_atomic_ref_count_inc (&t->ref);
  return t;
}

void
_som_tensor_unref (SomTensor *t)
{
  if (t == NULL || !g_atomic_ref_count_dec (&t->ref))
    return;
  if (t->base != NULL)
    _som_tensor_unref (t->base);
  else
    _som_buffer_free (t->data);
  g_free (t);
}

SomTensor *
_som_tensor_view (SomTensor *src, guint ndim, const gint64 *shape)
{
  SomTensor *t = _som_tensor_new_shape (src->dtype, ndim, shape);

  g_assert (t->n == src->n);
  t->base = _som_tensor_ref (src->base != NULL ? src->base : src);
  t->data = src->data;
  return t;
}

char *
_som_shape_string (guint ndim, const gint64 *shape)
{
  GString *s = g_string_new ("[");

  for (guint i = 0; i < ndim; i++)
    {
      if (i > 0)
        g_string_append (s, ", ");
      if (shape[i] < 0)
        g_string_append (s, "N");
      else
        g_string_append_printf (s, "%" G_GINT64_FORMAT, shape[i]);
    }
  g_string_append (s, "]");
  return g_string_free (s, FALSE);
}

SomTensor *
_som_tensor_from_array (const SomArray *a, GError **error)
{
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  SomTensor *t;
  gsize n = som_array_n_elements (a);

  for (guint i = 0; i < a->ndim; i++)
    shape[i] = (gint64) a->shape[i];
  switch (a->dtype)
    {
    case SOM_DTYPE_F32:
    case SOM_DTYPE_I64:
    case SOM_DTYPE_BOOL:
      t = _som_tensor_new (a->dtype, a->ndim, shape, error);
      if (t != NULL)
        memcpy (t->data, a->data, n * _som_dtype_size (a->dtype));
      return t;
    case SOM_DTYPE_F64:
    case SOM_DTYPE_F16:
      {
        g_autoptr(SomArray) f = som_array_to_f32 (a);
        return _som_tensor_from_array (f, error);
      }
    case SOM_DTYPE_I32:
    case SOM_DTYPE_I16:
    case SOM_DTYPE_I8:
    case SOM_DTYPE_U8:
    case SOM_DTYPE_U16:
    case SOM_DTYPE_U32:
      {
        g_autoptr(SomArray) f = som_array_to_f32 (a);
        gint64 *d;
        t = _som_tensor_new (SOM_DTYPE_I64, a->ndim, shape, error);
        if (t == NULL)
          return NULL;
        d = t->data;
        for (gsize i = 0; i < n; i++)
          d[i] = (gint64) ((float *) f->data)[i];
        return t;
      }
    default:
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, "arrays of dtype %s are not supported as model inputs",
                   som_dtype_name (a->dtype));
      return NULL;
    }
}

SomArray *
_som_tensor_to_array (const SomTensor *t, GError **error)
{
  gsize shape[SOM_ARRAY_MAX_DIMS];
  SomArray *a;

  for (guint i = 0; i < t->ndim; i++)
    shape[i] = (gsize) t->shape[i];
  a = som_array_new (t->dtype, t->ndim, shape, error);
  if (a != NULL && t->n > 0)
    memcpy (a->data, t->data, t->n * _som_dtype_size (t->dtype));
  return a;
}

gboolean
_som_tensor_equal (const SomTensor *a, const SomTensor *b)
{
  if (a->dtype != b->dtype || a->ndim != b->ndim)
    return FALSE;
  for (guint i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  if (a->data == NULL || b->data == NULL)
    return FALSE;
  return memcmp (a->data, b->data, a->n * _som_dtype_size (a->dtype)) == 0;
}

gint64
_som_tensor_get_i64 (const SomTensor *t, gsize i)
{
  switch (t->dtype)
    {
    case SOM_DTYPE_F32: return (gint64) ((const float *) t->data)[i];
    case SOM_DTYPE_I64: return ((const gint64 *) t->data)[i];
    case SOM_DTYPE_BOOL: return ((const guint8 *) t->data)[i];
    default: return 0;
    }
}

double
_som_tensor_get_f64 (const SomTensor *t, gsize i)
{
  switch (t->dtype)
    {
    case SOM_DTYPE_F32: return ((const float *) t->data)[i];
    case SOM_DTYPE_I64: return (double) ((const gint64 *) t->data)[i];
    case SOM_DTYPE_BOOL: return ((const guint8 *) t->data)[i];
    default: return 0;
    }
}
