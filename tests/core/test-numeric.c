/* test-numeric.c: numerical robustness of SOM training and map files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * NaN/Inf in activations or in a map's weights, constant features, a
 * zero-variance layer, huge finite values, a single class, a single row and
 * 1×N maps: each gets a defined result or an error naming the problem, and
 * never a NaN in what is computed for display (codebook, U-matrix, hits,
 * errors).
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "som.h"
#include "som-analysis.h"

static char *
tmp_path (const char *name)
{
  static char *dir;

  if (dir == NULL)
    dir = g_dir_make_tmp ("somscope-numeric-XXXXXX", NULL);
  return g_build_filename (dir, name, NULL);
}

static SomArray *
matrix (gsize n, gsize d, guint32 seed)
{
  gsize shape[2] = { n, d };
  SomArray *x = som_array_new (SOM_DTYPE_F32, 2, shape, NULL);
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  float *f = x->data;

  for (gsize i = 0; i < n * d; i++)
    f[i] = (float) g_rand_double_range (r, -1, 1);
  return x;
}

static void
assert_all_finite (const SomArray *a, const char *what)
{
  const float *f = a->data;

  g_assert_cmpint (a->dtype, ==, SOM_DTYPE_F32);
  for (gsize i = 0; i < som_array_n_elements (a); i++)
    if (!isfinite (f[i]))
      g_error ("%s[%zu] = %g is not finite", what, i, (double) f[i]);
}

/* Everything a figure of @map would draw is finite. */
static void
assert_map_finite (SomMap *map)
{
  g_autoptr(SomArray) mean = som_map_umatrix (map, SOM_UMATRIX_MEAN);
  g_autoptr(SomArray) median = som_map_umatrix (map, SOM_UMATRIX_MEDIAN);
  g_autoptr(SomArray) max = som_map_umatrix (map, SOM_UMATRIX_MAX);
  const SomArray *hits = som_map_get_array (map, "hits");
  const SomArray *qe = som_map_get_array (map, "qe_per_epoch");

  assert_all_finite (som_map_get_codebook_array (map), "codebook");
  assert_all_finite (mean, "umatrix(mean)");
  assert_all_finite (median, "umatrix(median)");
  assert_all_finite (max, "umatrix(max)");
  if (som_map_get_array (map, "umatrix") != NULL)
    assert_all_finite (som_map_get_array (map, "umatrix"), "stored umatrix");
  if (qe != NULL)
    assert_all_finite (qe, "qe_per_epoch");
  g_assert_nonnull (hits);
  g_assert_true (isfinite (som_map_get_quantization_error (map)));
  g_assert_true (isfinite (som_map_get_topographic_error (map)));
  g_assert_cmpfloat (som_map_get_topographic_error (map), >=, 0);
  g_assert_cmpfloat (som_map_get_topographic_error (map), <=, 1);
}

static SomMap *
train (SomArray *x, const SomArray *labels, guint rows, guint cols, SomTopology topo, SomInit init,
       SomNonfinite nonfinite, GError **error)
{
  g_autoptr(SomChunkSource) source = som_chunk_source_new_for_array (som_array_copy (x));
  SomTrainParams p;

  som_train_params_init (&p);
  p.rows = rows;
  p.cols = cols;
  p.topology = topo;
  p.epochs = 4;
  p.init = init;
  p.nonfinite = nonfinite;
  return som_trainer_train (&p, source, labels, NULL, NULL, NULL, error);
}

/* NaN and Inf rows: an error naming the row by default; left out (BMU −1,
 * no hit) with skip, the rest trained as usual. */
