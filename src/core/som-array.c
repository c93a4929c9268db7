/* som-array.c: arrays, .npy and .npz
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>
#include <glib/gstdio.h>

#include "som-array.h"
#include "som-io.h"
#include "som-types.h"

static const struct
{
  const char *descr;  /* numpy's descr, little-endian */
  gsize       size;
  const char *name;
} dtype_info[] = {
  [SOM_DTYPE_F32]  = { "<f4", 4, "float32" },
  [SOM_DTYPE_F64]  = { "<f8", 8, "float64" },
  [SOM_DTYPE_I32]  = { "<i4", 4, "int32" },
  [SOM_DTYPE_I64]  = { "<i8", 8, "int64" },
  [SOM_DTYPE_U8]   = { "|u1", 1, "uint8" },
  [SOM_DTYPE_I8]   = { "|i1", 1, "int8" },
  [SOM_DTYPE_BOOL] = { "|b1", 1, "bool" },
  [SOM_DTYPE_U16]  = { "<u2", 2, "uint16" },
  [SOM_DTYPE_I16]  = { "<i2", 2, "int16" },
  [SOM_DTYPE_U32]  = { "<u4", 4, "uint32" },
  [SOM_DTYPE_U64]  = { "<u8", 8, "uint64" },
  [SOM_DTYPE_F16]  = { "<f2", 2, "float16" },
};

gsize
som_dtype_size (SomDType dtype)
{
  g_return_val_if_fail (dtype < G_N_ELEMENTS (dtype_info), 0);
  return dtype_info[dtype].size;
}

const char *
som_dtype_name (SomDType dtype)
{
  g_return_val_if_fail (dtype < G_N_ELEMENTS (dtype_info), "?");
  return dtype_info[dtype].name;
}

/* Element count and byte size with overflow checks. */
static gboolean
shape_bytes (SomDType dtype, guint ndim, const gsize *shape, gsize *n_out, gsize *bytes_out)
{
  gsize n = 1;

  for (guint i = 0; i < ndim; i++)
    {
      if (shape[i] != 0 && n > G_MAXSIZE / shape[i])
        return FALSE;
      n *= shape[i];
    }
  if (n > G_MAXSIZE / som_dtype_size (dtype))
    return FALSE;
  *n_out = n;
  *bytes_out = n * som_dtype_size (dtype);
  return TRUE;
}

SomArray *
som_array_new (SomDType dtype, guint ndim, const gsize *shape, GError **error)
{
  SomArray *a;
  gsize n, bytes;

  if (ndim > SOM_ARRAY_MAX_DIMS)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "arrays of %u dimensions are not supported (at most %d)", ndim, SOM_ARRAY_MAX_DIMS);
      return NULL;
    }
  if (!shape_bytes (dtype, ndim, shape, &n, &bytes) || bytes > som_memory_budget ())
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                   "an array of %" G_GSIZE_FORMAT " dimensions is larger than the memory budget (%" G_GUINT64_FORMAT " bytes)",
                   (gsize) ndim, som_memory_budget ());
      return NULL;
    }
  a = g_new0 (SomArray, 1);
  a->dtype = dtype;
  a->ndim = ndim;
  if (ndim > 0)
    memcpy (a->shape, shape, ndim * sizeof (gsize));
  a->data = g_aligned_alloc0 (MAX (bytes, 1), 1, 64);
  return a;
}

SomArray *
som_array_new_2d_f32 (gsize rows, gsize cols)
{
  gsize shape[2] = { rows, cols };
  SomArray *a = som_array_new (SOM_DTYPE_F32, 2, shape, NULL);

  if (a == NULL)
    g_error ("cannot allocate a %" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT " float32 array", rows, cols);
  return a;
}

SomArray *
som_array_new_1d_i32 (gsize n)
{
  SomArray *a = som_array_new (SOM_DTYPE_I32, 1, &n, NULL);

  if (a == NULL)
    g_error ("cannot allocate %" G_GSIZE_FORMAT " int32 values", n);
  return a;
}

gsize
som_array_n_elements (const SomArray *array)
{
  gsize n = 1;

  for (guint i = 0; i < array->ndim; i++)
    n *= array->shape[i];
  return n;
}

