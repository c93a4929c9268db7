/* som-ops-misc.c: small operators of ONNX's set that real exports and the
 * backend tests use: LRN, MeanVarianceNormalization, ReverseSequence, Det and
 * the signal windows (Hann, Hamming, Blackman), NonZero and MaxUnpool
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "som-ops-private.h"

static gboolean
need_float (SomOpCtx *c, guint i, GError **error)
{
  if (c->in[i]->dtype != SOM_DTYPE_F32)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "input %u must be float", i);
      return FALSE;
    }
  return TRUE;
}

/* ---- LRN: y = x / (bias + alpha/size · Σ x²)^beta over neighbouring channels ---- */

gboolean
_som_lrn_shape (SomOpCtx *c, GError **error)
{
  if (!_som_need_inputs (c, 1, error) || !need_float (c, 0, error))
    return FALSE;
  if (c->in[0]->ndim < 2 || _som_node_attr_int (c->node, "size", 0) <= 0)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs rank ≥ 2 and a positive size");
      return FALSE;
    }
  _som_set_shape (c->out[0], SOM_DTYPE_F32, c->in[0]->ndim, c->in[0]->shape);
  return TRUE;
}

gboolean
_som_lrn_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  const float *xd = x->data;
  float *yd = y->data;
  gint64 size = _som_node_attr_int (c->node, "size", 1), C = x->shape[1], N = x->shape[0], inner = 1;
  double alpha = _som_node_attr_float (c->node, "alpha", 1e-4f), beta = _som_node_attr_float (c->node, "beta", 0.75f);
  double bias = _som_node_attr_float (c->node, "bias", 1.0f);
  gint64 lo = (size - 1) / 2, hi = (size - 1) - lo;

  for (guint d = 2; d < x->ndim; d++)
    inner *= x->shape[d];
  for (gint64 n = 0; n < N; n++)
    for (gint64 ch = 0; ch < C; ch++)
      for (gint64 i = 0; i < inner; i++)
        {
          double sq = 0;
          for (gint64 k = MAX (0, ch - lo); k <= MIN (C - 1, ch + hi); k++)
            {
              double v = xd[(n * C + k) * inner + i];
              sq += v * v;
            }
          yd[(n * C + ch) * inner + i] = (float) (xd[(n * C + ch) * inner + i] / pow (bias + alpha / size * sq, beta));
        }
  return TRUE;
}

/* ---- MeanVarianceNormalization: (x − E[x]) / (sqrt(E[x²] − E[x]²) + 1e-9) over axes ---- */

gboolean
_som_mvn_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  static const gint64 def_axes[] = { 0, 2, 3 };
  guint n_axes;
  const gint64 *axes = _som_node_attr_ints (c->node, "axes", &n_axes);
  gboolean red[SOM_ARRAY_MAX_DIMS] = { FALSE };
  gint64 strides[SOM_ARRAY_MAX_DIMS];
  gsize groups = 1, count = 1;
  g_autofree double *sum = NULL, *sum2 = NULL;

  if (!need_float (c, 0, error))
    return FALSE;
  if (axes == NULL)
    {
      axes = def_axes;
      n_axes = 3;
    }
  for (guint i = 0; i < n_axes; i++)
    {
      guint a;
      if (!_som_norm_axis (c, axes[i], x->ndim, FALSE, &a, error))
        return FALSE;
      red[a] = TRUE;
    }
  _som_contiguous_strides (x->ndim, x->shape, strides);
  for (guint d = 0; d < x->ndim; d++)
    if (red[d])
      count *= x->shape[d];
    else
      groups *= x->shape[d];
  sum = g_new0 (double, MAX (groups, 1));
  sum2 = g_new0 (double, MAX (groups, 1));
  /* the group of element i: its index over the kept dimensions */
