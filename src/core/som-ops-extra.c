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

/* ---- TopK -------------------------------------------------------------------------------- */

static gboolean
topk_k (SomOpCtx *c, gint64 *k, guint *axis, GError **error)
{
  SomTensor *x = c->in[0];

  if (c->node->opset < 10)
    *k = _som_node_attr_int (c->node, "k", -1);
  else
    {
      if (!_som_need_inputs (c, 2, error) || !_som_need_values (c, 1, error))
        return FALSE;
      *k = _som_tensor_get_i64 (c->in[1], 0);
    }
  if (!_som_norm_axis (c, _som_node_attr_int (c->node, "axis", -1), x->ndim, FALSE, axis, error))
    return FALSE;
  if (*k < 0 || *k > x->shape[*axis])
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "k = %" G_GINT64_FORMAT " is out of range", *k);
      return FALSE;
    }
  return TRUE;
}

gboolean
_som_topk_shape (SomOpCtx *c, GError **error)
{
  gint64 k, shape[SOM_ARRAY_MAX_DIMS];
  guint axis;

  if (!_som_need_inputs (c, 1, error) || !topk_k (c, &k, &axis, error))
    return FALSE;
  if (c->in[0]->dtype == SOM_DTYPE_BOOL)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "bool input");
      return FALSE;
    }
  memcpy (shape, c->in[0]->shape, sizeof shape);
  shape[axis] = k;
  _som_set_shape (c->out[0], c->in[0]->dtype, c->in[0]->ndim, shape);
  if (c->n_out > 1 && c->out[1] != NULL)
    _som_set_shape (c->out[1], SOM_DTYPE_I64, c->in[0]->ndim, shape);
  return TRUE;
}

typedef struct { double v; gint64 i; } Pair;

static int
pair_desc (const void *a, const void *b)
{
  const Pair *x = a, *y = b;
  if (x->v != y->v)
    return x->v > y->v ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

static int
pair_asc (const void *a, const void *b)
{
  const Pair *x = a, *y = b;
  if (x->v != y->v)
    return x->v < y->v ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

gboolean
_som_topk_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0], *yi = c->n_out > 1 ? c->out[1] : NULL;
  gboolean largest = _som_node_attr_int (c->node, "largest", 1) != 0;
  gint64 k;
  guint axis;
  gsize outer = 1, len, inner = 1;
  g_autofree Pair *pairs = NULL;

  topk_k (c, &k, &axis, NULL);
  for (guint d = 0; d < axis; d++)
    outer *= x->shape[d];
  len = x->shape[axis];
  for (guint d = axis + 1; d < x->ndim; d++)
    inner *= x->shape[d];
  pairs = g_new (Pair, MAX (len, 1));
  for (gsize o = 0; o < outer; o++)
    for (gsize in = 0; in < inner; in++)
      {
        for (gsize j = 0; j < len; j++)
          {
            pairs[j].v = _som_tensor_get_f64 (x, (o * len + j) * inner + in);
            pairs[j].i = j;
          }
        qsort (pairs, len, sizeof (Pair), largest ? pair_desc : pair_asc);
        for (gint64 j = 0; j < k; j++)
          {
            gsize off = (o * k + j) * inner + in;
            if (y->dtype == SOM_DTYPE_F32)
              ((float *) y->data)[off] = (float) pairs[j].v;
            else
              ((gint64 *) y->data)[off] = (gint64) pairs[j].v;
            if (yi != NULL)
              ((gint64 *) yi->data)[off] = pairs[j].i;
          }
      }
  return TRUE;
}

/* ---- Einsum ------------------------------------------------------------------------------- */

#define EIN_MAX_LABELS 64

typedef struct
{
  guint  n_terms;
  int    terms[8][SOM_ARRAY_MAX_DIMS];   /* label ids per input dimension */
  guint  term_len[8];
  int    out[SOM_ARRAY_MAX_DIMS];
  guint  out_len;
  guint  n_labels;
  gint64 size[EIN_MAX_LABELS];
} Einsum;