gsize
som_array_n_bytes (const SomArray *array)
{
  return som_array_n_elements (array) * som_dtype_size (array->dtype);
}

SomArray *
som_array_copy (const SomArray *array)
{
  SomArray *a = som_array_new (array->dtype, array->ndim, array->shape, NULL);

  g_assert (a != NULL);
  memcpy (a->data, array->data, som_array_n_bytes (array));
  return a;
}

SomArray *
som_array_slice_rows (const SomArray *array,
                      gsize           start,
                      gsize           n)
{
  gsize shape[SOM_ARRAY_MAX_DIMS];
  gsize row = som_array_n_bytes (array) / MAX (array->shape[0], 1);
  SomArray *out;

  memcpy (shape, array->shape, sizeof shape);
  shape[0] = n;
  out = som_array_new (array->dtype, array->ndim, shape, NULL);
  memcpy (out->data, (const guint8 *) array->data + start * row, n * row);
  return out;
}

void
som_array_free (SomArray *array)
{
  if (array == NULL)
    return;
  g_aligned_free (array->data);
  g_free (array);
}

char *
som_array_shape_string (const SomArray *array)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < array->ndim; i++)
    g_string_append_printf (s, "%s%" G_GSIZE_FORMAT, i ? "×" : "", array->shape[i]);
  if (array->ndim == 0)
    g_string_append (s, "scalar");
  return g_string_free (s, FALSE);
}

static float
half_to_float (guint16 h)
{
  guint32 sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;

  if (exp == 0)
    v = ldexpf ((float) mant, -24);
  else if (exp == 31)
    v = mant ? NAN : INFINITY;
  else
    v = ldexpf ((float) (mant | 0x400), (int) exp - 25);
  return sign ? -v : v;
}

static double
element_as_double (const SomArray *a, gsize i)
{
  switch (a->dtype)
    {
    case SOM_DTYPE_F32: return ((const float *) a->data)[i];
    case SOM_DTYPE_F64: return ((const double *) a->data)[i];
    case SOM_DTYPE_I32: return ((const gint32 *) a->data)[i];
    case SOM_DTYPE_I64: return (double) ((const gint64 *) a->data)[i];
    case SOM_DTYPE_U8:  return ((const guint8 *) a->data)[i];
    case SOM_DTYPE_I8:  return ((const gint8 *) a->data)[i];
    case SOM_DTYPE_BOOL: return ((const guint8 *) a->data)[i] != 0;
    case SOM_DTYPE_U16: return ((const guint16 *) a->data)[i];
    case SOM_DTYPE_I16: return ((const gint16 *) a->data)[i];
    case SOM_DTYPE_U32: return ((const guint32 *) a->data)[i];
    case SOM_DTYPE_U64: return (double) ((const guint64 *) a->data)[i];
    case SOM_DTYPE_F16: return half_to_float (((const guint16 *) a->data)[i]);
    default: g_assert_not_reached ();
    }
}

SomArray *
som_array_to_f32 (const SomArray *array)
{
  SomArray *a = som_array_new (SOM_DTYPE_F32, array->ndim, array->shape, NULL);
  gsize n = som_array_n_elements (array);
  float *out;

  g_assert (a != NULL);
  out = a->data;
  if (array->dtype == SOM_DTYPE_F32)
    memcpy (out, array->data, n * sizeof (float));
  else
    for (gsize i = 0; i < n; i++)
      out[i] = (float) element_as_double (array, i);
  return a;
}

SomArray *
som_array_to_i32 (const SomArray *array, GError **error)
{
  SomArray *a;
  gsize n = som_array_n_elements (array);
  gint32 *out;

  a = som_array_new (SOM_DTYPE_I32, array->ndim, array->shape, error);
  if (a == NULL)
    return NULL;
  out = a->data;
  for (gsize i = 0; i < n; i++)
    {
      double v = element_as_double (array, i);
      if (!(v >= G_MININT32 && v <= G_MAXINT32) || v != floor (v))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "element %" G_GSIZE_FORMAT " (%g) is not a 32-bit integer", i, v);
          som_array_free (a);
          return NULL;
        }
      out[i] = (gint32) v;
    }
  return a;
}

/* --- .npy ------------------------------------------------------------- */

static const guint8 npy_magic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };

