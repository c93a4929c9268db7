/* cli-run.c: somscope-cli run MODEL --input [NAME=]FILE … --out OUT.npz [--layer …]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "cli-commands.h"

static SomArray *
load_input (const char *path, GError **error)
{
  if (g_str_has_suffix (path, ".pb"))
    return som_onnx_tensor_load (path, NULL, error);
  if (g_str_has_suffix (path, ".npy") || strstr (path, ".npz:") != NULL)
    return som_array_load_spec (path, error);
  g_set_error (error, SOM_ERROR, SOM_ERROR_INVALID, "%s: inputs are .npy, FILE.npz:member or ONNX TensorProto .pb files",
               path);
  return NULL;
}

static void
add_shape (JsonBuilder *b, const SomArray *a)
{
  json_builder_begin_array (b);
  for (guint d = 0; d < a->ndim; d++)
    json_builder_add_int_value (b, a->shape[d]);
  json_builder_end_array (b);
}

static void
add_entry (JsonBuilder *b, const char *member, const char *name, const SomArray *a)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "member");
  json_builder_add_string_value (b, member);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "shape");
  add_shape (b, a);
  json_builder_end_object (b);
}

int
cli_cmd_run (CliContext *ctx, int argc, char **argv)
{
  g_auto(GStrv) input_specs = NULL;
  g_auto(GStrv) layer_specs = NULL;
  g_autofree char *out_path = NULL;
  gboolean compress = FALSE;
  const GOptionEntry entries[] = {
    { "input", 'i', 0, G_OPTION_ARG_FILENAME_ARRAY, &input_specs, "A graph input: [NAME=]FILE (.npy, .npz:member or ONNX .pb)", "[NAME=]FILE" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Write the outputs to OUT.npz", "OUT.npz" },
    { "layer", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &layer_specs, "Also write this layer (name or index; repeatable)", "NAME" },
    { "layers", 0, 0, G_OPTION_ARG_STRING_ARRAY, &layer_specs, "Layers as a comma list, 'all' or 'default'", "A,B,C" },
    { "compress", 0, 0, G_OPTION_ARG_NONE, &compress, "Deflate the .npz members", NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(SomModel) model = NULL;
  g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) som_array_free);
  g_autoptr(GArray) taps = NULL;
  g_autoptr(GPtrArray) outs = NULL;
  g_autoptr(GPtrArray) tap_values = NULL;
  g_autoptr(SomNpzWriter) w = NULL;
  g_autoptr(JsonBuilder) list = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) list_root = NULL;
  g_autofree char *list_text = NULL;
  guint n_in;
  gint64 t0 = g_get_monotonic_time ();

  if (!cli_parse (ctx, &argc, &argv, "MODEL",
                  "Run an ONNX model on given tensors and write its outputs (and any --layer values) to a .npz.",
                  entries, TRUE))
    return CLI_EXIT_USAGE;
  if (argc != 2)
    return cli_usage_error (ctx, "expected one MODEL argument");
  if (out_path == NULL)
    return cli_usage_error (ctx, "--out OUT.npz is required");
  if (input_specs == NULL)
    return cli_usage_error (ctx, "at least one --input is required");
  cli_threads (ctx);

  model = som_model_load (argv[1], &error);
  if (model == NULL)
    return cli_fail_error (error);
  n_in = som_model_get_n_inputs (model);
  g_ptr_array_set_size (inputs, n_in);

  for (guint i = 0, pos = 0; input_specs[i] != NULL; i++)
    {
      const char *spec = input_specs[i];
      const char *eq = strchr (spec, '=');
      const char *file = spec;
      int slot = -1;
      SomArray *a;

      if (eq != NULL && !g_file_test (spec, G_FILE_TEST_EXISTS))
        {
          g_autofree char *name = g_strndup (spec, eq - spec);
          file = eq + 1;
          for (guint k = 0; k < n_in; k++)
            if (strcmp (som_model_get_input (model, k)->name, name) == 0)
              slot = k;
          if (slot < 0)
            return cli_fail ("%s: the model has no input named '%s'", argv[1], name);
        }
      else
        {
          while (pos < n_in && g_ptr_array_index (inputs, pos) != NULL)
            pos++;
          if (pos >= n_in)
            return cli_fail ("%s: the model takes %u inputs; too many --input given", argv[1], n_in);
          slot = pos;
        }
      if (g_ptr_array_index (inputs, slot) != NULL)
        return cli_fail ("%s: input '%s' is given twice", argv[1], som_model_get_input (model, slot)->name);
      a = load_input (file, &error);
      if (a == NULL)
        return cli_fail_error (error);
      g_ptr_array_index (inputs, slot) = a;
    }
  for (guint k = 0; k < n_in; k++)
    if (g_ptr_array_index (inputs, k) == NULL)
      return cli_fail ("%s: no --input for the model's input '%s'", argv[1], som_model_get_input (model, k)->name);

  if (layer_specs != NULL)
    {
      taps = som_model_resolve_layers (model, (const char * const *) layer_specs, &error);
      if (taps == NULL)
        return cli_fail_error (error);
    }
  if (!som_model_run (model, (const SomArray * const *) inputs->pdata, n_in,
                      taps ? (const guint *) taps->data : NULL, taps ? taps->len : 0,
                      &outs, &tap_values, NULL, &error))
    return cli_fail_error (error);

  w = som_npz_writer_new (out_path, compress, &error);
  if (w == NULL)
    return cli_fail_error (error);
  json_builder_begin_array (list);
  for (guint i = 0; i < outs->len; i++)
    {
      g_autofree char *member = g_strdup_printf ("output_%u", i);
      SomArray *a = g_ptr_array_index (outs, i);
      if (!som_npz_writer_add_array (w, member, a, &error))
        return cli_fail_error (error);
      add_entry (list, member, som_model_get_output (model, i)->name, a);
    }
  for (guint i = 0; taps != NULL && i < taps->len; i++)
    {
      guint idx = g_array_index (taps, guint, i);
      g_autofree char *member = som_layer_member_name (idx);
      SomArray *a = g_ptr_array_index (tap_values, i);
      if (!som_npz_writer_add_array (w, member, a, &error))
        return cli_fail_error (error);
      add_entry (list, member, som_model_get_layer (model, idx)->name, a);
    }
  json_builder_end_array (list);
  list_root = json_builder_get_root (list);
  json_generator_set_root (gen, list_root);
  list_text = json_generator_to_data (gen, NULL);
  if (!som_npz_writer_add_string (w, "outputs.json", list_text, &error))
    return cli_fail_error (error);
  {
    g_autoptr(JsonGenerator) pg = json_generator_new ();
    g_autoptr(JsonNode) prov = cli_provenance_node (ctx);
    g_autofree char *ptext = NULL;
    json_generator_set_root (pg, prov);
    ptext = json_generator_to_data (pg, NULL);
    if (!som_npz_writer_add_string (w, "provenance.json", ptext, &error))
      return cli_fail_error (error);
  }
  if (!som_npz_writer_close (w, &error))
    return cli_fail_error (error);

  if (ctx->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "outputs");
      json_builder_add_value (b, json_node_copy (list_root));
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, (g_get_monotonic_time () - t0) / 1e6);
      cli_add_provenance (ctx, b);
      json_builder_end_object (b);
      cli_print_json (b);
    }
  else if (!ctx->quiet)
    g_printerr ("%s: %u outputs, %u layers\n", out_path, outs->len, taps ? taps->len : 0);
  return CLI_EXIT_OK;
}
