/* som-map.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <cblas.h>

#include "som-map-private.h"
#include "som-model-private.h"
#include "som-types.h"

struct _SomMap
{
  GObject         parent_instance;

  SomGrid        *grid;
  guint           dim;
  SomArray       *codebook;
  SomTrainParams  params;
  GHashTable     *arrays;        /* name → SomArray */
  GPtrArray      *array_names;   /* insertion order */
  double          qe;
  double          te;
  guint           threads;
  double          seconds_per_epoch;
  gboolean        standardize;
  GStrv           class_names;
  JsonNode       *provenance;
};

G_DEFINE_FINAL_TYPE (SomMap, som_map, G_TYPE_OBJECT)

static void
som_map_finalize (GObject *object)
{
  SomMap *self = SOM_MAP (object);

  g_clear_pointer (&self->grid, som_grid_unref);
  g_clear_pointer (&self->codebook, som_array_free);
  g_clear_pointer (&self->arrays, g_hash_table_unref);
  g_clear_pointer (&self->array_names, g_ptr_array_unref);
  g_clear_pointer (&self->class_names, g_strfreev);
  g_clear_pointer (&self->provenance, json_node_unref);
  G_OBJECT_CLASS (som_map_parent_class)->finalize (object);
}

static void
som_map_class_init (SomMapClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = som_map_finalize;
}

static void
som_map_init (SomMap *self)
{
  self->arrays = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) som_array_free);
  self->array_names = g_ptr_array_new_with_free_func (g_free);
  self->qe = NAN;
  self->te = NAN;
  self->seconds_per_epoch = NAN;
  som_train_params_init (&self->params);
}

SomMap *
som_map_new (SomGrid *grid, guint dim, GError **error)
{
  g_autoptr(SomMap) self = NULL;
  gsize shape[3];

  g_return_val_if_fail (grid != NULL, NULL);
  if (dim == 0)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "SOM: the data have no features (dimension 0)");
      return NULL;
    }
  shape[0] = som_grid_get_rows (grid);
  shape[1] = som_grid_get_cols (grid);
  shape[2] = dim;
  self = g_object_new (SOM_TYPE_MAP, NULL);
  self->codebook = som_array_new (SOM_DTYPE_F32, 3, shape, error);
  if (self->codebook == NULL)
    return NULL;
  self->grid = som_grid_ref (grid);
  self->dim = dim;
  self->params.rows = shape[0];
  self->params.cols = shape[1];
  self->params.topology = som_grid_get_topology (grid);
  self->params.toroidal = som_grid_get_toroidal (grid);
  return g_steal_pointer (&self);
}

SomGrid *
som_map_get_grid (SomMap *self)
{
  return self->grid;
}

guint
som_map_get_dim (SomMap *self)
{
  return self->dim;
}

guint
som_map_get_n_units (SomMap *self)
{
  return som_grid_get_n_units (self->grid);
}

float *
som_map_get_codebook (SomMap *self)
{
  return self->codebook->data;
}

const SomArray *
som_map_get_codebook_array (SomMap *self)
{
  return self->codebook;
}

const SomTrainParams *
som_map_get_params (SomMap *self)
{
  return &self->params;
}

void
som_map_set_params (SomMap *self, const SomTrainParams *params)
{
  self->params = *params;
  /* A callback of one training run, not a property of the map. */
  self->params.epoch_func = NULL;
  self->params.epoch_data = NULL;
  /* The grid is the truth about the lattice. */
  self->params.rows = som_grid_get_rows (self->grid);
  self->params.cols = som_grid_get_cols (self->grid);
  self->params.topology = som_grid_get_topology (self->grid);
  self->params.toroidal = som_grid_get_toroidal (self->grid);
}

const SomArray *
som_map_get_array (SomMap *self, const char *name)
{
  return g_hash_table_lookup (self->arrays, name);
}

void
som_map_take_array (SomMap *self, const char *name, SomArray *array)
{
  if (array == NULL)
    {
      if (g_hash_table_remove (self->arrays, name))
        for (guint i = 0; i < self->array_names->len; i++)
          if (g_str_equal (self->array_names->pdata[i], name))
            {
              g_ptr_array_remove_index (self->array_names, i);
              break;
            }
      return;
    }
  if (!g_hash_table_contains (self->arrays, name))
    g_ptr_array_add (self->array_names, g_strdup (name));
  g_hash_table_insert (self->arrays, g_strdup (name), array);
}

