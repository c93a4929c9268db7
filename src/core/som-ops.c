/* som-ops.c: elementwise, activation and shape operators, and the op table
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

/* The elementwise loops are the hot path next to sgemm: let GCC vectorize
 * them (the build is -O2, which does not). */
#pragma GCC optimize ("tree-vectorize")
/* Separate multiplies and adds: the AVX clones below (target_clones) would
 * otherwise contract them into FMAs and round differently from the
 * baseline's code, so that results would depend on the machine. */
#pragma GCC optimize ("fp-contract=off")

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "som-ops-private.h"

/* ---- helpers ------------------------------------------------------------------ */

void
_som_set_shape (SomTensor *t, SomDType dtype, guint ndim, const gint64 *shape)
{
  gboolean overflow = FALSE;

  t->dtype = dtype;
  t->ndim = ndim;
  t->n = 1;
  for (guint i = 0; i < ndim; i++)
    {
      t->shape[i] = shape[i];
      /* hostile shapes saturate; the allocation then refuses them */
      overflow |= __builtin_mul_overflow (t->n, (gsize) MAX (shape[i], 0), &t->n);
    }
  if (overflow)
    t->n = G_MAXSIZE;
}

gboolean
_som_need_inputs (SomOpCtx *c, guint n_required, GError **error)
{
  for (guint i = 0; i < n_required; i++)
    if (i >= c->n_in || c->in[i] == NULL)
      {
        _som_op_error (c, error, SOM_ERROR_CORRUPT, "input %u is missing", i);
        return FALSE;
      }
  return TRUE;
}

gboolean
_som_need_values (SomOpCtx *c, guint i, GError **error)
{
  if (i < c->n_in && c->in[i] != NULL && c->in[i]->data == NULL)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "input %u must be known when the model is loaded", i);
      return FALSE;
    }
  return TRUE;
}

gboolean
_som_norm_axis (SomOpCtx *c, gint64 axis, guint ndim, gboolean allow_end, guint *out, GError **error)
{
  gint64 r = (gint64) ndim;
  if (axis < -r || axis > r || (axis == r && !allow_end))
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "axis %" G_GINT64_FORMAT " is out of range for rank %u", axis, ndim);
      return FALSE;
    }
  *out = (guint) (axis < 0 ? axis + r : axis);
  return TRUE;
}

/* Copies out (shape @shape, @ndim) from @src with per-dimension element strides. */
void
_som_strided_copy (gpointer dst, gconstpointer src, gsize esize, guint ndim, const gint64 *shape,
                   const gint64 *strides, gint64 offset)
{
  gint64 idx[SOM_ARRAY_MAX_DIMS] = { 0 };
  gsize total = 1, inner, rows;
  const guint8 *s = src;
  guint8 *d = dst;
  gint64 is;

  for (guint i = 0; i < ndim; i++)
    total *= (gsize) shape[i];
  if (total == 0)
    return;
  if (ndim == 0)
    {
      memcpy (d, s + offset * esize, esize);
      return;
    }
  inner = shape[ndim - 1];
  is = strides[ndim - 1];
  rows = total / inner;
  for (gsize r = 0; r < rows; r++)
    {
      gint64 off = offset;
      for (guint i = 0; i + 1 < ndim; i++)
        off += idx[i] * strides[i];
      if (is == 1)
        memcpy (d, s + off * esize, inner * esize);
      else if (esize == 4)
        {
          const float *sf = (const float *) s + off;
          float *df = (float *) d;
          for (gsize k = 0; k < inner; k++)
            df[k] = sf[(gint64) k * is];
        }
      else
        for (gsize k = 0; k < inner; k++)
          memcpy (d + k * esize, s + (off + (gint64) k * is) * esize, esize);
      d += inner * esize;
      _som_index_next (idx, shape, ndim - 1);
    }
}

void
_som_contiguous_strides (guint ndim, const gint64 *shape, gint64 *strides)
{
  gint64 s = 1;
  for (int i = (int) ndim - 1; i >= 0; i--)
    {
      strides[i] = s;
      s *= shape[i];
    }
}

/* ---- broadcasting ------------------------------------------------------------- */

gboolean
_som_broadcast_shape (SomOpCtx *c, SomTensor **ts, guint n, guint *ndim, gint64 *shape, GError **error)
{
  guint r = 0;

  for (guint i = 0; i < n; i++)
    if (ts[i] != NULL)
      r = MAX (r, ts[i]->ndim);
  for (guint d = 0; d < r; d++)
    shape[d] = 1;
  for (guint i = 0; i < n; i++)
    {
      if (ts[i] == NULL)
        continue;
      for (guint d = 0; d < ts[i]->ndim; d++)
        {
          guint od = r - ts[i]->ndim + d;
          gint64 v = ts[i]->shape[d];
          if (v == shape[od] || v == 1)
            continue;
          if (shape[od] == 1)
            shape[od] = v;
          else
            {
              g_autofree char *a = _som_shape_string (ts[0]->ndim, ts[0]->shape);
              g_autofree char *b = _som_shape_string (ts[i]->ndim, ts[i]->shape);
              _som_op_error (c, error, SOM_ERROR_INVALID, "shapes %s and %s do not broadcast", a, b);
              return FALSE;
            }
        }
    }
  *ndim = r;
  return TRUE;
}

/* Strides of @t broadcast to (ndim, shape) */
void
_som_broadcast_strides (const SomTensor *t, guint ndim, const gint64 *shape, gint64 *strides)
{
  gint64 s = 1;
  for (int d = (int) ndim - 1; d >= 0; d--)
    {
      int td = d - (int) (ndim - t->ndim);
      if (td < 0 || t->shape[td] == 1)
        strides[d] = 0;
      else
        {
          strides[d] = s;
          s *= t->shape[td];
        }
    }
}

/* Iterates the output in rows; calls @row for each contiguous output run
 * with element offsets into up to 3 inputs and their inner strides (0/1).
 * Large outputs are split over the op pool (runs cut at the split points):
 * every element is computed alone, so the split does not change a result. */
typedef void (*RowFunc) (gsize n, gsize o, const gint64 *off, const gint64 *inner, gpointer data);

typedef struct
{
  guint    n_in, cn;
  gint64   cshape[SOM_ARRAY_MAX_DIMS], cst[3][SOM_ARRAY_MAX_DIMS], innerst[3];
  gsize    inner;
  RowFunc  row;
  gpointer data;
} Rows;

static void
rows_range (gsize begin, gsize end, gpointer data)
{
  Rows *rw = data;
  gint64 idx[SOM_ARRAY_MAX_DIMS] = { 0 };
  gsize r = begin / rw->inner, k = begin % rw->inner, o = begin;

  for (int d = (int) rw->cn - 2; d >= 0; d--)
    {
      idx[d] = (gint64) (r % (gsize) rw->cshape[d]);
      r /= (gsize) rw->cshape[d];
    }
  while (o < end)
    {
      gint64 off[3] = { 0, 0, 0 };
      gsize n = MIN (rw->inner - k, end - o);
      for (guint i = 0; i < rw->n_in; i++)
        {
          for (guint d = 0; d + 1 < rw->cn; d++)
            off[i] += idx[d] * rw->cst[i][d];
          off[i] += (gint64) k * rw->innerst[i];
        }
      rw->row (n, o, off, rw->innerst, rw->data);
      o += n;
      k = 0;
      _som_index_next (idx, rw->cshape, rw->cn - 1);
    }
}

static void
broadcast_rows (guint n_in, SomTensor **in, guint ndim, const gint64 *shape, RowFunc row, gpointer data)
{
  gint64 st[3][SOM_ARRAY_MAX_DIMS];
  Rows rw = { n_in, 0, { 0 }, { { 0 } }, { 0 }, 0, row, data };
  gsize total = 1;

  for (guint i = 0; i < n_in; i++)
    _som_broadcast_strides (in[i], ndim, shape, st[i]);
  /* collapse dims with the same broadcast pattern */
  for (guint d = 0; d < ndim; d++)
    {
      gboolean merge = rw.cn > 0;
      if (shape[d] == 1)
        continue;
      for (guint i = 0; i < n_in && merge; i++)
        if ((st[i][d] == 0) != (rw.cst[i][rw.cn - 1] == 0))
          merge = FALSE;
      if (merge)
        {
          for (guint i = 0; i < n_in; i++)
            if (rw.cst[i][rw.cn - 1] != 0)
              rw.cst[i][rw.cn - 1] = st[i][d];
          rw.cshape[rw.cn - 1] *= shape[d];
        }
      else
        {
          rw.cshape[rw.cn] = shape[d];
          for (guint i = 0; i < n_in; i++)
            rw.cst[i][rw.cn] = st[i][d];
          rw.cn++;
        }
      total *= shape[d];
    }
  for (guint d = 0; d < ndim; d++)
    if (shape[d] == 0)
      return;
  if (rw.cn == 0)
    {
      gint64 off[3] = { 0, 0, 0 }, is[3] = { 0, 0, 0 };
      row (1, 0, off, is, data);
      return;
    }
  rw.inner = rw.cshape[rw.cn - 1];
  for (guint i = 0; i < n_in; i++)
    rw.innerst[i] = rw.cst[i][rw.cn - 1];
  _som_parallel_for (total, 1 << 15, rows_range, &rw);
}

/* ---- binary elementwise ------------------------------------------------------- */

typedef enum
{
  BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_POW, BIN_MAX, BIN_MIN, BIN_MOD, BIN_FMOD,
  BIN_EQ, BIN_LT, BIN_GT, BIN_LE, BIN_GE, BIN_AND, BIN_OR, BIN_XOR, BIN_PRELU,
} BinOp;

typedef struct
{
  BinOp     op;
  SomTensor *a, *b, *o;
} BinData;

static inline gint64
i64_div (gint64 x, gint64 y)
{
  /* integer Div truncates toward zero, as in C */
  return y != 0 ? x / y : 0;
}

static inline gint64
i64_mod (gint64 x, gint64 y)
{
  gint64 r;
  if (y == 0)
    return 0;
  r = x % y;
  if (r != 0 && ((r < 0) != (y < 0)))
    r += y;
  return r;
}

/* A comparison from its three outcomes; NaN, which compares false to
 * everything, makes all three false and so every comparison false. */
static inline guint8
compare_outcome (BinOp op, gboolean lt, gboolean eq, gboolean gt)
{
  switch (op)
    {
    case BIN_EQ: return eq;
    case BIN_LT: return lt;
    case BIN_GT: return gt;
    case BIN_LE: return lt || eq;
    case BIN_GE: return gt || eq;
    default: return 0;
    }
}

#define F32_EXPR(OP, x, y) \
  ((OP) == BIN_ADD ? (x) + (y) : (OP) == BIN_SUB ? (x) - (y) : (OP) == BIN_MUL ? (x) * (y) : (x) / (y))

#define BIN_ROW_F32(OPC)                                                              \
  do {                                                                                \
    if (sa == 1 && sb == 1)                                                           \
      for (gsize i = 0; i < n; i++) o[i] = F32_EXPR (OPC, a[i], b[i]);                \
    else if (sa == 1)                                                                 \
      { float y = b[0]; for (gsize i = 0; i < n; i++) o[i] = F32_EXPR (OPC, a[i], y); } \
    else if (sb == 1)                                                                 \
      { float x = a[0]; for (gsize i = 0; i < n; i++) o[i] = F32_EXPR (OPC, x, b[i]); } \
    else                                                                              \
      { float v = F32_EXPR (OPC, a[0], b[0]); for (gsize i = 0; i < n; i++) o[i] = v; } \
  } while (0)