static void
test_nonfinite_rows (void)
{
  g_autoptr(SomArray) x = matrix (60, 5, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomMap) refused = NULL;
  g_autoptr(SomMap) map = NULL;
  const gint32 *bmus;
  const gint32 *hits;
  gint64 total = 0;
  float *f = x->data;

  f[7 * 5 + 2] = NAN;
  f[20 * 5 + 0] = INFINITY;
  f[33 * 5 + 4] = -INFINITY;
  refused = train (x, NULL, 3, 4, SOM_TOPOLOGY_HEX, SOM_INIT_PCA, SOM_NONFINITE_ERROR, &error);
  g_assert_null (refused);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_NONFINITE);
  g_assert_nonnull (strstr (error->message, "row 7"));
  g_clear_error (&error);

  for (SomInit init = SOM_INIT_PCA; init <= SOM_INIT_RANDOM; init++)
    {
      g_clear_object (&map);
      map = train (x, NULL, 3, 4, SOM_TOPOLOGY_HEX, init, SOM_NONFINITE_SKIP, &error);
      g_assert_no_error (error);
      assert_map_finite (map);
      bmus = som_map_get_array (map, "bmus")->data;
      hits = som_map_get_array (map, "hits")->data;
      g_assert_cmpint (bmus[7], ==, -1);
      g_assert_cmpint (bmus[20], ==, -1);
      g_assert_cmpint (bmus[33], ==, -1);
      g_assert_cmpint (bmus[8], >=, 0);
      for (guint k = 0; k < 12; k++)
        total += hits[k];
      g_assert_cmpint (total, ==, 57);
      total = 0;
    }
}

/* Every row NaN: nothing to train on, an error (not a NaN map). */
static void
test_all_rows_nonfinite (void)
{
  g_autoptr(SomArray) x = matrix (10, 3, 2);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomMap) map = NULL;

  for (gsize i = 0; i < 10; i++)
    ((float *) x->data)[i * 3 + 1] = NAN;
  map = train (x, NULL, 2, 3, SOM_TOPOLOGY_RECT, SOM_INIT_PCA, SOM_NONFINITE_SKIP, &error);
  g_assert_null (map);
  g_assert_nonnull (error);
  g_test_message ("all rows NaN: %s", error->message);
}

/* A zero-variance layer (every row the same) and constant features: PCA
 * initialisation has nothing to span; the map collapses onto the point. */
static void
test_zero_variance (void)
{
  g_autoptr(SomArray) x = matrix (40, 6, 3);
  g_autoptr(SomArray) same = matrix (40, 6, 3);
  g_autoptr(GError) error = NULL;
  float *f = x->data;
  float *s = same->data;

  for (gsize i = 0; i < 40; i++)
    {
      f[i * 6 + 0] = 5.f;      /* a constant feature */
      f[i * 6 + 3] = 0.f;      /* a dead ReLU */
      for (gsize j = 0; j < 6; j++)
        s[i * 6 + j] = 0.25f * j;
    }
  for (SomInit init = SOM_INIT_PCA; init <= SOM_INIT_RANDOM; init++)
    {
      g_autoptr(SomMap) a = train (x, NULL, 3, 3, SOM_TOPOLOGY_HEX, init, SOM_NONFINITE_ERROR, &error);
      g_autoptr(SomMap) b = NULL;

      g_assert_no_error (error);
      assert_map_finite (a);
      b = train (same, NULL, 3, 3, SOM_TOPOLOGY_RECT, init, SOM_NONFINITE_ERROR, &error);
      g_assert_no_error (error);
      assert_map_finite (b);
      g_assert_cmpfloat (som_map_get_quantization_error (b), <, 1e-3);
    }

  /* Standardizing a constant column: std 1, values 0, not 0/0. */
  {
    g_autoptr(SomArray) mean = NULL;
    g_autoptr(SomArray) std = NULL;

    som_features_standardize (x, NULL, &mean, &std);
    assert_all_finite (x, "standardized");
    g_assert_cmpfloat (((float *) std->data)[0], ==, 1.f);
    g_assert_cmpfloat (((float *) x->data)[0], ==, 0.f);
    g_clear_pointer (&mean, som_array_free);
    g_clear_pointer (&std, som_array_free);
    som_features_standardize (same, NULL, &mean, &std);
    assert_all_finite (same, "standardized zero-variance layer");
  }
}

/* Huge but finite activations (an exploding layer): squared distances would
 * overflow float32; the map is still finite or refused with a message. */
