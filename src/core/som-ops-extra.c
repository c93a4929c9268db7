/* som-ops-extra.c: index and layout operators of issue 10 (GatherElements,
 * ScatterElements/ND, Trilu, CumSum, Hardmax, DepthToSpace, SpaceToDepth,
 * OneHot, IsInf/IsNaN, Shrink, CastLike)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "som-ops-private.h"

static void
unravel (gsize i, guint ndim, const gint64 *shape, gint64 *idx)
{
  for (int d = (int) ndim - 1; d >= 0; d--)
    {
      idx[d] = shape[d] ? (gint64) (i % (gsize) shape[d]) : 0;
      i = shape[d] ? i / (gsize) shape[d] : 0;
    }
}

/* ---- GatherElements, ScatterElements ------------------------------------------ */

gboolean
_som_gather_elements_shape (SomOpCtx *c, GError **error)
{
  guint axis;

  if (!_som_need_inputs (c, 2, error))
    return FALSE;
  if (c->in[1]->dtype != SOM_DTYPE_I64 || c->in[1]->ndim != c->in[0]->ndim
      || !_som_norm_axis (c, _som_node_attr_int (c->node, "axis", 0), c->in[0]->ndim, FALSE, &axis, error))
    {
      if (error && !*error)
        _som_op_error (c, error, SOM_ERROR_INVALID, "indices must be integers of the data's rank");
      return FALSE;
    }
  _som_set_shape (c->out[0], c->in[0]->dtype, c->in[1]->ndim, c->in[1]->shape);
  return TRUE;
}

static gboolean
element_index (SomOpCtx *c, const SomTensor *data, const SomTensor *ind, guint axis, gsize i, gint64 *off,
               GError **error)
{
  gint64 idx[SOM_ARRAY_MAX_DIMS], st[SOM_ARRAY_MAX_DIMS], k;

  unravel (i, ind->ndim, ind->shape, idx);
  k = ((const gint64 *) ind->data)[i];
  if (k < -data->shape[axis] || k >= data->shape[axis])
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "index %" G_GINT64_FORMAT " is out of range", k);
      return FALSE;
    }
  idx[axis] = k < 0 ? k + data->shape[axis] : k;
  _som_contiguous_strides (data->ndim, data->shape, st);
  *off = 0;
  for (guint d = 0; d < data->ndim; d++)
    {
      if (d != axis && idx[d] >= data->shape[d])
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "indices shape exceeds the data");
          return FALSE;
        }
      *off += idx[d] * st[d];
    }
  return TRUE;
}

gboolean
_som_gather_elements_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *ind = c->in[1], *y = c->out[0];
  gsize es = _som_dtype_size (x->dtype);
  guint axis;

  _som_norm_axis (c, _som_node_attr_int (c->node, "axis", 0), x->ndim, FALSE, &axis, NULL);
  for (gsize i = 0; i < ind->n; i++)
    {
      gint64 off;
      if (!element_index (c, x, ind, axis, i, &off, error))
        return FALSE;
      memcpy ((guint8 *) y->data + i * es, (guint8 *) x->data + off * es, es);
    }
  return TRUE;
}

static int
reduction_kind (SomOpCtx *c)
{
  const char *r = _som_node_attr_string (c->node, "reduction", "none");
  return strcmp (r, "add") == 0 ? 1 : strcmp (r, "mul") == 0 ? 2 : strcmp (r, "max") == 0 ? 3
       : strcmp (r, "min") == 0 ? 4 : 0;
}

static void
scatter_one (SomTensor *y, gint64 off, const SomTensor *u, gsize ui, int kind)
{
  if (y->dtype == SOM_DTYPE_F32)
    {
      float *d = (float *) y->data + off, v = ((const float *) u->data)[ui];
      *d = kind == 1 ? *d + v : kind == 2 ? *d * v : kind == 3 ? MAX (*d, v) : kind == 4 ? MIN (*d, v) : v;
    }
  else if (y->dtype == SOM_DTYPE_I64)
    {
      gint64 *d = (gint64 *) y->data + off, v = ((const gint64 *) u->data)[ui];
      *d = kind == 1 ? *d + v : kind == 2 ? *d * v : kind == 3 ? MAX (*d, v) : kind == 4 ? MIN (*d, v) : v;
    }
  else
    ((guint8 *) y->data)[off] = ((const guint8 *) u->data)[ui];
}

