/* som-onnx-tensor.c: ONNX TensorProto → SomTensor (raw, typed and external data)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "som-model-private.h"

static float
half_to_float (guint16 h)
{
  guint32 sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  float f;

  if (exp == 0)
    {
      f = ldexpf ((float) mant, -24);
      return sign ? -f : f;
    }
  if (exp == 31)
    bits = sign | 0x7f800000u | (mant << 13);
  else
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  memcpy (&f, &bits, 4);
  return f;
}

const char *
_som_onnx_type_name (int t)
{
  static const char *names[] = { "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32",
                                 "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64",
                                 "COMPLEX64", "COMPLEX128", "BFLOAT16" };
  return t >= 0 && t < (int) G_N_ELEMENTS (names) ? names[t] : "unknown";
}

/* Reads external data into a new buffer; refuses locations outside @dir. */
static guint8 *
read_external (const Onnx__TensorProto *tp, const char *dir, const char *file, gsize want, GError **error)
{
  const char *location = NULL;
  guint64 offset = 0, length = G_MAXUINT64;
  g_autofree char *path = NULL, *cdir = NULL;
  g_autoptr(GMappedFile) mf = NULL;
  guint8 *buf;
  gsize size;

  for (gsize i = 0; i < tp->n_external_data; i++)
    {
      const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
      if (k == NULL || v == NULL)
        continue;
      if (strcmp (k, "location") == 0)
        location = v;
      else if (strcmp (k, "offset") == 0)
        offset = g_ascii_strtoull (v, NULL, 10);
      else if (strcmp (k, "length") == 0)
        length = g_ascii_strtoull (v, NULL, 10);
    }
  if (dir == NULL || location == NULL || *location == '\0')
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: tensor %s has external data without a usable location",
                   file, tp->name ? tp->name : "");
      return NULL;
    }
  cdir = g_canonicalize_filename (dir, NULL);
  path = g_canonicalize_filename (location, cdir);
  if (g_path_is_absolute (location) || !g_str_has_prefix (path, cdir) || path[strlen (cdir)] != G_DIR_SEPARATOR)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: tensor %s: external data location '%s' is outside the model's folder; refused",
                   file, tp->name ? tp->name : "", location);
      return NULL;
    }
  mf = g_mapped_file_new (path, FALSE, error);
  if (mf == NULL)
    {
      g_prefix_error (error, "%s: external data of tensor %s: ", file, tp->name ? tp->name : "");
      return NULL;
    }
  size = g_mapped_file_get_length (mf);
  if (length == G_MAXUINT64)
    length = offset <= size ? size - offset : 0;
  if (offset > size || length > size - offset || length != want)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: external data of tensor %s: %s holds %" G_GSIZE_FORMAT " bytes, the tensor needs %"
                   G_GSIZE_FORMAT " at offset %" G_GUINT64_FORMAT,
                   file, tp->name ? tp->name : "", location, size, want, offset);
      return NULL;
    }
  buf = g_malloc (MAX (want, 1));
  memcpy (buf, g_mapped_file_get_contents (mf) + offset, want);
  return buf;
}

