/* som-analysis.c: one SOM per layer, metrics per seed, trajectories, trends
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "som-analysis.h"
#include "som-chunk-source.h"
#include "som-io.h"
#include "som-metrics.h"
#include "som-trainer.h"

/* Scalar metrics of the clean and adversarial groups, in output order. */
enum
{
  M_OCCUPIED, M_OCCUPIED_FRACTION, M_ENTROPY, M_ENTROPY_NORM, M_SPREAD, M_MI, M_PURITY, M_ACC_TRAIN,
  M_ACC_TEST, M_COS_MEAN, M_COS_MEDIAN, M_PCA90, M_PCA95, M_PR, M_QE, M_TE, N_M
};
static const char * const m_names[N_M] = {
  "occupied_units", "occupied_fraction", "hit_entropy", "hit_entropy_normalized", "class_spread",
  "mutual_information", "unit_purity", "majority_unit_accuracy_train", "majority_unit_accuracy_test",
  "codebook_cosine_distance_mean", "codebook_cosine_distance_median", "pca_components_90",
  "pca_components_95", "participation_ratio", "quantization_error", "topographic_error",
};

enum { T_AGREEMENT, T_DISTANCE, T_IN_CLASS_UNIT, N_T };
static const char * const t_names[N_T] = {
  "bmu_agreement", "mean_grid_distance", "adversarial_bmu_in_adversarial_class_unit",
};

enum { G_CLEAN, G_ADV, N_G };

/* The results of one (layer, seed). */
typedef struct
{
  double    m[N_G][N_M];
  double    t[N_T];
  double   *per_class[N_G];     /* K occupied units per class */
  double   *class_entropy;      /* K: normalized hit entropy of each class's held-out clean BMUs */
  GArray   *qe_epochs, *te_epochs;
  gint32   *bmus, *bmus_adv;    /* all N */
  SomMap   *map;                /* kept for seed 0 */
} Cell;

struct _SomAnalysis
{
  GPtrArray           *layers;        /* SomAnalysisLayer* */
  SomAnalysisSettings  settings;
  gsize                n, n_train;
  gint32              *labels, *train_labels, *pred, *adv_pred;
  guint8             **split;         /* per seed: N bytes (1 = held-out) */
  Cell                *cells;         /* [layer * seeds + seed] */
  gboolean             has_adv;
  double               train_seconds;
};

SomAnalysisLayer *
som_analysis_layer_new (gint64 index, const char *name, const char *op)
{
  SomAnalysisLayer *l = g_new0 (SomAnalysisLayer, 1);
  l->index = index;
  l->name = g_strdup (name);
  l->op = g_strdup (op != NULL ? op : "");
  return l;
}

void
som_analysis_layer_free (SomAnalysisLayer *l)
{
  if (l == NULL)
    return;
  g_free (l->name);
  g_free (l->op);
  g_clear_pointer (&l->shape, json_node_unref);
  g_clear_pointer (&l->codes, som_array_free);
  g_clear_pointer (&l->codes_adversarial, som_array_free);
  g_clear_pointer (&l->train_codes, som_array_free);
  g_free (l);
}

void
som_analysis_free (SomAnalysis *a)
{
  if (a == NULL)
    return;
  if (a->cells != NULL)
    for (guint i = 0; i < a->layers->len * a->settings.seeds; i++)
      {
        Cell *c = &a->cells[i];
        for (guint g = 0; g < N_G; g++)
          g_free (c->per_class[g]);
        g_free (c->class_entropy);
        g_clear_pointer (&c->qe_epochs, g_array_unref);
        g_clear_pointer (&c->te_epochs, g_array_unref);
        g_free (c->bmus);
        g_free (c->bmus_adv);
        g_clear_object (&c->map);
      }
  g_free (a->cells);
  if (a->split != NULL)
    for (guint s = 0; s < a->settings.seeds; s++)
      g_free (a->split[s]);
  g_free (a->split);
  g_free (a->labels);
  g_free (a->train_labels);
  g_free (a->pred);
  g_free (a->adv_pred);
  g_clear_pointer (&a->layers, g_ptr_array_unref);
  g_free (a);
}

/* ---- the split ----------------------------------------------------------------- */

/* Stratified 80/20: in each class, a seeded shuffle, the first round(0.8·n_c)
 * train (a class of one input trains). */
static guint8 *
make_split (const gint32 *labels, gsize n, guint n_classes, guint seed)
{
  guint8 *held = g_new0 (guint8, MAX (n, 1));
  g_autoptr(GRand) r = g_rand_new_with_seed (seed * 2654435761u + 12345u);

  for (guint c = 0; c < n_classes; c++)
    {
      g_autoptr(GArray) idx = g_array_new (FALSE, FALSE, sizeof (gsize));
      gsize n_train;
      for (gsize i = 0; i < n; i++)
        if (labels[i] == (gint32) c)
          g_array_append_val (idx, i);
      for (gsize i = idx->len; i > 1; i--)
        {
          gsize j = g_rand_int_range (r, 0, (gint32) i);
          gsize t = g_array_index (idx, gsize, i - 1);
          g_array_index (idx, gsize, i - 1) = g_array_index (idx, gsize, j);
          g_array_index (idx, gsize, j) = t;
        }
      n_train = (gsize) floor (0.8 * idx->len + 0.5);
      if (idx->len == 1)
        n_train = 1;
      for (gsize k = n_train; k < idx->len; k++)
        held[g_array_index (idx, gsize, k)] = 1;
    }
  return held;
}

/* ---- one (layer, seed) ------------------------------------------------------------ */

