/* test-som-trainer.c: training properties on real and synthetic data,
 * streaming, initialisation, cancellation and bad input
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <gio/gio.h>
#include <cblas.h>

#include "som.h"
#include "som-trainer-private.h"

#define FASHION "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

/* The first @n Fashion-MNIST test images, 2×2-average-pooled to 14×14 = 196
 * features in [0,1]: real data, small enough for the sanitizer pass. */
static SomArray *
fashion_pixels (gsize n)
{
  g_autoptr(GFile) file = g_file_new_for_path (FASHION);
  g_autoptr(GInputStream) raw = G_INPUT_STREAM (g_file_read (file, NULL, NULL));
  g_autoptr(GConverter) gz = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP));
  g_autoptr(GInputStream) in = NULL;
  g_autofree guint8 *bytes = g_malloc (16 + n * 784);
  gsize got = 0;
  SomArray *x;

  g_assert_nonnull (raw);
  in = g_converter_input_stream_new (raw, gz);
  g_assert_true (g_input_stream_read_all (in, bytes, 16 + n * 784, &got, NULL, NULL));
  g_assert_cmpuint (got, ==, 16 + n * 784);
  g_assert_cmpuint (bytes[3], ==, 0x03);  /* IDX magic: unsigned bytes, 3 dims */
  x = som_array_new_2d_f32 (n, 196);
  for (gsize i = 0; i < n; i++)
    for (int r = 0; r < 14; r++)
      for (int c = 0; c < 14; c++)
        {
          const guint8 *img = bytes + 16 + i * 784;
          int s = img[(2 * r) * 28 + 2 * c] + img[(2 * r) * 28 + 2 * c + 1]
                  + img[(2 * r + 1) * 28 + 2 * c] + img[(2 * r + 1) * 28 + 2 * c + 1];
          ((float *) x->data)[i * 196 + r * 14 + c] = s / (4 * 255.0f);
        }
  return x;
}

static SomArray *
uniform_2d (gsize n, guint32 seed)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  SomArray *x = som_array_new_2d_f32 (n, 2);

  for (gsize i = 0; i < 2 * n; i++)
    ((float *) x->data)[i] = (float) g_rand_double (r);
  return x;
}

