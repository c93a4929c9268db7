/* som-ops-nn.c: Conv, pools, Gemm, MatMul, normalizations, Softmax, reductions
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

/* The elementwise loops are the hot path next to sgemm: let GCC vectorize
 * them (the build is -O2, which does not). */
#pragma GCC optimize ("tree-vectorize")

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "som-ops-private.h"
#include "som-conv-depthwise.h"
#include "som-conv-direct.h"
#include "som-conv-winograd.h"
#include "som-tsan-private.h"

/* ---- a small parallel-for over a shared pool ---------------------------------- */

/* GLib's GMutex/GCond and GAsyncQueue are futex-based and invisible to
 * ThreadSanitizer: the hand-over of a chunk (push → worker) is annotated and
 * the count of pending chunks is atomic (worker → caller), so that TSan
 * checks the kernels themselves without false reports (tests/tsan.supp). */
#define tsan_release(p) som_tsan_release (p)
#define tsan_acquire(p) som_tsan_acquire (p)

typedef struct
{
  void      (*func) (gsize, gsize, gpointer);
  gpointer    data;
  gsize       begin, end;
  GMutex     *mutex;
  GCond      *cond;
  int        *pending;
} Chunk;

static void
pool_worker (gpointer item, gpointer user_data)
{
  Chunk *ch = item;
  GMutex *mutex;
  GCond *cond;

  tsan_acquire (ch);
  /* The chunk lives on the caller's stack: last touched before the count
   * drops (the caller may return as soon as it sees zero). */
  mutex = ch->mutex;
  cond = ch->cond;
  ch->func (ch->begin, ch->end, ch->data);
  g_mutex_lock (mutex);
  if (g_atomic_int_dec_and_test (ch->pending))
    g_cond_signal (cond);
  g_mutex_unlock (mutex);
}

/* pthread_once, not g_once: GLib's g_once_init_leave() publishes through a
 * futex-based mutex inside an uninstrumented libglib, so ThreadSanitizer
 * sees the first caller's write of the pool and not the hand-over, and
 * reports every other thread's read as a race; TSan understands pthread_once. */
static GThreadPool *pool;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void
make_pool (void)
{
  pool = g_thread_pool_new (pool_worker, NULL, MAX (g_get_num_processors (), 2), FALSE, NULL);
}

static GThreadPool *
get_pool (void)
{
  pthread_once (&pool_once, make_pool);
  return pool;
}

/* OpenBLAS's idle workers spin in sched_yield for 2^28 cycles (about 0.1 s)
 * after each product before they sleep.  Between the sgemms of a network
 * that is always: on 2 cores the spinning worker takes its share of time
 * from the op pool doing the elementwise work, depthwise convolutions and
 * im2col (under perf, the sched_yield calls were a third to a half of the
 * samples of efficientnet_b0 and regnet_y_400mf at 2 threads).
 * OPENBLAS_THREAD_TIMEOUT=18 lets them spin 2^18 cycles (about 0.1 ms),
 * enough to catch the next product of a convolution's loop, but OpenBLAS
 * reads it only when it loads, before main.  So this constructor (the
 * executable's run after its libraries') sets it unless the user did, has
 * OpenBLAS read its environment again and stops its workers; OpenBLAS starts
 * them again, with the short timeout, at the next threaded product or
 * openblas_set_num_threads().  The two entry points are exported by
 * OpenBLAS's pthread build; weak, so that another BLAS only loses this. */
void openblas_read_env (void) __attribute__ ((weak));
int blas_thread_shutdown_ (void) __attribute__ ((weak));

__attribute__ ((constructor)) static void
short_blas_spin (void)
{
  if (openblas_read_env == NULL || blas_thread_shutdown_ == NULL || g_getenv ("OPENBLAS_THREAD_TIMEOUT") != NULL)
    return;
  g_setenv ("OPENBLAS_THREAD_TIMEOUT", "18", FALSE);
  openblas_read_env ();
  g_unsetenv ("OPENBLAS_THREAD_TIMEOUT");
  blas_thread_shutdown_ ();
}

static int
n_threads (void)
{
  int t = openblas_get_num_threads ();
  return CLAMP (t, 1, 64);
}

void
_som_parallel_for (gsize n, gsize grain, void (*func) (gsize, gsize, gpointer), gpointer data)
{
  int t = n_threads ();
  Chunk chunks[64];
  GMutex mutex;
  GCond cond;
  int pending;
  gsize step;

  if (t <= 1 || n < 2 * MAX (grain, 1))
    {
      func (0, n, data);
      return;
    }
  t = MIN ((gsize) t, n / MAX (grain, 1));
  g_mutex_init (&mutex);
  g_cond_init (&cond);
  pending = t - 1;
  step = (n + t - 1) / t;
  for (int i = 1; i < t; i++)
    {
      chunks[i] = (Chunk) { func, data, MIN (i * step, n), MIN ((i + 1) * step, n), &mutex, &cond, &pending };
      tsan_release (&chunks[i]);
      g_thread_pool_push (get_pool (), &chunks[i], NULL);
    }
  func (0, MIN (step, n), data);
  g_mutex_lock (&mutex);
  while (g_atomic_int_get (&pending) > 0)
    g_cond_wait (&cond, &mutex);
  g_mutex_unlock (&mutex);
  g_mutex_clear (&mutex);
  g_cond_clear (&cond);
}

/* ---- windows: Conv and pools ---------------------------------------------------- */


gboolean
_som_window_params (SomOpCtx *c, const SomTensor *x, const gint64 *kernel, gboolean is_pool, SomWindow *w, GError **error)
{
  guint nsp = x->ndim - 2, n, off;
  const gint64 *v;
  const char *auto_pad = _som_node_attr_string (c->node, "auto_pad", "NOTSET");
  gboolean ceil_mode = _som_node_attr_int (c->node, "ceil_mode", 0) != 0;

  if (x->ndim < 3 || nsp > 3)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "%u spatial dimensions (1, 2 and 3 are supported)",
                     x->ndim < 2 ? 0 : x->ndim - 2);
      return FALSE;
    }
  off = 3 - nsp;
  memset (w, 0, sizeof *w);
  w->nsp = nsp;
  for (guint i = 0; i < 3; i++)
    {
      w->in[i] = 1; w->k[i] = 1; w->s[i] = 1; w->d[i] = 1;
    }
  for (guint i = 0; i < nsp; i++)
    {
      w->in[off + i] = x->shape[2 + i];
      w->k[off + i] = kernel[i];
      if (kernel[i] <= 0)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "invalid kernel size");
          return FALSE;
        }
    }
  if ((v = _som_node_attr_ints (c->node, "strides", &n)) != NULL)
    {
      if (n != nsp) goto bad;
      for (guint i = 0; i < nsp; i++) w->s[off + i] = v[i];
    }
  if ((v = _som_node_attr_ints (c->node, "dilations", &n)) != NULL)
    {
      if (n != nsp) goto bad;
      for (guint i = 0; i < nsp; i++) w->d[off + i] = v[i];
    }
  if ((v = _som_node_attr_ints (c->node, "pads", &n)) != NULL && strcmp (auto_pad, "NOTSET") == 0)
    {
      if (n != 2 * nsp) goto bad;
      for (guint i = 0; i < nsp; i++)
        {
          w->pb[off + i] = v[i];
          w->pe[off + i] = v[i + nsp];
        }
    }
  for (guint j = off; j < 3; j++)
    {
      gint64 ek, num;
      if (w->s[j] <= 0 || w->d[j] <= 0 || w->pb[j] < 0 || w->pe[j] < 0)
        goto bad;
      ek = (w->k[j] - 1) * w->d[j] + 1;
      if (strcmp (auto_pad, "SAME_UPPER") == 0 || strcmp (auto_pad, "SAME_LOWER") == 0)
        {
          gint64 o = (w->in[j] + w->s[j] - 1) / w->s[j];
          gint64 total = MAX (0, (o - 1) * w->s[j] + ek - w->in[j]);
          w->pb[j] = auto_pad[5] == 'U' ? total / 2 : total - total / 2;
          w->pe[j] = total - w->pb[j];
          w->out[j] = o;
          continue;
        }
      if (strcmp (auto_pad, "VALID") == 0)
        w->pb[j] = w->pe[j] = 0;
      else if (strcmp (auto_pad, "NOTSET") != 0)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "unknown auto_pad '%s'", auto_pad);
          return FALSE;
        }
      num = w->in[j] + w->pb[j] + w->pe[j] - ek;
      if (num < 0)
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "the window (%" G_GINT64_FORMAT ") is larger than the padded input (%"
                         G_GINT64_FORMAT ")", ek, w->in[j] + w->pb[j] + w->pe[j]);
          return FALSE;
        }
      if (is_pool && ceil_mode)
        {
          w->out[j] = (num + w->s[j] - 1) / w->s[j] + 1;
          /* the last window must start inside the input or the left padding */
          if ((w->out[j] - 1) * w->s[j] >= w->in[j] + w->pb[j])
            w->out[j]--;
        }
      else
        w->out[j] = num / w->s[j] + 1;
    }
  for (guint j = 0; j < off; j++)
    w->out[j] = 1;
  return TRUE;
bad:
  _som_op_error (c, error, SOM_ERROR_INVALID, "invalid strides, dilations or pads");
  return FALSE;
}