typedef struct
{
  SomAnalysis *a;
  guint        layer, seed;
  GError      *error;
} Job;

typedef struct
{
  GMutex         lock;
  GCancellable  *cancellable;
  SomProgressFunc progress;
  gpointer       progress_data;
  guint          done, total;
  GError        *error;
} JobShared;

static SomArray *
gather_rows (const SomArray *x, const guint8 *mask, guint8 want, gsize *count)
{
  gsize n = x->shape[0], d = x->shape[1], m = 0, k = 0;
  SomArray *out;

  for (gsize i = 0; i < n; i++)
    m += mask[i] == want;
  out = som_array_new_2d_f32 (m, d);
  for (gsize i = 0; i < n; i++)
    if (mask[i] == want)
      memcpy ((float *) out->data + (k++) * d, (const float *) x->data + i * d, d * sizeof (float));
  *count = m;
  return out;
}

static void
group_metrics (SomAnalysis *a, SomMap *map, const SomArray *codes, const gint32 *bmus, const gint32 *bmus2,
               const float *dist, const guint8 *held, const gint32 *unit_labels, double *m, double **per_class)
{
  SomGrid *grid = som_map_get_grid (map);
  guint units = som_map_get_n_units (map), K = a->settings.n_classes;
  gsize n = a->n, nh = 0, ntr = 0;
  g_autofree gint32 *hb = g_new (gint32, MAX (n, 1));
  g_autofree gint32 *hb2 = g_new (gint32, MAX (n, 1));
  g_autofree gint32 *hl = g_new (gint32, MAX (n, 1));
  g_autofree gint32 *tb = g_new (gint32, MAX (n, 1));
  g_autofree gint32 *tl = g_new (gint32, MAX (n, 1));
  g_autofree guint *pc = g_new0 (guint, MAX (K, 1));
  double qe = 0;
  gsize nq = 0;
  g_autoptr(SomArray) hcodes = NULL;

  for (gsize i = 0; i < n; i++)
    {
      if (held[i])
        {
          hb[nh] = bmus[i];
          hb2[nh] = bmus2[i];
          hl[nh] = a->labels[i];
          nh++;
          if (isfinite (dist[i]))
            {
              qe += dist[i];
              nq++;
            }
        }
      else
        {
          tb[ntr] = bmus[i];
          tl[ntr] = a->labels[i];
          ntr++;
        }
    }
  m[M_OCCUPIED] = som_metrics_occupied_units (hb, nh, units);
  m[M_OCCUPIED_FRACTION] = m[M_OCCUPIED] / units;
  som_metrics_occupied_per_class (hb, hl, nh, units, K, pc);
  *per_class = g_new (double, MAX (K, 1));
  for (guint c = 0; c < K; c++)
    (*per_class)[c] = pc[c];
  m[M_ENTROPY] = som_metrics_hit_entropy (hb, nh, units);
  m[M_ENTROPY_NORM] = m[M_ENTROPY] / log (units);
  m[M_SPREAD] = som_metrics_class_spread (grid, hb, hl, nh, K);
  m[M_MI] = som_metrics_mutual_information (hb, hl, nh, units, K);
  m[M_PURITY] = som_metrics_unit_purity (hb, hl, nh, units, K);
  m[M_ACC_TRAIN] = ntr > 0 ? som_metrics_labelling_accuracy (unit_labels, tb, tl, ntr) : NAN;
  m[M_ACC_TEST] = som_metrics_labelling_accuracy (unit_labels, hb, hl, nh);
  som_metrics_codebook_cosine (som_map_get_codebook (map), units, som_map_get_dim (map), &m[M_COS_MEAN],
                               &m[M_COS_MEDIAN]);
  {
    gsize cnt;
    hcodes = gather_rows (codes, held, 1, &cnt);
    som_metrics_pca (hcodes->data, cnt, som_map_get_dim (map), &m[M_PCA90], &m[M_PCA95], &m[M_PR]);
  }
  m[M_QE] = nq > 0 ? qe / nq : NAN;
  m[M_TE] = nh > 0 ? som_map_topographic_error (map, hb, hb2, nh) : NAN;
}

