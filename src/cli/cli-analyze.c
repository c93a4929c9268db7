/* cli-analyze.c: somscope-cli analyze — one SOM per layer, clean and
 * adversarial, with the homogeneity metrics, trajectories and trends
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <cblas.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>

#include "cli-attack-options.h"
#include "cli-commands.h"
#include "cli-dataset.h"

typedef enum { CODES_MEAN, CODES_FLATTEN, CODES_PCA, CODES_RANDOM } CodesMode;

typedef struct
{
  CodesMode mode;
  guint     dim;      /* pca:D / random:D */
  char     *text;
} CodesSpec;

static gboolean
parse_codes (const char *text, CodesSpec *spec)
{
  spec->dim = 0;
  if (text == NULL || g_strcmp0 (text, "mean") == 0)
    spec->mode = CODES_MEAN;
  else if (g_strcmp0 (text, "flatten") == 0)
    spec->mode = CODES_FLATTEN;
  else if (g_str_has_prefix (text, "pca:") || g_str_has_prefix (text, "random:"))
    {
      const char *num = strchr (text, ':') + 1;
      char *end = NULL;
      guint64 d = g_ascii_strtoull (num, &end, 10);
      if (end == num || *end != '\0' || d == 0 || d > 100000)
        return FALSE;
      spec->mode = text[0] == 'p' ? CODES_PCA : CODES_RANDOM;
      spec->dim = d;
    }
  else
    return FALSE;
  return TRUE;
}

typedef struct
{
  SomModel                *model;
  const SomPixelTransform *tf;
  const SomArray          *pixels;
  const guint             *taps;
  guint                    n_taps;
  gboolean                 flatten;
  SomArray               **codes;
  gint32                  *predictions;   /* N, or NULL */
  gsize                    offset;
} CodesJob;

static gboolean
codes_batch (gsize s, gsize n, gpointer data, GError **error)
{
  CodesJob *j = data;
  gsize N = j->pixels->shape[0];
  g_autoptr(SomArray) part = NULL;
  g_autoptr(SomArray) in = NULL;
  g_autoptr(GPtrArray) tv = NULL;
  g_autoptr(SomArray) out = NULL;

  s += j->offset;
  part = som_array_slice_rows (j->pixels, s, n);
  in = som_pixel_transform_apply (j->tf, part);
  /* Means are taken inside the pass: no tap outlives its last consumer. */
  if (j->flatten)
    out = som_model_run_images (j->model, in, j->taps, j->n_taps, &tv, NULL, error);
  else
    out = som_model_run_images_means (j->model, in, j->taps, j->n_taps, &tv, NULL, error);
  if (out == NULL)
    return FALSE;
  if (j->predictions != NULL
      && !cli_argmax_rows (out, n, j->predictions + s, som_model_get_path (j->model), s, error))
    return FALSE;
  for (guint t = 0; t < j->n_taps; t++)
    {
      const SomLayer *l = som_model_get_layer (j->model, j->taps[t]);
      g_autoptr(SomArray) c = som_features_codes (g_ptr_array_index (tv, t),
                                                  j->flatten ? SOM_CODES_FLATTEN : SOM_CODES_MEAN, l->name, error);
      if (c == NULL)
        return FALSE;
      if (j->codes[t] == NULL)
        {
          /* the first batch runs alone and sizes the arrays */
          j->codes[t] = som_array_new (SOM_DTYPE_F32, 2, (gsize[]) { N, c->shape[1] }, error);
          if (j->codes[t] == NULL)
            {
              g_prefix_error (error, "layer %s: the codes (try --codes mean or --limit): ", l->name);
              return FALSE;
            }
        }
      memcpy ((float *) j->codes[t]->data + s * c->shape[1], c->data, som_array_n_bytes (c));
    }
  return TRUE;
}

/* Codes of every tap for N pixel images, in data-parallel batches: the
 * channel means (mean) or the flattened activation (flatten, and the input
 * of pca/random), and the model's predictions when @predictions is given. */
static gboolean
collect_codes (SomModel *model, const SomPixelTransform *tf, const SomArray *pixels, const guint *taps,
               guint n_taps, gboolean flatten, guint batch, SomArray **codes, gint32 *predictions,
               GError **error)
{
  gsize N = pixels->shape[0], first = MIN ((gsize) batch, N);
  CodesJob j = { model, tf, pixels, taps, n_taps, flatten, codes, predictions, 0 };

  for (guint t = 0; t < n_taps; t++)
    codes[t] = NULL;
  if (!codes_batch (0, first, &j, error))
    return FALSE;
  j.offset = first;
  return som_batch_parallel (N - first, batch, codes_batch, &j, NULL, error);
}

