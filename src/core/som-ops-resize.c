/* som-ops-resize.c: Resize (opsets 10–18 forms) and Upsample, with every
 * coordinate_transformation_mode and nearest_mode, following ONNX's reference
 * (separable 1-D interpolation, innermost dimension first, edge-replicated
 * neighbours, exclude_outside renormalization).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "som-ops-private.h"

typedef struct
{
  int     mode;       /* 0 nearest, 1 linear, 2 cubic */
  int     coord;      /* 0 half_pixel, 1 asymmetric, 2 pytorch_half_pixel, 3 align_corners,
                       * 4 tf_half_pixel_for_nn, 5 tf_crop_and_resize */
  int     nearest;    /* 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil */
  double  a;          /* cubic coefficient */
  gboolean exclude_outside;
  double  extrapolation;
  double  scales[SOM_ARRAY_MAX_DIMS];
  double  roi[2 * SOM_ARRAY_MAX_DIMS];
  gint64  out[SOM_ARRAY_MAX_DIMS];
} ResizeParams;

static int
pick (const char *s, const char * const *names, int def)
{
  for (int i = 0; names[i]; i++)
    if (strcmp (s, names[i]) == 0)
      return i;
  return def;
}

static gboolean
resize_params (SomOpCtx *c, ResizeParams *p, GError **error)
{
  SomTensor *x = c->in[0], *roi = NULL, *scales = NULL, *sizes = NULL;
  gboolean upsample = strcmp (c->node->op, "Upsample") == 0;
  gint64 opset = c->node->opset;
  static const char *modes[] = { "nearest", "linear", "cubic", NULL };
  static const char *coords[] = { "half_pixel", "asymmetric", "pytorch_half_pixel", "align_corners",
                                  "tf_half_pixel_for_nn", "tf_crop_and_resize", NULL };
  static const char *nearests[] = { "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL };
  const char *mode = _som_node_attr_string (c->node, "mode", "nearest");

  memset (p, 0, sizeof *p);
  if (strcmp (mode, "bilinear") == 0)
    mode = "linear";
  p->mode = pick (mode, modes, -1);
  if (p->mode < 0)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "mode '%s' is not supported", mode);
      return FALSE;
    }
  if (upsample || opset < 11)
    {
      p->coord = 1;
      p->nearest = 2;
    }
  else
    {
      p->coord = pick (_som_node_attr_string (c->node, "coordinate_transformation_mode", "half_pixel"), coords, -1);
      p->nearest = pick (_som_node_attr_string (c->node, "nearest_mode", "round_prefer_floor"), nearests, -1);
      if (p->coord < 0 || p->nearest < 0)
        {
          _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "unknown coordinate_transformation_mode or nearest_mode");
          return FALSE;
        }
    }
  p->a = _som_node_attr_float (c->node, "cubic_coeff_a", -0.75f);
  p->exclude_outside = _som_node_attr_int (c->node, "exclude_outside", 0) != 0;
  p->extrapolation = _som_node_attr_float (c->node, "extrapolation_value", 0.0f);

  if (upsample && opset < 9)
    {
      guint n;
      const float *s = _som_node_attr_floats (c->node, "scales", &n);
      if (s == NULL || n != x->ndim)
        goto bad;
      for (guint d = 0; d < n; d++)
        p->scales[d] = s[d];
    }
  else
    {
      if (upsample || opset < 11)
        scales = c->n_in > 1 ? c->in[1] : NULL;
      else
        {
          roi = c->n_in > 1 ? c->in[1] : NULL;
          scales = c->n_in > 2 ? c->in[2] : NULL;
          sizes = c->n_in > 3 ? c->in[3] : NULL;
        }
      for (guint i = 1; i < c->n_in; i++)
        if (!_som_need_values (c, i, error))
          return FALSE;
      if (scales != NULL && scales->n == 0)
        scales = NULL;
      if (roi != NULL && roi->n == 0)
        roi = NULL;
      if (sizes != NULL && sizes->n == 0)
        sizes = NULL;
      if ((scales == NULL) == (sizes == NULL))
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "exactly one of scales and sizes must be given");
          return FALSE;
        }
      if ((scales && scales->n != x->ndim) || (sizes && sizes->n != x->ndim) || (roi && roi->n != 2 * x->ndim))
        goto bad;
      for (guint d = 0; d < x->ndim; d++)
        {
          if (scales)
            p->scales[d] = _som_tensor_get_f64 (scales, d);
          else
            {
              p->out[d] = _som_tensor_get_i64 (sizes, d);
              p->scales[d] = x->shape[d] ? (double) (float) ((float) p->out[d] / (float) x->shape[d]) : 1.0;
            }
          if (roi)
            {
              p->roi[d] = _som_tensor_get_f64 (roi, d);
              p->roi[d + x->ndim] = _som_tensor_get_f64 (roi, d + x->ndim);
            }
        }
    }
  for (guint d = 0; d < x->ndim; d++)
    {
      if (!(p->scales[d] > 0) || !isfinite (p->scales[d]))
        goto bad;
      if (scales != NULL || sizes == NULL)
        p->out[d] = (gint64) floor (x->shape[d] * (p->scales[d]) + 1e-9);
      if (p->out[d] < 0 || p->out[d] > (G_GINT64_CONSTANT (1) << 32))
        goto bad;
    }
  return TRUE;
bad:
  _som_op_error (c, error, SOM_ERROR_INVALID, "invalid scales, sizes or roi");
  return FALSE;
}

