/* som-grad.c: reverse-mode input gradients through the ONNX executor's graph
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "som-conv-direct.h"
#include "som-grad.h"
#include "som-grad-private.h"
#include "som-ops-private.h"

/* What a backward function sees: the node, its forward inputs and outputs
 * (constants included), the gradients of its outputs (NULL where none flows
 * back) and accumulators for the inputs that need a gradient (NULL for the
 * others).  Functions add into the accumulators, except where fresh[k] says
 * that din[k] holds no values yet: then they write it whole (and clear
 * fresh[k]), or take over the output gradient's buffer (steal_dout).  The
 * functions marked GRAD_ADD_ONLY in the table only add: the pass zeroes
 * their fresh accumulators first. */
typedef struct
{
  SomModel    *model;
  SomNode     *node;
  SomTensor  **in;
  SomTensor  **out;
  SomTensor  **dout;
  SomTensor  **din;
  gboolean    *fresh;
  SomTensor  **grads;   /* the pass's gradient table, by value id */
} GradCtx;

typedef gboolean (*GradFunc) (GradCtx *g, GError **error);

static gboolean
grad_error (GradCtx *g, GError **error, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
grad_error (GradCtx *g, GError **error, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED, "%s: node %s (%s): gradient: %s",
               som_model_get_path (g->model), g->node->name, g->node->op, msg);
  return FALSE;
}

static inline float *
F (SomTensor *t)
{
  return t != NULL ? (float *) t->data : NULL;
}

/* ---- elementwise helpers ------------------------------------------------------ */

typedef struct
{
  float *dst;
  const float *src;
} AddData;

static void
add_range (gsize b, gsize e, gpointer data)
{
  AddData *a = data;
  for (gsize i = b; i < e; i++)
    a->dst[i] += a->src[i];
}

static void
accumulate (SomTensor *dst, const float *src)
{
  AddData a = { dst->data, src };
  _som_parallel_for (dst->n, 1 << 16, add_range, &a);
}

/* din[k] = src when fresh, else din[k] += src */
static void
write_or_add (GradCtx *g, guint k, const float *src)
{
  if (g->fresh[k])
    {
      memcpy (g->din[k]->data, src, g->din[k]->n * sizeof (float));
      g->fresh[k] = FALSE;
    }
  else
    accumulate (g->din[k], src);
}

static void
zero_fresh (GradCtx *g, guint k)
{
  if (g->din[k] != NULL && g->fresh[k])
    {
      memset (g->din[k]->data, 0, g->din[k]->n * sizeof (float));
      g->fresh[k] = FALSE;
    }
}

/* Nobody but the gradient table holds @t's data. */
static gboolean
exclusive (SomTensor *t)
{
  return g_atomic_ref_count_compare (&t->ref, 1)
         && (t->base == NULL || g_atomic_ref_count_compare (&t->base->ref, 1));
}

/* When din[kin] is fresh and the gradient of output kout is held by the
 * table alone (it dies after this node), input kin's gradient becomes that
 * buffer, seen with the input's shape: no copy.  Returns whether it did;
 * din[kin] then holds dout[kout]'s values. */
static gboolean
steal_dout (GradCtx *g, guint kin, guint kout)
{
  SomTensor *d = g->dout[kout], *x = g->in[kin], *v;
  int id = g->node->in[kin];

  if (g->din[kin] == NULL || !g->fresh[kin] || d == NULL || d->n != x->n || d->dtype != SOM_DTYPE_F32
      || !exclusive (d))
    return FALSE;
  v = _som_tensor_view (d, x->ndim, x->shape);
  _som_tensor_unref (g->grads[id]);
  g->grads[id] = g->din[kin] = v;
  g->fresh[kin] = FALSE;
  return TRUE;
}

/* Views and identities: the gradient passes through element for element. */
static gboolean
grad_identity (GradCtx *g, GError **error)
{
  if (g->din[0] != NULL && g->dout[0] != NULL && !steal_dout (g, 0, 0))
    write_or_add (g, 0, g->dout[0]->data);
  return TRUE;
}

/* ---- unary ops ------------------------------------------------------------------ */

typedef enum
{
  G_RELU, G_SIGMOID, G_TANH, G_EXP, G_LOG, G_SQRT, G_NEG, G_ABS, G_RECIP, G_SOFTPLUS, G_SOFTSIGN,
  G_LEAKY, G_ELU, G_SELU, G_CELU, G_HARDSIGMOID, G_HARDSWISH, G_CLIP, G_SIN, G_COS, G_ERF, G_THRESH,
  G_MISH, G_TAN, G_SINH, G_COSH, G_ASIN, G_ACOS, G_ATAN, G_ASINH, G_ACOSH, G_ATANH, G_SHRINK,
} GUnOp;

static const struct { const char *name; GUnOp op; } grad_unary_ops[] = {
  { "Relu", G_RELU }, { "Sigmoid", G_SIGMOID }, { "Tanh", G_TANH }, { "Exp", G_EXP }, { "Log", G_LOG },
  { "Sqrt", G_SQRT }, { "Neg", G_NEG }, { "Abs", G_ABS }, { "Reciprocal", G_RECIP },
  { "Softplus", G_SOFTPLUS }, { "Softsign", G_SOFTSIGN }, { "LeakyRelu", G_LEAKY }, { "Elu", G_ELU },
  { "Selu", G_SELU }, { "Celu", G_CELU }, { "HardSigmoid", G_HARDSIGMOID }, { "HardSwish", G_HARDSWISH },
  { "Clip", G_CLIP }, { "Sin", G_SIN }, { "Cos", G_COS }, { "Erf", G_ERF }, { "ThresholdedRelu", G_THRESH },
  { "Mish", G_MISH }, { "Tan", G_TAN }, { "Sinh", G_SINH }, { "Cosh", G_COSH }, { "Asin", G_ASIN },
  { "Acos", G_ACOS }, { "Atan", G_ATAN }, { "Asinh", G_ASINH }, { "Acosh", G_ACOSH }, { "Atanh", G_ATANH },
  { "Shrink", G_SHRINK },
};

typedef struct
{
  GUnOp op;
  gboolean assign;
  float alpha, beta, gamma, lo, hi;
  const float *x, *y, *dy;
  float *dx;
} UnGrad;

/* Relu: the output gradient where the output is positive (y > 0 exactly
 * where x > 0); dx may be dy itself.  A bit mask, four lanes at a time
 * (GCC/Clang vector extensions): no branch on the sign, which is random. */
typedef float RVec __attribute__ ((vector_size (16)));
typedef gint32 RMask __attribute__ ((vector_size (16)));

static void
relu_grad_range (gsize b, gsize e, gpointer data)
{
  UnGrad *u = data;
  const float *y = u->y, *dy = u->dy;
  float *dx = u->dx;
  const RVec zero = { 0 };
  gsize i = b;

  for (; i + 4 <= e; i += 4)
    {
      RVec vy, vd, vx;
      RMask m;
      memcpy (&vy, y + i, sizeof vy);
      memcpy (&vd, dy + i, sizeof vd);
      m = vy > zero;
      vd = (RVec) ((RMask) vd & m);
      if (!u->assign)
        {
          memcpy (&vx, dx + i, sizeof vx);
          vd += vx;
        }
      memcpy (dx + i, &vd, sizeof vd);
    }
  for (; i < e; i++)
    {
      float v = y[i] > 0.0f ? dy[i] : 0.0f;
      dx[i] = u->assign ? v : dx[i] + v;
    }
}

static void
unary_grad_range (gsize b, gsize e, gpointer data)
{
  UnGrad *u = data;
  const float *x = u->x, *y = u->y, *dy = u->dy;
  float *dx = u->dx;
  float a = u->alpha;

  for (gsize i = b; i < e; i++)
    {
      float d;
      switch (u->op)
        {
        case G_RELU: d = x[i] > 0 ? 1.0f : 0.0f; break;
        case G_SIGMOID: d = y[i] * (1.0f - y[i]); break;
        case G_TANH: d = 1.0f - y[i] * y[i]; break;
        case G_EXP: d = y[i]; break;
        case G_LOG: d = 1.0f / x[i]; break;
        case G_SQRT: d = 0.5f / y[i]; break;
        case G_NEG: d = -1.0f; break;
        case G_ABS: d = x[i] > 0 ? 1.0f : x[i] < 0 ? -1.0f : 0.0f; break;
        case G_RECIP: d = -y[i] * y[i]; break;
        case G_SOFTPLUS: d = 1.0f / (1.0f + expf (-x[i])); break;
        case G_SOFTSIGN: { float t = 1.0f + fabsf (x[i]); d = 1.0f / (t * t); } break;
        case G_LEAKY: d = x[i] >= 0 ? 1.0f : a; break;
        case G_ELU: d = x[i] >= 0 ? 1.0f : y[i] + a; break;
        case G_SELU: d = x[i] > 0 ? u->gamma : u->gamma * a * expf (x[i]); break;
        case G_CELU: d = x[i] > 0 ? 1.0f : expf (x[i] / a); break;
        case G_HARDSIGMOID: { float t = a * x[i] + u->beta; d = t > 0 && t < 1 ? a : 0.0f; } break;
        case G_HARDSWISH:
          d = x[i] < -3.0f ? 0.0f : x[i] > 3.0f ? 1.0f : x[i] / 3.0f + 0.5f;
          break;
        case G_CLIP: d = x[i] >= u->lo && x[i] <= u->hi ? 1.0f : 0.0f; break;
        case G_SIN: d = cosf (x[i]); break;
        case G_COS: d = -sinf (x[i]); break;
        case G_ERF: d = 1.1283791670955126f * expf (-x[i] * x[i]); break;
        case G_THRESH: d = x[i] > a ? 1.0f : 0.0f; break;
        case G_MISH:
          {
            float sp = x[i] > 20 ? x[i] : log1pf (expf (x[i]));
            float t = tanhf (sp), s = 1.0f / (1.0f + expf (-x[i]));
            d = t + x[i] * (1.0f - t * t) * s;
          }
          break;
        case G_TAN: d = 1.0f + y[i] * y[i]; break;
        case G_SINH: d = coshf (x[i]); break;
        case G_COSH: d = sinhf (x[i]); break;
        case G_ASIN: d = 1.0f / sqrtf (1.0f - x[i] * x[i]); break;
        case G_ACOS: d = -1.0f / sqrtf (1.0f - x[i] * x[i]); break;
        case G_ATAN: d = 1.0f / (1.0f + x[i] * x[i]); break;
        case G_ASINH: d = 1.0f / sqrtf (x[i] * x[i] + 1.0f); break;
        case G_ACOSH: d = 1.0f / sqrtf (x[i] * x[i] - 1.0f); break;
        case G_ATANH: d = 1.0f / (1.0f - x[i] * x[i]); break;
        case G_SHRINK: d = x[i] > a || x[i] < -a ? 1.0f : 0.0f; break;
        default: d = 0.0f;
        }
      if (u->assign)
        dx[i] = dy[i] * d;
      else
        dx[i] += dy[i] * d;
    }
}

static gboolean
grad_unary (GradCtx *g, GError **error)
{
  UnGrad u = { 0 };
  SomNode *n = g->node;

  if (g->din[0] == NULL || g->dout[0] == NULL)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (grad_unary_ops); i++)
    if (strcmp (n->op, grad_unary_ops[i].name) == 0)
      u.op = grad_unary_ops[i].op;
  switch (u.op)
    {
    case G_LEAKY: u.alpha = _som_node_attr_float (n, "alpha", 0.01f); break;
    case G_ELU: case G_CELU: case G_THRESH: u.alpha = _som_node_attr_float (n, "alpha", 1.0f); break;
    case G_SHRINK: u.alpha = _som_node_attr_float (n, "lambd", 0.5f); break;
    case G_SELU:
      u.alpha = _som_node_attr_float (n, "alpha", 1.67326319217681884765625f);
      u.gamma = _som_node_attr_float (n, "gamma", 1.05070102214813232421875f);
      break;
    case G_HARDSIGMOID:
      u.alpha = _som_node_attr_float (n, "alpha", 0.2f);
      u.beta = _som_node_attr_float (n, "beta", 0.5f);
      break;
    case G_CLIP:
      if (n->opset < 11)
        {
          u.lo = _som_node_attr_float (n, "min", -INFINITY);
          u.hi = _som_node_attr_float (n, "max", INFINITY);
        }
      else
        {
          u.lo = n->n_in > 1 && g->in[1] != NULL ? (float) _som_tensor_get_f64 (g->in[1], 0) : -INFINITY;
          u.hi = n->n_in > 2 && g->in[2] != NULL ? (float) _som_tensor_get_f64 (g->in[2], 0) : INFINITY;
        }
      break;
    default: break;
    }
  u.x = g->in[0]->data;
  u.y = g->out[0]->data;
  u.dy = g->dout[0]->data;
  /* write in place over the dying output gradient when possible */
  u.assign = g->fresh[0];
  steal_dout (g, 0, 0);
  g->fresh[0] = FALSE;
  u.dx = g->din[0]->data;
  _som_parallel_for (g->din[0]->n, 1 << 14, u.op == G_RELU ? relu_grad_range : unary_grad_range, &u);
  return TRUE;
}

/* ---- broadcasting binary and variadic ops ------------------------------------- */

typedef enum { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN, B_MEAN, B_PRELU, B_MOD } GBinOp;

typedef struct
{
  GBinOp op;
  guint ndim, n_in;
  const gint64 *shape;
  gint64 st[8][SOM_ARRAY_MAX_DIMS];
  const float *x[8];
  float *dx[8];
  const float *y, *dy;
} BinGrad;

static void
binary_grad_range (gsize b, gsize e, gpointer data)
{
  BinGrad *bg = data;
  gint64 idx[SOM_ARRAY_MAX_DIMS];
  gint64 off[8] = { 0 };
  gsize rem = b;

  for (int d = (int) bg->ndim - 1; d >= 0; d--)
    {
      idx[d] = rem % bg->shape[d];
      rem /= bg->shape[d];
    }
  for (guint k = 0; k < bg->n_in; k++)
    for (guint d = 0; d < bg->ndim; d++)
      off[k] += idx[d] * bg->st[k][d];

  for (gsize i = b; i < e; i++)
    {
      float gy = bg->dy[i];
      switch (bg->op)
        {
        case B_ADD:
        case B_MEAN:
          {
            float s = bg->op == B_MEAN ? gy / bg->n_in : gy;
            for (guint k = 0; k < bg->n_in; k++)
              if (bg->dx[k])
                bg->dx[k][off[k]] += s;
          }
          break;
        case B_SUB:
          if (bg->dx[0]) bg->dx[0][off[0]] += gy;
          if (bg->dx[1]) bg->dx[1][off[1]] -= gy;
          break;
        case B_MUL:
          {
            float a = bg->x[0][off[0]], c = bg->x[1][off[1]];
            if (bg->dx[0]) bg->dx[0][off[0]] += gy * c;
            if (bg->dx[1]) bg->dx[1][off[1]] += gy * a;
          }
          break;
        case B_DIV:
          {
            float a = bg->x[0][off[0]], c = bg->x[1][off[1]];
            if (bg->dx[0]) bg->dx[0][off[0]] += gy / c;
            if (bg->dx[1]) bg->dx[1][off[1]] -= gy * a / (c * c);
          }
          break;
        case B_POW:
          {
            float a = bg->x[0][off[0]], c = bg->x[1][off[1]];
            if (bg->dx[0]) bg->dx[0][off[0]] += gy * c * powf (a, c - 1.0f);
            if (bg->dx[1] && a > 0) bg->dx[1][off[1]] += gy * bg->y[i] * logf (a);
          }
          break;
        case B_MAX:
        case B_MIN:
          /* the first input that equals the result takes the gradient */
          for (guint k = 0; k < bg->n_in; k++)
            if (bg->x[k][off[k]] == bg->y[i])
              {
                if (bg->dx[k])
                  bg->dx[k][off[k]] += gy;
                break;
              }
          break;
        case B_MOD:
          {
            /* y = a − q·b with q whole (truncated or floored): ∂y/∂a = 1, ∂y/∂b = −q */
            float a = bg->x[0][off[0]], c = bg->x[1][off[1]];
            if (bg->dx[0]) bg->dx[0][off[0]] += gy;
            if (bg->dx[1] && c != 0) bg->dx[1][off[1]] -= gy * nearbyintf ((a - bg->y[i]) / c);
          }
          break;
        case B_PRELU:
          {
            float a = bg->x[0][off[0]], s = bg->x[1][off[1]];
            if (bg->dx[0]) bg->dx[0][off[0]] += a >= 0 ? gy : gy * s;
            if (bg->dx[1] && a < 0) bg->dx[1][off[1]] += gy * a;
          }
          break;
        }
      for (int d = (int) bg->ndim - 1; d >= 0; d--)
        {
          for (guint k = 0; k < bg->n_in; k++)
            off[k] += bg->st[k][d];
          if (++idx[d] < bg->shape[d])
            break;
          for (guint k = 0; k < bg->n_in; k++)
            off[k] -= bg->st[k][d] * bg->shape[d];
          idx[d] = 0;
        }
    }
}