static void
bin_row (gsize n, gsize oo, const gint64 *off, const gint64 *is, gpointer data)
{
  BinData *bd = data;
  gint64 sa = is[0], sb = is[1];

  if (bd->a->dtype == SOM_DTYPE_F32)
    {
      const float *a = (const float *) bd->a->data + off[0], *b = (const float *) bd->b->data + off[1];
      if (bd->o->dtype == SOM_DTYPE_BOOL)
        {
          guint8 *o = (guint8 *) bd->o->data + oo;
          for (gsize i = 0; i < n; i++)
            {
              float x = a[i * sa], y = b[i * sb];
              o[i] = compare_outcome (bd->op, x < y, x == y, x > y);
            }
          return;
        }
      {
        float *o = (float *) bd->o->data + oo;
        switch (bd->op)
          {
          case BIN_ADD: BIN_ROW_F32 (BIN_ADD); return;
          case BIN_SUB: BIN_ROW_F32 (BIN_SUB); return;
          case BIN_MUL: BIN_ROW_F32 (BIN_MUL); return;
          case BIN_DIV: BIN_ROW_F32 (BIN_DIV); return;
          case BIN_POW:
            /* x² (the variance in LayerNorm exported as primitives): one
             * correctly rounded multiply, as PyTorch computes it, not powf */
            if (sb == 0 && b[0] == 2.0f)
              {
                for (gsize i = 0; i < n; i++)
                  o[i] = a[i * sa] * a[i * sa];
                return;
              }
            G_GNUC_FALLTHROUGH;
          default:
            for (gsize i = 0; i < n; i++)
              {
                float x = a[i * sa], y = b[i * sb];
                switch (bd->op)
                  {
                  case BIN_POW: o[i] = powf (x, y); break;
                  case BIN_MAX: o[i] = isnan (x) || isnan (y) ? NAN : fmaxf (x, y); break;
                  case BIN_MIN: o[i] = isnan (x) || isnan (y) ? NAN : fminf (x, y); break;
                  case BIN_FMOD: o[i] = fmodf (x, y); break;
                  case BIN_MOD: { float r = fmodf (x, y); if (r != 0 && ((r < 0) != (y < 0))) r += y; o[i] = r; } break;
                  case BIN_PRELU: o[i] = x < 0 ? x * y : x; break;
                  default: o[i] = 0;
                  }
              }
          }
      }
    }
  else if (bd->a->dtype == SOM_DTYPE_I64)
    {
      const gint64 *a = (const gint64 *) bd->a->data + off[0], *b = (const gint64 *) bd->b->data + off[1];
      if (bd->o->dtype == SOM_DTYPE_BOOL)
        {
          guint8 *o = (guint8 *) bd->o->data + oo;
          for (gsize i = 0; i < n; i++)
            {
              gint64 x = a[i * sa], y = b[i * sb];
              o[i] = compare_outcome (bd->op, x < y, x == y, x > y);
            }
          return;
        }
      {
        gint64 *o = (gint64 *) bd->o->data + oo;
        for (gsize i = 0; i < n; i++)
          {
            gint64 x = a[i * sa], y = b[i * sb];
            switch (bd->op)
              {
              case BIN_ADD: o[i] = x + y; break;
              case BIN_SUB: o[i] = x - y; break;
              case BIN_MUL: o[i] = x * y; break;
              case BIN_DIV: o[i] = i64_div (x, y); break;
              case BIN_MAX: o[i] = MAX (x, y); break;
              case BIN_MIN: o[i] = MIN (x, y); break;
              case BIN_MOD: o[i] = i64_mod (x, y); break;
              case BIN_FMOD: o[i] = y != 0 ? x % y : 0; break;
              case BIN_POW: o[i] = (gint64) pow ((double) x, (double) y); break;
              default: o[i] = 0;
              }
          }
      }
    }
  else
    {
      const guint8 *a = (const guint8 *) bd->a->data + off[0], *b = (const guint8 *) bd->b->data + off[1];
      guint8 *o = (guint8 *) bd->o->data + oo;
      for (gsize i = 0; i < n; i++)
        {
          guint8 x = a[i * sa], y = b[i * sb];
          switch (bd->op)
            {
            case BIN_AND: o[i] = x && y; break;
            case BIN_OR: o[i] = x || y; break;
            case BIN_XOR: o[i] = (!x) != (!y); break;
            case BIN_EQ: o[i] = x == y; break;
            default: o[i] = 0;
            }
        }
    }
}

static BinOp
bin_op_of (SomOpCtx *c)
{
  const char *op = c->node->op;
  static const struct { const char *name; BinOp op; } map[] = {
    { "Add", BIN_ADD }, { "Sub", BIN_SUB }, { "Mul", BIN_MUL }, { "Div", BIN_DIV }, { "Pow", BIN_POW },
    { "Max", BIN_MAX }, { "Min", BIN_MIN }, { "Sum", BIN_ADD }, { "Mean", BIN_ADD }, { "Mod", BIN_MOD },
    { "Equal", BIN_EQ }, { "Less", BIN_LT }, { "Greater", BIN_GT }, { "LessOrEqual", BIN_LE },
    { "GreaterOrEqual", BIN_GE }, { "And", BIN_AND }, { "Or", BIN_OR }, { "Xor", BIN_XOR },
    { "PRelu", BIN_PRELU },
  };
  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (strcmp (op, map[i].name) == 0)
      {
        if (map[i].op == BIN_MOD && _som_node_attr_int (c->node, "fmod", 0))
          return BIN_FMOD;
        return map[i].op;
      }
  return BIN_ADD;
}

/* PRelu before opset 7 applies a 1-D slope per channel (axis 1), not by
 * numpy broadcasting: give the slope the shape [C, 1, …, 1]. */
static SomTensor *
legacy_prelu_slope (SomOpCtx *c)
{
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  SomTensor *x = c->in[0], *s = c->n_in > 1 ? c->in[1] : NULL, *v;

  if (strcmp (c->node->op, "PRelu") != 0 || c->node->opset >= 7 || s == NULL || s->ndim != 1 || x->ndim < 2
      || s->shape[0] != x->shape[1] || s->shape[0] == 1)
    return NULL;
  shape[0] = s->shape[0];
  for (guint d = 1; d + 1 < x->ndim; d++)
    shape[d] = 1;
  if (s->data != NULL)
    return _som_tensor_view (s, x->ndim - 1, shape);
  v = _som_tensor_new_shape (s->dtype, x->ndim - 1, shape);
  return v;
}

/* Runs @func (a binary op's shape or compute) with the legacy PRelu slope,
 * if any, in place of input 1. */
static gboolean
with_prelu_slope (SomOpCtx *c, gboolean (*func) (SomOpCtx *c, GError **error), GError **error)
{
  g_autoptr(SomTensor) slope = legacy_prelu_slope (c);
  SomTensor *saved = NULL;
  gboolean ok;

  if (slope != NULL)
    {
      saved = c->in[1];
      c->in[1] = slope;
    }
  ok = func (c, error);
  if (saved != NULL)
    c->in[1] = saved;
  return ok;
}

static gboolean
binary_shape_real (SomOpCtx *c, GError **error)
{
  guint nd;
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  BinOp op = bin_op_of (c);
  SomDType dt;
  guint n_present = 0;

  for (guint i = 0; i < c->n_in; i++)
    if (c->in[i] != NULL)
      n_present++;
  if (n_present == 0 || c->in[0] == NULL)
    return _som_need_inputs (c, 1, error);
  if (op != BIN_ADD && op != BIN_MAX && op != BIN_MIN && !_som_need_inputs (c, 2, error))
    return FALSE;
  dt = c->in[0]->dtype;
  for (guint i = 1; i < c->n_in; i++)
    if (c->in[i] != NULL && c->in[i]->dtype != dt)
      {
        /* Pow allows a different exponent type */
        if (!(op == BIN_POW && i == 1))
          {
            _som_op_error (c, error, SOM_ERROR_INVALID, "inputs have different data types");
            return FALSE;
          }
      }
  if (!_som_broadcast_shape (c, c->in, c->n_in, &nd, shape, error))
    return FALSE;
  if (op >= BIN_EQ && op <= BIN_XOR)
    dt = SOM_DTYPE_BOOL;
  if ((op == BIN_AND || op == BIN_OR || op == BIN_XOR) && c->in[0]->dtype != SOM_DTYPE_BOOL)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "logical operators need bool inputs");
      return FALSE;
    }
  if (op == BIN_PRELU && c->in[0]->dtype != SOM_DTYPE_F32)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "only float32 is supported");
      return FALSE;
    }
  _som_set_shape (c->out[0], dt, nd, shape);
  return TRUE;
}

static gboolean
binary_shape (SomOpCtx *c, GError **error)
{
  return with_prelu_slope (c, binary_shape_real, error);
}

static gboolean
binary_compute_real (SomOpCtx *c, GError **error)
{
  BinOp op = bin_op_of (c);
  SomTensor *acc = NULL;
  g_autoptr(SomTensor) tmp = NULL;
  g_autoptr(SomTensor) bconv = NULL;
  guint n_present = 0, first = 0;

  for (guint i = 0; i < c->n_in; i++)
    if (c->in[i] != NULL)
      n_present++;

  /* Pow with an integer exponent on floats: convert the exponent. */
  if (op == BIN_POW && c->in[1]->dtype != c->in[0]->dtype)
    {
      bconv = _som_tensor_new (c->in[0]->dtype, c->in[1]->ndim, c->in[1]->shape, error);
      if (bconv == NULL)
        return FALSE;
      for (gsize i = 0; i < bconv->n; i++)
        {
          if (bconv->dtype == SOM_DTYPE_F32)
            ((float *) bconv->data)[i] = (float) _som_tensor_get_f64 (c->in[1], i);
          else
            ((gint64 *) bconv->data)[i] = _som_tensor_get_i64 (c->in[1], i);
        }
    }

  if (n_present == 1)
    {
      if (c->out[0]->data != c->in[0]->data)
        memcpy (c->out[0]->data, c->in[0]->data, c->out[0]->n * _som_dtype_size (c->out[0]->dtype));
      if (strcmp (c->node->op, "Mean") != 0)
        return TRUE;
    }
  else
    for (guint i = 0; i < c->n_in; i++)
      {
        SomTensor *b = c->in[i];
        BinData bd;
        SomTensor *ins[2];
        guint nd;
        gint64 shape[SOM_ARRAY_MAX_DIMS];
        if (b == NULL)
          continue;
        if (acc == NULL && first == 0 && i == 0)
          {
            acc = b;
            first = 1;
            continue;
          }
        if (i == 1 && bconv != NULL)
          b = bconv;
        ins[0] = acc;
        ins[1] = b;
        _som_broadcast_shape (c, ins, 2, &nd, shape, NULL);
        {
          SomTensor *dst = c->out[0];
          /* intermediate results of variadic ops may be smaller than the output */
          {
            gsize n = 1;
            for (guint d = 0; d < nd; d++)
              n *= shape[d];
            if (n != c->out[0]->n || nd != c->out[0]->ndim)
              {
                SomTensor *t = _som_tensor_new (c->out[0]->dtype, nd, shape, error);
                if (t == NULL)
                  return FALSE;
                dst = t;
              }
          }
          bd.op = op;
          bd.a = acc;
          bd.b = b;
          bd.o = dst;
          broadcast_rows (2, ins, nd, shape, bin_row, &bd);
          if (dst != c->out[0])
            {
              g_clear_pointer (&tmp, _som_tensor_unref);
              tmp = dst;
            }
          acc = dst;
        }
      }
  if (acc != NULL && acc != c->out[0])
    memcpy (c->out[0]->data, acc->data, c->out[0]->n * _som_dtype_size (c->out[0]->dtype));
  if (strcmp (c->node->op, "Mean") == 0)
    {
      float *o = c->out[0]->data;
      for (gsize i = 0; i < c->out[0]->n; i++)
        o[i] /= (float) n_present;
    }
  return TRUE;
}