/* (x − mean)·basis for the rows of @x (mean may be NULL). */
static SomArray *
apply_basis (const SomArray *x, const SomArray *basis, const SomArray *mean)
{
  gsize N = x->shape[0], D = x->shape[1], K = basis->shape[1];
  g_autoptr(SomArray) xc = som_array_copy (x);
  SomArray *out = som_array_new_2d_f32 (N, K);

  if (mean != NULL)
    for (gsize i = 0; i < N; i++)
      for (gsize d = 0; d < D; d++)
        ((float *) xc->data)[i * D + d] -= ((const float *) mean->data)[d];
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, N, K, D, 1.0f, xc->data, D, basis->data, K, 0.0f,
               out->data, K);
  return out;
}

/* pca:D / random:D, fitted on the clean codes and applied to the others. */
static gboolean
project_codes (const CodesSpec *spec, guint64 seed, SomArray **clean, SomArray **adv, SomArray **train,
               const char *name, GError **error)
{
  g_autoptr(SomArray) basis = NULL;
  g_autoptr(SomArray) mean = NULL;
  SomArray *p;

  if (spec->dim > (*clean)->shape[1])
    {
      g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "layer %s: --codes %s asks for %u dimensions, the layer "
                   "has %" G_GSIZE_FORMAT, name, spec->text, spec->dim, (*clean)->shape[1]);
      return FALSE;
    }
  if (spec->mode == CODES_PCA)
    p = som_features_project_pca (*clean, NULL, spec->dim, &basis, &mean, error);
  else
    p = som_features_project_random (*clean, spec->dim, seed, &basis, error);
  if (p == NULL)
    {
      g_prefix_error (error, "layer %s: ", name);
      return FALSE;
    }
  som_array_free (*clean);
  *clean = p;
  if (*adv != NULL)
    {
      SomArray *q = apply_basis (*adv, basis, mean);
      som_array_free (*adv);
      *adv = q;
    }
  if (*train != NULL)
    {
      SomArray *q = apply_basis (*train, basis, mean);
      som_array_free (*train);
      *train = q;
    }
  return TRUE;
}

static JsonNode *
shape_json (guint ndim, const gint64 *shape)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  for (guint d = 0; d < ndim; d++)
    if (d == 0 || shape[d] < 0)
      json_builder_add_null_value (b);
    else
      json_builder_add_int_value (b, shape[d]);
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

static gboolean
write_text (const char *dir, const char *name, const char *text, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  return som_file_set_contents_atomic (path, text, strlen (text), error);
}

static SomArray *
i32_copy (const gint32 *v, gsize n)
{
  SomArray *a = som_array_new_1d_i32 (n);
  memcpy (a->data, v, n * sizeof (gint32));
  return a;
}