typedef struct
{
  float *dst;
  const float *src;
  float scale;
  gboolean assign;
} Axpy;

static void
axpy_range (gsize b, gsize e, gpointer data)
{
  Axpy *a = data;
  float s = a->scale;

  if (a->assign)
    for (gsize i = b; i < e; i++)
      a->dst[i] = s * a->src[i];
  else
    for (gsize i = b; i < e; i++)
      a->dst[i] += s * a->src[i];
}

/* din[k] (=|+=) scale · src */
static void
write_or_add_scaled (GradCtx *g, guint k, const float *src, float scale)
{
  Axpy a = { g->din[k]->data, src, scale, g->fresh[k] };

  if (scale == 1.0f)
    {
      write_or_add (g, k, src);
      return;
    }
  _som_parallel_for (g->din[k]->n, 1 << 14, axpy_range, &a);
  g->fresh[k] = FALSE;
}

static gboolean
grad_binary (GradCtx *g, GError **error)
{
  static const struct { const char *name; GBinOp op; } map[] = {
    { "Add", B_ADD }, { "Sum", B_ADD }, { "Sub", B_SUB }, { "Mul", B_MUL }, { "Div", B_DIV },
    { "Pow", B_POW }, { "Max", B_MAX }, { "Min", B_MIN }, { "Mean", B_MEAN }, { "PRelu", B_PRELU },
    { "Mod", B_MOD },
  };
  BinGrad bg = { 0 };
  SomTensor *y = g->out[0];
  gboolean parallel = TRUE;
  g_autoptr(SomTensor) expo = NULL;

  if (g->dout[0] == NULL)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (strcmp (g->node->op, map[i].name) == 0)
      bg.op = map[i].op;
  if (bg.op == B_ADD || bg.op == B_SUB || bg.op == B_MEAN)
    {
      /* no broadcasting: each input's gradient is ± the output's (÷ n) */
      gboolean same = TRUE;
      guint n_in = 0;
      for (guint k = 0; k < g->node->n_in; k++)
        if (g->in[k] != NULL)
          {
            n_in++;
            if (g->in[k]->dtype != SOM_DTYPE_F32 || g->in[k]->n != y->n)
              same = FALSE;
          }
      if (same)
        {
          int stolen = -1;
          for (guint k = 0; k < g->node->n_in; k++)
            {
              float scale = bg.op == B_MEAN ? 1.0f / n_in : bg.op == B_SUB && k == 1 ? -1.0f : 1.0f;
              if (g->din[k] == NULL)
                continue;
              if (scale == 1.0f && stolen < 0 && steal_dout (g, k, 0))
                stolen = k;
              else
                write_or_add_scaled (g, k, g->dout[0]->data, scale);
            }
          return TRUE;
        }
    }
  for (guint k = 0; k < g->node->n_in; k++)
    zero_fresh (g, k);
  bg.ndim = y->ndim;
  bg.shape = y->shape;
  bg.y = y->data;
  bg.dy = g->dout[0]->data;
  for (guint k = 0; k < g->node->n_in; k++)
    {
      SomTensor *t = g->in[k];
      if (t == NULL)
        continue;
      if (bg.n_in == 8)
        return grad_error (g, error, "more than 8 inputs");
      if (t->dtype != SOM_DTYPE_F32)
        {
          /* Pow with an integer exponent */
          if (bg.op != B_POW || k != 1)
            return grad_error (g, error, "non-float input");
          expo = _som_tensor_new (SOM_DTYPE_F32, t->ndim, t->shape, error);
          if (expo == NULL)
            return FALSE;
          for (gsize i = 0; i < t->n; i++)
            F (expo)[i] = (float) _som_tensor_get_f64 (t, i);
          t = expo;
        }
      _som_broadcast_strides (t, bg.ndim, bg.shape, bg.st[bg.n_in]);
      bg.x[bg.n_in] = t->data;
      bg.dx[bg.n_in] = F (g->din[k]);
      if (g->din[k] != NULL && g->din[k]->n != y->n)
        parallel = FALSE;
      bg.n_in++;
    }
  if (parallel)
    _som_parallel_for (y->n, 1 << 14, binary_grad_range, &bg);
  else
    binary_grad_range (0, y->n, &bg);
  return TRUE;
}

/* Expand: the gradient sums over the broadcast dimensions. */
static gboolean
grad_expand (GradCtx *g, GError **error)
{
  BinGrad bg = { 0 };

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  bg.op = B_ADD;
  bg.ndim = g->out[0]->ndim;
  bg.shape = g->out[0]->shape;
  bg.dy = g->dout[0]->data;
  bg.n_in = 1;
  bg.x[0] = g->in[0]->data;
  bg.dx[0] = g->din[0]->data;
  _som_broadcast_strides (g->in[0], bg.ndim, bg.shape, bg.st[0]);
  binary_grad_range (0, g->out[0]->n, &bg);
  return TRUE;
}

/* ---- Conv and pools ---------------------------------------------------------------- */

typedef struct
{
  const float *dcols;    /* K × ncols */
  float *dx;             /* image 0 of the chunk, group offset applied */
  gint64 img_stride, Cg, cnt, ncols;
  gboolean zero;         /* the volumes hold no values yet */
  const SomWindow *w;
} Col2im;

/* The valid output positions [lo, hi) of kernel tap @k along one axis:
 * 0 <= o·s − pb + k·d < in. */
static inline void
tap_range (gint64 k, gint64 s, gint64 d, gint64 pb, gint64 in, gint64 out, gint64 *lo, gint64 *hi)
{
  gint64 off = k * d - pb;
  gint64 a = off >= 0 ? 0 : (-off + s - 1) / s;
  gint64 b = in - off <= 0 ? 0 : (in - off - 1) / s + 1;

  *lo = MIN (a, out);
  *hi = CLAMP (b, *lo, out);
}

/* One (image, channel) volume per item: no two items write the same pixel.
 * Loops run over the valid range of each kernel tap, without tests; 1-, 2-
 * and 3-D windows alike (unused leading slots have size 1). */
static void
col2im_range (gsize b, gsize e, gpointer data)
{
  Col2im *ci = data;
  const SomWindow *w = ci->w;
  gint64 D = w->in[0], H = w->in[1], W = w->in[2], OD = w->out[0], OH = w->out[1], OW = w->out[2];
  gint64 ovol = OD * OH * OW, sw = w->s[2];

  for (gsize item = b; item < e; item++)
    {
      gint64 img = item / ci->Cg, cc = item % ci->Cg;
      float *dst = ci->dx + img * ci->img_stride + cc * D * H * W;
      if (ci->zero)
        memset (dst, 0, D * H * W * sizeof (float));
      for (gint64 ka = 0; ka < w->k[0]; ka++)
        {
          gint64 od0, od1;
          tap_range (ka, w->s[0], w->d[0], w->pb[0], D, OD, &od0, &od1);
          for (gint64 ki = 0; ki < w->k[1]; ki++)
            {
              gint64 oh0, oh1;
              tap_range (ki, w->s[1], w->d[1], w->pb[1], H, OH, &oh0, &oh1);
              for (gint64 kj = 0; kj < w->k[2]; kj++)
                {
                  gint64 row = ((cc * w->k[0] + ka) * w->k[1] + ki) * w->k[2] + kj;
                  const float *src = ci->dcols + row * ci->ncols + img * ovol;
                  gint64 ow0, ow1, offw = kj * w->d[2] - w->pb[2];
                  tap_range (kj, sw, w->d[2], w->pb[2], W, OW, &ow0, &ow1);
                  for (gint64 od = od0; od < od1; od++)
                    {
                      gint64 id = od * w->s[0] - w->pb[0] + ka * w->d[0];
                      for (gint64 oh = oh0; oh < oh1; oh++)
                        {
                          const float *srow = src + (od * OH + oh) * OW;
                          float *drow = dst + (id * H + oh * w->s[1] - w->pb[1] + ki * w->d[1]) * W + offw;
                          if (sw == 1)
                            for (gint64 ow = ow0; ow < ow1; ow++)
                              drow[ow] += srow[ow];
                          else
                            for (gint64 ow = ow0; ow < ow1; ow++)
                              drow[ow * sw] += srow[ow];
                        }
                    }
                }
            }
        }
    }
}

typedef struct
{
  const float *dy, *wt;
  float *dx;
  gint64 C;
  const SomWindow *w;
} DwGrad;

static void
depthwise_grad_range (gsize b, gsize e, gpointer data)
{
  DwGrad *dg = data;
  const SomWindow *w = dg->w;
  gint64 D = w->in[0], H = w->in[1], W = w->in[2], OD = w->out[0], OH = w->out[1], OW = w->out[2];
  gint64 KD = w->k[0], KH = w->k[1], KW = w->k[2];

  for (gsize plane = b; plane < e; plane++)
    {
      gint64 ch = plane % dg->C;
      const float *src = dg->dy + plane * OD * OH * OW;
      const float *k = dg->wt + ch * KD * KH * KW;
      float *dst = dg->dx + plane * D * H * W;
      for (gint64 od = 0; od < OD; od++)
        for (gint64 oh = 0; oh < OH; oh++)
          for (gint64 ow = 0; ow < OW; ow++)
            {
              float gy = src[(od * OH + oh) * OW + ow];
              if (gy == 0.0f)
                continue;
              for (gint64 a = 0; a < KD; a++)
                {
                  gint64 id = od * w->s[0] - w->pb[0] + a * w->d[0];
                  if (id < 0 || id >= D)
                    continue;
                  for (gint64 i = 0; i < KH; i++)
                    {
                      gint64 ih = oh * w->s[1] - w->pb[1] + i * w->d[1];
                      if (ih < 0 || ih >= H)
                        continue;
                      for (gint64 j = 0; j < KW; j++)
                        {
                          gint64 iw = ow * w->s[2] - w->pb[2] + j * w->d[2];
                          if (iw >= 0 && iw < W)
                            dst[(id * H + ih) * W + iw] += gy * k[(a * KH + i) * KW + j];
                        }
                    }
                }
            }
    }
}

/* @node: a copy of the gradient's node with two inputs, one output and the
 * Conv attributes strides, dilations, pads (2·@nsp entries) and group, which
 * it reads from @attrs (4 entries). */
static void
conv_node (GradCtx *g, SomNode *node, SomAttr *attrs, gint64 *strides, gint64 *dil, gint64 *pads, guint nsp,
           gint64 group)
{
  attrs[0] = (SomAttr) { .name = (char *) "strides", .type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
                         .ints = strides, .n_ints = nsp };
  attrs[1] = (SomAttr) { .name = (char *) "dilations", .type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
                         .ints = dil, .n_ints = nsp };
  attrs[2] = (SomAttr) { .name = (char *) "pads", .type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
                         .ints = pads, .n_ints = 2 * nsp };
  attrs[3] = (SomAttr) { .name = (char *) "group", .type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
                         .i = group };
  _som_node_copy (node, g->node);
  node->attrs = attrs;
  node->n_attrs = 4;
  node->n_in = 2;
  node->n_out = 1;
}

/* A stride-1 convolution's input gradient is itself a stride-1 convolution:
 * of dY with the weights flipped in space and with input and output channels
 * swapped (per group), padded by (k−1)·d − pads.  The forward Conv kernel
 * computes it, with whatever it does best for the shape.  FALSE with no
 * error when the geometry does not allow it (pads larger than the window). */
static gboolean
conv_grad_by_conv (GradCtx *g, gboolean *done, GError **error)
{
  SomTensor *x = g->in[0], *wt = g->in[1], *dy = g->dout[0];
  guint nsp = x->ndim - 2, n;
  gint64 group = _som_node_attr_int (g->node, "group", 1);
  gint64 strides[3], dil[3], pads[6], kvol = 1, M = wt->shape[0], C = x->shape[1], Mg, Cg;
  const gint64 *v;
  SomAttr attrs[4];
  SomNode node;
  SomTensor *ins[2], *outs[1];
  SomOpCtx c;
  g_autoptr(SomTensor) wflip = NULL;
  g_autoptr(SomTensor) tmp = NULL;
  SomTensor *dx;
  const char *auto_pad = _som_node_attr_string (g->node, "auto_pad", "NOTSET");

  *done = FALSE;
  if (nsp < 1 || nsp > 3 || group <= 0 || M % group != 0 || C % group != 0)
    return TRUE;
  for (guint i = 0; i < nsp; i++)
    {
      strides[i] = 1;
      dil[i] = 1;
      pads[i] = pads[i + nsp] = 0;
    }
  if ((v = _som_node_attr_ints (g->node, "strides", &n)) != NULL)
    {
      if (n != nsp)
        return TRUE;
      for (guint i = 0; i < nsp; i++)
        if (v[i] != 1)
          return TRUE;
    }
  if ((v = _som_node_attr_ints (g->node, "dilations", &n)) != NULL)
    {
      if (n != nsp)
        return TRUE;
      memcpy (dil, v, nsp * sizeof (gint64));
    }
  for (guint i = 0; i < nsp; i++)
    {
      /* the begin pad from the forward geometry (auto_pad included): with
       * stride 1, out = in + pb + pe − ek + 1 */
      gint64 ek = (wt->shape[2 + i] - 1) * dil[i] + 1, in = x->shape[2 + i], out = dy->shape[2 + i], pb;
      if (strcmp (auto_pad, "NOTSET") == 0 || strcmp (auto_pad, "VALID") == 0)
        {
          guint np;
          const gint64 *pv = _som_node_attr_ints (g->node, "pads", &np);
          pb = strcmp (auto_pad, "NOTSET") == 0 && pv != NULL && np == 2 * nsp ? pv[i] : 0;
        }
      else if (g_str_has_prefix (auto_pad, "SAME"))
        {
          gint64 total = MAX (0, out - 1 + ek - in);
          pb = auto_pad[5] == 'U' ? total / 2 : total - total / 2;
        }
      else
        return TRUE;
      pads[i] = ek - 1 - pb;
      pads[i + nsp] = in - out + pb;         /* ek − 1 − pe */
      if (pads[i] < 0 || pads[i + nsp] < 0)
        return TRUE;
      kvol *= wt->shape[2 + i];
    }
  Mg = M / group;
  Cg = C / group;
  {
    gint64 shape[SOM_ARRAY_MAX_DIMS];
    const float *src;
    float *dst;
    shape[0] = C;
    shape[1] = Mg;
    for (guint i = 0; i < nsp; i++)
      shape[2 + i] = wt->shape[2 + i];
    wflip = _som_tensor_new (SOM_DTYPE_F32, wt->ndim, shape, error);
    if (wflip == NULL)
      return FALSE;
    src = wt->data;
    dst = wflip->data;
    for (gint64 gr = 0; gr < group; gr++)
      for (gint64 m = 0; m < Mg; m++)
        for (gint64 cc = 0; cc < Cg; cc++)
          {
            const float *s = src + ((gr * Mg + m) * Cg + cc) * kvol;
            float *d = dst + ((gr * Cg + cc) * Mg + m) * kvol;
            for (gint64 k = 0; k < kvol; k++)
              d[kvol - 1 - k] = s[k];
          }
  }
  if (g->fresh[0])
    dx = g->din[0];
  else
    {
      tmp = _som_tensor_new (SOM_DTYPE_F32, x->ndim, x->shape, error);
      if (tmp == NULL)
        return FALSE;
      dx = tmp;
    }
  conv_node (g, &node, attrs, strides, dil, pads, nsp, group);
  ins[0] = dy;
  ins[1] = wflip;
  outs[0] = dx;
  c = (SomOpCtx) { g->model, &node, ins, outs, 2, 1, som_model_get_path (g->model) };
  if (!_som_conv_compute (&c, error))
    return FALSE;
  if (dx == g->din[0])
    g->fresh[0] = FALSE;
  else
    accumulate (g->din[0], dx->data);
  *done = TRUE;
  return TRUE;
}