static void
test_schedules (void)
{
  g_assert_cmpfloat_with_epsilon (som_neighborhood_weight (SOM_NEIGHBORHOOD_GAUSSIAN, 4, 2), exp (-0.5), 1e-12);
  g_assert_cmpfloat (som_neighborhood_weight (SOM_NEIGHBORHOOD_BUBBLE, 4, 2), ==, 1);
  g_assert_cmpfloat (som_neighborhood_weight (SOM_NEIGHBORHOOD_BUBBLE, 4.01, 2), ==, 0);
  g_assert_cmpfloat_with_epsilon (som_neighborhood_weight (SOM_NEIGHBORHOOD_CUT_GAUSSIAN, 1, 2), exp (-1.0 / 8), 1e-12);
  g_assert_cmpfloat (som_neighborhood_weight (SOM_NEIGHBORHOOD_CUT_GAUSSIAN, 5, 2), ==, 0);
  g_assert_cmpfloat_with_epsilon (som_neighborhood_weight (SOM_NEIGHBORHOOD_EPANECHNIKOV, 1, 2), 0.75, 1e-12);
  g_assert_cmpfloat (som_neighborhood_weight (SOM_NEIGHBORHOOD_EPANECHNIKOV, 9, 2), ==, 0);
  g_assert_cmpfloat_with_epsilon (som_cooling_value (SOM_COOLING_LINEAR, 10, 1, 0.5), 5.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (som_cooling_value (SOM_COOLING_EXPONENTIAL, 10, 1, 0.5), sqrt (10), 1e-12);
  g_assert_cmpfloat_with_epsilon (som_cooling_value (SOM_COOLING_INVERSE, 10, 1, 1), 1, 1e-12);
  g_assert_cmpfloat_with_epsilon (som_cooling_value (SOM_COOLING_INVERSE, 10, 1, 0.5), 10 / 5.5, 1e-12);
}

static void
test_qe_falls_on_fashion (void)
{
  g_autoptr(SomArray) x = fashion_pixels (600);
  g_autoptr(SomChunkSource) src = som_chunk_source_new_for_array (g_steal_pointer (&x));
  g_autoptr(SomMap) map = NULL;
  g_autoptr(GError) error = NULL;
  SomTrainParams p;
  const float *qe;

  som_train_params_init (&p);
  p.rows = 8;
  p.cols = 8;
  p.epochs = 8;
  map = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  qe = som_map_get_array (map, "qe_per_epoch")->data;
  for (int e = 1; e < 8; e++)
    g_assert_cmpfloat (qe[e], <, qe[e - 1]);
  g_assert_cmpfloat (qe[7], <, 0.8 * qe[0]);
  g_assert_cmpfloat_with_epsilon (som_map_get_quantization_error (map), qe[7], 1e-5);
  g_assert_cmpuint (som_map_get_array (map, "bmus")->shape[0], ==, 600);
}

static void
test_unfolds (void)
{
  g_autoptr(SomChunkSource) src = som_chunk_source_new_for_array (uniform_2d (2000, 3));
  g_autoptr(SomMap) map = NULL;
  g_autoptr(GError) error = NULL;
  SomTrainParams p;
  SomGrid *grid;
  double worst = 0;

  som_train_params_init (&p);
  p.rows = 20;
  p.cols = 20;
  p.topology = SOM_TOPOLOGY_RECT;
  p.epochs = 20;
  map = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (som_map_get_topographic_error (map), <, 0.05);
  /* Neighbouring units are close in data space: the grid spacing on the unit
   * square is about 1/20, so no neighbour pair may be far apart. */
  grid = som_map_get_grid (map);
  for (guint k = 0; k < 400; k++)
    {
      guint n;
      const guint *nb = som_grid_get_neighbours (grid, k, &n);
      const float *w = som_map_get_codebook (map);
      for (guint i = 0; i < n; i++)
        worst = MAX (worst, hypot (w[2 * k] - w[2 * nb[i]], w[2 * k + 1] - w[2 * nb[i] + 1]));
    }
  g_assert_cmpfloat (worst, <, 0.15);
}

static void
test_online_unfolds (void)
{
  g_autoptr(SomChunkSource) src = som_chunk_source_new_for_array (uniform_2d (1000, 5));
  g_autoptr(SomMap) map = NULL;
  g_autoptr(GError) error = NULL;
  SomTrainParams p;
  const float *qe;

  som_train_params_init (&p);
  p.rows = 8;
  p.cols = 8;
  p.mode = SOM_MODE_ONLINE;
  p.init = SOM_INIT_RANDOM;
  p.epochs = 10;
  map = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  qe = som_map_get_array (map, "qe_per_epoch")->data;
  g_assert_cmpfloat (qe[9], <, qe[0]);
  g_assert_cmpfloat (som_map_get_quantization_error (map), <, 0.08);
  g_assert_cmpfloat (som_map_get_topographic_error (map), <, 0.2);
}

typedef struct
{
  const float *data;
  guint dim;
  gsize calls;
} Streamed;

static gboolean
read_rows (gpointer user_data, gsize first, gsize n, float *out, GCancellable *cancellable, GError **error)
{
  Streamed *s = user_data;

  s->calls++;
  memcpy (out, s->data + first * s->dim, n * s->dim * sizeof (float));
  return TRUE;
}

static void
test_streamed_equals_whole (void)
{
  g_autoptr(SomArray) x = fashion_pixels (300);
  Streamed st = { x->data, 196, 0 };
  g_autoptr(SomChunkSource) whole = som_chunk_source_new_for_data (x->data, 300, 196, NULL, NULL);
  g_autoptr(SomChunkSource) streamed = som_chunk_source_new (300, 196, read_rows, &st, NULL);
  g_autoptr(SomMap) a = NULL;
  g_autoptr(SomMap) b = NULL;
  g_autoptr(SomMap) c = NULL;
  SomTrainParams p;
  const float *wa, *wc;

  som_train_params_init (&p);
  p.rows = 5;
  p.cols = 6;
  p.epochs = 4;
  p.chunk_rows = 64;
  a = som_trainer_train (&p, whole, NULL, NULL, NULL, NULL, NULL);
  b = som_trainer_train (&p, streamed, NULL, NULL, NULL, NULL, NULL);
  g_assert_cmpuint (st.calls, >=, 5 * 6);  /* chunks of 64 rows on every pass */
  g_assert_cmpmem (som_map_get_codebook (a), 30 * 196 * 4, som_map_get_codebook (b), 30 * 196 * 4);
  g_assert_cmpmem (som_map_get_array (a, "bmus")->data, 300 * 4, som_map_get_array (b, "bmus")->data, 300 * 4);

  /* The whole matrix in one chunk: the numerators are summed in double in
   * row order, so only the sgemm blocking may differ. */
  p.chunk_rows = 300;
  c = som_trainer_train (&p, whole, NULL, NULL, NULL, NULL, NULL);
  wa = som_map_get_codebook (a);
  wc = som_map_get_codebook (c);
  for (gsize i = 0; i < 30 * 196; i++)
    g_assert_cmpfloat_with_epsilon (wa[i], wc[i], 1e-6);
}

static void
test_deterministic (void)
{
  g_autoptr(SomChunkSource) src = som_chunk_source_new_for_array (uniform_2d (500, 9));
  g_autoptr(SomMap) a = NULL, b = NULL, c = NULL;
  SomTrainParams p;

  som_train_params_init (&p);
  p.rows = 6;
  p.cols = 6;
  p.init = SOM_INIT_RANDOM;
  p.epochs = 3;
  p.seed = 42;
  a = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, NULL);
  b = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, NULL);
  p.seed = 43;
  c = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, NULL);
  g_assert_cmpmem (som_map_get_codebook (a), 36 * 2 * 4, som_map_get_codebook (b), 36 * 2 * 4);
  g_assert_true (memcmp (som_map_get_codebook (a), som_map_get_codebook (c), 36 * 2 * 4) != 0);
}