#define GROUP_OF(i, g)                                             \
  do {                                                             \
    gsize r_ = (i);                                                \
    (g) = 0;                                                       \
    for (guint d_ = 0; d_ < x->ndim; d_++)                         \
      {                                                            \
        gsize q_ = r_ / strides[d_];                               \
        r_ %= strides[d_];                                         \
        if (!red[d_])                                              \
          (g) = (g) * x->shape[d_] + q_;                           \
      }                                                            \
  } while (0)
  for (gsize i = 0; i < x->n; i++)
    {
      gsize g;
      double v = ((const float *) x->data)[i];
      GROUP_OF (i, g);
      sum[g] += v;
      sum2[g] += v * v;
    }
  for (gsize i = 0; i < x->n; i++)
    {
      gsize g;
      double mean, var;
      GROUP_OF (i, g);
      mean = sum[g] / count;
      var = MAX (0.0, sum2[g] / count - mean * mean);
      ((float *) y->data)[i] = (float) ((((const float *) x->data)[i] - mean) / (sqrt (var) + 1e-9));
    }
#undef GROUP_OF
  return TRUE;
}

/* ---- ReverseSequence ---------------------------------------------------------- */

gboolean
_som_reverse_sequence_shape (SomOpCtx *c, GError **error)
{
  gint64 ba = _som_node_attr_int (c->node, "batch_axis", 1), ta = _som_node_attr_int (c->node, "time_axis", 0);

  if (!_som_need_inputs (c, 2, error))
    return FALSE;
  if (c->in[0]->ndim < 2 || (ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta
      || c->in[1]->dtype != SOM_DTYPE_I64 || c->in[1]->n != (gsize) c->in[0]->shape[ba])
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs rank ≥ 2, batch_axis and time_axis 0 and 1, and one "
                     "sequence length per batch entry");
      return FALSE;
    }
  _som_set_shape (c->out[0], c->in[0]->dtype, c->in[0]->ndim, c->in[0]->shape);
  return TRUE;
}

gboolean
_som_reverse_sequence_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  gint64 ba = _som_node_attr_int (c->node, "batch_axis", 1), ta = 1 - ba;
  gint64 B = x->shape[ba], T = x->shape[ta], inner = 1;
  gsize es = _som_dtype_size (x->dtype);

  for (guint d = 2; d < x->ndim; d++)
    inner *= x->shape[d];
  for (gint64 b = 0; b < B; b++)
    {
      gint64 len = ((const gint64 *) c->in[1]->data)[b];
      if (len < 0 || len > T)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "sequence length %" G_GINT64_FORMAT " is outside 0…%"
                         G_GINT64_FORMAT, len, T);
          return FALSE;
        }
      for (gint64 t = 0; t < T; t++)
        {
          gint64 src_t = t < len ? len - 1 - t : t;
          gint64 dst = ba == 0 ? b * T + t : t * B + b, src = ba == 0 ? b * T + src_t : src_t * B + b;
          memcpy ((guint8 *) y->data + dst * inner * es, (const guint8 *) x->data + src * inner * es, inner * es);
        }
    }
  return TRUE;
}

/* ---- Det: LU with partial pivoting, in double ------------------------------------ */

gboolean
_som_det_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x;

  if (!_som_need_inputs (c, 1, error) || !need_float (c, 0, error))
    return FALSE;
  x = c->in[0];
  if (x->ndim < 2 || x->shape[x->ndim - 1] != x->shape[x->ndim - 2])
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs square matrices in the last two dimensions");
      return FALSE;
    }
  _som_set_shape (c->out[0], SOM_DTYPE_F32, x->ndim - 2, x->shape);
  return TRUE;
}

double
_som_det_lu (double *a, gint64 M)
{
  double det = 1;

  for (gint64 k = 0; k < M && det != 0; k++)
    {
      gint64 p = k;
      for (gint64 i = k + 1; i < M; i++)
        if (fabs (a[i * M + k]) > fabs (a[p * M + k]))
          p = i;
      if (a[p * M + k] == 0)
        return 0;
      if (p != k)
        {
          for (gint64 j = 0; j < M; j++)
            {
              double t = a[k * M + j];
              a[k * M + j] = a[p * M + j];
              a[p * M + j] = t;
            }
          det = -det;
        }
      det *= a[k * M + k];
      for (gint64 i = k + 1; i < M; i++)
        {
          double f = a[i * M + k] / a[k * M + k];
          for (gint64 j = k; j < M; j++)
            a[i * M + j] -= f * a[k * M + j];
        }
    }
  return det;
}

