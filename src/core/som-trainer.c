/* som-trainer.c: batch SOM (one sgemm per chunk, numerators and denominators
 * accumulated across chunks) and online SOM, PCA and random initialisation.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <cblas.h>
#include <lapacke.h>

#include "som-map-private.h"
#include "som-model-private.h"
#include "som-trainer-private.h"
#include "som-tsan-private.h"

/* Exact covariance for PCA up to this many features; subspace iteration above. */
#define PCA_EXACT_MAX_DIM 256
#define PCA_SUBSPACE 8
#define PCA_ITERATIONS 8
/* Online updates smaller than this fraction change no float: skip them. */
#define ONLINE_MIN_STEP 1e-9

typedef struct
{
  SomTrainParams   p;
  SomChunkSource  *source;
  SomGrid         *grid;
  gsize            n;
  guint            dim;
  guint            n_units;
  gsize            chunk;
  float           *buf;       /* chunk × dim: rows read or normalised */
  float           *scratch;   /* chunk × units: the sgemm output */
  guint8          *valid;     /* chunk */
  gint32          *cb1;       /* chunk: BMUs of a chunk */
  gint32          *cb2;
  float           *cdist;
  guint8          *first;     /* chunk: the row is the first of its BMU in the pass */
  guint8          *row_valid; /* N: finiteness of every row, from the first pass */
  gsize            rows_checked;
  float           *ua;        /* units: BMU score terms */
  float           *ub;
  gint32          *lx;        /* units: doubled lattice coordinates (see som-grid.c) */
  gint32          *ly;
  /* The batch update's buffers, kept across epochs. */
  guint           *occ;       /* occupied units */
  gint32          *ox;        /* their lattice coordinates */
  gint32          *oy;
  float           *occ_sum;   /* occupied × dim */
  float           *wtab;      /* weight by lattice offset: (rows) × (2·cols + 1) */
  float           *h;
  float           *num;
  gsize            h_size;
  gsize            num_size;
  gsize            n_valid;
  GCancellable    *cancellable;
  SomProgressFunc  progress;
  gpointer         progress_data;
  guint            pass;
  guint            n_passes;
  const char      *stage;
  guint            epoch;
  double           last_qe;
} Trainer;

static void
trainer_clear (Trainer *t)
{
  g_clear_pointer (&t->buf, g_free);
  g_clear_pointer (&t->scratch, g_free);
  g_clear_pointer (&t->valid, g_free);
  g_clear_pointer (&t->cb1, g_free);
  g_clear_pointer (&t->cb2, g_free);
  g_clear_pointer (&t->cdist, g_free);
  g_clear_pointer (&t->first, g_free);
  g_clear_pointer (&t->row_valid, g_free);
  g_clear_pointer (&t->ua, g_free);
  g_clear_pointer (&t->ub, g_free);
  g_clear_pointer (&t->lx, g_free);
  g_clear_pointer (&t->ly, g_free);
  g_clear_pointer (&t->occ, g_free);
  g_clear_pointer (&t->ox, g_free);
  g_clear_pointer (&t->oy, g_free);
  g_clear_pointer (&t->occ_sum, g_free);
  g_clear_pointer (&t->wtab, g_free);
  g_clear_pointer (&t->h, g_free);
  g_clear_pointer (&t->num, g_free);
}

static void
set_source_changed (GError **error, gsize row)
{
  g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
               "row %zu changed between passes over the data (finite in one, not in another): "
               "the chunk source must return the same rows on every pass", row);
}

static void
report (Trainer *t, gsize chunk_index, gsize n_chunks)
{
  g_autofree char *msg = NULL;
  double fraction;

  if (t->progress == NULL)
    return;
  fraction = (t->pass + (double) chunk_index / MAX (n_chunks, 1)) / MAX (t->n_passes, 1);
  if (t->epoch > 0 && isfinite (t->last_qe))
    msg = g_strdup_printf ("%s %u/%u, chunk %zu/%zu, QE %.4g", t->stage, t->epoch, t->p.epochs,
                           chunk_index, n_chunks, t->last_qe);
  else if (t->epoch > 0)
    msg = g_strdup_printf ("%s %u/%u, chunk %zu/%zu", t->stage, t->epoch, t->p.epochs, chunk_index, n_chunks);
  else
    msg = g_strdup_printf ("%s, chunk %zu/%zu", t->stage, chunk_index, n_chunks);
  t->progress (MIN (fraction, 1.0), msg, t->progress_data);
}

/* Rows [start, start + m) ready for BLAS: read, checked for non-finite
 * values (an error naming the row, or masked out), normalised for cosine.
 * The finiteness of every row is known after the first pass (passes read the
 * rows in order); with @trust_cache later passes reuse it instead of reading
 * every value again (bmu_pass still catches a row that changed). */
static const float *
get_chunk (Trainer *t, gsize start, gsize m, gboolean trust_cache, GError **error)
{
  const float *x;
  gboolean copy = t->p.distance == SOM_DISTANCE_COSINE;
  gboolean cached = t->row_valid != NULL && start + m <= t->rows_checked;

  if (g_cancellable_set_error_if_cancelled (t->cancellable, error))
    return NULL;
  x = som_chunk_source_read (t->source, start, m, t->buf, t->cancellable, error);
  if (x == NULL)
    return NULL;
  if (cached && trust_cache)
    {
      memcpy (t->valid, t->row_valid + start, m);
      copy |= memchr (t->valid, 0, m) != NULL;
    }
  else
    {
      for (gsize i = 0; i < m; i++)
        {
          t->valid[i] = _som_row_is_finite (x + i * t->dim, t->dim);
          if (cached && t->valid[i] != t->row_valid[start + i])
            {
              set_source_changed (error, start + i);
              return NULL;
            }
          if (!t->valid[i])
            {
              if (t->p.nonfinite == SOM_NONFINITE_ERROR)
                {
                  g_set_error (error, SOM_ERROR, SOM_ERROR_NONFINITE,
                               "row %zu has a non-finite value (NaN or Inf); --nonfinite skip leaves such rows out",
                               start + i);
                  return NULL;
                }
              copy = TRUE;
            }
        }
      if (t->row_valid != NULL && !cached && start <= t->rows_checked)
        {
          memcpy (t->row_valid + start, t->valid, m);
          t->rows_checked = start + m;
        }
    }
  if (copy)
    {
      if (x != t->buf)
        memcpy (t->buf, x, m * t->dim * sizeof (float));
      for (gsize i = 0; i < m; i++)
        if (!t->valid[i])
          memset (t->buf + i * t->dim, 0, t->dim * sizeof (float));
      if (t->p.distance == SOM_DISTANCE_COSINE)
        _som_normalize_rows (t->buf, m, t->dim);
      x = t->buf;
    }
  return x;
}