void
_som_window_taps (const SomWindow *w, SomWindowTaps *taps[3])
{
  SomWindowTaps *t = g_new (SomWindowTaps, w->out[0] + w->out[1] + w->out[2]);

  for (guint a = 0; a < 3; a++)
    {
      taps[a] = t;
      for (gint64 o = 0; o < w->out[a]; o++, t++)
        {
          gint64 start = o * w->s[a] - w->pb[a];

          t->padded = 0;
          for (gint64 k = 0; k < w->k[a]; k++)
            {
              gint64 x = start + k * w->d[a];
              t->padded += x >= -w->pb[a] && x < w->in[a] + w->pe[a];
            }
          t->t0 = 0;
          while (t->t0 < w->k[a] && start + t->t0 * w->d[a] < 0)
            t->t0++;
          t->t1 = w->k[a];
          while (t->t1 > t->t0 && start + (t->t1 - 1) * w->d[a] >= w->in[a])
            t->t1--;
        }
    }
}

static void
window_out_shape (const SomTensor *x, gint64 channels, const SomWindow *w, gint64 *shape)
{
  shape[0] = x->shape[0];
  shape[1] = channels;
  for (guint i = 0; i < w->nsp; i++)
    shape[2 + i] = w->out[3 - w->nsp + i];
}

gboolean
_som_conv_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x, *wt;
  SomWindow w;
  gint64 kernel[3] = { 1, 1, 1 }, shape[SOM_ARRAY_MAX_DIMS], group = _som_node_attr_int (c->node, "group", 1);

  if (!_som_need_inputs (c, 2, error))
    return FALSE;
  x = c->in[0];
  wt = c->in[1];
  if (x->dtype != SOM_DTYPE_F32 || wt->dtype != SOM_DTYPE_F32 || wt->ndim != x->ndim || x->ndim < 3)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs float input and weights of the same rank (≥ 3)");
      return FALSE;
    }
  if (x->ndim > 5)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "%u spatial dimensions (1, 2 and 3 are supported)", x->ndim - 2);
      return FALSE;
    }
  for (guint i = 2; i < wt->ndim; i++)
    kernel[i - 2] = wt->shape[i];
  if (group <= 0 || x->shape[1] % group != 0 || wt->shape[0] % group != 0 || wt->shape[1] * group != x->shape[1])
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "input channels %" G_GINT64_FORMAT ", weights %" G_GINT64_FORMAT "×%"
                     G_GINT64_FORMAT " and group %" G_GINT64_FORMAT " do not fit", x->shape[1], wt->shape[0],
                     wt->shape[1], group);
      return FALSE;
    }
  if (c->n_in > 2 && c->in[2] != NULL && c->in[2]->n != (gsize) wt->shape[0])
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "bias has %" G_GSIZE_FORMAT " entries for %" G_GINT64_FORMAT
                     " output channels", c->in[2]->n, wt->shape[0]);
      return FALSE;
    }
  {
    guint nk;
    const gint64 *ks = _som_node_attr_ints (c->node, "kernel_shape", &nk);
    if (ks != NULL && (nk != x->ndim - 2 || memcmp (ks, kernel, nk * sizeof (gint64)) != 0))
      {
        _som_op_error (c, error, SOM_ERROR_INVALID, "kernel_shape does not match the weights");
        return FALSE;
      }
  }
  if (!_som_window_params (c, x, kernel, FALSE, &w, error))
    return FALSE;
  window_out_shape (x, wt->shape[0], &w, shape);
  _som_set_shape (c->out[0], SOM_DTYPE_F32, x->ndim, shape);
  return TRUE;
}

typedef struct
{
  const float *x;           /* the first image of the chunk, group offset applied */
  float       *cols;
  gint64       img_stride;  /* elements between images */
  gint64       Cg, nb;
  const SomWindow *w;
} Im2col;

static void
im2col_range (gsize begin, gsize end, gpointer data)
{
  Im2col *ic = data;
  const SomWindow *w = ic->w;
  gint64 OD = w->out[0], OH = w->out[1], OW = w->out[2], D = w->in[0], H = w->in[1], W = w->in[2];
  gint64 ovol = OD * OH * OW, ncols = ic->nb * ovol, kvol = w->k[0] * w->k[1] * w->k[2];

  for (gsize row = begin; row < end; row++)
    {
      gint64 cc = row / kvol;
      gint64 kd = (row / (w->k[1] * w->k[2])) % w->k[0];
      gint64 ki = (row / w->k[2]) % w->k[1];
      gint64 kj = row % w->k[2];
      float *dst = ic->cols + row * ncols;
      for (gint64 n = 0; n < ic->nb; n++)
        {
          const float *src = ic->x + n * ic->img_stride + cc * D * H * W;
          for (gint64 od = 0; od < OD; od++)
            {
              gint64 id = od * w->s[0] - w->pb[0] + kd * w->d[0];
              float *dplane = dst + n * ovol + od * OH * OW;
              if (id < 0 || id >= D)
                {
                  memset (dplane, 0, OH * OW * sizeof (float));
                  continue;
                }
              if (w->s[1] == 1 && w->s[2] == 1 && OW == W)
                {
                  /* stride 1, rows as wide as the input's: the tap's plane
                   * is the input plane shifted by dh rows and off columns,
                   * one block copy; then zeros where the shift leaves the
                   * input (top and bottom rows, the columns that wrapped) */
                  gint64 dh = ki * w->d[1] - w->pb[1], off = kj * w->d[2] - w->pb[2];
                  gint64 oh0 = CLAMP (-dh, 0, OH), oh1 = CLAMP (H - dh, oh0, OH);
                  gint64 lo = CLAMP (-off, 0, OW), hi = CLAMP (W - off, lo, OW);
                  gint64 b0 = oh0 * OW + lo, b1 = oh1 > oh0 ? (oh1 - 1) * OW + hi : b0;
                  const float *splane = src + id * H * W;
                  if (b1 > b0)
                    memcpy (dplane + b0, splane + (oh0 + dh) * W + lo + off, (b1 - b0) * sizeof (float));
                  else
                    b1 = b0;
                  memset (dplane, 0, b0 * sizeof (float));
                  memset (dplane + b1, 0, (OH * OW - b1) * sizeof (float));
                  for (gint64 oh = oh0; oh + 1 < oh1; oh++)
                    {
                      float *drow = dplane + oh * OW;
                      for (gint64 ow = hi; ow < OW; ow++)
                        drow[ow] = 0.0f;
                      for (gint64 ow = 0; ow < lo; ow++)
                        drow[OW + ow] = 0.0f;
                    }
                  continue;
                }
              for (gint64 oh = 0; oh < OH; oh++)
                {
                  gint64 ih = oh * w->s[1] - w->pb[1] + ki * w->d[1];
                  float *drow = dplane + oh * OW;
                  const float *srow;
                  gint64 off;
                  if (ih < 0 || ih >= H)
                    {
                      memset (drow, 0, OW * sizeof (float));
                      continue;
                    }
                  srow = src + (id * H + ih) * W;
                  off = kj * w->d[2] - w->pb[2];
                  if (w->s[2] == 1)
                    {
                      /* valid ow: 0 <= ow + off < W */
                      gint64 lo = MIN (OW, MAX (0, -off)), hi = MIN (OW, W - off);
                      if (hi < lo)
                        hi = lo;
                      /* rows are short: plain loops beat memcpy/memset calls */
                      const float *s1 = srow + off;
                      for (gint64 ow = 0; ow < lo; ow++)
                        drow[ow] = 0.0f;
                      for (gint64 ow = lo; ow < hi; ow++)
                        drow[ow] = s1[ow];
                      for (gint64 ow = hi; ow < OW; ow++)
                        drow[ow] = 0.0f;
                    }
                  else
                    for (gint64 ow = 0; ow < OW; ow++)
                      {
                        gint64 iw = ow * w->s[2] + off;
                        drow[ow] = iw >= 0 && iw < W ? srow[iw] : 0.0f;
                      }
                }
            }
        }
    }
}

typedef struct
{
  const float *x, *wt, *bias;
  float *y;
  gint64 C;
  const SomWindow *w;
} Depthwise;

static void
depthwise_range (gsize begin, gsize end, gpointer data)
{
  Depthwise *dw = data;
  const SomWindow *w = dw->w;
  gint64 D = w->in[0], H = w->in[1], W = w->in[2], OD = w->out[0], OH = w->out[1], OW = w->out[2];
  gint64 KD = w->k[0], KH = w->k[1], KW = w->k[2];

  for (gsize plane = begin; plane < end; plane++)
    {
      gint64 ch = plane % dw->C;

      _som_depthwise_plane (dw->x + plane * D * H * W, dw->wt + ch * KD * KH * KW,
                            dw->bias ? dw->bias[ch] : 0.0f, dw->y + plane * OD * OH * OW, w);
    }
}

/* GEMM result (Mg × cnt·ohw) → cnt images of Mg channels, plus the bias */
typedef struct
{
  const float *tmp;
  float       *y;            /* first image, first channel of the group */
  const float *bias;
  gint64       ncols, cnt, ohw, img_stride;
} Scatter;