gboolean
_som_det_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0];
  gint64 M = x->shape[x->ndim - 1];
  gsize count = M > 0 ? x->n / (M * M) : 0;
  g_autofree double *a = g_new (double, MAX (M * M, 1));

  for (gsize m = 0; m < count; m++)
    {
      for (gint64 i = 0; i < M * M; i++)
        a[i] = ((const float *) x->data)[m * M * M + i];
      ((float *) c->out[0]->data)[m] = (float) _som_det_lu (a, M);
    }
  return TRUE;
}

/* ---- HannWindow, HammingWindow, BlackmanWindow ------------------------------------ */

gboolean
_som_window_fn_shape (SomOpCtx *c, GError **error)
{
  gint64 size, dt = _som_node_attr_int (c->node, "output_datatype", 1);

  if (!_som_need_inputs (c, 1, error) || !_som_need_values (c, 0, error))
    return FALSE;
  if (dt != 1)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "output_datatype %" G_GINT64_FORMAT " (Somscope computes in "
                     "float32)", dt);
      return FALSE;
    }
  size = _som_tensor_get_i64 (c->in[0], 0);
  if (size < 0 || size > (1 << 24))
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "window size %" G_GINT64_FORMAT " is out of range", size);
      return FALSE;
    }
  _som_set_shape (c->out[0], SOM_DTYPE_F32, 1, &size);
  return TRUE;
}

gboolean
_som_window_fn_compute (SomOpCtx *c, GError **error)
{
  gint64 N = c->out[0]->shape[0];
  gboolean periodic = _som_node_attr_int (c->node, "periodic", 1) != 0;
  double D = periodic ? N : N - 1;
  const char *op = c->node->op;

  for (gint64 n = 0; n < N; n++)
    {
      double t = D > 0 ? 2 * G_PI * n / D : 0, v;
      if (op[0] == 'H' && op[2] == 'n')          /* Hann */
        v = 0.5 - 0.5 * cos (t);
      else if (op[0] == 'H')                     /* Hamming */
        v = 25.0 / 46.0 - 21.0 / 46.0 * cos (t);
      else                                       /* Blackman */
        v = 0.42 - 0.5 * cos (t) + 0.08 * cos (2 * t);
      ((float *) c->out[0]->data)[n] = (float) v;
    }
  return TRUE;
}

/* ---- NonZero: the indices of the non-zero elements (rank × count, int64) ---------- */

static gsize
count_nonzero (const SomTensor *x)
{
  gsize nnz = 0;

  for (gsize i = 0; i < x->n; i++)
    nnz += _som_tensor_get_f64 (x, i) != 0;
  return nnz;
}

gboolean
_som_nonzero_shape (SomOpCtx *c, GError **error)
{
  gint64 shape[2];

  if (!_som_need_inputs (c, 1, error) || !_som_need_values (c, 0, error))
    return FALSE;
  shape[0] = c->in[0]->ndim;
  shape[1] = count_nonzero (c->in[0]);
  _som_set_shape (c->out[0], SOM_DTYPE_I64, 2, shape);
  return TRUE;
}

gboolean
_som_nonzero_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0];
  gint64 *y = c->out[0]->data, nnz = c->out[0]->shape[1], k = 0;

  for (gsize i = 0; i < x->n; i++)
    {
      gsize r = i;
      if (_som_tensor_get_f64 (x, i) == 0)
        continue;
      for (int d = (int) x->ndim - 1; d >= 0; d--)
        {
          y[d * nnz + k] = x->shape[d] ? (gint64) (r % (gsize) x->shape[d]) : 0;
          r = x->shape[d] ? r / (gsize) x->shape[d] : 0;
        }
      k++;
    }
  return TRUE;
}