/* Per-unit buffers (small: a few numbers per unit). */
static void
trainer_alloc_units (Trainer *t)
{
  guint K = t->n_units, C = som_grid_get_cols (t->grid);
  gboolean hex = som_grid_get_topology (t->grid) == SOM_TOPOLOGY_HEX;

  t->ua = g_new (float, K);
  t->ub = g_new (float, K);
  t->lx = g_new (gint32, K);
  t->ly = g_new (gint32, K);
  t->occ = g_new (guint, K);
  t->ox = g_new (gint32, K);
  t->oy = g_new (gint32, K);
  t->wtab = g_new (float, (gsize) som_grid_get_rows (t->grid) * (2 * C + 1));
  for (guint k = 0; k < K; k++)
    {
      guint r = k / C, c = k % C;

      t->lx[k] = (gint32) (2 * c + (hex ? r % 2 : 0));
      t->ly[k] = (gint32) r;
    }
}

#define N_CHUNKS(t) (((t)->n + (t)->chunk - 1) / (t)->chunk)

/* Initialisation */

static gboolean
data_mean (Trainer *t, double *mean, GError **error)
{
  gsize n_chunks = N_CHUNKS (t), ci = 0;

  memset (mean, 0, t->dim * sizeof (double));
  t->n_valid = 0;
  t->stage = "initialising";
  for (gsize start = 0; start < t->n; start += t->chunk, ci++)
    {
      gsize m = MIN (t->chunk, t->n - start);
      const float *x = get_chunk (t, start, m, FALSE, error);

      if (x == NULL)
        return FALSE;
      for (gsize i = 0; i < m; i++)
        {
          if (!t->valid[i])
            continue;
          t->n_valid++;
          for (guint j = 0; j < t->dim; j++)
            mean[j] += x[i * t->dim + j];
        }
      report (t, ci, n_chunks);
    }
  t->pass++;
  if (t->n_valid == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "no finite rows to train on (all %zu rows were skipped)", t->n);
      return FALSE;
    }
  for (guint j = 0; j < t->dim; j++)
    mean[j] /= t->n_valid;
  return TRUE;
}

/* Copies the valid rows of a chunk, centred, into @c (the invalid ones as zero). */
SOM_VECTORIZE static void
center_chunk (Trainer *t, const float *x, gsize m, const float *mean, float *c)
{
  for (gsize i = 0; i < m; i++)
    {
      float *ci = c + i * t->dim;
      const float *xi = x + i * t->dim;

      if (!t->valid[i])
        memset (ci, 0, t->dim * sizeof (float));
      else
        for (guint j = 0; j < t->dim; j++)
          ci[j] = xi[j] - mean[j];
    }
}

/* (Xc)ᵀ(Xc)·V for the n × l matrix V (column-major in @v is avoided: V is dim × l row-major). */
static gboolean
covariance_times (Trainer *t, const float *mean, const float *v, guint l, double *out, GError **error)
{
  g_autofree float *c = g_new (float, t->chunk * t->dim);
  g_autofree float *y = g_new (float, t->chunk * l);
  g_autofree float *z = g_new (float, (gsize) t->dim * l);
  gsize n_chunks = N_CHUNKS (t), ci = 0;

  memset (out, 0, (gsize) t->dim * l * sizeof (double));
  for (gsize start = 0; start < t->n; start += t->chunk, ci++)
    {
      gsize m = MIN (t->chunk, t->n - start);
      const float *x = get_chunk (t, start, m, FALSE, error);

      if (x == NULL)
        return FALSE;
      center_chunk (t, x, m, mean, c);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint) m, (blasint) l, (blasint) t->dim,
                   1.0f, c, (blasint) t->dim, v, (blasint) l, 0.0f, y, (blasint) l);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (blasint) t->dim, (blasint) l, (blasint) m,
                   1.0f, c, (blasint) t->dim, y, (blasint) l, 0.0f, z, (blasint) l);
      for (gsize i = 0; i < (gsize) t->dim * l; i++)
        out[i] += z[i];
      report (t, ci, n_chunks);
    }
  t->pass++;
  return TRUE;
}

static void
orthonormalize_columns (double *v, guint dim, guint l)
{
  /* Modified Gram–Schmidt, twice for stability. */
  for (int rep = 0; rep < 2; rep++)
    for (guint a = 0; a < l; a++)
      {
        double norm = 0;

        for (guint b = 0; b < a; b++)
          {
            double dot = 0;
            for (guint j = 0; j < dim; j++)
              dot += v[(gsize) j * l + a] * v[(gsize) j * l + b];
            for (guint j = 0; j < dim; j++)
              v[(gsize) j * l + a] -= dot * v[(gsize) j * l + b];
          }
        for (guint j = 0; j < dim; j++)
          norm += v[(gsize) j * l + a] * v[(gsize) j * l + a];
        norm = sqrt (norm);
        for (guint j = 0; j < dim; j++)
          v[(gsize) j * l + a] = norm > 1e-300 ? v[(gsize) j * l + a] / norm : (j == a ? 1.0 : 0.0);
      }
}