static void
scatter_range (gsize begin, gsize end, gpointer data)
{
  Scatter *sc = data;

  for (gsize m = begin; m < end; m++)
    {
      float b = sc->bias ? sc->bias[m] : 0.0f;
      for (gint64 i = 0; i < sc->cnt; i++)
        {
          float *yo = sc->y + i * sc->img_stride + m * sc->ohw;
          const float *src = sc->tmp + m * sc->ncols + i * sc->ohw;
          for (gint64 p = 0; p < sc->ohw; p++)
            yo[p] = src[p] + b;
        }
    }
}

/* Whether the weights of @c are the model's constant and its node the
 * model's own (not a gradient's copy on the stack): then what is prepared
 * from them may be kept on the node, which lives as long as the model. */
static gboolean
constant_weights (SomOpCtx *c, const SomTensor *wt)
{
  SomValue *wv = _som_model_get_value (c->model, c->node->in[1]);

  return wv != NULL && wv->constant != NULL && wv->constant->data == wt->data
         && c->node->index < _som_model_get_n_nodes (c->model)
         && _som_model_get_node (c->model, c->node->index) == c->node;
}

gboolean
_som_conv_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *wt = c->in[1], *y = c->out[0];
  const float *bias = c->n_in > 2 && c->in[2] != NULL ? c->in[2]->data : NULL;
  gint64 group = _som_node_attr_int (c->node, "group", 1);
  gint64 kernel[3] = { 1, 1, 1 };
  SomWindow w;
  gint64 N = x->shape[0], C = x->shape[1], M = wt->shape[0];
  gint64 Cg, Mg, K, ohw, hw, nb;
  g_autofree float *cols = NULL, *tmp = NULL;
  gboolean pointwise;

  for (guint i = 2; i < wt->ndim; i++)
    kernel[i - 2] = wt->shape[i];
  _som_window_params (c, x, kernel, FALSE, &w, NULL);
  Cg = C / group;
  Mg = M / group;
  K = Cg * w.k[0] * w.k[1] * w.k[2];
  ohw = w.out[0] * w.out[1] * w.out[2];
  hw = w.in[0] * w.in[1] * w.in[2];
  if (N == 0 || ohw == 0)
    return TRUE;

  if (group == C && group == M)
    {
      Depthwise dw = { x->data, wt->data, bias, y->data, C, &w };
      _som_parallel_for (N * C, 4, depthwise_range, &dw);
      return TRUE;
    }

  /* Few channels on a small plane, or few channels per group: direct
   * kernels, no im2col, no packing */
  if ((group > 1 || M >= 8) && w.nsp <= 2 && w.d[1] == 1 && w.d[2] == 1 && g_getenv ("SOMSCOPE_NO_DIRECT") == NULL)
    {
      SomConvGeom cg = { N, C, w.in[1], w.in[2], M, w.k[1], w.k[2], w.s[1], w.s[2], w.pb[1], w.pb[2], w.out[1],
                         w.out[2], group };
      if (_som_direct_conv_fits (&cg)
          && _som_direct_conv (&cg, x->data, wt->data, bias, y->data,
                               constant_weights (c, wt) ? &c->node->direct_cache : NULL))
        return TRUE;
    }

  /* 3×3, stride 1, enough channels: Winograd F(4×4, 3×3), with the kernels
   * transformed once per node when the weights are constants */
  if (group == 1 && w.nsp == 2 && w.k[1] == 3 && w.k[2] == 3 && w.s[1] == 1 && w.s[2] == 1 && w.d[1] == 1
      && w.d[2] == 1 && C >= 16 && M >= 16 && g_getenv ("SOMSCOPE_NO_WINOGRAD") == NULL)
    {
      SomNode *node = c->node;
      g_autofree float *own = NULL;
      const float *u;
      if (constant_weights (c, wt))
        {
          /* Atomics TSan sees (g_once_init_leave is hidden in libglib): two
           * threads may both transform the kernel; the first one kept wins. */
          u = g_atomic_pointer_get (&node->kernel_cache);
          if (u == NULL)
            {
              float *k = _som_winograd_kernel (wt->data, M, C);

              if (k != NULL && g_atomic_pointer_compare_and_exchange (&node->kernel_cache, NULL, k))
                u = k;
              else
                {
                  g_free (k);
                  u = g_atomic_pointer_get (&node->kernel_cache);
                }
            }
        }
      else
        u = own = _som_winograd_kernel (wt->data, M, C);
      if (u != NULL && _som_winograd_conv (x->data, u, bias, y->data, N, C, w.in[1], w.in[2], M, w.out[1],
                                           w.out[2], w.pb[1], w.pb[2]))
        return TRUE;
    }

  /* 1×1, stride 1, no padding, one image at a time: the input is the matrix */
  pointwise = TRUE;
  for (guint j = 0; j < 3; j++)
    if (w.k[j] != 1 || w.s[j] != 1 || w.pb[j] != 0 || w.pe[j] != 0)
      pointwise = FALSE;
  if (pointwise && ohw >= 256)
    {
      for (gint64 n = 0; n < N; n++)
        for (gint64 g = 0; g < group; g++)
          {
            float *yo = (float *) y->data + (n * M + g * Mg) * ohw;
            if (bias)
              for (gint64 m = 0; m < Mg; m++)
                {
                  /* in a local, or it is reloaded after every store */
                  float b = bias[g * Mg + m];
                  for (gint64 p = 0; p < ohw; p++)
                    yo[m * ohw + p] = b;
                }
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, Mg, ohw, K, 1.0f,
                         (const float *) wt->data + g * Mg * K, K,
                         (const float *) x->data + (n * C + g * Cg) * hw, hw, bias ? 1.0f : 0.0f, yo, ohw);
          }
      return TRUE;
    }

  /* im2col with the batch folded into the GEMM's columns.  Images per GEMM:
   * enough columns to keep sgemm efficient (≥ 256), a column buffer that
   * stays in cache (≤ 2 MiB) when that allows. */
  nb = MAX ((256 + ohw - 1) / ohw, (512 << 10) / MAX (K * ohw, 1));
  nb = CLAMP (nb, 1, N);
  cols = g_try_malloc (sizeof (float) * K * nb * ohw);
  tmp = nb > 1 ? g_try_malloc (sizeof (float) * Mg * nb * ohw) : NULL;
  if (cols == NULL || (nb > 1 && tmp == NULL))
    {
      _som_op_error (c, error, SOM_ERROR_TOO_LARGE, "out of memory for the convolution buffers");
      return FALSE;
    }
  for (gint64 n0 = 0; n0 < N; n0 += nb)
    {
      gint64 cnt = MIN (nb, N - n0);
      for (gint64 g = 0; g < group; g++)
        {
          Im2col ic = { (const float *) x->data + (n0 * C + g * Cg) * hw, cols, C * hw, Cg, cnt, &w };
          const float *wg = (const float *) wt->data + g * Mg * K;
          _som_parallel_for (K, 8, im2col_range, &ic);
          if (cnt == 1)
            {
              float *yo = (float *) y->data + (n0 * M + g * Mg) * ohw;
              if (bias)
                for (gint64 m = 0; m < Mg; m++)
                  for (gint64 p = 0; p < ohw; p++)
                    yo[m * ohw + p] = bias[g * Mg + m];
              cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, Mg, ohw, K, 1.0f, wg, K, cols, ohw,
                           bias ? 1.0f : 0.0f, yo, ohw);
            }
          else
            {
              gint64 ncols = cnt * ohw;
              cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, Mg, ncols, K, 1.0f, wg, K, cols, ncols,
                           0.0f, tmp, ncols);
              Scatter sc = { tmp, (float *) y->data + (n0 * M + g * Mg) * ohw, bias ? bias + g * Mg : NULL,
                             ncols, cnt, ohw, M * ohw };
              _som_parallel_for (Mg, 4, scatter_range, &sc);
            }
        }
    }
  return TRUE;
}

/* Pools */

static gboolean
is_global (SomOpCtx *c)
{
  return g_str_has_prefix (c->node->op, "Global");
}

gboolean
_som_pool_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x;
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  SomWindow w;
  guint nk;
  const gint64 *ks;

  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  x = c->in[0];
  if (x->dtype != SOM_DTYPE_F32 || x->ndim < 3)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs a float input of rank ≥ 3");
      return FALSE;
    }
  if (is_global (c))
    {
      shape[0] = x->shape[0];
      shape[1] = x->shape[1];
      for (guint i = 2; i < x->ndim; i++)
        shape[i] = 1;
      _som_set_shape (c->out[0], SOM_DTYPE_F32, x->ndim, shape);
      return TRUE;
    }
  if (c->n_out > 1 && c->out[1] != NULL)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "the Indices output is not supported");
      return FALSE;
    }
  ks = _som_node_attr_ints (c->node, "kernel_shape", &nk);
  if (ks == NULL || nk != x->ndim - 2)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "kernel_shape is missing or has the wrong length");
      return FALSE;
    }
  if (!_som_window_params (c, x, ks, TRUE, &w, error))
    return FALSE;
  window_out_shape (x, x->shape[1], &w, shape);
  _som_set_shape (c->out[0], SOM_DTYPE_F32, x->ndim, shape);
  return TRUE;
}

typedef struct
{
  const float *x;
  float *y;
  const SomWindow *w;
  gboolean max, include_pad;
} PoolData;

/* 2-D MaxPool, separably: the maximum down each column of the window's rows
 * into a padded row, then along that row (NaN propagates as in pool_range). */
