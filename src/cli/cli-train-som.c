/* cli-train-som.c: somscope-cli train-som and convert
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <cblas.h>

#include "cli-commands.h"

static void
add_float_list (JsonBuilder *b, const char *name, const SomArray *a)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (gsize i = 0; a != NULL && i < som_array_n_elements (a); i++)
    {
      double v = ((const float *) a->data)[i];
      if (isfinite (v))
        json_builder_add_double_value (b, v);
      else
        json_builder_add_null_value (b);
    }
  json_builder_end_array (b);
}

/* Labels: --labels, or the "labels" member beside an INPUT FILE.npz:member. */
static SomArray *
load_labels (const char *labels_spec, const char *input, gsize n, GError **error)
{
  g_autoptr(SomArray) raw = NULL;
  SomArray *labels;

  if (labels_spec != NULL)
    {
      raw = som_array_load_spec (labels_spec, error);
      if (raw == NULL)
        return NULL;
    }
  else
    {
      const char *colon = strstr (input, ".npz:");
      g_autofree char *file = NULL;
      g_autoptr(SomNpzReader) r = NULL;

      if (colon == NULL)
        return NULL;
      file = g_strndup (input, colon + 4 - input);
      r = som_npz_reader_open (file, NULL);
      if (r == NULL || !som_npz_reader_has_array (r, "labels"))
        return NULL;
      raw = som_npz_reader_read_array (r, "labels", error);
      if (raw == NULL)
        return NULL;
      labels_spec = "labels";
    }
  labels = som_array_to_i32 (raw, error);
  if (labels == NULL)
    return NULL;
  if (labels->ndim != 1 || labels->shape[0] != n)
    {
      g_autofree char *shape = som_array_shape_string (labels);
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: labels have shape %s, the data have %zu rows",
                   labels_spec, shape, n);
      som_array_free (labels);
      return NULL;
    }
  for (gsize i = 0; i < n; i++)
    if (((gint32 *) labels->data)[i] < 0 || ((gint32 *) labels->data)[i] > 65535)
      {
        g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: label %zu is %d, expected a class index 0…65535",
                     labels_spec, i, ((gint32 *) labels->data)[i]);
        som_array_free (labels);
        return NULL;
      }
  return labels;
}