static gboolean
grad_conv (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0], *wt = g->in[1], *dyt = g->dout[0];
  gint64 group = _som_node_attr_int (g->node, "group", 1);
  gint64 kernel[3] = { 1, 1, 1 };
  gint64 N, C, M, Cg, Mg, K, ohw, hw, nb;
  gboolean done;
  SomWindow w;
  SomOpCtx c = { g->model, g->node, g->in, g->out, g->node->n_in, g->node->n_out, som_model_get_path (g->model) };
  float *dcols, *tmp;

  if (dyt == NULL)
    return TRUE;
  if (g->din[1] != NULL || (g->node->n_in > 2 && g->din[2] != NULL))
    return grad_error (g, error, "weights that depend on the input are not supported");
  if (g->din[0] == NULL)
    return TRUE;
  for (guint i = 2; i < wt->ndim; i++)
    kernel[i - 2] = wt->shape[i];
  /* the forward pass's own window (pads, auto_pad, strides, dilations) */
  if (!_som_window_params (&c, x, kernel, FALSE, &w, error))
    return FALSE;
  for (guint i = 0; i < w.nsp; i++)
    if (w.out[3 - w.nsp + i] != g->out[0]->shape[2 + i])
      return grad_error (g, error, "the window does not give the output's shape");
  N = x->shape[0];
  C = x->shape[1];
  M = wt->shape[0];
  /* Few channels on a small plane: the direct kernel, any stride */
  if (group == 1 && w.nsp <= 2 && w.d[1] == 1 && w.d[2] == 1 && C >= 8 && N > 0
      && g_getenv ("SOMSCOPE_NO_DIRECT") == NULL)
    {
      SomConvGeom cg = { N, C, w.in[1], w.in[2], M, w.k[1], w.k[2], w.s[1], w.s[2], w.pb[1], w.pb[2], w.out[1],
                         w.out[2] };
      SomValue *wv = _som_model_get_value (g->model, g->node->in[1]);
      /* kept on the node when the weights are the model's constant */
      gboolean constant = wv != NULL && wv->constant != NULL && wv->constant->data == wt->data
                          && _som_model_get_node (g->model, g->node->index) == g->node;
      if (_som_direct_conv_fits (&cg)
          && _som_direct_conv_grad_input (&cg, dyt->data, wt->data, g->din[0]->data, !g->fresh[0],
                                          constant ? &g->node->direct_grad_cache : NULL))
        {
          g->fresh[0] = FALSE;
          return TRUE;
        }
    }
  /* By the forward Conv when it has at least as many output channels as
   * input channels (its im2col copies dY's channels); else (the first
   * layer: 1 or 3 channels in) sgemm and col2im, which copy the fewer. */
  if (M <= C)
    {
      if (!conv_grad_by_conv (g, &done, error))
        return FALSE;
      if (done)
        return TRUE;
    }
  Cg = C / group;
  Mg = M / group;
  K = Cg * w.k[0] * w.k[1] * w.k[2];
  ohw = w.out[0] * w.out[1] * w.out[2];
  hw = w.in[0] * w.in[1] * w.in[2];
  if (N == 0 || ohw == 0)
    {
      zero_fresh (g, 0);
      return TRUE;
    }

  if (group == C && group == M)
    {
      DwGrad dg = { dyt->data, wt->data, g->din[0]->data, C, &w };
      zero_fresh (g, 0);
      _som_parallel_for (N * C, 4, depthwise_grad_range, &dg);
      return TRUE;
    }

  /* dcols = Wᵀ·dY over a chunk of images (≥ 256 columns for sgemm, columns
   * that stay in cache when that allows), then col2im into dX */
  nb = MAX ((256 + ohw - 1) / ohw, (256 << 10) / MAX (K * ohw, 1));
  nb = CLAMP (nb, 1, N);
  dcols = _som_buffer_alloc (sizeof (float) * K * nb * ohw);
  tmp = _som_buffer_alloc (sizeof (float) * Mg * nb * ohw);
  if (dcols == NULL || tmp == NULL)
    {
      _som_buffer_free (dcols);
      _som_buffer_free (tmp);
      return grad_error (g, error, "out of memory for the gradient buffers");
    }
  for (gint64 n0 = 0; n0 < N; n0 += nb)
    {
      gint64 cnt = MIN (nb, N - n0), ncols = cnt * ohw;
      for (gint64 gr = 0; gr < group; gr++)
        {
          const float *wg = (const float *) wt->data + gr * Mg * K;
          Col2im ci = { dcols, F (g->din[0]) + (n0 * C + gr * Cg) * hw, C * hw, Cg, cnt, ncols, g->fresh[0], &w };
          /* dY of this group as Mg × (cnt·ohw) */
          for (gint64 i = 0; i < cnt; i++)
            for (gint64 m = 0; m < Mg; m++)
              memcpy (tmp + m * ncols + i * ohw, F (dyt) + ((n0 + i) * M + gr * Mg + m) * ohw,
                      ohw * sizeof (float));
          cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, K, ncols, Mg, 1.0f, wg, K, tmp, ncols,
                       0.0f, dcols, ncols);
          _som_parallel_for (cnt * Cg, 2, col2im_range, &ci);
        }
    }
  g->fresh[0] = FALSE;
  _som_buffer_free (dcols);
  _som_buffer_free (tmp);
  return TRUE;
}

typedef struct
{
  const float *x, *dy;
  float *dx;
  const SomWindow *w;
  gboolean max, include_pad;
} PoolGrad;

/* One (image, channel) volume per item; 1-, 2- and 3-D windows alike (the
 * unused leading slots have size 1). */
static void
pool_grad_range (gsize b, gsize e, gpointer data)
{
  PoolGrad *p = data;
  const SomWindow *w = p->w;
  gint64 D = w->in[0], H = w->in[1], W = w->in[2], OD = w->out[0], OH = w->out[1], OW = w->out[2];
  SomWindowTaps *taps[3];
  g_autofree SomWindowTaps *table = NULL;

  _som_window_taps (w, taps);
  table = taps[0];
  for (gsize plane = b; plane < e; plane++)
    {
      const float *src = p->x + plane * D * H * W;
      const float *gy = p->dy + plane * OD * OH * OW;
      float *dst = p->dx + plane * D * H * W;
      for (gint64 od = 0; od < OD; od++)
        for (gint64 oh = 0; oh < OH; oh++)
          for (gint64 ow = 0; ow < OW; ow++)
            {
              const SomWindowTaps *ta = &taps[0][od], *ti = &taps[1][oh], *tj = &taps[2][ow];
              gint64 d0 = od * w->s[0] - w->pb[0], h0 = oh * w->s[1] - w->pb[1], w0 = ow * w->s[2] - w->pb[2];
              gint64 best = -1;
              float acc = -INFINITY, g = gy[(od * OH + oh) * OW + ow];
              if (!p->max)
                {
                  gint64 count = _som_window_taps_count (ta, ti, tj, p->include_pad);
                  if (count <= 0)
                    continue;
                  g /= (float) count;
                }
              for (gint64 a = ta->t0; a < ta->t1; a++)
                for (gint64 i = ti->t0; i < ti->t1; i++)
                  for (gint64 j = tj->t0; j < tj->t1; j++)
                    {
                      gint64 at = ((d0 + a * w->d[0]) * H + h0 + i * w->d[1]) * W
                                  + w0 + j * w->d[2];
                      if (!p->max)
                        dst[at] += g;
                      else if (best < 0 || src[at] > acc)
                        {
                          acc = src[at];
                          best = at;
                        }
                    }
              if (best >= 0)
                dst[best] += g;
            }
    }
}

static gboolean
grad_pool (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0], *y = g->out[0];
  gsize planes;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  planes = x->shape[0] * x->shape[1];
  if (g_str_has_prefix (g->node->op, "Global"))
    {
      gsize len = planes ? x->n / planes : 0;
      gboolean max = strcmp (g->node->op, "GlobalMaxPool") == 0;
      const float *gy = g->dout[0]->data;
      float *dx = g->din[0]->data;
      if (max)
        zero_fresh (g, 0);
      for (gsize p = 0; p < planes; p++)
        {
          const float *src = (const float *) x->data + p * len;
          if (max)
            {
              gsize best = 0;
              for (gsize i = 1; i < len; i++)
                if (src[i] > src[best])
                  best = i;
              if (len > 0)
                dx[p * len + best] += gy[p];
            }
          else if (g->fresh[0])
            {
              float s = gy[p] / (float) MAX (len, 1);
              for (gsize i = 0; i < len; i++)
                dx[p * len + i] = s;
            }
          else
            {
              float s = gy[p] / (float) MAX (len, 1);
              for (gsize i = 0; i < len; i++)
                dx[p * len + i] += s;
            }
        }
      g->fresh[0] = FALSE;
      return TRUE;
    }
  {
    guint nk;
    const gint64 *ks = _som_node_attr_ints (g->node, "kernel_shape", &nk);
    SomWindow w;
    SomOpCtx c = { g->model, g->node, g->in, g->out, g->node->n_in, g->node->n_out,
                   som_model_get_path (g->model) };
    PoolGrad p = { x->data, g->dout[0]->data, g->din[0]->data, &w, strcmp (g->node->op, "MaxPool") == 0,
                   _som_node_attr_int (g->node, "count_include_pad", 0) != 0 };
    if (ks == NULL || nk != x->ndim - 2)
      return grad_error (g, error, "no kernel_shape");
    /* the forward pass's own window (pads, auto_pad, ceil_mode, dilations) */
    if (!_som_window_params (&c, x, ks, TRUE, &w, error))
      return FALSE;
    for (guint i = 0; i < w.nsp; i++)
      if (w.out[3 - w.nsp + i] != y->shape[2 + i])
        return grad_error (g, error, "the window does not give the output's shape");
    zero_fresh (g, 0);
    _som_parallel_for (planes, 4, pool_grad_range, &p);
  }
  return TRUE;
}

/* ---- Gemm, MatMul --------------------------------------------------------------- */

static gboolean
grad_gemm (GradCtx *g, GError **error)
{
  SomTensor *A = g->in[0], *B = g->in[1], *dY = g->dout[0];
  gboolean ta = _som_node_attr_int (g->node, "transA", 0) != 0;
  gboolean tb = _som_node_attr_int (g->node, "transB", 0) != 0;
  float alpha = _som_node_attr_float (g->node, "alpha", 1.0f);
  float beta = _som_node_attr_float (g->node, "beta", 1.0f);
  gint64 M, K, N;

  if (dY == NULL)
    return TRUE;
  for (guint k = 1; k < g->node->n_in && k < 3; k++)
    zero_fresh (g, k);
  M = ta ? A->shape[1] : A->shape[0];
  K = ta ? A->shape[0] : A->shape[1];
  N = tb ? B->shape[0] : B->shape[1];
  if (g->din[0] != NULL)
    {
      float b0 = g->fresh[0] ? 0.0f : 1.0f;
      if (!ta)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, tb ? CblasNoTrans : CblasTrans, M, K, N, alpha,
                     dY->data, N, B->data, tb ? K : N, b0, g->din[0]->data, K);
      else
        cblas_sgemm (CblasRowMajor, tb ? CblasTrans : CblasNoTrans, CblasTrans, K, M, N, alpha,
                     B->data, tb ? K : N, dY->data, N, b0, g->din[0]->data, M);
      g->fresh[0] = FALSE;
    }
  if (g->din[1] != NULL)
    {
      if (!tb)
        cblas_sgemm (CblasRowMajor, ta ? CblasNoTrans : CblasTrans, CblasNoTrans, K, N, M, alpha,
                     A->data, ta ? M : K, dY->data, N, 1.0f, g->din[1]->data, N);
      else
        cblas_sgemm (CblasRowMajor, CblasTrans, ta ? CblasTrans : CblasNoTrans, N, K, M, alpha,
                     dY->data, N, A->data, ta ? M : K, 1.0f, g->din[1]->data, K);
    }
  if (g->node->n_in > 2 && g->din[2] != NULL)
    {
      BinGrad bg = { 0 };
      g_autofree float *scaled = g_new (float, dY->n);
      for (gsize i = 0; i < dY->n; i++)
        scaled[i] = beta * F (dY)[i];
      bg.op = B_ADD;
      bg.ndim = dY->ndim;
      bg.shape = dY->shape;
      bg.dy = scaled;
      bg.n_in = 1;
      bg.x[0] = g->in[2]->data;
      bg.dx[0] = g->din[2]->data;
      _som_broadcast_strides (g->in[2], bg.ndim, bg.shape, bg.st[0]);
      binary_grad_range (0, dY->n, &bg);
    }
  return TRUE;
}

/* ---- normalization, softmax ------------------------------------------------------ */

static gboolean
grad_batchnorm (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0];
  float eps = _som_node_attr_float (g->node, "epsilon", 1e-5f);
  gint64 N, C, inner;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  for (guint k = 1; k < 5 && k < g->node->n_in; k++)
    if (g->din[k] != NULL)
      return grad_error (g, error, "parameters that depend on the input are not supported");
  N = x->shape[0];
  C = x->ndim > 1 ? x->shape[1] : 1;
  inner = (N * C) > 0 ? x->n / (N * C) : 0;
  for (gint64 c = 0; c < C; c++)
    {
      float s = F (g->in[1])[c] / sqrtf (F (g->in[4])[c] + eps);
      for (gint64 n = 0; n < N; n++)
        {
          const float *dy = F (g->dout[0]) + (n * C + c) * inner;
          float *dx = F (g->din[0]) + (n * C + c) * inner;
          for (gint64 i = 0; i < inner; i++)
            dx[i] += dy[i] * s;
        }
    }
  return TRUE;
}

/* The softmax axis as (outer, len, inner), as the forward pass reads it. */
static void
softmax_dims (GradCtx *g, const SomTensor *x, gint64 *outer, gint64 *len, gint64 *inner)
{
  gint64 axis = _som_node_attr_int (g->node, "axis", g->node->opset >= 13 ? -1 : 1);

  if (axis < 0)
    axis += x->ndim;
  axis = CLAMP (axis, 0, (gint64) x->ndim - 1);
  *outer = 1;
  *len = 1;
  *inner = 1;
  for (gint64 d = 0; d < (gint64) x->ndim; d++)
    {
      if (d < axis)
        *outer *= x->shape[d];
      else if (d == axis || g->node->opset < 13)
        *len *= x->shape[d];
      else
        *inner *= x->shape[d];
    }
}

static gboolean
grad_softmax (GradCtx *g, GError **error)
{
  gint64 outer, len, inner;
  gboolean log_sm = strcmp (g->node->op, "LogSoftmax") == 0;
  const float *y, *dy;
  float *dx;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  softmax_dims (g, g->in[0], &outer, &len, &inner);
  y = g->out[0]->data;
  dy = g->dout[0]->data;
  dx = g->din[0]->data;
  for (gint64 o = 0; o < outer; o++)
    for (gint64 i = 0; i < inner; i++)
      {
        gint64 base = o * len * inner + i;
        double s = 0;
        for (gint64 k = 0; k < len; k++)
          {
            gint64 p = base + k * inner;
            s += log_sm ? dy[p] : (double) dy[p] * y[p];
          }
        for (gint64 k = 0; k < len; k++)
          {
            gint64 p = base + k * inner;
            if (log_sm)
              dx[p] += dy[p] - expf (y[p]) * (float) s;
            else
              dx[p] += y[p] * (dy[p] - (float) s);
          }
      }
  return TRUE;
}

/* ---- shape ops: Concat, Transpose, Pad, Split, Slice ----------------------------- */

/* Concat and Split are each other's gradient: @whole is the node's @parts
 * laid end to end along its axis.  @to_parts adds @dwhole into the parts'
 * gradients @dparts (Concat), else the parts' into @dwhole (Split); a NULL
 * part or part gradient is skipped. */