gboolean
_som_scatter_elements_shape (SomOpCtx *c, GError **error)
{
  guint axis;

  if (!_som_need_inputs (c, 3, error))
    return FALSE;
  if (c->in[1]->dtype != SOM_DTYPE_I64 || c->in[1]->ndim != c->in[0]->ndim || c->in[2]->n != c->in[1]->n
      || c->in[2]->dtype != c->in[0]->dtype
      || !_som_norm_axis (c, _som_node_attr_int (c->node, "axis", 0), c->in[0]->ndim, FALSE, &axis, error))
    {
      if (error && !*error)
        _som_op_error (c, error, SOM_ERROR_INVALID, "indices and updates do not fit the data");
      return FALSE;
    }
  _som_set_shape (c->out[0], c->in[0]->dtype, c->in[0]->ndim, c->in[0]->shape);
  return TRUE;
}

gboolean
_som_scatter_elements_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *ind = c->in[1], *u = c->in[2], *y = c->out[0];
  guint axis;
  int kind = reduction_kind (c);

  _som_norm_axis (c, _som_node_attr_int (c->node, "axis", 0), x->ndim, FALSE, &axis, NULL);
  memcpy (y->data, x->data, x->n * _som_dtype_size (x->dtype));
  for (gsize i = 0; i < ind->n; i++)
    {
      gint64 off;
      if (!element_index (c, x, ind, axis, i, &off, error))
        return FALSE;
      scatter_one (y, off, u, i, kind);
    }
  return TRUE;
}

gboolean
_som_scatter_nd_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x, *ind;
  gint64 k;

  if (!_som_need_inputs (c, 3, error))
    return FALSE;
  x = c->in[0];
  ind = c->in[1];
  k = ind->ndim ? ind->shape[ind->ndim - 1] : 0;
  if (ind->dtype != SOM_DTYPE_I64 || ind->ndim < 1 || k > (gint64) x->ndim || c->in[2]->dtype != x->dtype)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "indices and updates do not fit the data");
      return FALSE;
    }
  _som_set_shape (c->out[0], x->dtype, x->ndim, x->shape);
  return TRUE;
}

gboolean
_som_scatter_nd_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *ind = c->in[1], *u = c->in[2], *y = c->out[0];
  gint64 k = ind->shape[ind->ndim - 1], st[SOM_ARRAY_MAX_DIMS];
  gsize n_idx = k ? ind->n / k : 0, slice = 1;
  int kind = reduction_kind (c);

  for (guint d = k; d < x->ndim; d++)
    slice *= x->shape[d];
  if (u->n != n_idx * slice)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "updates have the wrong size");
      return FALSE;
    }
  _som_contiguous_strides (x->ndim, x->shape, st);
  memcpy (y->data, x->data, x->n * _som_dtype_size (x->dtype));
  for (gsize i = 0; i < n_idx; i++)
    {
      gint64 off = 0;
      for (gint64 d = 0; d < k; d++)
        {
          gint64 v = ((const gint64 *) ind->data)[i * k + d];
          if (v < 0)
            v += x->shape[d];
          if (v < 0 || v >= x->shape[d])
            {
              _som_op_error (c, error, SOM_ERROR_INVALID, "index out of range");
              return FALSE;
            }
          off += v * st[d];
        }
      for (gsize j = 0; j < slice; j++)
        scatter_one (y, off + j, u, i * slice + j, kind);
    }
  return TRUE;
}

/* ---- Trilu, CumSum, Hardmax ------------------------------------------------------- */