static void
test_huge_values (void)
{
  g_autoptr(SomArray) x = matrix (50, 4, 4);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomMap) map = NULL;
  float *f = x->data;

  for (gsize i = 0; i < 200; i++)
    f[i] *= 1e30f;
  map = train (x, NULL, 2, 3, SOM_TOPOLOGY_HEX, SOM_INIT_PCA, SOM_NONFINITE_ERROR, &error);
  if (map == NULL)
    {
      g_assert_nonnull (error);
      g_test_message ("huge values refused: %s", error->message);
      return;
    }
  assert_map_finite (map);
}

/* One class only, one row only, and 1×N maps. */
static void
test_degenerate_shapes (void)
{
  g_autoptr(SomArray) x = matrix (30, 3, 5);
  g_autoptr(SomArray) one = matrix (1, 3, 6);
  g_autoptr(SomArray) labels = som_array_new_1d_i32 (30);
  g_autoptr(GError) error = NULL;

  /* a single class: class hits, majority 0 where hit, purity 1 */
  {
    g_autoptr(SomMap) map = train (x, labels, 3, 3, SOM_TOPOLOGY_HEX, SOM_INIT_PCA, SOM_NONFINITE_ERROR, &error);
    const SomArray *ch;
    g_autoptr(SomArray) majority = NULL;
    g_autoptr(SomArray) purity = NULL;
    const gint32 *hits;

    g_assert_no_error (error);
    assert_map_finite (map);
    ch = som_map_get_array (map, "class_hits");
    g_assert_nonnull (ch);
    som_map_class_map (map, ch, &majority, &purity);
    hits = som_map_get_array (map, "hits")->data;
    for (guint k = 0; k < 9; k++)
      if (hits[k] > 0)
        {
          g_assert_cmpint (((gint32 *) majority->data)[k], ==, 0);
          g_assert_cmpfloat (((float *) purity->data)[k], ==, 1.f);
        }
      else
        g_assert_cmpint (((gint32 *) majority->data)[k], ==, -1);
  }
  /* a single row */
  {
    g_autoptr(SomMap) map = train (one, NULL, 2, 2, SOM_TOPOLOGY_RECT, SOM_INIT_PCA, SOM_NONFINITE_ERROR, &error);
    if (map != NULL)
      assert_map_finite (map);
    else
      g_test_message ("a single row: %s", error->message);
    g_clear_error (&error);
  }
  /* 1×N and N×1 maps, both topologies, both initialisations */
  for (SomTopology topo = SOM_TOPOLOGY_HEX; topo <= SOM_TOPOLOGY_RECT; topo++)
    for (SomInit init = SOM_INIT_PCA; init <= SOM_INIT_RANDOM; init++)
      {
        g_autoptr(SomMap) row = train (x, NULL, 1, 7, topo, init, SOM_NONFINITE_ERROR, &error);
        g_autoptr(SomMap) col = NULL;

        g_assert_no_error (error);
        assert_map_finite (row);
        col = train (x, NULL, 5, 1, topo, init, SOM_NONFINITE_ERROR, &error);
        g_assert_no_error (error);
        assert_map_finite (col);
      }
}

/* Maps whose weights are not finite are refused when loaded, naming the file. */
static void
test_nonfinite_weights (void)
{
  const char *cods[] = {
    "3 rect 2 1 gaussian\n1 2 nan\n4 5 6\n",
    "3 rect 2 1 gaussian\n1 2 3\ninf 5 6\n",
    "2 hexa 1 2 bubble\n1 -Infinity\n0 0\n",
  };
  g_autoptr(SomArray) x = matrix (20, 3, 7);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomMap) map = train (x, NULL, 2, 2, SOM_TOPOLOGY_RECT, SOM_INIT_PCA, SOM_NONFINITE_ERROR, &error);
  g_autofree char *path = tmp_path ("nan.npz");
  g_autoptr(SomMap) back = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cods); i++)
    {
      g_autoptr(SomMap) m = som_map_parse_cod (cods[i], strlen (cods[i]), "weights.cod", &error);
      g_assert_null (m);
      g_assert_error (error, SOM_ERROR, SOM_ERROR_NONFINITE);
      g_assert_nonnull (strstr (error->message, "weights.cod"));
      g_clear_error (&error);
    }
  g_assert_no_error (error);
  som_map_get_codebook (map)[5] = NAN;
  g_assert_true (som_map_save_npz (map, path, FALSE, &error));
  back = som_map_load_npz (path, &error);
  g_assert_null (back);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_NONFINITE);
  g_assert_nonnull (strstr (error->message, "nan.npz"));
}