const char **
som_map_list_arrays (SomMap *self)
{
  const char **names = g_new0 (const char *, self->array_names->len + 1);

  for (guint i = 0; i < self->array_names->len; i++)
    names[i] = self->array_names->pdata[i];
  return names;
}

double
som_map_get_quantization_error (SomMap *self)
{
  return self->qe;
}

double
som_map_get_topographic_error (SomMap *self)
{
  return self->te;
}

void
som_map_set_errors (SomMap *self, double quantization_error, double topographic_error)
{
  self->qe = quantization_error;
  self->te = topographic_error;
}

guint
som_map_get_threads (SomMap *self)
{
  return self->threads;
}

void
som_map_set_threads (SomMap *self, guint threads)
{
  self->threads = threads;
}

double
som_map_get_seconds_per_epoch (SomMap *self)
{
  return self->seconds_per_epoch;
}

void
som_map_set_seconds_per_epoch (SomMap *self, double seconds)
{
  self->seconds_per_epoch = seconds;
}

gboolean
som_map_get_standardize (SomMap *self)
{
  return self->standardize;
}

void
som_map_set_standardize (SomMap *self, gboolean standardize)
{
  self->standardize = !!standardize;
}

const char * const *
som_map_get_class_names (SomMap *self)
{
  return (const char * const *) self->class_names;
}

void
som_map_set_class_names (SomMap *self, const char * const *names)
{
  g_strfreev (self->class_names);
  self->class_names = g_strdupv ((char **) names);
}

JsonNode *
som_map_get_provenance (SomMap *self)
{
  return self->provenance;
}

void
som_map_set_provenance (SomMap *self, JsonNode *provenance)
{
  g_clear_pointer (&self->provenance, json_node_unref);
  if (provenance != NULL)
    self->provenance = json_node_copy (provenance);
}

/* BMU search */

gsize
_som_default_chunk_rows (guint dim, guint n_units)
{
  /* At most ~32 MB of chunk and scores, and at most ~3 GFLOP of sgemm per
   * chunk (10 ms on 2 cores of a 2020s x86, 150 ms at 20 GFLOP/s), so that
   * a cancel (checked between chunks) takes effect in under 200 ms even for
   * wide layers.  Smaller chunks cost speed: every sgemm packs the codebook
   * again (1,000 rather than 350 rows saved 8 % of an epoch at D = 1,568,
   * K = 900). */
  gsize per_row = 4 * ((gsize) dim + n_units);
  gsize rows = (32u << 20) / MAX (per_row, 1);
  gsize flops_rows = (gsize) (1.5e9 / ((double) MAX (dim, 1) * MAX (n_units, 1)));

  rows = MIN (rows, flops_rows);
  return CLAMP (rows, 64, 8192);
}

/* Reading floats as their bits: an exponent of all ones is Inf or NaN.  An
 * integer OR over the row vectorises, unlike a float reduction. */
typedef guint32 __attribute__ ((__may_alias__)) som_bits32;

SOM_VECTORIZE gboolean
_som_row_is_finite (const float *row, guint dim)
{
  const som_bits32 *bits = (const som_bits32 *) row;
  guint32 bad = 0;

  /* Adding one to an all-ones exponent carries into the sign bit. */
  for (guint j = 0; j < dim; j++)
    bad |= (bits[j] & 0x7f800000u) + 0x00800000u;
  return (bad & 0x80000000u) == 0;
}

/* Σ (x − w)² with eight float partial sums in two vectors (a single running
 * sum would be a serial chain, and -O2 does not vectorise the reduction). */
static inline double
squared_distance (const float *x, const float *w, guint dim)
{
  som_v4f a = { 0 }, b = { 0 };
  guint j = 0;
  double s;

  for (; j + 8 <= dim; j += 8)
    {
      som_v4f da = som_load4 (x + j) - som_load4 (w + j);
      som_v4f db = som_load4 (x + j + 4) - som_load4 (w + j + 4);

      a += da * da;
      b += db * db;
    }
  s = som_sum8 (a, b);
  for (; j < dim; j++)
    {
      double d = (double) x[j] - w[j];
      s += d * d;
    }
  return s;
}

