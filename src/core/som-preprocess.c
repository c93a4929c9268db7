/* som-preprocess.c: channels, pad, resize, mean/std, layout
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "som-preprocess.h"

struct _SomPreprocess
{
  SomDataset           *dataset;       /* owned ref */
  SomPreprocessOptions  options;
  guint                 src_channels;
  guint                 channels;      /* pixel-space output */
  guint                 height;
  guint                 width;
  guint                 resize_height; /* resolved: 0 = none */
  guint                 resize_width;
  gboolean              grey_to_rgb;
  gboolean              rgb_to_grey;
  gboolean              channels_last;
  float                 mean[3];
  float                 std[3];
  gboolean              normalize;
};

#define MAX_SIDE 16384

gboolean
som_preprocess_parse_resize (const char *text, guint *height, guint *width, GError **error)
{
  g_auto(GStrv) parts = NULL;
  guint64 v[2];
  guint n;

  if (text == NULL)
    goto bad;
  parts = g_strsplit_set (text, "x×X", -1);
  n = g_strv_length (parts);
  if (n < 1 || n > 2)
    goto bad;
  for (guint i = 0; i < n; i++)
    if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 1, MAX_SIDE, &v[i], NULL))
      goto bad;
  *height = v[0];
  *width = n == 2 ? v[1] : v[0];
  return TRUE;

bad:
  g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
               "--resize: \"%s\" is not HxW (e.g. 32x32; sides 1…%d)", text ? text : "", MAX_SIDE);
  return FALSE;
}

gboolean
som_preprocess_parse_values (const char *text,
                             const char *flag,
                             float       values[3],
                             guint      *n_values,
                             GError    **error)
{
  g_auto(GStrv) parts = g_strsplit (text ? text : "", ",", -1);
  guint n = g_strv_length (parts);

  if (n != 1 && n != 3)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: \"%s\" needs one value or three (one per channel), comma-separated", flag, text);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      char *end = NULL;
      double d = g_ascii_strtod (g_strstrip (parts[i]), &end);

      if (end == parts[i] || *end != '\0' || !isfinite (d))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: \"%s\" is not a number", flag, parts[i]);
          return FALSE;
        }
      values[i] = d;
    }
  *n_values = n;
  return TRUE;
}

static char *
shape_text (guint c, guint h, guint w)
{
  return g_strdup_printf ("%u×%u×%u", c, h, w);
}