/* Finds the value of 'key' in a numpy header dict; returns a pointer to the
 * first character after "'key':" (spaces skipped), or NULL. */
static const char *
header_value (const char *header, const char *key)
{
  g_autofree char *pattern = g_strdup_printf ("'%s'", key);
  const char *p = strstr (header, pattern);

  if (p == NULL)
    return NULL;
  p += strlen (pattern);
  while (*p == ' ')
    p++;
  if (*p != ':')
    return NULL;
  p++;
  while (*p == ' ')
    p++;
  return p;
}

gboolean
som_npy_parse_header (const guint8 *data,
                      gsize         len,
                      const char   *name,
                      SomDType     *dtype_out,
                      guint        *ndim_out,
                      gsize        *shape_out,
                      gsize        *data_offset_out,
                      GError      **error)
{
  guint major;
  gsize header_len, offset, n, bytes;
  g_autofree char *header = NULL;
  const char *p;
  SomDType dtype = SOM_DTYPE_F32;
  gboolean found = FALSE;
  gsize shape[SOM_ARRAY_MAX_DIMS];
  guint ndim = 0;

  if (len < 10 || memcmp (data, npy_magic, 6) != 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a .npy array (bad magic)", name);
      return FALSE;
    }
  major = data[6];
  if (major == 1)
    {
      header_len = data[8] | (data[9] << 8);
      offset = 10;
    }
  else if (major == 2 || major == 3)
    {
      if (len < 12)
        goto truncated;
      header_len = (gsize) data[8] | ((gsize) data[9] << 8) | ((gsize) data[10] << 16) | ((gsize) data[11] << 24);
      offset = 12;
    }
  else
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, "%s: .npy version %u is not supported", name, major);
      return FALSE;
    }
  if (header_len > len - offset || header_len > 1 << 20)
    goto truncated;
  header = g_strndup ((const char *) data + offset, header_len);
  offset += header_len;

  p = header_value (header, "descr");
  if (p == NULL || *p != '\'')
    goto bad_header;
  for (guint i = 0; i < G_N_ELEMENTS (dtype_info); i++)
    {
      gsize dl = strlen (dtype_info[i].descr);
      /* "|u1" may also be written "<u1" or "|b1"; accept either byte-order mark for 1-byte types */
      if (strncmp (p + 1, dtype_info[i].descr, dl) == 0 && p[1 + dl] == '\'')
        dtype = i, found = TRUE;
      else if (dtype_info[i].size == 1 && (p[1] == '<' || p[1] == '|' || p[1] == '=') &&
               strncmp (p + 2, dtype_info[i].descr + 1, dl - 1) == 0 && p[1 + dl] == '\'')
        dtype = i, found = TRUE;
      if (found)
        break;
    }
  if (!found)
    {
      g_autofree char *descr = g_strndup (p, strcspn (p, ","));
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "%s: dtype %s is not supported (little-endian numbers only)", name, descr);
      return FALSE;
    }

  p = header_value (header, "fortran_order");
  if (p == NULL)
    goto bad_header;
  if (strncmp (p, "True", 4) == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "%s: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)", name);
      return FALSE;
    }
  if (strncmp (p, "False", 5) != 0)
    goto bad_header;

  p = header_value (header, "shape");
  if (p == NULL || *p != '(')
    goto bad_header;
  p++;
  for (;;)
    {
      char *end;
      guint64 v;

      while (*p == ' ')
        p++;
      if (*p == ')')
        break;
      if (!g_ascii_isdigit (*p))
        goto bad_header;
      errno = 0;
      v = g_ascii_strtoull (p, &end, 10);
      if (errno != 0 || end == p)
        goto bad_header;
      if (ndim == SOM_ARRAY_MAX_DIMS)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                       "%s: more than %d dimensions", name, SOM_ARRAY_MAX_DIMS);
          return FALSE;
        }
      shape[ndim++] = v;
      p = end;
      while (*p == ' ')
        p++;
      if (*p == ',')
        p++;
      else if (*p != ')')
        goto bad_header;
    }

  if (!shape_bytes (dtype, ndim, shape, &n, &bytes))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "%s: the declared shape overflows", name);
      return FALSE;
    }
  *dtype_out = dtype;
  *ndim_out = ndim;
  memcpy (shape_out, shape, ndim * sizeof (gsize));
  *data_offset_out = offset;
  return TRUE;

