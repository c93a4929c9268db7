/* test-metrics.c: the analysis metrics on hand-made cases, trajectories
 * against the maps' own BMUs, and models without a differentiable path
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "som.h"
#include "som-analysis.h"
#include "som-metrics.h"

static SomGrid *
grid (guint rows, guint cols, SomTopology topo)
{
  g_autoptr(GError) error = NULL;
  SomGrid *g = som_grid_new (rows, cols, topo, FALSE, &error);
  g_assert_no_error (error);
  return g;
}

static void
test_one_unit (void)
{
  gint32 bmus[12], labels[12];
  guint per_class[3];

  for (guint i = 0; i < 12; i++)
    {
      bmus[i] = 7;
      labels[i] = i % 3 == 0 ? 0 : i % 3 == 1 ? 1 : (i < 6 ? 1 : 2);
    }
  g_assert_cmpuint (som_metrics_occupied_units (bmus, 12, 100), ==, 1);
  g_assert_cmpfloat (som_metrics_hit_entropy (bmus, 12, 100), ==, 0.0);
  g_assert_cmpfloat_with_epsilon (som_metrics_mutual_information (bmus, labels, 12, 100, 3), 0.0, 1e-12);
  /* labels: 4 of class 0, 6 of class 1, 2 of class 2 → majority share 6/12 */
  g_assert_cmpfloat_with_epsilon (som_metrics_unit_purity (bmus, labels, 12, 100, 3), 0.5, 1e-12);
  som_metrics_occupied_per_class (bmus, labels, 12, 100, 3, per_class);
  g_assert_cmpuint (per_class[0], ==, 1);
  g_assert_cmpuint (per_class[1], ==, 1);
  g_assert_cmpuint (per_class[2], ==, 1);
}

static void
test_uniform_hits (void)
{
  gint32 bmus[300];

  for (guint i = 0; i < 300; i++)
    bmus[i] = i % 100;
  g_assert_cmpuint (som_metrics_occupied_units (bmus, 300, 100), ==, 100);
  g_assert_cmpfloat_with_epsilon (som_metrics_hit_entropy (bmus, 300, 100) / log (100), 1.0, 1e-12);
  /* non-finite codes (BMU −1) are skipped */
  bmus[0] = -1;
  g_assert_cmpuint (som_metrics_occupied_units (bmus, 300, 100), ==, 100);
}

static void
test_mutual_information (void)
{
  /* joint counts [[3,1],[1,3]]: I = ¾ ln 1.5 + ¼ ln 0.5 */
  gint32 bmus[8] = { 0, 0, 0, 0, 1, 1, 1, 1 };
  gint32 labels[8] = { 0, 0, 0, 1, 1, 1, 1, 0 };
  gint32 sep[4] = { 0, 0, 1, 1 }, sep_l[4] = { 1, 1, 0, 0 };

  g_assert_cmpfloat_with_epsilon (som_metrics_mutual_information (bmus, labels, 8, 4, 2),
                                  0.75 * log (1.5) + 0.25 * log (0.5), 1e-12);
  g_assert_cmpfloat_with_epsilon (som_metrics_mutual_information (sep, sep_l, 4, 4, 2), log (2), 1e-12);
  g_assert_cmpfloat_with_epsilon (som_metrics_unit_purity (bmus, labels, 8, 4, 2), 0.75, 1e-12);
}

static void
test_spread_and_labels (void)
{
  g_autoptr(SomGrid) g = grid (1, 3, SOM_TOPOLOGY_RECT);
  gint32 bmus[4] = { 0, 2, 1, 1 }, labels[4] = { 0, 0, 1, 1 };
  gint32 ul[3];
  gint32 b2[3] = { 0, 0, 2 }, l2[3] = { 1, 1, 0 };

  /* class 0 at x = 0 and 2 (mean 1, spread 1); class 1 at one unit (0) */
  g_assert_cmpfloat_with_epsilon (som_metrics_class_spread (g, bmus, labels, 4, 2), 0.5, 1e-12);
  /* unit 1 is empty: both neighbours at distance 1, the smaller index (unit 0, class 1) wins */
  som_metrics_unit_labels (g, b2, l2, 3, 2, ul);
  g_assert_cmpint (ul[0], ==, 1);
  g_assert_cmpint (ul[1], ==, 1);
  g_assert_cmpint (ul[2], ==, 0);
  g_assert_cmpfloat_with_epsilon (som_metrics_labelling_accuracy (ul, b2, l2, 3), 1.0, 1e-12);
}