/* The two leading principal directions (@v1, @v2) and their variances. */
static gboolean
principal_components (Trainer *t, GRand *rand, const double *mean,
                      double *v1, double *v2, double *lambda1, double *lambda2, GError **error)
{
  guint D = t->dim;
  g_autofree float *meanf = g_new (float, D);

  for (guint j = 0; j < D; j++)
    meanf[j] = (float) mean[j];
  *lambda1 = *lambda2 = 0;
  memset (v1, 0, D * sizeof (double));
  memset (v2, 0, D * sizeof (double));

  if (D <= PCA_EXACT_MAX_DIM)
    {
      /* Exact: the covariance through one ssyrk per chunk, then dsyevr. */
      g_autofree float *c = g_new (float, t->chunk * D);
      g_autofree float *cf = g_new0 (float, (gsize) D * D);
      g_autofree double *cov = g_new0 (double, (gsize) D * D);
      g_autofree double *w = g_new (double, D);
      g_autofree double *z = g_new (double, (gsize) D * 2);
      g_autofree lapack_int *isuppz = g_new (lapack_int, 2 * D);
      gsize n_chunks = N_CHUNKS (t), ci = 0;
      lapack_int m = 0, info;
      lapack_int il = D >= 2 ? (lapack_int) D - 1 : 1;

      for (gsize start = 0; start < t->n; start += t->chunk, ci++)
        {
          gsize rows = MIN (t->chunk, t->n - start);
          const float *x = get_chunk (t, start, rows, FALSE, error);

          if (x == NULL)
            return FALSE;
          center_chunk (t, x, rows, meanf, c);
          cblas_ssyrk (CblasRowMajor, CblasUpper, CblasTrans, (blasint) D, (blasint) rows,
                       1.0f, c, (blasint) D, 0.0f, cf, (blasint) D);
          for (gsize i = 0; i < (gsize) D * D; i++)
            cov[i] += cf[i];
          report (t, ci, n_chunks);
        }
      t->pass++;
      info = LAPACKE_dsyevr (LAPACK_ROW_MAJOR, 'V', 'I', 'U', (lapack_int) D, cov, (lapack_int) D,
                             0, 0, il, (lapack_int) D, 0.0, &m, w, z, 2, isuppz);
      if (info != 0 || m < 1)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_FAILED, "PCA initialisation: LAPACK dsyevr failed (%d)", (int) info);
          return FALSE;
        }
      /* Eigenvalues come in ascending order: the last is the largest. */
      for (guint j = 0; j < D; j++)
        v1[j] = z[(gsize) j * 2 + (m - 1)];
      *lambda1 = MAX (0.0, w[m - 1] / t->n_valid);
      if (m >= 2)
        {
          for (guint j = 0; j < D; j++)
            v2[j] = z[(gsize) j * 2];
          *lambda2 = MAX (0.0, w[0] / t->n_valid);
        }
      return TRUE;
    }
  else
    {
      /* Subspace iteration on the implicit covariance, then Rayleigh–Ritz:
       * a pass over the data per iteration, memory O(D·l). */
      guint l = MIN (D, PCA_SUBSPACE);
      g_autofree double *v = g_new (double, (gsize) D * l);
      g_autofree double *cv = g_new (double, (gsize) D * l);
      g_autofree float *vf = g_new (float, (gsize) D * l);
      double tm[PCA_SUBSPACE * PCA_SUBSPACE], ev[PCA_SUBSPACE], u[PCA_SUBSPACE * PCA_SUBSPACE];
      lapack_int info;

      for (gsize i = 0; i < (gsize) D * l; i++)
        v[i] = g_rand_double_range (rand, -1, 1);
      orthonormalize_columns (v, D, l);
      for (guint it = 0; it <= PCA_ITERATIONS; it++)
        {
          for (gsize i = 0; i < (gsize) D * l; i++)
            vf[i] = (float) v[i];
          if (!covariance_times (t, meanf, vf, l, cv, error))
            return FALSE;
          if (it == PCA_ITERATIONS)
            break;
          memcpy (v, cv, (gsize) D * l * sizeof (double));
          orthonormalize_columns (v, D, l);
        }
      /* T = Vᵀ C V (l × l, symmetric) */
      for (guint a = 0; a < l; a++)
        for (guint b = 0; b < l; b++)
          {
            double s = 0;
            for (guint j = 0; j < D; j++)
              s += (double) vf[(gsize) j * l + a] * cv[(gsize) j * l + b];
            tm[a * l + b] = s;
          }
      for (guint a = 0; a < l; a++)
        for (guint b = a + 1; b < l; b++)
          tm[a * l + b] = tm[b * l + a] = 0.5 * (tm[a * l + b] + tm[b * l + a]);
      memcpy (u, tm, sizeof tm);
      info = LAPACKE_dsyev (LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int) l, u, (lapack_int) l, ev);
      if (info != 0)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_FAILED, "PCA initialisation: LAPACK dsyev failed (%d)", (int) info);
          return FALSE;
        }
      for (guint j = 0; j < D; j++)
        {
          double s1 = 0, s2 = 0;
          for (guint a = 0; a < l; a++)
            {
              s1 += (double) vf[(gsize) j * l + a] * u[a * l + (l - 1)];
              if (l >= 2)
                s2 += (double) vf[(gsize) j * l + a] * u[a * l + (l - 2)];
            }
          v1[j] = s1;
          v2[j] = s2;
        }
      *lambda1 = MAX (0.0, ev[l - 1] / t->n_valid);
      *lambda2 = l >= 2 ? MAX (0.0, ev[l - 2] / t->n_valid) : 0;
      return TRUE;
    }
}

/* Linear initialisation: the plane of the two leading principal components
 * through the mean, the longer grid axis along the first, each grid axis
 * spanning ±1 standard deviation of its component. */
static gboolean
init_pca (Trainer *t, GRand *rand, float *codebook, GError **error)
{
  guint D = t->dim;
  g_autofree double *mean = g_new (double, D);
  g_autofree double *v1 = g_new (double, D);
  g_autofree double *v2 = g_new (double, D);
  double l1, l2, w = som_grid_get_width (t->grid), h = som_grid_get_height (t->grid);
  gboolean x_major = w >= h;

  if (!data_mean (t, mean, error))
    return FALSE;
  if (!principal_components (t, rand, mean, v1, v2, &l1, &l2, error))
    return FALSE;
  for (guint k = 0; k < t->n_units; k++)
    {
      double x, y, u, s;

      som_grid_get_position (t->grid, k, &x, &y);
      x = w > 0 ? 2 * x / w - 1 : 0;
      y = h > 0 ? 2 * y / h - 1 : 0;
      u = x_major ? x : y;
      s = x_major ? y : x;
      for (guint j = 0; j < D; j++)
        codebook[(gsize) k * D + j] = (float) (mean[j] + u * sqrt (l1) * v1[j] + s * sqrt (l2) * v2[j]);
    }
  return TRUE;
}

typedef struct
{
  gsize row;
  guint unit;
} Pick;

static int
compare_pick (gconstpointer a, gconstpointer b)
{
  const Pick *x = a, *y = b;

  return x->row < y->row ? -1 : x->row > y->row;
}

static gsize
rand_index (GRand *rand, gsize n)
{
  gsize i = (gsize) (g_rand_double (rand) * n);

  return MIN (i, n - 1);
}

/* Random initialisation: distinct random rows of the data (with repetition
 * only when there are fewer rows than units). */