truncated:
  g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: truncated .npy data", name);
  return FALSE;
bad_header:
  g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: malformed .npy header", name);
  return FALSE;
}

SomArray *
som_npy_parse (const guint8 *data, gsize len, const char *name, GError **error)
{
  SomDType dtype;
  gsize shape[SOM_ARRAY_MAX_DIMS];
  guint ndim;
  gsize offset, n, bytes;
  SomArray *a;

  if (!som_npy_parse_header (data, len, name, &dtype, &ndim, shape, &offset, error))
    return NULL;
  if (!shape_bytes (dtype, ndim, shape, &n, &bytes))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "%s: the declared shape overflows", name);
      return NULL;
    }
  if (bytes != len - offset)
    {
      if (bytes > len - offset)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: truncated .npy data", name);
          return NULL;
        }
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: %" G_GSIZE_FORMAT " bytes of data, but the header declares %" G_GSIZE_FORMAT,
                   name, len - offset, bytes);
      return NULL;
    }
  a = som_array_new (dtype, ndim, shape, error);
  if (a == NULL)
    {
      g_prefix_error (error, "%s: ", name);
      return NULL;
    }
  memcpy (a->data, data + offset, bytes);
  return a;
}

GBytes *
som_npy_serialize (const SomArray *array)
{
  GString *h = g_string_new (NULL);
  gsize bytes = som_array_n_bytes (array);
  gsize preamble, total, hlen;
  guint8 *out;
  gboolean v2;

  g_string_append_printf (h, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                          dtype_info[array->dtype].descr);
  for (guint i = 0; i < array->ndim; i++)
    g_string_append_printf (h, "%" G_GSIZE_FORMAT "%s", array->shape[i],
                            (array->ndim == 1 || i + 1 < array->ndim) ? ", " : "");
  if (array->ndim == 1)
    g_string_truncate (h, h->len - 1);  /* "(5,)" */
  g_string_append (h, "), }");

  v2 = h->len + 11 > 65535;
  preamble = v2 ? 12 : 10;
  /* pad with spaces so that the data starts on a 64-byte boundary; end with \n */
  hlen = h->len + 1;
  hlen = ((preamble + hlen + 63) / 64) * 64 - preamble;
  while (h->len < hlen - 1)
    g_string_append_c (h, ' ');
  g_string_append_c (h, '\n');

  total = preamble + h->len + bytes;
  out = g_malloc (total);
  memcpy (out, npy_magic, 6);
  out[6] = v2 ? 2 : 1;
  out[7] = 0;
  if (v2)
    {
      out[8] = h->len & 0xff;
      out[9] = (h->len >> 8) & 0xff;
      out[10] = (h->len >> 16) & 0xff;
      out[11] = (h->len >> 24) & 0xff;
    }
  else
    {
      out[8] = h->len & 0xff;
      out[9] = (h->len >> 8) & 0xff;
    }
  memcpy (out + preamble, h->str, h->len);
  memcpy (out + preamble + h->len, array->data, bytes);
  g_string_free (h, TRUE);
  return g_bytes_new_take (out, total);
}

SomArray *
som_npy_load (const char *path, GError **error)
{
  g_autoptr(GMappedFile) mf = NULL;
  GError *local = NULL;

  mf = g_mapped_file_new (path, FALSE, &local);
  if (mf == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: %s", path,
                   local->code == G_FILE_ERROR_NOENT ? "no such file" : local->message);
      g_error_free (local);
      return NULL;
    }
  return som_npy_parse ((const guint8 *) g_mapped_file_get_contents (mf),
                        g_mapped_file_get_length (mf), path, error);
}

gboolean
som_npy_save (const char *path, const SomArray *array, GError **error)
{
  g_autoptr(GBytes) bytes = som_npy_serialize (array);
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);

  return som_file_set_contents_atomic (path, data, len, error);
}

/* --- .npz writer ------------------------------------------------------ */

struct _SomNpzWriter
{
  char     *path;
  char     *tmp_path;
  zip_t    *zip;
  gboolean  compress;
  guint32   level;  /* deflate level 1…9; 0 = libzip's default */
  GPtrArray *keep;  /* GBytes that libzip reads at zip_close() */
  GHashTable *names;
};