static gboolean
binary_compute (SomOpCtx *c, GError **error)
{
  return with_prelu_slope (c, binary_compute_real, error);
}

/* ---- Where --------------------------------------------------------------------- */

typedef struct { SomTensor *cond, *x, *y, *o; } WhereData;

static void
where_row (gsize n, gsize oo, const gint64 *off, const gint64 *is, gpointer data)
{
  WhereData *w = data;
  const guint8 *cd = (const guint8 *) w->cond->data + off[0];
  gsize es = _som_dtype_size (w->o->dtype);
  const guint8 *x = (const guint8 *) w->x->data + off[1] * es, *y = (const guint8 *) w->y->data + off[2] * es;
  guint8 *o = (guint8 *) w->o->data + oo * es;

  for (gsize i = 0; i < n; i++)
    memcpy (o + i * es, cd[i * is[0]] ? x + i * is[1] * es : y + i * is[2] * es, es);
}

static gboolean
where_shape (SomOpCtx *c, GError **error)
{
  guint nd;
  gint64 shape[SOM_ARRAY_MAX_DIMS];

  if (!_som_need_inputs (c, 3, error))
    return FALSE;
  if (c->in[0]->dtype != SOM_DTYPE_BOOL || c->in[1]->dtype != c->in[2]->dtype)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs a bool condition and two inputs of one type");
      return FALSE;
    }
  if (!_som_broadcast_shape (c, c->in, 3, &nd, shape, error))
    return FALSE;
  _som_set_shape (c->out[0], c->in[1]->dtype, nd, shape);
  return TRUE;
}

static gboolean
where_compute (SomOpCtx *c, GError **error)
{
  WhereData w = { c->in[0], c->in[1], c->in[2], c->out[0] };
  broadcast_rows (3, c->in, c->out[0]->ndim, c->out[0]->shape, where_row, &w);
  return TRUE;
}

/* ---- unary --------------------------------------------------------------------- */

static gboolean
unary_shape (SomOpCtx *c, GError **error)
{
  const char *op = c->node->op;

  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  if (strcmp (op, "Not") == 0)
    {
      if (c->in[0]->dtype != SOM_DTYPE_BOOL)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "needs a bool input");
          return FALSE;
        }
    }
  else if (c->in[0]->dtype != SOM_DTYPE_F32
           && !(c->in[0]->dtype == SOM_DTYPE_I64
                && (strcmp (op, "Neg") == 0 || strcmp (op, "Abs") == 0 || strcmp (op, "Relu") == 0
                    || strcmp (op, "Sign") == 0 || strcmp (op, "Clip") == 0)))
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "input of type %s is not supported",
                     som_dtype_name (c->in[0]->dtype));
      return FALSE;
    }
  if (strcmp (op, "Dropout") == 0)
    {
      gboolean training = c->n_in > 2 && c->in[2] != NULL
                          && (c->in[2]->data == NULL || _som_tensor_get_i64 (c->in[2], 0) != 0);
      float ratio = c->n_in > 1 && c->in[1] != NULL && c->in[1]->data != NULL
                      ? (float) _som_tensor_get_f64 (c->in[1], 0) : 0.5f;
      if (c->node->opset < 7 && _som_node_attr_int (c->node, "is_test", 0) == 0)
        training = TRUE;
      if (training && ratio != 0)
        {
          _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "training mode (random dropout) is not supported");
          return FALSE;
        }
    }
  _som_set_shape (c->out[0], c->in[0]->dtype, c->in[0]->ndim, c->in[0]->shape);
  if (c->n_out > 1 && c->out[1] != NULL) /* Dropout mask */
    _som_set_shape (c->out[1], SOM_DTYPE_BOOL, c->in[0]->ndim, c->in[0]->shape);
  return TRUE;
}

typedef enum
{
  U_RELU, U_SIGMOID, U_TANH, U_EXP, U_LOG, U_SQRT, U_NEG, U_ABS, U_RECIP, U_FLOOR, U_CEIL, U_ERF,
  U_SOFTPLUS, U_SOFTSIGN, U_LEAKY, U_ELU, U_SELU, U_HARDSIGMOID, U_HARDSWISH, U_CLIP, U_SIN, U_COS,
  U_SIGN, U_ROUND, U_THRESH, U_CELU, U_NOT, U_TAN, U_ASIN, U_ACOS, U_ATAN, U_SINH, U_COSH, U_ASINH,
  U_ACOSH, U_ATANH, U_MISH, U_GELU, U_ISNAN,
} UnOp;

static const struct { const char *name; UnOp op; } unary_ops[] = {
  { "Relu", U_RELU }, { "Sigmoid", U_SIGMOID }, { "Tanh", U_TANH }, { "Exp", U_EXP }, { "Log", U_LOG },
  { "Sqrt", U_SQRT }, { "Neg", U_NEG }, { "Abs", U_ABS }, { "Reciprocal", U_RECIP }, { "Floor", U_FLOOR },
  { "Ceil", U_CEIL }, { "Erf", U_ERF }, { "Softplus", U_SOFTPLUS }, { "Softsign", U_SOFTSIGN },
  { "LeakyRelu", U_LEAKY }, { "Elu", U_ELU }, { "Selu", U_SELU }, { "HardSigmoid", U_HARDSIGMOID },
  { "HardSwish", U_HARDSWISH }, { "Clip", U_CLIP }, { "Sin", U_SIN }, { "Cos", U_COS }, { "Sign", U_SIGN },
  { "Round", U_ROUND }, { "ThresholdedRelu", U_THRESH }, { "Celu", U_CELU }, { "Not", U_NOT },
  { "Tan", U_TAN }, { "Asin", U_ASIN }, { "Acos", U_ACOS }, { "Atan", U_ATAN }, { "Sinh", U_SINH },
  { "Cosh", U_COSH }, { "Asinh", U_ASINH }, { "Acosh", U_ACOSH }, { "Atanh", U_ATANH }, { "Mish", U_MISH },
};

typedef struct
{
  UnOp   op;
  float  alpha, beta, gamma, lo, hi;
  const float *x;
  float *y;
} UnaryData;

/* Sigmoid without a call per element (glibc's expf: with it, Sigmoid was a
 * third of efficientnet_b0's time), in GCC's vector types
 * (plain C with selects would not vectorize: GCC moves the division into
 * the branches of a select), in AVX-512 or AVX2 registers when the
 * machine has them (perf showed SSE's 4 lanes waiting on the division),
 * as many at a time as the registers hold (som-ops-sigmoid.h).
 * e^-x is Cephes' expf: −x = n·ln 2 + r with
 * n = round (−x·log2 e) and |r| ≤ ln 2 / 2 (ln 2 in two parts, so r is
 * exact), e^r by its minimax polynomial, 2^n put in the exponent bits;
 * within 2 ulp of e^-x for −x in [−87, 88], 0 below and +∞ above, so that
 * Sigmoid gives 1 and 0 there, as 1 / (1 + expf (−x)) does; NaN stays NaN.
 * The last elements run through the same vector code, so every element
 * rounds the same way, and there is no FMA (fp-contract=off above): the
 * versions agree bit for bit.  The vectors never cross a call that is not
 * inlined: there is no ABI to keep. */
#pragma GCC diagnostic ignored "-Wpsabi"

#if defined(__x86_64__) && defined(__GNUC__)
#define VL 16
#define KERNEL __attribute__ ((target ("avx512f")))
#define SUFFIX _avx512
#include "som-ops-sigmoid.h"

#define VL 8
#define KERNEL __attribute__ ((target ("avx2")))
#define SUFFIX _avx2
#include "som-ops-sigmoid.h"
#endif

#define VL 4
#define KERNEL
#define SUFFIX _generic
#include "som-ops-sigmoid.h"

typedef void (*SigmoidRange) (const float *x, float *y, gsize begin, gsize end);

static const struct
{
  const char  *name;
  SigmoidRange range;
} sigmoid_sets[] = {
#if defined(__x86_64__) && defined(__GNUC__)
  { "avx512f", sigmoid_range_avx512 },
  { "avx2", sigmoid_range_avx2 },
#endif
  { "generic", sigmoid_range_generic },
};

static SigmoidRange sigmoid_chosen;

static gboolean
sigmoid_runs_here (guint i)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  if (sigmoid_sets[i].range == sigmoid_range_avx512)
    return __builtin_cpu_supports ("avx512f");
  if (sigmoid_sets[i].range == sigmoid_range_avx2)
    return __builtin_cpu_supports ("avx2");
#endif
  return TRUE;
}

gboolean
_som_sigmoid_use (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (sigmoid_sets); i++)
    if ((name == NULL || strcmp (sigmoid_sets[i].name, name) == 0) && sigmoid_runs_here (i))
      {
        g_atomic_pointer_set (&sigmoid_chosen, sigmoid_sets[i].range);
        return TRUE;
      }
  return FALSE;
}

/* The widest version this CPU runs, unless _som_sigmoid_use() chose */
static void
sigmoid_range (const float *x, float *y, gsize begin, gsize end)
{
  SigmoidRange r = g_atomic_pointer_get (&sigmoid_chosen);

  if (r == NULL)
    {
      _som_sigmoid_use (NULL);
      r = g_atomic_pointer_get (&sigmoid_chosen);
    }
  r (x, y, begin, end);
}