static gboolean
init_random (Trainer *t, GRand *rand, float *codebook, GError **error)
{
  guint K = t->n_units, D = t->dim;
  g_autofree Pick *picks = g_new (Pick, K);
  g_autofree guint8 *filled = g_new0 (guint8, K);
  gsize n_chunks = N_CHUNKS (t), ci = 0, p = 0;
  guint n_filled = 0;

  if (t->n >= K)
    {
      /* Floyd's algorithm: K distinct rows in O(K). */
      g_autoptr(GHashTable) chosen = g_hash_table_new (g_direct_hash, g_direct_equal);
      guint i = 0;

      for (gsize j = t->n - K; j < t->n; j++)
        {
          gsize r = rand_index (rand, j + 1);
          if (g_hash_table_contains (chosen, GSIZE_TO_POINTER (r + 1)))
            r = j;
          g_hash_table_add (chosen, GSIZE_TO_POINTER (r + 1));
          picks[i++].row = r;
        }
      /* Floyd's order is not uniform over positions: shuffle the units. */
      for (guint k = 0; k < K; k++)
        picks[k].unit = k;
      for (guint k = K - 1; k > 0; k--)
        {
          guint j = (guint) rand_index (rand, (gsize) k + 1);
          guint tmp = picks[k].unit;
          picks[k].unit = picks[j].unit;
          picks[j].unit = tmp;
        }
    }
  else
    for (guint k = 0; k < K; k++)
      {
        picks[k].row = rand_index (rand, t->n);
        picks[k].unit = k;
      }
  qsort (picks, K, sizeof (Pick), compare_pick);

  t->stage = "initialising";
  t->n_valid = 0;
  for (gsize start = 0; start < t->n; start += t->chunk, ci++)
    {
      gsize m = MIN (t->chunk, t->n - start);
      const float *x = get_chunk (t, start, m, FALSE, error);

      if (x == NULL)
        return FALSE;
      for (gsize i = 0; i < m; i++)
        t->n_valid += t->valid[i];
      for (; p < K && picks[p].row < start + m; p++)
        {
          gsize i = picks[p].row - start;
          if (!t->valid[i])
            continue;
          memcpy (codebook + (gsize) picks[p].unit * D, x + i * D, D * sizeof (float));
          filled[picks[p].unit] = 1;
          n_filled++;
        }
      report (t, ci, n_chunks);
    }
  t->pass++;
  if (t->n_valid == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "no finite rows to train on (all %zu rows were skipped)", t->n);
      return FALSE;
    }
  /* Units whose row was skipped copy a random filled unit. */
  for (guint k = 0; k < K && n_filled < K; k++)
    if (!filled[k])
      {
        guint src;
        do
          src = (guint) rand_index (rand, K);
        while (!filled[src]);
        memcpy (codebook + (gsize) k * D, codebook + (gsize) src * D, D * sizeof (float));
      }
  return TRUE;
}

typedef struct
{
  const float  *x;
  gsize         m;
  guint         dim;
  const guint8 *valid;
  const gint32 *bmus;
  const guint8 *first;
  double       *sum;
} Accumulate;

/* Columns [j0, j1) of Σ x per BMU: every thread adds whole rows in row order
 * for its own columns, so the sums do not depend on the thread count.  The
 * first row of a unit in the pass is copied (nothing needs zeroing). */
SOM_VECTORIZE static void
accumulate_columns (gsize j0, gsize j1, gpointer data)
{
  const Accumulate *a = data;

  for (gsize i = 0; i < a->m; i++)
    {
      double *s;
      const float *row;

      if (!a->valid[i])
        continue;
      s = a->sum + (gsize) a->bmus[i] * a->dim;
      row = a->x + i * a->dim;
      if (a->first[i])
        for (gsize j = j0; j < j1; j++)
          s[j] = row[j];
      else
        for (gsize j = j0; j < j1; j++)
          s[j] += row[j];
    }
}

/* One pass: BMUs of every row against @codebook.  With @sum/@count, the
 * batch numerators (Σ x per BMU, in double so the chunking does not change
 * the sums) and denominators; the sums of units without rows (count 0) are
 * left undefined.  Fills @bmus/@bmus2 (N) when given. */
static gboolean
bmu_pass (Trainer *t, const float *codebook, double *sum, double *count,
          gint32 *bmus, gint32 *bmus2, double *qe, double *te, GError **error)
{
  guint K = t->n_units, D = t->dim;
  gsize n_chunks = N_CHUNKS (t), ci = 0, counted = 0, errors = 0;
  double qsum = 0;

  _som_bmu_prepare_units (codebook, K, D, t->p.distance, t->ua, t->ub);
  if (sum != NULL)
    memset (count, 0, K * sizeof (double));
  for (gsize start = 0; start < t->n; start += t->chunk, ci++)
    {
      gsize m = MIN (t->chunk, t->n - start);
      const float *x = get_chunk (t, start, m, TRUE, error);

      if (x == NULL)
        return FALSE;
      _som_bmu_chunk (x, m, D, codebook, K, t->ua, t->ub, t->scratch, t->valid, t->cb1, t->cb2, t->cdist);
      for (gsize i = 0; i < m; i++)
        {
          if (!t->valid[i])
            continue;
          /* A non-finite distance from a row that was finite on the first
           * pass: huge values, or a source that changed. */
          if (!isfinite (t->cdist[i]) && !_som_row_is_finite (x + i * D, D))
            {
              set_source_changed (error, start + i);
              return FALSE;
            }
          counted++;
          qsum += t->cdist[i];
          errors += !som_grid_are_neighbours (t->grid, (guint) t->cb1[i], (guint) t->cb2[i]);
          if (sum != NULL)
            {
              t->first[i] = count[t->cb1[i]] == 0;
              count[t->cb1[i]] += 1;
            }
        }
      if (sum != NULL)
        {
          Accumulate acc = { x, m, D, t->valid, t->cb1, t->first, sum };

          _som_parallel_for (D, 64, accumulate_columns, &acc);
        }
      if (bmus != NULL)
        memcpy (bmus + start, t->cb1, m * sizeof (gint32));
      if (bmus2 != NULL)
        memcpy (bmus2 + start, t->cb2, m * sizeof (gint32));
      report (t, ci + 1, n_chunks);
    }
  t->pass++;
  *qe = counted ? qsum / counted : NAN;
  *te = counted ? (double) errors / counted : NAN;
  return TRUE;
}

/* The neighbourhood weight of every lattice offset (dX, dY) in doubled
 * coordinates: d² = (dX² + ky·dY²)/4, so one exp per distinct offset, not
 * per unit pair.  Far tails of a gaussian would be denormal floats, which
 * make the update sgemm many times slower; they change no sum anyway. */
static void
fill_weight_table (Trainer *t, double sigma)
{
  guint R = som_grid_get_rows (t->grid), W = 2 * som_grid_get_cols (t->grid) + 1;
  double ky = som_grid_get_topology (t->grid) == SOM_TOPOLOGY_HEX ? 3 : 4;

  for (guint dy = 0; dy < R; dy++)
    for (guint dx = 0; dx < W; dx++)
      {
        double hw = som_neighborhood_weight (t->p.neighborhood, (dx * (double) dx + ky * dy * dy) / 4, sigma);

        t->wtab[(gsize) dy * W + dx] = hw < 1e-30 ? 0.0f : (float) hw;
      }
}

static inline float
lattice_weight (const Trainer *t, gint32 x0, gint32 y0, gint32 x1, gint32 y1)
{
  gint32 C2 = 2 * (gint32) som_grid_get_cols (t->grid), R = (gint32) som_grid_get_rows (t->grid);
  gint32 dx = ABS (x0 - x1), dy = ABS (y0 - y1);

  if (som_grid_get_toroidal (t->grid))
    {
      dx = MIN (dx, C2 - dx);
      dy = MIN (dy, R - dy);
    }
  return t->wtab[(gsize) dy * (C2 + 1) + dx];
}