void
_som_normalize_rows (float *x, gsize n, guint dim)
{
  for (gsize i = 0; i < n; i++)
    {
      float *row = x + i * dim;
      double s = 0;

      for (guint j = 0; j < dim; j++)
        s += (double) row[j] * row[j];
      if (s > 0 && isfinite (s))
        {
          float inv = (float) (1.0 / sqrt (s));
          for (guint j = 0; j < dim; j++)
            row[j] *= inv;
        }
    }
}

typedef struct
{
  const float *codebook;
  guint        dim;
  SomDistance  distance;
  float       *a;
  float       *b;
} Prepare;

static void
prepare_units (gsize k0, gsize k1, gpointer data)
{
  const Prepare *p = data;

  for (gsize k = k0; k < k1; k++)
    {
      const float *w = p->codebook + k * p->dim;
      som_v4f va = { 0 }, vb = { 0 };
      guint j = 0;
      double s;

      for (; j + 8 <= p->dim; j += 8)
        {
          som_v4f wa = som_load4 (w + j), wb = som_load4 (w + j + 4);

          va += wa * wa;
          vb += wb * wb;
        }
      s = som_sum8 (va, vb);
      for (; j < p->dim; j++)
        s += (double) w[j] * w[j];
      if (p->distance == SOM_DISTANCE_COSINE)
        {
          p->a[k] = 0;
          p->b[k] = s > 0 ? (float) (-1.0 / sqrt (s)) : 0.0f;
        }
      else
        {
          p->a[k] = (float) s;
          p->b[k] = -2.0f;
        }
    }
}

void
_som_bmu_prepare_units (const float *codebook,
                        guint        n_units,
                        guint        dim,
                        SomDistance  distance,
                        float       *a,
                        float       *b)
{
  Prepare p = { codebook, dim, distance, a, b };

  _som_parallel_for (n_units, MAX (32768 / MAX (dim, 1u), 1u), prepare_units, &p);
}

typedef struct
{
  const float  *x;
  guint         dim;
  const float  *codebook;
  guint         n_units;
  const float  *a;
  const float  *b;
  const float  *scratch;
  const guint8 *valid;
  gint32       *bmus;
  gint32       *bmus2;
  float        *distances;
} BmuRows;

/* Best and second-best unit of one row (the lexicographically smallest
 * (score, index) pairs; NaN scores never win).  The branches are predictable
 * (a new best is rare), so this runs at about 1.5 cycles per unit; an SSE2
 * version with compares and blends measured no faster, and for large maps
 * the scan is bound by reading the scores from memory anyway. */
static inline void
best_two (const float *g, const float *a, const float *b, guint n_units, gint32 *kb_out, gint32 *ks_out)
{
  float best = INFINITY, second = INFINITY;
  gint32 kb = -1, ks = -1;

  for (guint k = 0; k < n_units; k++)
    {
      float s = a[k] + b[k] * g[k];

      if (s < second)
        {
          if (s < best)
            {
              second = best;
              ks = kb;
              best = s;
              kb = (gint32) k;
            }
          else
            {
              second = s;
              ks = (gint32) k;
            }
        }
    }
  *kb_out = kb;
  *ks_out = ks;
}

/* Rows [begin, end) of a chunk whose scores are in scratch: independent per
 * row, so any split over threads gives the same results. */