static gboolean
write_session (CliContext *ctx, SomAnalysis *an, const char *path, const char *model_path,
               const char *dataset_path, const char *activations_path, JsonNode *preprocessing,
               const SomAttackParams *attack, const gint32 *labels, const gint32 *pred, const gint32 *adv_pred,
               gsize n, JsonNode *metrics, GError **error)
{
  g_autoptr(SomSession) s = som_session_new ();
  g_autoptr(JsonNode) prov = cli_provenance_node (ctx);

  som_session_set_provenance (s, prov);
  som_session_set_seed (s, 0);
  if (attack != NULL)
    {
      g_autoptr(JsonNode) at = som_attack_params_to_json (attack);
      som_session_set_attack (s, at);
    }
  else
    som_session_set_attack (s, NULL);
  if (model_path != NULL && !som_session_set_model (s, model_path, NULL, error))
    return FALSE;
  if (dataset_path != NULL && !som_session_set_dataset (s, dataset_path, NULL, preprocessing, n, error))
    return FALSE;
  if (activations_path != NULL && !som_session_set_activations (s, activations_path, NULL, error))
    return FALSE;
  if (!som_session_take_array (s, SOM_SESSION_LABELS, i32_copy (labels, n), error))
    return FALSE;
  if (pred != NULL && !som_session_take_array (s, SOM_SESSION_PREDICTIONS, i32_copy (pred, n), error))
    return FALSE;
  if (adv_pred != NULL && !som_session_take_array (s, SOM_SESSION_ADVERSARIAL_PREDICTIONS, i32_copy (adv_pred, n),
                                                   error))
    return FALSE;
  {
    gsize shape[1] = { n };
    SomArray *split = som_array_new (SOM_DTYPE_U8, 1, shape, NULL);
    memcpy (split->data, som_analysis_get_split (an), n);
    if (!som_session_take_array (s, SOM_SESSION_SPLIT, split, error))
      return FALSE;
  }
  for (guint l = 0; l < som_analysis_get_n_layers (an); l++)
    {
      const SomAnalysisLayer *ly = som_analysis_get_layer (an, l);
      SomMap *map = som_analysis_get_map (an, l);
      g_autoptr(JsonNode) meta = som_map_meta_to_json (map);
      const gint32 *b = som_analysis_get_bmus (an, l, FALSE), *ba = som_analysis_get_bmus (an, l, TRUE);
      int pos = som_session_add_layer (s, ly->index, ly->name, ly->op, ly->shape, meta, error);
      const SomArray *qe = som_map_get_array (map, "qe_per_epoch"), *te = som_map_get_array (map, "te_per_epoch");
      if (pos < 0)
        return FALSE;
      if (!som_session_set_layer_array (s, pos, SOM_LAYER_CODEBOOK, som_map_get_codebook_array (map), error)
          || !som_session_take_layer_array (s, pos, SOM_LAYER_BMUS, i32_copy (b, n), error)
          || !som_session_take_layer_array (s, pos, SOM_LAYER_HITS, som_map_hits (map, b, n), error)
          || !som_session_take_layer_array (s, pos, SOM_LAYER_UMATRIX, som_map_umatrix (map, SOM_UMATRIX_MEAN), error)
          || !som_session_set_layer_array (s, pos, SOM_LAYER_CODES, ly->codes, error))
        return FALSE;
      if (qe != NULL && !som_session_set_layer_array (s, pos, SOM_LAYER_QE_PER_EPOCH, qe, error))
        return FALSE;
      if (te != NULL && !som_session_set_layer_array (s, pos, SOM_LAYER_TE_PER_EPOCH, te, error))
        return FALSE;
      if (ba != NULL && (!som_session_take_layer_array (s, pos, SOM_LAYER_BMUS_ADVERSARIAL, i32_copy (ba, n), error)
                         || !som_session_set_layer_array (s, pos, SOM_LAYER_CODES_ADVERSARIAL,
                                                          ly->codes_adversarial, error)))
        return FALSE;
    }
  som_session_set_metrics (s, metrics);
  return som_session_save (s, path, error);
}

/* DIR/figures/ through the `figure` command (the figures helper's renderers). */
static guint
write_figures (CliContext *ctx, const char *dir, gboolean adversarial)
{
  const char *views[][2] = {
    { "umatrix", "umatrix.png" }, { "hits", "hits.png" }, { "classes", "classes.png" },
    { "metric", "hit-entropy.png" }, { "trajectory", "trajectory.png" },
  };
  g_autofree char *session = g_build_filename (dir, "session.somscope", NULL);
  g_autofree char *fdir = g_build_filename (dir, "figures", NULL);
  guint written = 0;

  if (g_mkdir_with_parents (fdir, 0755) != 0)
    return 0;
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    {
      g_autofree char *out = g_build_filename (fdir, views[i][1], NULL);
      g_autoptr(GPtrArray) args = g_ptr_array_new ();
      CliContext sub = *ctx;
      if (strcmp (views[i][0], "trajectory") == 0 && !adversarial)
        continue;
      g_ptr_array_add (args, (char *) "somscope-cli");
      g_ptr_array_add (args, (char *) "figure");
      g_ptr_array_add (args, session);
      g_ptr_array_add (args, (char *) "--view");
      g_ptr_array_add (args, (char *) views[i][0]);
      if (strcmp (views[i][0], "metric") == 0)
        {
          g_ptr_array_add (args, (char *) "--metric");
          g_ptr_array_add (args, (char *) "hit_entropy_normalized");
        }
      else if (strcmp (views[i][0], "trajectory") != 0)
        g_ptr_array_add (args, (char *) "--all-layers");
      g_ptr_array_add (args, (char *) "--out");
      g_ptr_array_add (args, out);
      g_ptr_array_add (args, NULL);
      sub.json = FALSE;
      sub.quiet = TRUE;
      sub.command = "figure";
      sub.argc = args->len - 1;
      sub.argv = (char **) args->pdata;
      {
        g_autofree char **argv = g_memdup2 (args->pdata, args->len * sizeof (char *));
        if (cli_cmd_figure (&sub, sub.argc - 1, argv + 1) == CLI_EXIT_OK)
          written++;
      }
    }
  return written;
}