typedef struct
{
  Trainer      *t;
  float        *codebook;
  const double *sum;
  const double *count;
  guint         M;
  guint         j0;
} Update;

static void
occupied_to_float (gsize m0, gsize m1, gpointer data)
{
  const Update *u = data;
  guint D = u->t->dim;

  for (gsize m = m0; m < m1; m++)
    {
      const double *src = u->sum + (gsize) u->t->occ[m] * D;
      float *dst = u->t->occ_sum + m * D;

      for (guint j = 0; j < D; j++)
        dst[j] = (float) src[j];
    }
}

static void
weights_block (gsize jj0, gsize jj1, gpointer data)
{
  const Update *u = data;
  const Trainer *t = u->t;
  gint32 C2 = 2 * (gint32) som_grid_get_cols (t->grid);
  gboolean torus = som_grid_get_toroidal (t->grid);

  for (gsize jj = jj0; jj < jj1; jj++)
    {
      gint32 xj = t->lx[u->j0 + jj], yj = t->ly[u->j0 + jj];
      float *h = t->h + jj * u->M;

      if (torus)
        for (guint m = 0; m < u->M; m++)
          h[m] = lattice_weight (t, xj, yj, t->ox[m], t->oy[m]);
      else
        for (guint m = 0; m < u->M; m++)
          {
            gint32 dx = ABS (xj - t->ox[m]), dy = ABS (yj - t->oy[m]);
            h[m] = t->wtab[(gsize) dy * (C2 + 1) + dx];
          }
    }
}

static void
divide_block (gsize jj0, gsize jj1, gpointer data)
{
  const Update *u = data;
  const Trainer *t = u->t;
  guint D = t->dim;

  for (gsize jj = jj0; jj < jj1; jj++)
    {
      const float *h = t->h + jj * u->M;
      double den = 0;

      for (guint m = 0; m < u->M; m++)
        den += (double) h[m] * u->count[t->occ[m]];
      /* A unit outside every neighbourhood (bubble, small radius) keeps its vector. */
      if (den > 1e-12)
        for (guint j = 0; j < D; j++)
          u->codebook[(gsize) (u->j0 + jj) * D + j] = (float) (t->num[jj * D + j] / den);
    }
}

static gboolean
grow (float **buf, gsize *size, gsize needed)
{
  if (*size >= needed)
    return TRUE;
  g_free (*buf);
  *buf = g_try_new (float, needed);
  *size = *buf != NULL ? needed : 0;
  return *buf != NULL;
}

/* The batch update: w_j = Σ_k h(j,k)·S_k / Σ_k h(j,k)·n_k over occupied k,
 * as sgemms over blocks of units so H never needs K² memory at once. */
static gboolean
batch_update (Trainer *t, float *codebook, const double *sum, const double *count, double sigma, GError **error)
{
  guint K = t->n_units, D = t->dim, M = 0;
  Update u = { t, codebook, sum, count, 0, 0 };
  gsize block, mem_block;

  for (guint k = 0; k < K; k++)
    if (count[k] > 0)
      {
        t->ox[M] = t->lx[k];
        t->oy[M] = t->ly[k];
        t->occ[M++] = k;
      }
  if (M == 0)
    return TRUE;
  u.M = M;
  _som_parallel_for (M, MAX (4096 / D, 1), occupied_to_float, &u);
  fill_weight_table (t, sigma);
  /* Blocks of at most ~64 MB of weights and ~3 GFLOP, for memory and for
   * the cancellation latency, but of at least 256 units: every sgemm packs
   * all the occupied numerators (M × D) again, which for a big map costs
   * more than the product when the blocks are thin. */
  mem_block = (64u << 20) / (4 * ((gsize) M + D));
  block = MIN (mem_block, (gsize) (1.5e9 / ((double) M * D)));
  block = MAX (block, MIN (mem_block, 256));
  block = CLAMP (block, 1, K);
  if (!grow (&t->h, &t->h_size, block * M) || !grow (&t->num, &t->num_size, block * D))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "out of memory for the batch update of %u units", K);
      return FALSE;
    }
  for (guint j0 = 0; j0 < K; j0 += block)
    {
      guint nb = (guint) MIN (block, K - j0);

      if (g_cancellable_set_error_if_cancelled (t->cancellable, error))
        return FALSE;
      u.j0 = j0;
      _som_parallel_for (nb, MAX (16384 / M, 1), weights_block, &u);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint) nb, (blasint) D, (blasint) M,
                   1.0f, t->h, (blasint) M, t->occ_sum, (blasint) D, 0.0f, t->num, (blasint) D);
      _som_parallel_for (nb, MAX (16384 / (M + D), 1), divide_block, &u);
    }
  return TRUE;
}

/* Epoch @epoch (1-based) measured: record its errors and tell the caller. */
static void
epoch_measured (Trainer *t, SomArray *qe_epochs, SomArray *te_epochs, guint epoch,
                const float *codebook, double qe, double te)
{
  ((float *) qe_epochs->data)[epoch - 1] = (float) qe;
  ((float *) te_epochs->data)[epoch - 1] = (float) te;
  t->last_qe = qe;
  if (t->p.epoch_func != NULL)
    t->p.epoch_func (epoch, t->p.epochs, codebook, qe, t->p.epoch_data);
}

static double
schedule_t (guint e, guint epochs)
{
  return epochs > 1 ? (double) e / (epochs - 1) : 1.0;
}

/* Per-unit BMU terms from squared norms (see _som_bmu_prepare_units). */
static inline void
set_unit_terms (SomDistance distance, double norm2, float *a, float *b)
{
  if (distance == SOM_DISTANCE_COSINE)
    {
      *a = 0;
      *b = norm2 > 0 ? (float) (-1.0 / sqrt (norm2)) : 0.0f;
    }
  else
    {
      *a = (float) norm2;
      *b = -2.0f;
    }
}

/* Online SOM is bound by memory traffic over the codebook.  Each sample
 * makes ONE pass over it, split by unit ranges over the BLAS threads: unit
 * k moves by f = α·h(k, BMU) when f ≥ ONLINE_MIN_STEP (smaller steps change
 * no float), its squared norm is recomputed exactly from the new vector, and
 * its dot product with the NEXT sample is taken while the vector is in
 * cache, so the next BMU search needs no sgemv.  Every unit's numbers depend
 * only on its own vector: the results do not depend on the thread count.
 * The neighbourhood weight comes from the lattice offset (doubled
 * coordinates, d² = (dX² + ky·dY²)/4); the gaussian is separable,
 * exp(−dX²/8σ²)·exp(−ky·dY²/8σ²), so a sample costs R + 2C + 1 exps, not K. */