static gboolean
run_job (Job *job, GCancellable *cancellable, GError **error)
{
  SomAnalysis *a = job->a;
  SomAnalysisLayer *l = g_ptr_array_index (a->layers, job->layer);
  Cell *cell = &a->cells[job->layer * a->settings.seeds + job->seed];
  const guint8 *held = a->split[job->seed];
  SomTrainParams params = a->settings.som;
  g_autoptr(SomArray) train = NULL;
  g_autoptr(SomArray) train_labels = NULL;
  g_autoptr(SomChunkSource) src = NULL;
  g_autoptr(SomMap) map = NULL;
  gsize n = a->n, ntr, D = l->codes->shape[1];
  g_autofree gint32 *bmus2 = g_new (gint32, MAX (n, 1));
  g_autofree float *dist = g_new (float, MAX (n, 1));
  g_autofree gint32 *unit_labels = NULL;
  const SomArray *curve;
  guint units;

  if (l->train_codes != NULL)
    {
      train = som_array_copy (l->train_codes);
      ntr = a->n_train;
      train_labels = som_array_new_1d_i32 (ntr);
      memcpy (train_labels->data, a->train_labels, ntr * sizeof (gint32));
    }
  else
    {
      gsize k = 0;
      train = gather_rows (l->codes, held, 0, &ntr);
      train_labels = som_array_new_1d_i32 (ntr);
      for (gsize i = 0; i < n; i++)
        if (!held[i])
          ((gint32 *) train_labels->data)[k++] = a->labels[i];
    }
  if (ntr < 2)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "layer %s: %" G_GSIZE_FORMAT " training inputs (need 2)",
                   l->name, ntr);
      return FALSE;
    }
  params.seed = job->seed;
  src = som_chunk_source_new_for_array (g_steal_pointer (&train));
  map = som_trainer_train (&params, src, train_labels, cancellable, NULL, NULL, error);
  if (map == NULL)
    {
      g_prefix_error (error, "layer %s: ", l->name);
      return FALSE;
    }
  units = som_map_get_n_units (map);
  cell->bmus = g_new (gint32, MAX (n, 1));
  if (!som_map_find_bmus (map, l->codes->data, n, D, cell->bmus, bmus2, dist, cancellable, error))
    return FALSE;

  /* unit labels from the train part's clean BMUs */
  unit_labels = g_new (gint32, units);
  {
    const SomArray *tb = som_map_get_array (map, "bmus");
    som_metrics_unit_labels (som_map_get_grid (map), tb->data, train_labels->data, ntr, a->settings.n_classes,
                             unit_labels);
  }
  group_metrics (a, map, l->codes, cell->bmus, bmus2, dist, held, unit_labels, cell->m[G_CLEAN],
                 &cell->per_class[G_CLEAN]);
  if (l->train_codes != NULL)
    {
      /* with a separate train set, "train" accuracy is on that set */
      const SomArray *tb = som_map_get_array (map, "bmus");
      cell->m[G_CLEAN][M_ACC_TRAIN] = som_metrics_labelling_accuracy (unit_labels, tb->data,
                                                                       train_labels->data, ntr);
    }
  /* per-class normalized entropy of held-out clean BMUs */
  cell->class_entropy = g_new (double, MAX (a->settings.n_classes, 1));
  for (guint c = 0; c < a->settings.n_classes; c++)
    {
      g_autofree gint32 *cb = g_new (gint32, MAX (n, 1));
      gsize k = 0;
      for (gsize i = 0; i < n; i++)
        if (held[i] && a->labels[i] == (gint32) c)
          cb[k++] = cell->bmus[i];
      cell->class_entropy[c] = k > 0 ? som_metrics_hit_entropy (cb, k, units) / log (units) : NAN;
    }

  if (l->codes_adversarial != NULL)
    {
      g_autofree gint32 *hc = g_new (gint32, MAX (n, 1));
      g_autofree gint32 *ha = g_new (gint32, MAX (n, 1));
      g_autofree gint32 *hp = g_new (gint32, MAX (n, 1));
      gsize nh = 0;
      cell->bmus_adv = g_new (gint32, MAX (n, 1));
      if (!som_map_find_bmus (map, l->codes_adversarial->data, n, D, cell->bmus_adv, bmus2, dist, cancellable,
                              error))
        return FALSE;
      group_metrics (a, map, l->codes_adversarial, cell->bmus_adv, bmus2, dist, held, unit_labels,
                     cell->m[G_ADV], &cell->per_class[G_ADV]);
      for (gsize i = 0; i < n; i++)
        if (held[i])
          {
            hc[nh] = cell->bmus[i];
            ha[nh] = cell->bmus_adv[i];
            hp[nh] = a->adv_pred != NULL ? a->adv_pred[i] : -1;
            nh++;
          }
      cell->t[T_AGREEMENT] = som_metrics_bmu_agreement (hc, ha, nh);
      cell->t[T_DISTANCE] = som_metrics_mean_grid_distance (som_map_get_grid (map), hc, ha, nh);
      cell->t[T_IN_CLASS_UNIT] = a->adv_pred != NULL ? som_metrics_adversarial_in_class_unit (unit_labels, ha, hp, nh)
                                                     : NAN;
    }
  else
    {
      for (guint k = 0; k < N_M; k++)
        cell->m[G_ADV][k] = NAN;
      for (guint k = 0; k < N_T; k++)
        cell->t[k] = NAN;
    }

  curve = som_map_get_array (map, "qe_per_epoch");
  cell->qe_epochs = g_array_new (FALSE, FALSE, sizeof (double));
  cell->te_epochs = g_array_new (FALSE, FALSE, sizeof (double));
  for (gsize e = 0; curve != NULL && e < som_array_n_elements (curve); e++)
    {
      double v = curve->dtype == SOM_DTYPE_F64 ? ((double *) curve->data)[e] : ((float *) curve->data)[e];
      g_array_append_val (cell->qe_epochs, v);
    }
  curve = som_map_get_array (map, "te_per_epoch");
  for (gsize e = 0; curve != NULL && e < som_array_n_elements (curve); e++)
    {
      double v = curve->dtype == SOM_DTYPE_F64 ? ((double *) curve->data)[e] : ((float *) curve->data)[e];
      g_array_append_val (cell->te_epochs, v);
    }
  if (job->seed == 0)
    cell->map = g_steal_pointer (&map);
  return TRUE;
}

static void
job_worker (gpointer data, gpointer user_data)
{
  Job *job = data;
  JobShared *sh = user_data;
  GError *error = NULL;
  gboolean skip;

  g_mutex_lock (&sh->lock);
  skip = sh->error != NULL;
  g_mutex_unlock (&sh->lock);
  if (!skip && !run_job (job, sh->cancellable, &error))
    {
      g_mutex_lock (&sh->lock);
      if (sh->error == NULL)
        sh->error = error;
      else
        g_error_free (error);
      g_mutex_unlock (&sh->lock);
      return;
    }
  g_mutex_lock (&sh->lock);
  sh->done++;
  if (sh->progress != NULL && !skip)
    {
      SomAnalysisLayer *l = g_ptr_array_index (job->a->layers, job->layer);
      g_autofree char *msg = g_strdup_printf ("maps: %u/%u (layer %s, seed %u)", sh->done, sh->total, l->name,
                                              job->seed);
      sh->progress ((double) sh->done / sh->total, msg, sh->progress_data);
    }
  g_mutex_unlock (&sh->lock);
}