static void
max_pool_2d_range (gsize begin, gsize end, gpointer data)
{
  PoolData *p = data;
  const SomWindow *w = p->w;
  gint64 H = w->in[1], W = w->in[2], OH = w->out[1], OW = w->out[2];
  gint64 PW = MAX (W + w->pb[2], (OW - 1) * w->s[2] + (w->k[2] - 1) * w->d[2] + 1);
  g_autofree float *row = g_new (float, PW);

  for (gsize plane = begin; plane < end; plane++)
    {
      const float *src = p->x + plane * H * W;
      float *dst = p->y + plane * OH * OW;
      for (gint64 oh = 0; oh < OH; oh++)
        {
          gint64 h0 = oh * w->s[1] - w->pb[1];
          float *r = row + w->pb[2];
          for (gint64 x = 0; x < PW; x++)
            row[x] = -INFINITY;
          for (gint64 i = 0; i < w->k[1]; i++)
            {
              gint64 ih = h0 + i * w->d[1];
              const float *srow;
              if (ih < 0 || ih >= H)
                continue;
              srow = src + ih * W;
              for (gint64 x = 0; x < W; x++)
                r[x] = srow[x] > r[x] || isnan (srow[x]) ? srow[x] : r[x];
            }
          for (gint64 ow = 0; ow < OW; ow++)
            {
              const float *t = row + ow * w->s[2];
              float acc = -INFINITY;
              for (gint64 j = 0; j < w->k[2]; j++)
                {
                  float v = t[j * w->d[2]];
                  acc = v > acc || isnan (v) ? v : acc;
                }
              dst[oh * OW + ow] = acc;
            }
        }
    }
}

/* 2-D AveragePool (dilation 1), a row at a time: for each window tap (i, j)
 * the output columns it reaches form one interval, added over without a
 * test (and vectorized at stride 1).  Each output adds its taps in the same
 * order as pool_range() and divides by the same count: the same results. */
static void
avg_pool_2d_range (gsize begin, gsize end, gpointer data)
{
  PoolData *p = data;
  const SomWindow *w = p->w;
  gint64 H = w->in[1], W = w->in[2], OH = w->out[1], OW = w->out[2], KH = w->k[1], KW = w->k[2];
  gint64 sh = w->s[1], sw = w->s[2];
  g_autofree float *acc = g_new (float, OW);
  g_autofree gint64 *lo = g_new (gint64, KW);
  g_autofree gint64 *hi = g_new (gint64, KW);
  g_autofree gint64 *ccount = g_new (gint64, OW);
  SomWindowTaps *taps[3];
  g_autofree SomWindowTaps *table = NULL;

  _som_window_taps (w, taps);
  table = taps[0];
  /* per tap column: the outputs ow with 0 ≤ ow·sw − pw + j < W */
  for (gint64 j = 0; j < KW; j++)
    {
      gint64 off = j - w->pb[2];
      gint64 a = off < 0 ? (-off + sw - 1) / sw : 0, b = W - 1 - off >= 0 ? (W - 1 - off) / sw + 1 : 0;
      lo[j] = MIN (a, OW);
      hi[j] = MAX (lo[j], MIN (b, OW));
    }
  for (gint64 ow = 0; ow < OW; ow++)
    {
      const SomWindowTaps *t = &taps[2][ow];
      ccount[ow] = p->include_pad ? t->padded : t->t1 - t->t0;
    }
  for (gsize plane = begin; plane < end; plane++)
    {
      const float *src = p->x + plane * H * W;
      float *dst = p->y + plane * OH * OW;
      for (gint64 oh = 0; oh < OH; oh++)
        {
          gint64 h0 = oh * sh - w->pb[1];
          const SomWindowTaps *t = &taps[1][oh];
          gint64 rcount = p->include_pad ? t->padded : t->t1 - t->t0;
          float *d = dst + oh * OW;
          for (gint64 ow = 0; ow < OW; ow++)
            acc[ow] = 0.0f;
          for (gint64 i = 0; i < KH; i++)
            {
              gint64 ih = h0 + i;
              const float *srow = src + ih * W;
              if (ih < 0 || ih >= H)
                continue;
              for (gint64 j = 0; j < KW; j++)
                {
                  const float *s = srow + j - w->pb[2];
                  if (sw == 1)
                    for (gint64 ow = lo[j]; ow < hi[j]; ow++)
                      acc[ow] += s[ow];
                  else
                    for (gint64 ow = lo[j]; ow < hi[j]; ow++)
                      acc[ow] += s[ow * sw];
                }
            }
          for (gint64 ow = 0; ow < OW; ow++)
            {
              gint64 count = rcount * ccount[ow];
              d[ow] = count > 0 ? acc[ow] / (float) count : 0.0f;
            }
        }
    }
}

static void
pool_range (gsize begin, gsize end, gpointer data)
{
  PoolData *p = data;
  const SomWindow *w = p->w;
  gint64 D = w->in[0], H = w->in[1], W = w->in[2], OD = w->out[0], OH = w->out[1], OW = w->out[2];
  SomWindowTaps *taps[3];
  g_autofree SomWindowTaps *table = NULL;

  _som_window_taps (w, taps);
  table = taps[0];
  for (gsize plane = begin; plane < end; plane++)
    {
      const float *src = p->x + plane * D * H * W;
      float *dst = p->y + plane * OD * OH * OW;
      for (gint64 od = 0; od < OD; od++)
        for (gint64 oh = 0; oh < OH; oh++)
          for (gint64 ow = 0; ow < OW; ow++)
            {
              const SomWindowTaps *ta = &taps[0][od], *ti = &taps[1][oh], *tj = &taps[2][ow];
              gint64 d0 = od * w->s[0] - w->pb[0], h0 = oh * w->s[1] - w->pb[1], w0 = ow * w->s[2] - w->pb[2];
              float acc = p->max ? -INFINITY : 0.0f;
              for (gint64 a = ta->t0; a < ta->t1; a++)
                for (gint64 i = ti->t0; i < ti->t1; i++)
                  {
                    const float *row = src + ((d0 + a * w->d[0]) * H + h0 + i * w->d[1]) * W;
                    for (gint64 j = tj->t0; j < tj->t1; j++)
                      {
                        float v = row[w0 + j * w->d[2]];
                        if (p->max)
                          acc = v > acc || isnan (v) ? v : acc;
                        else
                          acc += v;
                      }
                  }
              if (!p->max)
                {
                  gint64 count = _som_window_taps_count (ta, ti, tj, p->include_pad);
                  acc = count > 0 ? acc / (float) count : 0.0f;
                }
              dst[(od * OH + oh) * OW + ow] = acc;
            }
    }
}

gboolean
_som_pool_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  gsize planes = x->shape[0] * x->shape[1];

  if (is_global (c))
    {
      gsize len = planes ? x->n / planes : 0;
      gboolean max = strcmp (c->node->op, "GlobalMaxPool") == 0;
      for (gsize p = 0; p < planes; p++)
        {
          const float *src = (const float *) x->data + p * len;
          float acc = max ? -INFINITY : 0.0f;
          for (gsize i = 0; i < len; i++)
            acc = max ? (src[i] > acc ? src[i] : acc) : acc + src[i];
          ((float *) y->data)[p] = max ? acc : acc / (float) MAX (len, 1);
        }
      return TRUE;
    }
  {
    SomWindow w;
    guint nk;
    const gint64 *ks = _som_node_attr_ints (c->node, "kernel_shape", &nk);
    PoolData p = { x->data, y->data, &w, strcmp (c->node->op, "MaxPool") == 0,
                   _som_node_attr_int (c->node, "count_include_pad", 0) != 0 };
    _som_window_params (c, x, ks, TRUE, &w, NULL);
    if (p.max && w.nsp == 2)
      _som_parallel_for (planes, 8, max_pool_2d_range, &p);
    else if (!p.max && w.nsp == 2 && w.d[1] == 1 && w.d[2] == 1)
      _som_parallel_for (planes, 8, avg_pool_2d_range, &p);
    else
      _som_parallel_for (planes, 8, pool_range, &p);
  }
  return TRUE;
}

/* ---- Gemm and MatMul -------------------------------------------------------------- */

gboolean
_som_gemm_shape (SomOpCtx *c, GError **error)
{
  SomTensor *a, *b;
  gboolean ta = _som_node_attr_int (c->node, "transA", 0), tb = _som_node_attr_int (c->node, "transB", 0);
  gint64 M, K, K2, N, shape[2];

  if (!_som_need_inputs (c, 2, error))
    return FALSE;
  a = c->in[0];
  b = c->in[1];
  if (a->ndim != 2 || b->ndim != 2 || a->dtype != SOM_DTYPE_F32 || b->dtype != SOM_DTYPE_F32)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs two float matrices");
      return FALSE;
    }
  M = ta ? a->shape[1] : a->shape[0];
  K = ta ? a->shape[0] : a->shape[1];
  K2 = tb ? b->shape[1] : b->shape[0];
  N = tb ? b->shape[0] : b->shape[1];
  if (K != K2)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "inner dimensions differ (%" G_GINT64_FORMAT " and %" G_GINT64_FORMAT ")", K, K2);
      return FALSE;
    }
  shape[0] = M;
  shape[1] = N;
  if (c->n_in > 2 && c->in[2] != NULL)
    {
      SomTensor tmp = { 0 }, *ts[2] = { &tmp, c->in[2] };
      guint nd;
      gint64 bs[SOM_ARRAY_MAX_DIMS];
      tmp.ndim = 2;
      tmp.shape[0] = M;
      tmp.shape[1] = N;
      if (c->in[2]->ndim > 2 || !_som_broadcast_shape (c, ts, 2, &nd, bs, error) || bs[0] != M || bs[1] != N)
        {
          if (error && !*error)
            _som_op_error (c, error, SOM_ERROR_INVALID, "C does not broadcast to the output");
          return FALSE;
        }
    }
  _som_set_shape (c->out[0], SOM_DTYPE_F32, 2, shape);
  return TRUE;
}