typedef struct
{
  Trainer     *t;
  float       *codebook;
  const float *x;       /* the sample learnt (NULL: dot products only) */
  const float *next;    /* the sample whose dot products to take */
  double       alpha;
  double       s2;      /* σ² */
  gint32       bx;      /* the BMU's lattice coordinates */
  gint32       by;
  const double *ex;     /* gaussian factor by dX (2C + 1) */
  const double *ey;     /* by dY (R) */
  float       *g;       /* units: w·next */
  double      *norm2;   /* units: ‖w‖² */
} OnlineStep;

static inline double
online_weight (const OnlineStep *o, gint32 dx, gint32 dy)
{
  double ky = som_grid_get_topology (o->t->grid) == SOM_TOPOLOGY_HEX ? 3 : 4;
  double key = dx * (double) dx + ky * dy * dy;   /* 4·d² */

  switch (o->t->p.neighborhood)
    {
    case SOM_NEIGHBORHOOD_BUBBLE:
      return key <= 4 * o->s2 ? 1.0 : 0.0;
    case SOM_NEIGHBORHOOD_CUT_GAUSSIAN:
      return key <= 4 * o->s2 ? o->ex[dx] * o->ey[dy] : 0.0;
    case SOM_NEIGHBORHOOD_EPANECHNIKOV:
      return MAX (0.0, 1.0 - key / (4 * o->s2));
    case SOM_NEIGHBORHOOD_GAUSSIAN:
    default:
      return o->ex[dx] * o->ey[dy];
    }
}

/* w += f·(x − w); returns ‖w‖² and w·next of the new vector, each from
 * eight float partial sums. */
static void
online_move (float *w, const float *x, const float *next, float f, guint D, double *norm2, float *dot)
{
  som_v4f na = { 0 }, nb = { 0 }, da = { 0 }, db = { 0 };
  double sn, sd;
  guint j = 0;

  for (; j + 8 <= D; j += 8)
    {
      som_v4f wa = som_load4 (w + j), wb = som_load4 (w + j + 4);

      wa += f * (som_load4 (x + j) - wa);
      wb += f * (som_load4 (x + j + 4) - wb);
      som_store4 (w + j, wa);
      som_store4 (w + j + 4, wb);
      na += wa * wa;
      nb += wb * wb;
      da += wa * som_load4 (next + j);
      db += wb * som_load4 (next + j + 4);
    }
  sn = som_sum8 (na, nb);
  sd = som_sum8 (da, db);
  for (; j < D; j++)
    {
      w[j] += f * (x[j] - w[j]);
      sn += (double) w[j] * w[j];
      sd += (double) w[j] * next[j];
    }
  *norm2 = sn;
  *dot = (float) sd;
}

static void
online_dot (const float *w, const float *next, guint D, double *norm2, float *dot)
{
  som_v4f na = { 0 }, nb = { 0 }, da = { 0 }, db = { 0 };
  double sn, sd;
  guint j = 0;

  for (; j + 8 <= D; j += 8)
    {
      som_v4f wa = som_load4 (w + j), wb = som_load4 (w + j + 4);

      na += wa * wa;
      nb += wb * wb;
      da += wa * som_load4 (next + j);
      db += wb * som_load4 (next + j + 4);
    }
  sn = som_sum8 (na, nb);
  sd = som_sum8 (da, db);
  for (; j < D; j++)
    {
      sn += (double) w[j] * w[j];
      sd += (double) w[j] * next[j];
    }
  *norm2 = sn;
  *dot = (float) sd;
}

static void
online_units (gsize k0, gsize k1, gpointer data)
{
  const OnlineStep *o = data;
  Trainer *t = o->t;
  guint D = t->dim;
  gint32 C2 = 2 * (gint32) som_grid_get_cols (t->grid), R = (gint32) som_grid_get_rows (t->grid);
  gboolean torus = som_grid_get_toroidal (t->grid);

  for (gsize k = k0; k < k1; k++)
    {
      float *w = o->codebook + k * D;
      double f = 0, norm2 = o->norm2[k];
      float dot = 0;

      if (o->x != NULL)
        {
          gint32 dx = ABS (t->lx[k] - o->bx), dy = ABS (t->ly[k] - o->by);

          if (torus)
            {
              dx = MIN (dx, C2 - dx);
              dy = MIN (dy, R - dy);
            }
          f = o->alpha * online_weight (o, dx, dy);
        }
      if (f >= ONLINE_MIN_STEP)
        online_move (w, o->x, o->next != NULL ? o->next : o->x, (float) f, D, &norm2, &dot);
      else if (o->next != NULL)
        online_dot (w, o->next, D, &norm2, &dot);
      else
        continue;
      o->norm2[k] = MAX (0.0, norm2);
      o->g[k] = dot;
      set_unit_terms (t->p.distance, o->norm2[k], &t->ua[k], &t->ub[k]);
    }
}

static void
online_pass (OnlineStep *o)
{
  guint D = o->t->dim;

  _som_parallel_for (o->t->n_units, MAX (65536 / (D + 1), 1), online_units, o);
}

/* One online epoch: rows chunk by chunk, shuffled within each chunk. */
static gboolean
online_epoch (Trainer *t, GRand *rand, float *codebook, gsize *step, gsize total_steps, GError **error)
{
  guint K = t->n_units, R = som_grid_get_rows (t->grid), C2 = 2 * som_grid_get_cols (t->grid);
  double ky = som_grid_get_topology (t->grid) == SOM_TOPOLOGY_HEX ? 3 : 4;
  g_autofree double *norm2 = g_new (double, K);
  g_autofree float *g = g_new (float, K);
  g_autofree double *ex = g_new (double, C2 + 1);
  g_autofree double *ey = g_new (double, R);
  g_autofree gsize *order = g_new (gsize, t->chunk);
  gsize n_chunks = N_CHUNKS (t), ci = 0;
  double r0 = som_train_params_get_radius0 (&t->p);
  OnlineStep o = { t, codebook, NULL, NULL, 0, 0, 0, 0, ex, ey, g, norm2 };

  for (gsize start = 0; start < t->n; start += t->chunk, ci++)
    {
      gsize m = MIN (t->chunk, t->n - start);
      const float *x = get_chunk (t, start, m, FALSE, error);
      gsize oi = 0;

      if (x == NULL)
        return FALSE;
      for (gsize i = 0; i < m; i++)
        order[i] = i;
      for (gsize i = m - 1; i > 0; i--)
        {
          gsize j = rand_index (rand, i + 1), tmp = order[i];
          order[i] = order[j];
          order[j] = tmp;
        }
      while (oi < m && !t->valid[order[oi]])
        oi++;
      if (oi == m)
        continue;
      /* The first sample's dot products (and exact norms). */
      o.x = NULL;
      o.next = x + order[oi] * t->dim;
      online_pass (&o);
      while (oi < m)
        {
          gsize i = order[oi], next;
          double tt, sigma;
          float best = INFINITY;
          guint kb = 0;

          /* Every sample: one is K·D work, 60 ms for a 200×200 map of 1,568
           * features, and the check is an atomic read. */
          if (g_cancellable_set_error_if_cancelled (t->cancellable, error))
            return FALSE;
          next = oi + 1;
          while (next < m && !t->valid[order[next]])
            next++;
          tt = total_steps > 1 ? (double) *step / (total_steps - 1) : 1.0;
          (*step)++;
          sigma = som_cooling_value (t->p.cooling, r0, t->p.radius1, tt);
          for (guint k = 0; k < K; k++)
            {
              float sc = t->ua[k] + t->ub[k] * g[k];
              if (sc < best)
                {
                  best = sc;
                  kb = k;
                }
            }
          o.alpha = som_cooling_value (t->p.cooling, t->p.alpha0, t->p.alpha0 / 100, tt);
          o.s2 = sigma * sigma;
          o.bx = t->lx[kb];
          o.by = t->ly[kb];
          if (t->p.neighborhood == SOM_NEIGHBORHOOD_GAUSSIAN || t->p.neighborhood == SOM_NEIGHBORHOOD_CUT_GAUSSIAN)
            {
              for (guint d = 0; d <= C2; d++)
                ex[d] = exp (-(double) d * d / (8 * o.s2));
              for (guint d = 0; d < R; d++)
                ey[d] = exp (-ky * d * d / (8 * o.s2));
            }
          o.x = x + i * t->dim;
          o.next = next < m ? x + order[next] * t->dim : NULL;
          online_pass (&o);
          oi = next;
        }
      report (t, ci + 1, n_chunks);
    }
  return TRUE;
}