/* Labels: letters map to 0..51, ellipsis dimensions to 52.. */
static int
letter_id (char ch)
{
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a';
  if (ch >= 'A' && ch <= 'Z')
    return 26 + ch - 'A';
  return -1;
}

static gboolean
einsum_parse (SomOpCtx *c, Einsum *e, GError **error)
{
  const char *eq = _som_node_attr_string (c->node, "equation", NULL);
  g_autofree char *clean = NULL;
  g_auto(GStrv) sides = NULL;
  g_auto(GStrv) terms = NULL;
  guint ell_dims = 0;
  gboolean seen[EIN_MAX_LABELS] = { 0 };
  int count[EIN_MAX_LABELS] = { 0 };
  gboolean have_ellipsis = FALSE;

  memset (e, 0, sizeof *e);
  if (eq == NULL)
    goto bad;
  clean = g_strdup (eq);
  {
    char *w = clean;
    for (const char *r = eq; *r; r++)
      if (*r != ' ')
        *w++ = *r;
    *w = '\0';
  }
  sides = g_strsplit (clean, "->", 2);
  terms = g_strsplit (sides[0], ",", -1);
  e->n_terms = g_strv_length (terms);
  if (e->n_terms != c->n_in || e->n_terms > 8)
    goto bad;
  for (guint t = 0; t < e->n_terms; t++)
    {
      SomTensor *x = c->in[t];
      const char *s = terms[t];
      guint letters = 0, pos = 0;
      for (const char *p = s; *p; p++)
        if (letter_id (*p) >= 0)
          letters++;
      for (const char *p = s; *p; p++)
        {
          if (g_str_has_prefix (p, "..."))
            {
              guint nd = x->ndim >= letters ? x->ndim - letters : 0;
              have_ellipsis = TRUE;
              ell_dims = MAX (ell_dims, nd);
              for (guint k = 0; k < nd; k++)
                {
                  /* right-aligned ellipsis dims */
                  int id = 52 + (int) (k + (SOM_ARRAY_MAX_DIMS - nd));
                  if (pos >= SOM_ARRAY_MAX_DIMS)
                    goto bad;
                  e->terms[t][pos++] = id;
                }
              p += 2;
              continue;
            }
          if (letter_id (*p) < 0 || pos >= SOM_ARRAY_MAX_DIMS)
            goto bad;
          e->terms[t][pos++] = letter_id (*p);
        }
      if (pos != x->ndim)
        goto bad;
      e->term_len[t] = pos;
      for (guint d = 0; d < pos; d++)
        {
          int id = e->terms[t][d];
          gint64 sz = x->shape[d];
          if (!seen[id] || e->size[id] == 1)
            e->size[id] = sz;
          else if (sz != 1 && sz != e->size[id])
            goto bad;
          seen[id] = TRUE;
          count[id]++;
        }
    }
  if (sides[1] != NULL)
    {
      for (const char *p = sides[1]; *p; p++)
        {
          if (g_str_has_prefix (p, "..."))
            {
              for (guint k = 0; k < ell_dims; k++)
                e->out[e->out_len++] = 52 + (int) (k + SOM_ARRAY_MAX_DIMS - ell_dims);
              p += 2;
              continue;
            }
          if (letter_id (*p) < 0 || !seen[letter_id (*p)] || e->out_len >= SOM_ARRAY_MAX_DIMS)
            goto bad;
          e->out[e->out_len++] = letter_id (*p);
        }
    }
  else
    {
      if (have_ellipsis)
        for (guint k = 0; k < ell_dims; k++)
          e->out[e->out_len++] = 52 + (int) (k + SOM_ARRAY_MAX_DIMS - ell_dims);
      for (int id = 0; id < 52 && e->out_len < SOM_ARRAY_MAX_DIMS; id++)
        if (count[id] == 1)
          e->out[e->out_len++] = id;
    }
  e->n_labels = EIN_MAX_LABELS;
  return TRUE;
bad:
  _som_op_error (c, error, SOM_ERROR_INVALID, "equation '%s' does not fit the inputs", eq ? eq : "");
  return FALSE;
}