/* Data spread along two known orthogonal directions (std 3 and 1) plus small
 * noise: the PCA initialisation must lie in their plane, through the mean. */
static void
check_pca_init (guint dim)
{
  gsize n = 400;
  g_autoptr(SomArray) x = som_array_new_2d_f32 (n, dim);
  g_autoptr(GRand) r = g_rand_new_with_seed (11);
  g_autofree double *e1 = g_new0 (double, dim);
  g_autofree double *e2 = g_new0 (double, dim);
  g_autofree float *w = g_new (float, 6 * 10 * dim);
  g_autoptr(SomChunkSource) src = NULL;
  g_autoptr(GError) error = NULL;
  SomTrainParams p;
  double spread1 = 0, spread2 = 0;

  /* e1 = (1,1,0,…)/√2, e2 = (1,−1,1,0,…)/√3 */
  e1[0] = e1[1] = 1 / sqrt (2);
  e2[0] = 1 / sqrt (3);
  e2[1] = -1 / sqrt (3);
  e2[2] = 1 / sqrt (3);
  for (gsize i = 0; i < n; i++)
    {
      double a = 3 * g_rand_double_range (r, -1.7, 1.7), b = g_rand_double_range (r, -1.7, 1.7);
      for (guint j = 0; j < dim; j++)
        ((float *) x->data)[i * dim + j] = (float) (5 + a * e1[j] + b * e2[j] + 0.01 * g_rand_double_range (r, -1, 1));
    }
  src = som_chunk_source_new_for_array (g_steal_pointer (&x));
  som_train_params_init (&p);
  p.rows = 6;
  p.cols = 10;
  g_assert_true (_som_trainer_initialize (&p, src, w, &error));
  g_assert_no_error (error);
  for (guint k = 0; k < 60; k++)
    {
      double c1 = 0, c2 = 0, resid = 0;
      for (guint j = 0; j < dim; j++)
        {
          c1 += (w[k * dim + j] - 5) * e1[j];
          c2 += (w[k * dim + j] - 5) * e2[j];
        }
      for (guint j = 0; j < dim; j++)
        {
          double d = w[k * dim + j] - 5 - c1 * e1[j] - c2 * e2[j];
          resid += d * d;
        }
      g_assert_cmpfloat (sqrt (resid), <, 0.05);
      spread1 = MAX (spread1, fabs (c1));
      spread2 = MAX (spread2, fabs (c2));
    }
  /* The 10 columns (the longer axis) follow the std-3 direction: ±3, and ±1 for the other. */
  g_assert_cmpfloat_with_epsilon (spread1, 3.0, 0.3);
  g_assert_cmpfloat_with_epsilon (spread2, 1.0, 0.15);
}

