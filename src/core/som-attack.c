/* som-attack.c: FGSM, FGM and PGD on the [0,1] pixel scale
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "som-attack.h"
#include "som-grad.h"

void
som_attack_params_init (SomAttackParams *params)
{
  memset (params, 0, sizeof *params);
  params->method = SOM_ATTACK_FGSM;
  params->norm = SOM_NORM_LINF;
  params->eps = 0.1;
  params->steps = 10;
  params->alpha = 0;
  params->restarts = 1;
  params->target = -1;
  params->labels_from = SOM_LABELS_TRUTH;
  params->batch_size = 64;
}

double
som_attack_params_get_alpha (const SomAttackParams *params)
{
  if (params->alpha > 0)
    return params->alpha;
  return 2.5 * params->eps / MAX (params->steps, 1);
}

gboolean
som_attack_params_check (const SomAttackParams *params, guint n_classes, GError **error)
{
  if (!isfinite (params->eps) || params->eps < 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "attack: ε must be a number ≥ 0 (got %g)", params->eps);
      return FALSE;
    }
  if (params->method == SOM_ATTACK_PGD && params->steps == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "attack: PGD needs at least 1 step (got 0)");
      return FALSE;
    }
  if (params->restarts == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "attack: restarts must be at least 1 (got 0)");
      return FALSE;
    }
  if (!isfinite (params->alpha) || params->alpha < 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "attack: the step size α must be > 0 (got %g)",
                   params->alpha);
      return FALSE;
    }
  if (params->target >= 0 && n_classes > 0 && (guint) params->target >= n_classes)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "attack: target class %d does not exist (the model has %u classes, 0…%u)", params->target,
                   n_classes, n_classes - 1);
      return FALSE;
    }
  if (params->target < -1)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "attack: target class %d does not exist", params->target);
      return FALSE;
    }
  return TRUE;
}

const char *
som_attack_method_to_string (SomAttackMethod method)
{
  return method == SOM_ATTACK_PGD ? "pgd" : "fgsm";
}

gboolean
som_attack_method_from_string (const char *text, SomAttackMethod *method)
{
  if (g_strcmp0 (text, "fgsm") == 0)
    *method = SOM_ATTACK_FGSM;
  else if (g_strcmp0 (text, "pgd") == 0)
    *method = SOM_ATTACK_PGD;
  else
    return FALSE;
  return TRUE;
}

const char *
som_norm_to_string (SomNorm norm)
{
  return norm == SOM_NORM_L2 ? "l2" : "linf";
}

gboolean
som_norm_from_string (const char *text, SomNorm *norm)
{
  if (g_strcmp0 (text, "linf") == 0)
    *norm = SOM_NORM_LINF;
  else if (g_strcmp0 (text, "l2") == 0)
    *norm = SOM_NORM_L2;
  else
    return FALSE;
  return TRUE;
}


/* ---- data-parallel batches ------------------------------------------------------- */

typedef struct
{
  gsize            n, batch, n_batches;
  SomBatchFunc     func;
  gpointer         data;
  gint             next;      /* atomic */
  GMutex           lock;
  GError          *error;
  GCancellable    *cancellable;
} Batches;

static gpointer
batch_worker (gpointer p)
{
  Batches *b = p;

  for (;;)
    {
      gsize k = (gsize) g_atomic_int_add (&b->next, 1);
      GError *error = NULL;
      gboolean stop;
      if (k >= b->n_batches)
        break;
      g_mutex_lock (&b->lock);
      stop = b->error != NULL;
      g_mutex_unlock (&b->lock);
      if (stop)
        break;
      if (g_cancellable_set_error_if_cancelled (b->cancellable, &error)
          || !b->func (k * b->batch, MIN (b->batch, b->n - k * b->batch), b->data, &error))
        {
          g_mutex_lock (&b->lock);
          if (b->error == NULL)
            b->error = error;
          else
            g_error_free (error);
          g_mutex_unlock (&b->lock);
          break;
        }
    }
  return NULL;
}