SomPreprocess *
som_preprocess_new (SomDataset                 *dataset,
                    const SomPreprocessOptions *options,
                    guint                       model_channels,
                    guint                       model_height,
                    guint                       model_width,
                    gboolean                    channels_last,
                    GError                    **error)
{
  static const SomPreprocessOptions defaults = { 0 };
  g_autoptr(SomPreprocess) self = g_new0 (SomPreprocess, 1);
  const char *path = som_dataset_get_path (dataset);
  gboolean has_model = model_channels > 0 || model_height > 0 || model_width > 0;
  guint c, h, w, ph, pw;

  if (options == NULL)
    options = &defaults;
  self->dataset = g_object_ref (dataset);
  self->options = *options;
  self->channels_last = channels_last;
  som_dataset_get_image_shape (dataset, &c, &h, &w);
  self->src_channels = c;

  /* Channels */
  self->channels = c;
  if (model_channels > 0 && model_channels != c)
    {
      if (c == 1 && model_channels == 3)
        self->grey_to_rgb = TRUE;
      else if (c == 3 && model_channels == 1 && som_dataset_get_kind (dataset) == SOM_DATASET_FOLDER)
        self->rgb_to_grey = TRUE; /* photos decode as RGB even when grey */
      else
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "%s: the model wants %u channel%s, the images have %u (no flag converts them)",
                       path, model_channels, model_channels == 1 ? "" : "s", c);
          return NULL;
        }
      self->channels = model_channels;
    }
  else if (model_channels == 0 && has_model)
    self->channels = c;

  if (options->pad > MAX_SIDE)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "--pad %u is absurd (at most %d)", options->pad,
                   MAX_SIDE);
      return NULL;
    }

  /* Size: pad, then resize (given, or an image folder's default: the model's). */
  ph = h + 2 * options->pad;
  pw = w + 2 * options->pad;
  if (options->resize_height > 0)
    {
      self->resize_height = options->resize_height;
      self->resize_width = options->resize_width;
    }
  else if (som_dataset_get_kind (dataset) == SOM_DATASET_FOLDER && model_height > 0 && model_width > 0)
    {
      self->resize_height = model_height;
      self->resize_width = model_width;
    }
  else if (!som_dataset_has_uniform_size (dataset))
    {
      /* Folder images at their own size: the first image's size is the
       * batch's; read_pixels reports any image that differs. */
    }
  self->height = self->resize_height ? self->resize_height : ph;
  self->width = self->resize_width ? self->resize_width : pw;

  if ((model_height > 0 && model_height != self->height) || (model_width > 0 && model_width != self->width))
    {
      g_autofree char *want = shape_text (model_channels ? model_channels : self->channels,
                                          model_height ? model_height : self->height,
                                          model_width ? model_width : self->width);
      g_autofree char *have = shape_text (c, h, w);
      g_autofree char *hint = NULL;
      guint mh = model_height ? model_height : self->height;
      guint mw = model_width ? model_width : self->width;

      if (options->resize_height > 0)
        hint = g_strdup_printf ("--resize gives %u×%u: try --resize %ux%u", self->height, self->width, mh, mw);
      else if (mh >= h && mw >= w && mh - h == mw - w && (mh - h) % 2 == 0)
        hint = g_strdup_printf ("try --pad %u", (mh - h) / 2);
      else if (options->pad > 0)
        hint = g_strdup_printf ("--pad %u gives %u×%u: try --resize %ux%u", options->pad, ph, pw, mh, mw);
      else
        hint = g_strdup_printf ("try --resize %ux%u", mh, mw);
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: model wants %s, images are %s: %s",
                   path, want, have, hint);
      return NULL;
    }

  /* Normalization */
  for (guint i = 0; i < 3; i++)
    {
      self->mean[i] = 0.0f;
      self->std[i] = 1.0f;
    }
  if (options->n_mean == 3 && self->channels != 3)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "--mean: three values for %u-channel images", self->channels);
      return NULL;
    }
  if (options->n_std == 3 && self->channels != 3)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "--std: three values for %u-channel images", self->channels);
      return NULL;
    }
  for (guint i = 0; i < self->channels && i < 3; i++)
    {
      if (options->n_mean > 0)
        self->mean[i] = options->mean[options->n_mean == 3 ? i : 0];
      if (options->n_std > 0)
        self->std[i] = options->std[options->n_std == 3 ? i : 0];
      if (!(self->std[i] > 0.0f) || !isfinite (self->std[i]) || !isfinite (self->mean[i]))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "--std: %g is not a positive number", self->std[i]);
          return NULL;
        }
    }
  self->normalize = options->n_mean > 0 || options->n_std > 0;
  return g_steal_pointer (&self);
}

void
som_preprocess_free (SomPreprocess *self)
{
  if (self == NULL)
    return;
  g_clear_object (&self->dataset);
  g_free (self);
}

SomDataset *
som_preprocess_get_dataset (SomPreprocess *self)
{
  return self->dataset;
}

const SomPreprocessOptions *
som_preprocess_get_options (SomPreprocess *self)
{
  return &self->options;
}

void
som_preprocess_get_shape (SomPreprocess *self, guint *channels, guint *height, guint *width)
{
  if (channels)
    *channels = self->channels;
  if (height)
    *height = self->height;
  if (width)
    *width = self->width;
}