gboolean
_som_einsum_shape (SomOpCtx *c, GError **error)
{
  Einsum e;
  gint64 shape[SOM_ARRAY_MAX_DIMS];

  for (guint i = 0; i < c->n_in; i++)
    if (c->in[i] == NULL || c->in[i]->dtype != SOM_DTYPE_F32)
      {
        _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "needs float32 inputs");
        return FALSE;
      }
  if (c->n_in == 0 || !einsum_parse (c, &e, error))
    return FALSE;
  for (guint d = 0; d < e.out_len; d++)
    shape[d] = e.size[e.out[d]];
  _som_set_shape (c->out[0], SOM_DTYPE_F32, e.out_len, shape);
  return TRUE;
}

/* Two operands without repeated or broadcast labels, every summed label in
 * both (how exports write attention: "bhid,bhjd->bhij"): a batched matrix
 * product.  Labels in both operands and the output are the batch, labels of
 * one operand and the output its rows or columns, labels of both operands
 * only the inner dimension.  An operand whose dimensions are not already in
 * (batch, rows, inner) or (batch, inner, rows) order is copied into it;
 * likewise the result if the output's order is not (batch, rows, columns).
 * Returns FALSE, having done nothing, for equations of other kinds. */
enum { EIN_BATCH, EIN_M, EIN_N, EIN_K, EIN_GROUPS };

typedef struct
{
  int    ids[EIN_GROUPS][SOM_ARRAY_MAX_DIMS];
  guint  len[EIN_GROUPS];
  gint64 prod[EIN_GROUPS];
} EinGroups;

/* Position of label @id in @labels (length @n), or -1 */
static int
ein_find (const int *labels, guint n, int id)
{
  for (guint i = 0; i < n; i++)
    if (labels[i] == id)
      return (int) i;
  return -1;
}

/* Whether the labels of size > 1 in @labels (length @n) are, in order, those
 * of groups @g0, @g1, @g2 (their labels of size > 1) */
static gboolean
ein_order_is (const Einsum *e, const int *labels, guint n, const EinGroups *g, int g0, int g1, int g2)
{
  int want[3 * SOM_ARRAY_MAX_DIMS];
  guint nw = 0, k = 0;
  int gs[3] = { g0, g1, g2 };

  for (guint j = 0; j < 3; j++)
    for (guint i = 0; i < g->len[gs[j]]; i++)
      if (e->size[g->ids[gs[j]][i]] > 1)
        want[nw++] = g->ids[gs[j]][i];
  for (guint i = 0; i < n; i++)
    if (e->size[labels[i]] > 1)
      {
        if (k >= nw || labels[i] != want[k])
          return FALSE;
        k++;
      }
  return k == nw;
}

/* Copies @x (labels @labels) into the order of groups @g0, @g1, @g2 */
static float *
ein_gather (const Einsum *e, const SomTensor *x, const int *labels, const EinGroups *g, int g0, int g1, int g2)
{
  gint64 xs[SOM_ARRAY_MAX_DIMS], shape[3 * SOM_ARRAY_MAX_DIMS], st[3 * SOM_ARRAY_MAX_DIMS];
  guint nd = 0;
  int gs[3] = { g0, g1, g2 };
  float *dst = g_new (float, MAX (x->n, 1));

  _som_contiguous_strides (x->ndim, x->shape, xs);
  for (guint j = 0; j < 3; j++)
    for (guint i = 0; i < g->len[gs[j]]; i++)
      {
        int id = g->ids[gs[j]][i];
        if (e->size[id] == 1)
          continue;
        shape[nd] = e->size[id];
        st[nd++] = xs[ein_find (labels, x->ndim, id)];
      }
  _som_strided_copy (dst, x->data, sizeof (float), nd, shape, st, 0);
  return dst;
}

/* @x as a stack of (@rows × @cols) matrices over the batch: its own data, or
 * its data transposed (*@trans set), or a copy into place (*@buf) */