static void
unary_range (gsize begin, gsize end, gpointer data)
{
  UnaryData *u = data;
  const float *x = u->x;
  float *y = u->y;
  float alpha = u->alpha, beta = u->beta, gamma = u->gamma;

  switch (u->op)
    {
    case U_RELU: for (gsize i = begin; i < end; i++) y[i] = x[i] > 0 ? x[i] : 0; break;
    case U_SIGMOID: sigmoid_range (x, y, begin, end); break;
    case U_TANH: for (gsize i = begin; i < end; i++) y[i] = tanhf (x[i]); break;
    case U_EXP: for (gsize i = begin; i < end; i++) y[i] = expf (x[i]); break;
    case U_LOG: for (gsize i = begin; i < end; i++) y[i] = logf (x[i]); break;
    case U_SQRT: for (gsize i = begin; i < end; i++) y[i] = sqrtf (x[i]); break;
    case U_NEG: for (gsize i = begin; i < end; i++) y[i] = -x[i]; break;
    case U_ABS: for (gsize i = begin; i < end; i++) y[i] = fabsf (x[i]); break;
    case U_RECIP: for (gsize i = begin; i < end; i++) y[i] = 1.0f / x[i]; break;
    case U_FLOOR: for (gsize i = begin; i < end; i++) y[i] = floorf (x[i]); break;
    case U_CEIL: for (gsize i = begin; i < end; i++) y[i] = ceilf (x[i]); break;
    case U_ROUND: for (gsize i = begin; i < end; i++) y[i] = nearbyintf (x[i]); break;
    case U_ERF: for (gsize i = begin; i < end; i++) y[i] = erff (x[i]); break;
    case U_SIN: for (gsize i = begin; i < end; i++) y[i] = sinf (x[i]); break;
    case U_COS: for (gsize i = begin; i < end; i++) y[i] = cosf (x[i]); break;
    case U_TAN: for (gsize i = begin; i < end; i++) y[i] = tanf (x[i]); break;
    case U_ASIN: for (gsize i = begin; i < end; i++) y[i] = asinf (x[i]); break;
    case U_ACOS: for (gsize i = begin; i < end; i++) y[i] = acosf (x[i]); break;
    case U_ATAN: for (gsize i = begin; i < end; i++) y[i] = atanf (x[i]); break;
    case U_SINH: for (gsize i = begin; i < end; i++) y[i] = sinhf (x[i]); break;
    case U_COSH: for (gsize i = begin; i < end; i++) y[i] = coshf (x[i]); break;
    case U_ASINH: for (gsize i = begin; i < end; i++) y[i] = asinhf (x[i]); break;
    case U_ACOSH: for (gsize i = begin; i < end; i++) y[i] = acoshf (x[i]); break;
    case U_ATANH: for (gsize i = begin; i < end; i++) y[i] = atanhf (x[i]); break;
    case U_SIGN: for (gsize i = begin; i < end; i++) y[i] = x[i] > 0 ? 1.0f : x[i] < 0 ? -1.0f : 0.0f; break;
    case U_SOFTPLUS: for (gsize i = begin; i < end; i++) y[i] = x[i] > 20 ? x[i] : log1pf (expf (x[i])); break;
    case U_SOFTSIGN: for (gsize i = begin; i < end; i++) y[i] = x[i] / (1.0f + fabsf (x[i])); break;
    case U_LEAKY: for (gsize i = begin; i < end; i++) y[i] = x[i] >= 0 ? x[i] : alpha * x[i]; break;
    case U_ELU: for (gsize i = begin; i < end; i++) y[i] = x[i] >= 0 ? x[i] : alpha * expm1f (x[i]); break;
    case U_CELU: for (gsize i = begin; i < end; i++) y[i] = fmaxf (0, x[i]) + fminf (0, alpha * expm1f (x[i] / alpha)); break;
    case U_SELU: for (gsize i = begin; i < end; i++) y[i] = gamma * (x[i] > 0 ? x[i] : alpha * expm1f (x[i])); break;
    /* fmaxf (0, fminf (1, v)) as comparisons (fminf and fmaxf are calls at
     * -O2): fminf (1, NaN) is 1, and so is v < 1 ? v : 1; the result is
     * then never NaN, and fmaxf (0, −0) is +0 as t > 0 ? t : 0 gives */
    case U_HARDSIGMOID:
      for (gsize i = begin; i < end; i++)
        {
          float v = alpha * x[i] + beta, t = v < 1.0f ? v : 1.0f;
          y[i] = t > 0.0f ? t : 0.0f;
        }
      break;
    case U_HARDSWISH:
      for (gsize i = begin; i < end; i++)
        {
          float v = x[i] / 6.0f + 0.5f, t = v < 1.0f ? v : 1.0f;
          y[i] = x[i] * (t > 0.0f ? t : 0.0f);
        }
      break;
    case U_THRESH: for (gsize i = begin; i < end; i++) y[i] = x[i] > alpha ? x[i] : 0; break;
    case U_MISH: for (gsize i = begin; i < end; i++) y[i] = x[i] * tanhf (x[i] > 20 ? x[i] : log1pf (expf (x[i]))); break;
    case U_CLIP:
      {
        /* the bounds in locals: read through @u, they would be reloaded
         * after every store and the loop would not vectorize */
        float lo = u->lo, hi = u->hi;
        for (gsize i = begin; i < end; i++)
          y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
      }
      break;
    default: break;
    }
}

static gboolean
unary_compute (SomOpCtx *c, GError **error)
{
  UnaryData u = { 0 };
  const char *op = c->node->op;
  SomTensor *x = c->in[0], *y = c->out[0];

  for (guint i = 0; i < G_N_ELEMENTS (unary_ops); i++)
    if (strcmp (op, unary_ops[i].name) == 0)
      u.op = unary_ops[i].op;
  switch (u.op)
    {
    case U_LEAKY: u.alpha = _som_node_attr_float (c->node, "alpha", 0.01f); break;
    case U_ELU: case U_CELU: u.alpha = _som_node_attr_float (c->node, "alpha", 1.0f); break;
    case U_THRESH: u.alpha = _som_node_attr_float (c->node, "alpha", 1.0f); break;
    case U_SELU:
      u.alpha = _som_node_attr_float (c->node, "alpha", 1.67326319217681884765625f);
      u.gamma = _som_node_attr_float (c->node, "gamma", 1.05070102214813232421875f);
      break;
    case U_HARDSIGMOID:
      u.alpha = _som_node_attr_float (c->node, "alpha", 0.2f);
      u.beta = _som_node_attr_float (c->node, "beta", 0.5f);
      break;
    case U_CLIP:
      if (c->node->opset < 11)
        {
          u.lo = _som_node_attr_float (c->node, "min", -INFINITY);
          u.hi = _som_node_attr_float (c->node, "max", INFINITY);
        }
      else
        {
          u.lo = c->n_in > 1 && c->in[1] != NULL ? (float) _som_tensor_get_f64 (c->in[1], 0) : -INFINITY;
          u.hi = c->n_in > 2 && c->in[2] != NULL ? (float) _som_tensor_get_f64 (c->in[2], 0) : INFINITY;
        }
      break;
    default: break;
    }

  if (x->dtype == SOM_DTYPE_BOOL)
    {
      for (gsize i = 0; i < x->n; i++)
        ((guint8 *) y->data)[i] = !((guint8 *) x->data)[i];
      return TRUE;
    }
  if (x->dtype == SOM_DTYPE_I64)
    {
      const gint64 *a = x->data;
      gint64 *o = y->data;
      gint64 lo = G_MININT64, hi = G_MAXINT64;
      if (u.op == U_CLIP)
        {
          lo = c->n_in > 1 && c->in[1] != NULL ? _som_tensor_get_i64 (c->in[1], 0) : G_MININT64;
          hi = c->n_in > 2 && c->in[2] != NULL ? _som_tensor_get_i64 (c->in[2], 0) : G_MAXINT64;
        }
      for (gsize i = 0; i < x->n; i++)
        switch (u.op)
          {
          case U_NEG: o[i] = -a[i]; break;
          case U_ABS: o[i] = a[i] < 0 ? -a[i] : a[i]; break;
          case U_RELU: o[i] = MAX (a[i], 0); break;
          case U_SIGN: o[i] = a[i] > 0 ? 1 : a[i] < 0 ? -1 : 0; break;
          case U_CLIP: o[i] = CLAMP (a[i], lo, hi); break;
          default: o[i] = a[i];
          }
      return TRUE;
    }
  u.x = x->data;
  u.y = y->data;
  _som_parallel_for (x->n, 1 << 15, unary_range, &u);
  return TRUE;
}

/* Identity, Dropout: views */
static gboolean
identity_compute (SomOpCtx *c, GError **error)
{
  if (c->n_out > 1 && c->out[1] != NULL)
    memset (c->out[1]->data, 1, c->out[1]->n);
  return TRUE;
}

/* ---- Cast ------------------------------------------------------------------------- */

static gboolean
cast_shape (SomOpCtx *c, GError **error)
{
  gint64 to = _som_node_attr_int (c->node, "to", 0);
  SomDType dt;

  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  switch (to)
    {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: dt = SOM_DTYPE_F32; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: dt = SOM_DTYPE_I64; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: dt = SOM_DTYPE_BOOL; break;
    default:
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED,
                     "casting to ONNX data type %" G_GINT64_FORMAT " is not supported (float32, int64 and bool are)", to);
      return FALSE;
    }
  _som_set_shape (c->out[0], dt, c->in[0]->ndim, c->in[0]->shape);
  return TRUE;
}

static gboolean
cast_compute (SomOpCtx *c, GError **error)
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

/* ---- Constant, ConstantOfShape, Shape, Size, Range ------------------------------ */

static gboolean
constant_shape (SomOpCtx *c, GError **error)
{
  const SomAttr *a;
  gint64 shape1[1];

  if ((a = _som_node_attr (c->node, "value")) != NULL && a->t != NULL)
    _som_set_shape (c->out[0], a->t->dtype, a->t->ndim, a->t->shape);
  else if ((a = _som_node_attr (c->node, "value_float")) != NULL)
    _som_set_shape (c->out[0], SOM_DTYPE_F32, 0, NULL);
  else if ((a = _som_node_attr (c->node, "value_int")) != NULL)
    _som_set_shape (c->out[0], SOM_DTYPE_I64, 0, NULL);
  else if ((a = _som_node_attr (c->node, "value_floats")) != NULL)
    {
      shape1[0] = a->n_floats;
      _som_set_shape (c->out[0], SOM_DTYPE_F32, 1, shape1);
    }
  else if ((a = _som_node_attr (c->node, "value_ints")) != NULL)
    {
      shape1[0] = a->n_ints;
      _som_set_shape (c->out[0], SOM_DTYPE_I64, 1, shape1);
    }
  else
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "no supported value attribute (sparse or string constants are not supported)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
constant_compute (SomOpCtx *c, GError **error)
{
  const SomAttr *a;
  SomTensor *y = c->out[0];

  if ((a = _som_node_attr (c->node, "value")) != NULL && a->t != NULL)
    memcpy (y->data, a->t->data, y->n * _som_dtype_size (y->dtype));
  else if ((a = _som_node_attr (c->node, "value_float")) != NULL)
    ((float *) y->data)[0] = a->f;
  else if ((a = _som_node_attr (c->node, "value_int")) != NULL)
    ((gint64 *) y->data)[0] = a->i;
  else if ((a = _som_node_attr (c->node, "value_floats")) != NULL)
    memcpy (y->data, a->floats, a->n_floats * 4);
  else if ((a = _som_node_attr (c->node, "value_ints")) != NULL)
    memcpy (y->data, a->ints, a->n_ints * 8);
  return TRUE;
}

static gboolean
constant_of_shape_shape (SomOpCtx *c, GError **error)
{
  const SomAttr *a = _som_node_attr (c->node, "value");
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  SomTensor *s;

  if (!_som_need_inputs (c, 1, error) || !_som_need_values (c, 0, error))
    return FALSE;
  s = c->in[0];
  if (s->n > SOM_ARRAY_MAX_DIMS)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "too many dimensions");
      return FALSE;
    }
  for (gsize i = 0; i < s->n; i++)
    {
      shape[i] = _som_tensor_get_i64 (s, i);
      if (shape[i] < 0)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "negative dimension");
          return FALSE;
        }
    }
  _som_set_shape (c->out[0], a != NULL && a->t != NULL ? a->t->dtype : SOM_DTYPE_F32, s->n, shape);
  return TRUE;
}