static void
grad_concat_split (GradCtx *g, const SomTensor *whole, SomTensor *dwhole, SomTensor **parts,
                   SomTensor **dparts, guint n_parts, gboolean to_parts)
{
  gint64 axis = _som_node_attr_int (g->node, "axis", 0), outer = 1, inner = 1, pos = 0;

  if (axis < 0)
    axis += whole->ndim;
  for (gint64 d = 0; d < axis; d++)
    outer *= whole->shape[d];
  for (gint64 d = axis + 1; d < (gint64) whole->ndim; d++)
    inner *= whole->shape[d];
  for (guint k = 0; k < n_parts; k++)
    {
      SomTensor *x = parts[k];
      gint64 len;
      if (x == NULL)
        continue;
      len = x->ndim > (guint) axis ? x->shape[axis] : 0;
      if (dparts[k] != NULL)
        for (gint64 o = 0; o < outer; o++)
          {
            float *w = F (dwhole) + (o * whole->shape[axis] + pos) * inner;
            float *p = F (dparts[k]) + o * len * inner;
            const float *src = to_parts ? w : p;
            float *dst = to_parts ? p : w;
            for (gint64 i = 0; i < len * inner; i++)
              dst[i] += src[i];
          }
      pos += len;
    }
}

static gboolean
grad_concat (GradCtx *g, GError **error)
{
  if (g->dout[0] != NULL)
    grad_concat_split (g, g->out[0], g->dout[0], g->in, g->din, g->node->n_in, TRUE);
  return TRUE;
}

static gboolean
grad_split (GradCtx *g, GError **error)
{
  if (g->din[0] != NULL)
    grad_concat_split (g, g->in[0], g->din[0], g->out, g->dout, g->node->n_out, FALSE);
  return TRUE;
}

static gboolean
grad_transpose (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0], *y = g->out[0];
  gint64 perm[SOM_ARRAY_MAX_DIMS], ystr[SOM_ARRAY_MAX_DIMS], str[SOM_ARRAY_MAX_DIMS];
  guint np;
  const gint64 *p = _som_node_attr_ints (g->node, "perm", &np);
  g_autofree float *tmp = NULL;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  for (guint d = 0; d < x->ndim; d++)
    perm[d] = p != NULL && np == x->ndim ? p[d] : (gint64) (x->ndim - 1 - d);
  _som_contiguous_strides (y->ndim, y->shape, ystr);
  /* input dim perm[k] is output dim k */
  for (guint k = 0; k < y->ndim; k++)
    str[perm[k]] = ystr[k];
  tmp = g_new (float, MAX (x->n, 1));
  _som_strided_copy (tmp, g->dout[0]->data, sizeof (float), x->ndim, x->shape, str, 0);
  accumulate (g->din[0], tmp);
  return TRUE;
}

/* Pad and Slice: each output element comes from one input element (or none). */
static gboolean
grad_pad (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0], *y = g->out[0];
  const char *mode = _som_node_attr_string (g->node, "mode", "constant");
  gint64 pb[SOM_ARRAY_MAX_DIMS] = { 0 }, xstr[SOM_ARRAY_MAX_DIMS], idx[SOM_ARRAY_MAX_DIMS] = { 0 };
  guint nd = x->ndim;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  if (g->node->opset < 11)
    {
      guint n;
      const gint64 *v = _som_node_attr_ints (g->node, "pads", &n);
      if (v == NULL || n != 2 * nd)
        return grad_error (g, error, "pads missing");
      for (guint d = 0; d < nd; d++)
        pb[d] = v[d];
    }
  else
    {
      SomTensor *pads = g->in[1];
      gint64 axes[SOM_ARRAY_MAX_DIMS];
      guint na = nd;
      if (pads == NULL)
        return grad_error (g, error, "pads missing");
      for (guint d = 0; d < nd; d++)
        axes[d] = d;
      if (g->node->n_in > 3 && g->in[3] != NULL)
        {
          na = g->in[3]->n;
          for (guint d = 0; d < na && d < SOM_ARRAY_MAX_DIMS; d++)
            {
              gint64 a = _som_tensor_get_i64 (g->in[3], d);
              axes[d] = a < 0 ? a + nd : a;
            }
        }
      if (pads->n != 2 * na)
        return grad_error (g, error, "pads has the wrong length");
      for (guint d = 0; d < na; d++)
        pb[axes[d]] = _som_tensor_get_i64 (pads, d);
    }
  _som_contiguous_strides (nd, x->shape, xstr);
  for (gsize i = 0; i < y->n; i++)
    {
      gint64 off = 0;
      gboolean inside = TRUE;
      for (guint d = 0; d < nd; d++)
        {
          gint64 s = idx[d] - pb[d], L = x->shape[d];
          if (s < 0 || s >= L)
            {
              if (strcmp (mode, "edge") == 0)
                s = s < 0 ? 0 : L - 1;
              else if (strcmp (mode, "reflect") == 0 && L > 1)
                {
                  gint64 period = 2 * (L - 1);
                  s = ((s % period) + period) % period;
                  if (s >= L)
                    s = period - s;
                }
              else
                inside = FALSE;
            }
          off += s * xstr[d];
        }
      if (inside)
        F (g->din[0])[off] += F (g->dout[0])[i];
      _som_index_next (idx, y->shape, nd);
    }
  return TRUE;
}

static gboolean grad_index_map (GradCtx *g, GError **error);

static gboolean
grad_slice (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0], *y = g->out[0];
  gint64 start[SOM_ARRAY_MAX_DIMS] = { 0 }, step[SOM_ARRAY_MAX_DIMS], xstr[SOM_ARRAY_MAX_DIMS];
  gint64 idx[SOM_ARRAY_MAX_DIMS] = { 0 };
  guint nd = x->ndim, na;
  gint64 axes[SOM_ARRAY_MAX_DIMS];

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  if (g->node->opset < 10 || g->node->n_in < 3)
    return grad_index_map (g, error);  /* Slice-1: starts, ends and axes as attributes */
  for (guint d = 0; d < nd; d++)
    step[d] = 1;
  na = g->in[1]->n;
  for (guint i = 0; i < na && i < SOM_ARRAY_MAX_DIMS; i++)
    axes[i] = i;
  if (g->node->n_in > 3 && g->in[3] != NULL)
    for (guint i = 0; i < na && i < SOM_ARRAY_MAX_DIMS; i++)
      {
        gint64 a = _som_tensor_get_i64 (g->in[3], i);
        axes[i] = a < 0 ? a + nd : a;
      }
  for (guint i = 0; i < na && i < SOM_ARRAY_MAX_DIMS; i++)
    {
      gint64 a = axes[i], L = x->shape[a];
      gint64 s = _som_tensor_get_i64 (g->in[1], i);
      gint64 st = g->node->n_in > 4 && g->in[4] != NULL ? _som_tensor_get_i64 (g->in[4], i) : 1;
      if (s < 0)
        s += L;
      s = st > 0 ? CLAMP (s, 0, L) : CLAMP (s, 0, L - 1);
      start[a] = s;
      step[a] = st;
    }
  _som_contiguous_strides (nd, x->shape, xstr);
  for (gsize i = 0; i < y->n; i++)
    {
      gint64 off = 0;
      for (guint d = 0; d < nd; d++)
        off += (start[d] + idx[d] * step[d]) * xstr[d];
      F (g->din[0])[off] += F (g->dout[0])[i];
      _som_index_next (idx, y->shape, nd);
    }
  return TRUE;
}

/* ReduceSum, ReduceMean, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp,
 * ReduceMax, ReduceMin, ReduceL1, ReduceL2, ReduceProd: the output gradient
 * broadcast back, times ∂y/∂x (1, 1/count, 2x, e^−y, e^(x−y), sign x, x/y,
 * the product of the others; for Max and Min the first element that equals
 * the result takes it all). */
static gboolean
grad_reduce (GradCtx *g, GError **error)
{
  enum { R_SUM, R_MEAN, R_SUMSQ, R_LOGSUM, R_LOGSUMEXP, R_MAX, R_MIN, R_L1, R_L2, R_PROD } kind = R_SUM;
  static const char * const names[] = { "ReduceSum", "ReduceMean", "ReduceSumSquare", "ReduceLogSum",
                                        "ReduceLogSumExp", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2",
                                        "ReduceProd" };
  SomTensor *x = g->in[0];
  gboolean red[SOM_ARRAY_MAX_DIMS] = { FALSE };
  gboolean any = FALSE;
  gint64 kshape[SOM_ARRAY_MAX_DIMS], count = 1;
  SomTensor view = { 0 };
  g_autofree gboolean *taken = NULL;
  g_autofree guint *zeros = NULL;
  g_autofree double *nz_prod = NULL;
  const float *dy, *y;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (strcmp (g->node->op, names[i]) == 0)
      kind = i;
  if (g->node->n_in > 1 && g->in[1] != NULL)
    {
      for (gsize i = 0; i < g->in[1]->n; i++)
        {
          gint64 a = _som_tensor_get_i64 (g->in[1], i);
          a = a < 0 ? a + x->ndim : a;
          if (a >= 0 && a < (gint64) x->ndim)
            red[a] = any = TRUE;
        }
    }
  else
    {
      guint n;
      const gint64 *v = _som_node_attr_ints (g->node, "axes", &n);
      for (guint i = 0; v != NULL && i < n; i++)
        {
          gint64 a = v[i] < 0 ? v[i] + x->ndim : v[i];
          if (a >= 0 && a < (gint64) x->ndim)
            red[a] = any = TRUE;
        }
    }
  if (!any)
    {
      if (_som_node_attr_int (g->node, "noop_with_empty_axes", 0))
        return grad_identity (g, error);
      else
        for (guint d = 0; d < x->ndim; d++)
          red[d] = TRUE;
    }
  for (guint d = 0; d < x->ndim; d++)
    {
      kshape[d] = red[d] ? 1 : x->shape[d];
      if (red[d])
        count *= x->shape[d];
    }
  /* the output and its gradient seen with keepdims */
  view.ndim = x->ndim;
  memcpy (view.shape, kshape, sizeof kshape);
  view.n = g->dout[0]->n;
  dy = g->dout[0]->data;
  y = g->out[0]->data;
  if (kind == R_MAX || kind == R_MIN)
    taken = g_new0 (gboolean, MAX (view.n, 1));
  if (kind == R_PROD)
    {
      /* per output: the zeros among its inputs and the product of the others */
      gint64 idx[SOM_ARRAY_MAX_DIMS] = { 0 }, st[SOM_ARRAY_MAX_DIMS], off = 0;
      zeros = g_new0 (guint, MAX (view.n, 1));
      nz_prod = g_new (double, MAX (view.n, 1));
      for (gsize i = 0; i < view.n; i++)
        nz_prod[i] = 1;
      _som_broadcast_strides (&view, x->ndim, x->shape, st);
      for (gsize i = 0; i < x->n; i++)
        {
          float v = F (x)[i];
          if (v == 0)
            zeros[off]++;
          else
            nz_prod[off] *= v;
          for (int d = (int) x->ndim - 1; d >= 0; d--)
            {
              off += st[d];
              if (++idx[d] < x->shape[d])
                break;
              off -= st[d] * x->shape[d];
              idx[d] = 0;
            }
        }
    }
  {
    gint64 idx[SOM_ARRAY_MAX_DIMS] = { 0 }, st[SOM_ARRAY_MAX_DIMS];
    gint64 off = 0;
    const float *xs = x->data;
    float *dx = g->din[0]->data;
    _som_broadcast_strides (&view, x->ndim, x->shape, st);
    for (gsize i = 0; i < x->n; i++)
      {
        switch (kind)
          {
          case R_SUM: dx[i] += dy[off]; break;
          case R_MEAN: dx[i] += dy[off] / (float) MAX (count, 1); break;
          case R_SUMSQ: dx[i] += 2.0f * xs[i] * dy[off]; break;
          case R_LOGSUM: dx[i] += dy[off] * expf (-y[off]); break;
          case R_LOGSUMEXP: dx[i] += dy[off] * expf (xs[i] - y[off]); break;
          case R_L1: dx[i] += xs[i] > 0 ? dy[off] : xs[i] < 0 ? -dy[off] : 0.0f; break;
          case R_L2: dx[i] += y[off] != 0 ? dy[off] * xs[i] / y[off] : 0.0f; break;
          case R_PROD:
            if (zeros[off] == 0)
              dx[i] += (float) (dy[off] * (nz_prod[off] / xs[i]));
            else if (zeros[off] == 1 && xs[i] == 0)
              dx[i] += (float) (dy[off] * nz_prod[off]);
            break;
          case R_MAX:
          case R_MIN:
            if (!taken[off] && xs[i] == y[off])
              {
                dx[i] += dy[off];
                taken[off] = TRUE;
              }
            break;
          }
        for (int d = (int) x->ndim - 1; d >= 0; d--)
          {
            off += st[d];
            if (++idx[d] < x->shape[d])
              break;
            off -= st[d] * x->shape[d];
            idx[d] = 0;
          }
      }
  }
  return TRUE;
}

static gboolean
grad_cast (GradCtx *g, GError **error)
{
  if (g->out[0]->dtype != SOM_DTYPE_F32 || g->in[0]->dtype != SOM_DTYPE_F32)
    return TRUE;
  return grad_identity (g, error);
}

/* ---- running forward operators inside the backward pass ------------------------- */

/* Runs @node's forward operator on @ins (n_in entries); outs[k] (n_out
 * entries) receive new tensors, NULL where the node has no output k. */
static gboolean
run_op (GradCtx *g, SomNode *node, SomTensor **ins, guint n_in, SomTensor **outs, guint n_out, GError **error)
{
  SomOpCtx c = { g->model, node, ins, outs, n_in, n_out, som_model_get_path (g->model) };

  for (guint k = 0; k < n_out; k++)
    outs[k] = k == 0 || k >= node->n_out || node->out[k] >= 0 ? _som_tensor_new_shape (SOM_DTYPE_F32, 0, NULL)
                                                              : NULL;
  if (node->def == NULL || !node->def->shape (&c, error))
    goto fail;
  for (guint k = 0; k < n_out; k++)
    if (outs[k] != NULL && !_som_tensor_alloc (outs[k], error))
      goto fail;
  if (node->def->compute != NULL && !node->def->compute (&c, error))
    goto fail;
  return TRUE;

fail:
  for (guint k = 0; k < n_out; k++)
    g_clear_pointer (&outs[k], _som_tensor_unref);
  return FALSE;
}

static gboolean grad_scatter_reduce (GradCtx *g, const char *red, GError **error);

/* A copy of a Resize node for probing: extrapolated positions of
 * tf_crop_and_resize must come out 0 (they take no input), whatever the
 * model's extrapolation_value.  Returns the attributes to free. */
static SomAttr *
resize_probe_node (const SomNode *src, SomNode *dst)
{
  SomAttr *attrs = g_new0 (SomAttr, src->n_attrs + 1);
  guint n = 0;

  _som_node_copy (dst, src);
  for (guint i = 0; i < src->n_attrs; i++)
    if (strcmp (src->attrs[i].name, "extrapolation_value") != 0)
      attrs[n++] = src->attrs[i];
  attrs[n++] = (SomAttr) { .name = (char *) "extrapolation_value",
                           .type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, .f = 0.0f };
  dst->attrs = attrs;
  dst->n_attrs = n;
  return attrs;
}

/* ---- index maps: every output element is a copy of one input element (or 0) -- */

/* Gather, Tile, Where, DepthToSpace, Resize (nearest)…: the operator itself
 * tells where each output element comes from when run on the element
 * numbers (1, 2, 3, … as float32, exact below 2²⁴) instead of the data;
 * the gradient then adds each output gradient into its source.  The mask
 * names the data inputs (bit k: input k); the others (indices, conditions,
 * shapes) keep their values, so the selection is the forward pass's. */
static const struct { const char *op; guint data; } index_map_ops[] = {
  { "Compress", 1 }, { "DepthToSpace", 1 }, { "Gather", 1 }, { "GatherElements", 1 }, { "GatherND", 1 },
  { "MaxUnpool", 1 }, { "Resize", 1 }, { "ReverseSequence", 1 }, { "Scatter", 5 }, { "ScatterElements", 5 },
  { "ScatterND", 5 }, { "Slice", 1 }, { "SpaceToDepth", 1 }, { "Tile", 1 }, { "Trilu", 1 }, { "Upsample", 1 },
  { "Where", 6 },
};