int
cli_cmd_train_som (CliContext *ctx, int argc, char **argv)
{
  g_autofree char *labels_spec = NULL, *topology = NULL, *mode = NULL, *init = NULL, *neighborhood = NULL;
  g_autofree char *cooling = NULL, *distance = NULL, *codes = NULL, *project = NULL, *nonfinite = NULL;
  g_autofree char *out = NULL, *seed_text = NULL;
  int rows = 0, cols = 0, epochs = 10, chunk = 0;
  double radius0 = 0, radius1 = 1, alpha0 = 0.5;
  gboolean toroidal = FALSE, standardize = FALSE, compress = FALSE;
  const GOptionEntry entries[] = {
    { "labels", 0, 0, G_OPTION_ARG_FILENAME, &labels_spec, "Class per row: Y.npy or FILE.npz:member", "L" },
    { "rows", 0, 0, G_OPTION_ARG_INT, &rows, "Map rows (required)", "R" },
    { "cols", 0, 0, G_OPTION_ARG_INT, &cols, "Map columns (required)", "C" },
    { "topology", 0, 0, G_OPTION_ARG_STRING, &topology, "hex (default) or rect", "hex|rect" },
    { "toroidal", 0, 0, G_OPTION_ARG_NONE, &toroidal, "Wrap the map around (a torus)", NULL },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Training epochs (default 10)", "E" },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, "batch (default) or online", "batch|online" },
    { "init", 0, 0, G_OPTION_ARG_STRING, &init, "pca (default) or random", "pca|random" },
    { "neighborhood", 0, 0, G_OPTION_ARG_STRING, &neighborhood, "gaussian (default), bubble, cut-gaussian, epanechnikov", "N" },
    { "radius0", 0, 0, G_OPTION_ARG_DOUBLE, &radius0, "Starting radius (default max(R, C)/2)", "R0" },
    { "radius1", 0, 0, G_OPTION_ARG_DOUBLE, &radius1, "Final radius (default 1)", "R1" },
    { "cooling", 0, 0, G_OPTION_ARG_STRING, &cooling, "linear (default), exponential or inverse", "C" },
    { "alpha0", 0, 0, G_OPTION_ARG_DOUBLE, &alpha0, "Online learning rate at the start (default 0.5)", "A" },
    { "distance", 0, 0, G_OPTION_ARG_STRING, &distance, "euclidean (default) or cosine", "D" },
    { "codes", 0, 0, G_OPTION_ARG_STRING, &codes, "N×C×H×W input: mean (default, channel means) or flatten", "mean|flatten" },
    { "project", 0, 0, G_OPTION_ARG_STRING, &project, "Project to D dimensions first: pca:D or random:D", "P" },
    { "standardize", 0, 0, G_OPTION_ARG_NONE, &standardize, "z-score every feature", NULL },
    { "nonfinite", 0, 0, G_OPTION_ARG_STRING, &nonfinite, "Rows with NaN/Inf: error (default) or skip", "error|skip" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Random seed (default 0)", "S" },
    { "chunk", 0, 0, G_OPTION_ARG_INT, &chunk, "Rows per BLAS call (default: about 32 MB)", "N" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output SOM.npz or MAP.cod (required)", "FILE" },
    { "compress", 0, 0, G_OPTION_ARG_NONE, &compress, "Deflate the .npz members", NULL },
    { NULL }
  };
  SomTrainParams params;
  SomCodes codes_mode = SOM_CODES_MEAN;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomArray) input = NULL;
  g_autoptr(SomArray) x = NULL;
  g_autoptr(SomArray) labels = NULL;
  g_autoptr(SomArray) fmean = NULL, fstd = NULL, basis = NULL, pmean = NULL;
  g_autoptr(SomChunkSource) source = NULL;
  g_autoptr(SomMap) map = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(JsonNode) provenance = NULL;
  g_autofree guint8 *valid = NULL;
  gsize n_valid = 0;
  const char *input_spec;
  int threads;

  if (!cli_parse (ctx, &argc, &argv, "INPUT", "Train a self-organizing map on an N×D (or N×C×H×W) matrix.",
                  entries, TRUE))
    return CLI_EXIT_USAGE;
  if (argc != 2)
    return cli_usage_error (ctx, "expected one INPUT (X.npy or FILE.npz:member)");
  input_spec = argv[1];
  if (rows <= 0 || cols <= 0)
    return cli_usage_error (ctx, "--rows and --cols are required and must be positive");
  if (out == NULL)
    return cli_usage_error (ctx, "--out SOM.npz|MAP.cod is required");
  if (!g_str_has_suffix (out, ".npz") && !g_str_has_suffix (out, ".cod"))
    return cli_usage_error (ctx, "--out must end in .npz or .cod");
  if (epochs <= 0 || epochs > 100000)
    return cli_usage_error (ctx, "--epochs must be between 1 and 100000");
  if (chunk < 0)
    return cli_usage_error (ctx, "--chunk must be positive");

  som_train_params_init (&params);
  params.rows = rows;
  params.cols = cols;
  params.toroidal = toroidal;
  params.epochs = epochs;
  params.radius0 = radius0;
  params.radius1 = radius1;
  params.alpha0 = alpha0;
  params.chunk_rows = chunk;
  if (topology != NULL && !som_topology_from_string (topology, &params.topology))
    return cli_usage_error (ctx, "--topology must be hex or rect, not '%s'", topology);
  if (mode != NULL && !som_mode_from_string (mode, &params.mode))
    return cli_usage_error (ctx, "--mode must be batch or online, not '%s'", mode);
  if (init != NULL && !som_init_from_string (init, &params.init))
    return cli_usage_error (ctx, "--init must be pca or random, not '%s'", init);
  if (neighborhood != NULL && !som_neighborhood_from_string (neighborhood, &params.neighborhood))
    return cli_usage_error (ctx, "--neighborhood must be gaussian, bubble, cut-gaussian or epanechnikov, not '%s'",
                            neighborhood);
  if (cooling != NULL && !som_cooling_from_string (cooling, &params.cooling))
    return cli_usage_error (ctx, "--cooling must be linear, exponential or inverse, not '%s'", cooling);
  if (distance != NULL && !som_distance_from_string (distance, &params.distance))
    return cli_usage_error (ctx, "--distance must be euclidean or cosine, not '%s'", distance);
  if (nonfinite != NULL && !som_nonfinite_from_string (nonfinite, &params.nonfinite))
    return cli_usage_error (ctx, "--nonfinite must be error or skip, not '%s'", nonfinite);
  if (codes != NULL)
    {
      if (g_str_equal (codes, "flatten"))
        codes_mode = SOM_CODES_FLATTEN;
      else if (!g_str_equal (codes, "mean"))
        return cli_usage_error (ctx, "--codes must be mean or flatten, not '%s'", codes);
    }
  if (seed_text != NULL)
    {
      char *end;
      params.seed = g_ascii_strtoull (seed_text, &end, 10);
      if (*end != '\0' || seed_text[0] == '-' || seed_text[0] == '\0' || params.seed > G_MAXINT64)
        return cli_usage_error (ctx, "--seed must be a non-negative integer, not '%s'", seed_text);
    }
  if (radius0 < 0 || !(radius1 > 0) || !(alpha0 > 0) || alpha0 > 1)
    return cli_usage_error (ctx, "--radius0 ≥ 0, --radius1 > 0 and 0 < --alpha0 ≤ 1 are required");
  {
    g_autoptr(SomGrid) grid = som_grid_new (rows, cols, params.topology, toroidal, &error);
    if (grid == NULL)
      return cli_usage_error (ctx, "%s", error->message);
  }

  threads = cli_threads (ctx);

  input = som_array_load_spec (input_spec, &error);
  if (input == NULL)
    return cli_fail_error (error);
  x = som_features_codes (input, codes_mode, input_spec, &error);
  if (x == NULL)
    return cli_fail_error (error);
  g_clear_pointer (&input, som_array_free);
  if (x->shape[0] == 0)
    return cli_fail ("%s: no rows to train on", input_spec);
  if (labels_spec != NULL || strstr (input_spec, ".npz:") != NULL)
    {
      labels = load_labels (labels_spec, input_spec, x->shape[0], &error);
      if (labels == NULL && error != NULL)
        return cli_fail_error (error);
    }
  if (!som_features_check_finite (x, params.nonfinite, input_spec, &valid, &n_valid, &error))
    return cli_fail_error (error);
  if (n_valid == 0)
    return cli_fail ("%s: every row has a NaN or Inf; nothing to train on", input_spec);
  if (standardize)
    som_features_standardize (x, valid, &fmean, &fstd);
  if (project != NULL)
    {
      g_autoptr(SomArray) projected = NULL;
      char *end = NULL;
      guint64 d = 0;
      const char *colon = strchr (project, ':');

      if (colon != NULL)
        d = g_ascii_strtoull (colon + 1, &end, 10);
      if (colon == NULL || end == colon + 1 || *end != '\0' || d == 0 || d > G_MAXUINT32)
        return cli_usage_error (ctx, "--project must be pca:D or random:D with D > 0, not '%s'", project);
      if (g_str_has_prefix (project, "pca:"))
        projected = som_features_project_pca (x, valid, (guint) d, &basis, &pmean, &error);
      else if (g_str_has_prefix (project, "random:"))
        projected = som_features_project_random (x, (guint) d, params.seed, &basis, &error);
      else
        return cli_usage_error (ctx, "--project must be pca:D or random:D, not '%s'", project);
      if (projected == NULL)
        return cli_fail ("%s: %s", input_spec, error->message);
      g_clear_pointer (&x, som_array_free);
      x = g_steal_pointer (&projected);
    }
  if (valid != NULL)
    params.nonfinite = SOM_NONFINITE_SKIP;

  source = som_chunk_source_new_for_array (g_steal_pointer (&x));
  map = som_trainer_train (&params, source, labels, NULL, cli_progress, ctx, &error);
  cli_progress_done (ctx);
  if (map == NULL)
    return cli_fail ("%s: %s", input_spec, error->message);
  if (nonfinite == NULL || g_str_equal (nonfinite, "error"))
    {
      /* Record what the user asked for, not the internal switch. */
      SomTrainParams p = *som_map_get_params (map);
      p.nonfinite = SOM_NONFINITE_ERROR;
      som_map_set_params (map, &p);
    }

  som_map_set_standardize (map, standardize);
  if (fmean != NULL)
    {
      som_map_take_array (map, "feature_mean", g_steal_pointer (&fmean));
      som_map_take_array (map, "feature_std", g_steal_pointer (&fstd));
    }
  if (basis != NULL)
    som_map_take_array (map, "projection", g_steal_pointer (&basis));
  if (pmean != NULL)
    som_map_take_array (map, "projection_mean", g_steal_pointer (&pmean));
  if (labels != NULL)
    {
      const SomArray *ch = som_map_get_array (map, "class_hits");
      guint k = ch ? (guint) ch->shape[0] : 0;
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *lower = g_ascii_strdown (input_spec, -1);
      gboolean fashion = strstr (lower, "fashion") != NULL && k <= 10;
      const char * const *fashion_names = som_fashion_mnist_class_names ();

      for (guint c = 0; c < k; c++)
        g_ptr_array_add (names, fashion ? g_strdup (fashion_names[c]) : g_strdup_printf ("%u", c));
      g_ptr_array_add (names, NULL);
      som_map_set_class_names (map, (const char * const *) names->pdata);
    }
  provenance = cli_provenance_node (ctx);
  {
    JsonObject *po = json_node_get_object (provenance);
    json_object_set_int_member (po, "seed", (gint64) params.seed);
    json_object_set_string_member (po, "input", input_spec);
  }
  som_map_set_provenance (map, provenance);

  if (!som_map_save (map, out, compress, &error))
    return cli_fail_error (error);

  if (ctx->json)
    {
      b = json_builder_new ();
      json_builder_begin_object (b);
      som_json_add_number (b, "seconds_per_epoch", som_map_get_seconds_per_epoch (map));
      som_json_add_number (b, "quantization_error", som_map_get_quantization_error (map));
      som_json_add_number (b, "topographic_error", som_map_get_topographic_error (map));
      add_float_list (b, "qe_per_epoch", som_map_get_array (map, "qe_per_epoch"));
      add_float_list (b, "te_per_epoch", som_map_get_array (map, "te_per_epoch"));
      json_builder_set_member_name (b, "epochs");
      json_builder_add_int_value (b, params.epochs);
      json_builder_set_member_name (b, "rows");
      json_builder_add_int_value (b, params.rows);
      json_builder_set_member_name (b, "cols");
      json_builder_add_int_value (b, params.cols);
      json_builder_set_member_name (b, "count");
      json_builder_add_int_value (b, (gint64) n_valid);
      json_builder_set_member_name (b, "dim");
      json_builder_add_int_value (b, som_map_get_dim (map));
      json_builder_set_member_name (b, "threads");
      json_builder_add_int_value (b, threads);
      json_builder_end_object (b);
      cli_print_json (b);
    }
  else
    cli_message (ctx, "%s: %u×%u map of %u features, QE %.6g, TE %.4f, %.3g s per epoch",
                 out, params.rows, params.cols, som_map_get_dim (map), som_map_get_quantization_error (map),
                 som_map_get_topographic_error (map), som_map_get_seconds_per_epoch (map));
  return CLI_EXIT_OK;
}

int
cli_cmd_convert (CliContext *ctx, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SomMap) map = NULL;
  gboolean compress = FALSE;
  const GOptionEntry entries[] = {
    { "compress", 0, 0, G_OPTION_ARG_NONE, &compress, "Deflate the .npz members", NULL },
    { NULL }
  };

  if (!cli_parse (ctx, &argc, &argv, "IN OUT",
                  "Convert a map between SOM.npz and SOM_PAK .cod (by extension).", entries, FALSE))
    return CLI_EXIT_USAGE;
  if (argc != 3)
    return cli_usage_error (ctx, "expected IN and OUT");
  if (!g_str_has_suffix (argv[2], ".npz") && !g_str_has_suffix (argv[2], ".cod"))
    return cli_usage_error (ctx, "OUT must end in .npz or .cod");
  map = som_map_load (argv[1], &error);
  if (map == NULL)
    return cli_fail_error (error);
  if (!som_map_save (map, argv[2], compress, &error))
    return cli_fail_error (error);
  return CLI_EXIT_OK;
}