int
cli_cmd_analyze (CliContext *ctx, int argc, char **argv)
{
  CliDatasetOptions dopts = { 0 };
  CliAttackOptions aopts;
  char *out = NULL, *activations = NULL, *attack = NULL, *train = NULL, *codes_text = NULL, *layers_arg = NULL;
  char *topology = NULL;
  char **layer_args = NULL;
  int rows = 20, cols = 20, epochs = 20, seeds = 3;
  gboolean no_figures = FALSE;
  g_autofree GOptionEntry *aentries = NULL;
  g_autofree GOptionEntry *own = NULL;
  g_autofree GOptionEntry *entries = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(SomDataset) dataset = NULL;
  g_autoptr(SomDataset) train_ds = NULL;
  g_autoptr(SomPreprocess) pp = NULL;
  g_autoptr(SomPreprocess) train_pp = NULL;
  g_autoptr(SomActivations) acts = NULL;
  g_autoptr(SomArray) pixels = NULL;
  g_autoptr(SomArray) adv_pixels = NULL;
  g_autoptr(SomArray) train_pixels = NULL;
  g_autoptr(GArray) taps = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(SomAnalysis) an = NULL;
  g_autoptr(JsonNode) metrics = NULL;
  g_autoptr(JsonNode) settings = NULL;
  g_autoptr(GTimer) timer = g_timer_new ();
  g_autofree gint32 *labels = NULL;
  g_autofree gint32 *pred = NULL;
  g_autofree gint32 *adv_pred = NULL;
  g_autofree gint32 *train_labels = NULL;
  const char * const *class_names = NULL;
  SomPixelTransform tf;
  SomAnalysisSettings as = { 0 };
  SomAttackStats st = { 0 };
  CodesSpec codes = { 0 };
  gboolean do_attack;
  gsize n = 0, n_train = 0;
  guint n_classes = 0, figures = 0;
  double t_attack = 0, t_codes = 0, t_maps = 0, t_write = 0, t0;
  int ret = CLI_EXIT_OK;

  cli_attack_options_init (&aopts);
  aentries = cli_attack_entries (&aopts, FALSE);
  {
    const GOptionEntry extra[] = {
      { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Folder for metrics.json, metrics.csv, report.md, session.somscope, figures/", "DIR" },
      { "activations", 0, 0, G_OPTION_ARG_FILENAME, &activations, "Analyze the layers of this .npz instead of running a model", "FILE.npz" },
      { "layer", 0, 0, G_OPTION_ARG_STRING_ARRAY, &layer_args, "A layer by ONNX name or index (repeatable; default: the default taps)", "NAME" },
      { "layers", 0, 0, G_OPTION_ARG_STRING, &layers_arg, "Layers as a comma list, \"all\" or \"default\"", "A,B,C" },
      { "rows", 0, 0, G_OPTION_ARG_INT, &rows, "Map rows (default 20)", "R" },
      { "cols", 0, 0, G_OPTION_ARG_INT, &cols, "Map columns (default 20)", "C" },
      { "topology", 0, 0, G_OPTION_ARG_STRING, &topology, "hex (default) or rect", "hex|rect" },
      { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Training epochs of every map (default 20)", "E" },
      { "attack", 0, 0, G_OPTION_ARG_STRING, &attack, "fgsm (default), pgd or none", "fgsm|pgd|none" },
      { "seeds", 0, 0, G_OPTION_ARG_INT, &seeds, "Seeds 0…S−1: splits and map initialisations (default 3)", "S" },
      { "train", 0, 0, G_OPTION_ARG_FILENAME, &train, "Train the maps on this dataset; DATASET is then the held-out part", "DATASET2" },
      { "codes", 0, 0, G_OPTION_ARG_STRING, &codes_text, "mean (default), flatten, pca:D or random:D", "MODE" },
      { "no-figures", 0, 0, G_OPTION_ARG_NONE, &no_figures, "Do not write DIR/figures/", NULL },
      { NULL }
    };
    own = cli_entries_concat (aentries, extra);
  }
  entries = cli_dataset_entries (&dopts, own);
  if (!cli_parse (ctx, &argc, &argv, "(MODEL DATASET | --activations FILE.npz) --out DIR",
                  "The method of Lee & Vijayan: one SOM per layer (same settings for all), trained on 80 % of\n"
                  "the inputs (stratified, per seed) or on --train, evaluated on the rest; homogeneity and\n"
                  "label metrics for clean and adversarial inputs, BMU trajectories, and each metric's rank\n"
                  "correlation with depth.  Writes DIR/metrics.json, metrics.csv, report.md, session.somscope\n"
                  "and figures/.",
                  entries, TRUE))
    {
      ret = CLI_EXIT_USAGE;
      goto done;
    }
  if (out == NULL)
    {
      ret = cli_usage_error (ctx, "--out DIR is required");
      goto done;
    }
  if ((activations == NULL && argc != 3) || (activations != NULL && argc != 1))
    {
      ret = cli_usage_error (ctx, "expected MODEL DATASET, or --activations FILE.npz alone");
      goto done;
    }
  if (rows < 1 || cols < 1 || rows * cols < 2 || rows > 1000 || cols > 1000)
    {
      ret = cli_usage_error (ctx, "--rows/--cols: a map needs R·C ≥ 2 and R, C ≤ 1000");
      goto done;
    }
  if (epochs < 1 || seeds < 1 || seeds > 100)
    {
      ret = cli_usage_error (ctx, "--epochs must be ≥ 1 and --seeds between 1 and 100");
      goto done;
    }
  if (!parse_codes (codes_text, &codes))
    {
      ret = cli_usage_error (ctx, "--codes must be mean, flatten, pca:D or random:D, not '%s'", codes_text);
      goto done;
    }
  codes.text = codes_text != NULL ? codes_text : (char *) "mean";
  if (attack != NULL && g_strcmp0 (attack, "none") != 0 && g_strcmp0 (attack, "fgsm") != 0
      && g_strcmp0 (attack, "pgd") != 0)
    {
      ret = cli_usage_error (ctx, "--attack must be fgsm, pgd or none, not '%s'", attack);
      goto done;
    }
  if (activations != NULL && train != NULL)
    {
      ret = cli_usage_error (ctx, "--train needs a model (not --activations)");
      goto done;
    }
  aopts.method = g_strdup (attack != NULL && g_strcmp0 (attack, "pgd") == 0 ? "pgd" : "fgsm");
  if (!cli_dataset_check (ctx, &dopts) || !cli_attack_check (ctx, &aopts, FALSE))
    {
      ret = CLI_EXIT_USAGE;
      goto done;
    }
  aopts.params.eps = g_array_index (aopts.eps_list, double, aopts.eps_list->len - 1);
  do_attack = activations == NULL && g_strcmp0 (attack, "none") != 0;

  som_train_params_init (&as.som);
  as.som.rows = rows;
  as.som.cols = cols;
  as.som.epochs = epochs;
  if (topology != NULL && !som_topology_from_string (topology, &as.som.topology))
    {
      ret = cli_usage_error (ctx, "--topology must be hex or rect");
      goto done;
    }
  as.seeds = seeds;
  as.threads = cli_threads (ctx);
  as.target = do_attack ? aopts.params.target : -1;

  layers = g_ptr_array_new_with_free_func ((GDestroyNotify) som_analysis_layer_free);
  if (activations == NULL)
    {
      const SomValueInfo *oinfo;
      g_auto(GStrv) specs = NULL;

      model = som_model_load (argv[1], &error);
      if (model == NULL || !som_model_check_runnable (model, &error))
        goto fail;
      if (do_attack && !som_model_check_differentiable (model, &error))
        goto fail;
      oinfo = som_model_get_output (model, 0);
      n_classes = oinfo->ndim == 2 && oinfo->shape[1] > 0 ? oinfo->shape[1] : 0;
      if (do_attack && !som_attack_params_check (&aopts.params, n_classes, &error))
        {
          g_prefix_error (&error, "%s: ", argv[1]);
          goto fail;
        }
      {
        GPtrArray *sp = g_ptr_array_new ();
        for (guint i = 0; layer_args != NULL && layer_args[i] != NULL; i++)
          g_ptr_array_add (sp, g_strdup (layer_args[i]));
        if (layers_arg != NULL)
          g_ptr_array_add (sp, g_strdup (layers_arg));
        if (sp->len == 0)
          g_ptr_array_add (sp, g_strdup ("default"));
        g_ptr_array_add (sp, NULL);
        specs = (GStrv) g_ptr_array_free (sp, FALSE);
      }
      taps = som_model_resolve_layers (model, (const char * const *) specs, &error);
      if (taps == NULL)
        goto fail;
      if (taps->len == 0)
        {
          error = g_error_new (SOM_ERROR, SOM_ERROR_INVALID, "%s: no layers to analyze", argv[1]);
          goto fail;
        }
      dataset = cli_dataset_open (ctx, &dopts, argv[2], &error);
      if (dataset == NULL || !som_dataset_require_labels (dataset, &error))
        goto fail;
      pp = cli_dataset_preprocess (&dopts, dataset, model, &error);
      if (pp == NULL)
        goto fail;
      n = som_dataset_get_count (dataset);
      n_classes = MAX (n_classes, som_dataset_get_n_classes (dataset));
      class_names = som_dataset_get_class_names (dataset);
      labels = g_memdup2 (som_dataset_get_labels (dataset), n * sizeof (gint32));
      pixels = som_preprocess_read_pixels (pp, 0, n, &error);
      if (pixels == NULL)
        goto fail;
      som_pixel_transform_init_from_preprocess (&tf, pp);
      pred = g_new (gint32, MAX (n, 1));
      if (train != NULL)
        {
          CliDatasetOptions topts = dopts;
          topts.dataset.labels_path = NULL;
          /* --limit applies to both sets */
          train_ds = cli_dataset_open (ctx, &topts, train, &error);
          if (train_ds == NULL || !som_dataset_require_labels (train_ds, &error))
            goto fail;
          train_pp = cli_dataset_preprocess (&topts, train_ds, model, &error);
          if (train_pp == NULL)
            goto fail;
          n_train = som_dataset_get_count (train_ds);
          train_labels = g_memdup2 (som_dataset_get_labels (train_ds), n_train * sizeof (gint32));
          train_pixels = som_preprocess_read_pixels (train_pp, 0, n_train, &error);
          if (train_pixels == NULL)
            goto fail;
        }

      t0 = g_timer_elapsed (timer, NULL);
      {
        guint L = taps->len;
        g_autofree SomArray **cc = g_new0 (SomArray *, L);
        g_autofree SomArray **ca = g_new0 (SomArray *, L);
        g_autofree SomArray **ct = g_new0 (SomArray *, L);
        gboolean flat = codes.mode != CODES_MEAN;
        double tc;
        /* the clean pass gives the predictions too */
        gboolean ok = collect_codes (model, &tf, pixels, (guint *) taps->data, L, flat, ctx->batch_size, cc, pred,
                                     &error);
        tc = g_timer_elapsed (timer, NULL);
        if (ok && do_attack)
          {
            const gint32 *alab = aopts.params.labels_from == SOM_LABELS_MODEL ? pred : labels;
            adv_pred = g_new (gint32, MAX (n, 1));
            ok = som_attack_run (model, &aopts.params, &tf, pixels, alab, &adv_pixels, adv_pred, NULL,
                                 ctx->quiet ? NULL : cli_progress, ctx, &error);
            if (ok)
              som_attack_stats (labels, pred, adv_pred, pixels, adv_pixels, aopts.params.target, &st);
          }
        t_attack = g_timer_elapsed (timer, NULL) - tc;
        if (ok && adv_pixels != NULL)
          ok = collect_codes (model, &tf, adv_pixels, (guint *) taps->data, L, flat, ctx->batch_size, ca, NULL,
                              &error);
        if (ok && train_pixels != NULL)
          {
            SomPixelTransform ttf;
            som_pixel_transform_init_from_preprocess (&ttf, train_pp);
            ok = collect_codes (model, &ttf, train_pixels, (guint *) taps->data, L, flat, ctx->batch_size, ct,
                                NULL, &error);
          }
        for (guint t = 0; t < L; t++)
          {
            const SomLayer *sl = som_model_get_layer (model, g_array_index (taps, guint, t));
            SomAnalysisLayer *ly = som_analysis_layer_new (sl->index, sl->name, sl->op);
            ly->shape = shape_json (sl->ndim, sl->shape);
            if (ok && (codes.mode == CODES_PCA || codes.mode == CODES_RANDOM))
              ok = project_codes (&codes, 0, &cc[t], &ca[t], &ct[t], sl->name, &error);
            ly->codes = cc[t];
            ly->codes_adversarial = ca[t];
            ly->train_codes = ct[t];
            g_ptr_array_add (layers, ly);
          }
        if (!ok)
          goto fail;
      }
      t_codes = g_timer_elapsed (timer, NULL) - t0 - t_attack;
    }
  else
    {
      const SomArray *al;
      acts = som_activations_open (activations, &error);
      if (acts == NULL)
        goto fail;
      al = som_activations_get_labels (acts);
      if (al == NULL)
        {
          error = g_error_new (SOM_ERROR, SOM_ERROR_INVALID, "%s: has no labels (the analysis needs them)",
                               activations);
          goto fail;
        }
      n = som_activations_get_n_inputs (acts);
      labels = g_memdup2 (al->data, n * sizeof (gint32));
      for (gsize i = 0; i < n; i++)
        n_classes = MAX (n_classes, (guint) MAX (labels[i] + 1, 0));
      t0 = g_timer_elapsed (timer, NULL);
      for (guint p = 0; p < som_activations_get_n_layers (acts); p++)
        {
          g_autoptr(SomArray) raw = som_activations_read_layer (acts, p, &error);
          g_autoptr(SomArray) raw_adv = NULL;
          const char *name = som_activations_get_layer_name (acts, p);
          SomAnalysisLayer *ly = som_analysis_layer_new (som_activations_get_layer_index (acts, p), name,
                                                         som_activations_get_layer_op (acts, p));
          gsize shape[SOM_ARRAY_MAX_DIMS];
          gint64 sh[SOM_ARRAY_MAX_DIMS];
          guint nd = som_activations_get_layer_shape (acts, p, shape);
          SomArray *none = NULL;
          g_ptr_array_add (layers, ly);
          for (guint d = 0; d < nd; d++)
            sh[d] = shape[d];
          ly->shape = shape_json (nd, sh);
          if (raw == NULL)
            goto fail;
          ly->codes = som_features_codes (raw, codes.mode == CODES_MEAN ? SOM_CODES_MEAN : SOM_CODES_FLATTEN,
                                          name, &error);
          if (ly->codes == NULL)
            goto fail;
          if (som_activations_has_adversarial (acts, p))
            {
              raw_adv = som_activations_read_adversarial (acts, p, &error);
              if (raw_adv == NULL)
                goto fail;
              ly->codes_adversarial = som_features_codes (raw_adv, codes.mode == CODES_MEAN ? SOM_CODES_MEAN
                                                          : SOM_CODES_FLATTEN, name, &error);
              if (ly->codes_adversarial == NULL)
                goto fail;
            }
          if ((codes.mode == CODES_PCA || codes.mode == CODES_RANDOM)
              && !project_codes (&codes, 0, &ly->codes, &ly->codes_adversarial, &none, name, &error))
            goto fail;
        }
      if (layers->len == 0)
        {
          error = g_error_new (SOM_ERROR, SOM_ERROR_INVALID, "%s: holds no layers", activations);
          goto fail;
        }
      t_codes = g_timer_elapsed (timer, NULL) - t0;
    }
  as.n_classes = MAX (n_classes, 2);

  t0 = g_timer_elapsed (timer, NULL);
  {
    GPtrArray *taken = g_steal_pointer (&layers);
    an = som_analysis_run (taken, labels, n, train_labels, n_train, activations == NULL ? pred : NULL, adv_pred,
                           &as, NULL, ctx->quiet ? NULL : cli_progress, ctx, &error);
  }
  if (an == NULL)
    goto fail;
  if (!ctx->quiet)
    cli_progress_done (ctx);
  t_maps = g_timer_elapsed (timer, NULL) - t0;

  t0 = g_timer_elapsed (timer, NULL);
  {
    g_autoptr(JsonBuilder) b = json_builder_new ();
    g_autoptr(JsonNode) prov = cli_provenance_node (ctx);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "rows");
    json_builder_add_int_value (b, rows);
    json_builder_set_member_name (b, "cols");
    json_builder_add_int_value (b, cols);
    json_builder_set_member_name (b, "topology");
    json_builder_add_string_value (b, som_topology_to_string (as.som.topology));
    json_builder_set_member_name (b, "epochs");
    json_builder_add_int_value (b, epochs);
    json_builder_set_member_name (b, "codes");
    json_builder_add_string_value (b, codes.text);
    json_builder_set_member_name (b, "seeds");
    json_builder_add_int_value (b, seeds);
    json_builder_set_member_name (b, "split");
    json_builder_add_string_value (b, train != NULL ? "train dataset" : "80/20 stratified per seed");
    if (train != NULL)
      {
        json_builder_set_member_name (b, "train");
        json_builder_add_string_value (b, train);
      }
    json_builder_set_member_name (b, "som");
    {
      g_autoptr(JsonNode) meta = som_map_meta_to_json (som_analysis_get_map (an, 0));
      json_builder_add_value (b, g_steal_pointer (&meta));
    }
    json_builder_set_member_name (b, "attack");
    if (do_attack)
      json_builder_add_value (b, som_attack_params_to_json (&aopts.params));
    else
      json_builder_add_null_value (b);
    if (do_attack)
      {
        json_builder_set_member_name (b, "clean_accuracy");
        json_builder_add_double_value (b, st.clean_accuracy);
        json_builder_set_member_name (b, "adversarial_accuracy");
        json_builder_add_double_value (b, st.adversarial_accuracy);
        json_builder_set_member_name (b, "attack_success_rate");
        if (isfinite (st.attack_success_rate))
          json_builder_add_double_value (b, st.attack_success_rate);
        else
          json_builder_add_null_value (b);
      }
    if (activations == NULL)
      {
        json_builder_set_member_name (b, "preprocessing");
        json_builder_add_value (b, cli_dataset_preprocessing_json (&dopts));
      }
    json_builder_end_object (b);
    settings = json_builder_get_root (b);
    metrics = som_analysis_to_json (an, activations == NULL ? argv[1] : NULL,
                                    activations == NULL ? argv[2] : activations, settings, prov, class_names);
  }
  if (g_mkdir_with_parents (out, 0755) != 0)
    {
      error = g_error_new (SOM_ERROR, SOM_ERROR_IO, "%s: cannot create the folder: %s", out, g_strerror (errno));
      goto fail;
    }
  {
    g_autofree char *json = json_to_string (metrics, TRUE);
    g_autofree char *csv = som_metrics_to_csv (metrics, &error);
    g_autofree char *report = som_analysis_report_markdown (metrics);
    g_autofree char *session = g_build_filename (out, "session.somscope", NULL);
    if (csv == NULL)
      goto fail;
    if (!write_text (out, "metrics.json", json, &error) || !write_text (out, "metrics.csv", csv, &error)
        || !write_text (out, "report.md", report, &error))
      goto fail;
    g_autoptr(JsonNode) pre = cli_dataset_preprocessing_json (&dopts);
    if (!write_session (ctx, an, session, activations == NULL ? argv[1] : NULL,
                        activations == NULL ? argv[2] : NULL, activations, pre,
                        do_attack ? &aopts.params : NULL, labels, activations == NULL ? pred : NULL, adv_pred, n,
                        metrics, &error))
      goto fail;
    if (!no_figures)
      figures = write_figures (ctx, out, adv_pred != NULL);
  }
  t_write = g_timer_elapsed (timer, NULL) - t0;

  if (ctx->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "out");
      json_builder_add_string_value (b, out);
      json_builder_set_member_name (b, "layers");
      json_builder_add_int_value (b, som_analysis_get_n_layers (an));
      json_builder_set_member_name (b, "count");
      json_builder_add_int_value (b, n);
      json_builder_set_member_name (b, "figures");
      json_builder_add_int_value (b, figures);
      if (do_attack)
        {
          json_builder_set_member_name (b, "clean_accuracy");
          json_builder_add_double_value (b, st.clean_accuracy);
          json_builder_set_member_name (b, "adversarial_accuracy");
          json_builder_add_double_value (b, st.adversarial_accuracy);
        }
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, g_timer_elapsed (timer, NULL));
      json_builder_set_member_name (b, "timing");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "attack");
      json_builder_add_double_value (b, t_attack);
      json_builder_set_member_name (b, "codes");
      json_builder_add_double_value (b, t_codes);
      json_builder_set_member_name (b, "maps_and_metrics");
      json_builder_add_double_value (b, t_maps);
      json_builder_set_member_name (b, "writing");
      json_builder_add_double_value (b, t_write);
      json_builder_end_object (b);
      cli_add_provenance (ctx, b);
      json_builder_end_object (b);
      cli_print_json (b);
    }
  else
    printf ("%u layers, %" G_GSIZE_FORMAT " inputs: %s/metrics.json, metrics.csv, report.md, session.somscope, "
            "%u figures (%.1f s: attack %.1f, codes %.1f, maps %.1f, writing %.1f)\n",
            som_analysis_get_n_layers (an), n, out, figures, g_timer_elapsed (timer, NULL), t_attack, t_codes,
            t_maps, t_write);
  goto done;

fail:
  ret = cli_fail_error (error);
done:
  g_free (out);
  g_free (activations);
  g_free (attack);
  g_free (train);
  g_free (codes_text);
  g_free (layers_arg);
  g_free (topology);
  g_strfreev (layer_args);
  cli_dataset_options_clear (&dopts);
  cli_attack_options_clear (&aopts);
  return ret;
}