gboolean
som_batch_parallel (gsize n, gsize batch, SomBatchFunc func, gpointer data, GCancellable *cancellable,
                    GError **error)
{
  Batches b = { 0 };
  int threads = openblas_get_num_threads ();
  guint workers;

  batch = MAX (batch, 1);
  b.n = n;
  b.batch = batch;
  b.n_batches = (n + batch - 1) / batch;
  b.func = func;
  b.data = data;
  b.cancellable = cancellable;
  g_mutex_init (&b.lock);
  workers = (guint) CLAMP ((gsize) threads, 1, MAX (b.n_batches, 1));
  if (workers <= 1)
    batch_worker (&b);
  else
    {
      g_autofree GThread **t = g_new0 (GThread *, workers);
      /* each worker runs its batches with one BLAS thread */
      openblas_set_num_threads (1);
      for (guint i = 0; i < workers; i++)
        t[i] = g_thread_new ("som-batch", batch_worker, &b);
      for (guint i = 0; i < workers; i++)
        g_thread_join (t[i]);
      openblas_set_num_threads (threads);
    }
  g_mutex_clear (&b.lock);
  if (b.error != NULL)
    {
      g_propagate_error (error, b.error);
      return FALSE;
    }
  return TRUE;
}

/* ---- pixel space ↔ model input ------------------------------------------------ */

void
som_pixel_transform_init_identity (SomPixelTransform *tf, guint channels)
{
  memset (tf, 0, sizeof *tf);
  tf->channels = channels;
  for (guint c = 0; c < 3; c++)
    tf->std[c] = 1.0f;
}

void
som_pixel_transform_init_from_preprocess (SomPixelTransform *tf, SomPreprocess *preprocess)
{
  guint c, h, w;

  som_preprocess_get_shape (preprocess, &c, &h, &w);
  som_pixel_transform_init_identity (tf, c);
  som_preprocess_get_normalization (preprocess, tf->mean, tf->std);
  tf->channels_last = som_preprocess_get_channels_last (preprocess);
}

static float
tf_mean (const SomPixelTransform *tf, gsize c)
{
  return tf->mean[MIN (c, 2)];
}

static float
tf_std (const SomPixelTransform *tf, gsize c)
{
  return tf->std[MIN (c, 2)];
}

SomArray *
som_pixel_transform_apply (const SomPixelTransform *tf, const SomArray *pixels)
{
  gsize N = pixels->shape[0], C = pixels->shape[1], HW = pixels->shape[2] * pixels->shape[3];
  const float *src = pixels->data;
  SomArray *out;
  float *dst;

  if (!tf->channels_last)
    {
      out = som_array_copy (pixels);
      dst = out->data;
      for (gsize n = 0; n < N; n++)
        for (gsize c = 0; c < C; c++)
          {
            float m = tf_mean (tf, c), s = tf_std (tf, c);
            float *p = dst + (n * C + c) * HW;
            if (m == 0.0f && s == 1.0f)
              continue;
            for (gsize i = 0; i < HW; i++)
              p[i] = (p[i] - m) / s;
          }
      return out;
    }
  {
    gsize shape[4] = { N, pixels->shape[2], pixels->shape[3], C };
    out = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
    dst = out->data;
    for (gsize n = 0; n < N; n++)
      for (gsize c = 0; c < C; c++)
        for (gsize i = 0; i < HW; i++)
          dst[(n * HW + i) * C + c] = (src[(n * C + c) * HW + i] - tf_mean (tf, c)) / tf_std (tf, c);
    return out;
  }
}

/* The gradient with respect to the model input, back to pixel space. */
static SomArray *
tf_backward (const SomPixelTransform *tf, const SomArray *pixels, const SomArray *g)
{
  gsize N = pixels->shape[0], C = pixels->shape[1], HW = pixels->shape[2] * pixels->shape[3];
  SomArray *out = som_array_new (SOM_DTYPE_F32, 4, pixels->shape, NULL);
  const float *src = g->data;
  float *dst = out->data;

  for (gsize n = 0; n < N; n++)
    for (gsize c = 0; c < C; c++)
      {
        float s = tf_std (tf, c);
        for (gsize i = 0; i < HW; i++)
          {
            float v = tf->channels_last ? src[(n * HW + i) * C + c] : src[(n * C + c) * HW + i];
            dst[(n * C + c) * HW + i] = s == 1.0f ? v : v / s;
          }
      }
  return out;
}

static void
argmax_rows (const SomArray *logits, gint32 *pred)
{
  gsize N = logits->shape[0], K = som_array_n_elements (logits) / MAX (N, 1);
  const float *z = logits->data;

  for (gsize n = 0; n < N; n++)
    {
      gsize best = 0;
      for (gsize k = 1; k < K; k++)
        if (z[n * K + k] > z[n * K + best])
          best = k;
      pred[n] = (gint32) best;
    }
}