gboolean
_som_gemm_compute (SomOpCtx *c, GError **error)
{
  SomTensor *a = c->in[0], *b = c->in[1], *y = c->out[0];
  gboolean ta = _som_node_attr_int (c->node, "transA", 0), tb = _som_node_attr_int (c->node, "transB", 0);
  float alpha = _som_node_attr_float (c->node, "alpha", 1.0f), beta = _som_node_attr_float (c->node, "beta", 1.0f);
  gint64 M = y->shape[0], N = y->shape[1], K = ta ? a->shape[0] : a->shape[1];
  SomTensor *cc = c->n_in > 2 ? c->in[2] : NULL;

  if (cc != NULL)
    {
      gint64 st[2];
      _som_broadcast_strides (cc, 2, y->shape, st);
      for (gint64 i = 0; i < M; i++)
        for (gint64 j = 0; j < N; j++)
          ((float *) y->data)[i * N + j] = ((const float *) cc->data)[i * st[0] + j * st[1]];
    }
  if (M == 0 || N == 0)
    return TRUE;
  if (K == 0)
    {
      if (cc == NULL)
        memset (y->data, 0, y->n * 4);
      else
        for (gsize i = 0; i < y->n; i++)
          ((float *) y->data)[i] *= beta;
      return TRUE;
    }
  cblas_sgemm (CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha,
               a->data, a->shape[1], b->data, b->shape[1], cc != NULL ? beta : 0.0f, y->data, N);
  return TRUE;
}

typedef struct
{
  guint  nd;                    /* batch dims */
  gint64 batch[SOM_ARRAY_MAX_DIMS];
  gint64 M, K, N;
  gboolean a1, b1;              /* 1-D promotions */
} MatMulShape;

static gboolean
matmul_dims (SomOpCtx *c, MatMulShape *s, gint64 *oshape, guint *ond, GError **error)
{
  SomTensor *a = c->in[0], *b = c->in[1];
  SomTensor ab = { 0 }, bb = { 0 }, *ts[2] = { &ab, &bb };
  gint64 Ka, Kb;
  guint nd = 0;

  if (a->ndim == 0 || b->ndim == 0 || a->dtype != SOM_DTYPE_F32 || b->dtype != SOM_DTYPE_F32)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs float tensors of rank ≥ 1");
      return FALSE;
    }
  s->a1 = a->ndim == 1;
  s->b1 = b->ndim == 1;
  s->M = s->a1 ? 1 : a->shape[a->ndim - 2];
  Ka = a->shape[a->ndim - 1];
  Kb = s->b1 ? b->shape[0] : b->shape[b->ndim - 2];
  s->N = s->b1 ? 1 : b->shape[b->ndim - 1];
  if (Ka != Kb)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "inner dimensions differ (%" G_GINT64_FORMAT " and %" G_GINT64_FORMAT ")", Ka, Kb);
      return FALSE;
    }
  s->K = Ka;
  ab.ndim = a->ndim > 2 ? a->ndim - 2 : 0;
  memcpy (ab.shape, a->shape, ab.ndim * sizeof (gint64));
  bb.ndim = b->ndim > 2 ? b->ndim - 2 : 0;
  memcpy (bb.shape, b->shape, bb.ndim * sizeof (gint64));
  if (!_som_broadcast_shape (c, ts, 2, &s->nd, s->batch, error))
    return FALSE;
  for (guint i = 0; i < s->nd; i++)
    oshape[nd++] = s->batch[i];
  if (!s->a1)
    oshape[nd++] = s->M;
  if (!s->b1)
    oshape[nd++] = s->N;
  *ond = nd;
  return TRUE;
}

gboolean
_som_matmul_shape (SomOpCtx *c, GError **error)
{
  MatMulShape s;
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  guint nd;

  if (!_som_need_inputs (c, 2, error) || !matmul_dims (c, &s, shape, &nd, error))
    return FALSE;
  _som_set_shape (c->out[0], SOM_DTYPE_F32, nd, shape);
  return TRUE;
}

typedef struct
{
  gboolean     ta, tb;
  gint64       M, N, K;
  const float *a, *b;
  float       *c;
  const gint64 *a_off, *b_off, *c_off;
} SgemmBatch;

static void
sgemm_batch_range (gsize begin, gsize end, gpointer data)
{
  SgemmBatch *sb = data;

  for (gsize i = begin; i < end; i++)
    cblas_sgemm (CblasRowMajor, sb->ta ? CblasTrans : CblasNoTrans, sb->tb ? CblasTrans : CblasNoTrans, sb->M,
                 sb->N, sb->K, 1.0f, sb->a + sb->a_off[i], sb->ta ? sb->M : sb->K, sb->b + sb->b_off[i],
                 sb->tb ? sb->K : sb->N, 0.0f, sb->c + sb->c_off[i], sb->N);
}

/* OpenBLAS 0.3's interface/gemm.c runs a product on one thread when
 * M·N·K ≤ SMP_THRESHOLD_MIN (65536) × GEMM_MULTITHREAD_THRESHOLD (4). */
#define SGEMM_ONE_THREAD_MNK 262144.0

void
_som_sgemm_batch (gboolean ta, gboolean tb, gsize nbatch, gint64 M, gint64 N, gint64 K, const float *a,
                  const gint64 *a_off, const float *b, const gint64 *b_off, float *c, const gint64 *c_off)
{
  SgemmBatch sb = { ta, tb, M, N, K, a, b, c, a_off, b_off, c_off };

  if (nbatch > 1 && (double) M * N * K <= SGEMM_ONE_THREAD_MNK)
    /* about 2^17 multiply-adds per chunk at least */
    _som_parallel_for (nbatch, MAX (1, (1 << 17) / MAX (M * N * K, 1)), sgemm_batch_range, &sb);
  else
    sgemm_batch_range (0, nbatch, &sb);
}

gboolean
_som_matmul_compute (SomOpCtx *c, GError **error)
{
  SomTensor *a = c->in[0], *b = c->in[1], *y = c->out[0];
  MatMulShape s;
  gint64 shape[SOM_ARRAY_MAX_DIMS], ast[SOM_ARRAY_MAX_DIMS], bst[SOM_ARRAY_MAX_DIMS];
  gint64 idx[SOM_ARRAY_MAX_DIMS] = { 0 };
  guint nd;
  gsize nbatch = 1;
  SomTensor ab = { 0 }, bb = { 0 };
  g_autofree gint64 *offs = NULL;

  matmul_dims (c, &s, shape, &nd, NULL);
  if (y->n == 0)
    return TRUE;
  if (s.K == 0)
    {
      memset (y->data, 0, y->n * 4);
      return TRUE;
    }
  for (guint i = 0; i < s.nd; i++)
    nbatch *= s.batch[i];
  /* B is a matrix: fold A's batch into M */
  if (b->ndim <= 2 && a->ndim >= 2)
    {
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, nbatch * s.M, s.N, s.K, 1.0f, a->data, s.K,
                   b->data, s.N, 0.0f, y->data, s.N);
      return TRUE;
    }
  ab.ndim = a->ndim > 2 ? a->ndim - 2 : 0;
  memcpy (ab.shape, a->shape, ab.ndim * sizeof (gint64));
  bb.ndim = b->ndim > 2 ? b->ndim - 2 : 0;
  memcpy (bb.shape, b->shape, bb.ndim * sizeof (gint64));
  _som_broadcast_strides (&ab, s.nd, s.batch, ast);
  _som_broadcast_strides (&bb, s.nd, s.batch, bst);
  offs = g_new (gint64, 3 * nbatch);
  for (gsize i = 0; i < nbatch; i++)
    {
      gint64 ao = 0, bo = 0;
      for (guint d = 0; d < s.nd; d++)
        {
          ao += idx[d] * ast[d];
          bo += idx[d] * bst[d];
        }
      offs[i] = ao * s.M * s.K;
      offs[nbatch + i] = bo * s.K * s.N;
      offs[2 * nbatch + i] = (gint64) i * s.M * s.N;
      _som_index_next (idx, s.batch, s.nd);
    }
  _som_sgemm_batch (FALSE, FALSE, nbatch, s.M, s.N, s.K, a->data, offs, b->data, offs + nbatch, y->data,
                    offs + 2 * nbatch);
  return TRUE;
}

/* ---- normalizations -------------------------------------------------------------- */