static void
bmu_rows (gsize begin, gsize end, gpointer data)
{
  const BmuRows *r = data;
  guint n_units = r->n_units;

  for (gsize i = begin; i < end; i++)
    {
      gint32 kb, ks;

      if (r->valid != NULL && !r->valid[i])
        {
          if (r->bmus != NULL)
            r->bmus[i] = -1;
          if (r->bmus2 != NULL)
            r->bmus2[i] = -1;
          if (r->distances != NULL)
            r->distances[i] = NAN;
          continue;
        }
      best_two (r->scratch + i * n_units, r->a, r->b, n_units, &kb, &ks);
      if (kb < 0)
        {
          /* NaN scores everywhere: a non-finite row that nobody masked. */
          kb = 0;
          ks = n_units > 1 ? 1 : 0;
        }
      if (ks < 0)
        ks = kb == 0 ? 1 : 0;
      if (r->bmus != NULL)
        r->bmus[i] = kb;
      if (r->bmus2 != NULL)
        r->bmus2[i] = ks;
      if (r->distances != NULL)
        {
          /* The exact distance, not the expansion, which cancels badly when
           * ‖x‖ is large and x is close to its BMU. */
          r->distances[i] = (float) sqrt (squared_distance (r->x + i * r->dim,
                                                            r->codebook + (gsize) kb * r->dim, r->dim));
        }
    }
}

void
_som_bmu_chunk (const float  *x,
                gsize         n,
                guint         dim,
                const float  *codebook,
                guint         n_units,
                const float  *a,
                const float  *b,
                float        *scratch,
                const guint8 *valid,
                gint32       *bmus,
                gint32       *bmus2,
                float        *distances)
{
  BmuRows rows = { x, dim, codebook, n_units, a, b, scratch, valid, bmus, bmus2, distances };

  if (n == 0)
    return;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
               (blasint) n, (blasint) n_units, (blasint) dim,
               1.0f, x, (blasint) dim, codebook, (blasint) dim,
               0.0f, scratch, (blasint) n_units);
  /* The scan and the exact distances run on the BLAS threads' cores (which
   * would otherwise idle until the next sgemm); at least ~64k scores each. */
  _som_parallel_for (n, MAX ((1u << 16) / MAX (n_units + dim, 1u), 1u), bmu_rows, &rows);
}

gboolean
som_map_find_bmus (SomMap       *self,
                   const float  *data,
                   gsize         n,
                   guint         dim,
                   gint32       *bmus,
                   gint32       *bmus2,
                   float        *distances,
                   GCancellable *cancellable,
                   GError      **error)
{
  guint K = som_map_get_n_units (self), D = self->dim;
  gsize chunk = self->params.chunk_rows ? self->params.chunk_rows : _som_default_chunk_rows (D, K);
  gboolean cosine = self->params.distance == SOM_DISTANCE_COSINE;
  g_autofree float *a = g_new (float, K);
  g_autofree float *b = g_new (float, K);
  g_autofree float *scratch = NULL;
  g_autofree float *copy = NULL;
  g_autofree guint8 *valid = NULL;

  if (dim != D)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "the data have %u features per row, the map has %u", dim, D);
      return FALSE;
    }
  chunk = MIN (chunk, MAX (n, 1));
  scratch = g_try_new (float, chunk * K);
  valid = g_new (guint8, chunk);
  if (cosine)
    copy = g_try_new (float, chunk * D);
  if (scratch == NULL || (cosine && copy == NULL))
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE, "SOM: out of memory for a chunk of %zu rows", chunk);
      return FALSE;
    }
  _som_bmu_prepare_units (som_map_get_codebook (self), K, D, self->params.distance, a, b);

  for (gsize start = 0; start < n; start += chunk)
    {
      gsize m = MIN (chunk, n - start);
      const float *x = data + start * D;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      for (gsize i = 0; i < m; i++)
        valid[i] = _som_row_is_finite (x + i * D, D);
      if (cosine)
        {
          memcpy (copy, x, m * D * sizeof (float));
          for (gsize i = 0; i < m; i++)
            if (!valid[i])
              memset (copy + i * D, 0, D * sizeof (float));
          _som_normalize_rows (copy, m, D);
          x = copy;
        }
      _som_bmu_chunk (x, m, D, som_map_get_codebook (self), K, a, b, scratch, valid,
                      bmus ? bmus + start : NULL, bmus2 ? bmus2 + start : NULL,
                      distances ? distances + start : NULL);
    }
  return TRUE;
}