static void
test_spearman (void)
{
  double x[5] = { 0, 1, 2, 3, 4 }, up[5] = { 1, 2, 5, 9, 10 }, down[5] = { 5, 4, 3, 2, 1 }, flat[5] = { 2, 2, 2, 2, 2 };
  double ties[4] = { 1, 2, 2, 3 };

  g_assert_cmpfloat_with_epsilon (som_metrics_spearman (x, up, 5), 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (som_metrics_spearman (x, down, 5), -1.0, 1e-12);
  g_assert_true (isnan (som_metrics_spearman (x, flat, 5)));
  g_assert_cmpfloat_with_epsilon (som_metrics_spearman (x, ties, 4), 4.5 / sqrt (22.5), 1e-12);
}

static void
test_pca_cosine (void)
{
  float line[30], plane[40], cb[6] = { 1, 0, 0, 1, 1, 1 };
  double c90, c95, pr, mean, median;

  for (guint i = 0; i < 10; i++)
    {
      line[3 * i] = i;
      line[3 * i + 1] = 2.0f * i;
      line[3 * i + 2] = 0;
    }
  g_assert_true (som_metrics_pca (line, 10, 3, &c90, &c95, &pr));
  g_assert_cmpfloat (c90, ==, 1);
  g_assert_cmpfloat (c95, ==, 1);
  g_assert_cmpfloat_with_epsilon (pr, 1.0, 1e-9);
  /* (±1, 0) and (0, ±1): two equal variances */
  for (guint i = 0; i < 10; i++)
    {
      float s = i % 2 ? 1.0f : -1.0f;
      plane[4 * i] = i < 5 ? s : 0;
      plane[4 * i + 1] = i < 5 ? 0 : s;
      plane[4 * i + 2] = 0;
      plane[4 * i + 3] = 0;
    }
  g_assert_true (som_metrics_pca (plane, 10, 4, &c90, &c95, &pr));
  g_assert_cmpfloat (c90, ==, 2);
  g_assert_cmpfloat_with_epsilon (pr, 2.0, 0.05);
  som_metrics_codebook_cosine (cb, 3, 2, &mean, &median);
  g_assert_cmpfloat_with_epsilon (mean, (1.0 + 2 * (1 - M_SQRT1_2)) / 3, 1e-9);
  g_assert_cmpfloat_with_epsilon (median, 1 - M_SQRT1_2, 1e-9);
}

/* Synthetic layers: class-structured codes; the adversarial codes of even
 * inputs equal the clean ones, odd ones are moved.  The analysis' BMUs must
 * be the map's own BMUs and the trajectory metrics must follow from them. */
static void
test_analysis_consistency (void)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *layers = g_ptr_array_new_with_free_func ((GDestroyNotify) som_analysis_layer_free);
  const gsize N = 200;
  const guint D = 4, L = 3;
  g_autofree gint32 *labels = g_new (gint32, N);
  g_autofree gint32 *pred = g_new (gint32, N);
  g_autofree gint32 *adv_pred = g_new (gint32, N);
  g_autoptr(GRand) r = g_rand_new_with_seed (3);
  g_autoptr(SomAnalysis) an = NULL;
  g_autoptr(JsonNode) json = NULL;
  SomAnalysisSettings s = { 0 };
  JsonArray *jl;

  for (gsize i = 0; i < N; i++)
    {
      labels[i] = i % 4;
      pred[i] = labels[i];
      adv_pred[i] = i % 2 ? (labels[i] + 1) % 4 : labels[i];
    }
  for (guint l = 0; l < L; l++)
    {
      SomAnalysisLayer *ly = som_analysis_layer_new (10 + l, "layer", "Relu");
      ly->codes = som_array_new_2d_f32 (N, D);
      ly->codes_adversarial = som_array_new_2d_f32 (N, D);
      for (gsize i = 0; i < N; i++)
        for (guint d = 0; d < D; d++)
          {
            float v = (d == (guint) labels[i] ? 3.0f * (l + 1) : 0.0f) + (float) g_rand_double_range (r, -1, 1);
            ((float *) ly->codes->data)[i * D + d] = v;
            ((float *) ly->codes_adversarial->data)[i * D + d] = i % 2 ? v + 2.0f * (l + 1) * (d == 0) : v;
          }
      g_ptr_array_add (layers, ly);
    }
  som_train_params_init (&s.som);
  s.som.rows = 6;
  s.som.cols = 6;
  s.som.epochs = 5;
  s.seeds = 1;
  s.threads = 2;
  s.n_classes = 4;
  s.target = -1;
  an = som_analysis_run (layers, labels, N, NULL, 0, pred, adv_pred, &s, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (an);
  json = som_analysis_to_json (an, "m.onnx", "d", NULL, NULL, NULL);
  jl = json_object_get_array_member (json_node_get_object (json), "layers");
  g_assert_cmpuint (json_array_get_length (jl), ==, L);
  for (guint l = 0; l < L; l++)
    {
      const SomAnalysisLayer *ly = som_analysis_get_layer (an, l);
      SomMap *map = som_analysis_get_map (an, l);
      const gint32 *b = som_analysis_get_bmus (an, l, FALSE), *ba = som_analysis_get_bmus (an, l, TRUE);
      const guint8 *held = som_analysis_get_split (an);
      g_autofree gint32 *mine = g_new (gint32, N);
      g_autofree gint32 *mine_adv = g_new (gint32, N);
      JsonObject *t = json_object_get_object_member (json_array_get_object_element (jl, l), "trajectory");
      gsize same = 0, nh = 0;
      double dist = 0;

      g_assert_true (som_map_find_bmus (map, ly->codes->data, N, D, mine, NULL, NULL, NULL, &error));
      g_assert_true (som_map_find_bmus (map, ly->codes_adversarial->data, N, D, mine_adv, NULL, NULL, NULL, &error));
      g_assert_cmpmem (b, N * 4, mine, N * 4);
      g_assert_cmpmem (ba, N * 4, mine_adv, N * 4);
      for (gsize i = 0; i < N; i++)
        if (held[i])
          {
            nh++;
            same += b[i] == ba[i];
            dist += som_grid_distance (som_map_get_grid (map), b[i], ba[i]);
            if (i % 2 == 0)
              g_assert_cmpint (b[i], ==, ba[i]);
          }
      g_assert_cmpuint (nh, ==, N / 5);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (t, "bmu_agreement"), (double) same / nh, 1e-12);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (t, "mean_grid_distance"), dist / nh, 1e-9);
    }
  {
    /* the divergence histogram counts every held-out input once */
    JsonObject *dv = json_object_get_object_member (json_node_get_object (json), "divergence_layer");
    JsonArray *h = json_object_get_array_member (dv, "histogram");
    double total = 0;
    g_assert_cmpuint (json_array_get_length (h), ==, L + 1);
    for (guint i = 0; i <= L; i++)
      total += json_array_get_double_element (h, i);
    g_assert_cmpfloat (total, ==, N / 5);
  }
  {
    g_autofree char *md = som_analysis_report_markdown (json);
    g_assert_nonnull (strstr (md, "Spearman ρ"));
  }
}