/* FALSE and the first row with a NaN or Inf in @codes (N×D float32). */
static gboolean
codes_finite (const SomArray *codes, gsize *row)
{
  const float *f = codes->data;
  gsize d = codes->ndim == 2 ? codes->shape[1] : 1;

  for (gsize i = 0; i < som_array_n_elements (codes); i++)
    if (!isfinite (f[i]))
      {
        *row = i / MAX (d, 1);
        return FALSE;
      }
  return TRUE;
}

SomAnalysis *
som_analysis_run (GPtrArray *layers, const gint32 *labels, gsize n, const gint32 *train_labels, gsize n_train,
                  const gint32 *predictions, const gint32 *adversarial_predictions,
                  const SomAnalysisSettings *settings, GCancellable *cancellable, SomProgressFunc progress,
                  gpointer progress_data, GError **error)
{
  g_autoptr(SomAnalysis) a = g_new0 (SomAnalysis, 1);
  g_autofree Job *jobs = NULL;
  JobShared sh = { 0 };
  guint L, S, threads;
  g_autoptr(GTimer) timer = g_timer_new ();

  a->layers = layers;
  a->settings = *settings;
  a->settings.seeds = MAX (settings->seeds, 1);
  a->n = n;
  a->n_train = n_train;
  L = layers->len;
  S = a->settings.seeds;
  if (L == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "analysis: no layers to map");
      return NULL;
    }
  if (labels == NULL || n < 2)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "analysis: needs labelled inputs (at least 2)");
      return NULL;
    }
  for (gsize i = 0; i < n; i++)
    if (labels[i] < 0 || (guint) labels[i] >= settings->n_classes)
      {
        g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "analysis: label %d of input %" G_GSIZE_FORMAT
                     " is outside 0…%u", labels[i], i, settings->n_classes - 1);
        return NULL;
      }
  for (guint l = 0; l < L; l++)
    {
      SomAnalysisLayer *ly = g_ptr_array_index (layers, l);
      if (ly->codes == NULL || ly->codes->ndim != 2 || ly->codes->shape[0] != n
          || (ly->codes_adversarial != NULL && (ly->codes_adversarial->ndim != 2
                                                || ly->codes_adversarial->shape[0] != n
                                                || ly->codes_adversarial->shape[1] != ly->codes->shape[1]))
          || (ly->train_codes != NULL && (ly->train_codes->shape[0] != n_train
                                          || ly->train_codes->shape[1] != ly->codes->shape[1]
                                          || train_labels == NULL)))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "analysis: layer %s: the codes do not fit (N×D "
                       "for every input, the same D clean and adversarial)", ly->name);
          return NULL;
        }
      /* Named by the input's place in the dataset, before any split (the
       * trainer would name the row of its own part). */
      if (settings->som.nonfinite == SOM_NONFINITE_ERROR)
        {
          const SomArray *sets[3] = { ly->codes, ly->codes_adversarial, ly->train_codes };
          const char *what[3] = { "", "adversarial ", "training " };
          for (guint k = 0; k < 3; k++)
            {
              gsize row;
              if (sets[k] != NULL && !codes_finite (sets[k], &row))
                {
                  g_set_error (error, SOM_ERROR, SOM_ERROR_NONFINITE, "analysis: layer %s: %sinput %" G_GSIZE_FORMAT
                               " has a non-finite activation (NaN or Inf)", ly->name, what[k], row);
                  return NULL;
                }
            }
        }
    }
  a->labels = g_memdup2 (labels, n * sizeof (gint32));
  a->train_labels = train_labels != NULL ? g_memdup2 (train_labels, MAX (n_train, 1) * sizeof (gint32)) : NULL;
  a->pred = predictions != NULL ? g_memdup2 (predictions, n * sizeof (gint32)) : NULL;
  a->adv_pred = adversarial_predictions != NULL ? g_memdup2 (adversarial_predictions, n * sizeof (gint32)) : NULL;
  a->has_adv = TRUE;
  for (guint l = 0; l < L; l++)
    if (((SomAnalysisLayer *) g_ptr_array_index (layers, l))->codes_adversarial == NULL)
      a->has_adv = FALSE;
  a->split = g_new0 (guint8 *, S);
  for (guint s = 0; s < S; s++)
    {
      if (((SomAnalysisLayer *) g_ptr_array_index (layers, 0))->train_codes != NULL)
        {
          a->split[s] = g_new (guint8, MAX (n, 1));
          memset (a->split[s], 1, n);
        }
      else
        a->split[s] = make_split (labels, n, settings->n_classes, s);
    }
  a->cells = g_new0 (Cell, L * S);

  jobs = g_new0 (Job, L * S);
  g_mutex_init (&sh.lock);
  sh.cancellable = cancellable;
  sh.progress = progress;
  sh.progress_data = progress_data;
  sh.total = L * S;
  threads = CLAMP (settings->threads, 1, L * S);
  {
    int blas = openblas_get_num_threads ();
    if (threads > 1)
      {
        GThreadPool *pool;
        /* BLAS's thread count is process-wide: parallel trainers run it single-threaded */
        openblas_set_num_threads (1);
        pool = g_thread_pool_new (job_worker, &sh, threads, TRUE, NULL);
        for (guint i = 0; i < L * S; i++)
          {
            jobs[i] = (Job) { a, i / S, i % S, NULL };
            g_thread_pool_push (pool, &jobs[i], NULL);
          }
        g_thread_pool_free (pool, FALSE, TRUE);
        openblas_set_num_threads (blas);
      }
    else
      for (guint i = 0; i < L * S; i++)
        {
          jobs[i] = (Job) { a, i / S, i % S, NULL };
          job_worker (&jobs[i], &sh);
        }
  }
  g_mutex_clear (&sh.lock);
  a->train_seconds = g_timer_elapsed (timer, NULL);
  if (sh.error != NULL)
    {
      g_propagate_error (error, sh.error);
      return NULL;
    }
  return g_steal_pointer (&a);
}