gboolean
_som_same_shape_shape (SomOpCtx *c, GError **error)
{
  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  _som_set_shape (c->out[0], c->in[0]->dtype, c->in[0]->ndim, c->in[0]->shape);
  return TRUE;
}

gboolean
_som_trilu_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  gboolean upper = _som_node_attr_int (c->node, "upper", 1) != 0;
  gint64 k = c->n_in > 1 && c->in[1] != NULL ? _som_tensor_get_i64 (c->in[1], 0) : 0;
  gint64 R, C;
  gsize es = _som_dtype_size (x->dtype);

  if (x->ndim < 2)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs rank ≥ 2");
      return FALSE;
    }
  R = x->shape[x->ndim - 2];
  C = x->shape[x->ndim - 1];
  for (gsize i = 0; i < x->n; i++)
    {
      gint64 r = (i / C) % R, col = i % C;
      gboolean keep = upper ? col - r >= k : col - r <= k;
      if (keep)
        memcpy ((guint8 *) y->data + i * es, (guint8 *) x->data + i * es, es);
      else
        memset ((guint8 *) y->data + i * es, 0, es);
    }
  return TRUE;
}

gboolean
_som_cumsum_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  gboolean exclusive = _som_node_attr_int (c->node, "exclusive", 0) != 0;
  gboolean reverse = _som_node_attr_int (c->node, "reverse", 0) != 0;
  guint axis;
  gsize outer = 1, len, inner = 1;

  if (!_som_need_inputs (c, 2, error)
      || !_som_norm_axis (c, _som_tensor_get_i64 (c->in[1], 0), x->ndim, FALSE, &axis, error))
    return FALSE;
  for (guint d = 0; d < axis; d++)
    outer *= x->shape[d];
  len = x->shape[axis];
  for (guint d = axis + 1; d < x->ndim; d++)
    inner *= x->shape[d];
  for (gsize o = 0; o < outer; o++)
    for (gsize in = 0; in < inner; in++)
      {
        double acc = 0;
        for (gsize s = 0; s < len; s++)
          {
            gsize j = reverse ? len - 1 - s : s;
            gsize off = (o * len + j) * inner + in;
            double v = _som_tensor_get_f64 (x, off);
            if (!exclusive)
              acc += v;
            if (y->dtype == SOM_DTYPE_F32)
              ((float *) y->data)[off] = (float) acc;
            else
              ((gint64 *) y->data)[off] = (gint64) acc;
            if (exclusive)
              acc += v;
          }
      }
  return TRUE;
}

gboolean
_som_hardmax_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  guint axis;
  gsize outer = 1, len = 1, inner = 1;
  gboolean new_axis = c->node->opset >= 13;

  if (!_som_norm_axis (c, _som_node_attr_int (c->node, "axis", new_axis ? -1 : 1), x->ndim, FALSE, &axis, error))
    return FALSE;
  for (guint d = 0; d < axis; d++)
    outer *= x->shape[d];
  if (new_axis)
    {
      len = x->shape[axis];
      for (guint d = axis + 1; d < x->ndim; d++)
        inner *= x->shape[d];
    }
  else
    for (guint d = axis; d < x->ndim; d++)
      len *= x->shape[d];
  memset (y->data, 0, y->n * 4);
  for (gsize o = 0; o < outer; o++)
    for (gsize in = 0; in < inner; in++)
      {
        const float *src = (const float *) x->data + o * len * inner + in;
        gsize best = 0;
        for (gsize i = 1; i < len; i++)
          if (src[i * inner] > src[best * inner])
            best = i;
        if (len > 0)
          ((float *) y->data)[o * len * inner + in + best * inner] = 1.0f;
      }
  return TRUE;
}

/* ---- DepthToSpace, SpaceToDepth ------------------------------------------------------ */