static const float *
ein_operand (const Einsum *e, const SomTensor *x, const int *labels, const EinGroups *g, int rows, int cols,
             gboolean *trans, float **buf)
{
  if (ein_order_is (e, labels, x->ndim, g, EIN_BATCH, rows, cols))
    return x->data;
  if (ein_order_is (e, labels, x->ndim, g, EIN_BATCH, cols, rows))
    {
      *trans = TRUE;
      return x->data;
    }
  return *buf = ein_gather (e, x, labels, g, EIN_BATCH, rows, cols);
}

static gboolean
einsum_as_matmul (SomOpCtx *c, const Einsum *e)
{
  const SomTensor *A, *B;
  SomTensor *y = c->out[0];
  EinGroups g = { 0 };
  g_autofree float *abuf = NULL, *bbuf = NULL, *ybuf = NULL;
  g_autofree gint64 *offs = NULL;
  const float *ap, *bp;
  float *yp;
  gboolean ta = FALSE, tb = FALSE;
  gsize nb;

  if (e->n_terms != 2 || c->n_in != 2 || e->out_len > SOM_ARRAY_MAX_DIMS)
    return FALSE;
  A = c->in[0];
  B = c->in[1];
  for (guint t = 0; t < 2; t++)
    {
      if (c->in[t]->ndim != e->term_len[t])
        return FALSE;
      for (guint d = 0; d < e->term_len[t]; d++)
        if (ein_find (e->terms[t], d, e->terms[t][d]) >= 0 || c->in[t]->shape[d] != e->size[e->terms[t][d]])
          return FALSE;
    }
  for (guint d = 0; d < e->out_len; d++)
    if (ein_find (e->out, d, e->out[d]) >= 0)
      return FALSE;
  /* batch, rows and columns in the output's order; the inner labels in A's */
  for (guint d = 0; d < e->out_len; d++)
    {
      int id = e->out[d];
      gboolean ina = ein_find (e->terms[0], e->term_len[0], id) >= 0;
      gboolean inb = ein_find (e->terms[1], e->term_len[1], id) >= 0;
      int grp = ina && inb ? EIN_BATCH : ina ? EIN_M : inb ? EIN_N : -1;
      if (grp < 0)
        return FALSE;
      g.ids[grp][g.len[grp]++] = id;
    }
  for (guint d = 0; d < e->term_len[0]; d++)
    {
      int id = e->terms[0][d];
      if (ein_find (e->out, e->out_len, id) >= 0)
        continue;
      if (ein_find (e->terms[1], e->term_len[1], id) < 0)
        return FALSE;
      g.ids[EIN_K][g.len[EIN_K]++] = id;
    }
  for (guint d = 0; d < e->term_len[1]; d++)
    if (ein_find (e->out, e->out_len, e->terms[1][d]) < 0 && ein_find (e->terms[0], e->term_len[0], e->terms[1][d]) < 0)
      return FALSE;
  for (guint j = 0; j < EIN_GROUPS; j++)
    {
      g.prod[j] = 1;
      for (guint i = 0; i < g.len[j]; i++)
        g.prod[j] *= e->size[g.ids[j][i]];
    }
  if (y->n == 0)
    return TRUE;
  if (g.prod[EIN_K] == 0)
    {
      memset (y->data, 0, y->n * sizeof (float));
      return TRUE;
    }

  ap = ein_operand (e, A, e->terms[0], &g, EIN_M, EIN_K, &ta, &abuf);
  bp = ein_operand (e, B, e->terms[1], &g, EIN_K, EIN_N, &tb, &bbuf);
  yp = y->data;
  if (!ein_order_is (e, e->out, e->out_len, &g, EIN_BATCH, EIN_M, EIN_N))
    yp = ybuf = g_new (float, y->n);

  nb = g.prod[EIN_BATCH];
  offs = g_new (gint64, 3 * nb);
  for (gsize i = 0; i < nb; i++)
    {
      offs[i] = (gint64) i * g.prod[EIN_M] * g.prod[EIN_K];
      offs[nb + i] = (gint64) i * g.prod[EIN_K] * g.prod[EIN_N];
      offs[2 * nb + i] = (gint64) i * g.prod[EIN_M] * g.prod[EIN_N];
    }
  _som_sgemm_batch (ta, tb, nb, g.prod[EIN_M], g.prod[EIN_N], g.prod[EIN_K], ap, offs, bp, offs + nb, yp,
                    offs + 2 * nb);

  if (ybuf != NULL)
    {
      /* (batch, rows, columns) → the output's order */
      gint64 shape[SOM_ARRAY_MAX_DIMS], st[SOM_ARRAY_MAX_DIMS], s = 1;
      int gs[3] = { EIN_N, EIN_M, EIN_BATCH };
      gint64 lst[EIN_MAX_LABELS] = { 0 };

      for (guint j = 0; j < 3; j++)
        for (int i = (int) g.len[gs[j]] - 1; i >= 0; i--)
          {
            lst[g.ids[gs[j]][i]] = s;
            s *= e->size[g.ids[gs[j]][i]];
          }
      for (guint d = 0; d < e->out_len; d++)
        {
          shape[d] = e->size[e->out[d]];
          st[d] = lst[e->out[d]];
        }
      _som_strided_copy (y->data, ybuf, sizeof (float), e->out_len, shape, st, 0);
    }
  return TRUE;
}