static gboolean
check_params (const SomTrainParams *p, gsize n, guint dim, const SomArray *labels, GError **error)
{
  if (n == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "no data: the matrix has 0 rows");
      return FALSE;
    }
  if (dim == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "no features: the matrix has 0 columns");
      return FALSE;
    }
  if (p->epochs == 0 || p->epochs > 100000)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "epochs must be between 1 and 100000 (got %u)", p->epochs);
      return FALSE;
    }
  if (!(p->radius1 > 0) || !isfinite (p->radius1) || !isfinite (p->radius0) || p->radius0 < 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "radii must be positive and finite (radius0 %g, radius1 %g)",
                   p->radius0, p->radius1);
      return FALSE;
    }
  if (!(p->alpha0 > 0) || p->alpha0 > 1)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "alpha0 must be in (0, 1] (got %g)", p->alpha0);
      return FALSE;
    }
  if (labels != NULL && (labels->ndim != 1 || labels->shape[0] != n || labels->dtype != SOM_DTYPE_I32))
    {
      g_autofree char *shape = som_array_shape_string (labels);
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "labels are %s %s, expected %zu int32 (one per row)",
                   som_dtype_name (labels->dtype), shape, n);
      return FALSE;
    }
  return TRUE;
}

SomMap *
som_trainer_train (const SomTrainParams *params,
                   SomChunkSource       *source,
                   const SomArray       *labels,
                   GCancellable         *cancellable,
                   SomProgressFunc       progress,
                   gpointer              progress_data,
                   GError              **error)
{
  Trainer t = { 0 };
  g_autoptr(SomGrid) grid = NULL;
  g_autoptr(SomMap) map = NULL;
  g_autoptr(GRand) rand = NULL;
  g_autoptr(SomArray) bmus = NULL;
  g_autoptr(SomArray) bmus2 = NULL;
  g_autoptr(SomArray) qe_epochs = NULL;
  g_autoptr(SomArray) te_epochs = NULL;
  g_autofree double *sum = NULL;
  g_autofree double *count = NULL;
  guint32 seed[2] = { (guint32) params->seed, (guint32) (params->seed >> 32) };
  double qe = NAN, te = NAN, seconds = 0;
  float *codebook;
  gsize step = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (params != NULL && source != NULL, NULL);

  t.p = *params;
  t.source = source;
  t.n = som_chunk_source_get_n_rows (source);
  t.dim = som_chunk_source_get_dim (source);
  t.cancellable = cancellable;
  t.progress = progress;
  t.progress_data = progress_data;
  t.last_qe = NAN;
  if (!check_params (params, t.n, t.dim, labels, error))
    return NULL;
  grid = som_grid_new (params->rows, params->cols, params->topology, params->toroidal, error);
  if (grid == NULL)
    return NULL;
  t.grid = grid;
  t.n_units = som_grid_get_n_units (grid);
  map = som_map_new (grid, t.dim, error);
  if (map == NULL)
    return NULL;
  som_map_set_params (map, params);
  codebook = som_map_get_codebook (map);
  t.chunk = params->chunk_rows ? params->chunk_rows : _som_default_chunk_rows (t.dim, t.n_units);
  t.chunk = MIN (t.chunk, t.n);
  t.buf = g_try_new (float, t.chunk * t.dim);
  t.scratch = g_try_new (float, t.chunk * t.n_units);
  sum = g_try_new (double, (gsize) t.n_units * t.dim);
  if (t.buf == NULL || t.scratch == NULL || sum == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                   "out of memory for a %u-unit map of %u features with chunks of %zu rows",
                   t.n_units, t.dim, t.chunk);
      goto out;
    }
  t.valid = g_new (guint8, t.chunk);
  t.cb1 = g_new (gint32, t.chunk);
  t.cb2 = g_new (gint32, t.chunk);
  t.cdist = g_new (float, t.chunk);
  t.first = g_new (guint8, t.chunk);
  t.row_valid = g_try_new (guint8, t.n);
  t.occ_sum = g_try_new (float, (gsize) t.n_units * t.dim);
  if (t.row_valid == NULL || t.occ_sum == NULL)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                   "out of memory for a %u-unit map of %u features and %zu rows", t.n_units, t.dim, t.n);
      goto out;
    }
  trainer_alloc_units (&t);
  count = g_new (double, t.n_units);
  bmus = som_array_new_1d_i32 (t.n);
  bmus2 = som_array_new_1d_i32 (t.n);
  qe_epochs = som_array_new_2d_f32 (1, params->epochs);
  te_epochs = som_array_new_2d_f32 (1, params->epochs);
  qe_epochs->ndim = te_epochs->ndim = 1;
  qe_epochs->shape[0] = te_epochs->shape[0] = params->epochs;

  rand = g_rand_new_with_seed_array (seed, 2);
  /* init passes + one per epoch (+ one evaluation per online epoch) + the final pass */
  t.n_passes = (params->init == SOM_INIT_PCA
                  ? (t.dim <= PCA_EXACT_MAX_DIM ? 2 : 2 + PCA_ITERATIONS)
                  : 1)
               + params->epochs * (params->mode == SOM_MODE_ONLINE ? 2 : 1) + 1;

  if (params->init == SOM_INIT_PCA)
    ok = init_pca (&t, rand, codebook, error);
  else
    ok = init_random (&t, rand, codebook, error);
  if (!ok)
    goto out;
  ok = FALSE;

  for (guint e = 0; e < params->epochs; e++)
    {
      double sigma = som_cooling_value (params->cooling, som_train_params_get_radius0 (params),
                                        params->radius1, schedule_t (e, params->epochs));
      gint64 t0 = g_get_monotonic_time ();

      t.epoch = e + 1;
      t.stage = "epoch";
      if (params->mode == SOM_MODE_BATCH)
        {
          if (!bmu_pass (&t, codebook, sum, count, NULL, NULL, &qe, &te, error))
            goto out;
          /* This pass measured the codebook that epoch e − 1 produced. */
          if (e > 0)
            epoch_measured (&t, qe_epochs, te_epochs, e, codebook, qe, te);
          if (!batch_update (&t, codebook, sum, count, sigma, error))
            goto out;
          seconds += (g_get_monotonic_time () - t0) / 1e6;
        }
      else
        {
          if (!online_epoch (&t, rand, codebook, &step, (gsize) params->epochs * t.n_valid, error))
            goto out;
          t.pass++;
          seconds += (g_get_monotonic_time () - t0) / 1e6;
          if (e + 1 < params->epochs)
            {
              t.stage = "measuring epoch";
              if (!bmu_pass (&t, codebook, NULL, NULL, NULL, NULL, &qe, &te, error))
                goto out;
              epoch_measured (&t, qe_epochs, te_epochs, e + 1, codebook, qe, te);
            }
          else
            t.pass++;
        }
    }

  t.stage = "final BMUs";
  t.epoch = 0;
  if (!bmu_pass (&t, codebook, NULL, NULL, bmus->data, bmus2->data, &qe, &te, error))
    goto out;
  epoch_measured (&t, qe_epochs, te_epochs, params->epochs, codebook, qe, te);

  som_map_set_errors (map, qe, te);
  som_map_set_seconds_per_epoch (map, seconds / params->epochs);
  som_map_set_threads (map, (guint) openblas_get_num_threads ());
  som_map_take_array (map, "hits", som_map_hits (map, bmus->data, t.n));
  som_map_take_array (map, "umatrix", som_map_umatrix (map, SOM_UMATRIX_MEAN));
  if (labels != NULL)
    {
      const gint32 *lab = labels->data;
      gint32 max = -1;

      for (gsize i = 0; i < t.n; i++)
        max = MAX (max, lab[i]);
      if (max >= 65536)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "labels: class %d is beyond 65535", max);
          goto out;
        }
      som_map_take_array (map, "labels", som_array_copy (labels));
      som_map_take_array (map, "class_hits", som_map_class_hits (map, bmus->data, lab, t.n, (guint) (max + 1)));
    }
  som_map_take_array (map, "bmus", g_steal_pointer (&bmus));
  som_map_take_array (map, "bmus2", g_steal_pointer (&bmus2));
  som_map_take_array (map, "qe_per_epoch", g_steal_pointer (&qe_epochs));
  som_map_take_array (map, "te_per_epoch", g_steal_pointer (&te_epochs));
  if (progress != NULL)
    progress (1.0, "done", progress_data);
  ok = TRUE;