typedef struct
{
  SomModel *model;
  const SomPixelTransform *tf;
  const SomArray *pixels;
  gint32 *predictions;
  GCancellable *cancellable;
} PredictData;

static gboolean
predict_batch (gsize s, gsize n, gpointer data, GError **error)
{
  PredictData *pd = data;
  g_autoptr(SomArray) part = som_array_slice_rows (pd->pixels, s, n);
  g_autoptr(SomArray) in = som_pixel_transform_apply (pd->tf, part);
  g_autoptr(SomArray) out = som_model_run_images (pd->model, in, NULL, 0, NULL, pd->cancellable, error);

  if (out == NULL)
    return FALSE;
  argmax_rows (out, pd->predictions + s);
  return TRUE;
}

gboolean
som_attack_predict (SomModel *model, const SomPixelTransform *tf, const SomArray *pixels, guint batch_size,
                    gint32 *predictions, GCancellable *cancellable, GError **error)
{
  PredictData pd = { model, tf, pixels, predictions, cancellable };

  return som_batch_parallel (pixels->shape[0], MAX (batch_size, 1), predict_batch, &pd, cancellable, error);
}

static gboolean
pixel_gradient_one (SomModel *model, const SomPixelTransform *tf, const SomArray *pixels, const gint32 *labels,
                    SomArray **grad, SomArray **logits, GCancellable *cancellable, GError **error)
{
  g_autoptr(SomArray) in = som_pixel_transform_apply (tf, pixels);
  g_autoptr(SomArray) g = NULL;

  if (!som_model_input_gradient (model, in, labels, &g, logits, NULL, cancellable, error))
    return FALSE;
  *grad = tf_backward (tf, pixels, g);
  return TRUE;
}

typedef struct
{
  SomModel *model;
  const SomPixelTransform *tf;
  const SomArray *pixels;
  const gint32 *labels;
  SomArray *grad, *logits;
  GCancellable *cancellable;
  GMutex lock;
} GradData;

static gboolean
gradient_part (gsize s, gsize n, gpointer data, GError **error)
{
  GradData *gd = data;
  g_autoptr(SomArray) part = som_array_slice_rows (gd->pixels, s, n);
  g_autoptr(SomArray) g = NULL;
  g_autoptr(SomArray) z = NULL;
  gsize row = som_array_n_elements (part) / MAX (n, 1);

  if (!pixel_gradient_one (gd->model, gd->tf, part, gd->labels + s, &g, &z, gd->cancellable, error))
    return FALSE;
  memcpy ((float *) gd->grad->data + s * row, g->data, n * row * sizeof (float));
  g_mutex_lock (&gd->lock);
  if (gd->logits == NULL)
    {
      gsize shape[SOM_ARRAY_MAX_DIMS];
      memcpy (shape, z->shape, sizeof shape);
      shape[0] = gd->pixels->shape[0];
      gd->logits = som_array_new (SOM_DTYPE_F32, z->ndim, shape, NULL);
    }
  g_mutex_unlock (&gd->lock);
  memcpy ((float *) gd->logits->data + s * (som_array_n_elements (z) / n), z->data, som_array_n_bytes (z));
  return TRUE;
}

/* A batch is split into parts of a few images, which the threads (each with
 * one BLAS thread) take in turn: on small images that beats threading inside
 * every operator, and a few images' activations and gradients stay in the
 * core's cache from one layer to the next (64 images of 16 × 28 × 28 are
 * 3 MiB a tensor; FGSM on the demo model runs 1.2× faster by parts of 8). */
#define GRADIENT_PART 8