gboolean
_som_einsum_compute (SomOpCtx *c, GError **error)
{
  Einsum e;
  int labels[EIN_MAX_LABELS];
  guint nl = 0;
  gint64 lsize[EIN_MAX_LABELS], idx[EIN_MAX_LABELS] = { 0 };
  gint64 st[9][EIN_MAX_LABELS];
  gboolean used[EIN_MAX_LABELS] = { 0 };
  g_autofree double *acc = NULL;
  gsize total = 1;

  einsum_parse (c, &e, NULL);
  if (einsum_as_matmul (c, &e))
    return TRUE;
  for (guint t = 0; t < e.n_terms; t++)
    for (guint d = 0; d < e.term_len[t]; d++)
      used[e.terms[t][d]] = TRUE;
  /* output labels first (so the output offset runs in order), then the summed ones */
  for (guint d = 0; d < e.out_len; d++)
    labels[nl++] = e.out[d];
  for (int id = 0; id < EIN_MAX_LABELS; id++)
    {
      gboolean in_out = FALSE;
      for (guint d = 0; d < e.out_len; d++)
        if (e.out[d] == id)
          in_out = TRUE;
      if (used[id] && !in_out)
        labels[nl++] = id;
    }
  memset (st, 0, sizeof st);
  for (guint l = 0; l < nl; l++)
    {
      lsize[l] = e.size[labels[l]];
      total *= lsize[l];
    }
  for (guint t = 0; t < e.n_terms; t++)
    {
      gint64 xs[SOM_ARRAY_MAX_DIMS];
      _som_contiguous_strides (c->in[t]->ndim, c->in[t]->shape, xs);
      for (guint d = 0; d < e.term_len[t]; d++)
        for (guint l = 0; l < nl; l++)
          if (labels[l] == e.terms[t][d] && c->in[t]->shape[d] != 1)
            st[t][l] += xs[d];
    }
  {
    gint64 ys[SOM_ARRAY_MAX_DIMS];
    _som_contiguous_strides (e.out_len, c->out[0]->shape, ys);
    for (guint d = 0; d < e.out_len; d++)
      st[8][d] = ys[d];
  }
  acc = g_new0 (double, MAX (c->out[0]->n, 1));
  for (gsize it = 0; it < total; it++)
    {
      double prod = 1;
      gint64 yo = 0;
      for (guint t = 0; t < e.n_terms; t++)
        {
          gint64 off = 0;
          for (guint l = 0; l < nl; l++)
            off += idx[l] * st[t][l];
          prod *= ((const float *) c->in[t]->data)[off];
        }
      for (guint l = 0; l < e.out_len; l++)
        yo += idx[l] * st[8][l];
      acc[yo] += prod;
      _som_index_next (idx, lsize, nl);
    }
  for (gsize i = 0; i < c->out[0]->n; i++)
    ((float *) c->out[0]->data)[i] = (float) acc[i];
  return TRUE;
}