static void
test_pca_init (void)
{
  check_pca_init (5);    /* exact covariance */
  check_pca_init (300);  /* subspace iteration */
}

typedef struct
{
  GCancellable *cancellable;
  gint64 cancelled_at;
  guint calls;
} CancelState;

static void
cancel_in_epoch (double fraction, const char *message, gpointer user_data)
{
  CancelState *s = user_data;

  s->calls++;
  if (s->cancelled_at == 0 && g_str_has_prefix (message, "epoch 2/"))
    {
      s->cancelled_at = g_get_monotonic_time ();
      g_cancellable_cancel (s->cancellable);
    }
}

static void
test_cancel (void)
{
  g_autoptr(SomChunkSource) src = som_chunk_source_new_for_array (fashion_pixels (400));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  CancelState s = { cancellable, 0, 0 };
  SomTrainParams p;
  SomMap *map;
  gint64 elapsed;

  som_train_params_init (&p);
  p.rows = 10;
  p.cols = 10;
  p.epochs = 50;
  p.chunk_rows = 50;
  map = som_trainer_train (&p, src, NULL, cancellable, cancel_in_epoch, &s, &error);
  elapsed = g_get_monotonic_time () - s.cancelled_at;
  g_assert_null (map);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (s.cancelled_at, >, 0);
  g_assert_cmpint (elapsed, <, 200000);
}

static void
async_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError **error = user_data;
  SomMap *map = som_trainer_train_finish (result, error);

  g_assert_null (map);
}