gboolean
_som_resize_shape (SomOpCtx *c, GError **error)
{
  ResizeParams p;

  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  if (c->in[0]->dtype != SOM_DTYPE_F32)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "only float32 data is supported");
      return FALSE;
    }
  if (!resize_params (c, &p, error))
    return FALSE;
  _som_set_shape (c->out[0], SOM_DTYPE_F32, c->in[0]->ndim, p.out);
  return TRUE;
}

static void
coeffs (const ResizeParams *p, double ratio, double *w, int *n)
{
  double A = p->a;
  if (p->mode == 2)
    {
      double r = ratio, s = 1 - ratio;
      *n = 4;
      w[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
      w[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
      w[2] = ((A + 2) * s - (A + 3)) * s * s + 1;
      w[3] = ((A * (s + 1) - 5 * A) * (s + 1) + 8 * A) * (s + 1) - 4 * A;
      return;
    }
  *n = 2;
  if (p->mode == 1)
    {
      w[0] = 1 - ratio;
      w[1] = ratio;
      return;
    }
  if (ratio == 1.0)
    {
      w[0] = 0;
      w[1] = 1;
      return;
    }
  switch (p->nearest)
    {
    case 0: w[0] = ratio <= 0.5; w[1] = ratio > 0.5; break;
    case 1: w[0] = ratio < 0.5; w[1] = ratio >= 0.5; break;
    case 2: w[0] = 1; w[1] = 0; break;
    default: w[0] = 0; w[1] = 1; break;
    }
}

/* One pass along @dim: in (outer, len_in, inner) → out (outer, len_out, inner) */
static void
resize_dim (const ResizeParams *p, guint d, guint ndim, const double *src, double *dst, gsize outer,
            gint64 len_in, gint64 len_out, gsize inner)
{
  double scale = p->scales[d];
  double out_width = scale * len_in;

  for (gint64 xo = 0; xo < len_out; xo++)
    {
      double x = xo, xori, ratio, w[4];
      gint64 x0, idx[4];
      int n;
      gboolean extrapolate = FALSE;

      switch (p->coord)
        {
        case 3: xori = out_width == 1 ? 0 : x * (len_in - 1) / (out_width - 1); break;
        case 1: xori = x / scale; break;
        case 5:
          {
            double start = p->roi[d], end = p->roi[d + ndim];
            if (out_width > 1)
              xori = start * (len_in - 1) + x * (end - start) * (len_in - 1) / (out_width - 1);
            else
              xori = 0.5 * (start + end) * (len_in - 1);
            if (xori < 0 || xori > len_in - 1)
              extrapolate = TRUE;
          }
          break;
        case 2: xori = out_width == 1 ? -0.5 : (x + 0.5) / scale - 0.5; break;
        case 4: xori = (x + 0.5) / scale; break;
        default: xori = (x + 0.5) / scale - 0.5; break;
        }
      if (extrapolate)
        {
          for (gsize o = 0; o < outer; o++)
            for (gsize i = 0; i < inner; i++)
              dst[(o * len_out + xo) * inner + i] = p->extrapolation;
          continue;
        }
      x0 = (gint64) floor (xori);
      ratio = xori - x0;
      if (ratio == 0)
        {
          ratio = 1;
          x0 -= 1;
        }
      coeffs (p, ratio, w, &n);
      for (int k = 0; k < n; k++)
        idx[k] = x0 + k - (n == 4 ? 1 : 0);
      if (p->exclude_outside)
        {
          double sum = 0;
          for (int k = 0; k < n; k++)
            {
              if (idx[k] < 0 || idx[k] >= len_in)
                w[k] = 0;
              sum += w[k];
            }
          for (int k = 0; k < n; k++)
            w[k] = sum != 0 ? w[k] / sum : 0;
        }
      for (int k = 0; k < n; k++)
        idx[k] = CLAMP (idx[k], 0, len_in - 1);
      for (gsize o = 0; o < outer; o++)
        {
          double *drow = dst + (o * len_out + xo) * inner;
          for (gsize i = 0; i < inner; i++)
            drow[i] = 0;
          for (int k = 0; k < n; k++)
            {
              const double *srow = src + (o * len_in + idx[k]) * inner;
              if (w[k] == 0)
                continue;
              for (gsize i = 0; i < inner; i++)
                drow[i] += w[k] * srow[i];
            }
        }
    }
}

gboolean
_som_resize_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  ResizeParams p;
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  g_autofree double *cur = NULL;

  if (!resize_params (c, &p, error))
    return FALSE;
  memcpy (shape, x->shape, sizeof shape);
  cur = g_try_new (double, MAX (x->n, 1));
  if (cur == NULL)
    {
      _som_op_error (c, error, SOM_ERROR_TOO_LARGE, "out of memory");
      return FALSE;
    }
  for (gsize i = 0; i < x->n; i++)
    cur[i] = ((const float *) x->data)[i];
  for (int d = (int) x->ndim - 1; d >= 0; d--)
    {
      gsize outer = 1, inner = 1, total;
      double *next;
      if (p.scales[d] == 1.0 && p.out[d] == shape[d] && p.coord != 5)
        continue;
      for (int k = 0; k < d; k++)
        outer *= shape[k];
      for (guint k = d + 1; k < x->ndim; k++)
        inner *= shape[k];
      total = outer * inner * p.out[d];
      next = g_try_new (double, MAX (total, 1));
      if (next == NULL)
        {
          _som_op_error (c, error, SOM_ERROR_TOO_LARGE, "out of memory");
          return FALSE;
        }
      resize_dim (&p, d, x->ndim, cur, next, outer, shape[d], p.out[d], inner);
      g_free (cur);
      cur = next;
      shape[d] = p.out[d];
    }
  for (gsize i = 0; i < y->n; i++)
    ((float *) y->data)[i] = (float) cur[i];
  return TRUE;
}