guint
som_analysis_get_n_layers (SomAnalysis *a)
{
  return a->layers->len;
}

const SomAnalysisLayer *
som_analysis_get_layer (SomAnalysis *a, guint position)
{
  return g_ptr_array_index (a->layers, position);
}

SomMap *
som_analysis_get_map (SomAnalysis *a, guint position)
{
  return a->cells[position * a->settings.seeds].map;
}

const gint32 *
som_analysis_get_bmus (SomAnalysis *a, guint position, gboolean adversarial)
{
  Cell *c = &a->cells[position * a->settings.seeds];
  return adversarial ? c->bmus_adv : c->bmus;
}

const guint8 *
som_analysis_get_split (SomAnalysis *a)
{
  return a->split[0];
}

double
som_analysis_get_train_seconds (SomAnalysis *a)
{
  return a->train_seconds;
}

/* ---- JSON ------------------------------------------------------------------------- */

static void
mean_std (const double *v, guint n, double *mean, double *std)
{
  double s = 0, ss = 0;
  guint k = 0;

  for (guint i = 0; i < n; i++)
    if (isfinite (v[i]))
      {
        s += v[i];
        k++;
      }
  *mean = k > 0 ? s / k : NAN;
  for (guint i = 0; i < n; i++)
    if (isfinite (v[i]))
      ss += (v[i] - *mean) * (v[i] - *mean);
  *std = k > 1 ? sqrt (ss / (k - 1)) : NAN;
}

/* A scalar over seeds: the mean, and a _std twin when seeds > 1. */
static void
add_seeds (JsonBuilder *b, const char *name, const double *v, guint S)
{
  double mean, std;

  mean_std (v, S, &mean, &std);
  som_json_add_number (b, name, mean);
  if (S > 1)
    {
      g_autofree char *sn = g_strconcat (name, "_std", NULL);
      som_json_add_number (b, sn, std);
    }
}

static void
add_list_seeds (JsonBuilder *b, const char *name, double **lists, guint len, guint S)
{
  g_autofree double *v = g_new (double, MAX (S, 1));
  g_autofree char *sn = g_strconcat (name, "_std", NULL);

  for (guint pass = 0; pass < (S > 1 ? 2u : 1u); pass++)
    {
      json_builder_set_member_name (b, pass == 0 ? name : sn);
      json_builder_begin_array (b);
      for (guint k = 0; k < len; k++)
        {
          double mean, std;
          for (guint s = 0; s < S; s++)
            v[s] = lists[s] != NULL ? lists[s][k] : NAN;
          mean_std (v, S, &mean, &std);
          if (isfinite (pass == 0 ? mean : std))
            json_builder_add_double_value (b, pass == 0 ? mean : std);
          else
            json_builder_add_null_value (b);
        }
      json_builder_end_array (b);
    }
}

static void
add_group (SomAnalysis *a, JsonBuilder *b, guint layer, guint g)
{
  guint S = a->settings.seeds;
  g_autofree double *v = g_new (double, S);
  g_autofree double **lists = g_new0 (double *, S);

  json_builder_begin_object (b);
  for (guint k = 0; k < N_M; k++)
    {
      for (guint s = 0; s < S; s++)
        v[s] = a->cells[layer * S + s].m[g][k];
      add_seeds (b, m_names[k], v, S);
    }
  for (guint s = 0; s < S; s++)
    lists[s] = a->cells[layer * S + s].per_class[g];
  add_list_seeds (b, "occupied_units_per_class", lists, a->settings.n_classes, S);
  if (g == G_CLEAN)
    for (guint which = 0; which < 2; which++)
      {
        guint len = G_MAXUINT;
        for (guint s = 0; s < S; s++)
          {
            GArray *arr = which == 0 ? a->cells[layer * S + s].qe_epochs : a->cells[layer * S + s].te_epochs;
            lists[s] = (double *) arr->data;
            len = MIN (len, arr->len);
          }
        add_list_seeds (b, which == 0 ? "qe_per_epoch" : "te_per_epoch", lists, len, S);
      }
  json_builder_end_object (b);
}

