/* cli-activations.c: somscope-cli activations MODEL DATASET --layer … --out FILE.npz
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli-commands.h"
#include "cli-dataset.h"

typedef enum
{
  CODES_RAW,
  CODES_MEAN,
} Codes;

typedef struct
{
  SomModel   *model;
  const char *model_path;
  GArray     *taps;          /* guint layer indices */
  Codes       codes;
  gsize       count;
  GPtrArray  *arrays;        /* SomArray*, one per tap: count × … */
  gsize      *row_size;      /* floats per image, per tap */
  gint32     *predictions;
} ActState;

static char *
shape_text (const gsize *shape, guint ndim)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GSIZE_FORMAT, i ? "×" : "", shape[i]);
  return g_string_free (s, FALSE);
}

static gboolean
allocate (ActState *st, GPtrArray *taps, GError **error)
{
  st->arrays = g_ptr_array_new_with_free_func ((GDestroyNotify) som_array_free);
  st->row_size = g_new0 (gsize, st->taps->len);
  for (guint t = 0; t < st->taps->len; t++)
    {
      const SomArray *v = g_ptr_array_index (taps, t);
      const SomLayer *layer = som_model_get_layer (st->model, g_array_index (st->taps, guint, t));
      gsize shape[SOM_ARRAY_MAX_DIMS];
      guint ndim = v->ndim;
      g_autoptr(GError) local = NULL;
      SomArray *a;

      if (ndim < 1)
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: layer %u (%s) is a scalar, not per image",
                       st->model_path, layer->index, layer->name);
          return FALSE;
        }
      memcpy (shape, v->shape, ndim * sizeof (gsize));
      shape[0] = st->count;
      if (st->codes == CODES_MEAN && ndim > 2)
        ndim = 2;  /* N×C: the mean over every dimension after the channels */
      a = som_array_new (SOM_DTYPE_F32, ndim, shape, &local);
      if (a == NULL)
        {
          g_autofree char *s = shape_text (shape, ndim);
          g_set_error (error, SOM_ERROR, SOM_ERROR_TOO_LARGE,
                       "%s: layer %u (%s) for %" G_GSIZE_FORMAT " images is %s floats, beyond the "
                       "memory budget: try --codes mean or --limit N (%s)",
                       st->model_path, layer->index, layer->name, st->count, s, local->message);
          return FALSE;
        }
      g_ptr_array_add (st->arrays, a);
      st->row_size[t] = st->count > 0 ? som_array_n_elements (a) / st->count : 0;
    }
  return TRUE;
}

static gboolean
act_batch (gsize start, gsize n, SomArray *output, GPtrArray *taps, gpointer user_data, GError **error)
{
  ActState *st = user_data;

  if (st->arrays == NULL && !allocate (st, taps, error))
    return FALSE;
  if (!cli_argmax_rows (output, n, st->predictions + start, st->model_path, start, error))
    return FALSE;

  for (guint t = 0; t < st->taps->len; t++)
    {
      const SomArray *v = g_ptr_array_index (taps, t);
      g_autoptr(SomArray) conv = NULL;
      SomArray *dst = g_ptr_array_index (st->arrays, t);
      gsize per = n > 0 ? som_array_n_elements (v) / n : 0;
      gsize row = st->row_size[t];
      float *d = (float *) dst->data + start * row;
      const float *s;

      if (v->shape[0] != n
          || (st->codes == CODES_RAW && per != row)
          || (st->codes == CODES_MEAN && v->ndim >= 2 && v->shape[1] != row))
        {
          g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: layer %u changed shape between batches",
                       st->model_path, g_array_index (st->taps, guint, t));
          return FALSE;
        }
      if (v->dtype != SOM_DTYPE_F32)
        conv = som_array_to_f32 (v);
      s = conv ? conv->data : v->data;
      if (st->codes == CODES_RAW || v->ndim <= 2)
        memcpy (d, s, n * row * sizeof (float));
      else
        {
          gsize spatial = per / row;
          for (gsize i = 0; i < n * row; i++)
            {
              /* In double: a 56×56 mean in float loses digits. */
              double sum = 0;
              for (gsize j = 0; j < spatial; j++)
                sum += s[i * spatial + j];
              d[i] = sum / spatial;
            }
        }
    }
  return TRUE;
}