static gboolean
grad_index_map (GradCtx *g, GError **error)
{
  SomNode *n = g->node, probe_node;
  g_autofree SomAttr *probe_attrs = NULL;
  guint mask = 0;
  gsize base[8] = { 0 }, total = 0;
  g_autofree SomTensor **probe = NULL;
  SomTensor *out[1] = { NULL };
  gboolean ok = FALSE;

  if (g->dout[0] == NULL)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (index_map_ops); i++)
    if (strcmp (n->op, index_map_ops[i].op) == 0)
      mask = index_map_ops[i].data;
  if (n->n_in > 8)
    return grad_error (g, error, "more than 8 inputs");
  if (strcmp (n->op, "Resize") == 0 || strcmp (n->op, "Upsample") == 0)
    {
      const char *mode = _som_node_attr_string (n, "mode", "nearest");
      if (strcmp (mode, "nearest") != 0)
        return grad_error (g, error, "mode '%s' (only 'nearest' has a gradient here)", mode);
      probe_attrs = resize_probe_node (g->node, &probe_node);
      n = &probe_node;
    }
  if (g_str_has_prefix (n->op, "Scatter"))
    {
      const char *red = _som_node_attr_string (n, "reduction", "none");
      if (strcmp (red, "none") != 0)
        return grad_scatter_reduce (g, red, error);
    }
  probe = g_new0 (SomTensor *, MAX (n->n_in, 1));
  for (guint k = 0; k < n->n_in; k++)
    {
      SomTensor *x = g->in[k];
      if (x == NULL)
        continue;
      if (!(mask & (1u << k)) || x->dtype != SOM_DTYPE_F32)
        {
          probe[k] = _som_tensor_ref (x);
          continue;
        }
      probe[k] = _som_tensor_new (SOM_DTYPE_F32, x->ndim, x->shape, error);
      if (probe[k] == NULL)
        goto out;
      if (g->din[k] == NULL)
        memset (probe[k]->data, 0, x->n * sizeof (float));
      else
        {
          base[k] = total;
          if (x->n >= (1u << 24) - total)
            {
              grad_error (g, error, "more than 2²⁴ elements");
              goto out;
            }
          for (gsize i = 0; i < x->n; i++)
            F (probe[k])[i] = (float) (total + i + 1);
          total += x->n;
        }
    }
  if (!run_op (g, n, probe, n->n_in, out, 1, error))
    goto out;
  if (out[0]->n != g->dout[0]->n)
    {
      grad_error (g, error, "the index map has the wrong size");
      goto out;
    }
  for (gsize i = 0; i < out[0]->n; i++)
    {
      float v = F (out[0])[i];
      gsize src;
      if (!(v >= 1.0f))
        continue;
      src = (gsize) v - 1;
      for (guint k = 0; k < n->n_in; k++)
        if (g->din[k] != NULL && (mask & (1u << k)) && src >= base[k] && src < base[k] + g->in[k]->n)
          {
            F (g->din[k])[src - base[k]] += F (g->dout[0])[i];
            break;
          }
    }
  ok = TRUE;

out:
  for (guint k = 0; k < n->n_in; k++)
    g_clear_pointer (&probe[k], _som_tensor_unref);
  g_clear_pointer (&out[0], _som_tensor_unref);
  return ok;
}

/* TopK's values: each goes back to the position the indices output names. */
static gboolean
grad_topk (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0], *idx = g->node->n_out > 1 ? g->out[1] : NULL;
  SomTensor *outs[2] = { NULL, NULL };
  guint axis;
  gint64 a = _som_node_attr_int (g->node, "axis", -1), k;
  gsize outer = 1, len, inner = 1;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  if (idx == NULL)
    {
      /* the node does not keep the indices: run it again for them */
      SomNode node;

      _som_node_copy (&node, g->node);
      int ids[2] = { 0, 0 };
      node.out = ids;
      node.n_out = 2;
      if (!run_op (g, &node, g->in, g->node->n_in, outs, 2, error))
        return FALSE;
      idx = outs[1];
    }
  axis = (guint) (a < 0 ? a + x->ndim : a);
  for (guint d = 0; d < axis; d++)
    outer *= x->shape[d];
  len = x->shape[axis];
  for (guint d = axis + 1; d < x->ndim; d++)
    inner *= x->shape[d];
  k = g->out[0]->shape[axis];
  for (gsize o = 0; o < outer; o++)
    for (gint64 j = 0; j < k; j++)
      for (gsize in = 0; in < inner; in++)
        {
          gsize off = (o * k + j) * inner + in;
          gint64 src = ((const gint64 *) idx->data)[off];
          if (src >= 0 && (gsize) src < len)
            F (g->din[0])[(o * len + src) * inner + in] += F (g->dout[0])[off];
        }
  g_clear_pointer (&outs[0], _som_tensor_unref);
  g_clear_pointer (&outs[1], _som_tensor_unref);
  return TRUE;
}

/* CumSum: the gradient is the cumulative sum of dY in the other direction. */
static gboolean
grad_cumsum (GradCtx *g, GError **error)
{
  SomNode node;

  _som_node_copy (&node, g->node);
  SomAttr attrs[2];
  SomTensor *ins[2] = { g->dout[0], g->in[1] }, *outs[1] = { NULL };

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  attrs[0] = (SomAttr) { .name = (char *) "exclusive", .type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
                         .i = _som_node_attr_int (g->node, "exclusive", 0) };
  attrs[1] = (SomAttr) { .name = (char *) "reverse", .type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
                         .i = !_som_node_attr_int (g->node, "reverse", 0) };
  node.attrs = attrs;
  node.n_attrs = 2;
  if (!run_op (g, &node, ins, 2, outs, 1, error))
    return FALSE;
  write_or_add (g, 0, outs[0]->data);
  _som_tensor_unref (outs[0]);
  return TRUE;
}

/* ---- Resize and Upsample (linear, cubic): separable linear maps ---------------- */

/* The interpolation matrix A (out × in) of spatial axis @d (≥ 2), from the
 * operator itself: run on probes that hold a one-hot along axis d and ones
 * along the other spatial axes (the channel axis 1), each probe in its own
 * batch row, it returns A's columns (the weights along the other axes sum
 * to one, or to zero where tf_crop_and_resize extrapolates). */
static gboolean
resize_axis_matrix (GradCtx *g, guint d, float *A, GError **error)
{
  SomNode probe_node;
  g_autofree SomAttr *probe_attrs = resize_probe_node (g->node, &probe_node);
  SomNode *n = &probe_node;
  SomTensor *x = g->in[0], *y = g->out[0];
  guint nd = x->ndim;
  gint64 L = x->shape[d], OL = y->shape[d], pshape[SOM_ARRAY_MAX_DIMS];
  g_autofree SomTensor **ins = g_new0 (SomTensor *, MAX (n->n_in, 1));
  SomTensor *out[1] = { NULL };
  gboolean ok = FALSE;

  for (guint j = 0; j < nd; j++)
    pshape[j] = j >= 2 ? x->shape[j] : 1;
  pshape[0] = L;
  for (guint k = 0; k < n->n_in; k++)
    if (g->in[k] != NULL)
      ins[k] = _som_tensor_ref (g->in[k]);
  g_clear_pointer (&ins[0], _som_tensor_unref);
  ins[0] = _som_tensor_new (SOM_DTYPE_F32, nd, pshape, error);
  if (ins[0] == NULL)
    goto out;
  {
    gint64 idx[SOM_ARRAY_MAX_DIMS] = { 0 };
    for (gsize i = 0; i < ins[0]->n; i++)
      {
        F (ins[0])[i] = idx[d] == idx[0] ? 1.0f : 0.0f;
        _som_index_next (idx, pshape, nd);
      }
  }
  if (strcmp (n->op, "Resize") == 0 && n->n_in > 3 && g->in[3] != NULL && g->in[3]->n == nd)
    {
      /* sizes: the probes' batch, one channel, the spatial sizes */
      g_clear_pointer (&ins[3], _som_tensor_unref);
      ins[3] = _som_tensor_new (SOM_DTYPE_I64, 1, &(gint64) { nd }, error);
      if (ins[3] == NULL)
        goto out;
      for (guint j = 0; j < nd; j++)
        ((gint64 *) ins[3]->data)[j] = j == 0 ? L : j == 1 ? 1 : y->shape[j];
    }
  if (!run_op (g, n, ins, n->n_in, out, 1, error))
    goto out;
  if (out[0]->ndim != nd || out[0]->shape[0] != L || out[0]->shape[d] != OL)
    {
      grad_error (g, error, "the interpolation weights do not come out separable");
      goto out;
    }
  {
    /* Each position along the other axes holds A's column, or 0 where
     * tf_crop_and_resize extrapolates: read one that does not. */
    gint64 st[SOM_ARRAY_MAX_DIMS], idx[SOM_ARRAY_MAX_DIMS] = { 0 }, base = 0;
    gsize others = out[0]->n / (L * OL);
    _som_contiguous_strides (nd, out[0]->shape, st);
    for (gsize q = 0; q < others; q++)
      {
        gint64 off = 0;
        gboolean any = FALSE;
        for (guint j = 1; j < nd; j++)
          if (j != d)
            off += idx[j] * st[j];
        for (gint64 k = 0; k < L && !any; k++)
          for (gint64 o = 0; o < OL && !any; o++)
            any = F (out[0])[k * st[0] + o * st[d] + off] != 0;
        if (any)
          {
            base = off;
            break;
          }
        for (int j = (int) nd - 1; j >= 1; j--)
          {
            if ((guint) j == d)
              continue;
            if (++idx[j] < out[0]->shape[j])
              break;
            idx[j] = 0;
          }
      }
    for (gint64 k = 0; k < L; k++)
      for (gint64 o = 0; o < OL; o++)
        A[o * L + k] = F (out[0])[k * st[0] + o * st[d] + base];
  }
  ok = TRUE;

out:
  for (guint k = 0; k < n->n_in; k++)
    g_clear_pointer (&ins[k], _som_tensor_unref);
  g_clear_pointer (&out[0], _som_tensor_unref);
  return ok;
}

/* dX = dY ×₂ A₂ᵀ ×₃ A₃ᵀ … over the spatial axes (mode products with the
 * per-axis interpolation matrices), last axis first. */
static gboolean
grad_resize (GradCtx *g, GError **error)
{
  SomNode *n = g->node;
  SomTensor *x = g->in[0], *y = g->out[0], *dy = g->dout[0];
  const char *mode = _som_node_attr_string (n, "mode", "nearest");
  guint nd = x->ndim;
  gint64 cur[SOM_ARRAY_MAX_DIMS];
  g_autofree float *t = NULL;

  if (dy == NULL || g->din[0] == NULL)
    return TRUE;
  if (strcmp (mode, "nearest") == 0)
    return grad_index_map (g, error);
  if (nd < 3)
    return grad_error (g, error, "%u dimensions (3 or more are supported)", nd);
  if (x->shape[0] != y->shape[0] || x->shape[1] != y->shape[1])
    return grad_error (g, error, "resizing the batch or channel dimension");
  if (strcmp (_som_node_attr_string (n, "coordinate_transformation_mode", "half_pixel"), "tf_crop_and_resize") == 0
      && n->n_in > 1 && g->in[1] != NULL && g->in[1]->n == 2 * nd)
    for (guint j = 0; j < 2; j++)
      if (_som_tensor_get_f64 (g->in[1], j) != 0 || _som_tensor_get_f64 (g->in[1], j + nd) != 1)
        return grad_error (g, error, "a region of interest that crops the batch or channel dimension");
  memcpy (cur, y->shape, nd * sizeof (gint64));
  t = g_memdup2 (F (dy), MAX (dy->n, 1) * sizeof (float));
  for (guint d = nd - 1; d >= 2; d--)
    {
      gint64 L = x->shape[d], M = cur[d];
      gsize outer = 1, inner = 1;
      g_autofree float *A = g_new (float, MAX (M * L, 1));
      g_autofree float *r = NULL;
      if (!resize_axis_matrix (g, d, A, error))
        return FALSE;
      for (guint j = 0; j < d; j++)
        outer *= cur[j];
      for (guint j = d + 1; j < nd; j++)
        inner *= cur[j];
      r = g_new (float, MAX (outer * L * inner, 1));
      if (inner == 1)
        /* R (outer × L) = T (outer × M) · A (M × L) */
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, outer, L, M, 1.0f, t, M, A, L, 0.0f, r, L);
      else
        /* R_o (L × inner) = Aᵀ (L × M) · T_o (M × inner) */
        for (gsize o = 0; o < outer; o++)
          cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, L, inner, M, 1.0f, A, L, t + o * M * inner, inner,
                       0.0f, r + o * L * inner, inner);
      g_free (t);
      t = g_steal_pointer (&r);
      cur[d] = L;
    }
  accumulate (g->din[0], t);
  return TRUE;
}

/* ---- ConvTranspose: its input gradient is the forward Conv of dY --------------- */

static gboolean
grad_conv_transpose (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0], *wt = g->in[1], *dy = g->dout[0];
  guint nsp = x->ndim - 2, n, no, nos;
  gint64 strides[3], dil[3], pads[6], group = _som_node_attr_int (g->node, "group", 1);
  const gint64 *v, *op, *os;
  const char *auto_pad = _som_node_attr_string (g->node, "auto_pad", "NOTSET");
  SomAttr attrs[4];
  SomNode node;
  SomTensor *ins[2] = { dy, wt }, *outs[1] = { NULL };

  if (dy == NULL || g->din[0] == NULL)
    return TRUE;
  if ((g->din[1] != NULL) || (g->node->n_in > 2 && g->din[2] != NULL))
    return grad_error (g, error, "weights that depend on the input are not supported");
  if (nsp < 1 || nsp > 3)
    return grad_error (g, error, "%u spatial dimensions", nsp);
  for (guint i = 0; i < nsp; i++)
    {
      strides[i] = dil[i] = 1;
      pads[i] = pads[i + nsp] = 0;
    }
  if ((v = _som_node_attr_ints (g->node, "strides", &n)) != NULL)
    for (guint i = 0; i < nsp && i < n; i++)
      strides[i] = v[i];
  if ((v = _som_node_attr_ints (g->node, "dilations", &n)) != NULL)
    for (guint i = 0; i < nsp && i < n; i++)
      dil[i] = v[i];
  op = _som_node_attr_ints (g->node, "output_padding", &no);
  os = _som_node_attr_ints (g->node, "output_shape", &nos);
  v = _som_node_attr_ints (g->node, "pads", &n);
  for (guint i = 0; i < nsp; i++)
    {
      /* the begin pad as the forward pass chose it */
      gint64 ek = (wt->shape[2 + i] - 1) * dil[i] + 1, in = x->shape[2 + i], out = dy->shape[2 + i];
      gint64 opad = op != NULL && i < no ? op[i] : 0;
      gint64 full = strides[i] * (in - 1) + opad + ek, pb, pe;
      if (os != NULL && i < nos)
        {
          gint64 total = full - os[i];
          pb = strcmp (auto_pad, "SAME_LOWER") == 0 ? total - total / 2 : total / 2;
        }
      else if (strcmp (auto_pad, "SAME_UPPER") == 0 || strcmp (auto_pad, "SAME_LOWER") == 0)
        {
          gint64 total = full - in * strides[i];
          pb = strcmp (auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
        }
      else
        pb = v != NULL && n == 2 * nsp ? v[i] : 0;
      /* the Conv over dY must give back `in` positions */
      pe = MAX (0, (in - 1) * strides[i] + ek - out - pb);
      if (pb < 0 || (out + pb + pe - ek) / strides[i] + 1 != in)
        return grad_error (g, error, "padding this transposed convolution's gradient cannot express");
      pads[i] = pb;
      pads[i + nsp] = pe;
    }
  conv_node (g, &node, attrs, strides, dil, pads, nsp, group);
  node.op = (char *) "Conv";
  node.def = _som_op_lookup ("Conv");
  if (!run_op (g, &node, ins, 2, outs, 1, error))
    return FALSE;
  if (outs[0]->n != x->n)
    {
      _som_tensor_unref (outs[0]);
      return grad_error (g, error, "the gradient has the wrong shape");
    }
  write_or_add (g, 0, outs[0]->data);
  _som_tensor_unref (outs[0]);
  return TRUE;
}

/* ---- LayerNormalization, InstanceNormalization ------------------------------------ */

/* One normalized row: y = x̂·γ + β with x̂ = (x − μ)/σ, so
 * dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / σ with ĝ = dy·γ. */