static gboolean
constant_of_shape_compute (SomOpCtx *c, GError **error)
{
  const SomAttr *a = _som_node_attr (c->node, "value");
  SomTensor *y = c->out[0];
  gsize es = _som_dtype_size (y->dtype);

  if (a == NULL || a->t == NULL)
    memset (y->data, 0, y->n * es);
  else
    for (gsize i = 0; i < y->n; i++)
      memcpy ((guint8 *) y->data + i * es, a->t->data, es);
  return TRUE;
}

static void
shape_range (SomOpCtx *c, gint64 *start, gint64 *end)
{
  gint64 r = c->in[0]->ndim;
  gint64 s = _som_node_attr_int (c->node, "start", 0), e = _som_node_attr_int (c->node, "end", r);
  if (s < 0) s += r;
  if (e < 0) e += r;
  *start = CLAMP (s, 0, r);
  *end = CLAMP (e, 0, r);
  if (*end < *start)
    *end = *start;
}

static gboolean
shape_shape (SomOpCtx *c, GError **error)
{
  gint64 s, e, n;

  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  shape_range (c, &s, &e);
  n = e - s;
  _som_set_shape (c->out[0], SOM_DTYPE_I64, 1, &n);
  return TRUE;
}

static gboolean
shape_compute (SomOpCtx *c, GError **error)
{
  gint64 s, e;
  shape_range (c, &s, &e);
  for (gint64 i = s; i < e; i++)
    ((gint64 *) c->out[0]->data)[i - s] = c->in[0]->shape[i];
  return TRUE;
}

static gboolean
size_shape (SomOpCtx *c, GError **error)
{
  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  _som_set_shape (c->out[0], SOM_DTYPE_I64, 0, NULL);
  return TRUE;
}

static gboolean
size_compute (SomOpCtx *c, GError **error)
{
  ((gint64 *) c->out[0]->data)[0] = c->in[0]->n;
  return TRUE;
}

static gboolean
range_shape (SomOpCtx *c, GError **error)
{
  double start, limit, delta;
  gint64 n;

  if (!_som_need_inputs (c, 3, error))
    return FALSE;
  for (guint i = 0; i < 3; i++)
    if (!_som_need_values (c, i, error))
      return FALSE;
  start = _som_tensor_get_f64 (c->in[0], 0);
  limit = _som_tensor_get_f64 (c->in[1], 0);
  delta = _som_tensor_get_f64 (c->in[2], 0);
  if (delta == 0)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "delta is 0");
      return FALSE;
    }
  {
    double count = ceil ((limit - start) / delta);
    if (!(count < 4.0e15))
      {
        _som_op_error (c, error, count != count ? SOM_ERROR_INVALID : SOM_ERROR_TOO_LARGE,
                       "the range has too many elements");
        return FALSE;
      }
    n = (gint64) MAX (count, 0);
  }
  _som_set_shape (c->out[0], c->in[0]->dtype, 1, &n);
  return TRUE;
}

static gboolean
range_compute (SomOpCtx *c, GError **error)
{
  SomTensor *y = c->out[0];
  for (gsize i = 0; i < y->n; i++)
    {
      if (y->dtype == SOM_DTYPE_F32)
        ((float *) y->data)[i] = (float) (_som_tensor_get_f64 (c->in[0], 0) + i * _som_tensor_get_f64 (c->in[2], 0));
      else
        ((gint64 *) y->data)[i] = _som_tensor_get_i64 (c->in[0], 0) + (gint64) i * _som_tensor_get_i64 (c->in[2], 0);
    }
  return TRUE;
}

/* ---- reshaping (views) ---------------------------------------------------------- */

static gboolean
reshape_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x, *s;
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  gint64 known = 1;
  int infer = -1;
  gboolean allowzero = _som_node_attr_int (c->node, "allowzero", 0) != 0;
  guint nd;

  if (c->node->opset < 5)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "Reshape before opset 5 is not supported");
      return FALSE;
    }
  if (!_som_need_inputs (c, 2, error) || !_som_need_values (c, 1, error))
    return FALSE;
  x = c->in[0];
  s = c->in[1];
  if (s->n > SOM_ARRAY_MAX_DIMS || s->ndim > 1)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "target shape of %" G_GSIZE_FORMAT " dims", s->n);
      return FALSE;
    }
  nd = s->n;
  for (guint i = 0; i < nd; i++)
    {
      gint64 v = _som_tensor_get_i64 (s, i);
      if (v == 0 && !allowzero)
        {
          if (i >= x->ndim)
            {
              _som_op_error (c, error, SOM_ERROR_INVALID, "0 at dimension %u beyond the input's rank", i);
              return FALSE;
            }
          v = x->shape[i];
        }
      if (v == -1)
        {
          if (infer >= 0)
            {
              _som_op_error (c, error, SOM_ERROR_INVALID, "more than one -1 in the target shape");
              return FALSE;
            }
          infer = i;
          v = 1;
        }
      else if (v < 0)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "negative dimension %" G_GINT64_FORMAT, v);
          return FALSE;
        }
      else if (__builtin_mul_overflow (known, v, &known))
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "the target shape is too large");
          return FALSE;
        }
      shape[i] = v;
    }
  if (infer >= 0)
    {
      if (known == 0 || x->n % known != 0)
        {
          g_autofree char *a = _som_shape_string (x->ndim, x->shape);
          _som_op_error (c, error, SOM_ERROR_INVALID, "cannot reshape %s into the target shape", a);
          return FALSE;
        }
      shape[infer] = x->n / known;
      known *= shape[infer];
    }
  if ((gsize) known != x->n)
    {
      g_autofree char *a = _som_shape_string (x->ndim, x->shape);
      g_autofree char *b = _som_shape_string (nd, shape);
      _som_op_error (c, error, SOM_ERROR_INVALID, "cannot reshape %s into %s", a, b);
      return FALSE;
    }
  _som_set_shape (c->out[0], x->dtype, nd, shape);
  return TRUE;
}

static gboolean
flatten_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x;
  guint axis;
  gint64 shape[2] = { 1, 1 };

  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  x = c->in[0];
  if (!_som_norm_axis (c, _som_node_attr_int (c->node, "axis", 1), x->ndim, TRUE, &axis, error))
    return FALSE;
  for (guint i = 0; i < x->ndim; i++)
    shape[i < axis ? 0 : 1] *= x->shape[i];
  _som_set_shape (c->out[0], x->dtype, 2, shape);
  return TRUE;
}

static gboolean
get_axes (SomOpCtx *c, guint input, gint64 *axes, guint *n_axes, gboolean *given, GError **error)
{
  const gint64 *a;
  guint n;

  *given = FALSE;
  if (c->node->opset >= 13 || (c->n_in > input && c->in[input] != NULL))
    {
      if (c->n_in > input && c->in[input] != NULL)
        {
          if (!_som_need_values (c, input, error))
            return FALSE;
          if (c->in[input]->n > SOM_ARRAY_MAX_DIMS)
            {
              _som_op_error (c, error, SOM_ERROR_INVALID, "too many axes");
              return FALSE;
            }
          for (gsize i = 0; i < c->in[input]->n; i++)
            axes[i] = _som_tensor_get_i64 (c->in[input], i);
          *n_axes = c->in[input]->n;
          *given = TRUE;
          return TRUE;
        }
    }
  a = _som_node_attr_ints (c->node, "axes", &n);
  if (a != NULL)
    {
      if (n > SOM_ARRAY_MAX_DIMS)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "too many axes");
          return FALSE;
        }
      memcpy (axes, a, n * sizeof (gint64));
      *given = TRUE;
    }
  *n_axes = n;
  return TRUE;
}

static gboolean
squeeze_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x;
  gint64 axes[SOM_ARRAY_MAX_DIMS], shape[SOM_ARRAY_MAX_DIMS];
  gboolean drop[SOM_ARRAY_MAX_DIMS] = { 0 }, given;
  guint n_axes, nd = 0;

  if (!_som_need_inputs (c, 1, error) || !get_axes (c, 1, axes, &n_axes, &given, error))
    return FALSE;
  x = c->in[0];
  for (guint i = 0; i < n_axes; i++)
    {
      guint a;
      if (!_som_norm_axis (c, axes[i], x->ndim, FALSE, &a, error))
        return FALSE;
      if (x->shape[a] != 1)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "cannot squeeze dimension %u of size %" G_GINT64_FORMAT,
                         a, x->shape[a]);
          return FALSE;
        }
      drop[a] = TRUE;
    }
  for (guint i = 0; i < x->ndim; i++)
    if (!(given ? drop[i] : x->shape[i] == 1))
      shape[nd++] = x->shape[i];
  _som_set_shape (c->out[0], x->dtype, nd, shape);
  return TRUE;
}

static gboolean
unsqueeze_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x;
  gint64 axes[SOM_ARRAY_MAX_DIMS], shape[SOM_ARRAY_MAX_DIMS];
  gboolean ins[SOM_ARRAY_MAX_DIMS] = { 0 }, given;
  guint n_axes, nd, k = 0;

  if (!_som_need_inputs (c, 1, error) || !get_axes (c, 1, axes, &n_axes, &given, error))
    return FALSE;
  x = c->in[0];
  nd = x->ndim + n_axes;
  if (nd > SOM_ARRAY_MAX_DIMS || !given)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "invalid axes");
      return FALSE;
    }
  for (guint i = 0; i < n_axes; i++)
    {
      guint a;
      if (!_som_norm_axis (c, axes[i], nd, FALSE, &a, error))
        return FALSE;
      if (ins[a])
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "repeated axis");
          return FALSE;
        }
      ins[a] = TRUE;
    }
  for (guint i = 0; i < nd; i++)
    shape[i] = ins[i] ? 1 : x->shape[k++];
  _som_set_shape (c->out[0], x->dtype, nd, shape);
  return TRUE;
}

/* ---- Transpose ------------------------------------------------------------------ */

static gboolean
get_perm (SomOpCtx *c, guint *perm, GError **error)
{
  guint n, nd = c->in[0]->ndim;
  const gint64 *p = _som_node_attr_ints (c->node, "perm", &n);
  gboolean seen[SOM_ARRAY_MAX_DIMS] = { 0 };

  if (p == NULL)
    {
      for (guint i = 0; i < nd; i++)
        perm[i] = nd - 1 - i;
      return TRUE;
    }
  if (n != nd)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "perm has %u entries for rank %u", n, nd);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      guint a;
      if (!_som_norm_axis (c, p[i], nd, FALSE, &a, error))
        return FALSE;
      if (seen[a])
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "perm repeats an axis");
          return FALSE;
        }
      seen[a] = TRUE;
      perm[i] = a;
    }
  return TRUE;
}