/* ---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss ------------------------------ */

static gboolean
loss_check (SomOpCtx *c, GError **error)
{
  SomTensor *x, *t;

  if (!_som_need_inputs (c, 2, error))
    return FALSE;
  x = c->in[0];
  t = c->in[1];
  if (x->dtype != SOM_DTYPE_F32 || t->dtype != SOM_DTYPE_I64 || x->ndim < 2 || t->ndim != x->ndim - 1
      || t->shape[0] != x->shape[0]
      || (c->n_in > 2 && c->in[2] != NULL && c->in[2]->n != (gsize) x->shape[1]))
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs float N×C×… scores, int64 N×… targets and C weights");
      return FALSE;
    }
  for (guint d = 1; d < t->ndim; d++)
    if (t->shape[d] != x->shape[d + 1])
      {
        _som_op_error (c, error, SOM_ERROR_INVALID, "targets do not match the scores");
        return FALSE;
      }
  return TRUE;
}

gboolean
_som_loss_shape (SomOpCtx *c, GError **error)
{
  const char *reduction = _som_node_attr_string (c->node, "reduction", "mean");

  if (!loss_check (c, error))
    return FALSE;
  if (strcmp (reduction, "none") == 0)
    _som_set_shape (c->out[0], SOM_DTYPE_F32, c->in[1]->ndim, c->in[1]->shape);
  else if (strcmp (reduction, "mean") == 0 || strcmp (reduction, "sum") == 0)
    _som_set_shape (c->out[0], SOM_DTYPE_F32, 0, NULL);
  else
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "unknown reduction '%s'", reduction);
      return FALSE;
    }
  if (c->n_out > 1 && c->out[1] != NULL)
    _som_set_shape (c->out[1], SOM_DTYPE_F32, c->in[0]->ndim, c->in[0]->shape);
  return TRUE;
}

gboolean
_som_loss_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *t = c->in[1], *w = c->n_in > 2 ? c->in[2] : NULL, *y = c->out[0];
  const char *reduction = _som_node_attr_string (c->node, "reduction", "mean");
  const SomAttr *ig = _som_node_attr (c->node, "ignore_index");
  gboolean sce = strcmp (c->node->op, "SoftmaxCrossEntropyLoss") == 0;
  gint64 C = x->shape[1];
  gsize N = x->shape[0], inner = C ? x->n / (N * C) : 0;
  g_autofree float *logp = NULL;
  const float *lp = x->data;
  double total = 0, wsum = 0;

  if (sce)
    {
      /* log-softmax over the class axis */
      float *dst = c->n_out > 1 && c->out[1] != NULL ? c->out[1]->data : (logp = g_new (float, MAX (x->n, 1)));
      for (gsize n = 0; n < N; n++)
        for (gsize i = 0; i < inner; i++)
          {
            const float *src = (const float *) x->data + n * C * inner + i;
            float mx = -INFINITY;
            double sum = 0;
            for (gint64 k = 0; k < C; k++)
              mx = MAX (mx, src[k * inner]);
            for (gint64 k = 0; k < C; k++)
              sum += exp ((double) src[k * inner] - mx);
            for (gint64 k = 0; k < C; k++)
              dst[n * C * inner + i + k * inner] = (float) ((double) src[k * inner] - mx - log (sum));
          }
      lp = dst;
    }
  for (gsize n = 0; n < N; n++)
    for (gsize i = 0; i < inner; i++)
      {
        gint64 k = ((const gint64 *) t->data)[n * inner + i];
        double loss = 0, wk = 0;
        if (!(ig != NULL && k == ig->i))
          {
            if (k < 0 || k >= C)
              {
                _som_op_error (c, error, SOM_ERROR_INVALID, "target %" G_GINT64_FORMAT " is out of range", k);
                return FALSE;
              }
            wk = w != NULL ? ((const float *) w->data)[k] : 1.0;
            loss = -(double) lp[n * C * inner + k * inner + i] * wk;
          }
        if (strcmp (reduction, "none") == 0)
          ((float *) y->data)[n * inner + i] = (float) loss;
        total += loss;
        wsum += wk;
      }
  if (strcmp (reduction, "sum") == 0)
    ((float *) y->data)[0] = (float) total;
  else if (strcmp (reduction, "mean") == 0)
    ((float *) y->data)[0] = (float) (wsum != 0 ? total / wsum : 0.0);
  return TRUE;
}