/* A session whose map holds NaN does not validate (so neither loads nor saves). */
static void
test_session_nonfinite (void)
{
  g_autoptr(SomSession) s = som_session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) meta = json_from_string ("{\"format\":\"somscope-som\",\"version\":1,\"rows\":1,"
                                               "\"cols\":2,\"topology\":\"rect\",\"toroidal\":false,"
                                               "\"dim\":2,\"epochs\":1}", NULL);
  gsize cb_shape[3] = { 1, 2, 2 }, grid[2] = { 1, 2 };
  g_autoptr(SomArray) cb = som_array_new (SOM_DTYPE_F32, 3, cb_shape, NULL);
  g_autoptr(SomArray) hits = som_array_new (SOM_DTYPE_I32, 2, grid, NULL);
  g_autoptr(SomArray) um = som_array_new (SOM_DTYPE_F32, 2, grid, NULL);
  g_autoptr(SomArray) bmus = som_array_new_1d_i32 (0);
  g_autofree char *path = tmp_path ("nan.somscope");
  int pos = som_session_add_layer (s, 1, "relu", "Relu", NULL, meta, &error);

  g_assert_no_error (error);
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_BMUS, bmus, &error));
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_HITS, hits, &error));
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_UMATRIX, um, &error));
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_CODEBOOK, cb, &error));
  g_assert_no_error (error);
  g_assert_true (som_session_validate (s, &error));
  g_assert_no_error (error);
  ((float *) cb->data)[3] = NAN;
  g_assert_true (som_session_set_layer_array (s, pos, SOM_LAYER_CODEBOOK, cb, &error));
  g_assert_false (som_session_validate (s, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_NONFINITE);
  g_assert_nonnull (strstr (error->message, "layer_001/codebook"));
  g_clear_error (&error);
  g_assert_false (som_session_save (s, path, &error));
  g_assert_nonnull (error);
}

/* ---- the analysis (metrics.json) ------------------------------------------- */

/* No NaN or Inf anywhere in a JSON tree (json-glib would write "nan", which
 * is not JSON); an undefined number must be null. */
static void
assert_json_finite (JsonNode *node, const char *path)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter it;
        const char *name;
        JsonNode *member;
        json_object_iter_init (&it, json_node_get_object (node));
        while (json_object_iter_next (&it, &name, &member))
          {
            g_autofree char *p = g_strdup_printf ("%s.%s", path, name);
            assert_json_finite (member, p);
          }
      }
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *a = json_node_get_array (node);
        for (guint i = 0; i < json_array_get_length (a); i++)
          {
            g_autofree char *p = g_strdup_printf ("%s[%u]", path, i);
            assert_json_finite (json_array_get_element (a, i), p);
          }
      }
      break;
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_DOUBLE && !isfinite (json_node_get_double (node)))
        g_error ("%s = %g in metrics.json", path, json_node_get_double (node));
      break;
    case JSON_NODE_NULL:
      break;
    }
}

static SomAnalysisLayer *
analysis_layer (gint64 index, SomArray *codes)
{
  SomAnalysisLayer *ly = som_analysis_layer_new (index, "layer", "Relu");

  ly->codes = codes;
  return ly;
}

static void
analysis_settings (SomAnalysisSettings *s, guint rows, guint cols, guint n_classes)
{
  memset (s, 0, sizeof *s);
  som_train_params_init (&s->som);
  s->som.rows = rows;
  s->som.cols = cols;
  s->som.epochs = 3;
  s->seeds = 2;
  s->threads = 2;
  s->n_classes = n_classes;
  s->target = -1;
}

/* A zero-variance layer, a constant feature, a single class and a 1×N map
 * through the whole analysis: every map is finite, metrics.json holds no NaN
 * (undefined numbers are null) and the report is written. */