gboolean
som_attack_pixel_gradient (SomModel *model, const SomPixelTransform *tf, const SomArray *pixels,
                           const gint32 *labels, SomArray **grad, SomArray **logits, GCancellable *cancellable,
                           GError **error)
{
  gsize N = pixels->shape[0];
  int threads = openblas_get_num_threads ();
  gsize part = MIN ((N + MAX (threads, 1) - 1) / MAX (threads, 1), GRADIENT_PART);
  GradData gd = { model, tf, pixels, labels, NULL, NULL, cancellable };
  gboolean ok;

  if (N <= part)
    return pixel_gradient_one (model, tf, pixels, labels, grad, logits, cancellable, error);
  gd.grad = som_array_new (SOM_DTYPE_F32, 4, pixels->shape, error);
  if (gd.grad == NULL)
    return FALSE;
  g_mutex_init (&gd.lock);
  ok = som_batch_parallel (N, part, gradient_part, &gd, cancellable, error);
  g_mutex_clear (&gd.lock);
  if (!ok)
    {
      som_array_free (gd.grad);
      g_clear_pointer (&gd.logits, som_array_free);
      return FALSE;
    }
  *grad = gd.grad;
  if (logits != NULL)
    *logits = gd.logits;
  else
    g_clear_pointer (&gd.logits, som_array_free);
  return TRUE;
}

/* ---- the attacks ----------------------------------------------------------------- */

static GRand *
input_rand (guint64 seed, gsize index, guint restart)
{
  guint32 s[4] = { (guint32) seed, (guint32) (seed >> 32), (guint32) index, restart };
  return g_rand_new_with_seed_array (s, 4);
}

static double
l2norm (const float *v, gsize d)
{
  double s = 0;
  for (gsize i = 0; i < d; i++)
    s += (double) v[i] * v[i];
  return sqrt (s);
}

/* Random start inside the ε ball around x (uniform per pixel for L∞, uniform
 * in the ball for L2), clipped to [0,1]. */
static void
random_start (const SomAttackParams *p, const float *x, float *adv, gsize d, gsize index, guint restart)
{
  g_autoptr(GRand) r = input_rand (p->seed, index, restart);

  if (p->norm == SOM_NORM_LINF)
    for (gsize i = 0; i < d; i++)
      adv[i] = CLAMP (x[i] + (float) g_rand_double_range (r, -p->eps, p->eps), 0.0f, 1.0f);
  else
    {
      g_autofree float *dir = g_new (float, d);
      double nrm, radius;
      for (gsize i = 0; i < d; i += 2)
        {
          /* Box–Muller */
          double u1 = g_rand_double (r), u2 = g_rand_double (r);
          double m = sqrt (-2.0 * log (MAX (u1, 1e-300)));
          dir[i] = (float) (m * cos (2 * G_PI * u2));
          if (i + 1 < d)
            dir[i + 1] = (float) (m * sin (2 * G_PI * u2));
        }
      nrm = l2norm (dir, d);
      radius = p->eps * pow (g_rand_double (r), 1.0 / (double) d);
      for (gsize i = 0; i < d; i++)
        adv[i] = CLAMP (x[i] + (float) (nrm > 0 ? dir[i] / nrm * radius : 0), 0.0f, 1.0f);
    }
}

/* One step from adv along the gradient (sign for L∞, direction for L2), then
 * the projection onto the ε ball around x and the [0,1] box. */
static void
step (const SomAttackParams *p, double size, gboolean project, const float *x, const float *g, float *adv,
      gsize d)
{
  float dir = p->target >= 0 ? -1.0f : 1.0f;

  if (p->norm == SOM_NORM_LINF)
    {
      float a = (float) size, eps = (float) p->eps;
      for (gsize i = 0; i < d; i++)
        {
          float sg = g[i] > 0 ? 1.0f : g[i] < 0 ? -1.0f : 0.0f;
          float v = adv[i] + dir * a * sg;
          if (project)
            v = fminf (fmaxf (v, x[i] - eps), x[i] + eps);
          adv[i] = fminf (fmaxf (v, 0.0f), 1.0f);
        }
      return;
    }
  {
    double gn = l2norm (g, d);
    float scale = gn > 0 ? (float) (size / gn) : 0.0f;
    for (gsize i = 0; i < d; i++)
      adv[i] = adv[i] + dir * scale * g[i];
    if (project)
      {
        double dn = 0;
        for (gsize i = 0; i < d; i++)
          dn += (double) (adv[i] - x[i]) * (adv[i] - x[i]);
        dn = sqrt (dn);
        if (dn > p->eps)
          for (gsize i = 0; i < d; i++)
            adv[i] = x[i] + (adv[i] - x[i]) * (float) (p->eps / dn);
      }
    for (gsize i = 0; i < d; i++)
      adv[i] = fminf (fmaxf (adv[i], 0.0f), 1.0f);
  }
}