SomNpzWriter *
som_npz_writer_new (const char *path, gboolean compress, GError **error)
{
  SomNpzWriter *w;
  int zerr = 0;

  w = g_new0 (SomNpzWriter, 1);
  w->path = g_strdup (path);
  w->tmp_path = som_file_temp_path_for (path);
  w->compress = compress;
  w->keep = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  w->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  w->zip = zip_open (w->tmp_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
  if (w->zip == NULL)
    {
      zip_error_t ze;
      zip_error_init_with_code (&ze, zerr);
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot write: %s", path, zip_error_strerror (&ze));
      zip_error_fini (&ze);
      som_npz_writer_free (w);
      return NULL;
    }
  return w;
}

gboolean
som_npz_writer_add_bytes (SomNpzWriter *w, const char *member, GBytes *bytes, GError **error)
{
  zip_source_t *src;
  zip_int64_t idx;
  gsize len;
  const void *data;

  g_return_val_if_fail (w != NULL && w->zip != NULL, FALSE);
  if (g_hash_table_contains (w->names, member))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: member %s written twice", w->path, member);
      return FALSE;
    }
  data = g_bytes_get_data (bytes, &len);
  src = zip_source_buffer (w->zip, len ? data : "", len, 0);
  if (src == NULL)
    goto fail;
  idx = zip_file_add (w->zip, member, src, ZIP_FL_ENC_UTF_8);
  if (idx < 0)
    {
      zip_source_free (src);
      goto fail;
    }
  g_ptr_array_add (w->keep, g_bytes_ref (bytes));
  g_hash_table_add (w->names, g_strdup (member));
  /* Sessions compress members under 1 MB; plain .npz outputs store unless asked. */
  if (zip_set_file_compression (w->zip, idx, w->compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                                w->compress ? w->level : 0) < 0)
    goto fail;
  zip_file_set_mtime (w->zip, idx, 315532800 + 86400, 0);
  return TRUE;

fail:
  g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot add %s: %s", w->path, member,
               zip_strerror (w->zip));
  return FALSE;
}

void
som_npz_writer_set_compress (SomNpzWriter *w, gboolean compress)
{
  g_return_if_fail (w != NULL);
  w->compress = compress;
}

void
som_npz_writer_set_compression_level (SomNpzWriter *w, guint level)
{
  g_return_if_fail (w != NULL && level <= 9);
  w->level = level;
}

gboolean
som_npz_writer_add_array (SomNpzWriter *w, const char *name, const SomArray *array, GError **error)
{
  g_autoptr(GBytes) bytes = som_npy_serialize (array);
  g_autofree char *member = g_strconcat (name, ".npy", NULL);

  return som_npz_writer_add_bytes (w, member, bytes, error);
}

gboolean
som_npz_writer_add_string (SomNpzWriter *w, const char *member, const char *text, GError **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

  return som_npz_writer_add_bytes (w, member, bytes, error);
}

gboolean
som_npz_writer_close (SomNpzWriter *w, GError **error)
{
  g_return_val_if_fail (w != NULL && w->zip != NULL, FALSE);

  som_io_test_abort_point ();
  if (g_hash_table_size (w->names) == 0)
    {
      /* libzip writes nothing for an empty archive; numpy wants a valid one. */
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: nothing to write", w->path);
      return FALSE;
    }
  if (zip_close (w->zip) < 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: cannot write: %s", w->path, zip_strerror (w->zip));
      zip_discard (w->zip);
      w->zip = NULL;
      g_unlink (w->tmp_path);
      return FALSE;
    }
  w->zip = NULL;
  g_ptr_array_set_size (w->keep, 0);
  if (!som_file_commit_atomic (w->tmp_path, w->path, error))
    return FALSE;
  g_clear_pointer (&w->tmp_path, g_free);
  return TRUE;
}

void
som_npz_writer_free (SomNpzWriter *w)
{
  if (w == NULL)
    return;
  if (w->zip != NULL)
    zip_discard (w->zip);
  if (w->tmp_path != NULL)
    g_unlink (w->tmp_path);
  g_free (w->tmp_path);
  g_free (w->path);
  g_ptr_array_unref (w->keep);
  g_hash_table_unref (w->names);
  g_free (w);
}