gboolean
_som_batchnorm_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x;

  if (!_som_need_inputs (c, 5, error))
    return FALSE;
  x = c->in[0];
  if (x->ndim < 2 || x->dtype != SOM_DTYPE_F32)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs a float input of rank ≥ 2");
      return FALSE;
    }
  if (_som_node_attr_int (c->node, "training_mode", 0) != 0 || (c->n_out > 1 && c->out[1] != NULL))
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "training mode is not supported (inference only)");
      return FALSE;
    }
  for (guint i = 1; i < 5; i++)
    if (c->in[i]->n != (gsize) x->shape[1])
      {
        _som_op_error (c, error, SOM_ERROR_INVALID, "input %u has %" G_GSIZE_FORMAT " entries for %" G_GINT64_FORMAT
                       " channels", i, c->in[i]->n, x->shape[1]);
        return FALSE;
      }
  _som_set_shape (c->out[0], SOM_DTYPE_F32, x->ndim, x->shape);
  return TRUE;
}

typedef struct
{
  const float *x, *scale, *bias, *mean, *var;
  float       *y;
  float        eps;
  gint64       C;
  gsize        inner;
} BatchNorm;

static void
batchnorm_range (gsize begin, gsize end, gpointer data)
{
  BatchNorm *bn = data;

  for (gsize plane = begin; plane < end; plane++)
    {
      gint64 ch = plane % bn->C;
      float a = bn->scale[ch] / sqrtf (bn->var[ch] + bn->eps), b = bn->bias[ch] - bn->mean[ch] * a;
      const float *src = bn->x + plane * bn->inner;
      float *dst = bn->y + plane * bn->inner;
      for (gsize i = 0; i < bn->inner; i++)
        dst[i] = src[i] * a + b;
    }
}

gboolean
_som_batchnorm_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  gint64 C = x->shape[1];
  BatchNorm bn = { x->data, c->in[1]->data, c->in[2]->data, c->in[3]->data, c->in[4]->data, y->data,
                   _som_node_attr_float (c->node, "epsilon", 1e-5f), C, C ? x->n / (x->shape[0] * C) : 0 };

  /* planes split over the op pool, at least 2^15 elements each */
  if (C > 0)
    _som_parallel_for (x->shape[0] * C, MAX (1, (1 << 15) / MAX (bn.inner, 1)), batchnorm_range, &bn);
  return TRUE;
}

gboolean
_som_instnorm_shape (SomOpCtx *c, GError **error)
{
  if (!_som_need_inputs (c, 3, error))
    return FALSE;
  if (c->in[0]->ndim < 3 || c->in[1]->n != (gsize) c->in[0]->shape[1] || c->in[2]->n != (gsize) c->in[0]->shape[1])
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs N×C×… input and C scales and biases");
      return FALSE;
    }
  _som_set_shape (c->out[0], SOM_DTYPE_F32, c->in[0]->ndim, c->in[0]->shape);
  return TRUE;
}

gboolean
_som_instnorm_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  float eps = _som_node_attr_float (c->node, "epsilon", 1e-5f);
  gint64 C = x->shape[1];
  gsize planes = x->shape[0] * C, len = planes ? x->n / planes : 0;

  for (gsize p = 0; p < planes; p++)
    {
      const float *src = (const float *) x->data + p * len;
      float *dst = (float *) y->data + p * len;
      double mean = 0, var = 0;
      float a, b;
      for (gsize i = 0; i < len; i++)
        mean += src[i];
      mean /= MAX (len, 1);
      for (gsize i = 0; i < len; i++)
        var += (src[i] - mean) * (src[i] - mean);
      var /= MAX (len, 1);
      a = ((const float *) c->in[1]->data)[p % C] / sqrtf ((float) var + eps);
      b = ((const float *) c->in[2]->data)[p % C] - (float) mean * a;
      for (gsize i = 0; i < len; i++)
        dst[i] = src[i] * a + b;
    }
  return TRUE;
}

gboolean
_som_layernorm_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x;
  guint axis;
  gint64 shape[SOM_ARRAY_MAX_DIMS];

  if (!_som_need_inputs (c, 2, error))
    return FALSE;
  x = c->in[0];
  if (!_som_norm_axis (c, _som_node_attr_int (c->node, "axis", -1), x->ndim, FALSE, &axis, error))
    return FALSE;
  _som_set_shape (c->out[0], SOM_DTYPE_F32, x->ndim, x->shape);
  memcpy (shape, x->shape, sizeof shape);
  for (guint d = axis; d < x->ndim; d++)
    shape[d] = 1;
  for (guint k = 1; k < c->n_out && k < 3; k++)
    if (c->out[k] != NULL)
      _som_set_shape (c->out[k], SOM_DTYPE_F32, x->ndim, shape);
  return TRUE;
}

gboolean
_som_layernorm_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0], *sc = c->in[1], *bi = c->n_in > 2 ? c->in[2] : NULL;
  float eps = _som_node_attr_float (c->node, "epsilon", 1e-5f);
  guint axis;
  gsize outer = 1, len = 1;
  gint64 nshape[SOM_ARRAY_MAX_DIMS], sst[SOM_ARRAY_MAX_DIMS], bst[SOM_ARRAY_MAX_DIMS];
  g_autofree float *sfull = NULL, *bfull = NULL;

  _som_norm_axis (c, _som_node_attr_int (c->node, "axis", -1), x->ndim, FALSE, &axis, NULL);
  for (guint d = 0; d < axis; d++)
    outer *= x->shape[d];
  for (guint d = axis; d < x->ndim; d++)
    nshape[d - axis] = x->shape[d], len *= x->shape[d];
  /* scale and bias broadcast to the normalized shape */
  sfull = g_new (float, MAX (len, 1));
  bfull = g_new0 (float, MAX (len, 1));
  _som_broadcast_strides (sc, x->ndim - axis, nshape, sst);
  _som_strided_copy (sfull, sc->data, 4, x->ndim - axis, nshape, sst, 0);
  if (bi != NULL)
    {
      _som_broadcast_strides (bi, x->ndim - axis, nshape, bst);
      _som_strided_copy (bfull, bi->data, 4, x->ndim - axis, nshape, bst, 0);
    }
  for (gsize o = 0; o < outer; o++)
    {
      const float *src = (const float *) x->data + o * len;
      float *dst = (float *) y->data + o * len;
      double mean = 0, var = 0;
      float inv;
      for (gsize i = 0; i < len; i++)
        mean += src[i];
      mean /= MAX (len, 1);
      for (gsize i = 0; i < len; i++)
        var += (src[i] - mean) * (src[i] - mean);
      var /= MAX (len, 1);
      inv = 1.0f / sqrtf ((float) var + eps);
      for (gsize i = 0; i < len; i++)
        dst[i] = ((float) (src[i] - mean)) * inv * sfull[i] + bfull[i];
      if (c->n_out > 1 && c->out[1] != NULL)
        ((float *) c->out[1]->data)[o] = (float) mean;
      if (c->n_out > 2 && c->out[2] != NULL)
        ((float *) c->out[2]->data)[o] = inv;
    }
  return TRUE;
}

/* ---- Softmax, LogSoftmax ---------------------------------------------------------- */

gboolean
_som_softmax_shape (SomOpCtx *c, GError **error)
{
  guint axis;

  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  if (c->in[0]->dtype != SOM_DTYPE_F32)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "needs a float input");
      return FALSE;
    }
  if (!_som_norm_axis (c, _som_node_attr_int (c->node, "axis", c->node->opset >= 13 ? -1 : 1),
                       MAX (c->in[0]->ndim, 1), FALSE, &axis, error))
    return FALSE;
  _som_set_shape (c->out[0], SOM_DTYPE_F32, c->in[0]->ndim, c->in[0]->shape);
  return TRUE;
}

gboolean
_som_softmax_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  gboolean log = strcmp (c->node->op, "LogSoftmax") == 0;
  guint axis;
  gsize outer = 1, len = 1, inner = 1;

  _som_norm_axis (c, _som_node_attr_int (c->node, "axis", c->node->opset >= 13 ? -1 : 1), MAX (x->ndim, 1),
                  FALSE, &axis, NULL);
  if (x->ndim == 0)
    len = 1;
  else if (c->node->opset >= 13)
    {
      for (guint d = 0; d < axis; d++) outer *= x->shape[d];
      len = x->shape[axis];
      for (guint d = axis + 1; d < x->ndim; d++) inner *= x->shape[d];
    }
  else
    {
      for (guint d = 0; d < axis; d++) outer *= x->shape[d];
      for (guint d = axis; d < x->ndim; d++) len *= x->shape[d];
    }
  for (gsize o = 0; o < outer; o++)
    for (gsize in = 0; in < inner; in++)
      {
        const float *src = (const float *) x->data + o * len * inner + in;
        float *dst = (float *) y->data + o * len * inner + in;
        float mx = -INFINITY;
        double sum = 0;
        for (gsize i = 0; i < len; i++)
          mx = MAX (mx, src[i * inner]);
        for (gsize i = 0; i < len; i++)
          {
            float e = expf (src[i * inner] - mx);
            sum += e;
            if (!log)
              dst[i * inner] = e;
          }
        for (gsize i = 0; i < len; i++)
          {
            if (log)
              dst[i * inner] = src[i * inner] - mx - (float) logf ((float) sum);
            else
              dst[i * inner] = (float) (dst[i * inner] / sum);
          }
      }
  return TRUE;
}

/* ---- reductions -------------------------------------------------------------------- */