static JsonNode *
layers_json (ActState *st)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  for (guint t = 0; t < st->taps->len; t++)
    {
      const SomLayer *layer = som_model_get_layer (st->model, g_array_index (st->taps, guint, t));
      const SomArray *a = g_ptr_array_index (st->arrays, t);
      g_autofree char *member = som_layer_member_name (layer->index);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "member");
      json_builder_add_string_value (b, member);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, layer->index);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, layer->name);
      json_builder_set_member_name (b, "op");
      json_builder_add_string_value (b, layer->op);
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (guint i = 0; i < a->ndim; i++)
        json_builder_add_int_value (b, a->shape[i]);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

static char *
node_to_string (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

int
cli_cmd_activations (CliContext *ctx, int argc, char **argv)
{
  CliDatasetOptions dopts = { 0 };
  g_auto(GStrv) layer_args = NULL;
  g_autofree char *layers_arg = NULL;
  g_autofree char *out = NULL;
  g_autofree char *codes = NULL;
  gboolean compress = FALSE;
  const GOptionEntry own[] = {
    { "layer", 0, 0, G_OPTION_ARG_STRING_ARRAY, &layer_args, "A layer by ONNX name or index (repeatable; default: the default taps)", "NAME" },
    { "layers", 0, 0, G_OPTION_ARG_STRING, &layers_arg, "Layers as a comma list, \"all\" or \"default\"", "A,B,C" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The .npz to write", "FILE.npz" },
    { "codes", 0, 0, G_OPTION_ARG_STRING, &codes, "raw (default: N×C×H×W) or mean (N×C channel means)", "raw|mean" },
    { "compress", 0, 0, G_OPTION_ARG_NONE, &compress, "Deflate the members", NULL },
    { NULL }
  };
  g_autofree GOptionEntry *entries = cli_dataset_entries (&dopts, own);
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(SomDataset) dataset = NULL;
  g_autoptr(SomPreprocess) pp = NULL;
  g_autoptr(GPtrArray) specs = g_ptr_array_new ();
  g_autoptr(GTimer) timer = g_timer_new ();
  g_autoptr(SomNpzWriter) writer = NULL;
  g_autoptr(JsonNode) layers = NULL;
  g_autofree char *layers_text = NULL;
  ActState st = { 0 };
  int ret = CLI_EXIT_OK;

  if (!cli_parse (ctx, &argc, &argv, "MODEL DATASET --out FILE.npz",
                  "Per-layer activations of an ONNX model on a dataset, as a numpy .npz:\n"
                  "one float32 member per layer (layer_007), layers.json, labels, predictions.",
                  entries, TRUE))
    return CLI_EXIT_USAGE;
  if (argc != 3)
    ret = cli_usage_error (ctx, "expected MODEL DATASET");
  else if (out == NULL)
    ret = cli_usage_error (ctx, "--out FILE.npz is required");
  else if (codes != NULL && strcmp (codes, "raw") != 0 && strcmp (codes, "mean") != 0)
    ret = cli_usage_error (ctx, "--codes must be raw or mean");
  else if (!cli_dataset_check (ctx, &dopts))
    ret = CLI_EXIT_USAGE;
  if (ret != CLI_EXIT_OK)
    {
      cli_dataset_options_clear (&dopts);
      return ret;
    }
  st.codes = codes != NULL && strcmp (codes, "mean") == 0 ? CODES_MEAN : CODES_RAW;

  model = som_model_load (argv[1], &error);
  if (model == NULL || !som_model_check_runnable (model, &error))
    goto fail;
  for (guint i = 0; layer_args != NULL && layer_args[i] != NULL; i++)
    g_ptr_array_add (specs, layer_args[i]);
  if (layers_arg != NULL)
    g_ptr_array_add (specs, layers_arg);
  if (specs->len == 0)
    g_ptr_array_add (specs, (gpointer) "default");
  g_ptr_array_add (specs, NULL);
  st.taps = som_model_resolve_layers (model, (const char * const *) specs->pdata, &error);
  if (st.taps == NULL)
    goto fail;
  if (st.taps->len == 0)
    {
      g_set_error (&error, SOM_ERROR, SOM_ERROR_INVALID, "%s: no layers chosen", argv[1]);
      goto fail;
    }

  dataset = cli_dataset_open (ctx, &dopts, argv[2], &error);
  if (dataset == NULL)
    goto fail;
  pp = cli_dataset_preprocess (&dopts, dataset, model, &error);
  if (pp == NULL)
    goto fail;

  /* Fail on an unwritable target before the long run. */
  writer = som_npz_writer_new (out, compress, &error);
  if (writer == NULL)
    goto fail;

  st.model = model;
  st.model_path = argv[1];
  st.count = som_dataset_get_count (dataset);
  st.predictions = g_new0 (gint32, MAX (st.count, 1));
  /* Channel means are taken inside the pass, batch by batch, so no tap
   * outlives its last consumer (ResNet-50's 52 taps would be 40 MB an image). */
  if (!(st.codes == CODES_MEAN
        ? cli_dataset_run_model_means (ctx, model, pp, (const guint *) st.taps->data, st.taps->len,
                                       act_batch, &st, &error)
        : cli_dataset_run_model (ctx, model, pp, (const guint *) st.taps->data, st.taps->len,
                                 act_batch, &st, &error)))
    goto fail;

  layers = layers_json (&st);
  layers_text = node_to_string (layers);
  for (guint t = 0; t < st.taps->len; t++)
    {
      g_autofree char *member = som_layer_member_name (g_array_index (st.taps, guint, t));
      if (!som_npz_writer_add_array (writer, member, g_ptr_array_index (st.arrays, t), &error))
        goto fail;
      /* The writer keeps its own serialized copy until it closes: drop ours
       * now, or the codes are held twice (2 GB for ResNet-50 on 10,000 images). */
      g_clear_pointer (&st.arrays->pdata[t], som_array_free);
    }
  if (!som_npz_writer_add_string (writer, "layers.json", layers_text, &error))
    goto fail;
  if (som_dataset_has_labels (dataset))
    {
      g_autoptr(SomArray) labels = som_array_new_1d_i32 (st.count);
      memcpy (labels->data, som_dataset_get_labels (dataset), st.count * sizeof (gint32));
      if (!som_npz_writer_add_array (writer, "labels", labels, &error))
        goto fail;
    }
  {
    g_autoptr(SomArray) pred = som_array_new_1d_i32 (st.count);
    g_autoptr(JsonBuilder) b = json_builder_new ();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *meta = NULL;
    const char * const *names = som_dataset_get_class_names (dataset);

    memcpy (pred->data, st.predictions, st.count * sizeof (gint32));
    if (!som_npz_writer_add_array (writer, "predictions", pred, &error))
      goto fail;

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "format");
    json_builder_add_string_value (b, "somscope-activations");
    json_builder_set_member_name (b, "version");
    json_builder_add_int_value (b, 1);
    json_builder_set_member_name (b, "model");
    json_builder_add_string_value (b, argv[1]);
    json_builder_set_member_name (b, "dataset");
    json_builder_add_string_value (b, argv[2]);
    json_builder_set_member_name (b, "count");
    json_builder_add_int_value (b, st.count);
    json_builder_set_member_name (b, "codes");
    json_builder_add_string_value (b, st.codes == CODES_MEAN ? "mean" : "raw");
    json_builder_set_member_name (b, "preprocessing");
    json_builder_add_value (b, cli_dataset_preprocessing_json (&dopts));
    json_builder_set_member_name (b, "class_names");
    json_builder_begin_array (b);
    for (guint i = 0; names[i] != NULL; i++)
      json_builder_add_string_value (b, names[i]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "batch_size");
    json_builder_add_int_value (b, ctx->batch_size);
    cli_add_provenance (ctx, b);
    json_builder_end_object (b);
    root = json_builder_get_root (b);
    meta = node_to_string (root);
    if (!som_npz_writer_add_string (writer, "meta.json", meta, &error))
      goto fail;
  }
  if (!som_npz_writer_close (writer, &error))
    goto fail;

  if (ctx->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "out");
      json_builder_add_string_value (b, out);
      json_builder_set_member_name (b, "count");
      json_builder_add_int_value (b, st.count);
      json_builder_set_member_name (b, "layers");
      json_builder_add_value (b, json_node_copy (layers));
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, g_timer_elapsed (timer, NULL));
      cli_add_provenance (ctx, b);
      json_builder_end_object (b);
      cli_print_json (b);
    }
  else
    cli_message (ctx, "wrote %s: %u layer%s of %" G_GSIZE_FORMAT " images in %.2f s", out, st.taps->len,
                 st.taps->len == 1 ? "" : "s", st.count, g_timer_elapsed (timer, NULL));
  goto done;

fail:
  ret = cli_fail_error (error);
done:
  cli_dataset_options_clear (&dopts);
  g_clear_pointer (&st.taps, g_array_unref);
  g_clear_pointer (&st.arrays, g_ptr_array_unref);
  g_free (st.row_size);
  g_free (st.predictions);
  return ret;
}