/* --- .npz reader ------------------------------------------------------ */

struct _SomNpzReader
{
  char   *path;
  zip_t  *zip;
  char  **members;
  guint64 file_size;
};

SomNpzReader *
som_npz_reader_open (const char *path, GError **error)
{
  SomNpzReader *r;
  zip_int64_t n;
  int zerr = 0;
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, SOM_ERROR, SOM_ERROR_IO, "%s: %s", path,
                   saved == ENOENT ? "no such file" : g_strerror (saved));
      return NULL;
    }
  r = g_new0 (SomNpzReader, 1);
  r->path = g_strdup (path);
  r->file_size = st.st_size;
  r->zip = zip_open (path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
  if (r->zip == NULL)
    {
      zip_error_t ze;
      zip_error_init_with_code (&ze, zerr);
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a readable .npz (zip) file: %s",
                   path, zip_error_strerror (&ze));
      zip_error_fini (&ze);
      som_npz_reader_free (r);
      return NULL;
    }
  n = zip_get_num_entries (r->zip, 0);
  if (n < 0 || n > 1000000)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: implausible member count", path);
      som_npz_reader_free (r);
      return NULL;
    }
  r->members = g_new0 (char *, n + 1);
  for (zip_int64_t i = 0; i < n; i++)
    {
      const char *name = zip_get_name (r->zip, i, ZIP_FL_ENC_GUESS);
      r->members[i] = g_strdup (name ? name : "");
    }
  return r;
}

const char *
som_npz_reader_get_path (SomNpzReader *r)
{
  return r->path;
}

const char * const *
som_npz_reader_list_members (SomNpzReader *r)
{
  return (const char * const *) r->members;
}

char **
som_npz_reader_list_arrays (SomNpzReader *r)
{
  GPtrArray *out = g_ptr_array_new ();

  for (char **m = r->members; *m; m++)
    if (g_str_has_suffix (*m, ".npy"))
      g_ptr_array_add (out, g_strndup (*m, strlen (*m) - 4));
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

gboolean
som_npz_reader_has_member (SomNpzReader *r, const char *member)
{
  return g_strv_contains ((const char * const *) r->members, member);
}

gboolean
som_npz_reader_has_array (SomNpzReader *r, const char *name)
{
  g_autofree char *member = g_strconcat (name, ".npy", NULL);

  return som_npz_reader_has_member (r, member);
}

GBytes *
som_npz_reader_read_member (SomNpzReader *r, const char *member, GError **error)
{
  zip_stat_t st;
  zip_file_t *zf;
  guint8 *buf;
  zip_int64_t got;

  zip_stat_init (&st);
  if (zip_stat (r->zip, member, 0, &st) < 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: no member %s", r->path, member);
      return NULL;
    }
  if (!(st.valid & ZIP_STAT_SIZE) || st.size > som_memory_budget ())
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                   "%s: member %s declares %" G_GUINT64_FORMAT " bytes, beyond the memory budget",
                   r->path, member, (guint64) st.size);
      return NULL;
    }
  /* A stored member cannot be larger than the file; a deflated one can, up
   * to deflate's ratio limit (1032:1): anything beyond is a zip bomb. */
  if ((st.valid & ZIP_STAT_COMP_SIZE) &&
      (st.comp_size > r->file_size || st.size / 1032 > st.comp_size + 1 ||
       ((st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method == ZIP_CM_STORE && st.size != st.comp_size)))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: member %s declares sizes that do not fit the file", r->path, member);
      return NULL;
    }
  zf = zip_fopen (r->zip, member, 0);
  if (zf == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: cannot read %s: %s", r->path, member,
                   zip_strerror (r->zip));
      return NULL;
    }
  buf = g_try_malloc (MAX (st.size, 1));
  if (buf == NULL)
    {
      zip_fclose (zf);
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "%s: out of memory for member %s (%" G_GUINT64_FORMAT
                   " bytes)", r->path, member, (guint64) st.size);
      return NULL;
    }
  got = zip_fread (zf, buf, st.size);
  if (got < 0 || (zip_uint64_t) got != st.size)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: member %s is truncated or corrupt%s%s",
                   r->path, member, got < 0 ? ": " : "", got < 0 ? zip_file_strerror (zf) : "");
      zip_fclose (zf);
      g_free (buf);
      return NULL;
    }
  if (zip_fclose (zf) != 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: member %s fails its checksum", r->path, member);
      g_free (buf);
      return NULL;
    }
  return g_bytes_new_take (buf, st.size);
}