static void
test_analysis_degenerate (void)
{
  const gsize N = 60;
  g_autofree gint32 *labels = g_new0 (gint32, N);
  g_autofree gint32 *pred = g_new0 (gint32, N);

  for (guint single_class = 0; single_class < 2; single_class++)
    for (guint shape = 0; shape < 2; shape++)
      {
        GPtrArray *layers = g_ptr_array_new_with_free_func ((GDestroyNotify) som_analysis_layer_free);
        g_autoptr(GError) error = NULL;
        g_autoptr(SomAnalysis) an = NULL;
        g_autoptr(JsonNode) json = NULL;
        g_autofree char *md = NULL;
        SomAnalysisSettings s;
        SomArray *constant = som_array_new_2d_f32 (N, 5);
        SomArray *mixed = matrix (N, 4, 7);

        for (gsize i = 0; i < N; i++)
          {
            labels[i] = pred[i] = single_class ? 0 : (gint32) (i % 3);
            for (guint d = 0; d < 5; d++)
              ((float *) constant->data)[i * 5 + d] = 0.5f;
            ((float *) mixed->data)[i * 4 + 2] = 1.0f; /* a constant feature */
            ((float *) mixed->data)[i * 4] += labels[i];
          }
        g_ptr_array_add (layers, analysis_layer (1, constant));
        g_ptr_array_add (layers, analysis_layer (2, mixed));
        if (shape == 0)
          analysis_settings (&s, 1, 6, single_class ? 1 : 3);
        else
          analysis_settings (&s, 4, 4, single_class ? 1 : 3);
        an = som_analysis_run (layers, labels, N, NULL, 0, pred, NULL, &s, NULL, NULL, NULL, &error);
        g_assert_no_error (error);
        for (guint l = 0; l < som_analysis_get_n_layers (an); l++)
          assert_map_finite (som_analysis_get_map (an, l));
        json = som_analysis_to_json (an, "m.onnx", "d", NULL, NULL, NULL);
        assert_json_finite (json, "metrics");
        md = som_analysis_report_markdown (json);
        g_assert_nonnull (md);
        g_assert_null (strstr (md, "nan"));
        g_assert_null (strstr (md, "NaN"));
        g_assert_null (strstr (md, "inf"));
      }
}

/* A layer whose activations hold a NaN (a model with a NaN weight gives
 * these): the analysis stops with an error naming the layer and the row. */
static void
test_analysis_nonfinite (void)
{
  const gsize N = 40;
  g_autofree gint32 *labels = g_new0 (gint32, N);
  GPtrArray *layers = g_ptr_array_new_with_free_func ((GDestroyNotify) som_analysis_layer_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomAnalysis) an = NULL;
  SomAnalysisSettings s;
  SomArray *bad = matrix (N, 3, 9);
  SomAnalysisLayer *ly;

  for (gsize i = 0; i < N; i++)
    labels[i] = i % 2;
  ((float *) bad->data)[13 * 3 + 1] = INFINITY;
  g_ptr_array_add (layers, analysis_layer (1, matrix (N, 3, 8)));
  ly = analysis_layer (2, bad);
  g_free (ly->name);
  ly->name = g_strdup ("conv2");
  g_ptr_array_add (layers, ly);
  analysis_settings (&s, 3, 3, 2);
  s.seeds = 1;
  an = som_analysis_run (layers, labels, N, NULL, 0, NULL, NULL, &s, NULL, NULL, NULL, &error);
  g_assert_null (an);
  g_assert_error (error, SOM_ERROR, SOM_ERROR_NONFINITE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "conv2"));
  g_assert_nonnull (strstr (error->message, "input 13"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/numeric/nonfinite-rows", test_nonfinite_rows);
  g_test_add_func ("/numeric/all-rows-nonfinite", test_all_rows_nonfinite);
  g_test_add_func ("/numeric/zero-variance", test_zero_variance);
  g_test_add_func ("/numeric/huge-values", test_huge_values);
  g_test_add_func ("/numeric/degenerate-shapes", test_degenerate_shapes);
  g_test_add_func ("/numeric/nonfinite-weights", test_nonfinite_weights);
  g_test_add_func ("/numeric/session-nonfinite", test_session_nonfinite);
  g_test_add_func ("/numeric/analysis-degenerate", test_analysis_degenerate);
  g_test_add_func ("/numeric/analysis-nonfinite", test_analysis_nonfinite);
  return g_test_run ();
}