static void
norm_row_grad (const float *x, const float *dy, const float *gamma, gsize gstep, float gconst, float eps,
               gsize len, float *dx)
{
  double mean = 0, var = 0, mg = 0, mgx = 0;
  float inv;

  for (gsize i = 0; i < len; i++)
    mean += x[i];
  mean /= MAX (len, 1);
  for (gsize i = 0; i < len; i++)
    var += (x[i] - mean) * (x[i] - mean);
  var /= MAX (len, 1);
  inv = 1.0f / sqrtf ((float) var + eps);
  for (gsize i = 0; i < len; i++)
    {
      double gh = (double) dy[i] * (gamma != NULL ? gamma[i * gstep] : gconst);
      mg += gh;
      mgx += gh * (x[i] - mean) * inv;
    }
  mg /= MAX (len, 1);
  mgx /= MAX (len, 1);
  for (gsize i = 0; i < len; i++)
    {
      double gh = (double) dy[i] * (gamma != NULL ? gamma[i * gstep] : gconst);
      double xh = (x[i] - mean) * inv;
      dx[i] += (float) ((gh - mg - xh * mgx) * inv);
    }
}

static gboolean
grad_layernorm (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0], *sc = g->in[1];
  float eps = _som_node_attr_float (g->node, "epsilon", 1e-5f);
  gint64 axis = _som_node_attr_int (g->node, "axis", -1);
  gsize outer = 1, len = 1;
  gint64 nshape[SOM_ARRAY_MAX_DIMS], sst[SOM_ARRAY_MAX_DIMS];
  g_autofree float *gamma = NULL;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  for (guint k = 1; k < g->node->n_in; k++)
    if (g->din[k] != NULL)
      return grad_error (g, error, "scale or bias that depend on the input are not supported");
  for (guint k = 1; k < g->node->n_out; k++)
    if (g->dout[k] != NULL)
      return grad_error (g, error, "gradients through the Mean or InvStdDev outputs are not supported");
  if (axis < 0)
    axis += x->ndim;
  for (gint64 d = 0; d < axis; d++)
    outer *= x->shape[d];
  for (gint64 d = axis; d < (gint64) x->ndim; d++)
    nshape[d - axis] = x->shape[d], len *= x->shape[d];
  gamma = g_new (float, MAX (len, 1));
  _som_broadcast_strides (sc, x->ndim - axis, nshape, sst);
  _som_strided_copy (gamma, sc->data, 4, x->ndim - axis, nshape, sst, 0);
  for (gsize o = 0; o < outer; o++)
    norm_row_grad (F (x) + o * len, F (g->dout[0]) + o * len, gamma, 1, 1.0f, eps, len, F (g->din[0]) + o * len);
  return TRUE;
}

static gboolean
grad_instnorm (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0];
  float eps = _som_node_attr_float (g->node, "epsilon", 1e-5f);
  gint64 C = x->shape[1];
  gsize planes = x->shape[0] * C, len = planes ? x->n / planes : 0;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  if (g->din[1] != NULL || g->din[2] != NULL)
    return grad_error (g, error, "scale or bias that depend on the input are not supported");
  for (gsize p = 0; p < planes; p++)
    norm_row_grad (F (x) + p * len, F (g->dout[0]) + p * len, NULL, 0, F (g->in[1])[p % C], eps, len,
                   F (g->din[0]) + p * len);
  return TRUE;
}

/* ---- Einsum: each operand's gradient is an Einsum of dY and the others ---------- */

/* The equation with each '...' spelled out in letters it does not use,
 * right-aligned as ONNX broadcasts them; an implicit output gets the
 * ellipsis letters first, then the letters seen once, as ONNX orders it. */
static char *
expand_ellipsis (GradCtx *g, const char *eq, GError **error)
{
  g_auto(GStrv) sides = g_strsplit (eq, "->", 2);
  g_auto(GStrv) terms = g_strsplit (sides[0], ",", -1);
  guint nt = g_strv_length (terms), rank = 0;
  char free_letters[SOM_ARRAY_MAX_DIMS + 1] = { 0 };
  guint nf = 0;
  GString *out = g_string_new (NULL);

  if (nt != g->node->n_in)
    {
      g_string_free (out, TRUE);
      grad_error (g, error, "equation '%s' does not fit the inputs", eq);
      return NULL;
    }
  for (guint k = 0; k < nt; k++)
    if (strstr (terms[k], "...") != NULL)
      {
        guint letters = 0;
        for (const char *p = terms[k]; *p; p++)
          letters += g_ascii_isalpha (*p) != 0;
        if (g->in[k]->ndim >= letters)
          rank = MAX (rank, g->in[k]->ndim - letters);
      }
  for (int c = 'A'; c <= 'z' && nf < rank; c++)
    if (g_ascii_isalpha (c) && strchr (eq, c) == NULL)
      free_letters[nf++] = (char) c;
  if (nf < rank)
    {
      g_string_free (out, TRUE);
      grad_error (g, error, "too many letters in equation '%s'", eq);
      return NULL;
    }
  for (guint k = 0; k < nt; k++)
    {
      const char *e = strstr (terms[k], "...");
      if (k > 0)
        g_string_append_c (out, ',');
      if (e == NULL)
        g_string_append (out, terms[k]);
      else
        {
          guint letters = 0, r;
          for (const char *p = terms[k]; *p; p++)
            letters += g_ascii_isalpha (*p) != 0;
          r = g->in[k]->ndim >= letters ? g->in[k]->ndim - letters : 0;
          g_string_append_len (out, terms[k], e - terms[k]);
          g_string_append_len (out, free_letters + (rank - r), r);
          g_string_append (out, e + 3);
        }
    }
  g_string_append (out, "->");
  if (sides[1] != NULL)
    {
      const char *e = strstr (sides[1], "...");
      if (e == NULL)
        g_string_append (out, sides[1]);
      else
        {
          g_string_append_len (out, sides[1], e - sides[1]);
          g_string_append_len (out, free_letters, rank);
          g_string_append (out, e + 3);
        }
    }
  else
    {
      g_string_append_len (out, free_letters, rank);
      for (int c = 'A'; c <= 'z'; c++)
        {
          int count = 0;
          for (const char *p = sides[0]; *p; p++)
            count += *p == c;
          if (count == 1 && g_ascii_isalpha (c))
            g_string_append_c (out, (char) c);
        }
    }
  return g_string_free (out, FALSE);
}

static gboolean
grad_einsum (GradCtx *g, GError **error)
{
  const char *eq = _som_node_attr_string (g->node, "equation", NULL);
  g_autofree char *clean = NULL;
  g_auto(GStrv) sides = NULL;
  g_auto(GStrv) terms = NULL;
  g_autofree char *out_term = NULL;
  guint nt;

  if (g->dout[0] == NULL)
    return TRUE;
  if (eq == NULL)
    return grad_error (g, error, "no equation");
  clean = g_strdup (eq);
  {
    char *w = clean;
    for (const char *r = eq; *r; r++)
      if (*r != ' ')
        *w++ = *r;
    *w = '\0';
  }
  if (strstr (clean, "...") != NULL)
    {
      char *expanded = expand_ellipsis (g, clean, error);
      if (expanded == NULL)
        return FALSE;
      g_free (clean);
      clean = expanded;
    }
  sides = g_strsplit (clean, "->", 2);
  terms = g_strsplit (sides[0], ",", -1);
  nt = g_strv_length (terms);
  if (nt != g->node->n_in || nt > 8)
    return grad_error (g, error, "equation '%s' does not fit the inputs", eq);
  if (sides[1] != NULL)
    out_term = g_strdup (sides[1]);
  else
    {
      /* implicit output: the letters seen once, in alphabetical order */
      GString *s = g_string_new (NULL);
      for (int c = 'A'; c <= 'z'; c++)
        {
          int count = 0;
          for (const char *p = sides[0]; *p; p++)
            count += *p == c;
          if (count == 1 && g_ascii_isalpha (c))
            g_string_append_c (s, (char) c);
        }
      out_term = g_string_free (s, FALSE);
    }
  for (guint k = 0; k < nt; k++)
    {
      SomTensor *x = g->in[k];
      GString *e = NULL, *kept = NULL;
      SomTensor *ins[8], *outs[1] = { NULL };
      SomNode node;
      SomAttr attr;
      gint64 kshape[SOM_ARRAY_MAX_DIMS], xst[SOM_ARRAY_MAX_DIMS];
      guint nk = 0, ni = 0;
      int first[SOM_ARRAY_MAX_DIMS];
      if (g->din[k] == NULL)
        continue;
      /* a repeated index (a diagonal): dims after the first with the same
       * letter take the first's index, and only the diagonal gets a gradient */
      for (guint d = 0; terms[k][d]; d++)
        {
          const char *p = strchr (terms[k], terms[k][d]);
          first[d] = (guint) (p - terms[k]) < d ? (int) (p - terms[k]) : -1;
        }
      /* dX_k = einsum (dY, the other operands -> X_k's indices that occur
       * elsewhere); indices only X_k has are broadcast back afterwards */
      e = g_string_new (out_term);
      ins[ni++] = g->dout[0];
      for (guint j = 0; j < nt; j++)
        if (j != k)
          {
            g_string_append_printf (e, ",%s", terms[j]);
            ins[ni++] = g->in[j];
          }
      kept = g_string_new (NULL);
      for (guint d = 0; terms[k][d]; d++)
        {
          char c = terms[k][d];
          gboolean elsewhere = strchr (out_term, c) != NULL;
          for (guint j = 0; j < nt && !elsewhere; j++)
            if (j != k && strchr (terms[j], c) != NULL)
              elsewhere = TRUE;
          /* a dimension of 1 broadcast against a larger one is summed */
          if (x->shape[d] == 1)
            elsewhere = FALSE;
          if (elsewhere && first[d] < 0)
            g_string_append_c (kept, c);
          kshape[d] = elsewhere && first[d] < 0 ? x->shape[d] : 1;
        }
      g_string_append_printf (e, "->%s", kept->str);
      nk = kept->len;
      (void) nk;
      attr = (SomAttr) { .name = (char *) "equation", .type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING,
                         .s = e->str };
      _som_node_copy (&node, g->node);
      node.attrs = &attr;
      node.n_attrs = 1;
      node.n_in = ni;
      node.n_out = 1;
      if (!run_op (g, &node, ins, ni, outs, 1, error))
        {
          g_string_free (e, TRUE);
          g_string_free (kept, TRUE);
          return FALSE;
        }
      g_string_free (e, TRUE);
      g_string_free (kept, TRUE);
      {
        /* add the result, broadcast over the dropped indices */
        SomTensor view = { 0 };
        gint64 idx[SOM_ARRAY_MAX_DIMS] = { 0 }, off = 0;
        view.ndim = x->ndim;
        memcpy (view.shape, kshape, sizeof kshape);
        view.n = outs[0]->n;
        _som_broadcast_strides (&view, x->ndim, x->shape, xst);
        for (gsize i = 0; i < x->n; i++)
          {
            gboolean diagonal = TRUE;
            for (guint d = 0; d < x->ndim; d++)
              if (first[d] >= 0 && idx[d] != idx[first[d]])
                diagonal = FALSE;
            if (diagonal)
              F (g->din[k])[i] += F (outs[0])[off];
            for (int d = (int) x->ndim - 1; d >= 0; d--)
              {
                off += xst[d];
                if (++idx[d] < x->shape[d])
                  break;
                off -= xst[d] * x->shape[d];
                idx[d] = 0;
              }
          }
      }
      _som_tensor_unref (outs[0]);
    }
  return TRUE;
}

/* ---- MatMul with broadcast batch dimensions and 1-D operands --------------------- */

static gboolean
grad_matmul (GradCtx *g, GError **error)
{
  SomTensor *A = g->in[0], *B = g->in[1], *dY = g->dout[0];
  gint64 ashape[SOM_ARRAY_MAX_DIMS], bshape[SOM_ARRAY_MAX_DIMS], batch[SOM_ARRAY_MAX_DIMS];
  gint64 ast[SOM_ARRAY_MAX_DIMS] = { 0 }, bst[SOM_ARRAY_MAX_DIMS] = { 0 }, idx[SOM_ARRAY_MAX_DIMS] = { 0 };
  guint and, bnd, nb;
  gint64 M, K, N, nbatch = 1;

  if (dY == NULL)
    return TRUE;
  if (A->ndim == 0 || B->ndim == 0)
    return grad_error (g, error, "scalar operands");
  /* 1-D operands as 1×K and K×1 matrices */
  and = MAX (A->ndim, 2);
  bnd = MAX (B->ndim, 2);
  if (A->ndim == 1)
    {
      ashape[0] = 1;
      ashape[1] = A->shape[0];
    }
  else
    memcpy (ashape, A->shape, A->ndim * sizeof (gint64));
  if (B->ndim == 1)
    {
      bshape[0] = B->shape[0];
      bshape[1] = 1;
    }
  else
    memcpy (bshape, B->shape, B->ndim * sizeof (gint64));
  M = ashape[and - 2];
  K = ashape[and - 1];
  N = bshape[bnd - 1];
  if (bshape[bnd - 2] != K)
    return grad_error (g, error, "inner dimensions differ");
  if (B->ndim == 2 && A->ndim >= 2)
    {
      /* fold A's batch dims into its rows */
      gint64 rows = A->n / MAX (K, 1);
      if (g->din[0] != NULL)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, rows, K, N, 1.0f, dY->data, N, B->data, N,
                     1.0f, g->din[0]->data, K);
      if (g->din[1] != NULL)
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, K, N, rows, 1.0f, A->data, K, dY->data, N,
                     1.0f, g->din[1]->data, N);
      return TRUE;
    }
  /* broadcast batch dims, right-aligned */
  nb = MAX (and, bnd) - 2;
  for (guint d = 0; d < nb; d++)
    {
      int da = (int) d - (int) (nb - (and - 2)), db = (int) d - (int) (nb - (bnd - 2));
      gint64 sa = da >= 0 ? ashape[da] : 1, sb = db >= 0 ? bshape[db] : 1;
      if (sa != sb && sa != 1 && sb != 1)
        return grad_error (g, error, "batch dimensions do not broadcast");
      batch[d] = MAX (sa, sb);
      nbatch *= batch[d];
    }
  {
    gint64 sa = M * K, sb = K * N;
    for (int d = (int) nb - 1; d >= 0; d--)
      {
        int da = d - (int) (nb - (and - 2)), db = d - (int) (nb - (bnd - 2));
        gint64 la = da >= 0 ? ashape[da] : 1, lb = db >= 0 ? bshape[db] : 1;
        ast[d] = la == 1 ? 0 : sa;
        bst[d] = lb == 1 ? 0 : sb;
        sa *= la;
        sb *= lb;
      }
  }
  if ((gsize) (nbatch * M * N) != dY->n)
    return grad_error (g, error, "the output gradient has the wrong size");
  for (gint64 b = 0; b < nbatch; b++)
    {
      gint64 ao = 0, bo = 0;
      const float *dy = F (dY) + b * M * N;
      for (guint d = 0; d < nb; d++)
        {
          ao += idx[d] * ast[d];
          bo += idx[d] * bst[d];
        }
      if (g->din[0] != NULL)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1.0f, dy, N, F (B) + bo, N, 1.0f,
                     F (g->din[0]) + ao, K);
      if (g->din[1] != NULL)
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.0f, F (A) + ao, K, dy, N, 1.0f,
                     F (g->din[1]) + bo, N);
      _som_index_next (idx, batch, nb);
    }
  return TRUE;
}

/* ---- LRN, MeanVarianceNormalization, Det ---------------------------------------- */

/* LRN: y_c = x_c·s_c^−β with s_c = bias + α/size·Σ_{k∈W(c)} x_k², W(c) =
 * [c − lo, c + hi]; so dx_k = dy_k·s_k^−β − 2αβ/size·x_k·Σ_{c: k∈W(c)}
 * dy_c·x_c·s_c^(−β−1), where k ∈ W(c) ⟺ c ∈ [k − hi, k + lo]. */
static gboolean
grad_lrn (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0];
  gint64 size = _som_node_attr_int (g->node, "size", 1), N = x->shape[0], C = x->shape[1], inner = 1;
  double alpha = _som_node_attr_float (g->node, "alpha", 1e-4f), beta = _som_node_attr_float (g->node, "beta", 0.75f);
  double bias = _som_node_attr_float (g->node, "bias", 1.0f);
  gint64 lo = (size - 1) / 2, hi = (size - 1) - lo;
  g_autofree double *s = NULL, *t = NULL;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  for (guint d = 2; d < x->ndim; d++)
    inner *= x->shape[d];
  s = g_new (double, MAX (C, 1));
  t = g_new (double, MAX (C, 1));
  for (gint64 n = 0; n < N; n++)
    for (gint64 i = 0; i < inner; i++)
      {
        const float *xs = F (x) + n * C * inner + i, *dy = F (g->dout[0]) + n * C * inner + i;
        float *dx = F (g->din[0]) + n * C * inner + i;
        for (gint64 c = 0; c < C; c++)
          {
            double sq = 0;
            for (gint64 k = MAX (0, c - lo); k <= MIN (C - 1, c + hi); k++)
              sq += (double) xs[k * inner] * xs[k * inner];
            s[c] = bias + alpha / size * sq;
            /* dy_c·x_c·s_c^(−β−1) */
            t[c] = (double) dy[c * inner] * xs[c * inner] * pow (s[c], -beta - 1);
          }
        for (gint64 k = 0; k < C; k++)
          {
            double acc = 0;
            for (gint64 c = MAX (0, k - hi); c <= MIN (C - 1, k + lo); c++)
              acc += t[c];
            dx[k * inner] += (float) (dy[k * inner] * pow (s[k], -beta) - 2 * alpha * beta / size * xs[k * inner] * acc);
          }
      }
  return TRUE;
}