void
som_map_response (SomMap *self, const float *sample, float *out)
{
  guint K = som_map_get_n_units (self), D = self->dim;
  const float *w = som_map_get_codebook (self);

  if (self->params.distance == SOM_DISTANCE_COSINE)
    {
      double xs = 0;

      for (guint j = 0; j < D; j++)
        xs += (double) sample[j] * sample[j];
      for (guint k = 0; k < K; k++)
        {
          double dot = 0, ws = 0;

          for (guint j = 0; j < D; j++)
            {
              dot += (double) sample[j] * w[(gsize) k * D + j];
              ws += (double) w[(gsize) k * D + j] * w[(gsize) k * D + j];
            }
          out[k] = (xs > 0 && ws > 0) ? (float) (1.0 - dot / sqrt (xs * ws)) : 1.0f;
        }
      return;
    }
  for (guint k = 0; k < K; k++)
    {
      double s = 0;

      for (guint j = 0; j < D; j++)
        {
          double d = (double) sample[j] - w[(gsize) k * D + j];
          s += d * d;
        }
      out[k] = (float) sqrt (s);
    }
}

/* Metrics */

double
som_map_topographic_error (SomMap *self, const gint32 *bmus, const gint32 *bmus2, gsize n)
{
  gsize counted = 0, errors = 0;

  for (gsize i = 0; i < n; i++)
    {
      if (bmus[i] < 0 || bmus2[i] < 0)
        continue;
      counted++;
      if (!som_grid_are_neighbours (self->grid, (guint) bmus[i], (guint) bmus2[i]))
        errors++;
    }
  return counted ? (double) errors / counted : NAN;
}

SomArray *
som_map_hits (SomMap *self, const gint32 *bmus, gsize n)
{
  gsize shape[2] = { som_grid_get_rows (self->grid), som_grid_get_cols (self->grid) };
  SomArray *hits = som_array_new (SOM_DTYPE_I32, 2, shape, NULL);
  gint32 *h = hits->data;
  guint K = som_map_get_n_units (self);

  for (gsize i = 0; i < n; i++)
    if (bmus[i] >= 0 && (guint) bmus[i] < K)
      h[bmus[i]]++;
  return hits;
}

SomArray *
som_map_class_hits (SomMap *self, const gint32 *bmus, const gint32 *labels, gsize n, guint n_classes)
{
  guint K = som_map_get_n_units (self);
  gsize shape[3] = { n_classes, som_grid_get_rows (self->grid), som_grid_get_cols (self->grid) };
  SomArray *ch = som_array_new (SOM_DTYPE_I32, 3, shape, NULL);
  gint32 *h = ch->data;

  for (gsize i = 0; i < n; i++)
    if (bmus[i] >= 0 && (guint) bmus[i] < K && labels[i] >= 0 && (guint) labels[i] < n_classes)
      h[(gsize) labels[i] * K + bmus[i]]++;
  return ch;
}

void
som_map_class_map (SomMap *self, const SomArray *class_hits, SomArray **majority, SomArray **purity)
{
  guint K = som_map_get_n_units (self);
  guint n_classes = class_hits->shape[0];
  gsize shape[2] = { som_grid_get_rows (self->grid), som_grid_get_cols (self->grid) };
  SomArray *maj = som_array_new (SOM_DTYPE_I32, 2, shape, NULL);
  SomArray *pur = som_array_new (SOM_DTYPE_F32, 2, shape, NULL);
  const gint32 *h = class_hits->data;

  for (guint k = 0; k < K; k++)
    {
      gint64 total = 0, best = 0;
      gint32 best_class = -1;

      for (guint c = 0; c < n_classes; c++)
        {
          gint32 v = h[(gsize) c * K + k];
          total += v;
          /* Ties go to the lower class index. */
          if (v > best)
            {
              best = v;
              best_class = (gint32) c;
            }
        }
      ((gint32 *) maj->data)[k] = best_class;
      ((float *) pur->data)[k] = total > 0 ? (float) ((double) best / total) : NAN;
    }
  *majority = maj;
  *purity = pur;
}

static int
compare_float (gconstpointer a, gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return x < y ? -1 : x > y;
}