typedef struct _AttackData AttackData;
static void report_step (AttackData *ad, gsize n, guint step, guint steps);

/* Each gradient step checks @cancellable (and so does every node of the
 * forward and backward passes inside it): a cancelled attack returns
 * within one operator's time. */
static gboolean
attack_batch (SomModel *model, const SomAttackParams *p, const SomPixelTransform *tf, const SomArray *x,
              const gint32 *labels, gsize first_index, SomArray *out, gint32 *out_pred, AttackData *ad,
              GCancellable *cancellable, GError **error)
{
  gsize N = x->shape[0], d = som_array_n_elements (x) / MAX (N, 1);
  g_autofree gint32 *lab = g_new (gint32, MAX (N, 1));
  g_autofree gint32 *pred = g_new (gint32, MAX (N, 1));
  g_autofree gboolean *done = g_new0 (gboolean, MAX (N, 1));
  g_autoptr(SomArray) adv = som_array_copy (x);
  const float *xs = x->data;
  float *best = out->data;
  guint restarts = p->method == SOM_ATTACK_PGD ? p->restarts : 1;

  for (gsize n = 0; n < N; n++)
    lab[n] = p->target >= 0 ? p->target : labels[n];
  memcpy (best, xs, N * d * sizeof (float));

  for (guint r = 0; r < restarts; r++)
    {
      float *a = adv->data;
      if (p->method == SOM_ATTACK_FGSM)
        {
          g_autoptr(SomArray) g = NULL;
          memcpy (a, xs, N * d * sizeof (float));
          if (!som_attack_pixel_gradient (model, tf, adv, lab, &g, NULL, cancellable, error))
            return FALSE;
          for (gsize n = 0; n < N; n++)
            step (p, p->eps, FALSE, xs + n * d, (const float *) g->data + n * d, a + n * d, d);
        }
      else
        {
          double alpha = som_attack_params_get_alpha (p);
          for (gsize n = 0; n < N; n++)
            {
              if (p->random_start || r > 0)
                random_start (p, xs + n * d, a + n * d, d, first_index + n, r);
              else
                memcpy (a + n * d, xs + n * d, d * sizeof (float));
            }
          for (guint s = 0; s < p->steps; s++)
            {
              g_autoptr(SomArray) g = NULL;
              if (g_cancellable_set_error_if_cancelled (cancellable, error)
                  || !som_attack_pixel_gradient (model, tf, adv, lab, &g, NULL, cancellable, error))
                return FALSE;
              for (gsize n = 0; n < N; n++)
                step (p, alpha, TRUE, xs + n * d, (const float *) g->data + n * d, a + n * d, d);
              if (ad != NULL)
                report_step (ad, N, r * p->steps + s + 1, restarts * p->steps);
            }
        }
      if (!som_attack_predict (model, tf, adv, N, pred, cancellable, error))
        return FALSE;
      /* keep each input's first successful restart, else the last one */
      for (gsize n = 0; n < N; n++)
        {
          gboolean ok = p->target >= 0 ? pred[n] == p->target : pred[n] != labels[n];
          if (done[n])
            continue;
          memcpy (best + n * d, a + n * d, d * sizeof (float));
          if (out_pred != NULL)
            out_pred[n] = pred[n];
          if (ok)
            done[n] = TRUE;
        }
    }
  return TRUE;
}

struct _AttackData
{
  SomModel *model;
  const SomAttackParams *params;
  const SomPixelTransform *tf;
  const SomArray *pixels;
  const gint32 *labels;
  SomArray *out;
  gint32 *predictions;
  GCancellable *cancellable;
  SomProgressFunc progress;
  gpointer progress_data;
  gsize done;
  double reported;   /* the highest fraction reported: progress never goes back */
  GMutex lock;
};

/* PGD's progress within a batch of @n images: @step of @steps done */
static void
report_step (AttackData *ad, gsize n, guint step, guint steps)
{
  gsize N = ad->pixels->shape[0];

  if (ad->progress == NULL || step >= steps)
    return;
  g_mutex_lock (&ad->lock);
  {
    double f = (ad->done + (double) n * step / MAX (steps, 1)) / MAX (N, 1);
    if (f > ad->reported)
      {
        g_autofree char *msg = g_strdup_printf ("attack: %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT " images, step %u/%u",
                                                ad->done, N, step, steps);
        ad->reported = f;
        ad->progress (f, msg, ad->progress_data);
      }
  }
  g_mutex_unlock (&ad->lock);
}