/* MeanVarianceNormalization: y = (x − μ)/σ' with σ' = √v + 1e-9, v = E[x²] − μ²
 * over the node's axes; dx = (ĝ − mean ĝ)/σ' − (x − μ)·mean(ĝ·(x − μ))/(σ'²·√v)
 * with ĝ = dy (the second term vanishes with v). */
static gboolean
grad_mvn (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0];
  static const gint64 def_axes[] = { 0, 2, 3 };
  guint n_axes;
  const gint64 *axes = _som_node_attr_ints (g->node, "axes", &n_axes);
  gboolean red[SOM_ARRAY_MAX_DIMS] = { FALSE };
  gint64 strides[SOM_ARRAY_MAX_DIMS];
  gsize groups = 1, count = 1;
  g_autofree gsize *grp = NULL;
  g_autofree double *sum = NULL, *sum2 = NULL, *sg = NULL, *sgx = NULL;
  const float *xs = F (x), *dy;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  dy = F (g->dout[0]);
  if (axes == NULL)
    {
      axes = def_axes;
      n_axes = 3;
    }
  for (guint i = 0; i < n_axes; i++)
    {
      gint64 a = axes[i] < 0 ? axes[i] + x->ndim : axes[i];
      if (a < 0 || a >= (gint64) x->ndim)
        return grad_error (g, error, "axis %" G_GINT64_FORMAT " is out of range", axes[i]);
      red[a] = TRUE;
    }
  _som_contiguous_strides (x->ndim, x->shape, strides);
  for (guint d = 0; d < x->ndim; d++)
    if (red[d])
      count *= x->shape[d];
    else
      groups *= x->shape[d];
  grp = g_new (gsize, MAX (x->n, 1));
  sum = g_new0 (double, MAX (groups, 1));
  sum2 = g_new0 (double, MAX (groups, 1));
  sg = g_new0 (double, MAX (groups, 1));
  sgx = g_new0 (double, MAX (groups, 1));
  for (gsize i = 0; i < x->n; i++)
    {
      gsize r = i, q = 0;
      for (guint d = 0; d < x->ndim; d++)
        {
          gsize k = r / strides[d];
          r %= strides[d];
          if (!red[d])
            q = q * x->shape[d] + k;
        }
      grp[i] = q;
      sum[q] += xs[i];
      sum2[q] += (double) xs[i] * xs[i];
      sg[q] += dy[i];
    }
  for (gsize q = 0; q < groups; q++)
    {
      double mean = sum[q] / count;
      sum[q] = mean;
      sum2[q] = MAX (0.0, sum2[q] / count - mean * mean);
      sg[q] /= count;
    }
  for (gsize i = 0; i < x->n; i++)
    sgx[grp[i]] += (double) dy[i] * (xs[i] - sum[grp[i]]);
  for (gsize i = 0; i < x->n; i++)
    {
      gsize q = grp[i];
      double sd = sqrt (sum2[q]), sp = sd + 1e-9, v;
      v = (dy[i] - sg[q]) / sp;
      if (sd > 0)
        v -= (xs[i] - sum[q]) * (sgx[q] / count) / (sp * sp * sd);
      F (g->din[0])[i] += (float) v;
    }
  return TRUE;
}

/* Det: ∂det A/∂A_ij is the cofactor C_ij = (−1)^(i+j)·det(A without row i and
 * column j), which stays right for singular matrices (det·A^−T would not). */
#define DET_GRAD_MAX 64

static gboolean
grad_det (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0];
  gint64 M = x->shape[x->ndim - 1];
  gsize count = M > 0 ? x->n / (M * M) : 0;
  g_autofree double *minor = NULL;

  if (g->dout[0] == NULL || g->din[0] == NULL)
    return TRUE;
  if (M > DET_GRAD_MAX)
    return grad_error (g, error, "%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " matrices (up to %d×%d have one here)",
                       M, M, DET_GRAD_MAX, DET_GRAD_MAX);
  minor = g_new (double, MAX ((M - 1) * (M - 1), 1));
  for (gsize m = 0; m < count; m++)
    {
      const float *a = F (x) + m * M * M;
      float dy = F (g->dout[0])[m];
      float *dx = F (g->din[0]) + m * M * M;
      if (M == 1)
        {
          dx[0] += dy;
          continue;
        }
      for (gint64 i = 0; i < M; i++)
        for (gint64 j = 0; j < M; j++)
          {
            gint64 w = 0;
            for (gint64 r = 0; r < M; r++)
              for (gint64 cc = 0; cc < M; cc++)
                if (r != i && cc != j)
                  minor[w++] = a[r * M + cc];
            dx[i * M + j] += (float) (dy * ((i + j) % 2 ? -1.0 : 1.0) * _som_det_lu (minor, M - 1));
          }
    }
  return TRUE;
}

/* ---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss --------------------------- */

/* The loss is −w_t·s_t per position (s: the scores, or their log-softmax),
 * reduced by none, sum or mean (over the weights taken); so ∂/∂s_t = −w_t·c
 * with c the reduction's factor.  Through the log-softmax (and with a
 * gradient on the log_prob output), dx = g − softmax·Σ_classes g. */
static gboolean
grad_loss (GradCtx *g, GError **error)
{
  SomTensor *x = g->in[0], *t = g->in[1], *w = g->node->n_in > 2 ? g->in[2] : NULL;
  const char *reduction = _som_node_attr_string (g->node, "reduction", "mean");
  const SomAttr *ig = _som_node_attr (g->node, "ignore_index");
  gboolean sce = strcmp (g->node->op, "SoftmaxCrossEntropyLoss") == 0;
  gint64 C = x->shape[1];
  gsize N = x->shape[0], inner = C ? x->n / (N * C) : 0;
  g_autofree float *gs = NULL;
  double wsum = 0;

  if (g->din[0] == NULL)
    return TRUE;
  if (g->din[1] != NULL || (g->node->n_in > 2 && g->din[2] != NULL))
    return grad_error (g, error, "weights that depend on the input are not supported");
  gs = g_new0 (float, MAX (x->n, 1));
  for (gsize i = 0; i < N * inner; i++)
    {
      gint64 k = ((const gint64 *) t->data)[i];
      if (!(ig != NULL && k == ig->i) && k >= 0 && k < C)
        wsum += w != NULL ? F (w)[k] : 1.0;
    }
  if (g->dout[0] != NULL)
    for (gsize n = 0; n < N; n++)
      for (gsize i = 0; i < inner; i++)
        {
          gint64 k = ((const gint64 *) t->data)[n * inner + i];
          double c;
          if ((ig != NULL && k == ig->i) || k < 0 || k >= C)
            continue;
          if (strcmp (reduction, "none") == 0)
            c = F (g->dout[0])[n * inner + i];
          else if (strcmp (reduction, "sum") == 0)
            c = F (g->dout[0])[0];
          else
            c = wsum != 0 ? F (g->dout[0])[0] / wsum : 0.0;
          gs[n * C * inner + k * inner + i] = (float) (-(w != NULL ? F (w)[k] : 1.0) * c);
        }
  if (!sce)
    {
      accumulate (g->din[0], gs);
      return TRUE;
    }
  if (g->node->n_out > 1 && g->dout[1] != NULL)
    for (gsize i = 0; i < x->n; i++)
      gs[i] += F (g->dout[1])[i];
  for (gsize n = 0; n < N; n++)
    for (gsize i = 0; i < inner; i++)
      {
        const float *src = F (x) + n * C * inner + i;
        float *gr = gs + n * C * inner + i, *dx = F (g->din[0]) + n * C * inner + i;
        double mx = -INFINITY, sum = 0, gsum = 0;
        for (gint64 k = 0; k < C; k++)
          {
            mx = MAX (mx, src[k * inner]);
            gsum += gr[k * inner];
          }
        for (gint64 k = 0; k < C; k++)
          sum += exp ((double) src[k * inner] - mx);
        for (gint64 k = 0; k < C; k++)
          dx[k * inner] += (float) (gr[k * inner] - exp ((double) src[k * inner] - mx) / sum * gsum);
      }
  return TRUE;
}

/* ---- Scatter with a reduction: y[p] = f(data[p], the updates sent to p) ------- */

/* Where each update goes comes from the gather that mirrors the scatter
 * (GatherElements for ScatterElements, GatherND for ScatterND) run on the
 * position numbers of the data; then add: the data's gradient passes
 * through, each update gets dY at its position; mul: the product of the
 * others (zeros counted apart); max and min: the data, else the first update
 * in order, that equals the result takes it all. */
static gboolean
grad_scatter_reduce (GradCtx *g, const char *red, GError **error)
{
  SomTensor *data = g->in[0], *upd = g->in[2], *y = g->out[0], *dy = g->dout[0];
  gboolean nd = strcmp (g->node->op, "ScatterND") == 0;
  g_autoptr(SomTensor) nums = NULL;
  SomTensor *ins[2], *outs[1] = { NULL };
  g_autofree gsize *pos = NULL;
  g_autofree guint *zeros = NULL;
  g_autofree double *prod = NULL;
  g_autofree gboolean *taken = NULL;
  SomNode node;
  SomAttr attr;
  enum { S_ADD, S_MUL, S_MAX, S_MIN } kind;

  if (dy == NULL)
    return TRUE;
  if (strcmp (red, "add") == 0)
    kind = S_ADD;
  else if (strcmp (red, "mul") == 0)
    kind = S_MUL;
  else if (strcmp (red, "max") == 0)
    kind = S_MAX;
  else if (strcmp (red, "min") == 0)
    kind = S_MIN;
  else
    return grad_error (g, error, "reduction '%s'", red);
  if (data->n >= (1u << 24))
    return grad_error (g, error, "more than 2²⁴ elements");
  nums = _som_tensor_new (SOM_DTYPE_F32, data->ndim, data->shape, error);
  if (nums == NULL)
    return FALSE;
  for (gsize i = 0; i < data->n; i++)
    F (nums)[i] = (float) (i + 1);
  _som_node_copy (&node, g->node);
  node.op = (char *) (nd ? "GatherND" : "GatherElements");
  node.def = _som_op_lookup (node.op);
  attr = (SomAttr) { .name = (char *) "axis", .type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
                     .i = _som_node_attr_int (g->node, "axis", 0) };
  node.attrs = &attr;
  node.n_attrs = nd ? 0 : 1;
  node.n_in = 2;
  node.n_out = 1;
  ins[0] = nums;
  ins[1] = g->in[1];
  if (!run_op (g, &node, ins, 2, outs, 1, error))
    return FALSE;
  if (outs[0]->n != upd->n)
    {
      _som_tensor_unref (outs[0]);
      return grad_error (g, error, "the updates' positions have the wrong shape");
    }
  pos = g_new (gsize, MAX (upd->n, 1));
  for (gsize j = 0; j < upd->n; j++)
    pos[j] = (gsize) F (outs[0])[j] - 1;
  _som_tensor_unref (outs[0]);

  switch (kind)
    {
    case S_ADD:
      if (g->din[0] != NULL)
        accumulate (g->din[0], F (dy));
      for (gsize j = 0; g->din[2] != NULL && j < upd->n; j++)
        F (g->din[2])[j] += F (dy)[pos[j]];
      break;
    case S_MUL:
      zeros = g_new0 (guint, MAX (data->n, 1));
      prod = g_new (double, MAX (data->n, 1));
      for (gsize i = 0; i < data->n; i++)
        prod[i] = 1;
      for (gsize j = 0; j < upd->n; j++)
        {
          float u = F (upd)[j];
          if (u == 0)
            zeros[pos[j]]++;
          else
            prod[pos[j]] *= u;
        }
      for (gsize i = 0; g->din[0] != NULL && i < data->n; i++)
        if (zeros[i] == 0)
          F (g->din[0])[i] += (float) (F (dy)[i] * prod[i]);
      for (gsize j = 0; g->din[2] != NULL && j < upd->n; j++)
        {
          gsize p = pos[j];
          float u = F (upd)[j];
          double others = u != 0 ? (zeros[p] == 0 ? prod[p] / u : 0) : (zeros[p] == 1 ? prod[p] : 0);
          F (g->din[2])[j] += (float) (F (dy)[p] * F (data)[p] * others);
        }
      break;
    case S_MAX:
    case S_MIN:
      taken = g_new0 (gboolean, MAX (data->n, 1));
      for (gsize i = 0; i < data->n; i++)
        if (F (data)[i] == F (y)[i])
          {
            taken[i] = TRUE;
            if (g->din[0] != NULL)
              F (g->din[0])[i] += F (dy)[i];
          }
      for (gsize j = 0; j < upd->n; j++)
        if (!taken[pos[j]] && F (upd)[j] == F (y)[pos[j]])
          {
            taken[pos[j]] = TRUE;
            if (g->din[2] != NULL)
              F (g->din[2])[j] += F (dy)[pos[j]];
          }
      break;
    }
  return TRUE;
}

/* ---- the table ---------------------------------------------------------------------- */

/* GRAD_ADD_ONLY: the function adds into its accumulators (see GradCtx). */
enum { GRAD_ADD_ONLY = 1 };

