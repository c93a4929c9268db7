/* test-som-map.c: BMUs, U-matrix, class maps by hand; SOM.npz and .cod round
 * trips; malformed files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "som.h"

static char *
tmp_path (const char *name)
{
  static char *dir;

  if (dir == NULL)
    dir = g_dir_make_tmp ("somscope-som-map-XXXXXX", NULL);
  return g_build_filename (dir, name, NULL);
}

static SomMap *
map_with (guint rows, guint cols, SomTopology t, gboolean torus, guint dim, const float *w)
{
  g_autoptr(SomGrid) grid = som_grid_new (rows, cols, t, torus, NULL);
  SomMap *map = som_map_new (grid, dim, NULL);

  memcpy (som_map_get_codebook (map), w, (gsize) rows * cols * dim * sizeof (float));
  return map;
}

static void
test_bmus_by_hand (void)
{
  /* A chain of three units on the x axis at 0, 1 and 3. */
  const float w[] = { 0, 0, 1, 0, 3, 0 };
  const float x[] = { 0.4f, 0, 2.1f, 0, -5, 1, 1.9f, 0, NAN, 0 };
  g_autoptr(SomMap) map = map_with (1, 3, SOM_TOPOLOGY_RECT, FALSE, 2, w);
  gint32 b1[5], b2[5];
  float d[5];
  g_autoptr(GError) error = NULL;

  g_assert_true (som_map_find_bmus (map, x, 5, 2, b1, b2, d, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (b1[0], ==, 0);
  g_assert_cmpint (b2[0], ==, 1);
  g_assert_cmpfloat_with_epsilon (d[0], 0.4, 1e-6);
  g_assert_cmpint (b1[1], ==, 2);   /* 0.9 from unit 2, 1.1 from unit 1 */
  g_assert_cmpint (b2[1], ==, 1);
  g_assert_cmpfloat_with_epsilon (d[1], 0.9, 1e-6);
  g_assert_cmpint (b1[2], ==, 0);
  g_assert_cmpint (b2[2], ==, 1);
  g_assert_cmpfloat_with_epsilon (d[2], sqrt (26), 1e-5);
  g_assert_cmpint (b1[3], ==, 1);   /* 0.9 from unit 1, 1.1 from unit 2 */
  g_assert_cmpint (b2[3], ==, 2);
  g_assert_cmpint (b1[4], ==, -1);  /* NaN row */
  g_assert_true (isnan (d[4]));
  /* All BMU pairs are chain neighbours. */
  g_assert_cmpfloat (som_map_topographic_error (map, b1, b2, 5), ==, 0);

  /* The wrong number of features is refused. */
  g_assert_false (som_map_find_bmus (map, x, 2, 3, b1, b2, d, NULL, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "the map has 2"));
}

static void
test_topographic_error (void)
{
  /* 2×2 rect: 0 and 3 are diagonal, not neighbours. */
  const float w[] = { 0, 1, 2, 3 };
  g_autoptr(SomMap) map = map_with (2, 2, SOM_TOPOLOGY_RECT, FALSE, 1, w);
  gint32 b1[] = { 0, 0, 1, 2 }, b2[] = { 1, 3, 3, 1 };

  /* (0,1) yes, (0,3) no, (1,3) yes, (2,1) no */
  g_assert_cmpfloat (som_map_topographic_error (map, b1, b2, 4), ==, 0.5);
}

static void
test_umatrix_by_hand (void)
{
  const float w[] = { 0, 1, 3, 7 };
  g_autoptr(SomMap) rect = map_with (2, 2, SOM_TOPOLOGY_RECT, FALSE, 1, w);
  g_autoptr(SomMap) hex = map_with (2, 2, SOM_TOPOLOGY_HEX, FALSE, 1, w);
  g_autoptr(SomArray) mean = som_map_umatrix (rect, SOM_UMATRIX_MEAN);
  g_autoptr(SomArray) max = som_map_umatrix (rect, SOM_UMATRIX_MAX);
  g_autoptr(SomArray) hmean = som_map_umatrix (hex, SOM_UMATRIX_MEAN);
  g_autoptr(SomArray) hmed = som_map_umatrix (hex, SOM_UMATRIX_MEDIAN);
  g_autoptr(SomArray) hmax = som_map_umatrix (hex, SOM_UMATRIX_MAX);
  const float rect_mean[] = { 2, 3.5f, 3.5f, 5 }, rect_max[] = { 3, 6, 4, 6 };
  /* hex 2×2: unit 0 ~ {1, 2}; 1 ~ {0, 2, 3}; 2 ~ {0, 1, 3}; 3 ~ {1, 2} */
  const float hex_mean[] = { 2, 3, 3, 5 }, hex_med[] = { 2, 2, 3, 5 }, hex_max[] = { 3, 6, 4, 6 };

  g_assert_cmpuint (mean->ndim, ==, 2);
  g_assert_cmpuint (mean->shape[0], ==, 2);
  for (int k = 0; k < 4; k++)
    {
      g_assert_cmpfloat_with_epsilon (((float *) mean->data)[k], rect_mean[k], 1e-6);
      g_assert_cmpfloat_with_epsilon (((float *) max->data)[k], rect_max[k], 1e-6);
      g_assert_cmpfloat_with_epsilon (((float *) hmean->data)[k], hex_mean[k], 1e-6);
      g_assert_cmpfloat_with_epsilon (((float *) hmed->data)[k], hex_med[k], 1e-6);
      g_assert_cmpfloat_with_epsilon (((float *) hmax->data)[k], hex_max[k], 1e-6);
    }
}

static void
test_hits_and_classes (void)
{
  const float w[] = { 0, 1, 2, 3 };
  g_autoptr(SomMap) map = map_with (2, 2, SOM_TOPOLOGY_RECT, FALSE, 1, w);
  gint32 bmus[] = { 0, 0, 1, -1, 0 }, labels[] = { 2, 2, 1, 0, 0 };
  g_autoptr(SomArray) hits = som_map_hits (map, bmus, 5);
  g_autoptr(SomArray) ch = som_map_class_hits (map, bmus, labels, 5, 3);
  g_autoptr(SomArray) maj = NULL;
  g_autoptr(SomArray) pur = NULL;
  g_autoptr(SomArray) plane = NULL;
  g_autoptr(GError) error = NULL;
  float resp[4];
  const float sample[] = { 2.5f };

  g_assert_cmpint (((gint32 *) hits->data)[0], ==, 3);
  g_assert_cmpint (((gint32 *) hits->data)[1], ==, 1);
  g_assert_cmpint (((gint32 *) hits->data)[2], ==, 0);
  g_assert_cmpuint (ch->shape[0], ==, 3);
  g_assert_cmpint (((gint32 *) ch->data)[2 * 4 + 0], ==, 2);  /* class 2 at unit 0 */
  g_assert_cmpint (((gint32 *) ch->data)[0 * 4 + 0], ==, 1);  /* class 0 at unit 0 */
  g_assert_cmpint (((gint32 *) ch->data)[1 * 4 + 1], ==, 1);
  som_map_class_map (map, ch, &maj, &pur);
  g_assert_cmpint (((gint32 *) maj->data)[0], ==, 2);
  g_assert_cmpint (((gint32 *) maj->data)[1], ==, 1);
  g_assert_cmpint (((gint32 *) maj->data)[2], ==, -1);
  g_assert_cmpfloat_with_epsilon (((float *) pur->data)[0], 2.0 / 3, 1e-6);
  g_assert_cmpfloat (((float *) pur->data)[1], ==, 1);
  g_assert_true (isnan (((float *) pur->data)[3]));

  som_map_response (map, sample, resp);
  g_assert_cmpfloat_with_epsilon (resp[0], 2.5, 1e-6);
  g_assert_cmpfloat_with_epsilon (resp[3], 0.5, 1e-6);

  plane = som_map_component_plane (map, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (((float *) plane->data)[2], ==, 2);
  g_assert_null (som_map_component_plane (map, 1, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
}

static SomMap *
trained_map (void)
{
  SomTrainParams p;
  g_autoptr(SomArray) x = som_array_new_2d_f32 (300, 3);
  g_autoptr(SomArray) labels = som_array_new_1d_i32 (300);
  g_autoptr(SomChunkSource) src = NULL;
  g_autoptr(GRand) r = g_rand_new_with_seed (7);
  SomMap *map;
  const char *names[] = { "cat", "dog", NULL };

  for (gsize i = 0; i < 900; i++)
    ((float *) x->data)[i] = (float) g_rand_double (r);
  for (gsize i = 0; i < 300; i++)
    ((gint32 *) labels->data)[i] = ((float *) x->data)[i * 3] > 0.5f;
  som_train_params_init (&p);
  p.rows = 4;
  p.cols = 6;
  p.toroidal = TRUE;
  p.neighborhood = SOM_NEIGHBORHOOD_CUT_GAUSSIAN;
  p.cooling = SOM_COOLING_EXPONENTIAL;
  p.radius0 = 2.5;
  p.radius1 = 0.7;
  p.epochs = 3;
  p.seed = 1234567890123ull;
  p.init = SOM_INIT_RANDOM;
  src = som_chunk_source_new_for_array (som_array_copy (x));
  map = som_trainer_train (&p, src, labels, NULL, NULL, NULL, NULL);
  g_assert_nonnull (map);
  som_map_set_class_names (map, names);
  som_map_set_standardize (map, TRUE);
  {
    SomArray *m = som_array_new_2d_f32 (1, 3), *s = som_array_new_2d_f32 (1, 3);
    m->ndim = s->ndim = 1;
    m->shape[0] = s->shape[0] = 3;
    for (int j = 0; j < 3; j++)
      {
        ((float *) m->data)[j] = 0.1f * j + 1e-8f;
        ((float *) s->data)[j] = 1.0f / 3 + j;
      }
    som_map_take_array (map, "feature_mean", m);
    som_map_take_array (map, "feature_std", s);
  }
  return map;
}

static void
assert_same_map (SomMap *a, SomMap *b, gboolean results)
{
  const SomTrainParams *pa = som_map_get_params (a), *pb = som_map_get_params (b);
  const char * const *na = som_map_get_class_names (a), * const *nb = som_map_get_class_names (b);
  static const char *const names[] = { "feature_mean", "feature_std", "qe_per_epoch", "te_per_epoch",
                                       "bmus", "bmus2", "hits", "umatrix", "labels", "class_hits" };

  g_assert_true (som_grid_equal (som_map_get_grid (a), som_map_get_grid (b)));
  g_assert_cmpuint (som_map_get_dim (a), ==, som_map_get_dim (b));
  g_assert_cmpmem (som_map_get_codebook (a), som_array_n_bytes (som_map_get_codebook_array (a)),
                   som_map_get_codebook (b), som_array_n_bytes (som_map_get_codebook_array (b)));
  g_assert_cmpuint (pa->epochs, ==, pb->epochs);
  g_assert_cmpint (pa->mode, ==, pb->mode);
  g_assert_cmpint (pa->init, ==, pb->init);
  g_assert_cmpint (pa->neighborhood, ==, pb->neighborhood);
  g_assert_cmpint (pa->cooling, ==, pb->cooling);
  g_assert_cmpint (pa->distance, ==, pb->distance);
  g_assert_cmpfloat (som_train_params_get_radius0 (pa), ==, som_train_params_get_radius0 (pb));
  g_assert_cmpfloat (pa->radius1, ==, pb->radius1);
  g_assert_cmpfloat (pa->alpha0, ==, pb->alpha0);
  g_assert_cmpuint (pa->seed, ==, pb->seed);
  g_assert_cmpuint (som_map_get_threads (a), ==, som_map_get_threads (b));
  g_assert_cmpfloat (som_map_get_quantization_error (a), ==, som_map_get_quantization_error (b));
  g_assert_cmpfloat (som_map_get_topographic_error (a), ==, som_map_get_topographic_error (b));
  g_assert_true (som_map_get_standardize (a) == som_map_get_standardize (b));
  g_assert_true (g_strv_equal ((const char * const *) na, (const char * const *) nb));
  for (guint i = 0; i < (results ? G_N_ELEMENTS (names) : 4); i++)
    {
      const SomArray *x = som_map_get_array (a, names[i]), *y = som_map_get_array (b, names[i]);
      g_assert_nonnull (x);
      g_assert_nonnull (y);
      g_assert_cmpint (x->dtype, ==, y->dtype);
      g_assert_cmpuint (x->ndim, ==, y->ndim);
      g_assert_cmpmem (x->data, som_array_n_bytes (x), y->data, som_array_n_bytes (y));
    }
}

static void
test_npz_round_trip (void)
{
  g_autoptr(SomMap) map = trained_map ();
  g_autoptr(SomMap) back = NULL;
  g_autofree char *path = tmp_path ("map.npz");
  g_autoptr(GError) error = NULL;

  g_assert_true (som_map_save (map, path, FALSE, &error));
  g_assert_no_error (error);
  back = som_map_load (path, &error);
  g_assert_no_error (error);
  assert_same_map (map, back, TRUE);
  g_assert_true (som_grid_get_toroidal (som_map_get_grid (back)));
}

static void
test_cod_round_trip (void)
{
  g_autoptr(SomMap) map = trained_map ();
  g_autoptr(SomMap) back = NULL;
  g_autoptr(SomMap) again = NULL;
  g_autofree char *path = tmp_path ("map.cod");
  g_autofree char *path2 = tmp_path ("map2.npz");
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (som_map_save (map, path, FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "3 hexa 6 4 gaussian\n"));
  g_assert_nonnull (strstr (text, "\n#somscope toroidal=true\n"));
  g_assert_nonnull (strstr (text, "\n#somscope neighborhood=cut-gaussian\n"));
  back = som_map_load (path, &error);
  g_assert_no_error (error);
  assert_same_map (map, back, FALSE);
  /* .cod → .npz keeps it too */
  g_assert_true (som_map_save (back, path2, TRUE, &error));
  again = som_map_load (path2, &error);
  g_assert_no_error (error);
  assert_same_map (map, again, FALSE);
}

static void
test_cod_somppak (void)
{
  /* A file as SOM_PAK writes it: comments, labels after the values. */
  const char *text =
    "# written by vsom\n"
    "2 rect 3 2 bubble\n"
    "1.5 2 label_a\n"
    "3e-1 -4\n"
    "0 0\n"
    "# a comment in between\n"
    "1 1 x y\n"
    "2 2\n"
    "3 3\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(SomMap) map = som_map_parse_cod (text, strlen (text), "x.cod", &error);
  SomGrid *grid;

  g_assert_no_error (error);
  grid = som_map_get_grid (map);
  g_assert_cmpuint (som_grid_get_rows (grid), ==, 2);
  g_assert_cmpuint (som_grid_get_cols (grid), ==, 3);
  g_assert_cmpint (som_grid_get_topology (grid), ==, SOM_TOPOLOGY_RECT);
  g_assert_false (som_grid_get_toroidal (grid));
  g_assert_cmpint (som_map_get_params (map)->neighborhood, ==, SOM_NEIGHBORHOOD_BUBBLE);
  g_assert_cmpfloat (som_map_get_codebook (map)[2], ==, 0.3f);
  g_assert_cmpfloat (som_map_get_codebook (map)[11], ==, 3.0f);
}

static void
test_cod_malformed (void)
{
  const char *cases[][2] = {
    { "", "no header" },
    { "# only comments\n", "no header" },
    { "2 hexa 3\n", "expected a header" },
    { "x hexa 3 2 gaussian\n", "bad dimension" },
    { "2 hexagon 3 2 gaussian\n", "unknown topology" },
    { "2 hexa 0 2 gaussian\n", "bad map size" },
    { "2 hexa 3 2000 gaussian\n", "bad map size" },
    { "2 hexa 3 2 mexican\n", "unknown neighbourhood" },
    { "2 rect 1 2 gaussian\n1 2\n3\n", "line 3: expected 2 numbers, found 1" },
    { "2 rect 1 2 gaussian\n1 2\n", "1 codebook lines, the 2×1 map needs 2" },
    { "2 rect 1 2 gaussian\n1 2\n3 4\n5 6\n", "more codebook lines" },
    { "2 rect 1 1 gaussian\n1 2\n", "at least 2 units" },
    { "2 hexa 3 3 gaussian\n#somscope toroidal=true\n", "even number of rows" },
    { "1 rect 2 1 gaussian\n#somscope mode=sideways\n1\n2\n", "unknown mode" },
    { "1 rect 2 1 gaussian\n#somscope feature_mean=[1,2]\n1\n2\n", "has 2 values, expected 1" },
    { "100000 rect 1000 1000 gaussian\n", "memory budget" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      SomMap *map = som_map_parse_cod (cases[i][0], strlen (cases[i][0]), "bad.cod", &error);

      g_assert_null (map);
      g_assert_nonnull (error);
      if (strstr (error->message, cases[i][1]) == NULL || !g_str_has_prefix (error->message, "bad.cod: "))
        g_error ("case %u: \"%s\" lacks \"%s\"", i, error->message, cases[i][1]);
    }
  {
    g_autoptr(GError) error = NULL;
    g_assert_null (som_map_parse_cod ("1 rect\0 2 1", 11, "nul.cod", &error));
    g_assert_error (error, SOM_ERROR, SOM_ERROR_CORRUPT);
  }
}

static void
write_npz (const char *path, const char *meta, const SomArray *codebook, const SomArray *bmus)
{
  g_autoptr(SomNpzWriter) w = som_npz_writer_new (path, FALSE, NULL);

  if (codebook != NULL)
    g_assert_true (som_npz_writer_add_array (w, "codebook", codebook, NULL));
  if (bmus != NULL)
    g_assert_true (som_npz_writer_add_array (w, "bmus", bmus, NULL));
  if (meta != NULL)
    g_assert_true (som_npz_writer_add_string (w, "meta.json", meta, NULL));
  g_assert_true (som_npz_writer_close (w, NULL));
}

static void
test_npz_malformed (void)
{
  g_autofree char *path = tmp_path ("bad.npz");
  gsize shape[3] = { 2, 3, 4 };
  g_autoptr(SomArray) cb = som_array_new (SOM_DTYPE_F32, 3, shape, NULL);
  g_autoptr(SomArray) bmus = som_array_new_1d_i32 (3);
  const char *good = "{\"format\":\"somscope-som\",\"version\":1,\"rows\":2,\"cols\":3,\"topology\":\"hex\"}";
  struct { const char *meta; gboolean codebook, bmus; const char *needle; } cases[] = {
    { NULL, TRUE, FALSE, "no meta.json" },
    { "{not json", TRUE, FALSE, "not valid JSON" },
    { "[1,2]", TRUE, FALSE, "not an object" },
    { "{\"format\":\"other\"}", TRUE, FALSE, "not a SOM file" },
    { "{\"format\":\"somscope-som\",\"version\":9}", TRUE, FALSE, "newer" },
    { "{\"format\":\"somscope-som\",\"version\":1,\"rows\":\"2\"}", TRUE, FALSE, "\"rows\" is not a number" },
    { "{\"format\":\"somscope-som\",\"version\":1,\"rows\":3,\"cols\":3,\"topology\":\"hex\"}", TRUE, FALSE,
      "expected 3×3×D" },
    { "{\"format\":\"somscope-som\",\"version\":1,\"rows\":2,\"cols\":3,\"topology\":\"tri\"}", TRUE, FALSE,
      "topology" },
    { "{\"format\":\"somscope-som\",\"version\":1,\"rows\":2,\"cols\":3,\"topology\":\"hex\",\"dim\":5}", TRUE,
      FALSE, "dim 5" },
    { "{\"format\":\"somscope-som\",\"version\":1,\"rows\":2,\"cols\":3,\"topology\":\"hex\",\"cooling\":\"hot\"}",
      TRUE, FALSE, "unknown cooling" },
    { good, FALSE, FALSE, "codebook" },
    { good, TRUE, TRUE, "bmus[1] = 99" },
  };

  ((gint32 *) bmus->data)[1] = 99;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      SomMap *map;

      write_npz (path, cases[i].meta, cases[i].codebook ? cb : NULL, cases[i].bmus ? bmus : NULL);
      map = som_map_load (path, &error);
      g_assert_null (map);
      g_assert_nonnull (error);
      if (strstr (error->message, cases[i].needle) == NULL || strstr (error->message, path) == NULL)
        g_error ("case %u: \"%s\" lacks \"%s\"", i, error->message, cases[i].needle);
    }
  /* Not a zip at all, and a missing file. */
  {
    g_autoptr(GError) error = NULL;
    g_assert_true (g_file_set_contents (path, "garbage", -1, NULL));
    g_assert_null (som_map_load (path, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
    g_assert_null (som_map_load ("/nonexistent/x.npz", &error));
    g_assert_nonnull (error);
  }
  /* The good meta loads. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(SomMap) map = NULL;
    write_npz (path, good, cb, NULL);
    map = som_map_load (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (som_map_get_dim (map), ==, 4);
  }
}

static SomArray *
vec (gsize n, const float *v)
{
  SomArray *a = som_array_new_2d_f32 (1, n);

  a->ndim = 1;
  a->shape[0] = n;
  memcpy (a->data, v, n * sizeof (float));
  return a;
}

static void
test_transform_features (void)
{
  /* 3 input features, z-scored, then projected to 2 by a matrix P after
   * subtracting a projection mean: y = ((x − m)/s − pm)·P, by hand. */
  const float w[] = { 0, 0, 1, 1 };
  g_autoptr(SomMap) map = map_with (1, 2, SOM_TOPOLOGY_RECT, FALSE, 2, w);
  const float p[] = { 1, 0, 0, 2, 1, 1 };
  SomArray *proj = som_array_new_2d_f32 (3, 2);
  g_autoptr(SomArray) x = som_array_new_2d_f32 (1, 3);
  g_autoptr(SomArray) y = NULL;
  g_autoptr(SomArray) bad = som_array_new_2d_f32 (1, 2);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomMap) back = NULL;
  g_autofree char *path = tmp_path ("proj.cod");

  memcpy (proj->data, p, sizeof p);
  som_map_take_array (map, "projection", proj);
  som_map_take_array (map, "projection_mean", vec (3, (float[]) { 0, 1, 0 }));
  som_map_take_array (map, "feature_mean", vec (3, (float[]) { 1, 2, 3 }));
  som_map_take_array (map, "feature_std", vec (3, (float[]) { 1, 2, 4 }));
  som_map_set_standardize (map, TRUE);
  memcpy (x->data, (float[]) { 2, 6, 11 }, 3 * sizeof (float));
  /* z = (1, 2, 2); z − pm = (1, 1, 2); ·P = (1·1 + 1·0 + 2·1, 1·0 + 1·2 + 2·1) = (3, 4) */
  y = som_map_transform_features (map, x, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (y->shape[1], ==, 2);
  g_assert_cmpfloat (((float *) y->data)[0], ==, 3);
  g_assert_cmpfloat (((float *) y->data)[1], ==, 4);
  g_assert_null (som_map_transform_features (map, bad, &error));
  g_assert_error (error, SOM_ERROR, SOM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "trained on 3"));
  g_clear_error (&error);

  /* The projection survives a .cod round trip. */
  g_assert_true (som_map_save (map, path, FALSE, &error));
  back = som_map_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (som_map_get_array (back, "projection")->shape[0], ==, 3);
  g_assert_cmpmem (som_map_get_array (back, "projection")->data, sizeof p, p, sizeof p);
  g_clear_pointer (&y, som_array_free);
  y = som_map_transform_features (back, x, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (((float *) y->data)[1], ==, 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/som-map/bmus-by-hand", test_bmus_by_hand);
  g_test_add_func ("/som-map/topographic-error", test_topographic_error);
  g_test_add_func ("/som-map/umatrix-by-hand", test_umatrix_by_hand);
  g_test_add_func ("/som-map/hits-and-classes", test_hits_and_classes);
  g_test_add_func ("/som-map/npz-round-trip", test_npz_round_trip);
  g_test_add_func ("/som-map/cod-round-trip", test_cod_round_trip);
  g_test_add_func ("/som-map/cod-som-pak", test_cod_somppak);
  g_test_add_func ("/som-map/cod-malformed", test_cod_malformed);
  g_test_add_func ("/som-map/npz-malformed", test_npz_malformed);
  g_test_add_func ("/som-map/transform-features", test_transform_features);
  return g_test_run ();
}