SomTensor *
_som_onnx_tensor_convert (const Onnx__TensorProto *tp, const char *dir, const char *file, GError **error)
{
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  gsize n = 1, esize;
  g_autoptr(SomTensor) t = NULL;
  SomDType dtype;
  int type = tp->has_data_type ? tp->data_type : 0;
  const char *tname = tp->name ? tp->name : "";
  g_autofree guint8 *ext = NULL;
  const guint8 *raw = NULL;
  gsize raw_len = 0;
  gsize n_typed;

  if (tp->n_dims > SOM_ARRAY_MAX_DIMS)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, "%s: tensor %s has %" G_GSIZE_FORMAT
                   " dimensions (at most %d are supported)", file, tname, tp->n_dims, SOM_ARRAY_MAX_DIMS);
      return NULL;
    }
  for (gsize i = 0; i < tp->n_dims; i++)
    {
      if (tp->dims[i] < 0 || (tp->dims[i] > 0 && n > (G_MAXSIZE / 16) / (gsize) tp->dims[i]))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: tensor %s has an invalid dimension %" G_GINT64_FORMAT,
                       file, tname, tp->dims[i]);
          return NULL;
        }
      shape[i] = tp->dims[i];
      n *= (gsize) tp->dims[i];
    }

  switch (type)
    {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: dtype = SOM_DTYPE_F32; esize = 4; n_typed = tp->n_float_data; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: dtype = SOM_DTYPE_F32; esize = 8; n_typed = tp->n_double_data; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: dtype = SOM_DTYPE_F32; esize = 2; n_typed = tp->n_int32_data; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: dtype = SOM_DTYPE_I64; esize = 8; n_typed = tp->n_int64_data; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: dtype = SOM_DTYPE_I64; esize = 4; n_typed = tp->n_int32_data; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: dtype = SOM_DTYPE_BOOL; esize = 1; n_typed = tp->n_int32_data; break;
    default:
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "%s: tensor %s has data type %s; Somscope supports float32 (float16/bfloat16/float64 "
                   "converted), int64, int32 and bool", file, tname, _som_onnx_type_name (type));
      return NULL;
    }

  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    {
      ext = read_external (tp, dir, file, n * esize, error);
      if (ext == NULL)
        return NULL;
      raw = ext;
      raw_len = n * esize;
    }
  else if (tp->has_raw_data && (tp->raw_data.len > 0 || n_typed == 0))
    {
      raw = tp->raw_data.data;
      raw_len = tp->raw_data.len;
    }

  if (raw != NULL ? raw_len != n * esize : n_typed != n)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT,
                   "%s: tensor %s declares %" G_GSIZE_FORMAT " elements but holds %" G_GSIZE_FORMAT,
                   file, tname, n, raw != NULL ? raw_len / esize : n_typed);
      return NULL;
    }

  t = _som_tensor_new (dtype, tp->n_dims, shape, error);
  if (t == NULL)
    {
      g_prefix_error (error, "%s: tensor %s: ", file, tname);
      return NULL;
    }

  for (gsize i = 0; i < n; i++)
    {
      switch (type)
        {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
          if (raw)
            memcpy ((float *) t->data + i, raw + 4 * i, 4);
          else
            ((float *) t->data)[i] = tp->float_data[i];
          break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
          {
            double d;
            if (raw)
              memcpy (&d, raw + 8 * i, 8);
            else
              d = tp->double_data[i];
            ((float *) t->data)[i] = (float) d;
          }
          break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
        case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
          {
            guint16 h;
            if (raw)
              memcpy (&h, raw + 2 * i, 2);
            else
              h = (guint16) tp->int32_data[i];
            if (type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16)
              ((float *) t->data)[i] = half_to_float (h);
            else
              {
                guint32 bits = (guint32) h << 16;
                memcpy ((float *) t->data + i, &bits, 4);
              }
          }
          break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
          if (raw)
            memcpy ((gint64 *) t->data + i, raw + 8 * i, 8);
          else
            ((gint64 *) t->data)[i] = tp->int64_data[i];
          break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
          {
            gint32 v;
            if (raw)
              memcpy (&v, raw + 4 * i, 4);
            else
              v = tp->int32_data[i];
            ((gint64 *) t->data)[i] = v;
          }
          break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
          ((guint8 *) t->data)[i] = (raw ? raw[i] : tp->int32_data[i]) != 0;
          break;
        }
    }
  return g_steal_pointer (&t);
}

SomArray *
som_onnx_tensor_load (const char *path, char **name_out, GError **error)
{
  g_autofree char *contents = NULL;
  g_autofree char *dir = NULL;
  gsize len;
  Onnx__TensorProto *tp;
  g_autoptr(SomTensor) t = NULL;

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  tp = onnx__tensor_proto__unpack (NULL, len, (const guint8 *) contents);
  if (tp == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_CORRUPT, "%s: not a valid ONNX TensorProto file", path);
      return NULL;
    }
  dir = g_path_get_dirname (path);
  t = _som_onnx_tensor_convert (tp, dir, path, error);
  if (t != NULL && name_out != NULL)
    *name_out = g_strdup (tp->name ? tp->name : "");
  onnx__tensor_proto__free_unpacked (tp, NULL);
  if (t == NULL)
    return NULL;
  return _som_tensor_to_array (t, error);
}