gboolean
som_preprocess_get_channels_last (SomPreprocess *self)
{
  return self->channels_last;
}

void
som_preprocess_get_normalization (SomPreprocess *self, float mean[3], float std[3])
{
  memcpy (mean, self->mean, sizeof self->mean);
  memcpy (std, self->std, sizeof self->std);
}

/* ---- building blocks ---------------------------------------------------- */

/* N×C×H×W or C×H×W: planes of H×W. */
static gsize
n_planes (const SomArray *a)
{
  gsize p = 1;

  for (guint i = 0; i + 2 < a->ndim; i++)
    p *= a->shape[i];
  return p;
}

SomArray *
som_image_pad (const SomArray *images, guint pad)
{
  gsize shape[SOM_ARRAY_MAX_DIMS];
  guint nd = images->ndim;
  gsize h = images->shape[nd - 2], w = images->shape[nd - 1];
  gsize oh = h + 2 * pad, ow = w + 2 * pad, planes = n_planes (images);
  SomArray *out;
  const float *src = images->data;
  float *dst;

  g_return_val_if_fail (images->dtype == SOM_DTYPE_F32 && nd >= 2, NULL);
  memcpy (shape, images->shape, nd * sizeof (gsize));
  shape[nd - 2] = oh;
  shape[nd - 1] = ow;
  out = som_array_new (SOM_DTYPE_F32, nd, shape, NULL);
  if (out == NULL)
    return NULL;
  dst = out->data;
  for (gsize p = 0; p < planes; p++)
    for (gsize y = 0; y < h; y++)
      memcpy (dst + (p * oh + y + pad) * ow + pad, src + (p * h + y) * w, w * sizeof (float));
  return out;
}

typedef struct
{
  gsize i0, i1;
  float l0, l1;
} Tap;

/* PyTorch's upsample (align_corners=False, no scale factor given): the
 * source coordinate is (dst + 0.5) · in/out − 0.5, clamped at 0.  The scale
 * is a float, but PyTorch evaluates the coordinate in double (its 0.5 is a
 * double literal) and rounds the weights to float: done the same here, which
 * matches its weights bit for bit (tests/core/test-preprocess.c). */
static Tap *
linear_taps (gsize in, gsize out)
{
  Tap *taps = g_new (Tap, out);
  float scale = (float) in / (float) out;

  for (gsize d = 0; d < out; d++)
    {
      double src = (double) scale * ((double) d + 0.5) - 0.5;
      double lambda;

      if (in == out)
        {
          taps[d].i0 = taps[d].i1 = d;
          taps[d].l0 = 1.0f;
          taps[d].l1 = 0.0f;
          continue;
        }
      if (src < 0.0)
        src = 0.0;
      taps[d].i0 = (gsize) src;
      if (taps[d].i0 > in - 1)
        taps[d].i0 = in - 1;
      taps[d].i1 = taps[d].i0 + (taps[d].i0 < in - 1 ? 1 : 0);
      lambda = CLAMP (src - (double) taps[d].i0, 0.0, 1.0);
      taps[d].l1 = (float) lambda;
      taps[d].l0 = (float) (1.0 - lambda);
    }
  return taps;
}