gboolean
som_npz_reader_stat_member (SomNpzReader *r,
                            const char   *member,
                            guint64      *size,
                            guint64      *comp_size,
                            GError      **error)
{
  zip_stat_t st;

  zip_stat_init (&st);
  if (zip_stat (r->zip, member, 0, &st) < 0 || !(st.valid & ZIP_STAT_SIZE) ||
      !(st.valid & ZIP_STAT_COMP_SIZE))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: no member %s", r->path, member);
      return FALSE;
    }
  if (size != NULL)
    *size = st.size;
  if (comp_size != NULL)
    *comp_size = st.comp_size;
  return TRUE;
}

gboolean
som_npz_reader_read_array_header (SomNpzReader *r,
                                  const char   *name,
                                  SomDType     *dtype,
                                  guint        *ndim,
                                  gsize        *shape,
                                  GError      **error)
{
  g_autofree char *member = g_strconcat (name, ".npy", NULL);
  g_autofree char *label = g_strdup_printf ("%s:%s", r->path, name);
  g_autofree guint8 *buf = NULL;
  zip_stat_t st;
  zip_file_t *zf;
  zip_int64_t got;
  gsize want, offset;

  zip_stat_init (&st);
  if (zip_stat (r->zip, member, 0, &st) < 0 || !(st.valid & ZIP_STAT_SIZE))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: no array named %s", r->path, name);
      return FALSE;
    }
  /* The header is at most 1 MiB plus the 12-byte preamble (som_npy_parse). */
  want = MIN (st.size, (guint64) (1 << 20) + 12);
  zf = zip_fopen (r->zip, member, 0);
  if (zf == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: cannot read: %s", label,
                   zip_strerror (r->zip));
      return FALSE;
    }
  buf = g_malloc (MAX (want, 1));
  got = zip_fread (zf, buf, want);
  zip_fclose (zf);
  if (got < 0 || (zip_uint64_t) got != want)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: truncated or corrupt member", label);
      return FALSE;
    }
  if (!som_npy_parse_header (buf, want, label, dtype, ndim, shape, &offset, error))
    return FALSE;
  {
    gsize n = 1;
    for (guint i = 0; i < *ndim; i++)
      n *= shape[i];  /* overflow already excluded by the header parser */
    if (n * som_dtype_size (*dtype) != st.size - offset)
      {
        g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                     "%s: the member's size does not match the shape its header declares", label);
        return FALSE;
      }
  }
  return TRUE;
}

SomArray *
som_npz_reader_read_array (SomNpzReader *r, const char *name, GError **error)
{
  g_autofree char *member = g_strconcat (name, ".npy", NULL);
  g_autofree char *label = g_strdup_printf ("%s:%s", r->path, name);
  g_autoptr(GBytes) bytes = NULL;
  gsize len;
  const guint8 *data;

  if (!som_npz_reader_has_member (r, member))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: no array named %s", r->path, name);
      return NULL;
    }
  bytes = som_npz_reader_read_member (r, member, error);
  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &len);
  return som_npy_parse (data, len, label, error);
}

void
som_npz_reader_free (SomNpzReader *r)
{
  if (r == NULL)
    return;
  if (r->zip != NULL)
    zip_discard (r->zip);
  g_strfreev (r->members);
  g_free (r->path);
  g_free (r);
}

SomArray *
som_array_load_spec (const char *spec, GError **error)
{
  const char *colon = strrchr (spec, ':');

  if (colon != NULL && colon != spec)
    {
      g_autofree char *file = g_strndup (spec, colon - spec);
      if (g_str_has_suffix (file, ".npz"))
        {
          g_autoptr(SomNpzReader) r = som_npz_reader_open (file, error);
          if (r == NULL)
            return NULL;
          return som_npz_reader_read_array (r, colon + 1, error);
        }
    }
  if (g_str_has_suffix (spec, ".npz"))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: name the member to use, as FILE.npz:member", spec);
      return NULL;
    }
  return som_npy_load (spec, error);
}