out:
  trainer_clear (&t);
  return ok ? g_steal_pointer (&map) : NULL;
}

/* Async */

typedef struct
{
  SomTrainParams   params;
  SomChunkSource  *source;
  SomArray        *labels;
  SomProgressFunc  progress;
  gpointer         progress_data;
} TrainData;

static void
train_data_free (TrainData *d)
{
  /* Freed with the task, after train_thread returned it (GTask's hand-over
   * through the main context is invisible to TSan: som-tsan-private.h). */
  som_tsan_acquire (d);
  g_clear_pointer (&d->source, som_chunk_source_unref);
  g_clear_pointer (&d->labels, som_array_free);
  g_free (d);
}

static gpointer
train_thread (gpointer data)
{
  GTask *task = data;
  TrainData *d = g_task_get_task_data (task);
  GError *error = NULL;
  SomMap *map = som_trainer_train (&d->params, d->source, d->labels, g_task_get_cancellable (task),
                                   d->progress, d->progress_data, &error);

  /* Everything this thread did happens before the finish and the task
   * data's free on the main thread. */
  som_tsan_release (d);
  som_tsan_release (task);
  if (map != NULL)
    g_task_return_pointer (task, map, g_object_unref);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
  return NULL;
}

void
som_trainer_train_async (const SomTrainParams *params,
                         SomChunkSource       *source,
                         const SomArray       *labels,
                         GCancellable         *cancellable,
                         SomProgressFunc       progress,
                         gpointer              progress_data,
                         GAsyncReadyCallback   callback,
                         gpointer              user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  TrainData *d = g_new0 (TrainData, 1);
  GThread *thread;

  g_task_set_source_tag (task, som_trainer_train_async);
  d->params = *params;
  d->source = som_chunk_source_ref (source);
  d->labels = labels ? som_array_copy (labels) : NULL;
  d->progress = progress;
  d->progress_data = progress_data;
  g_task_set_task_data (task, d, (GDestroyNotify) train_data_free);
  /* Training can take minutes: a thread of its own, not the shared GTask pool. */
  thread = g_thread_new ("som-trainer", train_thread, task);
  g_thread_unref (thread);
}

SomMap *
som_trainer_train_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  som_tsan_acquire (result);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
_som_trainer_initialize (const SomTrainParams *params,
                         SomChunkSource       *source,
                         float                *codebook,
                         GError              **error)
{
  Trainer t = { 0 };
  g_autoptr(SomGrid) grid = NULL;
  g_autoptr(GRand) rand = NULL;
  guint32 seed[2] = { (guint32) params->seed, (guint32) (params->seed >> 32) };
  gboolean ok;

  t.p = *params;
  t.source = source;
  t.n = som_chunk_source_get_n_rows (source);
  t.dim = som_chunk_source_get_dim (source);
  t.last_qe = NAN;
  if (!check_params (params, t.n, t.dim, NULL, error))
    return FALSE;
  grid = som_grid_new (params->rows, params->cols, params->topology, params->toroidal, error);
  if (grid == NULL)
    return FALSE;
  t.grid = grid;
  t.n_units = som_grid_get_n_units (grid);
  t.chunk = MIN (params->chunk_rows ? params->chunk_rows : _som_default_chunk_rows (t.dim, t.n_units), t.n);
  t.buf = g_new (float, t.chunk * t.dim);
  t.scratch = g_new (float, t.chunk * t.n_units);
  t.valid = g_new (guint8, t.chunk);
  rand = g_rand_new_with_seed_array (seed, 2);
  if (params->init == SOM_INIT_PCA)
    ok = init_pca (&t, rand, codebook, error);
  else
    ok = init_random (&t, rand, codebook, error);
  trainer_clear (&t);
  return ok;
}