/* Spearman ρ of each scalar with depth, per seed. */
static void
add_trend (SomAnalysis *a, JsonBuilder *b, const char *name, guint g, guint k, gboolean traj)
{
  guint L = a->layers->len, S = a->settings.seeds;
  g_autofree double *depth = g_new (double, L);
  g_autofree double *y = g_new (double, L);
  g_autofree double *rho = g_new (double, S);
  double mean, std;

  for (guint l = 0; l < L; l++)
    depth[l] = l;
  for (guint s = 0; s < S; s++)
    {
      for (guint l = 0; l < L; l++)
        y[l] = traj ? a->cells[l * S + s].t[k] : a->cells[l * S + s].m[g][k];
      rho[s] = som_metrics_spearman (depth, y, L);
    }
  mean_std (rho, S, &mean, &std);
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  som_json_add_number (b, "spearman_rho", mean);
  json_builder_set_member_name (b, "rho_per_seed");
  json_builder_begin_array (b);
  for (guint s = 0; s < S; s++)
    if (isfinite (rho[s]))
      json_builder_add_double_value (b, rho[s]);
    else
      json_builder_add_null_value (b);
  json_builder_end_array (b);
  som_json_add_number (b, "spread", std);
  json_builder_end_object (b);
}

JsonNode *
som_analysis_to_json (SomAnalysis *a, const char *model, const char *dataset, JsonNode *settings,
                      JsonNode *provenance, const char * const *class_names)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  guint L = a->layers->len, S = a->settings.seeds, K = a->settings.n_classes;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, "somscope-metrics");
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "model");
  if (model != NULL)
    json_builder_add_string_value (b, model);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "dataset");
  if (dataset != NULL)
    json_builder_add_string_value (b, dataset);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "settings");
  if (settings != NULL)
    json_builder_add_value (b, json_node_copy (settings));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "provenance");
  if (provenance != NULL)
    json_builder_add_value (b, json_node_copy (provenance));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "count");
  json_builder_add_int_value (b, a->n);
  json_builder_set_member_name (b, "held_out_count");
  {
    gsize h = 0;
    for (gsize i = 0; i < a->n; i++)
      h += a->split[0][i];
    json_builder_add_int_value (b, h);
  }
  json_builder_set_member_name (b, "class_names");
  json_builder_begin_array (b);
  for (guint c = 0; c < K; c++)
    {
      if (class_names != NULL && class_names[c] != NULL)
        json_builder_add_string_value (b, class_names[c]);
      else
        {
          g_autofree char *s = g_strdup_printf ("%u", c);
          json_builder_add_string_value (b, s);
        }
      if (class_names != NULL && class_names[c] == NULL)
        class_names = NULL;
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (guint l = 0; l < L; l++)
    {
      SomAnalysisLayer *ly = g_ptr_array_index (a->layers, l);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, ly->index);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, ly->name);
      json_builder_set_member_name (b, "op");
      json_builder_add_string_value (b, ly->op);
      json_builder_set_member_name (b, "shape");
      if (ly->shape != NULL)
        json_builder_add_value (b, json_node_copy (ly->shape));
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "dim");
      json_builder_add_int_value (b, ly->codes->shape[1]);
      json_builder_set_member_name (b, "depth");
      json_builder_add_int_value (b, l);
      json_builder_set_member_name (b, "clean");
      add_group (a, b, l, G_CLEAN);
      if (a->has_adv)
        {
          g_autofree double *v = g_new (double, S);
          json_builder_set_member_name (b, "adversarial");
          add_group (a, b, l, G_ADV);
          json_builder_set_member_name (b, "trajectory");
          json_builder_begin_object (b);
          for (guint k = 0; k < N_T; k++)
            {
              for (guint s = 0; s < S; s++)
                v[s] = a->cells[l * S + s].t[k];
              add_seeds (b, t_names[k], v, S);
            }
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "trends");
  json_builder_begin_object (b);
  for (guint g = 0; g < (a->has_adv ? 2u : 1u); g++)
    for (guint k = 0; k < N_M; k++)
      {
        g_autofree char *name = g_strconcat (g == G_CLEAN ? "clean_" : "adversarial_", m_names[k], NULL);
        add_trend (a, b, name, g, k, FALSE);
      }
  if (a->has_adv)
    for (guint k = 0; k < N_T; k++)
      {
        g_autofree char *name = g_strconcat ("trajectory_", t_names[k], NULL);
        add_trend (a, b, name, 0, k, TRUE);
      }
  json_builder_end_object (b);

  if (a->has_adv)
    {
      /* divergence layer of each held-out input, per seed */
      g_autofree double *hist = g_new0 (double, (gsize) (L + 1) * S);
      for (guint s = 0; s < S; s++)
        {
          SomGrid *grid = som_map_get_grid (a->cells[s].map != NULL ? a->cells[s].map : a->cells[0].map);
          for (gsize i = 0; i < a->n; i++)
            {
              guint where = L;
              if (!a->split[s][i])
                continue;
              for (guint l = 0; l < L; l++)
                {
                  Cell *c = &a->cells[l * S + s];
                  if (!som_metrics_bmus_close (grid, c->bmus[i], c->bmus_adv[i]))
                    {
                      where = l;
                      break;
                    }
                }
              hist[(gsize) s * (L + 1) + where] += 1;
            }
        }
      json_builder_set_member_name (b, "divergence_layer");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "histogram");
      json_builder_begin_array (b);
      for (guint l = 0; l <= L; l++)
        {
          double s = 0;
          for (guint k = 0; k < S; k++)
            s += hist[(gsize) k * (L + 1) + l];
          json_builder_add_double_value (b, s / S);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "histogram_per_seed");
      json_builder_begin_array (b);
      for (guint k = 0; k < S; k++)
        {
          json_builder_begin_array (b);
          for (guint l = 0; l <= L; l++)
            json_builder_add_int_value (b, (gint64) hist[(gsize) k * (L + 1) + l]);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);

      if (a->adv_pred != NULL && a->pred != NULL)
      /* class homogeneity (normalized hit entropy of the class's held-out BMUs,
       * mean over layers and seeds) against the attack success rate per class */
      {
        g_autofree double *ent = g_new0 (double, MAX (K, 1));
        g_autofree double *succ = g_new0 (double, MAX (K, 1));
        json_builder_set_member_name (b, "class_homogeneity_vs_attack_success");
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "per_class");
        json_builder_begin_array (b);
        for (guint c = 0; c < K; c++)
          {
            gsize right = 0, flipped = 0, count = 0;
            double e = 0;
            guint ne = 0;
            for (guint l = 0; l < L; l++)
              for (guint s = 0; s < S; s++)
                {
                  double v = a->cells[l * S + s].class_entropy[c];
                  if (isfinite (v))
                    {
                      e += v;
                      ne++;
                    }
                }
            ent[c] = ne > 0 ? e / ne : NAN;
            for (gsize i = 0; i < a->n; i++)
              if (a->labels[i] == (gint32) c)
                {
                  count++;
                  if (a->pred != NULL && a->pred[i] == a->labels[i])
                    {
                      right++;
                      if (a->settings.target >= 0 ? a->adv_pred[i] == a->settings.target
                                                  : a->adv_pred[i] != a->labels[i])
                        flipped++;
                    }
                }
            succ[c] = right > 0 ? (double) flipped / right : NAN;
            json_builder_begin_object (b);
            json_builder_set_member_name (b, "class");
            json_builder_add_int_value (b, c);
            json_builder_set_member_name (b, "count");
            json_builder_add_int_value (b, count);
            som_json_add_number (b, "hit_entropy_normalized", ent[c]);
            som_json_add_number (b, "attack_success_rate", succ[c]);
            json_builder_end_object (b);
          }
        json_builder_end_array (b);
        som_json_add_number (b, "spearman_rho", som_metrics_spearman (ent, succ, K));
        json_builder_end_object (b);
      }
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ---- report.md ----------------------------------------------------------------------- */