/* ---- MaxUnpool: values back to the positions MaxPool's Indices name ------------ */

gboolean
_som_maxunpool_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x, *ind;
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  guint nk, ns, np;
  const gint64 *k = _som_node_attr_ints (c->node, "kernel_shape", &nk);
  const gint64 *st = _som_node_attr_ints (c->node, "strides", &ns);
  const gint64 *pads = _som_node_attr_ints (c->node, "pads", &np);

  if (!_som_need_inputs (c, 2, error) || !need_float (c, 0, error))
    return FALSE;
  x = c->in[0];
  ind = c->in[1];
  if (x->ndim < 3 || ind->dtype != SOM_DTYPE_I64 || ind->n != x->n || k == NULL || nk != x->ndim - 2
      || (st != NULL && ns != nk) || (pads != NULL && np != 2 * nk))
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs N×C×… values, indices of the same size, and kernel_shape, "
                     "strides and pads for every spatial dimension");
      return FALSE;
    }
  if (c->n_in > 2 && c->in[2] != NULL)
    {
      if (!_som_need_values (c, 2, error))
        return FALSE;
      if (c->in[2]->n != x->ndim)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "output_shape has %" G_GSIZE_FORMAT " entries for rank %u",
                         c->in[2]->n, x->ndim);
          return FALSE;
        }
      for (guint d = 0; d < x->ndim; d++)
        shape[d] = _som_tensor_get_i64 (c->in[2], d);
    }
  else
    {
      shape[0] = x->shape[0];
      shape[1] = x->shape[1];
      for (guint d = 0; d < nk; d++)
        shape[2 + d] = (x->shape[2 + d] - 1) * (st ? st[d] : 1) + k[d] - (pads ? pads[d] + pads[d + nk] : 0);
    }
  for (guint d = 0; d < x->ndim; d++)
    if (shape[d] < 0 || (d < 2 && shape[d] != x->shape[d]))
      {
        _som_op_error (c, error, SOM_ERROR_INVALID, "invalid output shape");
        return FALSE;
      }
  _som_set_shape (c->out[0], SOM_DTYPE_F32, x->ndim, shape);
  return TRUE;
}

/* The indices are flat positions in the default output shape (as MaxPool
 * computed them); with an explicit output_shape, each goes to the same
 * coordinates there. */
gboolean
_som_maxunpool_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  const gint64 *ind = c->in[1]->data;
  guint nk, ns, np, nd = x->ndim;
  const gint64 *k = _som_node_attr_ints (c->node, "kernel_shape", &nk);
  const gint64 *st = _som_node_attr_ints (c->node, "strides", &ns);
  const gint64 *pads = _som_node_attr_ints (c->node, "pads", &np);
  gint64 def[SOM_ARRAY_MAX_DIMS];
  gsize def_n = 1;

  def[0] = x->shape[0];
  def[1] = x->shape[1];
  for (guint d = 0; d < nk; d++)
    def[2 + d] = (x->shape[2 + d] - 1) * (st ? st[d] : 1) + k[d] - (pads ? pads[d] + pads[d + nk] : 0);
  for (guint d = 0; d < nd; d++)
    def_n *= MAX (def[d], 0);
  memset (y->data, 0, y->n * sizeof (float));
  for (gsize i = 0; i < x->n; i++)
    {
      gint64 r = ind[i], pos = 0, mul = 1;
      gboolean inside = r >= 0 && (gsize) r < def_n;
      for (int d = (int) nd - 1; d >= 0 && inside; d--)
        {
          gint64 q = r % def[d];
          r /= def[d];
          if (q >= y->shape[d])
            inside = FALSE;
          pos += q * mul;
          mul *= y->shape[d];
        }
      if (!inside)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "index %" G_GINT64_FORMAT " is outside the output", ind[i]);
          return FALSE;
        }
      ((float *) y->data)[pos] = ((const float *) x->data)[i];
    }
  return TRUE;
}