SomArray *
som_image_resize_bilinear (const SomArray *images, guint height, guint width)
{
  gsize shape[SOM_ARRAY_MAX_DIMS];
  guint nd = images->ndim;
  gsize h = images->shape[nd - 2], w = images->shape[nd - 1], planes = n_planes (images);
  g_autofree Tap *ty = NULL;
  g_autofree Tap *tx = NULL;
  SomArray *out;
  const float *src = images->data;
  float *dst;

  g_return_val_if_fail (images->dtype == SOM_DTYPE_F32 && nd >= 2 && height > 0 && width > 0, NULL);
  memcpy (shape, images->shape, nd * sizeof (gsize));
  shape[nd - 2] = height;
  shape[nd - 1] = width;
  out = som_array_new (SOM_DTYPE_F32, nd, shape, NULL);
  if (out == NULL)
    return NULL;
  if (h == height && w == width)
    {
      memcpy (out->data, images->data, som_array_n_bytes (images));
      return out;
    }
  ty = linear_taps (h, height);
  tx = linear_taps (w, width);
  dst = out->data;
  for (gsize p = 0; p < planes; p++)
    {
      const float *plane = src + p * h * w;

      for (gsize y = 0; y < height; y++)
        {
          const float *r0 = plane + ty[y].i0 * w;
          const float *r1 = plane + ty[y].i1 * w;
          float *o = dst + (p * height + y) * width;

          /* Same association as PyTorch: rows first, then across. */
          for (gsize x = 0; x < width; x++)
            {
              float t0 = r0[tx[x].i0] * tx[x].l0 + r0[tx[x].i1] * tx[x].l1;
              float t1 = r1[tx[x].i0] * tx[x].l0 + r1[tx[x].i1] * tx[x].l1;
              o[x] = t0 * ty[y].l0 + t1 * ty[y].l1;
            }
        }
    }
  return out;
}

/* ---- the pipeline ------------------------------------------------------- */

/* Channels, pad, resize on a batch (or one image) at the source size. */
static SomArray *
pixel_steps (SomPreprocess *self, SomArray *in /* transfer full */, const char *source, GError **error)
{
  g_autoptr(SomArray) cur = in;
  guint nd = cur->ndim;
  gsize planes_per_image = cur->shape[nd - 3];
  gsize n_images = nd == 4 ? cur->shape[0] : 1;
  gsize hw = cur->shape[nd - 2] * cur->shape[nd - 1];

  if (self->grey_to_rgb || self->rgb_to_grey)
    {
      gsize shape[SOM_ARRAY_MAX_DIMS];
      g_autoptr(SomArray) next = NULL;
      const float *s = cur->data;
      float *d;

      memcpy (shape, cur->shape, nd * sizeof (gsize));
      shape[nd - 3] = self->channels;
      next = som_array_new (SOM_DTYPE_F32, nd, shape, error);
      if (next == NULL)
        return NULL;
      d = next->data;
      for (gsize i = 0; i < n_images; i++)
        {
          const float *si = s + i * planes_per_image * hw;
          float *di = d + i * self->channels * hw;

          if (self->grey_to_rgb)
            for (guint c = 0; c < 3; c++)
              memcpy (di + c * hw, si, hw * sizeof (float));
          else
            /* ITU-R 601-2 luma, as PIL's convert("L") and torchvision's rgb_to_grayscale. */
            for (gsize k = 0; k < hw; k++)
              di[k] = 0.299f * si[k] + 0.587f * si[hw + k] + 0.114f * si[2 * hw + k];
        }
      g_clear_pointer (&cur, som_array_free);
      cur = g_steal_pointer (&next);
    }
  if (self->options.pad > 0)
    {
      SomArray *next = som_image_pad (cur, self->options.pad);
      if (next == NULL)
        goto too_large;
      som_array_free (cur);
      cur = next;
    }
  if (self->resize_height > 0)
    {
      SomArray *next = som_image_resize_bilinear (cur, self->resize_height, self->resize_width);
      if (next == NULL)
        goto too_large;
      som_array_free (cur);
      cur = next;
    }
  if (cur->shape[nd - 2] != self->height || cur->shape[nd - 1] != self->width)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "%s: image is %" G_GSIZE_FORMAT "×%" G_GSIZE_FORMAT " after preprocessing, "
                   "the batch %u×%u (give --resize HxW to bring the images to one size)",
                   source, cur->shape[nd - 2], cur->shape[nd - 1], self->height, self->width);
      return NULL;
    }
  return g_steal_pointer (&cur);

too_large:
  g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "%s: the preprocessed images exceed the memory budget",
               source);
  return NULL;
}