static double
get_num (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n) || json_node_get_value_type (n) == G_TYPE_INVALID)
    return NAN;
  return json_node_get_double (n);
}

/* A table cell: @value with @decimals, or "n/a" when it is undefined (null in
 * metrics.json, e.g. the PCA dimension of a zero-variance layer). */
static void
append_cell (GString *s, int decimals, double value)
{
  g_string_append_c (s, ' ');
  if (isfinite (value))
    g_string_append_printf (s, "%.*f", decimals, value);
  else
    g_string_append (s, "n/a");
  g_string_append (s, " |");
}

static void
trend_sentence (GString *s, JsonObject *trends, const char *key, const char *what, const char *claim,
                gboolean claim_positive)
{
  JsonObject *t = trends != NULL && json_object_has_member (trends, key)
                  ? json_object_get_object_member (trends, key) : NULL;
  double rho = get_num (t, "spearman_rho"), spread = get_num (t, "spread");

  if (t == NULL)
    return;
  if (!isfinite (rho))
    {
      g_string_append_printf (s, "- **%s** vs depth: Spearman ρ is undefined (the series is constant or too "
                              "short), so this model says nothing about the claim that %s.\n", what, claim);
      return;
    }
  g_string_append_printf (s, "- **%s** vs depth: Spearman ρ = %.2f", what, rho);
  if (isfinite (spread))
    g_string_append_printf (s, " (spread over seeds %.2f)", spread);
  if ((rho > 0.3 && claim_positive) || (rho < -0.3 && !claim_positive))
    g_string_append_printf (s, ": consistent with the claim that %s.\n", claim);
  else if ((rho < -0.3 && claim_positive) || (rho > 0.3 && !claim_positive))
    g_string_append_printf (s, ": the opposite of the claim that %s.\n", claim);
  else
    g_string_append_printf (s, ": no clear trend, so this model neither supports nor contradicts the claim "
                            "that %s.\n", claim);
}