gboolean
_som_depth_space_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x;
  gint64 b = _som_node_attr_int (c->node, "blocksize", 0), shape[4];
  gboolean d2s = strcmp (c->node->op, "DepthToSpace") == 0;

  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  x = c->in[0];
  if (x->ndim != 4 || b <= 0 || (d2s ? x->shape[1] % (b * b) : (x->shape[2] % b) | (x->shape[3] % b)))
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs N×C×H×W and a fitting blocksize");
      return FALSE;
    }
  shape[0] = x->shape[0];
  shape[1] = d2s ? x->shape[1] / (b * b) : x->shape[1] * b * b;
  shape[2] = d2s ? x->shape[2] * b : x->shape[2] / b;
  shape[3] = d2s ? x->shape[3] * b : x->shape[3] / b;
  _som_set_shape (c->out[0], x->dtype, 4, shape);
  return TRUE;
}

gboolean
_som_depth_space_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  gint64 b = _som_node_attr_int (c->node, "blocksize", 0);
  gboolean d2s = strcmp (c->node->op, "DepthToSpace") == 0;
  gboolean crd = strcmp (_som_node_attr_string (c->node, "mode", "DCR"), "CRD") == 0;
  gint64 shape6[6], st6[6], xs[4];

  _som_contiguous_strides (4, x->shape, xs);
  if (d2s)
    {
      gint64 N = x->shape[0], C = y->shape[1], H = x->shape[2], W = x->shape[3];
      /* output index (n, c, h, i, w, j) reads channel (DCR) i·b·C + j·C + c or (CRD) c·b·b + i·b + j */
      shape6[0] = N; shape6[1] = C; shape6[2] = H; shape6[3] = b; shape6[4] = W; shape6[5] = b;
      st6[0] = xs[0];
      st6[1] = crd ? b * b * xs[1] : xs[1];
      st6[2] = xs[2];
      st6[3] = crd ? b * xs[1] : b * C * xs[1];
      st6[4] = xs[3];
      st6[5] = crd ? xs[1] : C * xs[1];
    }
  else
    {
      gint64 N = x->shape[0], C = x->shape[1], H = y->shape[2], W = y->shape[3];
      /* output (n, i, j, c, h, w) = x (n, c, h·b + i, w·b + j) */
      shape6[0] = N; shape6[1] = b; shape6[2] = b; shape6[3] = C; shape6[4] = H; shape6[5] = W;
      st6[0] = xs[0]; st6[1] = xs[2]; st6[2] = xs[3]; st6[3] = xs[1]; st6[4] = b * xs[2]; st6[5] = b * xs[3];
    }
  _som_strided_copy (y->data, x->data, _som_dtype_size (x->dtype), 6, shape6, st6, 0);
  return TRUE;
}

/* ---- OneHot -------------------------------------------------------------------------------- */

gboolean
_som_onehot_shape (SomOpCtx *c, GError **error)
{
  SomTensor *ind;
  gint64 depth, shape[SOM_ARRAY_MAX_DIMS];
  guint axis, k = 0;

  if (!_som_need_inputs (c, 3, error) || !_som_need_values (c, 1, error) || !_som_need_values (c, 2, error))
    return FALSE;
  ind = c->in[0];
  depth = (gint64) _som_tensor_get_f64 (c->in[1], 0);
  if (depth <= 0 || ind->ndim + 1 > SOM_ARRAY_MAX_DIMS || c->in[2]->n != 2
      || !_som_norm_axis (c, _som_node_attr_int (c->node, "axis", -1), ind->ndim + 1, FALSE, &axis, error))
    {
      if (error && !*error)
        _som_op_error (c, error, SOM_ERROR_INVALID, "invalid depth or values");
      return FALSE;
    }
  for (guint d = 0; d < ind->ndim + 1; d++)
    shape[d] = d == axis ? depth : ind->shape[k++];
  _som_set_shape (c->out[0], c->in[2]->dtype, ind->ndim + 1, shape);
  return TRUE;
}