SomArray *
som_preprocess_read_pixels (SomPreprocess *self, gsize start, gsize n, GError **error)
{
  gsize shape[4] = { n, self->channels, self->height, self->width };
  gsize per = (gsize) self->channels * self->height * self->width;
  g_autoptr(SomArray) out = NULL;

  if (som_dataset_has_uniform_size (self->dataset))
    {
      SomArray *raw = som_dataset_read_batch (self->dataset, start, n, error);
      if (raw == NULL)
        return NULL;
      return pixel_steps (self, raw, som_dataset_get_path (self->dataset), error);
    }

  /* Image folders: each image on its own, since sizes may differ. */
  if (start > som_dataset_get_count (self->dataset) || n > som_dataset_get_count (self->dataset) - start)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: images %" G_GSIZE_FORMAT "…%" G_GSIZE_FORMAT
                   " requested of %" G_GSIZE_FORMAT, som_dataset_get_path (self->dataset), start, start + n,
                   som_dataset_get_count (self->dataset));
      return NULL;
    }
  out = som_array_new (SOM_DTYPE_F32, 4, shape, error);
  if (out == NULL)
    return NULL;
  for (gsize i = 0; i < n; i++)
    {
      SomArray *raw = som_dataset_read_image (self->dataset, start + i, error);
      g_autoptr(SomArray) img = NULL;

      if (raw == NULL)
        return NULL;
      img = pixel_steps (self, raw, som_dataset_get_image_source (self->dataset, start + i), error);
      if (img == NULL)
        return NULL;
      memcpy ((float *) out->data + i * per, img->data, per * sizeof (float));
    }
  return g_steal_pointer (&out);
}

void
som_preprocess_normalize (SomPreprocess *self, SomArray *batch)
{
  gsize n, c, hw;
  float *f = batch->data;

  g_return_if_fail (batch->dtype == SOM_DTYPE_F32 && batch->ndim == 4);
  if (!self->normalize)
    return;
  n = batch->shape[0];
  c = batch->shape[1];
  hw = batch->shape[2] * batch->shape[3];
  g_return_if_fail (c <= 3);
  /* Division (not multiplication by 1/std), as torchvision's Normalize. */
  for (gsize i = 0; i < n; i++)
    for (gsize k = 0; k < c; k++)
      {
        float m = self->mean[k], s = self->std[k];
        float *p = f + (i * c + k) * hw;
        for (gsize j = 0; j < hw; j++)
          p[j] = (p[j] - m) / s;
      }
}

SomArray *
som_preprocess_to_model_layout (SomPreprocess *self, SomArray *batch)
{
  gsize shape[4];
  gsize n, c, h, w;
  SomArray *out;
  const float *s;
  float *d;

  if (!self->channels_last)
    return batch;
  n = batch->shape[0];
  c = batch->shape[1];
  h = batch->shape[2];
  w = batch->shape[3];
  shape[0] = n;
  shape[1] = h;
  shape[2] = w;
  shape[3] = c;
  out = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
  if (out == NULL)
    {
      som_array_free (batch);
      return NULL;
    }
  s = batch->data;
  d = out->data;
  for (gsize i = 0; i < n; i++)
    for (gsize k = 0; k < c; k++)
      for (gsize j = 0; j < h * w; j++)
        d[(i * h * w + j) * c + k] = s[(i * c + k) * h * w + j];
  som_array_free (batch);
  return out;
}

SomArray *
som_preprocess_read_model_input (SomPreprocess *self, gsize start, gsize n, GError **error)
{
  SomArray *batch = som_preprocess_read_pixels (self, start, n, error);
  SomArray *out;

  if (batch == NULL)
    return NULL;
  som_preprocess_normalize (self, batch);
  out = som_preprocess_to_model_layout (self, batch);
  if (out == NULL)
    g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "%s: the batch exceeds the memory budget",
                 som_dataset_get_path (self->dataset));
  return out;
}