char *
som_analysis_report_markdown (JsonNode *metrics)
{
  GString *s = g_string_new ("# Somscope analysis\n\n");
  JsonObject *root = json_node_get_object (metrics);
  JsonArray *layers = json_object_get_array_member (root, "layers");
  JsonObject *trends = json_object_has_member (root, "trends") ? json_object_get_object_member (root, "trends") : NULL;
  JsonObject *settings = json_object_has_member (root, "settings") && JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "settings"))
                         ? json_object_get_object_member (root, "settings") : NULL;
  guint L = json_array_get_length (layers);
  gboolean adv = L > 0 && json_object_has_member (json_array_get_object_element (layers, 0), "adversarial");

  g_string_append_printf (s, "Model: `%s`  \nData: `%s`, %" G_GINT64_FORMAT " inputs (%" G_GINT64_FORMAT
                          " held out for the metrics)  \n",
                          json_object_has_member (root, "model") && !JSON_NODE_HOLDS_NULL (json_object_get_member (root, "model"))
                          ? json_object_get_string_member (root, "model") : "(activations file)",
                          json_object_has_member (root, "dataset") && !JSON_NODE_HOLDS_NULL (json_object_get_member (root, "dataset"))
                          ? json_object_get_string_member (root, "dataset") : "(activations file)",
                          json_object_get_int_member (root, "count"), json_object_get_int_member (root, "held_out_count"));
  if (settings != NULL)
    {
      g_string_append_printf (s, "Maps: %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " %s, %" G_GINT64_FORMAT
                              " epochs, codes `%s`, %" G_GINT64_FORMAT " seed(s)",
                              json_object_get_int_member (settings, "rows"), json_object_get_int_member (settings, "cols"),
                              json_object_get_string_member (settings, "topology"),
                              json_object_get_int_member (settings, "epochs"),
                              json_object_get_string_member (settings, "codes"),
                              json_object_get_int_member (settings, "seeds"));
      if (json_object_has_member (settings, "attack") && JSON_NODE_HOLDS_OBJECT (json_object_get_member (settings, "attack")))
        {
          JsonObject *at = json_object_get_object_member (settings, "attack");
          g_string_append_printf (s, "; attack %s (%s) at ε = %g", json_object_get_string_member (at, "method"),
                                  json_object_get_string_member (at, "norm"), json_object_get_double_member (at, "eps"));
          if (json_object_has_member (settings, "clean_accuracy"))
            g_string_append_printf (s, ": accuracy %.1f %% clean, %.1f %% adversarial",
                                    100 * get_num (settings, "clean_accuracy"),
                                    100 * get_num (settings, "adversarial_accuracy"));
        }
      g_string_append (s, ".\n");
    }

  g_string_append (s, "\n## Per layer\n\n| depth | layer | op | dim | occupied units | normalized hit entropy | "
                   "I(BMU; label) nats | majority-unit accuracy (test) | PCA 95 % |");
  if (adv)
    g_string_append (s, " BMU agreement | mean grid distance |");
  g_string_append (s, "\n|---|---|---|---|---|---|---|---|---|");
  if (adv)
    g_string_append (s, "---|---|");
  g_string_append (s, "\n");
  for (guint l = 0; l < L; l++)
    {
      JsonObject *ly = json_array_get_object_element (layers, l);
      JsonObject *c = json_object_get_object_member (ly, "clean");
      g_string_append_printf (s, "| %u | %s | %s | %" G_GINT64_FORMAT " |", l,
                              json_object_get_string_member (ly, "name"), json_object_get_string_member (ly, "op"),
                              json_object_get_int_member (ly, "dim"));
      append_cell (s, 1, get_num (c, "occupied_units"));
      append_cell (s, 3, get_num (c, "hit_entropy_normalized"));
      append_cell (s, 3, get_num (c, "mutual_information"));
      append_cell (s, 3, get_num (c, "majority_unit_accuracy_test"));
      append_cell (s, 1, get_num (c, "pca_components_95"));
      if (adv)
        {
          JsonObject *t = json_object_get_object_member (ly, "trajectory");
          append_cell (s, 3, get_num (t, "bmu_agreement"));
          append_cell (s, 2, get_num (t, "mean_grid_distance"));
        }
      g_string_append (s, "\n");
    }

  g_string_append (s, "\n## The paper's claims, measured\n\n");
  if (L < 3)
    g_string_append_printf (s, "Only %u layer(s) were mapped: a trend with depth needs at least 3, so the ρ "
                            "values below are weak evidence at best.\n\n", L);
  trend_sentence (s, trends, "clean_hit_entropy_normalized", "Normalized hit entropy",
                  "codes become more diverse with depth", TRUE);
  trend_sentence (s, trends, "clean_mutual_information", "I(BMU; label)",
                  "the BMU–label association grows with depth", TRUE);
  trend_sentence (s, trends, "clean_occupied_units", "Occupied units",
                  "deeper layers use more of the map", TRUE);
  if (adv)
    {
      trend_sentence (s, trends, "trajectory_bmu_agreement", "Clean/adversarial BMU agreement",
                      "adversarial inputs drift away from their clean codes with depth", FALSE);
      if (json_object_has_member (root, "divergence_layer"))
        {
          JsonArray *h = json_object_get_array_member (json_object_get_object_member (root, "divergence_layer"),
                                                       "histogram");
          double total = 0, best = -1;
          guint arg = 0;
          for (guint i = 0; i < json_array_get_length (h); i++)
            {
              double v = json_array_get_double_element (h, i);
              total += v;
              if (v > best)
                {
                  best = v;
                  arg = i;
                }
            }
          if (total > 0)
            {
              if (arg + 1 == json_array_get_length (h))
                g_string_append_printf (s, "- Most held-out inputs (%.0f %%) never diverge: their adversarial BMU "
                                        "stays on or next to the clean one on every map.\n", 100 * best / total);
              else
                g_string_append_printf (s, "- The most common divergence layer (first map where the adversarial "
                                        "BMU is neither the clean one nor its neighbour) is depth %u, `%s`, for "
                                        "%.0f %% of the held-out inputs.\n", arg,
                                        json_object_get_string_member (json_array_get_object_element (layers, arg), "name"),
                                        100 * best / total);
            }
        }
      if (json_object_has_member (root, "class_homogeneity_vs_attack_success"))
        {
          JsonObject *ch = json_object_get_object_member (root, "class_homogeneity_vs_attack_success");
          double rho = get_num (ch, "spearman_rho");
          if (isfinite (rho))
            g_string_append_printf (s, "- Per class, normalized hit entropy (code diversity) against attack "
                                    "success rate: Spearman ρ = %.2f. The claim that more homogeneous codes go "
                                    "with more vulnerability predicts a negative ρ; %s.\n", rho,
                                    rho < -0.3 ? "this model agrees" : rho > 0.3 ? "this model shows the opposite"
                                    : "this model shows no clear relation");
          else
            g_string_append (s, "- Per class, code diversity against attack success: undefined (constant "
                             "series).\n");
        }
    }
  g_string_append (s, "\nAll values are means over seeds on the held-out inputs; `metrics.json` has every "
                   "metric with its standard deviation, and docs/metrics.md defines them.\n");
  return g_string_free (s, FALSE);
}