static gboolean
transpose_shape (SomOpCtx *c, GError **error)
{
  guint perm[SOM_ARRAY_MAX_DIMS];
  gint64 shape[SOM_ARRAY_MAX_DIMS];

  if (!_som_need_inputs (c, 1, error) || !get_perm (c, perm, error))
    return FALSE;
  for (guint i = 0; i < c->in[0]->ndim; i++)
    shape[i] = c->in[0]->shape[perm[i]];
  _som_set_shape (c->out[0], c->in[0]->dtype, c->in[0]->ndim, shape);
  return TRUE;
}

static gboolean
transpose_compute (SomOpCtx *c, GError **error)
{
  guint perm[SOM_ARRAY_MAX_DIMS];
  gint64 st[SOM_ARRAY_MAX_DIMS], ost[SOM_ARRAY_MAX_DIMS];
  SomTensor *x = c->in[0];

  get_perm (c, perm, NULL);
  _som_contiguous_strides (x->ndim, x->shape, st);
  for (guint i = 0; i < x->ndim; i++)
    ost[i] = st[perm[i]];
  _som_strided_copy (c->out[0]->data, x->data, _som_dtype_size (x->dtype), x->ndim, c->out[0]->shape, ost, 0);
  return TRUE;
}

/* ---- Concat, Split, Gather, Slice, Expand, Tile ------------------------------------ */

static gboolean
concat_shape (SomOpCtx *c, GError **error)
{
  SomTensor *first = NULL;
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  guint axis;

  for (guint i = 0; i < c->n_in; i++)
    if (c->in[i] != NULL && (first == NULL || (first->n == 0 && first->ndim == 1)))
      first = c->in[i];
  if (first == NULL)
    return _som_need_inputs (c, 1, error);
  if (!_som_norm_axis (c, _som_node_attr_int (c->node, "axis", c->node->opset < 4 ? 1 : G_MAXINT64),
                       first->ndim, FALSE, &axis, error))
    return FALSE;
  memcpy (shape, first->shape, sizeof shape);
  shape[axis] = 0;
  for (guint i = 0; i < c->n_in; i++)
    {
      SomTensor *t = c->in[i];
      if (t == NULL)
        continue;
      if (t->ndim != first->ndim || t->dtype != first->dtype)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "inputs differ in rank or type");
          return FALSE;
        }
      for (guint d = 0; d < t->ndim; d++)
        if (d != axis && t->shape[d] != first->shape[d])
          {
            _som_op_error (c, error, SOM_ERROR_INVALID, "input %u differs in dimension %u", i, d);
            return FALSE;
          }
      shape[axis] += t->shape[axis];
    }
  _som_set_shape (c->out[0], first->dtype, first->ndim, shape);
  return TRUE;
}

static gboolean
concat_compute (SomOpCtx *c, GError **error)
{
  SomTensor *y = c->out[0];
  guint axis;
  gsize outer = 1, inner = 1, es = _som_dtype_size (y->dtype), off = 0;

  _som_norm_axis (c, _som_node_attr_int (c->node, "axis", 1), y->ndim, FALSE, &axis, NULL);
  for (guint d = 0; d < axis; d++)
    outer *= y->shape[d];
  for (guint d = axis + 1; d < y->ndim; d++)
    inner *= y->shape[d];
  for (guint i = 0; i < c->n_in; i++)
    {
      SomTensor *t = c->in[i];
      gsize chunk;
      if (t == NULL || t->ndim != y->ndim)
        continue;
      chunk = t->shape[axis] * inner * es;
      for (gsize o = 0; o < outer; o++)
        memcpy ((guint8 *) y->data + (o * y->shape[axis] * inner) * es + off, (guint8 *) t->data + o * chunk, chunk);
      off += chunk;
    }
  return TRUE;
}

static gboolean
split_sizes (SomOpCtx *c, guint *axis, gint64 *sizes, GError **error)
{
  SomTensor *x = c->in[0];
  const gint64 *s;
  guint n;
  gint64 total = 0;

  if (!_som_norm_axis (c, _som_node_attr_int (c->node, "axis", 0), x->ndim, FALSE, axis, error))
    return FALSE;
  if (c->n_in > 1 && c->in[1] != NULL)
    {
      if (!_som_need_values (c, 1, error))
        return FALSE;
      if (c->in[1]->n != c->n_out)
        goto bad;
      for (guint i = 0; i < c->n_out; i++)
        sizes[i] = _som_tensor_get_i64 (c->in[1], i);
    }
  else if ((s = _som_node_attr_ints (c->node, "split", &n)) != NULL)
    {
      if (n != c->n_out)
        goto bad;
      memcpy (sizes, s, n * sizeof (gint64));
    }
  else
    {
      gint64 d = x->shape[*axis], k = c->n_out;
      gint64 each = (d + k - 1) / k;
      for (guint i = 0; i < c->n_out; i++)
        {
          sizes[i] = MIN (each, d);
          d -= sizes[i];
        }
    }
  for (guint i = 0; i < c->n_out; i++)
    if (sizes[i] < 0 || __builtin_add_overflow (total, sizes[i], &total))
      goto bad;
  if (total != x->shape[*axis])
    goto bad;
  return TRUE;
bad:
  _som_op_error (c, error, SOM_ERROR_INVALID, "split sizes do not add up to the dimension");
  return FALSE;
}

static gboolean
split_shape (SomOpCtx *c, GError **error)
{
  g_autofree gint64 *sizes = NULL;
  guint axis;

  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  sizes = g_new0 (gint64, c->n_out + 1);
  if (!split_sizes (c, &axis, sizes, error))
    return FALSE;
  for (guint i = 0; i < c->n_out; i++)
    if (c->out[i] != NULL)
      {
        gint64 shape[SOM_ARRAY_MAX_DIMS];
        memcpy (shape, c->in[0]->shape, sizeof shape);
        shape[axis] = sizes[i];
        _som_set_shape (c->out[i], c->in[0]->dtype, c->in[0]->ndim, shape);
      }
  return TRUE;
}

static gboolean
split_compute (SomOpCtx *c, GError **error)
{
  g_autofree gint64 *sizes = g_new0 (gint64, c->n_out + 1);
  SomTensor *x = c->in[0];
  guint axis;
  gsize outer = 1, inner = 1, es = _som_dtype_size (x->dtype), off = 0;

  split_sizes (c, &axis, sizes, NULL);
  for (guint d = 0; d < axis; d++)
    outer *= x->shape[d];
  for (guint d = axis + 1; d < x->ndim; d++)
    inner *= x->shape[d];
  for (guint i = 0; i < c->n_out; i++)
    {
      gsize chunk = sizes[i] * inner * es;
      if (c->out[i] != NULL)
        for (gsize o = 0; o < outer; o++)
          memcpy ((guint8 *) c->out[i]->data + o * chunk,
                  (guint8 *) x->data + (o * x->shape[axis] * inner) * es + off, chunk);
      off += chunk;
    }
  return TRUE;
}

static gboolean
gather_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x, *idx;
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  guint axis, nd = 0;

  if (!_som_need_inputs (c, 2, error))
    return FALSE;
  x = c->in[0];
  idx = c->in[1];
  if (idx->dtype != SOM_DTYPE_I64 || !_som_norm_axis (c, _som_node_attr_int (c->node, "axis", 0), x->ndim,
                                                      FALSE, &axis, error))
    {
      if (error && !*error)
        _som_op_error (c, error, SOM_ERROR_INVALID, "indices must be integers");
      return FALSE;
    }
  if (x->ndim - 1 + idx->ndim > SOM_ARRAY_MAX_DIMS)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "result has too many dimensions");
      return FALSE;
    }
  for (guint d = 0; d < axis; d++)
    shape[nd++] = x->shape[d];
  for (guint d = 0; d < idx->ndim; d++)
    shape[nd++] = idx->shape[d];
  for (guint d = axis + 1; d < x->ndim; d++)
    shape[nd++] = x->shape[d];
  _som_set_shape (c->out[0], x->dtype, nd, shape);
  return TRUE;
}

static gboolean
gather_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *idx = c->in[1], *y = c->out[0];
  guint axis;
  gsize outer = 1, inner = 1, es = _som_dtype_size (x->dtype);
  gint64 dim;
  guint8 *o = y->data;

  _som_norm_axis (c, _som_node_attr_int (c->node, "axis", 0), x->ndim, FALSE, &axis, NULL);
  dim = x->shape[axis];
  for (guint d = 0; d < axis; d++)
    outer *= x->shape[d];
  for (guint d = axis + 1; d < x->ndim; d++)
    inner *= x->shape[d];
  for (gsize i = 0; i < idx->n; i++)
    {
      gint64 k = ((gint64 *) idx->data)[i];
      if (k < -dim || k >= dim)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "index %" G_GINT64_FORMAT " is out of range [%" G_GINT64_FORMAT
                         ", %" G_GINT64_FORMAT ")", k, -dim, dim);
          return FALSE;
        }
    }
  for (gsize a = 0; a < outer; a++)
    for (gsize i = 0; i < idx->n; i++)
      {
        gint64 k = ((gint64 *) idx->data)[i];
        if (k < 0)
          k += dim;
        memcpy (o, (guint8 *) x->data + ((a * dim + k) * inner) * es, inner * es);
        o += inner * es;
      }
  return TRUE;
}

typedef struct
{
  gint64 start[SOM_ARRAY_MAX_DIMS], step[SOM_ARRAY_MAX_DIMS], count[SOM_ARRAY_MAX_DIMS];
} SliceSpec;

static gboolean
slice_spec (SomOpCtx *c, SliceSpec *sp, GError **error)
{
  SomTensor *x = c->in[0];
  gint64 starts[SOM_ARRAY_MAX_DIMS], ends[SOM_ARRAY_MAX_DIMS], axes[SOM_ARRAY_MAX_DIMS], steps[SOM_ARRAY_MAX_DIMS];
  guint n;

  if (c->node->opset < 10)
    {
      guint na, ne, nx;
      const gint64 *s = _som_node_attr_ints (c->node, "starts", &n);
      const gint64 *e = _som_node_attr_ints (c->node, "ends", &ne);
      const gint64 *a = _som_node_attr_ints (c->node, "axes", &na);
      (void) nx;
      if (s == NULL || e == NULL || n != ne || n > SOM_ARRAY_MAX_DIMS || (a != NULL && na != n))
        goto bad;
      for (guint i = 0; i < n; i++)
        {
          starts[i] = s[i];
          ends[i] = e[i];
          axes[i] = a ? a[i] : (gint64) i;
          steps[i] = 1;
        }
    }
  else
    {
      if (!_som_need_inputs (c, 3, error))
        return FALSE;
      for (guint i = 1; i < c->n_in; i++)
        if (!_som_need_values (c, i, error))
          return FALSE;
      n = c->in[1]->n;
      if (n > SOM_ARRAY_MAX_DIMS || c->in[2]->n != n || (c->n_in > 3 && c->in[3] && c->in[3]->n != n)
          || (c->n_in > 4 && c->in[4] && c->in[4]->n != n))
        goto bad;
      for (guint i = 0; i < n; i++)
        {
          starts[i] = _som_tensor_get_i64 (c->in[1], i);
          ends[i] = _som_tensor_get_i64 (c->in[2], i);
          axes[i] = c->n_in > 3 && c->in[3] ? _som_tensor_get_i64 (c->in[3], i) : (gint64) i;
          steps[i] = c->n_in > 4 && c->in[4] ? _som_tensor_get_i64 (c->in[4], i) : 1;
        }
    }
  for (guint d = 0; d < x->ndim; d++)
    {
      sp->start[d] = 0;
      sp->step[d] = 1;
      sp->count[d] = x->shape[d];
    }
  for (guint i = 0; i < n; i++)
    {
      guint a;
      gint64 dim, s, e, st = steps[i];
      if (!_som_norm_axis (c, axes[i], x->ndim, FALSE, &a, error))
        return FALSE;
      if (st == 0)
        goto bad;
      dim = x->shape[a];
      s = starts[i];
      e = ends[i];
      if (s < 0) s += dim;
      if (e < 0 && e > G_MININT64 / 2) e += dim;
      if (st > 0)
        {
          s = CLAMP (s, 0, dim);
          e = CLAMP (e, 0, dim);
          sp->count[a] = e > s ? (e - s + st - 1) / st : 0;
        }
      else
        {
          s = CLAMP (s, -1, dim - 1);
          e = CLAMP (e, -1, dim - 1);
          sp->count[a] = s > e ? (s - e + (-st) - 1) / (-st) : 0;
        }
      sp->start[a] = s;
      sp->step[a] = st;
    }
  return TRUE;
bad:
  _som_op_error (c, error, SOM_ERROR_INVALID, "invalid starts/ends/axes/steps");
  return FALSE;
}