/* ---- EyeLike, Compress, GatherND ------------------------------------------------------ */

gboolean
_som_eyelike_shape (SomOpCtx *c, GError **error)
{
  SomDType dt;
  const SomAttr *a = _som_node_attr (c->node, "dtype");

  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  dt = c->in[0]->dtype;
  if (a != NULL)
    {
      switch (a->i)
        {
        case 1: dt = SOM_DTYPE_F32; break;
        case 7: case 6: dt = SOM_DTYPE_I64; break;
        case 9: dt = SOM_DTYPE_BOOL; break;
        default:
          _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "dtype %" G_GINT64_FORMAT " is not supported", a->i);
          return FALSE;
        }
    }
  if (c->in[0]->ndim != 2)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs a 2-D input");
      return FALSE;
    }
  _som_set_shape (c->out[0], dt, 2, c->in[0]->shape);
  return TRUE;
}

gboolean
_som_eyelike_compute (SomOpCtx *c, GError **error)
{
  SomTensor *y = c->out[0];
  gint64 k = _som_node_attr_int (c->node, "k", 0), R = y->shape[0], C = y->shape[1];
  gsize es = _som_dtype_size (y->dtype);

  memset (y->data, 0, y->n * es);
  for (gint64 i = 0; i < R; i++)
    {
      gint64 j = i + k;
      if (j < 0 || j >= C)
        continue;
      if (y->dtype == SOM_DTYPE_F32)
        ((float *) y->data)[i * C + j] = 1.0f;
      else if (y->dtype == SOM_DTYPE_I64)
        ((gint64 *) y->data)[i * C + j] = 1;
      else
        ((guint8 *) y->data)[i * C + j] = 1;
    }
  return TRUE;
}

static gboolean
compress_geometry (SomOpCtx *c, gboolean *flat, guint *axis, gsize *kept, GError **error)
{
  SomTensor *x = c->in[0], *cond = c->in[1];
  const SomAttr *a = _som_node_attr (c->node, "axis");
  gsize dim;

  if (cond->dtype != SOM_DTYPE_BOOL || cond->ndim != 1)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "the condition must be a 1-D bool tensor");
      return FALSE;
    }
  *flat = a == NULL;
  if (!*flat && !_som_norm_axis (c, a->i, x->ndim, FALSE, axis, error))
    return FALSE;
  dim = *flat ? x->n : (gsize) x->shape[*axis];
  if (cond->n > dim)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "the condition is longer than the axis");
      return FALSE;
    }
  *kept = 0;
  for (gsize i = 0; i < cond->n; i++)
    *kept += ((const guint8 *) cond->data)[i] != 0;
  return TRUE;
}

gboolean
_som_compress_shape (SomOpCtx *c, GError **error)
{
  gboolean flat;
  guint axis = 0;
  gsize kept;
  gint64 shape[SOM_ARRAY_MAX_DIMS];

  if (!_som_need_inputs (c, 2, error) || !_som_need_values (c, 1, error)
      || !compress_geometry (c, &flat, &axis, &kept, error))
    return FALSE;
  if (flat)
    {
      shape[0] = kept;
      _som_set_shape (c->out[0], c->in[0]->dtype, 1, shape);
      return TRUE;
    }
  memcpy (shape, c->in[0]->shape, sizeof shape);
  shape[axis] = kept;
  _som_set_shape (c->out[0], c->in[0]->dtype, c->in[0]->ndim, shape);
  return TRUE;
}