static void
test_cancel_async (void)
{
  g_autoptr(SomChunkSource) src = som_chunk_source_new_for_array (fashion_pixels (400));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GError *error = NULL;
  CancelState s = { cancellable, 0, 0 };
  SomTrainParams p;

  som_train_params_init (&p);
  p.rows = 10;
  p.cols = 10;
  p.epochs = 50;
  p.chunk_rows = 50;
  p.mode = SOM_MODE_ONLINE;
  som_trainer_train_async (&p, src, NULL, cancellable, cancel_in_epoch, &s, async_done, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_error_free (error);
}

static void
test_nonfinite (void)
{
  g_autoptr(SomArray) x = uniform_2d (100, 2);
  g_autoptr(SomChunkSource) src = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomMap) map = NULL;
  SomTrainParams p;
  const gint32 *bmus;
  gsize nv = 0;
  guint8 *valid = NULL;

  ((float *) x->data)[2 * 17 + 1] = NAN;
  ((float *) x->data)[2 * 40] = INFINITY;
  g_assert_false (som_features_check_finite (x, SOM_NONFINITE_ERROR, "x.npy", &valid, &nv, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_NONFINITE);
  g_assert_nonnull (strstr (error->message, "x.npy: row 17 "));
  g_clear_error (&error);
  g_assert_true (som_features_check_finite (x, SOM_NONFINITE_SKIP, "x.npy", &valid, &nv, &error));
  g_assert_cmpuint (nv, ==, 98);
  g_assert_false (valid[17]);
  g_assert_true (valid[18]);
  g_free (valid);

  src = som_chunk_source_new_for_array (g_steal_pointer (&x));
  som_train_params_init (&p);
  p.rows = 3;
  p.cols = 3;
  p.chunk_rows = 30;
  g_assert_null (som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_NONFINITE);
  g_assert_nonnull (strstr (error->message, "row 17 "));
  g_clear_error (&error);
  p.nonfinite = SOM_NONFINITE_SKIP;
  map = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  bmus = som_map_get_array (map, "bmus")->data;
  g_assert_cmpint (bmus[17], ==, -1);
  g_assert_cmpint (bmus[40], ==, -1);
  g_assert_cmpint (bmus[41], >=, 0);
  g_assert_true (isfinite (som_map_get_quantization_error (map)));
  g_assert_true (isfinite (som_map_get_codebook (map)[0]));
}

static void
test_bad_input (void)
{
  g_autoptr(SomChunkSource) empty = som_chunk_source_new_for_data (NULL, 0, 4, NULL, NULL);
  g_autoptr(SomChunkSource) src = som_chunk_source_new_for_array (uniform_2d (10, 4));
  g_autoptr(SomArray) labels = som_array_new_1d_i32 (9);
  g_autoptr(GError) error = NULL;
  SomTrainParams p;

  som_train_params_init (&p);
  g_assert_null (som_trainer_train (&p, empty, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "0 rows"));
  g_clear_error (&error);
  p.rows = 5000;
  g_assert_null (som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_clear_error (&error);
  p.rows = 1;
  p.cols = 1;
  g_assert_null (som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_clear_error (&error);
  som_train_params_init (&p);
  g_assert_null (som_trainer_train (&p, src, labels, NULL, NULL, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "one per row"));
  g_clear_error (&error);
  p.epochs = 0;
  g_assert_null (som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
}

static void
test_cosine (void)
{
  g_autoptr(SomArray) x = fashion_pixels (200);
  g_autoptr(SomChunkSource) src = som_chunk_source_new_for_data (x->data, 200, 196, NULL, NULL);
  g_autoptr(SomMap) map = NULL;
  g_autoptr(GError) error = NULL;
  SomTrainParams p;
  const gint32 *bmus;
  float resp[16];

  som_train_params_init (&p);
  p.rows = 4;
  p.cols = 4;
  p.distance = SOM_DISTANCE_COSINE;
  p.epochs = 3;
  map = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  bmus = som_map_get_array (map, "bmus")->data;
  /* The BMU is the unit of smallest cosine distance, brute force. */
  for (int i = 0; i < 200; i += 13)
    {
      int best = 0;
      som_map_response (map, (float *) x->data + i * 196, resp);
      for (int k = 1; k < 16; k++)
        if (resp[k] < resp[best])
          best = k;
      g_assert_cmpfloat_with_epsilon (resp[best], resp[bmus[i]], 1e-5);
    }
}

static void
test_features (void)
{
  gsize shape[4] = { 2, 2, 2, 2 };
  g_autoptr(SomArray) act = som_array_new (SOM_DTYPE_F32, 4, shape, NULL);
  g_autoptr(SomArray) mean = NULL, flat = NULL, m = NULL, s = NULL, basis = NULL, pm = NULL, proj = NULL;
  g_autoptr(SomArray) x = NULL;
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 16; i++)
    ((float *) act->data)[i] = i;
  mean = som_features_codes (act, SOM_CODES_MEAN, "a", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mean->shape[1], ==, 2);
  g_assert_cmpfloat (((float *) mean->data)[0], ==, 1.5);
  g_assert_cmpfloat (((float *) mean->data)[3], ==, 13.5);
  flat = som_features_codes (act, SOM_CODES_FLATTEN, "a", &error);
  g_assert_cmpuint (flat->shape[1], ==, 8);
  g_assert_cmpfloat (((float *) flat->data)[15], ==, 15);

  som_features_standardize (mean, NULL, &m, &s);
  g_assert_cmpfloat (((float *) m->data)[0], ==, 5.5);
  g_assert_cmpfloat (((float *) s->data)[0], ==, 4);
  g_assert_cmpfloat (((float *) mean->data)[0], ==, -1);

  /* pca:1 of points on a line recovers the position along it. */
  x = som_array_new_2d_f32 (5, 3);
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 3; j++)
      ((float *) x->data)[i * 3 + j] = (float) (i * (j + 1));
  proj = som_features_project_pca (x, NULL, 1, &basis, &pm, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (proj->shape[1], ==, 1);
  g_assert_cmpfloat_with_epsilon (fabs (((float *) proj->data)[4] - ((float *) proj->data)[0]), 4 * sqrt (14), 1e-4);
  g_clear_pointer (&proj, som_array_free);
  g_clear_pointer (&basis, som_array_free);
  g_assert_null (som_features_project_pca (x, NULL, 4, &basis, &pm, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_clear_error (&error);
  proj = som_features_project_random (x, 2, 0, &basis, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (proj->shape[1], ==, 2);
  g_assert_cmpuint (basis->shape[0], ==, 3);
  g_clear_pointer (&x, som_array_free);
  {
    gsize s1[1] = { 4 };
    g_autoptr(SomArray) v = som_array_new (SOM_DTYPE_F32, 1, s1, NULL);
    g_assert_null (som_features_codes (v, SOM_CODES_MEAN, "v.npy", &error));
    g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  }
}

typedef struct
{
  const float *x;
  gsize        n;
  guint        dim;
  guint        units;
  GThread     *thread;
  guint        calls;
  guint        epochs;
  double       qe[8];
  float       *codebooks;  /* 8 × units × dim */
} EpochLog;

static void
log_epoch (guint epoch, guint epochs, const float *codebook, double qe, gpointer user_data)
{
  EpochLog *l = user_data;

  g_assert_true (g_thread_self () == l->thread);
  l->calls++;
  g_assert_cmpuint (epoch, ==, l->calls);
  g_assert_cmpuint (epoch, <=, 8);
  l->epochs = epochs;
  l->qe[epoch - 1] = qe;
  memcpy (l->codebooks + (gsize) (epoch - 1) * l->units * l->dim, codebook, (gsize) l->units * l->dim * sizeof (float));
}

/* The mean distance of each row to its nearest unit, brute force in double. */
static double
brute_force_qe (const float *x, gsize n, guint dim, const float *w, guint units)
{
  double total = 0;

  for (gsize i = 0; i < n; i++)
    {
      double best = INFINITY;
      for (guint k = 0; k < units; k++)
        {
          double s = 0;
          for (guint j = 0; j < dim; j++)
            {
              double d = (double) x[i * dim + j] - w[(gsize) k * dim + j];
              s += d * d;
            }
          best = MIN (best, s);
        }
      total += sqrt (best);
    }
  return total / n;
}

static void
check_epoch_callback (SomMode mode)
{
  g_autoptr(SomArray) x = fashion_pixels (300);
  g_autoptr(SomChunkSource) src = som_chunk_source_new_for_data (x->data, 300, 196, NULL, NULL);
  g_autoptr(SomMap) map = NULL;
  g_autoptr(SomMap) plain = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *codebooks = g_new0 (float, 8 * 36 * 196);
  EpochLog log = { x->data, 300, 196, 36, g_thread_self (), 0, 0, { 0 }, codebooks };
  SomTrainParams p;
  const float *qe_epochs;

  som_train_params_init (&p);
  p.rows = 6;
  p.cols = 6;
  p.epochs = 5;
  p.mode = mode;
  p.chunk_rows = 70;
  plain = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  p.epoch_func = log_epoch;
  p.epoch_data = &log;
  map = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (log.calls, ==, 5);
  g_assert_cmpuint (log.epochs, ==, 5);
  /* The map does not keep the callback. */
  g_assert_null (som_map_get_params (map)->epoch_func);
  g_assert_null (som_map_get_params (map)->epoch_data);
  /* The callback changes nothing in the result. */
  g_assert_cmpmem (som_map_get_codebook (map), 36 * 196 * sizeof (float),
                   som_map_get_codebook (plain), 36 * 196 * sizeof (float));
  /* The last codebook reported is the map's. */
  g_assert_cmpmem (codebooks + 4 * 36 * 196, 36 * 196 * sizeof (float),
                   som_map_get_codebook (map), 36 * 196 * sizeof (float));
  qe_epochs = som_map_get_array (map, "qe_per_epoch")->data;
  for (guint e = 0; e < 5; e++)
    {
      /* Each QE reported belongs to the codebook reported with it. */
      g_assert_cmpfloat ((float) log.qe[e], ==, qe_epochs[e]);
      g_assert_cmpfloat_with_epsilon (log.qe[e], brute_force_qe (x->data, 300, 196, codebooks + e * 36 * 196, 36),
                                      1e-4 * log.qe[e]);
      if (e > 0)
        g_assert_true (memcmp (codebooks + e * 36 * 196, codebooks + (e - 1) * 36 * 196, 36 * 196 * sizeof (float)) != 0);
    }
}

static void
test_epoch_callback (void)
{
  check_epoch_callback (SOM_MODE_BATCH);
  check_epoch_callback (SOM_MODE_ONLINE);
}

typedef struct
{
  GThread *caller;
  GThread *seen;
  guint    calls;
  gboolean done;
} AsyncEpochs;

static void
async_epoch (guint epoch, guint epochs, const float *codebook, double qe, gpointer user_data)
{
  AsyncEpochs *a = user_data;

  /* Not the caller's main loop: the trainer's own thread. */
  g_assert_true (g_thread_self () != a->caller);
  g_assert_true (a->seen == NULL || a->seen == g_thread_self ());
  a->seen = g_thread_self ();
  g_atomic_int_inc (&a->calls);
  g_assert_true (isfinite (qe) && isfinite (codebook[0]));
}

static void
async_epochs_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncEpochs *a = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomMap) map = som_trainer_train_finish (result, &error);

  g_assert_no_error (error);
  g_assert_nonnull (map);
  a->done = TRUE;
}

static void
test_epoch_callback_async (void)
{
  g_autoptr(SomChunkSource) src = som_chunk_source_new_for_array (uniform_2d (200, 5));
  AsyncEpochs a = { g_thread_self (), NULL, 0, FALSE };
  SomTrainParams p;

  som_train_params_init (&p);
  p.rows = 5;
  p.cols = 4;
  p.epochs = 4;
  p.epoch_func = async_epoch;
  p.epoch_data = &a;
  som_trainer_train_async (&p, src, NULL, NULL, NULL, NULL, async_epochs_done, &a);
  while (!a.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (g_atomic_int_get (&a.calls), ==, 4);
}

/* A source that is not the same on every pass: row 5 turns NaN on the third
 * read of it.  The trainer reuses the finiteness of the first pass, so it
 * must still notice (an error, not a NaN codebook). */
typedef struct
{
  float *x;
  guint  reads_of_row5;
} Fickle;

static gboolean
read_fickle (gpointer user_data, gsize first, gsize n, float *out, GCancellable *c, GError **error)
{
  Fickle *f = user_data;

  memcpy (out, f->x + first * 3, n * 3 * sizeof (float));
  if (first <= 5 && 5 < first + n && ++f->reads_of_row5 >= 3)
    out[(5 - first) * 3 + 1] = NAN;
  return TRUE;
}

static void
test_source_changed (void)
{
  g_autoptr(SomArray) x = uniform_2d (60, 7);
  g_autoptr(SomArray) x3 = som_array_new_2d_f32 (40, 3);
  Fickle f = { x3->data, 0 };
  g_autoptr(SomChunkSource) src = NULL;
  g_autoptr(GError) error = NULL;
  SomTrainParams p;

  memcpy (x3->data, x->data, 120 * sizeof (float));
  src = som_chunk_source_new (40, 3, read_fickle, &f, NULL);
  for (SomNonfinite nf = SOM_NONFINITE_ERROR; nf <= SOM_NONFINITE_SKIP; nf++)
    {
      som_train_params_init (&p);
      p.rows = 3;
      p.cols = 3;
      p.epochs = 3;
      p.init = SOM_INIT_RANDOM;
      p.chunk_rows = 16;
      p.nonfinite = nf;
      f.reads_of_row5 = 0;
      g_assert_null (som_trainer_train (&p, src, NULL, NULL, NULL, NULL, &error));
      g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "row 5 changed between passes"));
      g_clear_error (&error);
    }
}

/* The per-unit work of online training is split over the BLAS threads by
 * unit ranges and needs no BLAS (random init): the codebook must come out
 * bit for bit the same with one thread and with two. */
static void
test_online_thread_invariant (void)
{
  g_autoptr(SomArray) x = fashion_pixels (300);
  g_autoptr(SomChunkSource) src = som_chunk_source_new_for_data (x->data, 300, 196, NULL, NULL);
  g_autoptr(SomMap) one = NULL, two = NULL;
  int threads = openblas_get_num_threads ();
  SomTrainParams p;

  som_train_params_init (&p);
  p.rows = 26;
  p.cols = 26;   /* 676 units × 196 features: enough work to split */
  p.mode = SOM_MODE_ONLINE;
  p.init = SOM_INIT_RANDOM;
  p.epochs = 2;
  for (SomNeighborhood nb = SOM_NEIGHBORHOOD_GAUSSIAN; nb <= SOM_NEIGHBORHOOD_EPANECHNIKOV; nb++)
    {
      p.neighborhood = nb;
      p.toroidal = nb == SOM_NEIGHBORHOOD_BUBBLE;
      openblas_set_num_threads (1);
      g_clear_object (&one);
      one = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, NULL);
      openblas_set_num_threads (2);
      g_clear_object (&two);
      two = som_trainer_train (&p, src, NULL, NULL, NULL, NULL, NULL);
      g_assert_nonnull (one);
      g_assert_nonnull (two);
      g_assert_cmpmem (som_map_get_codebook (one), 676 * 196 * sizeof (float),
                       som_map_get_codebook (two), 676 * 196 * sizeof (float));
    }
  openblas_set_num_threads (threads);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/som-trainer/schedules", test_schedules);
  g_test_add_func ("/som-trainer/qe-falls-on-fashion-mnist", test_qe_falls_on_fashion);
  g_test_add_func ("/som-trainer/unfolds", test_unfolds);
  g_test_add_func ("/som-trainer/online-unfolds", test_online_unfolds);
  g_test_add_func ("/som-trainer/streamed-equals-whole", test_streamed_equals_whole);
  g_test_add_func ("/som-trainer/deterministic", test_deterministic);
  g_test_add_func ("/som-trainer/online-thread-invariant", test_online_thread_invariant);
  g_test_add_func ("/som-trainer/pca-init", test_pca_init);
  g_test_add_func ("/som-trainer/epoch-callback", test_epoch_callback);
  g_test_add_func ("/som-trainer/epoch-callback-async", test_epoch_callback_async);
  g_test_add_func ("/som-trainer/cancel", test_cancel);
  g_test_add_func ("/som-trainer/cancel-async", test_cancel_async);
  g_test_add_func ("/som-trainer/nonfinite", test_nonfinite);
  g_test_add_func ("/som-trainer/bad-input", test_bad_input);
  g_test_add_func ("/som-trainer/source-changed", test_source_changed);
  g_test_add_func ("/som-trainer/cosine", test_cosine);
  g_test_add_func ("/som-trainer/features", test_features);
  return g_test_run ();
}