static gboolean
slice_shape (SomOpCtx *c, GError **error)
{
  SliceSpec sp;

  if (!_som_need_inputs (c, 1, error) || !slice_spec (c, &sp, error))
    return FALSE;
  _som_set_shape (c->out[0], c->in[0]->dtype, c->in[0]->ndim, sp.count);
  return TRUE;
}

static gboolean
slice_compute (SomOpCtx *c, GError **error)
{
  SliceSpec sp;
  gint64 st[SOM_ARRAY_MAX_DIMS], ost[SOM_ARRAY_MAX_DIMS], off = 0;
  SomTensor *x = c->in[0];

  slice_spec (c, &sp, NULL);
  _som_contiguous_strides (x->ndim, x->shape, st);
  for (guint d = 0; d < x->ndim; d++)
    {
      ost[d] = st[d] * sp.step[d];
      if (sp.count[d] > 0)
        off += sp.start[d] * st[d];
    }
  _som_strided_copy (c->out[0]->data, x->data, _som_dtype_size (x->dtype), x->ndim, c->out[0]->shape, ost, off);
  return TRUE;
}

static gboolean
expand_shape (SomOpCtx *c, GError **error)
{
  SomTensor *s, tmp = { 0 };
  SomTensor *ts[2];
  guint nd;
  gint64 shape[SOM_ARRAY_MAX_DIMS];

  if (!_som_need_inputs (c, 2, error) || !_som_need_values (c, 1, error))
    return FALSE;
  s = c->in[1];
  if (s->n > SOM_ARRAY_MAX_DIMS)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "too many dimensions");
      return FALSE;
    }
  tmp.ndim = s->n;
  for (gsize i = 0; i < s->n; i++)
    tmp.shape[i] = _som_tensor_get_i64 (s, i);
  ts[0] = c->in[0];
  ts[1] = &tmp;
  if (!_som_broadcast_shape (c, ts, 2, &nd, shape, error))
    return FALSE;
  _som_set_shape (c->out[0], c->in[0]->dtype, nd, shape);
  return TRUE;
}

static gboolean
expand_compute (SomOpCtx *c, GError **error)
{
  gint64 st[SOM_ARRAY_MAX_DIMS];
  _som_broadcast_strides (c->in[0], c->out[0]->ndim, c->out[0]->shape, st);
  _som_strided_copy (c->out[0]->data, c->in[0]->data, _som_dtype_size (c->in[0]->dtype), c->out[0]->ndim,
                     c->out[0]->shape, st, 0);
  return TRUE;
}

static gboolean
tile_shape (SomOpCtx *c, GError **error)
{
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  SomTensor *x;

  if (!_som_need_inputs (c, 2, error) || !_som_need_values (c, 1, error))
    return FALSE;
  x = c->in[0];
  if (c->in[1]->n != x->ndim)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "repeats must have one entry per dimension");
      return FALSE;
    }
  for (guint d = 0; d < x->ndim; d++)
    {
      gint64 r = _som_tensor_get_i64 (c->in[1], d);
      if (r < 0)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "negative repeat");
          return FALSE;
        }
      if (__builtin_mul_overflow (x->shape[d], r, &shape[d]))
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "repeats are too large");
          return FALSE;
        }
    }
  _som_set_shape (c->out[0], x->dtype, x->ndim, shape);
  return TRUE;
}

static gboolean
tile_compute (SomOpCtx *c, GError **error)
{
  /* view the output as (r0, d0, r1, d1, …) and copy with zero strides on r */
  SomTensor *x = c->in[0];
  gint64 shape[SOM_ARRAY_MAX_DIMS * 2], st[SOM_ARRAY_MAX_DIMS * 2], xs[SOM_ARRAY_MAX_DIMS];
  guint nd = x->ndim;

  if (nd * 2 > SOM_ARRAY_MAX_DIMS)
    {
      /* fall back per element */
      gint64 idx[SOM_ARRAY_MAX_DIMS] = { 0 };
      gsize es = _som_dtype_size (x->dtype);
      _som_contiguous_strides (nd, x->shape, xs);
      for (gsize o = 0; o < c->out[0]->n; o++)
        {
          gint64 off = 0;
          for (guint d = 0; d < nd; d++)
            off += (idx[d] % x->shape[d]) * xs[d];
          memcpy ((guint8 *) c->out[0]->data + o * es, (guint8 *) x->data + off * es, es);
          _som_index_next (idx, c->out[0]->shape, nd);
        }
      return TRUE;
    }
  _som_contiguous_strides (nd, x->shape, xs);
  for (guint d = 0; d < nd; d++)
    {
      shape[2 * d] = x->shape[d] ? c->out[0]->shape[d] / x->shape[d] : 0;
      shape[2 * d + 1] = x->shape[d];
      st[2 * d] = 0;
      st[2 * d + 1] = xs[d];
    }
  _som_strided_copy (c->out[0]->data, x->data, _som_dtype_size (x->dtype), 2 * nd, shape, st, 0);
  return TRUE;
}

/* ---- Pad ------------------------------------------------------------------------- */

static gboolean
pad_params (SomOpCtx *c, gint64 *pads, double *value, const char **mode, GError **error)
{
  SomTensor *x = c->in[0];
  guint nd = x->ndim, n;

  *mode = _som_node_attr_string (c->node, "mode", "constant");
  *value = 0;
  if (c->node->opset < 11)
    {
      const gint64 *p = _som_node_attr_ints (c->node, "pads", &n);
      if (p == NULL)
        p = _som_node_attr_ints (c->node, "paddings", &n);
      if (p == NULL || n != 2 * nd)
        goto bad;
      memcpy (pads, p, n * sizeof (gint64));
      *value = _som_node_attr_float (c->node, "value", 0);
    }
  else
    {
      gint64 axes[SOM_ARRAY_MAX_DIMS];
      guint n_axes = nd;
      if (!_som_need_inputs (c, 2, error) || !_som_need_values (c, 1, error) || !_som_need_values (c, 2, error)
          || !_som_need_values (c, 3, error))
        return FALSE;
      if (c->n_in > 3 && c->in[3] != NULL)
        {
          n_axes = c->in[3]->n;
          if (n_axes > nd)
            goto bad;
          for (guint i = 0; i < n_axes; i++)
            {
              guint a;
              if (!_som_norm_axis (c, _som_tensor_get_i64 (c->in[3], i), nd, FALSE, &a, error))
                return FALSE;
              axes[i] = a;
            }
        }
      else
        for (guint i = 0; i < nd; i++)
          axes[i] = i;
      if (c->in[1]->n != 2 * n_axes)
        goto bad;
      memset (pads, 0, 2 * nd * sizeof (gint64));
      for (guint i = 0; i < n_axes; i++)
        {
          pads[axes[i]] = _som_tensor_get_i64 (c->in[1], i);
          pads[axes[i] + nd] = _som_tensor_get_i64 (c->in[1], i + n_axes);
        }
      if (c->n_in > 2 && c->in[2] != NULL && c->in[2]->n > 0)
        *value = _som_tensor_get_f64 (c->in[2], 0);
    }
  if (strcmp (*mode, "constant") != 0 && strcmp (*mode, "reflect") != 0 && strcmp (*mode, "edge") != 0)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "mode '%s' is not supported", *mode);
      return FALSE;
    }
  return TRUE;
bad:
  _som_op_error (c, error, SOM_ERROR_INVALID, "invalid pads");
  return FALSE;
}

static gboolean
pad_shape (SomOpCtx *c, GError **error)
{
  gint64 pads[2 * SOM_ARRAY_MAX_DIMS], shape[SOM_ARRAY_MAX_DIMS];
  double v;
  const char *mode;
  SomTensor *x;

  if (!_som_need_inputs (c, 1, error) || !pad_params (c, pads, &v, &mode, error))
    return FALSE;
  x = c->in[0];
  for (guint d = 0; d < x->ndim; d++)
    {
      gboolean overflow = __builtin_add_overflow (x->shape[d], pads[d], &shape[d])
                          || __builtin_add_overflow (shape[d], pads[d + x->ndim], &shape[d]);
      if (overflow || shape[d] < 0 || (strcmp (mode, "constant") != 0 && x->shape[d] == 0 && shape[d] > 0)
          || (strcmp (mode, "reflect") == 0 && (pads[d] >= x->shape[d] || pads[d + x->ndim] >= x->shape[d])
              && (pads[d] > 0 || pads[d + x->ndim] > 0)))
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "invalid pads for dimension %u", d);
          return FALSE;
        }
    }
  _som_set_shape (c->out[0], x->dtype, x->ndim, shape);
  return TRUE;
}

/* Constant padding, no pad negative: the output filled with the value, then
 * each row of the input copied into place (Inception's average pools are
 * exported as Pad + AveragePool; the per-element index arithmetic below was
 * 5 % of inception_v3's time).  FALSE, having done nothing, otherwise. */