gboolean
_som_compress_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *cond = c->in[1], *y = c->out[0];
  gboolean flat;
  guint axis = 0;
  gsize kept, outer = 1, inner = 1, dim, es = _som_dtype_size (x->dtype);
  guint8 *o = y->data;

  compress_geometry (c, &flat, &axis, &kept, NULL);
  if (flat)
    dim = x->n;
  else
    {
      for (guint d = 0; d < axis; d++)
        outer *= x->shape[d];
      dim = x->shape[axis];
      for (guint d = axis + 1; d < x->ndim; d++)
        inner *= x->shape[d];
    }
  for (gsize a = 0; a < outer; a++)
    for (gsize i = 0; i < cond->n; i++)
      if (((const guint8 *) cond->data)[i])
        {
          memcpy (o, (const guint8 *) x->data + (a * dim + i) * inner * es, inner * es);
          o += inner * es;
        }
  return TRUE;
}

gboolean
_som_gathernd_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x, *ind;
  gint64 b = _som_node_attr_int (c->node, "batch_dims", 0), k, shape[SOM_ARRAY_MAX_DIMS];
  guint nd = 0;

  if (!_som_need_inputs (c, 2, error))
    return FALSE;
  x = c->in[0];
  ind = c->in[1];
  k = ind->ndim ? ind->shape[ind->ndim - 1] : 0;
  if (ind->dtype != SOM_DTYPE_I64 || ind->ndim < 1 || b < 0 || b >= (gint64) MIN (x->ndim, ind->ndim)
      || k < 1 || b + k > (gint64) x->ndim || ind->ndim - 1 + x->ndim - b - k > SOM_ARRAY_MAX_DIMS)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "indices do not fit the data");
      return FALSE;
    }
  for (gint64 d = 0; d < b; d++)
    if (x->shape[d] != ind->shape[d])
      {
        _som_op_error (c, error, SOM_ERROR_INVALID, "batch dimensions differ");
        return FALSE;
      }
  for (guint d = 0; d + 1 < ind->ndim; d++)
    shape[nd++] = ind->shape[d];
  for (guint d = b + k; d < x->ndim; d++)
    shape[nd++] = x->shape[d];
  _som_set_shape (c->out[0], x->dtype, nd, shape);
  return TRUE;
}

gboolean
_som_gathernd_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *ind = c->in[1], *y = c->out[0];
  gint64 b = _som_node_attr_int (c->node, "batch_dims", 0), k = ind->shape[ind->ndim - 1];
  gint64 xs[SOM_ARRAY_MAX_DIMS];
  gsize es = _som_dtype_size (x->dtype), slice = 1, batch = 1, per_batch, n_tuples;
  guint8 *o = y->data;

  _som_contiguous_strides (x->ndim, x->shape, xs);
  for (guint d = b + k; d < x->ndim; d++)
    slice *= x->shape[d];
  for (gint64 d = 0; d < b; d++)
    batch *= x->shape[d];
  n_tuples = ind->n / k;
  per_batch = batch ? n_tuples / batch : 0;
  for (gsize t = 0; t < n_tuples; t++)
    {
      gsize bi = per_batch ? t / per_batch : 0;
      gint64 off = b > 0 ? (gint64) bi * xs[b - 1] : 0;
      for (gint64 j = 0; j < k; j++)
        {
          gint64 v = ((const gint64 *) ind->data)[t * k + j], dim = x->shape[b + j];
          if (v < -dim || v >= dim)
            {
              _som_op_error (c, error, SOM_ERROR_INVALID, "index %" G_GINT64_FORMAT " is out of range", v);
              return FALSE;
            }
          off += (v < 0 ? v + dim : v) * xs[b + j];
        }
      memcpy (o, (const guint8 *) x->data + off * es, slice * es);
      o += slice * es;
    }
  return TRUE;
}