static gboolean
attack_one_batch (gsize s, gsize n, gpointer data, GError **error)
{
  AttackData *ad = data;
  g_autoptr(SomArray) part = som_array_slice_rows (ad->pixels, s, n);
  g_autoptr(SomArray) res = som_array_copy (part);
  g_autofree gint32 *pred = g_new (gint32, n);
  gsize row = som_array_n_elements (part) / MAX (n, 1), N = ad->pixels->shape[0];

  if (!attack_batch (ad->model, ad->params, ad->tf, part, ad->labels + s, s, res, pred, ad, ad->cancellable,
                     error))
    return FALSE;
  memcpy ((float *) ad->out->data + s * row, res->data, n * row * sizeof (float));
  if (ad->predictions != NULL)
    memcpy (ad->predictions + s, pred, n * sizeof (gint32));
  g_mutex_lock (&ad->lock);
  ad->done += n;
  if (ad->progress != NULL)
    {
      g_autofree char *msg = g_strdup_printf ("attack: %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT " images", ad->done, N);
      ad->reported = MAX (ad->reported, (double) ad->done / MAX (N, 1));
      ad->progress (ad->reported, msg, ad->progress_data);
    }
  g_mutex_unlock (&ad->lock);
  return TRUE;
}

gboolean
som_attack_run (SomModel *model, const SomAttackParams *params, const SomPixelTransform *tf,
                const SomArray *pixels, const gint32 *labels, SomArray **adversarial,
                gint32 *adversarial_predictions, GCancellable *cancellable, SomProgressFunc progress,
                gpointer progress_data, GError **error)
{
  gsize N, bs;
  g_autoptr(SomArray) out = NULL;
  g_autofree gint32 *dummy = NULL;
  gboolean ok;

  g_return_val_if_fail (SOM_IS_MODEL (model), FALSE);
  if (!som_attack_params_check (params, 0, error))
    return FALSE;
  if (pixels->dtype != SOM_DTYPE_F32 || pixels->ndim != 4)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: attacks need N×C×H×W float32 pixels",
                   som_model_get_path (model));
      return FALSE;
    }
  if (!som_model_check_differentiable (model, error))
    return FALSE;
  N = pixels->shape[0];
  bs = MAX (params->batch_size, 1);
  out = som_array_new (SOM_DTYPE_F32, 4, pixels->shape, error);
  if (out == NULL)
    return FALSE;
  if (labels == NULL && params->target < 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: an untargeted attack needs labels",
                   som_model_get_path (model));
      return FALSE;
    }
  if (labels == NULL)
    labels = dummy = g_new0 (gint32, MAX (N, 1));
  {
    AttackData ad = { model, params, tf, pixels, labels, out, adversarial_predictions, cancellable, progress,
                      progress_data, 0 };
    g_mutex_init (&ad.lock);
    ok = som_batch_parallel (N, bs, attack_one_batch, &ad, cancellable, error);
    g_mutex_clear (&ad.lock);
    if (!ok)
      return FALSE;
  }
  *adversarial = g_steal_pointer (&out);
  return TRUE;
}

void
som_attack_stats (const gint32 *truth, const gint32 *clean, const gint32 *adversarial, const SomArray *pixels,
                  const SomArray *adversarial_pixels, gint target, SomAttackStats *stats)
{
  gsize N = pixels->shape[0], d = som_array_n_elements (pixels) / MAX (N, 1);
  const gint32 *ref = truth != NULL ? truth : clean;
  gsize right = 0, adv_right = 0, success = 0;
  double linf = 0, l2 = 0;
  const float *x = pixels->data, *a = adversarial_pixels->data;

  for (gsize n = 0; n < N; n++)
    {
      double mx = 0, s = 0;
      if (clean[n] == ref[n])
        {
          right++;
          if (target >= 0 ? adversarial[n] == target : adversarial[n] != ref[n])
            success++;
        }
      if (adversarial[n] == ref[n])
        adv_right++;
      for (gsize i = 0; i < d; i++)
        {
          double v = fabs ((double) a[n * d + i] - x[n * d + i]);
          mx = MAX (mx, v);
          s += v * v;
        }
      linf += mx;
      l2 += sqrt (s);
    }
  stats->count = N;
  stats->clean_accuracy = truth != NULL && N > 0 ? (double) right / N : NAN;
  stats->adversarial_accuracy = truth != NULL && N > 0 ? (double) adv_right / N : NAN;
  stats->attack_success_rate = right > 0 ? (double) success / right : NAN;
  stats->mean_linf = N > 0 ? linf / N : NAN;
  stats->mean_l2 = N > 0 ? l2 / N : NAN;
}