static gboolean
pad_constant_rows (const SomTensor *x, SomTensor *y, const gint64 *pads, double v)
{
  guint nd = x->ndim;
  gint64 ys[SOM_ARRAY_MAX_DIMS], idx[SOM_ARRAY_MAX_DIMS] = { 0 };
  gsize es = _som_dtype_size (x->dtype), inner = x->shape[nd - 1], rows;

  for (guint d = 0; d < 2 * nd; d++)
    if (pads[d] < 0)
      return FALSE;
  if (y->dtype == SOM_DTYPE_F32 && (v != 0 || signbit (v)))
    for (gsize o = 0; o < y->n; o++)
      ((float *) y->data)[o] = (float) v;
  else if (y->dtype == SOM_DTYPE_I64 && (gint64) v != 0)
    for (gsize o = 0; o < y->n; o++)
      ((gint64 *) y->data)[o] = (gint64) v;
  else if (y->dtype == SOM_DTYPE_BOOL)
    memset (y->data, v != 0, y->n);
  else
    memset (y->data, 0, y->n * es);
  if (x->n == 0)
    return TRUE;
  _som_contiguous_strides (nd, y->shape, ys);
  rows = x->n / inner;
  for (gsize r = 0; r < rows; r++)
    {
      gint64 off = pads[nd - 1];
      for (guint d = 0; d + 1 < nd; d++)
        off += (idx[d] + pads[d]) * ys[d];
      memcpy ((guint8 *) y->data + off * es, (const guint8 *) x->data + r * inner * es, inner * es);
      for (int d = (int) nd - 2; d >= 0; d--)
        {
          if (++idx[d] < x->shape[d])
            break;
          idx[d] = 0;
        }
    }
  return TRUE;
}

static gboolean
pad_compute (SomOpCtx *c, GError **error)
{
  gint64 pads[2 * SOM_ARRAY_MAX_DIMS], xs[SOM_ARRAY_MAX_DIMS], idx[SOM_ARRAY_MAX_DIMS] = { 0 };
  double v;
  const char *mode;
  SomTensor *x = c->in[0], *y = c->out[0];
  guint nd = x->ndim;
  gsize es = _som_dtype_size (x->dtype);
  int m;

  pad_params (c, pads, &v, &mode, NULL);
  m = strcmp (mode, "constant") == 0 ? 0 : strcmp (mode, "reflect") == 0 ? 1 : 2;
  if (m == 0 && nd > 0 && pad_constant_rows (x, y, pads, v))
    return TRUE;
  _som_contiguous_strides (nd, x->shape, xs);
  for (gsize o = 0; o < y->n; o++)
    {
      gint64 off = 0;
      gboolean inside = TRUE;
      for (guint d = 0; d < nd; d++)
        {
          gint64 i = idx[d] - pads[d], n = x->shape[d];
          if (i < 0 || i >= n)
            {
              if (m == 0)
                inside = FALSE;
              else if (m == 2)
                i = i < 0 ? 0 : n - 1;
              else
                {
                  gint64 period = 2 * (n - 1);
                  if (period == 0)
                    i = 0;
                  else
                    {
                      i = i % period;
                      if (i < 0)
                        i += period;
                      if (i >= n)
                        i = period - i;
                    }
                }
            }
          off += i * xs[d];
        }
      if (inside)
        memcpy ((guint8 *) y->data + o * es, (guint8 *) x->data + off * es, es);
      else if (y->dtype == SOM_DTYPE_F32)
        ((float *) y->data)[o] = (float) v;
      else if (y->dtype == SOM_DTYPE_I64)
        ((gint64 *) y->data)[o] = (gint64) v;
      else
        ((guint8 *) y->data)[o] = v != 0;
      _som_index_next (idx, y->shape, nd);
    }
  return TRUE;
}

/* ---- the table -------------------------------------------------------------------- */

static const SomOpDef op_table[] = {
  { "Abs", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Acos", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Acosh", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Add", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "And", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "ArgMax", 0, _som_reduce_shape, _som_reduce_compute },
  { "ArgMin", 0, _som_reduce_shape, _som_reduce_compute },
  { "Asin", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Asinh", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Atan", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Atanh", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "AveragePool", 0, _som_pool_shape, _som_pool_compute },
  { "BatchNormalization", SOM_OP_INPLACE, _som_batchnorm_shape, _som_batchnorm_compute },
  { "Cast", 0, cast_shape, cast_compute },
  { "CastLike", 0, _som_castlike_shape, cast_compute },
  { "Ceil", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Celu", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Clip", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Compress", 0, _som_compress_shape, _som_compress_compute },
  { "Concat", 0, concat_shape, concat_compute },
  { "Constant", 0, constant_shape, constant_compute },
  { "ConstantOfShape", 0, constant_of_shape_shape, constant_of_shape_compute },
  { "Conv", 0, _som_conv_shape, _som_conv_compute },
  { "ConvTranspose", 0, _som_conv_transpose_shape, _som_conv_transpose_compute },
  { "Cos", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Cosh", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "CumSum", 0, _som_same_shape_shape, _som_cumsum_compute },
  { "DepthToSpace", 0, _som_depth_space_shape, _som_depth_space_compute },
  { "Div", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "Dropout", SOM_OP_VIEW, unary_shape, identity_compute },
  { "Einsum", 0, _som_einsum_shape, _som_einsum_compute },
  { "Elu", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Equal", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "Erf", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Exp", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Expand", 0, expand_shape, expand_compute },
  { "EyeLike", 0, _som_eyelike_shape, _som_eyelike_compute },
  { "Flatten", SOM_OP_VIEW, flatten_shape, NULL },
  { "Floor", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Gather", 0, gather_shape, gather_compute },
  { "GatherElements", 0, _som_gather_elements_shape, _som_gather_elements_compute },
  { "GatherND", 0, _som_gathernd_shape, _som_gathernd_compute },
  { "Gemm", 0, _som_gemm_shape, _som_gemm_compute },
  { "GlobalAveragePool", 0, _som_pool_shape, _som_pool_compute },
  { "GlobalMaxPool", 0, _som_pool_shape, _som_pool_compute },
  { "Greater", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "GreaterOrEqual", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "HardSigmoid", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "HardSwish", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Hardmax", 0, _som_same_shape_shape, _som_hardmax_compute },
  { "Identity", SOM_OP_VIEW, unary_shape, identity_compute },
  { "InstanceNormalization", 0, _som_instnorm_shape, _som_instnorm_compute },
  { "IsInf", 0, _som_isx_shape, _som_isx_compute },
  { "IsNaN", 0, _som_isx_shape, _som_isx_compute },
  { "LayerNormalization", 0, _som_layernorm_shape, _som_layernorm_compute },
  { "LRN", 0, _som_lrn_shape, _som_lrn_compute },
  { "LeakyRelu", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "MeanVarianceNormalization", 0, _som_same_shape_shape, _som_mvn_compute },
  { "ReverseSequence", 0, _som_reverse_sequence_shape, _som_reverse_sequence_compute },
  { "Det", 0, _som_det_shape, _som_det_compute },
  { "NonZero", 0, _som_nonzero_shape, _som_nonzero_compute },
  { "MaxUnpool", 0, _som_maxunpool_shape, _som_maxunpool_compute },
  { "HannWindow", 0, _som_window_fn_shape, _som_window_fn_compute },
  { "HammingWindow", 0, _som_window_fn_shape, _som_window_fn_compute },
  { "BlackmanWindow", 0, _som_window_fn_shape, _som_window_fn_compute },
  { "Less", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "LessOrEqual", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "Log", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "LogSoftmax", 0, _som_softmax_shape, _som_softmax_compute },
  { "MatMul", 0, _som_matmul_shape, _som_matmul_compute },
  { "Max", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "MaxPool", 0, _som_pool_shape, _som_pool_compute },
  { "Mean", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "Min", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "Mish", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Mod", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "Mul", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "Neg", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "NegativeLogLikelihoodLoss", 0, _som_loss_shape, _som_loss_compute },
  { "Not", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "OneHot", 0, _som_onehot_shape, _som_onehot_compute },
  { "Or", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "PRelu", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "Pad", 0, pad_shape, pad_compute },
  { "Pow", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "Range", 0, range_shape, range_compute },
  { "Reciprocal", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "ReduceL1", 0, _som_reduce_shape, _som_reduce_compute },
  { "ReduceL2", 0, _som_reduce_shape, _som_reduce_compute },
  { "ReduceLogSum", 0, _som_reduce_shape, _som_reduce_compute },
  { "ReduceLogSumExp", 0, _som_reduce_shape, _som_reduce_compute },
  { "ReduceMax", 0, _som_reduce_shape, _som_reduce_compute },
  { "ReduceMean", 0, _som_reduce_shape, _som_reduce_compute },
  { "ReduceMin", 0, _som_reduce_shape, _som_reduce_compute },
  { "ReduceProd", 0, _som_reduce_shape, _som_reduce_compute },
  { "ReduceSum", 0, _som_reduce_shape, _som_reduce_compute },
  { "ReduceSumSquare", 0, _som_reduce_shape, _som_reduce_compute },
  { "Relu", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Reshape", SOM_OP_VIEW, reshape_shape, NULL },
  { "Resize", 0, _som_resize_shape, _som_resize_compute },
  { "Round", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Scatter", 0, _som_scatter_elements_shape, _som_scatter_elements_compute },
  { "ScatterElements", 0, _som_scatter_elements_shape, _som_scatter_elements_compute },
  { "ScatterND", 0, _som_scatter_nd_shape, _som_scatter_nd_compute },
  { "Selu", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Shape", SOM_OP_SHAPE_ONLY, shape_shape, shape_compute },
  { "Shrink", 0, _som_same_shape_shape, _som_shrink_compute },
  { "Sigmoid", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Sign", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Sin", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Sinh", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Size", SOM_OP_SHAPE_ONLY, size_shape, size_compute },
  { "Slice", 0, slice_shape, slice_compute },
  { "Softmax", 0, _som_softmax_shape, _som_softmax_compute },
  { "SoftmaxCrossEntropyLoss", 0, _som_loss_shape, _som_loss_compute },
  { "Softplus", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Softsign", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "SpaceToDepth", 0, _som_depth_space_shape, _som_depth_space_compute },
  { "Split", 0, split_shape, split_compute },
  { "Sqrt", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Squeeze", SOM_OP_VIEW, squeeze_shape, NULL },
  { "Sub", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "Sum", SOM_OP_INPLACE, binary_shape, binary_compute },
  { "Tan", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Tanh", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "ThresholdedRelu", SOM_OP_INPLACE, unary_shape, unary_compute },
  { "Tile", 0, tile_shape, tile_compute },
  { "TopK", 0, _som_topk_shape, _som_topk_compute },
  { "Transpose", 0, transpose_shape, transpose_compute },
  { "Trilu", 0, _som_same_shape_shape, _som_trilu_compute },
  { "Unsqueeze", SOM_OP_VIEW, unsqueeze_shape, NULL },
  { "Upsample", 0, _som_resize_shape, _som_resize_compute },
  { "Where", 0, where_shape, where_compute },
  { "Xor", SOM_OP_INPLACE, binary_shape, binary_compute },
};

const SomOpDef *
_som_op_lookup (const char *op)
{
  for (guint i = 0; i < G_N_ELEMENTS (op_table); i++)
    if (strcmp (op_table[i].name, op) == 0)
      return &op_table[i];
  return NULL;
}

static const char *op_names[G_N_ELEMENTS (op_table) + 1];
static pthread_once_t op_names_once = PTHREAD_ONCE_INIT;

static void
make_op_names (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (op_table); i++)
    op_names[i] = op_table[i].name;
  op_names[G_N_ELEMENTS (op_table)] = NULL;
}

/* pthread_once rather than g_once, which ThreadSanitizer cannot see through
 * (som-ops-nn.c, get_pool). */
const char * const *
_som_op_names (void)
{
  pthread_once (&op_names_once, make_op_names);
  return op_names;
}