static gboolean
reduce_axes (SomOpCtx *c, gboolean *red, gboolean *keep, GError **error)
{
  SomTensor *x = c->in[0];
  gboolean arg = g_str_has_prefix (c->node->op, "Arg");
  gboolean noop = _som_node_attr_int (c->node, "noop_with_empty_axes", 0) != 0;
  guint n = 0;
  gint64 axes[SOM_ARRAY_MAX_DIMS];
  gboolean from_input = FALSE;

  *keep = _som_node_attr_int (c->node, "keepdims", 1) != 0;
  memset (red, 0, SOM_ARRAY_MAX_DIMS * sizeof (gboolean));
  if (arg)
    {
      guint a;
      if (!_som_norm_axis (c, _som_node_attr_int (c->node, "axis", 0), x->ndim, FALSE, &a, error))
        return FALSE;
      red[a] = TRUE;
      return TRUE;
    }
  if (c->n_in > 1 && c->in[1] != NULL)
    {
      if (!_som_need_values (c, 1, error))
        return FALSE;
      if (c->in[1]->n > SOM_ARRAY_MAX_DIMS)
        goto bad;
      n = c->in[1]->n;
      for (guint i = 0; i < n; i++)
        axes[i] = _som_tensor_get_i64 (c->in[1], i);
      from_input = TRUE;
    }
  else
    {
      const gint64 *a = _som_node_attr_ints (c->node, "axes", &n);
      if (n > SOM_ARRAY_MAX_DIMS)
        goto bad;
      if (a)
        memcpy (axes, a, n * sizeof (gint64));
    }
  (void) from_input;
  if (n == 0)
    {
      if (!noop)
        for (guint d = 0; d < x->ndim; d++)
          red[d] = TRUE;
      return TRUE;
    }
  for (guint i = 0; i < n; i++)
    {
      guint a;
      if (!_som_norm_axis (c, axes[i], x->ndim, FALSE, &a, error))
        return FALSE;
      red[a] = TRUE;
    }
  return TRUE;
bad:
  _som_op_error (c, error, SOM_ERROR_INVALID, "too many axes");
  return FALSE;
}

gboolean
_som_reduce_shape (SomOpCtx *c, GError **error)
{
  gboolean red[SOM_ARRAY_MAX_DIMS], keep;
  gint64 shape[SOM_ARRAY_MAX_DIMS];
  guint nd = 0;
  SomTensor *x;

  if (!_som_need_inputs (c, 1, error))
    return FALSE;
  x = c->in[0];
  if (x->dtype == SOM_DTYPE_BOOL || (x->dtype == SOM_DTYPE_I64 && !g_str_has_prefix (c->node->op, "Arg")
                                     && strcmp (c->node->op, "ReduceSum") && strcmp (c->node->op, "ReduceMax")
                                     && strcmp (c->node->op, "ReduceMin") && strcmp (c->node->op, "ReduceProd")))
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "input type is not supported");
      return FALSE;
    }
  if (!reduce_axes (c, red, &keep, error))
    return FALSE;
  for (guint d = 0; d < x->ndim; d++)
    {
      if (red[d] && x->shape[d] == 0 && g_str_has_prefix (c->node->op, "Arg"))
        {
          _som_op_error (c, error, SOM_ERROR_INVALID, "reducing an empty dimension");
          return FALSE;
        }
      if (!red[d])
        shape[nd++] = x->shape[d];
      else if (keep)
        shape[nd++] = 1;
    }
  _som_set_shape (c->out[0], g_str_has_prefix (c->node->op, "Arg") ? SOM_DTYPE_I64 : x->dtype, nd, shape);
  return TRUE;
}

gboolean
_som_reduce_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *y = c->out[0];
  gboolean red[SOM_ARRAY_MAX_DIMS], keep;
  gint64 ost[SOM_ARRAY_MAX_DIMS], kshape[SOM_ARRAY_MAX_DIMS], idx[SOM_ARRAY_MAX_DIMS] = { 0 }, rdim = 1, rst = 0;
  const char *op = c->node->op;
  gboolean last = _som_node_attr_int (c->node, "select_last_index", 0) != 0;
  g_autofree double *acc = NULL;
  g_autofree double *best = NULL;
  gsize count = 1;
  int kind;

  reduce_axes (c, red, &keep, NULL);
  for (guint d = 0; d < x->ndim; d++)
    {
      kshape[d] = red[d] ? 1 : x->shape[d];
      if (red[d])
        count *= x->shape[d];
    }
  _som_contiguous_strides (x->ndim, kshape, ost);
  for (guint d = 0; d < x->ndim; d++)
    if (red[d])
      {
        rdim = x->shape[d];
        ost[d] = 0;
        rst = 0;
        _som_contiguous_strides (x->ndim, x->shape, idx);
        rst = idx[d];
        memset (idx, 0, sizeof idx);
      }
  (void) rst;
  (void) rdim;
  kind = strcmp (op, "ReduceSum") == 0 ? 0 : strcmp (op, "ReduceMean") == 0 ? 1 : strcmp (op, "ReduceMax") == 0 ? 2
       : strcmp (op, "ReduceMin") == 0 ? 3 : strcmp (op, "ReduceProd") == 0 ? 4 : strcmp (op, "ReduceSumSquare") == 0 ? 5
       : strcmp (op, "ReduceL1") == 0 ? 6 : strcmp (op, "ReduceL2") == 0 ? 7 : strcmp (op, "ReduceLogSumExp") == 0 ? 8
       : strcmp (op, "ArgMax") == 0 ? 9 : strcmp (op, "ReduceLogSum") == 0 ? 11 : 10;
  acc = g_new (double, MAX (y->n, 1));
  best = g_new (double, MAX (y->n, 1));
  for (gsize i = 0; i < y->n; i++)
    {
      acc[i] = kind == 2 || kind == 9 ? -INFINITY : kind == 3 || kind == 10 ? INFINITY : kind == 4 ? 1 : 0;
      best[i] = 0;
    }
  if (kind == 8)
    {
      /* log-sum-exp: max first */
      g_autofree double *mx = g_new (double, MAX (y->n, 1));
      for (gsize i = 0; i < y->n; i++)
        mx[i] = -INFINITY;
      for (gsize e = 0; e < x->n; e++)
        {
          gint64 o = 0;
          for (guint d = 0; d < x->ndim; d++)
            o += idx[d] * ost[d];
          mx[o] = MAX (mx[o], _som_tensor_get_f64 (x, e));
          _som_index_next (idx, x->shape, x->ndim);
        }
      memset (idx, 0, sizeof idx);
      for (gsize e = 0; e < x->n; e++)
        {
          gint64 o = 0;
          for (guint d = 0; d < x->ndim; d++)
            o += idx[d] * ost[d];
          acc[o] += exp (_som_tensor_get_f64 (x, e) - mx[o]);
          _som_index_next (idx, x->shape, x->ndim);
        }
      for (gsize i = 0; i < y->n; i++)
        ((float *) y->data)[i] = (float) (log (acc[i]) + mx[i]);
      return TRUE;
    }
  /* float32 with the reduced axes adjacent (dimensions of size 1 between
   * them do not matter): x is outer × R × inner, and each output adds the
   * same terms in the same order as the loop below, without the index
   * arithmetic per element */
  if (x->dtype == SOM_DTYPE_F32 && (kind <= 3 || (kind >= 5 && kind <= 7) || kind == 11))
    {
      int first = -1, end = -1;
      gboolean adjacent = TRUE;
      gint64 outer = 1, R = 1, inner = 1;

      for (guint d = 0; d < x->ndim; d++)
        if (red[d])
          {
            if (first < 0)
              first = d;
            end = d + 1;
          }
      for (int d = MAX (first, 0); d < end; d++)
        if (!red[d] && x->shape[d] != 1)
          adjacent = FALSE;
      if (first >= 0 && adjacent)
        {
          const float *xs = x->data;

          for (int d = 0; d < (int) x->ndim; d++)
            {
              if (d < first)
                outer *= x->shape[d];
              else if (d < end)
                R *= x->shape[d];
              else
                inner *= x->shape[d];
            }
          for (gint64 o = 0; o < outer; o++)
            for (gint64 r = 0; r < R; r++)
              {
                const float *row = xs + (o * R + r) * inner;
                double *a = acc + o * inner;

                switch (kind)
                  {
                  case 0: case 1: case 11:
                    for (gint64 i = 0; i < inner; i++)
                      a[i] += row[i];
                    break;
                  case 2:
                    for (gint64 i = 0; i < inner; i++)
                      if (row[i] > a[i] || isnan (row[i]))
                        a[i] = row[i];
                    break;
                  case 3:
                    for (gint64 i = 0; i < inner; i++)
                      if (row[i] < a[i] || isnan (row[i]))
                        a[i] = row[i];
                    break;
                  case 5: case 7:
                    for (gint64 i = 0; i < inner; i++)
                      a[i] += (double) row[i] * row[i];
                    break;
                  case 6:
                    for (gint64 i = 0; i < inner; i++)
                      a[i] += fabs ((double) row[i]);
                    break;
                  default:
                    break;
                  }
              }
          goto finish;
        }
    }
  for (gsize e = 0; e < x->n; e++)
    {
      gint64 o = 0, pos = 0;
      double v = _som_tensor_get_f64 (x, e);
      for (guint d = 0; d < x->ndim; d++)
        {
          o += idx[d] * ost[d];
          if (red[d])
            pos = idx[d];
        }
      switch (kind)
        {
        case 0: case 1: case 11: acc[o] += v; break;
        case 2: if (v > acc[o] || isnan (v)) acc[o] = v; break;
        case 3: if (v < acc[o] || isnan (v)) acc[o] = v; break;
        case 4: acc[o] *= v; break;
        case 5: acc[o] += v * v; break;
        case 6: acc[o] += fabs (v); break;
        case 7: acc[o] += v * v; break;
        case 9: if (v > acc[o] || (last && v == acc[o])) { acc[o] = v; best[o] = pos; } break;
        case 10: if (v < acc[o] || (last && v == acc[o])) { acc[o] = v; best[o] = pos; } break;
        }
      _som_index_next (idx, x->shape, x->ndim);
    }