gboolean
som_attack_params_from_json (JsonNode        *node,
                             SomAttackParams *params,
                             GError         **error)
{
  JsonObject *o;
  JsonNode *member;

  g_return_val_if_fail (params != NULL, FALSE);

  som_attack_params_init (params);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "the attack's parameters are not an object");
      return FALSE;
    }
  o = json_node_get_object (node);
  member = json_object_get_member (o, "method");
  if (member == NULL || json_node_get_value_type (member) != G_TYPE_STRING
      || !som_attack_method_from_string (json_node_get_string (member), &params->method))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "the attack's method is missing or unknown");
      return FALSE;
    }
  member = json_object_get_member (o, "norm");
  if (member != NULL && (json_node_get_value_type (member) != G_TYPE_STRING
                         || !som_norm_from_string (json_node_get_string (member), &params->norm)))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "the attack's norm is unknown");
      return FALSE;
    }
#define NUMBER(name) \
  ((member = json_object_get_member (o, name)) != NULL && JSON_NODE_HOLDS_VALUE (member) \
   && (json_node_get_value_type (member) == G_TYPE_DOUBLE || json_node_get_value_type (member) == G_TYPE_INT64))
  if (!NUMBER ("eps"))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "the attack's ε is missing");
      return FALSE;
    }
  params->eps = json_node_get_double (member);
  if (NUMBER ("steps") && json_node_get_double (member) >= 1 && json_node_get_double (member) <= G_MAXUINT)
    params->steps = (guint) json_node_get_double (member);
  if (NUMBER ("alpha"))
    params->alpha = json_node_get_double (member);
  if (NUMBER ("restarts") && json_node_get_double (member) >= 1 && json_node_get_double (member) <= G_MAXUINT)
    params->restarts = (guint) json_node_get_double (member);
  if (NUMBER ("targeted") && json_node_get_double (member) >= 0 && json_node_get_double (member) <= G_MAXINT)
    params->target = (gint) json_node_get_double (member);
  if (NUMBER ("seed") && json_node_get_double (member) >= 0)
    params->seed = (guint64) json_node_get_int (member);
#undef NUMBER
  member = json_object_get_member (o, "random_start");
  if (member != NULL && JSON_NODE_HOLDS_VALUE (member) && json_node_get_value_type (member) == G_TYPE_BOOLEAN)
    params->random_start = json_node_get_boolean (member);
  member = json_object_get_member (o, "labels_from");
  if (member != NULL && JSON_NODE_HOLDS_VALUE (member) && json_node_get_value_type (member) == G_TYPE_STRING)
    params->labels_from = g_strcmp0 (json_node_get_string (member), "model") == 0 ? SOM_LABELS_MODEL : SOM_LABELS_TRUTH;
  return som_attack_params_check (params, 0, error);
}

JsonNode *
som_attack_params_to_json (const SomAttackParams *params)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "method");
  json_builder_add_string_value (b, som_attack_method_to_string (params->method));
  json_builder_set_member_name (b, "norm");
  json_builder_add_string_value (b, som_norm_to_string (params->norm));
  json_builder_set_member_name (b, "eps");
  json_builder_add_double_value (b, params->eps);
  if (params->method == SOM_ATTACK_PGD)
    {
      json_builder_set_member_name (b, "steps");
      json_builder_add_int_value (b, params->steps);
      json_builder_set_member_name (b, "alpha");
      json_builder_add_double_value (b, som_attack_params_get_alpha (params));
      json_builder_set_member_name (b, "random_start");
      json_builder_add_boolean_value (b, params->random_start);
      json_builder_set_member_name (b, "restarts");
      json_builder_add_int_value (b, params->restarts);
    }
  json_builder_set_member_name (b, "targeted");
  if (params->target >= 0)
    json_builder_add_int_value (b, params->target);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "labels_from");
  json_builder_add_string_value (b, params->labels_from == SOM_LABELS_MODEL ? "model" : "truth");
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) params->seed);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