static const struct { const char *op; GradFunc func; int flags; } grad_table[] = {
  { "Abs", grad_unary }, { "Acos", grad_unary }, { "Acosh", grad_unary }, { "Add", grad_binary },
  { "Asin", grad_unary }, { "Asinh", grad_unary }, { "Atan", grad_unary }, { "Atanh", grad_unary },
  { "AveragePool", grad_pool }, { "BatchNormalization", grad_batchnorm, GRAD_ADD_ONLY }, { "Cast", grad_cast },
  { "CastLike", grad_cast }, { "Celu", grad_unary }, { "Clip", grad_unary },
  { "Compress", grad_index_map, GRAD_ADD_ONLY }, { "Concat", grad_concat, GRAD_ADD_ONLY },
  { "Conv", grad_conv }, { "ConvTranspose", grad_conv_transpose }, { "Cos", grad_unary },
  { "Cosh", grad_unary }, { "CumSum", grad_cumsum }, { "DepthToSpace", grad_index_map, GRAD_ADD_ONLY },
  { "Div", grad_binary }, { "Dropout", grad_identity }, { "Einsum", grad_einsum, GRAD_ADD_ONLY },
  { "Elu", grad_unary }, { "Erf", grad_unary }, { "Exp", grad_unary },
  { "Expand", grad_expand, GRAD_ADD_ONLY }, { "Flatten", grad_identity },
  { "Gather", grad_index_map, GRAD_ADD_ONLY }, { "GatherElements", grad_index_map, GRAD_ADD_ONLY },
  { "GatherND", grad_index_map, GRAD_ADD_ONLY }, { "Gemm", grad_gemm }, { "GlobalAveragePool", grad_pool },
  { "GlobalMaxPool", grad_pool }, { "HardSigmoid", grad_unary }, { "HardSwish", grad_unary },
  { "Identity", grad_identity }, { "InstanceNormalization", grad_instnorm, GRAD_ADD_ONLY },
  { "LayerNormalization", grad_layernorm, GRAD_ADD_ONLY }, { "LeakyRelu", grad_unary }, { "Log", grad_unary },
  { "LRN", grad_lrn, GRAD_ADD_ONLY }, { "MaxUnpool", grad_index_map, GRAD_ADD_ONLY },
  { "MeanVarianceNormalization", grad_mvn, GRAD_ADD_ONLY },
  { "NegativeLogLikelihoodLoss", grad_loss, GRAD_ADD_ONLY }, { "Det", grad_det, GRAD_ADD_ONLY },
  { "ReverseSequence", grad_index_map, GRAD_ADD_ONLY }, { "Scatter", grad_index_map, GRAD_ADD_ONLY },
  { "SoftmaxCrossEntropyLoss", grad_loss, GRAD_ADD_ONLY },
  { "LogSoftmax", grad_softmax, GRAD_ADD_ONLY }, { "MatMul", grad_matmul, GRAD_ADD_ONLY },
  { "Max", grad_binary }, { "MaxPool", grad_pool }, { "Mean", grad_binary }, { "Min", grad_binary },
  { "Mish", grad_unary }, { "Mod", grad_binary }, { "Mul", grad_binary }, { "Neg", grad_unary }, { "PRelu", grad_binary },
  { "Pad", grad_pad, GRAD_ADD_ONLY }, { "Pow", grad_binary }, { "Reciprocal", grad_unary },
  { "ReduceL1", grad_reduce, GRAD_ADD_ONLY }, { "ReduceL2", grad_reduce, GRAD_ADD_ONLY },
  { "ReduceLogSum", grad_reduce, GRAD_ADD_ONLY }, { "ReduceLogSumExp", grad_reduce, GRAD_ADD_ONLY },
  { "ReduceMax", grad_reduce, GRAD_ADD_ONLY }, { "ReduceMean", grad_reduce, GRAD_ADD_ONLY },
  { "ReduceMin", grad_reduce, GRAD_ADD_ONLY }, { "ReduceProd", grad_reduce, GRAD_ADD_ONLY },
  { "ReduceSum", grad_reduce, GRAD_ADD_ONLY },
  { "ReduceSumSquare", grad_reduce, GRAD_ADD_ONLY }, { "Relu", grad_unary }, { "Reshape", grad_identity },
  { "Resize", grad_resize, GRAD_ADD_ONLY },
  { "ScatterElements", grad_index_map, GRAD_ADD_ONLY }, { "ScatterND", grad_index_map, GRAD_ADD_ONLY },
  { "Selu", grad_unary }, { "Shrink", grad_unary }, { "Sigmoid", grad_unary },
  { "Sin", grad_unary }, { "Sinh", grad_unary }, { "Slice", grad_slice, GRAD_ADD_ONLY },
  { "Softmax", grad_softmax, GRAD_ADD_ONLY }, { "Softplus", grad_unary }, { "Softsign", grad_unary },
  { "SpaceToDepth", grad_index_map, GRAD_ADD_ONLY }, { "Split", grad_split, GRAD_ADD_ONLY },
  { "Sqrt", grad_unary }, { "Squeeze", grad_identity }, { "Sub", grad_binary }, { "Sum", grad_binary },
  { "Tan", grad_unary }, { "Tanh", grad_unary }, { "ThresholdedRelu", grad_unary },
  { "Tile", grad_index_map, GRAD_ADD_ONLY }, { "TopK", grad_topk, GRAD_ADD_ONLY },
  { "Transpose", grad_transpose, GRAD_ADD_ONLY }, { "Trilu", grad_index_map, GRAD_ADD_ONLY },
  { "Unsqueeze", grad_identity }, { "Upsample", grad_resize, GRAD_ADD_ONLY },
  { "Where", grad_index_map, GRAD_ADD_ONLY },
};

/* Ops whose outputs never carry a gradient (integer, boolean or piecewise
 * constant results, whose derivative is zero wherever it exists): a path
 * through them is not a differentiable path.  No op is in both tables. */
static const char * const no_grad_ops[] = {
  "ArgMax", "ArgMin", "Ceil", "Equal", "Floor", "Greater", "GreaterOrEqual", "Less", "LessOrEqual",
  "Not", "And", "Or", "Xor", "Round", "Shape", "Sign", "Size", "ConstantOfShape", "Range",
  "Constant", "IsInf", "IsNaN", "OneHot", "EyeLike", "Hardmax", "NonZero", "HannWindow", "HammingWindow",
  "BlackmanWindow", NULL,
};

static GradFunc
grad_lookup_flags (const char *op, int *flags)
{
  for (guint i = 0; i < G_N_ELEMENTS (grad_table); i++)
    if (strcmp (grad_table[i].op, op) == 0)
      {
        if (flags != NULL)
          *flags = grad_table[i].flags;
        return grad_table[i].func;
      }
  return NULL;
}

static GradFunc
grad_lookup (const char *op)
{
  return grad_lookup_flags (op, NULL);
}

SomGradKind
_som_grad_op_kind (const char *op)
{
  if (grad_lookup (op) != NULL)
    return g_strv_contains (no_grad_ops, op) ? SOM_GRAD_UNKNOWN : SOM_GRAD_DEFINED;
  return g_strv_contains (no_grad_ops, op) ? SOM_GRAD_NONE : SOM_GRAD_UNKNOWN;
}

/* ---- planning: which values carry a gradient ----------------------------------- */

typedef struct
{
  int       input_id;   /* the image input */
  int       logits_id;  /* the value the loss is taken on */
  gboolean  via_softmax;
  gboolean *req;        /* value depends differentiably on the input */
  gboolean *need;       /* value reaches the logits */
} Plan;

static void
plan_clear (Plan *p)
{
  g_clear_pointer (&p->req, g_free);
  g_clear_pointer (&p->need, g_free);
}

static gboolean
is_no_grad (const char *op)
{
  return g_strv_contains (no_grad_ops, op);
}

static gboolean
make_plan (SomModel *model, Plan *p, GError **error)
{
  guint nv = _som_model_get_n_values (model), nn = _som_model_get_n_nodes (model);
  const char *path = som_model_get_path (model);
  const SomValueInfo *in_info, *out_info;
  int out_id = -1;

  memset (p, 0, sizeof *p);
  if (!som_model_get_image_shape (model, NULL, NULL, NULL, NULL, error))
    return FALSE;
  if (som_model_get_n_outputs (model) == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: the model has no outputs", path);
      return FALSE;
    }
  in_info = som_model_get_input (model, 0);
  out_info = som_model_get_output (model, 0);
  p->input_id = -1;
  for (guint i = 0; i < nv; i++)
    {
      SomValue *v = _som_model_get_value (model, i);
      if (v->input_index == 0 && v->constant == NULL)
        p->input_id = i;
      if (strcmp (v->name, out_info->name) == 0)
        out_id = i;
    }
  if (p->input_id < 0 || out_id < 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: cannot find the input '%s' or the output '%s'",
                   path, in_info->name, out_info->name);
      return FALSE;
    }
  p->logits_id = out_id;
  {
    SomValue *ov = _som_model_get_value (model, out_id);
    if (ov->producer >= 0)
      {
        SomNode *n = _som_model_get_node (model, ov->producer);
        if ((strcmp (n->op, "Softmax") == 0 || strcmp (n->op, "LogSoftmax") == 0) && n->in[0] >= 0)
          {
            p->logits_id = n->in[0];
            p->via_softmax = TRUE;
          }
      }
  }

  p->req = g_new0 (gboolean, nv);
  p->need = g_new0 (gboolean, nv);
  p->req[p->input_id] = TRUE;
  for (guint i = 0; i < nn; i++)
    {
      SomNode *n = _som_model_get_node (model, i);
      gboolean any = FALSE;
      if (n->folded || is_no_grad (n->op))
        continue;
      for (guint k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && p->req[n->in[k]])
          any = TRUE;
      if (!any)
        continue;
      for (guint k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && _som_model_get_value (model, n->out[k])->dtype == SOM_DTYPE_F32)
          p->req[n->out[k]] = TRUE;
    }
  p->need[p->logits_id] = TRUE;
  for (int i = (int) nn - 1; i >= 0; i--)
    {
      SomNode *n = _som_model_get_node (model, i);
      gboolean any = FALSE;
      for (guint k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && p->need[n->out[k]] && p->req[n->out[k]])
          any = TRUE;
      if (!any)
        continue;
      if (grad_lookup (n->op) == NULL)
        {
          g_autofree char *label = n->name[0] != '\0' ? g_strdup (n->name) : g_strdup_printf ("#%u", n->index);
          g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                       "%s: node %s (%s) lies between the input and the output but Somscope has no gradient "
                       "for %s", path, label, n->op, n->op);
          plan_clear (p);
          return FALSE;
        }
      for (guint k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && p->req[n->in[k]])
          p->need[n->in[k]] = TRUE;
    }
  if (!p->req[p->logits_id] || !p->need[p->input_id])
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "%s: the output '%s' has no differentiable path from the input '%s' (attacks need one)",
                   path, out_info->name, in_info->name);
      plan_clear (p);
      return FALSE;
    }
  return TRUE;
}

gboolean
som_model_check_differentiable (SomModel *model, GError **error)
{
  Plan p;

  g_return_val_if_fail (SOM_IS_MODEL (model), FALSE);
  if (!make_plan (model, &p, error))
    return FALSE;
  plan_clear (&p);
  return TRUE;
}

/* ---- the pass --------------------------------------------------------------------- */

static SomTensor *
zeros_like (const SomTensor *t, GError **error)
{
  SomTensor *z = _som_tensor_new (SOM_DTYPE_F32, t->ndim, t->shape, error);
  if (z != NULL && z->n > 0)
    memset (z->data, 0, z->n * sizeof (float));
  return z;
}

gboolean
som_model_input_gradient (SomModel *model, const SomArray *images, const gint32 *labels, SomArray **grad,
                          SomArray **logits, double *loss, GCancellable *cancellable, GError **error)
{
  Plan p;
  g_autoptr(SomTensor) x = NULL;
  SomTensor **vals = NULL;
  SomTensor **grads = NULL;
  guint nv, nn;
  gboolean ok = FALSE;
  SomTensor *z;
  gint64 N, K;
  double total = 0;
  const char *path = som_model_get_path (model);

  g_return_val_if_fail (SOM_IS_MODEL (model), FALSE);
  g_return_val_if_fail (grad != NULL, FALSE);

  if (!make_plan (model, &p, error))
    return FALSE;
  nv = _som_model_get_n_values (model);
  nn = _som_model_get_n_nodes (model);
  x = _som_tensor_from_array (images, error);
  if (x == NULL)
    goto out;
  {
    const SomValueInfo *info = som_model_get_input (model, 0);
    gboolean fits = x->dtype == SOM_DTYPE_F32 && x->ndim == info->ndim;
    for (guint d = 0; fits && d < info->ndim; d++)
      if (info->shape[d] > 0 && x->shape[d] != info->shape[d])
        fits = FALSE;
    if (!fits)
      {
        g_autofree char *want = _som_shape_string (info->ndim, info->shape);
        g_autofree char *have = _som_shape_string (x->ndim, x->shape);
        g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: input '%s' wants float32 %s, got %s %s", path,
                     info->name, want, som_dtype_name (images->dtype), have);
        goto out;
      }
  }
  vals = _som_model_forward_all (model, &x, cancellable, error);
  if (vals == NULL)
    goto out;
#define VAL(id) (_som_model_get_value (model, (id))->constant != NULL \
                 ? _som_model_get_value (model, (id))->constant : vals[(id)])

  z = VAL (p.logits_id);
  if (z == NULL || z->dtype != SOM_DTYPE_F32 || z->ndim != 2)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED,
                   "%s: the output is not N×K class scores (cross-entropy needs them)", path);
      goto out;
    }
  N = z->shape[0];
  K = z->shape[1];
  for (gint64 n = 0; n < N; n++)
    if (labels[n] < 0 || labels[n] >= K)
      {
        g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: label %d of input %" G_GINT64_FORMAT
                     " is not a class of the model (0…%" G_GINT64_FORMAT ")", path, labels[n], n, K - 1);
        goto out;
      }

  grads = g_new0 (SomTensor *, nv);
  grads[p.logits_id] = zeros_like (z, error);
  if (grads[p.logits_id] == NULL)
    goto out;
  for (gint64 n = 0; n < N; n++)
    {
      const float *zr = F (z) + n * K;
      float *gr = F (grads[p.logits_id]) + n * K;
      double m = -INFINITY, s = 0;
      for (gint64 k = 0; k < K; k++)
        m = MAX (m, zr[k]);
      for (gint64 k = 0; k < K; k++)
        s += exp (zr[k] - m);
      total += m + log (s) - zr[labels[n]];
      for (gint64 k = 0; k < K; k++)
        gr[k] = (float) (exp (zr[k] - m) / s);
      gr[labels[n]] -= 1.0f;
    }

  for (int i = (int) nn - 1; i >= 0; i--)
    {
      SomNode *n = _som_model_get_node (model, i);
      g_autofree SomTensor **in = NULL, **out = NULL, **dout = NULL, **din = NULL;
      g_autofree gboolean *fresh = NULL;
      gboolean any_out = FALSE, any_in = FALSE;
      GradFunc func;
      int flags = 0;
      GradCtx g;

      for (guint k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && grads[n->out[k]] != NULL && p.need[n->out[k]])
          any_out = TRUE;
      for (guint k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && p.req[n->in[k]] && p.need[n->in[k]])
          any_in = TRUE;
      if (!any_out || !any_in)
        continue;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      in = g_new0 (SomTensor *, MAX (n->n_in, 1));
      din = g_new0 (SomTensor *, MAX (n->n_in, 1));
      fresh = g_new0 (gboolean, MAX (n->n_in, 1));
      out = g_new0 (SomTensor *, MAX (n->n_out, 1));
      dout = g_new0 (SomTensor *, MAX (n->n_out, 1));
      func = grad_lookup_flags (n->op, &flags);
      for (guint k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0)
          {
            int id = n->in[k];
            in[k] = VAL (id);
            if (p.req[id] && p.need[id])
              {
                gboolean repeated = FALSE;
                for (guint j = 0; j < k; j++)
                  if (n->in[j] == id)
                    repeated = TRUE;
                if (grads[id] == NULL)
                  {
                    /* not zeroed: the first contribution is written, not added */
                    grads[id] = _som_tensor_new (SOM_DTYPE_F32, in[k]->ndim, in[k]->shape, error);
                    if (grads[id] == NULL)
                      goto out;
                    fresh[k] = TRUE;
                  }
                din[k] = grads[id];
                if (fresh[k] && (repeated || (flags & GRAD_ADD_ONLY)))
                  {
                    memset (din[k]->data, 0, din[k]->n * sizeof (float));
                    fresh[k] = FALSE;
                  }
                if (repeated)
                  for (guint j = 0; j < k; j++)
                    if (n->in[j] == id && fresh[j])
                      {
                        memset (din[k]->data, 0, din[k]->n * sizeof (float));
                        fresh[j] = FALSE;
                      }
              }
          }
      for (guint k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0)
          {
            out[k] = VAL (n->out[k]);
            dout[k] = p.need[n->out[k]] ? grads[n->out[k]] : NULL;
          }
      g = (GradCtx) { model, n, in, out, dout, din, fresh, grads };
      if (!func (&g, error))
        goto out;
      /* what the function did not write gets no gradient from this node */
      for (guint k = 0; k < n->n_in; k++)
        if (din[k] != NULL && fresh[k])
          memset (din[k]->data, 0, din[k]->n * sizeof (float));
      /* the output gradients are no longer needed */
      for (guint k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && n->out[k] != p.input_id)
          g_clear_pointer (&grads[n->out[k]], _som_tensor_unref);
    }
#undef VAL

  if (grads[p.input_id] == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_FAILED, "%s: no gradient reached the input", path);
      goto out;
    }
  *grad = _som_tensor_to_array (grads[p.input_id], error);
  if (*grad == NULL)
    goto out;
  if (logits != NULL)
    {
      SomValue *ov = _som_model_get_value (model, p.logits_id);
      SomTensor *o = p.via_softmax ? NULL : vals[p.logits_id];
      (void) ov;
      if (o == NULL)
        {
          /* graph output 0 is the softmax's output */
          const SomValueInfo *info = som_model_get_output (model, 0);
          for (guint i = 0; i < nv; i++)
            if (strcmp (_som_model_get_value (model, i)->name, info->name) == 0)
              o = vals[i];
        }
      *logits = o != NULL ? _som_tensor_to_array (o, error) : NULL;
      if (*logits == NULL)
        {
          g_clear_pointer (grad, som_array_free);
          goto out;
        }
    }
  if (loss != NULL)
    *loss = total;
  ok = TRUE;

out:
  if (grads != NULL)
    {
      for (guint i = 0; i < nv; i++)
        g_clear_pointer (&grads[i], _som_tensor_unref);
      g_free (grads);
    }
  if (vals != NULL)
    _som_values_free (model, vals);
  plan_clear (&p);
  return ok;
}