finish:
  for (gsize i = 0; i < y->n; i++)
    {
      double v = acc[i];
      if (kind == 1)
        v /= (double) count;
      else if (kind == 7)
        v = sqrt (v);
      else if (kind == 11)
        v = log (v);
      else if (kind >= 9)
        v = best[i];
      if (y->dtype == SOM_DTYPE_F32)
        ((float *) y->data)[i] = (float) v;
      else
        ((gint64 *) y->data)[i] = (gint64) v;
    }
  return TRUE;
}

/* ---- ConvTranspose (1-D, 2-D and 3-D) ------------------------------------------------- */

/* Spatial dimensions right-aligned in three slots, as SomWindow. */
typedef struct
{
  gint64 in[3], k[3], s[3], d[3], pb[3], out[3];
} TWindow;

static gboolean
tconv_params (SomOpCtx *c, TWindow *w, GError **error)
{
  SomTensor *x = c->in[0], *wt = c->in[1];
  guint nsp = x->ndim - 2, n, no, nos, off;
  const gint64 *v, *op, *os;
  const char *auto_pad = _som_node_attr_string (c->node, "auto_pad", "NOTSET");
  gint64 pads[6] = { 0, 0, 0, 0, 0, 0 };

  if (x->ndim < 3 || nsp > 3 || wt->ndim != x->ndim)
    {
      _som_op_error (c, error, SOM_ERROR_UNSUPPORTED, "%u spatial dimensions (1, 2 and 3 are supported)",
                     x->ndim < 2 ? 0 : x->ndim - 2);
      return FALSE;
    }
  off = 3 - nsp;
  for (guint i = 0; i < 3; i++)
    {
      w->in[i] = 1; w->k[i] = 1; w->s[i] = 1; w->d[i] = 1; w->pb[i] = 0;
    }
  for (guint i = 0; i < nsp; i++)
    {
      w->in[i + off] = x->shape[2 + i];
      w->k[i + off] = wt->shape[2 + i];
    }
  if ((v = _som_node_attr_ints (c->node, "strides", &n)) != NULL)
    for (guint i = 0; i < nsp && i < n; i++) w->s[i + off] = v[i];
  if ((v = _som_node_attr_ints (c->node, "dilations", &n)) != NULL)
    for (guint i = 0; i < nsp && i < n; i++) w->d[i + off] = v[i];
  if ((v = _som_node_attr_ints (c->node, "pads", &n)) != NULL && n == 2 * nsp)
    for (guint i = 0; i < nsp; i++)
      {
        pads[i + off] = v[i];
        pads[i + off + 3] = v[i + nsp];
      }
  op = _som_node_attr_ints (c->node, "output_padding", &no);
  os = _som_node_attr_ints (c->node, "output_shape", &nos);
  for (guint j = 0; j < 3; j++)
    {
      gint64 opad = 0, full;
      guint i = j - off;
      if (j < off)
        {
          w->out[j] = 1;
          continue;
        }
      if (op != NULL && i < no)
        opad = op[i];
      if (w->s[j] <= 0 || w->d[j] <= 0 || w->k[j] <= 0)
        goto bad;
      full = w->s[j] * (w->in[j] - 1) + opad + (w->k[j] - 1) * w->d[j] + 1;
      if (os != NULL && i < nos)
        {
          gint64 total = full - os[i];
          w->out[j] = os[i];
          if (strcmp (auto_pad, "SAME_UPPER") == 0)
            w->pb[j] = total / 2;
          else if (strcmp (auto_pad, "SAME_LOWER") == 0)
            w->pb[j] = total - total / 2;
          else
            w->pb[j] = total / 2;
        }
      else if (strcmp (auto_pad, "SAME_UPPER") == 0 || strcmp (auto_pad, "SAME_LOWER") == 0)
        {
          gint64 total = full - w->in[j] * w->s[j];
          w->out[j] = w->in[j] * w->s[j];
          w->pb[j] = strcmp (auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
        }
      else
        {
          w->pb[j] = pads[j];
          w->out[j] = full - pads[j] - pads[j + 3];
        }
      if (w->out[j] < 0)
        goto bad;
    }
  return TRUE;
bad:
  _som_op_error (c, error, SOM_ERROR_INVALID, "invalid strides, pads or output shape");
  return FALSE;
}

gboolean
_som_conv_transpose_shape (SomOpCtx *c, GError **error)
{
  SomTensor *x, *wt;
  TWindow w;
  gint64 group = _som_node_attr_int (c->node, "group", 1), shape[5];

  if (!_som_need_inputs (c, 2, error))
    return FALSE;
  x = c->in[0];
  wt = c->in[1];
  if (x->dtype != SOM_DTYPE_F32 || wt->dtype != SOM_DTYPE_F32 || group <= 0 || x->ndim < 3
      || wt->shape[0] != x->shape[1] || x->shape[1] % group != 0)
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "input channels, weights and group do not fit");
      return FALSE;
    }
  if (!tconv_params (c, &w, error))
    return FALSE;
  shape[0] = x->shape[0];
  shape[1] = wt->shape[1] * group;
  for (guint i = 2; i < x->ndim; i++)
    shape[i] = w.out[3 - (x->ndim - 2) + (i - 2)];
  if (c->n_in > 2 && c->in[2] != NULL && c->in[2]->n != (gsize) shape[1])
    {
      _som_op_error (c, error, SOM_ERROR_INVALID, "bias size does not match the output channels");
      return FALSE;
    }
  _som_set_shape (c->out[0], SOM_DTYPE_F32, x->ndim, shape);
  return TRUE;
}

gboolean
_som_conv_transpose_compute (SomOpCtx *c, GError **error)
{
  SomTensor *x = c->in[0], *wt = c->in[1], *y = c->out[0];
  const float *bias = c->n_in > 2 && c->in[2] != NULL ? c->in[2]->data : NULL;
  gint64 group = _som_node_attr_int (c->node, "group", 1);
  TWindow w;
  gint64 N = x->shape[0], C = x->shape[1], Cg = C / group, Mg = wt->shape[1], M = Mg * group;
  gint64 hw, ohw, K, kvol;
  g_autofree float *cols = NULL;

  tconv_params (c, &w, NULL);
  hw = w.in[0] * w.in[1] * w.in[2];
  ohw = w.out[0] * w.out[1] * w.out[2];
  kvol = w.k[0] * w.k[1] * w.k[2];
  K = Mg * kvol;
  cols = g_try_new (float, MAX (K * hw, 1));
  if (cols == NULL)
    {
      _som_op_error (c, error, SOM_ERROR_TOO_LARGE, "out of memory");
      return FALSE;
    }
  memset (y->data, 0, y->n * 4);
  for (gint64 n = 0; n < N; n++)
    for (gint64 g = 0; g < group; g++)
      {
        float *yo = (float *) y->data + (n * M + g * Mg) * ohw;
        /* cols (Mg·kvol × in) = Wgᵀ (Cg × Mg·kvol)ᵀ · X (Cg × in) */
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, K, hw, Cg, 1.0f,
                     (const float *) wt->data + g * Cg * K, K,
                     (const float *) x->data + (n * C + g * Cg) * hw, hw, 0.0f, cols, hw);
        for (gint64 row = 0; row < K; row++)
          {
            gint64 m = row / kvol, ka = (row / (w.k[1] * w.k[2])) % w.k[0], ki = (row / w.k[2]) % w.k[1];
            gint64 kj = row % w.k[2];
            float *plane = yo + m * ohw;
            const float *src = cols + row * hw;
            for (gint64 dd = 0; dd < w.in[0]; dd++)
              {
                gint64 od = dd * w.s[0] + ka * w.d[0] - w.pb[0];
                if (od < 0 || od >= w.out[0])
                  continue;
                for (gint64 h = 0; h < w.in[1]; h++)
                  {
                    gint64 oh = h * w.s[1] + ki * w.d[1] - w.pb[1];
                    if (oh < 0 || oh >= w.out[1])
                      continue;
                    for (gint64 ww = 0; ww < w.in[2]; ww++)
                      {
                        gint64 ow = ww * w.s[2] + kj * w.d[2] - w.pb[2];
                        if (ow >= 0 && ow < w.out[2])
                          plane[(od * w.out[1] + oh) * w.out[2] + ow] += src[(dd * w.in[1] + h) * w.in[2] + ww];
                      }
                  }
              }
          }
        if (bias)
          for (gint64 m = 0; m < Mg; m++)
            for (gint64 p = 0; p < ohw; p++)
              yo[m * ohw + p] += bias[g * Mg + m];
      }
  return TRUE;
}