gboolean
_som_onehot_compute (SomOpCtx *c, GError **error)
{
  SomTensor *ind = c->in[0], *vals = c->in[2], *y = c->out[0];
  gint64 depth = y->shape[0];
  guint axis;
  gsize outer = 1, inner = 1, es = _som_dtype_size (y->dtype);

  _som_norm_axis (c, _som_node_attr_int (c->node, "axis", -1), ind->ndim + 1, FALSE, &axis, NULL);
  depth = y->shape[axis];
  for (guint d = 0; d < axis; d++)
    outer *= y->shape[d];
  for (guint d = axis + 1; d < y->ndim; d++)
    inner *= y->shape[d];
  for (gsize i = 0; i < y->n; i++)
    memcpy ((guint8 *) y->data + i * es, vals->data, es);
  for (gsize o = 0; o < outer; o++)
    for (gsize in = 0; in < inner; in++)
      {
        gint64 k = (gint64) _som_tensor_get_f64 (ind, o * inner + in);
        if (k < 0)
          k += depth;
        if (k >= 0 && k < depth)
          memcpy ((guint8 *) y->data + ((o * depth + k) * inner + in) * es, (guint8 *) vals->data + es, es);
      }
  return TRUE;
}

/* ---- IsInf, IsNaN, Shrink, CastLike ----------------------------------------------------- */

gboolean
_som_isx_shape (SomOpCtx *c, GError **error)
{
  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  if (c->in[0]->dtype != SOM_DTYPE_F32)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs a float input");
      return FALSE;
    }
  _som_set_shape (c->out[0], SOM_DTYPE_BOOL, c->in[0]->ndim, c->in[0]->shape);
  return TRUE;
}

gboolean
_som_isx_compute (SomOpCtx *c, GError **error)
{
  const float *x = c->in[0]->data;
  guint8 *y = c->out[0]->data;
  gboolean nan_op = strcmp (c->node->op, "IsNaN") == 0;
  gboolean pos = _som_node_attr_int (c->node, "detect_positive", 1) != 0;
  gboolean neg = _som_node_attr_int (c->node, "detect_negative", 1) != 0;

  for (gsize i = 0; i < c->in[0]->n; i++)
    y[i] = nan_op ? isnan (x[i]) != 0 : isinf (x[i]) && ((x[i] > 0 && pos) || (x[i] < 0 && neg));
  return TRUE;
}

gboolean
_som_shrink_compute (SomOpCtx *c, GError **error)
{
  float lambd = _som_node_attr_float (c->node, "lambd", 0.5f), bias = _som_node_attr_float (c->node, "bias", 0.0f);
  SomTensor *x = c->in[0], *y = c->out[0];

  for (gsize i = 0; i < x->n; i++)
    {
      double v = _som_tensor_get_f64 (x, i);
      double r = v < -lambd ? v + bias : v > lambd ? v - bias : 0;
      if (y->dtype == SOM_DTYPE_F32)
        ((float *) y->data)[i] = (float) r;
      else
        ((gint64 *) y->data)[i] = (gint64) r;
    }
  return TRUE;
}

gboolean
_som_castlike_shape (SomOpCtx *c, GError **error)
{
  if (!_som_need_inputs (c, 2, error))
    return FALSE;
  _som_set_shape (c->out[0], c->in[1]->dtype, c->in[0]->ndim, c->in[0]->shape);
  return TRUE;
}

gboolean
_som_castlike_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];

  for (gsize i = 0; i < x->n; i++)
    switch (y->dtype)
      {
      case SOM_DTYPE_F32: ((float *) y->data)[i] = (float) _som_tensor_get_f64 (x, i); break;
      case SOM_DTYPE_I64:
        ((gint64 *) y->data)[i] = x->dtype == SOM_DTYPE_F32 ? (gint64) ((float *) x->data)[i] : _som_tensor_get_i64 (x, i);
        break;
      default: ((guint8 *) y->data)[i] = _som_tensor_get_f64 (x, i) != 0; break;
      }
  return TRUE;
}