static void
test_stratified_split (void)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *layers = g_ptr_array_new_with_free_func ((GDestroyNotify) som_analysis_layer_free);
  const gsize N = 100;
  g_autofree gint32 *labels = g_new (gint32, N);
  g_autoptr(SomAnalysis) an = NULL;
  SomAnalysisSettings s = { 0 };
  SomAnalysisLayer *ly = som_analysis_layer_new (0, "x", "");
  guint held_per_class[2] = { 0, 0 };

  ly->codes = som_array_new_2d_f32 (N, 2);
  for (gsize i = 0; i < N; i++)
    {
      labels[i] = i < 30 ? 0 : 1;
      ((float *) ly->codes->data)[2 * i] = labels[i];
      ((float *) ly->codes->data)[2 * i + 1] = (float) i / N;
    }
  g_ptr_array_add (layers, ly);
  som_train_params_init (&s.som);
  s.som.rows = 3;
  s.som.cols = 3;
  s.som.epochs = 2;
  s.seeds = 2;
  s.threads = 1;
  s.n_classes = 2;
  s.target = -1;
  an = som_analysis_run (layers, labels, N, NULL, 0, NULL, NULL, &s, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < N; i++)
    held_per_class[labels[i]] += som_analysis_get_split (an)[i];
  g_assert_cmpuint (held_per_class[0], ==, 6);
  g_assert_cmpuint (held_per_class[1], ==, 14);
}

static void
test_no_differentiable_path (void)
{
  const char *root = g_getenv ("SOMSCOPE_SOURCE_DIR");
  const char *cases[][2] = {
    { "tests/data/attacks/argmax-output.onnx", "no differentiable path" },
    { "tests/data/attacks/hardmax-output.onnx", "no differentiable path" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *p = g_build_filename (root != NULL ? root : ".", cases[i][0], NULL);
      g_autoptr(SomModel) m = som_model_load (p, &error);
      g_assert_no_error (error);
      g_assert_false (som_model_check_differentiable (m, &error));
      g_assert_error (error, SOM_ERROR, SOM_ERROR_UNSUPPORTED);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i][1]));
      g_assert_nonnull (strstr (error->message, cases[i][0]));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/one-unit", test_one_unit);
  g_test_add_func ("/metrics/uniform-hits", test_uniform_hits);
  g_test_add_func ("/metrics/mutual-information", test_mutual_information);
  g_test_add_func ("/metrics/spread-and-unit-labels", test_spread_and_labels);
  g_test_add_func ("/metrics/spearman", test_spearman);
  g_test_add_func ("/metrics/pca-and-cosine", test_pca_cosine);
  g_test_add_func ("/metrics/analysis-consistency", test_analysis_consistency);
  g_test_add_func ("/metrics/stratified-split", test_stratified_split);
  g_test_add_func ("/metrics/no-differentiable-path", test_no_differentiable_path);
  return g_test_run ();
}