SomArray *
som_map_umatrix (SomMap *self, SomUMatrixStat stat)
{
  guint K = som_map_get_n_units (self), D = self->dim;
  gsize shape[2] = { som_grid_get_rows (self->grid), som_grid_get_cols (self->grid) };
  SomArray *u = som_array_new (SOM_DTYPE_F32, 2, shape, NULL);
  const float *w = som_map_get_codebook (self);

  for (guint k = 0; k < K; k++)
    {
      guint n;
      const guint *nb = som_grid_get_neighbours (self->grid, k, &n);
      float d[8];
      double result = 0;

      for (guint i = 0; i < n; i++)
        {
          double s = 0;

          for (guint j = 0; j < D; j++)
            {
              double diff = (double) w[(gsize) k * D + j] - w[(gsize) nb[i] * D + j];
              s += diff * diff;
            }
          d[i] = (float) sqrt (s);
        }
      if (n == 0)
        result = 0;
      else if (stat == SOM_UMATRIX_MAX)
        {
          result = d[0];
          for (guint i = 1; i < n; i++)
            result = MAX (result, d[i]);
        }
      else if (stat == SOM_UMATRIX_MEDIAN)
        {
          qsort (d, n, sizeof (float), compare_float);
          result = n % 2 ? d[n / 2] : 0.5 * ((double) d[n / 2 - 1] + d[n / 2]);
        }
      else
        {
          for (guint i = 0; i < n; i++)
            result += d[i];
          result /= n;
        }
      ((float *) u->data)[k] = (float) result;
    }
  return u;
}

SomArray *
som_map_component_plane (SomMap *self, guint feature, GError **error)
{
  guint K = som_map_get_n_units (self);
  gsize shape[2] = { som_grid_get_rows (self->grid), som_grid_get_cols (self->grid) };
  SomArray *plane;

  if (feature >= self->dim)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "SOM: feature %u does not exist (the map has %u features)", feature, self->dim);
      return NULL;
    }
  plane = som_array_new (SOM_DTYPE_F32, 2, shape, NULL);
  for (guint k = 0; k < K; k++)
    ((float *) plane->data)[k] = som_map_get_codebook (self)[(gsize) k * self->dim + feature];
  return plane;
}

SomArray *
som_map_transform_features (SomMap *self, const SomArray *codes, GError **error)
{
  const SomArray *mean = som_map_get_array (self, "feature_mean");
  const SomArray *std = som_map_get_array (self, "feature_std");
  const SomArray *proj = som_map_get_array (self, "projection");
  const SomArray *pmean = som_map_get_array (self, "projection_mean");
  g_autoptr(SomArray) x = NULL;
  gsize n, d, d_in;

  if (codes->ndim != 2 || codes->dtype != SOM_DTYPE_F32)
    {
      g_autofree char *shape = som_array_shape_string (codes);
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "codes must be N×D float32, not %s %s",
                   som_dtype_name (codes->dtype), shape);
      return NULL;
    }
  n = codes->shape[0];
  d = codes->shape[1];
  d_in = proj != NULL ? proj->shape[0] : self->dim;
  if (d != d_in)
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                   "the data have %zu features per row, the map was trained on %zu", d, d_in);
      return NULL;
    }
  x = som_array_copy (codes);
  if (self->standardize && mean != NULL && std != NULL)
    {
      if (mean->shape[0] != d || std->shape[0] != d)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID,
                       "the map's feature_mean has %zu values, the data %zu features", mean->shape[0], d);
          return NULL;
        }
      for (gsize i = 0; i < n; i++)
        for (gsize j = 0; j < d; j++)
          {
            float *v = (float *) x->data + i * d + j;
            *v = (*v - ((const float *) mean->data)[j]) / ((const float *) std->data)[j];
          }
    }
  if (proj != NULL)
    {
      SomArray *out;

      if (proj->ndim != 2 || proj->shape[1] != self->dim || (pmean != NULL && pmean->shape[0] != d))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "the map's projection does not fit its dimension");
          return NULL;
        }
      if (pmean != NULL)
        for (gsize i = 0; i < n; i++)
          for (gsize j = 0; j < d; j++)
            ((float *) x->data)[i * d + j] -= ((const float *) pmean->data)[j];
      out = som_array_new_2d_f32 (n, self->dim);
      if (n > 0)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint) n, (blasint) self->dim, (blasint) d,
                     1.0f, x->data, (blasint) d, proj->data, (blasint) self->dim, 0.0f, out->data,
                     (blasint) self->dim);
      return out;
    }
  return g_steal_pointer (&x);
}
